"""numba.cuda kernels for batch normalization; imported on first use (see _runtime).

Data arrive flattened: x[(n * C + c) * S + s] with S = H * W (S = 1 for N x C data).
Per-channel statistics use a two-level reduction so that a batch with few channels still
fills the GPU: a (C, P) grid where each block reduces one chunk of one channel (two-pass
within the chunk: mean, then sum of squared deviations), then one block per channel merges
the P partial results (Chan's formula: M2 = sum M2_b + sum n_b (mean_b - mean)^2). Sums are
shared-memory tree reductions, pairwise and accurate in float32.

Kernels are built per dtype so that every constant and shared buffer has the data's
precision (a float64 literal would silently promote float32 arithmetic to float64). Their
closures hold only numpy scalars and numba types, which numba's cache can hash.
"""
import functools
import math

import numba
import numpy as np
from numba import cuda

from . import _runtime

# Device helpers live in the file of the kernels that call them: numba's cache=True checks
# only the kernel's own source file for changes. imin / imax stand in for builtin min / max,
# which numba 0.68's built-in CUDA target fails to compile for a real device on two integers
# (it picks up the min(iterable) overload; seen with cuda.compile_ptx); the simulator hides this.


@cuda.jit(device=True)
def imin(a, b):
    return a if a < b else b


@cuda.jit(device=True)
def imax(a, b):
    return a if a > b else b


@cuda.jit(device=True)
def block_sum(sh, v):
    """Sum of v over the block (a power-of-two size) by a shared-memory tree.

    Pairwise summation keeps float32 error near log2(blockDim) ulps. Every thread of the
    block must call this: it synchronizes.
    """
    tid = cuda.threadIdx.x
    sh[tid] = v
    cuda.syncthreads()
    stride = cuda.blockDim.x // 2
    while stride > 0:
        if tid < stride:
            sh[tid] += sh[tid + stride]
        cuda.syncthreads()
        stride //= 2
    total = sh[0]
    cuda.syncthreads()  # all threads have read sh[0] before the buffer is reused
    return total


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    npt = np.dtype(dtype_name).type
    nbt = numba.from_dtype(np.dtype(dtype_name))
    zero = npt(0)
    smem = _runtime.SMEM_SIZE

    @cuda.jit(cache=True)
    def stats_partial(x, N, C, S, chunk, pmean, pm2):
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        b = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        m = N * S
        start = b * chunk
        stop = imin(start + chunk, m)
        acc = zero
        for i in range(start + tid, stop, nt):
            n = i // S
            acc += x[(n * C + c) * S + (i - n * S)]
        total = block_sum(sh, acc)
        cnt = stop - start
        mean_b = total / npt(cnt) if cnt > 0 else zero
        acc = zero
        for i in range(start + tid, stop, nt):
            n = i // S
            d = x[(n * C + c) * S + (i - n * S)] - mean_b
            acc += d * d
        m2 = block_sum(sh, acc)
        if tid == 0:
            pmean[c, b] = mean_b
            pm2[c, b] = m2

    @cuda.jit(cache=True)
    def stats_combine(pmean, pm2, chunk, m, mean, var):
        # One block per channel, one thread per partial; blockDim.x == number of partials.
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
        sh = cuda.shared.array(smem, nbt)
        c = cuda.blockIdx.x
        b = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        m = N * S
        start = b * chunk
        stop = imin(start + chunk, m)
        mu = mean[c]
        a1 = zero
        a2 = zero
        for i in range(start + tid, stop, nt):
            n = i // S
            j = (n * C + c) * S + (i - n * S)
            g = dy[j]
            a1 += g
            a2 += g * (x[j] - mu)
        s1 = block_sum(sh, a1)
        s2 = block_sum(sh, a2)
        if tid == 0:
            psum_dy[c, b] = s1
            psum_dyxc[c, b] = s2

    @cuda.jit(cache=True)
    def grad_combine(psum_dy, psum_dyxc, var, eps, doffset, dscale):
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
