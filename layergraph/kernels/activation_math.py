"""Elementwise activation math, written once: a scalar forward and a scalar gradient per
activation, compiled by ``kernels/cpu/activation.py`` (numba ``njit``, parallel loops) and by
``kernels/cuda/_act_kernels.py`` (numba.cuda grid-stride loops). Plain Python: importing this
module imports no numba, and the CUDA simulator runs these very functions.

forward(x, F, *hp) -> y
    one element; ``hp`` the kernel's hyperparameters (their names and defaults are the
    kernel functions' keywords: ``leakyrelu_forward(x, scale=0.01)``).
gradient(dy, <reads>, F, *hp) -> dx
    one element of dL/dx given dL/dy. ``<reads>`` names the arrays it needs, ``x``, ``y`` or
    ``x, y``: the kernels pass only those (tanh and sigmoid read only y; relu only x).

``F`` is the float type the arithmetic runs in; write every constant as ``F(0.5)``. The CPU
kernels compile with float64 (a float32 input computes in float64 and rounds once, as the
kernels always did); the CUDA kernels with the data's own dtype, so that a float32 kernel does
no float64 arithmetic (slow on most GPUs; ptx_check.py checks). Comparisons are written so that
NaN propagates (``x if x > 0 else ...`` sends NaN to the else branch), except that ReLU gives 0
for NaN, as MATLAB's max(X, 0) does. Branches keep exp from overflowing (the simulator runs
these in Python, where math.exp(1000.0) raises).

A function here is referenced by a registry row (``Entry.elementwise``) and must stay at module
level with its own name: the compiled kernels are closures over it, and numba's on-disk cache
key pickles them by reference (module and name).
"""
from __future__ import annotations

import math

_SQRT_HALF = 0.7071067811865476      # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327   # 1/sqrt(2 pi)
_SQRT_2_OVER_PI = 0.7978845608028654  # tanh-approximate GELU: tanh(k0 (x + k1 x^3))
_GELU_C = 0.044715


def relu(x, F):
    """max(x, 0); NaN gives 0 (MATLAB's max omits NaN)."""
    return x if x > F(0) else F(0)


def relu_grad(dy, x, F):
    return dy if x > F(0) else F(0)


def leakyrelu(x, F, scale=0.01):
    """x for x > 0, scale * x otherwise (MATLAB leakyReluLayer 'Scale')."""
    return x if x > F(0) else scale * x


def leakyrelu_grad(dy, x, F, scale=0.01):
    return dy if x > F(0) else scale * dy


def clippedrelu(x, F, ceiling):
    """min(max(x, 0), ceiling) (MATLAB clippedReluLayer 'Ceiling')."""
    return F(0) if x <= F(0) else (ceiling if x >= ceiling else x)


def clippedrelu_grad(dy, x, F, ceiling):
    return dy if (x > F(0) and x < ceiling) else F(0)


def elu(x, F, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (MATLAB eluLayer 'Alpha')."""
    return x if x > F(0) else alpha * math.expm1(x)


def elu_grad(dy, x, F, alpha=1.0):
    # alpha * exp(x) rather than y + alpha: no cancellation for very negative x
    return dy if x > F(0) else dy * alpha * math.exp(x)


def tanh(x, F):
    return math.tanh(x)


def tanh_grad(dy, y, F):
    return dy * (F(1) - y * y)


def _sigmoid(x, F):
    # split on the sign so that exp never overflows
    if x >= F(0):
        return F(1) / (F(1) + math.exp(-x))
    e = math.exp(x)
    return e / (F(1) + e)


def sigmoid(x, F):
    return _sigmoid(x, F)


def sigmoid_grad(dy, y, F):
    return dy * y * (F(1) - y)


def swish(x, F):
    """x * sigmoid(x)."""
    return x * _sigmoid(x, F)


def swish_grad(dy, x, F):
    # sigmoid(x) from x: y / x is undefined at x = 0
    s = _sigmoid(x, F)
    return dy * s * (F(1) + x * (F(1) - s))


def gelu(x, F, tanh_approx=False):
    """MATLAB geluLayer: 'Approximation' 'none' is x * Phi(x) with the exact erf; 'tanh'
    (tanh_approx) is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if tanh_approx:
        t = math.tanh(F(_SQRT_2_OVER_PI) * (x + F(_GELU_C) * x * x * x))
        return F(0.5) * x * (F(1) + t)
    return F(0.5) * x * (F(1) + math.erf(x * F(_SQRT_HALF)))


def gelu_grad(dy, x, F, tanh_approx=False):
    if tanh_approx:
        t = math.tanh(F(_SQRT_2_OVER_PI) * (x + F(_GELU_C) * x * x * x))
        du = F(_SQRT_2_OVER_PI) * (F(1) + F(3 * _GELU_C) * x * x)
        return dy * (F(0.5) * (F(1) + t) + F(0.5) * x * (F(1) - t * t) * du)
    cdf = F(0.5) * (F(1) + math.erf(x * F(_SQRT_HALF)))
    pdf = F(_INV_SQRT_2PI) * math.exp(F(-0.5) * x * x)
    return dy * (cdf + x * pdf)


def hardsigmoid(x, F, alpha=0.2, beta=0.5):
    """max(0, min(1, alpha x + beta)) (ONNX HardSigmoid)."""
    t = alpha * x + beta
    return F(0) if t <= F(0) else (F(1) if t >= F(1) else t)


def hardsigmoid_grad(dy, x, F, alpha=0.2, beta=0.5):
    t = alpha * x + beta
    return dy * alpha if (t > F(0) and t < F(1)) else F(0)


def hardswish(x, F):
    """x max(0, min(1, x/6 + 1/2)) (ONNX HardSwish)."""
    if x <= F(-3):
        return F(0)
    if x >= F(3):
        return x
    return x * (x + F(3)) / F(6)


def hardswish_grad(dy, x, F):
    if x <= F(-3):
        return F(0)
    if x >= F(3):
        return dy
    return dy * (F(2) * x + F(3)) / F(6)
