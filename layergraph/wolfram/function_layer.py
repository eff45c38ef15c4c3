"""Wolfram's ``FunctionLayer[f]`` with a Python function ``f``: the core's custom layer
(layers/custom.py, core/ops_custom.py), as MATLAB's custom layers and functionLayer are.

``f`` takes one example (Wolfram's layout, channels first: a vector, a matrix, or a
channels x height x width array, no batch dimension) and returns an array; it is applied to
each example of a batch. Its argument is a numpy-like array traced on the core tape
(core/traced_array.py: arithmetic, ``np.exp``, ``np.tanh``, ``np.maximum``, ``.sum(axis)``,
indexing, ``@`` ...), so its gradient is the tape's. The output dimensions come from ``f``
on a probe input when the net is built.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError
from ..core.ops_custom import traced
from ..core.traced_array import unwrap, wrap
from ..layers.custom import custom_class
from .layers import Built, NetLayer, _single
from .types import dims_to_size, wl_list


class _Impl:
    layout = "internal"
    input_names = ("in",)
    output_names = ("out",)

    def __init__(self, f, in_dims, out_dims):
        self.f, self.in_dims, self.out_dims = f, tuple(in_dims), tuple(out_dims)

    def user(self, spec):
        return self.f

    def infer(self, spec, sizes):
        return spec, [dims_to_size(self.out_dims)]

    def run(self, spec, xs, fmts, P, training):
        x = xs[0]
        n = x.shape[0]
        per = [traced(self.f, [np.ascontiguousarray(x[i]).reshape(self.in_dims)], wrap, unwrap) for i in range(n)]
        out_internal = dims_to_size(self.out_dims).internal
        ys = [np.asarray(p[0][0]) for p in per]
        for y in ys:
            if tuple(np.shape(y)) != self.out_dims:
                raise LayerGraphError(f"FunctionLayer {spec.Name!r}: the function returned an array of dimensions "
                                      f"{wl_list(np.shape(y))}; for the probe input it returned "
                                      f"{wl_list(self.out_dims)}. The output dimensions must not depend on the "
                                      "values of the input.", "FunctionLayer::dims")
        y = np.stack([a.reshape(out_internal) for a in ys]).astype(x.dtype, copy=False) if n else \
            np.zeros((0, *out_internal), x.dtype)

        def vjp(dys):
            dx = np.stack([p[1]([dys[0][i].reshape(self.out_dims)])[0].reshape(x.shape[1:])
                           for i, p in enumerate(per)])
            return [dx], {}
        return [y], vjp


class FunctionLayer(NetLayer):
    """``FunctionLayer(f)``: f a Python function of one example (see the module docstring)."""

    head = "FunctionLayer"

    def __init__(self, f=None, **options):
        super().__init__(**options)
        if not callable(f):
            raise LayerGraphError(f"FunctionLayer: {f!r} is not a function. Give a Python function of an array, e.g. "
                                  "FunctionLayer(lambda x: np.tanh(x) * 2).", "FunctionLayer::invfunc")
        self.params = {"Function": f}
        self._fn = f

    def _probe_dims(self):
        return None   # the output depends on the input's dimensions

    def build(self, name, in_dims):
        dims = tuple(_single(self.head, in_dims))
        probe = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
        try:
            (out,), _ = traced(self._fn, [probe], wrap, unwrap)
        except LayerGraphError:
            raise
        except Exception as err:  # noqa: BLE001 -- the user's code
            raise LayerGraphError(f"FunctionLayer: the function failed on an input of dimensions {wl_list(dims)}: "
                                  f"{type(err).__name__}: {err}", "FunctionLayer::fail") from None
        out_dims = tuple(int(d) for d in np.shape(out))
        if len(out_dims) > 3:
            raise LayerGraphError(f"FunctionLayer: the function returned an array of rank {len(out_dims)}; outputs "
                                  "are vectors, matrices or rank-3 arrays.", "FunctionLayer::rank")
        cls = custom_class("FunctionLayer", "Function", ())
        spec = cls(Name=name, Description=getattr(self._fn, "__name__", "function"),
                   impl=_Impl(self._fn, dims, out_dims))
        return Built([spec], 0, len(out_dims), None)


__all__ = ["FunctionLayer"]
