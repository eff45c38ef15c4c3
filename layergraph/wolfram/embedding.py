"""Wolfram's EmbeddingLayer on the core's embedding layer (layers/embedding.py).

``EmbeddingLayer[size, n]`` embeds the integers 1..n as vectors of dimension size; its one
array "Weights" is n x size (row i: the vector of i), the core's stored array as it is. Its
"Input" is "Integer" (one index: a vector out), d (d indices: a d x size matrix), {d1, d2}
(a d1 x d2 x size array) or "Varying" (a sequence of indices of any length: a sequence of
vectors, T x size, each sequence its own length). Data of a "Varying" port are lists of
integers (``index_sequences``); inside, each is a 1 x T sequence, padded per mini-batch with
the padding masked (the op leaves padded steps out of its index check).

``EmbeddingLayer[size]`` takes n from its "Weights"; the doc's other source of n, a
NetEncoder producing integers connected to its input, is not read yet (docs/recurrent_plan.md 6g).
"""
from __future__ import annotations

import numpy as np

from .. import layers as L
from ..core.errors import LayerGraphError
from ..core.layer import Internal
from .args import checked_init
from .layers import Built, NetLayer, _BY_HEAD, _err, _pos_int, _recorded, _single
from .recurrent import Sequences, sequence_input
from .types import VARYING_DIM, _wl, is_varying, wl_list
from . import symbols as S


def _input_option(value):
    """EmbeddingLayer's "Input": "Integer" -> (), "Varying" -> ("Varying",), else a port spec."""
    if isinstance(value, str) and value == "Integer":
        return ()
    if isinstance(value, str) and value == VARYING_DIM:
        return (VARYING_DIM,)
    if isinstance(value, (tuple, list)) and len(value) >= 2 and isinstance(value[0], str) \
            and value[0] == VARYING_DIM:
        raise LayerGraphError(f"EmbeddingLayer: \"Input\" -> {_wl(value)} (a sequence of arrays of indices) is not "
                              "supported yet; use \"Varying\" (a sequence of indices).", "General::unsupported")
    return value


class EmbeddingLayer(NetLayer):
    """``EmbeddingLayer[size, n]``: integers 1..n -> vectors of dimension size."""

    head = "EmbeddingLayer"
    array_names = ("Weights",)
    takes_sequences = True

    def __init__(self, size=None, n=S.Automatic, **options):
        if "Input" in options:
            options["Input"] = _input_option(options["Input"])
        super().__init__(**options)
        if size is None or size is S.Automatic:
            raise LayerGraphError("EmbeddingLayer: the embedding dimension size is not specified; give "
                                  "EmbeddingLayer(size, n).", "General::nfspec")
        size = _pos_int(self.head, "the embedding size", size)
        w = self.arrays.get("Weights")
        if w is not None and w.ndim != 2:
            raise _err(self.head, f"the array \"Weights\" should be a matrix n{chr(215)}{size}; it has dimensions "
                                  f"{wl_list(w.shape)}.")
        if n is S.Automatic or n is None:
            n = None if w is None else int(w.shape[0])
        else:
            n = _pos_int(self.head, "the number of indices n", n)
        self.params = {"OutputSize": size, "InputSize": n}
        self._check_arrays(None)

    @property
    def n(self):
        return self.params["InputSize"]

    def array_dims(self, in_dims):
        return {"Weights": (self.n, self.params["OutputSize"])} if self.n is not None else {}

    def _check_arrays(self, in_dims):
        w = self.arrays.get("Weights")
        if w is None:
            return
        want = (self.n, self.params["OutputSize"])
        if tuple(w.shape) != want:
            raise _err(self.head, f"the array \"Weights\" has dimensions {wl_list(w.shape)}, but dimensions "
                                  f"{wl_list(want)} were expected.")

    def with_arrays(self, arrays):
        new = super().with_arrays(arrays)
        w = new.arrays.get("Weights")
        if new.n is None and w is not None:
            new.params = {**new.params, "InputSize": int(w.shape[0])}
        return new

    def _probe_dims(self):
        return [self.input_spec] if self.input_spec is not None else [(VARYING_DIM,)]

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        if self.n is None:
            raise LayerGraphError(f"{self.head}: the number of indices n is not specified; give "
                                  f"EmbeddingLayer({self.params['OutputSize']}, n) or its \"Weights\".",
                                  "General::nfspec")
        if is_varying(dims):
            if len(dims) != 1 and not (len(dims) == 2 and dims[1] == 1):
                raise _err(self.head, f"the port \"Input\" received a sequence of length-{dims[1]} vectors; "
                                      "EmbeddingLayer takes a sequence of indices (\"Varying\").")
            rank = 2
        elif len(dims) > 2:
            raise _err(self.head, f"the port \"Input\" received an array of rank {len(dims)}; EmbeddingLayer "
                                  "takes an index, a vector or a matrix of indices here.")
        else:
            rank = len(dims) + 1
        self._check_arrays(in_dims)
        kw = {}
        if self.arrays.get("Weights") is not None:
            kw["Weights"] = Internal(self.arrays["Weights"])
        spec = L.EmbeddingLayer(Name=name, Dimension=self.params["OutputSize"], NumWords=self.n,
                                WeightLearnRateFactor=self.factor("Weights"),
                                input_form="array" if len(dims) == 1 and not is_varying(dims) else "auto", **kw)
        return Built([spec], 0, rank, _weights)

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        from .layers import NoCounterpart, _at_default
        if not isinstance(spec, L.EmbeddingLayer):
            raise NoCounterpart("not an embedding")
        _at_default(spec, "WeightL2Factor")
        arrays = _weights(spec) if spec.Weights is not None else {}
        lrm = spec.WeightLearnRateFactor
        opts = {} if lrm == 1 else {"LearningRateMultipliers": float(lrm)}
        return cls(spec.Dimension, spec.NumWords, **arrays, **opts)


def _weights(core) -> dict[str, np.ndarray]:
    return {"Weights": np.ascontiguousarray(core.internal("Weights"))}


class IndexSequences(Sequences):
    """Sequences of a "Varying" port (a variable-length vector per example): T x 1 inside,
    dims ("Varying",) outside."""

    @property
    def shape(self):
        return (len(self.items), VARYING_DIM)

    @property
    def ndim(self):
        return 2

    def __getitem__(self, idx):
        sub = super().__getitem__(idx)
        return IndexSequences(sub.items, sub.d)


def index_sequences(port, value, dims, what="Data"):
    """``sequence_input`` for any sequence port: a port "Varying" (a sequence of indices) takes a
    list of integers per example (or a list of such lists), read as T x 1 sequences."""
    if not (is_varying(dims) and len(dims) == 1):
        return sequence_input(port, value, dims, what)
    def as_column(v):
        arr = np.asarray(v) if isinstance(v, (list, tuple, np.ndarray)) else None
        return arr.reshape(-1, 1) if arr is not None and arr.ndim == 1 else v
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = list(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple, np.ndarray)) for v in value):
        value = [as_column(v) for v in value]
    else:
        value = as_column(value)
    seqs, one = sequence_input(port, value, (VARYING_DIM, 1), what)
    return IndexSequences(seqs.items, 1), one


EMBEDDING_CLASSES = (EmbeddingLayer,)
for _cls in EMBEDDING_CLASSES:
    checked_init(_cls)
    _recorded(_cls)
    _BY_HEAD[_cls.head] = _cls
del _cls

__all__ = ["EmbeddingLayer"]
