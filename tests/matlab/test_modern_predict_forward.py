"""predict(net, X) and forward(net, X) inside dlfeval for a dlnetwork with batch normalization
and dropout: predict differentiates prediction (the trained statistics held fixed, no dropout),
forward training (batch statistics, dropout, the State output). Both against float64 finite
differences and torch (model.eval() / model.train())."""
import numpy as np
import torch
import torch.nn.functional as F

from layergraph.core.initializers import rng
from layergraph.matlab.table import Table
from layergraph.matlab import (LayerArray, batchNormalizationLayer, convolution2dLayer, crossentropy,
                               dlarray, dlfeval, dlgradient, dlnetwork, dropoutLayer, extractdata,
                               fullyConnectedLayer, imageInputLayer, reluLayer, softmaxLayer)

R = np.random.default_rng(7)
LABELS = [0, 2, 1, 1, 0]
T = np.eye(3)[LABELS].T


def bn_net(dropout=0.3):
    layers = [imageInputLayer([5, 5, 2], "Normalization", "none", "Name", "in"),
              convolution2dLayer(3, 3, "Padding", "same", "Name", "conv"),
              batchNormalizationLayer("Name", "bn"), reluLayer("Name", "relu")]
    if dropout:
        layers.append(dropoutLayer(dropout, "Name", "drop"))
    layers += [fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")]
    net = dlnetwork(LayerArray(layers))
    # trained statistics that are not the initial zeros and ones
    net.State = Table(("Layer", "Parameter", "Value"), [
        ("bn", "TrainedMean", R.standard_normal((1, 1, 3)).astype(np.float32)),
        ("bn", "TrainedVariance", (R.random((1, 1, 3)) + 0.5).astype(np.float32))])
    return net


def loss_of(call):
    def loss(net, X):
        out = call(net, X)
        return crossentropy(out[0] if isinstance(out, tuple) else out, T)
    return loss


def predict_loss(net, X):
    return loss_of(lambda n, x: n.predict(x))(net, X)


def forward_loss(net, X):
    return loss_of(lambda n, x: n.forward(x))(net, X)


def grads(loss, net, X, seed=None):
    def model(net, X):
        if seed is not None:
            rng(seed)
        value = loss(net, X)
        gl, gx = dlgradient(value, net.Learnables, X)
        return value, gl, gx
    return dlfeval(model, net, X)


def value(loss, net, X, seed=None):
    if seed is not None:
        rng(seed)
    return float(extractdata(loss(net, X)).reshape(-1)[0])


def fd_check(loss, net, X, seed=None, h=1e-6):
    _, gl, gx = grads(loss, net, X, seed)
    for row, grow in zip(net.Learnables, gl):
        w = np.asarray(row.Value, np.float64)
        g = extractdata(grow.Value)
        assert g.shape == w.shape
        for j in R.choice(w.size, size=min(4, w.size), replace=False):
            idx = np.unravel_index(j, w.shape)
            vals = []
            for s in (h, -h):
                w2 = w.copy()
                w2[idx] += s
                vals.append(value(loss, net._with_arrays({(row.Layer, row.Parameter): w2}), X, seed))
            num = (vals[0] - vals[1]) / (2 * h)
            assert abs(g[idx] - num) <= 2e-6 + 1e-4 * abs(num), (row.Layer, row.Parameter, g[idx], num)
    data = extractdata(X)
    gxd = extractdata(gx)
    for j in R.choice(data.size, size=10, replace=False):
        idx = np.unravel_index(j, data.shape)
        vals = []
        for s in (h, -h):
            d2 = data.copy()
            d2[idx] += s
            vals.append(value(loss, net, dlarray(d2, "SSCB"), seed))
        num = (vals[0] - vals[1]) / (2 * h)
        assert abs(gxd[idx] - num) <= 1e-7 + 1e-5 * abs(num), (idx, gxd[idx], num)


def x64():
    return dlarray(R.standard_normal((5, 5, 2, 5)), "SSCB")


def torch_twin(net, x, training):
    """The network in torch (float64) with the same weights and statistics: (loss, W, x, bn stats)."""
    W = {(r.Layer, r.Parameter): torch.tensor(np.asarray(r.Value, np.float64), requires_grad=True)
         for r in net.Learnables}
    S = {r.Parameter: torch.tensor(np.asarray(r.Value, np.float64).reshape(-1)) for r in net.State}
    xt = torch.tensor(np.asarray(extractdata(x)), requires_grad=True)
    z = F.conv2d(xt.permute(3, 2, 0, 1), W["conv", "Weights"].permute(3, 2, 0, 1), W["conv", "Bias"].reshape(-1),
                 padding=1)
    z = F.batch_norm(z, S["TrainedMean"], S["TrainedVariance"], W["bn", "Scale"].reshape(-1),
                     W["bn", "Offset"].reshape(-1), training=training, momentum=0.1, eps=1e-5)
    z = F.relu(z)   # dropout: eval() in prediction; the training twin has none
    flat = z.permute(0, 1, 3, 2).reshape(z.shape[0], -1)       # MATLAB's column-major flatten of H x W x C
    logits = flat @ W["fc", "Weights"].T + W["fc", "Bias"].reshape(-1)
    loss = F.cross_entropy(logits, torch.tensor(LABELS))
    loss.backward()
    return loss, W, xt, S


def test_predict_in_dlfeval_uses_trained_statistics_and_no_dropout():
    net = bn_net()
    X = x64()
    loss, gl, gx = grads(predict_loss, net, X)
    # the traced predict computes what predict outside dlfeval computes
    assert abs(float(loss) - value(predict_loss, net, X)) < 1e-12
    np.testing.assert_allclose(extractdata(dlfeval(lambda n, x: n.predict(x), net, X)),
                               extractdata(net.predict(X)), rtol=1e-12)
    ref, W, xt, _ = torch_twin(net, X, training=False)
    np.testing.assert_allclose(float(loss), float(ref.detach()), rtol=1e-10)
    np.testing.assert_allclose(extractdata(gx), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    for row in gl:
        np.testing.assert_allclose(extractdata(row.Value), W[row.Layer, row.Parameter].grad.numpy(), rtol=1e-5,
                                   atol=1e-7)
    assert [r.Parameter for r in gl if r.Layer == "bn"] == ["Offset", "Scale"]


def test_predict_in_dlfeval_matches_finite_differences():
    fd_check(predict_loss, bn_net(), x64())


def test_forward_in_dlfeval_with_dropout_matches_finite_differences():
    """Training mode: batch statistics and a dropout mask (the same mask in every evaluation: the
    generator is seeded before each)."""
    net = bn_net()
    X = x64()
    fd_check(forward_loss, net, X, seed=3)
    # dropout is on: another mask gives another loss; predict has none
    assert abs(value(forward_loss, net, X, seed=3) - value(forward_loss, net, X, seed=4)) > 1e-6


def test_forward_in_dlfeval_matches_torch_train_mode_and_state():
    net = bn_net(dropout=0)
    X = x64()

    def model(net, X):
        Y, state = net.forward(X)
        loss = crossentropy(Y, T)
        gl, gx = dlgradient(loss, net.Learnables, X)
        return loss, gl, gx, state
    loss, gl, gx, state = dlfeval(model, net, X)
    ref, W, xt, S = torch_twin(net, X, training=True)
    np.testing.assert_allclose(float(loss), float(ref.detach()), rtol=1e-10)
    np.testing.assert_allclose(extractdata(gx), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    for row in gl:
        np.testing.assert_allclose(extractdata(row.Value), W[row.Layer, row.Parameter].grad.numpy(), rtol=1e-5,
                                   atol=1e-7)
    # the State output: the moving statistics updated with the batch's (decay 0.1); torch's running mean is
    # the same rule, its running variance uses the unbiased batch variance, so the variance is checked by hand
    new = {r.Parameter: np.asarray(r.Value, np.float64).reshape(-1) for r in state}
    np.testing.assert_allclose(new["TrainedMean"], S["TrainedMean"].numpy(), rtol=1e-5)
    conv = net.Layers[1]
    z = F.conv2d(torch.tensor(np.asarray(extractdata(X))).permute(3, 2, 0, 1),
                 torch.tensor(np.asarray(conv.Weights, np.float64)).permute(3, 2, 0, 1),
                 torch.tensor(np.asarray(conv.Bias, np.float64)).reshape(-1), padding=1).numpy()
    old = np.asarray(net.State.Value[1], np.float64).reshape(-1)
    np.testing.assert_allclose(new["TrainedVariance"], 0.9 * old + 0.1 * z.var(axis=(0, 2, 3)), rtol=1e-5)
    # net.State = state stores them; predict then uses them
    net.State = state
    np.testing.assert_allclose(np.asarray(net.State.Value[0], np.float64).reshape(-1), new["TrainedMean"])


def test_custom_layer_runs_predict_in_traced_predict_and_forward_in_forward():
    from layergraph.matlab import featureInputLayer, nnet
    from layergraph.matlab import sum as msum

    class scaleLayer(nnet.layer.Layer):
        """predict cubes (times 1), forward cubes times 2: the gradients tell which ran."""
        def __init__(self):
            self.Name = "scale"

        def predict(self, X):
            return X * X * X

        def forward(self, X):
            return 2 * X * X * X

    net = dlnetwork(LayerArray([featureInputLayer(3, "Normalization", "none", "Name", "in"), scaleLayer()]))
    x = R.standard_normal((3, 4))
    X = dlarray(x, "CB")

    def grad_of(call):
        def model(X):
            y = call(net, X)
            y = y[0] if isinstance(y, tuple) else y
            return dlgradient(msum(y, "all"), X)
        return extractdata(dlfeval(model, X))
    np.testing.assert_allclose(grad_of(lambda n, v: n.predict(v)), 3 * x * x, rtol=1e-12)
    np.testing.assert_allclose(grad_of(lambda n, v: n.forward(v)), 6 * x * x, rtol=1e-12)
