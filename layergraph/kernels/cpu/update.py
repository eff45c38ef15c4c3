"""The solvers' parameter updates as one pass over the arrays (train/solvers.py calls them).

``sgdm_update(w, g, v, lr, momentum)``: v <- momentum v - lr g; w <- w + v, in place, in one
read of w, g and v, where numpy's three in-place operations and the temporary ``lr * g`` read
and write each array two or three times (the MLP's 670 k learnables: 0.36 -> 0.23 ms a step,
docs/performance.md). The same operations in the same dtype and order as numpy's (no fused
multiply-add), so the numbers are numpy's bit for bit. One thread: split over the pool it was
slower on the loaded 2-core machine (a memory-bound loop, and the hand-off).
Returns False, touching nothing, where it does not apply: anything but C-contiguous, writeable
numpy arrays of one float dtype and the same shape that do not overlap, or a rate or momentum
that numpy would not compute in that dtype (a NumPy float64 scalar on float32 weights)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _sgdm(w, g, v, lr, mu):
    for i in range(w.shape[0]):
        vi = v[i] * mu
        vi = vi - lr * g[i]
        v[i] = vi
        w[i] = w[i] + vi


def _flat(a, dtype, shape, writeable=False):
    if type(a) is not np.ndarray or a.shape != shape or (a.dtype is not dtype and a.dtype != dtype):
        return None
    flags = a.flags
    if not flags.c_contiguous or (writeable and not flags.writeable):
        return None
    return a.reshape(-1)


_WEAK = (float, int)   # Python scalars: NumPy computes them in the array's dtype (NEP 50)


def _in_dtype(dt, value) -> bool:
    return type(value) in _WEAK or np.result_type(dt, value) == dt


def _apart(w, g, v) -> bool:
    """No two of the arrays share memory: three distinct arrays that own their data (the
    executor's parameters, the kernels' gradients, the solver's state: a check of a few
    attributes), else np.may_share_memory's."""
    if w.base is None and g.base is None and v.base is None and w is not g and w is not v and g is not v:
        return True
    return not (np.may_share_memory(w, v) or np.may_share_memory(w, g) or np.may_share_memory(v, g))


# (dtype char, lr, momentum) -> the two as NumPy scalars of that dtype, for Python-scalar rates
# (a trainer passes the same ones to every array of a step: 1 us an array saved)
_scalars: dict = {}


def _rate_scalars(dt, lr, momentum):
    weak = type(lr) in _WEAK and type(momentum) in _WEAK
    if weak:
        key = (dt.char, lr, momentum)
        got = _scalars.get(key)
        if got is not None:
            return got
    got = (dt.type(lr), dt.type(momentum))
    if weak:
        if len(_scalars) >= 64:   # a schedule that changes the rate every step: keep it small
            _scalars.clear()
        _scalars[key] = got
    return got


def sgdm_update(w, g, v, lr, momentum) -> bool:
    if type(w) is not np.ndarray or w.dtype.kind != "f":
        return False
    dt, shape = w.dtype, w.shape
    fw, fg, fv = _flat(w, dt, shape, True), _flat(g, dt, shape), _flat(v, dt, shape, True)
    if fw is None or fg is None or fv is None:
        return False
    if not (_in_dtype(dt, lr) and _in_dtype(dt, momentum)) or not _apart(w, g, v):
        return False
    _sgdm(fw, fg, fv, *_rate_scalars(dt, lr, momentum))
    return True
