"""SGDM's update as one compiled pass (kernels/cpu/update.py): numpy's numbers bit for bit, where it
does not apply numpy's operations as before, and torch's SGD with momentum over several steps."""
import numpy as np
import pytest
import torch

from layergraph.kernels.cpu.update import sgdm_update
from layergraph.train import solvers
from layergraph.train.solvers import SGDM, sgdm_step


def _numpy_sgdm(w, g, v, lr, mu):
    v *= mu
    v -= lr * g
    w += v


def _arrays(dtype, shape=(300, 70), seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(shape).astype(dtype) for _ in range(3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lr, mu", [(0.01, 0.9), (0.1, 0.0), (3, 0.5), (np.float32(0.02), np.float32(0.95))])
def test_the_kernel_gives_numpys_numbers(dtype, lr, mu):
    w, g, v = _arrays(dtype)
    w2, g2, v2 = (a.copy() for a in (w, g, v))
    for step in range(3):
        assert sgdm_update(w, g, v, lr, mu)
        _numpy_sgdm(w2, g2, v2, lr, mu)
        np.testing.assert_array_equal(v, v2)
        np.testing.assert_array_equal(w, w2)
        g = g2 = g * dtype(0.5) + dtype(step)
    assert w.dtype == v.dtype == dtype


def test_sgdm_step_takes_the_kernel_for_large_arrays_and_numpy_for_small(monkeypatch):
    calls = []
    import layergraph.kernels.cpu.update as update
    real = update.sgdm_update
    monkeypatch.setattr(update, "sgdm_update", lambda *a: calls.append(a[0].size) or real(*a))
    for shape in ((solvers._FUSED_FROM,), (solvers._FUSED_FROM - 1,)):
        w, g, v = _arrays(np.float32, shape)
        w2, v2 = w.copy(), v.copy()
        sgdm_step(w, g, v, 0.01, 0.9)
        _numpy_sgdm(w2, g, v2, 0.01, 0.9)
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(v, v2)
    assert calls == [solvers._FUSED_FROM]


@pytest.mark.parametrize("case", ["float64-rate-on-float32", "mixed-dtypes", "strided", "shape", "aliased", "ints"])
def test_where_it_does_not_apply_numpy_does_it(case):
    w, g, v = _arrays(np.float32)
    lr = 0.01
    if case == "float64-rate-on-float32":
        lr = np.float64(0.01)   # numpy computes lr * g in float64
    elif case == "mixed-dtypes":
        g = g.astype(np.float64)
    elif case == "strided":
        w, g, v = (np.asfortranarray(a) for a in (w, g, v))
    elif case == "shape":
        g = g[:1]   # broadcast by numpy
    elif case == "aliased":
        g = v
    elif case == "ints":
        w, g, v = (a.astype(np.int64) for a in (w, g, v))
    before = [a.copy() for a in (w, g, v)]
    assert not sgdm_update(w, g, v, lr, 0.9)
    for a, b in zip((w, g, v), before):
        np.testing.assert_array_equal(a, b)
    if case == "ints":
        return
    w2, g2, v2 = (a.copy() for a in (w, g, v))
    if case == "aliased":
        g2 = v2
    sgdm_step(w, g, v, lr, 0.9)
    _numpy_sgdm(w2, g2, v2, lr, 0.9)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(v, v2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgdm_matches_torch_sgd_with_momentum(dtype):
    """MATLAB's v <- mu v - lr g, w <- w + v is torch's b <- mu b + g, w <- w - lr b with v = -lr b
    at a constant rate: the same weights up to rounding."""
    r = np.random.default_rng(3)
    w = r.standard_normal((64, 100)).astype(dtype)
    grads = [r.standard_normal(w.shape).astype(dtype) for _ in range(5)]
    wt = torch.tensor(w.copy(), requires_grad=True)
    opt = torch.optim.SGD([wt], lr=0.05, momentum=0.9)
    solver, state = SGDM(momentum=0.9), {}
    for g in grads:
        solver.step(w, g, 0.05, state, 1)
        wt.grad = torch.tensor(g)
        opt.step()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w, wt.detach().numpy(), **tol)
