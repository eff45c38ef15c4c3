"""The conformance harness over the registry: every row of layergraph/core/registry.py is
constructed in each dialect, sized, initialized, run forward on the CPU, checked against
float64 finite differences, against the CUDA kernels where its family has them, saved and
loaded, printed against its golden file, and fed bad values that must be refused.

A new layer is tested by adding its registry row and its case in layergraph/testing/cases.py.
Where a check cannot apply to a row (no Wolfram name, no CUDA kernel, no learnables, an
output layer has no gradient of its own) the parametrization leaves the row out, and a
test below states which rows are left out of what; nothing here skips.

Not tested here: save/load of Wolfram nets (being built elsewhere).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import layergraph
from layergraph import kernels
from layergraph.core.errors import LayerGraphError
from layergraph.matlab.layer_array import LayerArray
from layergraph.core.registry import BY_MATLAB, REGISTRY
from layergraph.display.matlab_display import layer_array_display, layer_display
from layergraph.display.matlab_format import format_value
from layergraph.matlab.constructors import CONSTRUCTORS
from layergraph.testing import CASES
from layergraph.testing import same_property as same
from layergraph.testing import harness as H

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")


def rid(entry):
    return entry.matlab or entry.layer.class_name


def case(entry):
    return CASES[entry.layer]


def make(entry, args=None, name="x"):
    """The row's layer: the MATLAB constructor with ``args`` (the example by default), or the
    core class with the case's properties."""
    if entry.matlab:
        return CONSTRUCTORS[entry.matlab](*(entry.example if args is None else args), "Name", name)
    return entry.layer(Name=name, **(case(entry).core if args is None else args))


def spec_of(layer, default):
    if layer.is_input:
        size = layer.InputSize
        if layer.class_name == "SequenceInputLayer":
            return ("sequence", (size, 4))
        return ("feature", size) if isinstance(size, int) else ("image", tuple(size))
    return default


def before(entry):
    return [CONSTRUCTORS[name](*args) for name, args in case(entry).before]


def after(entry):
    return [CONSTRUCTORS[name](*args) for name, args in case(entry).after]


def _runs():
    for e in REGISTRY:
        c = CASES.get(e.layer)
        if c is None:
            continue
        inputs = c.inputs[:1] if e.layer.is_input else c.inputs
        for i, variant in enumerate(c.variants):
            for spec in inputs:
                tag = "example" if variant is None else f"variant{i}"
                yield pytest.param(e, variant, spec, id=f"{rid(e)}-{tag}-{spec[0]}")


RUNS = list(_runs())
GRAD_RUNS = [r for r in RUNS if not r.values[0].layer.is_output]    # an output layer's loss: trainer tests
CUDA_FAMILIES = {family for family, _ in kernels.available("cuda")}
# image sequences fold on the host (core/ops_folding.py): CPU only
CUDA_RUNS = [r for r in GRAD_RUNS if r.values[0].layer.family in CUDA_FAMILIES and r.values[2][0] != "image_sequence"]
MATLAB_ROWS = [e for e in REGISTRY if e.matlab]
WOLFRAM_ROWS = [e for e in REGISTRY if e.wolfram]
LEARNABLE_ROWS = [e for e in REGISTRY if e.layer.learnables]
ids = {"ids": rid}


def network(entry, variant, spec, seed=0):
    layer = make(entry, variant)
    net = H.small_network(layer, spec_of(layer, spec), before(entry), after(entry))
    return net if layer.is_output else H.randomized(net, "x", seed)


# -- the table ---------------------------------------------------------------------------------------
def test_every_row_has_a_case_and_the_left_out_rows_are_named():
    assert set(CASES) == {e.layer for e in REGISTRY}
    assert {rid(e) for e in REGISTRY if not e.wolfram} == {
        "imageInputLayer", "featureInputLayer", "sequenceInputLayer", "bilstmLayer",
        "leakyReluLayer", "clippedReluLayer", "globalAveragePooling2dLayer",
        "globalMaxPooling2dLayer", "flattenLayer", "sequenceFoldingLayer", "sequenceUnfoldingLayer",
        "ArrayTransposeLayer", "classificationLayer", "regressionLayer",
        "multiplicationLayer", "scalingLayer", "resize2dLayer", "HardSigmoidLayer", "HardSwishLayer"}
    assert {rid(e) for e in REGISTRY if not e.matlab} == {
        "RecurrentLayer", "ElementwiseFunctionLayer", "ThreadingFunctionLayer", "ArrayReshapeLayer",
        "ArrayTransposeLayer", "SumPooling2DLayer", "HardSigmoidLayer", "HardSwishLayer", "EmbeddingLayer"}
    # the CUDA checks run on the rows whose family has 'cuda' kernels, and only there
    assert {rid(r.values[0]) for r in CUDA_RUNS} == {
        "convolution2dLayer", "groupedConvolution2dLayer", "batchNormalizationLayer", "reluLayer", "leakyReluLayer",
        "clippedReluLayer", "eluLayer", "tanhLayer", "sigmoidLayer", "swishLayer", "geluLayer", "softmaxLayer",
        "maxPooling2dLayer", "averagePooling2dLayer", "fullyConnectedLayer", "additionLayer", "HardSigmoidLayer",
        "HardSwishLayer", "lstmLayer", "bilstmLayer", "gruLayer"}
    assert {rid(e) for e in REGISTRY if e.layer.is_output} == {"classificationLayer", "regressionLayer"}
    # the wrong-size-learnable checks run on the rows with learnables; the others have none to give
    assert {rid(e) for e in LEARNABLE_ROWS} == {
        "convolution2dLayer", "groupedConvolution2dLayer", "transposedConv2dLayer", "batchNormalizationLayer",
        "layerNormalizationLayer", "groupNormalizationLayer", "fullyConnectedLayer", "instanceNormalizationLayer",
        "lstmLayer", "bilstmLayer", "gruLayer", "RecurrentLayer", "EmbeddingLayer"}
    for e in REGISTRY:
        assert case(e).bad, f"{rid(e)}: no bad value to refuse"
        assert (e.wolfram is None) == (e.wolfram_example is None), rid(e)
        if e.wolfram and e.layer.learnables:
            assert case(e).wolfram_bad, f"{rid(e)}: no bad Wolfram value to refuse"


# -- construct, size, initialize, forward, gradients -------------------------------------------------
@pytest.mark.parametrize("entry", REGISTRY, **ids)
def test_constructs_the_row_class(entry):
    layer = make(entry)
    assert type(layer) is entry.layer and layer.Name == "x"
    if entry.matlab:
        assert CONSTRUCTORS[entry.matlab].layer_class is entry.layer


@pytest.mark.parametrize("entry, variant, spec", RUNS)
def test_sizes_initializes_and_runs_forward(entry, variant, spec):
    layer = make(entry, variant)
    spec = spec_of(layer, spec)
    net = H.small_network(layer, spec, before(entry), after(entry))
    H.check_sized(net, "x")
    H.check_initialized(net, "x")
    if not layer.is_output:
        net = H.randomized(net, "x")
    H.check_forward(net, spec, "x")


@pytest.mark.parametrize("entry, variant, spec", GRAD_RUNS)
def test_gradients_match_finite_differences(entry, variant, spec):
    net = network(entry, variant, spec)
    grads = H.check_gradients(net, spec_of(net.layer_graph.layer("x"), spec), case(entry).kinks)
    assert set(grads.get("x", {})) == {s.name for s in entry.layer.learnables}


@pytest.mark.cuda
@pytest.mark.parametrize("entry, variant, spec", CUDA_RUNS)
def test_cuda_matches_cpu(entry, variant, spec):
    net = network(entry, variant, spec)
    H.check_cuda_parity(net, spec_of(net.layer_graph.layer("x"), spec))


# -- save / load -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", REGISTRY, **ids)
def test_save_load_round_trip(entry, tmp_path):
    c = case(entry)
    layer = make(entry)
    H.same_layer(layer, H.roundtrip(layer, tmp_path, "one.npz"))            # unsized: 'auto' values kept
    variant = c.variants[0]
    layer = make(entry, variant)
    H.same_layer(layer, H.roundtrip(layer, tmp_path, "variant.npz"))
    spec = spec_of(layer, c.inputs[0])
    H.check_roundtrip(network(entry, variant, spec), spec, tmp_path)      # sized, learnables set


# -- MATLAB's printouts ----------------------------------------------------------------------------------
def array_row(layer) -> str:
    """The row ``fprintf('    %2i   %-*s   %-*s   %s\\n', ...)`` prints for this layer alone."""
    return layer_array_display(LayerArray([layer])).splitlines()[2]


def render(obj, width=120) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(obj)
    return buffer.getvalue()


@pytest.mark.parametrize("entry", MATLAB_ROWS, **ids)
def test_golden_display(entry):
    layer = CONSTRUCTORS[entry.matlab](*entry.example)
    H.check_golden(GOLDEN / f"{entry.matlab}.txt", str(layer) + "\n" + array_row(layer) + "\n", UPDATE)
    assert repr(layer) == str(layer) == layer_display(layer)
    assert f"  {type(layer).class_name} with properties:" in repr(layer)
    text = render(layer)
    assert type(layer).class_name in text
    for title, names in layer.property_groups():
        if title:
            assert title in text
        for prop in names:
            assert prop in text and format_value(getattr(layer, prop)) in text, prop


# -- MATLAB's constructor tables ------------------------------------------------------------------------
def test_matlab_tables_cover_every_constructor():
    names = {e.matlab for e in MATLAB_ROWS}
    assert names == set(CONSTRUCTORS)
    assert all(case(e).defaults is not None and case(e).type_name is not None for e in MATLAB_ROWS)
    assert {e.matlab for e in MATLAB_ROWS if case(e).required} == {e.matlab for e in MATLAB_ROWS if e.example}
    assert all(len(case(e).required) == len(e.example) for e in MATLAB_ROWS)
    assert all(BY_MATLAB[e.matlab] is e for e in MATLAB_ROWS)


@pytest.mark.parametrize("entry", MATLAB_ROWS, **ids)
def test_defaults_match_matlab(entry):
    layer = CONSTRUCTORS[entry.matlab](*entry.example)
    expected = case(entry).defaults
    for prop, value in expected.items():
        got = getattr(layer, prop)
        assert same(got, value), f"{entry.matlab}: {prop} is {got!r}, MATLAB's default is {value!r}"
    # every property of the layer is in the table: none is left untested
    fields = {f for f in type(layer).model_fields if f[0].isupper()}
    assert fields <= set(expected), f"{entry.matlab}: no default listed for {sorted(fields - set(expected))}"


@pytest.mark.parametrize("entry", MATLAB_ROWS, **ids)
def test_type_and_default_name(entry):
    layer = CONSTRUCTORS[entry.matlab](*entry.example)
    assert (layer.Type, layer.DefaultName) == case(entry).type_name
    assert getattr(layergraph, entry.matlab) is CONSTRUCTORS[entry.matlab]


# -- bad input is refused with the library's error ------------------------------------------------------
BAD = [pytest.param(e, args, fragments, id=f"{rid(e)}-{fragments[0].strip(chr(39))}")
       for e in REGISTRY for args, fragments in case(e).bad]


@pytest.mark.parametrize("entry, args, fragments", BAD)
def test_bad_hyperparameter_is_refused(entry, args, fragments):
    if entry.matlab:
        err = H.check_rejected(lambda: CONSTRUCTORS[entry.matlab](*args), *fragments)
        assert err.identifier == "MATLAB:InputParser:ArgumentFailedValidation"
    else:
        H.check_rejected(lambda: entry.layer(Name="x", **args), *fragments)


@pytest.mark.parametrize("entry", LEARNABLE_ROWS, **ids)
def test_wrong_size_learnable_is_refused(entry):
    net = network(entry, case(entry).variants[0], case(entry).inputs[0])
    H.check_wrong_size_learnables(net, "x")


@pytest.mark.parametrize("entry", MATLAB_ROWS, **ids)
def test_odd_constructor_arguments_raise_only_layergraph_errors(entry):
    f = CONSTRUCTORS[entry.matlab]
    base = tuple(entry.example)
    for v in H.ODD_VALUES:
        for args in [(v,), (v, v), (v, v, v), base + (v,)]:
            H.only_layergraph_errors(lambda a=args: f(*a))
        for p in f.parameter_names:
            H.only_layergraph_errors(lambda p=p, v=v: f(*base, p, v))


@pytest.mark.parametrize("entry", MATLAB_ROWS, **ids)
def test_failed_assignment_loses_nothing(entry):
    layer = CONSTRUCTORS[entry.matlab](*entry.example)
    for prop in list(type(layer).model_fields) + ["Bogus"]:
        for v in H.ODD_VALUES:
            before_ = layer.model_copy(deep=True)
            try:
                setattr(layer, prop, v)
            except LayerGraphError:
                assert layer == before_, f"{entry.matlab}.{prop} changed by a failed assignment of {v!r}"
            else:
                layer = before_  # keep the sweep independent of accepted values


# -- the Wolfram dialect -----------------------------------------------------------------------------------
def wolfram_spec(entry):
    return case(entry).inputs[0]


@pytest.mark.parametrize("entry", WOLFRAM_ROWS, **ids)
def test_wolfram_constructs_sizes_initializes_and_runs(entry):
    spec = wolfram_spec(entry)
    layer = H.wolfram_layer(entry.wolfram, entry.wolfram_example)
    assert type(layer).__name__ == entry.wolfram
    assert type(H.built_core_layer(layer, spec)) is entry.layer
    net, y = H.check_wolfram_forward(H.wolfram_net(layer, spec), spec)
    assert net.initialized
    # the output has the dimensions that Wolfram's sizing gave the layer's port
    assert tuple(y.shape[1:]) == H.wolfram_shape(net.compile().leaves[("1",)].out_dims, spec)


@pytest.mark.parametrize("entry", WOLFRAM_ROWS, **ids)
def test_matlab_and_wolfram_twins_agree(entry):
    """The MATLAB construction (or the core class, for a row without one) and the Wolfram
    construction, given the same weights, give the same outputs."""
    c = case(entry)
    spec = wolfram_spec(entry)
    layer = make(entry, c.twin)
    states = [s.name for s in layer.learnables] + list(layer.states)
    assert set(c.twin_arrays) | set(c.wolfram_zero_states) == set(states), \
        f"{rid(entry)}: the twin must carry every learnable and state"
    net = H.randomized(H.small_network(layer, spec), "x", seed=2, zero=c.wolfram_zero_states)
    H.check_twin(net, spec, entry.wolfram, entry.wolfram_example, c.twin_arrays)


@pytest.mark.parametrize("entry", WOLFRAM_ROWS, **ids)
def test_matlab_network_opens_as_wolfram_net(entry):
    """The MATLAB construction of the row (its example) in a network, opened with NetGraph,
    is the row's Wolfram layer (from_core) with the same outputs, and back again."""
    spec = wolfram_spec(entry)
    net = H.randomized(H.small_network(make(entry), spec), "x", seed=3, zero=case(entry).wolfram_zero_states)
    H.check_opens_as_wolfram(net, spec, entry.wolfram)


@pytest.mark.parametrize("entry", WOLFRAM_ROWS, **ids)
def test_wolfram_save_and_load(entry, tmp_path):
    spec = wolfram_spec(entry)
    net, _ = H.check_wolfram_forward(H.wolfram_net(H.wolfram_layer(entry.wolfram, entry.wolfram_example), spec),
                                     spec)
    H.check_wolfram_roundtrip(net, spec, tmp_path)


WOLFRAM_BAD = [pytest.param(e, args, fragment, id=f"{rid(e)}-{fragment}")
               for e in WOLFRAM_ROWS for args, fragment in case(e).wolfram_bad]


@pytest.mark.parametrize("entry, args, fragment", WOLFRAM_BAD)
def test_wolfram_bad_value_is_refused(entry, args, fragment):
    spec = wolfram_spec(entry)
    H.check_rejected(lambda: H.check_wolfram_forward(H.wolfram_net(H.wolfram_layer(entry.wolfram, args), spec),
                                                     spec), fragment)


@pytest.mark.parametrize("entry", [e for e in WOLFRAM_ROWS if e.layer.learnables], **ids)
def test_wolfram_wrong_size_array_is_refused(entry):
    from layergraph.wolfram import NetExtract
    spec = wolfram_spec(entry)
    layer = H.wolfram_layer(entry.wolfram, entry.wolfram_example)
    net, _ = H.check_wolfram_forward(H.wolfram_net(layer, spec), spec)
    for array in layer.active_arrays:
        # the first dimension: a LinearLayer reads a longer last one as a larger input
        bad = H.wrong_size(np.asarray(NetExtract(net, (1, array))), axis=0)
        H.check_rejected(lambda a=array, b=bad: H.check_wolfram_forward(
            H.wolfram_net(H.wolfram_layer(entry.wolfram, entry.wolfram_example, **{a: b}), spec), spec),
            f'"{array}"')


# -- check_layer: the same checks on a layer of one's own ---------------------------------------------
def test_check_layer_on_a_users_layer(tmp_path):
    from layergraph import convolution2dLayer, softmaxLayer
    net = H.check_layer(convolution2dLayer(3, 4, "Name", "mine", "Padding", "same"), [5, 4, 2], tmp_path)
    assert net.Layers[1].Weights.shape == (3, 3, 2, 4)
    H.check_layer(softmaxLayer("Name", "sm"), 5, tmp_path / "..")
