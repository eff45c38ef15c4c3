"""The embedding layer: integer indices 1..NumWords -> vectors of Dimension numbers (Wolfram's
EmbeddingLayer[size, n]; the property names are those of MATLAB's wordEmbeddingLayer, whose
constructor this library does not offer: see docs/recurrent_plan.md 6g).

Weights are stored in the internal layout NumWords x Dimension (Wolfram's "Weights" n x size: row
i is the vector of index i), so the forward pass is a gather of rows; the ``Weights`` property is
MATLAB's Dimension x NumWords view of them (wordEmbeddingLayer's layout, UNCONFIRMED).

Sizes (internal layout N x C x spatial [x T]): each input element becomes a Dimension-vector.
A sequence of indices (C = 1, no spatial) is a sequence of vectors N x Dimension x T; one index
(C = 1) a vector; d indices (C = d) a d x Dimension array (Size((Dimension, 1), d)); a d1 x d2
array of indices (Size((d2, 1), d1)) a d1 x d2 x Dimension array. The output, read row-major,
is the input's elements in order, each followed by its Dimension numbers.
The op is core/ops_embedding.py, the kernels kernels/cpu/embedding.py.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import model_validator

from ..core.layer import ArrayLayout, Choice, Layer, LearnableSpec, SizeError, Stored
from ..core.size import Size
from ._common import Factor, PosInt, check_given_arrays

WEIGHTS = LearnableSpec("Weights", "WeightsInitializer", "WeightLearnRateFactor", "WeightL2Factor")

# MATLAB's Dimension x NumWords <-> the stored NumWords x Dimension (row i: index i's vector)
EMBEDDING_WEIGHTS = ArrayLayout(lambda layer, w: np.ascontiguousarray(np.asarray(w).T),
                                lambda layer, w: np.asarray(w).T)


class EmbeddingLayer(Layer):
    class_name: ClassVar[str] = "EmbeddingLayer"
    Type: ClassVar[str] = "Embedding"
    DefaultName: ClassVar[str] = "embedding"
    family: ClassVar[str] = "embedding"
    hyperparameters: ClassVar = ("Dimension", "NumWords")
    learnables: ClassVar = (WEIGHTS,)
    array_layouts: ClassVar = {"Weights": EMBEDDING_WEIGHTS}

    Dimension: PosInt
    NumWords: PosInt
    Weights: Annotated[Any, Stored] = None
    WeightsInitializer: Annotated[Any, Choice("narrow-normal", "glorot", "he", "orthogonal", "zeros", "ones",
                                              allow_callable=True)] = "narrow-normal"
    WeightLearnRateFactor: Factor = 1.0
    WeightL2Factor: Factor = 1.0
    # internal: "array" reads a one-channel input as a vector of one index (Wolfram's {1} -> {1, size})
    # rather than as one index ("auto": {size})
    input_form: Annotated[Any, Choice("auto", "array")] = "auto"

    @model_validator(mode="after")
    def _check(self):
        check_given_arrays(self, self.learnable_sizes())
        return self

    def learnable_sizes(self, size=None):
        return {"Weights": (self.Dimension, self.NumWords)}

    def fans(self, name):
        return self.NumWords, self.Dimension

    def description(self):
        return f"{self.Dimension}-dimensional embedding of {self.NumWords} indices"

    def infer(self, inputs):
        x = inputs[0]
        d = self.Dimension
        if x.is_sequence:
            if x.spatial or x.channels != 1:
                raise SizeError("in", f"Layer '{self.Name}' (EmbeddingLayer) takes sequences of single indices; the "
                                      f"input is a sequence of {x} arrays.")
            return self, [Size((), d, x.time)]
        if not x.spatial:
            return self, [Size((), d) if x.channels == 1 and self.input_form == "auto" else Size((d, 1), x.channels)]
        if len(x.spatial) == 2 and x.spatial[1] == 1:
            return self, [Size((x.spatial[0], d), x.channels)]
        raise SizeError("in", f"Layer '{self.Name}' (EmbeddingLayer) takes an index, a vector or a matrix of "
                              f"indices; the input has size {x}.")
