"""Fully connected layer, softmax and addition on the GPU (MATLAB fullyConnectedLayer,
softmaxLayer, additionLayer; Wolfram LinearLayer, SoftmaxLayer, TotalLayer): the CPU set's
signatures and results.

  fc_forward(x, w, b) -> y (N x Out)        x N x In, or N x C x H x W read row-major (C, H, W)
  fc_backward(dy, x, w, need_dx=True) -> (dx (shape of x), dw (Out x In), db (Out,)); dx None without need_dx
  softmax_forward(x) -> y                   over the channel axis 1 of N x C (x H x W)
  softmax_backward(dy, x, y) -> dx          dx = y * (dy - sum_c(dy * y))
  addition_forward(inputs) -> y             the sum of same-shape arrays, in the given order
  addition_backward(dy, k) -> (dx1, ..., dxk)  independent copies of dy
"""
from __future__ import annotations

import numpy as np

from . import _runtime
from ._runtime import Args, flat, launch


def _kernels(args, name):
    from . import _dense_kernels
    return _dense_kernels.kernels(args.float_dtype(name).name)


def _dot_rows(k, a, a_strides, b, b_strides, K, M, P, bias, out):
    """out[m * P + p] = sum_k a[m * a_sm + k * a_sk] * b[p * b_sp + k * b_sk] (+ bias[p])."""
    if M * P == 0:
        return
    limit = min(_runtime.REDUCE_THREADS, _runtime.SMEM_SIZE)
    threads = min(limit, max(32, _runtime.next_pow2(-(-K // _runtime.REDUCE_ITEMS))))
    blocks = max(1, min(M * P, _runtime.MAX_BLOCKS))
    has_bias = bias is not None
    k["dot_rows"][blocks, threads](a, *a_strides, b, *b_strides, K, M, P, bias if has_bias else out,
                                   has_bias, out)


def _fc_args(name, args, x, w):
    xd = args.device(x, "x")
    if len(xd.shape) < 2:
        raise ValueError(f"{name}: expected N x In data, got shape {tuple(xd.shape)}.")
    n = int(xd.shape[0])
    fan_in = int(np.prod(xd.shape[1:], dtype=np.int64))
    wd = args.device(w, "w")
    if len(wd.shape) != 2 or int(wd.shape[1]) != fan_in:
        raise ValueError(f"{name}: weights {tuple(wd.shape)} do not fit input size {fan_in} (expected Out x In).")
    return xd, wd, n, fan_in, int(wd.shape[0])


def fc_forward(x, w, b):
    name = "fc_forward"
    args = Args(x, w, b)
    k = _kernels(args, name)
    xd, wd, n, fan_in, out = _fc_args(name, args, x, w)
    bd = None if b is None else args.device(b, "b", shape=(out,))
    y = args.empty((n * out,))
    _dot_rows(k, flat(xd), (fan_in, 1), flat(wd), (fan_in, 1), fan_in, n, out, bd, y)
    return args.result(y, (n, out))


def fc_backward(dy, x, w, need_dx=True):
    name = "fc_backward"
    args = Args(dy, x, w)
    k = _kernels(args, name)
    xd, wd, n, fan_in, out = _fc_args(name, args, x, w)
    dyd = flat(args.device(dy, "dy", shape=(n, out)))
    dx = None
    if need_dx:
        dx = args.empty((n * fan_in,))
        _dot_rows(k, dyd, (out, 1), flat(wd), (1, fan_in), out, n, fan_in, None, dx)   # dy w
    dw = args.empty((out * fan_in,))
    _dot_rows(k, dyd, (1, out), flat(xd), (1, fan_in), n, out, fan_in, None, dw)       # dy^T x
    ones = args.empty((max(n, 1),))
    launch(k["fill"], n, ones, args.dtype.type(1))
    db = args.empty((out,))
    _dot_rows(k, ones, (0, 1), dyd, (1, out), n, 1, out, None, db)                     # 1^T dy
    dxr = None if dx is None else args.result(dx, tuple(xd.shape))
    return dxr, args.result(dw, (out, fan_in)), args.result(db)


def _ncs(name, shape):
    if len(shape) < 2:
        raise ValueError(f"{name}: expected N x C (x H x W) data, got shape {tuple(shape)}.")
    return int(shape[1]), int(np.prod(shape[2:], dtype=np.int64))


def softmax_forward(x):
    name = "softmax_forward"
    args = Args(x)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    c, s = _ncs(name, xd.shape)
    y = args.empty((xd.size,))
    if xd.size:
        launch(k["softmax_forward"], xd.size // c, flat(xd), c, s, y)
    return args.result(y, tuple(xd.shape))


def softmax_backward(dy, x, y):
    name = "softmax_backward"
    args = Args(y, dy)
    k = _kernels(args, name)
    yd = args.device(y, "y")
    c, s = _ncs(name, yd.shape)
    dyd = args.device(dy, "dy", shape=tuple(yd.shape))
    dx = args.empty((yd.size,))
    if yd.size:
        launch(k["softmax_backward"], yd.size // c, flat(dyd), flat(yd), c, s, dx)
    return args.result(dx, tuple(yd.shape))


def addition_forward(inputs):
    name = "addition_forward"
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f"{name}: needs at least one input.")
    args = Args(*inputs)
    k = _kernels(args, name)
    first = args.device(inputs[0], "input 1")
    shape = tuple(first.shape)
    total = int(np.prod(shape, dtype=np.int64))
    y = args.empty((max(total, 1),) if len(shape) == 0 else (total,))  # a 0-d result: 1 element
    if len(inputs) == 1:
        launch(k["copy"], total, flat(first), y)
    for i, a in enumerate(inputs[1:], start=2):
        try:
            d = args.device(a, f"input {i}", shape=shape)
        except ValueError:
            raise ValueError(f"{name}: input {i} has shape {tuple(np.shape(a))}, input 1 has {shape}.") from None
        launch(k["add"], total, flat(first) if i == 2 else y, flat(d), y)
    return args.result(y, shape)


def addition_backward(dy, k):
    name = "addition_backward"
    args = Args(dy)
    kern = _kernels(args, name)
    dyd = args.device(dy, "dy")
    shape = tuple(dyd.shape)
    total = int(np.prod(shape, dtype=np.int64))
    outs = []
    for _ in range(int(k)):
        dx = args.empty((max(total, 1),) if len(shape) == 0 else (total,))
        launch(kern["copy"], total, flat(dyd), dx)
        outs.append(args.result(dx, shape))
    return tuple(outs)
