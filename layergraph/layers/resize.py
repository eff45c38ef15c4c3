"""resize2dLayer: resize the height and width of images by a scale or to an output size
(MATLAB's resize2dLayer; ONNX Resize and Upsample), nearest neighbour or bilinear.

Each output coordinate maps to an input coordinate by GeometricTransformMode (ONNX's
coordinate_transformation_mode): 'half-pixel' (x + 0.5) / s - 0.5, 'asymmetric' x / s,
'align-corners' x (in - 1) / (in s - 1), 'pytorch-half-pixel' (half-pixel, 0 when the output is
1 wide), s the scale (given, or out / in for an OutputSize). 'nearest' rounds it by
NearestRoundingMode: 'round' (halves up, MATLAB's default; ONNX round_prefer_ceil),
'round-prefer-floor' (ONNX's default), 'floor', 'ceil'; 'bilinear' interpolates between the two
nearest inputs, the coordinate clamped to the image. Both are one matrix per axis
(kernels/cpu/resize.py)."""
from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.layer import Choice, Layer, SizeError, Vector
from ..core.size import Size
from ._common import per_step

_SCALE = Vector(2, lo=0, integer=False, what="a positive scalar or a vector of 2 positive numbers")
_SIZE = Vector(2, what="a vector of 2 positive integers")


def _optional(check):
    def run(value, info: ValidationInfo):
        if value is None or (isinstance(value, (list, tuple, np.ndarray)) and len(value) == 0):
            return None
        out = check.func(value, info)
        if any(v <= 0 for v in out):
            raise ValueError(f"Expected {info.field_name} to be positive.")
        return out
    return BeforeValidator(run)


@per_step
class Resize2DLayer(Layer):
    class_name: ClassVar[str] = "Resize2DLayer"
    Type: ClassVar[str] = "Resize"
    DefaultName: ClassVar[str] = "resize"
    family: ClassVar[str] = "resize"
    hyperparameters: ClassVar = ("Scale", "OutputSize", "Method", "GeometricTransformMode", "NearestRoundingMode")

    Scale: Annotated[Any, _optional(_SCALE)] = None
    OutputSize: Annotated[Any, _optional(_SIZE)] = None
    Method: Annotated[Any, Choice("nearest", "bilinear")] = "nearest"
    GeometricTransformMode: Annotated[Any, Choice("half-pixel", "asymmetric", "align-corners",
                                                  "pytorch-half-pixel")] = "half-pixel"
    NearestRoundingMode: Annotated[Any, Choice("round", "round-prefer-floor", "floor", "ceil")] = "round"

    @model_validator(mode="after")
    def _one_of(self):
        if self.Scale is not None and self.OutputSize is not None:
            raise ValueError("Expected one of Scale and OutputSize to be set, not both.")
        return self

    def description(self):
        if self.Scale is None and self.OutputSize is None:
            return f"Resize {self.Method}"
        how = f"scale {self.Scale[0]:g}x{self.Scale[1]:g}" if self.Scale else \
            f"output size {self.OutputSize[0]}x{self.OutputSize[1]}"
        return f"Resize {self.Method} with {how}"

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        if self.OutputSize is not None:
            return tuple(self.OutputSize)
        return math.floor(h * self.Scale[0] + 1e-9), math.floor(w * self.Scale[1] + 1e-9)

    def infer(self, inputs):
        x = inputs[0]
        if self.Scale is None and self.OutputSize is None:
            raise SizeError("in", "Set Scale or OutputSize: the layer has neither.")
        if len(x.spatial) != 2:
            raise SizeError("in", f"Expected image input (height, width and channels); got {x}.")
        oh, ow = self.out_hw(*x.spatial)
        if oh < 1 or ow < 1:
            raise SizeError("in", f"The output size {oh}x{ow} for the input {x} is empty.")
        return self, [Size((oh, ow), x.channels)]

    def matrices(self, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """(Rh, Rw): out x in interpolation matrices of the two axes (y = Rh x Rw^T per channel)."""
        oh, ow = self.out_hw(h, w)
        scales = self.Scale or (oh / h, ow / w)
        return self._axis(h, oh, scales[0]), self._axis(w, ow, scales[1])

    def _axis(self, n_in: int, n_out: int, scale: float) -> np.ndarray:
        x = np.arange(n_out, dtype=np.float64)
        mode = self.GeometricTransformMode
        if mode == "asymmetric":
            c = x / scale
        elif mode == "align-corners":    # ONNX: the length resized is in * scale, not rounded
            n = n_in * scale if self.Scale is not None else n_out
            c = x * (n_in - 1) / (n - 1) if n > 1 else np.zeros_like(x)
        elif mode == "pytorch-half-pixel":
            c = (x + 0.5) / scale - 0.5 if n_out > 1 else np.zeros_like(x)
        else:
            c = (x + 0.5) / scale - 0.5
        r = np.zeros((n_out, n_in))
        rows = np.arange(n_out)
        if self.Method == "nearest":
            rounding = self.NearestRoundingMode
            if rounding == "floor":
                i = np.floor(c)
            elif rounding == "ceil":
                i = np.ceil(c)
            elif rounding == "round":          # halves up
                i = np.floor(c + 0.5)
            else:                              # halves down
                i = np.ceil(c - 0.5)
            r[rows, np.clip(i, 0, n_in - 1).astype(int)] = 1.0
            return r
        c = np.clip(c, 0, n_in - 1)
        i0 = np.floor(c).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        t = c - i0
        np.add.at(r, (rows, i0), 1 - t)
        np.add.at(r, (rows, i1), t)
        return r


__all__ = ["Resize2DLayer"]
