"""Custom layers with State properties (MATLAB's properties (State)): predict and forward return
the outputs followed by the updated state values; forward(net, X) gives them in the State
table, net.State = state stores them, predict then uses them, dlgradient differentiates through
forward with the state held as data (float64 finite differences), trainnet keeps the state each
step returns, and bad layers fail with clear messages."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, dlarray, dlfeval, dlgradient, dlnetwork, extractdata, featureInputLayer,
                               fullyConnectedLayer, mean, mse, nnet, rng, sum, trainingOptions, trainnet)

R = np.random.default_rng(3)
C, N = 3, 6


class runningCenter(nnet.layer.Layer):   # noqa: N801 -- a MATLAB class name
    """Centers its C x N input: on the batch's mean while training (and keeps a moving mean),
    on the moving mean in prediction."""
    Learnable = ("Scale",)
    State = ("RunningMean",)

    def __init__(self, channels, name):
        self.Name = name
        self.Scale = np.linspace(0.5, 1.5, channels).reshape(channels, 1)
        self.RunningMean = np.zeros((channels, 1))

    def predict(self, X):
        return (X - self.RunningMean) * self.Scale, self.RunningMean

    def forward(self, X):
        mu = mean(X, 2)
        return (X - mu) * self.Scale, 0.9 * self.RunningMean + 0.1 * mu


def net_of(dtype=np.float32):
    net = dlnetwork(LayerArray([featureInputLayer(C, "Normalization", "none", "Name", "in"),
                                runningCenter(C, "center"), fullyConnectedLayer(2, "Name", "fc")]))
    return net._with_arrays({(r.Layer, r.Parameter): np.asarray(r.Value, dtype) for r in net.Learnables})


def test_state_table_forward_and_predict():
    net = net_of()
    assert [(r.Layer, r.Parameter) for r in net.State] == [("center", "RunningMean")]
    x = R.standard_normal((C, N)).astype(np.float32)
    _, state = net.forward(dlarray(x, "CB"))
    want = 0.1 * x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(list(state)[0].Value), want, rtol=1e-5, atol=1e-7)
    net.State = state
    np.testing.assert_allclose(np.asarray(net.Layers[1].RunningMean), want, rtol=1e-5, atol=1e-7)
    # predict centers on the stored moving mean
    W, b = np.asarray(net.Layers[2].Weights), np.asarray(net.Layers[2].Bias)
    scale = np.asarray(net.Layers[1].Scale)
    y = extractdata(net.predict(dlarray(x, "CB")))
    np.testing.assert_allclose(y, W @ ((x - want) * scale) + b, rtol=1e-5, atol=1e-6)
    # a second forward starts from it
    _, state2 = net.forward(dlarray(x, "CB"))
    np.testing.assert_allclose(np.asarray(list(state2)[0].Value), 0.9 * want + 0.1 * x.mean(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


def test_gradients_through_forward_finite_differences():
    net = net_of(np.float64)
    net.State = net.forward(dlarray(R.standard_normal((C, N)), "CB"))[1]   # a moving mean that is not zero
    X = dlarray(R.standard_normal((C, N)), "CB")
    T = dlarray(R.standard_normal((2, N)), "CB")

    def loss_of(net, X):
        Y, _ = net.forward(X)
        return mse(Y, T)

    def model(net, X):
        loss = loss_of(net, X)
        return (loss, *dlgradient(loss, net.Learnables, X))
    _, gl, gx = dlfeval(model, net, X)

    def value(net, X):
        return float(extractdata(loss_of(net, X)).reshape(-1)[0])
    h = 1e-6
    for row, grow in zip(net.Learnables, gl):
        w = np.asarray(row.Value, np.float64)
        g = extractdata(grow.Value)
        for j in range(w.size):
            idx = np.unravel_index(j, w.shape)
            vals = []
            for s in (h, -h):
                w2 = w.copy()
                w2[idx] += s
                vals.append(value(net._with_arrays({(row.Layer, row.Parameter): w2}), X))
            num = (vals[0] - vals[1]) / (2 * h)
            assert abs(g[idx] - num) <= 1e-7 + 1e-5 * abs(num), (row.Layer, row.Parameter, g[idx], num)
    x = extractdata(X)
    gxd = extractdata(gx)
    for j in range(x.size):
        idx = np.unravel_index(j, x.shape)
        vals = []
        for s in (h, -h):
            x2 = x.copy()
            x2[idx] += s
            vals.append(value(net, dlarray(x2, "CB")))
        num = (vals[0] - vals[1]) / (2 * h)
        assert abs(gxd[idx] - num) <= 1e-7 + 1e-5 * abs(num), (idx, gxd[idx], num)
    # the batch mean's dependence on X is in the gradient: centering makes the sum over B of dX
    # through the centered path vanish only with it; check against the closed form
    W = np.asarray(net.Layers[2].Weights)
    scale = np.asarray(net.Layers[1].Scale)
    Y = W @ ((x - x.mean(axis=1, keepdims=True)) * scale) + np.asarray(net.Layers[2].Bias)
    dY = (Y - extractdata(T)) / N
    dZ = W.T @ dY * scale
    np.testing.assert_allclose(gxd, dZ - dZ.mean(axis=1, keepdims=True), rtol=1e-9, atol=1e-12)


def test_trainnet_keeps_the_state_each_step_returns():
    x = R.standard_normal((8, C)).astype(np.float32)   # N x C, trainnet's feature layout
    y = R.standard_normal((8, 2)).astype(np.float32)
    layers = [featureInputLayer(C, "Normalization", "none"), runningCenter(C, "center"), fullyConnectedLayer(2)]
    rng(0)
    opts = trainingOptions("sgdm", InitialLearnRate=0.01, MaxEpochs=2, MiniBatchSize=4, Shuffle="never",
                           Verbose=False)
    net, _ = trainnet(x, y, layers, "mse", opts)
    m1, m2 = x[:4].mean(axis=0)[:, None], x[4:].mean(axis=0)[:, None]
    want = np.zeros((C, 1))
    for m in (m1, m2, m1, m2):   # two epochs of two mini-batches; the layer sees the data itself
        want = 0.9 * want + 0.1 * m
    np.testing.assert_allclose(np.asarray(net.Layers[1].RunningMean), want, rtol=1e-5, atol=1e-7)


def test_bad_state_layers():
    class noState(runningCenter):   # noqa: N801
        def predict(self, X):
            return (X - self.RunningMean) * self.Scale   # the updated state is missing
    with pytest.raises(LayerGraphError, match=r"predict returned 1 outputs; the layer has 1 \(NumOutputs\) followed "
                                              r"by the 1 updated state values \(RunningMean\)"):
        dlnetwork(LayerArray([featureInputLayer(C), noState(C, "c")]))

    class empty(runningCenter):   # noqa: N801
        def __init__(self, channels, name):
            super().__init__(channels, name)
            self.RunningMean = None
    with pytest.raises(LayerGraphError, match="State parameter 'RunningMean' is empty"):
        dlnetwork(LayerArray([featureInputLayer(C), empty(C, "c")]))

    class wrongSize(runningCenter):   # noqa: N801
        def forward(self, X):
            return (X - mean(X, 2)) * self.Scale, sum(X, "all")
    net = dlnetwork(LayerArray([featureInputLayer(C), wrongSize(C, "c")]))
    with pytest.raises(LayerGraphError, match=r"updated value of state parameter 'RunningMean' has size 1×1; the "
                                              r"state has size 3×1"):
        net.forward(dlarray(R.standard_normal((C, N)), "CB"))
    with pytest.raises(LayerGraphError, match="cannot be both Learnable and State"):
        type("both", (nnet.layer.Layer,), {"Learnable": ("A",), "State": ("A",)})


def test_check_layer_and_display():
    import contextlib
    import io

    from layergraph.matlab import checkLayer
    with contextlib.redirect_stdout(io.StringIO()) as out:
        results = checkLayer(runningCenter(C, "c"), [C], ObservationDimension=2)
    assert results.Failed == 0 and results.Passed == 19, out.getvalue()
    text = str(runningCenter(C, "c"))
    assert "   State Parameters\n    RunningMean: [3x1 double]" in text
