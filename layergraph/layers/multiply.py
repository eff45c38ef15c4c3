"""multiplicationLayer: the element-wise product of several inputs (MATLAB R2020b's
multiplicationLayer; Wolfram's ThreadingLayer[Times] computes the same). The inputs agree in
every dimension or are 1 (a singleton dimension broadcasts), as MATLAB allows: an SE block's
C x 1 x 1 gate times its H x W x C features."""
from __future__ import annotations

from typing import ClassVar

from ..core.layer import SizeError
from ..core.size import Size
from .combine import _MultiInput


def broadcast_size(inputs, names) -> Size:
    """The size inputs of one rank broadcast to (dimensions agree or are 1), else SizeError."""
    first = inputs[0]
    out = [first.channels, *first.spatial]
    for port, size in zip(names[1:], inputs[1:]):
        dims = [size.channels, *size.spatial]
        if len(dims) != len(out) or any(a != b and a != 1 and b != 1 for a, b in zip(out, dims)):
            raise SizeError(port, f"Input size mismatch. The inputs must have the same size or size 1 in each "
                                  f"dimension: {size} at '{port}' but {first} at '{names[0]}'.")
        out = [max(a, b) for a, b in zip(out, dims)]
    return Size(tuple(out[1:]), out[0])


class MultiplicationLayer(_MultiInput):
    class_name: ClassVar[str] = "MultiplicationLayer"
    Type: ClassVar[str] = "Multiplication"
    DefaultName: ClassVar[str] = "multiplication"
    family: ClassVar[str] = "multiplication"

    def description(self):
        return f"Element-wise multiplication of {self.num_inputs} inputs"

    def infer(self, inputs):
        return self, [broadcast_size(inputs, self.InputNames)]


__all__ = ["MultiplicationLayer", "broadcast_size"]
