"""The L-BFGS solver: the optimizer (two-loop recursion against the dense BFGS update, the line
searches' conditions, convergence against known optima and scipy), and trainnet with
trainingOptions("lbfgs"): options, display, verbose table, TrainingInfo, trainNetwork's refusal."""
import math

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize
from scipy.optimize import rosen, rosen_der

from layergraph import (LayerGraphError, batchNormalizationLayer, classificationLayer, featureInputLayer,
                        fullyConnectedLayer, reluLayer, rng, softmaxLayer, trainingOptions, trainnet, trainNetwork)
from layergraph.matlab.categorical import categorical
from layergraph.train.lbfgs import C1, LBFGSOptions, minimize, two_loop


def _run(fg, x0, **kw):
    """Every state of a run: [(x, f, g)], and the stop reason."""
    states, st = [], {}
    gen = minimize(fg, x0, LBFGSOptions(**kw), st)
    f0, g0 = fg(np.asarray(x0, float))
    states.append((np.asarray(x0, float), f0, g0))
    try:
        while True:
            next(gen)
            states.append((st["x"].copy(), st["f"], st["g"].copy()))
    except StopIteration as done:
        return states, done.value


def test_two_loop_is_the_dense_bfgs_inverse_hessian():
    g = np.random.default_rng(0)
    n = 6
    S = [g.standard_normal(n) for _ in range(4)]
    A = g.standard_normal((n, n))
    A = A @ A.T + n * np.eye(n)
    Y = [A @ s for s in S]             # curvature pairs of a convex quadratic: s'y > 0
    gamma = float(S[-1] @ Y[-1] / (Y[-1] @ Y[-1]))
    H = gamma * np.eye(n)
    for s, y in zip(S, Y):
        rho = 1 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    v = g.standard_normal(n)
    np.testing.assert_allclose(two_loop(v, S, Y, gamma), H @ v, rtol=1e-10)


@pytest.mark.parametrize("search", ["weak-wolfe", "strong-wolfe", "backtracking"])
def test_rosenbrock_reaches_its_minimum_as_scipy_does(search):
    x0 = np.array([-1.2, 1.0, -0.5, 0.3])
    states, reason = _run(lambda x: (rosen(x), rosen_der(x)), x0, line_search=search, max_iterations=500,
                          gradient_tolerance=1e-8, step_tolerance=0)
    assert reason == "Met gradient tolerance"
    ref = scipy_minimize(rosen, x0, jac=rosen_der, method="L-BFGS-B", options={"maxcor": 10, "gtol": 1e-10})
    np.testing.assert_allclose(states[-1][0], ref.x, atol=1e-6)
    np.testing.assert_allclose(states[-1][0], np.ones(4), atol=1e-6)
    # every step: sufficient decrease; with a Wolfe search also the curvature condition (s'y > 0)
    for (x, f, g), (x1, f1, g1) in zip(states, states[1:]):
        s = x1 - x
        assert f1 <= f + C1 * float(g @ s) + 1e-15
        if search != "backtracking":
            assert float(s @ (g1 - g)) > 0
    assert len(states) - 1 < 100


def test_convex_quadratic_converges_to_the_solution():
    g = np.random.default_rng(2)
    A = g.standard_normal((8, 8))
    A = A @ A.T + np.eye(8)
    b = g.standard_normal(8)
    states, reason = _run(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(8), gradient_tolerance=1e-6,
                          step_tolerance=0, history_size=10)
    np.testing.assert_allclose(states[-1][0], np.linalg.solve(A, b), atol=1e-5)
    assert reason == "Met gradient tolerance"


def test_limits_and_stop_reasons():
    fg = lambda x: (rosen(x), rosen_der(x))  # noqa: E731
    states, reason = _run(fg, np.array([-1.2, 1.0]), max_iterations=3)
    assert reason == "Max iterations completed" and len(states) == 4
    _, reason = _run(fg, np.array([-1.2, 1.0]), step_tolerance=1e-1)
    assert reason == "Met step tolerance"
    # a gradient of the wrong sign: no step decreases f, the search gives up, the point stays
    states, reason = _run(lambda x: (float(x @ x), -2 * x), np.array([1.0]), max_line_search_iterations=5)
    assert reason == "Line search failed" and len(states) == 1


# -- trainnet ---------------------------------------------------------------------------------------------
def _regression():
    g = np.random.default_rng(0)
    X = g.standard_normal((200, 3))
    T = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * g.standard_normal((200, 1))
    return X, T


def test_trainnet_lbfgs_linear_regression_reaches_least_squares(capsys):
    rng(0)
    X, T = _regression()
    opts = trainingOptions("lbfgs", GradientTolerance=1e-6, VerboseFrequency=2)
    net, info = trainnet(X, T, [featureInputLayer(3, Normalization="none"), fullyConnectedLayer(1)], "mse", opts)
    A = np.hstack([X, np.ones((200, 1))])
    sol = np.linalg.lstsq(A, T, rcond=None)[0].ravel()
    L = {(r[0], r[1]): r[2] for r in net.Learnables}
    np.testing.assert_allclose(np.ravel(L[("fc", "Weights")]), sol[:3], atol=1e-4)
    np.testing.assert_allclose(np.ravel(L[("fc", "Bias")]), sol[3:], atol=1e-4)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "    Iteration    TimeElapsed    TrainingLoss    GradientNorm    StepNorm"
    assert out[1] == "    _________    ___________    ____________    ____________    ________"
    assert out[-1] == "Training stopped: Met gradient tolerance"
    h = info.TrainingHistory
    assert h.columns == ("Iteration", "Loss", "GradientNorm", "StepNorm")
    rows = list(h)
    assert rows[-1][2] <= 1e-6 < rows[-2][2]
    assert info.StopReason == "Met gradient tolerance" and info.OutputNetworkIteration == rows[-1][0]
    row1 = out[2].split()
    assert row1[0] == "1" and float(row1[2]) == pytest.approx(rows[0][1], rel=1e-4)


def _softmax_objective(X, Y):
    n, c = X.shape
    k = Y.shape[1]

    def f(theta):
        W, b = theta[:k * c].reshape(k, c), theta[k * c:]
        z = X @ W.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        loss = -np.sum(Y * logp) / n
        dz = (p - Y) / n
        return loss, np.concatenate([(dz.T @ X).ravel(), dz.sum(axis=0)])
    return f


def test_trainnet_lbfgs_softmax_regression_matches_scipy():
    rng(1)
    g = np.random.default_rng(1)
    X = g.standard_normal((150, 4))
    labels = np.argmax(X @ g.standard_normal((4, 3)) + g.standard_normal((150, 3)), axis=1)   # not separable
    T = categorical(labels.astype(str))
    layers = [featureInputLayer(4, Normalization="none"), fullyConnectedLayer(3), softmaxLayer()]
    net, info = trainnet(X, T, layers, "crossentropy",
                         trainingOptions("lbfgs", Verbose=False, GradientTolerance=1e-7, StepTolerance=0))
    Y = np.eye(3)[labels]
    f = _softmax_objective(X, Y)
    ref = scipy_minimize(f, np.zeros(15), jac=True, method="L-BFGS-B", options={"maxcor": 10, "gtol": 1e-10})
    ours = list(info.TrainingHistory)[-1][1]
    assert ours == pytest.approx(ref.fun, abs=1e-5)
    L = {(r[0], r[1]): np.asarray(r[2], dtype=float) for r in net.Learnables}
    theta = np.concatenate([L[("fc", "Weights")].ravel(), L[("fc", "Bias")].ravel()])
    assert f(theta)[0] == pytest.approx(ref.fun, abs=1e-5)
    W, b = ref.x[:12].reshape(3, 4), ref.x[12:]
    z_ref, z = X @ W.T + b, X @ L[("fc", "Weights")].T + L[("fc", "Bias")].ravel()
    p_ref = np.exp(z_ref - z_ref.max(1, keepdims=True))
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), p_ref / p_ref.sum(1, keepdims=True), atol=1e-3)


def test_trainnet_lbfgs_with_validation_metrics_batchnorm(capsys):
    rng(2)
    X, T = _regression()
    layers = [featureInputLayer(3), fullyConnectedLayer(8), batchNormalizationLayer(), reluLayer(),
              fullyConnectedLayer(1)]
    opts = trainingOptions("lbfgs", MaxIterations=30, ValidationData=(X[:50], T[:50]), ValidationFrequency=10,
                           Metrics="rmse", VerboseFrequency=10, LineSearchMethod="strong-wolfe")
    net, info = trainnet(X, T, layers, "mse", opts)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Iteration", "TimeElapsed", "TrainingLoss", "ValidationLoss", "GradientNorm",
                              "StepNorm", "TrainingRMSE", "ValidationRMSE"]
    assert out[2].split()[0] == "0"                       # the validation before training
    assert out[-1].startswith("Training stopped: ")
    rows = list(info.TrainingHistory)
    assert info.TrainingHistory.columns == ("Iteration", "Loss", "GradientNorm", "StepNorm", "RMSE")
    assert rows[-1][1] < rows[0][1] / 5
    last = rows[-1][0]
    expected = [0] + [i for i in (10, 20, 30) if i <= last] + ([last] if last % 10 else [])
    assert [r[0] for r in info.ValidationHistory] == expected
    P = {(r[0], r[1]): np.asarray(r[2]) for r in net.State}
    assert np.all(np.isfinite(P[("batchnorm", "TrainedMean")]))


def test_options_defaults_display_and_errors():
    o = trainingOptions("lbfgs")
    assert (o.MaxIterations, o.LineSearchMethod, o.HistorySize, o.InitialInverseHessianFactor,
            o.MaxNumLineSearchIterations, o.GradientTolerance, o.StepTolerance) == (1000, "weak-wolfe", 10, 1, 20,
                                                                                 1e-5, 1e-5)
    text = str(o)
    assert text.startswith("  TrainingOptionsLBFGS with properties:\n\n                   MaxIterations: 1000\n")
    assert "LineSearchMethod: 'weak-wolfe'" in text and "MiniBatchSize" not in text and "InitialLearnRate" not in text
    with pytest.raises(LayerGraphError, match="'InitialLearnRate' is not an option for solver 'lbfgs'"):
        trainingOptions("lbfgs", InitialLearnRate=0.1)
    with pytest.raises(LayerGraphError, match="LineSearchMethod"):
        trainingOptions("lbfgs", LineSearchMethod="exact")
    with pytest.raises(LayerGraphError, match="'HistorySize' is not an option for solver 'adam'"):
        trainingOptions("adam", HistorySize=5)
    with pytest.raises(LayerGraphError, match="Unrecognized property 'MaxEpochs'"):
        o.MaxEpochs = 3
    o.HistorySize = 5
    assert o.HistorySize == 5


def test_trainnetwork_refuses_lbfgs():
    X, T = _regression()
    labels = categorical((T.ravel() > 0).astype(int))
    layers = [featureInputLayer(3), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    with pytest.raises(LayerGraphError, match="not supported by trainNetwork.*use the trainnet function"):
        trainNetwork(X, labels, layers, trainingOptions("lbfgs"))


def test_output_fcn_stops_lbfgs():
    rng(0)
    X, T = _regression()
    seen = []

    def stop(info):
        seen.append(info.Iteration)
        return info.State == "iteration" and info.Iteration >= 2

    net, info = trainnet(X, T, [featureInputLayer(3), fullyConnectedLayer(1)], "mse",
                         trainingOptions("lbfgs", Verbose=False, OutputFcn=stop))
    assert info.StopReason == "Stopped by OutputFcn" and len(list(info.TrainingHistory)) == 2
    assert math.isfinite(list(info.TrainingHistory)[-1][1])
