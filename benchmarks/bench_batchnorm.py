"""Batch normalization, training forward + backward, float32: layergraph's CPU kernels vs
PyTorch CPU (autograd through F.batch_norm, and the native aten ops without autograd).

    python benchmarks/bench_batchnorm.py [--threads 2] [--repeat 30]

Each side runs in its own process with the same thread count (see _harness.py)."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

CASES = [[128, 16, 32, 32], [128, 64, 16, 16], [32, 256, 8, 8]]
EPS = 1e-5


def _data(shape):
    r = np.random.default_rng(0)
    c = shape[1]
    x = (r.standard_normal(shape) * 2 + 1).astype(np.float32)
    dy = r.standard_normal(shape).astype(np.float32)
    return x, dy, r.standard_normal(c).astype(np.float32), r.standard_normal(c).astype(np.float32)


def ours(shape, repeat, warmup):
    from layergraph.kernels import get_kernel
    fwd = get_kernel("batchnorm", "forward_train", "cpu")
    bwd = get_kernel("batchnorm", "backward", "cpu")
    x, dy, s, o = _data(shape)

    def step():
        y, m, v = fwd(x, s, o, EPS)
        bwd(dy, x, s, m, v, EPS)
    return timed(step, repeat, warmup)


def _torch(shape):
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x, dy, s, o = (torch.from_numpy(a) for a in _data(shape))
    return torch, x, dy, s, o


def torch_autograd(shape, repeat, warmup):
    torch, x, dy, s, o = _torch(shape)
    import torch.nn.functional as F
    x.requires_grad_(True)
    s.requires_grad_(True)
    o.requires_grad_(True)

    def step():
        y = F.batch_norm(x, None, None, s, o, training=True, eps=EPS)
        torch.autograd.grad(y, (x, s, o), dy)
    return timed(step, repeat, warmup)


def torch_native(shape, repeat, warmup):
    torch, x, dy, s, o = _torch(shape)
    aten = torch.ops.aten

    def step():
        with torch.no_grad():
            y, m, invstd = aten.native_batch_norm(x, s, o, None, None, True, 0.1, EPS)
            aten.native_batch_norm_backward(dy, x, s, None, None, m, invstd, True, EPS, [True, True, True])
    return timed(step, repeat, warmup)


SIDES = {"layergraph": ours, "torch autograd": torch_autograd, "torch native": torch_native}

if __name__ == "__main__":
    main(os.path.abspath(__file__), SIDES, CASES, "layergraph", lambda c: "x".join(map(str, c)))
