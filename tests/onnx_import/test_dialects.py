"""The dialects' entry points: MATLAB's importNetworkFromONNX (a dlnetwork), importONNXNetwork
(a DAGNetwork / SeriesNetwork with output layers: OutputLayerType, Classes, ImageInputSize) and
importONNXLayers (a layerGraph); Wolfram's Import["net.onnx"] (a NetChain or NetGraph) and its
elements. Each result prints, analyzes, predicts (matching onnxruntime) and trains a step like
any network of its dialect."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("torch")

import layergraph.matlab as M   # noqa: E402
import layergraph.wolfram as W   # noqa: E402
from layergraph.core.errors import LayerGraphError   # noqa: E402

from . import _torch_nets as T   # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    out = {}
    for name in T.NETS:
        out[name] = d / f"{name}.onnx"
        T.export(name, out[name], opset=13 if name != "mlp" else 17)
    return out


def _x(name, n=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *T.NETS[name][1])).astype(np.float32)


def _ort(path, x):
    return ort.InferenceSession(str(path)).run(None, {"input": x})[0]


def _matlab_images(x):   # N x C x H x W -> H x W x C x N
    return np.ascontiguousarray(x.transpose(2, 3, 1, 0))


def test_import_network_from_onnx_is_a_dlnetwork_that_prints_analyzes_and_predicts(files):
    net = M.importNetworkFromONNX(str(files["depthwise_se"]))
    text = str(net)
    assert "dlnetwork with properties" in text and "InputNames: {'input'}" in text
    names = [layer.Name for layer in net.Layers]
    assert names[0] == "input" and "x_se_Mul" in names and "x_dw_dw_0_Conv" in names   # node names, MATLAB-valid
    assert net.Layers[0].Normalization == "zscore"
    report = M.analyzeNetwork(net, Plots="none")
    assert report is not None
    x = _x("depthwise_se")
    y = np.asarray(M.predict(net, _matlab_images(x)))
    expected = _ort(files["depthwise_se"], x)
    np.testing.assert_allclose(y.reshape(expected.shape), expected, rtol=1e-5, atol=1e-6)


def test_import_onnx_network_classification_classifies_and_trains(files):
    path = files["residual_cnn"]
    classes = ["a", "b", "c", "d", "e"]
    net = M.importONNXNetwork(str(path), "OutputLayerType", "classification", "Classes", classes)
    assert type(net).__name__ == "DAGNetwork"
    assert net.Layers[-1].Classes == classes
    x = _x("residual_cnn", 6)
    scores = np.asarray(M.predict(net, _matlab_images(x)))
    expected = _ort(path, x)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    labels, _ = M.classify(net, _matlab_images(x))
    assert [str(v) for v in labels] == [classes[i] for i in expected.argmax(1)]
    lg = M.layerGraph(net)
    opts = M.trainingOptions("sgdm", MaxEpochs=1, MiniBatchSize=6, Verbose=False, InitialLearnRate=0.01)
    y = M.categorical([classes[i] for i in (0, 1, 2, 3, 4, 0)], classes)
    trained = M.trainNetwork(_matlab_images(x), y, lg, opts)
    trained = trained[0] if isinstance(trained, tuple) else trained
    before = [w for w in (getattr(layer, "Weights", None) for layer in net.Layers) if w is not None]
    after = [w for w in (getattr(layer, "Weights", None) for layer in trained.Layers) if w is not None]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_import_onnx_network_regression_of_a_chain_is_a_series_network(files):
    net = M.importONNXNetwork(str(files["mlp"]), "OutputLayerType", "regression")
    assert type(net).__name__ == "SeriesNetwork"
    assert type(net.Layers[-1]).__name__ == "RegressionOutputLayer"
    x = _x("mlp", 5)
    np.testing.assert_allclose(np.asarray(M.predict(net, x)), _ort(files["mlp"], x), rtol=1e-5, atol=1e-6)
    opts = M.trainingOptions("adam", MaxEpochs=2, MiniBatchSize=5, Verbose=False)
    trained = M.trainNetwork(x, np.random.default_rng(1).random((5, 3)).astype(np.float32), net.Layers, opts)
    trained = trained[0] if isinstance(trained, tuple) else trained
    assert not np.allclose(trained.Layers[1].Weights, net.Layers[1].Weights)


def test_classes_default_and_output_type_default(files):
    net = M.importONNXNetwork(str(files["residual_cnn"]))     # ends in softmax: classification
    assert net.Layers[-1].Classes == ["1", "2", "3", "4", "5"]
    with pytest.raises(LayerGraphError, match="'OutputLayerType'"):
        M.importONNXNetwork(str(files["mlp"]), "OutputLayerType", "pixelclassification")
    with pytest.raises(LayerGraphError, match="'Classes'.*3 classes for an output of 5"):
        M.importONNXNetwork(str(files["residual_cnn"]), "OutputLayerType", "classification", "Classes", ["a", "b", "c"])


def test_import_onnx_layers_gives_a_layer_graph(files):
    lg = M.importONNXLayers(str(files["residual_cnn"]))
    assert type(lg).__name__ == "LayerGraph"
    assert "LayerGraph with properties" in str(lg) or "Layers" in str(lg)
    assert not [layer for layer in lg.Layers if layer.is_output]
    lg2 = M.importONNXLayers(str(files["residual_cnn"]), "OutputLayerType", "classification")
    assert lg2.Layers[-1].Classes == ["1", "2", "3", "4", "5"]
    dl = M.dlnetwork(lg)
    x = _x("residual_cnn", 3)
    np.testing.assert_allclose(np.asarray(M.predict(dl, _matlab_images(x))), _ort(files["residual_cnn"], x),
                               rtol=1e-5, atol=1e-6)


def test_image_input_size_fixes_open_dimensions(tmp_path):
    import torch
    path = tmp_path / "open.onnx"
    model = T.randomize_bn(T.ResidualCNN())
    torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), str(path), input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}}, opset_version=13, dynamo=False)
    with pytest.raises(LayerGraphError, match="dynamic dimensions"):
        M.importONNXNetwork(str(path), "OutputLayerType", "classification")
    net = M.importONNXNetwork(str(path), "OutputLayerType", "classification", "ImageInputSize", [12, 20])
    assert tuple(net.Layers[0].InputSize) == (12, 20, 3)
    x = np.random.default_rng(0).standard_normal((2, 3, 12, 20)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(M.predict(net, _matlab_images(x))), _ort(path, x), rtol=1e-5, atol=1e-6)


def test_wolfram_import_gives_a_net_that_evaluates_and_trains(files):
    net = W.Import(str(files["mlp"]))
    assert type(net).__name__ == "NetChain"
    assert "LinearLayer" in str(net)
    x = _x("mlp", 5)
    np.testing.assert_allclose(np.asarray(net(x)), _ort(files["mlp"], x), rtol=1e-5, atol=1e-6)
    same = W.Import(str(files["mlp"]), "ONNX")
    np.testing.assert_allclose(np.asarray(same(x)), np.asarray(net(x)))
    trained = W.NetTrain(net, {"Input": x, "Output": np.random.default_rng(2).random((5, 3)).astype(np.float32)},
                         MaxTrainingRounds=2, TrainingProgressReporting=None)
    assert not np.allclose(np.asarray(trained(x)), np.asarray(net(x)))


def test_wolfram_import_of_a_graph_and_its_elements(files):
    path = str(files["residual_cnn"])
    net = W.Import(path)
    assert type(net).__name__ == "NetGraph"
    x = _x("residual_cnn", 3)
    np.testing.assert_allclose(np.asarray(net(x)), _ort(files["residual_cnn"], x), rtol=1e-5, atol=1e-6)
    arrays = W.Import(path, ("ONNX", "ArrayAssociation"))
    assert all(isinstance(v, np.ndarray) for v in arrays.values()) and len(arrays) >= 10
    assert W.Import(path, "OperatorSetVersion") == {"": 13}
    assert W.Import(path, "ProducerName") == "pytorch"
    assert "Net" in W.Import(path, "Elements")
    with pytest.raises(LayerGraphError) as err:
        W.Import(path, "ONNXGraph")
    assert err.value.identifier == "Import::noelem"


def test_wolfram_import_errors(tmp_path):
    p = tmp_path / "x.onnx"
    p.write_text("not a network")
    with pytest.raises(LayerGraphError) as err:
        W.Import(str(p))
    assert err.value.identifier == "Import::fmterr" and "x.onnx" in str(err.value)
    with pytest.raises(LayerGraphError) as err:
        W.Import(str(tmp_path / "net.dat"))
    assert err.value.identifier == "Import::infer"
    with pytest.raises(LayerGraphError) as err:
        W.Import(str(tmp_path / "missing.onnx"))
    assert err.value.identifier == "Import::nffil"


def test_imported_networks_save_and_load(files, tmp_path):
    from layergraph import io
    for name in ("depthwise_se", "residual_cnn"):
        dl = M.importNetworkFromONNX(str(files[name]))
        io.save(dl, tmp_path / "m.npz")
        back = io.load(tmp_path / "m.npz")
        x = _matlab_images(_x(name, 2))
        np.testing.assert_array_equal(np.asarray(M.predict(back, x)), np.asarray(M.predict(dl, x)))
        w = W.Import(str(files[name]))
        io.save(w, tmp_path / "w.npz")
        xi = _x(name, 2)
        np.testing.assert_array_equal(np.asarray(io.load(tmp_path / "w.npz")(xi)), np.asarray(w(xi)))


def test_constant_scaling_and_resize_layers_in_both_dialects(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])
    inits = [numpy_helper.from_array(np.array([1, 2, 3], np.float32).reshape(1, 3, 1, 1), "s"),
             numpy_helper.from_array(np.array([0.5], np.float32), "b"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")]
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Mul", ["r", "s"], ["m"], name="mul"),
             helper.make_node("Sub", ["m", "b"], ["d"], name="sub"),
             helper.make_node("Resize", ["d", "", "sc"], ["y"], name="up", mode="linear")]
    p = tmp_path / "sr.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                                opset_imports=[helper.make_opsetid("", 17)]), p)
    dl = M.importNetworkFromONNX(str(p))
    assert [type(layer).__name__ for layer in dl.Layers] == ["ImageInputLayer", "ReLULayer", "ScalingLayer",
                                                             "Resize2DLayer"]
    assert dl.Layers[2].Name == "sub"                 # the chain Mul, Sub is one layer, named by its last node
    xs = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    expected = ort.InferenceSession(str(p)).run(None, {"x": xs})[0]
    np.testing.assert_allclose(np.asarray(M.predict(dl, _matlab_images(xs))).transpose(3, 2, 0, 1), expected,
                               rtol=1e-5, atol=1e-6)
    net = W.Import(str(p))
    np.testing.assert_allclose(np.asarray(net(xs)), expected, rtol=1e-5, atol=1e-6)


def _model_with_cos(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 6, 6])
    w = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "W")
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"), helper.make_node("Cos", ["a"], ["b"], name="my_cos"),
             helper.make_node("Conv", ["b", "W"], ["y"], name="conv")]
    p = tmp_path / "cos.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w]),
                                opset_imports=[helper.make_opsetid("", 17)]), p)
    return str(p)


def test_import_onnx_layers_puts_a_placeholder_that_refuses_to_run(tmp_path):
    p = _model_with_cos(tmp_path)
    with pytest.raises(LayerGraphError, match="node 'my_cos' \\(Cos\\)"):
        M.importNetworkFromONNX(p)
    with pytest.warns(UserWarning, match="placeholder layers.*'my_cos' \\(Cos\\)"):
        lg = M.importONNXLayers(p)
    kinds = [type(layer).__name__ for layer in lg.Layers]
    assert kinds == ["ImageInputLayer", "ReLULayer", "PlaceholderLayer", "Convolution2DLayer"]
    ph = lg.Layers[2]
    assert (ph.ONNXOperator, ph.ONNXNode) == ("Cos", "my_cos")
    assert M.analyzeNetwork(lg, Plots="none") is not None
    assert ph.description() == "Placeholder for the ONNX operator 'Cos'"
    dl = M.dlnetwork(lg)                    # sizes analyse (the placeholder's from ONNX's shape inference)
    with pytest.raises(LayerGraphError, match="placeholder for the ONNX operator 'Cos'.*replaceLayer"):
        M.predict(dl, np.zeros((8, 8, 3, 1), np.float32))
    fixed = M.replaceLayer(lg, "my_cos", M.reluLayer("Name", "instead"))
    assert np.asarray(M.predict(M.dlnetwork(fixed), np.ones((8, 8, 3, 1), np.float32))).shape == (6, 6, 2, 1)


def test_wolfram_import_gives_a_placeholder_with_a_message(tmp_path):
    from layergraph.wolfram.messages import WolframMessage
    with pytest.warns(WolframMessage, match="my_cos \\(Cos\\)"):
        net = W.Import(_model_with_cos(tmp_path))
    assert "Placeholder" in str(net)
    with pytest.raises(LayerGraphError, match="placeholder"):
        net(np.zeros((1, 3, 8, 8), np.float32))
