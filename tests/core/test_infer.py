"""Whole-graph shape inference and analyzeNetwork."""
import io
import math

import numpy as np
import pytest
from rich.console import Console

from layergraph import (
    additionLayer, analyzeNetwork, averagePooling2dLayer, batchNormalizationLayer, classificationLayer,
    concatenationLayer, connectLayers, convolution2dLayer, depthConcatenationLayer, dropoutLayer, featureInputLayer,
    flattenLayer, fullyConnectedLayer, globalAveragePooling2dLayer, globalMaxPooling2dLayer,
    groupedConvolution2dLayer, imageInputLayer, layerGraph, layerNormalizationLayer, maxPooling2dLayer,
    regressionLayer, reluLayer, softmaxLayer, transposedConv2dLayer,
)
from layergraph.matlab.analysis import analyze
from layergraph.core.size import Size


def out_size(layers, name=None):
    report = analyze(layers)
    assert not report.errors, [str(i) for i in report.errors]
    row = report.LayerInfo[-1] if name is None else report.info(name)
    return next(iter(row.ActivationSizes.values()))


@pytest.mark.parametrize("layer,expected", [
    (convolution2dLayer(3, 8), Size((30, 30), 8)),
    (convolution2dLayer(3, 8, "Padding", 1), Size((32, 32), 8)),
    (convolution2dLayer(3, 8, "Padding", "same", "Stride", 2), Size((16, 16), 8)),
    (convolution2dLayer(4, 8, "Padding", "same", "Stride", 3), Size((11, 11), 8)),
    (convolution2dLayer([3, 5], 8, "Stride", [1, 2]), Size((30, 14), 8)),
    (convolution2dLayer(3, 8, "DilationFactor", 2), Size((28, 28), 8)),
    (convolution2dLayer(3, 8, "DilationFactor", 2, "Padding", "same"), Size((32, 32), 8)),
    (convolution2dLayer(3, 8, "Padding", [1, 0, 2, 0]), Size((31, 32), 8)),
    (convolution2dLayer(3, 8, "Padding", [0, 1]), Size((30, 32), 8)),
    (groupedConvolution2dLayer(3, 2, 3), Size((30, 30), 6)),
    (groupedConvolution2dLayer(3, 2, "channel-wise", "Padding", "same"), Size((32, 32), 6)),
    (transposedConv2dLayer(4, 5, "Stride", 2), Size((66, 66), 5)),
    (transposedConv2dLayer(4, 5, "Stride", 2, "Cropping", "same"), Size((64, 64), 5)),
    (transposedConv2dLayer(3, 5, "Cropping", 1), Size((32, 32), 5)),
    (maxPooling2dLayer(2, "Stride", 2), Size((16, 16), 3)),
    (maxPooling2dLayer(3, "Stride", 2, "Padding", "same"), Size((16, 16), 3)),
    (maxPooling2dLayer(3), Size((30, 30), 3)),
    (averagePooling2dLayer(3, "Stride", 2, "Padding", 1), Size((16, 16), 3)),
    (globalAveragePooling2dLayer, Size((1, 1), 3)),
    (globalMaxPooling2dLayer, Size((1, 1), 3)),
    (fullyConnectedLayer(7), Size((1, 1), 7)),
    (flattenLayer, Size((), 3072)),
    (batchNormalizationLayer, Size((32, 32), 3)),
    (layerNormalizationLayer, Size((32, 32), 3)),
    (dropoutLayer, Size((32, 32), 3)),
    (softmaxLayer, Size((32, 32), 3)),
])
def test_output_sizes(layer, expected):
    assert out_size([imageInputLayer([32, 32, 3]), layer]) == expected


def test_same_padding_puts_the_extra_pixel_bottom_right():
    report = analyze([imageInputLayer([32, 32, 3]), convolution2dLayer(4, 8, "Padding", "same", "Name", "c")])
    conv = report.layers["c"]
    assert conv.PaddingSize == (1, 2, 1, 2)
    assert conv.PaddingMode == "same"
    assert conv.description().endswith("padding 'same'")


def test_auto_sizes_are_resolved():
    report = analyze([imageInputLayer([28, 28, 1]), convolution2dLayer(5, 20, "Name", "c"),
                      batchNormalizationLayer("Name", "bn"), fullyConnectedLayer(10, "Name", "fc")])
    assert report.layers["c"].NumChannels == 1
    assert report.layers["bn"].NumChannels == 20
    assert report.layers["fc"].InputSize == 24 * 24 * 20
    assert report.info("c").LearnableSizes == {"Weights": (5, 5, 1, 20), "Bias": (1, 1, 20)}
    assert report.info("bn").LearnableSizes == {"Offset": (1, 1, 20), "Scale": (1, 1, 20)}
    assert report.info("bn").StateSizes == {"TrainedMean": (1, 1, 20), "TrainedVariance": (1, 1, 20)}
    assert report.info("fc").LearnableSizes == {"Weights": (10, 11520), "Bias": (10, 1)}
    assert report.TotalLearnables == 5 * 5 * 20 + 20 + 40 + 10 * 11520 + 10


def test_feature_input_gives_column_shaped_bn_parameters():
    report = analyze([featureInputLayer(6), fullyConnectedLayer(4, "Name", "fc"),
                      batchNormalizationLayer("Name", "bn")])
    assert report.info("fc").ActivationSizes["out"] == Size((), 4)
    assert report.info("bn").LearnableSizes["Scale"] == (4, 1)


def test_concatenation_rules():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), convolution2dLayer(1, 5, "Name", "c"),
                     depthConcatenationLayer(2, "Name", "cat")])
    lg = connectLayers(lg, "in", "cat/in2")
    assert out_size(lg, "cat") == Size((8, 8), 8)
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), convolution2dLayer(1, 3, "Name", "c"),
                     concatenationLayer(2, 2, "Name", "cat")])
    lg = connectLayers(lg, "in", "cat/in2")
    assert out_size(lg, "cat") == Size((8, 16), 3)


def test_size_mismatch_names_layer_and_port():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), convolution2dLayer(3, 3, "Name", "c"),
                     additionLayer(2, "Name", "add")])
    lg = connectLayers(lg, "in", "add/in2")
    report = analyze(lg)
    [issue] = report.errors
    assert (issue.LayerName, issue.Port) == ("add", "in2")
    assert "Input size mismatch" in issue.Message and "8x8x3" in issue.Message and "6x6x3" in issue.Message
    assert math.isnan(report.TotalLearnables)


def test_unconnected_input_missing_input_layer_and_cycle():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), additionLayer(2, "Name", "add")])
    issues = analyze(lg).errors
    assert [(i.LayerName, i.Port) for i in issues] == [("add", "in2")]
    assert "Unconnected input" in issues[0].Message

    issues = analyze([reluLayer, softmaxLayer]).errors
    assert any("Missing input layer" in i.Message for i in issues)

    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), additionLayer(2, "Name", "add"),
                     reluLayer("Name", "r")])
    lg = connectLayers(lg, "r", "add/in2")
    [issue] = analyze(lg).errors
    assert "Cycle detected" in issue.Message and "'add'" in issue.Message and "'r'" in issue.Message


def test_duplicate_names_in_array_are_reported():
    issues = analyze([imageInputLayer([4, 4, 1]), reluLayer("Name", "a"), reluLayer("Name", "a")]).errors
    assert len(issues) == 1 and "Layers 2 and 3 are both named 'a'" in issues[0].Message


def test_channel_mismatch_from_given_weights():
    w = np.zeros((3, 3, 2, 4))
    issues = analyze([imageInputLayer([8, 8, 3]), convolution2dLayer(3, 4, "Weights", w, "Name", "c")]).errors
    assert issues[0].LayerName == "c" and "expects 2 channels" in issues[0].Message


def test_filter_larger_than_input():
    [issue] = analyze([imageInputLayer([2, 2, 1]), convolution2dLayer(3, 4, "Name", "c")]).errors
    assert "smaller than the filter size 3x3" in issue.Message


def test_legacy_output_rules():
    issues = analyze([imageInputLayer([4, 4, 1]), fullyConnectedLayer(2), classificationLayer]).errors
    assert any("Missing softmax layer" in i.Message for i in issues)
    issues = analyze([imageInputLayer([4, 4, 1]), fullyConnectedLayer(2), softmaxLayer, regressionLayer]).errors
    assert any("must not follow a softmax" in i.Message for i in issues)
    issues = analyze([imageInputLayer([4, 4, 1]), fullyConnectedLayer(2), softmaxLayer,
                      classificationLayer("Classes", ["a", "b", "c"])]).errors
    assert any("does not match the number of classes (3)" in i.Message for i in issues)


def test_analyze_network_prints_and_returns_report():
    report = analyzeNetwork([imageInputLayer([8, 8, 1]), convolution2dLayer(3, 2), reluLayer], Plots="none")
    assert report.TotalLearnables == 3 * 3 * 2 + 2
    buf = io.StringIO()
    Console(file=buf, width=150).print(report)
    text = buf.getvalue()
    assert "conv" in text and "6x6x2" in text and "Total learnables: 20" in text
    plain = str(report)
    assert "Weights 3x3x1x2" in plain and "Errors: 0" in plain
