"""Layer specifications, one module per family: properties, defaults, output-size
rules and learnable sizes. No numba here."""
from .activation import (
    ClippedReLULayer,
    ELULayer,
    GELULayer,
    LeakyReLULayer,
    ReLULayer,
    SigmoidLayer,
    SoftmaxLayer,
    SwishLayer,
    TanhLayer,
)
from .array import ArrayReshapeLayer, ArrayTransposeLayer, ElementwiseFunctionLayer, ThreadingFunctionLayer
from .combine import AdditionLayer, ConcatenationLayer, DepthConcatenationLayer
from .conv import Convolution2DLayer, GroupedConvolution2DLayer, TransposedConvolution2DLayer
from .embedding import EmbeddingLayer
from .dense import DropoutLayer, FlattenLayer, FullyConnectedLayer
from .groupnorm import GroupNormalizationLayer
from .hard import HardSigmoidLayer, HardSwishLayer
from .input import FeatureInputLayer, ImageInputLayer
from .instancenorm import InstanceNormalizationLayer
from .multiply import MultiplicationLayer
from .norm import BatchNormalizationLayer, LayerNormalizationLayer
from .output import ClassificationOutputLayer, RegressionOutputLayer
from .pool import (
    AveragePooling2DLayer,
    GlobalAveragePooling2DLayer,
    GlobalMaxPooling2DLayer,
    MaxPooling2DLayer,
)
from .placeholder import PlaceholderLayer
from .resize import Resize2DLayer
from .scaling import ScalingLayer
from .recurrent import BiLSTMLayer, GRULayer, LSTMLayer, RecurrentLayer, SequenceInputLayer
from .sequence_folding import SequenceFoldingLayer, SequenceUnfoldingLayer
from .sumpool import SumPooling2DLayer

__all__ = [
    "ImageInputLayer", "FeatureInputLayer", "Convolution2DLayer", "GroupedConvolution2DLayer",
    "TransposedConvolution2DLayer", "BatchNormalizationLayer", "LayerNormalizationLayer",
    "ReLULayer", "LeakyReLULayer", "ClippedReLULayer", "ELULayer", "TanhLayer", "SigmoidLayer",
    "SwishLayer", "GELULayer", "SoftmaxLayer", "MaxPooling2DLayer", "AveragePooling2DLayer",
    "GlobalAveragePooling2DLayer", "GlobalMaxPooling2DLayer", "FullyConnectedLayer", "DropoutLayer",
    "FlattenLayer", "AdditionLayer", "ConcatenationLayer", "DepthConcatenationLayer",
    "ClassificationOutputLayer", "RegressionOutputLayer",
    "ElementwiseFunctionLayer", "ThreadingFunctionLayer", "ArrayReshapeLayer", "ArrayTransposeLayer",
    "InstanceNormalizationLayer", "SumPooling2DLayer", "GroupNormalizationLayer",
    "MultiplicationLayer", "ScalingLayer", "Resize2DLayer", "HardSigmoidLayer", "HardSwishLayer", "PlaceholderLayer",
    "SequenceInputLayer", "LSTMLayer", "BiLSTMLayer", "GRULayer", "RecurrentLayer", "EmbeddingLayer",
    "SequenceFoldingLayer", "SequenceUnfoldingLayer",
]
