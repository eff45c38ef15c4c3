"""Inverted dropout (MATLAB dropoutLayer 'Probability').

Training: each element is kept with probability 1 - p and scaled by 1/(1 - p); the keep
mask is drawn from ``seed`` (an int, or a numpy Generator that is advanced).  Prediction
is the identity.

``dropout_forward_train(x, p, seed) -> (y, mask)`` (mask: bool, True = kept);
``dropout_forward_infer(x, p) -> y``; ``dropout_backward(dy, mask, p) -> dx``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import as_float, flat


@njit(cache=True, parallel=True)
def _apply(x, mask, scale, y):
    for i in prange(x.size):
        y[i] = x[i] * scale if mask[i] else 0.0


def _scale(p):
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: probability must be in [0, 1), got {p}.")
    return 1.0 / (1.0 - p)


def dropout_mask(shape, p, seed):
    """Keep mask (True = kept) drawn from ``seed``: an int or a numpy Generator."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.random(shape) >= float(p)


def dropout_forward_train(x, p, seed):
    x = as_float(x)
    scale = _scale(p)
    mask = dropout_mask(x.shape, p, seed)
    y = np.empty_like(x)
    if x.size:
        _apply(flat(x), flat(mask), scale, flat(y))
    return y, mask


def dropout_forward_infer(x, p=0.5):
    return as_float(x).copy()


def dropout_backward(dy, mask, p):
    dy = as_float(dy)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    if mask.shape != dy.shape:
        raise ValueError(f"dropout_backward: mask shape {mask.shape} differs from dy shape {dy.shape}.")
    dx = np.empty_like(dy)
    if dy.size:
        _apply(flat(dy), flat(mask), _scale(p), flat(dx))
    return dx
