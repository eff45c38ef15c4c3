"""Elementwise activations on the GPU: forward(x, *hp) -> y, backward(dy, x, y, *hp) -> dx.

Any shape; the output has the input's shape and dtype. Hyperparameters use MATLAB's names and
defaults: leakyReluLayer Scale 0.01, clippedReluLayer Ceiling (required), eluLayer Alpha 1,
geluLayer Approximation 'none' (exact, with erf) or 'tanh' (tanh_approx=True).
Backward functions that only need x accept y=None; tanh and sigmoid use y, and recompute it
from x when y is None.
"""
from __future__ import annotations

import numpy as np

from ._runtime import Args, flat, launch


def _launch(fname, kname, arrays, hps=()):
    """Run kernel ``kname`` on (label, array) pairs of one shape, scalars ``hps``; return out."""
    args = Args(*(a for _, a in arrays))
    dt = args.float_dtype(fname)
    devs = []
    shape = None
    for label, a in arrays:
        d = args.device(a, label, shape=shape)
        shape = tuple(d.shape) if shape is None else shape
        devs.append(d)
    total = int(np.prod(shape, dtype=np.int64))
    out = args.empty((max(total, 1),) if len(shape) == 0 else (total,))
    if total:
        from . import _act_kernels
        launch(_act_kernels.kernels(dt.name)[kname], total, *(flat(d) for d in devs), *(dt.type(h) for h in hps), out)
    return args.result(out, shape)


def relu_forward(x):
    return _launch("relu_forward", "relu_forward", [("x", x)])


def relu_backward(dy, x, y=None):
    return _launch("relu_backward", "relu_backward", [("dy", dy), ("x", x)])


def leakyrelu_forward(x, scale=0.01):
    return _launch("leakyrelu_forward", "leakyrelu_forward", [("x", x)], (scale,))


def leakyrelu_backward(dy, x, y=None, scale=0.01):
    return _launch("leakyrelu_backward", "leakyrelu_backward", [("dy", dy), ("x", x)], (scale,))


def clippedrelu_forward(x, ceiling):
    return _launch("clippedrelu_forward", "clippedrelu_forward", [("x", x)], (ceiling,))


def clippedrelu_backward(dy, x, y, ceiling):
    return _launch("clippedrelu_backward", "clippedrelu_backward", [("dy", dy), ("x", x)], (ceiling,))


def elu_forward(x, alpha=1.0):
    return _launch("elu_forward", "elu_forward", [("x", x)], (alpha,))


def elu_backward(dy, x, y=None, alpha=1.0):
    return _launch("elu_backward", "elu_backward", [("dy", dy), ("x", x)], (alpha,))


def tanh_forward(x):
    return _launch("tanh_forward", "tanh_forward", [("x", x)])


def tanh_backward(dy, x, y=None):
    if y is None:
        y = tanh_forward(x)
    return _launch("tanh_backward", "tanh_backward", [("dy", dy), ("y", y)])


def sigmoid_forward(x):
    return _launch("sigmoid_forward", "sigmoid_forward", [("x", x)])


def sigmoid_backward(dy, x, y=None):
    if y is None:
        y = sigmoid_forward(x)
    return _launch("sigmoid_backward", "sigmoid_backward", [("dy", dy), ("y", y)])


def swish_forward(x):
    return _launch("swish_forward", "swish_forward", [("x", x)])


def swish_backward(dy, x, y=None):
    return _launch("swish_backward", "swish_backward", [("dy", dy), ("x", x)])


def gelu_forward(x, tanh_approx=False):
    kname = "gelu_tanh_forward" if tanh_approx else "gelu_forward"
    return _launch("gelu_forward", kname, [("x", x)])


def gelu_backward(dy, x, y=None, tanh_approx=False):
    kname = "gelu_tanh_backward" if tanh_approx else "gelu_backward"
    return _launch("gelu_backward", kname, [("dy", dy), ("x", x)])
