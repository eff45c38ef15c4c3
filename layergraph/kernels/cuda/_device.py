"""Device functions that kernels of several files call, written once here and compiled in each
calling file; imported on first use, with the kernel files (see _runtime).

Compiled per file, with the calling module's globals, for two reasons. numba's CUDA simulator
puts its fake ``cuda`` module into the globals of a kernel's module for a whole launch, but
into another module's globals only for the length of each device-function call, and the
simulated threads' calls undo each other's swaps (a thread then reads the real module's
``cuda.threadIdx`` and fails). And numba's cache=True checks only a kernel's own source file
for changes: so a kernel that calls these also holds ``STAMP``, a hash of this file, in its
closure, which is part of its cache key, and editing this file recompiles it.
"""
import types

from numba import cuda

from .._scalar import file_stamp

STAMP = file_stamp(__file__)


# imin / imax stand in for builtin min / max, which numba 0.68's built-in CUDA target fails to
# compile for a real device on two integers (it picks up the min(iterable) overload; seen with
# cuda.compile_ptx); the simulator hides this.
def imin(a, b):
    return a if a < b else b


def imax(a, b):
    return a if a > b else b


def split(i, n):
    """(i % n, i // n): the fastest-varying index of a flat index and the rest of it."""
    return i % n, i // n


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


def device_functions(namespace: dict, *names: str) -> tuple:
    """The named functions of this file as device functions whose globals are ``namespace``
    (the calling kernel module's ``globals()``, which must import ``cuda``)."""
    out = []
    for name in names:
        fn = globals()[name]
        local = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
        local.__doc__ = fn.__doc__
        out.append(cuda.jit(device=True)(local))
    return tuple(out)
