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
    wolfram: str | None    # Wolfram layer (filled in by the Wolfram dialect's issue)
    onnx: str | None       # ONNX operator


REGISTRY: tuple[Entry, ...] = (
    Entry(L.ImageInputLayer, "imageInputLayer", None, None),
    Entry(L.FeatureInputLayer, "featureInputLayer", None, None),
    Entry(L.Convolution2DLayer, "convolution2dLayer", "ConvolutionLayer", "Conv"),
    Entry(L.GroupedConvolution2DLayer, "groupedConvolution2dLayer", "ConvolutionLayer", "Conv"),
    Entry(L.TransposedConvolution2DLayer, "transposedConv2dLayer", "DeconvolutionLayer", "ConvTranspose"),
    Entry(L.BatchNormalizationLayer, "batchNormalizationLayer", "BatchNormalizationLayer", "BatchNormalization"),
    Entry(L.LayerNormalizationLayer, "layerNormalizationLayer", "NormalizationLayer", "LayerNormalization"),
    Entry(L.ReLULayer, "reluLayer", "ElementwiseLayer", "Relu"),
    Entry(L.LeakyReLULayer, "leakyReluLayer", "ElementwiseLayer", "LeakyRelu"),
    Entry(L.ClippedReLULayer, "clippedReluLayer", "ElementwiseLayer", "Clip"),
    Entry(L.ELULayer, "eluLayer", "ElementwiseLayer", "Elu"),
    Entry(L.TanhLayer, "tanhLayer", "ElementwiseLayer", "Tanh"),
    Entry(L.SigmoidLayer, "sigmoidLayer", "ElementwiseLayer", "Sigmoid"),
    Entry(L.SwishLayer, "swishLayer", "ElementwiseLayer", None),
    Entry(L.GELULayer, "geluLayer", "ElementwiseLayer", "Gelu"),
    Entry(L.SoftmaxLayer, "softmaxLayer", "SoftmaxLayer", "Softmax"),
    Entry(L.MaxPooling2DLayer, "maxPooling2dLayer", "PoolingLayer", "MaxPool"),
    Entry(L.AveragePooling2DLayer, "averagePooling2dLayer", "PoolingLayer", "AveragePool"),
    Entry(L.GlobalAveragePooling2DLayer, "globalAveragePooling2dLayer", None, "GlobalAveragePool"),
    Entry(L.GlobalMaxPooling2DLayer, "globalMaxPooling2dLayer", None, "GlobalMaxPool"),
    Entry(L.FullyConnectedLayer, "fullyConnectedLayer", "LinearLayer", "Gemm"),
    Entry(L.DropoutLayer, "dropoutLayer", "DropoutLayer", "Dropout"),
    Entry(L.FlattenLayer, "flattenLayer", "FlattenLayer", "Flatten"),
    Entry(L.AdditionLayer, "additionLayer", "TotalLayer", "Add"),
    Entry(L.ConcatenationLayer, "concatenationLayer", "CatenateLayer", "Concat"),
    Entry(L.DepthConcatenationLayer, "depthConcatenationLayer", "CatenateLayer", "Concat"),
    Entry(L.ClassificationOutputLayer, "classificationLayer", None, None),
    Entry(L.RegressionOutputLayer, "regressionLayer", None, None),
)

BY_CLASS = {e.layer: e for e in REGISTRY}
BY_MATLAB = {e.matlab: e for e in REGISTRY if e.matlab}
