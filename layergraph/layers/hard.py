"""Piecewise-linear activations of mobile networks: hard sigmoid max(0, min(1, Alpha x + Beta))
(ONNX HardSigmoid; torch's Hardsigmoid is Alpha 1/6, Beta 1/2) and hard swish
x max(0, min(1, x/6 + 1/2)) (ONNX HardSwish, MobileNetV3). Their scalar math is in
kernels/activation_math.py."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from ..core.layer import Scalar
from .activation import ActivationLayer


class HardSigmoidLayer(ActivationLayer):
    class_name: ClassVar[str] = "HardSigmoidLayer"
    Type: ClassVar[str] = "Hard Sigmoid"
    DefaultName: ClassVar[str] = "hardsigmoid"
    family: ClassVar[str] = "hardsigmoid"
    hyperparameters: ClassVar = ("Alpha", "Beta")

    Alpha: Annotated[Any, Scalar(0, lo_open=True)] = 0.2
    Beta: Annotated[Any, Scalar()] = 0.5

    def description(self):
        return f"Hard sigmoid with Alpha {self.Alpha:g} and Beta {self.Beta:g}"


class HardSwishLayer(ActivationLayer):
    class_name: ClassVar[str] = "HardSwishLayer"
    Type: ClassVar[str] = "Hard Swish"
    DefaultName: ClassVar[str] = "hardswish"
    family: ClassVar[str] = "hardswish"

    def description(self):
        return "hard swish"


__all__ = ["HardSigmoidLayer", "HardSwishLayer"]
