"""Signum (MXNet's signum_update / signsgd_update, Wolfram's Method -> "SignSGD") and
WeightClipped (Wolfram's "WeightClipping") against numpy re-implementations of the
documented equations:

    m <- mu m + (1 - mu) g;   w <- w - lr sign(m)       (m0 = 0; mu = 0: w <- w - lr sign(g))
    WeightClipping c: after the step, w <- clip(w, -c, c)

one step at a time, inside the trainer, through a checkpoint, and in NetTrain."""
import numpy as np
import pytest
from test_solvers_rmspropalex import C, N, _cfg, _grads, _net, _problem

from layergraph.train import SGDM, Adam, Signum, WeightClipped
from layergraph.train.checkpoint import read_checkpoint, write_checkpoint
from layergraph.wolfram import All, LayerGraphError, LinearLayer, NetChain, NetExtract, NetInitialize, NetTrain


def signum_ref(mu):
    def step(w, g, lr, s, t):
        s["m"] = mu * s.get("m", 0.0) + (1 - mu) * g
        return w - lr * np.sign(s["m"])
    return step


@pytest.mark.parametrize("mu", [0.93, 0.5, 0.0])
def test_steps_match_the_equations(mu):
    g = np.random.default_rng(0)
    w = g.normal(size=(4, 3))
    ref_w, ref_state, state = w.copy(), {}, {}
    solver, ref = Signum(mu), signum_ref(mu)
    for t in range(1, 9):
        grad = g.normal(size=w.shape)
        grad[0, 0] = 0.0
        lr = 0.01 / t
        solver.step(w, grad.copy(), lr, state, t)
        ref_w = ref(ref_w, grad, lr, ref_state, t)
        np.testing.assert_allclose(w, ref_w, rtol=1e-14, atol=1e-15)
    # momentum 0 is signsgd_update: no state
    assert set(state) == (set() if mu == 0 else {"Momentum"})
    if mu:
        np.testing.assert_allclose(state["Momentum"], ref_state["m"], rtol=1e-14)


def test_sign_of_zero_is_zero_and_float32_stays_float32():
    w = np.ones(3, np.float32)
    Signum(0.0).step(w, np.array([2.0, 0.0, -1e-30], np.float32), 0.5, {}, 1)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, [0.5, 1.0, 1.5])


def test_weight_clipping_follows_the_step():
    w = np.array([0.95, -0.95, 0.2])
    state = {}
    solver = WeightClipped(SGDM(momentum=0.0), 1.0)
    solver.step(w, np.array([-1.0, 1.0, 1.0]), 0.1, state, 1)
    np.testing.assert_allclose(w, [1.0, -1.0, 0.1])
    assert solver.name == "sgdm"
    # the inner solver's state slots are the ones kept (so checkpoints see Adam's)
    state = {}
    WeightClipped(Adam(), 0.5).step(np.zeros(2), np.ones(2), 0.1, state, 1)
    assert set(state) == {"AverageGrad", "AverageSqGrad"}


def test_trainer_matches_the_equations_and_resumes_exactly(tmp_path):
    from layergraph.train import CrossEntropy, train
    x, t, w, b = _problem()
    data = ({"in": x}, {("sm", "out"): t}, {("sm", "out"): CrossEntropy()})
    res = train(_net(w, b), *data, _cfg(WeightClipped(Signum(0.93), 0.4)))
    ref, sw, sb = signum_ref(0.93), {}, {}
    for it in range(1, 10):                       # 3 epochs x 3 mini-batches, no shuffling
        i = (it - 1) % 3
        gw, gb = _grads(w, b, x[i * 4:(i + 1) * 4], t[i * 4:(i + 1) * 4])
        w = np.clip(ref(w, gw, 0.01, sw, it), -0.4, 0.4)
        b = np.clip(ref(b, gb, 0.01, sb, it), -0.4, 0.4)
    fc = res.net.layer_graph.layer("fc")
    np.testing.assert_allclose(fc.Weights, w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fc.Bias, b, rtol=1e-12, atol=1e-14)
    assert np.abs(fc.Weights).max() <= 0.4

    solver = Signum(0.93)
    full = train(_net(*_problem()[2:]), *data, _cfg(solver))
    train(_net(*_problem()[2:]), *data, _cfg(solver, max_epochs=1,
                                              checkpoint=lambda st, r: write_checkpoint(tmp_path / "c.zip", r.net, st)))
    net, state = read_checkpoint(tmp_path / "c.zip")
    assert set(state.solver_state[("fc", "Weights")]) == {"Momentum"}
    resumed = train(net, *data, _cfg(solver), resume=state)
    np.testing.assert_array_equal(full.net.layer_graph.layer("fc").Weights,
                                  resumed.net.layer_graph.layer("fc").Weights)


# -- NetTrain -----------------------------------------------------------------------------------------

def _spy(monkeypatch):
    import layergraph.wolfram.train as wtrain
    seen = []
    real = wtrain.train

    def spy(net, inputs, targets, losses, cfg):
        seen.append(cfg)
        return real(net, inputs, targets, losses, cfg)
    monkeypatch.setattr(wtrain, "train", spy)
    return seen


def test_nettrain_signsgd_defaults_and_suboptions(monkeypatch):
    seen = _spy(monkeypatch)
    x, _, _, _ = _problem()
    y = x @ np.arange(1.0, C + 1).reshape(C, 1)
    net = NetChain([LinearLayer(1)], Input=C)
    res = NetTrain(net, (x, y), All, Method="SignSGD", MaxTrainingRounds=2, TrainingProgressReporting=None,
                   RandomSeeding=1)
    assert seen[-1].solver == Signum(momentum=0.93)
    assert seen[-1].learn_rate == 0.01 and seen[-1].schedule is None
    assert res["OptimizationMethod"] == "SignSGD" and res["InitialLearningRate"] == 0.01
    NetTrain(net, (x, y), Method=("SignSGD", {"Momentum": None, "WeightClipping": 2, "LearningRate": 0.1}),
             MaxTrainingRounds=1, TrainingProgressReporting=None, RandomSeeding=1)
    assert seen[-1].solver == WeightClipped(Signum(momentum=0.0), 2.0) and seen[-1].learn_rate == 0.1
    NetTrain(net, (x, y), Method=("ADAM", {"WeightClipping": 0.5}), MaxTrainingRounds=1,
             TrainingProgressReporting=None, RandomSeeding=1)
    assert seen[-1].solver == WeightClipped(Adam(0.9, 0.999, 1e-5), 0.5)


def test_nettrain_signsgd_matches_the_equations_and_weight_clipping_holds():
    x, _, _, _ = _problem()
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0], [3.0]]) + 0.25
    net = NetInitialize(NetChain([LinearLayer(1)], Input=C), RandomSeeding=3)
    w, b = NetExtract(net, (1, "Weights")).astype(np.float64), NetExtract(net, (1, "Biases")).astype(np.float64)
    trained = NetTrain(net, (x, y), Method=("SignSGD", {"WeightClipping": 1.5}), BatchSize=N, MaxTrainingRounds=6,
                       WorkingPrecision="Real64", TrainingProgressReporting=None, RandomSeeding=1)
    ref, sw, sb = signum_ref(0.93), {}, {}
    for it in range(1, 7):
        d = 2 * ((x @ w.T + b) - y) / N           # MeanSquared, one batch of all examples per round
        w = np.clip(ref(w, d.T @ x, 0.01, sw, it), -1.5, 1.5)
        b = np.clip(ref(b, d.sum(axis=0), 0.01, sb, it), -1.5, 1.5)
    np.testing.assert_allclose(NetExtract(trained, (1, "Weights")), w, rtol=1e-6)  # stored as Real32
    np.testing.assert_allclose(NetExtract(trained, (1, "Biases")), b, rtol=1e-6)
    long = NetTrain(net, (x, y), All, Method=("SignSGD", {"WeightClipping": 1.5}), BatchSize=4,
                    MaxTrainingRounds=100, TrainingProgressReporting=None, RandomSeeding=1)
    assert np.abs(NetExtract(long["TrainedNet"], (1, "Weights"))).max() <= 1.5
    assert long["RoundLoss"] < 0.2 * long["RoundLossList"][0]


@pytest.mark.parametrize("method", [("SignSGD", {"WeightClipping": 0}), ("SignSGD", {"WeightClipping": -1}),
                                    ("SignSGD", {"Beta1": 0.9}), ("SignSGD", {"Momentum": "x"}), "Signum"])
def test_nettrain_signsgd_bad_suboptions(method):
    x, _, _, _ = _problem()
    with pytest.raises(LayerGraphError) as e:
        NetTrain(NetChain([LinearLayer(1)], Input=C), (x, x[:, :1]), Method=method, MaxTrainingRounds=1,
                 TrainingProgressReporting=None)
    assert e.value.identifier == "NetTrain::invmethod"
