"""numba.cuda kernel for 2-D (grouped, strided, dilated) convolution; imported on first use
(see _runtime).

A direct convolution: one thread per output element y[n, f, oh, ow] (flat, C-contiguous
N x F x OH x OW; ow fastest, so the threads of a warp read neighbouring inputs and, mostly,
the same filter weight). Padding is applied on the fly: a position outside the input reads
the constant PaddingValue, or is mapped back into the input for the mirrored and replicated
borders (the index rules of cpu/conv._pad_index), so no padded copy is made. Built per dtype
so that constants keep the data's precision.
"""
import functools

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


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    zero = np.dtype(dtype_name).type(0)

    @cuda.jit(cache=True)
    def conv_forward(x, w, b, has_bias, C, H, W, F, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, groups,
                     mode, pv, y):
        cg = C // groups
        fg = F // groups
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            ow = i % OW
            t = i // OW
            oh = t % OH
            t = t // OH
            f = t % F
            n = t // F
            xc0 = n * C + (f // fg) * cg    # first input plane of this filter's group
            h0 = oh * sh - pt
            w0 = ow * sw - pl
            acc = zero
            for c in range(cg):
                xplane = (xc0 + c) * H
                wrow = (f * cg + c) * KH
                for a in range(KH):
                    hi = source_index(h0 + a * dh, H, mode)
                    for q in range(KW):
                        wv = w[(wrow + a) * KW + q]
                        wi = source_index(w0 + q * dw, W, mode)
                        if hi < 0 or wi < 0:
                            acc += pv * wv
                        else:
                            acc += x[(xplane + hi) * W + wi] * wv
            if has_bias:
                acc += b[f]
            y[i] = acc

    return {"conv_forward": conv_forward}
