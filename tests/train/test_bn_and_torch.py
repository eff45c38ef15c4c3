"""Training through convolution and batch normalization: against PyTorch (SGD with
momentum equals MATLAB's SGDM for a constant rate: torch's v = mu v + g, w -= lr v is
MATLAB's v = mu v - lr g, w += v with v scaled by -lr; torch's weight_decay is MATLAB's
L2Regularization given per parameter group), and both batch-normalization statistics
modes against their definitions."""
import numpy as np
import pytest
import torch

from layergraph import (batchNormalizationLayer, convolution2dLayer, dlnetwork, dropoutLayer, fullyConnectedLayer,
                        imageInputLayer, maxPooling2dLayer, reluLayer, softmaxLayer)
from layergraph.core import conventions as cv
from layergraph.train import SGDM, Adam, CrossEntropy, RMSProp, TrainConfig, train

H, W, CIN, F, K, N = 8, 8, 2, 4, 3, 32


def _weights(seed=0):
    g = np.random.default_rng(seed)
    return dict(conv_w=g.normal(size=(F, CIN, 3, 3)) * 0.3, conv_b=g.normal(size=F) * 0.1,
                scale=1 + 0.1 * g.normal(size=F), offset=0.1 * g.normal(size=F),
                fc_w=g.normal(size=(K, F * (H // 2) * (W // 2))) * 0.2, fc_b=g.normal(size=K) * 0.1)


def _ours(p, extra=()):
    fc_in = (H // 2, W // 2, F)
    layers = [imageInputLayer([H, W, CIN], Normalization="none", Name="in"),
              convolution2dLayer(3, F, Padding=1, Name="conv", Weights=cv.conv_weights_to_matlab(p["conv_w"]),
                                 Bias=p["conv_b"].reshape(1, 1, F)),
              batchNormalizationLayer(Name="bn", Scale=p["scale"].reshape(1, 1, F),
                                      Offset=p["offset"].reshape(1, 1, F)),
              reluLayer(Name="relu"), *extra, maxPooling2dLayer(2, Stride=2, Name="pool"),
              fullyConnectedLayer(K, Name="fc", Weights=cv.fc_weights_to_matlab(p["fc_w"], fc_in),
                                  Bias=p["fc_b"].reshape(K, 1)),
              softmaxLayer(Name="sm")]
    return dlnetwork(layers)


def _data(seed=1):
    g = np.random.default_rng(seed)
    x = g.normal(size=(N, CIN, H, W))
    t = np.eye(K)[g.integers(0, K, N)]
    return x, t


# RMSProp is the same update in both; Adam differs only in where epsilon enters
# (MATLAB: m / (sqrt(v) + eps) after folding the bias correction into the rate; torch:
# m_hat / (sqrt(v_hat) + eps)), so with a negligible epsilon they agree.
SOLVERS = {
    "sgdm": (SGDM(0.9), lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9), 0.05, 1e-9),
    "rmsprop": (RMSProp(0.9, 1e-8), lambda params, lr: torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-8),
                0.002, 1e-9),
    "adam": (Adam(0.9, 0.999, 1e-14), lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999),
                                                                        eps=1e-14), 0.002, 1e-6),
}


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_training_matches_pytorch(solver):
    ours, make_opt, lr, rtol = SOLVERS[solver]
    p = _weights()
    x, t = _data()
    l2, epochs, bs = 1e-3, 2, 8
    res = train(_ours(p), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                TrainConfig(solver=ours, learn_rate=lr, l2=l2, max_epochs=epochs, minibatch_size=bs,
                            shuffle="never", bn_statistics="moving", dtype=np.float64, seed=0))

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(CIN, F, 3, padding=1).double()
    bn = torch.nn.BatchNorm2d(F, eps=1e-5, momentum=0.1).double()
    fc = torch.nn.Linear(F * (H // 2) * (W // 2), K).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(p["conv_w"]))
        conv.bias.copy_(torch.from_numpy(p["conv_b"]))
        bn.weight.copy_(torch.from_numpy(p["scale"]))
        bn.bias.copy_(torch.from_numpy(p["offset"]))
        fc.weight.copy_(torch.from_numpy(p["fc_w"]))
        fc.bias.copy_(torch.from_numpy(p["fc_b"]))
    model = torch.nn.Sequential(conv, bn, torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2), torch.nn.Flatten(), fc)
    # MATLAB's L2 factors: weights, BN scale and offset 1; conv and fc biases 0
    opt = make_opt([{"params": [conv.weight, bn.weight, bn.bias, fc.weight], "weight_decay": l2},
                    {"params": [conv.bias, fc.bias], "weight_decay": 0.0}], lr)
    model.train()
    losses = []
    for _ in range(epochs):
        for i in range(N // bs):
            xb = torch.from_numpy(x[i * bs:(i + 1) * bs])
            tb = torch.from_numpy(t[i * bs:(i + 1) * bs])
            opt.zero_grad()
            loss = -(tb * torch.log_softmax(model(xb), dim=1)).sum() / bs
            loss.backward()
            opt.step()
            losses.append(loss.item())

    np.testing.assert_allclose([r["TrainingLoss"] for r in res.history], losses, rtol=rtol)
    g = res.net.layer_graph
    tol = dict(rtol=rtol * 10, atol=1e-10)
    np.testing.assert_allclose(cv.conv_weights_to_internal(g.layer("conv").Weights), conv.weight.detach().numpy(),
                               **tol)
    np.testing.assert_allclose(g.layer("bn").Scale.ravel(), bn.weight.detach().numpy(), **tol)
    np.testing.assert_allclose(g.layer("bn").Offset.ravel(), bn.bias.detach().numpy(), **tol)
    np.testing.assert_allclose(cv.fc_weights_to_internal(g.layer("fc").Weights, (H // 2, W // 2, F)),
                               fc.weight.detach().numpy(), **tol)
    # running mean: torch momentum 0.1 is MATLAB's MeanDecay 0.1 (the variance differs:
    # torch's running variance uses the unbiased batch variance, MATLAB's the biased one).
    # Not for Adam: the conv bias before BN has a zero gradient up to rounding, which Adam
    # normalizes into full-size steps of rounding-dependent sign; the bias does not change
    # the output (BN removes it) but it does enter the running mean.
    if solver != "adam":
        np.testing.assert_allclose(g.layer("bn").TrainedMean.ravel(), bn.running_mean.numpy(), **tol)


def _conv_out(net, x):
    ex = net.executor("cpu", np.float64)
    return ex.forward({"in": x}, keep={("conv", "out")})[("conv", "out")]


def test_moving_statistics_follow_mean_and_variance_decay():
    p = _weights()
    x, t = _data()
    net = _ours(p)
    layer = net.layer_graph.layer("bn")
    layer.MeanDecay, layer.VarianceDecay = 0.3, 0.2
    net = dlnetwork(net.layer_graph)
    cfg = TrainConfig(solver=SGDM(0.9), learn_rate=0.0, l2=0.0, max_epochs=1, minibatch_size=8, shuffle="never",
                      bn_statistics="moving", dtype=np.float64)
    res = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, cfg)
    # learn rate 0: the conv weights never change, so every batch's statistics are known
    z = _conv_out(net, x)
    mean, var = np.zeros(F), np.ones(F)
    for i in range(N // 8):
        zb = z[i * 8:(i + 1) * 8]
        mean = 0.3 * zb.mean(axis=(0, 2, 3)) + 0.7 * mean
        var = 0.2 * zb.var(axis=(0, 2, 3)) + 0.8 * var
    bn = res.net.layer_graph.layer("bn")
    np.testing.assert_allclose(bn.TrainedMean.ravel(), mean, rtol=1e-10)
    np.testing.assert_allclose(bn.TrainedVariance.ravel(), var, rtol=1e-10)


def test_population_statistics_are_the_whole_training_sets():
    p = _weights()
    x, t = _data()
    x = np.concatenate([x, x[:5] * 2 + 1])  # 37 observations: the last pass batch is incomplete
    t = np.concatenate([t, t[:5]])
    res = train(_ours(p, extra=(dropoutLayer(0.5, Name="drop"),)), {"in": x}, {("sm", "out"): t},
                {("sm", "out"): CrossEntropy()},
                TrainConfig(solver=SGDM(0.9), learn_rate=0.05, l2=0.0, max_epochs=2, minibatch_size=8,
                            dtype=np.float64, bn_statistics="population", seed=3))
    z = _conv_out(res.net, x)
    bn = res.net.layer_graph.layer("bn")
    np.testing.assert_allclose(bn.TrainedMean.ravel(), z.mean(axis=(0, 2, 3)), rtol=1e-9)
    np.testing.assert_allclose(bn.TrainedVariance.ravel(), z.var(axis=(0, 2, 3)), rtol=1e-9)


def test_frozen_state_keeps_the_moving_statistics():
    p = _weights()
    x, t = _data()
    net = _ours(p)
    before = net.layer_graph.layer("bn").TrainedMean.copy()
    res = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                TrainConfig(max_epochs=1, minibatch_size=8, bn_statistics="moving", frozen_state=frozenset({"bn"}),
                            dtype=np.float64))
    np.testing.assert_array_equal(res.net.layer_graph.layer("bn").TrainedMean, before)
    assert not np.array_equal(res.net.layer_graph.layer("conv").Weights, net.layer_graph.layer("conv").Weights)


@pytest.mark.parametrize("seed", [0, 1])
def test_dropout_training_is_reproducible(seed):
    p = _weights()
    x, t = _data()
    cfg = TrainConfig(max_epochs=1, minibatch_size=8, dtype=np.float64, seed=seed)
    a = train(_ours(p, extra=(dropoutLayer(0.5, Name="drop"),)), {"in": x}, {("sm", "out"): t},
              {("sm", "out"): CrossEntropy()}, cfg)
    b = train(_ours(p, extra=(dropoutLayer(0.5, Name="drop"),)), {"in": x}, {("sm", "out"): t},
              {("sm", "out"): CrossEntropy()}, cfg)
    np.testing.assert_array_equal(a.net.layer_graph.layer("fc").Weights, b.net.layer_graph.layer("fc").Weights)
