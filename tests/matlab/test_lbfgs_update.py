"""lbfgsState / lbfgsupdate in custom loops: one iteration of trainnet's L-BFGS per call (the
same loss at every iteration as trainnet(..., trainingOptions("lbfgs")) from the same network
and loss), parameters as a dlarray (Rosenbrock: scipy's minimum), the state's properties and
value semantics, and bad input."""
import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, dlarray, dlfeval, dlgradient, dlnetwork, extractdata, featureInputLayer,
                               fullyConnectedLayer, lbfgsState, lbfgsupdate, mse, rng, tanhLayer, trainingOptions,
                               trainnet)

R = np.random.default_rng(4)


def _data(n=40):
    x = R.standard_normal((n, 2)).astype(np.float32)
    y = np.stack([np.sin(x[:, 0]) + 0.5 * x[:, 1], x[:, 0] * x[:, 1]], axis=1).astype(np.float32)
    return x, y


def _net():
    rng(0)
    return dlnetwork(LayerArray([featureInputLayer(2), fullyConnectedLayer(6), tanhLayer(), fullyConnectedLayer(2)]))


@pytest.mark.parametrize("method", ["weak-wolfe", "strong-wolfe", "backtracking"])
def test_custom_loop_follows_trainnet(method):
    x, y = _data()
    net = _net()
    X, T = dlarray(x.T, "CB"), dlarray(y.T, "CB")

    def loss_fn(Y, Tt):
        return mse(Y, Tt)
    iters = 6
    opts = trainingOptions("lbfgs", MaxIterations=iters, GradientTolerance=1e-30, StepTolerance=1e-30,
                           LineSearchMethod=method, Verbose=False)
    _, info = trainnet(x, y, net, loss_fn, opts)

    def model_loss(net, X, T):
        loss = loss_fn(net.forward(X)[0], T)
        return loss, dlgradient(loss, net.Learnables)
    state = lbfgsState()
    losses = []
    for _ in range(iters):
        net, state = lbfgsupdate(net, lambda n: dlfeval(model_loss, n, X, T), state, LineSearchMethod=method)
        assert state.LineSearchStatus == "completed"
        losses.append(float(extractdata(state.Loss).reshape(-1)[0]))
    np.testing.assert_allclose(losses, info.TrainingHistory.Loss, rtol=1e-4)
    assert losses[-1] < losses[0]
    # the state's gradients are those at the returned network
    _, g = dlfeval(model_loss, net, X, T)
    for a, b in zip(g, state.Gradients):
        np.testing.assert_allclose(extractdata(b.Value), extractdata(a.Value), rtol=1e-5, atol=1e-7)


def test_rosenbrock_parameters_reach_scipys_minimum():
    def rosen(x):
        return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

    def loss_grad(x):
        y = rosen(x)
        return y, dlgradient(y, x)
    x = dlarray(np.array([-1.2, 1.0]))
    state = lbfgsState(HistorySize=5)
    for _ in range(200):
        x, state = lbfgsupdate(x, lambda p: dlfeval(loss_grad, p), state)
        if state.LineSearchStatus == "failed" or float(np.linalg.norm(extractdata(state.Gradients))) < 1e-10:
            break
    ref = scipy_minimize(lambda v: 100 * (v[1] - v[0] ** 2) ** 2 + (1 - v[0]) ** 2, [-1.2, 1.0], method="L-BFGS-B")
    np.testing.assert_allclose(extractdata(x).reshape(-1), ref.x, atol=1e-4)
    assert float(extractdata(state.Loss).reshape(-1)[0]) < 1e-8


def test_state_properties_and_value_semantics():
    s = lbfgsState()
    assert (s.HistorySize, s.InitialInverseHessianFactor, s.Loss, s.LineSearchStatus) == (10, 1.0, [], "")
    s2 = lbfgsState(HistorySize=3, InitialInverseHessianFactor=0.5)
    assert (s2.HistorySize, s2.InitialInverseHessianFactor) == (3, 0.5)
    assert "HistorySize: 3" in repr(s2)
    x = dlarray(np.array([3.0, -2.0]))

    def quad(p):
        y = sum_sq(p)
        return y, dlgradient(y, p)
    x1, s3 = lbfgsupdate(x, lambda p: dlfeval(quad, p), s)
    assert s.Loss == [] and s3.Loss != []           # the old state is unchanged
    with pytest.raises(LayerGraphError, match="read-only"):
        s3.HistorySize = 4


def sum_sq(p):
    from layergraph.matlab import sum
    return sum(p * p, "all")


def test_bad_input():
    x = dlarray(np.array([1.0, 2.0]))
    with pytest.raises(LayerGraphError, match=r"Invalid value for 'HistorySize': 0. Expected a positive integer"):
        lbfgsState(HistorySize=0)
    with pytest.raises(LayerGraphError, match="'Foo' is not a recognized parameter"):
        lbfgsState(Foo=1)
    with pytest.raises(LayerGraphError, match="expected an lbfgsState object"):
        lbfgsupdate(x, lambda p: None, [])
    with pytest.raises(LayerGraphError, match="Invalid value for 'lossFcn'"):
        lbfgsupdate(x, 3, lbfgsState())
    with pytest.raises(LayerGraphError, match=r"Invalid value for 'LineSearchMethod': 'exact'"):
        lbfgsupdate(x, lambda p: None, lbfgsState(), LineSearchMethod="exact")
    with pytest.raises(LayerGraphError, match="must return the loss and the gradients"):
        lbfgsupdate(x, lambda p: dlfeval(lambda q: sum_sq(q), p), lbfgsState())
