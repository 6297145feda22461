#!/usr/bin/python3
"""Side-by-side CNN throughput: ebood (perf/perf_cnn) against PyTorch (perf/cnn_torch.py).

For every case (model × train/infer, batch 128) and every round, runs these sides one after the
other as separate processes, in an order that is reversed every round:
  ebood      perf_cnn, conv2d on oneDNN (the default backend)
  ebood-ref  perf_cnn with EBOOD_CONV=ref (the im2col + OpenBLAS reference)   [--no-ref drops it]
  torch      cnn_torch.py, NCHW (contiguous) tensors
  torch-cl   cnn_torch.py --channels-last                                        [--no-cl drops it]
and prints a Markdown table of medians over rounds: samples/s of each side, the median per-round
ratio ebood / best torch (the faster of torch and torch-cl in that round) and ebood / ebood-ref,
and each process's peak RSS (os.wait4: the kernel's count for that child alone). It also records
the interference (CPU time other processes used during a run, as a fraction of the machine) and the
load average.

Environments (shared/specs/performance-anchors.md):
  ebood  the caller's environment + EBOOD_THREADS=<threads> (+ --ebood-env K=V ...)
  torch  the caller's environment + torch.set_num_threads(<threads>) and, unless --untuned,
         LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE
OPENBLAS_CORETYPE is left as the machine sets it, for both.

    /usr/bin/python3 perf/compare_cnn.py [--rounds 3] [--bench build/perf/perf_cnn] [--verify]
        [--ebood-env OMP_WAIT_POLICY=PASSIVE] [--wait-quiet 300] [--json out.json]
Before each case of a round it waits (up to --wait-quiet s) for the machine to be quiet: other
benchmarks running at the same time make every number meaningless.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
MODELS = ["small_cnn", "resnet18", "wrn40_2"]
DEFAULT_CASES = [f"{m}-{mode}" for m in MODELS for mode in ("train", "infer")]


def cpu_busy_seconds():
    """CPU time (all cores, seconds) the machine spent outside idle/iowait, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait, threshold, quiet_for=3):
    """Waits (up to max_wait s) until other processes have used at most `threshold` of the machine for
    `quiet_for` consecutive seconds. Returns the seconds waited."""
    t0, quiet = time.monotonic(), 0
    while max_wait > 0:
        b0 = cpu_busy_seconds()
        time.sleep(1.0)
        busy = (cpu_busy_seconds() - b0) / os.cpu_count()
        quiet = quiet + 1 if busy <= threshold else 0
        if quiet >= quiet_for or time.monotonic() - t0 >= max_wait:
            break
    return time.monotonic() - t0


def run(cmd, env):
    """Runs cmd; returns (its JSON line, peak RSS in KiB from wait4, interference)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        b0, t0 = cpu_busy_seconds(), time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        b1, t1 = cpu_busy_seconds(), time.monotonic()
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(), err.read().decode()
    if code != 0:
        raise SystemExit(f"compare_cnn: {shlex.join(cmd)} failed ({code}): {errtext.strip()}")
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"compare_cnn: {shlex.join(cmd)} printed no JSON line: {text!r} {errtext!r}")
    others = max(0.0, (b1 - b0) - (ru.ru_utime + ru.ru_stime))
    return json.loads(lines[-1]), ru.ru_maxrss, others / ((t1 - t0) * os.cpu_count())


def verify(a, env_e, env_t):
    """perf_cnn --check and cnn_torch.py --check: the two model definitions compute the same logits."""
    with tempfile.TemporaryDirectory() as d:
        for m in MODELS:
            subprocess.run([a.bench, "--model", m, "--batch", "16", "--check", d], env=env_e, check=True)
            r = subprocess.run([a.python, a.torch_script, "--model", m, "--batch", "16", "--check", d], env=env_t,
                               capture_output=True, text=True)
            print(r.stdout.strip(), file=sys.stderr)
            if r.returncode != 0:
                raise SystemExit(f"compare_cnn: {m}: ebood and torch models disagree ({r.stderr.strip()})")


def fmt(v):
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "perf", "perf_cnn"))
    ap.add_argument("--torch-script", default=os.path.join(HERE, "cnn_torch.py"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma list of <model>-<train|infer>")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--windows", type=int, default=3, help="timed windows per run (the run's median)")
    ap.add_argument("--iters", type=int, default=0, help="steps per window (0: each model's default)")
    ap.add_argument("--no-ref", action="store_true", help="skip the EBOOD_CONV=ref side")
    ap.add_argument("--ref-windows", type=int, default=1, help="timed windows of the (slow) ref side (default 1)")
    ap.add_argument("--wait-quiet", type=float, default=300, metavar="S",
                    help="before each case of a round, wait up to S s for 3 quiet seconds (others use at most "
                         "--quiet of the machine); 0 = off")
    ap.add_argument("--quiet", type=float, default=0.15)
    ap.add_argument("--max-interference", type=float, default=0.15,
                    help="rerun a case's round when other processes used more than this fraction of the machine "
                         "during any of its runs (default 0.15)")
    ap.add_argument("--retries", type=int, default=2, help="reruns of a noisy case-round (default 2)")
    ap.add_argument("--no-cl", action="store_true", help="skip torch with channels_last")
    ap.add_argument("--untuned", action="store_true", help="torch without the anchors' tuning env")
    ap.add_argument("--ebood-env", action="append", default=[], metavar="K=V",
                    help="extra environment for both ebood sides (e.g. OMP_WAIT_POLICY=PASSIVE, as torch's)")
    ap.add_argument("--verify", action="store_true", help="first check that both sides' models agree")
    ap.add_argument("--json", help="also write all runs and the summary to this file")
    a = ap.parse_args()
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    for c in cases:
        m, _, mode = c.rpartition("-")
        if m not in MODELS or mode not in ("train", "infer"):
            raise SystemExit(f"compare_cnn: unknown case '{c}' (expected <{'|'.join(MODELS)}>-<train|infer>)")
    if not os.access(a.bench, os.X_OK):
        raise SystemExit(f"compare_cnn: {a.bench}: not built (cmake --build build --target perf_cnn)")

    env_e = dict(os.environ, EBOOD_THREADS=str(a.threads))
    env_e.pop("EBOOD_CONV", None)
    for kv in a.ebood_env:
        k, _, v = kv.partition("=")
        env_e[k] = v
    env_t = dict(os.environ)
    if not a.untuned:
        lib = env_t.get("LD_LIBRARY_PATH", "")
        env_t["LD_LIBRARY_PATH"] = OPENBLAS_OPENMP + (":" + lib if lib else "")
        env_t["OMP_WAIT_POLICY"] = "PASSIVE"
    if a.verify:
        verify(a, env_e, env_t)

    sides = ["ebood"] + ([] if a.no_ref else ["ebood-ref"]) + ["torch"] + ([] if a.no_cl else ["torch-cl"])
    runs = {c: {s: [] for s in sides} for c in cases}
    load = [os.getloadavg()[0]]
    t_start = time.time()
    for r in range(a.rounds):
        for c in cases:
            model, _, mode = c.rpartition("-")
            args = ["--model", model, "--mode", mode, "--batch", str(a.batch), "--threads", str(a.threads)] + \
                (["--iters", str(a.iters)] if a.iters else [])
            win = ["--windows", str(a.windows)]
            cmds = {
                "ebood": ([a.bench] + args + win, env_e),
                "ebood-ref": ([a.bench] + args + ["--windows", str(a.ref_windows)], dict(env_e, EBOOD_CONV="ref")),
                "torch": ([a.python, a.torch_script] + args + win, env_t),
                "torch-cl": ([a.python, a.torch_script] + args + win + ["--channels-last"], env_t),
            }
            order = sides if r % 2 == 0 else sides[::-1]
            for attempt in range(a.retries + 1):
                waited = wait_quiet(a.wait_quiet, a.quiet)
                line = [f"(waited {waited:.0f} s)"] if waited > 3.5 else []
                res = {}
                for s in order:
                    j, rss, interf = run(*cmds[s])
                    j["wait4_maxrss_kb"], j["interference"], j["loadavg"] = rss, interf, os.getloadavg()[0]
                    res[s] = j
                    line.append(f"{s} {fmt(j['samples_per_s'])} ({100 * interf:.0f} %)")
                noisy = max(j["interference"] for j in res.values()) > a.max_interference
                verdict = ("rerun" if attempt < a.retries else "kept, noisy") if noisy else ""
                print(f"round {r + 1}/{a.rounds} {c:16s} " + "  ".join(line) + (f"  -> {verdict}" if verdict else ""),
                      file=sys.stderr, flush=True)
                if not noisy:
                    break
            for s in sides:
                runs[c][s].append(res[s])
                load.append(res[s]["loadavg"])
    elapsed = time.time() - t_start

    summary = []
    for c in cases:
        R = runs[c]
        med = {s: statistics.median(j["samples_per_s"] for j in R[s]) for s in sides}
        best_t = [max(R["torch"][i]["samples_per_s"], R["torch-cl"][i]["samples_per_s"]) if "torch-cl" in R
                  else R["torch"][i]["samples_per_s"] for i in range(a.rounds)]
        ratio = [R["ebood"][i]["samples_per_s"] / best_t[i] for i in range(a.rounds)]
        s = {"case": c, "median": med, "best_torch": statistics.median(best_t),
             "ratio": statistics.median(ratio), "ratio_min": min(ratio), "ratio_max": max(ratio),
             "rss_mb": {k: max(j["wait4_maxrss_kb"] for j in R[k]) / 1024 for k in sides},
             "interference": max(j["interference"] for k in sides for j in R[k]),
             "conv": R["ebood"][0].get("conv", "?")}
        if "ebood-ref" in R:
            sp = [R["ebood"][i]["samples_per_s"] / R["ebood-ref"][i]["samples_per_s"] for i in range(a.rounds)]
            s["speedup_vs_ref"] = statistics.median(sp)
        summary.append(s)

    tj = runs[cases[0]]["torch"][0]
    print(f"\n{a.rounds} rounds, batch {a.batch}, {a.threads} threads, {a.windows} windows per run (ref side: {a.ref_windows}); {elapsed:.0f} s; "
          f"load average (1 min) {min(load):.1f}–{max(load):.1f} (median {statistics.median(load):.1f}); "
          f"ebood conv: {summary[0]['conv']}, extra env: {' '.join(a.ebood_env) or '-'}; torch {tj['torch']}, env: "
          + " ".join(f"{k}={v}" for k, v in tj["env"].items() if v) + "\n")
    head = "| case | ebood | " + ("ebood ref | " if not a.no_ref else "") + "torch | " + \
           ("torch CL | " if not a.no_cl else "") + "ebood / best torch | " + \
           ("ebood / ref | " if not a.no_ref else "") + "peak RSS ebood / torch" + \
           (" / torch CL" if not a.no_cl else "") + " | max interference |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for s in summary:
        m = s["median"]
        row = f"| {s['case']} | {fmt(m['ebood'])} | "
        if not a.no_ref:
            row += f"{fmt(m['ebood-ref'])} | "
        row += f"{fmt(m['torch'])} | "
        if not a.no_cl:
            row += f"{fmt(m['torch-cl'])} | "
        row += f"**{s['ratio']:.2f}×** ({s['ratio_min']:.2f}–{s['ratio_max']:.2f}) | "
        if not a.no_ref:
            row += f"{s['speedup_vs_ref']:.2f}× | "
        rss = s["rss_mb"]
        row += f"{rss['ebood']:.0f} / {rss['torch']:.0f}" + (f" / {rss['torch-cl']:.0f}" if not a.no_cl else "") + " MB | "
        row += f"{100 * s['interference']:.0f} % |"
        print(row)
    print("\nsamples/s: median over rounds of each run's median window; ratios: median over rounds of the "
          "per-round ratio (range in parentheses); best torch = the faster of NCHW and channels_last in "
          "that round. interference = CPU used by other processes during a run, as a fraction of the machine.")

    if a.json:
        doc = {"argv": sys.argv, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "summary": summary, "runs": runs,
               "uname": " ".join(os.uname())}
        tmp = f"{a.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
