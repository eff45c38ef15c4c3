"""The recurrent kernels' speed paths (kernels/cpu/recurrent.py, docs/performance.md "Session
h_rnnspeed"): the float32 loops compute in float32 (no silent float64 value), the branch-free
sigmoid/tanh float32 path agrees with the float64 path (which test_lstm.py / test_gru.py check
against torch, ONNX and finite differences) in values and gradients, through masks, both
directions and a final-state gradient, and the big products split over the pool give the unsplit
values."""
from __future__ import annotations

import io

import numpy as np
import pytest

from layergraph.kernels.cpu import recurrent
from layergraph.kernels.cpu.recurrent import (
    gru_backward,
    gru_forward_train,
    lstm_backward,
    lstm_forward_infer,
    lstm_forward_train,
)


def _problem(k, n=5, c=4, t=9, hid=7, seed=0):
    g = np.random.default_rng(seed)
    p = dict(x=g.standard_normal((n, c, t)), w=0.5 * g.standard_normal((k * hid, c)),
             r=0.5 * g.standard_normal((k * hid, hid)), b=0.3 * g.standard_normal(k * hid),
             h0=0.5 * g.standard_normal((n, hid)))
    if k == 4:
        p["c0"] = 0.5 * g.standard_normal((n, hid))
    lengths = np.array([t, 3, 1, t - 2, 5])[:n]
    mask = np.arange(t)[None, :] < lengths[:, None]
    dy = g.standard_normal((n, hid, t))
    dh = g.standard_normal((n, hid))
    return p, mask, dy, dh


def _close32(a32, a64):
    assert a32.dtype == np.float32
    np.testing.assert_allclose(a32, a64, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("sequence", [True, False])
def test_lstm_float32_step_agrees_with_float64(reverse, sequence):
    p, mask, dy, dh = _problem(4)
    outs = {}
    for dt in (np.float32, np.float64):
        q = {k: v.astype(dt) for k, v in p.items()}
        y, hT, cT, ctx = lstm_forward_train(**q, mask=mask, reverse=reverse, sequence=sequence)
        grads = lstm_backward(dy.astype(dt) if sequence else None, dh.astype(dt), -dh.astype(dt), ctx, q["w"], q["r"],
                              reverse=reverse)
        yi = lstm_forward_infer(**q, mask=mask, reverse=reverse, sequence=sequence)
        outs[dt] = ([y] if sequence else []) + [hT, cT] + list(yi[1:]) + list(grads)
    for a32, a64 in zip(outs[np.float32], outs[np.float64]):
        _close32(a32, a64)


@pytest.mark.parametrize("mode", list(recurrent.MODES))
def test_gru_float32_step_agrees_with_float64(mode):
    p, mask, dy, dh = _problem(3, seed=1)
    rb = 0.2 * np.random.default_rng(3).standard_normal(p["b"].shape) if mode.startswith("recurrent") else None
    outs = {}
    for dt in (np.float32, np.float64):
        q = {k: v.astype(dt) for k, v in p.items()}
        y, hT, ctx = gru_forward_train(**q, rb=None if rb is None else rb.astype(dt), mask=mask, mode=mode)
        grads = gru_backward(dy.astype(dt), dh.astype(dt), ctx, q["w"], q["r"], mode=mode)
        outs[dt] = [y, hT] + [g for g in grads if g is not None]
    for a32, a64 in zip(outs[np.float32], outs[np.float64]):
        _close32(a32, a64)


def test_float32_loops_hold_no_float64_value():
    """Every value the float32 specializations of the loops compute is float32 (a float64 one, from a
    Python float literal, made the gate math 4 lanes wide; the only float64 values left are the
    literal zeros that fill a padded step's rows, stored as float32)."""
    p, mask, dy, dh = _problem(4)
    q = {k: v.astype(np.float32) for k, v in p.items()}
    y, _, _, ctx = lstm_forward_train(**q, mask=mask)
    lstm_backward(dy.astype(np.float32), None, None, ctx, q["w"], q["r"])
    g = _problem(3)[0]
    g = {k: v.astype(np.float32) for k, v in g.items()}
    for mode in recurrent.MODES:
        rb = g["b"] if mode.startswith("recurrent") else None
        yg, _, ctxg = gru_forward_train(**g, rb=rb, mask=mask, mode=mode)
        gru_backward(dy.astype(np.float32), None, ctxg, g["w"], g["r"], mode=mode)
    loops = (recurrent._forward_loop, recurrent._backward_loop, recurrent._gru_forward_loop,
             recurrent._gru_backward_loop)
    for fn in loops:
        sigs = [s for s in fn.signatures if "float64" not in str(s)]
        assert sigs, fn
        for sig in sigs:
            buf = io.StringIO()
            fn.inspect_types(buf, signature=sig)
            typed = [ln.strip() for ln in buf.getvalue().splitlines() if ln.strip().startswith("#") and "::" in ln]
            assert typed, fn      # inspection produced the typed lines
            wide = [ln for ln in typed if ln.endswith(":: float64") and "const(float, 0.0)" not in ln]
            assert not wide, (fn.py_func.__name__, wide[:3])


def test_split_products_equal_the_unsplit_ones(monkeypatch):
    """The input projection, dx, dW and dR split by rows over the pool (recurrent._matmul) give the
    one-product values (to rounding)."""
    p, mask, dy, dh = _problem(4, n=5, c=6, t=40, hid=16)
    q = {k: v.astype(np.float32) for k, v in p.items()}

    def step():
        y, hT, cT, ctx = lstm_forward_train(**q, mask=mask, chunks=1)
        return [y, hT, cT, *lstm_backward(dy.astype(np.float32), None, None, ctx, q["w"], q["r"], chunks=1)]
    one = step()
    monkeypatch.setattr(recurrent, "MATMUL_SPLIT", 0)
    monkeypatch.setattr(recurrent, "threads", lambda: 2)
    calls = []
    real = recurrent.batch_parallel

    def counted(work, n, chunk=None):
        calls.append(n)
        return real(work, n, chunk)
    monkeypatch.setattr(recurrent, "batch_parallel", counted)
    split = step()
    assert len(calls) == 4        # projection, dW, dx, dR
    for a, b in zip(split, one):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
