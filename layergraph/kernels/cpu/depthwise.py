"""Depthwise 2-D convolution: each input channel convolved with its own filters (groups equal
to the channel count; MATLAB groupedConvolution2dLayer(..., 'channel-wise'), ONNX Conv with
group = C). conv.py sends conv_forward / conv_backward here when groups == C > 1; the
grouped im2col path would build C products of 1 x FH*FW by FH*FW x P, too small for BLAS.

x N x C x H x W; w F x 1 x FH x FW with F = C*M (M filters per channel, groups outermost in F
as everywhere: filter f reads channel f // M); any size, stride and dilation; zero padding
pt, pl >= 0 applied on the fly (the far sides follow from the output size). conv.py pads a
non-zero or mirrored PaddingValue first, so these kernels see zeros only.

  depthwise_forward(x, w, b, sh, sw, dh, dw, pt, pl, oh, ow, relu=False, ceiling=inf) -> y (N x F x OH x OW)
  depthwise_backward(dy, x, w, sh, sw, dh, dw, pt, pl, need_dx=True) -> (dx or None, dW, db)

Each plane is split into its polyphase components (see _fill), so that every tap is one long
unit-stride loop over the plane held in L1, whatever the stride and dilation. The forward
splits the N*C input planes over threads, the backward the C input channels (a channel's dx
planes and its filters' dW and db belong to one thread, so no two threads write the same
place and the sums do not depend on the scheduling). dW and db are sums over N*OH*OW: per
plane in the data's dtype, then in float64.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import parallel_range
from ._util import out_empty

_FM = {"reassoc", "contract"}  # lets the row sums vectorize; changes results only by rounding


@njit(inline="always")
def _span(off, s, w, ow):
    """The output columns j (0 <= j < ow) whose input column j*s + off lies in 0..w-1."""
    j0 = 0 if off >= 0 else (-off + s - 1) // s
    last = w - 1 - off
    j1 = 0 if last < 0 else min(ow, last // s + 1)
    return j0, max(j0, j1)


# A plane is first split into its sh x sw polyphase components, each zero-padded and laid out
# flat with a common row length wq ("wide" rows: wq >= OW): phase (r, q) holds the padded
# input's rows r, r + sh, ... and columns q, q + sw, .... Tap (a, b) of a stride-(sh, sw)
# convolution then reads one phase at a fixed offset with unit stride, so the output plane,
# also on wide rows, is a sum of FH*FW shifted copies: one long contiguous loop per tap,
# vectorized whatever the stride, and the columns OW..wq-1 of the wide output are dropped.
@njit(inline="always")
def _tap(a, b, sh, sw, dh, dwd, wq, lp):
    """Where tap (a, b) reads: the flat offset of its phase and shift."""
    r, ro = (a * dh) % sh, (a * dh) // sh
    q, co = (b * dwd) % sw, (b * dwd) // sw
    return (r * sw + q) * lp + ro * wq + co


@njit(inline="always")
def _fill(src, pt, pl, sh, sw, hq, wq, lp, ph):
    """ph (sh*sw*lp) = the phases of src (H x W) padded with pt rows and pl columns of zeros."""
    h, w = src.shape
    z = ph.dtype.type(0)
    for t in range(ph.size):
        ph[t] = z
    for hi in range(h):
        ip = hi + pt
        i = ip // sh
        if i >= hq:
            break
        srow = src[hi]
        for q in range(sw):
            j0, j1 = _span(q - pl, sw, w, wq)
            base = ((ip - i * sh) * sw + q) * lp + i * wq
            dst = ph[base + j0:base + j1]
            sv = srow[j0 * sw + q - pl:]  # views from 0: no negative-index test in the loops
            if sw == 1:
                for t in range(j1 - j0):
                    dst[t] = sv[t]
            else:
                for t in range(j1 - j0):
                    dst[t] = sv[t * sw]


@njit(inline="always")
def _unfill(ph, pt, pl, sh, sw, hq, wq, lp, dst):
    """The adjoint of _fill: dst (H x W) = what the phases hold at src's positions."""
    h, w = dst.shape
    z = dst.dtype.type(0)
    for hi in range(h):
        drow = dst[hi]
        for j in range(w):
            drow[j] = z
        ip = hi + pt
        i = ip // sh
        if i >= hq:
            continue
        for q in range(sw):
            j0, j1 = _span(q - pl, sw, w, wq)
            base = ((ip - i * sh) * sw + q) * lp + i * wq
            src = ph[base + j0:base + j1]
            dv = drow[j0 * sw + q - pl:]
            if sw == 1:
                for t in range(j1 - j0):
                    dv[t] = src[t]
            else:
                for t in range(j1 - j0):
                    dv[t * sw] = src[t]


@njit(inline="always")
def _geometry(kh, kw, sh, sw, dh, dwd, oh, ow):
    """(hq, wq, lp): rows and row length of a phase, and its flat length with a row of slack
    (a wide row's last columns read past the phase's last row)."""
    hq = oh + ((kh - 1) * dh) // sh
    wq = ow + ((kw - 1) * dwd) // sw
    return hq, wq, (hq + 1) * wq


@njit(cache=True, nogil=True, fastmath=_FM)
def _dw_forward(q0, q1, x, w, b, sh, sw, dh, dwd, pt, pl, relu, hi, y):
    """(observation, input channel) pairs q0:q1 of the N*C: their M output planes of y; with
    relu, min(max(., 0), hi) (hi: a clipped ReLU's ceiling, inf for ReLU; x's dtype)."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    m = f // c
    oh, ow = y.shape[2], y.shape[3]
    hq, wq, lp = _geometry(kh, kw, sh, sw, dh, dwd, oh, ow)
    ph = np.empty(sh * sw * lp, x.dtype)
    yw = np.empty(oh * wq, x.dtype)
    span = oh * wq
    for u in range(q0, q1):
        i = u // c
        ch = u - i * c
        _fill(x[i, ch], pt, pl, sh, sw, hq, wq, lp, ph)
        for mm in range(m):
            k = ch * m + mm
            bk = b[k]
            for t in range(span):
                yw[t] = bk
            for a in range(kh):
                for bb in range(kw):
                    base = _tap(a, bb, sh, sw, dh, dwd, wq, lp)
                    src = ph[base:base + span]  # a view: the loop index is never negative, so it vectorizes
                    wv = w[k, 0, a, bb]
                    for t in range(span):
                        yw[t] += wv * src[t]
            out = y[i, k]
            z = yw.dtype.type(0)   # the clamp in x's dtype (0.0: through float64, the same values, slower)
            for oi in range(oh):
                row = out[oi]
                src = yw[oi * wq:oi * wq + ow]
                if relu:
                    for j in range(ow):
                        row[j] = min(max(src[j], z), hi)
                else:
                    for j in range(ow):
                        row[j] = src[j]


@njit(cache=True, nogil=True, fastmath=_FM)
def _dw_backward(c0, c1, dy, x, w, sh, sw, dh, dwd, pt, pl, want_dx, dx, dws, dbs):
    """Input channels c0:c1: dx[:, c] (when want_dx), and dws[k] (FH*FW, float64) and dbs[k]
    += the sums of the channel's filters k."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    m = f // c
    oh, ow = dy.shape[2], dy.shape[3]
    hq, wq, lp = _geometry(kh, kw, sh, sw, dh, dwd, oh, ow)
    z = x.dtype.type(0)
    ph = np.empty(sh * sw * lp, x.dtype)
    gph = np.empty(sh * sw * lp, x.dtype)
    gw = np.zeros(oh * wq, x.dtype)  # dy on wide rows: the columns past OW stay 0
    span = oh * wq
    for ch in range(c0, c1):
        for i in range(n):
            _fill(x[i, ch], pt, pl, sh, sw, hq, wq, lp, ph)
            if want_dx:
                for t in range(gph.size):
                    gph[t] = z
            for mm in range(m):
                k = ch * m + mm
                g = dy[i, k]
                s = z
                for oi in range(oh):
                    gr = g[oi]
                    dst = gw[oi * wq:oi * wq + ow]
                    for j in range(ow):
                        dst[j] = gr[j]
                        s += gr[j]
                dbs[k] += s
                for a in range(kh):
                    for bb in range(kw):
                        base = _tap(a, bb, sh, sw, dh, dwd, wq, lp)
                        src = ph[base:base + span]
                        acc = z
                        for t in range(span):
                            acc += gw[t] * src[t]
                        dws[k, a * kw + bb] += acc
                        if want_dx:
                            wv = w[k, 0, a, bb]
                            dst = gph[base:base + span]
                            for t in range(span):
                                dst[t] += wv * gw[t]
            if want_dx:
                _unfill(gph, pt, pl, sh, sw, hq, wq, lp, dx[i, ch])


def depthwise_forward(x, w, b, sh, sw, dh, dw, pt, pl, oh, ow, relu=False, ceiling=np.inf):
    """y = the depthwise convolution of x (checked: C-contiguous, w F x 1 x FH x FW with F a
    multiple of C, b (F,) of x's dtype or None) with zero padding pt, pl >= 0, plus b, then
    max(y, 0) when relu, clipped at ``ceiling`` (a clipped ReLU's, > 0)."""
    n = x.shape[0]
    f = w.shape[0]
    y = out_empty((n, f, oh, ow), x.dtype)
    bias = np.zeros(f, x.dtype) if b is None else b
    parallel_range(_dw_forward, n * x.shape[1], x, w, bias, sh, sw, dh, dw, pt, pl, bool(relu),
                   x.dtype.type(ceiling), y, size=y.size * w[0].size)
    return y


def depthwise_backward(dy, x, w, sh, sw, dh, dw, pt, pl, need_dx=True):
    """Gradients of depthwise_forward given dy (N x F x OH x OW): (dx or None, dW of w's
    shape, db (F,)), all of x's dtype."""
    f, _, kh, kw = w.shape
    dx = out_empty(x.shape, x.dtype) if need_dx else np.empty((0, 0, 0, 0), x.dtype)
    dws = np.zeros((f, kh * kw), np.float64)
    dbs = np.zeros(f, np.float64)
    parallel_range(_dw_backward, x.shape[1], dy, x, w, sh, sw, dh, dw, pt, pl, bool(need_dx), dx, dws, dbs,
                   size=dy.size * kh * kw)
    return (dx if need_dx else None), dws.astype(x.dtype).reshape(w.shape), dbs.astype(x.dtype)


# -- the pixel-major forward (prediction) ----------------------------------------------------------
# x N x H x W x C, one filter per channel (M = 1): each output row (observation, output row) is
# OW pixels of C channels, contiguous; it starts as the bias and gets one pass per tap in which
# every pixel's C channels add w[tap, :] * x[pixel's input, :]: the channel loop is unit-stride
# and vectorizes whatever the stride, dilation or padding (a tap's out-of-range columns are left
# out of its pass). The row, OW*C values, stays in L1 for its KH*KW passes. MobileNet's chain keeps
# this layout from each pointwise convolution through the depthwise one to the next pointwise
# product, with no transposes (core/executor.py's pixel-major plan).
_DW3 = True      # a 3x3 undilated filter on _dw3_forward_nhwc (False: _dw_forward_nhwc, for comparison)
_DW_GROUP = 256   # values per inner loop at stride 1 (g = 256 // C pixels): C = 32 alone was 4 vectors


@njit(cache=True, nogil=True, fastmath=_FM)
def _dw_forward_nhwc(r0, r1, x, wt, b, sh, sw, dh, dwd, pt, pl, kh, kw, relu, hi, y):
    """Output rows r0:r1 of the N*OH: y (N*OH x OW*C) from x (N x H x W*C), wt (KH*KW x g*C: each
    tap's C weights repeated for g pixels), b (C,)."""
    n, h, wc = x.shape
    c = b.shape[0]
    g = wt.shape[1] // c
    wd = wc // c
    oh = y.shape[0] // n
    ow = y.shape[1] // c
    for u in range(r0, r1):
        i = u // oh
        oi = u - i * oh
        yrow = y[u]
        for j in range(ow):
            seg = yrow[j * c:(j + 1) * c]
            for ch in range(c):
                seg[ch] = b[ch]
        for a in range(kh):
            hi_ = oi * sh + a * dh - pt
            if hi_ < 0 or hi_ >= h:
                continue
            xrow = x[i, hi_]
            for bb in range(kw):
                off = bb * dwd - pl
                j0, j1 = _span(off, sw, wd, ow)
                wv = wt[a * kw + bb]
                if sw == 1:   # g pixels at a time: one loop of g*C over contiguous x and y
                    for j in range(j0, j1, g):
                        m = min(g, j1 - j) * c
                        xs = xrow[(j + off) * c:(j + off) * c + m]
                        ys = yrow[j * c:j * c + m]
                        for t in range(m):
                            ys[t] += wv[t] * xs[t]
                    continue
                for j in range(j0, j1):
                    xs = xrow[(j * sw + off) * c:(j * sw + off + 1) * c]
                    ys = yrow[j * c:(j + 1) * c]
                    for ch in range(c):
                        ys[ch] += wv[ch] * xs[ch]
        if relu:
            z = yrow.dtype.type(0)   # in x's dtype (0.0: through float64, the same values, slower)
            for t in range(ow * c):
                yrow[t] = min(max(yrow[t], z), hi)


# A 3x3 undilated filter (MobileNet's, at stride 1 and 2) has its own kernel: in an output row
# whose three input rows are in range, each interior pixel (its three column taps in range)
# gets its nine taps in one expression, bias + w00 x00 + w01 x01 + ... + w22 x22, then the
# clipped ReLU and one store: 19 loads and one store per vector of outputs, where
# _dw_forward_nhwc's nine read-modify-write passes over the row (and the bias and ReLU passes)
# make 29 loads and 11 stores. Compiled with 'contract' only (no 'reassoc'): each tap is a fused
# multiply-add in the order of _dw_forward_nhwc's passes (a-major, b-minor, taps out of range
# left out), so the results are bit-identical to it. Border rows and border pixels take the
# same per-tap loops pixel by pixel (_dw3_pixel).
@njit(inline="always")
def _dw3_pixel(x, i, top, j, wt, bt, c, sw, pl, relu, hi, yrow):
    """Output pixel j of the row whose first input row is ``top``: its C values, tap by tap."""
    n, h, wc = x.shape
    wd = wc // c
    seg = yrow[j * c:(j + 1) * c]
    for ch in range(c):
        seg[ch] = bt[ch]
    for a in range(3):
        r = top + a
        if r < 0 or r >= h:
            continue
        xrow = x[i, r]
        for bb in range(3):
            col = j * sw + bb - pl
            if col < 0 or col >= wd:
                continue
            wv = wt[a * 3 + bb]
            xs = xrow[col * c:(col + 1) * c]
            for ch in range(c):
                seg[ch] += wv[ch] * xs[ch]
    if relu:
        z = yrow.dtype.type(0)
        for ch in range(c):
            seg[ch] = min(max(seg[ch], z), hi)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _dw3_forward_nhwc(r0, r1, x, wt, bt, c, sh, sw, pt, pl, relu, hi, y):
    """_dw_forward_nhwc for a 3x3 undilated filter: output rows r0:r1 of the N*OH, y (N*OH x
    OW*C) from x (N x H x W*C); wt (9 x g*C) and bt (g*C): each tap's C weights and the bias
    repeated for g pixels."""
    n, h, wc = x.shape
    g = bt.shape[0] // c
    wd = wc // c
    oh = y.shape[0] // n
    ow = y.shape[1] // c
    ja, jb = _span(-pl, sw, wd, ow)       # the pixels whose column tap 0 is in range
    jc, jd = _span(2 - pl, sw, wd, ow)    # ... and tap 2 (then tap 1 is too)
    j0 = max(ja, jc)
    j1 = max(j0, min(jb, jd))
    z = y.dtype.type(0)   # the clamp in the data's dtype (0.0 would make it float64: the same values, slower)
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], wt[7], wt[8]
    for u in range(r0, r1):
        i = u // oh
        oi = u - i * oh
        top = oi * sh - pt
        yrow = y[u]
        inner = top >= 0 and top + 2 < h and j1 > j0
        p0, p1 = (j0, j1) if inner else (ow, ow)
        for j in range(ow):   # border rows and pixels tap by tap (one call site: compile time)
            if j < p0 or j >= p1:
                _dw3_pixel(x, i, top, j, wt, bt, c, sw, pl, relu, hi, yrow)
        if not inner:
            continue
        xa, xb, xc = x[i, top], x[i, top + 1], x[i, top + 2]
        step = g if sw == 1 else 1   # at stride 1, g pixels' values are contiguous in x and y
        for j in range(j0, j1, step):
            m = min(step, j1 - j) * c
            s = (j * sw - pl) * c
            a0, a1, a2 = xa[s:s + m], xa[s + c:s + c + m], xa[s + 2 * c:s + 2 * c + m]
            b0, b1, b2 = xb[s:s + m], xb[s + c:s + c + m], xb[s + 2 * c:s + 2 * c + m]
            c0, c1, c2 = xc[s:s + m], xc[s + c:s + c + m], xc[s + 2 * c:s + 2 * c + m]
            ys = yrow[j * c:j * c + m]
            for t in range(m):
                v = (bt[t] + w0[t] * a0[t] + w1[t] * a1[t] + w2[t] * a2[t] + w3[t] * b0[t] + w4[t] * b1[t]
                     + w5[t] * b2[t] + w6[t] * c0[t] + w7[t] * c1[t] + w8[t] * c2[t])
                if relu:
                    v = min(max(v, z), hi)
                ys[t] = v


def depthwise_forward_nhwc(x, w, b, sh, sw, dh, dw, pt, pl, oh, ow, relu=False, ceiling=np.inf, cache=None):
    """depthwise_forward on pixel-major x (N x H x W x C, C-contiguous; w C x 1 x FH x FW: one
    filter per channel; b (C,) of x's dtype or None; zero padding pt, pl >= 0): y N x OH x OW x C.
    ``cache``: a dict the caller keeps with these weights, where their repeated form is kept."""
    n, h, wd, c = x.shape
    f, _, kh, kw = w.shape
    if f != c:
        raise ValueError(f"depthwise_forward_nhwc: one filter per channel expected: w has {f} filters for {c} "
                         "channels.")
    y = out_empty((n, oh, ow, c), x.dtype)
    g = max(1, _DW_GROUP // c)
    key = ("depthwise_nhwc", w.dtype.str, w.shape, g)
    wt = None if cache is None else cache.get(key)
    if wt is None:
        wt = np.ascontiguousarray(np.tile(w.reshape(c, kh * kw).T, (1, g)))
        if cache is not None:
            cache[key] = wt
    bias = np.zeros(c, x.dtype) if b is None else b
    if (kh, kw, dh, dw) == (3, 3, 1, 1) and _DW3:
        parallel_range(_dw3_forward_nhwc, n * oh, x.reshape(n, h, wd * c), wt, np.tile(bias, g), c, sh, sw, pt, pl,
                       bool(relu), x.dtype.type(ceiling), y.reshape(n * oh, ow * c), size=y.size * kh * kw)
        return y
    parallel_range(_dw_forward_nhwc, n * oh, x.reshape(n, h, wd * c), wt, bias, sh, sw, dh, dw, pt, pl, kh, kw,
                   bool(relu), x.dtype.type(ceiling), y.reshape(n * oh, ow * c), size=y.size * kh * kw)
    return y
