"""One table: core layer class <-> MATLAB constructor <-> Wolfram name <-> ONNX op.

Tests parametrize over this table, so adding a layer means one spec, one kernel
pair and one row here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import layers as L


@dataclass(frozen=True)
class Entry:
    layer: type            # core spec class
    matlab: str | None     # MATLAB constructor name
    wolfram: str | None    # Wolfram layer whose build gives this core layer (layergraph/wolfram/layers.py)
    onnx: str | None       # ONNX operator
    example: tuple = ()    # required MATLAB arguments of a typical call (docs, tests, golden printouts)
    # the arguments of a typical call of the Wolfram layer, as Python source in the names of
    # layergraph.wolfram (symbols such as Mean, Span, All): "20, 5" is ConvolutionLayer(20, 5).
    # Text, because core/ imports no dialect; the conformance tests evaluate it.
    wolfram_example: str | None = None


REGISTRY: tuple[Entry, ...] = (
    Entry(L.ImageInputLayer, "imageInputLayer", None, None, ([28, 28, 3],)),
    Entry(L.FeatureInputLayer, "featureInputLayer", None, None, (10,)),
    Entry(L.Convolution2DLayer, "convolution2dLayer", "ConvolutionLayer", "Conv", (5, 20), wolfram_example="20, 5"),
    Entry(L.GroupedConvolution2DLayer, "groupedConvolution2dLayer", "ConvolutionLayer", "Conv", (3, 8, 2), wolfram_example="16, 3, ChannelGroups=2"),
    Entry(L.TransposedConvolution2DLayer, "transposedConv2dLayer", "DeconvolutionLayer", "ConvTranspose", (3, 16), wolfram_example="16, 3"),
    Entry(L.BatchNormalizationLayer, "batchNormalizationLayer", "BatchNormalizationLayer", "BatchNormalization", wolfram_example=""),
    Entry(L.LayerNormalizationLayer, "layerNormalizationLayer", "NormalizationLayer", "LayerNormalization", wolfram_example="Span(1, All), 1"),
    Entry(L.GroupNormalizationLayer, "groupNormalizationLayer", "NormalizationLayer", "GroupNormalization", (2,), wolfram_example="Span(1, All), 1, GroupNumber=(2, None, None)"),
    Entry(L.ReLULayer, "reluLayer", "ElementwiseLayer", "Relu", wolfram_example="Ramp"),
    Entry(L.LeakyReLULayer, "leakyReluLayer", None, "LeakyRelu"),
    Entry(L.ClippedReLULayer, "clippedReluLayer", None, "Clip", (10,)),
    Entry(L.ELULayer, "eluLayer", "ElementwiseLayer", "Elu", wolfram_example='"ELU"'),
    Entry(L.TanhLayer, "tanhLayer", "ElementwiseLayer", "Tanh", wolfram_example="Tanh"),
    Entry(L.SigmoidLayer, "sigmoidLayer", "ElementwiseLayer", "Sigmoid", wolfram_example="LogisticSigmoid"),
    Entry(L.SwishLayer, "swishLayer", "ElementwiseLayer", None, wolfram_example='"Swish"'),
    Entry(L.GELULayer, "geluLayer", "ElementwiseLayer", "Gelu", wolfram_example='"GELU"'),
    Entry(L.SoftmaxLayer, "softmaxLayer", "SoftmaxLayer", "Softmax", wolfram_example=""),
    Entry(L.MaxPooling2DLayer, "maxPooling2dLayer", "PoolingLayer", "MaxPool", (2,), wolfram_example="2"),
    Entry(L.AveragePooling2DLayer, "averagePooling2dLayer", "PoolingLayer", "AveragePool", (2,), wolfram_example="2, Function=Mean"),
    Entry(L.GlobalAveragePooling2DLayer, "globalAveragePooling2dLayer", None, "GlobalAveragePool"),
    Entry(L.GlobalMaxPooling2DLayer, "globalMaxPooling2dLayer", None, "GlobalMaxPool"),
    Entry(L.FullyConnectedLayer, "fullyConnectedLayer", "LinearLayer", "Gemm", (10,), wolfram_example="10"),
    Entry(L.DropoutLayer, "dropoutLayer", "DropoutLayer", "Dropout", wolfram_example=""),
    Entry(L.FlattenLayer, "flattenLayer", None, "Flatten"),  # column-major; Wolfram's is ArrayReshapeLayer
    Entry(L.AdditionLayer, "additionLayer", "TotalLayer", "Add", (2,), wolfram_example=""),
    Entry(L.ConcatenationLayer, "concatenationLayer", "CatenateLayer", "Concat", (3, 2), wolfram_example="2"),
    # core layers without a MATLAB constructor, for the Wolfram dialect
    Entry(L.ElementwiseFunctionLayer, None, "ElementwiseLayer", None, wolfram_example="Sin"),
    Entry(L.ThreadingFunctionLayer, None, "ThreadingLayer", None, wolfram_example="Times"),
    Entry(L.ArrayReshapeLayer, None, "ReshapeLayer", "Reshape", wolfram_example="(6, 5, 3)"),   # also FlattenLayer
    Entry(L.ArrayTransposeLayer, None, None, "Transpose"),         # Interleaving, SoftmaxLayer levels
    Entry(L.DepthConcatenationLayer, "depthConcatenationLayer", "CatenateLayer", "Concat", (2,), wolfram_example=""),
    Entry(L.InstanceNormalizationLayer, "instanceNormalizationLayer", "NormalizationLayer", "InstanceNormalization", wolfram_example=""),  # NormalizationLayer[]
    Entry(L.SumPooling2DLayer, None, "PoolingLayer", None, wolfram_example="2, Function=Total"),  # "Function" -> Total
    Entry(L.ClassificationOutputLayer, "classificationLayer", None, None),
    Entry(L.RegressionOutputLayer, "regressionLayer", None, None),
)

BY_CLASS = {e.layer: e for e in REGISTRY}
BY_MATLAB = {e.matlab: e for e in REGISTRY if e.matlab}
BY_WOLFRAM: dict[str, list[Entry]] = {}
for _e in REGISTRY:
    if _e.wolfram:
        BY_WOLFRAM.setdefault(_e.wolfram, []).append(_e)
