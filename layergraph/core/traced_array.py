"""A numpy-like array traced on the core tape (core/autodiff.py), for a dialect without an
array type of its own (Wolfram's FunctionLayer[f] with a Python function f).

``TracedArray`` follows numpy's semantics (broadcasting from the last axis, 0-based axes):
``+ - * / ** @``, unary minus, ``abs``, indexing (basic and integer arrays), ``reshape``,
``T`` / ``transpose``, ``sum`` / ``mean`` / ``max`` / ``min`` over axes, and the numpy
functions ``np.exp, log, sqrt, tanh, sin, cos, abs, square, maximum, minimum, add, subtract,
multiply, divide, power, negative, sum, mean, matmul, dot``; a comparison gives a plain
boolean array. Anything else raises TypeError naming the function.
"""
from __future__ import annotations

import numpy as np

from . import autodiff as ad
from .operators import TapeOperators


def _data(x):
    return x.data if isinstance(x, TracedArray) else np.asarray(x)


class TracedArray(TapeOperators):
    __array_priority__ = 1000
    __slots__ = ("data", "key", "tape")

    def __init__(self, data, key=None, tape=None):
        self.data, self.key, self.tape = np.asarray(data), key, tape

    # -- recording -------------------------------------------------------------------------------
    @staticmethod
    def _make(y, parents, vjp):
        tapes = [p.tape for p in parents if isinstance(p, TracedArray) and p.tape is not None]
        if not tapes:
            return TracedArray(y)
        tape = tapes[0]
        keys = [p.key if isinstance(p, TracedArray) and p.tape is tape else None for p in parents]
        return TracedArray(y, tape.record(keys, 1, vjp)[0], tape)

    # -- properties ---------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self):
        return f"TracedArray({self.data!r})"

    # -- arithmetic --------------------------------------------------------------------------------
    def _binary(self, other, name, reverse=False):
        a, b = (other, self) if reverse else (self, other)
        da, db = _data(a), _data(b)
        if da.dtype != db.dtype and np.ndim(da) and np.ndim(db):
            dt = np.result_type(da.dtype, db.dtype)
            da, db = da.astype(dt), db.astype(dt)
        elif not np.ndim(db):
            db = np.asarray(db, dtype=da.dtype if da.dtype.kind == "f" else None)
        elif not np.ndim(da):
            da = np.asarray(da, dtype=db.dtype if db.dtype.kind == "f" else None)
        y, vjp = ad.binary(name, da, db)
        return TracedArray._make(y, [a, b], lambda dys, need: vjp(dys[0]))

    def _unary_op(self, name):
        return _unary(name, self)

    @staticmethod
    def _matmul_op(a, b):
        return _matmul(a, b)

    def _compare(self, o, op):
        return op(self.data, _data(o))

    # -- shape -------------------------------------------------------------------------------------------
    def __getitem__(self, idx):
        x = self.data
        idx = tuple(_data(i) if isinstance(i, TracedArray) else i for i in idx) if isinstance(idx, tuple) else idx

        def vjp(dys, need):
            g = np.zeros_like(x, dtype=dys[0].dtype)
            np.add.at(g, idx, dys[0])
            return (g,)
        return TracedArray._make(np.array(x[idx]), [self], vjp)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old = self.shape
        return TracedArray._make(self.data.reshape(shape), [self], lambda dys, need: (dys[0].reshape(old),))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(axes) if axes else tuple(reversed(range(self.ndim)))
        inv = tuple(np.argsort(axes))
        return TracedArray._make(np.transpose(self.data, axes), [self], lambda dys, need: (np.transpose(dys[0], inv),))

    T = property(lambda self: self.transpose())

    # -- reductions ----------------------------------------------------------------------------------------
    def _axes(self, axis):
        if axis is None:
            return tuple(range(self.ndim))
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        return tuple(a % self.ndim for a in axes)

    def _reduce(self, fn, axis, keepdims):
        axes = self._axes(axis)
        y, vjp = fn(self.data, axes)
        out = TracedArray._make(y, [self], lambda dys, need: (vjp(dys[0].reshape(y.shape)),))
        return out if keepdims else out.reshape(tuple(s for i, s in enumerate(y.shape) if i not in axes))

    def sum(self, axis=None, keepdims=False):
        return self._reduce(ad.reduce_sum, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return self._reduce(ad.reduce_mean, axis, keepdims)

    def _extreme(self, axis, keepdims, largest):
        if axis is None:
            return self.reshape(-1)._extreme(0, keepdims=False, largest=largest) if not keepdims else \
                self.reshape(-1)._extreme(0, False, largest).reshape((1,) * self.ndim)
        a = axis % self.ndim
        y, _, vjp = ad.reduce_extreme(self.data, a, largest)
        out = TracedArray._make(y, [self], lambda dys, need: (vjp(dys[0].reshape(y.shape)),))
        return out if keepdims else out.reshape(tuple(s for i, s in enumerate(y.shape) if i != a))

    def max(self, axis=None, keepdims=False):
        return self._extreme(axis, keepdims, True)

    def min(self, axis=None, keepdims=False):
        return self._extreme(axis, keepdims, False)

    # -- numpy functions -------------------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        if method != "__call__" or kw.get("out") is not None:
            return NotImplemented
        name = ufunc.__name__
        if name in _UNARY and len(inputs) == 1:
            return _unary(_UNARY[name], inputs[0])
        if name in _BINARY and len(inputs) == 2:
            a, b = inputs
            if isinstance(a, TracedArray):
                return a._binary(b, _BINARY[name])
            return b._binary(a, _BINARY[name], reverse=True)
        if name in ("greater", "less", "greater_equal", "less_equal", "equal", "not_equal"):
            return ufunc(*[_data(i) for i in inputs], **kw)
        raise TypeError(f"np.{name} is not supported on traced arrays (a FunctionLayer's function); supported: "
                        + ", ".join(sorted(set(_UNARY) | set(_BINARY))) + ".")

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        if name in ("sum", "mean", "max", "min", "amax", "amin", "reshape", "transpose"):
            x, *rest = args
            x = x if isinstance(x, TracedArray) else TracedArray(x)
            method = {"amax": "max", "amin": "min"}.get(name, name)
            return getattr(x, method)(*rest, **kwargs)
        if name in ("matmul", "dot"):
            return _matmul(*args)
        raise TypeError(f"np.{name} is not supported on traced arrays (a FunctionLayer's function).")


_UNARY = {"exp": "exp", "log": "log", "sqrt": "sqrt", "tanh": "tanh", "sin": "sin", "cos": "cos",
          "absolute": "abs", "negative": "neg", "square": "square"}
_BINARY = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div", "divide": "div",
           "power": "pow", "maximum": "max", "minimum": "min"}


def _unary(name, x):
    x = x if isinstance(x, TracedArray) else TracedArray(x)
    d = x.data if x.data.dtype.kind == "f" else x.data.astype(np.float64)
    y, vjp = ad.unary(name, d)
    return TracedArray._make(y, [x], lambda dys, need: (vjp(dys[0]),))


def _matmul(a, b):
    da, db = _data(a), _data(b)
    if da.ndim != 2 or db.ndim != 2:
        raise TypeError("matmul of traced arrays takes two matrices.")
    y, vjp = ad.matmul(da, db)
    return TracedArray._make(y, [a, b], lambda dys, need: vjp(dys[0]))


def wrap(a, tape, key):
    """For core/ops_custom.traced: an array as a traced leaf."""
    return TracedArray(a, key, tape)


def unwrap(r):
    if isinstance(r, TracedArray):
        return r.data, r.key, r.tape
    return np.asarray(r), None, None
