"""Round trips through ONNX (issue 12), both dialects:

* ONNX -> layergraph -> ONNX: the torch-exported models of tests/onnx_import (a residual CNN
  with BN, a depthwise-separable block with squeeze-and-excitation and hard swish, an MLP with
  LayerNorm) imported by each dialect (importNetworkFromONNX, importONNXNetwork, Wolfram's
  Import), exported again (exportONNXNetwork, Export) and run in onnxruntime give the original
  model's outputs (float32, 1e-5 relative to the output's scale);
* layergraph -> ONNX -> layergraph: a MATLAB residual CNN and a Wolfram NetChain exported,
  imported again and predicting what the original network predicts.

The torch networks, their export and the model files come from tests/onnx_import; the check,
run and comparison helpers from tests/onnx/test_export.py.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest

pytest.importorskip("torch")

import layergraph.matlab as ml   # noqa: E402
import layergraph.wolfram as wl   # noqa: E402
from layergraph.onnx import export as ox   # noqa: E402
from onnx_import import _torch_nets as T   # noqa: E402
from onnx_import import test_dialects as D   # noqa: E402
from test_export import _check_and_run, _close, _internal_input, _onnx_to_matlab, _r, _to_matlab_layout, bn, winit  # noqa: E402,E501

files = D.files   # the fixture: the torch models, exported once per module
_matlab_images, _ort, _x = D._matlab_images, D._ort, D._x
TORCH_OPSET = {"residual_cnn": 13, "depthwise_se": 13, "mlp": 17}   # as the files fixture exports them


def _rerun(path, x):
    """Check the exported model, run it in onnxruntime on x: its one output, N x everything."""
    model, outs = _check_and_run(str(path), {onnx.load(str(path)).graph.input[0].name: x})
    assert len(outs) == 1
    return outs[0].reshape(x.shape[0], -1)


def _original(files, name, x):
    return _ort(files[name], x).reshape(x.shape[0], -1)


# -- ONNX -> layergraph -> ONNX ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(T.NETS))
def test_matlab_import_network_from_onnx_then_export(files, name, tmp_path):
    net = ml.importNetworkFromONNX(str(files[name]))
    out = tmp_path / "again.onnx"
    ml.exportONNXNetwork(net, str(out), "OpsetVersion", TORCH_OPSET[name])
    x = _x(name, 5, seed=1)
    _close(_original(files, name, x), _rerun(out, x))


@pytest.mark.parametrize("name", list(T.NETS))
def test_matlab_import_onnx_network_then_export(files, name, tmp_path):
    """A DAGNetwork / SeriesNetwork with an output layer (classification after a softmax, else
    regression), which the export drops; at the default opset and the newest."""
    net = ml.importONNXNetwork(str(files[name]))
    x = _x(name, 3, seed=2)
    for opset in (None, ox.max_opset()):
        out = tmp_path / f"again{opset}.onnx"
        ml.exportONNXNetwork(net, str(out), *(("OpsetVersion", opset) if opset else ()))
        if opset is None:
            assert onnx.load(str(out)).opset_import[0].version == 9   # MATLAB's default here
        _close(_original(files, name, x), _rerun(out, x))


@pytest.mark.parametrize("name", list(T.NETS))
def test_wolfram_import_then_export(files, name, tmp_path):
    net = wl.Import(str(files[name]))
    out = tmp_path / "again.onnx"
    wl.Export(str(out), net, "ONNX", OperatorSetVersion=TORCH_OPSET[name])
    x = _x(name, 4, seed=3)
    _close(_original(files, name, x), _rerun(out, x))
    # and the re-exported model imports again to the same function
    _close(_original(files, name, x), np.asarray(wl.Import(str(out))(x)).reshape(x.shape[0], -1))


# -- layergraph -> ONNX -> layergraph ------------------------------------------------------------------------------
def _matlab_residual_cnn():
    """imageInputLayer (zscore) -> conv-BN-ReLU -> [conv-BN-ReLU-conv-BN] + skip -> ReLU -> max pool ->
    grouped conv -> GAP -> FC -> softmax; random BN statistics and input statistics."""
    h, w, c = 12, 10, 3
    lg = ml.layerGraph(ml.LayerArray([
        ml.imageInputLayer([h, w, c], "Normalization", "zscore", "Mean", _r(1, 1, c, seed=1),
                           "StandardDeviation", _r(1, 1, c, seed=2, lo=0.5, hi=2.0), Name="in"),
        ml.convolution2dLayer(3, 8, "Padding", "same", "BiasInitializer", "narrow-normal", Name="stem"),
        bn(8, seed=3, Name="stem_bn"), ml.reluLayer(Name="stem_relu"),
        ml.convolution2dLayer(3, 8, "Padding", "same", Name="b_conv1"), bn(8, seed=7, Name="b_bn1"),
        ml.reluLayer(Name="b_relu"),
        ml.convolution2dLayer(3, 8, "Padding", "same", Name="b_conv2"), bn(8, seed=11, Name="b_bn2"),
        ml.additionLayer(2, Name="add"), ml.reluLayer(Name="add_relu"),
        ml.maxPooling2dLayer(2, "Stride", 2, Name="pool"),
        ml.groupedConvolution2dLayer(3, 4, 2, "Padding", 1, "BiasInitializer", "narrow-normal", Name="gconv"),
        ml.globalAveragePooling2dLayer(Name="gap"),
        ml.fullyConnectedLayer(5, "BiasInitializer", "narrow-normal", Name="fc"), ml.softmaxLayer(Name="sm")]))
    lg = ml.connectLayers(lg, "stem_relu", "add/in2")
    return ml.dlnetwork(lg)


@pytest.mark.parametrize("opset", [9, 13, ox.max_opset()])
def test_matlab_residual_cnn_export_then_import(opset, tmp_path):
    net = _matlab_residual_cnn()
    path = str(tmp_path / "cnn.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", opset)
    x = _internal_input(net)
    _, (y_ort,) = _check_and_run(path, {"in": x})
    ours = np.asarray(net.predict(_to_matlab_layout(x)))
    _close(ours, _onnx_to_matlab(y_ort))
    again = ml.importNetworkFromONNX(path)
    assert type(again).__name__ == "DLNetwork"
    _close(ours, np.asarray(ml.predict(again, _to_matlab_layout(x))).reshape(ours.shape))
    assert again.Layers[0].Normalization == "zscore"     # Sub / Div by the statistics: the input layer again
    dag = ml.importONNXNetwork(path, "OutputLayerType", "classification", "Classes", list("abcde"))
    labels = dag.classify(_to_matlab_layout(x))
    labels = labels[0] if isinstance(labels, tuple) else labels
    assert [str(v) for v in labels] == [list("abcde")[i] for i in ours.argmax(1)]


def _wolfram_chain():
    return winit(wl.NetChain([
        wl.ConvolutionLayer(6, 3, PaddingSize=1), wl.BatchNormalizationLayer(
            Epsilon=1e-3, Scaling=_r(6, seed=1, lo=0.5, hi=2.0), Biases=_r(6, seed=2), MovingMean=_r(6, seed=3),
            MovingVariance=_r(6, seed=4, lo=0.5, hi=2.0)),
        wl.ElementwiseLayer(wl.Ramp), wl.PoolingLayer(2, Stride=2), wl.ConvolutionLayer(4, 3, Stride=2),
        wl.ElementwiseLayer("HardSwish"), wl.ElementwiseLayer(wl.Tanh), wl.DropoutLayer(0.3), wl.FlattenLayer(),
        wl.LinearLayer(3), wl.SoftmaxLayer()], Input=(3, 14, 12)))


@pytest.mark.parametrize("opset", [9, 13, 18])
def test_wolfram_chain_export_then_import(opset, tmp_path):
    net = _wolfram_chain()
    path = str(tmp_path / "chain.onnx")
    wl.Export(path, net, "ONNX", OperatorSetVersion=opset)
    x = _r(4, 3, 14, 12, seed=5, lo=-2.0, hi=2.0)
    ours = np.asarray(net(x))
    _, (y_ort,) = _check_and_run(path, {"Input": x})
    _close(ours, y_ort)
    again = wl.Import(path)
    assert type(again).__name__ == "NetChain"
    _close(ours, np.asarray(again(x)))
    # and the MATLAB side opens the same file
    _close(ours, np.asarray(ml.predict(ml.importNetworkFromONNX(path), _matlab_images(x))).reshape(ours.shape))


@pytest.mark.parametrize("opset", [9, 11, 13])
def test_softmax_over_the_channels_of_an_image_round_trips(opset, tmp_path):
    """Before opset 13 the export writes Transpose, Softmax(last axis), Transpose; the import reads
    a Softmax over the last axis as a softmax layer between transposes."""
    net = ml.dlnetwork(ml.LayerArray([ml.imageInputLayer([5, 6, 3], "Normalization", "none", Name="in"),
                                      ml.convolution2dLayer(3, 4, "Padding", "same", "BiasInitializer",
                                                            "narrow-normal"),
                                      ml.softmaxLayer()]))
    path = str(tmp_path / "seg.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", opset)
    x = _internal_input(net)
    ours = np.asarray(net.predict(_to_matlab_layout(x)))
    again = ml.importNetworkFromONNX(path)
    _close(ours, np.asarray(ml.predict(again, _to_matlab_layout(x))))
    _close(ours, _onnx_to_matlab(_check_and_run(path, {"in": x})[1][0]))
    _close(np.asarray(wl.NetGraph(net)(x)), np.asarray(wl.Import(path)(x)))
