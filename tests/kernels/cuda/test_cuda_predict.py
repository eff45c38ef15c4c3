"""predict / classify / activations with ExecutionEnvironment 'gpu' (the 'cuda' kernels, the
simulator without a GPU) against the CPU path: a tiny seed CNN and a residual DAG."""
import numpy as np
import pytest

from layergraph import (
    activations, additionLayer, assembleNetwork, averagePooling2dLayer, batchNormalizationLayer, classificationLayer,
    classify, connectLayers, convolution2dLayer, dlnetwork, flattenLayer, fullyConnectedLayer,
    imageInputLayer, layerGraph, leakyReluLayer, maxPooling2dLayer, predict, regressionLayer, reluLayer,
    rng, softmaxLayer, tanhLayer,
)
from layergraph.kernels import KernelNotFoundError
from layergraph.kernels.cuda import _runtime

pytestmark = pytest.mark.cuda

CLASSES = ("a", "b", "c")


def _bn(g, c, name):
    return batchNormalizationLayer("Name", name, "TrainedMean", g.standard_normal((1, 1, c)),
                                   "TrainedVariance", g.uniform(0.5, 2, (1, 1, c)),
                                   "Scale", g.uniform(0.5, 1.5, (1, 1, c)), "Offset", g.standard_normal((1, 1, c)))


def seed_cnn(size=6, c1=2, c2=3):
    """The seed CNN's layers (conv pad 1, BN, ReLU, maxpool 2/2, conv, BN, ReLU, fc, softmax,
    classification), tiny."""
    g = np.random.default_rng(0)
    half = size // 2
    return [
        imageInputLayer([size, size, 2], "Mean", g.standard_normal((size, size, 2)), "Name", "in"),
        convolution2dLayer(3, c1, "Padding", 1, "Name", "c1", "Weights", g.standard_normal((3, 3, 2, c1)),
                           "Bias", g.standard_normal((1, 1, c1))),
        _bn(g, c1, "bn1"),
        reluLayer("Name", "r1"),
        maxPooling2dLayer(2, "Stride", 2, "Name", "mp"),
        convolution2dLayer(3, c2, "Padding", 1, "Name", "c2", "Weights", g.standard_normal((3, 3, c1, c2)),
                           "Bias", g.standard_normal((1, 1, c2))),
        _bn(g, c2, "bn2"),
        reluLayer("Name", "r2"),
        fullyConnectedLayer(3, "Name", "fc", "Weights", g.standard_normal((3, half * half * c2)),
                            "Bias", g.standard_normal((3, 1))),
        softmaxLayer("Name", "sm"),
        classificationLayer("Name", "out", "Classes", list(CLASSES)),
    ]


def residual_dag():
    """Convolutions with stride, dilation, groups and asymmetric padding, an addition, other
    activations, average pooling; a regression output."""
    lg = layerGraph([
        imageInputLayer([5, 5, 2], "Normalization", "zscore", "Name", "in"),
        convolution2dLayer(3, 4, "Padding", "same", "Name", "c1"),
        batchNormalizationLayer("Name", "bn1"),
        leakyReluLayer(0.1, "Name", "r1"),
        convolution2dLayer(3, 4, "Padding", "same", "DilationFactor", 2, "PaddingValue", 0.5, "Name", "c2"),
        additionLayer(2, "Name", "add"),
        tanhLayer("Name", "t"),
        convolution2dLayer([2, 3], 4, "Stride", [2, 1], "Padding", [1, 0, 0, 2], "Name", "c3"),
        averagePooling2dLayer(2, "Padding", [0, 1, 0, 1], "Name", "ap"),
        fullyConnectedLayer(2, "Name", "fc"),
    ])
    lg = connectLayers(lg, "r1", "add/in2")
    rng(3)
    net = dlnetwork(lg)
    g = np.random.default_rng(4)
    layers = list(net.Layers)
    layers[0] = imageInputLayer([5, 5, 2], "Normalization", "zscore", "Name", "in",
                                "Mean", g.standard_normal((1, 1, 2)), "StandardDeviation", g.uniform(1, 2, (1, 1, 2)))
    layers[2] = _bn(g, 4, "bn1")
    return connectLayers(layerGraph(layers + [regressionLayer("Name", "out")]), "r1", "add/in2")


@pytest.fixture(autouse=True)
def _default_launch(monkeypatch):
    # Keep the simulator's launches small, but with enough blocks for the grid-stride loops.
    monkeypatch.setattr(_runtime, "MAX_BLOCKS", 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_cnn_predict_and_classify_match_cpu(dtype):
    net = assembleNetwork(seed_cnn())
    X = np.random.default_rng(1).standard_normal((6, 6, 2, 3))
    cpu = predict(net, X, dtype=dtype)
    gpu = predict(net, X, ExecutionEnvironment="gpu", MiniBatchSize=2, dtype=dtype)
    assert isinstance(gpu, np.ndarray) and gpu.dtype == dtype and gpu.shape == (3, 3)
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gpu, cpu, **tol)
    labels, scores = classify(net, X, ExecutionEnvironment="gpu", dtype=dtype)
    np.testing.assert_allclose(scores, cpu, **tol)
    assert list(labels) == [CLASSES[i] for i in cpu.argmax(1)]
    a = activations(net, X, "mp", ExecutionEnvironment="gpu", dtype=dtype)
    np.testing.assert_allclose(a, activations(net, X, "mp", dtype=dtype), **tol)


def test_residual_dag_matches_cpu():
    net = assembleNetwork(residual_dag())
    X = np.random.default_rng(2).standard_normal((5, 5, 2, 2))
    np.testing.assert_allclose(predict(net, X, ExecutionEnvironment="gpu", dtype=np.float64),
                               predict(net, X, dtype=np.float64), rtol=1e-10, atol=1e-12)


def test_activations_stay_on_the_device(monkeypatch):
    from layergraph.kernels import cuda as K
    copies = {"to_device": 0, "to_host": 0}

    def counted(name, fn):
        def wrapper(a):
            copies[name] += 1
            return fn(a)
        return wrapper

    monkeypatch.setattr(K, "to_device", counted("to_device", K.to_device))
    monkeypatch.setattr(K, "to_host", counted("to_host", K.to_host))
    net = assembleNetwork(seed_cnn())
    ex = net.executor("cuda")
    ex._device_params = None  # a fresh upload, counted
    predict(net, np.random.default_rng(1).standard_normal((6, 6, 2, 4)), ExecutionEnvironment="gpu",
            MiniBatchSize=2)
    # parameters once (conv and fc: Weights, Bias; BN: four vectors), then per batch one input
    # copy and one output copy
    assert copies == {"to_device": 2 * 2 + 2 * 4 + 2 + 2, "to_host": 2}


def test_missing_kernel_names_the_family_and_the_way_out():
    net = dlnetwork([imageInputLayer([4, 4, 1], "Normalization", "none"), convolution2dLayer(3, 2), flattenLayer])
    with pytest.raises(KernelNotFoundError, match=r"'flatten'.*ExecutionEnvironment 'cpu'"):
        net.predict(np.zeros((4, 4, 1, 1)), ExecutionEnvironment="gpu")


def test_host_only_layer_is_refused_by_name():
    # Sum pooling (Wolfram's PoolingLayer with Total) scales on the host; on 'cuda' its op
    # would get device arrays, so the executor refuses it by name before it runs.
    from layergraph.layers import SumPooling2DLayer
    net = dlnetwork([imageInputLayer([4, 4, 1], "Normalization", "none"), SumPooling2DLayer(PoolSize=(2, 2))])
    with pytest.raises(KernelNotFoundError, match=r"layer 'sumpool' \(family 'sumpool'.*ExecutionEnvironment 'cpu'"):
        net.predict(np.zeros((4, 4, 1, 1)), ExecutionEnvironment="gpu")
    assert net.predict(np.ones((4, 4, 1, 1))).shape == (3, 3, 1, 1)
