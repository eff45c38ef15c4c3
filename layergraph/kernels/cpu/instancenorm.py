"""Instance normalization (Wolfram's NormalizationLayer[] on arrays of rank >= 2: each
example's channels normalized over their spatial positions, then a per-channel scale
and offset). NumPy vector code with float64 statistics; the biased variance.

    in_forward(x, scale, offset, epsilon) -> (y, mean, var)     mean, var: N x C
    in_backward(dy, x, scale, mean, var, epsilon) -> (dx, dscale, doffset)
x is N x C x H x W (any number of trailing spatial axes).
"""
from __future__ import annotations

import numpy as np

from ._util import as_float, like


def _flat(x):
    n, c = x.shape[:2]
    return x.reshape(n, c, -1)


def in_forward(x, scale, offset, epsilon):
    x = as_float(x)
    if x.ndim < 3 or x[0, 0].size == 0:
        raise ValueError(f"in_forward: expected N x C x spatial data with at least one position, got {x.shape}.")
    x3 = _flat(x).astype(np.float64)
    mean = x3.mean(axis=2)
    var = x3.var(axis=2)
    xhat = (x3 - mean[..., None]) / np.sqrt(var[..., None] + epsilon)
    s = like(scale, x, "scale", (x.shape[1],)).astype(np.float64)
    o = like(offset, x, "offset", (x.shape[1],)).astype(np.float64)
    y = s[None, :, None] * xhat + o[None, :, None]
    return y.reshape(x.shape).astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype)


def in_backward(dy, x, scale, mean, var, epsilon):
    x = as_float(x)
    dy3 = _flat(like(dy, x, "dy", x.shape)).astype(np.float64)
    x3 = _flat(x).astype(np.float64)
    invstd = 1.0 / np.sqrt(np.asarray(var, np.float64)[..., None] + epsilon)
    xhat = (x3 - np.asarray(mean, np.float64)[..., None]) * invstd
    s = like(scale, x, "scale", (x.shape[1],)).astype(np.float64)
    dxhat = dy3 * s[None, :, None]
    dx = invstd * (dxhat - dxhat.mean(axis=2, keepdims=True) - xhat * (dxhat * xhat).mean(axis=2, keepdims=True))
    dscale = (dy3 * xhat).sum(axis=(0, 2))
    doffset = dy3.sum(axis=(0, 2))
    return dx.reshape(x.shape).astype(x.dtype), dscale.astype(x.dtype), doffset.astype(x.dtype)


__all__ = ["in_forward", "in_backward"]
