"""Batch normalization on the GPU (MATLAB batchNormalizationLayer, Wolfram BatchNormalizationLayer).

x is N x C x H x W or N x C; scale, offset, mean and var are (C,). Statistics are over N, H, W
with the biased variance (divide by the count), as MATLAB and Wolfram normalize with it.
The running-average update (MeanDecay / Momentum) is the caller's job, not the kernel's.
"""
from __future__ import annotations

import numpy as np

from . import _runtime
from ._runtime import Args, flat, launch


def _dims(x, name):
    if len(x.shape) not in (2, 4):
        raise ValueError(f"{name}: expected N x C or N x C x H x W data, got shape {tuple(x.shape)}.")
    n, c = int(x.shape[0]), int(x.shape[1])
    s = int(np.prod(x.shape[2:], dtype=np.int64)) if len(x.shape) == 4 else 1
    return n, c, s


def _kernels(args, name):
    from . import _bn_kernels
    return _bn_kernels.kernels(args.float_dtype(name).name)


def _channel_stats(args, k, xf, n, c, s):
    m = n * s
    partials, threads = _runtime.reduce_config(m)
    chunk = -(-m // partials)
    pmean = args.empty((c, partials))
    pm2 = args.empty((c, partials))
    k["stats_partial"][(c, partials), threads](xf, n, c, s, chunk, pmean, pm2)
    mean = args.empty((c,))
    var = args.empty((c,))
    k["stats_combine"][c, partials](pmean, pm2, chunk, m, mean, var)
    return mean, var


def bn_forward_train(x, scale, offset, epsilon):
    """Normalize with the batch statistics. Returns (y, mean, var); var is biased."""
    name = "bn_forward_train"
    args = Args(x, scale, offset)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    n, c, s = _dims(xd, name)
    sd = args.device(scale, "scale", shape=(c,))
    od = args.device(offset, "offset", shape=(c,))
    if n * c * s == 0:
        raise ValueError(f"{name}: batch statistics need at least one element per channel, "
                         f"got shape {tuple(xd.shape)}.")
    xf = flat(xd)
    mean, var = _channel_stats(args, k, xf, n, c, s)
    y = args.empty((n * c * s,))
    launch(k["normalize"], n * c * s, xf, n, c, s, sd, od, mean, var, args.dtype.type(epsilon), y)
    return args.result(y, xd.shape), args.result(mean), args.result(var)


def bn_forward_infer(x, scale, offset, mean, var, epsilon):
    """Normalize with given statistics (MATLAB TrainedMean / TrainedVariance)."""
    name = "bn_forward_infer"
    args = Args(x, scale, offset, mean, var)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    n, c, s = _dims(xd, name)
    sd = args.device(scale, "scale", shape=(c,))
    od = args.device(offset, "offset", shape=(c,))
    md = args.device(mean, "mean", shape=(c,))
    vd = args.device(var, "var", shape=(c,))
    total = n * c * s
    y = args.empty((total,))
    launch(k["normalize"], total, flat(xd), n, c, s, sd, od, md, vd, args.dtype.type(epsilon), y)
    return args.result(y, xd.shape)


def bn_backward(dy, x, scale, mean, var, epsilon):
    """Gradients through normalization with batch statistics. Returns (dx, dscale, doffset).

    With xhat = (x - mean) / sqrt(var + epsilon) and m = N*H*W:
    doffset = sum(dy), dscale = sum(dy * xhat),
    dx = scale / sqrt(var + epsilon) * (dy - (doffset + xhat * dscale) / m).
    """
    name = "bn_backward"
    args = Args(dy, x, scale, mean, var)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    n, c, s = _dims(xd, name)
    dyd = args.device(dy, "dy", shape=tuple(xd.shape))
    sd = args.device(scale, "scale", shape=(c,))
    md = args.device(mean, "mean", shape=(c,))
    vd = args.device(var, "var", shape=(c,))
    m = n * s
    if m * c == 0:
        raise ValueError(f"{name}: batch statistics need at least one element per channel, "
                         f"got shape {tuple(xd.shape)}.")
    eps = args.dtype.type(epsilon)
    dyf, xf = flat(dyd), flat(xd)
    partials, threads = _runtime.reduce_config(m)
    chunk = -(-m // partials)
    p1 = args.empty((c, partials))
    p2 = args.empty((c, partials))
    k["grad_partial"][(c, partials), threads](dyf, xf, n, c, s, chunk, md, p1, p2)
    doffset = args.empty((c,))
    dscale = args.empty((c,))
    k["grad_combine"][c, partials](p1, p2, vd, eps, doffset, dscale)
    dx = args.empty((n * c * s,))
    launch(k["grad_input"], n * c * s, dyf, xf, n, c, s, sd, md, vd, eps, doffset, dscale, dx)
    return args.result(dx, xd.shape), args.result(dscale), args.result(doffset)
