"""Pooling layers. MATLAB's default Stride is [1 1], not the pool size."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import model_validator

from ..core.layer import Choice, Layer, Logical, SizeError, Vector
from ..core.size import Size
from ..display.matlab_format import format_size, int2str
from ._common import (
    ManualPaddingOnly, Pad4, PaddingMode, per_step, require_fit, require_image, same_padding, window_output,
)

Vec2 = Annotated[Any, Vector(2)]


@per_step
class _Pooling(ManualPaddingOnly, Layer):
    hyperparameters: ClassVar = ("PoolSize", "Stride", "PaddingMode", "PaddingSize")
    PoolSize: Vec2
    Stride: Vec2 = (1, 1)
    PaddingMode: PaddingMode = "manual"
    PaddingSize: Pad4 = (0, 0, 0, 0)
    _what: ClassVar[str] = ""

    @model_validator(mode="after")
    def _check_padding(self):
        t, b, l, r = self.PaddingSize
        ph, pw = self.PoolSize
        if max(t, b) >= ph or max(l, r) >= pw:
            raise ValueError(
                f"Invalid value for 'PaddingSize' of {self.class_name}: {int2str(self.PaddingSize)}. "
                f"Expected the padding to be smaller than the pool size {format_size(self.PoolSize)}.")
        return self

    def description(self):
        pad = "padding 'same'" if self.PaddingMode == "same" else f"padding {int2str(self.PaddingSize)}"
        return f"{format_size(self.PoolSize)} {self._what} with stride {int2str(self.Stride)} and {pad}"

    def infer(self, inputs):
        x = require_image(inputs[0], f"A {self.Type.lower()} layer")
        pads = same_padding(x.spatial, self.PoolSize, self.Stride) if self.PaddingMode == "same" \
            else self.PaddingSize
        require_fit(x.spatial, self.PoolSize, pads, (1, 1), "pool")
        out = Size(window_output(x.spatial, self.PoolSize, self.Stride, pads), x.channels)
        return self._resolved_copy(PaddingSize=tuple(pads)), [out] * self.NumOutputs


class MaxPooling2DLayer(_Pooling):
    """maxPooling2dLayer; HasUnpoolingOutputs adds the outputs 'indices' and 'size'."""

    class_name: ClassVar[str] = "MaxPooling2DLayer"
    Type: ClassVar[str] = "Max Pooling"
    DefaultName: ClassVar[str] = "maxpool"
    family: ClassVar[str] = "maxpool"
    general: ClassVar = ("Name", "HasUnpoolingOutputs", "NumOutputs", "OutputNames")
    _what: ClassVar[str] = "max pooling"

    HasUnpoolingOutputs: Annotated[Any, Logical] = False

    @property
    def OutputNames(self):
        return ["out", "indices", "size"] if self.HasUnpoolingOutputs else ["out"]

    def infer(self, inputs):
        if inputs[0].is_sequence and self.HasUnpoolingOutputs:
            raise SizeError("in", f"A max pooling layer with HasUnpoolingOutputs true takes images, not "
                                  f"sequences; the input is a sequence of {inputs[0]} images.")
        return super().infer(inputs)


class AveragePooling2DLayer(_Pooling):
    """averagePooling2dLayer; PaddingValue 0 counts padding as zeros, 'mean' leaves it out."""

    class_name: ClassVar[str] = "AveragePooling2DLayer"
    Type: ClassVar[str] = "Average Pooling"
    DefaultName: ClassVar[str] = "avgpool"
    family: ClassVar[str] = "avgpool"
    hyperparameters: ClassVar = ("PoolSize", "Stride", "PaddingMode", "PaddingSize", "PaddingValue")
    _what: ClassVar[str] = "average pooling"

    PaddingValue: Annotated[Any, Choice("mean", allow_number=True)] = 0.0

    @model_validator(mode="after")
    def _check_value(self):
        if self.PaddingValue not in ("mean", 0.0):
            raise ValueError(f"Invalid value for 'PaddingValue' of {self.class_name}: "
                             f"{self.PaddingValue!r}. Expected PaddingValue to be 0 or 'mean'.")
        return self


@per_step
class _GlobalPooling(Layer):
    def infer(self, inputs):
        x = require_image(inputs[0], f"A {self.Type.lower()} layer")
        return self, [Size((1, 1), x.channels)]


class GlobalAveragePooling2DLayer(_GlobalPooling):
    class_name: ClassVar[str] = "GlobalAveragePooling2DLayer"
    Type: ClassVar[str] = "Global Average Pooling"
    DefaultName: ClassVar[str] = "gapool"
    family: ClassVar[str] = "globalavgpool"

    def description(self):
        return "Global average pooling"


class GlobalMaxPooling2DLayer(_GlobalPooling):
    class_name: ClassVar[str] = "GlobalMaxPooling2DLayer"
    Type: ClassVar[str] = "Global Max Pooling"
    DefaultName: ClassVar[str] = "gmpool"
    family: ClassVar[str] = "globalmaxpool"

    def description(self):
        return "Global max pooling"


__all__ = ["MaxPooling2DLayer", "AveragePooling2DLayer", "GlobalAveragePooling2DLayer",
           "GlobalMaxPooling2DLayer"]
