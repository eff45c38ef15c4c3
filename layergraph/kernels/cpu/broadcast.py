"""Element-wise products and fixed affine maps over broadcasting shapes (multiplicationLayer,
scalingLayer). Plain numpy: memory-bound, and numpy broadcasts at memory speed with no
compile cost (as combine.py).

  multiplication_forward(inputs) -> y               product of arrays that broadcast
  multiplication_backward(dy, inputs) -> (dx1, ...) each dy times the others, summed over
                                                    the axes it was broadcast along
  scaling_forward(x, scale, bias) -> y              scale * x + bias (scale, bias broadcast)
  scaling_backward(dy, scale) -> dx                 dy * scale
"""
from __future__ import annotations

import numpy as np

from ._util import as_float


def _reduce_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes it has beyond ``shape`` or where ``shape`` is 1."""
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return np.ascontiguousarray(g, dtype=g.dtype)


def multiplication_forward(inputs):
    inputs = [as_float(a) for a in inputs]
    if len(inputs) < 2:
        raise ValueError("multiplication_forward: needs at least two inputs.")
    y = inputs[0]
    for a in inputs[1:]:
        y = y * a
    return np.ascontiguousarray(y)


def multiplication_backward(dy, inputs):
    inputs = [as_float(a) for a in inputs]
    out = []
    for i, x in enumerate(inputs):
        g = dy
        for j, other in enumerate(inputs):
            if j != i:
                g = g * other
        out.append(_reduce_to(np.broadcast_to(g, np.broadcast_shapes(g.shape, x.shape)), x.shape))
    return tuple(out)


def scaling_forward(x, scale, bias):
    x = as_float(x)
    return np.ascontiguousarray(x * scale.astype(x.dtype) + bias.astype(x.dtype))


def scaling_backward(dy, scale):
    return np.ascontiguousarray(dy * scale.astype(dy.dtype))
