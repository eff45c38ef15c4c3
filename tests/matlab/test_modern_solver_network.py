"""The solver functions on a dlnetwork after the custom-loop speed work: the Learnables table the
solver fills equals what the new network's layers hold, the new network's derived executors
(Executor.with_values) compute what a network built afresh from the same layers computes, the
gradients may come in another row order, a learn-rate factor 0 leaves the learnable (and
its layer) as it is, and the old network is unchanged."""
import numpy as np

from layergraph.matlab import (LayerArray, adamupdate, batchNormalizationLayer, convolution2dLayer, crossentropy,
                               dlarray, dlfeval, dlgradient, dlnetwork, extractdata, fullyConnectedLayer,
                               imageInputLayer, reluLayer, sgdmupdate, softmaxLayer)
from layergraph.matlab.network import DLNetwork
from layergraph.matlab.table import Table

R = np.random.default_rng(5)


def net_and_data():
    net = dlnetwork(LayerArray([imageInputLayer([6, 6, 2], "Normalization", "none"),
                                convolution2dLayer(3, 4, "Padding", "same"), batchNormalizationLayer, reluLayer,
                                fullyConnectedLayer(3), softmaxLayer]))
    X = dlarray(R.standard_normal((6, 6, 2, 4)).astype(np.float32), "SSCB")
    T = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]].T
    return net, X, T


def step_grads(net, X, T):
    def model(net, X):
        Y, state = net.forward(X)
        loss = crossentropy(Y, T)
        return loss, dlgradient(loss, net.Learnables), state
    return dlfeval(model, net, X)


def fresh(net):
    return DLNetwork.build(net.layer_graph)


def test_solver_network_is_consistent_with_its_layers_and_a_fresh_build():
    net, X, T = net_and_data()
    before = [np.array(v) for v in net.Learnables.Value]
    vel, avg, sq = [], [], []
    cur = net
    for it in (1, 2, 3):
        _, g, state = step_grads(cur, X, T)
        cur.State = state
        cur, vel = sgdmupdate(cur, g, vel, 0.05, 0.9) if it < 3 else (cur, vel)
        if it == 3:
            cur, avg, sq = adamupdate(cur, g, avg, sq, 1)
        for row in cur.Learnables:
            np.testing.assert_array_equal(row.Value, getattr(cur.layer_graph.layer(row.Layer), row.Parameter))
        for row in cur.State:
            np.testing.assert_array_equal(row.Value, getattr(cur.layer_graph.layer(row.Layer), row.Parameter))
        again = fresh(cur)
        np.testing.assert_array_equal(extractdata(cur.predict(X)), extractdata(again.predict(X)))
        y1, s1 = cur.forward(X)
        y2, s2 = again.forward(X)
        np.testing.assert_array_equal(extractdata(y1), extractdata(y2))
        for a, b in zip(s1.Value, s2.Value):
            np.testing.assert_array_equal(a, b)
    # the first network is a value: unchanged
    for a, b in zip(net.Learnables.Value, before):
        np.testing.assert_array_equal(a, b)
    assert isinstance(vel, Table) and len(vel) == len(net.Learnables)


def test_gradients_in_another_order_and_a_frozen_learnable():
    net, X, T = net_and_data()
    _, g, _ = step_grads(net, X, T)
    ordered, v1 = sgdmupdate(net, g, [], 0.1, 0.9)
    rows = list(g)[::-1]
    reordered, v2 = sgdmupdate(net, Table(g.columns, rows), [], 0.1, 0.9)
    for a, b in zip(ordered.Learnables.Value, reordered.Learnables.Value):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(v1.Value, v2.Value):
        np.testing.assert_array_equal(extractdata(a), extractdata(b))
    frozen = net.setLearnRateFactor("conv", "Weights", 0)
    _, gf, _ = step_grads(frozen, X, T)
    out, _ = sgdmupdate(frozen, gf, [], 0.1, 0.9)
    np.testing.assert_array_equal(out.layer_graph.layer("conv").Weights, frozen.layer_graph.layer("conv").Weights)
    assert not np.array_equal(out.layer_graph.layer("conv").Bias, frozen.layer_graph.layer("conv").Bias)
