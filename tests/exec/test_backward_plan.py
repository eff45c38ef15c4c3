"""backward outside the training program on its worked-out steps (core/executor.py BACKWARD_PLAN,
Executor._backward_entries): the same gradients, input gradients, contexts left and op flags as
the loop, bit for bit, in the pixel-major training plan (residual fusions, converted inputs whose
gradients go back to their layouts, kept outputs that unfuse a fusion), with and without
released contexts, and again from the cache; a pass with other fusions or layouts gets its own
steps."""
import numpy as np
import pytest
from test_pixel_major_plan import residual_net
from test_pixel_major_training import converted_net
from test_training_program import _equal, _pass

import layergraph.core.executor as E


def _vs_loop(monkeypatch, ex, x, keep, input_grads, release):
    calls = []
    real = E.Executor._run_backward_entries
    monkeypatch.setattr(E.Executor, "_run_backward_entries", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = _pass(ex, x, keep, input_grads, release)
    monkeypatch.setattr(E.Executor, "_run_backward_entries", real)
    assert not got["prog"] and calls == [1]   # the pixel-major plan: no training program, the backward's steps
    monkeypatch.setattr(E, "BACKWARD_PLAN", False)
    want = _pass(ex, x, keep, input_grads, release)
    monkeypatch.setattr(E, "BACKWARD_PLAN", True)
    _equal(got, want)
    return got


@pytest.mark.parametrize("keep", [None, {("b0n2", "out")}, {("b1add", "out")}])
@pytest.mark.parametrize("input_grads", [False, True])
@pytest.mark.parametrize("release", [False, True])
def test_the_backward_steps_equal_the_loop_on_a_residual_net(monkeypatch, keep, input_grads, release):
    net = residual_net()
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan()
    x = np.random.default_rng(1).standard_normal((3, 3, 12, 10))
    _vs_loop(monkeypatch, ex, x, keep, input_grads, release)
    _vs_loop(monkeypatch, ex, x, keep, input_grads, release)   # again, from the cache
    assert ex._backward_cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_grads", [False, True])
def test_the_backward_steps_turn_converted_gradients_back(monkeypatch, dtype, input_grads):
    ex = converted_net().executor("cpu", dtype)
    x = np.random.default_rng(10).standard_normal((3, 3, 6, 6)).astype(dtype)
    _vs_loop(monkeypatch, ex, x, {("r2", "out")}, input_grads, False)
    assert ex._train_converted == {"c1": [(0, False)], "add": [(0, True)], "ap": [(0, False)]}


def test_passes_with_other_fusions_get_their_own_steps(monkeypatch):
    ex = residual_net().executor("cpu", np.float64)
    x = np.random.default_rng(2).standard_normal((2, 3, 12, 10))
    for keep in (None, {("b0n2", "out")}, None):
        _vs_loop(monkeypatch, ex, x, keep, False, True)
    assert len(ex._backward_cache) == 2
