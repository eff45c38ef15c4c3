"""ResNet-20's 3x3 stride-1 convolutions' backward, alone, against torch's (issue 16): dx, dW and
both, as the pixel-major training plan calls them (``conv._dx_forward``, ``conv._grads_winograd`` or
``conv._grads_rows``, ``conv._backward_pixel_major``), and torch's
``aten.convolution_backward`` on NCHW and channels-last tensors.

    python benchmarks/profile_conv_backward.py --side ours --threads 1
    python benchmarks/profile_conv_backward.py --side torch --threads 1

One side per process (run both, in turn: torch's and numba's thread runtimes slow each other down);
each shape (batch N, C = F in 16, 32, 64 at 32x32, 16x16, 8x8) timed by wall clock and CPU time
(medians of ``--repeats`` calls after 3 warm-up calls, milliseconds). The load average is printed;
nothing is asserted. torch's CPU time counts its OpenMP threads' spinning.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--side", choices=("ours", "torch"), default="ours")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--repeats", type=int, default=15)
ap.add_argument("--tree", help="the layergraph source tree to import (default: this checkout)")
args = ap.parse_args()
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
sys.path.insert(0, args.tree or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402


def med(f):
    for _ in range(3):
        f()
    ts = []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        f()
        ts.append((time.perf_counter() - t, time.process_time() - c))
    ts.sort()
    w, c = ts[len(ts) // 2]
    return f"{w * 1e3:.2f}/{c * 1e3:.2f}"


print(f"{args.side}, {args.threads} thread(s), batch {args.batch}; ms wall/CPU; load average "
      f"{os.getloadavg()[0]:.2f}")
N = args.batch
for C, S in ((16, 32), (32, 16), (64, 8)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, S, S, C)).astype(np.float32)
    w = (rng.standard_normal((C, C, 3, 3)) * 0.1).astype(np.float32)
    dy = rng.standard_normal((N, S, S, C)).astype(np.float32)
    if args.side == "ours":
        from layergraph.kernels.cpu import conv as cv
        p = dict(sh=1, sw=1, dh=1, dw=1, pt=1, pb=1, pl=1, pr=1, groups=1)
        route = cv._dx_route(np.float32, C, p, 3, 3, cv._WINOGRAD_DX_PM_MIN_F)
        if route is not None and cv._winograd_dw_ok(np.float32, C, C, 3, 3, 1, 1, 1, 1, 1, 0.0):
            fdw, how = (lambda: cv._grads_winograd(dy, x, C, 1, 1, 0.0, True, True)), "Winograd"
        else:
            fdw, how = (lambda: cv._grads_rows(dy, x, w, 1, 1, 1, 1, 0.0, False, True, True)), "rows"
        fdx = (lambda: cv._dx_forward(dy, w, route, S, S, True, (N, C, S, S), None, False)) if route else None
        both = med(lambda: cv._backward_pixel_major(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.0, True, True, True))
        print(f"{C} -> {C} @ {S}: dx {med(fdx) if fdx else '(with dW)'}  dW ({how}) {med(fdw)}  both {both}")
    else:
        import torch
        torch.set_num_threads(args.threads)
        for cl in (False, True):
            xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
            dyt = torch.from_numpy(dy.transpose(0, 3, 1, 2).copy())
            wt = torch.from_numpy(w.copy())
            if cl:
                xt = xt.contiguous(memory_format=torch.channels_last)
                dyt = dyt.contiguous(memory_format=torch.channels_last)

            def bw(mask, xt=xt, dyt=dyt, wt=wt):
                return lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, [C], [1, 1], [1, 1], [1, 1], False,
                                                                   [0, 0], 1, mask)
            print(f"{C} -> {C} @ {S} ({'channels-last' if cl else 'NCHW'}): dx {med(bw([True, False, False]))}  "
                  f"dW {med(bw([False, True, True]))}  both {med(bw([True, True, True]))}")
