"""Ops for the array layers of ``layers/array.py`` (elementwise functions, threading,
row-major reshape), sum pooling, and group / instance normalization. Registered in ``ops.OPS``."""
from __future__ import annotations

import numpy as np

from .op import Op


def _traced_gradients(fn, xs, dy):
    """The gradients of a user's Python function ``fn(*xs)`` at ``xs`` for the output gradient
    ``dy``, exact, from the tape (core/traced_array.py: numpy's operations traced); None when
    ``fn`` uses something the tape cannot follow (then the kernels' central differences serve)."""
    from . import autodiff as ad
    from .traced_array import TracedArray
    tape = ad.Tape()
    keys = [tape.leaf() for _ in xs]
    try:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"), ad.tracing(tape):
            y = fn(*[TracedArray(np.asarray(x, dtype=np.float64), key, tape) for x, key in zip(xs, keys)])
        if not isinstance(y, TracedArray) or y.tape is not tape or y.key is None or y.shape != np.shape(dy):
            return None
        grads = tape.gradients(y.key, np.asarray(dy, dtype=np.float64), keys)
    except Exception:  # noqa: BLE001 -- the user's code, or an operation the tape does not know
        return None
    return [np.zeros_like(x) if g is None else np.asarray(g, dtype=np.float64).reshape(np.shape(x)).astype(x.dtype)
            for g, x in zip(grads, xs)]


class ElementwiseOp(Op):
    def forward(self, k, xs, P, training):
        y = k("elementwise", "forward_infer")(xs[0], self.layer.Function)
        return [y], (xs[0], y)

    def backward(self, k, dys, ctx, P):
        x, y = ctx
        fn = self.layer.Function
        if callable(fn):
            exact = _traced_gradients(fn, [x], dys[0])
            if exact is not None:
                return exact, {}
        return [k("elementwise", "backward")(dys[0], x, y, fn)], {}


class ThreadingOp(Op):
    def forward(self, k, xs, P, training):
        return [k("threading", "forward_infer")(xs, self.layer.Function)], xs

    def backward(self, k, dys, ctx, P):
        fn = self.layer.Function
        if callable(fn):
            exact = _traced_gradients(fn, ctx, dys[0])
            if exact is not None:
                return exact, {}
        return list(k("threading", "backward")(dys[0], ctx, fn)), {}


class ReshapeOp(Op):
    def forward(self, k, xs, P, training):
        x = xs[0]
        return [x.reshape((x.shape[0],) + self.out_sizes[0].internal)], x.shape

    def backward(self, k, dys, ctx, P):
        return [dys[0].reshape(ctx)], {}


class TransposeOp(Op):
    host_only = True  # numpy transposes
    def forward(self, k, xs, P, training):
        perm = (0,) + tuple(p + 1 for p in self.layer.Perm)
        return [np.ascontiguousarray(xs[0].transpose(perm))], None

    def backward(self, k, dys, ctx, P):
        inverse = np.argsort((0,) + tuple(p + 1 for p in self.layer.Perm))
        return [np.ascontiguousarray(dys[0].transpose(tuple(inverse)))], {}


class GroupNormOp(Op):
    """Group and instance normalization: one kernel, G = NumGroups (C for instance
    normalization); Wolfram's "Unbiased" and Method -> "RMS" ride along as flags."""

    learnable_names = ("Offset", "Scale")

    def _hp(self):
        L = self.layer
        return L.num_groups(self.in_sizes[0].channels), L.Epsilon, bool(L.unbiased), bool(L.rms)

    def forward(self, k, xs, P, training):
        y, mean, var = k("groupnorm", "forward_train")(xs[0], P["Scale"], P["Offset"], *self._hp())
        return [y], (xs[0], mean, var)

    def backward(self, k, dys, ctx, P):
        x, mean, var = ctx
        dx, dscale, doffset = k("groupnorm", "backward")(dys[0], x, P["Scale"], mean, var, *self._hp())
        return [dx], {"Scale": dscale, "Offset": doffset}


class SumPoolOp(Op):
    """Window sums: average pooling (padding counted) times the window size."""

    host_only = True  # the scaling is numpy arithmetic

    def _hp(self):
        L = self.layer
        return (*L.PoolSize, *L.Stride, *L.PaddingSize)

    def forward(self, k, xs, P, training):
        ph, pw = self.layer.PoolSize
        y = k("avgpool", "forward_infer")(xs[0], *self._hp(), True)
        return [y * y.dtype.type(ph * pw)], xs[0].shape

    def backward(self, k, dys, ctx, P):
        ph, pw = self.layer.PoolSize
        dy = dys[0] * dys[0].dtype.type(ph * pw)
        return [k("avgpool", "backward")(dy, ctx[2], ctx[3], *self._hp(), True)], {}


ARRAY_OPS = {"sumpool": SumPoolOp, "instancenorm": GroupNormOp, "groupnorm": GroupNormOp,
             "elementwise": ElementwiseOp, "threading": ThreadingOp, "reshape": ReshapeOp, "transpose": TransposeOp}
