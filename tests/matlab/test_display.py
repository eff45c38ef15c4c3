"""MATLAB's printouts, character for character.

``tests/golden/seed_*.txt`` are copied from MATLAB's own batchNormalizationLayer
page (/work/shared/seeds/000_7396fb7c91f03591.txt) and are never regenerated. The
other golden files are generated from the code and were read against
/work/shared/reference/matlab_api.md (sections 0 and 2); regenerate them after a
deliberate change with

    UPDATE_GOLDEN=1 python -m pytest tests/matlab/test_display.py

and read the diff before committing it. By default the tests only compare.
"""
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from layergraph.core.registry import REGISTRY
from layergraph.matlab.layer_array import LayerArray
from layergraph.display.matlab_display import layer_array_display, layer_display
from layergraph.matlab import (
    additionLayer,
    batchNormalizationLayer,
    classificationLayer,
    convolution2dLayer,
    depthConcatenationLayer,
    dlnetwork,
    dropoutLayer,
    eluLayer,
    featureInputLayer,
    fullyConnectedLayer,
    imageInputLayer,
    leakyReluLayer,
    maxPooling2dLayer,
    regressionLayer,
    reluLayer,
    softmaxLayer,
    tanhLayer,
    transposedConv2dLayer,
)
from layergraph.matlab.constructors import CONSTRUCTORS
from layergraph.testing import check_golden as harness_check_golden

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")

# The arguments of each constructor's golden display (the reference's examples where
# it has one: convolution2dLayer(5, 20) is matlab_api.md 1b's display).
GOLDEN_ARGS = {e.matlab: e.example for e in REGISTRY if e.example}


def check_golden(name: str, text: str):
    # the seed goldens are MATLAB's own text: never rewritten
    harness_check_golden(GOLDEN / name, text, UPDATE and not name.startswith("seed_"))


def seed_layers():
    """The array of MATLAB's example, bare constructors included."""
    return LayerArray([
        imageInputLayer([32, 32, 3]),

        convolution2dLayer(3, 16, 'Padding', 1),
        batchNormalizationLayer,
        reluLayer,

        maxPooling2dLayer(2, 'Stride', 2),

        convolution2dLayer(3, 32, 'Padding', 1),
        batchNormalizationLayer,
        reluLayer,

        fullyConnectedLayer(10),
        softmaxLayer,
        classificationLayer,
    ])


# ---------------------------------------------------------------------------
# The seed page

def test_seed_layer_array():
    layers = seed_layers()
    check_golden("seed_11x1_layer_array.txt", str(layers))
    assert repr(layers) == str(layers)


def test_seed_bn1_display():
    layer = batchNormalizationLayer('Name', 'BN1')
    check_golden("seed_BN1_display.txt", str(layer))
    assert repr(layer) == str(layer) == layer_display(layer)


def test_seed_goldens_are_the_seed_text():
    """The two seed goldens are verbatim text of the seed page (MATLAB's batchNormalizationLayer
    page, ../shared/seeds/000_7396fb7c91f03591.txt): its examples section is copied into
    golden/seed_page_examples.txt so that the check runs where the shared folder is absent
    (CI's clean clone); where the page is present, the copy is checked against it too."""
    excerpt = (GOLDEN / "seed_page_examples.txt").read_text(encoding="utf-8")
    seed = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_7396fb7c91f03591.txt"
    if seed.exists():
        assert excerpt in seed.read_text(encoding="utf-8")
    for name in ("seed_11x1_layer_array.txt", "seed_BN1_display.txt"):
        text = (GOLDEN / name).read_text(encoding="utf-8")
        assert text.endswith("\n") and text[:-1] in excerpt


# ---------------------------------------------------------------------------
# One golden per constructor: print(layer), then its layer-array row

def array_row(layer) -> str:
    """The row ``fprintf('    %2i   %-*s   %-*s   %s\\n', ...)`` prints for this layer alone."""
    return layer_array_display(LayerArray([layer])).splitlines()[2]


# One golden per constructor, print(layer) then its layer-array row, with repr and rich:
# per registry row in tests/conformance (test_golden_display).


def test_every_golden_file_is_used():
    used = {f"{name}.txt" for name in CONSTRUCTORS} | {
        "seed_11x1_layer_array.txt", "seed_BN1_display.txt", "sized_layer_array.txt",
        "sized_layer_displays.txt", "named_layer_array.txt", "seed_page_examples.txt",
    }
    present = {p.name for p in GOLDEN.glob("*.txt")}
    assert present == used, f"unused: {sorted(present - used)}; missing: {sorted(used - present)}"


def sized_network():
    layers = LayerArray([
        imageInputLayer([28, 28, 1], Normalization="none"),
        convolution2dLayer(3, 8, Padding="same"),
        batchNormalizationLayer,
        reluLayer,
        maxPooling2dLayer(2, Stride=2),
        convolution2dLayer(3, 16, Padding=1, Stride=2, DilationFactor=2),
        transposedConv2dLayer(2, 4, Stride=2, Cropping="same"),
        leakyReluLayer(0.1),
        dropoutLayer(0.2),
        fullyConnectedLayer(10),
        softmaxLayer,
    ])
    return dlnetwork(layers, Initialize=False), dlnetwork(layers)


def test_sized_layer_array_golden():
    """After inference: channels in the conv description, 'Batch normalization with 8
    channels', default names, and 'same' padding still printed as 'same'."""
    net, _ = sized_network()
    text = str(net.Layers)
    check_golden("sized_layer_array.txt", text)
    assert "8 3x3x1 convolutions with stride [1  1] and padding 'same'" in text
    assert "Batch normalization with 8 channels" in text


def test_sized_layer_displays_golden():
    """Initialized learnables print as [1x1x8 single]; PaddingSize shows the resolved padding."""
    _, net = sized_network()
    text = "\n".join(str(net.Layers[i]) for i in (1, 2, 9))
    check_golden("sized_layer_displays.txt", text)
    assert "Weights: [3x3x1x8 single]" in text and "TrainedMean: [1x1x8 single]" in text


def test_named_layer_array_golden():
    """Column widths follow the longest quoted name and the longest type."""
    layers = LayerArray([
        imageInputLayer([224, 224, 3], Name="data"),
        convolution2dLayer(7, 64, Stride=2, Padding=3, Name="conv1"),
        batchNormalizationLayer(Name="bn_conv1"),
        reluLayer(Name="conv1_relu"),
        maxPooling2dLayer(3, Stride=2, Padding=[0, 1, 0, 1], Name="pool1"),
        convolution2dLayer(1, 256, Name="res2a_branch1"),
        additionLayer(2, Name="res2a"),
        depthConcatenationLayer(2, Name="fire9-concat"),
        eluLayer(Name="elu"),
        tanhLayer(Name="tanh"),
        fullyConnectedLayer(1000, Name="fc1000"),
        softmaxLayer(Name="fc1000_softmax"),
        classificationLayer(Name="ClassificationLayer_fc1000"),
        regressionLayer(Name="regressionoutput"),
    ])
    check_golden("named_layer_array.txt", str(layers))


# ---------------------------------------------------------------------------
# Displays and rows quoted in matlab_api.md

REFERENCE_CONV = """\
  Convolution2DLayer with properties:

              Name: ''

   Hyperparameters
        FilterSize: [5 5]
       NumChannels: 'auto'
        NumFilters: 20
            Stride: [1 1]
    DilationFactor: [1 1]
       PaddingMode: 'manual'
       PaddingSize: [0 0 0 0]
      PaddingValue: 0

   Learnable Parameters
           Weights: []
              Bias: []

  Show all properties
"""

REFERENCE_FC = """\
  FullyConnectedLayer with properties:

          Name: ''

   Hyperparameters
     InputSize: 'auto'
    OutputSize: 1

   Learnable Parameters
       Weights: []
          Bias: []

  Show all properties
"""

# [out, R2021]; the paste ends after Min
REFERENCE_IMAGE_INPUT = """\
  ImageInputLayer with properties:

                      Name: 'input'
                 InputSize: [28 28 3]

   Hyperparameters
          DataAugmentation: 'none'
             Normalization: 'rescale-zero-one'
    NormalizationDimension: 'auto'
                       Max: []
                       Min: []
"""


def test_reference_displays():
    assert str(convolution2dLayer(5, 20)) == REFERENCE_CONV
    assert str(fullyConnectedLayer(1)) == REFERENCE_FC
    image = imageInputLayer([28, 28, 3], Name="input", Normalization="rescale-zero-one")
    assert str(image).startswith(REFERENCE_IMAGE_INPUT)


def test_regression_display_groups():
    # [out]: general Name: '' and ResponseNames: {}; Hyperparameters LossFunction
    lines = str(regressionLayer()).splitlines()
    assert lines[:7] == ["  RegressionOutputLayer with properties:", "",
                         "             Name: ''",
                         "    ResponseNames: {}", "",
                         "   Hyperparameters",
                         "     LossFunction: 'mean-squared-error'"]


@pytest.mark.parametrize("name, groups", [
    # [src] Convolution2DLayer R2019 (+ PaddingValue, newer)
    ("convolution2dLayer", [("", ("Name",)),
                            ("Hyperparameters", ("FilterSize", "NumChannels", "NumFilters", "Stride", "DilationFactor",
                                                 "PaddingMode", "PaddingSize", "PaddingValue")),
                            ("Learnable Parameters", ("Weights", "Bias"))]),
    # the seed page
    ("batchNormalizationLayer", [("", ("Name", "NumChannels", "TrainedMean", "TrainedVariance")),
                                 ("Hyperparameters", ("MeanDecay", "VarianceDecay", "Epsilon")),
                                 ("Learnable Parameters", ("Offset", "Scale"))]),
    ("fullyConnectedLayer", [("", ("Name",)), ("Hyperparameters", ("InputSize", "OutputSize")),
                             ("Learnable Parameters", ("Weights", "Bias"))]),
    ("imageInputLayer", [("", ("Name", "InputSize")),
                         ("Hyperparameters", ("DataAugmentation", "Normalization", "NormalizationDimension", "Mean"))]),
    ("regressionLayer", [("", ("Name", "ResponseNames")), ("Hyperparameters", ("LossFunction",))]),
])
def test_property_groups_follow_matlab(name, groups):
    layer = CONSTRUCTORS[name](*GOLDEN_ARGS.get(name, ()))
    assert [(t, tuple(n)) for t, n in layer.property_groups()] == groups


@pytest.mark.parametrize("normalization, shown", [
    ("zerocenter", ("Mean",)), ("zscore", ("Mean", "StandardDeviation")), ("rescale-symmetric", ("Max", "Min")),
    ("rescale-zero-one", ("Max", "Min")), ("none", ()),
])
def test_image_input_shows_the_statistics_its_normalization_uses(normalization, shown):
    layer = imageInputLayer([8, 8, 1], Normalization=normalization)
    hyper = dict(layer.property_groups())["Hyperparameters"]
    assert hyper == ("DataAugmentation", "Normalization", "NormalizationDimension") + shown


# Rows quoted in matlab_api.md 0 and 2a, each (layer, quoted description)
DESCRIPTIONS = [
    (lambda: imageInputLayer([32, 32, 3]), "32x32x3 images with 'zerocenter' normalization"),
    (lambda: imageInputLayer([28, 28, 1]), "28x28x1 images with 'zerocenter' normalization"),
    (lambda: imageInputLayer([66, 200, 3], Normalization="none"), "66x200x3 images"),
    (lambda: featureInputLayer(2), "2 features"),
    (lambda: convolution2dLayer(3, 16, Padding=1, NumChannels=1),
     "16 3x3x1 convolutions with stride [1  1] and padding [1  1  1  1]"),
    (lambda: convolution2dLayer(10, 96, Stride=2, NumChannels=1),
     "96 10x10x1 convolutions with stride [2  2] and padding [0  0  0  0]"),
    (lambda: convolution2dLayer(3, 64, Padding="same", NumChannels=64),
     "64 3x3x64 convolutions with stride [1  1] and padding 'same'"),
    (lambda: convolution2dLayer(5, 32, Padding=2), "32 5x5 convolutions with stride [1  1] and padding [2  2  2  2]"),
    (lambda: convolution2dLayer(3, 16, Padding=[1, 0, 1, 0]),
     "16 3x3 convolutions with stride [1  1] and padding [1  0  1  0]"),
    (lambda: batchNormalizationLayer(), "Batch normalization"),
    (lambda: batchNormalizationLayer(NumChannels=96), "Batch normalization with 96 channels"),
    (lambda: batchNormalizationLayer(NumChannels=64), "Batch normalization with 64 channels"),
    (lambda: fullyConnectedLayer(10), "10 fully connected layer"),
    (lambda: maxPooling2dLayer(2, Stride=2), "2x2 max pooling with stride [2  2] and padding [0  0  0  0]"),
    (lambda: maxPooling2dLayer(2, Stride=2, Padding="same"), "2x2 max pooling with stride [2  2] and padding 'same'"),
    (lambda: dropoutLayer(), "50% dropout"),
    (lambda: dropoutLayer(0.2), "20% dropout"),
    (lambda: reluLayer(), "ReLU"),
    (lambda: leakyReluLayer(), "Leaky ReLU with scale 0.01"),
    (lambda: leakyReluLayer(0.1), "Leaky ReLU with scale 0.1"),
    (lambda: eluLayer(), "ELU with Alpha 1"),
    (lambda: tanhLayer(), "Hyperbolic tangent"),
    (lambda: softmaxLayer(), "softmax"),
    (lambda: classificationLayer(), "crossentropyex"),
    (lambda: classificationLayer(Classes=["tench"] + [f"c{i}" for i in range(999)]),
     "crossentropyex with 'tench' and 999 other classes"),
    (lambda: regressionLayer(), "mean-squared-error"),
    (lambda: additionLayer(2), "Element-wise addition of 2 inputs"),
    (lambda: depthConcatenationLayer(2), "Depth concatenation of 2 inputs"),
    (lambda: transposedConv2dLayer(1, 340, Cropping="same"),
     "340 1x1 transposed convolutions with stride [1  1] and cropping 'same'"),
]


@pytest.mark.parametrize("make, text", DESCRIPTIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_descriptions_quoted_in_the_reference(make, text):
    assert make().description() == text


def test_rows_quoted_in_the_reference():
    """Rows of a trained network [out]: the widths come from 'batchnorm_1' and
    'Classification Output'."""
    layers = LayerArray([
        imageInputLayer([227, 227, 1], Name="imageinput"),
        convolution2dLayer(10, 96, Stride=2, NumChannels=1, Name="conv_1"),
        batchNormalizationLayer(NumChannels=96, Name="batchnorm_1"),
        reluLayer(Name="relu_1"),
        fullyConnectedLayer(1000, Name="fc"),
        softmaxLayer(Name="softmax"),
        classificationLayer(Name="classoutput"),
    ])
    lines = str(layers).splitlines()
    assert lines[3] == ("     2   'conv_1'        Convolution             96 10x10x1 convolutions with stride [2  2] "
                        "and padding [0  0  0  0]")
    assert lines[4] == "     3   'batchnorm_1'   Batch Normalization     Batch normalization with 96 channels"


def test_header_blank_line_and_index_width():
    layers = LayerArray([reluLayer] * 101)
    lines = str(layers).splitlines()
    assert lines[0] == "  101x1 Layer array with layers:" and lines[1] == ""
    assert lines[2] == "     1   ''   ReLU   ReLU"
    assert lines[11] == "    10   ''   ReLU   ReLU"
    assert lines[101] == "    100   ''   ReLU   ReLU"   # %2i grows to three digits
    assert str(layers).endswith("ReLU\n")


def test_empty_names_print_as_two_quotes():
    assert array_row(reluLayer()) == "     1   ''   ReLU   ReLU"
    assert array_row(reluLayer(Name="relu_7")) == "     1   'relu_7'   ReLU   ReLU"


# ---------------------------------------------------------------------------
# repr without a terminal, and the rich renderables

def test_repr_works_without_a_terminal():
    code = ("from layergraph import *; import sys; "
            "print(repr(batchNormalizationLayer('Name', 'BN1'))); "
            "print(repr(LayerArray([imageInputLayer([32, 32, 3]), reluLayer]))); "
            "assert not sys.stdout.isatty()")
    env = {k: v for k, v in os.environ.items() if k not in ("TERM", "COLUMNS", "LINES", "FORCE_COLOR")}
    env["TERM"] = "dumb"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith((GOLDEN / "seed_BN1_display.txt").read_text())
    assert "  2x1 Layer array with layers:" in done.stdout
    assert "\x1b[" not in done.stdout   # no terminal escapes


def render(obj, width=120) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(obj)
    return buffer.getvalue()


def test_rich_bn1_values():
    text = render(batchNormalizationLayer('Name', 'BN1'))
    for piece in ("BatchNormalizationLayer", "'BN1'", "MeanDecay", "0.1000", "Epsilon", "1.0000e-05", "'auto'", "[]",
                  "Learnable Parameters", "Offset", "Scale"):
        assert piece in text


def test_rich_layer_array_renderable():
    layers = seed_layers()
    text = render(layers, width=160)
    assert "11x1 Layer array with layers" in text
    for layer in layers:
        assert layer.Type in text and layer.description() in text
    assert "''" in text


def test_rich_renders_sized_learnables():
    _, net = sized_network()
    text = render(net.Layers[2])
    assert "[1x1x8 single]" in text and "NumChannels" in text and "8" in text


def test_show_all_properties_lists_every_property():
    layer = convolution2dLayer(3, 16)
    text = layer.show_all_properties()
    assert text.startswith("  Convolution2DLayer with properties:\n\n")
    for prop in layer.properties():
        assert f" {prop}: " in text
    assert "BiasL2Factor: 0" in text and "WeightsInitializer: 'glorot'" in text and "InputNames: {'in'}" in text


def test_learnables_given_by_the_user_print_with_their_class():
    layer = convolution2dLayer(3, 4, Weights=np.zeros((3, 3, 2, 4)), Bias=np.zeros((1, 1, 4), np.float32))
    text = str(layer)
    assert "Weights: [3x3x2x4 double]" in text and "Bias: [1x1x4 single]" in text
    assert "NumChannels: 2" in text
