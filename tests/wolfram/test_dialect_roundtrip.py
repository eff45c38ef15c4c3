"""One network, both dialects: a MATLAB network opens as a Wolfram net and back with the
same weights and the same outputs, each printed in its own dialect; layers of both
dialects mix in one net."""
import numpy as np
import pytest

import layergraph
from layergraph import (
    LayerArray, LayerGraphError, additionLayer, assembleNetwork, batchNormalizationLayer, categorical,
    classificationLayer, convolution2dLayer, dlnetwork, fullyConnectedLayer, imageInputLayer, layerGraph,
    leakyReluLayer, maxPooling2dLayer, predict, reluLayer, rng, softmaxLayer, trainingOptions, trainNetwork,
)
from layergraph.core.shared import share_learnables, shared_learnables
from layergraph.wolfram import (
    BatchNormalizationLayer, ConvolutionLayer, ElementwiseLayer, LinearLayer, NetChain, NetGraph, NetInitialize,
    PoolingLayer, Ramp, SoftmaxLayer, TotalLayer,
)
from layergraph.wolfram.layers import CoreLayerView, from_core


def _seed_layers():
    """examples/train_digits.py's network."""
    return LayerArray([
        imageInputLayer([8, 8, 1]),
        convolution2dLayer(3, 16, 'Padding', 1), batchNormalizationLayer, reluLayer,
        maxPooling2dLayer(2, 'Stride', 2),
        convolution2dLayer(3, 32, 'Padding', 1), batchNormalizationLayer, reluLayer,
        fullyConnectedLayer(10), softmaxLayer, classificationLayer])


@pytest.fixture(scope="module")
def seed_net():
    rng(0)
    X = np.random.default_rng(0).random((8, 8, 1, 40)).astype(np.float32)
    Y = categorical(np.arange(40) % 10)
    net, _ = trainNetwork(X, Y, _seed_layers(), trainingOptions('sgdm', 'MaxEpochs', 1, 'MiniBatchSize', 20,
                                                                 'Verbose', False))
    return net, X


def _wl(X):
    return X.transpose(3, 2, 0, 1)   # H x W x C x N -> N x C x H x W


def test_seed_cnn_both_ways(seed_net):
    net, X = seed_net
    chain = NetChain(net)
    heads = [node.head for node in chain._nodes.values()]
    assert heads == ["nnet.cnn.layer.ImageInputLayer", "ConvolutionLayer", "BatchNormalizationLayer",
                     "ElementwiseLayer", "PoolingLayer", "ConvolutionLayer", "BatchNormalizationLayer",
                     "ElementwiseLayer", "LinearLayer", "SoftmaxLayer"]
    text = repr(chain)
    assert "Output port:      class" in text and "array (size: 16×8×8)" in text
    ref = predict(net, X)
    np.testing.assert_array_equal(chain(_wl(X), None), ref)
    labels = chain(_wl(X))
    assert list(labels) == [str(c) for c in net.classify(X)[0]]
    # Wolfram's layout: conv weights {out, in, kh, kw}, BN Momentum = 1 - MeanDecay
    conv = chain._nodes["conv_1"]
    assert conv.arrays["Weights"].shape == (16, 1, 3, 3)
    np.testing.assert_array_equal(conv.arrays["Weights"], net.Layers[1].Weights.transpose(3, 2, 0, 1))
    assert chain._nodes["batchnorm_1"].params["Momentum"] == pytest.approx(0.9)
    assert chain._nodes["batchnorm_1"].params["Epsilon"] == 1e-5
    back = assembleNetwork(chain)
    assert type(back).__name__ == "SeriesNetwork"
    assert str(back.Layers) == str(net.Layers)
    np.testing.assert_array_equal(predict(back, X), ref)
    for a, b in zip(back.Layers, net.Layers):
        for spec in a.learnables:
            np.testing.assert_array_equal(getattr(a, spec.name), getattr(b, spec.name))
    d = dlnetwork(chain)
    assert d.OutputNames == ["softmax"]
    np.testing.assert_array_equal(predict(d, X), ref)
    assert layerGraph(chain).OutputNames == ["classoutput"]


def test_seed_cnn_saved_as_wolfram(seed_net, tmp_path):
    net, X = seed_net
    chain = NetChain(net)
    layergraph.save(chain, tmp_path / "chain.npz")
    again = layergraph.load(tmp_path / "chain.npz")
    assert repr(again) == repr(chain)
    np.testing.assert_array_equal(again(_wl(X), None), predict(net, X))


def _residual():
    lg = layerGraph([imageInputLayer([6, 6, 3], 'Normalization', 'none', 'Name', 'in'),
                     convolution2dLayer(3, 4, 'Padding', 'same', 'Name', 'c1'), reluLayer('Name', 'r1'),
                     convolution2dLayer(3, 4, 'Padding', 'same', 'Name', 'c2'),
                     additionLayer(2, 'Name', 'add'), reluLayer('Name', 'r2'),
                     convolution2dLayer(3, 4, 'Padding', 'same', 'Name', 'c3'),
                     fullyConnectedLayer(5, 'Name', 'fc'), softmaxLayer('Name', 'sm')])
    return lg.connectLayers('r1', 'add/in2')


def test_residual_graph_both_ways():
    rng(1)
    d = dlnetwork(_residual())
    g = NetGraph(d)
    assert isinstance(g._nodes["add"], TotalLayer) and isinstance(g._nodes["c1"], ConvolutionLayer)
    assert '"r1" -> "add"' in repr(g) and "Output port:      vector (size: 5)" in repr(g)
    X = np.random.default_rng(2).random((6, 6, 3, 5)).astype(np.float32)
    ref = predict(d, X)
    np.testing.assert_array_equal(g(_wl(X)), ref)
    back = dlnetwork(g)
    np.testing.assert_array_equal(predict(back, X), ref)
    assert str(back.Connections) == str(dlnetwork(layerGraph(g)).Connections)
    assert back.Connections.Destination == [("add/in2" if s == "r1" and dd == "add/in2" else dd)
                                            for s, dd in zip(d.Connections.Source, d.Connections.Destination)]
    assert back.Layers[0].Name == "imageinput" and [layer.Name for layer in back.Layers][1:] == \
        [layer.Name for layer in d.Layers][1:]


def test_shared_arrays_both_ways(tmp_path):
    rng(2)
    lg = share_learnables(_residual(), "w", [("c2", "Weights"), ("c3", "Weights")])
    d = dlnetwork(lg)
    g = NetGraph(d)
    assert g._nodes["c2"].shared == {"Weights": "w"} and g._nodes["c3"].shared == {"Weights": "w"}
    X = np.random.default_rng(3).random((6, 6, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(g(_wl(X)), predict(d, X))
    back = dlnetwork(g)
    assert shared_learnables(back.layer_graph) == {"w": (("c2", "Weights"), ("c3", "Weights"))}
    np.testing.assert_array_equal(predict(back, X), predict(d, X))
    layergraph.save(g, tmp_path / "g.npz")
    again = layergraph.load(tmp_path / "g.npz")
    assert repr(again) == repr(g) and again._nodes["c3"].shared == {"Weights": "w"}
    np.testing.assert_array_equal(again(_wl(X)), predict(d, X))


def test_wolfram_net_to_matlab_and_back():
    chain = NetInitialize(NetChain([ConvolutionLayer(4, 3, PaddingSize=1), BatchNormalizationLayer(), Ramp,
                                    PoolingLayer(2, 2), LinearLayer(3), SoftmaxLayer()], Input=(2, 6, 6)))
    x = np.random.default_rng(4).random((3, 2, 6, 6))
    d = dlnetwork(chain)
    np.testing.assert_allclose(predict(d, x.transpose(2, 3, 1, 0).astype(np.float32)), chain(x), rtol=1e-6, atol=1e-7)
    again = NetChain(d)
    assert [n.head for n in again._nodes.values()] == [n.head for n in chain._nodes.values()]
    np.testing.assert_array_equal(again(x), chain(x))
    assert again._nodes["2"].params["Epsilon"] == chain._nodes["2"].params["Epsilon"] == 0.001


def test_matlab_layers_in_a_netchain():
    chain = NetChain([convolution2dLayer(3, 8), Ramp, leakyReluLayer(), LinearLayer(3)], Input=(3, 8, 8))
    assert isinstance(chain._nodes["1"], ConvolutionLayer)
    view = chain._nodes["3"]
    assert isinstance(view, CoreLayerView) and view.head == "nnet.cnn.layer.LeakyReLULayer"
    assert "nnet.cnn.layer.LeakyReLULayer" in repr(chain)
    chain = NetInitialize(chain)
    x = np.random.default_rng(5).standard_normal((3, 8, 8))
    y = chain(x)
    d = dlnetwork(chain)
    np.testing.assert_allclose(predict(d, x[None].transpose(2, 3, 1, 0).astype(np.float32))[0], y, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(LayerGraphError, match="output layers are not layers of a Wolfram net"):
        NetChain([fullyConnectedLayer(3), softmaxLayer, classificationLayer()], Input=4)


def test_counterpart_only_when_exact():
    """A property the Wolfram layer cannot say keeps the core layer as itself."""
    assert isinstance(from_core(convolution2dLayer(3, 8, 'WeightL2Factor', 2)), CoreLayerView)
    assert isinstance(from_core(reluLayer()), ElementwiseLayer)
    bn = batchNormalizationLayer('MeanDecay', 0.2, 'VarianceDecay', 0.2)
    assert isinstance(from_core(bn), BatchNormalizationLayer)
    assert isinstance(from_core(batchNormalizationLayer('MeanDecay', 0.2, 'VarianceDecay', 0.3)), CoreLayerView)


def test_not_a_chain():
    with pytest.raises(LayerGraphError, match="not a chain of layers"):
        NetChain(_residual())


def test_wolfram_layers_in_a_matlab_layer_array():
    rng(3)
    layers = LayerArray([imageInputLayer([6, 6, 2], 'Normalization', 'none'), ConvolutionLayer(4, 3),
                         BatchNormalizationLayer(), ElementwiseLayer(Ramp), LinearLayer(5), SoftmaxLayer()])
    assert [type(layer).__name__ for layer in layers] == [
        "ImageInputLayer", "Convolution2DLayer", "BatchNormalizationLayer", "ReLULayer", "FullyConnectedLayer",
        "SoftmaxLayer"]
    assert layers[2].Epsilon == 0.001 and layers[2].MeanDecay == pytest.approx(0.1)   # Wolfram's defaults
    d = dlnetwork(layers)
    assert "4 3x3x2 convolutions" in str(d.Layers)
    X = np.random.default_rng(6).random((6, 6, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(NetChain(d)(_wl(X)), predict(d, X))
    lg = layerGraph([imageInputLayer([4, 4, 2], 'Normalization', 'none', 'Name', 'in'),
                     convolution2dLayer(1, 2, 'Name', 'c'), TotalLayer(), reluLayer])
    assert lg.layer("addition").NumInputs == 2
    with pytest.raises(LayerGraphError, match="computes with 3 core layers"):
        LayerArray([ConvolutionLayer(4, 3, Interleaving=True)])


def test_two_inputs_with_a_normalizing_input_layer(tmp_path):
    from layergraph import featureInputLayer
    rng(4)
    lg = layerGraph([featureInputLayer(4, 'Name', 'a'), fullyConnectedLayer(3, 'Name', 'fa'),
                     additionLayer(2, 'Name', 'add'), reluLayer('Name', 'r')])
    normalized = featureInputLayer(4, 'Name', 'b', 'Normalization', 'zscore', 'Mean', np.ones((4, 1)),
                                   'StandardDeviation', 2 * np.ones((4, 1)))
    lg = lg.addLayers([normalized, fullyConnectedLayer(3, 'Name', 'fb')])
    d = dlnetwork(lg.connectLayers('fb', 'add/in2'))
    g = NetGraph(d)
    assert g._input_names() == ["a", "b"]
    assert g._nodes["b"].head == "nnet.cnn.layer.FeatureInputLayer"   # its zscore normalization stays
    xa, xb = (np.random.default_rng(i).random((5, 4)).astype(np.float32) for i in (7, 8))
    ref = predict(d, [xa, xb])
    np.testing.assert_array_equal(g({"a": xa, "b": xb}), ref)
    back = dlnetwork(g)
    assert back.InputNames == ["a", "b"] and back.Layers[2].Normalization == "zscore"
    np.testing.assert_array_equal(predict(back, [xa, xb]), ref)
    layergraph.save(g, tmp_path / "g.npz")
    np.testing.assert_array_equal(layergraph.load(tmp_path / "g.npz")({"a": xa, "b": xb}), ref)


def test_nettrain_computes_the_input_statistics_as_trainnetwork():
    """A MATLAB network opened as a NetChain keeps its imageInputLayer 'zerocenter' without a
    Mean; NetTrain computes it from the training data with trainNetwork's function, so both
    trainers give the same Mean (MATLAB's layout: 1 x 1 x C, per channel)."""
    from layergraph.wolfram import NetTrain

    def layers():
        return LayerArray([imageInputLayer([4, 4, 2]), convolution2dLayer(3, 4, 'Padding', 1), reluLayer,
                           fullyConnectedLayer(3), softmaxLayer, classificationLayer])
    X = (np.random.default_rng(3).random((4, 4, 2, 12)) * np.array([1.0, 5.0])[None, None, :, None]).astype(np.float32)
    labels = np.arange(12) % 3
    chain = NetChain(layers())
    with pytest.raises(LayerGraphError, match=r'nnet.cnn.layer.ImageInputLayer \(layer "imageinput"\) normalizes '
                                              r'its input \("Normalization" -> "zerocenter"\) but its "Mean" is not '
                                              r'set') as err:
        NetInitialize(chain)(_wl(X))
    assert "$in" not in str(err.value) and err.value.identifier == "General::nninit"
    trained = NetTrain(chain, (_wl(X), labels + 1), MaxTrainingRounds=2, RandomSeeding=7,
                       TrainingProgressReporting=None)
    mean = dlnetwork(trained).Layers[0].Mean
    assert mean.shape == (1, 1, 2)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(axis=(0, 1, 3)).reshape(1, 1, 2), rtol=1e-6)
    rng(7)
    net, _ = trainNetwork(X, categorical(labels), layers(),
                          trainingOptions('sgdm', 'MaxEpochs', 1, 'MiniBatchSize', 6, 'Verbose', False))
    np.testing.assert_array_equal(mean, net.Layers[0].Mean)
    assert trained(_wl(X)).shape == (12, 3)   # the trained net evaluates
    assert 'Mean:                   "<array 1x1x2>"' in repr(trained["imageinput"])
    # a Mean the net has stays: NetTrain has no ResetInputNormalization
    again = NetTrain(NetChain(net), (_wl(X) + 1, [str(v) for v in labels]), MaxTrainingRounds=1,
                     TrainingProgressReporting=None)
    np.testing.assert_array_equal(dlnetwork(again).Layers[0].Mean, net.Layers[0].Mean)
