"""PlaceholderLayer: stands for an ONNX node that no layer computes, where the importing dialect
makes one rather than failing (MATLAB's importONNXLayers inserts placeholder layers; Wolfram's
Import gives PlaceholderLayer). It names the op, the node and why it has no layer; it sizes its
outputs from the model's shape inference so that the rest of the graph imports and analyses,
and it refuses to run (core/ops_extra.py: any network using it fails with that text)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo

from ..core.layer import Layer, Scalar
from ..core.size import Size


def _shapes(value, info: ValidationInfo):
    try:
        out = tuple(tuple(int(d) for d in s) for s in value)
    except (TypeError, ValueError):
        raise ValueError("Expected OutputShapes to be a list of example shapes ((C,), (C, H, W)).") from None
    if not out or any(len(s) not in (1, 2, 3) or min(s) < 1 for s in out):
        raise ValueError("Expected OutputShapes to be a list of example shapes ((C,), (C, L) or (C, H, W)).")
    return out


class PlaceholderLayer(Layer):
    class_name: ClassVar[str] = "PlaceholderLayer"
    Type: ClassVar[str] = "Placeholder"
    DefaultName: ClassVar[str] = "placeholder"
    family: ClassVar[str] = "placeholder"
    general: ClassVar = ("Name", "ONNXOperator", "ONNXNode", "Reason")

    ONNXOperator: str = ""
    ONNXNode: str = ""
    Reason: str = ""
    num_inputs: Annotated[Any, Scalar(0, integer=True)] = 1
    OutputShapes: Annotated[Any, BeforeValidator(_shapes)] = ((1,),)

    @property
    def InputNames(self):
        return [f"in{i + 1}" for i in range(self.num_inputs)] if self.num_inputs != 1 else ["in"]

    @property
    def OutputNames(self):
        n = len(self.OutputShapes)
        return ["out"] if n == 1 else [f"out{i + 1}" for i in range(n)]

    def description(self):
        return f"Placeholder for the ONNX operator '{self.ONNXOperator}'"

    def infer(self, inputs):
        sizes = []
        for s in self.OutputShapes:
            sizes.append(Size((), s[0]) if len(s) == 1 else Size((s[1], 1) if len(s) == 2 else s[1:], s[0]))
        return self, sizes

    def refusal(self) -> str:
        return (f"Layer '{self.Name}' is a placeholder for the ONNX operator '{self.ONNXOperator}' (node "
                f"'{self.ONNXNode}'), which no layer computes: {self.Reason}. Replace it with a layer that computes "
                "it (replaceLayer) before using the network.")


__all__ = ["PlaceholderLayer"]
