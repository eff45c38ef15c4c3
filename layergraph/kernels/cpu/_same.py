"""Whether arrays still hold the bytes they held: the test that lets an op keep what it computed
from its parameters (core/ops.py ConvOp._pixel_major_weights: the folded weights of the
pixel-major prediction plan) while they are unchanged, run on every prediction call.

  byte_view(a) -> a's bytes as a flat uint8 view (it follows in-place changes), or None when a
                  is not C-contiguous (a flat view would be a copy) or not writeable
  same_bytes(views, copies) -> whether views[k] and copies[k] hold the same bytes, every k

np.array_equal per array cost about 40 us for a convolution's weights, bias and batch
normalization's four arrays (a 256 x 128 filter bank; a temporary boolean array per array and
the calls around it); one compiled pass over all of them, OR-ing the XOR of the bytes (which
vectorizes), costs about 8 us. Bytes, not values: NaN equals itself here, and -0.0 is not 0.0,
so a changed array is never taken for the old one. The tuples are padded to _ARRAYS entries, so
that one compiled signature serves every convolution (with a batch normalization or not)."""
from __future__ import annotations

import numpy as np
from numba import njit

_ARRAYS = 6
_EMPTY = np.zeros(0, np.uint8)


def byte_view(a):
    a = np.asarray(a)
    if not (a.flags.c_contiguous and a.flags.writeable):   # a read-only view would be another numba type
        return None
    return a.reshape(-1).view(np.uint8)


def padded(arrays):
    """The uint8 arrays as a tuple of _ARRAYS (empty ones after them), or None if more."""
    arrays = tuple(arrays)
    if len(arrays) > _ARRAYS:
        return None
    return arrays + (_EMPTY,) * (_ARRAYS - len(arrays))


@njit(cache=True, nogil=True)
def _same(xs, ys):
    for k in range(len(xs)):
        a = xs[k]
        b = ys[k]
        if a.size != b.size:
            return False
        acc = np.uint8(0)
        for i in range(a.size):
            acc |= a[i] ^ b[i]
        if acc != 0:
            return False
    return True


def same_bytes(views, copies):
    """Whether each of the padded tuples' arrays holds the same bytes as its partner."""
    return bool(_same(views, copies))
