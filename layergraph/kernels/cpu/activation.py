"""Elementwise activations (MATLAB reluLayer, leakyReluLayer, clippedReluLayer, eluLayer,
tanhLayer, sigmoidLayer, swishLayer, geluLayer).

``<name>_forward(x, *hp) -> y`` and ``<name>_backward(dy, x, y, *hp) -> dx`` for any shape.
The wrappers flatten to 1-D so each kernel is compiled for two types only (float32 and
float64 vectors); hyperparameters travel as Python floats.
"""
from __future__ import annotations

import math

from numba import njit, prange

from ._util import as_float, flat, like, out_like

_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_OVER_PI = 0.7978845608028654
_GELU_C = 0.044715


# -- numba kernels over flat vectors ---------------------------------------------------
@njit(cache=True, parallel=True)
def _relu_f(x, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else 0.0


@njit(cache=True, parallel=True)
def _relu_b(dy, x, dx):
    for i in prange(x.size):
        dx[i] = dy[i] if x[i] > 0 else 0.0


@njit(cache=True, parallel=True)
def _leaky_f(x, scale, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else scale * v


@njit(cache=True, parallel=True)
def _leaky_b(dy, x, scale, dx):
    for i in prange(x.size):
        dx[i] = dy[i] if x[i] > 0 else scale * dy[i]


@njit(cache=True, parallel=True)
def _clipped_f(x, ceiling, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = 0.0 if v <= 0 else (ceiling if v >= ceiling else v)


@njit(cache=True, parallel=True)
def _clipped_b(dy, x, ceiling, dx):
    for i in prange(x.size):
        v = x[i]
        dx[i] = dy[i] if (v > 0 and v < ceiling) else 0.0


@njit(cache=True, parallel=True)
def _elu_f(x, alpha, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else alpha * math.expm1(v)


@njit(cache=True, parallel=True)
def _elu_b(dy, x, alpha, dx):
    for i in prange(x.size):
        v = x[i]
        dx[i] = dy[i] if v > 0 else dy[i] * alpha * math.exp(v)


@njit(cache=True, parallel=True)
def _tanh_f(x, y):
    for i in prange(x.size):
        y[i] = math.tanh(x[i])


@njit(cache=True, parallel=True)
def _tanh_b(dy, y, dx):
    for i in prange(y.size):
        t = y[i]
        dx[i] = dy[i] * (1.0 - t * t)


@njit(cache=True, inline="always")
def _sig(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@njit(cache=True, parallel=True)
def _sigmoid_f(x, y):
    for i in prange(x.size):
        y[i] = _sig(x[i])


@njit(cache=True, parallel=True)
def _sigmoid_b(dy, y, dx):
    for i in prange(y.size):
        s = y[i]
        dx[i] = dy[i] * s * (1.0 - s)


@njit(cache=True, parallel=True)
def _swish_f(x, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = v * _sig(v)


@njit(cache=True, parallel=True)
def _swish_b(dy, x, dx):
    for i in prange(x.size):
        v = x[i]
        s = _sig(v)
        dx[i] = dy[i] * s * (1.0 + v * (1.0 - s))


@njit(cache=True, parallel=True)
def _gelu_erf_f(x, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = 0.5 * v * (1.0 + math.erf(v * _SQRT_HALF))


@njit(cache=True, parallel=True)
def _gelu_erf_b(dy, x, dx):
    for i in prange(x.size):
        v = x[i]
        cdf = 0.5 * (1.0 + math.erf(v * _SQRT_HALF))
        pdf = _INV_SQRT_2PI * math.exp(-0.5 * v * v)
        dx[i] = dy[i] * (cdf + v * pdf)


@njit(cache=True, parallel=True)
def _gelu_tanh_f(x, y):
    for i in prange(x.size):
        v = x[i]
        t = math.tanh(_SQRT_2_OVER_PI * (v + _GELU_C * v * v * v))
        y[i] = 0.5 * v * (1.0 + t)


@njit(cache=True, parallel=True)
def _gelu_tanh_b(dy, x, dx):
    for i in prange(x.size):
        v = x[i]
        t = math.tanh(_SQRT_2_OVER_PI * (v + _GELU_C * v * v * v))
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * v * v)
        dx[i] = dy[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du)


# -- public wrappers ---------------------------------------------------------------------
def _unary(kernel, x, *hp):
    x = as_float(x)
    y = out_like(x)
    if x.size:
        kernel(flat(x), *hp, flat(y))
    return y


def _grad(kernel, dy, src, *hp):
    src = as_float(src)
    dy = like(dy, src, "dy", src.shape)
    dx = out_like(src)
    if src.size:
        kernel(flat(dy), flat(src), *hp, flat(dx))
    return dx


def relu_forward(x):
    """ReLU: max(x, 0)."""
    return _unary(_relu_f, x)


def relu_backward(dy, x, y):
    return _grad(_relu_b, dy, x)


def leakyrelu_forward(x, scale):
    """Leaky ReLU: x for x > 0, scale * x otherwise (MATLAB 'Scale', default 0.01)."""
    return _unary(_leaky_f, x, float(scale))


def leakyrelu_backward(dy, x, y, scale):
    return _grad(_leaky_b, dy, x, float(scale))


def clippedrelu_forward(x, ceiling):
    """Clipped ReLU: min(max(x, 0), ceiling) (MATLAB 'Ceiling')."""
    return _unary(_clipped_f, x, float(ceiling))


def clippedrelu_backward(dy, x, y, ceiling):
    return _grad(_clipped_b, dy, x, float(ceiling))


def elu_forward(x, alpha):
    """ELU: x for x > 0, alpha * (exp(x) - 1) otherwise (MATLAB 'Alpha', default 1)."""
    return _unary(_elu_f, x, float(alpha))


def elu_backward(dy, x, y, alpha):
    return _grad(_elu_b, dy, x, float(alpha))


def tanh_forward(x):
    return _unary(_tanh_f, x)


def tanh_backward(dy, x, y):
    return _grad(_tanh_b, dy, y)


def sigmoid_forward(x):
    return _unary(_sigmoid_f, x)


def sigmoid_backward(dy, x, y):
    return _grad(_sigmoid_b, dy, y)


def swish_forward(x):
    """Swish: x * sigmoid(x)."""
    return _unary(_swish_f, x)


def swish_backward(dy, x, y):
    return _grad(_swish_b, dy, x)


def gelu_forward(x, tanh_approx=False):
    """GELU (MATLAB geluLayer 'Approximation'): 'none' is x * Phi(x) with the exact erf;
    'tanh' (tanh_approx=True) is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _unary(_gelu_tanh_f if tanh_approx else _gelu_erf_f, x)


def gelu_backward(dy, x, y, tanh_approx=False):
    return _grad(_gelu_tanh_b if tanh_approx else _gelu_erf_b, dy, x)


NAMES = ("relu", "leakyrelu", "clippedrelu", "elu", "tanh", "sigmoid", "swish", "gelu")
