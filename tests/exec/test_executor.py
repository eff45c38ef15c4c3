"""The executor: whole networks against PyTorch (forward and backward) and float64
finite differences through a residual graph."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph import (
    additionLayer, averagePooling2dLayer, batchNormalizationLayer, concatenationLayer, connectLayers,
    convolution2dLayer, depthConcatenationLayer, dlnetwork, dropoutLayer, eluLayer, featureInputLayer,
    flattenLayer, fullyConnectedLayer, geluLayer, globalAveragePooling2dLayer, groupedConvolution2dLayer,
    imageInputLayer, layerGraph, layerNormalizationLayer, leakyReluLayer, maxPooling2dLayer, reluLayer, rng,
    sigmoidLayer, softmaxLayer, tanhLayer, transposedConv2dLayer,
)
from layergraph.core import conventions as cv


def residual_graph():
    lg = layerGraph([
        imageInputLayer([6, 6, 2], "Normalization", "none", "Name", "in"),
        convolution2dLayer(3, 4, "Padding", "same", "Name", "c1"),
        batchNormalizationLayer("Name", "bn1"),
        reluLayer("Name", "r1"),
        convolution2dLayer(3, 4, "Padding", "same", "Name", "c2", "DilationFactor", 2),
        additionLayer(2, "Name", "add"),
        eluLayer(0.7, "Name", "elu"),
        groupedConvolution2dLayer(2, 1, "channel-wise", "Stride", 2, "Name", "dw"),
        depthConcatenationLayer(2, "Name", "cat"),
        averagePooling2dLayer(2, "Padding", [0, 1, 0, 1], "Name", "ap"),
        layerNormalizationLayer("Name", "ln"),
        fullyConnectedLayer(3, "Name", "fc"),
        softmaxLayer("Name", "sm"),
    ])
    lg = connectLayers(lg, "r1", "add/in2")
    lg = addLayers_max(lg)
    return lg


def addLayers_max(lg):
    from layergraph import addLayers
    lg = addLayers(lg, maxPooling2dLayer(3, "Stride", 2, "Padding", "same", "Name", "mp"))
    lg = connectLayers(lg, "elu", "mp")
    return connectLayers(lg, "mp", "cat/in2")


def _loss_and_grads(net, X, W):
    """Loss sum(W .* Y) in float64 training mode, with gradients of every learnable."""
    ex = net.executor("cpu", np.float64)
    x = cv.matlab_images_to_internal(X)
    acts = ex.forward({"in": x}, training=True)
    [ref] = ex.output_refs()
    y = acts[ref]
    grads = ex.backward({ref: W.astype(np.float64)})
    return float((y * W).sum()), grads, ex


def test_residual_graph_gradients_match_finite_differences():
    rng(0)
    net = dlnetwork(residual_graph())
    X = np.random.default_rng(1).standard_normal((6, 6, 2, 3))
    W = np.random.default_rng(2).standard_normal((3, 3, 1, 1))
    loss, grads, ex = _loss_and_grads(net, X, W)
    assert set(grads) == {"c1", "bn1", "c2", "dw", "ln", "fc"}
    gen = np.random.default_rng(3)
    out = ex.output_refs()[0]
    for layer, params in grads.items():
        for pname, g in params.items():
            P = ex.params[layer][pname]
            d = gen.standard_normal(P.shape)
            eps = 1e-6
            P += eps * d
            up = float((ex.forward({"in": cv.matlab_images_to_internal(X)}, training=True)[out] * W).sum())
            P -= 2 * eps * d
            down = float((ex.forward({"in": cv.matlab_images_to_internal(X)}, training=True)[out] * W).sum())
            P += eps * d
            numeric = (up - down) / (2 * eps)
            assert numeric == pytest.approx(float((g * d).sum()), rel=1e-5, abs=1e-8), (layer, pname)


def test_input_gradient_accumulates_over_branches():
    rng(0)
    net = dlnetwork(residual_graph())
    X = np.random.default_rng(1).standard_normal((6, 6, 2, 2))
    W = np.random.default_rng(2).standard_normal((2, 3, 1, 1))
    ex = net.executor("cpu", np.float64)
    ex.forward({"in": cv.matlab_images_to_internal(X)}, training=True)
    ex.backward({ex.output_refs()[0]: W}, input_grads=True)
    dx = ex.input_grads[("in", "out")]
    d = np.random.default_rng(4).standard_normal(dx.shape)
    eps = 1e-6

    def f(xi):
        return float((ex.forward({"in": xi}, training=True)[ex.output_refs()[0]] * W).sum())

    xi = cv.matlab_images_to_internal(X)
    numeric = (f(xi + eps * d) - f(xi - eps * d)) / (2 * eps)
    assert numeric == pytest.approx(float((dx * d).sum()), rel=1e-5)


def torch_of(net, X, training):
    """The seed-style CNN computed by PyTorch from the same (MATLAB-layout) weights."""
    L = {layer.Name: layer for layer in net.Layers}
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)  # noqa: E731
    params = {}
    for name in ("c1", "c2"):
        params[name + "W"] = t(cv.conv_weights_to_internal(L[name].Weights))
        params[name + "b"] = t(L[name].Bias.ravel())
    for name in ("bn1", "bn2"):
        params[name + "s"] = t(L[name].Scale.ravel())
        params[name + "o"] = t(L[name].Offset.ravel())
    params["fcW"] = t(L["fc"].Weights)
    params["fcb"] = t(L["fc"].Bias.ravel())
    x = torch.tensor(cv.matlab_images_to_internal(X).astype(np.float64))

    def bn(h, name):
        layer = L[name]
        return F.batch_norm(h, torch.tensor(layer.TrainedMean.ravel().astype(np.float64)),
                            torch.tensor(layer.TrainedVariance.ravel().astype(np.float64)),
                            params[name + "s"], params[name + "o"], training, 0.0, layer.Epsilon)

    h = F.relu(bn(F.conv2d(x, params["c1W"], params["c1b"], padding=1), "bn1"))
    h = F.max_pool2d(h, 2, 2)
    h = F.leaky_relu(bn(F.conv2d(h, params["c2W"], params["c2b"], padding=1, stride=2), "bn2"), 0.1)
    flat = h.permute(0, 1, 3, 2).reshape(h.shape[0], -1)  # MATLAB's column-major flatten
    y = F.softmax(flat @ params["fcW"].T + params["fcb"], dim=1)
    return y, params


def seed_net():
    return dlnetwork([
        imageInputLayer([8, 8, 3], "Normalization", "none", "Name", "in"),
        convolution2dLayer(3, 4, "Padding", 1, "Name", "c1"), batchNormalizationLayer("Name", "bn1"), reluLayer,
        maxPooling2dLayer(2, "Stride", 2), convolution2dLayer(3, 5, "Padding", 1, "Stride", 2, "Name", "c2"),
        batchNormalizationLayer("Name", "bn2"), leakyReluLayer(0.1), fullyConnectedLayer(3, "Name", "fc"),
        softmaxLayer])


@pytest.mark.parametrize("training", [False, True])
def test_whole_network_matches_torch(training):
    rng(5)
    net = seed_net()
    g = np.random.default_rng(6)
    # non-trivial trained statistics and affine parameters
    from layergraph import replaceLayer
    lg = net.layer_graph
    for name in ("bn1", "bn2"):
        layer = lg.layer(name).model_copy()
        c = layer.NumChannels
        layer.TrainedMean = g.standard_normal((1, 1, c))
        layer.TrainedVariance = g.uniform(0.5, 2, (1, 1, c))
        layer.Scale = g.uniform(0.5, 1.5, (1, 1, c))
        layer.Offset = g.standard_normal((1, 1, c))
        lg = replaceLayer(lg, name, layer)
    net = dlnetwork(lg)
    X = g.standard_normal((8, 8, 3, 4))
    W = g.standard_normal((4, 3))
    ex = net.executor("cpu", np.float64)
    acts = ex.forward({"in": cv.matlab_images_to_internal(X)}, training=training)
    [ref] = ex.output_refs()
    y_ref, params = torch_of(net, X, training)
    assert np.allclose(acts[ref].reshape(4, 3), y_ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    if training:
        grads = ex.backward({ref: W.reshape(4, 3, 1, 1)})
        (y_ref * torch.tensor(W)).sum().backward()
        pairs = {("c1", "Weights"): "c1W", ("c1", "Bias"): "c1b", ("c2", "Weights"): "c2W",
                 ("bn1", "Scale"): "bn1s", ("bn2", "Offset"): "bn2o", ("fc", "Weights"): "fcW",
                 ("fc", "Bias"): "fcb"}
        for (layer, p), tname in pairs.items():
            ours = grads[layer][p]
            if (layer, p) == ("fc", "Weights"):
                ours = cv.fc_weights_to_matlab(ours, (2, 2, 5))
            assert np.allclose(ours, params[tname].grad.numpy(), rtol=1e-9, atol=1e-12), (layer, p)


def test_float32_is_default_and_dropout_is_identity_in_prediction():
    net = dlnetwork([featureInputLayer(4, "Name", "in"), fullyConnectedLayer(3), dropoutLayer(0.5),
                     tanhLayer, sigmoidLayer, geluLayer, flattenLayer])
    X = np.random.default_rng(0).standard_normal((5, 4))
    y = net.predict(X)
    assert y.dtype == np.float32 and y.shape == (5, 3)
    assert np.array_equal(y, net.predict(X))
    ex = net.executor()
    a = ex.forward({"in": X.astype(np.float32)}, training=True, rng=np.random.default_rng(1))
    b = ex.forward({"in": X.astype(np.float32)}, training=True, rng=np.random.default_rng(1))
    assert np.array_equal(a[ex.output_refs()[0]], b[ex.output_refs()[0]])


def test_feature_network_matches_numpy():
    net = dlnetwork([featureInputLayer(4), fullyConnectedLayer(3), batchNormalizationLayer, reluLayer,
                     fullyConnectedLayer(2), softmaxLayer])
    L = net.Layers
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    h = X @ L[1].Weights.T + L[1].Bias.ravel()
    h = L[2].Scale.ravel() * (h - L[2].TrainedMean.ravel()) / np.sqrt(L[2].TrainedVariance.ravel() + 1e-5) \
        + L[2].Offset.ravel()
    h = np.maximum(h, 0) @ L[4].Weights.T + L[4].Bias.ravel()
    e = np.exp(h - h.max(1, keepdims=True))
    assert np.allclose(net.predict(X), e / e.sum(1, keepdims=True), atol=1e-6)


def test_concatenation_and_transposed_conv_run():
    lg = layerGraph([imageInputLayer([4, 4, 2], "Normalization", "none", "Name", "in"),
                     transposedConv2dLayer(2, 3, "Stride", 2, "Name", "tc"),
                     maxPooling2dLayer(2, "Stride", 2, "Name", "mp"),
                     concatenationLayer(2, 2, "Name", "cat"), globalAveragePooling2dLayer("Name", "gap")])
    lg = addLayers_conv(lg)
    net = dlnetwork(lg)
    X = np.random.default_rng(0).standard_normal((4, 4, 2, 2))
    mp = net.activations(X, "mp")
    c1 = net.activations(X, "c1")
    cat = net.activations(X, "cat")
    assert cat.shape == (4, 8, 3, 2)
    assert np.allclose(cat[:, :4], mp) and np.allclose(cat[:, 4:], c1)


def addLayers_conv(lg):
    from layergraph import addLayers
    lg = addLayers(lg, convolution2dLayer(1, 3, "Name", "c1"))
    lg = connectLayers(lg, "in", "c1")
    return connectLayers(lg, "c1", "cat/in2")


def test_prediction_fusion_gives_the_unfused_numbers():
    """conv -> BN -> ReLU -> maxpool runs as one fused pass in prediction; asking for an
    inner activation turns the fusion off, and both give the same numbers."""
    rng(3)
    lg = layerGraph([imageInputLayer([9, 9, 3], "Normalization", "none", "Name", "in"),
                     convolution2dLayer(3, 5, "Padding", 1, "Name", "c"), batchNormalizationLayer("Name", "bn"),
                     reluLayer("Name", "r"), maxPooling2dLayer(3, "Stride", 2, "Padding", 1, "Name", "mp"),
                     fullyConnectedLayer(4, "Name", "fc")])
    g = np.random.default_rng(4)
    bn = lg.layer("bn").model_copy()
    bn.TrainedMean, bn.TrainedVariance = g.standard_normal(5), g.uniform(0.5, 2, 5)
    bn.Scale, bn.Offset = g.uniform(0.5, 1.5, 5), g.standard_normal(5)
    from layergraph import replaceLayer
    net = dlnetwork(replaceLayer(lg, "bn", bn))
    ex = net.executor("cpu", np.float64)
    assert set(ex._chains) == {"c"}
    x = cv.matlab_images_to_internal(g.standard_normal((9, 9, 3, 6)))
    fused = ex.forward({"in": x})[("fc", "out")]
    unfused = ex.forward({"in": x}, keep={("c", "out")})
    assert ("c", "out") in unfused
    assert np.allclose(fused, unfused[("fc", "out")], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch", [3, 40])   # 40 x 96 x 1200: the fully connected products split by columns
def test_prediction_fuses_fc_and_relu(batch):
    """fc -> relu runs as one fully connected pass with the bias and ReLU in its epilogue; keeping
    the fc output turns it off; both agree with torch (float64)."""
    rng(5)
    lg = layerGraph([featureInputLayer(1200, "Normalization", "none", "Name", "in"),
                     fullyConnectedLayer(96, "Name", "fc1"), reluLayer("Name", "r1"),
                     fullyConnectedLayer(7, "Name", "fc2"), reluLayer("Name", "r2"),
                     fullyConnectedLayer(3, "Name", "fc3")])
    net = dlnetwork(lg)
    ex = net.executor("cpu", np.float64)
    assert set(ex._chains) == {"fc1", "fc2"}
    x = np.random.default_rng(6).standard_normal((batch, 1200))
    fused = ex.forward({"in": x})[("fc3", "out")]
    unfused = ex.forward({"in": x}, keep={("fc1", "out"), ("fc2", "out")})
    assert ("fc1", "out") in unfused and (unfused[("fc1", "out")] < 0).any()
    np.testing.assert_allclose(fused, unfused[("fc3", "out")], rtol=1e-12, atol=1e-12)
    t = torch.tensor(x)
    for name in ("fc1", "fc2", "fc3"):
        P = ex.params[name]
        t = F.linear(t, torch.tensor(P["Weights"]), torch.tensor(P["Bias"]))
        t = torch.relu(t) if name != "fc3" else t
    np.testing.assert_allclose(fused, t.numpy(), rtol=1e-11, atol=1e-11)
