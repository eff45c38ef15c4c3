"""Two source trees of layergraph against each other (A = before, B = after a change), on the
suite's networks or on single convolution layers, in fresh processes taken in turn.

    python benchmarks/ab.py --a /tmp/base --b . train:seed:128 train:resnet20:128 predict:mobilenet:128
    python benchmarks/ab.py --a /tmp/base --b . conv:128x64x32x32:k3:s1:g64 --threads 1

A workload is ``train:NET:BATCH`` (the suite's training step, nets.train_step), ``predict:NET:BATCH``
(dlnetwork.predict on MATLAB-layout data) or ``conv:NxCxHxW:kK:sS:gG[:fF]`` (conv_forward and
conv_backward of the CPU kernels on random float32 data, padding (K-1)/2, F filters, default
F = C; G = C is a depthwise convolution). Each child imports the tree it is given
(``PYTHONPATH``), runs the workload's warm-up calls, then times each call by wall clock and by the
process's CPU time (all threads; ``time.process_time``), so that a machine shared with other work
still compares A with B: CPU time is what the call cost, whoever else runs. The sides alternate
(ABAB, the order flipping each round) and the table gives medians over all rounds, B / A. numba's
on-disk cache is each tree's own (``NUMBA_CACHE_DIR`` under the system's temp folder) and warm
after the warm-up calls. The CPU model and the load average before and after are printed; this
asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _conv_case(spec):
    dims, *rest = spec.split(":")
    n, c, h, w = (int(v) for v in dims.split("x"))
    opts = {"k": 3, "s": 1, "g": 1, "f": c}
    for r in rest:
        opts[r[0]] = int(r[1:])
    return n, c, h, w, opts


def child(workload, warmup, repeats):
    sys.path.insert(0, HERE)
    import numpy as np
    kind, spec = workload.split(":", 1)
    if kind == "conv":
        from layergraph.kernels.cpu.conv import conv_backward, conv_forward
        n, c, h, w, o = _conv_case(spec)
        r = np.random.default_rng(0)
        x = r.standard_normal((n, c, h, w)).astype(np.float32)
        wt = r.standard_normal((o["f"], c // o["g"], o["k"], o["k"])).astype(np.float32)
        b = r.standard_normal(o["f"]).astype(np.float32)
        p = (o["k"] - 1) // 2
        args = (o["s"], o["s"], 1, 1, p, p, p, p)
        y = conv_forward(x, wt, b, *args, groups=o["g"])
        dy = r.standard_normal(y.shape).astype(np.float32)
        calls = {"forward": lambda: conv_forward(x, wt, b, *args, groups=o["g"]),
                 "backward": lambda: conv_backward(dy, x, wt, *args, groups=o["g"])}
    else:
        import nets
        name, batch = spec.split(":")
        if kind == "train":
            step, _ = nets.train_step(name, int(batch))
            calls = {"step": step}
        else:
            X, _ = nets.matlab_data(name, int(batch))
            net = nets.dlnet(name)
            calls = {"predict": lambda: net.predict(X, MiniBatchSize=int(batch))}
    out = {}
    for what, fn in calls.items():
        for _ in range(warmup):
            fn()
        wall, cpu = [], []
        for _ in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
        out[what] = {"wall": wall, "cpu": cpu}
    print("RESULT " + json.dumps(out), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*")
    ap.add_argument("--a", required=False, help="the 'before' tree (a checkout or an exported commit)")
    ap.add_argument("--b", default=os.path.dirname(HERE), help="the 'after' tree (default: this checkout)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(a.child, a.warmup, a.repeats)
    if not a.a or not a.workloads:
        ap.error("give --a and at least one workload")
    sys.path.insert(0, HERE)
    from _harness import load, machine, thread_env
    m = machine()
    print(f"CPU: {m.get('cpu', m['machine'])}, {os.cpu_count()} cores; {a.threads} thread(s) per side; "
          f"{a.rounds} rounds x {a.repeats} timed calls after {a.warmup} warm-up calls per process")
    print(f"A = {os.path.abspath(a.a)}\nB = {os.path.abspath(a.b)}\n1-min load average before: {load():.2f}")
    trees = {"A": os.path.abspath(a.a), "B": os.path.abspath(a.b)}
    res = {}
    for r in range(a.rounds):
        for wl in a.workloads:
            for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
                env = thread_env(a.threads, NUMBA_CACHE_DIR=os.path.join(tempfile.gettempdir(),
                                                                         f"layergraph-ab-{side}-{os.getuid()}"))
                env["PYTHONPATH"] = os.pathsep.join([trees[side], HERE])
                cmd = [sys.executable, os.path.abspath(__file__), "--child", wl, "--warmup", str(a.warmup),
                       "--repeats", str(a.repeats)]
                p = subprocess.run(cmd, env=env, cwd=trees[side], capture_output=True, text=True)
                lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
                if p.returncode or not lines:
                    raise RuntimeError(f"{side} {wl} failed:\n{p.stderr[-3000:]}")
                for what, v in json.loads(lines[-1][7:]).items():
                    d = res.setdefault((wl, what), {}).setdefault(side, {"wall": [], "cpu": []})
                    d["wall"] += v["wall"]
                    d["cpu"] += v["cpu"]
        print(f"round {r + 1} of {a.rounds} done (load {load():.2f})", file=sys.stderr, flush=True)
    print(f"1-min load average after: {load():.2f}")
    print("| workload | call | A wall ms | B wall ms | B/A wall | A CPU ms | B CPU ms | B/A CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for (wl, what), d in res.items():
        med = {s: {k: statistics.median(v) * 1e3 for k, v in d[s].items()} for s in d}
        print(f"| {wl} | {what} | {med['A']['wall']:.2f} | {med['B']['wall']:.2f} | "
              f"{med['B']['wall'] / med['A']['wall']:.2f} | {med['A']['cpu']:.2f} | {med['B']['cpu']:.2f} | "
              f"{med['B']['cpu'] / med['A']['cpu']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
