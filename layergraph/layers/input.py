"""Input layers: imageInputLayer and featureInputLayer.

The normalization statistics (Mean, StandardDeviation, Min, Max) are stored in the
internal layout the input op reads (images: C x H x W per element, C x 1 x 1 per channel,
1 x 1 x 1 for all; features: (C,) or (1,)); the properties read and take MATLAB's
(H x W x C, 1 x 1 x C or 1 x 1; C x 1 or 1 x 1), as given."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.layer import ArrayLayout, Choice, Layer, Logical, Scalar, Stored
from ..core.size import Size
from ..display.matlab_format import format_size


NORMALIZATIONS = ("zerocenter", "zscore", "rescale-symmetric", "rescale-zero-one", "none")


def _image_size(value, info: ValidationInfo):
    text = "a vector [h w] or [h w c] of positive integers"
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"Expected InputSize to be {text}.") from None
    if arr.size not in (2, 3) or np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise ValueError(f"Expected InputSize to be {text}.")
    dims = [int(v) for v in arr]
    return tuple(dims if len(dims) == 3 else dims + [1])


def _image_stat_to_internal(layer, v):
    h, w, c = layer.InputSize
    if v.size == 1:
        return v.reshape(1, 1, 1)
    if v.size == c:
        return v.reshape(c, 1, 1)
    return v.reshape(h, w, c, order="F").transpose(2, 0, 1)   # MATLAB's element order


def _image_stat_to_matlab(layer, v):
    if v.size == 1:
        return v.reshape(1, 1)
    if v.shape[1:] == (1, 1):
        return v.reshape(1, 1, -1)
    return v.transpose(1, 2, 0)


IMAGE_STATISTIC = ArrayLayout(_image_stat_to_internal, _image_stat_to_matlab)
FEATURE_STATISTIC = ArrayLayout(lambda layer, v: v.reshape(-1), lambda layer, v: v.reshape(-1, 1))
STATISTICS = ("Mean", "StandardDeviation", "Min", "Max")


class _InputLayer(Layer):
    is_input: ClassVar[bool] = True
    family: ClassVar[str] = "input"

    Normalization: Annotated[Any, Choice(*NORMALIZATIONS, allow_callable=True)] = "zerocenter"
    NormalizationDimension: Annotated[Any, Choice("auto", "channel", "element", "all")] = "auto"
    Mean: Annotated[Any, Stored] = None
    StandardDeviation: Annotated[Any, Stored] = None
    Min: Annotated[Any, Stored] = None
    Max: Annotated[Any, Stored] = None
    SplitComplexInputs: Annotated[Any, Logical] = False

    def _statistics_shown(self) -> tuple[str, ...]:
        return {
            "zerocenter": ("Mean",),
            "zscore": ("Mean", "StandardDeviation"),
            "rescale-symmetric": ("Max", "Min"),
            "rescale-zero-one": ("Max", "Min"),
        }.get(self.Normalization if isinstance(self.Normalization, str) else "", ())

    def _normalization_text(self) -> str:
        if callable(self.Normalization):
            return " with custom normalization"
        if self.Normalization == "none":
            return ""
        return f" with '{self.Normalization}' normalization"

    def _statistic_sizes(self) -> list[tuple[int, ...]]:
        raise NotImplementedError

    @model_validator(mode="after")
    def _check_statistics(self):
        allowed = self._statistic_sizes()
        for name in ("Mean", "StandardDeviation", "Min", "Max"):
            value = getattr(self, name)
            if value is None:
                continue
            if not any(value.size == int(np.prod(s)) and value.size == value.squeeze().size for s in allowed):
                shapes = " or ".join(format_size(s) for s in allowed)
                raise ValueError(
                    f"Invalid value for '{name}' of {self.class_name}: array of size "
                    f"{format_size(value.shape)}. Expected {name} to be of size {shapes}.")
            if name == "StandardDeviation" and np.any(value <= 0):
                raise ValueError(f"Invalid value for 'StandardDeviation' of {self.class_name}: "
                                 "Expected StandardDeviation to be positive.")
        return self


class ImageInputLayer(_InputLayer):
    """imageInputLayer: 2-D images H x W x C."""

    class_name: ClassVar[str] = "ImageInputLayer"
    Type: ClassVar[str] = "Image Input"
    DefaultName: ClassVar[str] = "imageinput"
    general: ClassVar[tuple[str, ...]] = ("Name", "InputSize")
    array_layouts: ClassVar = {n: IMAGE_STATISTIC for n in STATISTICS}

    InputSize: Annotated[Any, BeforeValidator(_image_size)]
    DataAugmentation: Annotated[Any, Choice("none", "randcrop", "randfliplr")] = "none"

    def _statistic_sizes(self):
        h, w, c = self.InputSize
        return [(h, w, c), (1, 1, c), (1, 1)]

    def property_groups(self):
        hyper = ("DataAugmentation", "Normalization", "NormalizationDimension") + self._statistics_shown()
        return [("", self.general), ("Hyperparameters", hyper)]

    def description(self) -> str:
        return f"{format_size(self.InputSize)} images{self._normalization_text()}"

    def infer(self, inputs):
        h, w, c = self.InputSize
        return self, [Size((h, w), c)]


class FeatureInputLayer(_InputLayer):
    """featureInputLayer: feature vectors (N x numFeatures data)."""

    class_name: ClassVar[str] = "FeatureInputLayer"
    Type: ClassVar[str] = "Feature Input"
    DefaultName: ClassVar[str] = "featureinput"
    general: ClassVar[tuple[str, ...]] = ("Name", "InputSize", "SplitComplexInputs")
    array_layouts: ClassVar = {n: FEATURE_STATISTIC for n in STATISTICS}

    InputSize: Annotated[Any, Scalar(1, integer=True)]
    Normalization: Annotated[Any, Choice(*NORMALIZATIONS, allow_callable=True)] = "none"

    def _statistic_sizes(self):
        return [(self.InputSize, 1), (1, 1)]

    def property_groups(self):
        hyper = ("Normalization", "NormalizationDimension") + self._statistics_shown()
        return [("", self.general), ("Hyperparameters", hyper)]

    def description(self) -> str:
        return f"{self.InputSize} features{self._normalization_text()}"

    def infer(self, inputs):
        return self, [Size((), self.InputSize)]


__all__ = ["ImageInputLayer", "FeatureInputLayer"]
