"""RMSPropCentered (MXNet's rmspropalex_update, Wolfram's Method -> "RMSProp") against a
plain numpy re-implementation of MXNet's documented equations:

    n     <- (1 - g1) g^2 + g1 n
    gbar  <- (1 - g1) g + g1 gbar
    delta <- g2 delta - lr g / sqrt(n - gbar^2 + eps)
    w     <- w + delta

one step at a time, inside the trainer (featureInput -> fc -> softmax, gradient in closed
form), through a checkpoint and resume, and in NetTrain."""
import numpy as np
import pytest

from layergraph import dlnetwork, featureInputLayer, fullyConnectedLayer, softmaxLayer
from layergraph.train import CrossEntropy, RMSPropCentered, TrainConfig, train
from layergraph.train.checkpoint import read_checkpoint, write_checkpoint
from layergraph.wolfram import All, LayerGraphError, LinearLayer, NetChain, NetExtract, NetInitialize, NetTrain

N, C, K = 12, 5, 3


def rmspropalex_ref(g1, g2, eps):
    def step(w, g, lr, s, t):
        s["n"] = (1 - g1) * g * g + g1 * s.get("n", 0.0)
        s["g"] = (1 - g1) * g + g1 * s.get("g", 0.0)
        s["delta"] = g2 * s.get("delta", 0.0) - lr * g / np.sqrt(s["n"] - s["g"] ** 2 + eps)
        return w + s["delta"]
    return step


def test_core_defaults():
    # Wolfram's RMSProp defaults ("Beta" 0.95, "Momentum" 0.9) are MXNet's gamma1, gamma2; epsilon is MXNet's 1e-8
    # (NetTrain passes Wolfram's 1/1000000)
    s = RMSPropCentered()
    assert (s.beta, s.momentum, s.epsilon) == (0.95, 0.9, 1e-8)


@pytest.mark.parametrize("beta,momentum,eps", [(0.95, 0.9, 1e-6), (0.5, 0.0, 1e-3), (0.9, 0.99, 1e-8)])
def test_steps_match_the_equations(beta, momentum, eps):
    g = np.random.default_rng(0)
    w = g.normal(size=(4, 3))
    ref_w, ref_state, state = w.copy(), {}, {}
    solver, ref = RMSPropCentered(beta, momentum, eps), rmspropalex_ref(beta, momentum, eps)
    for t in range(1, 9):
        grad = g.normal(size=w.shape) * (1 + t)
        lr = 0.01 / t
        solver.step(w, grad.copy(), lr, state, t)
        ref_w = ref(ref_w, grad, lr, ref_state, t)
        np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-15)
    assert set(state) == {"SquaredAverage", "GradientAverage", "Delta"}
    np.testing.assert_allclose(state["SquaredAverage"], ref_state["n"], rtol=1e-12)
    np.testing.assert_allclose(state["GradientAverage"], ref_state["g"], rtol=1e-12)
    np.testing.assert_allclose(state["Delta"], ref_state["delta"], rtol=1e-12)


def test_float32_stays_float32():
    w = np.ones((3,), np.float32)
    state = {}
    RMSPropCentered(epsilon=1e-6).step(w, np.array([0.1, -2, 0], np.float32), np.float32(0.001), state, 1)
    assert w.dtype == np.float32 and all(v.dtype == np.float32 for v in state.values())
    # the first step: n = 0.05 g^2, gbar = 0.05 g, so the step is -lr g / sqrt(0.0475 g^2 + eps)
    expect = 1 - 0.001 * np.array([0.1, -2, 0]) / np.sqrt(0.0475 * np.array([0.1, -2, 0]) ** 2 + 1e-6)
    np.testing.assert_allclose(w, expect, rtol=1e-6)


# -- inside the trainer -----------------------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _grads(w, b, x, t):
    d = (_softmax(x @ w.T + b.ravel()) - t) / x.shape[0]
    return d.T @ x, d.sum(axis=0).reshape(-1, 1)


def _problem():
    g = np.random.default_rng(0)
    x = g.normal(size=(N, C))
    t = np.eye(K)[g.integers(0, K, N)]
    g = np.random.default_rng(1)
    return x, t, g.normal(size=(K, C)) * 0.5, g.normal(size=(K, 1)) * 0.1


def _net(w, b):
    return dlnetwork([featureInputLayer(C, Name="in"), fullyConnectedLayer(K, Name="fc", Weights=w, Bias=b),
                      softmaxLayer(Name="sm")])


def _cfg(solver, **kw):
    return TrainConfig(**{**dict(solver=solver, learn_rate=0.01, max_epochs=3, minibatch_size=4, shuffle="never",
                                 dtype=np.float64, l2=0.0, seed=0), **kw})


def test_trainer_matches_the_equations_over_several_iterations():
    x, t, w, b = _problem()
    res = train(_net(w, b), {"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()},
                _cfg(RMSPropCentered(0.95, 0.9, 1e-6)))
    ref = rmspropalex_ref(0.95, 0.9, 1e-6)
    sw, sb = {}, {}
    for it in range(1, 10):                       # 3 epochs x 3 mini-batches
        i = (it - 1) % 3
        gw, gb = _grads(w, b, x[i * 4:(i + 1) * 4], t[i * 4:(i + 1) * 4])
        w, b = ref(w, gw, 0.01, sw, it), ref(b, gb, 0.01, sb, it)
    fc = res.net.layer_graph.layer("fc")
    np.testing.assert_allclose(fc.Weights, w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fc.Bias, b, rtol=1e-10, atol=1e-12)


def test_checkpoint_saves_the_three_slots_and_resumes_exactly(tmp_path):
    x, t, w, b = _problem()
    data = ({"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()})
    full = train(_net(w, b), *data, _cfg(RMSPropCentered()))
    train(_net(w, b), *data, _cfg(RMSPropCentered(), max_epochs=1,
                                  checkpoint=lambda st, r: write_checkpoint(tmp_path / "c.zip", r.net, st)))
    net, state = read_checkpoint(tmp_path / "c.zip")
    saved = state.solver_state[("fc", "Weights")]
    assert set(saved) == {"SquaredAverage", "GradientAverage", "Delta"}
    resumed = train(net, *data, _cfg(RMSPropCentered()), resume=state)
    a, r = full.net.layer_graph.layer("fc"), resumed.net.layer_graph.layer("fc")
    np.testing.assert_array_equal(a.Weights, r.Weights)
    np.testing.assert_array_equal(a.Bias, r.Bias)


# -- NetTrain -----------------------------------------------------------------------------------------

def test_nettrain_rmsprop_defaults_and_suboptions(monkeypatch):
    import layergraph.wolfram.train as wtrain
    seen = []
    real = wtrain.train

    def spy(net, inputs, targets, losses, cfg):
        seen.append(cfg)
        return real(net, inputs, targets, losses, cfg)
    monkeypatch.setattr(wtrain, "train", spy)
    x, _, _, _ = _problem()
    y = x @ np.arange(1.0, C + 1).reshape(C, 1)
    net = NetChain([LinearLayer(1)], Input=C)
    res = NetTrain(net, (x, y), All,
                   Method="RMSProp", MaxTrainingRounds=2, TrainingProgressReporting=None, RandomSeeding=1)
    cfg = seen[-1]
    assert cfg.solver == RMSPropCentered(beta=0.95, momentum=0.9, epsilon=1e-6)
    assert cfg.learn_rate == 0.001 and cfg.schedule is None
    assert res["OptimizationMethod"] == "RMSProp" and res["InitialLearningRate"] == 0.001
    NetTrain(net, (x, y), Method=("RMSProp", {"Beta": 0.8, "Momentum": None, "Epsilon": 1e-4,
                                              "LearningRate": 0.01}),
             MaxTrainingRounds=1, TrainingProgressReporting=None, RandomSeeding=1)
    assert seen[-1].solver == RMSPropCentered(beta=0.8, momentum=0.0, epsilon=1e-4)
    assert seen[-1].learn_rate == 0.01


def test_nettrain_rmsprop_matches_the_equations_and_learns():
    x, _, _, _ = _problem()
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0], [3.0]]) + 0.25
    net = NetInitialize(NetChain([LinearLayer(1)], Input=C), RandomSeeding=3)
    w, b = NetExtract(net, (1, "Weights")).astype(np.float64), NetExtract(net, (1, "Biases")).astype(np.float64)
    # one batch of all 12 examples per round: the order does not matter, so the reference is exact
    trained = NetTrain(net, (x, y), Method="RMSProp", BatchSize=N, MaxTrainingRounds=5,
                       WorkingPrecision="Real64", TrainingProgressReporting=None, RandomSeeding=1)
    ref = rmspropalex_ref(0.95, 0.9, 1e-6)
    sw, sb = {}, {}
    for it in range(1, 6):
        d = 2 * ((x @ w.T + b) - y) / N           # MeanSquared: mean over the batch (one output element)
        w, b = ref(w, d.T @ x, 0.001, sw, it), ref(b, d.sum(axis=0), 0.001, sb, it)
    np.testing.assert_allclose(NetExtract(trained, (1, "Weights")), w, rtol=1e-5)
    np.testing.assert_allclose(NetExtract(trained, (1, "Biases")), b, rtol=1e-5)
    long = NetTrain(net, (x, y), All, Method=("RMSProp", {"LearningRate": 0.02}), BatchSize=4,
                    MaxTrainingRounds=150, TrainingProgressReporting=None, RandomSeeding=1)
    assert long["RoundLoss"] < 0.01 * long["RoundLossList"][0]



@pytest.mark.parametrize("method", [("RMSProp", {"Beta": 1}), ("RMSProp", {"Beta1": 0.9}),
                                    ("RMSProp", {"Momentum": -0.1}), ("RMSProp", {"Epsilon": "small"})])
def test_nettrain_rmsprop_bad_suboptions(method):
    x, _, _, _ = _problem()
    with pytest.raises(LayerGraphError) as e:
        NetTrain(NetChain([LinearLayer(1)], Input=C), (x, x[:, :1]), Method=method, MaxTrainingRounds=1,
                 TrainingProgressReporting=None)
    assert e.value.identifier == "NetTrain::invmethod"
