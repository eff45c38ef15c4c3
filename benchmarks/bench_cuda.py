"""The numba.cuda kernels on a real GPU against PyTorch CUDA, float32, data already on the
device: batch normalization (training forward + backward), ReLU forward + backward and 2x2
max pooling (forward with argmax + backward).

    python benchmarks/bench_cuda.py [--repeat 50] [--rounds 2]

Needs a CUDA GPU and a CUDA build of PyTorch (the simulator would measure Python threads).
Each side runs in its own process (_harness.py); each step ends with a device synchronize,
so the times are wall times of whole steps, launches included."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

CASES = [["batchnorm", 128, 16, 32, 32], ["batchnorm", 128, 64, 16, 16], ["batchnorm", 32, 256, 8, 8],
         ["batchnorm", 256, 64, 56, 56], ["relu", 128, 16, 32, 32], ["relu", 256, 64, 56, 56],
         ["maxpool", 128, 16, 32, 32], ["maxpool", 256, 64, 56, 56]]
EPS = 1e-5


def _data(shape):
    r = np.random.default_rng(0)
    x = (r.standard_normal(shape) * 2 + 1).astype(np.float32)
    dy = r.standard_normal(shape).astype(np.float32)
    c = shape[1]
    return x, dy, r.standard_normal(c).astype(np.float32), r.standard_normal(c).astype(np.float32)


def ours(case, repeat, warmup):
    from numba import cuda

    import layergraph.kernels.cuda as K
    op, shape = case[0], case[1:]
    x, dy, s, o = (cuda.to_device(a) for a in _data(shape))
    pooled_dy = cuda.to_device(np.ones((shape[0], shape[1], shape[2] // 2, shape[3] // 2), np.float32))

    def step():
        if op == "batchnorm":
            y, m, v = K.bn_forward_train(x, s, o, EPS)
            K.bn_backward(dy, x, s, m, v, EPS)
        elif op == "relu":
            y = K.relu_forward(x)
            K.relu_backward(dy, x, y)
        else:
            y, arg = K.maxpool_forward_train(x, 2, 2, 2, 2, 0, 0, 0, 0)
            K.maxpool_backward(pooled_dy, arg, shape[2], shape[3])
        cuda.synchronize()
    return timed(step, repeat, warmup)


def torch_cuda(case, repeat, warmup):
    import torch
    import torch.nn.functional as F
    op, shape = case[0], case[1:]
    x, dy, s, o = (torch.from_numpy(a).cuda() for a in _data(shape))
    x.requires_grad_(True)
    s.requires_grad_(True)
    o.requires_grad_(True)

    def step():
        if op == "batchnorm":
            y = F.batch_norm(x, None, None, s, o, training=True, eps=EPS)
            torch.autograd.grad(y, (x, s, o), dy)
        elif op == "relu":
            y = F.relu(x)
            torch.autograd.grad(y, x, dy)
        else:
            y = F.max_pool2d(x, 2, 2)
            torch.autograd.grad(y, x, torch.ones_like(y))
        torch.cuda.synchronize()
    return timed(step, repeat, warmup)


if __name__ == "__main__":
    main(__file__, {"layergraph": ours, "torch_cuda": torch_cuda}, CASES, "layergraph",
         lambda c: f"{c[0]} {'x'.join(map(str, c[1:]))}", repeat=50, warmup=10)
