"""layergraph.save / layergraph.load: exact round trips of every object kind and layer
class, Python functions in properties, clear errors for bad files, atomic writes, and
loading that never runs code."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import layergraph
import layergraph.io as lio
from layergraph import (
    LayerArray,
    LayerGraphError,
    additionLayer,
    assembleNetwork,
    batchNormalizationLayer,
    classificationLayer,
    classify,
    connectLayers,
    convolution2dLayer,
    dlnetwork,
    featureInputLayer,
    fullyConnectedLayer,
    imageInputLayer,
    layerGraph,
    load,
    maxPooling2dLayer,
    predict,
    regressionLayer,
    reluLayer,
    rng,
    save,
    softmaxLayer,
)
from layergraph.matlab.layer_graph import LayerGraph
from layergraph.matlab.network import DAGNetwork, DLNetwork, SeriesNetwork
from layergraph.core.registry import REGISTRY
from layergraph.core.size import Size
from layergraph.layers import (
    ArrayReshapeLayer,
    ArrayTransposeLayer,
    ElementwiseFunctionLayer,
    ThreadingFunctionLayer,
)
from layergraph.testing import roundtrip, same_graph, same_layer, same_value

# -- helpers ----------------------------------------------------------------------------------
# same_value / same_layer / same_graph / roundtrip are the conformance harness's (layergraph.testing)


def rewrite(path, change):
    """Rewrite the zip at ``path``: ``change(members)`` edits the dict name -> bytes."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def edit_json(path, change):
    def fn(members):
        desc = json.loads(members["layergraph.json"])
        change(desc)
        members["layergraph.json"] = json.dumps(desc).encode()
    rewrite(path, fn)


def seed_layers():
    """The seed CNN of MATLAB's batchNormalizationLayer page."""
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


def seed_images(n=6):
    return np.random.default_rng(0).random((32, 32, 3, n), dtype=np.float32)


def seed_dlnetwork():
    rng(0)
    layers = seed_layers()
    layers[0].Mean = seed_images(16).mean(axis=3)
    return dlnetwork(layers[:-1])


def trained_layers(classes=("cat", "dog", "owl")):
    """Float64 weights, as tests/exec builds assembled networks."""
    g = np.random.default_rng(0)
    return [
        imageInputLayer([5, 5, 2], "Normalization", "zscore", "Mean", g.standard_normal((5, 5, 2)),
                        "StandardDeviation", g.uniform(0.5, 2, (5, 5, 2))),
        convolution2dLayer(3, 4, "Weights", g.standard_normal((3, 3, 2, 4)), "Bias", g.standard_normal((1, 1, 4)),
                           "WeightLearnRateFactor", 0.5, "BiasL2Factor", 2),
        batchNormalizationLayer("TrainedMean", g.standard_normal((1, 1, 4)),
                                "TrainedVariance", g.uniform(0.5, 2, (1, 1, 4)),
                                "Scale", np.ones((1, 1, 4)), "Offset", np.zeros((1, 1, 4)), "Epsilon", 1e-3),
        reluLayer,
        fullyConnectedLayer(3, "Weights", g.standard_normal((3, 36)).astype(np.float32),
                            "Bias", g.standard_normal((3, 1)).astype(np.float32)),
        softmaxLayer,
        classificationLayer("Classes", list(classes), "ClassWeights", [1, 2, 0.5]),
    ]


def residual_dag():
    g = np.random.default_rng(1)
    lg = layerGraph([
        imageInputLayer([6, 6, 2], "Name", "in", "Normalization", "rescale-symmetric",
                        "Min", -np.ones((1, 1, 2)), "Max", 3 * np.ones((1, 1, 2))),
        convolution2dLayer(3, 2, "Padding", "same", "Name", "c1", "Weights", g.standard_normal((3, 3, 2, 2)),
                           "Bias", g.standard_normal((1, 1, 2))),
        reluLayer("Name", "r1"),
        additionLayer(2, "Name", "add"),
        reluLayer("Name", "r2"),
        fullyConnectedLayer(2, "Name", "fc", "Weights", g.standard_normal((2, 72)), "Bias", np.zeros((2, 1))),
        regressionLayer("Name", "out", "ResponseNames", ["x", "y"]),
    ])
    return connectLayers(lg, "in", "add/in2")


# -- round trips --------------------------------------------------------------------------------

def test_layer_array_keeps_auto_values_and_empty_names(tmp_path):
    layers = seed_layers()
    back = roundtrip(layers, tmp_path)
    assert type(back) is LayerArray and len(back) == 11
    for a, b in zip(layers, back):
        same_layer(a, b)
    assert back[1].NumChannels == "auto" and back[0].Name == "" and back[-1].Classes == "auto"
    assert str(back) == str(layers)


def test_plain_list_loads_as_layer_array(tmp_path):
    back = roundtrip([imageInputLayer([4, 4, 1]), reluLayer], tmp_path)
    assert type(back) is LayerArray and back[1].class_name == "ReLULayer"


def test_single_layer(tmp_path):
    layer = convolution2dLayer(5, 8, "Name", "c", "Stride", 2, "PaddingValue", "replicate", "DilationFactor", [2, 1])
    back = roundtrip(layer, tmp_path)
    same_layer(layer, back)


def test_layer_graph(tmp_path):
    lg = layerGraph(seed_layers())
    back = roundtrip(lg, tmp_path)
    assert type(back) is LayerGraph
    same_graph(lg, back)
    assert str(back) == str(lg) and str(back.Connections) == str(lg.Connections)


def test_dlnetwork_predicts_identically(tmp_path):
    net = seed_dlnetwork()
    back = roundtrip(net, tmp_path)
    assert type(back) is DLNetwork and back.Initialized is True
    same_graph(net.layer_graph, back.layer_graph)
    X = seed_images()
    assert np.array_equal(predict(net, X), predict(back, X))
    assert np.array_equal(predict(net, X, dtype=np.float64), predict(back, X, dtype=np.float64))
    assert str(back) == str(net) and str(back.Learnables) == str(net.Learnables)


def test_uninitialized_dlnetwork(tmp_path):
    layers = seed_layers()[:-1]
    net = dlnetwork(layers, Initialize=False)
    back = roundtrip(net, tmp_path)
    assert type(back) is DLNetwork and back.Initialized is False
    same_graph(net.layer_graph, back.layer_graph)
    assert back.Layers[1].Weights is None


def test_dlnetwork_factors_set_after_building(tmp_path):
    net = seed_dlnetwork().setLearnRateFactor("conv_1", "Weights", 0.25).setL2Factor("fc", "Bias", 3)
    back = roundtrip(net, tmp_path)
    assert back.getLearnRateFactor("conv_1", "Weights") == 0.25 and back.getL2Factor("fc", "Bias") == 3


def test_series_network_classifies_identically(tmp_path):
    layers = trained_layers()
    net = assembleNetwork(layers)
    back = roundtrip(net, tmp_path)
    assert type(back) is SeriesNetwork
    same_graph(net.layer_graph, back.layer_graph)
    L = back.Layers
    assert L[-1].Classes == ["cat", "dog", "owl"] and L[-1].OutputSize == 3
    assert L[0].Normalization == "zscore"
    assert L[1].WeightLearnRateFactor == 0.5 and L[1].BiasL2Factor == 2.0 and L[2].Epsilon == 1e-3
    # float64 and float32 arrays keep their dtype
    assert L[1].Weights.dtype == np.float64 and L[4].Weights.dtype == np.float32
    X = np.random.default_rng(1).standard_normal((5, 5, 2, 7))
    labels, scores = classify(net, X)
    labels2, scores2 = classify(back, X)
    assert np.array_equal(scores, scores2) and list(labels) == list(labels2)
    assert str(back) == str(net)


def test_residual_dag_network(tmp_path):
    lg = residual_dag()
    net = assembleNetwork(lg)
    back = roundtrip(net, tmp_path)
    assert type(back) is DAGNetwork
    same_graph(net.layer_graph, back.layer_graph)
    assert ("in", "out", "add", "in2") in back.layer_graph.connections()
    assert back.Layers[0].Min.shape == (1, 1, 2) and back.Layers[-1].ResponseNames == ["x", "y"]
    X = np.random.default_rng(2).standard_normal((6, 6, 2, 5))
    assert np.array_equal(predict(net, X), predict(back, X))
    assert str(back.Connections) == str(net.Connections)
    # the layer graph of the residual network too
    same_graph(lg, roundtrip(lg, tmp_path, "lg.npz"))


def test_trained_network(tmp_path):
    from layergraph import trainingOptions, trainNetwork
    g = np.random.default_rng(0)
    y = g.integers(0, 2, 24)
    x = g.normal(size=(24, 3)) + y[:, None]
    rng(0)
    net, _ = trainNetwork(x, y, [featureInputLayer(3, Normalization="zscore"), fullyConnectedLayer(2),
                                 softmaxLayer, classificationLayer],
                          trainingOptions("sgdm", MaxEpochs=2, MiniBatchSize=8, Verbose=False))
    back = roundtrip(net, tmp_path)
    assert type(back) is type(net)
    same_graph(net.layer_graph, back.layer_graph)
    assert back.Layers[0].Mean is not None and back.Layers[0].StandardDeviation is not None
    assert np.array_equal(predict(net, x), predict(back, x))


def test_fortran_ordered_and_integer_valued_arrays(tmp_path):
    w = np.asfortranarray(np.random.default_rng(0).standard_normal((3, 3, 2, 4)))
    layer = convolution2dLayer(3, 4, "Weights", w)
    assert layer.Weights.flags.f_contiguous
    back = roundtrip(layer, tmp_path)
    same_layer(layer, back)
    assert back.Weights.flags.f_contiguous


def test_file_is_a_numpy_npz_with_a_json_description(tmp_path):
    net = seed_dlnetwork()
    path = tmp_path / "net.npz"
    save(net, path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        desc = json.loads(z.read("layergraph.json"))
    assert names[0] == "layergraph.json" and all(n.endswith(".npy") for n in names[1:])
    assert desc["format"] == "layergraph" and desc["version"] == 1 and desc["kind"] == "DLNetwork"
    assert desc["attributes"] == {"Initialized": True}
    assert [item["class"] for item in desc["layers"]][:3] == ["ImageInputLayer", "Convolution2DLayer",
                                                              "BatchNormalizationLayer"]
    conv = desc["layers"][1]["properties"]
    assert conv["NumChannels"] == 3 and conv["PaddingSize"] == {"$tuple": [1, 1, 1, 1]}
    with np.load(path, allow_pickle=False) as npz:
        key = conv["Weights"]["$array"]
        assert np.array_equal(npz[key], net.Layers[1].Weights)


# -- every layer class ----------------------------------------------------------------------------
# Each registry row's save/load round trip (unsized layer, sized network, same outputs) is
# in tests/conformance/test_conformance.py.

@pytest.mark.parametrize("layer", [
    ElementwiseFunctionLayer(Name="e", Function="Tanh"),
    ThreadingFunctionLayer(Name="t", Function="Plus", num_inputs=3),
    ArrayReshapeLayer(Name="r", OutputSize=Size((2, 3), 4)),
    ArrayTransposeLayer(Name="p", Perm=(0, 2, 1)),
], ids=lambda layer: layer.class_name)
def test_core_array_layers(layer, tmp_path):
    back = roundtrip(layer, tmp_path)
    same_layer(layer, back)
    if isinstance(layer, ArrayReshapeLayer):
        assert type(back.OutputSize) is Size


def test_every_core_layer_class_is_loadable():
    from layergraph import layers as L
    assert set(lio.LAYER_CLASSES.values()) == {getattr(L, n) for n in L.__all__} | {e.layer for e in REGISTRY}


# -- Python functions in properties ------------------------------------------------------------------

def ones_init(sz):
    return np.ones(sz)


def test_initializer_function_of_a_set_learnable_is_saved_by_name(tmp_path):
    net = dlnetwork([imageInputLayer([4, 4, 1], Normalization="none"),
                     fullyConnectedLayer(3, "Name", "fc", "WeightsInitializer", ones_init,
                                         "BiasInitializer", lambda sz: np.zeros(sz))])
    back = roundtrip(net, tmp_path)
    fc = back.layer_graph.layer("fc")
    assert isinstance(fc.WeightsInitializer, lio.UnsavedFunction)
    assert fc.WeightsInitializer.__name__ == "ones_init"
    assert fc.BiasInitializer.__name__.endswith("<lambda>")
    assert np.array_equal(fc.Weights, net.layer_graph.layer("fc").Weights)
    assert "@ones_init" in fc.show_all_properties() or "ones_init" in str(fc)
    with pytest.raises(LayerGraphError, match="'ones_init' was not saved"):
        fc.WeightsInitializer((3, 16))
    # a loaded network saves again; assigning the function back restores it
    again = roundtrip(back, tmp_path, "again.npz")
    assert again.layer_graph.layer("fc").WeightsInitializer == fc.WeightsInitializer
    layer = fc.model_copy()
    layer.WeightsInitializer = ones_init
    assert layer.WeightsInitializer is ones_init


def test_initializer_function_of_an_empty_learnable_is_refused(tmp_path):
    layers = [imageInputLayer([4, 4, 1]), fullyConnectedLayer(3, "Name", "fc", "WeightsInitializer", ones_init)]
    with pytest.raises(LayerGraphError, match=r"layer 'fc' \(FullyConnectedLayer\): WeightsInitializer is the "
                                              r"Python function 'ones_init' and Weights is empty") as err:
        save(layers, tmp_path / "x.npz")
    assert err.value.identifier == "layergraph:save:FunctionNotSaved"
    assert not os.listdir(tmp_path)


def test_normalization_and_layer_functions_are_refused(tmp_path):
    def scale(x):
        return x / 255
    with pytest.raises(LayerGraphError, match=r"layer 'in' \(ImageInputLayer\): Normalization is the Python "
                                              r"function '.*scale'.*holds no code"):
        save(imageInputLayer([4, 4, 1], "Name", "in", "Normalization", scale), tmp_path / "x.npz")
    with pytest.raises(LayerGraphError, match=r"layer 'e' \(ElementwiseFunctionLayer\): Function is the Python "
                                              r"function"):
        save(ElementwiseFunctionLayer(Name="e", Function=np.tanh), tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


def test_other_refusals(tmp_path):
    fc = fullyConnectedLayer(2, "Name", "fc", "Weights", np.ones((2, 3)))
    bad = fc._resolved_copy(Weights=np.full((2, 3), np.nan))       # as a diverged training could leave it
    with pytest.raises(LayerGraphError, match=r"Unable to save to '.*x.npz': layer 1 \('fc'\).*finite"):
        save(bad, tmp_path / "x.npz")

    class MyReLU(type(reluLayer())):
        pass
    with pytest.raises(LayerGraphError, match="is not one of layergraph's layer classes"):
        save(MyReLU(Name="r"), tmp_path / "x.npz")
    with pytest.raises(LayerGraphError, match="save expects a SeriesNetwork"):
        save({"a": 1}, tmp_path / "x.npz")
    with pytest.raises(LayerGraphError, match=r"is save\(net, 'net.mat'\)"):
        save(str(tmp_path / "x.npz"), reluLayer())
    with pytest.raises(LayerGraphError, match="does not exist"):
        save(reluLayer(), tmp_path / "nowhere" / "x.npz")
    with pytest.raises(LayerGraphError, match="it is a folder"):
        save(reluLayer(), tmp_path)
    assert not os.listdir(tmp_path)


# -- errors on load --------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "net.npz"
    save(assembleNetwork(trained_layers()), path)
    return path


def load_error(path, fragment, identifier=None):
    with pytest.raises(LayerGraphError, match=fragment) as err:
        load(path)
    assert str(path) in str(err.value)
    if identifier:
        assert err.value.identifier == identifier
    return err.value


def test_missing_file_and_folder(tmp_path):
    load_error(tmp_path / "missing.npz", "no such file", "layergraph:load:FileNotFound")
    load_error(tmp_path, "it is a folder")


def test_not_a_layergraph_file(tmp_path):
    text = tmp_path / "net.txt"
    text.write_text("layers = [imageInputLayer([28 28 1])]")
    load_error(text, r"not a layergraph file \(not a zip archive", "layergraph:load:NotALayergraphFile")
    plain = tmp_path / "plain.npz"
    np.savez(plain, W=np.ones(3), b=np.zeros(2))
    load_error(plain, r"not a layergraph file \(a plain \.npz of arrays \(W, b\) without the member "
                      r"'layergraph.json'\)", "layergraph:load:NotALayergraphFile")
    npy = tmp_path / "w.npy"
    np.save(npy, np.ones(3))
    load_error(npy, "not a zip archive")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("layergraph.json", json.dumps({"format": "something-else", "version": 1}))
    load_error(other, "does not say format 'layergraph'", "layergraph:load:NotALayergraphFile")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_truncated_file(saved, keep):
    data = saved.read_bytes()
    n = len(data) - 1 if keep == -1 else int(len(data) * keep)
    saved.write_bytes(data[:n])
    load_error(saved, "damaged or truncated", "layergraph:load:DamagedFile")


def test_corrupt_bytes_inside_an_array(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo("a2.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start:start + 8] = b"\xff" * 8
    saved.write_bytes(bytes(data))
    load_error(saved, "damaged", "layergraph:load:DamagedFile")


def test_corrupt_json(saved):
    rewrite(saved, lambda m: m.update({"layergraph.json": m["layergraph.json"][:-40]}))
    load_error(saved, "'layergraph.json' is not valid JSON", "layergraph:load:DamagedFile")


def test_unknown_format_version(saved):
    edit_json(saved, lambda d: d.update(version=2))
    load_error(saved, "format version 2; this layergraph reads version 1", "layergraph:load:UnsupportedVersion")


def test_unknown_layer_class_is_never_imported(saved):
    def change(d):
        d["layers"][3]["class"] = "os.system"
    edit_json(saved, change)
    load_error(saved, r"layer 4 \('relu'\) has the class 'os.system', which is not a layergraph layer class",
               "layergraph:load:UnknownLayerClass")


def test_missing_array_reference_and_member(saved, tmp_path):
    def change(d):
        d["layers"][1]["properties"]["Weights"] = {"$array": "a99"}
    edit_json(saved, change)
    load_error(saved, r"property 'Weights' of layer 2 \('conv'\) refers to the array 'a99', which is not in the "
                      "file", "layergraph:load:MissingArray")
    path = tmp_path / "member.npz"
    save(assembleNetwork(trained_layers()), path)
    rewrite(path, lambda m: m.pop("a2.npy"))
    load_error(path, "refers to the array 'a2', which is not in the file", "layergraph:load:MissingArray")


def test_invalid_property_is_the_layers_own_error(saved, tmp_path):
    def change(d):
        d["layers"][2]["properties"]["Epsilon"] = 1e-9
    edit_json(saved, change)
    err = load_error(saved, r"Unable to load '.*': layer 3 \('batchnorm'\) \(BatchNormalizationLayer\): Invalid "
                            r"value for 'Epsilon' of BatchNormalizationLayer: 1e-09\. Expected Epsilon to be a "
                            r"numeric scalar with value >= 1e-05\.")
    assert err.identifier == "MATLAB:InputParser:ArgumentFailedValidation"
    path = tmp_path / "extra.npz"
    save(reluLayer(), path)
    edit_json(path, lambda d: d["layers"][0]["properties"].update(Evil=1))
    load_error(path, "'Evil' is not a recognized parameter of ReLULayer")
    path = tmp_path / "odd.npz"
    save(convolution2dLayer(3, 4, "Name", "c"), path)
    edit_json(path, lambda d: d["layers"][0]["properties"].pop("FilterSize"))
    load_error(path, r"layer 1 \('c'\) \(Convolution2DLayer\) lacks the required properties FilterSize\.")
    save(convolution2dLayer(3, 4, "Name", "c"), path)
    edit_json(path, lambda d: d["layers"][0]["properties"].update(NumFilters=10 ** 400))
    load_error(path, r"layer 1 \('c'\) \(Convolution2DLayer\): invalid property value",
               "layergraph:load:InvalidProperty")


def test_malformed_descriptions(tmp_path):
    cases = [
        (lambda d: d.update(kind="Module"), "the object kind 'Module' is unknown"),
        (lambda d: d.update(layers={}), "'layers' is not a list"),
        (lambda d: d["layers"][1]["properties"].update(Weights={"$eval": "1"}), "has the unknown value"),
        (lambda d: d["layers"][0]["properties"].update(Normalization={"$function": "f"}),
         "only an initializer property"),
        (lambda d: d["connections"].append(["relu", "nowhere", [["out", "in"]]]), "'nowhere', which is not in"),
        (lambda d: d["connections"][0][2].__setitem__(0, ["out", "in9"]), "names a port that the layers do not"),
        (lambda d: d["connections"].append(["imageinput", "relu", [["out", "in"]]]), "'relu/in' is connected twice"),
        (lambda d: d.update(connections=[]), "the SeriesNetwork in the file is not valid: Invalid network"),
        (lambda d: d.pop("arrays"), "'arrays' is not an object"),
        (lambda d: d["layers"].__setitem__(0, "imageInputLayer"), "layer 1 is not a class with properties"),
        (lambda d: d["layers"][0]["properties"].update(Min="abc"), r"layer 1 \('imageinput'\)"),
    ]
    for i, (change, fragment) in enumerate(cases):
        path = tmp_path / f"case{i}.npz"
        save(assembleNetwork(trained_layers()), path)
        edit_json(path, change)
        load_error(path, fragment)


def test_array_whose_header_disagrees_is_damaged(saved):
    def change(d):
        d["arrays"]["a2"]["dtype"] = "<f4"
    edit_json(saved, change)
    load_error(saved, "does not have the dtype and shape", "layergraph:load:DamagedFile")


def test_object_array_fails_cleanly_without_pickle(saved, monkeypatch):
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}, None], dtype=object), allow_pickle=True)
    rewrite(saved, lambda m: m.update({"a2.npy": buf.getvalue()}))

    def no_pickle(*args, **kwargs):
        raise AssertionError("load called pickle")
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    load_error(saved, "could only be read by running code", "layergraph:load:UnsafeArray")


def test_a_training_checkpoint_names_itself(tmp_path):
    path = tmp_path / "x.lgnet"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("network", b"not a zip")
        z.writestr("trainer.json", b"{}")
    load_error(path, r"the network of the training checkpoint\): not a layergraph file")


# -- atomic writes ------------------------------------------------------------------------------------

def test_interrupted_save_leaves_the_old_file(saved, monkeypatch):
    before = saved.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(LayerGraphError, match=r"Unable to save to '.*net.npz': No space left on device"):
        save(seed_dlnetwork(), saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["net.npz"]           # no temporary file left behind
    assert type(load(saved)) is SeriesNetwork

    calls.clear()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(seed_dlnetwork(), saved)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["net.npz"]


def test_save_replaces_an_existing_file(saved):
    save(reluLayer("Name", "r"), saved)
    assert load(saved).Name == "r"
    assert os.listdir(saved.parent) == ["net.npz"]


def test_exported_names():
    assert layergraph.save is lio.save and layergraph.load is lio.load


# -- Wolfram objects -------------------------------------------------------------------------

def _wolfram_objects():
    from layergraph.wolfram import (
        All, BatchNormalizationLayer, CatenateLayer, ConvolutionLayer, DeconvolutionLayer, DropoutLayer,
        ElementwiseLayer, FlattenLayer, LinearLayer, Max, Mean, NetArray, NetChain, NetDecoder, NetEncoder, NetGraph,
        NetPort, NormalizationLayer, PoolingLayer, Ramp, ReshapeLayer, SoftmaxLayer, Span, Tanh, ThreadingLayer,
        Times, Total, TotalLayer, Automatic)
    layers = {
        "LinearLayer": LinearLayer(3, Input=4, LearningRateMultipliers={"Biases": 0}),
        "LinearLayer-matrix": LinearLayer((2, 3), Biases=None),
        "ConvolutionLayer": ConvolutionLayer(4, (3, 2), Stride=2, PaddingSize="Same", Dilation=1, ChannelGroups=2),
        "DeconvolutionLayer": DeconvolutionLayer(2, 3, Stride=2, PaddingSize=((1, 0), (0, 1))),
        "PoolingLayer": PoolingLayer(3, 1, Function=Mean, PaddingSize=1, Interleaving=True),
        "PoolingLayer-total": PoolingLayer((2, 2), Function=Total),
        "BatchNormalizationLayer": BatchNormalizationLayer(Momentum=0.8, Epsilon=1e-4, Input=(3, 4, 4)),
        "NormalizationLayer": NormalizationLayer(Span(1, All), 1, GroupNumber=2, Unbiased=True),
        "ElementwiseLayer": ElementwiseLayer(Tanh),
        "ElementwiseLayer-named": ElementwiseLayer("SELU", LearningRateMultipliers=None),
        "SoftmaxLayer": SoftmaxLayer(2),
        "DropoutLayer": DropoutLayer(0.25),
        "FlattenLayer": FlattenLayer(-1),
        "ReshapeLayer": ReshapeLayer((2, Automatic, 1)),
        "CatenateLayer": CatenateLayer(2),
        "TotalLayer": TotalLayer(),
        "ThreadingLayer": ThreadingLayer(Times),
        "ThreadingLayer-max": ThreadingLayer(Max, None),
    }
    chain = NetChain({"conv": ConvolutionLayer(4, 3, PaddingSize=1, Weights=NetArray("w")),
                      "bn": BatchNormalizationLayer(), "relu": Ramp, "pool": PoolingLayer(2, 2),
                      "conv2": ConvolutionLayer(4, 3, PaddingSize=1, Weights=NetArray("w"), Biases=None),
                      "flat": FlattenLayer(), "fc": LinearLayer(3), "sm": SoftmaxLayer()},
                     Input=(4, 6, 6), Output=NetDecoder(("Class", ["a", "b", "c"])),
                     LearningRateMultipliers={"bn": 0.5})
    graph = NetGraph({"a": LinearLayer(4), "b": ElementwiseLayer("SELU"), "t": TotalLayer(),
                      "sub": NetChain([LinearLayer(4), Tanh]), "cat": CatenateLayer(), "side": LinearLayer(2)},
                     [("a", "b"), (("a", "b"), "t"), (NetPort("Input"), "sub"), (("t", "sub"), "cat"),
                      (NetPort("Input"), "side"), ("side", NetPort("Aux"))], Input=3)
    coded = NetChain([LinearLayer(()), ElementwiseLayer("Sigmoid")],
                     Input=NetEncoder(("Class", ["x", "y"], "IndicatorVector")), Output=NetDecoder("Boolean"))
    image = NetChain([ConvolutionLayer(2, 3), Ramp],
                     Input=NetEncoder(("Image", (8, 6)), ColorSpace="Grayscale", MeanImage=0.5))
    mixed = NetChain([convolution2dLayer(3, 2, "PaddingValue", "replicate"), Ramp], Input=(1, 5, 5))
    nets = {"NetChain": chain, "NetGraph": graph, "coders": coded, "image-encoder": image,
            "core-layer-view": mixed, "nested-graph": NetGraph({"inner": graph, "out": CatenateLayer()},
                                                                [(NetPort("inner", "Output"), "out"),
                                                                 (NetPort("inner", "Aux"), "out")], Input=3)}
    return layers, nets


_LAYERS, _NETS = _wolfram_objects()


def _same_wolfram(a, b):
    from layergraph.wolfram.shared import leaves
    assert type(a) is type(b)
    assert repr(a) == repr(b)
    pairs = list(zip(leaves(a), leaves(b)))
    assert len(pairs) == len(leaves(a)) == len(leaves(b))
    for (pa, x), (pb, y) in pairs:
        assert pa == pb and x == y, pa
        for name in x.array_names:
            same_value(x.arrays.get(name), y.arrays.get(name), f"{pa} {name}")


@pytest.mark.parametrize("name", list(_LAYERS))
def test_wolfram_layer_round_trip(name, tmp_path):
    from layergraph.wolfram import NetInitialize
    layer = _LAYERS[name]
    save(layer, tmp_path / "layer.npz")
    _same_wolfram(load(tmp_path / "layer.npz"), layer)
    if not layer.multiport and layer.input_spec is not None:   # initialized: the same arrays
        done = NetInitialize(layer)
        save(done, tmp_path / "done.npz")
        _same_wolfram(load(tmp_path / "done.npz"), done)


@pytest.mark.parametrize("name", list(_NETS))
def test_wolfram_net_round_trip_uninitialized_and_initialized(name, tmp_path):
    from layergraph.wolfram import NetInitialize
    net = _NETS[name]
    save(net, tmp_path / "net.npz")
    _same_wolfram(load(tmp_path / "net.npz"), net)
    done = NetInitialize(net)
    save(done, tmp_path / "done.npz")
    again = load(tmp_path / "done.npz")
    _same_wolfram(again, done)
    rng_ = np.random.default_rng(0)
    ins = done._input_names()
    if name in ("coders",):
        data = ["x", "y", "x"]
    elif name == "image-encoder":
        data = [rng_.random((6, 8)) for _ in range(2)]
    else:
        dims = {p: done.compile().in_dims[p] for p in ins}
        data = {p: rng_.random((3, *dims[p])) for p in ins}
        data = data[ins[0]] if len(ins) == 1 else data
    a, b = again(data), done(data)
    for x, y in (zip(a.values(), b.values()) if isinstance(a, dict) else [(a, b)]):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_trained_wolfram_net(tmp_path):
    from layergraph.wolfram import LinearLayer, NetChain, NetTrain, Ramp
    X = np.random.default_rng(1).random((32, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]])
    trained = NetTrain(NetChain([LinearLayer(4), Ramp, LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=2,
                       TrainingProgressReporting=None, RandomSeeding=3)
    save(trained, tmp_path / "trained.npz")
    again = load(tmp_path / "trained.npz")
    _same_wolfram(again, trained)
    np.testing.assert_array_equal(again(X), trained(X))


def test_wolfram_file_errors(tmp_path):
    from layergraph.wolfram import ElementwiseLayer, LinearLayer, NetChain
    path = tmp_path / "net.npz"
    with pytest.raises(LayerGraphError, match="the Python function") as err:
        save(NetChain([ElementwiseLayer(lambda x: x)], Input=3), path)
    assert not path.exists() and str(path) in str(err.value)
    net = NetChain([LinearLayer(2, Input=3)])
    save(net, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    load_error(path, "damaged or truncated", "layergraph:load:DamagedFile")

    def rewrite(change):
        save(net, path)
        with zipfile.ZipFile(path) as z:
            desc = json.loads(z.read("layergraph.json"))
            members = {n: z.read(n) for n in z.namelist() if n != "layergraph.json"}
        change(desc)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("layergraph.json", json.dumps(desc))
            for n, b in members.items():
                z.writestr(n, b)
    rewrite(lambda d: d["net"]["nodes"][0][1].update(layer="os.system"))
    load_error(path, "which is not a Wolfram layer of layergraph")
    rewrite(lambda d: d["net"]["nodes"][0][1].update(args=[-4]))
    load_error(path, r"NetChain in the file is not valid: Invalid argument for LinearLayer")
    rewrite(lambda d: d["net"]["nodes"][0][1]["options"].update(Colour=1))
    load_error(path, "Colour is not a known parameter or option for LinearLayer")
    rewrite(lambda d: d["net"].update(nodes="x"))
    load_error(path, "lacks its nodes or ports")
    rewrite(lambda d: d["net"]["nodes"][0][1].update(args=[{"$symbol": "__import__"}]))
    load_error(path, "unknown value")


def test_wolfram_losses_coders_and_net_arrays(tmp_path):
    from layergraph.wolfram import (CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer, NetArray,
                                    NetDecoder, NetEncoder)
    objects = [CrossEntropyLossLayer("Probabilities", Input=4), MeanSquaredLossLayer(), MeanAbsoluteLossLayer(Target=3),
               NetEncoder(("Image", (4, 3)), ColorSpace="Grayscale", VarianceImage=np.full((3, 4, 1), 2.0)),
               NetDecoder(("Class", [1, 2, 3])), NetEncoder("Boolean"),
               NetArray("w", Array=np.arange(6.0).reshape(2, 3)), NetArray("v", Dimensions=(2, 2))]
    for obj in objects:
        save(obj, tmp_path / "o.npz")
        again = load(tmp_path / "o.npz")
        assert type(again) is type(obj) and repr(again) == repr(obj) and again == obj
    again = load(tmp_path / "o.npz")
    assert again["Dimensions"] == (2, 2)
