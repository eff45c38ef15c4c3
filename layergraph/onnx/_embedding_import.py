"""ONNX ``Gather`` of rows of a constant matrix by integer indices -> the core's EmbeddingLayer (Wolfram's
EmbeddingLayer), used by importer.py. The export side is export.py's ``_embedding``.

Two forms are read:

* PyTorch's ``nn.Embedding``: ``Gather(weight, indices)`` with ``weight`` an initializer (NumWords x Dimension)
  and ``indices`` an int32 / int64 graph input holding **0-based** indices: [N] (one index per observation),
  [N, d] (d indices), or a sequence of indices [T, N] / [N, T] when the Gather's output reaches an LSTM / GRU /
  RNN's X (``_rnn_import.input_role`` follows it). The input becomes the input layer of 1-based indices the
  core takes (a featureInputLayer of d, a sequenceInputLayer of 1); ``Imported.input_forms`` records the shift
  ("I", "I1", "ITN", "INT": ``_rnn_import.core_array`` adds 1).
* This project's export: ``Gather(W, Sub(Cast(x, INT64), 1))`` of a float activation x of 1-based indices (for a
  sequence T x N x 1, a ``Squeeze`` of axis 2 before the Gather).

``Indices`` carries the activation through Cast, Add / Sub of an integer constant (``shift``: the Gather's index
is the core's value + shift, so only -1 gives the embedding) and the Squeeze; any other reader of integer
indices is refused. The Gather must take rows (``axis`` 0) of a constant matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import layers as L
from ..core.layer import Internal
from ._values import _Act, _Unsupported

_INTS = {6: np.int32, 7: np.int64}


@dataclass
class Indices:
    """Integer indices computed from ``act`` (an activation of 1-based indices): the Gather index is act + shift;
    ``squeezed``: the one-channel axis is gone (a T x N sequence, or [N] for one index per observation)."""
    act: _Act
    shift: int
    squeezed: bool = False


def _rows_of_constant(im, node, idx):
    """Indices of a Gather of a constant (its axis and rank are checked at the Gather, with the reason)."""
    return node.op_type == "Gather" and idx == 1 and isinstance(im.consts.get(node.input[0]), np.ndarray)


def _attr(node, name, default):
    from onnx import helper
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def is_index_input(im, vi) -> bool:
    """An integer graph input read only as the indices of Gathers of rows of constant matrices."""
    tt = vi.type.tensor_type
    readers = im.readers.get(vi.name, [])
    return tt.elem_type in _INTS and bool(readers) and all(_rows_of_constant(im, n, i) for n, i in readers)


def index_input(im, vi, lname):
    """(input layer, value, example shape, form) of an integer index input (PyTorch's nn.Embedding)."""
    from ._rnn_import import input_role
    name = vi.name
    dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
    role = None
    for node, _ in im.readers.get(name, []):
        role = role or input_role(im, node.output[0])
    if role is not None:   # a sequence of indices: [T, N] or [N, T]
        if len(dims) != 2:
            raise _Unsupported(f"the index sequence {name!r} has shape {dims}; a sequence of indices is T x N or "
                               "N x T")
        layer = L.SequenceInputLayer(Name=lname, InputSize=1, Normalization="none")
        act = _Act((lname, "out"), (1,), name, seq=role)
        return layer, Indices(act, -1, squeezed=True), (1,), "I" + role[:2]
    if len(dims) == 1:
        layer = L.FeatureInputLayer(Name=lname, InputSize=1, Normalization="none")
        return layer, Indices(_Act((lname, "out"), (1,), name), -1, squeezed=True), (1,), "I1"
    if len(dims) == 2 and dims[1]:
        layer = L.FeatureInputLayer(Name=lname, InputSize=dims[1], Normalization="none")
        return layer, Indices(_Act((lname, "out"), (dims[1],), name), -1), (dims[1],), "I"
    raise _Unsupported(f"the index input {name!r} has shape {dims}; indices are [N], [N, d] with d fixed, or a "
                       "sequence [T, N] / [N, T] that reaches an LSTM / GRU / RNN")


def _axes(im, ins, a):
    if im.opset >= 13 and len(ins) > 1 and ins[1] is not None:
        return [int(v) for v in np.ravel(im.const(ins, 1, "axes"))]
    return [int(v) for v in a.get("axes", [])]


def index_op(im, node, label, ins, a):
    """The value of an op on integer indices (or the Cast that makes them); NotImplemented when it is none."""
    op = node.op_type
    x = ins[0] if ins else None
    if op == "Cast" and isinstance(x, _Act) and int(a.get("to", 0)) in _INTS:
        return Indices(x, 0)
    idx = [v for v in ins if isinstance(v, Indices)]
    if not idx:
        return NotImplemented
    v = idx[0]
    if op in ("Add", "Sub") and len(ins) == 2 and isinstance(ins[1], np.ndarray) and ins[0] is v:
        c = np.ravel(ins[1])
        if c.size != 1 or c[0] != np.round(c[0]):
            raise _Unsupported(f"{op} of integer indices and a constant of shape {ins[1].shape}; the importer takes "
                               "one integer")
        return Indices(v.act, v.shift + (int(c[0]) if op == "Add" else -int(c[0])), v.squeezed)
    if op == "Add" and len(ins) == 2 and isinstance(ins[0], np.ndarray) and ins[1] is v and ins[0].size == 1:
        return Indices(v.act, v.shift + int(np.ravel(ins[0])[0]), v.squeezed)
    if op == "Identity":
        return v
    if op == "Squeeze" and v.act.seq and not v.squeezed and \
            [ax % 3 for ax in _axes(im, ins, a)] == [2]:   # T x N x 1 -> T x N
        return Indices(v.act, v.shift, True)
    if op == "Gather" and ins[1] is v and isinstance(ins[0], np.ndarray):
        return _embedding(im, label, ins[0], v, int(a.get("axis", 0)))
    raise _Unsupported(f"{op} of integer indices; the importer takes indices to a Gather of the rows of a constant "
                       "matrix (an embedding), through Cast, Add / Sub of an integer and the Squeeze of a "
                       "sequence's channel axis")


def _embedding(im, label, w, v, axis):
    if axis != 0 or w.ndim != 2:
        raise _Unsupported(f"Gather along axis {axis} of a constant of shape {w.shape}; an embedding gathers rows "
                           "(axis 0) of a matrix")
    if v.shift != -1:
        raise _Unsupported(f"the indices are the input {'+' if v.shift >= 0 else '-'} {abs(v.shift)}; an "
                           "embedding layer takes 1-based indices (the Gather's index is the input - 1)")
    if v.act.seq and not v.squeezed:
        raise _Unsupported("a Gather of a T x N x 1 sequence of indices; the importer takes it squeezed (T x N)")
    n, d = w.shape
    form = "array" if (not v.act.seq and not v.squeezed and v.act.shape == (1,)) else "auto"
    matrix = len(v.act.shape) == 3 and v.act.shape[2] == 1   # the export's d1 x d2 indices, N x d1 x d2 x 1
    if not v.act.seq and len(v.act.shape) != 1 and not matrix:
        raise _Unsupported(f"indices of shape (N, {', '.join(map(str, v.act.shape))}); the importer takes [N], "
                           "[N, d], [N, d1, d2, 1] and sequences")
    # (the Gather's N x d1 x d2 x 1 x Dimension is taken as the layer's d1 x d2 x Dimension: the export reshapes it so)
    rank = 3 if matrix else 2 if not (v.act.seq or v.squeezed) else None
    return im._add(L.EmbeddingLayer, label, [v.act], rank=rank,
                   Dimension=d, NumWords=n, input_form=form,
                   Weights=Internal(np.ascontiguousarray(w, dtype=np.float32)))
