"""Normalization layers: batchNormalizationLayer and layerNormalizationLayer.

Scale, Offset, TrainedMean and TrainedVariance are 1 x 1 x C for 2-D images and
C x 1 for feature input (MATLAB's layouts, the properties); stored as (C,)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import model_validator

from ..core.layer import AUTO, AutoOr, Choice, Given, Layer, LearnableSpec, Scalar, SizeError, Stored
from ..core.size import Size
from ._common import CHANNELS, Factor, check_channels, per_step

SCALE = LearnableSpec("Scale", "ScaleInitializer", "ScaleLearnRateFactor", "ScaleL2Factor")
OFFSET = LearnableSpec("Offset", "OffsetInitializer", "OffsetLearnRateFactor", "OffsetL2Factor")
AutoCount = Annotated[Any, AutoOr(Scalar(1, integer=True), "a positive integer")]


class _ChannelNorm(Layer):
    NumChannels: AutoCount = AUTO
    Epsilon: Annotated[Any, Scalar(0, lo_open=True)] = 1e-5   # MATLAB's constructors: >= 1e-5 (matlab/limits.py)
    Scale: Annotated[Any, Stored] = None
    Offset: Annotated[Any, Stored] = None
    ScaleInitializer: Annotated[Any, Choice("ones", "zeros", "narrow-normal", allow_callable=True)] = "ones"
    OffsetInitializer: Annotated[Any, Choice("zeros", "ones", "narrow-normal", allow_callable=True)] = "zeros"
    ScaleLearnRateFactor: Factor = 1.0
    OffsetLearnRateFactor: Factor = 1.0
    ScaleL2Factor: Factor = 1.0
    OffsetL2Factor: Factor = 1.0

    # Offset before Scale, as MATLAB's display lists them
    learnables: ClassVar = (OFFSET, SCALE)
    # 2-D images unless inference finds feature input; set by infer
    _arrays: ClassVar[tuple[str, ...]] = ("Scale", "Offset")
    array_layouts: ClassVar = {"Scale": CHANNELS, "Offset": CHANNELS}

    @model_validator(mode="after")
    def _check(self):
        given = [getattr(self, n) for n in self._arrays if getattr(self, n) is not None]
        if given and self.NumChannels == AUTO:
            object.__setattr__(self, "NumChannels", int(given[0].size))
        if self.NumChannels != AUTO:
            for name in self._arrays:
                value = getattr(self, name)
                if value is not None and (value.size != self.NumChannels or value.squeeze().ndim > 1):
                    shape = "x".join(map(str, value.shape))
                    raise ValueError(
                        f"Invalid value for '{name}' of {self.class_name}: array of size {shape}. Expected "
                        f"{name} to be of size 1x1x{self.NumChannels} (images) or {self.NumChannels}x1 "
                        "(features).")
        return self

    def channel_shape(self, size: Size | None = None) -> tuple[int, ...]:
        """1 x 1 x C for images, C x 1 for features."""
        c = self.NumChannels
        if size is not None and not size.is_image:
            return (c, 1)
        return (1,) * 2 + (c,)

    def learnable_sizes(self, size: Size | None = None):
        return {spec.name: self.channel_shape(size) for spec in self.learnables}

    def fans(self, name):
        return self.NumChannels, self.NumChannels

    def infer(self, inputs):
        x = inputs[0]
        if x.is_sequence and x.is_image:   # batchNormalizationLayer takes them per step (per_step)
            raise SizeError("in", f"{self.class_name} does not take image sequences yet; the input is a sequence "
                                  f"of {x} images. Use batchNormalizationLayer, or flatten them first (flattenLayer).")
        check_channels(self.NumChannels, x.channels)
        sized = self._resolved_copy(NumChannels=x.channels)
        # arrays given in the internal layout (a dialect's build) read in MATLAB's layout for this input
        shapes = {n: Given(self.channel_shape(x)) for n in self._arrays
                  if sized.internal(n) is not None and n not in sized._shapes}
        if shapes:
            object.__setattr__(sized, "_shapes", {**sized._shapes, **shapes})
        return sized, [x]


@per_step
class BatchNormalizationLayer(_ChannelNorm):
    """batchNormalizationLayer: normalizes each channel over the observations and
    spatial positions of a mini-batch; predicts with TrainedMean / TrainedVariance."""

    class_name: ClassVar[str] = "BatchNormalizationLayer"
    Type: ClassVar[str] = "Batch Normalization"
    DefaultName: ClassVar[str] = "batchnorm"
    family: ClassVar[str] = "batchnorm"
    general: ClassVar = ("Name", "NumChannels", "TrainedMean", "TrainedVariance")
    hyperparameters: ClassVar = ("MeanDecay", "VarianceDecay", "Epsilon")
    states: ClassVar = ("TrainedMean", "TrainedVariance")
    _arrays: ClassVar = ("Scale", "Offset", "TrainedMean", "TrainedVariance")
    array_layouts: ClassVar = {n: CHANNELS for n in _arrays}

    TrainedMean: Annotated[Any, Stored] = None
    TrainedVariance: Annotated[Any, Stored] = None
    MeanDecay: Annotated[Any, Scalar(0, 1)] = 0.1
    VarianceDecay: Annotated[Any, Scalar(0, 1)] = 0.1

    @model_validator(mode="after")
    def _check_variance(self):
        if self.TrainedVariance is not None and (self.TrainedVariance < 0).any():
            raise ValueError(f"Invalid value for 'TrainedVariance' of {self.class_name}: Expected "
                             "TrainedVariance to be nonnegative.")
        return self

    def state_sizes(self, size: Size | None = None):
        return {name: self.channel_shape(size) for name in self.states}

    def description(self):
        if self.NumChannels == AUTO:
            return "Batch normalization"
        return f"Batch normalization with {self.NumChannels} channels"


class LayerNormalizationLayer(_ChannelNorm):
    """layerNormalizationLayer: normalizes each observation over its channels (and,
    for images with OperationDimension 'auto' or 'spatial-channel', spatial positions)."""

    class_name: ClassVar[str] = "LayerNormalizationLayer"
    Type: ClassVar[str] = "Layer Normalization"
    DefaultName: ClassVar[str] = "layernorm"
    family: ClassVar[str] = "layernorm"
    general: ClassVar = ("Name", "NumChannels")
    hyperparameters: ClassVar = ("Epsilon", "OperationDimension")

    OperationDimension: Annotated[Any, Choice("auto", "channel-only", "spatial-channel",
                                              "batch-excluded")] = "auto"

    def description(self):
        if self.NumChannels == AUTO:
            return "Layer normalization"
        return f"Layer normalization with {self.NumChannels} channels"
