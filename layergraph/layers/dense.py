"""fullyConnectedLayer, dropoutLayer and flattenLayer.

Weights is OutputSize x InputSize. After a spatial input, the layer stores its weights in
its ``input_order``: 'column-major' (MATLAB's, H fastest over H x W x C; the default: stored
as given, no size needed) or 'row-major' (over (C, H, W), as Wolfram's LinearLayer and
ONNX's Flatten read them; such a layer knows its ``input_dims``, from the dialect that built
it and from inference). The Weights property is MATLAB's column-major matrix either way. The
executor permutes column-major weights once to the row-major flatten the kernel reads
(conventions.fc_weights_row_major).
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core import conventions as cv
from ..core.layer import AUTO, ArrayLayout, AutoOr, Choice, Layer, Scalar, SizeError, Stored
from ..core.size import Size
from ._common import COLUMN, Factor, PosInt, check_given_arrays, per_step
from .conv import BIAS, WEIGHTS


def _dims(value, info: ValidationInfo):
    """None or the MATLAB dims of one observation (h, w, c or c) as positive integers."""
    if value is None:
        return None
    try:
        dims = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise ValueError(f"Expected {info.field_name} to be None or a tuple of positive integers.") from None
    if any(d < 1 for d in dims) or any(float(d) != float(v) for d, v in zip(dims, value)):
        raise ValueError(f"Expected {info.field_name} to be None or a tuple of positive integers.")
    return dims


def _row_major_dims(layer):
    """The H x W x C dims a row-major layer's stored weights read (None: no permutation)."""
    dims = layer.input_dims
    return dims if layer.input_order == "row-major" and dims is not None and len(dims) == 3 else None


# MATLAB's column-major Weights <-> the stored ones (the same unless the layer is row-major)
FC_WEIGHTS = ArrayLayout(
    lambda layer, w: w if _row_major_dims(layer) is None else cv.fc_weights_to_internal(w, _row_major_dims(layer)),
    lambda layer, w: w if _row_major_dims(layer) is None else cv.fc_weights_to_matlab(w, _row_major_dims(layer)))


class FullyConnectedLayer(Layer):
    class_name: ClassVar[str] = "FullyConnectedLayer"
    Type: ClassVar[str] = "Fully Connected"
    DefaultName: ClassVar[str] = "fc"
    family: ClassVar[str] = "fc"
    hyperparameters: ClassVar = ("InputSize", "OutputSize")
    learnables: ClassVar = (WEIGHTS, BIAS)
    array_layouts: ClassVar = {"Weights": FC_WEIGHTS, "Bias": COLUMN}

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
    # the order in which the stored weights' columns read a spatial input's elements, and the
    # input dims a row-major layer's MATLAB view permutes with (internal fields: not MATLAB
    # properties; the Wolfram dialect builds 'row-major' layers)
    input_order: Annotated[Any, Choice("column-major", "row-major")] = "column-major"
    input_dims: Annotated[Any, BeforeValidator(_dims)] = None

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
        if x.is_sequence:   # per time step (Z_t = W X_t + b); vector sequences only
            if x.is_image:
                raise SizeError("in", f"The layer expects vector sequences (C x S); the input is a sequence of "
                                      f"{x} images. Flatten them first (flattenLayer).")
            return self._resolved_copy(InputSize=x.numel), [Size((), self.OutputSize, x.time)]
        out = Size((1,) * len(x.spatial), self.OutputSize)
        # row-major weights compute the same for any input of this many elements; their MATLAB
        # view is the column-major matrix for this input
        dims = {"input_dims": x.dims} if self.input_order == "row-major" else {}
        return self._resolved_copy(InputSize=x.numel, **dims), [out]


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


@per_step
class FlattenLayer(Layer):
    """flattenLayer: H x W x C -> H*W*C features, in MATLAB's column-major order; an image
    sequence (SSCBT) becomes a vector sequence (CBT) of H*W*C features per step, a vector
    sequence stays as it is."""

    class_name: ClassVar[str] = "FlattenLayer"
    Type: ClassVar[str] = "Flatten"
    DefaultName: ClassVar[str] = "flatten"
    family: ClassVar[str] = "flatten"

    def description(self):
        return "Flatten"

    def infer(self, inputs):
        if inputs[0].is_sequence and not inputs[0].is_image:
            return self, [inputs[0]]
        return self, [Size((), inputs[0].numel)]
