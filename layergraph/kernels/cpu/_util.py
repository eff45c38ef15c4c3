"""Small helpers shared by the CPU kernel modules (plain Python, no compilation)."""
from __future__ import annotations

import math as _math
import sys as _sys
import threading as _threading

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


# -- reused output arrays ---------------------------------------------------------------------
# A training step allocates the same large outputs again and again. Fresh multi-megabyte arrays
# come from mmap and are faulted in page by page on every step (measured on the seed CNN:
# ~2,500 page faults and ~9 ms of system time per 60-80 ms step). So large outputs come from a
# small pool: an array is handed out again only when nothing outside the pool refers to it
# any more (no caller, no view: a view holds its base), which CPython's reference count tells
# exactly. Only the kernels' own outputs are pooled, every element of which the kernel writes.
# smaller arrays: plain np.empty. From 1 MiB down to 256 KiB (session 17): glibc's heap gave
# ResNet-20's 512 KiB stage-3 arrays back to the system and faulted them in again on every step
# (1,500-1,900 page faults and 6.3 ms of system time a step at batch 32, none at 256 KiB: 0.97 of
# the step's wall time); below that malloc reuses them
POOL_MIN_BYTES = 1 << 18
# at most this much held; beyond it, the oldest entries are dropped. 512 MiB (session 17; was
# 256): MobileNet-style training at batch 128 holds 496 MiB of outputs, VGG-style 312, and at 256
# the dropped ones were allocated and faulted in again every step (1,100-1,700 faults, 13-25 ms of
# system time a step; 0.94-0.95 of the step's wall time at 512, peak RSS 649 -> 696 MiB, torch's
# 952). The pool keeps what it holds after a run, up to this much.
POOL_MAX_BYTES = 512 << 20
# arrays kept per (shape, dtype): a ResNet-20 training step holds 20 or more of one shape at its
# first stage; at 8 the rest were fresh arrays (10,700 page faults a step at batch 32; 2,000 at
# 32; docs/performance.md, session 14)
POOL_PER_SHAPE = 32
_pool: dict = {}
_pool_bytes = 0
_pool_lock = _threading.Lock()


def out_empty(shape, dtype):
    """np.empty(shape, dtype), reusing a pooled array of that shape nobody holds any more.
    For kernel outputs that are written in full."""
    global _pool_bytes
    shape = tuple(int(s) for s in shape)
    dt = np.dtype(dtype)
    nbytes = _math.prod(shape) * dt.itemsize
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dt)
    key = (shape, dt.str)
    with _pool_lock:
        lst = _pool.get(key)
        if lst is None:
            lst = _pool[key] = []
        else:
            for a in lst:
                if _sys.getrefcount(a) <= 3:  # held by the list, `a` and getrefcount's argument only
                    return a
        if len(lst) >= POOL_PER_SHAPE or nbytes > POOL_MAX_BYTES:
            return np.empty(shape, dt)
        while _pool_bytes + nbytes > POOL_MAX_BYTES:  # drop the oldest entries (in use or not)
            k0 = next(k for k, v in _pool.items() if v)
            old = _pool[k0].pop(0)
            _pool_bytes -= old.nbytes
        a = np.empty(shape, dt)
        lst.append(a)
        _pool_bytes += nbytes
        return a


def forward_output(name, n, f, oh, ow, dtype, from_rows, residual):
    """A pixel-major forward kernel's output (y, its rows n*OH*OW x F or None, its planes n x F x
    OH*OW or None): N x OH x OW x F, or N x F x OH x OW when the kernel transposes its rows with
    ``from_rows`` (conv._from_rows) chunk by chunk, which a fused residual does not allow."""
    if from_rows is not None and residual is not None:
        raise ValueError(f"{name}: a residual needs the pixel-major output.")
    p = oh * ow
    if from_rows is not None:
        y = out_empty((n, f, oh, ow), dtype)
        return y, None, y.reshape(n, f, p)
    y = out_empty((n, oh, ow, f), dtype)
    return y, y.reshape(n * p, f), None


def out_like(x):
    return out_empty(x.shape, x.dtype)


def relu_ceiling(name, ceiling) -> float:
    """A fused (clipped) ReLU's ceiling as a float, checked: a number > 0; inf for a plain ReLU
    (the fused epilogues compute min(max(y, 0), ceiling))."""
    try:
        c = float(ceiling)
    except (TypeError, ValueError):
        c = float("nan")
    if not c > 0:
        raise ValueError(f"{name}: ceiling must be a number > 0 (inf for a plain ReLU), got {ceiling!r}.")
    return c


def relu_mask_top(name, ceiling, dtype):
    """The largest value a fused (clipped) ReLU's output may have where its gradient passes, in
    ``dtype``: inf for a plain ReLU, else the largest value below the checked ceiling, so that
    y < ceiling is y <= top, one test for both kinds of ReLU (the backward kernels' masks)."""
    hi = relu_ceiling(name, ceiling)
    t = np.dtype(dtype).type
    return t(np.inf) if hi == np.inf else np.nextafter(t(hi), t(-np.inf))
