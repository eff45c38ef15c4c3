"""numba.cuda kernels for 2-D max and average pooling; imported on first use (see _runtime).

Flat, C-contiguous N x C x H x W input and N x C x OH x OW output; plane p = n * C + c.
One thread per output element in the forward passes. Max-pool backward scatters each output
gradient to its argmax with an atomic add, because overlapping windows can share a winner
and the signature carries no window geometry to gather with; average-pool backward gathers
(one thread per input cell sums the windows that cover it), so it is deterministic.
Built per dtype so that constants keep the data's precision.
"""
import functools

import numpy as np
from numba import cuda

from ._device import STAMP, device_functions

imax, imin, split = device_functions(globals(), "imax", "imin", "split")


@cuda.jit(device=True)
def window(i, H, W, OH, OW, sh, sw, pt, pl):
    """Output element i's input plane (its offset in x) and its window's first row and column
    (either may lie in the padding)."""
    ow, t = split(i, OW)
    oh, plane = split(t, OH)
    return plane * (H * W), oh * sh - pt, ow * sw - pl


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    zero = npt(0)
    ninf = npt(-np.inf)
    stamp = STAMP  # in the closures of the kernels that call _device's functions: see _device

    @cuda.jit(cache=True)
    def maxpool_forward(x, H, W, OH, OW, ph, pw, sh, sw, pt, pl, y, argmax, want_argmax):
        # Padded cells never win: they are skipped, not read as -inf or 0. A window that
        # holds no real cell (padding >= pool size) gives -inf with argmax -1. Ties go to
        # the first cell in row-major order, as in numpy.argmax and PyTorch.
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            base, h0, w0 = window(i, H, W, OH, OW, sh, sw, pt, pl)
            best = ninf
            besti = -1
            for h in range(imax(h0, 0), imin(h0 + ph, H)):
                for w in range(imax(w0, 0), imin(w0 + pw, W)):
                    v = x[base + h * W + w]
                    if besti < 0 or v > best:
                        best = v
                        besti = h * W + w
            y[i] = best
            if want_argmax:
                argmax[i] = besti

    @cuda.jit(cache=True)
    def maxpool_backward(dy, argmax, OHW, HW, dx):
        for i in range(cuda.grid(1), dy.size, cuda.gridsize(1)):
            a = argmax[i]
            if a >= 0:
                cuda.atomic.add(dx, (i // OHW) * HW + a, dy[i])

    @cuda.jit(cache=True)
    def avgpool_forward(x, H, W, OH, OW, ph, pw, sh, sw, pt, pl, include_pad, y):
        stamp  # noqa: B018
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            base, h0, w0 = window(i, H, W, OH, OW, sh, sw, pt, pl)
            hlo, hhi = imax(h0, 0), imin(h0 + ph, H)
            wlo, whi = imax(w0, 0), imin(w0 + pw, W)
            acc = zero
            for h in range(hlo, hhi):
                for w in range(wlo, whi):
                    acc += x[base + h * W + w]
            count = ph * pw if include_pad else imax(hhi - hlo, 0) * imax(whi - wlo, 0)
            y[i] = acc / npt(count) if count > 0 else zero

    @cuda.jit(cache=True)
    def avgpool_backward(dy, H, W, OH, OW, ph, pw, sh, sw, pt, pl, include_pad, dx):
        # Windows covering row h: oh * sh - pt <= h < oh * sh - pt + ph.
        stamp  # noqa: B018
        for j in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
            w, t = split(j, W)
            h, plane = split(t, H)
            base = plane * (OH * OW)
            oh_lo = imax(0, -((ph - 1 - h - pt) // sh))   # ceil((h + pt - ph + 1) / sh)
            oh_hi = imin(OH - 1, (h + pt) // sh)
            ow_lo = imax(0, -((pw - 1 - w - pl) // sw))
            ow_hi = imin(OW - 1, (w + pl) // sw)
            acc = zero
            for oh in range(oh_lo, oh_hi + 1):
                h0 = oh * sh - pt
                rows = imin(h0 + ph, H) - imax(h0, 0)
                for ow in range(ow_lo, ow_hi + 1):
                    if include_pad:
                        count = ph * pw
                    else:
                        w0 = ow * sw - pl
                        count = rows * (imin(w0 + pw, W) - imax(w0, 0))
                    acc += dy[base + oh * OW + ow] / npt(count)
            dx[j] = acc

    return {
        "maxpool_forward": maxpool_forward,
        "maxpool_backward": maxpool_backward,
        "avgpool_forward": avgpool_forward,
        "avgpool_backward": avgpool_backward,
    }
