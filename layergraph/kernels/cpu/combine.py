"""Layers with several inputs (MATLAB additionLayer, concatenationLayer,
depthConcatenationLayer). Elementwise sums and block copies are memory-bound; numpy runs them at
one thread's memory speed, with no compile cost. The addition of large arrays (ResNet's blocks in
training) runs as a small numba loop split over the pool's threads into a pooled output instead:
numpy's serial sum and copies were ~30 ms of one thread per ResNet-20 training step at batch 128
while the other core waited (docs/performance.md, h_rpar).

  addition_forward(inputs) -> y                     sum of k same-shape arrays
  addition_backward(dy, k) -> (dx1, ..., dxk)       independent copies of dy
  concat_forward(inputs, axis) -> y                 axis in the internal layout
                                                    (N x C x H x W: 1 = channels, 2 = H, 3 = W)
  concat_backward(dy, sizes, axis) -> (dx1, ...)    sizes: each input's extent along axis
  depthconcat_forward(inputs) / depthconcat_backward(dy, sizes): axis 1
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import SERIAL_BELOW, parallel_range
from ._util import as_float, out_empty

# elements per slice of the parallel sum and copy
_BLOCK = 1 << 14


@njit(cache=True, nogil=True)
def _sum_blocks(lo, hi, a, b, y):
    """y[i] = a[i] + b[i] over blocks lo:hi of _BLOCK elements (flat arrays)."""
    n = y.shape[0]
    for i in range(lo * _BLOCK, min(hi * _BLOCK, n)):
        y[i] = a[i] + b[i]


@njit(cache=True, nogil=True)
def _copy_blocks(lo, hi, a, y):
    """y[i] = a[i] over blocks lo:hi of _BLOCK elements (flat arrays)."""
    n = y.shape[0]
    for i in range(lo * _BLOCK, min(hi * _BLOCK, n)):
        y[i] = a[i]


def _blocks(size):
    return -(-size // _BLOCK)


def addition_forward(inputs):
    inputs = [as_float(a) for a in inputs]
    if not inputs:
        raise ValueError("addition_forward: needs at least one input.")
    dtype = np.result_type(*inputs)
    if len(inputs) >= 2 and inputs[0].size >= SERIAL_BELOW and all(
            a.dtype == dtype and a.shape == inputs[0].shape for a in inputs):
        y = out_empty(inputs[0].shape, dtype)
        yf = y.reshape(-1)
        nb = _blocks(yf.size)
        parallel_range(_sum_blocks, nb, inputs[0].reshape(-1), inputs[1].reshape(-1), yf, size=yf.size)
        for a in inputs[2:]:
            parallel_range(_sum_blocks, nb, yf, a.reshape(-1), yf, size=yf.size)
        return y
    y = inputs[0].astype(dtype, copy=True)
    for i, a in enumerate(inputs[1:], start=2):
        if a.shape != y.shape:
            raise ValueError(f"addition_forward: input {i} has shape {a.shape}, input 1 has {y.shape}.")
        y += a
    return y


def addition_backward(dy, k):
    dy = as_float(dy)
    if dy.size < SERIAL_BELOW:
        return tuple(dy.copy() for _ in range(int(k)))
    src = dy.reshape(-1)
    out = []
    for _ in range(int(k)):
        y = out_empty(dy.shape, dy.dtype)
        parallel_range(_copy_blocks, _blocks(src.size), src, y.reshape(-1), size=src.size)
        out.append(y)
    return tuple(out)


def concat_forward(inputs, axis):
    inputs = [as_float(a) for a in inputs]
    return np.concatenate(inputs, axis=int(axis))


def concat_backward(dy, sizes, axis):
    dy = as_float(dy)
    axis = int(axis)
    sizes = [int(s) for s in sizes]
    if sum(sizes) != dy.shape[axis]:
        raise ValueError(f"concat_backward: sizes {sizes} do not add up to {dy.shape[axis]} along axis {axis}.")
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.ascontiguousarray(p) for p in np.split(dy, cuts, axis=axis))


def depthconcat_forward(inputs):
    return concat_forward(inputs, 1)


def depthconcat_backward(dy, sizes):
    return concat_backward(dy, sizes, 1)
