"""Run each side of a benchmark in its own process (torch's and numba's OpenMP runtimes slow
each other down when they share one), with the same thread count, and print medians.

A benchmark module defines SIDES = {name: function(case, repeat, warmup) -> [seconds]} and
CASES; ``main(__file__, ...)`` drives it: the parent spawns one child per side, each child
times every case and prints JSON, the parent prints a table of medians and ratios.

The pieces (``timed``, ``thread_env``, ``run_child``, ``machine``, ``load``) are also what
``suite.py`` drives its own children with."""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# the checkout this file belongs to: children import its layergraph, not an installed copy
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(fn, repeat, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def thread_env(threads, **extra):
    """The environment of a child: every thread pool held at ``threads``, this checkout first
    on the import path."""
    env = dict(os.environ, **extra)
    for v in THREAD_VARS:
        env[v] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    return env


def run_child(argv, env):
    """Run ``python argv...`` and return the JSON of its last ``RESULT `` line. A failing child
    raises with its stderr, so a broken side is not mistaken for a slow one."""
    p = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child {' '.join(argv)} failed (exit {p.returncode}):\n{p.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def report(result):
    """A child's answer to its parent (read back by run_child)."""
    print("RESULT " + json.dumps(result), flush=True)


def _child(sides, cases, side, repeat, warmup):
    res = {}
    for case in cases:
        res[json.dumps(case)] = sides[side](case, repeat, warmup)
    report(res)


def machine():
    """CPU model, core count and versions of Python, numpy, numba and torch."""
    out = {"python": platform.python_version(), "machine": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    out["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    out["cores"] = os.cpu_count()
    # from the installed metadata: importing numba (or torch) in the parent would take seconds
    for pkg in ("numpy", "numba", "torch"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def load():
    """The 1-minute load average."""
    return os.getloadavg()[0]


def main(script, sides, cases, baseline, describe, repeat=30, warmup=5, rounds=2):
    ap = argparse.ArgumentParser()
    ap.add_argument("--side")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", "--repeats", type=int, default=repeat, dest="repeat")
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--rounds", type=int, default=rounds,
                    help="processes per side, run alternately (ABAB) so slow spells hit both sides")
    a = ap.parse_args()
    if a.side:
        _child(sides, cases, a.side, a.repeat, a.warmup)
        return
    env = thread_env(a.threads)
    samples = {side: {} for side in sides}
    load0 = load()
    for _ in range(a.rounds):
        for side in sides:
            res = run_child([script, "--side", side, "--threads", str(a.threads), "--repeat", str(a.repeat),
                             "--warmup", str(a.warmup)], env)
            for k, v in res.items():
                samples[side].setdefault(k, []).extend(v)
    results = {side: {k: statistics.median(v) for k, v in d.items()} for side, d in samples.items()}
    load1 = load()
    vers = machine()
    print(f"# {vers.get('cpu', vers['machine'])}, {vers['cores']} cores; {a.threads} threads per side; "
          f"python {vers['python']}, numpy {vers['numpy']}, numba {vers['numba']}; "
          f"median of {a.rounds} x {a.repeat} runs ({a.rounds} processes per side, alternating, "
          f"{a.warmup} warm-up runs each); 1-min load average {load0:.2f} before, {load1:.2f} after")
    others = [s for s in sides if s != baseline]
    head = f"| {'case':<{max(len(describe(c)) for c in cases)}} | " + " | ".join(f"{s} (ms)" for s in sides)
    head += " | " + " | ".join(f"{s} / {baseline}" for s in others) + " |"
    print(head)
    print("|" + "|".join("---" for _ in range(len(head.split("|")) - 2)) + "|")
    ratios = {s: [] for s in others}
    for case in cases:
        k = json.dumps(case)
        row = f"| {describe(case)} | " + " | ".join(f"{results[s][k] * 1e3:.2f}" for s in sides)
        cells = []
        for s in others:
            r = results[s][k] / results[baseline][k]
            ratios[s].append(r)
            cells.append(f"{r:.2f}x")
        print(row + " | " + " | ".join(cells) + " |")
    for s in others:
        print(f"median ratio {s} / {baseline}: {statistics.median(ratios[s]):.2f}x")
