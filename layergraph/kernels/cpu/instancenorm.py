"""Instance normalization (Wolfram's NormalizationLayer[] on arrays of rank >= 2, MATLAB's
instanceNormalizationLayer: each example's channels normalized over their spatial
positions, then a per-channel scale and offset; the biased variance). Group normalization
with one channel per group: these call the group-normalization kernel with G = C.

    in_forward(x, scale, offset, epsilon) -> (y, mean, var)     mean, var: N x C
    in_backward(dy, x, scale, mean, var, epsilon) -> (dx, dscale, doffset)
x is N x C x H x W (any number of trailing spatial axes).
"""
from __future__ import annotations

from ._util import as_float
from .groupnorm import gn_backward, gn_forward


def in_forward(x, scale, offset, epsilon):
    x = as_float(x)
    if x.ndim < 3 or x[0, 0].size == 0:
        raise ValueError(f"in_forward: expected N x C x spatial data with at least one position, got {x.shape}.")
    return gn_forward(x, scale, offset, x.shape[1], epsilon)


def in_backward(dy, x, scale, mean, var, epsilon):
    x = as_float(x)
    return gn_backward(dy, x, scale, mean, var, x.shape[1], epsilon)


__all__ = ["in_forward", "in_backward"]
