"""The prediction program (core/executor.py Executor._program): the same activations, the same
refs returned and the same errors as the executor's loop, for fused chains (fc -> ReLU, conv ->
BN -> ReLU -> max pooling), kept links that unfuse a chain, and a changed network's executor."""
import numpy as np
import pytest

import layergraph as L
import layergraph.core.executor as E
from layergraph.core.errors import LayerGraphError


def cnn():
    return [L.imageInputLayer([8, 8, 3], "Normalization", "none", "Name", "in"),
            L.convolution2dLayer(3, 4, "Padding", 1, "Name", "c1"), L.batchNormalizationLayer("Name", "bn1"),
            L.reluLayer("Name", "r1"), L.maxPooling2dLayer(2, "Stride", 2, "Name", "mp"),
            L.dropoutLayer(0.3, "Name", "drop"),
            L.fullyConnectedLayer(6, "Name", "fc1"), L.reluLayer("Name", "r2"),
            L.fullyConnectedLayer(3, "Name", "fc2"), L.softmaxLayer("Name", "sm")]


def mlp():
    return [L.featureInputLayer(5, "Normalization", "none", "Name", "in"),
            L.fullyConnectedLayer(7, "Name", "fc1"), L.reluLayer("Name", "r1"),
            L.fullyConnectedLayer(3, "Name", "fc2"), L.softmaxLayer("Name", "sm")]


def _both(ex, x, keep, monkeypatch, exact=True):
    """The program's activations against the loop's (PROGRAM off): the same refs and shapes, the
    same values (``exact``: to the bit)."""
    got = ex.forward({"in": x}, keep=keep)
    monkeypatch.setattr(E, "PROGRAM", False)
    want = ex.forward({"in": x}, keep=keep)
    monkeypatch.setattr(E, "PROGRAM", True)
    assert set(got) == set(want)
    for ref in want:
        assert got[ref].shape == want[ref].shape
        if exact:
            np.testing.assert_array_equal(got[ref], want[ref], err_msg=str(ref))
        else:
            np.testing.assert_allclose(got[ref], want[ref], rtol=1e-5, atol=1e-6, err_msg=str(ref))
    return got


@pytest.mark.parametrize("pixel_major", [True, False])
@pytest.mark.parametrize("keep", [None, {("r1", "out")}, {("bn1", "out"), ("fc1", "out")}, {("mp", "out")}])
def test_program_equals_the_loop_on_a_cnn(monkeypatch, pixel_major, keep):
    monkeypatch.setattr(E, "PIXEL_MAJOR", pixel_major)
    L.rng(0)
    ex = L.dlnetwork(cnn()).executor("cpu", np.float64)
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))
    _both(ex, x, keep, monkeypatch)
    assert ex._program_cache   # the loop's decisions, worked out once per keep
    _both(ex, x, keep, monkeypatch)   # and run again from the cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_program_equals_the_loop_on_an_mlp(monkeypatch, dtype):
    L.rng(0)
    ex = L.dlnetwork(mlp()).executor("cpu", dtype)
    x = np.random.default_rng(2).standard_normal((6, 5)).astype(dtype)
    for keep in (None, {("fc1", "out")}, {("r1", "out")}):
        _both(ex, x, keep, monkeypatch)


def test_program_after_a_training_pass_and_with_new_values(monkeypatch):
    L.rng(0)
    net = L.dlnetwork(mlp())
    ex = net.executor("cpu", np.float64)
    x = np.random.default_rng(3).standard_normal((4, 5))
    before = _both(ex, x, None, monkeypatch)
    ex.forward({"in": x}, training=True, predicting=True)
    [ref] = ex.output_refs()
    np.testing.assert_array_equal(ex.forward({"in": x})[ref], before[ref])
    graph = net._graph._copy()
    layer = graph.layer("fc2")
    graph._set_layer("fc2", layer.with_matlab_arrays(Bias=np.asarray(layer.Bias) + 1.0))
    new = ex.with_values(graph, {"fc2"})
    after = _both(new, x, None, monkeypatch)
    assert not np.array_equal(after[ref], before[ref])
    np.testing.assert_array_equal(ex.forward({"in": x})[ref], before[ref])   # the old executor as it was


def test_program_names_a_missing_input():
    L.rng(0)
    ex = L.dlnetwork(mlp()).executor("cpu", np.float64)
    with pytest.raises(LayerGraphError, match="No data for input layer 'in'"):
        ex.forward({"other": np.zeros((2, 5))})
