"""The shared trainer against MATLAB's update equations, computed by hand in float64.

The network is featureInput -> fc -> softmax, so the loss gradient is known in closed
form: dW = (Y - T)' X / N, db = sum(Y - T) / N. Each test runs the trainer and a
numpy re-implementation of the reference equations side by side (shuffle 'never').
"""
import math

import numpy as np
import pytest

from layergraph import dlnetwork, featureInputLayer, fullyConnectedLayer, softmaxLayer, rng
from layergraph.train import SGDM, Adam, CrossEntropy, RMSProp, TrainConfig, train

N, C, K = 12, 5, 3


def _data(seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(N, C))
    t = np.eye(K)[g.integers(0, K, N)]
    return x, t


def _net(w, b, **fc):
    layers = [featureInputLayer(C, Name="in"), fullyConnectedLayer(K, Name="fc", Weights=w, Bias=b, **fc),
              softmaxLayer(Name="sm")]
    return dlnetwork(layers)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _grads(w, b, x, t):
    y = _softmax(x @ w.T + b.ravel())
    d = (y - t) / x.shape[0]
    return d.T @ x, d.sum(axis=0).reshape(-1, 1)


def _run(cfg, w0, b0, x, t, **fc):
    net = _net(w0, b0, **fc)
    res = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, cfg)
    fc_layer = res.net.layer_graph.layer("fc")
    return res, fc_layer.Weights, fc_layer.Bias


def _start():
    g = np.random.default_rng(1)
    return g.normal(size=(K, C)) * 0.5, g.normal(size=(K, 1)) * 0.1


def _cfg(**kw):
    base = dict(max_epochs=1, minibatch_size=4, shuffle="never", dtype=np.float64, l2=0.0, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def _reference(step, x, t, w, b, iters, bs=4, lr_w=0.01, lr_b=0.01, l2=0.0, l2f=(1.0, 0.0), thresh=None):
    """Plain numpy loop: gradient, L2, threshold, solver step (per MATLAB)."""
    state = {"w": {}, "b": {}}
    for it in range(1, iters + 1):
        i = (it - 1) % (x.shape[0] // bs)
        xb, tb = x[i * bs:(i + 1) * bs], t[i * bs:(i + 1) * bs]
        gw, gb = _grads(w, b, xb, tb)
        gw = gw + l2 * l2f[0] * w
        gb = gb + l2 * l2f[1] * b
        if thresh is not None:
            gw, gb = thresh(gw, gb)
        w = step(w, gw, lr_w, state["w"], it)
        b = step(b, gb, lr_b, state["b"], it)
    return w, b


def sgdm_ref(mu):
    def step(w, g, lr, s, t):
        s["v"] = mu * s.get("v", 0) - lr * g
        return w + s["v"]
    return step


def adam_ref(b1, b2, eps):
    def step(w, g, lr, s, t):
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        return w - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * s["m"] / (np.sqrt(s["v"]) + eps)
    return step


def rmsprop_ref(rho, eps):
    def step(w, g, lr, s, t):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        return w - lr * g / (np.sqrt(s["v"]) + eps)
    return step


@pytest.mark.parametrize("solver, ref, lr", [
    (SGDM(0.9), sgdm_ref(0.9), 0.1),
    (SGDM(0.0), sgdm_ref(0.0), 0.1),
    (Adam(0.9, 0.999, 1e-8), adam_ref(0.9, 0.999, 1e-8), 0.01),
    (Adam(0.8, 0.99, 1e-3), adam_ref(0.8, 0.99, 1e-3), 0.01),
    (RMSProp(0.9, 1e-8), rmsprop_ref(0.9, 1e-8), 0.01),
])
@pytest.mark.parametrize("epochs", [1, 3])
def test_solver_matches_update_equations(solver, ref, lr, epochs):
    x, t = _data()
    w0, b0 = _start()
    _, w, b = _run(_cfg(solver=solver, learn_rate=lr, max_epochs=epochs), w0, b0, x, t)
    ew, eb = _reference(ref, x, t, w0, b0, 3 * epochs, lr_w=lr, lr_b=lr)
    np.testing.assert_allclose(w, ew, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, eb, rtol=1e-10, atol=1e-12)


def test_l2_uses_each_parameters_factor():
    """g += lambda * L2Factor * w; the bias L2 factor is 0 by default (MATLAB)."""
    x, t = _data()
    w0, b0 = _start()
    _, w, b = _run(_cfg(solver=SGDM(0.9), learn_rate=0.1, l2=0.05), w0, b0, x, t)
    ew, eb = _reference(sgdm_ref(0.9), x, t, w0, b0, 3, lr_w=0.1, lr_b=0.1, l2=0.05, l2f=(1.0, 0.0))
    np.testing.assert_allclose(w, ew, rtol=1e-10)
    np.testing.assert_allclose(b, eb, rtol=1e-10)
    _, w, b = _run(_cfg(solver=SGDM(0.9), learn_rate=0.1, l2=0.05), w0, b0, x, t, WeightL2Factor=2,
                   BiasL2Factor=0.5)
    ew, eb = _reference(sgdm_ref(0.9), x, t, w0, b0, 3, lr_w=0.1, lr_b=0.1, l2=0.05, l2f=(2.0, 0.5))
    np.testing.assert_allclose(w, ew, rtol=1e-10)
    np.testing.assert_allclose(b, eb, rtol=1e-10)


def test_learn_rate_factors_and_freezing():
    x, t = _data()
    w0, b0 = _start()
    _, w, b = _run(_cfg(solver=SGDM(0.9), learn_rate=0.1, l2=0.05), w0, b0, x, t, WeightLearnRateFactor=0.5,
                   BiasLearnRateFactor=2)
    ew, eb = _reference(sgdm_ref(0.9), x, t, w0, b0, 3, lr_w=0.05, lr_b=0.2, l2=0.05)
    np.testing.assert_allclose(w, ew, rtol=1e-10)
    np.testing.assert_allclose(b, eb, rtol=1e-10)
    # factor 0: no L2, no solver state, the array stays exactly as it was
    _, w, b = _run(_cfg(solver=SGDM(0.9), learn_rate=0.1, l2=0.05), w0, b0, x, t, WeightLearnRateFactor=0,
                   WeightL2Factor=3)
    np.testing.assert_array_equal(w, w0)
    assert not np.array_equal(b, b0)


def _clip_l2(limit):
    def f(gw, gb):
        out = []
        for g in (gw, gb):
            n = np.linalg.norm(g)
            out.append(g * limit / n if n > limit else g)
        return out
    return f


def _clip_global(limit):
    def f(gw, gb):
        n = math.sqrt(np.sum(gw ** 2) + np.sum(gb ** 2))
        return (gw * limit / n, gb * limit / n) if n > limit else (gw, gb)
    return f


def _clip_abs(limit):
    return lambda gw, gb: (np.clip(gw, -limit, limit), np.clip(gb, -limit, limit))


@pytest.mark.parametrize("method, ref", [("l2norm", _clip_l2), ("global-l2norm", _clip_global),
                                         ("absolute-value", _clip_abs)])
def test_gradient_thresholding(method, ref):
    x, t = _data()
    w0, b0 = _start()
    limit = 0.05
    _, w, b = _run(_cfg(solver=SGDM(0.9), learn_rate=0.1, l2=0.01, gradient_threshold_method=method,
                        gradient_threshold=limit), w0, b0, x, t)
    ew, eb = _reference(sgdm_ref(0.9), x, t, w0, b0, 3, lr_w=0.1, lr_b=0.1, l2=0.01, thresh=ref(limit))
    np.testing.assert_allclose(w, ew, rtol=1e-10)
    np.testing.assert_allclose(b, eb, rtol=1e-10)
    # the thresholds actually bind here: without them the result differs
    nw, _ = _reference(sgdm_ref(0.9), x, t, w0, b0, 3, lr_w=0.1, lr_b=0.1, l2=0.01)
    assert not np.allclose(nw, ew)


def test_schedule_and_incomplete_minibatch_dropped():
    """N = 12, MiniBatchSize 5: two iterations per epoch (the last 2 observations are
    dropped); the schedule sees the epoch of each iteration."""
    x, t = _data()
    w0, b0 = _start()
    seen = []

    def schedule(base, iteration, epoch):
        seen.append((iteration, epoch))
        return base * 0.5 ** (epoch - 1)

    res, w, _ = _run(_cfg(solver=SGDM(0.0), learn_rate=0.1, minibatch_size=5, max_epochs=3, schedule=schedule),
                     w0, b0, x, t)
    assert seen == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3)]
    assert [r["BaseLearnRate"] for r in res.history] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    ew = w0.copy()
    eb = b0.copy()
    for it in range(6):
        i = it % 2
        gw, gb = _grads(ew, eb, x[i * 5:(i + 1) * 5], t[i * 5:(i + 1) * 5])
        lr = 0.1 * 0.5 ** (it // 2)
        ew, eb = ew - lr * gw, eb - lr * gb
    np.testing.assert_allclose(w, ew, rtol=1e-10)


def test_minibatch_larger_than_data_uses_all_observations():
    x, t = _data()
    w0, b0 = _start()
    res, _, _ = _run(_cfg(minibatch_size=100, max_epochs=2), w0, b0, x, t)
    assert len(res.history) == 2


@pytest.mark.parametrize("mode", ["once", "every-epoch"])
def test_shuffle_modes(mode):
    """'once': one permutation (drawn from the run's generator) for every epoch;
    'every-epoch': a new one per epoch. Checked by replaying the SGD steps in that order."""
    x, t = _data()
    w0, b0 = _start()
    _, w, _ = _run(_cfg(solver=SGDM(0.0), learn_rate=0.1, shuffle=mode, max_epochs=2, minibatch_size=3, seed=11),
                   w0, b0, x, t)
    gen = np.random.default_rng(11)
    first = gen.permutation(N)
    orders = [first, first if mode == "once" else gen.permutation(N)]
    ew, eb = w0.copy(), b0.copy()
    for order in orders:
        for i in range(N // 3):
            idx = order[i * 3:(i + 1) * 3]
            gw, gb = _grads(ew, eb, x[idx], t[idx])
            ew, eb = ew - 0.1 * gw, eb - 0.1 * gb
    np.testing.assert_allclose(w, ew, rtol=1e-10)


def test_training_is_reproducible_with_the_seed_and_leaves_the_input_network_alone():
    x, t = _data()
    w0, b0 = _start()
    net = _net(w0, b0)
    before = net.layer_graph.layer("fc").Weights.copy()
    cfg = _cfg(shuffle="every-epoch", max_epochs=3, seed=7)
    a = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, cfg)
    b = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, cfg)
    np.testing.assert_array_equal(a.net.layer_graph.layer("fc").Weights, b.net.layer_graph.layer("fc").Weights)
    np.testing.assert_array_equal(net.layer_graph.layer("fc").Weights, before)
    rng(3)
    c = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, _cfg(shuffle="every-epoch",
                                                                                       max_epochs=3, seed=None))
    rng(3)
    d = train(net, {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, _cfg(shuffle="every-epoch",
                                                                                       max_epochs=3, seed=None))
    np.testing.assert_array_equal(c.net.layer_graph.layer("fc").Weights, d.net.layer_graph.layer("fc").Weights)


def test_callback_stop_and_keyboard_interrupt_return_the_network_so_far():
    x, t = _data()
    w0, b0 = _start()
    res = train(_net(w0, b0), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                _cfg(max_epochs=10, callbacks=[lambda info: info["State"] == "iteration" and info["Iteration"] == 4]))
    assert res.stop_reason == "Stopped by OutputFcn" and len(res.history) == 4

    def interrupt(info):
        if info["State"] == "iteration" and info["Iteration"] == 5:
            raise KeyboardInterrupt
    res = train(_net(w0, b0), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                _cfg(max_epochs=10, callbacks=[interrupt]))
    assert "KeyboardInterrupt" in res.stop_reason and len(res.history) == 5
    ew, _ = _reference(sgdm_ref(0.9), x, t, w0, b0, 5)
    np.testing.assert_allclose(res.net.layer_graph.layer("fc").Weights, ew, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_loss_stops_with_the_last_finite_weights():
    x, t = _data()
    w0, b0 = _start()
    x = x.copy()
    x[8:] = np.inf  # the third mini-batch gives a NaN loss
    res = train(_net(w0, b0), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                _cfg(max_epochs=2, learn_rate=0.01))
    assert res.stop_reason.startswith("Training stopped at iteration 3 because")
    assert len(res.history) == 2
    w = res.net.layer_graph.layer("fc").Weights
    assert np.all(np.isfinite(w))
    ew, _ = _reference(sgdm_ref(0.9), x, t, w0, b0, 2)
    np.testing.assert_allclose(w, ew, rtol=1e-10)


def test_validation_patience_and_best_network():
    x, t = _data()
    xv, tv = _data(5)
    w0, b0 = _start()
    cfg = _cfg(solver=SGDM(0.9), learn_rate=3.0, max_epochs=30, validation=({"in": xv}, {("sm", "out"): tv}),
               validation_frequency=1, validation_patience=4, output_network="best-validation-loss")
    res = train(_net(w0, b0), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()}, cfg)
    losses = [r["ValidationLoss"] for r in res.history]
    best = int(np.argmin(losses)) + 1
    assert res.output_iteration == best
    assert res.stop_reason == "Met validation criterion"
    assert len(losses) == best + 4  # four validations in a row without a new minimum
    # the returned network is the best one: its validation loss is the minimum
    fc = res.net.layer_graph.layer("fc")
    y = _softmax(xv @ fc.Weights.T + fc.Bias.ravel())
    assert -np.sum(tv * np.log(y)) / len(tv) == pytest.approx(min(losses), rel=1e-9)
