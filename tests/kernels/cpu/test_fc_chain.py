"""fc_forward on a chain of layers (kernels/cpu/dense.py ``_chain_forward``: lists of weights, each
layer's y the next one's x; split over the pool by output columns with the threads waiting for a
layer's columns before the next (``_chain_columns``, CHAIN_COLUMNS) or by rows, each thread its
rows through every layer): torch's linear / relu / hardtanh values, float32 and float64, on one
thread and split both ways; the same values as the layers one by one; the fall-back to one thread
after a late worker or a wait that yielded; BLAS's thread count restored; clear errors."""
import threading
import time

import numpy as np
import pytest
import torch

from layergraph.kernels.cpu import _spin, dense
from layergraph.kernels.cpu.dense import fc_forward


def _chain(dtype, n, sizes=(300, 200, 150, 10), seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, sizes[0])).astype(dtype)
    ws = [(g.standard_normal((o, i)) / np.sqrt(i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [(0.1 * g.standard_normal(o)).astype(dtype) for o in sizes[1:]]
    return x, ws, bs


def _torch(x, ws, bs, relus, ceilings):
    h = torch.tensor(x, dtype=torch.float64)
    for w, b, r, c in zip(ws, bs, relus, ceilings):
        h = torch.nn.functional.linear(h, torch.tensor(w, dtype=torch.float64),
                                       None if b is None else torch.tensor(b, dtype=torch.float64))
        if r:
            h = torch.relu(h) if c == np.inf else torch.nn.functional.hardtanh(h, 0.0, c)
    return h.numpy()


@pytest.fixture
def split(monkeypatch):
    """The chain split at any size (as at batch 32 of the MLP), on 2 or 3 threads, by columns or by
    rows through BLAS (the transposed small-batch route off), or with ``wx`` on the transposed
    route (dense._wx_rows, by 16 observations), never sent to one thread by a late start."""
    def use(nt, columns=True, wx=False):
        monkeypatch.setattr(dense, "WX", wx)
        monkeypatch.setattr(dense, "_WX_MIN_OUT", 1)   # on that route every layer, the chain's last ones alone too
        monkeypatch.setattr(dense._parallel, "threads", lambda: nt)
        monkeypatch.setattr(dense, "_MIN_COLUMN_WORK", 0)
        monkeypatch.setattr(dense, "_CHAIN_LATE", 1e9)
        monkeypatch.setattr(dense, "_chain_serial_until", [0.0])
        monkeypatch.setattr(dense, "_chain_backoff", [dense._CHAIN_BACKOFF])
        monkeypatch.setattr(dense, "_CHAIN_COLD", 1e9)   # every try counts (none after a long sleep)
        monkeypatch.setattr(dense, "CHAIN_COLUMNS", columns)
    return use


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nt", [1, 2, 3])
@pytest.mark.parametrize("n", [5, 32, 41])
@pytest.mark.parametrize("route", ["columns", "rows", "wx"])
def test_chain_matches_torch_and_the_layers_one_by_one(split, dtype, nt, n, route):
    split(nt, route == "columns", wx=route == "wx")
    x, ws, bs = _chain(dtype, n)
    relus, ceilings = [True, True, False], [np.inf, 6.0, np.inf]
    bs[1] = None
    y = fc_forward(x, ws, bs, relu=relus, ceiling=ceilings)
    assert y.shape == (n, 10) and y.dtype == dtype
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, _torch(x, ws, bs, relus, ceilings), **tol)
    h = x
    for w, b, r, c in zip(ws, bs, relus, ceilings):
        h = fc_forward(h, w, b, relu=r, ceiling=c)
    if dtype == np.float64:
        np.testing.assert_allclose(y, h, rtol=1e-13, atol=1e-13)
    else:   # BLAS may round a product of fewer rows differently (and the transposed route's sums in their order)
        np.testing.assert_allclose(y, h, rtol=1e-5, atol=1e-5 if route == "wx" else 1e-6)


@pytest.mark.parametrize("wx", [False, True])
def test_one_thread_chain_is_the_layers_bit_for_bit(split, wx):
    split(1, wx=wx)
    for dtype in (np.float32, np.float64):
        x, ws, bs = _chain(dtype, 32, seed=1)
        y = fc_forward(x, ws, bs, relu=[True, False, True], ceiling=[np.inf] * 3)
        h = x
        for w, b, r in zip(ws, bs, (True, False, True)):   # on the transposed route: chains of one
            h = fc_forward(h, [w], [b], relu=[r], ceiling=[np.inf]) if wx else fc_forward(h, w, b, relu=r)
        np.testing.assert_array_equal(y, h)


@pytest.mark.parametrize("columns", ["columns", "rows", "wx"])
def test_one_hand_off_for_the_chain_and_blas_restored(split, monkeypatch, columns):
    from threadpoolctl import ThreadpoolController
    split(2, columns == "columns", wx=columns == "wx")
    x, ws, bs = _chain(np.float32, 32, seed=2)
    fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    before = [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    calls = []
    real = dense.batch_parallel

    def counted(work, n, chunk=None):
        calls.append((n, chunk))
        return real(work, n, chunk)
    monkeypatch.setattr(dense, "batch_parallel", counted)
    dense._chain_serial_until[0] = 0.0   # a busy machine's worker may have taken no rows above
    fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    # one hand-off for the chain: a slice of each layer's columns per thread, or 16 rows a thread
    assert calls == ([(2, 1)] if columns == "columns" else [(32, 16)])
    assert [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers] == before


def test_a_late_worker_sends_the_next_chains_to_one_thread(split, monkeypatch):
    split(2, columns=False)
    monkeypatch.setattr(dense, "_CHAIN_LATE", -1.0)   # every start counts as late
    x, ws, bs = _chain(np.float32, 32, seed=3)
    calls = []
    real = dense.batch_parallel
    monkeypatch.setattr(dense, "batch_parallel", lambda *a: calls.append(a) or real(*a))
    y1 = fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    assert len(calls) == 1 and dense._chain_serial_until[0] > 0
    y2 = fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    assert len(calls) == 1   # within the back-off: one thread
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-6)
    dense._chain_serial_until[0] = 0.0
    fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    assert len(calls) == 2   # after it: split again
    # failed tries in a row back off longer, up to the cap; a split that pays sets it back
    assert dense._chain_backoff[0] == 4 * dense._CHAIN_BACKOFF
    for _ in range(8):
        dense._chain_tried(False)
    assert dense._chain_backoff[0] == dense._CHAIN_BACKOFF_MAX
    dense._chain_tried(True)
    assert dense._chain_backoff[0] == dense._CHAIN_BACKOFF
    # a try after the pool slept longer than _CHAIN_COLD is not counted (a cold wake-up)
    monkeypatch.setattr(dense, "_CHAIN_COLD", 1e-3)
    dense._chain_serial_until[0] = 0.0
    dense._chain_last_split[0] = 0.0
    dense._chain_tried(False, time.perf_counter())
    assert dense._chain_serial_until[0] == 0.0
    dense._chain_tried(False, time.perf_counter())   # right after a split: counted
    assert dense._chain_serial_until[0] > 0


@pytest.mark.parametrize("n, wx", [(128, False), (32, True)])
def test_a_late_worker_that_took_its_rows_keeps_a_large_split(split, monkeypatch, n, wx):
    """Lateness counts only against a BLAS split of fewer than _MIN_ROWS rows a thread: at 64 rows a
    thread, or on the transposed route, a worker that took its slice, however late, paid."""
    split(2, columns=False, wx=wx)
    monkeypatch.setattr(dense, "_CHAIN_LATE", -1.0)   # every start counts as late where lateness counts
    x, ws, bs = _chain(np.float32, n, seed=6)
    calls = []
    me = threading.get_ident()

    def both(work, m, chunk):   # every slice run here; a worker reported as having taken one, late
        calls.append((m, chunk))
        return [work([(lo, min(lo + chunk, m)) for lo in range(0, m, chunk)]), (me + 1, time.perf_counter())]
    monkeypatch.setattr(dense, "batch_parallel", both)
    for _ in range(3):
        y = fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    assert len(calls) == 3 and dense._chain_serial_until[0] == 0.0
    np.testing.assert_allclose(y, _torch(x, ws, bs, [True] * 3, [np.inf] * 3), rtol=1e-4, atol=1e-5)
    # a worker that took nothing: one thread for a while
    monkeypatch.setattr(dense, "batch_parallel", lambda work, m, chunk: [
        work([(lo, min(lo + chunk, m)) for lo in range(0, m, chunk)]), (me + 1, None)])
    fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
    assert dense._chain_serial_until[0] > 0


def test_columns_fall_back_after_a_lone_caller_or_a_yielding_wait(split, monkeypatch):
    split(2)
    x, ws, bs = _chain(np.float32, 32, seed=4)
    want = fc_forward(x, ws, bs, relu=[True, False, True], ceiling=[np.inf] * 3)
    dense._chain_serial_until[0] = 0.0
    # the pool busy with another caller: the work runs in this thread alone
    monkeypatch.setattr(dense, "batch_parallel", lambda work, n, chunk=None: [work(None)])
    np.testing.assert_allclose(fc_forward(x, ws, bs, relu=[True, False, True], ceiling=[np.inf] * 3), want,
                               rtol=1e-6, atol=1e-6)
    assert dense._chain_serial_until[0] > 0
    monkeypatch.undo()
    split(3)
    monkeypatch.setitem(_spin._counts, dense._CHAIN_WAIT_US, 1)   # every wait yields at once
    for _ in range(3):
        dense._chain_serial_until[0] = 0.0
        got = fc_forward(x, ws, bs, relu=[True, False, True], ceiling=[np.inf] * 3)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("where", ["worker", "caller"])
def test_a_failing_thread_does_not_leave_the_others_waiting(split, monkeypatch, where):
    """A thread that raises (an error, Ctrl-C) marks the chain failed: the others stop waiting for its
    columns, the call raises, and the pool works after it."""
    import threading
    split(2)
    x, ws, bs = _chain(np.float32, 32, seed=5)
    real = dense._epilogue

    def fails(*a):
        if threading.current_thread().name.startswith("layergraph-kernels") == (where == "worker"):
            raise KeyError("boom")
        return real(*a)
    monkeypatch.setattr(dense, "_epilogue", fails)
    monkeypatch.setitem(_spin._counts, dense._CHAIN_WAIT_US, 1)
    errors = []

    def call():
        for _ in range(20):   # until the worker takes a slice
            try:
                fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3)
            except (KeyError, RuntimeError) as err:
                errors.append(err)
                return
            dense._chain_serial_until[0] = 0.0
    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "the chain hung"
    if where == "caller":
        assert errors and isinstance(errors[0], KeyError)
    monkeypatch.setattr(dense, "_epilogue", real)
    dense._chain_serial_until[0] = 0.0
    want = _torch(x, ws, bs, [True] * 3, [np.inf] * 3)
    np.testing.assert_allclose(fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[np.inf] * 3), want,
                               rtol=1e-4, atol=1e-5)


def test_chain_errors_name_what_is_wrong():
    x, ws, bs = _chain(np.float64, 4)
    with pytest.raises(ValueError, match="as many biases, relu flags and ceilings as weights"):
        fc_forward(x, ws, bs[:2], relu=[False] * 3, ceiling=[np.inf] * 3)
    with pytest.raises(ValueError, match=r"weights \(10, 150\) do not fit input size 200"):
        fc_forward(x, [ws[0], ws[2]], bs[:2], relu=[False] * 2, ceiling=[np.inf] * 2)
    with pytest.raises(ValueError, match="ceiling"):
        fc_forward(x, ws, bs, relu=[True] * 3, ceiling=[0.0] * 3)
