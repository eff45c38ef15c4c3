"""numba.cuda kernels for batch normalization; imported on first use (see _runtime).

Data arrive flattened: x[(n * C + c) * S + s] with S = H * W (S = 1 for N x C data).
Per-channel statistics use a two-level reduction so that a batch with few channels still
fills the GPU: a (C, P) grid where each block reduces one chunk of one channel (two-pass
within the chunk: mean, then sum of squared deviations), then one block per channel merges
the P partial results (Chan's formula: M2 = sum M2_b + sum n_b (mean_b - mean)^2). Sums are
shared-memory tree reductions, pairwise and accurate in float32.

Kernels are built per dtype so that every constant and shared buffer has the data's
precision (a float64 literal would silently promote float32 arithmetic to float64). Their
closures hold only numpy scalars, numba types and _device.STAMP, which numba's cache can hash.
"""
import functools
import math

import numba
import numpy as np
from numba import cuda

from . import _runtime
from ._device import STAMP, device_functions

block_sum, imax, imin = device_functions(globals(), "block_sum", "imax", "imin")


@cuda.jit(device=True)
def chunk_span(m, chunk):
    """The elements [start, stop) of its channel's m that block (c, b) of a (C, P) grid reduces."""
    start = cuda.blockIdx.y * chunk
    return start, imin(start + chunk, m)


@cuda.jit(device=True)
def channel_item(i, C, S, c):
    """The flat index of element i of channel c (i = n * S + s runs over the batch and positions)."""
    n = i // S
    return (n * C + c) * S + (i - n * S)


@cuda.jit(device=True)
def put_partials(a, b, c, va, vb):
    """Thread 0 of block (c, p) stores its block's two results at [c, p]."""
    if cuda.threadIdx.x == 0:
        a[c, cuda.blockIdx.y] = va
        b[c, cuda.blockIdx.y] = vb


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    nbt = numba.from_dtype(np.dtype(dtype_name))
    zero = npt(0)
    smem = _runtime.SMEM_SIZE
    stamp = STAMP  # in the closures of the kernels that call _device's functions: see _device

    @cuda.jit(cache=True)
    def stats_partial(x, N, C, S, chunk, pmean, pm2):
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        start, stop = chunk_span(N * S, chunk)
        acc = zero
        for i in range(start + tid, stop, cuda.blockDim.x):
            acc += x[channel_item(i, C, S, c)]
        total = block_sum(sh, acc)
        cnt = stop - start
        mean_b = total / npt(cnt) if cnt > 0 else zero
        acc = zero
        for i in range(start + tid, stop, cuda.blockDim.x):
            d = x[channel_item(i, C, S, c)] - mean_b
            acc += d * d
        put_partials(pmean, pm2, c, mean_b, block_sum(sh, acc))

    @cuda.jit(cache=True)
    def stats_combine(pmean, pm2, chunk, m, mean, var):
        # One block per channel, one thread per partial; blockDim.x == number of partials.
        stamp  # noqa: B018
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        b = cuda.threadIdx.x
        nb = npt(imax(0, imin(chunk, m - b * chunk)))
        mb = pmean[c, b]
        mu = block_sum(sh, nb * mb) / npt(m)
        d = mb - mu
        v = block_sum(sh, pm2[c, b] + nb * d * d) / npt(m)
        if b == 0:
            mean[c] = mu
            var[c] = v

    @cuda.jit(cache=True)
    def normalize(x, N, C, S, scale, offset, mean, var, eps, y):
        total = N * C * S
        for i in range(cuda.grid(1), total, cuda.gridsize(1)):
            c = (i // S) % C
            g = scale[c] / math.sqrt(var[c] + eps)
            y[i] = (x[i] - mean[c]) * g + offset[c]

    @cuda.jit(cache=True)
    def grad_partial(dy, x, N, C, S, chunk, mean, psum_dy, psum_dyxc):
        # Chunk sums of dy and dy * (x - mean): the reductions behind doffset and dscale.
        stamp  # noqa: B018
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        start, stop = chunk_span(N * S, chunk)
        mu = mean[c]
        a1 = zero
        a2 = zero
        for i in range(start + tid, stop, cuda.blockDim.x):
            j = channel_item(i, C, S, c)
            g = dy[j]
            a1 += g
            a2 += g * (x[j] - mu)
        s1 = block_sum(sh, a1)
        put_partials(psum_dy, psum_dyxc, c, s1, block_sum(sh, a2))

    @cuda.jit(cache=True)
    def grad_combine(psum_dy, psum_dyxc, var, eps, doffset, dscale):
        stamp  # noqa: B018
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        b = cuda.threadIdx.x
        s1 = block_sum(sh, psum_dy[c, b])
        s2 = block_sum(sh, psum_dyxc[c, b])
        if b == 0:
            doffset[c] = s1
            dscale[c] = s2 / math.sqrt(var[c] + eps)

    @cuda.jit(cache=True)
    def grad_input(dy, x, N, C, S, scale, mean, var, eps, doffset, dscale, dx):
        total = N * C * S
        inv_m = npt(1) / npt(N * S)
        for i in range(cuda.grid(1), total, cuda.gridsize(1)):
            c = (i // S) % C
            istd = npt(1) / math.sqrt(var[c] + eps)
            xhat = (x[i] - mean[c]) * istd
            dx[i] = scale[c] * istd * (dy[i] - (doffset[c] + xhat * dscale[c]) * inv_m)

    return {
        "stats_partial": stats_partial,
        "stats_combine": stats_combine,
        "normalize": normalize,
        "grad_partial": grad_partial,
        "grad_combine": grad_combine,
        "grad_input": grad_input,
    }
