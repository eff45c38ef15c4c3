"""numba.cuda kernels for the elementwise activations; imported on first use (see _runtime).

Every kernel is a grid-stride loop over flat, C-contiguous arrays. They are built per dtype
so that constants carry the data's precision (a float64 literal would promote float32 math
to float64, slow on most GPUs). Closures hold only numpy scalars, which numba's cache hashes.
NaN handling is the CPU kernels' (a test compares the two): ReLU gives 0 for NaN, as MATLAB's
max(X, 0) does (max ignores NaN); the other comparisons are written so that NaN propagates
(``zero if v < zero else v``).
"""
import functools
import math

import numpy as np
from numba import cuda


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    zero, one, half = npt(0), npt(1), npt(0.5)
    rsqrt2 = npt(1 / math.sqrt(2))
    rsqrt2pi = npt(1 / math.sqrt(2 * math.pi))
    k0 = npt(math.sqrt(2 / math.pi))     # tanh-approximate GELU: tanh(k0 (x + k1 x^3))
    k1 = npt(0.044715)
    k1x3 = npt(3 * 0.044715)

    @cuda.jit(cache=True)
    def relu_forward(x, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = v if v > zero else zero  # NaN -> 0, as the CPU kernel and MATLAB's max(X, 0)

    @cuda.jit(cache=True)
    def relu_backward(dy, x, dx):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            dx[i] = dy[i] if x[i] > zero else zero

    @cuda.jit(cache=True)
    def leakyrelu_forward(x, scale, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = scale * v if v < zero else v

    @cuda.jit(cache=True)
    def leakyrelu_backward(dy, x, scale, dx):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            dx[i] = dy[i] if x[i] > zero else scale * dy[i]

    @cuda.jit(cache=True)
    def clippedrelu_forward(x, ceiling, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = zero if v < zero else (ceiling if v > ceiling else v)

    @cuda.jit(cache=True)
    def clippedrelu_backward(dy, x, ceiling, dx):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            dx[i] = dy[i] if (v > zero and v < ceiling) else zero

    @cuda.jit(cache=True)
    def elu_forward(x, alpha, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = alpha * math.expm1(v) if v < zero else v

    @cuda.jit(cache=True)
    def elu_backward(dy, x, alpha, dx):
        # alpha * exp(x) rather than y + alpha: no cancellation for very negative x.
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            dx[i] = dy[i] if v > zero else dy[i] * alpha * math.exp(v)

    @cuda.jit(cache=True)
    def tanh_forward(x, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            y[i] = math.tanh(x[i])

    @cuda.jit(cache=True)
    def tanh_backward(dy, y, dx):
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            t = y[i]
            dx[i] = dy[i] * (one - t * t)

    @cuda.jit(cache=True)
    def sigmoid_forward(x, y):
        # Split on the sign so that exp never overflows.
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            if v >= zero:
                y[i] = one / (one + math.exp(-v))
            else:
                e = math.exp(v)
                y[i] = e / (one + e)

    @cuda.jit(cache=True)
    def sigmoid_backward(dy, y, dx):
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            s = y[i]
            dx[i] = dy[i] * s * (one - s)

    @cuda.jit(cache=True)
    def swish_forward(x, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            if v >= zero:
                s = one / (one + math.exp(-v))
            else:
                e = math.exp(v)
                s = e / (one + e)
            y[i] = v * s

    @cuda.jit(cache=True)
    def swish_backward(dy, x, dx):
        # sigma(x) is recomputed from x: y / x is undefined at x = 0.
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            if v >= zero:
                s = one / (one + math.exp(-v))
            else:
                e = math.exp(v)
                s = e / (one + e)
            dx[i] = dy[i] * (s + v * s * (one - s))

    @cuda.jit(cache=True)
    def gelu_forward(x, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = half * v * (one + math.erf(v * rsqrt2))

    @cuda.jit(cache=True)
    def gelu_backward(dy, x, dx):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            cdf = half * (one + math.erf(v * rsqrt2))
            pdf = rsqrt2pi * math.exp(-half * v * v)
            dx[i] = dy[i] * (cdf + v * pdf)

    @cuda.jit(cache=True)
    def gelu_tanh_forward(x, y):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            y[i] = half * v * (one + math.tanh(k0 * (v + k1 * v * v * v)))

    @cuda.jit(cache=True)
    def gelu_tanh_backward(dy, x, dx):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i]
            t = math.tanh(k0 * (v + k1 * v * v * v))
            dx[i] = dy[i] * (half * (one + t) + half * v * (one - t * t) * k0 * (one + k1x3 * v * v))

    return {name: fn for name, fn in locals().items() if name.endswith(("_forward", "_backward"))}
