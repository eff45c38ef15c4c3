"""Array layers that MATLAB's toolbox has no constructor for, added to the core for the
Wolfram dialect (ElementwiseLayer[f], ThreadingLayer[f], ReshapeLayer, FlattenLayer):

* ElementwiseFunctionLayer: a named elementwise function or a Python callable;
* ThreadingFunctionLayer: a function of several equally sized inputs, element by element;
* ArrayReshapeLayer: a row-major reshape of the internal (C, H, W) example, which is
  Wolfram's (and NumPy's) reading order.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo

from ..core.layer import Layer, SizeError
from ..core.size import Size
from .combine import _MultiInput


def _function(table_name: str):
    def check(value, info: ValidationInfo):
        from ..kernels.cpu import elementwise as ew  # plain numpy, compiles nothing
        names = ew.UNARY if table_name == "UNARY" else ew.BINARY
        if callable(value) and not isinstance(value, str):
            return value
        if isinstance(value, str) and value in names:
            return value
        raise ValueError(f"Expected {info.field_name} to be one of {', '.join(names)} or a function.")
    return BeforeValidator(check)


def _fn_text(fn) -> str:
    return fn if isinstance(fn, str) else getattr(fn, "__name__", "function")


class ElementwiseFunctionLayer(Layer):
    """y = f(x) element by element; f a name of ``kernels.cpu.elementwise.UNARY`` or a callable."""

    class_name: ClassVar[str] = "ElementwiseFunctionLayer"
    Type: ClassVar[str] = "Elementwise"
    DefaultName: ClassVar[str] = "elementwise"
    family: ClassVar[str] = "elementwise"
    hyperparameters: ClassVar = ("Function",)

    Function: Annotated[Any, _function("UNARY")]

    def description(self):
        return f"Elementwise {_fn_text(self.Function)}"


class ThreadingFunctionLayer(_MultiInput):
    """y = f(x1, x2, ...) element by element over inputs of one rank that broadcast along
    axes of size 1; f a name of
    ``kernels.cpu.elementwise.BINARY`` (folded left) or a callable of that many arrays."""

    class_name: ClassVar[str] = "ThreadingFunctionLayer"
    Type: ClassVar[str] = "Threading"
    DefaultName: ClassVar[str] = "threading"
    family: ClassVar[str] = "threading"
    hyperparameters: ClassVar = ("Function",)

    Function: Annotated[Any, _function("BINARY")]

    def description(self):
        return f"Threading {_fn_text(self.Function)} over {self.num_inputs} inputs"

    def infer(self, inputs):
        """Inputs of one rank whose dimensions agree or are 1 (broadcast)."""
        first = inputs[0]
        out = [first.channels, *first.spatial]
        for port, size in zip(self.InputNames[1:], inputs[1:]):
            dims = [size.channels, *size.spatial]
            if len(dims) != len(out) or any(a != b and a != 1 and b != 1 for a, b in zip(out, dims)):
                raise SizeError(port, f"Input size mismatch: {size} at '{port}' does not broadcast with {first} at "
                                      "'in1' (dimensions must agree or be 1).")
            out = [max(a, b) for a, b in zip(out, dims)]
        return self, [Size(tuple(out[1:]), out[0])]


def _output_size(value, info: ValidationInfo):
    if isinstance(value, Size):
        return value
    try:
        spatial, channels = value
        return Size(tuple(int(s) for s in spatial), int(channels))
    except (TypeError, ValueError):
        raise ValueError("Expected OutputSize to be a Size (spatial dimensions, channels).") from None


class ArrayReshapeLayer(Layer):
    """Reshape one example to OutputSize, reading and writing the internal (C, H, W)
    layout row-major; the element count must not change."""

    class_name: ClassVar[str] = "ArrayReshapeLayer"
    Type: ClassVar[str] = "Reshape"
    DefaultName: ClassVar[str] = "reshape"
    family: ClassVar[str] = "reshape"
    hyperparameters: ClassVar = ("OutputSize",)

    OutputSize: Annotated[Any, BeforeValidator(_output_size)]

    def description(self):
        return f"Reshape to {self.OutputSize}"

    def infer(self, inputs):
        x = inputs[0]
        if x.numel != self.OutputSize.numel:
            raise SizeError("in", f"Cannot reshape {x.numel} elements ({x}) to {self.OutputSize} "
                                  f"({self.OutputSize.numel} elements).")
        return self, [self.OutputSize]


def _perm(value, info: ValidationInfo):
    try:
        p = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError("Expected Perm to be a permutation of 0, 1, ..., r-1.") from None
    if sorted(p) != list(range(len(p))):
        raise ValueError("Expected Perm to be a permutation of 0, 1, ..., r-1.")
    return p


class ArrayTransposeLayer(Layer):
    """Permute the axes of one example's internal shape (C,), (C, H, W): output axis i is
    input axis Perm[i]; OutputSize is the size the permuted array is read as. Used for
    Wolfram's Interleaving (channels last) and for softmax over a level other than the
    channels."""

    class_name: ClassVar[str] = "ArrayTransposeLayer"
    Type: ClassVar[str] = "Transpose"
    DefaultName: ClassVar[str] = "transpose"
    family: ClassVar[str] = "transpose"
    hyperparameters: ClassVar = ("Perm",)

    Perm: Annotated[Any, BeforeValidator(_perm)]

    def description(self):
        return f"Transpose {self.Perm}"

    def infer(self, inputs):
        x = inputs[0]
        shape = (x.channels, *x.spatial)
        if len(shape) != len(self.Perm):
            raise SizeError("in", f"Perm {self.Perm} does not fit an input of rank {len(shape)} ({x}).")
        out = tuple(shape[p] for p in self.Perm)
        return self, [Size(out[1:], out[0])]


__all__ = ["ElementwiseFunctionLayer", "ThreadingFunctionLayer", "ArrayReshapeLayer", "ArrayTransposeLayer"]
