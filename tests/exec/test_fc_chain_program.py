"""The prediction program's fully connected runs (core/executor.py ``_fc_chains``: layers one after
another, each the only reader of the one before, in one kernel call): which runs are merged (not
across a kept activation, a second reader, a sequence input), the loop's values and shapes, and
torch's linear / relu values at the MLP's batch 32 with the chain split over the pool."""
import numpy as np
import pytest
import torch

from test_prediction_program import _both as _vs_loop

import layergraph as L
from layergraph.kernels.cpu import dense


def mlp(width=40):
    return [L.featureInputLayer(30, "Normalization", "none", "Name", "in"),
            L.fullyConnectedLayer(width, "Name", "fc1"), L.reluLayer("Name", "r1"),
            L.fullyConnectedLayer(width, "Name", "fc2"), L.clippedReluLayer(2.0, "Name", "r2"),
            L.fullyConnectedLayer(5, "Name", "fc3"), L.softmaxLayer("Name", "sm")]


def _kinds(ex, keep=frozenset()):
    return [(e[0], e[1].name) for e in ex._program(set(keep))[0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_run_of_fc_layers_is_one_entry_with_the_loops_values(monkeypatch, dtype):
    L.rng(0)
    ex = L.dlnetwork(mlp()).executor("cpu", dtype)
    assert _kinds(ex) == [(0, "in"), (4, "fc1")]   # the softmax in the chain's call (FC_SOFTMAX)
    x = np.random.default_rng(1).standard_normal((6, 30)).astype(dtype)
    _vs_loop(ex, x, None, monkeypatch)
    # a kept activation ends the run there (a kept fc output also unfuses its ReLU)
    assert _kinds(ex, {("fc2", "out")}) == [(0, "in"), (3, "fc1"), (2, "r2"), (2, "fc3"), (2, "sm")]
    assert _kinds(ex, {("r1", "out")}) == [(0, "in"), (1, "fc1"), (4, "fc2")]
    for keep in ({("fc2", "out")}, {("r1", "out")}, {("r2", "out")}):
        _vs_loop(ex, x, keep, monkeypatch)


def test_a_second_reader_ends_the_run(monkeypatch):
    lg = L.layerGraph([L.featureInputLayer(8, "Normalization", "none", "Name", "in"),
                       L.fullyConnectedLayer(6, "Name", "fc1"), L.reluLayer("Name", "r1"),
                       L.fullyConnectedLayer(6, "Name", "fc2"), L.additionLayer(2, "Name", "add"),
                       L.fullyConnectedLayer(3, "Name", "fc3"), L.fullyConnectedLayer(2, "Name", "fc4"),
                       L.softmaxLayer("Name", "sm")])
    lg = L.connectLayers(lg, "r1", "add/in2")
    L.rng(0)
    ex = L.dlnetwork(lg).executor("cpu", np.float64)
    assert _kinds(ex) == [(0, "in"), (1, "fc1"), (2, "fc2"), (2, "add"), (4, "fc3")]
    _vs_loop(ex, np.random.default_rng(2).standard_normal((5, 8)), None, monkeypatch)


def test_image_input_keeps_its_shapes(monkeypatch):
    layers = [L.imageInputLayer([4, 4, 2], "Normalization", "none", "Name", "in"),
              L.fullyConnectedLayer(7, "Name", "fc1"), L.reluLayer("Name", "r1"),
              L.fullyConnectedLayer(3, "Name", "fc2")]
    L.rng(0)
    ex = L.dlnetwork(layers).executor("cpu", np.float64)
    assert _kinds(ex) == [(0, "in"), (3, "fc1")]
    got = _vs_loop(ex, np.random.default_rng(3).standard_normal((4, 2, 4, 4)), None, monkeypatch)
    assert next(iter(got.values())).shape == (4, 3, 1, 1)


def test_fc_on_sequences_is_not_merged(monkeypatch):
    layers = [L.sequenceInputLayer(3, "Name", "in"), L.fullyConnectedLayer(4, "Name", "fc1"),
              L.fullyConnectedLayer(2, "Name", "fc2")]
    L.rng(0)
    ex = L.dlnetwork(layers).executor("cpu", np.float64)
    assert 3 not in [k for k, _ in _kinds(ex)]
    _vs_loop(ex, np.random.default_rng(4).standard_normal((2, 3, 5)), None, monkeypatch)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_chain_matches_torch_at_batch_32(monkeypatch, dtype):
    """The MLP's shape at batch 32: the chain split over two threads (forced: no back-off)."""
    monkeypatch.setattr(dense._parallel, "threads", lambda: 2)
    monkeypatch.setattr(dense, "_CHAIN_LATE", 1e9)
    monkeypatch.setattr(dense, "_chain_serial_until", [0.0])
    L.rng(0)
    ex = L.dlnetwork(mlp(width=512)).executor("cpu", dtype)
    x = np.random.default_rng(5).standard_normal((32, 30)).astype(dtype)
    calls = []
    real = dense.batch_parallel
    monkeypatch.setattr(dense, "batch_parallel", lambda *a: calls.append(a[1:]) or real(*a))
    y = ex.forward({"in": x})[("sm", "out")]
    assert calls == ([(2, 1)] if dense.CHAIN_COLUMNS else [(32, 16)])   # one hand-off for the chain
    P = ex.params
    h = torch.tensor(x, dtype=torch.float64)
    for name, act in (("fc1", torch.relu), ("fc2", lambda t: torch.nn.functional.hardtanh(t, 0.0, 2.0)),
                      ("fc3", lambda t: torch.softmax(t, dim=1))):
        h = act(torch.nn.functional.linear(h, torch.tensor(P[name]["Weights"], dtype=torch.float64),
                                           torch.tensor(P[name]["Bias"].reshape(-1), dtype=torch.float64)))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(y, h.numpy(), **tol)
    _vs_loop(ex, x, None, monkeypatch, exact=False)
