"""numba.cuda kernels for the fully connected layer, softmax and addition; imported on first use
(see _runtime).

The fully connected products are one kernel, ``dot_rows``: out[m, p] = sum_k a[m, k] b[p, k]
(+ bias[p]) over flat arrays with explicit strides, so the forward (x w^T) and the backward's
dy w and dy^T x are the same code. One block per output element (grid-stride over them): the
block's threads stride over k, then a shared-memory tree sums their partial results. A
classifier head has few outputs (N x 10) and a long k (8192 in the seed CNN), which a
one-thread-per-output or a tiled product would leave to a handful of threads or blocks.
Softmax is one thread per (observation, position), over the channels as the CPU kernel does.
Built per dtype so that constants and shared buffers keep the data's precision.
"""
import functools
import math

import numba
import numpy as np
from numba import cuda

from . import _runtime
from ._device import STAMP, device_functions

(block_sum,) = device_functions(globals(), "block_sum")


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    nbt = numba.from_dtype(np.dtype(dtype_name))
    zero, one = npt(0), npt(1)
    ninf = npt(-np.inf)
    smem = _runtime.SMEM_SIZE
    stamp = STAMP  # see _device

    @cuda.jit(cache=True)
    def dot_rows(a, a_sm, a_sk, b, b_sp, b_sk, K, M, P, bias, has_bias, out):
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        sh = cuda.shared.array(smem, nbt)
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        for q in range(cuda.blockIdx.x, M * P, cuda.gridDim.x):  # the same count for every thread
            m = q // P
            p = q - m * P
            ia = m * a_sm
            ib = p * b_sp
            acc = zero
            for k in range(tid, K, nt):
                acc += a[ia + k * a_sk] * b[ib + k * b_sk]
            total = block_sum(sh, acc)
            if tid == 0:
                out[q] = total + bias[p] if has_bias else total

    @cuda.jit(cache=True)
    def softmax_forward(x, C, S, y):
        # Position p = n * S + s reads x[n, :, s]: stride S between channels.
        for p in range(cuda.grid(1), x.size // C, cuda.gridsize(1)):
            n = p // S
            base = n * C * S + (p - n * S)
            m = ninf
            for k in range(C):
                v = x[base + k * S]
                if v > m:
                    m = v
            tot = zero
            for k in range(C):
                e = math.exp(x[base + k * S] - m)
                y[base + k * S] = e
                tot += e
            inv = one / tot
            for k in range(C):
                y[base + k * S] *= inv

    @cuda.jit(cache=True)
    def softmax_backward(dy, y, C, S, dx):
        for p in range(cuda.grid(1), y.size // C, cuda.gridsize(1)):
            n = p // S
            base = n * C * S + (p - n * S)
            dot = zero
            for k in range(C):
                dot += dy[base + k * S] * y[base + k * S]
            for k in range(C):
                j = base + k * S
                dx[j] = y[j] * (dy[j] - dot)

    @cuda.jit(cache=True)
    def add(a, b, y):
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            y[i] = a[i] + b[i]

    @cuda.jit(cache=True)
    def copy(a, y):
        for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            y[i] = a[i]

    @cuda.jit(cache=True)
    def fill(a, value):
        for i in range(cuda.grid(1), a.size, cuda.gridsize(1)):
            a[i] = value

    return {"dot_rows": dot_rows, "softmax_forward": softmax_forward,
            "softmax_backward": softmax_backward, "add": add, "copy": copy, "fill": fill}
