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
      followed by ReLU in one pass each way (the executor's training fusion; 'cpu' only).
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

from ._util import as_float, like, out_empty, out_like
from .pool import _max_plane_arg, _out

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


@njit(cache=True, parallel=True, fastmath=_FM)
def _bn_train(x, scale, offset, eps, relu, y, mean, var):
    n, c, s = x.shape
    cnt = n * s
    z = x.dtype.type(0)
    for k in prange(c):
        a1 = 0.0
        for i in range(n):
            for j0 in range(0, s, _BLOCK):
                seg = x[i, k, j0:j0 + _BLOCK]
                r = z
                for j in range(seg.size):
                    r += seg[j]
                a1 += r
        m = a1 / cnt
        mt = x.dtype.type(m)
        a2 = 0.0
        for i in range(n):
            for j0 in range(0, s, _BLOCK):
                seg = x[i, k, j0:j0 + _BLOCK]
                r = z
                for j in range(seg.size):
                    d = seg[j] - mt
                    r += d * d
                a2 += r
        v = a2 / cnt
        mean[k] = m
        var[k] = v
        a = scale[k] / math.sqrt(v + eps)
        at = x.dtype.type(a)
        bt = x.dtype.type(offset[k] - m * a)
        if relu:  # a fused ReLU: the same test as relu_forward's (NaN -> 0)
            for i in range(n):
                row = x[i, k]
                out = y[i, k]
                for j in range(s):
                    v = row[j] * at + bt
                    out[j] = v if v > z else z
        else:
            for i in range(n):
                row = x[i, k]
                out = y[i, k]
                for j in range(s):
                    out[j] = row[j] * at + bt


@njit(cache=True, parallel=True, fastmath=_FM)
def _bn_infer(x, scale, offset, mean, var, eps, y):
    n, c, s = x.shape
    for p in prange(n * c):
        i = p // c
        k = p - i * c
        a = scale[k] / math.sqrt(var[k] + eps)
        at = x.dtype.type(a)
        bt = x.dtype.type(offset[k] - mean[k] * a)
        row = x[i, k]
        out = y[i, k]
        for j in range(s):
            out[j] = row[j] * at + bt


@njit(cache=True, nogil=True)
def _dx_coefficients(sdy, sdyx, scale, var, eps, mean, cnt):
    """One channel's backward constants from sum(dy) and sum(dy*(x - mean)): (dScale, dOffset,
    a, k2, k3) with dx = a*dy + k2*x + k3, the usual a*(dy - mean(dy) - xhat*mean(dy*xhat))
    expanded."""
    inv = 1.0 / math.sqrt(var + eps)
    a = scale * inv
    k2 = -a * inv * inv * sdyx / cnt
    return sdyx * inv, sdy, a, k2, -a * sdy / cnt - k2 * mean


@njit(cache=True, parallel=True, fastmath=_FM)
def _bn_back(dy, x, scale, mean, var, eps, masked, ym, dx, dscale, doffset):
    """With ``masked``, dy counts only where ym (a fused ReLU's output) is > 0: the ReLU's
    backward inside this pass. Otherwise ym is ignored."""
    n, c, s = x.shape
    cnt = n * s
    z = x.dtype.type(0)
    for k in prange(c):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy = 0.0
        sdyx = 0.0
        for i in range(n):
            for j0 in range(0, s, _BLOCK):
                g = dy[i, k, j0:j0 + _BLOCK]
                xr = x[i, k, j0:j0 + _BLOCK]
                r1 = z
                r2 = z
                if masked:
                    yr = ym[i, k, j0:j0 + _BLOCK]
                    for j in range(g.size):
                        gj = g[j] if yr[j] > z else z
                        r1 += gj
                        r2 += gj * (xr[j] - mt)
                else:
                    for j in range(g.size):
                        r1 += g[j]
                        r2 += g[j] * (xr[j] - mt)
                sdy += r1
                sdyx += r2
        dscale[k], doffset[k], a, k2, k3 = _dx_coefficients(sdy, sdyx, scale[k], var[k], eps, m, cnt)
        at = x.dtype.type(a)
        k2t = x.dtype.type(k2)
        k3t = x.dtype.type(k3)
        for i in range(n):
            g = dy[i, k]
            xr = x[i, k]
            o = dx[i, k]
            if masked:
                yr = ym[i, k]
                for j in range(s):
                    gj = g[j] if yr[j] > z else z
                    o[j] = at * gj + k2t * xr[j] + k3t
            else:
                for j in range(s):
                    o[j] = at * g[j] + k2t * xr[j] + k3t


# -- batch normalization + ReLU + max pooling, fused for training ----------------------------
# The ReLU's output is never stored: each (observation, channel) plane is normalized and
# rectified into a per-thread scratch plane and max-pooled from there (the pooling kernel's
# own code, so the same maxima and argmax). The backward reads the gradient at the pooled
# output and scatters it (masked where the pooled value, i.e. the ReLU's output at the
# argmax, is not > 0) inside the batch normalization's passes.
@njit(cache=True, nogil=True, fastmath=_FM)
def _channel_stats(x, k):
    """(mean, biased variance) of x[:, k, :] as _bn_train computes them."""
    n, c, s = x.shape
    z = x.dtype.type(0)
    a1 = 0.0
    for i in range(n):
        for j0 in range(0, s, _BLOCK):
            seg = x[i, k, j0:j0 + _BLOCK]
            r = z
            for j in range(seg.size):
                r += seg[j]
            a1 += r
    m = a1 / (n * s)
    mt = x.dtype.type(m)
    a2 = 0.0
    for i in range(n):
        for j0 in range(0, s, _BLOCK):
            seg = x[i, k, j0:j0 + _BLOCK]
            r = z
            for j in range(seg.size):
                d = seg[j] - mt
                r += d * d
            a2 += r
    return m, a2 / (n * s)


@njit(cache=True, parallel=True, fastmath=_FM)
def _bn_train_relu_pool(x, scale, offset, eps, h, w, ph, pw, sh, sw, pt, pl, y, arg, mean, var):
    """x N x C x S (S = h*w); y, arg N x C x OH x OW."""
    n, c, s = x.shape
    z = x.dtype.type(0)
    for k in prange(c):
        m, v = _channel_stats(x, k)
        mean[k] = m
        var[k] = v
        a = scale[k] / math.sqrt(v + eps)
        at = x.dtype.type(a)
        bt = x.dtype.type(offset[k] - m * a)
        plane = np.empty(s, x.dtype)
        plane2 = plane.reshape((h, w))
        for i in range(n):
            row = x[i, k]
            for j in range(s):
                t = row[j] * at + bt
                plane[j] = t if t > z else z
            _max_plane_arg(plane2, ph, pw, sh, sw, pt, pl, y[i, k], arg[i, k])


@njit(cache=True, parallel=True, fastmath=_FM)
def _bn_back_relu_pool(dyp, yp, arg, x, scale, mean, var, eps, dx, dscale, doffset):
    """dyp, yp, arg N x C x P (the pooled output's gradient, value, argmax); x, dx N x C x S."""
    n, c, s = x.shape
    p = dyp.shape[2]
    cnt = n * s
    z = x.dtype.type(0)
    for k in prange(c):
        m = mean[k]
        mt = x.dtype.type(m)
        sdy = 0.0
        sdyx = 0.0
        for i in range(n):
            g = dyp[i, k]
            yr = yp[i, k]
            ar = arg[i, k]
            xr = x[i, k]
            r1 = z
            r2 = z
            for j in range(p):
                q = ar[j]
                if q >= 0 and yr[j] > z:
                    r1 += g[j]
                    r2 += g[j] * (xr[q] - mt)
            sdy += r1
            sdyx += r2
        dscale[k], doffset[k], a, k2, k3 = _dx_coefficients(sdy, sdyx, scale[k], var[k], eps, m, cnt)
        at = x.dtype.type(a)
        k2t = x.dtype.type(k2)
        k3t = x.dtype.type(k3)
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


def _bn_args(x, name, *vecs):
    x = as_float(x)
    x3 = _ncs(x, name)
    c = x3.shape[1]
    return x, x3, [like(v, x, nm, (c,)) for nm, v in vecs]


def bn_forward_train(x, scale, offset, epsilon, relu=False, pool=None):
    """Normalize with the batch statistics. Returns (y, mean, var); var is biased.
    ``relu=True`` returns max(y, 0) instead, in the same pass (the executor's training fusion
    of a following ReLU; ReLU's NaN rule). ``pool=(ph, pw, sh, sw, pt, pb, pl, pr)`` (with
    relu=True, x N x C x H x W) also max-pools that, as maxpool_forward_train, and returns
    (pooled y, mean, var, argmax); the ReLU's output is not kept."""
    x, x3, (scale, offset) = _bn_args(x, "bn_forward_train", ("scale", scale), ("offset", offset))
    if x3.shape[0] * x3.shape[2] == 0:
        raise ValueError(f"bn_forward_train: batch statistics need at least one element per channel, "
                         f"got shape {x.shape}.")
    if pool is not None:
        if not relu or x.ndim != 4:
            raise ValueError("bn_forward_train: pool needs relu=True and N x C x H x W data.")
        n, c, h, w = x.shape
        ph, pw, sh, sw, pt, pb, pl, pr = (int(v) for v in pool)
        oh, ow = _out(h, w, ph, pw, sh, sw, pt, pb, pl, pr, "bn_forward_train")
        y = out_empty((n, c, oh, ow), x.dtype)
        arg = out_empty((n, c, oh, ow), np.int64)
        mean = np.empty(c, x.dtype)
        var = np.empty(c, x.dtype)
        _bn_train_relu_pool(x3, scale, offset, float(epsilon), h, w, ph, pw, sh, sw, pt, pl, y, arg, mean, var)
        return y, mean, var, arg
    y = out_like(x)
    mean = np.empty(x3.shape[1], x.dtype)
    var = np.empty(x3.shape[1], x.dtype)
    _bn_train(x3, scale, offset, float(epsilon), bool(relu), y.reshape(x3.shape), mean, var)
    return y, mean, var


def bn_forward_infer(x, scale, offset, mean, var, epsilon):
    """Normalize with given statistics (MATLAB TrainedMean / TrainedVariance)."""
    x, x3, (scale, offset, mean, var) = _bn_args(x, "bn_forward_infer", ("scale", scale), ("offset", offset),
                                                 ("mean", mean), ("var", var))
    y = out_like(x)
    if x.size:
        _bn_infer(x3, scale, offset, mean, var, float(epsilon), y.reshape(x3.shape))
    return y


def bn_backward(dy, x, scale, mean, var, epsilon, relu_out=None, pool_out=None):
    """Gradients of bn_forward_train: (dx, dscale, doffset). ``relu_out``: the output of
    bn_forward_train(..., relu=True); dy is then the gradient at the fused ReLU's output and
    counts only where relu_out > 0 (the ReLU's backward, applied in the same pass).
    ``pool_out=(y, argmax)`` from bn_forward_train(..., relu=True, pool=...): dy is the
    gradient at the pooled output, scattered to the argmax where y > 0."""
    x, x3, (scale, mean, var) = _bn_args(x, "bn_backward", ("scale", scale), ("mean", mean), ("var", var))
    if pool_out is not None:
        yp, arg = pool_out
        n, c = x3.shape[:2]
        yp = like(yp, x, "pooled y")
        dy = like(dy, x, "dy", yp.shape)
        arg = np.ascontiguousarray(arg, dtype=np.int64)
        if yp.ndim != 4 or yp.shape[:2] != (n, c) or arg.shape != yp.shape:
            raise ValueError(f"bn_backward: pooled y {yp.shape} and argmax {arg.shape} do not fit x {x.shape}.")
        dx = out_like(x)
        dscale = np.empty(c, x.dtype)
        doffset = np.empty(c, x.dtype)
        _bn_back_relu_pool(dy.reshape(n, c, -1), yp.reshape(n, c, -1), arg.reshape(n, c, -1), x3, scale, mean,
                           var, float(epsilon), dx.reshape(x3.shape), dscale, doffset)
        return dx, dscale, doffset
    dy = like(dy, x, "dy", x.shape)
    ym = dy if relu_out is None else like(relu_out, x, "relu_out", x.shape)
    dx = out_like(x)
    c = x3.shape[1]
    dscale = np.empty(c, x.dtype)
    doffset = np.empty(c, x.dtype)
    _bn_back(dy.reshape(x3.shape), x3, scale, mean, var, float(epsilon), relu_out is not None, ym.reshape(x3.shape),
             dx.reshape(x3.shape), dscale, doffset)
    return dx, dscale, doffset


# -- layer normalization ---------------------------------------------------------------
@njit(cache=True, parallel=True)
def _ln_stats(x, chan_only, mean, var):
    n, c, s = x.shape
    g = mean.shape[1]
    for p in prange(n * g):
        i = p // g
        j0 = p - i * g
        js = j0 if chan_only else 0
        je = j0 + 1 if chan_only else s
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
        i = p // g
        j0 = p - i * g
        js = j0 if chan_only else 0
        je = j0 + 1 if chan_only else s
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
