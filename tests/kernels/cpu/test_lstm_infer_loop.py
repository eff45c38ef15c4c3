"""The LSTM's prediction loop (kernels/cpu/recurrent.py ``_infer_loop``: the input projection made
per step inside the loop, no stores) at sizes where OpenBLAS's per-step products round
differently from the one big projection of the training forward: torch nn.LSTM's values (float32
and float64), the training forward's values (float64 equal, float32 to rounding), masks, both
directions, the batch split, OutputMode 'last'."""
from __future__ import annotations

import io

import numpy as np
import pytest

from layergraph.kernels.cpu import recurrent
from layergraph.kernels.cpu.recurrent import lstm_forward_infer, lstm_forward_train


def _problem(n, c, t, hid, dtype, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, c, t)).astype(dtype)
    w = (0.2 * g.standard_normal((4 * hid, c))).astype(dtype)
    r = (0.2 * g.standard_normal((4 * hid, hid))).astype(dtype)
    b = (0.1 * g.standard_normal(4 * hid)).astype(dtype)
    h0 = (0.5 * g.standard_normal((n, hid))).astype(dtype)
    c0 = (0.5 * g.standard_normal((n, hid))).astype(dtype)
    return x, w, r, b, h0, c0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_infer_loop_matches_torch(dtype, reverse):
    torch = pytest.importorskip("torch")
    x, w, r, b, h0, c0 = _problem(40, 24, 30, 64, dtype)
    m = torch.nn.LSTM(24, 64, batch_first=True).to(torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(w))
        m.weight_hh_l0.copy_(torch.from_numpy(r))
        m.bias_ih_l0.copy_(torch.from_numpy(b))
        m.bias_hh_l0.zero_()
        xin = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
        if reverse:
            xin = torch.flip(xin, [1])
        ty, (th, tc) = m(xin, (torch.from_numpy(h0[None]), torch.from_numpy(c0[None])))
        if reverse:
            ty = torch.flip(ty, [1])
    tol = dict(rtol=1e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for chunks in (1, 2):
        y, h, c = lstm_forward_infer(x, w, r, b, h0, c0, reverse=reverse, chunks=chunks)
        assert y.dtype == dtype and h.dtype == dtype
        np.testing.assert_allclose(y, ty.numpy().transpose(0, 2, 1), **tol)
        np.testing.assert_allclose(h, th.numpy()[0], **tol)
        np.testing.assert_allclose(c, tc.numpy()[0], **tol)
        none, h2, c2 = lstm_forward_infer(x, w, r, b, h0, c0, reverse=reverse, chunks=chunks, sequence=False)
        assert none is None
        np.testing.assert_array_equal(h2, h)
        np.testing.assert_array_equal(c2, c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("acts", [("sigmoid", "tanh"), ("hard-sigmoid", "softsign")])
def test_infer_loop_equals_the_training_forward(dtype, acts):
    """float64: the same values; float32: to rounding (the per-step projection's products, 128 rows
    by 40 by 512 here, round differently from one product of all 12800 rows)."""
    x, w, r, b, h0, c0 = _problem(128, 40, 12, 128, dtype, seed=3)
    mask = np.random.default_rng(4).random((128, 12)) > 0.2
    for reverse in (False, True):
        for chunks in (1, 2):
            kw = dict(mask=mask, gate=acts[0], state=acts[1], reverse=reverse, chunks=chunks)
            want = lstm_forward_train(x, w, r, b, h0, c0, **kw)[:3]
            got = lstm_forward_infer(x, w, r, b, h0, c0, **kw)
            for u, v in zip(got, want):
                if dtype == np.float64:
                    np.testing.assert_array_equal(u, v)
                else:
                    np.testing.assert_allclose(u, v, rtol=1e-5, atol=2e-6)
            assert not got[0][~np.broadcast_to(mask[:, None, :], got[0].shape)].any()   # padded steps give 0


def test_infer_loop_float32_holds_no_float64_value():
    x, w, r, b, h0, c0 = _problem(4, 3, 5, 8, np.float32)
    lstm_forward_infer(x, w, r, b, h0, c0)
    sigs = [s for s in recurrent._infer_loop.signatures if "float64" not in str(s)]
    assert sigs
    for sig in sigs:
        buf = io.StringIO()
        recurrent._infer_loop.inspect_types(buf, signature=sig)
        typed = [ln.strip() for ln in buf.getvalue().splitlines() if ln.strip().startswith("#") and "::" in ln]
        assert typed
        wide = [ln for ln in typed if ln.endswith(":: float64") and "const(float, 0.0)" not in ln]
        assert not wide, wide[:3]
