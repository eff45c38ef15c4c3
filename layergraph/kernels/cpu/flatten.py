"""Flatten (MATLAB flattenLayer; Wolfram FlattenLayer). x N x C x H x W -> N x (C*H*W).

column_major=True (MATLAB): the feature index is h + H*(w + W*c), i.e.
x.transpose(0, 1, 3, 2).reshape(N, -1). column_major=False (Wolfram): row-major (c, h, w).
  flatten_forward(x, column_major=True) -> y
  flatten_backward(dy, C, H, W, column_major=True) -> dx (N x C x H x W)
"""
from __future__ import annotations

import numpy as np

from ._util import as_float


def flatten_forward(x, column_major=True):
    x = as_float(x)
    n = x.shape[0]
    if column_major and x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 1, 3, 2)).reshape(n, -1)
    return x.reshape(n, -1).copy()


def flatten_backward(dy, C, H, W, column_major=True):
    dy = as_float(dy)
    n = dy.shape[0]
    c, h, w = int(C), int(H), int(W)
    if column_major:
        return np.ascontiguousarray(dy.reshape(n, c, w, h).transpose(0, 1, 3, 2))
    return dy.reshape(n, c, h, w).copy()
