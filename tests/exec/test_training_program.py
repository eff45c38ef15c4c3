"""The training program (core/executor.py Executor._train_program, _backward_program): the same
activations, contexts, batch statistics, fusions and gradients as the executor's loops
(TRAIN_PROGRAM off), bit for bit, for the training fusions (fc -> ReLU, BN -> ReLU -> max pooling,
addition -> ReLU), kept outputs that unfuse them, dropout, input gradients, released contexts,
prediction's numbers with contexts, and the cases it leaves to the loop (the pixel-major plan,
a backward whose fusions were restored from an earlier pass)."""
import numpy as np
import pytest
from test_pixel_major_plan import residual_net

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


def mlp(clipped=False):
    act = (lambda n: L.clippedReluLayer(0.5, "Name", n)) if clipped else (lambda n: L.reluLayer("Name", n))
    return [L.featureInputLayer(7, "Normalization", "none", "Name", "in"),
            L.fullyConnectedLayer(9, "Name", "fc1"), act("r1"),
            L.fullyConnectedLayer(8, "Name", "fc2"), act("r2"),
            L.fullyConnectedLayer(3, "Name", "fc3"), L.softmaxLayer("Name", "sm")]


def _pass(ex, x, keep, input_grads, release, dropout=None, predicting=False, seeds=None):
    acts = ex.forward({"in": x}, training=True, keep=keep, rng=np.random.default_rng(11), dropout=dropout,
                      predicting=predicting)
    state = {"acts": acts, "stats": dict(ex.batch_stats), "fused": dict(ex._fused_into),
             "ctx": list(ex._ctx), "prog": ex._train_prog is not None,
             "ops": [(s.op.x_nhwc, s.op.y_nhwc, s.op.predicting) for s in ex.steps]}
    if seeds is None:
        [ref] = ex.output_refs()
        seeds = {ref: np.random.default_rng(5).standard_normal(acts[ref].shape).astype(ex.dtype)}
    state["grads"] = ex.backward(seeds, input_grads=input_grads, release=release)
    state["input_grads"] = dict(ex.input_grads)
    state["need_dx"] = [s.op.need_dx for s in ex.steps]
    return state


def _equal(a, b, what=""):
    if isinstance(a, dict):
        assert list(a) == list(b), what   # the same keys in the same order
        for k in a:
            _equal(a[k], b[k], f"{what} {k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for i, (u, v) in enumerate(zip(a, b)):
            _equal(u, v, f"{what} [{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert a == b, what


def _vs_loop(monkeypatch, ex, x, keep=None, input_grads=False, release=False, program=True, **kw):
    """One training pass and backward through the program, then through the loops on the same
    executor: everything the caller and backward see is the same. ``program``: whether the
    program is expected to run."""
    calls = []
    real = E.Executor._run_backward_program
    monkeypatch.setattr(E.Executor, "_run_backward_program", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = _pass(ex, x, keep, input_grads, release, **kw)
    monkeypatch.setattr(E.Executor, "_run_backward_program", real)
    assert got["prog"] == program and calls == ([1] if program else [])
    monkeypatch.setattr(E, "TRAIN_PROGRAM", False)
    want = _pass(ex, x, keep, input_grads, release, **kw)
    monkeypatch.setattr(E, "TRAIN_PROGRAM", True)
    assert not want["prog"]
    got.pop("prog"), want.pop("prog")
    _equal(got, want)
    return got


@pytest.mark.parametrize("keep", [None, {("r1", "out")}, {("bn1", "out")}, {("fc1", "out")}, {("mp", "out")},
                                  {("drop", "out"), ("r2", "out")}])
@pytest.mark.parametrize("input_grads", [False, True])
def test_training_program_equals_the_loops_on_a_cnn(monkeypatch, keep, input_grads):
    monkeypatch.setattr(E, "PIXEL_MAJOR_TRAINING", False)
    L.rng(0)
    ex = L.dlnetwork(cnn()).executor("cpu", np.float64)
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))
    got = _vs_loop(monkeypatch, ex, x, keep, input_grads)
    if keep is None:
        assert got["fused"] == {"r1": "bn1", "mp": "bn1", "r2": "fc1"}
    if keep == {("r1", "out")}:
        assert got["fused"] == {"r1": "bn1", "r2": "fc1"}   # a kept ReLU output: no pooling in the pass
    if keep == {("bn1", "out")}:
        assert "r1" not in got["fused"]
    assert "bn1" in got["stats"]
    assert ex._train_program_cache
    _vs_loop(monkeypatch, ex, x, keep, input_grads)   # again, from the cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clipped", [False, True])
@pytest.mark.parametrize("release", [False, True])
def test_training_program_equals_the_loops_on_an_mlp(monkeypatch, dtype, clipped, release):
    L.rng(0)
    ex = L.dlnetwork(mlp(clipped)).executor("cpu", dtype)
    x = (np.random.default_rng(2).standard_normal((6, 7)) * 3).astype(dtype)
    for input_grads in (False, True):
        got = _vs_loop(monkeypatch, ex, x, None, input_grads, release)
        assert got["fused"] == {"r1": "fc1", "r2": "fc2"}
        assert ("in", "out") in got["input_grads"] if input_grads else got["input_grads"] == {}
        assert got["need_dx"][1] == (input_grads,)   # the first layer's dx only when asked


@pytest.mark.parametrize("dropout", [None, True, False])
def test_dropout_flag_and_prediction_numbers(monkeypatch, dropout):
    monkeypatch.setattr(E, "PIXEL_MAJOR_TRAINING", False)
    L.rng(0)
    ex = L.dlnetwork(cnn()).executor("cpu", np.float32)
    x = np.random.default_rng(3).standard_normal((5, 3, 8, 8)).astype(np.float32)
    got = _vs_loop(monkeypatch, ex, x, dropout=dropout)
    # dropout=False: the pass without dropout (the trainer's pass for population statistics)
    a = ex.forward({"in": x}, training=True, rng=np.random.default_rng(11), dropout=False)
    b = ex.forward({"in": x}, training=True, rng=np.random.default_rng(11), dropout=False)
    _equal(a, b)
    assert (dropout is False) == all(np.array_equal(got["acts"][r], a[r]) for r in a)
    pred = _vs_loop(monkeypatch, ex, x, predicting=True)   # prediction's numbers, contexts kept: no fusion
    assert pred["fused"] == {} and pred["stats"] == {}
    np.testing.assert_allclose(next(iter(pred["acts"].values())),   # prediction folds BN into the weights
                               next(iter(ex.forward({"in": x}).values())), rtol=1e-5, atol=1e-6)


def test_residual_fusions_without_the_pixel_major_plan(monkeypatch):
    monkeypatch.setattr(E, "PIXEL_MAJOR_TRAINING", False)
    ex = residual_net().executor("cpu", np.float64)
    x = np.random.default_rng(4).standard_normal((3, 3, 12, 10))
    got = _vs_loop(monkeypatch, ex, x, input_grads=True, release=True)
    assert got["fused"]["b0r"] == "b0add" and got["fused"]["b1r"] == "b1add"


def test_the_pixel_major_plan_runs_the_loop(monkeypatch):
    ex = residual_net().executor("cpu", np.float32)
    if not ex._train_layout_plan():
        pytest.skip("no pixel-major training plan for this network here")
    x = np.random.default_rng(4).standard_normal((3, 3, 12, 10)).astype(np.float32)
    got = _vs_loop(monkeypatch, ex, x, program=False)
    assert any(pm for pm, _, _ in got["ops"]) or any(y for _, y, _ in got["ops"])


def test_an_lstm_on_sequences(monkeypatch):
    layers = [L.sequenceInputLayer(3, "Name", "in"), L.lstmLayer(5, "OutputMode", "last", "Name", "lstm"),
              L.fullyConnectedLayer(4, "Name", "fc"), L.reluLayer("Name", "r"),
              L.fullyConnectedLayer(2, "Name", "fc2"), L.softmaxLayer("Name", "sm")]
    L.rng(0)
    ex = L.dlnetwork(layers).executor("cpu", np.float64)
    _vs_loop(monkeypatch, ex, np.random.default_rng(6).standard_normal((4, 3, 7)), input_grads=True)


def test_a_backward_with_restored_fusions_runs_the_loop(monkeypatch):
    """What matlab/autodiff.py does: a pass's contexts and fusions kept, another pass, then the
    first one's backward with them put back: the loop (the program is the later pass's)."""
    L.rng(0)
    ex = L.dlnetwork(mlp()).executor("cpu", np.float64)
    g = np.random.default_rng(7)
    x1, x2 = g.standard_normal((6, 7)), g.standard_normal((6, 7))
    [ref] = ex.output_refs()
    y1 = ex.forward({"in": x1}, training=True)[ref]
    seed = g.standard_normal(y1.shape)
    want = ex.backward({ref: seed})
    ex.forward({"in": x1}, training=True)
    ctx, fused = ex._ctx, dict(ex._fused_into)
    ex.forward({"in": x2}, training=True)
    ex._ctx, ex._fused_into = ctx, fused
    calls = []
    real = E.Executor._run_backward_program
    monkeypatch.setattr(E.Executor, "_run_backward_program", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = ex.backward({ref: seed})
    assert calls == []
    _equal(got, want)


def test_with_values_and_errors(monkeypatch):
    L.rng(0)
    net = L.dlnetwork(mlp())
    ex = net.executor("cpu", np.float64)
    x = np.random.default_rng(8).standard_normal((6, 7))
    before = _vs_loop(monkeypatch, ex, x)
    ex.forward({"in": x}, training=True)
    assert ex._train_prog is not None
    graph = net._graph._copy()
    layer = graph.layer("fc2")
    graph._set_layer("fc2", layer.with_matlab_arrays(Bias=np.asarray(layer.Bias) + 1.0))
    new = ex.with_values(graph, {"fc2"})
    assert new._train_prog is None and not new.__dict__.get("_train_program_cache")
    after = _vs_loop(monkeypatch, new, x)   # the new steps' program (the old one holds the old steps)
    [ref] = ex.output_refs()
    assert not np.array_equal(after["acts"][ref], before["acts"][ref])
    again = _pass(ex, x, None, False, False)   # the old executor as it was
    assert again.pop("prog")
    _equal(again, before)
    with pytest.raises(LayerGraphError, match="No data for input layer 'in'"):
        ex.forward({"other": x}, training=True)
    with pytest.raises(LayerGraphError, match="backward needs a forward pass"):
        ex.backward({ref: x})   # the failed pass left no contexts
