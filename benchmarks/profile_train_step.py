"""Per-layer wall time of the seed CNN's training step (bench_train_step.py's network, batch 128).

    python benchmarks/profile_train_step.py [--repeat 30] [--threads 2]

Wraps each step's op forward / backward (and the fused training op, when the executor uses
one) with a timer and prints the median milliseconds per layer, plus the median whole step.
One process; the machine's noise shows up as is, so compare runs taken close together.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--repeat", type=int, default=30)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--unfused", action="store_true", help="no batch normalization + ReLU fusion (as before it)")
ap.add_argument("--all-dx", action="store_true", help="compute every dx, the input's too (as before)")
args = ap.parse_args()
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import nets  # noqa: E402

step_parts, _ = nets.train_step("seed", 128)
step_parts.input_grads = args.all_dx
ex = step_parts.ex
if args.unfused:
    ex._train_fusions_cache = {}
times: dict[tuple[str, str], list[float]] = {}


def wrap(name, op, attr):
    fn = getattr(op, attr, None)
    if fn is None:
        return

    def timed(*a, **kw):
        t0 = time.perf_counter()
        r = fn(*a, **kw)
        times.setdefault((name, attr), []).append(time.perf_counter() - t0)
        return r
    setattr(op, attr, timed)


for s in ex.steps:
    for attr in ("forward", "backward", "forward_train_fused", "backward_fused"):
        wrap(s.name, s.op, attr)


def step():
    y = step_parts.forward()
    t0 = time.perf_counter()
    seed = step_parts.loss(y)
    times.setdefault(("loss", "forward"), []).append(time.perf_counter() - t0)
    grads = step_parts.backward(seed)
    t0 = time.perf_counter()
    step_parts.update(grads)
    times.setdefault(("update", "forward"), []).append(time.perf_counter() - t0)


for _ in range(5):
    step()
times.clear()
whole = []
for _ in range(args.repeat):
    t0 = time.perf_counter()
    step()
    whole.append(time.perf_counter() - t0)
print(f"load average {os.getloadavg()[0]:.2f}; median of {args.repeat} steps; unfused {args.unfused}, "
      f"all dx {args.all_dx}")
names = list(dict.fromkeys(k[0] for k in times))
print(f"{'layer':<24} {'forward ms':>10} {'backward ms':>11}")
for nm in names:
    f = [np.median(v) * 1e3 for k, v in times.items() if k[0] == nm and "forward" in k[1]]
    b = [np.median(v) * 1e3 for k, v in times.items() if k[0] == nm and "backward" in k[1]]
    print(f"{nm:<24} {sum(f):>10.2f} {sum(b):>11.2f}")
print(f"whole step: {np.median(whole) * 1e3:.2f} ms")
