"""LSTM forward and backward through time (MATLAB lstmLayer / bilstmLayer, Wolfram
LongShortTermMemoryLayer), numba for the recurrence, numpy BLAS for the big products.

Layout: x N x C x T (internal sequence layout, time last); w 4H x C, r 4H x H, b (4H,), gates
stacked in MATLAB's order i, f, g (cell candidate), o (Wolfram's fused order too); h0, c0 N x H;
mask N x T bool (True on a sequence's own steps; None: every step). gate 'sigmoid' |
'hard-sigmoid' (max(0, min(1, 0.2 x + 0.5))), state 'tanh' | 'softsign' (x / (1 + |x|)),
applied to the candidate and to the cell output:

    i, f, o = gate(W x + R h + b),  g = state(...),  c_t = f c_{t-1} + i g,  h_t = o state(c_t)

On a padded step (mask False) the state is frozen (h_t = h_{t-1}, c_t = c_{t-1}) and the
output is 0, so a padded batch gives each sequence's own outputs and final state for padding
on either side and either direction. ``reverse`` runs t = T-1 .. 0.

  lstm_forward_train(x, w, r, b, h0, c0, mask, gate, state, reverse) -> (y, hT, cT, ctx)
  lstm_forward_infer(x, w, r, b, h0, c0, mask, gate, state, reverse) -> (y, hT, cT)
  lstm_backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse) -> (dx, dw, dr, db, dh0, dc0)

y is N x H x T; dhT, dcT may be None (no gradient at the final state). The input projection
of every step is one matrix product (T*N x C by C x 4H) before the loop, and the weight
gradients are one product each after it; the loop over time runs in one compiled function
(a BLAS product N x H by H x 4H per step, then the gate math fused over the batch).
"""
from __future__ import annotations

import numba
import numpy as np

from ._parallel import blas_threads
from ._util import as_float, like

GATES = {"sigmoid": 0, "hard-sigmoid": 1}
STATES = {"tanh": 0, "softsign": 1}


# float32: tanh as a rational function (the coefficients of Eigen's generic_fast_tanh_float; at most
# 3e-7 from tanh, tests/kernels/cpu/test_lstm.py), sigmoid as 0.5 + 0.5 tanh(x / 2): a few
# multiplications instead of libm's exp and tanh, which dominated the loop. float64 keeps libm.
_F = np.float32
_A = tuple(_F(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03))
_B = tuple(_F(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03))
_CLAMP = _F(7.90531110763549805)
_A0, _A1, _A2, _A3, _A4, _A5, _A6 = _A
_B0, _B1, _B2, _B3 = _B
_HALF = _F(0.5)


@numba.njit(cache=True, inline="always", fastmath=True)
def _tanh32(x):
    x = x if x < _CLAMP else _CLAMP
    x = x if x > -_CLAMP else -_CLAMP
    x2 = x * x
    p = x2 * _A0 + _A1
    p = x2 * p + _A2
    p = x2 * p + _A3
    p = x2 * p + _A4
    p = x2 * p + _A5
    p = x2 * p + _A6
    q = x2 * _B0 + _B1
    q = x2 * q + _B2
    q = x2 * q + _B3
    return x * p / q


@numba.njit(cache=True, inline="always")
def _gate(v, kind, fast):
    if kind == 0:
        if fast:
            return _HALF + _HALF * _tanh32(_HALF * v)
        return 1.0 / (1.0 + np.exp(-v))
    return min(1.0, max(0.0, 0.2 * v + 0.5))


@numba.njit(cache=True, inline="always")
def _gate_grad(y, kind):
    """The gate's derivative from its output."""
    if kind == 0:
        return y * (1.0 - y)
    return 0.2 if 0.0 < y < 1.0 else 0.0


@numba.njit(cache=True, inline="always")
def _state(v, kind, fast):
    if kind == 0:
        return _tanh32(v) if fast else np.tanh(v)
    return v / (1.0 + abs(v))


@numba.njit(cache=True, inline="always")
def _state_grad_out(y, kind):
    """The state activation's derivative from its output (tanh: 1 - y^2; softsign: (1 - |y|)^2)."""
    if kind == 0:
        return 1.0 - y * y
    a = 1.0 - abs(y)
    return a * a


@numba.njit(cache=True, nogil=True)
def _forward_loop(xp, r_t, h, c, mask, gate, state, reverse, acts, hprev, cprev, cs, y, fast):
    """xp T x N x 4H (input projection + bias), r_t H x 4H, h and c N x H (updated in place to
    the final state). Writes acts (post-activation gates), the states entering each step and
    the cell after it (T x N x H each) and y (T x N x H, 0 on padded steps)."""
    T, N, H4 = xp.shape
    H = H4 // 4
    for s in range(T):
        t = T - 1 - s if reverse else s
        z = np.dot(h, r_t)
        for n in range(N):
            hprev[t, n] = h[n]
            cprev[t, n] = c[n]
            if not mask[n, t]:
                acts[t, n] = 0.0
                cs[t, n] = c[n]
                y[t, n] = 0.0
                continue
            for j in range(H):
                gi = _gate(z[n, j] + xp[t, n, j], gate, fast)
                gf = _gate(z[n, H + j] + xp[t, n, H + j], gate, fast)
                gg = _state(z[n, 2 * H + j] + xp[t, n, 2 * H + j], state, fast)
                go = _gate(z[n, 3 * H + j] + xp[t, n, 3 * H + j], gate, fast)
                cn = gf * c[n, j] + gi * gg
                hn = go * _state(cn, state, fast)
                acts[t, n, j] = gi
                acts[t, n, H + j] = gf
                acts[t, n, 2 * H + j] = gg
                acts[t, n, 3 * H + j] = go
                cs[t, n, j] = cn
                c[n, j] = cn
                h[n, j] = hn
                y[t, n, j] = hn


@numba.njit(cache=True, nogil=True)
def _backward_loop(dy, dh, dc, acts, cprev, cs, mask, r, gate, state, reverse, dg, fast):
    """dy T x N x H; dh, dc N x H (the gradients at the final state, updated in place to those at
    the initial state); writes dg (T x N x 4H, the gates' pre-activation gradients)."""
    T, N, H4 = acts.shape
    H = H4 // 4
    for s in range(T):
        t = s if reverse else T - 1 - s
        for n in range(N):
            if not mask[n, t]:
                dg[t, n] = 0.0
                continue
            for j in range(H):
                gi = acts[t, n, j]
                gf = acts[t, n, H + j]
                gg = acts[t, n, 2 * H + j]
                go = acts[t, n, 3 * H + j]
                sc = _state(cs[t, n, j], state, fast)
                dht = dh[n, j] + dy[t, n, j]
                dct = dc[n, j] + dht * go * _state_grad_out(sc, state)
                dg[t, n, j] = dct * gg * _gate_grad(gi, gate)
                dg[t, n, H + j] = dct * cprev[t, n, j] * _gate_grad(gf, gate)
                dg[t, n, 2 * H + j] = dct * gi * _state_grad_out(gg, state)
                dg[t, n, 3 * H + j] = dht * sc * _gate_grad(go, gate)
                dc[n, j] = dct * gf
        back = np.dot(dg[t], r)
        for n in range(N):
            if mask[n, t]:
                for j in range(H):
                    dh[n, j] = back[n, j]


def _codes(gate, state):
    try:
        return GATES[gate], STATES[state]
    except KeyError:
        raise ValueError(f"lstm: gate must be one of {list(GATES)} and state one of {list(STATES)}; "
                         f"got {gate!r}, {state!r}.") from None


def _setup(x, w, r, b, h0, c0, mask):
    x = as_float(x)
    if x.ndim != 3:
        raise ValueError(f"lstm: expected N x C x T input, got shape {x.shape}.")
    n, c, t = x.shape
    w = like(w, x, "w")
    h4 = w.shape[0]
    if w.ndim != 2 or h4 % 4 or w.shape[1] != c:
        raise ValueError(f"lstm: input weights {w.shape} do not fit {c} input channels (expected 4H x C).")
    hid = h4 // 4
    r = like(r, x, "r", (h4, hid))
    b = like(b, x, "b", (h4,))
    h = np.zeros((n, hid), x.dtype) if h0 is None else np.array(np.broadcast_to(like(h0, x, "h0"), (n, hid)))
    cc = np.zeros((n, hid), x.dtype) if c0 is None else np.array(np.broadcast_to(like(c0, x, "c0"), (n, hid)))
    m = np.ones((n, t), np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
    if m.shape != (n, t):
        raise ValueError(f"lstm: mask {m.shape} does not fit N x T = {(n, t)}.")
    return x, w, r, b, h, cc, m


def _forward(x, w, r, b, h0, c0, mask, gate, state, reverse):
    x, w, r, b, h, c, m = _setup(x, w, r, b, h0, c0, mask)
    g, s = _codes(gate, state)
    n, ch, t = x.shape
    hid = r.shape[1]
    xt = np.ascontiguousarray(x.transpose(2, 0, 1))              # T x N x C
    xp = (xt.reshape(t * n, ch) @ w.T).reshape(t, n, 4 * hid)    # one product for every step
    xp += b
    acts = np.empty((t, n, 4 * hid), x.dtype)
    hprev, cprev, cs, y = (np.empty((t, n, hid), x.dtype) for _ in range(4))
    _forward_loop(xp, np.ascontiguousarray(r.T), h, c, m, g, s, bool(reverse), acts, hprev, cprev, cs, y,
                  x.dtype == np.float32)
    out = np.ascontiguousarray(y.transpose(1, 2, 0))             # N x H x T
    return out, h, c, (xt, acts, hprev, cprev, cs, m)


# BLAS at one thread throughout: the per-step products are small, and OpenBLAS's own threads
# only wake up and spin between them (and into the next kernels; _parallel.py)
def lstm_forward_train(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False):
    with blas_threads(1):
        return _forward(x, w, r, b, h0, c0, mask, gate, state, reverse)


def lstm_forward_infer(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False):
    with blas_threads(1):
        return _forward(x, w, r, b, h0, c0, mask, gate, state, reverse)[:3]


def lstm_backward(dy, dhT, dcT, ctx, w, r, gate="sigmoid", state="tanh", reverse=False):
    with blas_threads(1):
        return _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse)


def _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse):
    xt, acts, hprev, cprev, cs, m = ctx
    t, n, ch = xt.shape
    hid = acts.shape[2] // 4
    dt = xt.dtype
    w = like(w, xt, "w", (4 * hid, ch))
    r = like(r, xt, "r", (4 * hid, hid))
    g, s = _codes(gate, state)
    dyt = np.zeros((t, n, hid), dt) if dy is None else np.ascontiguousarray(np.asarray(dy, dt).transpose(2, 0, 1))
    dh = np.zeros((n, hid), dt) if dhT is None else np.array(dhT, dtype=dt).reshape(n, hid)
    dc = np.zeros((n, hid), dt) if dcT is None else np.array(dcT, dtype=dt).reshape(n, hid)
    dg = np.empty((t, n, 4 * hid), dt)
    _backward_loop(dyt, dh, dc, acts, cprev, cs, m, r, g, s, bool(reverse), dg, dt == np.float32)
    dg2 = dg.reshape(t * n, 4 * hid)
    dw = dg2.T @ xt.reshape(t * n, ch)
    dr = dg2.T @ hprev.reshape(t * n, hid)
    db = dg2.sum(axis=0)
    dx = np.ascontiguousarray((dg2 @ w).reshape(t, n, ch).transpose(1, 2, 0))
    return dx, dw, dr, db, dh, dc
