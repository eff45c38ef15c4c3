"""Convolution layers: convolution2dLayer, groupedConvolution2dLayer, transposedConv2dLayer.

MATLAB layouts (the properties): Weights FH x FW x C x F (grouped: FH x FW x C/G x F/G x G;
transposed: FH x FW x F x C), Bias 1 x 1 x F (grouped: 1 x 1 x F/G x G). Stored in the
internal layout (conventions.py): F x C x FH x FW (grouped: G*F/G x C/G x FH x FW, groups
outermost; transposed: C x F x FH x FW), Bias (F,).
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.layer import AUTO, AutoOr, Choice, Layer, LearnableSpec, Scalar, SizeError, Stored, Vector
from ..core.size import Size
from ..display.matlab_format import format_size, int2str
from ._common import (
    CHANNELS, CONV_WEIGHTS, GROUPED_BIAS, GROUPED_WEIGHTS, TRANSPOSED_WEIGHTS, Factor, ManualPaddingOnly, Pad4,
    PaddingMode, PosInt, check_channels, check_given_arrays, per_step, require_fit, require_image, same_padding,
    window_output,
)

WEIGHTS = LearnableSpec("Weights", "WeightsInitializer", "WeightLearnRateFactor", "WeightL2Factor")
BIAS = LearnableSpec("Bias", "BiasInitializer", "BiasLearnRateFactor", "BiasL2Factor")

Vec2 = Annotated[Any, Vector(2)]
AutoCount = Annotated[Any, AutoOr(Scalar(1, integer=True), "a positive integer")]


class _LearnableFactors(Layer):
    # stored in the internal layout (F x C x FH x FW, (F,)); the properties read and take MATLAB's
    Weights: Annotated[Any, Stored] = None
    Bias: Annotated[Any, Stored] = None
    WeightsInitializer: Annotated[Any, Choice("glorot", "he", "narrow-normal", "zeros", "ones",
                                              allow_callable=True)] = "glorot"
    BiasInitializer: Annotated[Any, Choice("zeros", "narrow-normal", "ones", allow_callable=True)] = "zeros"
    WeightLearnRateFactor: Factor = 1.0
    BiasLearnRateFactor: Factor = 1.0
    WeightL2Factor: Factor = 1.0
    BiasL2Factor: Factor = 0.0

    learnables: ClassVar = (WEIGHTS, BIAS)


def _padding_text(mode, pads) -> str:
    return "padding 'same'" if mode == "same" else f"padding {int2str(pads)}"


@per_step
class Convolution2DLayer(ManualPaddingOnly, _LearnableFactors):
    """convolution2dLayer: 2-D convolution (MATLAB computes cross-correlation)."""

    class_name: ClassVar[str] = "Convolution2DLayer"
    Type: ClassVar[str] = "Convolution"
    DefaultName: ClassVar[str] = "conv"
    family: ClassVar[str] = "conv"
    array_layouts: ClassVar = {"Weights": CONV_WEIGHTS, "Bias": CHANNELS}
    hyperparameters: ClassVar = ("FilterSize", "NumChannels", "NumFilters", "Stride", "DilationFactor",
                                 "PaddingMode", "PaddingSize", "PaddingValue")

    FilterSize: Vec2
    NumChannels: AutoCount = AUTO
    NumFilters: PosInt
    Stride: Vec2 = (1, 1)
    DilationFactor: Vec2 = (1, 1)
    PaddingMode: PaddingMode = "manual"
    PaddingSize: Pad4 = (0, 0, 0, 0)
    PaddingValue: Annotated[Any, Choice("symmetric-include-edge", "symmetric-exclude-edge", "replicate",
                                        allow_number=True)] = 0.0

    @model_validator(mode="after")
    def _check(self):
        if self.Weights is not None and self.NumChannels == AUTO and self.Weights.ndim >= 3:
            object.__setattr__(self, "NumChannels", int(self.Weights.shape[2]))
        check_given_arrays(self, self._sizes(self.NumChannels))
        return self

    def _sizes(self, c):
        fh, fw = self.FilterSize
        return {"Weights": (fh, fw, c, self.NumFilters), "Bias": (1, 1, self.NumFilters)}

    def learnable_sizes(self, size=None):
        return self._sizes(self.NumChannels)

    def fans(self, name):
        fh, fw = self.FilterSize
        return fh * fw * self.NumChannels, fh * fw * self.NumFilters

    def description(self):
        filt = format_size(self.FilterSize) + ("" if self.NumChannels == AUTO else f"x{self.NumChannels}")
        dil = "" if tuple(self.DilationFactor) == (1, 1) else f", dilation factor {int2str(self.DilationFactor)}"
        return (f"{self.NumFilters} {filt} convolutions with stride {int2str(self.Stride)}{dil} and "
                f"{_padding_text(self.PaddingMode, self.PaddingSize)}")

    def infer(self, inputs):
        x = require_image(inputs[0], "A convolution layer")
        check_channels(self.NumChannels, x.channels)
        pads = (same_padding(x.spatial, self.FilterSize, self.Stride, self.DilationFactor)
                if self.PaddingMode == "same" else self.PaddingSize)
        require_fit(x.spatial, self.FilterSize, pads, self.DilationFactor, "filter")
        out = window_output(x.spatial, self.FilterSize, self.Stride, pads, self.DilationFactor)
        sized = self._resolved_copy(NumChannels=x.channels, PaddingSize=tuple(pads))
        return sized, [Size(out, self.NumFilters)]


def _num_groups(value, info: ValidationInfo):
    if isinstance(value, str):
        if value.lower() == "channel-wise":
            return "channel-wise"
        raise ValueError("Expected NumGroups to be a positive integer or 'channel-wise'.")
    return Scalar(1, integer=True, what="a positive integer or 'channel-wise'").func(value, info)


@per_step
class GroupedConvolution2DLayer(ManualPaddingOnly, _LearnableFactors):
    """groupedConvolution2dLayer: NumGroups groups of NumFiltersPerGroup filters each;
    NumGroups 'channel-wise' is depth-wise convolution."""

    class_name: ClassVar[str] = "GroupedConvolution2DLayer"
    Type: ClassVar[str] = "Grouped Convolution"
    DefaultName: ClassVar[str] = "groupedconv"
    family: ClassVar[str] = "conv"
    array_layouts: ClassVar = {"Weights": GROUPED_WEIGHTS, "Bias": GROUPED_BIAS}
    hyperparameters: ClassVar = ("FilterSize", "NumGroups", "NumChannelsPerGroup", "NumFiltersPerGroup",
                                 "Stride", "DilationFactor", "PaddingMode", "PaddingSize", "PaddingValue")

    FilterSize: Vec2
    NumChannelsPerGroup: AutoCount = AUTO
    NumFiltersPerGroup: PosInt
    NumGroups: Annotated[Any, BeforeValidator(_num_groups)]
    Stride: Vec2 = (1, 1)
    DilationFactor: Vec2 = (1, 1)
    PaddingMode: PaddingMode = "manual"
    PaddingSize: Pad4 = (0, 0, 0, 0)
    PaddingValue: Annotated[Any, Choice("symmetric-include-edge", "symmetric-exclude-edge", "replicate",
                                        allow_number=True)] = 0.0

    @model_validator(mode="after")
    def _check(self):
        w = self.Weights
        if w is not None and w.ndim >= 3 and self.NumChannelsPerGroup == AUTO:
            object.__setattr__(self, "NumChannelsPerGroup", int(w.shape[2]))
        if w is not None and self.NumGroups == "channel-wise":
            object.__setattr__(self, "NumGroups", int(w.shape[4]) if w.ndim >= 5 else 1)
        check_given_arrays(self, self.learnable_sizes())
        return self

    def learnable_sizes(self, size=None):
        fh, fw = self.FilterSize
        g = AUTO if self.NumGroups == "channel-wise" else self.NumGroups
        return {"Weights": (fh, fw, self.NumChannelsPerGroup, self.NumFiltersPerGroup, g),
                "Bias": (1, 1, self.NumFiltersPerGroup, g)}

    def fans(self, name):
        fh, fw = self.FilterSize
        return fh * fw * self.NumChannelsPerGroup, fh * fw * self.NumFiltersPerGroup

    def description(self):
        groups = "channel-wise" if self.NumGroups == "channel-wise" else f"{self.NumGroups}"
        filt = format_size(self.FilterSize) + ("" if self.NumChannelsPerGroup == AUTO
                                               else f"x{self.NumChannelsPerGroup}")
        dil = "" if tuple(self.DilationFactor) == (1, 1) else f", dilation factor {int2str(self.DilationFactor)}"
        return (f"{groups} groups of {self.NumFiltersPerGroup} {filt} convolutions with stride "
                f"{int2str(self.Stride)}{dil} and {_padding_text(self.PaddingMode, self.PaddingSize)}")

    def infer(self, inputs):
        x = require_image(inputs[0], "A grouped convolution layer")
        groups = x.channels if self.NumGroups == "channel-wise" else self.NumGroups
        if x.channels % groups:
            raise SizeError("in", f"The number of input channels ({x.channels}) must be divisible by "
                                  f"NumGroups ({groups}).")
        per_group = x.channels // groups
        check_channels(self.NumChannelsPerGroup, per_group, "NumChannelsPerGroup")
        pads = (same_padding(x.spatial, self.FilterSize, self.Stride, self.DilationFactor)
                if self.PaddingMode == "same" else self.PaddingSize)
        require_fit(x.spatial, self.FilterSize, pads, self.DilationFactor, "filter")
        out = window_output(x.spatial, self.FilterSize, self.Stride, pads, self.DilationFactor)
        sized = self._resolved_copy(NumChannelsPerGroup=per_group, NumGroups=groups, PaddingSize=tuple(pads))
        return sized, [Size(out, self.NumFiltersPerGroup * groups)]


@per_step
class TransposedConvolution2DLayer(_LearnableFactors):
    """transposedConv2dLayer: output (in-1)*stride + filter - cropping; 'same'
    cropping gives in*stride."""

    class_name: ClassVar[str] = "TransposedConvolution2DLayer"
    Type: ClassVar[str] = "Transposed Convolution"
    DefaultName: ClassVar[str] = "transposed-conv"
    family: ClassVar[str] = "transposed_conv"
    array_layouts: ClassVar = {"Weights": TRANSPOSED_WEIGHTS, "Bias": CHANNELS}
    hyperparameters: ClassVar = ("FilterSize", "NumChannels", "NumFilters", "Stride", "CroppingMode",
                                 "CroppingSize")

    FilterSize: Vec2
    NumChannels: AutoCount = AUTO
    NumFilters: PosInt
    Stride: Vec2 = (1, 1)
    CroppingMode: Annotated[Any, Choice("manual", "same")] = "manual"
    CroppingSize: Pad4 = (0, 0, 0, 0)

    @model_validator(mode="after")
    def _check(self):
        if self.Weights is not None and self.NumChannels == AUTO and self.Weights.ndim >= 4:
            object.__setattr__(self, "NumChannels", int(self.Weights.shape[3]))
        check_given_arrays(self, self.learnable_sizes())
        return self

    def learnable_sizes(self, size=None):
        fh, fw = self.FilterSize
        return {"Weights": (fh, fw, self.NumFilters, self.NumChannels), "Bias": (1, 1, self.NumFilters)}

    def fans(self, name):
        fh, fw = self.FilterSize
        return fh * fw * self.NumFilters, fh * fw * self.NumChannels

    def description(self):
        filt = format_size(self.FilterSize) + ("" if self.NumChannels == AUTO else f"x{self.NumChannels}")
        crop = "cropping 'same'" if self.CroppingMode == "same" else f"cropping {int2str(self.CroppingSize)}"
        return f"{self.NumFilters} {filt} transposed convolutions with stride {int2str(self.Stride)} and {crop}"

    def infer(self, inputs):
        x = require_image(inputs[0], "A transposed convolution layer")
        check_channels(self.NumChannels, x.channels)
        if self.CroppingMode == "same":
            crops = []
            for k, s in zip(self.FilterSize, self.Stride):
                total = max(k - s, 0)
                crops.append((total // 2, total - total // 2))
            crop = (crops[0][0], crops[0][1], crops[1][0], crops[1][1])
        else:
            crop = self.CroppingSize
        out = ((x.spatial[0] - 1) * self.Stride[0] + self.FilterSize[0] - crop[0] - crop[1],
               (x.spatial[1] - 1) * self.Stride[1] + self.FilterSize[1] - crop[2] - crop[3])
        if min(out) < 1:
            raise SizeError("in", f"The cropping {int2str(crop)} leaves an empty output for input size "
                                  f"{x.spatial[0]}x{x.spatial[1]}.")
        sized = self._resolved_copy(NumChannels=x.channels, CroppingSize=tuple(crop))
        return sized, [Size(out, self.NumFilters)]
