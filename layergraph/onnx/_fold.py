"""Constant folding for the ONNX importer: the nodes whose inputs are all constants (the
shape arithmetic exporters write, Shape -> Gather -> Unsqueeze -> Concat -> Reshape, and
constant subgraphs) computed once with numpy at import. No code from the file runs: each op
here is a fixed numpy function of the node's constant inputs and attributes.

The batch size is unknown at import: ``Shape`` of an activation gives ``BATCH`` in place of
the batch dimension, which Gather, Unsqueeze, Squeeze, Concat, Slice, Cast and Identity
carry along; arithmetic on it is refused (the shape would depend on the batch size), and
Reshape reads it as "the batch dimension" (importer.py)."""
from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

BATCH = np.int64(-(2 ** 62))   # the batch dimension of a shape computed at import
TIME = np.int64(-(2 ** 62) + 1)   # the time dimension of a sequence's shape (_rnn_import.py)


class FoldError(Exception):
    """This constant node cannot be folded (the message says why)."""


def attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def _no_batch(*arrays):
    for a in arrays:
        if np.asarray(a).dtype.kind == "i" and np.any(np.asarray(a) == BATCH):
            raise FoldError("the computation uses the batch size, which is not fixed at import")
        if np.asarray(a).dtype.kind == "i" and np.any(np.asarray(a) == TIME):
            raise FoldError("the computation uses the length of a sequence, which is not fixed at import")


def constant_value(node) -> np.ndarray:
    a = attrs(node)
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dtype)
    raise FoldError(f"Constant with attributes {sorted(a)} (sparse or string constants are not supported)")


def _axes(node, inputs, a, opset, index=1):
    if opset >= 13 and len(inputs) > index and inputs[index] is not None:
        return [int(v) for v in np.asarray(inputs[index]).ravel()]
    return list(a.get("axes", [])) or None


_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
           10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def fold(op: str, node, inputs: list, opset: int) -> list[np.ndarray]:
    """The outputs of a node of constant ``inputs`` (None for an absent optional input)."""
    a = attrs(node)
    x = inputs[0] if inputs else None
    if op == "Constant":
        return [constant_value(node)]
    if op == "Identity":
        return [x]
    if op == "Cast":
        to = _DTYPES.get(a.get("to"))
        if to is None:
            raise FoldError(f"Cast to element type {a.get('to')}")
        if np.any(x == BATCH) and np.dtype(to).kind == "i":
            return [x.astype(to)]
        _no_batch(x)
        return [x.astype(to)]
    if op == "Gather":
        axis = a.get("axis", 0)
        return [np.take(x, np.asarray(inputs[1]).astype(np.int64), axis=axis)]
    if op == "Unsqueeze":
        axes = _axes(node, inputs, a, opset)
        out_rank = x.ndim + len(axes)
        y = x
        for ax in sorted(ax % out_rank for ax in axes):
            y = np.expand_dims(y, ax)
        return [y]
    if op == "Squeeze":
        axes = _axes(node, inputs, a, opset)
        if axes is None:
            return [np.squeeze(x)]
        return [np.squeeze(x, axis=tuple(ax % x.ndim for ax in axes))]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(v) for v in inputs], axis=a["axis"])]
    if op == "Slice":
        if opset >= 10:
            starts, ends = np.asarray(inputs[1]).ravel(), np.asarray(inputs[2]).ravel()
            axes = np.asarray(inputs[3]).ravel() if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
            steps = np.asarray(inputs[4]).ravel() if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
        else:
            starts, ends = a["starts"], a["ends"]
            axes = a.get("axes", range(len(starts)))
            steps = [1] * len(starts)
        index = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[int(ax) % x.ndim] = slice(int(s), int(min(max(e, -2 ** 62), 2 ** 62)), int(st))
        return [x[tuple(index)]]
    if op == "Shape":
        raise AssertionError("Shape of a constant is folded by the importer")
    if op == "ConstantOfShape":
        _no_batch(x)
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return [np.full(tuple(int(v) for v in x), value.ravel()[0], dtype=value.dtype)]
    if op == "Range":
        _no_batch(*inputs)
        return [np.arange(inputs[0], inputs[1], inputs[2]).astype(np.asarray(inputs[0]).dtype)]
    if op == "Reshape":
        _no_batch(x)
        shape = [int(v) for v in inputs[1]]
        allowzero = a.get("allowzero", 0)
        shape = [x.shape[i] if (v == 0 and not allowzero) else v for i, v in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "Flatten":
        axis = a.get("axis", 1) % max(x.ndim, 1)
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal, "Less": np.less,
              "Greater": np.greater, "Max": np.maximum, "Min": np.minimum}
    if op in binary:
        _no_batch(*inputs)
        return [binary[op](*inputs)]
    if op == "Div":
        _no_batch(*inputs)
        if np.asarray(inputs[0]).dtype.kind in "iu":
            return [np.trunc(np.divide(*inputs)).astype(np.asarray(inputs[0]).dtype)]
        return [np.divide(*inputs)]
    if op == "Sum":
        _no_batch(*inputs)
        return [np.sum(np.broadcast_arrays(*inputs), axis=0)]
    unary = {"Neg": np.negative, "Sqrt": np.sqrt, "Floor": np.floor, "Ceil": np.ceil, "Abs": np.abs,
             "Reciprocal": np.reciprocal, "Exp": np.exp, "Relu": lambda v: np.maximum(v, 0),
             "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh}
    if op in unary:
        _no_batch(x)
        return [unary[op](x).astype(x.dtype)]
    if op == "Where":
        _no_batch(*inputs)
        return [np.where(*inputs)]
    raise FoldError(f"{op} of constants is not folded at import")


FOLDABLE = {"Constant", "Identity", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "ConstantOfShape",
            "Range", "Reshape", "Transpose", "Flatten", "Add", "Sub", "Mul", "Div", "Sum", "Equal", "Less",
            "Greater", "Max", "Min", "Neg", "Sqrt", "Floor", "Ceil", "Abs", "Reciprocal", "Exp", "Relu",
            "Sigmoid", "Tanh", "Where"}

__all__ = ["BATCH", "TIME", "FOLDABLE", "FoldError", "attrs", "fold", "constant_value"]
