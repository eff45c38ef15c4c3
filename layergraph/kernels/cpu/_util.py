"""Small helpers shared by the CPU kernel modules (plain Python, no compilation)."""
from __future__ import annotations

import numpy as np

FLOATS = (np.float32, np.float64)


def as_float(x, name="x"):
    """x as a C-contiguous float32/float64 array; other dtypes become float32 so that
    every kernel sees exactly two element types (keeps numba specializations few)."""
    a = np.asarray(x)
    if a.dtype.type not in FLOATS:
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


def like(v, x, name, shape=None):
    """Parameter array v cast to x's dtype, C-contiguous, optionally checked for shape."""
    a = np.ascontiguousarray(np.asarray(v, dtype=x.dtype))
    if shape is not None and a.shape != tuple(shape):
        if a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        else:
            raise ValueError(f"{name}: expected shape {tuple(shape)}, got {a.shape}.")
    return a


def flat(x):
    """1-D view of a C-contiguous array (no copy)."""
    return x.reshape(-1)


def planes(x, name):
    """x as N x C x H x W; returns (x, N, C, H, W)."""
    if x.ndim != 4:
        raise ValueError(f"{name}: expected N x C x H x W data, got shape {x.shape}.")
    n, c, h, w = (int(d) for d in x.shape)
    return x, n, c, h, w


def ints(*vals):
    return tuple(int(v) for v in vals)
