"""A learnable that several layers share (core/shared.py) is one variable on dlfeval's tape: each
member's gradient is the gradient of the one array (the sum of the members' own), which finite
differences confirm, and the solver functions keep the members one value."""
import numpy as np

from layergraph.core.shared import share_learnables
from layergraph.matlab import (dlarray, dlfeval, dlgradient, extractdata, featureInputLayer, fullyConnectedLayer,
                               sgdmupdate, tanhLayer)
from layergraph.matlab import sum as msum
from layergraph.matlab.layer_graph import LayerGraph
from layergraph.matlab.network import DLNetwork

C = 3
G = np.random.default_rng(11)


def tied(w):
    lg = LayerGraph([featureInputLayer(C, Name="in"), fullyConnectedLayer(C, Name="a", Weights=w),
                     tanhLayer(Name="t"), fullyConnectedLayer(C, Name="b", Weights=w.copy())])
    return DLNetwork.build(share_learnables(lg, "w", [("a", "Weights"), ("b", "Weights")]))


def loss_fn(net, X, R):
    return msum(net.forward(X)[0] * R, "all")


def test_shared_weights_are_one_variable():
    w = G.normal(size=(C, C)) * 0.6
    net = tied(w)
    X = dlarray(G.normal(size=(C, 5)), "CB")
    R = G.normal(size=(C, 5))

    def model(net, X):
        loss = loss_fn(net, X, R)
        return loss, dlgradient(loss, net.Learnables)
    _, g = dlfeval(model, net, X)
    rows = {(r.Layer, r.Parameter): extractdata(r.Value) for r in g}
    np.testing.assert_array_equal(rows["a", "Weights"], rows["b", "Weights"])
    # finite differences of the loss as a function of the one array (both members moved together)
    h = 1e-6
    for j in range(w.size):
        idx = np.unravel_index(j, w.shape)
        vals = []
        for s in (h, -h):
            w2 = w.copy()
            w2[idx] += s
            vals.append(float(loss_fn(tied(w2), X, R)))
        num = (vals[0] - vals[1]) / (2 * h)
        assert abs(rows["a", "Weights"][idx] - num) <= 1e-6 + 1e-5 * abs(num), (idx, rows["a", "Weights"][idx], num)
    # the sum of the members' own gradients (the same layers, not sharing)
    untied = DLNetwork.build(LayerGraph([featureInputLayer(C, Name="in"), fullyConnectedLayer(C, Name="a", Weights=w),
                                         tanhLayer(Name="t"), fullyConnectedLayer(C, Name="b", Weights=w.copy())]))
    _, gu = dlfeval(model, untied, X)
    own = {(r.Layer, r.Parameter): extractdata(r.Value) for r in gu}
    np.testing.assert_allclose(rows["a", "Weights"], own["a", "Weights"] + own["b", "Weights"], rtol=1e-5)

    # two sgdmupdate steps keep the members one value (the network stays buildable: one array)
    vel = []
    for _ in range(2):
        _, g = dlfeval(model, net, X)
        net, vel = sgdmupdate(net, g, vel, 0.1, 0.9)
    a, b = (net.layer_graph.layer(n).Weights for n in "ab")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, w.astype(np.float32))
