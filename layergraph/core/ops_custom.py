"""The op of the ``custom`` family (layers/custom.py): the user's code run on host arrays,
and ``traced``, which runs a function of dialect arrays on a fresh tape (core/autodiff.py)
and returns its vjp, for the custom layers and for the losses given as functions.

The op hands the dialect's ``impl`` its inputs in the layout it asks for: 'matlab' (images
H x W x C x N with format 'SSCB', features C x N with format 'CB') or 'internal' (N first),
and takes the outputs back in that layout. An output whose size differs from the one found
when the network was built (from the user's predict on a probe) is an error naming the layer.
"""
from __future__ import annotations

import numpy as np

from . import autodiff as ad
from . import conventions as cv
from .errors import LayerGraphError
from .op import Op


def traced(fn, arrays, wrap, unwrap):
    """``fn(*[wrap(a, tape, key)])`` on a fresh tape, every array a leaf. ``unwrap(value)`` gives
    (array, key or None, tape or None) of each result. Returns (results' arrays, vjp) where
    ``vjp(dys)`` (one gradient per result, None for none) gives one gradient per array."""
    tape = ad.Tape()
    keys = [tape.leaf() for _ in arrays]
    args = [wrap(a, tape, k) for a, k in zip(arrays, keys)]
    with ad.tracing(tape):
        res = fn(*args)
    res = list(res) if isinstance(res, (tuple, list)) else [res]
    outs = [unwrap(r) for r in res]

    def vjp(dys):
        total = [None] * len(arrays)
        for (y, key, t), dy in zip(outs, dys):
            if dy is None or key is None or t is not tape:
                continue
            seed = np.asarray(dy, dtype=y.dtype).reshape(y.shape)
            for i, g in enumerate(tape.gradients(key, seed, keys, retain=True)):
                if g is not None:
                    total[i] = g if total[i] is None else total[i] + g
        return [np.zeros_like(a) if g is None else np.asarray(g, dtype=a.dtype).reshape(a.shape)
                for a, g in zip(arrays, total)]
    return [o[0] for o in outs], vjp


def to_matlab(x: np.ndarray):
    """An internal activation (N x C x H x W or N x C) in MATLAB's layout, and its format."""
    if x.ndim == 4:
        return cv.internal_images_to_matlab(x), "SSCB"
    return np.ascontiguousarray(x.T), "CB"


def matlab_shape(shape) -> tuple:
    """The MATLAB-layout shape of an internal shape (N x C x H x W -> H x W x C x N, N x C -> C x N)."""
    return (shape[2], shape[3], shape[1], shape[0]) if len(shape) == 4 else tuple(reversed(shape))


def from_matlab(y: np.ndarray, image: bool) -> np.ndarray:
    """MATLAB-layout data back to the internal layout (a 3-D image batch has one observation)."""
    if image:
        if y.ndim == 3:
            y = y[..., None]
        if y.ndim != 4:
            raise ValueError
        return cv.matlab_images_to_internal(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError
    return np.ascontiguousarray(y.T)


def _size_text(shape) -> str:
    return "×".join(map(str, shape))


class CustomOp(Op):
    host_only = True   # the user's code runs on numpy arrays

    # the updated values of the layer's states after the last forward ({name: array}; a layer
    # whose code updates state: MATLAB's properties (State)), None before one
    updated_state: dict | None = None

    @property
    def learnable_names(self):
        return tuple(s.name for s in self.layer.learnables)

    @property
    def state_names(self):
        return tuple(self.layer.states)

    def _views(self, xs):
        if self.layer.impl.layout == "internal":
            return list(xs), [""] * len(xs)
        views = [to_matlab(x) for x in xs]
        return [v for v, _ in views], [f for _, f in views]

    def forward(self, k, xs, P, training):
        impl, name = self.layer.impl, self.layer.Name
        views, fmts = self._views(xs)
        ys_view, vjp = impl.run(self.layer, views, fmts, dict(P), bool(training) and not self.predicting)
        states = self.state_names
        if states:
            ys_view, new = ys_view[:len(ys_view) - len(states)], ys_view[len(ys_view) - len(states):]
            updated = {}
            for name, v in zip(states, new):
                v = np.asarray(v)
                if v.size != np.size(P[name]):
                    raise LayerGraphError(
                        f"Layer '{self.layer.Name}': the updated value of state parameter '{name}' has size "
                        f"{_size_text(v.shape)}; the state has size {_size_text(np.shape(P[name]))}.",
                        "nnet_cnn:internal:cnn:layer:CustomLayer:StateSizeMismatch")
                updated[name] = np.ascontiguousarray(v.reshape(np.shape(P[name])), dtype=self.dtype)
            self.updated_state = updated
        n = xs[0].shape[0] if xs else 0
        ys = []
        for i, (y, size) in enumerate(zip(ys_view, self.out_sizes)):
            y = np.asarray(y)
            want = (n, *size.internal)
            try:
                got = y if impl.layout == "internal" else from_matlab(y, size.is_image)
            except ValueError:
                got = None
            if got is None or got.shape != want:
                expect = want if impl.layout == "internal" else (*size.dims, n)
                raise LayerGraphError(
                    f"Layer '{name}': Invalid output {i + 1} of the layer's function. It has size "
                    f"{_size_text(y.shape)}, but the layer's output size (found when the network was built) is "
                    f"{_size_text(expect)}. The output size must not depend on the values of the input.",
                    "nnet_cnn:internal:cnn:layer:CustomLayer:PredictOutputSizeMismatch")
            ys.append(np.ascontiguousarray(got, dtype=self.dtype))
        return ys, (vjp, [x.shape for x in xs], [y.shape for y in ys_view])

    def backward(self, k, dys, ctx, P):
        vjp, in_shapes, out_shapes = ctx
        if self.layer.impl.layout == "internal":
            views = list(dys)
        else:
            views = [to_matlab(d)[0].reshape(s) for d, s in zip(dys, out_shapes)]
        dxs_view, dps = vjp(views)
        dxs = []
        for g, shape in zip(dxs_view, in_shapes):
            if g is None:
                dxs.append(None)
                continue
            g = np.asarray(g, dtype=self.dtype)
            if self.layer.impl.layout != "internal":
                g = from_matlab(g.reshape(matlab_shape(shape)), len(shape) == 4)
            dxs.append(np.ascontiguousarray(g.reshape(shape)))
        grads = {n: np.ascontiguousarray(np.asarray(dps[n], dtype=self.dtype).reshape(P[n].shape))
                 for n in self.learnable_names if dps.get(n) is not None}
        return dxs, grads


OPS_CUSTOM = {"custom": CustomOp}
