"""Layers with several inputs: additionLayer, concatenationLayer, depthConcatenationLayer.
Inputs are named in1, in2, ..., inN."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from ..core.layer import Layer, Scalar, SizeError
from ..core.size import Size


class _MultiInput(Layer):
    general: ClassVar = ("Name", "NumInputs", "InputNames")
    num_inputs: Annotated[Any, Scalar(2, integer=True, what="an integer scalar with value >= 2")] = 2

    @property
    def NumInputs(self) -> int:
        return self.num_inputs

    @property
    def InputNames(self):
        return [f"in{i + 1}" for i in range(self.num_inputs)]


class AdditionLayer(_MultiInput):
    class_name: ClassVar[str] = "AdditionLayer"
    Type: ClassVar[str] = "Addition"
    DefaultName: ClassVar[str] = "addition"
    family: ClassVar[str] = "addition"

    def description(self):
        return f"Element-wise addition of {self.num_inputs} inputs"

    def infer(self, inputs):
        first = inputs[0]
        for port, size in zip(self.InputNames[1:], inputs[1:]):
            if size != first:
                raise SizeError(port, f"Input size mismatch. Size of input to this layer is different from the "
                                      f"expected input size: {size} at '{port}' but {first} at 'in1'.")
        return self, [first]


def _concat(inputs, names, axis_index, axis_label):
    dims0 = inputs[0].dims
    total = 0
    for port, size in zip(names, inputs):
        if len(size.dims) != len(dims0) or any(a != b for i, (a, b) in enumerate(zip(size.dims, dims0))
                                               if i != axis_index):
            raise SizeError(port, f"Input size mismatch. Inputs must have the same size in every dimension "
                                  f"except {axis_label}: {size} at '{port}' but {inputs[0]} at 'in1'.")
        total += size.dims[axis_index]
    dims = list(dims0)
    dims[axis_index] = total
    return Size(tuple(dims[:-1]), dims[-1])


class ConcatenationLayer(_MultiInput):
    """concatenationLayer(dim, numInputs): along dimension dim of H x W x C (dim 1 of
    feature data is the channel dimension)."""

    class_name: ClassVar[str] = "ConcatenationLayer"
    Type: ClassVar[str] = "Concatenation"
    DefaultName: ClassVar[str] = "concat"
    family: ClassVar[str] = "concatenation"
    hyperparameters: ClassVar = ("Dim",)

    Dim: Annotated[Any, Scalar(1, integer=True, what="a positive integer")]

    def description(self):
        return f"Concatenation of {self.num_inputs} inputs along dimension {self.Dim}"

    def infer(self, inputs):
        nd = len(inputs[0].dims)
        if self.Dim > nd:
            raise SizeError("in1", f"Dim ({self.Dim}) exceeds the number of dimensions of the input "
                                   f"({inputs[0]}, {nd} dimensions).")
        return self, [_concat(inputs, self.InputNames, self.Dim - 1, f"dimension {self.Dim}")]


class DepthConcatenationLayer(_MultiInput):
    class_name: ClassVar[str] = "DepthConcatenationLayer"
    Type: ClassVar[str] = "Depth concatenation"
    DefaultName: ClassVar[str] = "depthcat"
    family: ClassVar[str] = "concatenation"

    def description(self):
        return f"Depth concatenation of {self.num_inputs} inputs"

    def infer(self, inputs):
        out = _concat(inputs, self.InputNames, len(inputs[0].dims) - 1, "the channel dimension")
        # sequences (N x C x T) join on the channels, step by step: the same time dimension
        for port, size in zip(self.InputNames[1:], inputs[1:]):
            if size.time != inputs[0].time:
                raise SizeError(port, f"Input size mismatch. Inputs must have the same time dimension: {size} at "
                                      f"'{port}' but {inputs[0]} at 'in1'.")
        return self, [out if inputs[0].time is None else out.with_time(inputs[0].time)]
