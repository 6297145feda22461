#!/usr/bin/python3
"""Side-by-side MLP throughput: ebood (perf/perf_mlp) against PyTorch (perf/mlp_torch.py).

Runs the two alternately as subprocesses, R rounds (the order flips every round: ABBA…), and
prints a Markdown table of median samples/s, the median of the per-round ratios ebood/torch, and
each process's peak RSS (from os.wait4, i.e. the kernel's count for that child alone).

Environments (shared/specs/performance-anchors.md):
  ebood  the caller's environment + EBOOD_THREADS=<threads>           (what a user runs)
  torch  the caller's environment + torch.set_num_threads(<threads>) and, unless --untuned,
         LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE
OPENBLAS_CORETYPE is left as the machine sets it, for both.

    /usr/bin/python3 perf/compare_mlp.py [--rounds 5] [--bench build/perf/perf_mlp] [--json out.json]
"""
import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

# name: (model, mode, batch); optimizers are the models' defaults on both sides
# (segment: AdamW lr 1e-3 wd 0; mlp256: SGD lr 0.01 momentum 0.9).
CASES = {
    "segment-train": ("segment", "train", 512),
    "segment-infer": ("segment", "infer", 256),
    "mlp256-train": ("mlp256", "train", 128),
    "mlp256-infer": ("mlp256", "infer", 256),
    "segment-loop": ("segment", "loop", 512),
    "mlp256-loop": ("mlp256", "loop", 128),
}
DEFAULT_CASES = ["segment-train", "segment-infer", "mlp256-train", "mlp256-infer", "segment-loop", "mlp256-loop"]


def cpu_busy_seconds():
    """CPU time (all cores, seconds) the machine spent outside idle/iowait, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait, threshold, allowance):
    """Waits (up to max_wait s) until the machine has been at most `threshold` busy beyond
    `allowance` (our own background hogs) for 3–9 consecutive seconds (random, so that two
    benchmarks waiting the same way do not start together and spoil each other's runs forever).
    Returns the seconds waited."""
    t0, quiet, quiet_for = time.monotonic(), 0, random.randint(3, 9)
    while True:
        b0 = cpu_busy_seconds()
        time.sleep(1.0)
        busy = (cpu_busy_seconds() - b0) / os.cpu_count()
        quiet = quiet + 1 if busy <= threshold + allowance else 0
        if quiet >= quiet_for or time.monotonic() - t0 >= max_wait:
            return time.monotonic() - t0


def run(cmd, env):
    """Runs cmd; returns (its JSON line, peak RSS in KiB from wait4, interference), where
    interference = CPU time used by OTHER processes during the run / (wall time × cores)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        b0, t0 = cpu_busy_seconds(), time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        b1, t1 = cpu_busy_seconds(), time.monotonic()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        raise SystemExit(f"compare_mlp: {shlex.join(cmd)} failed ({p.returncode}): {errtext.strip()}")
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"compare_mlp: {shlex.join(cmd)} printed no JSON line: {text!r} {errtext!r}")
    others = max(0.0, (b1 - b0) - (ru.ru_utime + ru.ru_stime))
    return json.loads(lines[-1]), ru.ru_maxrss, others / ((t1 - t0) * os.cpu_count())


def compare(a, cases, common, env_e, env_t):
    """The alternating rounds. Returns ({case: runs}, seconds)."""
    runs = {c: {"ebood": [], "torch": [], "ratio": [], "interference": [], "noisy": 0} for c in cases}
    t_start = time.time()
    for r in range(a.rounds):
        for c in cases:
            model, mode, batch = CASES[c]
            args = ["--model", model, "--mode", mode, "--batch", str(batch)] + common
            cmd_e = [a.bench] + args
            cmd_t = [a.python, a.torch_script] + args + (["--foreach", a.torch_foreach] if mode != "infer" else [])
            order = [("ebood", cmd_e, env_e), ("torch", cmd_t, env_t)]
            if r % 2:
                order.reverse()
            allowance = a.background_load / os.cpu_count()
            for attempt in range(a.retries + 1):
                if a.wait_quiet > 0:
                    wait_quiet(a.wait_quiet, a.max_interference, allowance)
                res, noise = {}, 0.0
                for name, cmd, env in order:
                    j, rss, interf = run(cmd, env)
                    j["wait4_maxrss_kb"] = rss
                    j["interference"] = interf
                    res[name] = j
                    noise = max(noise, interf)
                # background hogs are part of the experiment, not interference
                if noise <= a.max_interference + allowance:
                    break
                print(f"round {r + 1}/{a.rounds} {c:14s} other processes used {100 * noise:.0f} % of the "
                      f"machine: {'rerun' if attempt < a.retries else 'kept'}", file=sys.stderr, flush=True)
            else:
                runs[c]["noisy"] += 1
            for name in ("ebood", "torch"):
                runs[c][name].append(res[name])
            e, t = res["ebood"]["samples_per_s"], res["torch"]["samples_per_s"]
            runs[c]["ratio"].append(e / t)
            runs[c]["interference"].append(noise)
            print(f"round {r + 1}/{a.rounds} {c:14s} ebood {fmt(e):>9s}  torch {fmt(t):>9s}  ratio {e / t:.2f}"
                  f"  (interference {100 * noise:.0f} %)", file=sys.stderr, flush=True)
    return runs, time.time() - t_start


def ebood_info(root):
    exe = os.path.join(root, "build", "ebood")
    if not os.access(exe, os.X_OK):
        return None
    try:
        r = subprocess.run([exe, "info", "--json"], capture_output=True, text=True, timeout=30)
        return json.loads(r.stdout) if r.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def fmt(v):
    return f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "perf", "perf_mlp"))
    ap.add_argument("--torch-script", default=os.path.join(HERE, "mlp_torch.py"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma list of " + ", ".join(CASES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--windows", type=int, default=5, help="timed windows per run (the run's median)")
    ap.add_argument("--seconds", type=float, default=0.6, help="seconds per window")
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--untuned", action="store_true", help="torch without the anchors' tuning env")
    ap.add_argument("--ebood-env", action="append", default=[], metavar="K=V",
                    help="extra environment for ebood only (diagnostics, e.g. OMP_WAIT_POLICY=PASSIVE)")
    ap.add_argument("--torch-foreach", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--max-interference", type=float, default=0.10,
                    help="rerun a pair when other processes used more than this fraction of the machine "
                         "during either run (default 0.10)")
    ap.add_argument("--retries", type=int, default=3, help="reruns of a noisy pair (default 3)")
    ap.add_argument("--wait-quiet", type=float, default=60, metavar="S",
                    help="before each pair, wait up to S seconds for a quiet second (default 60; 0 = off)")
    ap.add_argument("--background-load", type=int, default=0, metavar="N",
                    help="start N busy-loop processes for the whole comparison (robustness check)")
    ap.add_argument("--json", help="also write all runs and the summary to this file")
    a = ap.parse_args()
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            raise SystemExit(f"compare_mlp: unknown case '{c}' (expected {', '.join(CASES)})")
    if not os.access(a.bench, os.X_OK):
        raise SystemExit(f"compare_mlp: {a.bench}: not built (cmake --build build --target perf_mlp)")

    common = ["--threads", str(a.threads), "--windows", str(a.windows), "--seconds", str(a.seconds),
              "--warmup", str(a.warmup)]
    env_e = dict(os.environ, EBOOD_THREADS=str(a.threads))
    for kv in a.ebood_env:
        k, _, v = kv.partition("=")
        env_e[k] = v
    env_t = dict(os.environ)
    if not a.untuned:
        lib = env_t.get("LD_LIBRARY_PATH", "")
        env_t["LD_LIBRARY_PATH"] = OPENBLAS_OPENMP + (":" + lib if lib else "")
        env_t["OMP_WAIT_POLICY"] = "PASSIVE"

    hogs = [subprocess.Popen([a.python, "-c", "while True: pass"]) for _ in range(a.background_load)]
    try:
        runs, elapsed = compare(a, cases, common, env_e, env_t)
    finally:
        for h in hogs:  # only the processes started above, by pid
            h.kill()
            h.wait()

    summary = []
    for c in cases:
        e = [j["samples_per_s"] for j in runs[c]["ebood"]]
        t = [j["samples_per_s"] for j in runs[c]["torch"]]
        rat = runs[c]["ratio"]
        summary.append({
            "case": c, "model": runs[c]["ebood"][0]["arch"], "mode": CASES[c][1], "batch": CASES[c][2],
            "optimizer": runs[c]["ebood"][0]["optimizer"],
            "ebood": statistics.median(e), "torch": statistics.median(t),
            "ratio": statistics.median(rat), "ratio_min": min(rat), "ratio_max": max(rat),
            "ebood_rss_mb": max(j["wait4_maxrss_kb"] for j in runs[c]["ebood"]) / 1024,
            "torch_rss_mb": max(j["wait4_maxrss_kb"] for j in runs[c]["torch"]) / 1024,
            "interference": max(runs[c]["interference"]), "noisy_pairs": runs[c]["noisy"],
        })

    tj = runs[cases[0]]["torch"][0]
    ej = runs[cases[0]]["ebood"][0]
    print(f"\n{a.rounds} rounds, {a.threads} threads, {a.windows}×{a.seconds}s windows per run; "
          f"{elapsed:.0f} s; background load: {a.background_load} busy process(es). ebood BLAS: {ej['blas']}; torch {tj['torch']} BLAS: {tj['blas']} "
          f"({tj['blas_lib']}); torch env: "
          + " ".join(f"{k}={v}" for k, v in tj["env"].items() if v) + "\n")
    print("| case | model | batch | optimizer | ebood samples/s | torch samples/s | ebood/torch (median, range) "
          "| peak RSS ebood / torch | max interference |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['case']} | {s['model']} | {s['batch']} | {s['optimizer']} | {fmt(s['ebood'])} | "
              f"{fmt(s['torch'])} | **{s['ratio']:.2f}×** ({s['ratio_min']:.2f}–{s['ratio_max']:.2f}) | "
              f"{s['ebood_rss_mb']:.0f} MB / {s['torch_rss_mb']:.0f} MB | {100 * s['interference']:.0f} %"
              + (f" ({s['noisy_pairs']} kept noisy)" if s["noisy_pairs"] else "") + " |")
    print("\nratio = median over rounds of (ebood / torch) within a round; samples/s = median over rounds of each "
          "run's median window. interference = CPU used by other processes during a run, as a fraction of the "
          f"machine (pairs above {a.max_interference:.2f} were rerun up to {a.retries} times).")

    if a.json:
        doc = {"argv": sys.argv, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "summary": summary, "runs": runs,
               "background_load": a.background_load,
               "ebood_info": ebood_info(ROOT), "uname": " ".join(os.uname())}
        tmp = f"{a.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
