"""One thread against the pool's threads for one of the suite's networks, in one process,
alternating blocks of calls (so a machine's load drifts over both alike).

    python benchmarks/threads_ab.py --net mlp --batch 32 --what train [--blocks 16] [--calls 100]
    python benchmarks/threads_ab.py --net mlp --batch 32 --what predict --chain

``--chain``: instead of one thread against the pool, the two splits of a chain of fully connected
layers in prediction (kernels/cpu/dense.py: by output columns with the threads waiting for each
layer's columns, CHAIN_COLUMNS = True, against by rows), both on the pool; the back-off to one
thread is reset before each block and its count printed (a busy machine backs off often).

The process starts with NUMBA_NUM_THREADS (and OpenMP's, OpenBLAS's, MKL's) at --threads
(default 2); the one-thread blocks replace kernels/cpu/_parallel.threads by 1, which is what the
kernels read to split their work (BLAS then held at one thread), so both sides run the same
code but for the split. Prints the medians of the blocks' median wall time and their mean CPU time
per call (``time.process_time``, all threads), and the load average. Asserts nothing; on a busy
machine the pool's side loses its second core and says so by CPU time close to wall time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--net", default="mlp")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--what", choices=("train", "predict"), default="train")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--blocks", type=int, default=16)
ap.add_argument("--calls", type=int, default=100)
ap.add_argument("--chain", action="store_true", help="compare the fc chain's column and row splits")
args = ap.parse_args()
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nets  # noqa: E402

from layergraph.kernels.cpu import _parallel  # noqa: E402

if args.what == "train":
    fn, _ = nets.train_step(args.net, args.batch)
else:
    X, _ = nets.matlab_data(args.net, args.batch)
    net = nets.dlnet(args.net)

    def fn():
        net.predict(X, MiniBatchSize=args.batch)
pool_threads = _parallel.threads
if args.chain:
    from layergraph.kernels.cpu import dense
    backoffs = {"columns": 0, "rows": 0}

    def chain_block(side):
        dense.CHAIN_COLUMNS = side == "columns"
        dense._chain_serial_until[0] = 0.0
        dense._chain_backoff[0] = dense._CHAIN_BACKOFF
        for _ in range(max(2, args.calls // 10)):
            fn()
        times, c0, last = [], time.process_time(), dense._chain_serial_until[0]
        for _ in range(args.calls):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            if dense._chain_serial_until[0] != last:
                backoffs[side] += 1
                last = dense._chain_serial_until[0]
        return statistics.median(times), (time.process_time() - c0) / args.calls
    wall_c: dict = {"columns": [], "rows": []}
    cpu_c: dict = {"columns": [], "rows": []}
    load0 = os.getloadavg()[0]
    for b in range(args.blocks):
        for side in (("columns", "rows") if b % 2 else ("rows", "columns")):
            w_, c_ = chain_block(side)
            wall_c[side].append(w_)
            cpu_c[side].append(c_)
    dense.CHAIN_COLUMNS = False
    print(f"{args.net} {args.what} batch {args.batch}; {args.blocks} blocks x {args.calls} calls per side; "
          f"1-min load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after")
    for side in ("columns", "rows"):
        print(f"chain by {side}: wall {statistics.median(wall_c[side]) * 1e3:.3f} ms (block minimum "
              f"{min(wall_c[side]) * 1e3:.3f}), CPU {statistics.median(cpu_c[side]) * 1e3:.3f} ms, "
              f"{backoffs[side]} back-offs to one thread")
    print(f"columns / rows, wall: {statistics.median(wall_c['columns']) / statistics.median(wall_c['rows']):.2f}")
    sys.exit(0)
sides = {1: lambda: 1, args.threads: pool_threads}
wall: dict = {n: [] for n in sides}
cpu: dict = {n: [] for n in sides}
load0 = os.getloadavg()[0]
for b in range(args.blocks):
    for n in (sorted(sides) if b % 2 else sorted(sides, reverse=True)):
        _parallel.threads = sides[n]
        for _ in range(max(2, args.calls // 10)):
            fn()
        times, c0 = [], time.process_time()
        for _ in range(args.calls):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        cpu[n].append((time.process_time() - c0) / args.calls)
        wall[n].append(statistics.median(times))
_parallel.threads = pool_threads
print(f"{args.net} {args.what} batch {args.batch}; {args.blocks} blocks x {args.calls} calls per side; "
      f"1-min load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after")
for n in sorted(sides):
    w, c = statistics.median(wall[n]) * 1e3, statistics.median(cpu[n]) * 1e3
    print(f"{n} thread(s): wall {w:.3f} ms, CPU {c:.3f} ms")
print(f"{args.threads} / 1 threads, wall: {statistics.median(wall[args.threads]) / statistics.median(wall[1]):.2f}")
