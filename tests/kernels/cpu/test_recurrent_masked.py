"""kernels/cpu/recurrent_masked.py: the recurrent training path with masks inside the recurrence
(state masks per gate and sequence, update masks per step). With masks of ones it equals the
unmasked kernels (recurrent.py, rnn.py: values and every gradient); with random masks, a numpy
step reference (both directions, ragged padding, every activation) and float64 finite differences
of every gradient."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.kernels.cpu import recurrent as R
from layergraph.kernels.cpu import rnn as RN
from layergraph.kernels.cpu.recurrent_masked import masked_recurrent_backward, masked_recurrent_forward

G = {"lstm": 4, "gru": 3, "rnn": 1}


def _gate(v, kind):
    return 1 / (1 + np.exp(-v)) if kind == "sigmoid" else np.clip(0.2 * v + 0.5, 0, 1)


def _st(v, kind):
    return np.tanh(v) if kind == "tanh" else v / (1 + np.abs(v))


def _problem(cell, rb=False, seed=0, n=3, c=2, t=5, h=3):
    r = np.random.default_rng(seed)
    g = G[cell]
    x = r.standard_normal((n, c, t))
    w, rr, b = 0.5 * r.standard_normal((g * h, c)), 0.5 * r.standard_normal((g * h, h)), 0.3 * r.standard_normal(g * h)
    h0, c0 = 0.4 * r.standard_normal((n, h)), 0.4 * r.standard_normal((n, h))
    mask = np.ones((n, t), bool)
    mask[1, 3:] = False   # a sequence of 3 (right padding)
    mask[2, :2] = False   # one of 3 (left padding)
    ms = (r.random((g, n, h)) > 0.3) / 0.7
    mu = (r.random((t, n, h)) > 0.4) / 0.6
    return x, w, rr, b, (0.2 * r.standard_normal(g * h) if rb else None), h0, c0, mask, ms, mu


def _reference(cell, x, w, rr, b, rb, h0, c0, mask, ms, mu, gate, state, reverse):
    n, _, t = x.shape
    hid = rr.shape[1]
    g = G[cell]
    rb = np.zeros(g * hid) if rb is None else rb
    h, c = h0.copy(), c0.copy()
    y = np.zeros((n, hid, t))
    for s in range(t):
        tt = t - 1 - s if reverse else s
        xp = x[:, :, tt] @ w.T + b
        z = np.concatenate([(h * ms[k]) @ rr[k * hid:(k + 1) * hid].T for k in range(g)], axis=1) + rb
        blk = [slice(k * hid, (k + 1) * hid) for k in range(g)]
        if cell == "lstm":
            pre = xp + z
            i, f, gg, o = _gate(pre[:, blk[0]], gate), _gate(pre[:, blk[1]], gate), _st(pre[:, blk[2]], state), \
                _gate(pre[:, blk[3]], gate)
            cn = f * c + i * gg * mu[tt]
            hn = o * _st(cn, state)
        elif cell == "gru":
            rg, zg = _gate(xp[:, blk[0]] + z[:, blk[0]], gate), _gate(xp[:, blk[1]] + z[:, blk[1]], gate)
            nn = _st(xp[:, blk[2]] + rg * z[:, blk[2]], state)
            hn, cn = (1 - zg) * nn * mu[tt] + zg * h, c
        else:
            hn, cn = _st(xp + z, state), c
        on = mask[:, tt][:, None]
        h, c = np.where(on, hn, h), np.where(on, cn, c)
        y[:, :, tt] = np.where(on, hn, 0)
    return y, h, c


CASES = [("lstm", False), ("gru", False), ("gru", True), ("rnn", False)]


@pytest.mark.parametrize("cell,rb", CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_ones_equal_the_unmasked_kernels(cell, rb, reverse):
    x, w, rr, b, rbv, h0, c0, mask, ms, mu = _problem(cell, rb)
    y, hT, cT, ctx = masked_recurrent_forward(x, w, rr, b, rbv, h0, c0, mask, None, None, cell, reverse=reverse)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dhT = np.random.default_rng(2).standard_normal(hT.shape)
    got = masked_recurrent_backward(dy, dhT, dhT if cell == "lstm" else None, ctx, w, rr, reverse=reverse)
    if cell == "lstm":
        y0, h1, c1, ctx0 = R.lstm_forward_train(x, w, rr, b, h0, c0, mask, reverse=reverse)
        want = R.lstm_backward(dy, dhT, dhT, ctx0, w, rr, reverse=reverse)
        pairs = [(got[0], want[0]), (got[1], want[1]), (got[2], want[2]), (got[3], want[3]), (got[5], want[4]),
                 (got[6], want[5]), (cT, c1)]
    elif cell == "gru":
        mode = "recurrent-bias-after-multiplication" if rb else "after-multiplication"
        y0, h1, ctx0 = R.gru_forward_train(x, w, rr, b, rbv, h0, mask, mode, reverse=reverse)
        want = R.gru_backward(dy, dhT, ctx0, w, rr, mode, reverse=reverse)
        pairs = [(got[k], want[k]) for k in range(4)] + [(got[5], want[5])] + ([(got[4], want[4])] if rb else [])
    else:
        y0, h1, ctx0 = RN.rnn_forward_train(x, w, rr, b, h0, mask, reverse=reverse)
        want = RN.rnn_backward(dy, dhT, ctx0, w, rr, reverse=reverse)
        pairs = [(got[k], want[k]) for k in range(4)] + [(got[5], want[4])]
    np.testing.assert_allclose(y, y0, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hT, h1, rtol=1e-12, atol=1e-13)
    for a, e in pairs:
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell,rb", CASES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("acts", [("sigmoid", "tanh"), ("hard-sigmoid", "softsign")])
def test_masked_values_and_gradients(cell, rb, reverse, acts):
    gate, state = acts
    x, w, rr, b, rbv, h0, c0, mask, ms, mu = _problem(cell, rb, seed=3)
    if cell == "rnn":
        mu = None
    y, hT, cT, ctx = masked_recurrent_forward(x, w, rr, b, rbv, h0, c0, mask, ms, mu, cell, gate, state, reverse)
    mu_ref = np.ones((x.shape[2],) + h0.shape) if mu is None else mu
    ye, he, ce = _reference(cell, x, w, rr, b, rbv, h0, c0, mask, ms, mu_ref, gate, state, reverse)
    np.testing.assert_allclose(y, ye, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hT, he, rtol=1e-10, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(cT, ce, rtol=1e-10, atol=1e-12)
    r = np.random.default_rng(4)
    dy, dh = r.standard_normal(y.shape), r.standard_normal(hT.shape)
    dc = r.standard_normal(hT.shape) if cell == "lstm" else None
    dx, dw, dr, db, drb, dh0, dc0 = masked_recurrent_backward(dy, dh, dc, ctx, w, rr, gate, state, reverse)

    def loss(x, w, rr, b, rbv, h0, c0):
        y, h, c = _reference(cell, x, w, rr, b, rbv, h0, c0, mask, ms, mu_ref, gate, state, reverse)
        return np.sum(y * dy) + np.sum(h * dh) + (np.sum(c * dc) if dc is not None else 0)

    args = [x, w, rr, b, rbv, h0, c0]
    grads = [dx, dw, dr, db, drb, dh0, dc0]
    eps = 1e-6
    for k, (a, g) in enumerate(zip(args, grads)):
        if a is None or (k == 6 and cell != "lstm"):
            continue
        d = r.standard_normal(a.shape)
        up = [v if j != k else v + eps * d for j, v in enumerate(args)]
        down = [v if j != k else v - eps * d for j, v in enumerate(args)]
        fd = (loss(*up) - loss(*down)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g * d), fd, rtol=1e-6, atol=1e-8)


def test_float32_and_bad_arguments():
    x, w, rr, b, _, h0, c0, mask, ms, mu = _problem("lstm")
    y64 = masked_recurrent_forward(x, w, rr, b, None, h0, c0, mask, ms, mu, "lstm")[0]
    y32 = masked_recurrent_forward(x.astype(np.float32), w, rr, b, None, h0, c0, mask, ms, mu, "lstm")[0]
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="cell must be one of"):
        masked_recurrent_forward(x, w, rr, b, None, h0, c0, mask, ms, mu, "bogus")
    with pytest.raises(ValueError, match="ms: expected shape"):
        masked_recurrent_forward(x, w, rr, b, None, h0, c0, mask, ms[:2], mu, "lstm")
