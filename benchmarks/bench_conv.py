"""2-D convolution, float32, at the seed CNN's shapes (batch 128): layergraph's CPU kernels
(im2col / col2im in numba + numpy BLAS) vs PyTorch CPU (F.conv2d, autograd backward for
dx, dw and db).

    python benchmarks/bench_conv.py [--threads 2] [--repeat 20]

Cases: [N, C, H, W, F, K, pad, mode], mode "forward" or "forward+backward"."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

SHAPES = [[128, 3, 32, 32, 16, 3, 1], [128, 16, 16, 16, 32, 3, 1]]
CASES = [s + [m] for s in SHAPES for m in ("forward", "forward+backward")]


def _data(case):
    n, c, h, w, f, k, p, _ = case
    r = np.random.default_rng(0)
    x = r.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (r.standard_normal((f, c, k, k)) * 0.1).astype(np.float32)
    b = r.standard_normal(f).astype(np.float32)
    oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
    dy = r.standard_normal((n, f, oh, ow)).astype(np.float32)
    return x, wt, b, dy


def ours(case, repeat, warmup):
    from layergraph.kernels import get_kernel
    fwd = get_kernel("conv", "forward_train", "cpu")
    bwd = get_kernel("conv", "backward", "cpu")
    x, wt, b, dy = _data(case)
    p = case[6]
    hp = (1, 1, 1, 1, p, p, p, p, 1, 0.0)

    def step():
        fwd(x, wt, b, *hp)
        if case[-1] != "forward":
            bwd(dy, x, wt, *hp)
    return timed(step, repeat, warmup)


def torch_side(case, repeat, warmup):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x, wt, b, dy = (torch.from_numpy(a) for a in _data(case))
    p = case[6]
    train = case[-1] != "forward"
    for t in (x, wt, b):
        t.requires_grad_(train)

    def step():
        if train:
            y = F.conv2d(x, wt, b, padding=p)
            torch.autograd.grad(y, (x, wt, b), dy)
        else:
            with torch.no_grad():
                F.conv2d(x, wt, b, padding=p)
    return timed(step, repeat, warmup)


SIDES = {"layergraph": ours, "torch": torch_side}


def describe(c):
    n, ch, h, w, f, k, p, mode = c
    return f"{n}x{ch}x{h}x{w} -> {f} {k}x{k} pad {p}, {mode}"


if __name__ == "__main__":
    main(os.path.abspath(__file__), SIDES, CASES, "layergraph", describe, repeat=20, warmup=3)
