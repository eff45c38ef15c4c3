"""numba.cuda kernels for the elementwise activations; imported on first use (see _runtime).

Each kernel is a grid-stride loop over flat, C-contiguous arrays, compiled from a registry
row's scalar math (kernels/activation_math.py), the same functions the CPU kernels compile, so
the two sets agree on NaN and Inf by construction. They are built per dtype, and the math's
constants are made with that dtype (``F``), so that a float32 kernel does no float64
arithmetic (slow on most GPUs). The closures hold the scalar functions (pickled by reference),
the dtype and a hash of the math's source: numba's cache key pickles them, so a new process
finds the compiled kernel, the float32 and float64 builds get different keys, and editing the
math recompiles.
"""
import functools

import numpy as np
from numba import cuda

from ...core import registry
from .._scalar import Elementwise, jitable, source_stamp


def _compile(math: Elementwise, F):
    f, g = jitable(math.forward), jitable(math.gradient)
    stamp = source_stamp(math.forward, math.gradient)

    @cuda.jit(cache=True)
    def forward(x, hp, y):
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            y[i] = f(x[i], F, *hp)

    @cuda.jit(cache=True)
    def gradient1(dy, a, hp, dx):
        stamp  # noqa: B018
        for i in range(cuda.grid(1), a.size, cuda.gridsize(1)):
            dx[i] = g(dy[i], a[i], F, *hp)

    @cuda.jit(cache=True)
    def gradient2(dy, x, y, hp, dx):
        stamp  # noqa: B018
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            dx[i] = g(dy[i], x[i], y[i], F, *hp)

    return forward, (gradient2 if len(math.reads) == 2 else gradient1)


@functools.cache
def _family(family, forward, gradient, dtype_name):
    return _compile(Elementwise(forward, gradient), np.dtype(dtype_name).type)


def kernels(dtype_name):
    """{<family>_forward: kernel(x, hp, y), <family>_backward: kernel(dy, <reads>, hp, dx)} for
    every registry row with scalar math; ``hp`` a tuple of the dtype's scalars."""
    out = {}
    for family, entry in registry.ELEMENTWISE.items():
        fwd, bwd = _family(family, *entry.elementwise, dtype_name)
        out[f"{family}_forward"], out[f"{family}_backward"] = fwd, bwd
    return out
