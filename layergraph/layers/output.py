"""Output layers: classificationLayer (crossentropyex) and regressionLayer
(half mean squared error)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo

from ..core.layer import AUTO, AutoOr, Layer, Scalar, SizeError


def _classes(value, info: ValidationInfo):
    if isinstance(value, str):
        if value.lower() == "auto":
            return "auto"
        raise ValueError("Expected Classes to be 'auto', a list of class names or a categorical vector.")
    try:
        names = [str(v) for v in value]
    except TypeError:
        raise ValueError("Expected Classes to be 'auto', a list of class names or a categorical vector.") from None
    if len(set(names)) != len(names) or not names:
        raise ValueError("Expected Classes to be 'auto' or a list of unique class names.")
    return names


def _class_weights(value, info: ValidationInfo):
    if isinstance(value, str) and value.lower() == "none":
        return "none"
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.size == 0 or np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError("Expected ClassWeights to be 'none' or a vector of nonnegative numbers.")
    return arr


def _response_names(value, info: ValidationInfo):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray)) and all(isinstance(v, (str, np.str_)) for v in value):
        return [str(v) for v in value]
    raise ValueError("Expected ResponseNames to be a string or a list of strings.")


class ClassificationOutputLayer(Layer):
    class_name: ClassVar[str] = "ClassificationOutputLayer"
    Type: ClassVar[str] = "Classification Output"
    DefaultName: ClassVar[str] = "classoutput"
    family: ClassVar[str] = "crossentropyex"
    is_output: ClassVar[bool] = True
    general: ClassVar = ("Name", "Classes", "ClassWeights", "OutputSize")
    hyperparameters: ClassVar = ("LossFunction",)

    Classes: Annotated[Any, BeforeValidator(_classes)] = "auto"
    ClassWeights: Annotated[Any, BeforeValidator(_class_weights)] = "none"
    # set by inference (the number of classes); 'auto' until then
    OutputSize: Annotated[Any, AutoOr(Scalar(1, integer=True), "a positive integer")] = AUTO

    @property
    def LossFunction(self) -> str:
        return "crossentropyex"

    def description(self):
        if isinstance(self.Classes, list):
            n = len(self.Classes)
            if n == 1:
                return f"crossentropyex with '{self.Classes[0]}'"
            other = "class" if n == 2 else "classes"
            return f"crossentropyex with '{self.Classes[0]}' and {n - 1} other {other}"
        return "crossentropyex"

    def infer(self, inputs):
        x = inputs[0]
        if isinstance(self.Classes, list) and len(self.Classes) != x.channels:
            raise SizeError("in", f"The output size ({x.channels}) of the previous layer does not match the "
                                  f"number of classes ({len(self.Classes)}).")
        return self._resolved_copy(OutputSize=x.channels), []


class RegressionOutputLayer(Layer):
    class_name: ClassVar[str] = "RegressionOutputLayer"
    Type: ClassVar[str] = "Regression Output"
    DefaultName: ClassVar[str] = "regressionoutput"
    family: ClassVar[str] = "mse"
    is_output: ClassVar[bool] = True
    general: ClassVar = ("Name", "ResponseNames")
    hyperparameters: ClassVar = ("LossFunction",)

    ResponseNames: Annotated[Any, BeforeValidator(_response_names)] = []

    @property
    def LossFunction(self) -> str:
        return "mean-squared-error"

    def description(self):
        return "mean-squared-error"

    def infer(self, inputs):
        return self, []


__all__ = ["ClassificationOutputLayer", "RegressionOutputLayer"]
