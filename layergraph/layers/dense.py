"""fullyConnectedLayer, dropoutLayer and flattenLayer.

Weights is OutputSize x InputSize, stored as given. After a spatial input, the fully
connected layer reads the flatten of its input in its ``input_order``: 'column-major'
(MATLAB's, H fastest over H x W x C; the default) or 'row-major' (over (C, H, W), as
Wolfram's LinearLayer and ONNX's Flatten read it). The executor permutes column-major
weights once to the row-major flatten the kernel reads (conventions.fc_weights_to_internal),
which needs the input's size; so no assignment needs it.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import model_validator

from ..core.layer import AUTO, AutoOr, Choice, Layer, Scalar, SizeError, Stored
from ..core.size import Size
from ._common import COLUMN, MATRIX, Factor, PosInt, check_given_arrays
from .conv import BIAS, WEIGHTS


class FullyConnectedLayer(Layer):
    class_name: ClassVar[str] = "FullyConnectedLayer"
    Type: ClassVar[str] = "Fully Connected"
    DefaultName: ClassVar[str] = "fc"
    family: ClassVar[str] = "fc"
    hyperparameters: ClassVar = ("InputSize", "OutputSize")
    learnables: ClassVar = (WEIGHTS, BIAS)
    array_layouts: ClassVar = {"Weights": MATRIX, "Bias": COLUMN}

    InputSize: Annotated[Any, AutoOr(Scalar(1, integer=True), "a positive integer")] = AUTO
    OutputSize: PosInt
    Weights: Annotated[Any, Stored] = None
    Bias: Annotated[Any, Stored] = None
    WeightsInitializer: Annotated[Any, Choice("glorot", "he", "orthogonal", "narrow-normal", "zeros", "ones",
                                              allow_callable=True)] = "glorot"
    BiasInitializer: Annotated[Any, Choice("zeros", "narrow-normal", "ones", allow_callable=True)] = "zeros"
    WeightLearnRateFactor: Factor = 1.0
    BiasLearnRateFactor: Factor = 1.0
    WeightL2Factor: Factor = 1.0
    BiasL2Factor: Factor = 0.0
    # the order in which Weights' columns read a spatial input's elements (internal: not a
    # MATLAB property; the Wolfram dialect builds 'row-major' layers)
    input_order: Annotated[Any, Choice("column-major", "row-major")] = "column-major"

    @model_validator(mode="after")
    def _check(self):
        if self.Weights is not None and self.InputSize == AUTO and self.Weights.ndim == 2:
            object.__setattr__(self, "InputSize", int(self.Weights.shape[1]))
        check_given_arrays(self, self.learnable_sizes())
        return self

    def learnable_sizes(self, size=None):
        return {"Weights": (self.OutputSize, self.InputSize), "Bias": (self.OutputSize, 1)}

    def fans(self, name):
        return self.InputSize, self.OutputSize

    def description(self):
        return f"{self.OutputSize} fully connected layer"

    def infer(self, inputs):
        x = inputs[0]
        if self.InputSize != AUTO and self.InputSize != x.numel:
            raise SizeError("in", f"The layer expects input size {self.InputSize} (InputSize) but the input "
                                  f"has {x.numel} elements ({x}).")
        out = Size((1,) * len(x.spatial), self.OutputSize)
        return self._resolved_copy(InputSize=x.numel), [out]


class DropoutLayer(Layer):
    """dropoutLayer: at training time zeroes each element with probability
    Probability and scales the rest by 1/(1-Probability); identity at prediction."""

    class_name: ClassVar[str] = "DropoutLayer"
    Type: ClassVar[str] = "Dropout"
    DefaultName: ClassVar[str] = "dropout"
    family: ClassVar[str] = "dropout"
    hyperparameters: ClassVar = ("Probability",)

    Probability: Annotated[Any, Scalar(0, 1, hi_open=True)] = 0.5

    def description(self):
        return f"{100 * self.Probability:g}% dropout"


class FlattenLayer(Layer):
    """flattenLayer: H x W x C -> H*W*C features, in MATLAB's column-major order."""

    class_name: ClassVar[str] = "FlattenLayer"
    Type: ClassVar[str] = "Flatten"
    DefaultName: ClassVar[str] = "flatten"
    family: ClassVar[str] = "flatten"

    def description(self):
        return "Flatten"

    def infer(self, inputs):
        return self, [Size((), inputs[0].numel)]
