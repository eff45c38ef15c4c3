"""A loop over pixel-major rows (M x C, the C values of a row contiguous) that the pixel-major
training kernels share: conv.py's bias gradient from dy's rows, norm.py's batch-normalization
statistics. The inner loop runs over L rows at once (L*C >= 64 contiguous values, row_group), each
position with its own running sum, folded per channel at the end: over one row's C values at 16
channels the loop never left the vectorizer's scalar remainder (3x slower), and flat indices
``o + j`` (numba's wrap-around test) did not vectorize at all; slices do."""
from __future__ import annotations

from numba import njit


def row_group(c) -> int:
    """Rows per inner loop for C channels: L*C >= 64 values."""
    return max(1, 64 // int(c))


@njit(inline="always")
def block_sums(xf, c, L, r0, r1, mw, squares, acc, out):
    """out[k] += the sum over rows r0:r1 of xf (flat, C values a row) of x at channel k, or with
    ``squares`` of (x - mw)^2 (mw: the means repeated L times); acc (L*C values) holds the
    running sums in xf's dtype and is zeroed here. Inlined: a literal ``squares`` leaves one loop."""
    w = L * c
    acc[:] = acc.dtype.type(0)
    rl = r0 + (r1 - r0) // L * L
    for r in range(r0, rl, L):
        _add_span(xf[r * c:r * c + w], mw, w, squares, acc)
    for r in range(rl, r1):
        _add_span(xf[r * c:(r + 1) * c], mw, c, squares, out)
    for q in range(L):
        for k in range(c):
            out[k] += acc[q * c + k]


@njit(inline="always")
def _add_span(seg, mw, n, squares, acc):
    """acc[:n] += seg (squares: (seg - mw)^2)."""
    for j in range(n):
        t = seg[j] - mw[j] if squares else seg[j]
        acc[j] += t * t if squares else t
