"""Elementwise activations on the GPU: <family>_forward(x, *hp) -> y and
<family>_backward(dy, x, y=None, *hp) -> dx for every registry row with scalar math.

Any shape; the output has the input's shape and dtype. Hyperparameters are the CPU kernels'
(names and defaults from the scalar forward: leakyrelu scale 0.01, clippedrelu ceiling
(required), elu alpha 1, gelu tanh_approx False, MATLAB's geluLayer Approximation 'tanh').
A backward whose gradient reads y (tanh, sigmoid) computes it from x when y is None; one that
reads only x ignores y and never copies it to the device.
"""
from __future__ import annotations

import numpy as np

from ...core import registry
from .._scalar import Elementwise
from ._runtime import Args, flat, launch


def _launch(fname, family, kname, arrays, hps):
    """Run kernel ``kname`` of ``family`` on (label, array) pairs of one shape; return out."""
    args = Args(*(a for _, a in arrays))
    dt = args.float_dtype(fname)
    devs = []
    shape = None
    for label, a in arrays:
        d = args.device(a, label, shape=shape)
        shape = tuple(d.shape) if shape is None else shape
        devs.append(d)
    total = int(np.prod(shape, dtype=np.int64))
    out = args.empty((max(total, 1),) if len(shape) == 0 else (total,))
    if total:
        from . import _act_kernels
        kernel = _act_kernels.kernels(dt.name)[kname]
        launch(kernel, total, *(flat(d) for d in devs), tuple(dt.type(h) for h in hps), out)
    return args.result(out, shape)


def make_kernels(family: str, forward, gradient):
    """(<family>_forward, <family>_backward) on the GPU for a row's scalar math."""
    math = Elementwise(forward, gradient)
    fname, bname = f"{family}_forward", f"{family}_backward"

    def fwd(x, *args, **kwargs):
        return _launch(fname, family, fname, [("x", x)], math.hp(fname, args, kwargs))

    def bwd(dy, x, y=None, *args, **kwargs):
        hp = math.hp(bname, args, kwargs)
        if y is None and "y" in math.reads:
            y = fwd(x, *hp)
        return _launch(bname, family, bname, [("dy", dy)] + [(r, x if r == "x" else y) for r in math.reads], hp)

    fwd.__name__ = fwd.__qualname__ = fname
    bwd.__name__ = bwd.__qualname__ = bname
    return fwd, bwd


NAMES: list = []


def _on_registry(entry, added):
    if entry.elementwise is None:
        return
    names = (f"{entry.family}_forward", f"{entry.family}_backward")
    if added:
        globals().update(zip(names, make_kernels(entry.family, *entry.elementwise)))
        NAMES.append(entry.family)
    else:
        for name in names:
            globals().pop(name, None)
        NAMES.remove(entry.family)


for _entry in list(registry.REGISTRY):
    _on_registry(_entry, True)
registry.subscribe(_on_registry)
del _entry
