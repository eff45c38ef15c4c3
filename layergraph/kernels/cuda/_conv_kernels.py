"""numba.cuda kernel for 2-D (grouped, strided, dilated) convolution; imported on first use
(see _runtime).

A direct convolution: one thread per tile of FB filters x PB output columns (flat,
C-contiguous N x F x OH x OW; column tiles fastest, so the threads of a warp read
neighbouring inputs and the same filter weights, which the cache broadcasts). Padding is applied on the fly: a
position outside the input reads the constant PaddingValue, or is mapped back into the input
for the mirrored and replicated borders (the index rules of cpu/conv._pad_index), so no
padded copy is made. Built per dtype so that constants keep the data's precision.
"""
import functools

import numba
import numpy as np
from numba import cuda

from ._device import STAMP, device_functions

(split,) = device_functions(globals(), "split")

# Border modes (the codes conv.py passes): a constant, then cpu/conv.PADDING_MODES in order
# ('symmetric-include-edge', 'symmetric-exclude-edge', 'replicate').
CONSTANT, SYMMETRIC_INCLUDE_EDGE, SYMMETRIC_EXCLUDE_EDGE, REPLICATE = 0, 1, 2, 3


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


# A thread's register tile: FB output channels (of one group) x PB neighbouring output
# columns, so each input value read serves FB filters and each weight read PB positions. Tiles
# never straddle two groups; the last of a group (nf < FB) or of a row (npos < PB) may be short.
FB = 8
PB = 4
TILE = FB * PB  # a compile-time constant for cuda.local.array


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    nbt = numba.from_dtype(np.dtype(dtype_name))
    zero = npt(0)
    stamp = STAMP  # in the closures of the kernels that call _device's functions: see _device

    @cuda.jit(cache=True)
    def conv_forward(x, w, b, has_bias, C, H, W, F, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, groups,
                     mode, pv, y):
        # Thread i: observation n, filters f0 .. f0 + nf - 1 (block fb of group g), output row
        # oh, columns ow0 .. ow0 + npos - 1; column blocks fastest, so a warp reads
        # neighbouring inputs and the same weights.
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        cg = C // groups
        fg = F // groups
        nfb = (fg + FB - 1) // FB           # filter blocks per group
        nob = (OW + PB - 1) // PB           # column blocks per row
        taps = KH * KW
        acc = cuda.local.array(TILE, nbt)
        xv = cuda.local.array(PB, nbt)
        cols = cuda.local.array(PB, numba.int64)
        total = y.size // (fg * OW) * nfb * nob
        for i in range(cuda.grid(1), total, cuda.gridsize(1)):
            ob, t = split(i, nob)
            oh, t = split(t, OH)
            fb, t = split(t, nfb)
            g, n = split(t, groups)
            f0 = g * fg + fb * FB
            nf = fg - fb * FB if fg - fb * FB < FB else FB
            ow0 = ob * PB
            npos = OW - ow0 if OW - ow0 < PB else PB
            x0 = (n * C + g * cg) * H * W   # first input plane of the group
            w0 = f0 * cg * taps
            h0 = oh * sh - pt
            for j in range(TILE):
                acc[j] = zero
            # Channels innermost: the border tests and index arithmetic run once per tap, not
            # once per tap and channel.
            for a in range(KH):
                hi = source_index(h0 + a * dh, H, mode)
                for q in range(KW):
                    for p in range(PB):
                        wi = source_index((ow0 + p) * sw - pl + q * dw, W, mode)
                        cols[p] = -1 if hi < 0 or p >= npos else wi
                    wk = w0 + a * KW + q
                    xk = x0 + hi * W
                    for c in range(cg):
                        for p in range(PB):
                            xv[p] = pv if cols[p] < 0 else x[xk + c * H * W + cols[p]]
                        wc = wk + c * taps
                        for j in range(FB):
                            if j < nf:
                                wv = w[wc + j * cg * taps]
                                for p in range(PB):
                                    acc[j * PB + p] += xv[p] * wv
            for j in range(FB):
                if j < nf:
                    out = ((n * F + f0 + j) * OH + oh) * OW + ow0
                    bj = b[f0 + j] if has_bias else zero
                    for p in range(PB):
                        if p < npos:
                            y[out + p] = acc[j * PB + p] + bj if has_bias else acc[j * PB + p]

    # -- backward: dW = dy^T im2col(x) through _dense_kernels.dot_rows, dx gathered -----------
    @cuda.jit(cache=True)
    def im2col(x, N, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, mode, pv, cols):
        # cols[k, n * P + p] with k = (c * KH + a) * KW + q and P = OH * OW: the input value
        # (or padding) that tap (a, q) of channel c reads for output position p of observation n.
        P = OH * OW
        NP = N * P
        for i in range(cuda.grid(1), cols.size, cuda.gridsize(1)):
            k = i // NP
            j = i - k * NP
            n = j // P
            p = j - n * P
            oh = p // OW
            ow = p - oh * OW
            q = k % KW
            t = k // KW
            a = t % KH
            c = t // KH
            hi = source_index(oh * sh - pt + a * dh, H, mode)
            wi = source_index(ow * sw - pl + q * dw, W, mode)
            cols[i] = pv if hi < 0 or wi < 0 else x[((n * C + c) * H + hi) * W + wi]

    @cuda.jit(cache=True)
    def swap_leading(a, N, F, P, out):
        # out[f, n, p] = a[n, f, p]
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            p = i % P
            t = i // P
            n = t % N
            f = t // N
            out[i] = a[(n * F + f) * P + p]

    @cuda.jit(cache=True)
    def conv_grad_input(dy, w, C, H, W, F, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, groups, dx):
        # dx[n, c, h, x] = sum of dy[n, f, oh, ow] * w[f, c, a, q] over the filters f of c's
        # group and the taps with h = oh * sh - pt + a * dh (likewise for the column).
        stamp  # noqa: B018
        cg = C // groups
        fg = F // groups
        for i in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
            col, t = split(i, W)
            h, t = split(t, H)
            c, n = split(t, C)
            g = c // cg
            cc = c - g * cg
            acc = zero
            for a in range(KH):
                hp = h + pt - a * dh
                if hp < 0 or hp % sh != 0 or hp // sh >= OH:
                    continue
                oh = hp // sh
                for q in range(KW):
                    wp = col + pl - q * dw
                    if wp < 0 or wp % sw != 0 or wp // sw >= OW:
                        continue
                    o = ((n * F + g * fg) * OH + oh) * OW + wp // sw
                    k = ((g * fg * cg + cc) * KH + a) * KW + q
                    for f in range(fg):
                        acc += dy[o + f * OH * OW] * w[k + f * cg * KH * KW]
            dx[i] = acc

    @cuda.jit(cache=True)
    def fold_border(src, Lp, inner, L, before, mode, out):
        # The adjoint of mirrored / replicated padding along one axis: src is outer x Lp x inner
        # (the gradient of the padded array), out outer x L x inner; each padded position's
        # gradient goes to the input position it was read from.
        stamp  # noqa: B018
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            s, t = split(i, inner)
            m, o = split(t, L)
            acc = zero
            for j in range(Lp):
                if source_index(j - before, L, mode) == m:
                    acc += src[(o * Lp + j) * inner + s]
            out[i] = acc

    return {"conv_forward": conv_forward, "im2col": im2col, "swap_leading": swap_leading,
            "conv_grad_input": conv_grad_input, "fold_border": fold_border}
