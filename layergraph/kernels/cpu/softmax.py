"""Softmax over the channel axis 1 (MATLAB softmaxLayer): N x C or N x C x H x W
(any trailing spatial dims; each observation and position is normalized over C).

``softmax_forward(x) -> y``; ``softmax_backward(dy, x, y) -> dx`` with
dx = y * (dy - sum_c(dy * y)).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._parallel import parallel_range
from ._util import as_float, like


def _ncs(a):
    n, c = int(a.shape[0]), int(a.shape[1])
    return a.reshape(n, c, -1)


# Rows (observation, position) p0:p1; parallel_range splits them over threads.
@njit(cache=True, nogil=True)
def _softmax_f(p0, p1, x, y):
    n, c, s = x.shape
    for p in range(p0, p1):
        i = p // s
        j = p - i * s
        m = -np.inf
        for k in range(c):
            if x[i, k, j] > m:
                m = x[i, k, j]
        tot = 0.0
        for k in range(c):
            e = math.exp(x[i, k, j] - m)
            y[i, k, j] = e
            tot += e
        inv = 1.0 / tot
        for k in range(c):
            y[i, k, j] = y[i, k, j] * inv


@njit(cache=True, nogil=True)
def _softmax_b(p0, p1, dy, y, dx):
    n, c, s = y.shape
    for p in range(p0, p1):
        i = p // s
        j = p - i * s
        dot = 0.0
        for k in range(c):
            dot += dy[i, k, j] * y[i, k, j]
        for k in range(c):
            dx[i, k, j] = y[i, k, j] * (dy[i, k, j] - dot)


def softmax_forward(x):
    x = as_float(x)
    if x.ndim < 2:
        raise ValueError(f"softmax_forward: expected N x C (x H x W) data, got shape {x.shape}.")
    y = np.empty_like(x)
    if x.size:
        x3 = _ncs(x)
        parallel_range(_softmax_f, x3.shape[0] * x3.shape[2], x3, _ncs(y), size=x.size)
    return y


def softmax_backward(dy, x, y):
    y = as_float(y)
    dy = like(dy, y, "dy", y.shape)
    dx = np.empty_like(y)
    if y.size:
        y3 = _ncs(y)
        parallel_range(_softmax_b, y3.shape[0] * y3.shape[2], _ncs(dy), y3, _ncs(dx), size=y.size)
    return dx
