"""What the CPU and CUDA activation kernels share: reading a registry row's scalar math
(kernels/activation_math.py) and the parts of a compiled loop's cache key. Plain Python;
numba is imported when a function is first made jitable."""
from __future__ import annotations

import hashlib
import inspect
from functools import cache

_jitable: set = set()


def jitable(fn):
    """``fn`` callable from numba code (CPU and CUDA targets), registered once, with the
    helpers of its own module that it calls (activation_math's _sigmoid)."""
    if fn not in _jitable:
        from numba.extending import (
            register_jitable,  # an overload for every target: CPU and CUDA
        )
        _jitable.add(fn)
        register_jitable(fn)
        for name in fn.__code__.co_names:
            helper = fn.__globals__.get(name)
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
                jitable(helper)
    return fn


@cache
def file_stamp(path: str) -> str:
    """A hash of a source file's bytes (part of a compiled kernel's cache key)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def source_stamp(*fns) -> str:
    """A hash of the files that define ``fns`` (so also of the helpers they call there): part of
    a compiled loop's cache key. A function with no source file (typed at a prompt) is hashed
    by its own code."""
    parts = []
    for f in fns:
        try:
            path = inspect.getsourcefile(f)
        except TypeError:
            path = None
        code = f.__code__
        parts.append(file_stamp(path) if path else hashlib.sha256(code.co_code + repr(code.co_consts).encode())
                     .hexdigest())
    return "".join(parts)


class Elementwise:
    """One activation's scalar math: forward(x, F, *hp) and gradient(dy, <reads>, F, *hp)."""

    def __init__(self, forward, gradient):
        self.forward, self.gradient = forward, gradient
        fp = [p.name for p in inspect.signature(forward).parameters.values()]
        gp = [p.name for p in inspect.signature(gradient).parameters.values()]
        if fp[:2] != ["x", "F"]:
            raise TypeError(f"{forward.__name__}: an elementwise forward takes (x, F, *hyperparameters).")
        self.hyper = list(inspect.signature(forward).parameters.values())[2:]
        split = gp.index("F") if "F" in gp else 0
        self.reads = tuple(gp[1:split])  # the arrays the gradient reads, by its parameter names
        if gp[:1] != ["dy"] or self.reads not in (("x",), ("y",), ("x", "y")) or gp[split + 1:] != fp[2:]:
            raise TypeError(f"{gradient.__name__}: an elementwise gradient takes (dy, x and/or y, F, "
                            f"{', '.join(fp[2:]) or 'no hyperparameters'}).")

    def hp(self, family, args, kwargs) -> tuple:
        """The hyperparameters of a call, in order, with their defaults."""
        if not kwargs and len(args) == len(self.hyper):  # the executor's call: all given, in order
            return args
        if len(args) > len(self.hyper):
            raise TypeError(f"{family}: takes {len(self.hyper)} hyperparameters "
                            f"({', '.join(p.name for p in self.hyper)}), got {len(args)}.")
        values = list(args)
        for p in self.hyper[len(args):]:
            if p.name in kwargs:
                values.append(kwargs.pop(p.name))
            elif p.default is not inspect.Parameter.empty:
                values.append(p.default)
            else:
                raise TypeError(f"{family}: missing the hyperparameter {p.name!r}.")
        if kwargs:
            raise TypeError(f"{family}: unexpected arguments {', '.join(map(repr, kwargs))}.")
        return tuple(values)
