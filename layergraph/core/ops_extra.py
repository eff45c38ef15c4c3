"""Ops for the layers the ONNX importer needs (layers/multiply.py, scaling.py, resize.py):
element-wise products of broadcasting inputs, fixed affine maps, 2-D resizing. Registered in
``ops.OPS``. The hard sigmoid and hard swish are activations (ops.ActivationOp)."""
from __future__ import annotations

import numpy as np

from .op import Op


class MultiplicationOp(Op):
    host_only = True   # numpy broadcasting

    def forward(self, k, xs, P, training):
        return [k("multiplication", "forward_infer")(xs)], xs

    def backward(self, k, dys, ctx, P):
        return list(k("multiplication", "backward")(dys[0], ctx)), {}


class ScalingOp(Op):
    host_only = True

    def _arrays(self):
        shape = self.in_sizes[0].internal
        def lift(value):
            a = np.asarray(value, dtype=self.dtype)
            return a.reshape((1,) * (len(shape) + 1 - a.ndim) + a.shape)
        return lift(self.layer.Scale), lift(self.layer.Bias)

    def prepare(self):
        self._scale, self._bias = self._arrays()
        return {}

    def forward(self, k, xs, P, training):
        return [k("scaling", "forward_infer")(xs[0], self._scale, self._bias)], None

    def backward(self, k, dys, ctx, P):
        return [k("scaling", "backward")(dys[0], self._scale)], {}


class ResizeOp(Op):
    host_only = True

    def prepare(self):
        self._r = self.layer.matrices(*self.in_sizes[0].spatial)
        return {}

    def forward(self, k, xs, P, training):
        return [k("resize", "forward_infer")(xs[0], *self._r)], None

    def backward(self, k, dys, ctx, P):
        return [k("resize", "backward")(dys[0], *self._r)], {}


class PlaceholderOp(Op):
    """A placeholder layer refuses to run: building an executor over it fails with its text."""

    def __init__(self, layer, in_sizes, out_sizes, dtype):
        from .errors import LayerGraphError
        raise LayerGraphError(layer.refusal(), "nnet_cnn:onnx:PlaceholderLayer")


EXTRA_OPS = {"placeholder": PlaceholderOp,
             "multiplication": MultiplicationOp, "scaling": ScalingOp, "resize": ResizeOp}
