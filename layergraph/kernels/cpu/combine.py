"""Layers with several inputs (MATLAB additionLayer, concatenationLayer,
depthConcatenationLayer). Plain numpy: elementwise sums and block copies are memory-bound
and numpy already runs them at memory speed, with no compile cost.

  addition_forward(inputs) -> y                     sum of k same-shape arrays
  addition_backward(dy, k) -> (dx1, ..., dxk)       independent copies of dy
  concat_forward(inputs, axis) -> y                 axis in the internal layout
                                                    (N x C x H x W: 1 = channels, 2 = H, 3 = W)
  concat_backward(dy, sizes, axis) -> (dx1, ...)    sizes: each input's extent along axis
  depthconcat_forward(inputs) / depthconcat_backward(dy, sizes): axis 1
"""
from __future__ import annotations

import numpy as np

from ._util import as_float


def addition_forward(inputs):
    inputs = [as_float(a) for a in inputs]
    if not inputs:
        raise ValueError("addition_forward: needs at least one input.")
    dtype = np.result_type(*inputs)
    y = inputs[0].astype(dtype, copy=True)
    for i, a in enumerate(inputs[1:], start=2):
        if a.shape != y.shape:
            raise ValueError(f"addition_forward: input {i} has shape {a.shape}, input 1 has {y.shape}.")
        y += a
    return y


def addition_backward(dy, k):
    dy = as_float(dy)
    return tuple(dy.copy() for _ in range(int(k)))


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
