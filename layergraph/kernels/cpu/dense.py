"""Fully connected layer (MATLAB fullyConnectedLayer), a numpy BLAS product.

x is N x In (or N x C x H x W, read as its row-major (C, H, W) flatten, which is the order
conventions.fc_weights_to_internal prepares the weights for); w Out x In; b (Out,) or None.
  fc_forward(x, w, b) -> y (N x Out)
  fc_backward(dy, x, w) -> (dx (shape of x), dw (Out x In), db (Out,))
"""
from __future__ import annotations

from ._util import as_float, like


def _x2(x, w, name):
    x = as_float(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected N x In data, got shape {x.shape}.")
    x2 = x.reshape(x.shape[0], -1)
    w = like(w, x, "w")
    if w.ndim != 2 or w.shape[1] != x2.shape[1]:
        raise ValueError(f"{name}: weights {w.shape} do not fit input size {x2.shape[1]} (expected Out x In).")
    return x, x2, w


def fc_forward(x, w, b):
    x, x2, w = _x2(x, w, "fc_forward")
    y = x2 @ w.T
    if b is not None:
        y += like(b, x, "b", (w.shape[0],))
    return y


def fc_backward(dy, x, w):
    x, x2, w = _x2(x, w, "fc_backward")
    dy = like(dy, x, "dy", (x2.shape[0], w.shape[0]))
    dx = (dy @ w).reshape(x.shape)
    return dx, dy.T @ x2, dy.sum(axis=0)
