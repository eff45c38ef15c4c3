"""Elementwise activations (MATLAB reluLayer, leakyReluLayer, clippedReluLayer, eluLayer,
tanhLayer, sigmoidLayer, swishLayer, geluLayer, and every other registry row with scalar math).

``<family>_forward(x, *hp) -> y`` and ``<family>_backward(dy, x, y=None, *hp) -> dx`` for any
shape, compiled from the row's scalar functions (kernels/activation_math.py) into parallel
numba loops. The wrappers flatten to 1-D so each loop is compiled for two types only (float32
and float64 vectors); hyperparameters travel as a tuple of Python floats. A backward whose
gradient reads y computes it when y is None.

Compilation and numba's cache: the loops are closures over the scalar functions (made here
once per family, compiled on first call). ``cache=True`` keys a closure by its cells, pickled:
the scalar functions by reference (module and name: the same bytes in every process, so a new
process loads the compiled loop from the cache instead of compiling again) and a hash of the
scalar functions' source file, so that editing the math recompiles (numba would otherwise
miss a change in another file).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._scalar import Elementwise, jitable, source_stamp
from ._util import as_float, flat, like, out_like


def _loops(math: Elementwise):
    f, g = jitable(math.forward), jitable(math.gradient)
    stamp = source_stamp(math.forward, math.gradient)
    F = np.float64  # the CPU computes in float64 and rounds once into the output's dtype

    @njit(cache=True, parallel=True)
    def forward(x, hp, y):
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key (see the module docstring)
        for i in prange(x.size):
            y[i] = f(x[i], F, *hp)

    @njit(cache=True, parallel=True)
    def gradient1(dy, a, hp, dx):
        stamp  # noqa: B018
        for i in prange(a.size):
            dx[i] = g(dy[i], a[i], F, *hp)

    @njit(cache=True, parallel=True)
    def gradient2(dy, x, y, hp, dx):
        stamp  # noqa: B018
        for i in prange(x.size):
            dx[i] = g(dy[i], x[i], y[i], F, *hp)

    return forward, (gradient2 if len(math.reads) == 2 else gradient1)


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
            compiled()[0](flat(x), tuple([float(h) for h in hp]), flat(y))
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
                loop(flat(dy), flat(x), fhp, flat(dx))
            elif reads == ("y",):
                loop(flat(dy), flat(y), fhp, flat(dx))
            else:
                loop(flat(dy), flat(x), flat(y), fhp, flat(dx))
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
