"""dlnetwork as MATLAB has it now (dlnetwork() with no arguments, addLayers / connectLayers on a
dlnetwork, initialize(net), Initialize=false without an input layer, initialize(net, X)), and the
one-output forms: net = trainNetwork(...), rng('default'), activations(net, X, 4)."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.initializers import drawing_from
from layergraph.core.initializers import rng as core_rng
from layergraph.matlab import (LayerArray, activations, addLayers, categorical, classificationLayer,
                               classify, connectLayers, convolution2dLayer, dlarray, dlnetwork, extractdata,
                               fullyConnectedLayer, imageInputLayer, initialize, predict, reluLayer, rng,
                               softmaxLayer, trainingOptions, trainNetwork)
from layergraph.matlab.network import DLNetwork as _DL
from layergraph.matlab.network import SeriesNetwork
from layergraph.wolfram import NetChain



def test_empty_dlnetwork_built_with_add_and_connect():
    net = dlnetwork()
    assert isinstance(net, _DL) and not net.Initialized and len(net.Layers) == 0
    net = addLayers(net, [imageInputLayer([6, 6, 1], "Normalization", "none"), convolution2dLayer(3, 2),
                          reluLayer])
    net = addLayers(net, [fullyConnectedLayer(3, "Name", "fc"), softmaxLayer])
    assert isinstance(net, _DL) and not net.Initialized
    net = connectLayers(net, "relu", "fc")
    assert net.Learnables.Value[0] is None        # not initialized yet
    net = initialize(net)
    assert net.Initialized and np.asarray(net.Learnables.Value[0]).shape == (3, 3, 1, 2)
    Y = predict(net, dlarray(np.ones((6, 6, 1, 2), np.float32), "SSCB"))
    assert Y.shape == (3, 2)


def test_uninitialized_without_input_layer_and_initialize_with_examples():
    layers = LayerArray([convolution2dLayer(3, 4, "Name", "conv"), reluLayer, fullyConnectedLayer(2), softmaxLayer])
    with pytest.raises(LayerGraphError, match="Missing input layer"):
        dlnetwork(layers)
    net = dlnetwork(layers, Initialize=False)
    assert not net.Initialized
    X = dlarray(np.random.default_rng(0).standard_normal((5, 5, 3, 2)).astype(np.float32), "SSCB")
    net = initialize(net, X)
    assert net.Initialized and [layer.Name for layer in net.Layers] == ["input", "conv", "relu", "fc", "softmax"]
    assert tuple(net.Layers[0].InputSize) == (5, 5, 3)
    assert predict(net, X).shape == (2, 2)
    with pytest.raises(LayerGraphError, match="1 unconnected inputs"):
        initialize(dlnetwork(layers, Initialize=False), X, X)


def _train(X, labels):
    layers = LayerArray([imageInputLayer([4, 4, 1], "Normalization", "none"), convolution2dLayer(2, 3), reluLayer,
                         fullyConnectedLayer(2), softmaxLayer, classificationLayer])
    opts = trainingOptions("sgdm", "MaxEpochs", 2, "MiniBatchSize", 8, "Verbose", False)
    return trainNetwork(X, categorical(labels), layers, opts)


def test_one_output_classify_fails_at_once():
    """YPred = classify(net, X) (MATLAB's one-output form) would hold labels and scores: using it
    as the labels says how to write it; the two-output form unpacks as before."""
    rng("default")
    X = np.random.default_rng(1).standard_normal((4, 4, 1, 12)).astype(np.float32)
    labels = np.arange(12) % 2
    net = _train(X, labels)
    YPred = classify(net, X)
    for use in (lambda: YPred == labels, lambda: labels == YPred, lambda: np.asarray(YPred),
                lambda: np.mean(YPred == labels), lambda: YPred.shape):
        with pytest.raises(LayerGraphError, match=r"YPred, scores = classify\(net, X\)"):
            use()
    yp, scores = YPred
    assert yp.shape == (12,) and scores.shape == (12, 2) and YPred[0] is yp
    assert set(np.unique(yp)) <= {"0", "1"}


def test_one_output_trainNetwork():
    rng("default")
    X = np.random.default_rng(0).standard_normal((4, 4, 1, 16)).astype(np.float32)
    labels = np.arange(16) % 2
    net = _train(X, labels)                    # MATLAB's net = trainNetwork(...)
    assert len(net.Layers) == 6
    yp, scores = classify(net, X)
    assert scores.shape == (16, 2) and predict(net, X).shape == (16, 2)
    assert "SeriesNetwork with properties" in repr(net) and isinstance(net, SeriesNetwork)
    assert isinstance(NetChain(net), NetChain)
    rng("default")
    trained, info = _train(X, labels)          # and [net, info] = trainNetwork(...)
    np.testing.assert_array_equal(predict(trained, X), predict(net, X))
    assert len(info.TrainingLoss) == 4 and type(trained) is SeriesNetwork and net[1] is not None
    import layergraph
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        layergraph.save(net, os.path.join(d, "n.lgnet"))
        again = layergraph.load(os.path.join(d, "n.lgnet"))
        np.testing.assert_array_equal(predict(again, X), predict(net, X))
    with pytest.raises(TypeError, match="only the network trainNetwork or trainnet returns unpacks"):
        a, b = again


def test_rng_default_and_shuffle():
    # rng() replaces the global generator; drawing_from puts the one before back at the end, so
    # rng('shuffle') does not hand the operating system's entropy to every later test (it did:
    # those drawing from it, test_autodiff_training's networks among them, differed each run)
    before = core_rng()
    state = before.bit_generator.state
    with drawing_from(before):
        rng("default")
        a = core_rng().random(3)
        rng(0)
        b = core_rng().random(3)
        np.testing.assert_array_equal(a, b)
        rng(5, "twister")
        rng("shuffle")
        assert core_rng() is not before
        with pytest.raises(ValueError, match="'default' or 'shuffle'"):
            rng("sometimes")
        with pytest.raises(ValueError, match="Invalid generator"):
            rng(1, "mersenne")
    assert core_rng() is before and core_rng().bit_generator.state == state   # as this test found it


def test_activations_by_layer_index():
    net = dlnetwork(LayerArray([imageInputLayer([5, 5, 1], "Normalization", "none"), convolution2dLayer(3, 2),
                                reluLayer, fullyConnectedLayer(2), softmaxLayer]))
    X = np.random.default_rng(1).standard_normal((5, 5, 1, 3)).astype(np.float32)
    np.testing.assert_array_equal(activations(net, X, 3), activations(net, X, "relu"))
    with pytest.raises(LayerGraphError, match="Invalid layer index 9"):
        activations(net, X, 9)
    assert extractdata(predict(net, dlarray(X, "SSCB"))).shape == (2, 3)
