"""Input layers: imageInputLayer and featureInputLayer."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.layer import Array, Choice, Layer, Logical, Scalar
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


class _InputLayer(Layer):
    is_input: ClassVar[bool] = True
    family: ClassVar[str] = "input"

    Normalization: Annotated[Any, Choice(*NORMALIZATIONS, allow_callable=True)] = "zerocenter"
    NormalizationDimension: Annotated[Any, Choice("auto", "channel", "element", "all")] = "auto"
    Mean: Annotated[Any, Array] = None
    StandardDeviation: Annotated[Any, Array] = None
    Min: Annotated[Any, Array] = None
    Max: Annotated[Any, Array] = None
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
