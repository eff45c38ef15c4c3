"""Activation layers and softmax: the output has the size of the input.

An activation spec subclasses ``ActivationLayer``; its kernels take ``kernel_args()`` after the
data (by default its hyperparameters' values, in order). Its scalar math lives in
kernels/activation_math.py and its registry row in core/registry.py (docs/adding_a_layer.md)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from ..core.layer import Choice, Layer, Scalar


class ActivationLayer(Layer):
    """Base of the elementwise activations and softmax (core/ops.py's ActivationOp runs them)."""

    def kernel_args(self) -> tuple:
        """The kernels' hyperparameters after the data: forward(x, *args), backward(dy, x, y, *args)."""
        return tuple(getattr(self, name) for name in self.hyperparameters)


class ReLULayer(ActivationLayer):
    class_name: ClassVar[str] = "ReLULayer"
    Type: ClassVar[str] = "ReLU"
    DefaultName: ClassVar[str] = "relu"
    family: ClassVar[str] = "relu"

    def description(self):
        return "ReLU"


class LeakyReLULayer(ActivationLayer):
    class_name: ClassVar[str] = "LeakyReLULayer"
    Type: ClassVar[str] = "Leaky ReLU"
    DefaultName: ClassVar[str] = "leakyrelu"
    family: ClassVar[str] = "leakyrelu"
    hyperparameters: ClassVar = ("Scale",)

    Scale: Annotated[Any, Scalar()] = 0.01

    def description(self):
        return f"Leaky ReLU with scale {self.Scale:g}"


class ClippedReLULayer(ActivationLayer):
    class_name: ClassVar[str] = "ClippedReLULayer"
    Type: ClassVar[str] = "Clipped ReLU"
    DefaultName: ClassVar[str] = "clippedrelu"
    family: ClassVar[str] = "clippedrelu"
    hyperparameters: ClassVar = ("Ceiling",)

    Ceiling: Annotated[Any, Scalar(0, lo_open=True)]

    def description(self):
        return f"Clipped ReLU with ceiling {self.Ceiling:g}"


class ELULayer(ActivationLayer):
    class_name: ClassVar[str] = "ELULayer"
    Type: ClassVar[str] = "ELU"
    DefaultName: ClassVar[str] = "elu"
    family: ClassVar[str] = "elu"
    hyperparameters: ClassVar = ("Alpha",)

    Alpha: Annotated[Any, Scalar(0, lo_open=True)] = 1.0

    def description(self):
        return f"ELU with Alpha {self.Alpha:g}"


class TanhLayer(ActivationLayer):
    class_name: ClassVar[str] = "TanhLayer"
    Type: ClassVar[str] = "Tanh"
    DefaultName: ClassVar[str] = "tanh"
    family: ClassVar[str] = "tanh"

    def description(self):
        return "Hyperbolic tangent"


class SigmoidLayer(ActivationLayer):
    class_name: ClassVar[str] = "SigmoidLayer"
    Type: ClassVar[str] = "Sigmoid"
    DefaultName: ClassVar[str] = "sigmoid"
    family: ClassVar[str] = "sigmoid"

    def description(self):
        return "sigmoid"


class SwishLayer(ActivationLayer):
    class_name: ClassVar[str] = "SwishLayer"
    Type: ClassVar[str] = "Swish"
    DefaultName: ClassVar[str] = "swish"
    family: ClassVar[str] = "swish"

    def description(self):
        return "swish"


class GELULayer(ActivationLayer):
    class_name: ClassVar[str] = "GELULayer"
    Type: ClassVar[str] = "GELU"
    DefaultName: ClassVar[str] = "gelu"
    family: ClassVar[str] = "gelu"
    hyperparameters: ClassVar = ("Approximation",)

    Approximation: Annotated[Any, Choice("none", "tanh")] = "none"

    def description(self):
        return "GELU"

    def kernel_args(self):
        return (self.Approximation == "tanh",)


class SoftmaxLayer(ActivationLayer):
    class_name: ClassVar[str] = "SoftmaxLayer"
    Type: ClassVar[str] = "Softmax"
    DefaultName: ClassVar[str] = "softmax"
    family: ClassVar[str] = "softmax"

    def description(self):
        return "softmax"
