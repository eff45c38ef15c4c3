"""numba.cuda kernel for 2-D (grouped, strided, dilated) convolution; imported on first use
(see _runtime).

A direct convolution: one thread per output position and block of FB filters (flat,
C-contiguous N x F x OH x OW; ow fastest, so the threads of a warp read neighbouring inputs
and the same filter weights, which the cache broadcasts). Padding is applied on the fly: a
position outside the input reads the constant PaddingValue, or is mapped back into the input
for the mirrored and replicated borders (the index rules of cpu/conv._pad_index), so no
padded copy is made. Built per dtype so that constants keep the data's precision.
"""
import functools

import numba
import numpy as np
from numba import cuda

# Border modes (the codes conv.py passes): a constant, then cpu/conv.PADDING_MODES in order
# ('symmetric-include-edge', 'symmetric-exclude-edge', 'replicate').
CONSTANT, SYMMETRIC_INCLUDE_EDGE, SYMMETRIC_EXCLUDE_EDGE, REPLICATE = 0, 1, 2, 3


# Device helpers live in the file of the kernels that call them: numba's cache=True checks
# only the kernel's own source file for changes.
@cuda.jit(device=True)
def source_index(i, n, mode):
    """The input row (or column) that padded position i reads; -1 for the constant."""
    if i >= 0 and i < n:
        return i
    if mode == CONSTANT:
        return -1
    if mode == SYMMETRIC_INCLUDE_EDGE:      # ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} ...
        m = i % (2 * n)                     # numba's % on integers is Python's (never negative)
        return 2 * n - 1 - m if m >= n else m
    if mode == SYMMETRIC_EXCLUDE_EDGE:      # ... x2 x1 | x0 x1 ... x_{n-1} | x_{n-2} ...
        if n == 1:
            return 0
        m = i % (2 * n - 2)
        return 2 * n - 2 - m if m >= n else m
    return 0 if i < 0 else n - 1            # replicate


# Output channels per thread: each input value read is used for FB filters (from registers),
# which cut the kernel's time about 3x at the seed CNN's sizes on an H100 (see
# docs/performance.md). A block of FB never straddles two groups; the last block of a group
# may be short (nf < FB).
FB = 8


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    nbt = numba.from_dtype(np.dtype(dtype_name))
    zero = npt(0)

    @cuda.jit(cache=True)
    def conv_forward(x, w, b, has_bias, C, H, W, F, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, groups,
                     mode, pv, y):
        # Thread i: observation n, filters f0 .. f0 + nf - 1 (block fb of group g), output
        # position (oh, ow), ow fastest: a warp reads neighbouring inputs and the same weights.
        cg = C // groups
        fg = F // groups
        nfb = (fg + FB - 1) // FB           # filter blocks per group
        taps = KH * KW
        acc = cuda.local.array(FB, nbt)
        total = y.size // fg * nfb          # N * groups * nfb * OH * OW threads' worth of work
        for i in range(cuda.grid(1), total, cuda.gridsize(1)):
            ow = i % OW
            t = i // OW
            oh = t % OH
            t = t // OH
            fb = t % nfb
            t = t // nfb
            g = t % groups
            n = t // groups
            f0 = g * fg + fb * FB
            nf = fg - fb * FB if fg - fb * FB < FB else FB
            x0 = (n * C + g * cg) * H * W   # first input plane of the group
            w0 = f0 * cg * taps
            h0 = oh * sh - pt
            col0 = ow * sw - pl
            for j in range(FB):
                acc[j] = zero
            # Channels innermost: the border test and index arithmetic run once per tap, not
            # once per tap and channel.
            for a in range(KH):
                hi = source_index(h0 + a * dh, H, mode)
                for q in range(KW):
                    wi = source_index(col0 + q * dw, W, mode)
                    wk = w0 + a * KW + q
                    xk = x0 + hi * W + wi
                    pad = hi < 0 or wi < 0
                    for c in range(cg):
                        xv = pv if pad else x[xk + c * H * W]
                        wc = wk + c * taps
                        for j in range(FB):
                            if j < nf:
                                acc[j] += xv * w[wc + j * cg * taps]
            out = ((n * F + f0) * OH + oh) * OW + ow
            for j in range(FB):
                if j < nf:
                    y[out + j * OH * OW] = acc[j] + b[f0 + j] if has_bias else acc[j]

    return {"conv_forward": conv_forward}
