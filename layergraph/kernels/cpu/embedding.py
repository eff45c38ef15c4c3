"""Embedding kernels: a gather of weight rows forward, a scatter-add of the output gradient
into them backward (an index that occurs several times gets the sum of its rows' gradients).

    embedding_forward(idx, w) -> y        idx int64 (M,) 0-based rows of w; w n x d; y M x d
    embedding_backward(dy, idx, n) -> dw  dy M x d; dw n x d (zeros where no index points)

Indices are checked by the caller (core/ops_embedding.py: integers 1..n, named in the
layer's words); here they are trusted. float32 and float64 only; y and dw keep w's / dy's dtype.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def _gather(idx, w, y):
    d = w.shape[1]
    for m in prange(idx.shape[0]):
        row = idx[m]
        for j in range(d):
            y[m, j] = w[row, j]


@njit(cache=True, nogil=True)
def _scatter_add(dy, idx, dw):
    # sequential: repeated indices add into one row
    d = dy.shape[1]
    for m in range(idx.shape[0]):
        row = idx[m]
        for j in range(d):
            dw[row, j] += dy[m, j]


def _float(a):
    a = np.asarray(a)
    return np.ascontiguousarray(a if a.dtype in (np.float32, np.float64) else a.astype(np.float32))


def embedding_forward(idx, w):
    w = _float(w)
    idx = np.ascontiguousarray(idx, dtype=np.int64).reshape(-1)
    y = np.empty((idx.shape[0], w.shape[1]), dtype=w.dtype)
    _gather(idx, w, y)
    return y


def embedding_backward(dy, idx, n):
    dy = _float(dy)
    idx = np.ascontiguousarray(idx, dtype=np.int64).reshape(-1)
    dy = dy.reshape(idx.shape[0], -1)
    dw = np.zeros((int(n), dy.shape[1]), dtype=dy.dtype)
    _scatter_add(dy, idx, dw)
    return dw
