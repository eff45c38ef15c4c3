"""2-D convolution and transposed convolution (MATLAB convolution2dLayer,
groupedConvolution2dLayer, transposedConv2dLayer), as im2col / col2im numba kernels plus
numpy BLAS matrix products.

Convolution: x N x C x H x W; w F x C/G x FH x FW (groups outermost in F); b (F,) or None.
Padding [pt pb pl pr]; padding_value is a number (MATLAB PaddingValue scalar) or one of
'symmetric-include-edge', 'symmetric-exclude-edge', 'replicate'.
Output size floor((H + pt + pb - ((FH - 1) * dh + 1)) / sh) + 1.
  conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False,
               ceiling=inf) -> y
  conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, need_dx=True,
                dx_add=None) -> (dx, dw, db)   dx is None when need_dx is False; with dx_add,
      dx + dx_add (a gradient already gathered at x, added in dx's epilogue)
A depthwise convolution (groups == C > 1) runs on depthwise.py's direct kernels instead. A
one-group stride-1 convolution of 8 to 64 input channels takes the pixel-major path in the
backward (and from 64 channels in the forward): see "the pixel-major path" below.

Transposed convolution: x N x C x H x W; w C x F/G x FH x FW (input channels first, as
conventions.py stores it); b (F,) or None. Cropping [ct cb cl cr] is removed from the full
output of size (H - 1) * sh + (FH - 1) * dh + 1 (a negative value adds zero rows/columns
instead, which is how ONNX output_padding maps onto it).
  transposed_conv_forward(x, w, b, sh, sw, dh, dw, ct, cb, cl, cr, groups=1) -> y
  transposed_conv_backward(dy, x, w, sh, sw, dh, dw, ct, cb, cl, cr, groups=1) -> (dx, dw, db)
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import batch_parallel as _batch_parallel
from ._parallel import threads as _threads
from ._parallel import workspace as _workspace
from ._util import as_float, like, out_empty, relu_ceiling
from . import direct as _direct
from ._rows import block_sums, row_group
from . import winograd as _winograd
from .combine import add_into
from .depthwise import depthwise_backward, depthwise_forward, depthwise_forward_nhwc
from .pool import max_planes

PADDING_MODES = ("symmetric-include-edge", "symmetric-exclude-edge", "replicate")


# -- numba kernels -------------------------------------------------------------------------
# The columns of a chunk of n observations are a 3-D scratch array: n x K x P in the forward
# (kfirst=False: one product per observation writes straight into y) and K x n x P in the
# backward (kfirst=True: one product covers the whole chunk), K = C*FH*FW, P = OH*OW.
# Loop shape matters here: one loop over a row with a bounds test per element on a 1-D row
# view measured 2x to 6x faster than splitting each row into padding / interior / padding
# loops or indexing a flat buffer (why was not investigated; vectorization is the likely reason).
@njit(inline="always")
def _tap(cols, i0, ch, a, b, kh, kw, dw, pl, kfirst):
    """The P-long row of the columns that tap (a, b) of channel ch gives observation i0, and the
    tap's column offset: output column j reads input column j*sw + offset."""
    row = (ch * kh + a) * kw + b
    return (cols[row, i0] if kfirst else cols[i0, row]), b * dw - pl


@njit(cache=True, nogil=True)
def _im2col(x, kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, cols, kfirst):
    """cols[n, (c*kh + a)*kw + b, i*ow + j] (or cols[(c*kh + a)*kw + b, n, ...] when kfirst)
    = x[n, c, i*sh + a*dh - pt, j*sw + b*dw - pl], or the constant pv outside x: padding
    (of either sign) is applied on the fly, no padded copy."""
    n, c, h, w = x.shape
    for i0 in range(n):
        for ch in range(c):
            for a in range(kh):
                for b in range(kw):
                    dst, off = _tap(cols, i0, ch, a, b, kh, kw, dw, pl, kfirst)
                    for i in range(oh):
                        hi = i * sh + a * dh - pt
                        base = i * ow
                        if hi < 0 or hi >= h:
                            for j in range(ow):
                                dst[base + j] = pv
                            continue
                        src = x[i0, ch, hi]
                        for j in range(ow):
                            wi = j * sw + off
                            dst[base + j] = src[wi] if 0 <= wi < w else pv


@njit(cache=True, nogil=True)
def _col2im(cols, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, kfirst, x):
    """Adjoint of _im2col: x = the columns scattered back (x is overwritten; what falls in
    the padding is dropped)."""
    n, c, h, w = x.shape
    for i0 in range(n):
        for ch in range(c):
            plane = x[i0, ch]
            for hh in range(h):
                r = plane[hh]
                for j in range(w):
                    r[j] = 0.0
            for a in range(kh):
                for b in range(kw):
                    src, off = _tap(cols, i0, ch, a, b, kh, kw, dw, pl, kfirst)
                    for i in range(oh):
                        hi = i * sh + a * dh - pt
                        if hi < 0 or hi >= h:
                            continue
                        dst = plane[hi]
                        base = i * ow
                        for j in range(ow):
                            wi = j * sw + off
                            if 0 <= wi < w:
                                dst[wi] += src[base + j]


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _gather_rows(dy, out, sums):
    """dy (n x F x P) -> out (F x n*P), the channel-major layout of the backward's products,
    and sums[f] += the sum of dy[:, f] (the bias gradient), in float64 per row."""
    n, f, p = dy.shape
    z = dy.dtype.type(0)
    for i0 in range(n):
        for k in range(f):
            src = dy[i0, k]
            dst = out[k, i0 * p:(i0 + 1) * p]
            r = z
            for j in range(p):
                v = src[j]
                dst[j] = v
                r += v
            sums[k] += r


@njit(cache=True, nogil=True)
def _bias_act(y, b, relu, hi):
    """y (n x F x P) += b per filter, then min(max(y, 0), hi) when relu (a fused epilogue; hi
    is the ceiling of a clipped ReLU, inf for ReLU, in y's dtype).
    Row views keep the inner loop free of index arithmetic, so it vectorizes."""
    n, f, p = y.shape
    z = y.dtype.type(0)   # the clamp in y's dtype: 0.0 would take it through float64 (the same values, slower)
    for i in range(n):
        for k in range(f):
            row = y[i, k]
            bk = b[k]
            if relu:
                for j in range(p):
                    row[j] = min(max(row[j] + bk, z), hi)
            else:
                for j in range(p):
                    row[j] = row[j] + bk


# -- the pixel-major ("im2row") path ---------------------------------------------------------
# For groups == 1 at stride 1, the columns are built pixel-major instead: one row of K = FH*FW*C
# values per output pixel (tap-major, channel-minor, read from a pixel-major copy of x), so that
# each product is (pixels x K) (K x F), the orientation in which OpenBLAS's single-threaded sgemm
# ran up to 2x faster at 16-64 channels than F x K times K x pixels (docs/performance.md,
# "Issue 16, 3x3 convolution"). dx is the stride-1 convolution of dy with the flipped filters,
# built the same way, so there is no col2im scatter.
@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _to_rows(x, out, sums, want_sums):
    """x (n x C x P) -> out (n*P x C), and sums[c] += the sum of x[:, c] when want_sums (the
    bias gradient; float32 per plane, then float64). Blocks of _TB pixels keep the block of out
    being written in L1."""
    n, c, p = x.shape
    z = x.dtype.type(0)
    for i0 in range(n):
        for ch in range(c):
            src = x[i0, ch]
            r = z
            for j in range(p):
                r += src[j]
            if want_sums:
                sums[ch] += r
        for j0 in range(0, p, _TB):
            j1 = min(j0 + _TB, p)
            blk = out[i0 * p + j0:i0 * p + j1]
            for ch in range(c):
                src = x[i0, ch, j0:j1]
                for j in range(j1 - j0):
                    blk[j, ch] = src[j]


_TB = 32


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _column_sums(rows, sums, L):
    """sums[c] += the sum of rows[:, c] (rows M x C, pixel-major dy: the bias gradient), in
    blocks of 256 rows summed in rows' dtype, then in float64 (as _to_rows's sums); L rows at a
    time (_rows.block_sums, L = _rows.row_group(C)): numpy's sum(axis=0, dtype=float64) took
    5-10x as long."""
    m, c = rows.shape
    rf = rows.reshape(-1)
    acc = np.empty(L * c, rows.dtype)
    for r0 in range(0, m, 256):
        block_sums(rf, c, L, r0, min(m, r0 + 256), acc, False, acc, sums)


@njit(cache=True, nogil=True)
def _im2row(xt, n, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, rows):
    """rows[(i0*oh + i)*ow + j, (a*kw + b)*C + ch] = xt[(i0*h + hi)*w + wi, ch] at
    hi = i*sh + a*dh - pt, wi = j*sw + b*dw - pl, or pv outside the input. With dw == 1 the
    kw taps of a filter row that lie inside the input are one contiguous span of xt."""
    c = xt.shape[1]
    xf = xt.reshape(-1)
    for i0 in range(n):
        for i in range(oh):
            for j in range(ow):
                r = rows[(i0 * oh + i) * ow + j]
                for a in range(kh):
                    hi = i * sh + a * dh - pt
                    seg = r[a * kw * c:(a + 1) * kw * c]
                    if hi < 0 or hi >= h:
                        for t in range(kw * c):
                            seg[t] = pv
                        continue
                    base = (i0 * h + hi) * w
                    wi0 = j * sw - pl
                    if dw == 1 and wi0 >= 0 and wi0 + kw <= w:
                        src = xf[(base + wi0) * c:(base + wi0 + kw) * c]
                        for t in range(kw * c):
                            seg[t] = src[t]
                        continue
                    for b in range(kw):
                        wi = wi0 + b * dw
                        dst = seg[b * c:(b + 1) * c]
                        if 0 <= wi < w:
                            src = xt[base + wi]
                            for ch in range(c):
                                dst[ch] = src[ch]
                        else:
                            for ch in range(c):
                                dst[ch] = pv


@njit(cache=True, nogil=True)
def _row2im(rows, n, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, xt):
    """_im2row's adjoint: xt[(i0*h + hi)*w + wi, ch] += rows[(i0*oh + i)*ow + j, (a*kw + b)*C + ch]
    at hi = i*sh + a*dh - pt, wi = j*sw + b*dw - pl inside the input (xt: n*h*w x C, zeroed by the
    caller): dx of a strided convolution from dy's rows times the filters, pixel-major."""
    c = xt.shape[1]
    for t in range(n * oh * ow):   # output pixel t = (i0*oh + i)*ow + j, its row of taps
        i0, ij = divmod(t, oh * ow)
        i, j = divmod(ij, ow)
        for a in range(kh):
            hi = i * sh + a * dh - pt
            for b in range(kw):
                wi = j * sw + b * dw - pl
                if 0 <= hi < h and 0 <= wi < w:
                    dst = xt[(i0 * h + hi) * w + wi]
                    src = rows[t, (a * kw + b) * c:(a * kw + b + 1) * c]
                    for ch in range(c):
                        dst[ch] += src[ch]


@njit(cache=True, nogil=True)
def _from_rows(rows, b, relu, hi, y):
    """y (n x F x P) = rows (n*P x F) transposed, + b[f] (when b has F entries), then
    min(max(., 0), hi) when relu; in blocks of _TB pixels."""
    n, f, p = y.shape
    has_b = b.shape[0] == f
    z = y.dtype.type(0)   # in y's dtype (0.0 made the sum and clamp float64: the same values, slower)
    for i0 in range(n):
        for j0 in range(0, p, _TB):
            j1 = min(j0 + _TB, p)
            blk = rows[i0 * p + j0:i0 * p + j1]
            for k in range(f):
                dst = y[i0, k, j0:j1]
                bk = b[k] if has_b else z
                if relu:
                    for j in range(j1 - j0):
                        dst[j] = min(max(blk[j, k] + bk, z), hi)
                else:
                    for j in range(j1 - j0):
                        dst[j] = blk[j, k] + bk


@njit(cache=True, nogil=True)
def _bias_act_rows(y, b, relu, hi, res):
    """y (pixels x F) += b (when it has F entries), += res (y's shape, when it has rows), then
    min(max(y, 0), hi) when relu: the epilogue of the pixel-major forward, in place."""
    m, f = y.shape
    has_b = b.shape[0] == f
    has_r = res.shape[0] > 0
    z = y.dtype.type(0)   # the clamp in y's dtype: 0.0 would take it through float64 (the same values, slower)
    for i in range(m):
        row = y[i]
        if has_b:
            for k in range(f):
                row[k] = row[k] + b[k]
        if has_r:
            rr = res[i]
            for k in range(f):
                row[k] = row[k] + rr[k]
        if relu:
            for k in range(f):
                row[k] = min(max(row[k], z), hi)


def _forward_pixel_major(x, w, bias, sh, sw, dh, dw, pt, pl, pv, oh, ow, relu, x_nhwc, shape, residual=None,
                         ceiling=np.inf, cache=None):
    """One group, a constant padding value: the output N x OH x OW x F (pixel-major), from x
    N x C x H x W or (``x_nhwc``) N x H x W x C, ``shape`` the N x C x H x W it stands for. x's
    rows (pixels x C) are x itself when pixel-major, else one blocked transpose per chunk;
    _im2row, one (pixels x K)(K x F) product straight into the output, the bias (and a residual,
    N x OH x OW x F) and ReLU (clipped at ``ceiling``) on it. ``cache``: conv_forward's
    ``winograd`` dict (kept with these weights), where the product's K x F weights are kept."""
    n, c, h, wd = shape
    f, _, kh, kw = w.shape
    K, p, q = c * kh * kw, oh * ow, h * wd
    wr = _rows_weights(w, cache)  # rows (a, b, c), columns f
    y = out_empty((n, oh, ow, f), x.dtype)
    y2 = y.reshape(n * p, f)
    x2 = x.reshape(n * q, c) if x_nhwc else None
    x3 = None if x_nhwc else x.reshape(n, c, q)
    b = bias if bias is not None else np.zeros(0, x.dtype)
    res2 = residual.reshape(n * p, f) if residual is not None else None
    no_res = np.zeros((0, f), x.dtype)
    sub = _rows_sub(p)
    none = np.zeros(0)
    hi = x.dtype.type(ceiling)
    # a 1x1 filter at stride 1 without padding on pixel-major x: the rows are x itself
    direct = x_nhwc and kh == kw == 1 and sh == sw == 1 and pt == pl == 0 and (oh, ow) == (h, wd)

    def work(chunks):
        xt = None if x_nhwc else _workspace((sub * q, c), x.dtype, "rx")
        rows = None if direct else _workspace((sub * p, K), x.dtype, "rrows")
        for s0, s1 in chunks:
            m = s1 - s0
            if x_nhwc:
                src = x2[s0 * q:s1 * q]
            else:
                src = xt[:m * q]
                _to_rows(x3[s0:s1], src, none, False)
            if direct:
                r = src
            else:
                r = rows[:m * p]
                _im2row(src, m, h, wd, kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, r)
            out = y2[s0 * p:s1 * p]
            np.matmul(r, wr, out=out)
            res = res2[s0 * p:s1 * p] if res2 is not None else no_res
            if b.shape[0] or relu or res2 is not None:
                _bias_act_rows(out, b, bool(relu), hi, res)

    _batch_parallel(work, n, sub)
    return y


def _rows_weights(w, cache=None):
    """w (F x C x FH x FW) as the K x F matrix of the pixel-major product (rows (a, b, c)); kept
    in ``cache`` (a dict held with these weights, or None) under ("rows", dtype, shape): a
    transposing copy of the weights on every call cost 35 us of a 40 us 1x1 convolution of one
    image (128 -> 256 channels)."""
    key = ("rows", w.dtype.str, w.shape)
    if cache is not None and key in cache:
        return cache[key]
    f, c, kh, kw = w.shape
    wr = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(c * kh * kw, f))
    if cache is not None:
        cache[key] = wr
    return wr


def _pixel_major(x, w, bias, p, pv, oh, ow, relu, x_nhwc, shape, U, residual, ceiling, y_nchw=False):
    """The pixel-major forward: Winograd where it applies (3x3, stride 1, dilation 1), else
    _im2row's product; a residual (N x OH x OW x F) added before the ReLU (clipped at ``ceiling``).
    ``y_nchw`` (no residual): y channel-major, N x F x OH x OW (direct.py's and Winograd's chunk
    by chunk, _im2row's transposed afterwards)."""
    f, _, kh, kw = w.shape
    if residual is not None:
        residual = like(residual, x, "residual", (shape[0], oh, ow, f))
    if _direct_eligible(x.dtype, shape[1], kh, kw, p["sh"], p["sw"], p["dh"], p["dw"]):
        wt = _direct.weights(w, U)
        return _direct.direct_forward(x, wt, f, kh, kw, bias, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pb"],
                                      p["pl"], p["pr"], pv, oh, ow, relu, x_nhwc, shape, residual, ceiling=ceiling,
                                      from_rows=_from_rows if y_nchw else None)
    if _winograd_ok(shape[1], p, kh, kw, pv):
        U = _winograd.transformed(w, U)
        return _winograd.winograd_forward(x, U, bias, p["pt"], p["pl"], pv, oh, ow, relu, x_nhwc, shape, residual,
                                          ceiling=ceiling, to_rows=_to_rows, from_rows=_from_rows if y_nchw else None)
    y = _forward_pixel_major(x, w, bias, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], pv, oh, ow, relu,
                             x_nhwc, shape, residual, ceiling, cache=U)
    return nhwc_to_nchw(y) if y_nchw else y


def _direct_eligible(dtype, c, kh, kw, sh, sw, dh, dw):
    """Whether the pixel-major forward runs through direct.py's register-blocked kernel: float32,
    at most _DIRECT_MAX_C input channels, (kh, kw, sh, sw, dh, dw) in _DIRECT_SHAPES (the kernel
    computes any; these are where it was measured faster)."""
    return np.dtype(dtype) == np.float32 and c <= _DIRECT_MAX_C and (kh, kw, sh, sw, dh, dw) in _DIRECT_SHAPES


def _channel_major_via_rows(dtype, c, f, p, kh, kw, padding_value):
    """Whether conv_forward with channel-major x and y runs direct.py pixel-major and transposes
    y: a constant padding value, one group, _direct_eligible, and _ROWS_MIN_C or more channels
    (from _WINOGRAD_MIN_C channels Winograd takes that route instead: _winograd_ok) or, below
    that, a first convolution of 3 or more channels with 16 filters (_FEW_C_F)."""
    if not CHANNEL_MAJOR_VIA_ROWS or isinstance(padding_value, str) or p["groups"] != 1:
        return False
    if c < _ROWS_MIN_C and not (c >= 3 and f == _FEW_C_F):
        return False
    return _direct_eligible(dtype, c, kh, kw, p["sh"], p["sw"], p["dh"], p["dw"])


# below 8 channels the output's transpose is large against the product: direct.py's route (its
# taps (b, c) in one loop) took 0.63-0.82 of im2col's CPU time at 3-6 channels and 16 filters
# (32x32 and 64x64, batch 32 and 128), the same at 2 channels, 1.4x at one channel, 1.2-2.1x at
# 32 and 48 filters, 1.7x at 8 (a partial block of 16 runs pixel by pixel; docs/performance.md,
# session 13)
_FEW_C_F = 16


CHANNEL_MAJOR_VIA_ROWS = True

# direct.py's kernel up to 16 input channels at 3x3 stride 1, where (pixels x 9C)(9C x F) through
# OpenBLAS (K = 144) and Winograd's (tiles x C)(C x F) products (K = 16) are slowest; at 32 channels
# it measured the same as Winograd, and slower at 64 channels and at stride 2 (docs/performance.md, h_res)
_DIRECT_MAX_C = 16
_DIRECT_SHAPES = {(3, 3, 1, 1, 1, 1)}


# Winograd from 32 input channels: at 16 its 16 products (tiles x 16)(16 x 16) ran at 37 GFLOP/s
# through OpenBLAS and it measured no faster than _im2row (docs/performance.md); with its products
# on direct.py's kernel it is still slower there than direct.py's whole convolution (h_res);
# at 64 to 256 channels, channel-major in and out (VGG's layers, training's forward), it took
# 0.47-0.74 of the time of _forward_rows / im2col (1 thread, docs/performance.md, session 11)
_WINOGRAD_MIN_C = 32


# dx through Winograd from 128 filters: it paid at VGG's 128 and 256 (0.90 of the training step)
# and not at 32 or 64 (ResNet-20's and the seed CNN's steps unchanged), where it only added
# compile time to a cold start (docs/performance.md, session 11)
_WINOGRAD_DX_MIN_F = 128
# with dy pixel-major already (the pixel-major training plan) Winograd's dx from 32 filters took
# 0.82-0.85 of the time of _im2row's product at ResNet-20's 32 and 64 (one thread, batch 32;
# docs/performance.md, session 14): no transposes to pay for there
_WINOGRAD_DX_PM_MIN_F = 32


def _dx_route(dtype, f, q, kh, kw, winograd_from=None):
    """The geometry of dx's convolution (dy with f channels, the flipped filters) when
    conv_backward computes dx on the pixel-major forward's kernels, else None: a one-group 3x3
    stride-1 filter whose padding is within its reach, and either f >= _WINOGRAD_DX_MIN_F
    (Winograd's; ``winograd_from`` instead where given: _WINOGRAD_DX_PM_MIN_F for a pixel-major
    dy) or direct.py's range (float32, _ROWS_MIN_C to _DIRECT_MAX_C channels: ResNet's
    16-channel stage, where dx through direct.py measured faster than the im2row product)."""
    if q["groups"] != 1 or (kh, kw, q["sh"], q["sw"], q["dh"], q["dw"]) != (3, 3, 1, 1, 1, 1):
        return None
    pads = (q["pt"], q["pb"], q["pl"], q["pr"])
    if max(pads) > 2:
        return None
    wmin = _WINOGRAD_DX_MIN_F if winograd_from is None else winograd_from
    if not (f >= wmin or (f >= _ROWS_MIN_C and _direct_eligible(dtype, f, kh, kw, 1, 1, 1, 1))):
        return None
    return dict(q, pt=2 - pads[0], pb=2 - pads[1], pl=2 - pads[2], pr=2 - pads[3])


def _few_channels_dw(dtype, c, f, q):
    """Whether conv_backward sends a convolution of fewer than _ROWS_MIN_C channels (a network's
    first) to _grads_rows for dW on direct.py's micro-kernel, the taps folded into its planes
    (direct._dw_chunk's ``fold``): float32, one group, stride 1, 16 to _FEW_C_DW_MAX_F filters (a
    multiple of 16); channel-major with dx wanted too only at 16 filters (_backward_channel_major:
    above 16, dW's numbers then differ with need_dx in the last bits, float32 sums taken in
    another order). 3x3 on 3
    channels at 32 x 32, batch 32 and 128, one thread: 0.70 (16 filters), 0.73-0.75 (32) and
    0.87-0.92 (64) of the CPU time of the earlier routes (direct.py per tap, 16 filters; im2col's
    product, (K x M)(M x F) with K = 27 at below half speed, for more), 1.06 at 128 filters, which
    stay with im2col (docs/performance.md, session 17)."""
    return (DIRECT_DW and c < _ROWS_MIN_C and f % 16 == 0 and f <= _FEW_C_DW_MAX_F and q["groups"] == 1
            and _direct.dw_eligible(dtype, f, q["sh"], q["sw"]))


_FEW_C_DW_MAX_F = 64


def _winograd_ok(c, p, kh, kw, pv):
    """Whether the forward of a convolution with c input channels and geometry p runs as Winograd
    F(2x2, 3x3): one group, 3x3, stride 1, dilation 1, a constant padding value, >= 32 channels."""
    return (c >= _WINOGRAD_MIN_C and not isinstance(pv, str)
            and _winograd.eligible(c, p["groups"], kh, kw, p["sh"], p["sw"], p["dh"], p["dw"]))


def _add_relu(y, residual, relu, ceiling):
    """y (pixel-major) + residual, then min(max(., 0), ceiling) when relu; in place (y is the
    kernel's own)."""
    if residual is not None:
        r = like(residual, y, "residual", y.shape)
        np.add(y, r, out=y)
    if relu:
        np.maximum(y, 0, out=y)
        if ceiling < np.inf:
            np.minimum(y, ceiling, out=y)
    return y


def pixel_major_eligible(c, groups, padding_value=0.0, filters=None, filter_size=None, stride=None, padding=None,
                         dilation=None):
    """Whether conv_forward(..., y_layout='nhwc') computes pixel-major throughout rather than
    through the channel-major path and a transpose: one group, 8 to 64 input channels, a constant
    padding value (any stride, dilation, filter size); and, when the filters' count, size, stride
    and padding (t, b, l, r) are given, also a pointwise convolution (1x1, stride 1, no padding,
    one group) of 8 or more channels, one product over all pixels, a 3x3 stride-1 one of fewer
    than 8 channels (a network's first: direct.py's kernel in float32, its taps (b, c) in one
    loop; MobileNet-style prediction 0.92 of the time with it planned, docs/performance.md
    session 13), and a depthwise one (one filter per channel, zero padding: depthwise.py's
    pixel-major kernel). ``dilation``, when given, must be (1, 1) for the one below 8 channels
    (the executor's plan, core/ops.py ConvOp.pixel_major_ok, asks that; conv_forward computes a
    dilated one pixel-major too). The executor's pixel-major prediction plan keeps activations
    pixel-major between such convolutions."""
    if isinstance(padding_value, str):
        return False
    if groups == 1 and _ROWS_MIN_C <= c <= _ROWS_MAX_C:
        return True
    if filters is None:
        return False
    if groups == 1:
        if c < _ROWS_MIN_C:
            return (tuple(filter_size) == (3, 3) and tuple(stride) == (1, 1)
                    and (dilation is None or tuple(dilation) == (1, 1)))
        return tuple(filter_size) == (1, 1) and tuple(stride) == (1, 1) and not any(padding)
    return groups == c == filters > 1 and padding_value == 0.0


def pixel_major_training_eligible(c, groups, padding_value, filters, filter_size, stride, padding, dilation):
    """Whether the executor's pixel-major training plan may keep this convolution's output (and
    its gradient) pixel-major: pixel_major_eligible, one group (not depthwise), and a backward
    on the rows without a transpose, i.e. _ROWS_MIN_C to _ROWS_MAX_C input channels (any stride:
    _grads_rows, _grads_rows_strided) or a first convolution of fewer with _FEW_C_F filters at
    stride 1 (_few_channels_dw). Elsewhere conv_backward would transpose dy and x to channel-major
    and back: MobileNet-style training's one such 1x1 convolution of 256 channels cost 6 % more
    CPU time planned, VGG-style's first (3 to 64) as much (docs/performance.md, session 14)."""
    if groups != 1 or not pixel_major_eligible(c, groups, padding_value, filters, filter_size, stride, padding,
                                               dilation):
        return False
    if _ROWS_MIN_C <= c <= _ROWS_MAX_C:
        return True
    return c < _ROWS_MIN_C and filters == _FEW_C_F and tuple(stride) == (1, 1)


def _eligible_for(c, w, groups, padding_value, sh, sw, pt, pb, pl, pr):
    shape = np.shape(w)
    if len(shape) != 4:
        return pixel_major_eligible(c, int(groups), padding_value)
    return pixel_major_eligible(c, int(groups), padding_value, shape[0], shape[2:], (sh, sw), (pt, pb, pl, pr))


def _depthwise_nhwc(x, x_nhwc, w, bias, p, oh, ow, relu, residual, ceiling, cache=None):
    """The depthwise convolution with a pixel-major output (depthwise.py's pixel-major kernel), x
    of either layout (channel-major: transposed first); a residual (N x OH x OW x F) added before
    the ReLU; ``cache``: conv_forward's ``winograd`` dict, where the kernel's weights are kept."""
    xn = np.ascontiguousarray(x) if x_nhwc else nchw_to_nhwc(x)
    fuse = residual is None
    y = depthwise_forward_nhwc(xn, w, bias, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], oh, ow,
                               relu and fuse, ceiling, cache=cache)
    return y if fuse else _add_relu(y, residual, relu, ceiling)


def nhwc_to_nchw(y):
    """A pixel-major N x H x W x C array as a new N x C x H x W one (blocked transpose, the batch
    split over the pool's threads: serial, it cost the direct route's gain in wall time)."""
    n, h, w, c = y.shape
    p = h * w
    out = out_empty((n, c, p), y.dtype)
    y2 = np.ascontiguousarray(y).reshape(n * p, c)
    none, inf = np.zeros(0, y.dtype), y.dtype.type(np.inf)

    def work(chunks):
        for s0, s1 in chunks:
            _from_rows(y2[s0 * p:s1 * p], none, False, inf, out[s0:s1])
    _batch_parallel(work, n, _transpose_chunk(n, p * c))
    return out.reshape(n, c, h, w)


def _transpose_chunk(n, per):
    """Observations per slice of a parallel transpose: the calling thread alone below
    _parallel.SERIAL_BELOW values, else about four slices per thread."""
    from ._parallel import SERIAL_BELOW
    if n * per < SERIAL_BELOW:
        return n
    return max(1, -(-n // (4 * _threads())))


def nchw_to_nhwc(x):
    """An N x C x H x W array as a new pixel-major N x H x W x C one (blocked transpose, the
    batch split over the pool's threads)."""
    n, c, h, w = x.shape
    p = h * w
    out = out_empty((n * p, c), x.dtype)
    x3 = np.ascontiguousarray(x).reshape(n, c, p)
    none = np.zeros(0)

    def work(chunks):
        for s0, s1 in chunks:
            _to_rows(x3[s0:s1], out[s0 * p:s1 * p], none, False)
    _batch_parallel(work, n, _transpose_chunk(n, p * c))
    return out.reshape(n, h, w, c)


def _rows_eligible(c, g, sh, sw, forward=False):
    """Whether a convolution takes the pixel-major path: one group, stride 1, at least
    _ROWS_MIN_C input channels (a row of 3 channels is too short to copy fast), and for the
    forward at least _ROWS_MIN_C_FWD (below that the two transposes cost what the faster product
    saves: measured at 16 and 32 channels), and at most _ROWS_MAX_C (VGG's 128 and 256 channels
    measured even with the im2col path, within the noise)."""
    return g == 1 and sh == sw == 1 and max(_ROWS_MIN_C, _ROWS_MIN_C_FWD if forward else 0) <= c <= _ROWS_MAX_C


_ROWS_MIN_C = 8
DIRECT_DW = True
_ROWS_MIN_C_FWD = 64
_ROWS_MAX_C = 64
_ROWS_XROWS_C = 64
# pixels per block of the pixel-major path: the rows of a block, (pixels x K), stay near L2
_ROWS_PIX = 1024


_FOLD_PIX = 8192
_STRIDED_PIX = 16384


def _rows_sub(p):
    return max(1, _ROWS_PIX // p)


def _forward_rows(x, w, bias, dh, dw, pt, pl, pv, oh, ow, relu, ceiling):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    K, p, q = c * kh * kw, oh * ow, h * wd
    wr = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(K, f))  # rows (a, b, c), columns f
    y = out_empty((n, f, p), x.dtype)
    x3 = x.reshape(n, c, q)
    b = bias if bias is not None else np.zeros(0, x.dtype)
    sub = _rows_sub(p)
    none = np.zeros(0)
    hi = x.dtype.type(ceiling)

    def work(chunks):
        xt = _workspace((sub * q, c), x.dtype, "rx")
        rows = _workspace((sub * p, K), x.dtype, "rrows")
        yt = _workspace((sub * p, f), x.dtype, "ry")
        for s0, s1 in chunks:
            m = s1 - s0
            _to_rows(x3[s0:s1], xt[:m * q], none, False)
            _im2row(xt[:m * q], m, h, wd, kh, kw, 1, 1, dh, dw, pt, pl, pv, oh, ow, rows[:m * p])
            np.matmul(rows[:m * p], wr, out=yt[:m * p])
            _from_rows(yt[:m * p], b, bool(relu), hi, y[s0:s1])

    _batch_parallel(work, n, sub)
    return y.reshape(n, f, oh, ow)


def _grads_rows(dy, x, w, dh, dw, pt, pl, pv, want_dx, x_nhwc=False, dy_nhwc=False, dx_add=None):
    """_grads for one group at stride 1 on the pixel-major path: (dx or None, dW (F x C*FH*FW),
    db). dx is the convolution of dy (padded by (FH-1)*dh - pt above, (FW-1)*dw - pl left) with
    the filters flipped and their two channel axes swapped. ``x_nhwc``: x (and dx) N x H x W x C;
    ``dy_nhwc``: dy N x OH x OW x F, its rows as they are (the pixel-major training plan).
    ``dx_add`` (x's shape, checked): added to dx chunk by chunk while it is in cache."""
    n, c, h, wd = (x.shape[0], x.shape[3], x.shape[1], x.shape[2]) if x_nhwc else x.shape
    f, _, kh, kw = w.shape
    oh, ow = dy.shape[1:3] if dy_nhwc else dy.shape[2:]
    K, Kd, p, q = c * kh * kw, f * kh * kw, oh * ow, h * wd
    dt = dy.dtype
    # dx's filters: rows (a, b, f) of the flipped taps, columns c
    wf = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(Kd, c)) if want_dx else None
    dx = out_empty((n * q, c) if x_nhwc else (n, c, q), dt) if want_dx else None
    add = None if dx_add is None or not want_dx else dx_add.reshape(dx.shape)
    # dW's columns: from 64 channels x's rows (x transposed, _im2row; dW^T's rows then (a, b, c)),
    # below that the channel-major im2col (no transpose of x; rows (c, a, b)): each measured
    # 5-20 % less CPU time than the other where it is used
    xrows = c >= _ROWS_XROWS_C
    # float32 with F a multiple of 16: dW on direct.py's micro-kernel (direct._dw_chunk), rows
    # (a, b, c) like x's rows; below _ROWS_MIN_C channels the taps folded into its planes, rows
    # (c, a, b) like w's
    ddw = DIRECT_DW and _direct.dw_eligible(dt, f, 1, 1)
    fold = ddw and c < _ROWS_MIN_C
    # chunks of observations: dx's of dsub; dW's of as many or, with the taps folded, of
    # _FOLD_PIX pixels (a 32 x 32 image a chunk spent about a quarter of the call in the calls'
    # dispatch), whether dx is wanted or not (dW's numbers do not depend on need_dx)
    dsub = _rows_sub(max(p, q))
    sub = max(1, _FOLD_PIX // p) if fold else dsub
    nchunks = -(-n // sub)
    dws = (np.zeros if ddw else np.empty)((nchunks, K, f), dt)  # dW transposed
    dbs = np.zeros((nchunks, f), np.float64)
    x3 = None if x_nhwc else x.reshape(n, c, q)
    x2 = x.reshape(n * q, c) if x_nhwc else None
    dy3 = None if dy_nhwc else dy.reshape(n, f, p)
    dy2 = dy.reshape(n * p, f) if dy_nhwc else None
    none = np.zeros(0)
    nob = np.zeros(0, dt)
    inf = dt.type(np.inf)
    qt, ql = (kh - 1) * dh - pt, (kw - 1) * dw - pl
    pv32 = dt.type(pv)
    # a pixel-major x goes channel-major chunk by chunk (in cache) where dW reads planes
    planes = x_nhwc and (ddw or not xrows)

    def work(chunks):
        rows = _workspace((max(0 if ddw else sub * p * K, dsub * q * Kd if want_dx else 0, 1),), dt, "rrows")
        dyt = None if dy_nhwc else _workspace((sub * p, f), dt, "rdy")
        dxt = _workspace((dsub * q, c), dt, "rdx") if want_dx and not x_nhwc else None
        xt = _workspace((sub * q, c), dt, "rx") if xrows and not ddw and not x_nhwc else None
        xc = _workspace((sub, c, q), dt, "rxc") if planes else None
        if fold:
            xp = _workspace((K, oh, ow), dt, "rxp")
            tmp = _workspace((K, f), dt, "rtmp")
        elif ddw:
            xp = _workspace((c, oh + (kh - 1) * dh, ow + (kw - 1) * dw), dt, "rxp")
            tmp = _workspace((c, f), dt, "rtmp")
        for s0, s1 in chunks:
            m, k = s1 - s0, s0 // sub
            d = _dy_rows(dy2, dy3, s0, s1, p, dyt, dbs[k])
            if planes:
                xs = xc[:m]
                _from_rows(x2[s0 * q:s1 * q], nob, False, inf, xs)
            else:
                xs = None if x_nhwc else x3[s0:s1]
            if ddw:
                _direct._dw_chunk(xs, h, wd, pt, pl, pv32, xp, d, kh, kw, dh, dw, oh, ow, fold, tmp,
                                  dws[k].reshape(1, K, f) if fold else dws[k].reshape(kh * kw, c, f))
            elif xrows:  # dW^T = x's rows transposed (K x m) times dy's rows (m x F)
                if x_nhwc:
                    xr = x2[s0 * q:s1 * q]
                else:
                    xr = xt[:m * q]
                    _to_rows(x3[s0:s1], xr, none, False)
                r = rows[:m * p * K].reshape(m * p, K)
                _im2row(xr, m, h, wd, kh, kw, 1, 1, dh, dw, pt, pl, pv, oh, ow, r)
                np.matmul(r.T, d, out=dws[k])
            else:  # dW^T = the channel-major columns (K x m) times dy's rows (m x F)
                c3 = rows[:m * p * K].reshape(K, m, p)
                _im2col(xs.reshape(m, c, h, wd), kh, kw, 1, 1, dh, dw, pt, pl, pv, oh, ow, c3, True)
                np.matmul(c3.reshape(K, m * p), d, out=dws[k])
            for e0 in range(s0, s1 if want_dx else s0, dsub):   # dx in chunks of dsub observations
                e1 = min(e0 + dsub, s1)
                me = e1 - e0
                rd = rows[:me * q * Kd].reshape(me * q, Kd)
                _im2row(d[(e0 - s0) * p:(e1 - s0) * p], me, oh, ow, kh, kw, 1, 1, dh, dw, qt, ql, 0.0, h, wd, rd)
                if x_nhwc:
                    out = dx[e0 * q:e1 * q]
                    np.matmul(rd, wf, out=out)
                    if add is not None:
                        np.add(out, add[e0 * q:e1 * q], out=out)
                else:
                    np.matmul(rd, wf, out=dxt[:me * q])
                    _from_rows(dxt[:me * q], nob, False, inf, dx[e0:e1])
                    if add is not None:
                        np.add(dx[e0:e1], add[e0:e1], out=dx[e0:e1])

    _batch_parallel(work, n, sub)
    dWt = dws.sum(axis=0)
    dW = np.ascontiguousarray(dWt.reshape(kh, kw, c, f).transpose(3, 2, 0, 1) if (xrows or ddw) and not fold
                              else dWt.T).reshape(f, K)
    if want_dx:
        dx = dx.reshape((n, h, wd, c) if x_nhwc else (n, c, h, wd))
    return dx, dW, dbs.sum(axis=0).astype(dt)


def _dy_rows(dy2, dy3, s0, s1, p, dyt, sums):
    """The rows (pixels x F) of dy for observations s0:s1, their column sums into ``sums`` (db's):
    the pixel-major dy2's as they are, else the channel-major dy3's transposed into dyt."""
    if dy2 is not None:
        d = dy2[s0 * p:s1 * p]
        _column_sums(d, sums, row_group(d.shape[1]))
        return d
    d = dyt[:(s1 - s0) * p]
    _to_rows(dy3[s0:s1], d, sums, True)
    return d


def _winograd_dw_ok(dtype, c, f, kh, kw, sh, sw, dh, dw, groups, pv):
    """Whether _grads_winograd computes this filter gradient (winograd.dw_eligible at stride 1, one
    group)."""
    return groups == 1 and sh == sw == 1 and _winograd.dw_eligible(dtype, c, f, kh, kw, dh, dw, pv)


def _grads_winograd(dy, x, f, pt, pl, pv, x_nhwc, dy_nhwc):
    """(dW (F x C x 3 x 3), db) of a 3x3 stride-1 convolution through Winograd F(3x3, 2x2)
    (winograd.dw_chunk), the batch split over the pool in chunks of about winograd.block_tiles tiles
    (at least one chunk per thread); x N x C x H x W or (``x_nhwc``) N x H x W x C, dy likewise
    (``dy_nhwc``), channel-major ones transposed to rows chunk by chunk (in cache); db from dy's
    rows in the same pass."""
    n, c, h, wd = (x.shape[0], x.shape[3], x.shape[1], x.shape[2]) if x_nhwc else x.shape
    oh, ow = dy.shape[1:3] if dy_nhwc else dy.shape[2:]
    p, q = oh * ow, h * wd
    dt = dy.dtype
    tiles = ((oh + 1) // 2) * ((ow + 1) // 2)
    sub = max(1, min(_winograd.block_tiles(c, f) // tiles, -(-n // _threads())))
    nchunks = -(-n // sub)
    # the chunks' products in the calling thread's workspace (as _grads's dW slots): fresh, a
    # 256-channel layer's were page-faulted in on every call
    Ms = _workspace((nchunks, 16, c, f), dt, "gwms")
    dbs = np.zeros((nchunks, f), np.float64)
    x2 = x.reshape(n * q, c) if x_nhwc else None
    x3 = None if x_nhwc else x.reshape(n, c, q)
    dy2 = dy.reshape(n * p, f) if dy_nhwc else None
    dy3 = None if dy_nhwc else dy.reshape(n, f, p)
    none = np.zeros(0)

    def work(chunks):
        xt = None if x_nhwc else _workspace((sub * q, c), dt, "rx")
        dyt = None if dy_nhwc else _workspace((sub * p, f), dt, "rdy")
        for s0, s1 in chunks:
            m, k = s1 - s0, s0 // sub
            d = _dy_rows(dy2, dy3, s0, s1, p, dyt, dbs[k])
            if x_nhwc:
                xr = x2[s0 * q:s1 * q]
            else:
                xr = xt[:m * q]
                _to_rows(x3[s0:s1], xr, none, False)
            _winograd.dw_chunk(xr, d, m, h, wd, oh, ow, pt, pl, pv, Ms[k])

    _batch_parallel(work, n, sub)
    return _winograd.dw_from_products(Ms, f, c), dbs.sum(axis=0).astype(dt)


# -- padding ----------------------------------------------------------------------------------
def _pad_index(n, before, after, mode):
    """Source index along one axis for each padded position; -1 where a constant goes."""
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "symmetric-include-edge":  # ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} ...
        m = np.mod(i, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    if mode == "symmetric-exclude-edge":  # ... x2 x1 | x0 x1 ... x_{n-1} | x_{n-2} ...
        if n == 1:
            return np.zeros_like(i)
        m = np.mod(i, 2 * n - 2)
        return np.where(m >= n, 2 * n - 2 - m, m)
    return np.where((i >= 0) & (i < n), i, -1)


def _check_padding_value(pv):
    if isinstance(pv, str):
        if pv not in PADDING_MODES:
            raise ValueError(f"padding_value must be a number or one of {PADDING_MODES}, got {pv!r}.")
        return pv
    return float(pv)


def _pad(x, pt, pb, pl, pr, pv):
    if pt == pb == pl == pr == 0:
        return x
    if not isinstance(pv, str):
        return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pv)
    h, w = x.shape[2], x.shape[3]
    return np.ascontiguousarray(x[:, :, _pad_index(h, pt, pb, pv)][:, :, :, _pad_index(w, pl, pr, pv)])


def _onehot(n, before, after, mode):
    idx = _pad_index(n, before, after, mode)
    m = np.zeros((idx.size, n))
    ok = idx >= 0
    m[np.nonzero(ok)[0], idx[ok]] = 1.0
    return m


def _unpad(dxp, h, w, pt, pb, pl, pr, pv):
    """Adjoint of _pad (the constant contributes no gradient)."""
    if pt == pb == pl == pr == 0:
        return dxp
    if not isinstance(pv, str):
        return np.ascontiguousarray(dxp[:, :, pt:pt + h, pl:pl + w])
    rows = _onehot(h, pt, pb, pv).astype(dxp.dtype)
    cols = _onehot(w, pl, pr, pv).astype(dxp.dtype)
    return np.ascontiguousarray(rows.T @ dxp @ cols)


# -- shared argument handling -------------------------------------------------------------
def _ints(name, **kw):
    out = {k: int(v) for k, v in kw.items()}
    for k in ("sh", "sw", "dh", "dw", "groups"):
        if k in out and out[k] < 1:
            raise ValueError(f"{name}: {k} must be >= 1, got {out[k]}.")
    return out


def _check_shapes(x, w, name, w_layout, groups_fit, g):
    """Both 4-D (w laid out as ``w_layout``), and x's channels and w fit g groups."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{name}: expected x N x C x H x W and w {w_layout}, got {x.shape} and {w.shape}.")
    if not groups_fit(x.shape[1], w.shape, g):
        raise ValueError(f"{name}: {x.shape[1]} input channels and weights {w.shape} do not fit {g} group(s).")


def _conv_geometry(x, w, p, name):
    g = p["groups"]
    _check_shapes(x, w, name, "F x C/G x FH x FW", lambda c, ws, g: c == ws[1] * g and ws[0] % g == 0, g)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    for k in ("pt", "pb", "pl", "pr"):
        if p[k] < 0:
            raise ValueError(f"{name}: padding must be >= 0, got {k}={p[k]}.")
    hp, wp = h + p["pt"] + p["pb"], wd + p["pl"] + p["pr"]
    ekh, ekw = (kh - 1) * p["dh"] + 1, (kw - 1) * p["dw"] + 1
    oh, ow = (hp - ekh) // p["sh"] + 1, (wp - ekw) // p["sw"] + 1
    if hp < ekh or wp < ekw:
        raise ValueError(f"{name}: the dilated filter {ekh}x{ekw} exceeds the padded input {hp}x{wp}.")
    return n, c, h, wd, f, cg, kh, kw, oh, ow


# Prediction splits the batch over threads, each doing im2col and a single-threaded BLAS
# product for a few observations at a time (_SUB; the columns stay in cache).
_SUB = 4


# -- convolution -------------------------------------------------------------------------------
def _pool_geometry(pool, oh, ow):
    """A fused max pooling (ph, pw, sh, sw, pt, pb, pl, pr) of the oh x ow output: (ph, pw, sh, sw,
    pt, pl, pooled height, pooled width), checked."""
    qh, qw, qsh, qsw, qt, qb, ql, qr = (int(v) for v in pool)
    poh, pow_ = (oh + qt + qb - qh) // qsh + 1, (ow + ql + qr - qw) // qsw + 1
    if min(qh, qw, qsh, qsw) < 1 or min(qt, qb, ql, qr) < 0 or poh < 1 or pow_ < 1:
        raise ValueError(f"conv_forward: pool {tuple(pool)} does not fit the {oh}x{ow} output.")
    return qh, qw, qsh, qsw, qt, ql, poh, pow_


def _forward(x, w, bias, sh, sw, dh, dw, pt, pl, pv, g, oh, ow, relu=False, pool=None, ceiling=np.inf):
    """The batch-split convolution on checked arguments; padding pt, pl of either sign (the
    far sides follow from oh, ow), pv a number. Returns N x F x OH x OW (or the pooled output)."""
    n, c = x.shape[:2]
    f, cg, kh, kw = w.shape
    fg, kg, p = f // g, cg * kh * kw, oh * ow
    w2 = w.reshape(f, kg)
    if pool is not None:
        qh, qw, qsh, qsw, qt, ql, poh, pow_ = _pool_geometry(pool, oh, ow)
        out = out_empty((n, f, poh, pow_), x.dtype)
        y = None
    else:
        y = out = out_empty((n, f, p), x.dtype)
    # a 1x1 filter at stride 1 without padding (MobileNet's pointwise convolutions): the columns
    # are x itself, so the product reads x and im2col's copy is skipped
    pointwise = kh == kw == 1 and sh == sw == 1 and pt == pl == 0 and (oh, ow) == x.shape[2:]
    x3 = x.reshape(n, c, p) if pointwise else None
    hi = x.dtype.type(ceiling)

    def work(chunks):
        c3 = None if pointwise else _workspace((_SUB, c * kh * kw, p), x.dtype)
        ybuf = None if pool is None else _workspace((_SUB, f, p), x.dtype, "pre-pool")
        for s0, s1 in chunks:
            yc = y[s0:s1] if pool is None else ybuf[:s1 - s0]
            if pointwise:
                cc = x3[s0:s1]
            else:
                cc = c3[:s1 - s0]
                _im2col(x[s0:s1], kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, cc, False)
            for gi in range(g):
                np.matmul(w2[gi * fg:(gi + 1) * fg], cc[:, gi * kg:(gi + 1) * kg], out=yc[:, gi * fg:(gi + 1) * fg])
            if bias is not None or relu:
                _bias_act(yc, bias if bias is not None else np.zeros(f, x.dtype), bool(relu), hi)
            if pool is not None:
                max_planes(yc.reshape(-1, oh, ow), qh, qw, qsh, qsw, qt, ql, out[s0:s1].reshape(-1, poh, pow_))

    _batch_parallel(work, n, _SUB)
    return out if pool is not None else out.reshape(n, f, oh, ow)


# The backward takes _SUB_B observations at a time: their columns, K x (_SUB_B*P), and the
# matching dy rows, F x (_SUB_B*P), stay in L2 for the two products and the col2im. 2 used the
# least CPU time at the seed CNN's shapes (1, 4 and 8 were 0-50% slower).
_SUB_B = 2

# With dW: chunks of at least this many output pixels (_dw_sub). At 8x8 (VGG's 256-channel stage)
# two observations a chunk made 16 dW slots of K x F (38 MB at 256 -> 256 channels, batch 32)
# that the final sum reads through; 8 a chunk: 4 slots
_DW_ROWS = 512


def _dw_sub(n, p):
    """Observations per chunk of _grads with dW: at least _SUB_B, enough for _DW_ROWS pixels, but
    at most a quarter of the batch (so that the chunks still spread over the pool; from the batch
    size alone, so that the numbers do not depend on the thread count)."""
    return max(_SUB_B, min(-(-_DW_ROWS // p), -(-n // 4)))


def _grads(dy, x, w, xshape, sh, sw, dh, dw, pt, pl, pv, g, want_dx, want_dw):
    """Gradients of y = conv(x, w) (checked arguments, padding of either sign) given dy
    (N x F x OH x OW): (dx of shape xshape or None, dW (F x C/G*FH*FW) or None, db (F,)).
    Chunks of the batch go to whichever thread is free; each chunk's dW and db land in their
    own slot and the slots are summed in a fixed order, so results do not depend on the
    scheduling."""
    n, c, h, wd = xshape
    f, cg, kh, kw = w.shape
    oh, ow = dy.shape[2], dy.shape[3]
    fg, kg, p, K = f // g, cg * kh * kw, oh * ow, c * kh * kw
    dt = dy.dtype
    w2 = w.reshape(f, kg)
    dy3 = dy.reshape(n, f, p)
    dx = out_empty(xshape, dt) if want_dx else None
    sub = _dw_sub(n, p) if want_dw else _SUB_B   # dW's numbers do not depend on want_dx
    nchunks = -(-n // sub)
    # dW transposed (~10% faster products), one slot per chunk, in the calling thread's workspace:
    # fresh, the 38 MB of a 256-channel layer's 16 slots were page-faulted in on every call
    dws = _workspace((nchunks, kg, f), dt, "gdws") if want_dw else None
    dbs = np.zeros((nchunks, f), np.float64)
    # 1x1, stride 1, no padding: dx of each observation is W^T dy written in place (no col2im)
    pointwise = kh == kw == 1 and sh == sw == 1 and pt == pl == 0 and (oh, ow) == tuple(xshape[2:])
    dxv = dx.reshape(n, c, p) if want_dx and pointwise else None

    def work(chunks):
        cols = _workspace((K * sub * p,), dt, "bcols")
        dyt = _workspace((f * sub * p,), dt, "bdy")
        for s0, s1 in chunks:
            m = (s1 - s0) * p
            c3 = cols[:K * m].reshape(K, s1 - s0, p)
            c2 = c3.reshape(K, m)
            d2 = dyt[:f * m].reshape(f, m)
            _gather_rows(dy3[s0:s1], d2, dbs[s0 // sub])
            if want_dw:
                _im2col(x[s0:s1], kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, c3, True)
                for gi in range(g):
                    fs, ks = slice(gi * fg, (gi + 1) * fg), slice(gi * kg, (gi + 1) * kg)
                    np.matmul(c2[ks], d2[fs].T, out=dws[s0 // sub, :, fs])
            if want_dx and pointwise:
                for i in range(s1 - s0):
                    for gi in range(g):
                        fs, ks = slice(gi * fg, (gi + 1) * fg), slice(gi * kg, (gi + 1) * kg)
                        np.matmul(w2[fs].T, d2[fs, i * p:(i + 1) * p], out=dxv[s0 + i, ks])
            elif want_dx:
                for gi in range(g):  # the columns are spent: their gradient overwrites them
                    fs, ks = slice(gi * fg, (gi + 1) * fg), slice(gi * kg, (gi + 1) * kg)
                    np.matmul(w2[fs].T, d2[fs], out=c2[ks])
                _col2im(c3, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, True, dx[s0:s1])

    _batch_parallel(work, n, sub)
    dW = np.ascontiguousarray(dws.sum(axis=0).T) if want_dw else None
    return dx, dW, dbs.sum(axis=0).astype(dt)


def _checked(name, x, w, geometry, padding_value, x_ready=False, **ints):
    """(x, w, the integer arguments, the padding value, geometry(...)), checked in this order.
    ``x_ready``: x is already as_float's (or a view of it whose shape alone is read: the
    pixel-major x's channel-major view, which as_float would copy into a transposed array)."""
    x = x if x_ready else as_float(x)
    w = like(w, x, "w")
    p = _ints(name, **ints)
    pv = _check_padding_value(padding_value)
    return x, w, p, pv, geometry(x, w, p, name)


def _prepad(x, p, pv):
    """Mirrored or replicated borders (pv a mode) are padded first, leaving no padding to apply
    on the fly: (x, p, the constant padding value) after that."""
    if isinstance(pv, str):
        return _pad(x, p["pt"], p["pb"], p["pl"], p["pr"], pv), dict(p, pt=0, pb=0, pl=0, pr=0), 0.0
    return x, p, pv


def _depthwise(x, p):
    """Whether conv_forward / conv_backward take depthwise.py's kernels: one group per input
    channel (and more than one channel)."""
    return p["groups"] == x.shape[1] > 1


def _zero_padded(x, p, pv):
    """(x, p) with any padding other than zeros (a mirrored or replicated border, a non-zero
    constant) applied first, as the depthwise kernels pad with zeros only."""
    if isinstance(pv, str) or pv != 0.0:
        return _pad(x, p["pt"], p["pb"], p["pl"], p["pr"], pv), dict(p, pt=0, pb=0, pl=0, pr=0)
    return x, p


def conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False, pool=None,
                 x_layout="nchw", y_layout="nchw", winograd=None, residual=None, ceiling=np.inf):
    """``relu=True`` applies max(y, 0) in the same pass (and with a ``ceiling`` > 0, a clipped
    ReLU's min(max(y, 0), ceiling): ReLU6 at 6), and ``pool=(ph, pw, sh, sw, pt,
    pb, pl, pr)`` max-pools the result while it is still in cache: the executor fuses a
    following ReLU and max pooling this way at prediction time. ``x_layout='nhwc'``: x is
    pixel-major, N x H x W x C; ``y_layout='nhwc'``: the result is N x OH x OW x F (not with
    ``pool``). Where pixel_major_eligible holds, a pixel-major x or y costs no transpose;
    elsewhere x is transposed first or y after (the same numbers either way, up to rounding).
    There, a 3x3 filter at stride 1 and dilation 1 on 32 or more channels runs as Winograd
    F(2x2, 3x3) (winograd.py);
    ``winograd``: a dict the caller keeps with these weights, where the transformed filters are
    stored on first use (else they are computed on each call; also the pixel-major product's
    transposed weights and the pixel-major depthwise kernel's repeated ones). ``residual`` (pixel-major y only,
    N x OH x OW x F): added before the ReLU, a ResNet block's addition fused into the epilogue."""
    if x_layout not in ("nchw", "nhwc") or y_layout not in ("nchw", "nhwc"):
        raise ValueError(f"conv_forward: x_layout and y_layout must be 'nchw' or 'nhwc', got {x_layout!r}, "
                         f"{y_layout!r}.")
    if y_layout == "nhwc" and pool is not None:
        raise ValueError("conv_forward: a fused pooling gives a channel-major output only (y_layout 'nchw').")
    if residual is not None and y_layout != "nhwc":
        raise ValueError("conv_forward: a fused residual needs the pixel-major output (y_layout 'nhwc').")
    ceiling = relu_ceiling("conv_forward", ceiling)
    x_nhwc = x_layout == "nhwc"
    if x_nhwc:
        x = as_float(x)
        if x.ndim != 4:
            raise ValueError(f"conv_forward: expected pixel-major x N x H x W x C, got {x.shape}.")
        if y_layout == "nhwc" and _eligible_for(x.shape[3], w, groups, padding_value, sh, sw, pt, pb, pl, pr):
            xv = x.transpose(0, 3, 1, 2)  # only its shape is read by the checks (x_ready: no copy)
            xv, w, p, pv, (n, c, h, wd, f, cg, kh, kw, oh, ow) = _checked(
                "conv_forward", xv, w, _conv_geometry, padding_value, x_ready=True, sh=sh, sw=sw, dh=dh, dw=dw,
                pt=pt, pb=pb, pl=pl, pr=pr, groups=groups)
            bias = None if b is None else like(b, x, "b", (f,))
            if _depthwise(xv, p):
                return _depthwise_nhwc(x, True, w, bias, p, oh, ow, relu, residual, ceiling, winograd)
            return _pixel_major(np.ascontiguousarray(x), w, bias, p, pv, oh, ow, relu, True, (n, c, h, wd),
                                winograd, residual, ceiling)
        x = nhwc_to_nchw(x)
    if y_layout == "nhwc":
        x = as_float(x)
        if x.ndim == 4 and _eligible_for(x.shape[1], w, groups, padding_value, sh, sw, pt, pb, pl, pr):
            x, w, p, pv, (n, c, h, wd, f, cg, kh, kw, oh, ow) = _checked(
                "conv_forward", x, w, _conv_geometry, padding_value, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb,
                pl=pl, pr=pr, groups=groups)
            bias = None if b is None else like(b, x, "b", (f,))
            if _depthwise(x, p):
                return _depthwise_nhwc(x, False, w, bias, p, oh, ow, relu, residual, ceiling, winograd)
            return _pixel_major(x, w, bias, p, pv, oh, ow, relu, False, x.shape, winograd, residual, ceiling)
        y = nchw_to_nhwc(conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value))
        return _add_relu(y, residual, relu, ceiling)
    x, w, p, pv, (n, c, h, wd, f, cg, kh, kw, oh, ow) = _checked(
        "conv_forward", x, w, _conv_geometry, padding_value, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl,
        pr=pr, groups=groups)
    bias = None if b is None else like(b, x, "b", (f,))
    if pool is None and _channel_major_via_rows(x.dtype, c, f, p, kh, kw, padding_value):
        # float32 3x3 stride 1 at 8-16 channels, or a first convolution's 3-7 with 16 filters
        # (the training forward, and prediction outside the pixel-major plan): direct.py
        # pixel-major, then one transpose (docs/performance.md, h_res and session 13)
        return _pixel_major(x, w, bias, p, pv, oh, ow, relu, False, x.shape, None, None, ceiling, y_nchw=True)
    if _depthwise(x, p):
        xq, q = _zero_padded(x, p, pv)
        qgeo = _pool_geometry(pool, oh, ow) if pool is not None else None
        y = depthwise_forward(xq, w, bias, q["sh"], q["sw"], q["dh"], q["dw"], q["pt"], q["pl"], oh, ow, relu, ceiling)
        if qgeo is None:
            return y
        qh, qw, qsh, qsw, qt, ql, poh, pow_ = qgeo
        out = out_empty((n, f, poh, pow_), x.dtype)
        max_planes(y.reshape(-1, oh, ow), qh, qw, qsh, qsw, qt, ql, out.reshape(-1, poh, pow_))
        return out
    if _winograd_ok(c, p, kh, kw, pv):   # channel-major in and out: the result transposed back
        U = _winograd.transformed(w, winograd)
        y = _winograd.winograd_forward(x, U, bias, p["pt"], p["pl"], pv, oh, ow, relu, False, x.shape,
                                       ceiling=ceiling, to_rows=_to_rows, from_rows=_from_rows)
        if pool is None:
            return y
        qh, qw, qsh, qsw, qt, ql, poh, pow_ = _pool_geometry(pool, oh, ow)
        out = out_empty((n, f, poh, pow_), x.dtype)
        max_planes(y.reshape(-1, oh, ow), qh, qw, qsh, qsw, qt, ql, out.reshape(-1, poh, pow_))
        return out
    x, p, pv = _prepad(x, p, pv)
    if pool is None and _rows_eligible(c, p["groups"], p["sh"], p["sw"], forward=True):
        return _forward_rows(x, w, bias, p["dh"], p["dw"], p["pt"], p["pl"], pv, oh, ow, relu, ceiling)
    return _forward(x, w, bias, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], pv, p["groups"], oh, ow,
                    relu, pool, ceiling)


def conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, need_dx=True,
                  x_layout="nchw", y_layout="nchw", dx_add=None):
    """``need_dx=False`` skips dx (returned as None): the W^T dy product and col2im, about a
    third of the work when x is the network input. ``x_layout='nhwc'``: x (and dx) pixel-major,
    N x H x W x C; ``y_layout='nhwc'``: dy N x OH x OW x F (the forward's y_layout): the
    executor's pixel-major training plan. Where pixel_major_eligible holds at stride 1 they cost
    no transpose; elsewhere they are transposed to channel-major and dx back. ``dx_add`` (x's
    shape and layout; ignored without dx): dx is returned with it added (the same numbers as
    adding afterwards), in the epilogue of dx's product where the path has one, else in place:
    the executor's gradient already gathered at x (a ResNet block's input), one pass fewer."""
    if x_layout not in ("nchw", "nhwc") or y_layout not in ("nchw", "nhwc"):
        raise ValueError(f"conv_backward: x_layout and y_layout must be 'nchw' or 'nhwc', got {x_layout!r}, "
                         f"{y_layout!r}.")
    if x_layout == "nhwc" or y_layout == "nhwc":
        return _backward_pixel_major(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value, need_dx,
                                     x_layout == "nhwc", y_layout == "nhwc", dx_add)
    dx, dw2, db = _backward_channel_major(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value, need_dx)
    return _plus(dx, dx_add, x), dw2, db


def _dx_add(dx_add, x, need_dx):
    """conv_backward's dx_add checked against x (dx's shape and layout: exactly, no reshape), or None."""
    if dx_add is None or not need_dx:
        return None
    if np.shape(dx_add) != x.shape:
        raise ValueError(f"conv_backward: dx_add: expected shape {x.shape} (x's, in x_layout), got "
                         f"{np.shape(dx_add)}.")
    return like(dx_add, x, "conv_backward: dx_add")


def _plus(dx, dx_add, x):
    """dx + dx_add (checked against x), in place in dx (the kernel's own)."""
    add = _dx_add(dx_add, as_float(x), dx is not None)
    return dx if add is None else add_into(dx, add)


def _backward_channel_major(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value, need_dx):
    x, w, p, padding, (n, c, h, wd, f, cg, kh, kw, oh, ow) = _checked(
        "conv_backward", x, w, _conv_geometry, padding_value, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl,
        pr=pr, groups=groups)
    dy = like(dy, x, "dy", (n, f, oh, ow))
    if _depthwise(x, p):
        xq, q = _zero_padded(x, p, padding)
        dx, dw2, db = depthwise_backward(dy, xq, w, q["sh"], q["sw"], q["dh"], q["dw"], q["pt"], q["pl"],
                                         bool(need_dx))
        if dx is not None and xq is not x:
            dx = _unpad(dx, h, wd, p["pt"], p["pb"], p["pl"], p["pr"], padding)
        return dx, dw2, db
    xp, q, pv = _prepad(x, p, padding)  # mirrored or replicated borders: the padded copy's gradient, folded back
    route = _dx_route(x.dtype, f, q, kh, kw) if need_dx else None
    if route is not None:
        # dx is the convolution of dy with the flipped, transposed filters, padded by what the
        # forward's padding leaves of the filter's reach, on the pixel-major forward's kernels
        # (direct.py's or Winograd's: _dx_route); dW and db as before
        dxp = _dx_forward(dy, w, route, xp.shape[2], xp.shape[3], False, dy.shape, y_nchw=True)
        _, dw2, db = conv_backward(dy, xp, w, 1, 1, 1, 1, q["pt"], q["pb"], q["pl"], q["pr"], 1, pv, need_dx=False)
        if isinstance(padding, str):
            dxp = _unpad(dxp, h, wd, p["pt"], p["pb"], p["pl"], p["pr"], padding)
        return dxp, dw2, db
    if (not need_dx and _dx_route(x.dtype, f, q, kh, kw) is not None
            and _winograd_dw_ok(x.dtype, c, f, kh, kw, q["sh"], q["sw"], q["dh"], q["dw"], q["groups"], pv)):
        # dW alone where dx has a route of its own (the route above computes dW by this call):
        # through Winograd's filter gradient, the same numbers with and without dx
        dw2, db = _grads_winograd(dy, xp, f, q["pt"], q["pl"], pv, False, False)
        return None, dw2, db
    # with dx wanted, more than 16 filters stay on im2col's path for both: _grads_rows' dx took 1.5x
    # as long there, and dx from _grads beside dW folded 1.07-1.12x (3 channels, 64 filters)
    few = _few_channels_dw(x.dtype, c, f, q) and (not need_dx or f == _FEW_C_F)
    if _rows_eligible(c, q["groups"], q["sh"], q["sw"]) or few:
        dx, dw2, db = _grads_rows(dy, xp, w, q["dh"], q["dw"], q["pt"], q["pl"], pv, bool(need_dx))
    else:
        dx, dw2, db = _grads(dy, xp, w, xp.shape, q["sh"], q["sw"], q["dh"], q["dw"], q["pt"], q["pl"], pv,
                             q["groups"], bool(need_dx), True)
    if isinstance(padding, str) and dx is not None:
        dx = _unpad(dx, h, wd, p["pt"], p["pb"], p["pl"], p["pr"], padding)
    return dx, dw2.reshape(w.shape), db


def _grads_rows_strided(dy, x, w, sh, sw, dh, dw, pt, pl, pv, want_dx, dx_add=None):
    """(dx or None, dW (F x C*FH*FW), db) of one group at any stride with x (and dx) N x H x W x C
    and dy N x OH x OW x F pixel-major: dW^T = _im2row's rows of x (K x pixels) times dy's rows,
    dx = _row2im of dy's rows times the filters (pixels x K), + ``dx_add`` (x's shape, checked)
    chunk by chunk."""
    n, h, wd, c = x.shape
    f, _, kh, kw = w.shape
    oh, ow = dy.shape[1:3]
    K, p, q = c * kh * kw, oh * ow, h * wd
    dt = dy.dtype
    wr = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(f, K))   # columns (a, b, c)
    dx = out_empty((n * q, c), dt) if want_dx else None
    # chunks of about _STRIDED_PIX pixels (at least one chunk per thread): at _ROWS_PIX (one 32 x 32
    # image a chunk) the per-chunk calls and the small products cost ResNet-20's 1x1 stride-2
    # convolutions a third of their backward (docs/performance.md, session 17)
    sub = max(1, min(_STRIDED_PIX // max(p, q), -(-n // _threads())))
    nchunks = -(-n // sub)
    dws = np.empty((nchunks, K, f), dt)
    dbs = np.zeros((nchunks, f), np.float64)
    x2, dy2 = x.reshape(n * q, c), dy.reshape(n * p, f)
    add = None if dx_add is None or not want_dx else dx_add.reshape(n * q, c)

    def work(chunks):
        rows = _workspace((sub * p, K), dt, "rrows")
        for s0, s1 in chunks:
            m, k = s1 - s0, s0 // sub
            d = dy2[s0 * p:s1 * p]
            _column_sums(d, dbs[k], row_group(f))
            r = rows[:m * p]
            _im2row(x2[s0 * q:s1 * q], m, h, wd, kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, r)
            np.matmul(r.T, d, out=dws[k])
            if want_dx:
                np.matmul(d, wr, out=r)
                out = dx[s0 * q:s1 * q]
                out[...] = 0
                _row2im(r, m, h, wd, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, out)
                if add is not None:
                    np.add(out, add[s0 * q:s1 * q], out=out)

    _batch_parallel(work, n, sub)
    dW = np.ascontiguousarray(dws.sum(axis=0).reshape(kh, kw, c, f).transpose(3, 2, 0, 1)).reshape(f, K)
    return (dx.reshape(n, h, wd, c) if want_dx else None), dW, dbs.sum(axis=0).astype(dt)


def _dx_forward(dy, w, route, h, wd, dy_nhwc, shape, add=None, y_nchw=False):
    """dx (N x H x W x C, pixel-major; channel-major with ``y_nchw``) as the forward convolution of
    dy (``shape`` the N x F x OH x OW it stands for; pixel-major with ``dy_nhwc``) with the flipped
    filters, their channel axes swapped, on _dx_route's geometry ``route``; ``add`` (dx's shape,
    pixel-major only) added in its epilogue."""
    wr = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    return _pixel_major(dy, wr, None, route, 0.0, h, wd, False, dy_nhwc, shape, None, add, np.inf, y_nchw)


def _backward_pixel_major(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value, need_dx, x_nhwc,
                          dy_nhwc, dx_add=None):
    """conv_backward with a pixel-major x (``x_nhwc``) or dy (``dy_nhwc``), read and written in
    their layouts where one group with a constant padding value has a rows path: at stride 1
    _grads_rows (_ROWS_MIN_C to _ROWS_MAX_C channels, or a first convolution's _few_channels_dw;
    dx through direct.py's or Winograd's kernel where _dx_route takes it), at other strides with
    both pixel-major _grads_rows_strided; anything else through the channel-major code,
    transposed there and back."""
    x = as_float(x)
    if x.ndim != 4:
        raise ValueError(f"conv_backward: expected {'pixel-major x N x H x W x C' if x_nhwc else 'x N x C x H x W'}, "
                         f"got {x.shape}.")
    xv = x.transpose(0, 3, 1, 2) if x_nhwc else x   # its shape is what the checks read
    xv, w, p, padding, (n, c, h, wd, f, cg, kh, kw, oh, ow) = _checked(
        "conv_backward", xv, w, _conv_geometry, padding_value, x_ready=True, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt,
        pb=pb, pl=pl, pr=pr, groups=groups)
    dy = like(dy, x, "dy", (n, oh, ow, f) if dy_nhwc else (n, f, oh, ow))
    x = np.ascontiguousarray(x)
    add = _dx_add(dx_add, x, need_dx)
    rows = p["groups"] == 1 and not isinstance(padding, str) and not _depthwise(xv, p)
    rows_c = _ROWS_MIN_C <= c <= _ROWS_MAX_C
    if rows and p["sh"] == p["sw"] == 1 and (rows_c or _few_channels_dw(x.dtype, c, f, p)):
        # dx's route, whether dx is wanted or not: where it has one, dW is computed on its own, through
        # Winograd's filter gradient where that applies (the same dW with and without dx)
        route = _dx_route(x.dtype, f, p, kh, kw, _WINOGRAD_DX_PM_MIN_F if dy_nhwc else None)
        if need_dx and route is None:   # dx and dW together on the rows
            dx, dw2, db = _grads_rows(dy, x, w, p["dh"], p["dw"], p["pt"], p["pl"], padding, True, x_nhwc,
                                      dy_nhwc, add)
            return dx, dw2.reshape(w.shape), db
        dx = None
        if need_dx:   # dx on direct.py's or Winograd's kernel, pixel-major out
            dx = _dx_forward(dy, w, route, h, wd, dy_nhwc, (n, f, oh, ow), add if x_nhwc else None, not x_nhwc)
            if not x_nhwc:
                dx = _plus(dx, add, x)
        if route is not None and _winograd_dw_ok(x.dtype, c, f, kh, kw, 1, 1, p["dh"], p["dw"], 1, padding):
            dw2, db = _grads_winograd(dy, x, f, p["pt"], p["pl"], padding, x_nhwc, dy_nhwc)
        else:
            _, dw2, db = _grads_rows(dy, x, w, p["dh"], p["dw"], p["pt"], p["pl"], padding, False, x_nhwc, dy_nhwc)
        return dx, dw2.reshape(w.shape), db
    if rows and rows_c and x_nhwc and dy_nhwc:
        # a strided convolution (ResNet's downsampling ones): both ways on the rows, no transpose
        dx, dw2, db = _grads_rows_strided(dy, x, w, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], padding,
                                          bool(need_dx), add)
        return dx, dw2.reshape(w.shape), db
    dx, dw2, db = conv_backward(nhwc_to_nchw(dy) if dy_nhwc else dy, nhwc_to_nchw(x) if x_nhwc else x, w, sh, sw, dh,
                                dw, pt, pb, pl, pr, groups, padding_value, need_dx)
    if dx is not None and x_nhwc:
        dx = nchw_to_nhwc(dx)
    return _plus(dx, add, x), dw2, db


# -- transposed convolution ---------------------------------------------------------------------
# A transposed convolution is the adjoint of a convolution whose input is the transposed
# convolution's output, padded by the cropping (negative cropping: the convolution reads fewer
# rows). Its forward is that convolution's dx and its backward that convolution's forward
# (for dx) and dW (with the roles of x and dy swapped), so both reuse the batch-split code.
def _tconv_geometry(x, w, p, name):
    g = p["groups"]
    _check_shapes(x, w, name, "C x F/G x FH x FW", lambda c, ws, g: c == ws[0] and c % g == 0, g)
    n, c, h, wd = x.shape
    cw, fg, kh, kw = w.shape
    hf, wf = (h - 1) * p["sh"] + (kh - 1) * p["dh"] + 1, (wd - 1) * p["sw"] + (kw - 1) * p["dw"] + 1
    oh, ow = hf - p["ct"] - p["cb"], wf - p["cl"] - p["cr"]
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: cropping leaves no output ({oh}x{ow}).")
    return n, c, h, wd, fg * g, fg, kh, kw, hf, wf, oh, ow


def transposed_conv_forward(x, w, b, sh, sw, dh, dw, ct, cb, cl, cr, groups=1):
    x, w, p, _, (n, c, h, wd, f, fg, kh, kw, hf, wf, oh, ow) = _checked(
        "transposed_conv_forward", x, w, _tconv_geometry, 0.0, sh=sh, sw=sw, dh=dh, dw=dw, ct=ct, cb=cb, cl=cl,
        cr=cr, groups=groups)
    y = _grads(x, None, w, (n, f, oh, ow), p["sh"], p["sw"], p["dh"], p["dw"], p["ct"], p["cl"], 0.0, p["groups"],
               True, False)[0]
    if b is not None:
        y += like(b, x, "b", (f,))[None, :, None, None]
    return y


def transposed_conv_backward(dy, x, w, sh, sw, dh, dw, ct, cb, cl, cr, groups=1):
    x, w, p, _, (n, c, h, wd, f, fg, kh, kw, hf, wf, oh, ow) = _checked(
        "transposed_conv_backward", x, w, _tconv_geometry, 0.0, sh=sh, sw=sw, dh=dh, dw=dw, ct=ct, cb=cb, cl=cl,
        cr=cr, groups=groups)
    dy = like(dy, x, "dy", (n, f, oh, ow))
    hp = (p["sh"], p["sw"], p["dh"], p["dw"], p["ct"], p["cl"], 0.0, p["groups"])
    dx = _forward(dy, w, None, *hp, h, wd)
    _, dw2, _ = _grads(x, dy, w, dy.shape, *hp, False, True)
    db = dy.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype)
    return dx, dw2.reshape(w.shape), db
