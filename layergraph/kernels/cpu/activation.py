"""Elementwise activations (MATLAB reluLayer, leakyReluLayer, clippedReluLayer, eluLayer,
tanhLayer, sigmoidLayer, swishLayer, geluLayer, and every other registry row with scalar math).

``<family>_forward(x, *hp) -> y`` and ``<family>_backward(dy, x, y=None, *hp) -> dx`` for any
shape, compiled from the row's scalar functions (kernels/activation_math.py) into serial
numba loops that _parallel.parallel_range splits over the kernels' thread pool. The wrappers
flatten to 1-D so each loop is compiled for two types only (float32 and float64 vectors);
hyperparameters travel as a tuple of Python floats. A backward whose gradient reads y computes
it when y is None.

Compilation and numba's cache: the loops are closures over the scalar functions (made here
once per family, compiled on first call). ``cache=True`` keys a closure by its cells, pickled:
the scalar functions by reference (module and name: the same bytes in every process, so a new
process loads the compiled loop from the cache instead of compiling again) and a hash of the
scalar functions' source file, so that editing the math recompiles (numba would otherwise
miss a change in another file).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .._scalar import Elementwise, jitable, source_stamp
from ._parallel import parallel_range
from ._util import as_float, flat, like, out_like


def _loops(math: Elementwise):
    f, g = jitable(math.forward), jitable(math.gradient)
    stamp = source_stamp(math.forward, math.gradient)
    F = np.float64  # the CPU computes in float64 and rounds once into the output's dtype

    # serial nogil loops over [lo, hi), split over the kernels' pool by parallel_range (small
    # arrays stay on the calling thread): no OpenMP team to wake between two BLAS products, which
    # on a busy machine cost milliseconds per call, and a third of a prange loop's compile time
    @njit(cache=True, nogil=True)
    def forward(lo, hi, x, hp, y):
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key (see the module docstring)
        xs, ys = x[lo:hi], y[lo:hi]   # views from 0: an index known >= 0, so the loop vectorizes
        for i in range(xs.size):
            ys[i] = f(xs[i], F, *hp)

    @njit(cache=True, nogil=True)
    def gradient1(lo, hi, dy, a, hp, dx):
        stamp  # noqa: B018
        gs, av, ds = dy[lo:hi], a[lo:hi], dx[lo:hi]
        for i in range(gs.size):
            ds[i] = g(gs[i], av[i], F, *hp)

    @njit(cache=True, nogil=True)
    def gradient2(lo, hi, dy, x, y, hp, dx):
        stamp  # noqa: B018
        gs, xs, ys, ds = dy[lo:hi], x[lo:hi], y[lo:hi], dx[lo:hi]
        for i in range(gs.size):
            ds[i] = g(gs[i], xs[i], ys[i], F, *hp)

    return forward, (gradient2 if len(math.reads) == 2 else gradient1)


# Below this many elements one thread does it all (a hand-off to the pool, 20-50 us, costs more
# than a vectorized loop over 256 k values); above, slices of at least _GRAIN elements.
_SERIAL_BELOW = 1 << 18
_GRAIN = 1 << 15


def _run(loop, *arrays):
    """loop(lo, hi, *arrays) over the first array's length, split over the pool when large."""
    n = arrays[0].size
    if n < _SERIAL_BELOW:
        loop(0, n, *arrays)
    else:
        parallel_range(loop, n, *arrays, grain=_GRAIN)


def make_kernels(family: str, forward, gradient):
    """(<family>_forward, <family>_backward) for the scalar math ``forward`` / ``gradient``."""
    math = Elementwise(forward, gradient)
    loops = []

    def compiled():
        if not loops:
            loops.extend(_loops(math))
        return loops

    fname, bname = f"{family}_forward", f"{family}_backward"
    reads = math.reads

    def fwd(x, *args, **kwargs):
        hp = math.hp(fname, args, kwargs)
        x = as_float(x)
        y = out_like(x)
        if x.size:
            _run(compiled()[0], flat(x), tuple([float(h) for h in hp]), flat(y))
        return y

    def bwd(dy, x, y=None, *args, **kwargs):
        hp = math.hp(bname, args, kwargs)
        x = as_float(x)
        dy = like(dy, x, "dy", x.shape)
        if reads != ("x",):
            y = like(fwd(x, *hp) if y is None else y, x, "y", x.shape)
        dx = out_like(x)
        if x.size:
            loop, fhp = compiled()[1], tuple([float(h) for h in hp])
            if reads == ("x",):
                _run(loop, flat(dy), flat(x), fhp, flat(dx))
            elif reads == ("y",):
                _run(loop, flat(dy), flat(y), fhp, flat(dx))
            else:
                _run(loop, flat(dy), flat(x), flat(y), fhp, flat(dx))
        return dx

    fwd.__name__ = fwd.__qualname__ = fname
    bwd.__name__ = bwd.__qualname__ = bname
    fwd.__doc__ = (f"{family} forward, elementwise (kernels/activation_math.py: {forward.__name__}); "
                   f"hyperparameters: {', '.join(str(p) for p in math.hyper) or 'none'}.")
    bwd.__doc__ = f"{family} backward: dx from dy (and x, y), elementwise; y may be None."
    return fwd, bwd


KERNELS: dict = {}   # (family, op) -> function, for the elementwise rows; merged into the package's table
NAMES: list = []     # the families, in registry order


def add(family: str, forward, gradient):
    """Make and publish <family>_forward / <family>_backward (the package does, for each
    registry row with scalar math; this module reads no registry, so that it imports nothing
    that imports layers)."""
    fwd, bwd = make_kernels(family, forward, gradient)
    globals().update({fwd.__name__: fwd, bwd.__name__: bwd})
    KERNELS.update({(family, "forward_train"): fwd, (family, "forward_infer"): fwd, (family, "backward"): bwd})
    NAMES.append(family)
    return fwd, bwd


def remove(family: str):
    for name in (f"{family}_forward", f"{family}_backward"):
        globals().pop(name, None)
    for op in ("forward_train", "forward_infer", "backward"):
        KERNELS.pop((family, op), None)
    NAMES.remove(family)
