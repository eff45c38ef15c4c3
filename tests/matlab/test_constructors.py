"""MATLAB's layer constructors: names, defaults, the input parser, validation.

The expected values come from /work/shared/reference/matlab_api.md (sections 0, 1,
7) and the batchNormalizationLayer page in /work/shared/seeds. Where that
reference marks a value as remembered rather than seen, the row says UNCONFIRMED.
Every test parametrizes over the registry or the constructor table; a new layer's
MATLAB tables are its case in layergraph/testing/cases.py (tests/conformance fails
on a row without one).
"""
import numpy as np
import pytest

import layergraph
from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.core.layer import AUTO
from layergraph.matlab.layer_array import LayerArray
from layergraph.core.registry import BY_MATLAB, REGISTRY
from layergraph.matlab import (
    additionLayer,
    averagePooling2dLayer,
    batchNormalizationLayer,
    classificationLayer,
    concatenationLayer,
    convolution2dLayer,
    dlnetwork,
    dropoutLayer,
    eluLayer,
    featureInputLayer,
    fullyConnectedLayer,
    groupedConvolution2dLayer,
    imageInputLayer,
    layerGraph,
    leakyReluLayer,
    maxPooling2dLayer,
    reluLayer,
    softmaxLayer,
    transposedConv2dLayer,
)
from layergraph.matlab.constructors import CONSTRUCTORS
from layergraph.testing import CASES, check_rejected
from layergraph.testing import same_property as same

# ---------------------------------------------------------------------------
# MATLAB's tables (required arguments, defaults, Type and DefaultName, bad values) are
# per registry row in layergraph/testing/cases.py; tests/conformance checks each row.

# Positional arguments each constructor requires, in order (MATLAB's syntax line).
REQUIRED = {e.matlab: CASES[e.layer].required for e in REGISTRY if e.matlab and CASES[e.layer].required}
# Values for the required arguments (the reference's own examples where it has one).
ARGS = {e.matlab: e.example for e in REGISTRY if e.example}

MATLAB_ENTRIES = [e for e in REGISTRY if e.matlab]


def make(name, *extra, **kwargs):
    return CONSTRUCTORS[name](*ARGS.get(name, ()), *extra, **kwargs)


def raises(call, *fragments, identifier=None) -> LayerGraphError:
    """``call()`` fails with a LayerGraphError (never pydantic, numpy or networkx)
    whose message contains every fragment."""
    err = check_rejected(call, *fragments)
    assert type(err) is LayerGraphError, f"{type(err).__module__}.{type(err).__name__}: {err}"
    if identifier is not None:
        assert err.identifier == identifier, err.identifier
    return err


# ---------------------------------------------------------------------------
# The tables cover the registry and the constructors

@pytest.mark.parametrize("entry", MATLAB_ENTRIES, ids=lambda e: e.matlab)
def test_registry_row_matches_constructor(entry):
    f = CONSTRUCTORS[entry.matlab]
    assert f.__name__ == entry.matlab
    assert f.layer_class is entry.layer
    assert BY_MATLAB[entry.matlab] is entry
    # the MATLAB names are exported from both the dialect and the package
    assert getattr(layergraph.matlab, entry.matlab) is f
    assert getattr(layergraph, entry.matlab) is f
    assert isinstance(make(entry.matlab), entry.layer)
    # only MATLAB names are parameters: no internal Python field leaks into the parser
    assert "Name" in f.parameter_names
    assert all(p[0].isupper() for p in f.parameter_names), f.parameter_names


# test_defaults_match_matlab and test_type_and_default_name: tests/conformance


def test_spot_defaults_named_in_the_brief():
    conv, fc = convolution2dLayer(3, 8), fullyConnectedLayer(4)
    assert conv.BiasL2Factor == 0 and conv.WeightL2Factor == 1
    assert fc.BiasL2Factor == 0 and fc.WeightL2Factor == 1
    bn = batchNormalizationLayer()
    assert (bn.Epsilon, bn.MeanDecay, bn.VarianceDecay, bn.ScaleInitializer) == (1e-5, 0.1, 0.1, "ones")
    assert imageInputLayer([8, 8, 1]).Normalization == "zerocenter"
    assert featureInputLayer(3).Normalization == "none"
    assert maxPooling2dLayer(3).Stride == (1, 1)
    assert dropoutLayer().Probability == 0.5
    assert leakyReluLayer().Scale == 0.01
    assert eluLayer().Alpha == 1


# ---------------------------------------------------------------------------
# The input parser: positional, 'Name', value and Name=value

EQUIVALENT = [
    ("conv", lambda: convolution2dLayer(3, 16, "Padding", 1, "Stride", 2, "Name", "c"),
     lambda: convolution2dLayer([3, 3], 16, Padding=[1, 1, 1, 1], Stride=[2, 2], Name="c"),
     lambda: convolution2dLayer(np.int64(3), np.array(16), "padding", 1, "STRIDE", 2, "na", "c")),
    ("conv-mixed", lambda: convolution2dLayer(3, 16, "Padding", "same", "Name", "c"),
     lambda: convolution2dLayer(3, 16, "Padding", "same", Name="c"),
     lambda: convolution2dLayer(3, 16, padding="SAME", NAME="c")),
    ("bn", lambda: batchNormalizationLayer("Epsilon", 1e-3, "MeanDecay", 0.2, "Name", "BN1"),
     lambda: batchNormalizationLayer(Epsilon=1e-3, MeanDecay=0.2, Name="BN1"),
     lambda: batchNormalizationLayer("eps", 1e-3, "meand", 0.2, "name", "BN1")),
    ("leaky", lambda: leakyReluLayer(0.2), lambda: leakyReluLayer("Scale", 0.2),
     lambda: leakyReluLayer(Scale=0.2)),
    ("dropout", lambda: dropoutLayer(0.3), lambda: dropoutLayer("Probability", 0.3),
     lambda: dropoutLayer(prob=0.3)),
    ("elu", lambda: eluLayer(2), lambda: eluLayer("Alpha", 2), lambda: eluLayer(Alpha=2.0)),
    ("image", lambda: imageInputLayer([28, 28], "Normalization", "none"),
     lambda: imageInputLayer([28, 28, 1], Normalization="none"),
     lambda: imageInputLayer(np.array([28, 28, 1]), "normalization", "NO")),
    ("maxpool", lambda: maxPooling2dLayer(2, "Stride", 2), lambda: maxPooling2dLayer([2, 2], Stride=[2, 2]),
     lambda: maxPooling2dLayer(2, "str", 2, "Padding", 0)),
    ("fc", lambda: fullyConnectedLayer(10, "WeightL2Factor", 2, "Name", "fc1"),
     lambda: fullyConnectedLayer(10, WeightL2Factor=2, Name="fc1"),
     lambda: fullyConnectedLayer(10.0, "weightl2", 2, "Name", "fc1")),
    ("addition", lambda: additionLayer(3, "Name", "add"), lambda: additionLayer(3, Name="add"),
     lambda: additionLayer(np.int32(3), "NAME", "add")),
    ("concat", lambda: concatenationLayer(3, 2, "Name", "cat"), lambda: concatenationLayer(3, 2, Name="cat"),
     lambda: concatenationLayer(3.0, 2, "nam", "cat")),
    ("grouped", lambda: groupedConvolution2dLayer(3, 8, "channel-wise", "Padding", "same"),
     lambda: groupedConvolution2dLayer([3, 3], 8, "Channel-Wise", Padding="same"),
     lambda: groupedConvolution2dLayer(3, 8, "channel-wise", "Padding", "same", "PaddingValue", 0)),
    ("classes", lambda: classificationLayer("Classes", ["a", "b"]), lambda: classificationLayer(Classes=("a", "b")),
     lambda: classificationLayer("classes", np.array(["a", "b"]))),
]


@pytest.mark.parametrize("case", EQUIVALENT, ids=lambda c: c[0])
def test_positional_pairs_and_keywords_give_equal_layers(case):
    _, *calls = case
    first, *others = [call() for call in calls]
    for other in others:
        assert other == first, f"{other}\n!=\n{first}"


def test_equal_layers_are_not_equal_to_different_ones():
    assert convolution2dLayer(3, 16) != convolution2dLayer(3, 16, Stride=2)
    assert reluLayer() != reluLayer(Name="r")
    assert reluLayer() != leakyReluLayer()


def test_the_last_value_given_wins():
    # pairs are read first, then keywords; a later pair overrides an earlier one as in inputParser
    assert convolution2dLayer(3, 16, "Stride", 2, Stride=3).Stride == (3, 3)
    assert convolution2dLayer(3, 16, "Stride", 2, "Stride", 3).Stride == (3, 3)


@pytest.mark.parametrize("given, name, value", [
    ("name", "Name", "c"), ("NAME", "Name", "c"), ("nA", "Name", "c"), ("stride", "Stride", 2), ("Str", "Stride", 2),
    ("dil", "DilationFactor", 2), ("numc", "NumChannels", 3), ("numf", "NumFilters", 8),
    ("paddingvalue", "PaddingValue", "replicate"), ("padding", "Padding", "same"), ("PADDING", "Padding", 1),
    ("weights", "Weights", np.zeros((3, 3, 3, 16))),
    ("biasl2", "BiasL2Factor", 2), ("BiasLearn", "BiasLearnRateFactor", 3), ("weightsi", "WeightsInitializer", "he"),
])
def test_names_are_case_insensitive_and_unique_prefixes(given, name, value):
    expected = convolution2dLayer(3, 16, name, value)
    assert convolution2dLayer(3, 16, given, value) == expected
    assert convolution2dLayer(3, 16, **{given: value}) == expected   # keywords go through the same parser
    assert expected != convolution2dLayer(3, 16)


@pytest.mark.parametrize("call, given, candidates", [
    (lambda: convolution2dLayer(3, 16, "Pad", 1), "Pad", ("'Padding'", "'PaddingValue'")),
    (lambda: convolution2dLayer(3, 16, "Weight", 1), "Weight",
     ("'Weights'", "'WeightsInitializer'", "'WeightLearnRateFactor'", "'WeightL2Factor'")),
    (lambda: convolution2dLayer(3, 16, "Bi", 1), "Bi", ("'Bias'", "'BiasInitializer'")),
    (lambda: imageInputLayer([28, 28, 1], "Norm", "none"), "Norm", ("'Normalization'", "'NormalizationDimension'")),
    (lambda: batchNormalizationLayer("Offset", None, "OffsetL", 1), "OffsetL",
     ("'OffsetLearnRateFactor'", "'OffsetL2Factor'")),
    (lambda: batchNormalizationLayer(Sc=1), "Sc", ("'Scale'", "'ScaleInitializer'")),
])
def test_ambiguous_prefix_names_the_candidates(call, given, candidates):
    err = raises(call, f"'{given}' matches multiple parameter names", *candidates,
                 identifier="MATLAB:InputParser:AmbiguousParamName")
    assert "specify the complete name" in str(err)


def test_an_exact_name_wins_over_longer_names_it_prefixes():
    # 'Bias' is a prefix of 'BiasInitializer' too, but it is a whole name
    b = np.zeros((1, 1, 16))
    assert same(convolution2dLayer(3, 16, "Bias", b).Bias, b)
    assert imageInputLayer([4, 4, 1], "normalization", "none").Normalization == "none"


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_unknown_name_is_matlabs_input_parser_error(name):
    msg = ("'BatchSize' is not a recognized parameter. For a list of valid name-value pair arguments, see the "
           "documentation for this function.")
    err = raises(lambda: make(name, "BatchSize", 1), msg, identifier="MATLAB:InputParser:UnmatchedParameter")
    assert "Name" in str(err)  # and it lists the valid names
    raises(lambda: make(name, Bogus=1), "'Bogus' is not a recognized parameter",
           identifier="MATLAB:InputParser:UnmatchedParameter")


def test_internal_fields_are_not_parameters():
    raises(lambda: additionLayer(2, "num_inputs", 3), "'num_inputs' is not a recognized parameter")
    raises(lambda: classificationLayer("OutputSize", 3), "'OutputSize' is not a recognized parameter")
    raises(lambda: convolution2dLayer(3, 16, "PaddingSize", 1), "'PaddingSize' is not a recognized parameter")


@pytest.mark.parametrize("call, name", [
    (lambda: convolution2dLayer(3, 16, "Padding"), "Padding"),
    (lambda: convolution2dLayer(3, 16, "Padding", 1, "Stride"), "Stride"),
    (lambda: reluLayer("Name"), "Name"),
    (lambda: batchNormalizationLayer("Epsilon", 1e-3, "MeanDecay"), "MeanDecay"),
    (lambda: imageInputLayer([8, 8, 1], "Normalization"), "Normalization"),
])
def test_odd_number_of_name_value_arguments(call, name):
    raises(call, f"'{name}'", "must come in pairs", identifier="MATLAB:InputParser:ParamMissingValue")


def test_a_value_where_a_name_belongs():
    raises(lambda: convolution2dLayer(3, 16, 3, 4), "Expected a parameter name", "found 3",
           identifier="MATLAB:InputParser:ParamMustBeChar")
    raises(lambda: convolution2dLayer(3, 16, 5), "Too many input arguments", "5",
           identifier="MATLAB:TooManyInputs")
    raises(lambda: reluLayer(3), "Too many input arguments to reluLayer", identifier="MATLAB:TooManyInputs")


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_missing_required_positional_names_it(name):
    required, args = REQUIRED[name], ARGS[name]
    for given in range(len(required)):
        missing = required[given:]
        err = raises(lambda given=given: CONSTRUCTORS[name](*args[:given]), "Not enough input arguments", name,
                     ", ".join(missing), identifier="MATLAB:minrhs")
        for present in required[:given]:
            assert present not in str(err).split("requires", 1)[1]
    # a name-value pair where a required positional belongs does not fill it
    raises(lambda: CONSTRUCTORS[name](*args[:-1], "Name", "x"), "Not enough input arguments", required[-1])


@pytest.mark.parametrize("name", sorted(set(CONSTRUCTORS) - set(REQUIRED)))
def test_constructors_without_required_arguments(name):
    layer = CONSTRUCTORS[name]()
    assert layer == CONSTRUCTORS[name]() and layer.Name == ""


# ---------------------------------------------------------------------------
# Values: errors name the property, the value given and what is allowed

# The bad values of each constructor (the property, the value and what is allowed in the
# message) are per row in layergraph/testing/cases.py: tests/conformance.


def test_numpy_scalars_and_arrays_are_accepted_like_numbers():
    layer = convolution2dLayer(np.array([3]), np.int16(16), "Stride", np.array([2, 2]), "NumChannels", np.uint8(3))
    assert (layer.FilterSize, layer.NumFilters, layer.Stride, layer.NumChannels) == ((3, 3), 16, (2, 2), 3)
    assert isinstance(layer.NumFilters, int) and all(isinstance(v, int) for v in layer.FilterSize)
    assert batchNormalizationLayer("Epsilon", np.float32(1e-3)).Epsilon == pytest.approx(1e-3)


def test_choices_are_case_insensitive_and_take_unique_prefixes():
    assert imageInputLayer([8, 8, 1], "Normalization", "ZSCORE").Normalization == "zscore"
    assert imageInputLayer([8, 8, 1], "Normalization", "rescale-z").Normalization == "rescale-zero-one"
    assert convolution2dLayer(3, 16, "PaddingValue", "rep").PaddingValue == "replicate"
    assert convolution2dLayer(3, 16, "WeightsInitializer", "Glorot").WeightsInitializer == "glorot"
    assert averagePooling2dLayer(2, "PaddingValue", "Mean").PaddingValue == "mean"


# ---------------------------------------------------------------------------
# Padding, cropping and size vectors

@pytest.mark.parametrize("given, mode, size", [
    (0, "manual", (0, 0, 0, 0)),
    (1, "manual", (1, 1, 1, 1)),
    ([1, 2], "manual", (1, 1, 2, 2)),           # [a b]: top/bottom a, left/right b
    ([1, 2, 3, 4], "manual", (1, 2, 3, 4)),     # [t b l r]
    (np.array([[1, 2, 3, 4]]), "manual", (1, 2, 3, 4)),
    ("same", "same", (0, 0, 0, 0)),             # resolved to [t b l r] by inference
    ("SAME", "same", (0, 0, 0, 0)),
])
@pytest.mark.parametrize("ctor", ["convolution2dLayer", "groupedConvolution2dLayer", "maxPooling2dLayer",
                                  "averagePooling2dLayer"])
def test_padding_forms(ctor, given, mode, size):
    args = (5,) if "Pooling" in ctor else ARGS[ctor]   # pooling padding must stay below the pool size
    layer = CONSTRUCTORS[ctor](*args, "Padding", given)
    assert (layer.PaddingMode, layer.PaddingSize) == (mode, size)
    assert CONSTRUCTORS[ctor](*args, Padding=given) == layer
    text = layer.description()
    assert text.endswith("padding 'same'" if mode == "same" else "padding [" + "  ".join(map(str, size)) + "]")


@pytest.mark.parametrize("given", [[1, 2, 3], [1, 2, 3, 4, 5], -1, 1.5, "sam", "valid", np.inf, None, {"a": 1}])
def test_invalid_padding_names_padding_and_the_forms(given):
    err = raises(lambda: convolution2dLayer(3, 16, "Padding", given), "'Padding'", "'same'",
                 "[a b]", "[t b l r]", identifier="MATLAB:InputParser:ArgumentFailedValidation")
    if isinstance(given, str):
        assert f"'{given}'" in str(err)


def test_cropping_forms_of_transposed_convolution():
    assert transposedConv2dLayer(3, 16, "Cropping", 1).CroppingSize == (1, 1, 1, 1)
    assert transposedConv2dLayer(3, 16, "Cropping", [1, 2]).CroppingSize == (1, 1, 2, 2)
    assert transposedConv2dLayer(3, 16, "Cropping", [1, 2, 3, 4]).CroppingSize == (1, 2, 3, 4)
    layer = transposedConv2dLayer(3, 16, "Cropping", "same")
    assert layer.CroppingMode == "same" and layer.description().endswith("cropping 'same'")
    raises(lambda: transposedConv2dLayer(3, 16, "Cropping", [1, 2, 3]), "'Cropping'")


@pytest.mark.parametrize("ctor, prop", [
    ("convolution2dLayer", "FilterSize"), ("convolution2dLayer", "Stride"), ("convolution2dLayer", "DilationFactor"),
    ("groupedConvolution2dLayer", "FilterSize"), ("groupedConvolution2dLayer", "Stride"),
    ("transposedConv2dLayer", "FilterSize"), ("transposedConv2dLayer", "Stride"),
    ("maxPooling2dLayer", "PoolSize"), ("maxPooling2dLayer", "Stride"),
    ("averagePooling2dLayer", "PoolSize"), ("averagePooling2dLayer", "Stride"),
])
def test_scalar_sizes_expand_to_two(ctor, prop):
    f = CONSTRUCTORS[ctor]
    positional = REQUIRED[ctor]
    args = list(ARGS[ctor])
    if prop in positional:
        args[positional.index(prop)] = 4
        layer = f(*args)
        args[positional.index(prop)] = [4, 4]
        assert f(*args) == layer
        args[positional.index(prop)] = [4, 5]
        assert getattr(f(*args), prop) == (4, 5)
    else:
        layer = f(*args, prop, 4)
        assert f(*args, prop, [4, 4]) == layer
        assert getattr(f(*args, prop, [4, 5]), prop) == (4, 5)
    assert getattr(layer, prop) == (4, 4)


def test_image_input_size_of_two_means_one_channel():
    assert imageInputLayer([28, 28]).InputSize == (28, 28, 1)
    assert imageInputLayer([28, 28]) == imageInputLayer([28, 28, 1])


# ---------------------------------------------------------------------------
# Learnables in MATLAB's layout

def test_conv_weights_fh_fw_c_f_set_num_channels():
    w, b = np.random.default_rng(0).standard_normal((3, 3, 4, 16)), np.zeros((1, 1, 16))
    layer = convolution2dLayer(3, 16, "Weights", w, "Bias", b)
    assert layer.NumChannels == 4
    assert np.array_equal(layer.Weights, w) and layer.Weights.shape == (3, 3, 4, 16)
    assert layer.description().startswith("16 3x3x4 convolutions")
    assert layer.learnable_sizes() == {"Weights": (3, 3, 4, 16), "Bias": (1, 1, 16)}
    # a non-square filter: FilterSize(1) x FilterSize(2) x C x F
    assert convolution2dLayer([3, 5], 2, Weights=np.zeros((3, 5, 1, 2))).NumChannels == 1


@pytest.mark.parametrize("kwargs, prop, got, want", [
    ({"Weights": np.zeros((3, 3, 4, 8))}, "Weights", "3x3x4x8", "3x3x4x16"),
    ({"Weights": np.zeros((16, 4, 3, 3))}, "Weights", "16x4x3x3", "3x3x3x16"),   # PyTorch's F x C x FH x FW
    ({"Weights": np.zeros((3, 3, 4, 16)), "NumChannels": 3}, "Weights", "3x3x4x16", "3x3x3x16"),
    ({"Weights": np.zeros((5, 5, 4, 16))}, "Weights", "5x5x4x16", "3x3x4x16"),
    ({"Bias": np.zeros((1, 1, 8))}, "Bias", "1x1x8", "1x1x16"),
    ({"Bias": np.zeros(16)}, "Bias", "16x1", "1x1x16"),
])
def test_conv_learnables_of_the_wrong_size(kwargs, prop, got, want):
    err = raises(lambda: convolution2dLayer(3, 16, **kwargs), f"'{prop}'", "Convolution2DLayer", got, want)
    assert str(err).index(got) < str(err).index(want)


def test_fc_weights_are_output_by_input():
    layer = fullyConnectedLayer(10, "Weights", np.ones((10, 5)), "Bias", np.zeros((10, 1)))
    assert layer.InputSize == 5 and layer.learnable_sizes() == {"Weights": (10, 5), "Bias": (10, 1)}
    raises(lambda: fullyConnectedLayer(10, "Weights", np.ones((5, 10))), "'Weights'", "5x10", "10x10")
    raises(lambda: fullyConnectedLayer(10, "InputSize", 7, "Weights", np.ones((10, 5))), "'Weights'", "10x5", "10x7")
    raises(lambda: fullyConnectedLayer(10, "Bias", np.zeros((5, 1))), "'Bias'", "5x1", "10x1")
    assert fullyConnectedLayer(10, "Bias", np.zeros(10)).Bias.shape == (10,)


def test_bn_scale_is_1x1xC_and_sets_num_channels():
    layer = batchNormalizationLayer("Scale", np.ones((1, 1, 8)), "Offset", np.zeros((1, 1, 8)))
    assert layer.NumChannels == 8 and layer.description() == "Batch normalization with 8 channels"
    assert batchNormalizationLayer(TrainedMean=np.zeros((1, 1, 4))).NumChannels == 4
    assert batchNormalizationLayer(Scale=np.ones((6, 1))).NumChannels == 6   # C x 1 for feature input
    raises(lambda: batchNormalizationLayer("Scale", np.ones((1, 1, 8)), "Offset", np.ones((1, 1, 4))),
           "'Offset'", "1x1x4", "1x1x8")
    raises(lambda: batchNormalizationLayer("NumChannels", 4, "Scale", np.ones((1, 1, 8))), "'Scale'", "1x1x8",
           "1x1x4")
    raises(lambda: batchNormalizationLayer("Scale", np.ones((2, 4))), "'Scale'", "2x4")
    raises(lambda: batchNormalizationLayer("TrainedVariance", -np.ones((1, 1, 3))), "'TrainedVariance'",
           "nonnegative")


def test_grouped_and_transposed_layouts():
    # grouped: FH x FW x C/G x F/G x G
    g = groupedConvolution2dLayer(3, 8, 2, "Weights", np.zeros((3, 3, 5, 8, 2)))
    assert g.NumChannelsPerGroup == 5
    raises(lambda: groupedConvolution2dLayer(3, 8, 2, "Weights", np.zeros((3, 3, 5, 8, 3))), "'Weights'",
           "3x3x5x8x3", "3x3x5x8x2")
    # transposed: FH x FW x F x C
    t = transposedConv2dLayer(3, 16, "Weights", np.zeros((3, 3, 16, 4)))
    assert t.NumChannels == 4
    raises(lambda: transposedConv2dLayer(3, 16, "Weights", np.zeros((3, 3, 4, 16))), "'Weights'", "3x3x4x16",
           "3x3x16x16")


def test_learnables_must_be_finite_numbers():
    raises(lambda: convolution2dLayer(3, 1, "Bias", np.array([[[np.nan]]])), "'Bias'", "finite")
    raises(lambda: fullyConnectedLayer(1, "Weights", "ones"), "'Weights'", "'ones'", "numeric array")
    assert convolution2dLayer(3, 1, "Bias", []).Bias is None   # [] is MATLAB's empty


# ---------------------------------------------------------------------------
# Initializers

INITIALIZER_NAMES = {
    ("convolution2dLayer", "WeightsInitializer"): ("glorot", "he", "narrow-normal", "zeros", "ones"),
    ("convolution2dLayer", "BiasInitializer"): ("zeros", "narrow-normal", "ones"),
    ("fullyConnectedLayer", "WeightsInitializer"): ("glorot", "he", "orthogonal", "narrow-normal", "zeros", "ones"),
    ("fullyConnectedLayer", "BiasInitializer"): ("zeros", "narrow-normal", "ones"),
    ("batchNormalizationLayer", "ScaleInitializer"): ("ones", "zeros", "narrow-normal"),
    ("batchNormalizationLayer", "OffsetInitializer"): ("zeros", "ones", "narrow-normal"),
    ("layerNormalizationLayer", "ScaleInitializer"): ("ones", "zeros", "narrow-normal"),
}


@pytest.mark.parametrize("ctor, prop", sorted(INITIALIZER_NAMES))
def test_initializers_by_name_or_callable(ctor, prop):
    for name in INITIALIZER_NAMES[(ctor, prop)]:
        assert getattr(make(ctor, prop, name), prop) == name
        assert getattr(make(ctor, prop, name.upper()), prop) == name

    def my_init(sz):
        return np.full(sz, 0.5)

    assert getattr(make(ctor, prop, my_init), prop) is my_init
    def fn(sz):
        return np.zeros(sz)

    assert getattr(make(ctor, **{prop: fn}), prop) is fn
    # names that are not MATLAB's, and values that are neither names nor functions
    for bad in ("xavier", "uniform", "kaiming", 3, np.ones(3), None):
        allowed = [f"'{n}'" for n in INITIALIZER_NAMES[(ctor, prop)]]
        raises(lambda bad=bad: make(ctor, prop, bad), f"'{prop}'", *allowed, "function handle")


def test_conv_has_no_orthogonal_initializer():
    # matlab_api.md 1b lists glorot, he, narrow-normal, zeros, ones and a function for conv
    raises(lambda: convolution2dLayer(3, 16, "WeightsInitializer", "orthogonal"), "'orthogonal'", "'glorot'")


def test_a_callable_initializer_gets_the_matlab_size():
    seen = {}

    def init(sz):
        seen["Weights"] = sz
        return np.full(sz, 0.25)

    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2, "WeightsInitializer", init, "Name", "fc")])
    assert seen["Weights"] == (2, 3)   # OutputSize x InputSize
    fc = net.Layers[1]
    assert fc.Weights.shape == (2, 3) and np.all(fc.Weights == 0.25)
    assert np.all(fc.Bias == 0)         # 'zeros'


# ---------------------------------------------------------------------------
# Assignment

ASSIGNMENTS = [
    ("batchNormalizationLayer", "Epsilon", 1e-7),
    ("batchNormalizationLayer", "MeanDecay", 1.5),
    ("batchNormalizationLayer", "ScaleInitializer", "glorot"),
    ("convolution2dLayer", "Stride", 0),
    ("convolution2dLayer", "NumChannels", -3),
    ("convolution2dLayer", "WeightsInitializer", "xavier"),
    ("convolution2dLayer", "Weights", np.zeros((3, 3, 2, 8))),
    ("convolution2dLayer", "PaddingValue", "zero"),
    ("fullyConnectedLayer", "OutputSize", 0),
    ("dropoutLayer", "Probability", 1),
    ("leakyReluLayer", "Scale", "big"),
    ("imageInputLayer", "Normalization", "center"),
    ("imageInputLayer", "InputSize", [28]),
    ("maxPooling2dLayer", "PoolSize", [1, 2, 3]),
    ("reluLayer", "Name", 3),
]


@pytest.mark.parametrize("ctor, prop, bad", ASSIGNMENTS, ids=lambda v: v if isinstance(v, str) else "")
def test_assignment_validates_like_the_constructor_and_keeps_the_old_value(ctor, prop, bad):
    layer = make(ctor)
    before = layer.model_copy(deep=True)
    old = getattr(layer, prop)
    with pytest.raises(LayerGraphError) as assigned:
        setattr(layer, prop, bad)
    assert same(getattr(layer, prop), old)
    assert layer == before
    if prop not in REQUIRED.get(ctor, ()):
        with pytest.raises(LayerGraphError) as constructed:
            make(ctor, prop, bad)
        assert str(assigned.value) == str(constructed.value)
    assert f"'{prop}'" in str(assigned.value) and type(layer).class_name in str(assigned.value)


def test_epsilon_assignment_from_the_brief():
    bn = batchNormalizationLayer()
    err = raises(lambda: setattr(bn, "Epsilon", 1e-7), "Invalid value for 'Epsilon' of BatchNormalizationLayer: "
                 "1e-07. Expected Epsilon to be a numeric scalar with value >= 1e-05.")
    assert err.identifier == "MATLAB:InputParser:ArgumentFailedValidation"
    assert bn.Epsilon == 1e-5
    bn.Epsilon = 1e-3
    assert bn.Epsilon == 1e-3


def test_valid_assignment_normalizes_like_the_constructor():
    conv = convolution2dLayer(3, 16)
    conv.Stride = 2
    conv.FilterSize = np.array([5])
    conv.PaddingValue = "REPL"
    assert (conv.Stride, conv.FilterSize, conv.PaddingValue) == ((2, 2), (5, 5), "replicate")
    conv.Weights = np.zeros((5, 5, 2, 16))
    assert conv.NumChannels == 2      # the weights size the layer, as in the constructor
    image = imageInputLayer([8, 8, 3])
    image.Normalization = "ZScore"
    assert image.Normalization == "zscore"


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_unknown_property_assignment(name):
    layer = make(name)
    cls = type(layer).class_name
    raises(lambda: setattr(layer, "Bogus", 1), "Unrecognized property 'Bogus'", f"'{cls}'",
           identifier="MATLAB:noPublicFieldForClass")
    raises(lambda: setattr(layer, "name", "x"), "Unrecognized property 'name'")   # MATLAB is case-sensitive
    assert not hasattr(layer, "Bogus") and layer.Name == ""


@pytest.mark.parametrize("ctor", ["convolution2dLayer", "groupedConvolution2dLayer", "maxPooling2dLayer",
                                  "averagePooling2dLayer"])
def test_padding_size_can_only_be_set_in_manual_mode(ctor):
    layer = make(ctor, "Padding", "same")
    raises(lambda: setattr(layer, "PaddingSize", [1, 1, 1, 1]), "'PaddingSize'", "'manual'", "'same'",
           identifier="nnet_cnn:layer:Layer:PaddingSizeCanOnlyBeSetInManualMode")
    assert layer.PaddingSize == (0, 0, 0, 0) and layer.PaddingMode == "same"
    layer.PaddingMode = "manual"
    layer.PaddingSize = 1
    assert layer.PaddingSize == (1, 1, 1, 1)
    # in manual mode the size is validated as the constructor validates it
    raises(lambda: setattr(layer, "PaddingSize", [1, 2, 3]), "'PaddingSize'", "[t b l r]")
    assert layer.PaddingSize == (1, 1, 1, 1)


def test_read_only_output_size_of_classification_layer_is_validated():
    layer = classificationLayer()
    raises(lambda: setattr(layer, "OutputSize", "banana"), "'OutputSize'", "'banana'", "'auto'")
    assert layer.OutputSize == AUTO


# ---------------------------------------------------------------------------
# A bare constructor in a list is the default layer

@pytest.mark.parametrize("name", sorted(set(CONSTRUCTORS) - set(REQUIRED)))
def test_bare_constructor_in_a_list_is_the_default_layer(name):
    f = CONSTRUCTORS[name]
    layers = LayerArray([f, f()])
    assert isinstance(layers[0], f.layer_class) and layers[0] == f() == layers[1]


def test_bare_constructors_make_separate_layers():
    layers = LayerArray([imageInputLayer([8, 8, 1]), reluLayer, reluLayer, softmaxLayer, classificationLayer])
    assert layers[1] is not layers[2]
    layers[1].Name = "first"
    assert layers[2].Name == ""
    lgraph = layerGraph([imageInputLayer([8, 8, 1]), reluLayer, reluLayer, softmaxLayer, classificationLayer])
    assert [layer.Name for layer in lgraph.Layers] == ["imageinput", "relu_1", "relu_2", "softmax", "classoutput"]
    assert LayerArray(reluLayer)[0] == reluLayer()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_bare_constructor_that_needs_arguments(name):
    raises(lambda: LayerArray([CONSTRUCTORS[name]]), "Not enough input arguments", REQUIRED[name][0])


def test_things_that_are_not_layers_in_a_list():
    raises(lambda: LayerArray([reluLayer(), 3]), "Element 2", "not a layer")
    raises(lambda: LayerArray([reluLayer(), "reluLayer"]), "Element 2", "'reluLayer'")
    raises(lambda: LayerArray([L.ReLULayer(), max]), "Element 2")
