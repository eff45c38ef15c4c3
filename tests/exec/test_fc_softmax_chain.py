"""A softmaxLayer after a run of fully connected layers, computed in the run's kernel call
(core/executor.py FC_SOFTMAX, program entry kind 4; kernels/cpu/dense.py _chain_forward's
softmax): softmax_forward's numbers bit for bit, one thread or split over the pool by rows or by
columns; torch's values; which runs take it in."""
import numpy as np
import pytest
import torch

import layergraph as L
import layergraph.core.executor as E
from layergraph.kernels.cpu import dense
from layergraph.kernels.cpu.softmax import softmax_forward

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # the NaN rows


def _chain(g, n, widths, dtype):
    x = (g.standard_normal((n, widths[0])) * 2).astype(dtype)
    ws = [(g.standard_normal((o, i)) / np.sqrt(i)).astype(dtype) for i, o in zip(widths, widths[1:])]
    bs = [g.standard_normal(o).astype(dtype) for o in widths[1:]]
    k = len(ws)
    relus = [True] * (k - 1) + [False]
    ceilings = [np.inf] * (k - 2) + [3.0, np.inf] if k > 1 else [np.inf]
    return x, ws, bs, relus, ceilings


@pytest.fixture(params=["one thread", "rows", "columns", "transposed"])
def split(request, monkeypatch):
    """One thread (float32 batches of at most 128 on the transposed route, dense._wx_rows), or split
    over two threads: by rows or by columns through BLAS (the transposed route off), or on the
    transposed route by 16 observations."""
    monkeypatch.setattr(dense, "_WX_MIN_OUT", 1)   # the transposed route at these widths too
    if request.param != "one thread":
        monkeypatch.setattr(dense._parallel, "threads", lambda: 2)
        monkeypatch.setattr(dense, "_chain_tried", lambda *a: None)   # no back-off: the same slices every call
        monkeypatch.setattr(dense, "_chain_serial_until", [0.0])
        monkeypatch.setattr(dense, "_MIN_COLUMN_WORK", 1)
        monkeypatch.setattr(dense, "CHAIN_COLUMNS", request.param == "columns")
        monkeypatch.setattr(dense, "WX", request.param == "transposed")
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5, 32, 41])
@pytest.mark.parametrize("widths", [(30, 10), (30, 40, 7), (784, 96, 64, 10)])
def test_the_chain_softmax_is_softmax_forward_of_the_chain(split, dtype, n, widths):
    g = np.random.default_rng(n + len(widths))
    x, ws, bs, relus, ceilings = _chain(g, n, widths, dtype)
    x[0, :3] = [np.inf, -np.inf, np.nan] if n > 3 else x[0, :3]   # rows of NaN too: the same NaN
    y = dense.fc_forward(x, ws, bs, relus, ceilings)
    got = dense.fc_forward(x, ws, bs, relus, ceilings, softmax=True)
    want = softmax_forward(y)
    assert got.dtype == want.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert got is not y


def test_softmax_needs_a_chain():
    x, w = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match="softmax=True takes a chain"):
        dense.fc_forward(x, w, None, softmax=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_chain_softmax_matches_torch(split, dtype):
    g = np.random.default_rng(3)
    x, ws, bs, relus, ceilings = _chain(g, 32, (50, 64, 48, 10), dtype)
    got = dense.fc_forward(x, ws, bs, relus, ceilings, softmax=True)
    h = torch.tensor(x, dtype=torch.float64)
    for w, b, r, c in zip(ws, bs, relus, ceilings):
        h = torch.nn.functional.linear(h, torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
        if r:
            h = torch.clamp(torch.relu(h), max=c)
    want = torch.softmax(h, dim=1).numpy()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, want, **tol)


def mlp(width=40, image=False):
    first = (L.imageInputLayer([3, 2, 5], "Normalization", "none", "Name", "in") if image
             else L.featureInputLayer(30, "Normalization", "none", "Name", "in"))
    return [first, L.fullyConnectedLayer(width, "Name", "fc1"), L.reluLayer("Name", "r1"),
            L.fullyConnectedLayer(width, "Name", "fc2"), L.clippedReluLayer(2.0, "Name", "r2"),
            L.fullyConnectedLayer(5, "Name", "fc3"), L.softmaxLayer("Name", "sm")]


def _kinds(ex, keep=frozenset()):
    return [(e[0], e[1].name) for e in ex._program(set(keep))[0]]


def _on_off(monkeypatch, ex, x, keep=None):
    """The program with the softmax in the chain, against the program with its own op and
    against the loop: the same refs, shapes and bits."""
    got = ex.forward({"in": x}, keep=keep)
    monkeypatch.setattr(E, "FC_SOFTMAX", False)
    ex._program_cache.clear()
    own = ex.forward({"in": x}, keep=keep)
    monkeypatch.setattr(E, "PROGRAM", False)
    loop = ex.forward({"in": x}, keep=keep)
    monkeypatch.setattr(E, "PROGRAM", True)
    monkeypatch.setattr(E, "FC_SOFTMAX", True)
    ex._program_cache.clear()
    for other in (own, loop):
        assert list(got) == list(other)
        for ref in got:
            assert got[ref].shape == other[ref].shape
            np.testing.assert_array_equal(got[ref], other[ref], err_msg=str(ref))
    return got


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("image", [False, True])
def test_the_program_takes_the_softmax_in(monkeypatch, dtype, image):
    L.rng(0)
    ex = L.dlnetwork(mlp(image=image)).executor("cpu", dtype)
    assert _kinds(ex) == [(0, "in"), (4, "fc1")]
    x = np.random.default_rng(1).standard_normal((6, 5, 3, 2) if image else (6, 30)).astype(dtype)
    got = _on_off(monkeypatch, ex, x)
    assert got[("sm", "out")].shape == ((6, 5, 1, 1) if image else (6, 5))
    # the softmax's input kept: the chain ends before it; its output kept: still taken in
    assert _kinds(ex, {("fc3", "out")}) == [(0, "in"), (3, "fc1"), (2, "sm")]
    assert _kinds(ex, {("sm", "out")}) == [(0, "in"), (4, "fc1")]
    for keep in ({("fc3", "out")}, {("sm", "out")}, {("r1", "out")}):
        _on_off(monkeypatch, ex, x, keep)


def test_a_second_reader_or_a_lone_layer_keeps_the_softmax_op(monkeypatch):
    lg = L.layerGraph([L.featureInputLayer(8, "Normalization", "none", "Name", "in"),
                       L.fullyConnectedLayer(6, "Name", "fc1"), L.fullyConnectedLayer(4, "Name", "fc2"),
                       L.softmaxLayer("Name", "sm"), L.additionLayer(2, "Name", "add")])
    lg = L.connectLayers(lg, "fc2", "add/in2")
    L.rng(0)
    ex = L.dlnetwork(lg).executor("cpu", np.float64)
    assert _kinds(ex) == [(0, "in"), (3, "fc1"), (2, "sm"), (2, "add")]
    _on_off(monkeypatch, ex, np.random.default_rng(2).standard_normal((5, 8)))
    one = [L.featureInputLayer(8, "Normalization", "none", "Name", "in"), L.fullyConnectedLayer(4, "Name", "fc1"),
           L.softmaxLayer("Name", "sm")]
    ex = L.dlnetwork(one).executor("cpu", np.float64)
    assert _kinds(ex) == [(0, "in"), (2, "fc1"), (2, "sm")]   # one layer: no chain to take it in


def test_the_mlp_at_batch_32_split_matches_torch(monkeypatch):
    monkeypatch.setattr(dense._parallel, "threads", lambda: 2)
    monkeypatch.setattr(dense, "_chain_tried", lambda *a: None)
    monkeypatch.setattr(dense, "_chain_serial_until", [0.0])
    L.rng(0)
    ex = L.dlnetwork(mlp(width=512)).executor("cpu", np.float32)
    x = np.random.default_rng(5).standard_normal((32, 30)).astype(np.float32)
    y = ex.forward({"in": x})[("sm", "out")]
    monkeypatch.setattr(E, "FC_SOFTMAX", False)
    ex._program_cache.clear()
    np.testing.assert_array_equal(y, ex.forward({"in": x})[("sm", "out")])   # the same split, its own op
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
