"""MATLAB's number and value formatting (``format short``, ``int2str``).

Sources: the displays quoted in matlab_api.md (BN1: ``0.1000``, ``1.0000e-05``;
TrainingOptionsADAM: ``0.9990``, ``1.0000e-08``, ``0.0050``, ``1.0000e-04``,
``Inf``, ``8000``), MathWorks' translated TrainingOptionsADAM page showing
``InitialLearnRate: 1.0000e-03`` for 0.001, and MathWorks' int2str.m (2016), which
right-aligns every element in ``floor(log10(max|x|)) + 3`` characters and trims
the leading blanks.
"""
import math

import numpy as np
import pytest

from layergraph.display.matlab_format import format_scalar, format_size, format_value, int2str


@pytest.mark.parametrize("x, text", [
    (0.1, "0.1000"), (1e-5, "1.0000e-05"), (10, "10"), (0, "0"), (0.0, "0"), (-0.0, "0"),
    (math.inf, "Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
    (1234.5, "1.2345e+03"), (-1234.5, "-1.2345e+03"), (-0.5, "-0.5000"), (-1e-5, "-1.0000e-05"), (-3, "-3"),
    (0.9, "0.9000"), (0.999, "0.9990"), (1e-8, "1.0000e-08"), (0.005, "0.0050"), (1e-4, "1.0000e-04"),
    (0.001, "1.0000e-03"), (0.0015, "0.0015"), (999.5, "999.5000"), (3.14159265, "3.1416"),
    (8000, "8000"), (128, "128"), (123456789, "123456789"), (1e10, "1.0000e+10"), (2.5e-12, "2.5000e-12"),
    (1e100, "1.0000e+100"),
    (True, "1"), (False, "0"), (np.bool_(True), "1"),
    (np.float32(0.1), "0.1000"), (np.float64(1e-5), "1.0000e-05"), (np.int64(7), "7"), (np.uint8(3), "3"),
])
def test_format_scalar(x, text):
    assert format_scalar(x) == text


@pytest.mark.parametrize("values, text", [
    ([1, 1], "[1  1]"), ([2, 2], "[2  2]"), ([0, 0, 0, 0], "[0  0  0  0]"), ([1, 1, 1, 1], "[1  1  1  1]"),
    ([1, 0, 1, 0], "[1  0  1  0]"), ((3, 3), "[3  3]"), (np.array([2, 2]), "[2  2]"),
    ([12, 34], "[12  34]"),
    # elements of different widths: right-aligned in a common field, then trimmed (int2str.m)
    ([1, 10], "[1  10]"), ([10, 1], "[10   1]"), ([0, 0, 10, 10], "[0   0  10  10]"), ([100, 1], "[100    1]"),
    ([-1, 10], "[-1  10]"),
    # MATLAB's round: halves away from zero; no negative zero
    ([2.5, 2.5], "[3  3]"), ([-2.5, 1], "[-3  1]"), ([-0.4, 1], "[0  1]"), ([1.4, 1.6], "[1  2]"),
    ([7], "[7]"), ([], "[]"),
    ([1, math.inf], "[1  Inf]"), ([math.nan, 1], "[NaN    1]"),
])
def test_int2str(values, text):
    assert int2str(values) == text


def test_int2str_is_what_layer_descriptions_use():
    from layergraph.matlab import convolution2dLayer, maxPooling2dLayer
    assert convolution2dLayer(3, 8, Padding=[0, 0, 10, 10]).description().endswith("padding [0   0  10  10]")
    assert maxPooling2dLayer(12, Stride=[10, 1]).description() == \
        "12x12 max pooling with stride [10   1] and padding [0  0  0  0]"


@pytest.mark.parametrize("dims, text", [((28, 28, 3), "28x28x3"), ((3, 3), "3x3"), ([5], "5"),
                                        (np.array([32, 32, 3]), "32x32x3")])
def test_format_size(dims, text):
    assert format_size(dims) == text


def my_initializer(sz):
    return np.zeros(sz)


@pytest.mark.parametrize("value, text", [
    # empty
    (None, "[]"), (np.zeros((0,)), "[]"), (np.zeros((0, 3)), "[]"), ((), "[]"), ([], "{}"),
    # strings
    ("auto", "'auto'"), ("", "''"), ("zerocenter", "'zerocenter'"), ("BN1", "'BN1'"),
    # cell arrays of character vectors (MATLAB separates them by two spaces)
    (["out"], "{'out'}"), (["in1", "in2"], "{'in1'  'in2'}"),
    (["out", "indices", "size"], "{'out'  'indices'  'size'}"),
    # scalars and short vectors, as in a property display (one space: [1 1])
    (0.1, "0.1000"), (1e-5, "1.0000e-05"), (20, "20"), (0, "0"), (False, "0"), (True, "1"), (math.inf, "Inf"),
    ((1, 1), "[1 1]"), ((0, 0, 0, 0), "[0 0 0 0]"), ((28, 28, 3), "[28 28 3]"), ((5, 5), "[5 5]"),
    (np.array([0.5, 0.25]), "[0.5000 0.2500]"),
    # arrays: [size class]
    (np.zeros((1, 1, 16), np.float32), "[1x1x16 single]"), (np.zeros((3, 3, 2, 16)), "[3x3x2x16 double]"),
    (np.zeros((10, 576), np.float32), "[10x576 single]"), (np.zeros((10, 1)), "[10x1 double]"),
    (np.zeros(16), "[16x1 double]"), (np.zeros((2, 2), bool), "[2x2 logical]"),
    # function handles (UNCONFIRMED: MATLAB prints an anonymous function's whole text)
    (my_initializer, "@my_initializer"), (lambda sz: sz, "@(sz)..."),
])
def test_format_value(value, text):
    assert format_value(value) == text


def test_property_and_description_vectors_differ():
    # a property display shows [1 1]; a description, built with int2str, shows [1  1]
    from layergraph.matlab import convolution2dLayer
    layer = convolution2dLayer(3, 16, Padding=1)
    assert "Stride: [1 1]" in str(layer) and "PaddingSize: [1 1 1 1]" in str(layer)
    assert "stride [1  1] and padding [1  1  1  1]" in layer.description()
