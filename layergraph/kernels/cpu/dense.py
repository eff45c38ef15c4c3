"""Fully connected layer (MATLAB fullyConnectedLayer), numpy BLAS products.

x is N x In (or N x C x H x W, read as its row-major (C, H, W) flatten, which is the order
conventions.fc_weights_to_internal prepares the weights for); w Out x In; b (Out,) or None.
  fc_forward(x, w, b) -> y (N x Out)
  fc_backward(dy, x, w) -> (dx (shape of x), dw (Out x In), db (Out,))

The batch is split over the kernels' thread pool with a single-threaded BLAS in each thread
(_parallel.py): a multi-threaded OpenBLAS product here left OpenBLAS's threads spinning into
the next kernels of a training step, which made the whole step up to 1.7x slower on the
2-core benchmark machine when anything else was running.
"""
from __future__ import annotations

import numpy as np

from ._parallel import batch_parallel, blas_threads
from ._util import as_float, like, out_empty

# fewer rows per thread than this: one thread does it all. Two threads on 16 rows each (batch 32)
# cost 2-3x the CPU time of one thread on all 32 (two single-threaded OpenBLAS products at once,
# and the hand-off; measured 2026-12-04 on the 784-512-512-10 MLP's layers, docs/performance.md)
_MIN_ROWS = 64


def _x2(x, w, name):
    x = as_float(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected N x In data, got shape {x.shape}.")
    x2 = x.reshape(x.shape[0], -1)
    w = like(w, x, "w")
    if w.ndim != 2 or w.shape[1] != x2.shape[1]:
        raise ValueError(f"{name}: weights {w.shape} do not fit input size {x2.shape[1]} (expected Out x In).")
    return x, x2, w


def _split(n):
    return max(1, min(n, n // _MIN_ROWS))


def fc_forward(x, w, b):
    x, x2, w = _x2(x, w, "fc_forward")
    n = x2.shape[0]
    y = np.empty((n, w.shape[0]), x.dtype)
    bias = None if b is None else like(b, x, "b", (w.shape[0],))

    def work(chunks):
        for lo, hi in chunks:
            np.matmul(x2[lo:hi], w.T, out=y[lo:hi])
            if bias is not None:
                y[lo:hi] += bias

    if _split(n) > 1:
        batch_parallel(work, n)
    else:
        with blas_threads(1):   # a multi-threaded OpenBLAS here spins against the next kernels
            work([(0, n)])
    return y


def fc_backward(dy, x, w):
    x, x2, w = _x2(x, w, "fc_backward")
    n = x2.shape[0]
    dy = like(dy, x, "dy", (n, w.shape[0]))
    dx = out_empty(x2.shape, x.dtype)

    def work(chunks):
        parts = []
        for lo, hi in chunks:
            np.matmul(dy[lo:hi], w, out=dx[lo:hi])
            parts.append((lo, dy[lo:hi].T @ x2[lo:hi]))
        return parts

    if _split(n) > 1:
        done = batch_parallel(work, n)
    else:
        with blas_threads(1):
            done = [work([(0, n)])]
    parts = sorted((p for ps in done for p in ps), key=lambda q: q[0])  # a fixed order: reproducible sums
    dw = parts[0][1]
    for _, p in parts[1:]:
        dw += p
    return dx.reshape(x.shape), dw, dy.sum(axis=0)
