"""dlnetwork: inference plus initialization; refuses output layers."""
import numpy as np
import pytest

from layergraph import (
    LayerGraphError, NetworkAnalysisError, additionLayer, batchNormalizationLayer, classificationLayer,
    convolution2dLayer, dlnetwork, fullyConnectedLayer, imageInputLayer, layerGraph, reluLayer, rng, softmaxLayer,
)
from layergraph.core.initializers import initialize


def small():
    return [imageInputLayer([8, 8, 3]), convolution2dLayer(3, 4, "Padding", 1), batchNormalizationLayer,
            reluLayer, fullyConnectedLayer(5), softmaxLayer]


def test_dlnetwork_sizes_and_learnables():
    net = dlnetwork(small())
    assert net.Initialized
    conv = net.Layers[1]
    assert conv.NumChannels == 3 and conv.Weights.shape == (3, 3, 3, 4) and conv.Bias.shape == (1, 1, 4)
    assert net.Layers[2].NumChannels == 4
    assert np.all(net.Layers[2].Scale == 1) and np.all(net.Layers[2].Offset == 0)
    assert np.all(net.Layers[2].TrainedMean == 0) and np.all(net.Layers[2].TrainedVariance == 1)
    assert net.Layers[4].Weights.shape == (5, 8 * 8 * 4)
    t = net.Learnables
    assert list(zip(t.Layer, t.Parameter)) == [
        ("conv", "Weights"), ("conv", "Bias"), ("batchnorm", "Offset"), ("batchnorm", "Scale"),
        ("fc", "Weights"), ("fc", "Bias")]
    assert list(zip(net.State.Layer, net.State.Parameter)) == [("batchnorm", "TrainedMean"),
                                                               ("batchnorm", "TrainedVariance")]
    assert net.InputNames == ["imageinput"] and net.OutputNames == ["softmax"]
    assert "Batch normalization with 4 channels" in str(net.Layers)
    assert "Learnables: [6x3 table]" in str(net)


def test_glorot_bounds_and_given_values_kept():
    rng(0)
    w = np.full((3, 3, 3, 4), 0.5)
    net = dlnetwork([imageInputLayer([8, 8, 3]), convolution2dLayer(3, 4, "Weights", w),
                     fullyConnectedLayer(5)])
    assert np.array_equal(net.Layers[1].Weights, w)
    fc = net.Layers[2].Weights
    bound = np.sqrt(6 / (6 * 6 * 4 + 5))
    assert np.abs(fc).max() <= bound and np.abs(fc).max() > 0.8 * bound
    assert np.all(net.Layers[2].Bias == 0)


def test_initializers_by_name_and_callable():
    net = dlnetwork([imageInputLayer([4, 4, 2]),
                     convolution2dLayer(3, 64, "WeightsInitializer", "he", "BiasInitializer", "ones"),
                     fullyConnectedLayer(4, "WeightsInitializer", lambda sz: np.full(sz, 2.0)),
                     fullyConnectedLayer(3, "WeightsInitializer", "orthogonal")])
    w = net.Layers[1].Weights
    assert abs(w.std() - np.sqrt(2 / (3 * 3 * 2))) < 0.1 * np.sqrt(2 / 18)
    assert np.all(net.Layers[1].Bias == 1)
    assert np.all(net.Layers[2].Weights == 2)
    q = net.Layers[3].Weights.astype(float)
    assert np.allclose(q @ q.T, np.eye(3), atol=1e-5)


def test_initializer_errors_name_the_layer():
    with pytest.raises(LayerGraphError, match=r"Layer 'fc': the initializer function for Weights returned an "
                                              r"array of size 2x2; expected size 4x32"):
        dlnetwork([imageInputLayer([4, 4, 2]),
                   fullyConnectedLayer(4, "WeightsInitializer", lambda sz: np.ones((2, 2)))])
    with pytest.raises(LayerGraphError, match="Layer 'fc': the initializer function for Weights failed"):
        dlnetwork([imageInputLayer([4, 4, 2]), fullyConnectedLayer(4, "WeightsInitializer", lambda sz: 1 / 0)])


def test_narrow_normal_and_orthogonal_values():
    g = np.random.default_rng(1)
    v = initialize("narrow-normal", (200, 200), 1, 1, gen=g)
    assert abs(v.std() - 0.01) < 5e-4
    q = initialize("orthogonal", (6, 3), 3, 6, gen=g, dtype=np.float64)
    assert np.allclose(q.T @ q, np.eye(3))


def test_refuses_output_layers():
    with pytest.raises(LayerGraphError, match="Layer 'classoutput': Detected output layer"):
        dlnetwork(small() + [classificationLayer])


def test_invalid_network_lists_every_problem():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), convolution2dLayer(3, 3, "Name", "c"),
                     additionLayer(3, "Name", "add")])
    with pytest.raises(NetworkAnalysisError) as err:
        dlnetwork(lg)
    text = str(err.value)
    assert text.startswith("Invalid network.")
    assert "Layer 'add': Unconnected input" in text
    assert [(i.LayerName, i.Port) for i in err.value.issues] == [("add", "in2"), ("add", "in3")]


def test_uninitialized_then_initialize():
    net = dlnetwork(small(), Initialize=False)
    assert not net.Initialized and net.Layers[1].Weights is None and net.Layers[1].NumChannels == 3
    net2 = net.initialize()
    assert net2.Initialized and net2.Layers[1].Weights.shape == (3, 3, 3, 4)


def test_factors_get_and_set():
    net = dlnetwork(small())
    assert net.getL2Factor("conv", "Bias") == 0 and net.getLearnRateFactor("conv", "Weights") == 1
    net2 = net.setLearnRateFactor("conv", "Weights", 0)
    assert net2.getLearnRateFactor("conv", "Weights") == 0 and net.getLearnRateFactor("conv", "Weights") == 1
    with pytest.raises(LayerGraphError, match="WeightLearnRateFactor"):
        net.setLearnRateFactor("conv", "Weights", -1)
    with pytest.raises(LayerGraphError, match="Layer 'relu' has no learnable parameter 'Weights'"):
        net.getL2Factor("relu", "Weights")
