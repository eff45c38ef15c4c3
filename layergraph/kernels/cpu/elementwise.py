"""Elementwise functions by name, or a Python callable, and functions threaded over
several equally sized inputs (Wolfram's ElementwiseLayer[f] and ThreadingLayer[f]
for the functions that the activation kernels do not cover; the names that they do cover,
such as "Tanh", run on those kernels).

    elementwise_forward(x, fn) -> y;          elementwise_backward(dy, x, y, fn) -> dx
    threading_forward(inputs, fn) -> y;       threading_backward(dy, inputs, fn) -> tuple of dx

``fn`` is a name from ``UNARY`` / ``BINARY`` or a callable. Threading inputs of the same
rank broadcast along axes of size 1 (NumPy's rule; Wolfram's ThreadingLayer[f, Automatic]);
their gradients are summed over the replicated axes. These are numpy ufunc
expressions: each is one vectorized pass per operation, with nothing to compile. A
callable is applied to the whole array (falling back to ``np.vectorize`` when it only
takes scalars); its derivative is a central difference in float64, elementwise, since
an elementwise function's Jacobian is diagonal.
"""
from __future__ import annotations

import math

import numpy as np

from ._util import as_float

_SELU_SCALE = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772  # 1.0507... * 1.6732... = 1.758099340847161 (Wolfram's constant)


def _sig(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


# Wolfram names whose function an activation's kernels compute, at its default hyperparameters
# (each registry row's Wolfram symbol or first name: Ramp, Tanh, LogisticSigmoid, ELU, Swish,
# GELU) -> (forward, backward). Filled by the package (kernels/cpu/__init__.py) from the registry:
# their math is kernels/activation_math.py, not a second copy here.
_KERNELS: dict = {}


def use_activation(name: str, forward, backward) -> None:
    _KERNELS[name] = (forward, backward)
    UNARY[name] = (forward, lambda x, y: backward(np.ones_like(x), x, y))


def drop_activation(name: str) -> None:
    _KERNELS.pop(name, None)
    UNARY.pop(name, None)


# name -> (f(x), df(x, y)); both take and give arrays of x's dtype
UNARY = {
    "SELU": (lambda x: _SELU_SCALE * np.where(x >= 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x, y: _SELU_SCALE * np.where(x >= 0, 1, _SELU_ALPHA * np.exp(np.minimum(x, 0)))),
    "HardSwish": (lambda x: x * np.clip((x + 3) / 6, 0, 1),
                  lambda x, y: np.where(x <= -3, 0, np.where(x >= 3, 1, (2 * x + 3) / 6))),
    "Mish": (lambda x: x * np.tanh(_softplus(x)),
             lambda x, y: np.tanh(_softplus(x)) + x * _sig(x) * (1 - np.tanh(_softplus(x)) ** 2)),
    "SoftSign": (lambda x: x / (1 + np.abs(x)), lambda x, y: 1 / (1 + np.abs(x)) ** 2),
    "SoftPlus": (_softplus, lambda x, y: _sig(x)),
    "HardTanh": (lambda x: np.clip(x, -1, 1), lambda x, y: ((x > -1) & (x < 1)).astype(x.dtype)),
    "HardSigmoid": (lambda x: np.clip((x + 1) / 2, 0, 1), lambda x, y: np.where((x > -1) & (x < 1), 0.5, 0)),
    "Exp": (np.exp, lambda x, y: y),
    "Log": (np.log, lambda x, y: 1 / x),
    "Sqrt": (np.sqrt, lambda x, y: 0.5 / y),
    "Square": (np.square, lambda x, y: 2 * x),
    "Abs": (np.abs, lambda x, y: np.sign(x)),
    "Sin": (np.sin, lambda x, y: np.cos(x)),
    "Cos": (np.cos, lambda x, y: -np.sin(x)),
    "ArcTan": (np.arctan, lambda x, y: 1 / (1 + x * x)),
    "Erf": (_erf, lambda x, y: 2 / math.sqrt(math.pi) * np.exp(-x * x)),
}

# name -> (f(a, b), (df/da, df/db)); folded left over more than two inputs
BINARY = {
    "Plus": (np.add, (lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b))),
    "Subtract": (np.subtract, (lambda a, b: np.ones_like(a), lambda a, b: -np.ones_like(b))),
    "Times": (np.multiply, (lambda a, b: b, lambda a, b: a)),
    "Divide": (np.divide, (lambda a, b: 1 / b, lambda a, b: -a / (b * b))),
    "Max": (np.maximum, (lambda a, b: (a >= b).astype(a.dtype), lambda a, b: (a < b).astype(a.dtype))),
    "Min": (np.minimum, (lambda a, b: (a <= b).astype(a.dtype), lambda a, b: (a > b).astype(a.dtype))),
    "Power": (np.power, (lambda a, b: b * np.power(a, b - 1), lambda a, b: np.power(a, b) * np.log(a))),
}


def _call(fn, *arrays):
    """A user's function on whole arrays; element by element if it only takes scalars."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    try:
        out = np.asarray(fn(*arrays), dtype=np.float64)
        if out.shape == shape:
            return out
    except Exception:  # noqa: BLE001 -- a scalar-only function: try it element by element
        pass
    return np.vectorize(fn, otypes=[float])(*arrays)


def _fd_step(x):
    return np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(x))


def elementwise_forward(x, fn):
    x = as_float(x)
    if callable(fn):
        return _call(fn, x.astype(np.float64)).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.ascontiguousarray(UNARY[fn][0](x), dtype=x.dtype)


def elementwise_backward(dy, x, y, fn):
    x = as_float(x)
    if callable(fn):
        x64 = x.astype(np.float64)
        h = _fd_step(x64)
        d = (_call(fn, x64 + h) - _call(fn, x64 - h)) / (2 * h)
        return (np.asarray(dy, dtype=np.float64) * d).astype(x.dtype)
    if fn in _KERNELS:
        return _KERNELS[fn][1](dy, x, y)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d = UNARY[fn][1](x, np.asarray(y, dtype=x.dtype))
    return np.ascontiguousarray(np.asarray(dy) * d, dtype=x.dtype)


def _unbroadcast(g, shape):
    """Sum a gradient over the axes along which an input of ``shape`` was replicated."""
    if g.shape == tuple(shape):
        return g
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def threading_forward(inputs, fn):
    xs = [as_float(x) for x in inputs]
    if callable(fn):
        return _call(fn, *[x.astype(np.float64) for x in xs]).astype(xs[0].dtype)
    f = BINARY[fn][0]
    y = xs[0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for x in xs[1:]:
            y = f(y, x)
    return np.ascontiguousarray(y, dtype=xs[0].dtype)


def threading_backward(dy, inputs, fn):
    xs = [as_float(x) for x in inputs]
    dtype = xs[0].dtype
    dy = np.asarray(dy, dtype=np.float64)
    if callable(fn):
        x64 = [x.astype(np.float64) for x in xs]
        out = []
        for i, x in enumerate(x64):
            h = _fd_step(x)
            plus, minus = list(x64), list(x64)
            plus[i], minus[i] = x + h, x - h
            # x + h perturbs every copy of a replicated element at once: the difference is
            # d f / d x_i at each position; summing over the copies gives the gradient
            d = dy * (_call(fn, *plus) - _call(fn, *minus)) / (2 * h)
            out.append(_unbroadcast(d, x.shape).astype(dtype))
        return tuple(out)
    f, (da, db) = BINARY[fn]
    # left fold: p_1 = x_1, p_k = f(p_{k-1}, x_k); back through the fold
    partial = [xs[0].astype(np.float64)]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for x in xs[1:]:
            partial.append(f(partial[-1], x.astype(np.float64)))
        grads = [None] * len(xs)
        g = dy
        for k in range(len(xs) - 1, 0, -1):
            a, b = partial[k - 1], xs[k].astype(np.float64)
            grads[k] = _unbroadcast(g * db(a, b), xs[k].shape).astype(dtype)
            g = g * da(a, b)
        grads[0] = _unbroadcast(g, xs[0].shape).astype(dtype)
    return tuple(grads)


__all__ = ["UNARY", "BINARY", "elementwise_forward", "elementwise_backward", "threading_forward",
           "threading_backward"]
