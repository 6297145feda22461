#!/usr/bin/python3
"""k-NN and modern-Hopfield scoring: ebood (perf_knn) vs FAISS, NumPy and PyTorch, side by side.

Run with Debian's interpreter (python3-faiss, python3-numpy, python3-torch):
    /usr/bin/python3 perf/compare_knn.py --bench build/perf/perf_knn [--rounds 3] [--nq 10000]

What is measured (issue 4, "Benchmark"; anchors in shared/specs/performance-anchors.md):
  knn       10,000 L2-normalised queries against a 50,000-row L2-normalised bank, the k-th neighbour:
              ebood-ip   eb_knn_kth_inner_product (k-th largest q·b)
              ebood-l2   eb_knn_kth_distance      (k-th smallest ‖q − b‖)
              faiss-ip   IndexFlatIP.search(Q, k), D[:, k−1]      (index built outside the timing)
              faiss-l2   IndexFlatL2.search(Q, k), D[:, k−1]      (squared distances)
              numpy      S = Q @ Xᵀ; np.partition(S, n−k, axis=1)[:, n−k]
              torch      torch.topk(Q @ Xᵀ, k, dim=1).values[:, k−1]
  hopfield  the same bank, (1/β)·logsumexp(β·Q@Xᵀ, 1): ebood (eb_hopfield_lse) vs torch.logsumexp
            and NumPy (max-shifted exp/sum/log).
  mahalanobis  10 classes (bank row j has label j mod 10), d = 512: fit (class means, tied covariance
            with divisor N, precision P = Σ⁻¹) on the bank, timed once ("fit"), then the score
            max_c −½(q − μ_c)ᵀP(q − μ_c) of every query. The references use the fastest formulation
            we know: −½(qᵀPq − 2qᵀPμ_c + μ_cᵀPμ_c) with one GEMM Q·P and one Q·(Pμ)ᵀ (what a
            PyTorch user would write after precomputing Pμ); ebood runs its mahalanobis detector.
Every implementation runs in its own process (fresh caches; its peak RSS is VmHWM, reset once the
data are loaded so that transient buffers of the .npy reader do not count), with
2 threads (EBOOD_THREADS=2, faiss.omp_set_num_threads(2), torch.set_num_threads(2); NumPy's
OpenBLAS uses OMP_NUM_THREADS=2), in the anchors' "tuned" environment for everyone:
OMP_WAIT_POLICY=PASSIVE and LD_LIBRARY_PATH=<the OpenMP build of OpenBLAS>. OPENBLAS_CORETYPE is
left as the machine sets it. Rounds alternate the order (ebood first, then last).
Per process: --warmup untimed runs, then --reps timed runs; its time is their median.
Reported per implementation: queries/s (median over rounds), the ratio ebood/impl (median of the
per-round ratios, ebood-ip against the IP-like references and ebood-l2 against faiss-l2), the same
per CPU-second of the process (all threads; robust when other jobs share the cores, but blind to
poor parallel scaling — the wall-clock ratio is the one that counts on a quiet machine), peak RSS
(and RSS once the data are loaded), and the largest error against a float64 reference on the
first --check queries (exactness).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


# ---- workers (run in child processes) ---------------------------------------------------------------
def rss_mb(key="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return -1.0


def reset_peak():
    """Resets VmHWM to the current RSS (Linux ≥ 4.0), so the peak excludes loading the data."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def worker(args):
    impl, case = args.worker, args.case
    Q = np.load(args.queries)
    X = np.load(args.bank)
    k, beta = args.k, args.beta
    if impl.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(args.threads)
        index = (faiss.IndexFlatIP if impl == "faiss-ip" else faiss.IndexFlatL2)(X.shape[1])
        index.add(X)

        def run():
            D, _ = index.search(Q, k)
            return D[:, k - 1].copy()

    elif case == "mahalanobis":
        labels = np.arange(X.shape[0]) % args.classes
        lib = np if impl == "numpy" else None
        if impl == "torch":
            import torch

            torch.set_num_threads(args.threads)

        def fit():
            if impl == "torch":
                tx, ty = torch.from_numpy(X), torch.from_numpy(labels)
                mu = torch.stack([tx[ty == c].mean(0) for c in range(args.classes)])
                zc = tx - mu[ty]
                prec = torch.linalg.inv(zc.T @ zc / tx.shape[0])
                pmu = mu @ prec
                return prec, pmu, (pmu * mu).sum(1)
            mu = np.stack([X[labels == c].mean(0) for c in range(args.classes)])
            zc = X - mu[labels]
            prec = np.linalg.inv(zc.T @ zc / X.shape[0]).astype(np.float32)
            pmu = mu @ prec
            return prec, pmu, (pmu * mu).sum(1)

        t_fit = time.perf_counter()
        prec, pmu, mpm = fit()
        fit_s = time.perf_counter() - t_fit

        if impl == "torch":
            tq = torch.from_numpy(Q)

            def run():
                with torch.inference_mode():
                    qpq = ((tq @ prec) * tq).sum(1, keepdim=True)
                    d = qpq - 2.0 * (tq @ pmu.T) + mpm
                    return (-0.5 * d.min(1).values).numpy().copy()

        else:

            def run():
                qpq = ((Q @ prec) * Q).sum(1, keepdims=True)
                d = qpq - 2.0 * (Q @ pmu.T) + mpm
                return -0.5 * d.min(1)

    elif impl == "numpy":
        n = X.shape[0]
        if case == "knn":

            def run():
                S = Q @ X.T
                return np.partition(S, n - k, axis=1)[:, n - k].copy()

        else:

            def run():
                S = Q @ X.T
                S *= np.float32(beta)
                m = S.max(axis=1, keepdims=True)
                np.subtract(S, m, out=S)
                np.exp(S, out=S)
                return (m[:, 0] + np.log(S.sum(axis=1))) / np.float32(beta)

    elif impl == "torch":
        import torch

        torch.set_num_threads(args.threads)
        tq, tx = torch.from_numpy(Q), torch.from_numpy(X)
        if case == "knn":

            def run():
                with torch.inference_mode():
                    return torch.topk(tq @ tx.T, k, dim=1).values[:, k - 1].numpy().copy()

        else:

            def run():
                with torch.inference_mode():
                    return (torch.logsumexp(beta * (tq @ tx.T), dim=1) / beta).numpy().copy()

    else:
        raise SystemExit(f"unknown worker {impl}")
    rss_data = rss_mb()
    reset_peak()
    if case != "mahalanobis":
        fit_s = 0.0
    times, cpu = [], []
    for r in range(args.warmup + args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run()
        if r >= args.warmup:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    if args.out:
        np.save(args.out, np.asarray(out, dtype=np.float32))
    med, med_cpu = statistics.median(times), statistics.median(cpu)
    print(json.dumps({"impl": impl, "case": case, "fit_s": fit_s, "times_s": times, "median_s": med, "qps": len(Q) / med,
                      "cpu_s": med_cpu, "q_per_cpu_s": len(Q) / med_cpu, "rss_data_mb": rss_data,
                      "peak_rss_mb": rss_mb("VmHWM:")}))


# ---- driver ------------------------------------------------------------------------------------------
def make_data(tmp, nq, nb, dim, seed):
    rng = np.random.default_rng(seed)

    def rows(n):
        x = rng.standard_normal((n, dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return np.ascontiguousarray(x, dtype=np.float32)

    qp, bp = os.path.join(tmp, f"queries_{dim}.npy"), os.path.join(tmp, f"bank_{dim}.npy")
    np.save(bp, rows(nb))
    np.save(qp, rows(nq))
    return qp, bp


def reference(qp, bp, case, k, beta, n_check, classes=10):
    """float64 brute force on the first n_check queries."""
    Q = np.load(qp)[:n_check].astype(np.float64)
    X = np.load(bp).astype(np.float64)
    S = Q @ X.T
    if case == "knn":
        ip = -np.sort(-S, axis=1)[:, k - 1]
        return {"ip": ip, "l2": np.sqrt(np.maximum(2.0 - 2.0 * ip, 0.0))}
    if case == "mahalanobis":
        labels = np.arange(X.shape[0]) % classes
        mu = np.stack([X[labels == c].mean(0) for c in range(classes)])
        zc = X - mu[labels]
        prec = np.linalg.inv(zc.T @ zc / X.shape[0])
        d = np.stack([(((Q - m) @ prec) * (Q - m)).sum(1) for m in mu], 1)
        return {"maha": -0.5 * d.min(1)}
    m = (beta * S).max(axis=1)
    return {"lse": (m + np.log(np.exp(beta * S - m[:, None]).sum(axis=1))) / beta}


def run_child(cmd, env):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = (s.decode() for s in proc.communicate())
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/perf/perf_knn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--nq", type=int, default=10000)
    ap.add_argument("--nb", type=int, default=50000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--check", type=int, default=200, help="queries checked against float64")
    ap.add_argument("--cases", default="knn-512-50,knn-128-200,hopfield-512,hopfield-128",
                    help="comma list of knn-<dim>-<k>, hopfield-<dim> and mahalanobis-<dim> (e.g. mahalanobis-512)")
    ap.add_argument("--impls", default="ebood,faiss,numpy,torch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write all records here")
    # worker mode
    ap.add_argument("--worker")
    ap.add_argument("--case")
    ap.add_argument("--queries")
    ap.add_argument("--bank")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--classes", type=int, default=10, help="mahalanobis: classes (labels j mod C)")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    env = dict(os.environ)
    env.update({"OMP_WAIT_POLICY": "PASSIVE", "EBOOD_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
                "LD_LIBRARY_PATH": OPENBLAS_OMP + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")})
    impls = args.impls.split(",")
    records, table = [], []
    with tempfile.TemporaryDirectory(prefix="compare_knn.") as tmp:
        data = {}
        for spec in args.cases.split(","):
            parts = spec.split("-")
            case, dim = parts[0], int(parts[1])
            k = int(parts[2]) if case == "knn" else 0
            if dim not in data:
                data[dim] = make_data(tmp, args.nq, args.nb, dim, args.seed + dim)
            qp, bp = data[dim]
            ref = reference(qp, bp, case, k, args.beta, args.check, args.classes)
            runs = []  # (name, cmd, metric, ours_name)
            if "ebood" in impls:
                for c in (["knn-ip", "knn-l2"] if case == "knn" else [case]):
                    name = "ebood-" + c.split("-")[-1] if case == "knn" else "ebood"
                    runs.append((name, [args.bench, "--case", c, "--queries", qp, "--bank", bp, "--k", str(max(k, 1)),
                                        "--beta", str(args.beta), "--classes", str(args.classes), "--reps",
                                        str(args.reps), "--warmup", str(args.warmup)]))
            refs = []
            if "faiss" in impls and case == "knn":
                refs += ["faiss-ip", "faiss-l2"]
            if "numpy" in impls:
                refs.append("numpy")
            if "torch" in impls:
                refs.append("torch")
            for r in refs:
                runs.append((r, [sys.executable, os.path.abspath(__file__), "--worker", r, "--case", case, "--queries",
                                 qp, "--bank", bp, "--k", str(max(k, 1)), "--beta", str(args.beta), "--reps",
                                 str(args.reps), "--warmup", str(args.warmup), "--threads", str(args.threads),
                                 "--classes", str(args.classes)]))
            per = {name: [] for name, _ in runs}
            err = {}
            for rnd in range(args.rounds):
                order = runs if rnd % 2 == 0 else runs[::-1]
                for name, cmd in order:
                    out = os.path.join(tmp, f"out_{name}.npy")
                    rec = run_child(cmd + (["--out", out] if rnd == 0 else []), env)
                    rec.update({"name": name, "spec": spec, "round": rnd})
                    per[name].append(rec)
                    records.append(rec)
                    print(f"{spec} round {rnd}: {name:9s} {rec['qps']:9.0f} q/s {rec['q_per_cpu_s']:9.0f} q/cpu-s "
                          f"fit {rec.get('fit_s', 0):.3f} s "
                          f"peak {rec['peak_rss_mb']:7.0f} MB",
                          file=sys.stderr, flush=True)
                    if rnd == 0:
                        got = np.load(out)[: args.check].astype(np.float64)
                        if case == "knn":
                            want = ref["l2"] if name in ("ebood-l2",) else ref["ip"]
                            if name == "faiss-l2":
                                want = ref["l2"] ** 2
                        else:
                            want = ref["maha" if case == "mahalanobis" else "lse"]
                        err[name] = float(np.max(np.abs(got - want)))
            ours_for = {n: ("ebood-l2" if n in ("faiss-l2", "ebood-l2") else ("ebood-ip" if case == "knn" else "ebood"))
                        for n in per}
            for name in per:
                qps = [r["qps"] for r in per[name]]
                ours = per.get(ours_for[name])
                mine = ours and not name.startswith("ebood")
                ratio = statistics.median(o["qps"] / r["qps"] for o, r in zip(ours, per[name])) if mine else None
                ratio_cpu = (statistics.median(o["q_per_cpu_s"] / r["q_per_cpu_s"] for o, r in zip(ours, per[name]))
                             if mine else None)
                table.append({"spec": spec, "name": name, "qps": statistics.median(qps), "qps_all": qps,
                              "ratio": ratio, "q_per_cpu_s": statistics.median(r["q_per_cpu_s"] for r in per[name]),
                              "ratio_cpu": ratio_cpu, "peak_mb": max(r["peak_rss_mb"] for r in per[name]),
                              "data_mb": statistics.median(r["rss_data_mb"] for r in per[name]), "err": err.get(name),
                              "fit_s": statistics.median(r.get("fit_s", 0.0) for r in per[name])})
    print(f"\n{args.nq} queries × {args.nb} bank rows, {args.threads} threads, {args.rounds} rounds "
          f"(median), β = {args.beta:g}\n")
    print("| case | impl | queries/s | ebood / impl | queries/CPU-s | ebood / impl (CPU) "
          "| peak RSS MB (data loaded) | max abs err vs float64 | fit s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in table:
        ratio = f"{row['ratio']:.2f}×" if row["ratio"] else "—"
        ratio_cpu = f"{row['ratio_cpu']:.2f}×" if row["ratio_cpu"] else "—"
        e = f"{row['err']:.1e}" if row["err"] is not None else "—"
        print(f"| {row['spec']} | {row['name']} | {row['qps']:,.0f} | {ratio} | {row['q_per_cpu_s']:,.0f} | {ratio_cpu} "
              f"| {row['peak_mb']:,.0f} ({row['data_mb']:,.0f}) | {e} | {row['fit_s']:.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"records": records, "table": table}, f, indent=1)


if __name__ == "__main__":
    main()
