"""2-D resizing (resize2dLayer) as two matrix products per image plane: y = Rh x Rw^T, with
the out x in interpolation matrices of layers/resize.py (nearest: one 1 per row; bilinear:
two weights). The gradient is the transpose, dx = Rh^T dy Rw. numpy matmul (BLAS).

  resize_forward(x, rh, rw) -> y        x: N x C x H x W, rh: OH x H, rw: OW x W
  resize_backward(dy, rh, rw) -> dx
"""
from __future__ import annotations

import numpy as np

from ._util import as_float


def resize_forward(x, rh, rw):
    x = as_float(x)
    rh, rw = rh.astype(x.dtype), rw.astype(x.dtype)
    return np.ascontiguousarray(np.matmul(np.matmul(rh, x), rw.T))


def resize_backward(dy, rh, rw):
    rh, rw = rh.astype(dy.dtype), rw.astype(dy.dtype)
    return np.ascontiguousarray(np.matmul(np.matmul(rh.T, dy), rw))
