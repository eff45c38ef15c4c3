"""scalingLayer: y = Scale .* x + Bias with fixed arrays (MATLAB's scalingLayer, Reinforcement
Learning Toolbox; the ONNX importer's layer for Mul / Add / Sub / Div by a constant).

Scale and Bias are given in the internal layout of one example, broadcasting against it: a
scalar, a per-channel (C, 1, 1) or (C,) array, or the example's full (C, H, W) / (C,) shape.
They are fixed (not learnables): training leaves them as they are, as MATLAB's layer does."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo

from ..core.layer import Layer, SizeError


def _array(value, info: ValidationInfo):
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"Expected {info.field_name} to be a real numeric array.") from None
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"Expected {info.field_name} to be a nonempty array of finite real numbers.")
    a.setflags(write=False)
    return a


def _fixed(v: float) -> np.ndarray:
    a = np.array(v)
    a.setflags(write=False)
    return a


def _text(a) -> str:
    a = np.asarray(a)
    return f"{a.item():g}" if a.size == 1 else "x".join(str(d) for d in a.shape) + " array"


class ScalingLayer(Layer):
    class_name: ClassVar[str] = "ScalingLayer"
    Type: ClassVar[str] = "Scaling"
    DefaultName: ClassVar[str] = "scaling"
    family: ClassVar[str] = "scaling"
    hyperparameters: ClassVar = ("Scale", "Bias")

    Scale: Annotated[Any, BeforeValidator(_array)] = _fixed(1.0)
    Bias: Annotated[Any, BeforeValidator(_array)] = _fixed(0.0)

    def description(self):
        return f"Scaling by {_text(self.Scale)} with bias {_text(self.Bias)}"

    def infer(self, inputs):
        x = inputs[0]
        shape = x.internal
        for name in ("Scale", "Bias"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.ndim > len(shape) or np.broadcast_shapes(a.shape, shape) != shape:
                raise SizeError("in", f"{name} of size {'x'.join(map(str, a.shape)) or '1'} does not broadcast "
                                      f"against the input {x} (internal shape {shape}).")
        return self, [x]


__all__ = ["ScalingLayer"]
