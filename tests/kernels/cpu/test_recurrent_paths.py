"""The LSTM and GRU kernels' other paths (kernels/cpu/recurrent.py) against their plain one: the
prediction forward (nothing stored) gives the training forward's values exactly, the batch split
over threads gives the unsplit call's values and gradients (to rounding: BLAS may order a product's
sums by its row count), ``sequence=False`` gives the same final state, and a backward without dy is one with dy 0.
The plain path itself is checked against numpy, torch, ONNX and finite differences in
test_lstm.py and test_gru.py."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.kernels.cpu.recurrent import (
    gru_backward,
    gru_forward_infer,
    gru_forward_train,
    lstm_backward,
    lstm_forward_infer,
    lstm_forward_train,
)


def _data(k, n=20, c=5, t=7, hid=6, dtype=np.float32, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, c, t)).astype(dtype)
    w = (0.5 * g.standard_normal((k * hid, c))).astype(dtype)
    r = (0.5 * g.standard_normal((k * hid, hid))).astype(dtype)
    b = (0.3 * g.standard_normal(k * hid)).astype(dtype)
    h0 = (0.5 * g.standard_normal((n, hid))).astype(dtype)
    lengths = g.integers(1, t + 1, n)
    mask = np.arange(t)[None, :] < lengths[:, None]
    dy = g.standard_normal((n, hid, t)).astype(dtype)
    dh = g.standard_normal((n, hid)).astype(dtype)
    return x, w, r, b, h0, mask, dy, dh


def _same(a, b, close=False):
    """Equal arrays (None where None); ``close``: to a few units in the last place (BLAS may sum a
    product's rows in another order when it is given fewer of them, so the split's values can
    differ by rounding)."""
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if u is None or v is None:
            assert u is None and v is None
        elif close:
            tol = 1e-5 if u.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(u, v, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_infer_and_split_equal_the_plain_path(dtype, reverse):
    x, w, r, b, h0, mask, dy, dh = _data(4, dtype=dtype)
    c0 = 0.7 * h0
    kw = dict(mask=mask, gate="sigmoid", state="tanh", reverse=reverse)
    y, hT, cT, ctx = lstm_forward_train(x, w, r, b, h0, c0, chunks=1, **kw)
    assert y.dtype == dtype
    _same(lstm_forward_infer(x, w, r, b, h0, c0, chunks=1, **kw), (y, hT, cT))
    for chunks in (2, 3):
        y2, h2, c2, ctx2 = lstm_forward_train(x, w, r, b, h0, c0, chunks=chunks, **kw)
        _same((y2, h2, c2), (y, hT, cT), close=True)
        _same(ctx2, ctx, close=True)
        _same(lstm_forward_infer(x, w, r, b, h0, c0, chunks=chunks, **kw), (y2, h2, c2))
        _same(lstm_backward(dy, dh, -dh, ctx2, w, r, reverse=reverse, chunks=chunks),
              lstm_backward(dy, dh, -dh, ctx, w, r, reverse=reverse, chunks=1), close=True)
    none, h3, c3, _ = lstm_forward_train(x, w, r, b, h0, c0, sequence=False, **kw)
    assert none is None
    _same((h3, c3), (hT, cT))
    _same(lstm_forward_infer(x, w, r, b, h0, c0, sequence=False, **kw), (None, hT, cT))
    _same(lstm_backward(None, dh, None, ctx, w, r, reverse=reverse),
          lstm_backward(np.zeros_like(dy), dh, None, ctx, w, r, reverse=reverse))


@pytest.mark.parametrize("mode", ["after-multiplication", "before-multiplication",
                                  "recurrent-bias-after-multiplication"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_infer_and_split_equal_the_plain_path(mode, reverse):
    x, w, r, b, h0, mask, dy, dh = _data(3, seed=1)
    rb = 0.5 * b if mode == "recurrent-bias-after-multiplication" else None
    kw = dict(mask=mask, mode=mode, reverse=reverse)
    y, hT, ctx = gru_forward_train(x, w, r, b, rb, h0, chunks=1, **kw)
    _same(gru_forward_infer(x, w, r, b, rb, h0, chunks=1, **kw), (y, hT))
    ref = gru_backward(dy, dh, ctx, w, r, mode=mode, reverse=reverse, chunks=1)
    for chunks in (2, 3):
        y2, h2, ctx2 = gru_forward_train(x, w, r, b, rb, h0, chunks=chunks, **kw)
        _same((y2, h2), (y, hT), close=True)
        _same(ctx2, ctx, close=True)
        _same(gru_forward_infer(x, w, r, b, rb, h0, chunks=chunks, **kw), (y2, h2))
        _same(gru_backward(dy, dh, ctx2, w, r, mode=mode, reverse=reverse, chunks=chunks), ref, close=True)
    _same(gru_forward_infer(x, w, r, b, rb, h0, sequence=False, **kw), (None, hT))
    _same(gru_backward(None, dh, ctx, w, r, mode=mode, reverse=reverse),
          gru_backward(np.zeros_like(dy), dh, ctx, w, r, mode=mode, reverse=reverse))


def test_large_batch_splits_by_itself_with_the_same_values():
    """A batch big enough for the automatic split (recurrent._row_chunks) gives the one-thread
    call's values (to rounding)."""
    from layergraph.kernels.cpu import recurrent
    x, w, r, b, h0, mask, dy, dh = _data(4, n=64, c=4, t=40, hid=32, seed=2)
    assert recurrent._row_chunks(64, 40, 128) >= (2 if recurrent.threads() > 1 else 1)
    auto = lstm_forward_train(x, w, r, b, h0, mask=mask)
    one = lstm_forward_train(x, w, r, b, h0, mask=mask, chunks=1)
    _same(auto[:3], one[:3], close=True)
    _same(lstm_backward(dy, None, None, auto[3], w, r), lstm_backward(dy, None, None, one[3], w, r, chunks=1),
          close=True)


def test_every_blas_is_held_at_one_thread_inside_and_restored():
    """numba's np.dot calls SciPy's BLAS, numpy's @ its own: both are held at one thread while a
    recurrent kernel runs (their spinning workers slowed the per-step products 15x), and both get
    their thread counts back afterwards."""
    from threadpoolctl import threadpool_info

    from layergraph.kernels.cpu import recurrent
    x, w, r, b, h0, mask, dy, dh = _data(4, n=2, t=2, hid=2)
    lstm_forward_train(x, w, r, b)

    def counts():
        return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas")
    before = counts()
    assert any("scipy" in path for path, _ in before)   # the one numba's np.dot calls is loaded
    with recurrent._blas1():
        assert all(n == 1 for _, n in counts())
    assert counts() == before
