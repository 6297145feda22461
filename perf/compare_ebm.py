#!/usr/bin/python3
"""Side-by-side EBM training throughput: ebood (perf/perf_ebm) against PyTorch (perf/ebm_torch.py).

Cases (perf/perf_ebm.c has the details; the same work per step on both sides):
  cd-segment    persistent CD on Segment-shaped data (18 → 100×5 → 6, AdamW, batch 512, buffer 9000,
                100 SGLD steps per optimizer step)
  cd-s-segment  its supervised variant (γ = 1 CE, class-conditional sampling, 100 steps)
  heat          HEAT-GMM's residual EBM on 512-d features (512 → 1024 ×4 → 1, 40 SGLD steps on
                E_θ + E_GMM/1000, 2B negatives, Adam), batch 256 by default (--heat-batch; the paper's 1024);
                torch evaluates E_GMM as the released code unless --torch-gmm-energy whitened

Runs the two alternately as subprocesses, R rounds (the order flips every round), and prints a Markdown
table of median optimizer steps/s, the median of the per-round ratios ebood/torch (wall time and CPU
time: steps per CPU-second of each process's timed windows, all threads), and each process's peak RSS
(os.wait4). Rejects and reruns pairs during which other processes used the machine (as compare_mlp.py).

Environments (shared/specs/performance-anchors.md), 2 threads each by default:
  ebood  the caller's environment + EBOOD_THREADS=<threads> and OMP_WAIT_POLICY=PASSIVE (what the ebood
         CLI sets for itself) unless the caller set a policy; --ebood-env K=V adds more
  torch  the caller's environment + torch.set_num_threads(<threads>) and, unless --untuned,
         LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE

    /usr/bin/python3 perf/compare_ebm.py [--rounds 5] [--bench build/perf/perf_ebm] [--json out.json]
    /usr/bin/python3 perf/compare_ebm.py --rounds 1 --sgld-steps 2 --windows 2 --seconds 0.2 \
        --heat-batch 64 --heat-iters 16 --heat-windows 1 --wait-quiet 0          # smoke test, seconds
"""
import argparse
import json
import os
import statistics
import sys
import time

from compare_mlp import OPENBLAS_OPENMP, ROOT, ebood_info, run, wait_quiet  # the same guard and process runner

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ["cd-segment", "cd-s-segment", "heat"]


def case_args(a, case):
    """The arguments both programs get for `case`."""
    args = ["--case", case, "--threads", str(a.threads)]
    if case == "heat":
        args += ["--batch", str(a.heat_batch), "--iters", str(a.heat_iters), "--windows", str(a.heat_windows)]
        if a.heat_sgld_steps is not None:
            args += ["--sgld-steps", str(a.heat_sgld_steps)]
    else:
        args += ["--windows", str(a.windows), "--seconds", str(a.seconds), "--warmup", str(a.warmup)]
    if a.sgld_steps is not None:
        args += ["--sgld-steps", str(a.sgld_steps)]
    return args


def compare(a, cases, env_e, env_t):
    """The alternating rounds. Returns ({case: runs}, seconds)."""
    runs = {c: {"ebood": [], "torch": [], "ratio": [], "ratio_cpu": [], "interference": [], "noisy": 0}
            for c in cases}
    t_start = time.time()
    for r in range(a.rounds):
        for c in cases:
            args = case_args(a, c)
            targs = args + (["--gmm-energy", a.torch_gmm_energy] if c == "heat" else [])
            order = [("ebood", [a.bench] + args, env_e), ("torch", [a.python, a.torch_script] + targs, env_t)]
            if r % 2:
                order.reverse()
            for attempt in range(a.retries + 1):
                if a.wait_quiet > 0:
                    wait_quiet(a.wait_quiet, a.max_interference, 0.0)
                res, noise = {}, 0.0
                for name, cmd, env in order:
                    j, rss, interf = run(cmd, env)
                    j["wait4_maxrss_kb"] = rss
                    j["interference"] = interf
                    res[name] = j
                    noise = max(noise, interf)
                if noise <= a.max_interference:
                    break
                print(f"round {r + 1}/{a.rounds} {c:13s} other processes used {100 * noise:.0f} % of the machine: "
                      f"{'rerun' if attempt < a.retries else 'kept'}", file=sys.stderr, flush=True)
            else:
                runs[c]["noisy"] += 1
            for name in ("ebood", "torch"):
                runs[c][name].append(res[name])
            e, t = res["ebood"]["steps_per_s"], res["torch"]["steps_per_s"]
            ec, tc = res["ebood"]["steps_per_cpu_s"], res["torch"]["steps_per_cpu_s"]
            runs[c]["ratio"].append(e / t)
            runs[c]["ratio_cpu"].append(ec / tc)
            runs[c]["interference"].append(noise)
            print(f"round {r + 1}/{a.rounds} {c:13s} ebood {e:8.3g}  torch {t:8.3g} steps/s  ratio {e / t:.2f}  "
                  f"(CPU {ec / tc:.2f}; interference {100 * noise:.0f} %)", file=sys.stderr, flush=True)
    return runs, time.time() - t_start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "perf", "perf_ebm"))
    ap.add_argument("--torch-script", default=os.path.join(HERE, "ebm_torch.py"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--cases", default=",".join(CASES), help="comma list of " + ", ".join(CASES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--windows", type=int, default=5, help="cd: timed windows per run (the run's median)")
    ap.add_argument("--seconds", type=float, default=2.0, help="cd: seconds per window")
    ap.add_argument("--warmup", type=float, default=1.0, help="cd: warm-up seconds")
    ap.add_argument("--sgld-steps", type=int, default=None,
                    help="override every case's SGLD steps (smoke tests; default: cd 100, heat 40)")
    ap.add_argument("--heat-batch", type=int, default=256, help="heat batch (default 256; the paper's code 1024)")
    ap.add_argument("--heat-iters", type=int, default=4,
                    help="heat: training steps per fit (n = batch × iters features; keep n ≥ 1024)")
    ap.add_argument("--heat-windows", type=int, default=3, help="heat: timed fits per run")
    ap.add_argument("--heat-sgld-steps", type=int, default=None, help="heat: SGLD steps K (default 40)")
    ap.add_argument("--torch-gmm-energy", choices=["code", "whitened"], default="code",
                    help="heat: torch evaluates E_GMM as the released code (torch.distributions, default) or "
                         "whitened as ebood (the same algorithm: an implementation-only ratio)")
    ap.add_argument("--untuned", action="store_true", help="torch without the anchors' tuning env")
    ap.add_argument("--ebood-env", action="append", default=[], metavar="K=V", help="extra environment for ebood")
    ap.add_argument("--max-interference", type=float, default=0.10,
                    help="rerun a pair when other processes used more than this fraction of the machine (0.10)")
    ap.add_argument("--retries", type=int, default=3, help="reruns of a noisy pair (default 3)")
    ap.add_argument("--wait-quiet", type=float, default=60, metavar="S",
                    help="before each pair, wait up to S seconds for quiet seconds (default 60; 0 = off)")
    ap.add_argument("--json", help="also write all runs and the summary to this file")
    a = ap.parse_args()
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            raise SystemExit(f"compare_ebm: unknown case '{c}' (expected {', '.join(CASES)})")
    if not os.access(a.bench, os.X_OK):
        raise SystemExit(f"compare_ebm: {a.bench}: not built (cmake --build build --target perf_ebm)")

    env_e = dict(os.environ, EBOOD_THREADS=str(a.threads))
    env_e.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for kv in a.ebood_env:
        k, _, v = kv.partition("=")
        env_e[k] = v
    env_t = dict(os.environ)
    if not a.untuned:
        lib = env_t.get("LD_LIBRARY_PATH", "")
        env_t["LD_LIBRARY_PATH"] = OPENBLAS_OPENMP + (":" + lib if lib else "")
        env_t["OMP_WAIT_POLICY"] = "PASSIVE"

    runs, elapsed = compare(a, cases, env_e, env_t)

    summary = []
    for c in cases:
        e = [j["steps_per_s"] for j in runs[c]["ebood"]]
        t = [j["steps_per_s"] for j in runs[c]["torch"]]
        rat, rc = runs[c]["ratio"], runs[c]["ratio_cpu"]
        ej = runs[c]["ebood"][0]
        summary.append({
            "case": c, "model": ej["arch"], "batch": ej["batch"], "sgld_steps": ej["sgld_steps"],
            "optimizer": ej["optimizer"], "ebood": statistics.median(e), "torch": statistics.median(t),
            "ratio": statistics.median(rat), "ratio_min": min(rat), "ratio_max": max(rat),
            "ratio_cpu": statistics.median(rc), "ratio_cpu_min": min(rc), "ratio_cpu_max": max(rc),
            "ebood_rss_mb": max(j["wait4_maxrss_kb"] for j in runs[c]["ebood"]) / 1024,
            "torch_rss_mb": max(j["wait4_maxrss_kb"] for j in runs[c]["torch"]) / 1024,
            "interference": max(runs[c]["interference"]), "noisy_pairs": runs[c]["noisy"],
        })

    tj, ej = runs[cases[0]]["torch"][0], runs[cases[0]]["ebood"][0]
    print(f"\n{a.rounds} rounds, {a.threads} threads; cd: {a.windows}×{a.seconds}s windows per run; heat: "
          f"{a.heat_windows} fits of {a.heat_iters} steps per run, torch E_GMM {a.torch_gmm_energy}; "
          f"{elapsed:.0f} s. ebood BLAS: {ej['blas']}; "
          f"torch {tj['torch']} BLAS: {tj['blas']} ({tj['blas_lib']}); torch env: "
          + " ".join(f"{k}={v}" for k, v in tj["env"].items() if v) + "\n")
    print("| case | model | batch | SGLD steps | optimizer | ebood steps/s | torch steps/s "
          "| ebood/torch (median, range) | CPU-time ratio | peak RSS ebood / torch | max interference |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['case']} | {s['model']} | {s['batch']} | {s['sgld_steps']} | {s['optimizer']} | "
              f"{s['ebood']:.3g} | {s['torch']:.3g} | "
              f"**{s['ratio']:.2f}×** ({s['ratio_min']:.2f}–{s['ratio_max']:.2f}) | "
              f"{s['ratio_cpu']:.2f}× ({s['ratio_cpu_min']:.2f}–{s['ratio_cpu_max']:.2f}) | "
              f"{s['ebood_rss_mb']:.0f} MB / {s['torch_rss_mb']:.0f} MB | {100 * s['interference']:.0f} %"
              + (f" ({s['noisy_pairs']} kept noisy)" if s["noisy_pairs"] else "") + " |")
    print("\nsteps/s = optimizer steps (each with its SGLD chains) per second, median over rounds of each run's "
          "median window; ratio = median over rounds of (ebood / torch) within a round; CPU-time ratio = the same "
          "with steps per CPU-second (all threads). interference = CPU used by other processes during a run, as a "
          f"fraction of the machine (pairs above {a.max_interference:.2f} were rerun up to {a.retries} times).")

    if a.json:
        doc = {"argv": sys.argv, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "summary": summary, "runs": runs,
               "ebood_info": ebood_info(ROOT), "uname": " ".join(os.uname())}
        tmp = f"{a.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
