"""Where a cold-cache first run spends its compile time: each numba compilation (not a cache
load) of the seed CNN's first trainNetwork or predict, by function and signature.

    python benchmarks/profile_compile.py                 # trainNetwork, a fresh empty NUMBA_CACHE_DIR
    python benchmarks/profile_compile.py --what predict
    python benchmarks/profile_compile.py --warm DIR      # reuse DIR as the cache (a warm start)
    python benchmarks/profile_compile.py --tree /tmp/old # the layergraph of another source tree
    python benchmarks/profile_compile.py --cpu           # process CPU time instead of wall time
    LAYERGRAPH_BACKGROUND_COMPILE=0 python benchmarks/profile_compile.py   # everything in one process

The cold / warm first-call figures against torch are suite.py's (``--parts startup``); this
script lists what the compile time is made of. Times are wall time of numba's "numba:compile"
events (nested compilations counted in their own row and in their caller's), or with --cpu the
process's CPU time over them (what compares on a loaded machine), plus the process CPU time of the
whole first call. With the compile helper on (the default at a cold start), the kernels it
finished first are cache loads here and are not listed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def child(what, top, cpu=False):
    import resource
    import time
    clock = time.process_time if cpu else time.perf_counter
    sys.path.insert(0, HERE)
    import nets
    c0, t0 = time.process_time(), time.perf_counter()
    import layergraph
    c1, t1 = time.process_time(), time.perf_counter()
    from numba.core import event
    rows = []
    stack = []   # compilations nest (a kernel compiles the kernels it calls); start and end are LIFO

    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append(clock())

        def on_end(self, ev):
            d = ev.data or {}
            f = getattr(d.get("dispatcher"), "py_func", None)
            name = f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', d.get('dispatcher'))}"
            rows.append((clock() - stack.pop(), name, str(d.get("args"))))

    event.register("numba:compile", Listener())
    n = 128
    X, labels = nets.matlab_data("seed", n)
    c2, t2 = time.process_time(), time.perf_counter()
    if what == "train":
        layergraph.trainNetwork(X, layergraph.categorical(labels), nets.classifier_layers("seed"),
                                nets.matlab_options())
    else:
        nets.dlnet("seed").predict(X, MiniBatchSize=n)
    c3, t3 = time.process_time(), time.perf_counter()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rows.sort(reverse=True)
    print(f"import: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU; first {what}: {t3 - t2:.2f} s wall, "
          f"{c3 - c2:.2f} s CPU; process CPU {ru.ru_utime + ru.ru_stime:.2f} s")
    print(f"{len(rows)} compilations, {sum(r[0] for r in rows):.2f} s summed (nested ones count twice)")
    by = {}
    for s, name, _ in rows:
        k = by.setdefault(name, [0, 0.0])
        k[0] += 1
        k[1] += s
    print("by function (count, seconds):")
    for name, (k, s) in sorted(by.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"  {s:6.2f} s  {k:3d}x  {name}")
    print("slowest single compilations:")
    for s, name, args in rows[:top]:
        print(f"  {s:6.2f} s  {name}  {args[:150]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=("train", "predict"), default="train")
    ap.add_argument("--warm", metavar="DIR", help="use DIR as NUMBA_CACHE_DIR instead of a fresh empty folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tree", help="import layergraph from this source tree (default: this checkout)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--cpu", action="store_true", help="the process's CPU time over each compilation, not wall time")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(a.what, a.top, a.cpu)
    sys.path.insert(0, HERE)
    from _harness import load, thread_env
    folder = a.warm or tempfile.mkdtemp(prefix="layergraph-compile-")
    env = thread_env(a.threads, NUMBA_CACHE_DIR=folder)
    if a.tree:
        env["PYTHONPATH"] = os.path.abspath(a.tree)
    print(f"1-min load average {load():.2f}; NUMBA_CACHE_DIR={folder}")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--what", a.what, "--top", str(a.top)]
                   + (["--cpu"] if a.cpu else []), env=env, check=True)
    print(f"1-min load average {load():.2f}")


if __name__ == "__main__":
    sys.exit(main())
