"""Shared (tied) learnables in the core: one value, one gradient (the sum of the members'),
one solver state and update, one L2 term, counted once by global thresholding; kept by
io save/load and by a checkpoint resume; state cannot be shared."""
import zipfile

import numpy as np
import pytest

import layergraph
from layergraph import LayerGraphError, batchNormalizationLayer, featureInputLayer, fullyConnectedLayer, tanhLayer
from layergraph.matlab.layer_graph import LayerGraph
from layergraph.matlab.network import DLNetwork
from layergraph.core.shared import share_learnables, shared_learnables, sum_gradients
from layergraph.train import SGDM, Adam, MeanSquared, TrainConfig, train
from layergraph.train.checkpoint import read_checkpoint, write_checkpoint

C = 3


def _graph(w=None, act=True, **fc):
    """in -> fc a -> [tanh] -> fc b, a.Weights and b.Weights one array 'w'."""
    layers = [featureInputLayer(C, Name="in"), fullyConnectedLayer(C, Name="a", Weights=w, **fc)]
    if act:
        layers.append(tanhLayer(Name="t"))
    layers.append(fullyConnectedLayer(C, Name="b", Weights=None if w is None else w.copy(), **fc))
    return LayerGraph(layers)


def _tied(w=None, act=True, **fc):
    return share_learnables(_graph(w, act, **fc), "w", [("a", "Weights"), ("b", "Weights")])


def _data(n=8, seed=0):
    g = np.random.default_rng(seed)
    return g.normal(size=(n, C)), g.normal(size=(n, C))


def test_initialization_gives_one_value_and_the_executor_one_array():
    layergraph.rng(3)
    net = DLNetwork.build(_tied())
    a, b = (net.layer_graph.layer(n).Weights for n in "ab")
    np.testing.assert_array_equal(a, b)
    ex = net.executor(dtype=np.float64)
    assert ex.params["a"]["Weights"] is ex.params["b"]["Weights"]
    assert ex.shared == [("w", (("a", "Weights"), ("b", "Weights")))]
    # a member that already has a value gives it to the empty one
    w = np.arange(9.0).reshape(3, 3).astype(np.float32)
    g = share_learnables(LayerGraph([featureInputLayer(C, Name="in"), fullyConnectedLayer(C, Name="a"),
                                     fullyConnectedLayer(C, Name="b", Weights=w)]), "w",
                         [("a", "Weights"), ("b", "Weights")])
    net = DLNetwork.build(g)
    np.testing.assert_array_equal(net.layer_graph.layer("a").Weights, w)


def test_gradient_of_a_shared_array_is_the_sum_and_matches_finite_differences():
    g = np.random.default_rng(1)
    w = g.normal(size=(C, C)) * 0.7
    x, _ = _data()
    r = g.normal(size=(x.shape[0], C))
    tied = DLNetwork.build(_tied(w)).executor(dtype=np.float64)
    free = DLNetwork.build(_graph(w)).executor(dtype=np.float64)
    for n in "ab":   # the same nonzero biases in both nets
        tied.params[n]["Bias"][...] = g.normal(size=C) * 0.1
        free.params[n]["Bias"][...] = tied.params[n]["Bias"]

    def loss(ex):
        return float(np.sum(ex.forward({"in": x})[("b", "out")] * r))

    grads = {}
    for ex in (tied, free):
        ex.forward({"in": x}, training=True)
        grads[id(ex)] = ex.backward({("b", "out"): r})
    summed = sum_gradients(grads[id(tied)], tied.shared)
    gw = summed["a"]["Weights"]
    assert "Weights" not in summed["b"]
    # the sum of the per-layer gradients of the same net without sharing
    np.testing.assert_allclose(gw, grads[id(free)]["a"]["Weights"] + grads[id(free)]["b"]["Weights"], rtol=1e-12)
    # float64 central differences on the one array
    W = tied.params["a"]["Weights"]
    fd = np.zeros_like(W)
    h = 1e-6
    for i in np.ndindex(W.shape):
        old = W[i]
        W[i] = old + h
        up = loss(tied)
        W[i] = old - h
        down = loss(tied)
        W[i] = old
        fd[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(gw, fd, rtol=1e-6, atol=1e-8)


def _linear_reference(w, b1, b2, x, t):
    """y = (x W' + b1) W' + b2, loss = sum((y - t)^2) / numel: gradients by hand."""
    h = x @ w.T + b1
    y = h @ w.T + b2
    dy = 2.0 * (y - t) / y.size
    dh = dy @ w
    gw = dy.T @ h + dh.T @ x          # the two uses of W: the sum
    return gw, dh.sum(axis=0), dy.sum(axis=0)


@pytest.mark.parametrize("solver", ["sgdm", "adam"])
def test_one_trainer_step_with_a_shared_array_follows_the_equations(solver):
    g = np.random.default_rng(2)
    w = g.normal(size=(C, C)) * 0.5
    b1, b2 = g.normal(size=C) * 0.1, g.normal(size=C) * 0.1
    x, t = _data(4)
    net = DLNetwork.build(share_learnables(
        LayerGraph([featureInputLayer(C, Name="in"),
                    fullyConnectedLayer(C, Name="a", Weights=w, Bias=b1.reshape(-1, 1)),
                    fullyConnectedLayer(C, Name="b", Weights=w.copy(), Bias=b2.reshape(-1, 1))]),
        "w", [("a", "Weights"), ("b", "Weights")]))
    l2, lr = 0.01, 0.05
    opt = SGDM(momentum=0.9) if solver == "sgdm" else Adam()
    cfg = TrainConfig(solver=opt, learn_rate=lr, l2=l2, max_epochs=2, minibatch_size=4, shuffle="never",
                      dtype=np.float64, seed=0)
    res = train(net, {"in": x}, {("b", "out"): t}, {("b", "out"): MeanSquared()}, cfg)
    # numpy: two iterations, ONE L2 term and ONE solver state for W
    W, B1, B2 = w.copy(), b1.copy(), b2.copy()
    state = {}
    for it in (1, 2):
        gw, gb1, gb2 = _linear_reference(W, B1, B2, x, t)
        gw = gw + l2 * W      # WeightL2Factor 1, BiasL2Factor 0
        if solver == "sgdm":
            for key, p, gr in (("w", W, gw), ("b1", B1, gb1), ("b2", B2, gb2)):
                v = state.get(key, 0.0) * 0.9 - lr * gr
                state[key] = v
                p += v
        else:
            for key, p, gr in (("w", W, gw), ("b1", B1, gb1), ("b2", B2, gb2)):
                m, v = state.get(key, (0.0, 0.0))
                m = 0.9 * m + 0.1 * gr
                v = 0.999 * v + 0.001 * gr * gr
                state[key] = (m, v)
                p -= lr * np.sqrt(1 - 0.999 ** it) / (1 - 0.9 ** it) * m / (np.sqrt(v) + 1e-8)
    out = res.net.layer_graph
    np.testing.assert_allclose(out.layer("a").Weights, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(out.layer("a").Weights, out.layer("b").Weights)
    np.testing.assert_allclose(out.layer("a").Bias.ravel(), B1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.layer("b").Bias.ravel(), B2, rtol=1e-10, atol=1e-12)
    assert len([k for k in res.state.solver_state if k[1] == "Weights"]) == 1
    assert shared_learnables(out) == {"w": (("a", "Weights"), ("b", "Weights"))}


def test_global_l2norm_counts_a_shared_array_once():
    g = np.random.default_rng(4)
    w = g.normal(size=(C, C)) * 0.5
    b1, b2 = g.normal(size=C) * 0.1, g.normal(size=C) * 0.1
    x, t = _data(4)
    net = DLNetwork.build(share_learnables(
        LayerGraph([featureInputLayer(C, Name="in"),
                    fullyConnectedLayer(C, Name="a", Weights=w, Bias=b1.reshape(-1, 1)),
                    fullyConnectedLayer(C, Name="b", Weights=w.copy(), Bias=b2.reshape(-1, 1))]),
        "w", [("a", "Weights"), ("b", "Weights")]))
    limit, lr = 0.05, 0.1
    cfg = TrainConfig(solver=SGDM(momentum=0.0), learn_rate=lr, l2=0.0, max_epochs=1, minibatch_size=4,
                      shuffle="never", dtype=np.float64, seed=0, gradient_threshold_method="global-l2norm",
                      gradient_threshold=limit)
    res = train(net, {"in": x}, {("b", "out"): t}, {("b", "out"): MeanSquared()}, cfg)
    gw, gb1, gb2 = _linear_reference(w, b1, b2, x, t)
    norm = np.sqrt(np.sum(gw ** 2) + np.sum(gb1 ** 2) + np.sum(gb2 ** 2))   # W once
    assert norm > limit
    np.testing.assert_allclose(res.net.layer_graph.layer("b").Weights, w - lr * gw * limit / norm, rtol=1e-10)


def test_io_saves_a_shared_array_once_and_loads_it_shared(tmp_path):
    layergraph.rng(5)
    net = DLNetwork.build(_tied())
    path = tmp_path / "net.npz"
    layergraph.save(net, path)
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith(".npy")]
    assert len(names) == 3   # one Weights for both layers, two biases
    back = layergraph.load(path)
    assert shared_learnables(back.layer_graph) == {"w": (("a", "Weights"), ("b", "Weights"))}
    np.testing.assert_array_equal(back.layer_graph.layer("b").Weights, net.layer_graph.layer("a").Weights)
    ex = back.executor()
    assert ex.params["a"]["Weights"] is ex.params["b"]["Weights"]
    lg = layergraph.load(_save(share_learnables(_graph(), "w", [("a", "Weights"), ("b", "Weights")]), tmp_path))
    assert shared_learnables(lg) == {"w": (("a", "Weights"), ("b", "Weights"))}


def _save(obj, folder):
    p = folder / "g.npz"
    layergraph.save(obj, p)
    return p


def test_checkpoint_resume_keeps_the_sharing(tmp_path):
    layergraph.rng(6)
    net = DLNetwork.build(_tied())
    x, t = _data(12)
    saved = []

    def hook(state, result):
        p = tmp_path / f"c{state.iteration}.ckpt"
        write_checkpoint(p, result.net, state)
        saved.append(p)

    def cfg(**kw):
        return TrainConfig(solver=Adam(), learn_rate=0.01, l2=1e-3, max_epochs=4, minibatch_size=4,
                           shuffle="every-epoch", dtype=np.float64, seed=7, **kw)
    losses = {("b", "out"): MeanSquared()}
    full = train(net, {"in": x}, {("b", "out"): t}, losses, cfg(checkpoint=hook))
    mid, state = read_checkpoint(saved[1])
    assert shared_learnables(mid.layer_graph) == {"w": (("a", "Weights"), ("b", "Weights"))}
    resumed = train(mid, {"in": x}, {("b", "out"): t}, losses, cfg(), resume=state)
    for n in "ab":
        np.testing.assert_array_equal(resumed.net.layer_graph.layer(n).Weights, full.net.layer_graph.layer(n).Weights)
    np.testing.assert_array_equal(resumed.net.layer_graph.layer("a").Weights,
                                  resumed.net.layer_graph.layer("b").Weights)


def test_state_cannot_be_shared_and_members_are_checked():
    g = LayerGraph([featureInputLayer(C, Name="in"), batchNormalizationLayer(Name="bn1"),
                    batchNormalizationLayer(Name="bn2")])
    with pytest.raises(LayerGraphError, match="TrainedMean of layer 'bn1' is state"):
        share_learnables(g, "m", [("bn1", "TrainedMean"), ("bn2", "TrainedMean")])
    share_learnables(g, "s", [("bn1", "Scale"), ("bn2", "Scale")])   # a learnable is fine
    with pytest.raises(LayerGraphError, match="no learnable parameter 'Gain'"):
        share_learnables(g, "s", [("bn1", "Gain")])
    with pytest.raises(LayerGraphError, match="does not exist"):
        share_learnables(g, "s", [("nope", "Scale")])
    t = share_learnables(g, "s", [("bn1", "Scale"), ("bn2", "Scale")])
    with pytest.raises(LayerGraphError, match="already part of the shared array 's'"):
        share_learnables(t, "z", [("bn1", "Scale")])
    assert shared_learnables(g) == {}   # value semantics: the graph given is unchanged


def test_members_with_different_values_or_factors_are_refused():
    w = np.eye(C, dtype=np.float32)
    g = share_learnables(LayerGraph([featureInputLayer(C, Name="in"),
                                     fullyConnectedLayer(C, Name="a", Weights=w),
                                     fullyConnectedLayer(C, Name="b", Weights=2 * w)]),
                         "w", [("a", "Weights"), ("b", "Weights")])
    with pytest.raises(LayerGraphError, match="hold different values"):
        DLNetwork.build(g).executor()
    net = DLNetwork.build(share_learnables(
        LayerGraph([featureInputLayer(C, Name="in"), fullyConnectedLayer(C, Name="a", WeightLearnRateFactor=2),
                    fullyConnectedLayer(C, Name="b")]), "w", [("a", "Weights"), ("b", "Weights")]))
    x, t = _data(4)
    with pytest.raises(LayerGraphError, match="one learn-rate factor"):
        train(net, {"in": x}, {("b", "out"): t}, {("b", "out"): MeanSquared()}, TrainConfig(max_epochs=1))
