"""Batch normalization and layer normalization (MATLAB batchNormalizationLayer,
layerNormalizationLayer; Wolfram BatchNormalizationLayer).

Batch normalization, x N x C x H x W or N x C; scale, offset, mean, var are (C,):
  bn_forward_train(x, scale, offset, epsilon) -> (y, mean, var)
      per-channel batch mean and BIASED variance over N, H, W (MATLAB normalizes with
      the biased one); the running-average update (MeanDecay / Momentum) is the caller's.
  bn_forward_infer(x, scale, offset, mean, var, epsilon) -> y
      y = scale * (x - mean) / sqrt(var + epsilon) + offset
  bn_backward(dy, x, scale, mean, var, epsilon) -> (dx, dscale, doffset)
      mean and var are the batch statistics that bn_forward_train returned.
  bn_forward_train(..., relu=True) and bn_backward(..., relu_out=y): batch normalization
      followed by ReLU in one pass each way (the executor's training fusion; 'cpu' only);
      with ceiling=c (both calls) a clipped ReLU, min(max(y, 0), c) (ReLU6: c = 6).
  bn_forward_train(..., relu=True, pool=(ph, pw, sh, sw, pt, pb, pl, pr)) -> (y, mean, var, argmax)
  and bn_backward(dy, ..., pool_out=(y, argmax)): batch normalization, ReLU and max pooling.

Layer normalization, x N x C x ... (any trailing dims S). Statistics per observation over
C and S (MATLAB OperationDimension 'auto' / 'spatial-channel' / 'batch-excluded'), or
with channel_only=True per observation and position over C only ('channel-only').
scale and offset are (C,) (MATLAB) or the full per-observation shape C x ... (ONNX
LayerNormalization with axis=1); mean and var are (N,) or, channel-only, (N, *S).
  ln_forward_train(x, scale, offset, epsilon, channel_only=False) -> (y, mean, var)
  ln_forward_infer(x, scale, offset, epsilon, channel_only=False) -> y
  ln_backward(dy, x, scale, mean, var, epsilon, channel_only=False) -> (dx, dscale, doffset)
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._parallel import parallel_range
from ._rows import block_sums, row_group
from ._util import as_float, like, out_empty, out_like, relu_ceiling, relu_mask_top
from .pool import _max_plane_arg, _prep, is_2x2

_FM = {"reassoc", "contract"}  # lets sums vectorize; changes results only by rounding


def _ncs(a, name):
    if a.ndim < 2:
        raise ValueError(f"{name}: expected N x C (x H x W) data, got shape {a.shape}.")
    return a.reshape(int(a.shape[0]), int(a.shape[1]), -1)


# -- batch normalization -------------------------------------------------------------
# Per channel: sums run over row blocks of at most _BLOCK elements in the data's own dtype
# (full-width SIMD), and the block sums add up in float64, so float32 data keeps about
# float32 accuracy however many elements a channel has. Parallel over channels: each
# channel's data (N*H*W elements) stays in the core's L2 between the passes.
_BLOCK = 1024


@njit(inline="always")
def _channel_sum(x, k, mt, squares):
    """The sum over channel k of x, or with squares of (x - mt)^2: each row block summed in x's
    dtype, the block sums in float64."""
    n, c, s = x.shape
    z = x.dtype.type(0)
    acc = 0.0
    for i in range(n):
        for j0 in range(0, s, _BLOCK):
            seg = x[i, k, j0:j0 + _BLOCK]
            r = z
            if squares:
                for j in range(seg.size):
                    d = seg[j] - mt
                    r += d * d
            else:
                for j in range(seg.size):
                    r += seg[j]
            acc += r
    return acc


@njit(cache=True, nogil=True, fastmath=_FM)
def _channel_stats(x, k):
    """(mean, biased variance) of x[:, k, :], two passes."""
    cnt = x.shape[0] * x.shape[2]
    m = _channel_sum(x, k, x.dtype.type(0), False) / cnt
    return m, _channel_sum(x, k, x.dtype.type(m), True) / cnt


@njit(inline="always")
def _affine(x, scale, offset, mean, var, eps):
    """(a, b) in x's dtype with scale * (x - mean) / sqrt(var + eps) + offset = a * x + b."""
    a = scale / math.sqrt(var + eps)
    return x.dtype.type(a), x.dtype.type(offset - mean * a)


@njit(inline="always")
def _affine_row(src, a, b, relu, hi, dst):
    """dst = a * src + b, or max(that, 0) when relu (ReLU's test: NaN -> 0), then min(., hi)
    (a clipped ReLU's ceiling; inf for ReLU). Inlined, so a constant relu leaves one
    branch-free loop."""
    z = src.dtype.type(0)
    if relu:
        for j in range(src.size):
            t = src[j] * a + b
            t = t if t > z else z
            dst[j] = t if t < hi else hi
    else:
        for j in range(src.size):
            dst[j] = src[j] * a + b


@njit(inline="always")
def _batch_affine(x, k, scale, offset, eps, mean, var):
    """Channel k's batch statistics, stored in mean[k] and var[k], and _affine's (a, b) with them."""
    m, v = _channel_stats(x, k)
    mean[k] = m
    var[k] = v
    return _affine(x, scale[k], offset[k], m, v, eps)


# The batch-normalization kernels run channels k0:k1 (parallel_range splits the channels over
# threads): serial loops compile in about a third of a prange kernel's time.
@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_train(k0, k1, x, scale, offset, eps, relu, hi, y, mean, var):
    n, c, s = x.shape
    for k in range(k0, k1):
        at, bt = _batch_affine(x, k, scale, offset, eps, mean, var)
        for i in range(n):  # relu: a fused ReLU (clipped at hi)
            _affine_row(x[i, k], at, bt, relu, hi, y[i, k])


@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_infer(p0, p1, x, scale, offset, mean, var, eps, y):
    n, c, s = x.shape
    for p in range(p0, p1):
        i = p // c
        k = p - i * c
        at, bt = _affine(x, scale[k], offset[k], mean[k], var[k], eps)
        _affine_row(x[i, k], at, bt, False, at, y[i, k])


# Not inlined: its arithmetic must not take the callers' fastmath flags (reassociation).
@njit(cache=True, nogil=True)
def _dx_coefficients(x, sdy, sdyx, scale, var, eps, mean, cnt):
    """One channel's backward constants from sum(dy) and sum(dy*(x - mean)): (dScale, dOffset,
    a, k2, k3), the last three in x's dtype, with dx = a*dy + k2*x + k3, the usual
    a*(dy - mean(dy) - xhat*mean(dy*xhat)) expanded."""
    inv = 1.0 / math.sqrt(var + eps)
    a = scale * inv
    k2 = -a * inv * inv * sdyx / cnt
    t = x.dtype.type
    return sdyx * inv, sdy, t(a), t(k2), t(-a * sdy / cnt - k2 * mean)


# -- batch normalization + ReLU + max pooling, fused for training ----------------------------
# The ReLU's output is never stored: each (observation, channel) plane is normalized and
# rectified into a per-thread scratch plane and max-pooled from there (the pooling kernel's
# own code, so the same maxima and argmax). The backward reads the gradient at the pooled
# output and scatters it (masked where the pooled value, i.e. the ReLU's output at the
# argmax, is not > 0) inside the batch normalization's passes.
@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_train_relu_pool(k0, k1, x, scale, offset, eps, h, w, ph, pw, sh, sw, pt, pl, y, arg, mean, var):
    """x N x C x S (S = h*w); y, arg N x C x OH x OW."""
    n, c, s = x.shape
    for k in range(k0, k1):
        at, bt = _batch_affine(x, k, scale, offset, eps, mean, var)
        plane = np.empty(s, x.dtype)
        plane2 = plane.reshape((h, w))
        for i in range(n):
            _affine_row(x[i, k], at, bt, True, x.dtype.type(np.inf), plane)
            _max_plane_arg(plane2, ph, pw, sh, sw, pt, pl, y[i, k], arg[i, k])


@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_train_relu_pool2(k0, k1, x, scale, offset, eps, w, y, arg, mean, var):
    """_bn_train_relu_pool for the 2 x 2 stride-2 pooling without padding (the common one), each
    pooled value read straight from x (no scratch plane): the same maxima and argmax (the first
    maximum in scan order) as _max_plane_arg's 2 x 2 loop on the rectified plane. x N x C x S
    (S = h*w); y, arg N x C x OH x OW. A kernel of its own, so a first run compiles neither
    _max_plane_arg's general loops nor a scratch allocation (about 2 s of the seed CNN's 2.2)."""
    n, c, s = x.shape
    oh, ow = y.shape[2], y.shape[3]
    z = x.dtype.type(0)
    for k in range(k0, k1):
        at, bt = _batch_affine(x, k, scale, offset, eps, mean, var)
        for i in range(n):
            src = x[i, k]
            for r in range(oh):
                orow = y[i, k, r]
                arow = arg[i, k, r]
                b0 = 2 * r * w
                b1 = b0 + w
                for j in range(ow):
                    q = b0 + 2 * j
                    t = src[q] * at + bt
                    m = t if t > z else z
                    a = q
                    t = src[q + 1] * at + bt
                    v = t if t > z else z
                    u = v > m
                    m = v if u else m
                    a = q + 1 if u else a
                    q = b1 + 2 * j
                    t = src[q] * at + bt
                    v = t if t > z else z
                    u = v > m
                    m = v if u else m
                    a = q if u else a
                    t = src[q + 1] * at + bt
                    v = t if t > z else z
                    u = v > m
                    m = v if u else m
                    a = q + 1 if u else a
                    orow[j] = m
                    arow[j] = a


# The backward: per channel, sums of dy and dy*(x - mean), then dx = a*dy + k2*x + k3. How dy
# is read is the varying part: as it is (_bn_back_plain), where a fused ReLU's output is > 0
# (_bn_back_masked), or at a fused max pooling's output, scattered to its argmax where the pooled
# value is > 0 (_bn_back_pooled).


# How the backward reads dy: as it is, where a fused ReLU's output yr > 0 (masked), or where
# 0 < yr <= top (a clipped ReLU's, top the largest value below its ceiling). One function per
# reading for the sums and the apply (_dy_readers; a clipped ReLU's written out), not one with
# constant flags: numba inlines an inline="always" function after it has pruned the caller's
# constant branches, so every loop of a flagged function was compiled in every kernel
# (_bn_back_masked 0.8 -> 0.6 s at a cold start).
@njit(inline="always")
def _dy_plain(g, yr, j, z, top):
    return g[j]


@njit(inline="always")
def _dy_masked(g, yr, j, z, top):
    return g[j] if yr[j] > z else z


def _dy_readers(read):
    """(_sums, _apply) for one reading of dy (``read``, one of the _dy_* above)."""
    @njit(inline="always")
    def row_sums(g, xr, mt, top, yr):
        """(sum g, sum g*(xr - mt)) in the data's dtype, g read by ``read``."""
        z = xr.dtype.type(0)
        r1 = z
        r2 = z
        for j in range(g.size):
            gj = read(g, yr, j, z, top)
            r1 += gj
            r2 += gj * (xr[j] - mt)
        return r1, r2

    @njit(inline="always")
    def sums(dy, x, k, mt, top, ym):
        """(sum dy, sum dy*(x - mean)) over channel k: row sums in x's dtype (in blocks, as
        _channel_stats sums), added up in float64."""
        n, c, s = x.shape
        sdy = 0.0
        sdyx = 0.0
        for i in range(n):
            for j0 in range(0, s, _BLOCK):
                e = j0 + _BLOCK
                r1, r2 = row_sums(dy[i, k, j0:e], x[i, k, j0:e], mt, top, ym[i, k, j0:e])
                sdy += r1
                sdyx += r2
        return sdy, sdyx

    @njit(inline="always")
    def apply(dy, x, k, at, k2t, k3t, top, ym, dx):
        """dx[:, k] = at*dy + k2t*x + k3t."""
        n, c, s = x.shape
        z = x.dtype.type(0)
        for i in range(n):
            g = dy[i, k]
            xr = x[i, k]
            o = dx[i, k]
            yr = ym[i, k]
            for j in range(s):
                o[j] = at * read(g, yr, j, z, top) + k2t * xr[j] + k3t

    return sums, apply


_sums_plain, _apply_plain = _dy_readers(_dy_plain)
_sums_masked, _apply_masked = _dy_readers(_dy_masked)


# A clipped ReLU's reading written out: through a reader its two tests summed to other last bits.
@njit(inline="always")
def _sums_clipped(dy, x, k, mt, top, ym):
    """_dy_readers' sums, dy counting where 0 < ym <= top."""
    n, c, s = x.shape
    z = x.dtype.type(0)
    sdy = 0.0
    sdyx = 0.0
    for i in range(n):
        for j0 in range(0, s, _BLOCK):
            e = j0 + _BLOCK
            g = dy[i, k, j0:e]
            xr = x[i, k, j0:e]
            yr = ym[i, k, j0:e]
            r1 = z
            r2 = z
            for j in range(g.size):
                gj = g[j] if (yr[j] > z and yr[j] <= top) else z
                r1 += gj
                r2 += gj * (xr[j] - mt)
            sdy += r1
            sdyx += r2
    return sdy, sdyx


@njit(inline="always")
def _apply_clipped(dy, x, k, at, k2t, k3t, top, ym, dx):
    """_dy_readers' apply, dy counting where 0 < ym <= top."""
    n, c, s = x.shape
    z = x.dtype.type(0)
    for i in range(n):
        g = dy[i, k]
        xr = x[i, k]
        o = dx[i, k]
        yr = ym[i, k]
        for j in range(s):
            gj = g[j] if (yr[j] > z and yr[j] <= top) else z
            o[j] = at * gj + k2t * xr[j] + k3t


@njit(inline="always")
def _scatter_sums(g, yr, ar, xr, mt):
    """The row sums of _dy_readers for a pooled gradient row g read at its argmax ar, where the pooled value yr > 0."""
    z = xr.dtype.type(0)
    r1 = z
    r2 = z
    for j in range(g.size):
        q = ar[j]
        if q >= 0 and yr[j] > z:
            r1 += g[j]
            r2 += g[j] * (xr[q] - mt)
    return r1, r2


@njit(inline="always")
def _pooled_sums(dy, x, k, mt, ym, arg):
    """_dy_readers' sums with dy read as _scatter_sums reads it."""
    n = x.shape[0]
    sdy = 0.0
    sdyx = 0.0
    for i in range(n):
        r1, r2 = _scatter_sums(dy[i, k], ym[i, k], arg[i, k], x[i, k], mt)
        sdy += r1
        sdyx += r2
    return sdy, sdyx


@njit(inline="always")
def _pooled_apply(dyp, yp, arg, x, k, at, k2t, k3t, dx):
    """_dy_readers' apply with dy read as _scatter_sums reads it."""
    n, c, s = x.shape
    p = dyp.shape[2]
    z = x.dtype.type(0)
    for i in range(n):
        xr = x[i, k]
        o = dx[i, k]
        for j in range(s):
            o[j] = k2t * xr[j] + k3t
        g = dyp[i, k]
        yr = yp[i, k]
        ar = arg[i, k]
        for j in range(p):
            q = ar[j]
            if q >= 0 and yr[j] > z:
                o[q] += at * g[j]


# Three kernels, one per way of reading dy, rather than one with a mode argument: a first run
# compiles only those its network uses (the seed CNN: the masked and the pooled ones), each in
# about a third of the time of the one with every mode, and the compile helper process
# (train/compiling.py) and the run can each take some of them.
@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_back_plain(k0, k1, dy, x, scale, mean, var, eps, dx, dscale, doffset):
    """x, dy, dx N x C x S."""
    n, c, s = x.shape
    for k in range(k0, k1):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy, sdyx = _sums_plain(dy, x, k, mt, mt, dy)
        dscale[k], doffset[k], at, k2t, k3t = _dx_coefficients(x, sdy, sdyx, scale[k], var[k], eps, m, n * s)
        _apply_plain(dy, x, k, at, k2t, k3t, mt, dy, dx)


@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_back_masked(k0, k1, dy, x, scale, mean, var, eps, ym, top, dx, dscale, doffset):
    """x, dy, dx N x C x S; ym, the fused ReLU's output: dy counts where ym > 0 (top unused)."""
    n, c, s = x.shape
    for k in range(k0, k1):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy, sdyx = _sums_masked(dy, x, k, mt, top, ym)
        dscale[k], doffset[k], at, k2t, k3t = _dx_coefficients(x, sdy, sdyx, scale[k], var[k], eps, m, n * s)
        _apply_masked(dy, x, k, at, k2t, k3t, top, ym, dx)


# A clipped ReLU's (ReLU6) its own kernel: a network of plain ReLUs (the seed CNN) compiles only
# the ReLU's loops (0.2 s less at a cold start; one loop with both tests for both ran 5-15 % slower)
@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_back_clipped(k0, k1, dy, x, scale, mean, var, eps, ym, top, dx, dscale, doffset):
    """x, dy, dx N x C x S; ym, the fused clipped ReLU's output: dy counts where 0 < ym <= top."""
    n, c, s = x.shape
    for k in range(k0, k1):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy, sdyx = _sums_clipped(dy, x, k, mt, top, ym)
        dscale[k], doffset[k], at, k2t, k3t = _dx_coefficients(x, sdy, sdyx, scale[k], var[k], eps, m, n * s)
        _apply_clipped(dy, x, k, at, k2t, k3t, top, ym, dx)


@njit(cache=True, nogil=True, fastmath=_FM)
def _bn_back_pooled(k0, k1, dy, x, scale, mean, var, eps, ym, arg, dx, dscale, doffset):
    """x, dx N x C x S; dy, ym and arg N x C x P: the pooled output's gradient, value and argmax."""
    n, c, s = x.shape
    for k in range(k0, k1):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy, sdyx = _pooled_sums(dy, x, k, mt, ym, arg)
        dscale[k], doffset[k], at, k2t, k3t = _dx_coefficients(x, sdy, sdyx, scale[k], var[k], eps, m, n * s)
        _pooled_apply(dy, ym, arg, x, k, at, k2t, k3t, dx)


# -- batch normalization on pixel-major data (rows of C values) ---------------------------------
# The executor's pixel-major training plan (core/executor.py) keeps activations N x H x W x C
# between convolutions: the data are then M = N*H*W rows of C. Each block of _PM_ROWS rows is
# summed in the data's dtype, L rows at a time (_rows.block_sums), each block's sums stored in
# float64, and the blocks' sums combined in block order in one compiled call
# (_pm_forward_coefficients, _pm_backward_coefficients): the same numbers whatever the thread
# count (parallel_range splits the blocks).
# Measured against the channel-major kernels (one thread, batch 32, ResNet-20's stages): the
# extra pass over memory that rows of C cost (a channel-major plane stays in L2 between the
# passes) is less than the transposes the pixel-major plan saves (docs/performance.md).
_PM_ROWS = 256


@njit(cache=True, nogil=True, fastmath=_FM)
def _pm_stat_blocks(b0, b1, x2, L, out):
    """Blocks b0:b1 of _PM_ROWS rows of x2 (M x C): out[b, 0] = the block's sum of x and out[b, 1]
    = its sum of (x - the block's mean)^2, the second pass over the block while it is in L1 (so
    the statistics read x from memory once); L rows at a time (_rows.block_sums)."""
    m, c = x2.shape
    xf = x2.reshape(-1)
    acc = np.empty(L * c, x2.dtype)
    mw = np.empty(L * c, x2.dtype)
    s = np.empty(c, x2.dtype)
    for b in range(b0, b1):
        r0 = b * _PM_ROWS
        r1 = min(m, r0 + _PM_ROWS)
        s[:] = 0
        block_sums(xf, c, L, r0, r1, mw, False, acc, s)
        inv = x2.dtype.type(1.0 / (r1 - r0))
        for k in range(c):
            out[b, 0, k] = s[k]
            for q in range(L):
                mw[q * c + k] = s[k] * inv
        s[:] = 0
        block_sums(xf, c, L, r0, r1, mw, True, acc, s)
        for k in range(c):
            out[b, 1, k] = s[k]


@njit(inline="always")
def _pm_grad_span(sg, sy, sx, mtw, n, masked, top, a1, a2):
    """a1[:n] += dy and a2[:n] += dy*(x - mt) over one span of n values (masked: dy counts where
    0 < y <= top)."""
    z = sx.dtype.type(0)
    if masked:
        for j in range(n):
            g = sg[j] if (sy[j] > z and sy[j] <= top) else z
            a1[j] += g
            a2[j] += g * (sx[j] - mtw[j])
    else:
        for j in range(n):
            a1[j] += sg[j]
            a2[j] += sg[j] * (sx[j] - mtw[j])


@njit(cache=True, nogil=True, fastmath=_FM)
def _pm_grad_blocks(b0, b1, x2, mtw, dy2, ym, masked, top, L, out):
    """The backward's sums over blocks b0:b1 of _PM_ROWS rows: out[b, 0] = sum dy and out[b, 1]
    = sum dy*(x - mt), dy counting where 0 < ym <= top when masked (a fused ReLU's output ym,
    else dy itself); mtw is mt repeated L times, the loops as _pm_stat_blocks's."""
    m, c = x2.shape
    w = L * c
    z = x2.dtype.type(0)
    xf = x2.reshape(-1)
    gf = dy2.reshape(-1)
    yf = ym.reshape(-1)
    a1 = np.empty(w, x2.dtype)
    a2 = np.empty(w, x2.dtype)
    for b in range(b0, b1):
        r0 = b * _PM_ROWS
        r1 = min(m, r0 + _PM_ROWS)
        rl = r0 + (r1 - r0) // L * L
        a1[:] = z
        a2[:] = z
        for r in range(r0, rl, L):
            o = r * c
            _pm_grad_span(gf[o:o + w], yf[o:o + w], xf[o:o + w], mtw, w, masked, top, a1, a2)
        for r in range(rl, r1):
            o = r * c
            _pm_grad_span(gf[o:o + c], yf[o:o + c], xf[o:o + c], mtw, c, masked, top, a1, a2)
        for k in range(c):
            t1 = z
            t2 = z
            for q in range(L):
                t1 += a1[q * c + k]
                t2 += a2[q * c + k]
            out[b, 0, k] = t1
            out[b, 1, k] = t2


@njit(inline="always")
def _pm_affine_span(sx, aw, bw, n, relu, hi, so):
    z = sx.dtype.type(0)
    if relu:
        for j in range(n):
            t = sx[j] * aw[j] + bw[j]
            t = t if t > z else z
            so[j] = t if t < hi else hi
    else:
        for j in range(n):
            so[j] = sx[j] * aw[j] + bw[j]


@njit(cache=True, nogil=True, fastmath=_FM)
def _pm_affine(r0, r1, x2, aw, bw, relu, hi, L, y2):
    """Rows r0:r1: y2 = aw*x2 + bw, with relu min(max(., 0), hi); aw, bw per channel repeated L
    times (the loops run over L rows at once)."""
    c = x2.shape[1]
    w = L * c
    xf = x2.reshape(-1)
    yf = y2.reshape(-1)
    rl = r0 + (r1 - r0) // L * L
    for r in range(r0, rl, L):
        o = r * c
        _pm_affine_span(xf[o:o + w], aw, bw, w, relu, hi, yf[o:o + w])
    for r in range(rl, r1):
        o = r * c
        _pm_affine_span(xf[o:o + c], aw, bw, c, relu, hi, yf[o:o + c])


@njit(inline="always")
def _pm_affine_res_span(sx, aw, bw, sr, n, relu, hi, so):
    z = sx.dtype.type(0)
    if relu:
        for j in range(n):
            t = sx[j] * aw[j] + bw[j]
            t = t + sr[j]
            t = t if t > z else z
            so[j] = t if t < hi else hi
    else:
        for j in range(n):
            t = sx[j] * aw[j] + bw[j]
            so[j] = t + sr[j]


@njit(cache=True, nogil=True, fastmath={"contract"})
def _pm_affine_res(r0, r1, x2, aw, bw, res2, relu, hi, L, y2):
    """Rows r0:r1: y2 = (aw*x2 + bw) + res2, with relu min(max(., 0), hi): _pm_affine and then a
    residual block's addition (and its ReLU) in one pass, the same operations in the same order
    (no reassociation: the BN's value, then the addition's, as the two kernels compute them)."""
    c = x2.shape[1]
    w = L * c
    xf = x2.reshape(-1)
    rf = res2.reshape(-1)
    yf = y2.reshape(-1)
    rl = r0 + (r1 - r0) // L * L
    for r in range(r0, rl, L):
        o = r * c
        _pm_affine_res_span(xf[o:o + w], aw, bw, rf[o:o + w], w, relu, hi, yf[o:o + w])
    for r in range(rl, r1):
        o = r * c
        _pm_affine_res_span(xf[o:o + c], aw, bw, rf[o:o + c], c, relu, hi, yf[o:o + c])


@njit(inline="always")
def _pm_dx_span(sg, sy, sx, aw, k2w, k3w, n, masked, top, so):
    z = sx.dtype.type(0)
    if masked:
        for j in range(n):
            g = sg[j] if (sy[j] > z and sy[j] <= top) else z
            so[j] = aw[j] * g + k2w[j] * sx[j] + k3w[j]
    else:
        for j in range(n):
            so[j] = aw[j] * sg[j] + k2w[j] * sx[j] + k3w[j]


@njit(cache=True, nogil=True, fastmath=_FM)
def _pm_dx(r0, r1, x2, aw, k2w, k3w, dy2, ym, masked, top, L, dx2):
    """Rows r0:r1 of the backward: dx = a*dy + k2*x + k3, dy counting where 0 < ym <= top when
    masked (else ym is dy); the coefficients per channel repeated L times."""
    c = x2.shape[1]
    w = L * c
    xf = x2.reshape(-1)
    gf = dy2.reshape(-1)
    yf = ym.reshape(-1)
    of = dx2.reshape(-1)
    rl = r0 + (r1 - r0) // L * L
    for r in range(r0, rl, L):
        o = r * c
        _pm_dx_span(gf[o:o + w], yf[o:o + w], xf[o:o + w], aw, k2w, k3w, w, masked, top, of[o:o + w])
    for r in range(rl, r1):
        o = r * c
        _pm_dx_span(gf[o:o + c], yf[o:o + c], xf[o:o + c], aw, k2w, k3w, c, masked, top, of[o:o + c])


@njit(cache=True, nogil=True)
def _pm_forward_coefficients(out, m, scale, offset, eps, L, aw, bw, mean, var):
    """From _pm_stat_blocks's block sums (out, nb x 2 x C, float64): each channel's mean and
    biased variance (mean, var: float64), the blocks combined in block order as Chan et al.'s
    parallel algorithm does, M2 = sum M2_b + sum n_b (mean_b - mean)^2 (every term a square: no
    cancellation); and _affine's (a, b) per channel in x's dtype, repeated L times (aw, bw)."""
    nb, _, c = out.shape
    for k in range(c):
        s = 0.0
        for b in range(nb):
            s += out[b, 0, k]
        mk = s / m
        m2 = 0.0
        for b in range(nb):
            nbk = min(_PM_ROWS, m - b * _PM_ROWS)
            d = out[b, 0, k] / nbk - mk
            m2 += out[b, 1, k] + nbk * d * d
        mean[k] = mk
        var[k] = m2 / m
        a = scale[k] / math.sqrt(var[k] + eps)
        for q in range(L):
            aw[q * c + k] = a
            bw[q * c + k] = offset[k] - mk * a


@njit(cache=True, nogil=True)
def _pm_backward_coefficients(out, m, scale, mean, var, eps, L, aw, k2w, k3w, dscale, doffset):
    """From _pm_grad_blocks's block sums (out, nb x 2 x C, float64; added in block order):
    _dx_coefficients's dScale, dOffset and (a, k2, k3) per channel, the last three in x's dtype
    repeated L times."""
    nb, _, c = out.shape
    for k in range(c):
        sdy = 0.0
        sdyx = 0.0
        for b in range(nb):
            sdy += out[b, 0, k]
            sdyx += out[b, 1, k]
        inv = 1.0 / math.sqrt(var[k] + eps)
        a = scale[k] * inv
        k2 = -a * inv * inv * sdyx / m
        k3 = -a * sdy / m - k2 * mean[k]
        dscale[k] = sdyx * inv
        doffset[k] = sdy
        for q in range(L):
            aw[q * c + k] = a
            k2w[q * c + k] = k2
            k3w[q * c + k] = k3


def _rows_of(x, name):
    """A pixel-major array (N x ... x C) as its M x C rows."""
    if x.ndim < 2:
        raise ValueError(f"{name}: expected pixel-major N x H x W x C data, got shape {x.shape}.")
    x = np.ascontiguousarray(x)
    return x, x.reshape(-1, x.shape[-1])


def _bn_train_nhwc(x, scale, offset, epsilon, relu, ceiling, residual=None):
    x, x2 = _rows_of(x, "bn_forward_train")
    m, c = x2.shape
    scale, offset = like(scale, x, "scale", (c,)), like(offset, x, "offset", (c,))
    if m == 0:
        raise ValueError(f"bn_forward_train: batch statistics need at least one element per channel, "
                         f"got shape {x.shape}.")
    L = row_group(c)
    nb = -(-m // _PM_ROWS)
    out = np.empty((nb, 2, c), np.float64)
    parallel_range(_pm_stat_blocks, nb, x2, L, out, size=x2.size)
    aw, bw = np.empty(L * c, x.dtype), np.empty(L * c, x.dtype)
    mean, var = np.empty(c), np.empty(c)
    _pm_forward_coefficients(out, m, scale, offset, float(epsilon), L, aw, bw, mean, var)
    y = out_like(x)
    if residual is not None:
        r2 = like(residual, x, "residual", x.shape).reshape(x2.shape)
        parallel_range(_pm_affine_res, m, x2, aw, bw, r2, bool(relu), x.dtype.type(ceiling), L, y.reshape(x2.shape),
                       size=x.size)
    else:
        parallel_range(_pm_affine, m, x2, aw, bw, bool(relu), x.dtype.type(ceiling), L, y.reshape(x2.shape),
                       size=x.size)
    return y, mean.astype(x.dtype), var.astype(x.dtype)


def _bn_backward_nhwc(dy, x, scale, mean, var, epsilon, relu_out, ceiling):
    x, x2 = _rows_of(x, "bn_backward")
    m, c = x2.shape
    scale, mean, var = (like(v, x, nm, (c,)) for nm, v in (("scale", scale), ("mean", mean), ("var", var)))
    dy2 = like(dy, x, "dy", x.shape).reshape(x2.shape)
    masked = relu_out is not None
    t = x.dtype
    top = relu_mask_top("bn_backward", ceiling, t)
    ym = like(relu_out, x, "relu_out", x.shape).reshape(x2.shape) if masked else dy2   # unread unless masked
    L = row_group(c)
    nb = -(-m // _PM_ROWS)
    out = np.empty((nb, 2, c), np.float64)
    parallel_range(_pm_grad_blocks, nb, x2, np.tile(mean, L), dy2, ym, masked, top, L, out, size=x.size)
    aw, k2w, k3w = (np.empty(L * c, t) for _ in range(3))
    dscale, doffset = np.empty(c, t), np.empty(c, t)
    _pm_backward_coefficients(out, m, scale, mean, var, float(epsilon), L, aw, k2w, k3w, dscale, doffset)
    dx = out_like(x)
    parallel_range(_pm_dx, m, x2, aw, k2w, k3w, dy2, ym, masked, top, L, dx.reshape(x2.shape), size=x.size)
    return dx, dscale, doffset


def _bn_args(x, name, *vecs):
    x = as_float(x)
    x3 = _ncs(x, name)
    c = x3.shape[1]
    return x, x3, [like(v, x, nm, (c,)) for nm, v in vecs]


def _per_channel(x, k):
    """k new (C,) arrays of x's dtype (statistics, parameter gradients)."""
    return [np.empty(x.shape[1], x.dtype) for _ in range(k)]


def bn_forward_train(x, scale, offset, epsilon, relu=False, pool=None, ceiling=np.inf, x_layout="nchw",
                     residual=None):
    """Normalize with the batch statistics. Returns (y, mean, var); var is biased.
    ``relu=True`` returns max(y, 0) instead, in the same pass (the executor's training fusion
    of a following ReLU; ReLU's NaN rule), clipped at ``ceiling`` (a clipped ReLU's, > 0; not
    with ``pool``). ``pool=(ph, pw, sh, sw, pt, pb, pl, pr)`` (with
    relu=True, x N x C x H x W) also max-pools that, as maxpool_forward_train, and returns
    (pooled y, mean, var, argmax); the ReLU's output is not kept. ``x_layout='nhwc'``: x (and y)
    pixel-major, N x H x W x C (any N x ... x C: channels last; not with ``pool``), the
    statistics over its rows of C values (the executor's pixel-major training plan). ``residual``
    (pixel-major only, x's shape): y + residual before the ReLU, a residual block's addition in the
    same pass (the same numbers as adding afterwards)."""
    if x_layout not in ("nchw", "nhwc"):
        raise ValueError(f"bn_forward_train: x_layout must be 'nchw' or 'nhwc', got {x_layout!r}.")
    if residual is not None and (x_layout != "nhwc" or pool is not None):
        raise ValueError("bn_forward_train: a fused residual takes pixel-major data (x_layout 'nhwc'), no pooling.")
    if x_layout == "nhwc":
        if pool is not None:
            raise ValueError("bn_forward_train: a fused pooling takes channel-major data (x_layout 'nchw').")
        return _bn_train_nhwc(as_float(x), scale, offset, float(epsilon), relu,
                              relu_ceiling("bn_forward_train", ceiling) if relu else np.inf, residual)
    x, x3, (scale, offset) = _bn_args(x, "bn_forward_train", ("scale", scale), ("offset", offset))
    if x3.shape[0] * x3.shape[2] == 0:
        raise ValueError(f"bn_forward_train: batch statistics need at least one element per channel, "
                         f"got shape {x.shape}.")
    ceiling = relu_ceiling("bn_forward_train", ceiling)
    if pool is not None:
        if not relu or x.ndim != 4:
            raise ValueError("bn_forward_train: pool needs relu=True and N x C x H x W data.")
        if ceiling < np.inf:
            raise ValueError(f"bn_forward_train: a fused pooling takes a plain ReLU only, got ceiling {ceiling}.")
        _, y, (ph, pw, sh, sw, pt, pb, pl, pr) = _prep(x, "bn_forward_train", pool)
        arg = out_empty(y.shape, np.int64)
        h, w = x.shape[2:]
        mean, var = _per_channel(x, 2)
        if is_2x2(ph, pw, sh, sw, pt, pl, h, w, y.shape[2], y.shape[3]):
            parallel_range(_bn_train_relu_pool2, x3.shape[1], x3, scale, offset, float(epsilon), w, y, arg, mean, var,
                           size=x.size)
        else:
            parallel_range(_bn_train_relu_pool, x3.shape[1], x3, scale, offset, float(epsilon), h, w, ph, pw, sh, sw,
                           pt, pl, y, arg, mean, var, size=x.size)
        return y, mean, var, arg
    y = out_like(x)
    mean, var = _per_channel(x, 2)
    parallel_range(_bn_train, x3.shape[1], x3, scale, offset, float(epsilon), bool(relu),
                   x.dtype.type(ceiling), y.reshape(x3.shape), mean,
                   var, size=x.size)
    return y, mean, var


def bn_forward_infer(x, scale, offset, mean, var, epsilon):
    """Normalize with given statistics (MATLAB TrainedMean / TrainedVariance)."""
    x, x3, (scale, offset, mean, var) = _bn_args(x, "bn_forward_infer", ("scale", scale), ("offset", offset),
                                                 ("mean", mean), ("var", var))
    y = out_like(x)
    if x.size:
        parallel_range(_bn_infer, x3.shape[0] * x3.shape[1], x3, scale, offset, mean, var, float(epsilon),
                       y.reshape(x3.shape), size=x.size)
    return y


def bn_backward(dy, x, scale, mean, var, epsilon, relu_out=None, pool_out=None, ceiling=np.inf,
                x_layout="nchw"):
    """Gradients of bn_forward_train: (dx, dscale, doffset). ``relu_out``: the output of
    bn_forward_train(..., relu=True); dy is then the gradient at the fused ReLU's output and
    counts only where relu_out > 0 (the ReLU's backward, applied in the same pass), and with
    the forward's ``ceiling`` only where relu_out < ceiling too (the clipped ReLU's).
    ``pool_out=(y, argmax)`` from bn_forward_train(..., relu=True, pool=...): dy is the
    gradient at the pooled output, scattered to the argmax where y > 0. ``x_layout='nhwc'``:
    x, dy, relu_out and dx pixel-major (bn_forward_train's; not with ``pool_out``)."""
    if x_layout not in ("nchw", "nhwc"):
        raise ValueError(f"bn_backward: x_layout must be 'nchw' or 'nhwc', got {x_layout!r}.")
    if x_layout == "nhwc":
        if pool_out is not None:
            raise ValueError("bn_backward: a fused pooling takes channel-major data (x_layout 'nchw').")
        return _bn_backward_nhwc(dy, as_float(x), scale, mean, var, float(epsilon), relu_out, ceiling)
    x, x3, (scale, mean, var) = _bn_args(x, "bn_backward", ("scale", scale), ("mean", mean), ("var", var))
    n, c = x3.shape[:2]
    if pool_out is not None:
        yp, arg = pool_out
        yp = like(yp, x, "pooled y")
        dy = like(dy, x, "dy", yp.shape)
        arg = np.ascontiguousarray(arg, dtype=np.int64)
        if yp.ndim != 4 or yp.shape[:2] != (n, c) or arg.shape != yp.shape:
            raise ValueError(f"bn_backward: pooled y {yp.shape} and argmax {arg.shape} do not fit x {x.shape}.")
        kernel, extra = _bn_back_pooled, (yp.reshape(n, c, -1), arg.reshape(n, c, -1))
    else:
        dy = like(dy, x, "dy", x.shape)
        if relu_out is None:
            kernel, extra = _bn_back_plain, ()
        else:
            top = relu_mask_top("bn_backward", ceiling, x.dtype)
            kernel = _bn_back_masked if top == np.inf else _bn_back_clipped
            extra = (like(relu_out, x, "relu_out", x.shape).reshape(x3.shape), top)
    dx = out_like(x)
    dscale, doffset = _per_channel(x, 2)
    parallel_range(kernel, c, dy.reshape(n, c, -1), x3, scale, mean, var, float(epsilon), *extra, dx.reshape(x3.shape),
                   dscale, doffset, size=x.size)
    return dx, dscale, doffset


# -- layer normalization ---------------------------------------------------------------
@njit(inline="always")
def _ln_group(p, g, s, chan_only):
    """Statistics group p of n * g: (observation i, group j0, positions js:je); a group is one
    observation's C x S, or channel-only its C values at one position."""
    i = p // g
    j0 = p - i * g
    if chan_only:
        return i, j0, j0, j0 + 1
    return i, j0, 0, s


@njit(cache=True, parallel=True)
def _ln_stats(x, chan_only, mean, var):
    n, c, s = x.shape
    g = mean.shape[1]
    for p in prange(n * g):
        i, j0, js, je = _ln_group(p, g, s, chan_only)
        cnt = c * (je - js)
        acc = 0.0
        for k in range(c):
            for j in range(js, je):
                acc += x[i, k, j]
        m = acc / cnt
        acc2 = 0.0
        for k in range(c):
            for j in range(js, je):
                d = x[i, k, j] - m
                acc2 += d * d
        mean[i, j0] = m
        var[i, j0] = acc2 / cnt


@njit(cache=True, parallel=True)
def _ln_apply(x, scale, offset, chan_only, mean, invstd, y):
    n, c, s = x.shape
    for p in prange(n * c):
        i = p // c
        k = p - i * c
        for j in range(s):
            jj = j if chan_only else 0
            y[i, k, j] = (x[i, k, j] - mean[i, jj]) * invstd[i, jj] * scale[k, j] + offset[k, j]


@njit(cache=True, parallel=True)
def _ln_back_x(dy, x, scale, chan_only, mean, invstd, dx):
    n, c, s = x.shape
    g = mean.shape[1]
    for p in prange(n * g):
        i, j0, js, je = _ln_group(p, g, s, chan_only)
        cnt = c * (je - js)
        m = mean[i, j0]
        inv = invstd[i, j0]
        sg = 0.0
        sgx = 0.0
        for k in range(c):
            for j in range(js, je):
                gg = dy[i, k, j] * scale[k, j]
                sg += gg
                sgx += gg * (x[i, k, j] - m) * inv
        for k in range(c):
            for j in range(js, je):
                xh = (x[i, k, j] - m) * inv
                dx[i, k, j] = inv * (dy[i, k, j] * scale[k, j] - sg / cnt - xh * sgx / cnt)


@njit(cache=True, parallel=True)
def _ln_back_p(dy, x, chan_only, mean, invstd, dscale, doffset):
    n, c, s = x.shape
    for k in prange(c):
        for j in range(s):
            jj = j if chan_only else 0
            a = 0.0
            b = 0.0
            for i in range(n):
                g = dy[i, k, j]
                a += g * (x[i, k, j] - mean[i, jj]) * invstd[i, jj]
                b += g
            dscale[k, j] = a
            doffset[k, j] = b


def _ln_param(v, x3, name):
    """(C,) or full C x ... parameter -> C x S array; returns (array, given shape)."""
    c, s = x3.shape[1], x3.shape[2]
    a = like(v, x3, name)
    if a.size == c * s and a.ndim > 1:
        return a.reshape(c, s), a.shape
    if a.size == c:
        return np.ascontiguousarray(np.broadcast_to(a.reshape(c, 1), (c, s))), (c,)
    raise ValueError(f"layer normalization: {name} must have C = {c} elements or the "
                     f"per-observation size {c * s}, got shape {a.shape}.")


def _ln_prep(x, scale, offset, channel_only, name):
    x = as_float(x)
    x3 = _ncs(x, name)
    s3, shape = _ln_param(scale, x3, "scale")
    o3 = _ln_param(offset, x3, "offset")[0] if offset is not None else None
    g = x3.shape[2] if channel_only else 1
    return x, x3, s3, o3, shape, g


def _stat_shape(x, channel_only):
    return (x.shape[0],) + tuple(x.shape[2:]) if channel_only else (x.shape[0],)


def ln_forward_train(x, scale, offset, epsilon, channel_only=False):
    x, x3, s3, o3, _, g = _ln_prep(x, scale, offset, channel_only, "ln_forward_train")
    mean = np.empty((x3.shape[0], g), x.dtype)
    var = np.empty((x3.shape[0], g), x.dtype)
    y = np.empty_like(x)
    if x.size:
        _ln_stats(x3, bool(channel_only), mean, var)
        _ln_apply(x3, s3, o3, bool(channel_only), mean, _invstd(var, epsilon), y.reshape(x3.shape))
    shape = _stat_shape(x, channel_only)
    return y, mean.reshape(shape), var.reshape(shape)


def _invstd(var, epsilon):
    return (1.0 / np.sqrt(var.astype(np.float64) + float(epsilon))).astype(var.dtype)


def ln_forward_infer(x, scale, offset, epsilon, channel_only=False):
    return ln_forward_train(x, scale, offset, epsilon, channel_only)[0]


def ln_backward(dy, x, scale, mean, var, epsilon, channel_only=False):
    x, x3, s3, _, shape, g = _ln_prep(x, scale, None, channel_only, "ln_backward")
    dy = like(dy, x, "dy", x.shape)
    n = x3.shape[0]
    mean2 = like(mean, x, "mean", (n, g))
    invstd = _invstd(like(var, x, "var", (n, g)), epsilon)
    dx = np.empty_like(x)
    dscale = np.empty(x3.shape[1:], x.dtype)
    doffset = np.empty(x3.shape[1:], x.dtype)
    dy3 = dy.reshape(x3.shape)
    if x.size:
        _ln_back_x(dy3, x3, s3, bool(channel_only), mean2, invstd, dx.reshape(x3.shape))
        _ln_back_p(dy3, x3, bool(channel_only), mean2, invstd, dscale, doffset)
    if shape == (x3.shape[1],):
        return dx, dscale.sum(axis=1), doffset.sum(axis=1)
    return dx, dscale.reshape(shape), doffset.reshape(shape)
