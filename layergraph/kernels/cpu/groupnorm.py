"""Group normalization (MATLAB groupNormalizationLayer and instanceNormalizationLayer,
Wolfram NormalizationLayer, ONNX GroupNormalization / InstanceNormalization).

x is N x C x ... (any number of trailing spatial axes S, possibly none). The C channels
split into G groups of C/G consecutive channels; each example's group is normalized over
its channels and positions, then scaled and offset per channel:

    y = scale[c] * (x - mean) / sqrt(var + epsilon) + offset[c]

    mean = sum(x) / n                          (n = C/G * S, the group's element count)
    var  = sum((x - mean)^2) / d               d = n, or n - 1 with unbiased=True
    rms=True: mean = 0, var = sum(x^2) / d     (Wolfram's Method -> "RMS")

G = C is instance normalization, G = 1 layer normalization over channels and positions.
Statistics accumulate in float64 whatever the data's dtype. Training and prediction
coincide (no running statistics).

    gn_forward(x, scale, offset, groups, epsilon, unbiased=False, rms=False) -> (y, mean, var)
        mean, var: N x G in x's dtype (mean is zero with rms=True)
    gn_backward(dy, x, scale, mean, var, groups, epsilon, unbiased=False, rms=False)
        -> (dx, dscale, doffset)          dscale, doffset: (C,)
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._util import as_float, like

_FM = {"reassoc", "contract"}  # lets the sums vectorize; changes results only by rounding

# Parallel over (example, group): a group's channels are consecutive, so its data is one
# contiguous block of the N x C x S array, read twice for the statistics and once more to
# write the output.
@njit(cache=True, parallel=True, fastmath=_FM)
def _gn_fwd(x, scale, offset, eps, ddof, rms, y, mean, var):
    n, g, cg, s = x.shape
    cnt = cg * s
    for p in prange(n * g):
        i = p // g
        j = p - i * g
        m = 0.0
        if not rms:
            acc = 0.0
            for k in range(cg):
                for t in range(s):
                    acc += x[i, j, k, t]
            m = acc / cnt
        acc2 = 0.0
        for k in range(cg):
            for t in range(s):
                d = x[i, j, k, t] - m
                acc2 += d * d
        v = acc2 / (cnt - ddof)
        mean[i, j] = m
        var[i, j] = v
        inv = 1.0 / math.sqrt(v + eps)
        for k in range(cg):
            a = scale[j, k] * inv
            b = offset[j, k] - a * m
            for t in range(s):
                y[i, j, k, t] = a * x[i, j, k, t] + b


# dx = inv * (dy*scale - [mean term] sum(dy*scale)/n - xhat * sum(dy*scale*xhat)/d): the
# derivative of the mean vanishes for rms=True, and d is the variance's divisor. The same
# pass leaves each (example, channel)'s sums of dy*xhat and dy for dscale and doffset.
@njit(cache=True, parallel=True, fastmath=_FM)
def _gn_bwd(dy, x, scale, mean, var, eps, ddof, rms, dx, ds_part, do_part):
    n, g, cg, s = x.shape
    cnt = cg * s
    for p in prange(n * g):
        i = p // g
        j = p - i * g
        m = float(mean[i, j])
        inv = 1.0 / math.sqrt(float(var[i, j]) + eps)
        sg = 0.0
        sgx = 0.0
        for k in range(cg):
            a = 0.0
            b = 0.0
            for t in range(s):
                d = dy[i, j, k, t]
                a += d * ((x[i, j, k, t] - m) * inv)
                b += d
            ds_part[i, j, k] = a
            do_part[i, j, k] = b
            sg += scale[j, k] * b
            sgx += scale[j, k] * a
        c1 = 0.0 if rms else sg / cnt
        c2 = sgx / (cnt - ddof)
        for k in range(cg):
            sc = scale[j, k]
            for t in range(s):
                xh = (x[i, j, k, t] - m) * inv
                dx[i, j, k, t] = inv * (dy[i, j, k, t] * sc - c1 - xh * c2)


def _prep(x, groups, unbiased, name):
    x = as_float(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected N x C (x spatial) data, got shape {x.shape}.")
    n, c = int(x.shape[0]), int(x.shape[1])
    g = int(groups)
    if g < 1 or c % g:
        raise ValueError(f"{name}: {c} channels cannot be split into {groups} groups of equal size.")
    s = int(np.prod(x.shape[2:], dtype=np.int64))
    if unbiased and (c // g) * s < 2:
        raise ValueError(f"{name}: the unbiased variance needs at least 2 elements per group; a group has "
                         f"{(c // g) * s}.")
    return x, x.reshape(n, g, c // g, s)


def _channel_param(v, x, name, g):
    c = x.shape[1]
    return like(v, x, name, (c,)).reshape(g, c // g)


def gn_forward(x, scale, offset, groups, epsilon, unbiased=False, rms=False):
    x, x4 = _prep(x, groups, unbiased, "gn_forward")
    g = x4.shape[1]
    s = _channel_param(scale, x, "scale", g)
    o = _channel_param(offset, x, "offset", g)
    y = np.empty_like(x)
    mean = np.empty((x4.shape[0], g), x.dtype)
    var = np.empty((x4.shape[0], g), x.dtype)
    if x.size:
        _gn_fwd(x4, s, o, float(epsilon), 1 if unbiased else 0, bool(rms), y.reshape(x4.shape), mean, var)
    return y, mean, var


def gn_backward(dy, x, scale, mean, var, groups, epsilon, unbiased=False, rms=False):
    x, x4 = _prep(x, groups, unbiased, "gn_backward")
    n, g, cg, _ = x4.shape
    dy4 = like(dy, x, "dy", x.shape).reshape(x4.shape)
    s = _channel_param(scale, x, "scale", g)
    mean2 = like(mean, x, "mean", (n, g))
    var2 = like(var, x, "var", (n, g))
    dx = np.empty_like(x)
    ds_part = np.zeros((n, g, cg))
    do_part = np.zeros((n, g, cg))
    if x.size:
        _gn_bwd(dy4, x4, s, mean2, var2, float(epsilon), 1 if unbiased else 0, bool(rms), dx.reshape(x4.shape),
                ds_part, do_part)
    dscale = ds_part.sum(axis=0).reshape(-1).astype(x.dtype)
    doffset = do_part.sum(axis=0).reshape(-1).astype(x.dtype)
    return dx, dscale, doffset


__all__ = ["gn_forward", "gn_backward"]
