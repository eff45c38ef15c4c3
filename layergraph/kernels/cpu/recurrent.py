"""LSTM and GRU forward and backward through time (MATLAB lstmLayer / bilstmLayer / gruLayer,
Wolfram LongShortTermMemoryLayer), numba for the recurrence, numpy BLAS for the big products.
The GRU's part is at the end of the file (its equations there); what both share: ``_setup``,
``_project``, ``_input_grads``, ``_at``, the gate and state functions.

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


@numba.njit(cache=True, inline="always")
def _at(s, T, reverse):
    """The time index of loop step s (forward in time, or T-1 .. 0 when ``reverse``)."""
    return T - 1 - s if reverse else s


@numba.njit(cache=True, nogil=True)
def _forward_loop(xp, r_t, h, c, mask, gate, state, reverse, acts, hprev, cprev, cs, y, fast):
    """xp T x N x 4H (input projection + bias), r_t H x 4H, h and c N x H (updated in place to
    the final state). Writes acts (post-activation gates), the states entering each step and
    the cell after it (T x N x H each) and y (T x N x H, 0 on padded steps)."""
    T, N, H4 = xp.shape
    H = H4 // 4
    for s in range(T):
        t = _at(s, T, reverse)
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
        t = _at(s, T, not reverse)
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


def _codes(gate, state, name="lstm"):
    try:
        return GATES[gate], STATES[state]
    except KeyError:
        raise ValueError(f"{name}: gate must be one of {list(GATES)} and state one of {list(STATES)}; "
                         f"got {gate!r}, {state!r}.") from None


def _setup(x, w, r, b, h0, mask, k, name):
    """Checked arrays of a recurrent layer with ``k`` gate blocks: x, w (kH x C), r (kH x H),
    b (kH,), the initial state h (N x H, a copy: the loops update it), the mask (N x T)."""
    x = as_float(x)
    if x.ndim != 3:
        raise ValueError(f"{name}: expected N x C x T input, got shape {x.shape}.")
    n, c, t = x.shape
    w = like(w, x, "w")
    hk = w.shape[0]
    if w.ndim != 2 or hk % k or w.shape[1] != c:
        raise ValueError(f"{name}: input weights {w.shape} do not fit {c} input channels (expected {k}H x C).")
    hid = hk // k
    r = like(r, x, "r", (hk, hid))
    b = like(b, x, "b", (hk,))
    m = np.ones((n, t), np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
    if m.shape != (n, t):
        raise ValueError(f"{name}: mask {m.shape} does not fit N x T = {(n, t)}.")
    return x, w, r, b, _state0(h0, x, n, hid, "h0"), m


def _state0(v, x, n, hid, name):
    """An initial state (None: zeros; H or N x H) as a fresh N x H array."""
    return np.zeros((n, hid), x.dtype) if v is None else np.array(np.broadcast_to(like(v, x, name), (n, hid)))


def _project(x, w, b):
    """(x as T x N x C, the input projection of every step T x N x kH): one matrix product."""
    n, ch, t = x.shape
    xt = np.ascontiguousarray(x.transpose(2, 0, 1))
    xp = (xt.reshape(t * n, ch) @ w.T).reshape(t, n, w.shape[0])
    xp += b
    return xt, xp


def _input_grads(dg, xt, w):
    """From the gates' pre-activation gradients dg (T x N x kH): (dx N x C x T, dw, db)."""
    t, n, ch = xt.shape
    dg2 = dg.reshape(t * n, dg.shape[2])
    dw = dg2.T @ xt.reshape(t * n, ch)
    db = dg2.sum(axis=0)
    dx = np.ascontiguousarray((dg2 @ w).reshape(t, n, ch).transpose(1, 2, 0))
    return dx, dw, db


def _time_first(a, shape, dt):
    """An N x H x T gradient (None: zeros) as T x N x H."""
    return np.zeros(shape, dt) if a is None else np.ascontiguousarray(np.asarray(a, dt).transpose(2, 0, 1))


def _final_grad(a, n, hid, dt):
    return np.zeros((n, hid), dt) if a is None else np.array(a, dtype=dt).reshape(n, hid)


def _forward(x, w, r, b, h0, c0, mask, gate, state, reverse):
    x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, 4, "lstm")
    g, s = _codes(gate, state)
    n, ch, t = x.shape
    hid = r.shape[1]
    c = _state0(c0, x, n, hid, "c0")
    xt, xp = _project(x, w, b)
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
    dyt = _time_first(dy, (t, n, hid), dt)
    dh, dc = _final_grad(dhT, n, hid, dt), _final_grad(dcT, n, hid, dt)
    dg = np.empty((t, n, 4 * hid), dt)
    _backward_loop(dyt, dh, dc, acts, cprev, cs, m, r, g, s, bool(reverse), dg, dt == np.float32)
    dx, dw, db = _input_grads(dg, xt, w)
    dr = dg.reshape(t * n, 4 * hid).T @ hprev.reshape(t * n, hid)
    return dx, dw, dr, db, dh, dc


# -- GRU ---------------------------------------------------------------------------------------------------------
# w 3H x C, r 3H x H, b (3H,) the input biases, rb (3H,) the recurrent ones ('recurrent-bias-after-
# multiplication' only), gates stacked r (reset), z (update), h (candidate), MATLAB's order (torch's r, z, n):
#   r, z = gate(W x + b + R h + rb)                             (rb = 0 but in mode 2)
#   after-multiplication (0), recurrent-bias-after-multiplication (2):  h~ = state(W_h x + b_h + r (R_h h + rb_h))
#   before-multiplication (1):                                         h~ = state(W_h x + b_h + R_h (r h))
#   h_t = (1 - z) h~ + z h_{t-1}; padded steps freeze h and output 0, as the LSTM's
#   gru_forward_train(x, w, r, b, rb, h0, mask, mode, gate, state, reverse) -> (y, hT, ctx)
#   gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse) -> (dx, dw, dr, db, drb, dh0)
MODES = {"after-multiplication": 0, "before-multiplication": 1, "recurrent-bias-after-multiplication": 2}


@numba.njit(cache=True, nogil=True)
def _gru_forward_loop(xp, r_t, rh_t, rb, h, mask, mode, gate, state, reverse, acts, hprev, aux, y, fast):
    """xp T x N x 3H (input projection + input bias), r_t H x 3H, rh_t H x H (the candidate's
    block of R, transposed; read by 'before-multiplication' only), rb (3H,) the recurrent bias
    (zeros unless 'recurrent-bias-after-multiplication'), h N x H updated in place to the final
    state. Writes acts (r, z, candidate after activation), hprev (the state entering each
    step), aux (modes 0 and 2: the candidate's recurrent term R_h h + rb_h; mode 1: r * h) and
    y (0 on padded steps)."""
    T, N, H3 = xp.shape
    H = H3 // 3
    q = np.empty_like(h)
    for s in range(T):
        t = _at(s, T, reverse)
        z = np.dot(h, r_t)
        for n in range(N):
            hprev[t, n] = h[n]
            if not mask[n, t]:
                acts[t, n] = 0.0
                aux[t, n] = 0.0
                continue
            for j in range(H):
                gr = _gate(xp[t, n, j] + z[n, j] + rb[j], gate, fast)
                acts[t, n, j] = gr
                acts[t, n, H + j] = _gate(xp[t, n, H + j] + z[n, H + j] + rb[H + j], gate, fast)
                aux[t, n, j] = gr * h[n, j] if mode == 1 else z[n, 2 * H + j] + rb[2 * H + j]
        if mode == 1:
            q = np.dot(aux[t], rh_t)                    # R_h (r * h): the second product of the step
        for n in range(N):
            if not mask[n, t]:
                y[t, n] = 0.0
                continue
            for j in range(H):
                rec = q[n, j] if mode == 1 else acts[t, n, j] * aux[t, n, j]
                gn = _state(xp[t, n, 2 * H + j] + rec, state, fast)
                gz = acts[t, n, H + j]
                hn = (1.0 - gz) * gn + gz * h[n, j]
                acts[t, n, 2 * H + j] = gn
                h[n, j] = hn
                y[t, n, j] = hn


@numba.njit(cache=True, nogil=True)
def _gru_backward_loop(dy, dh, acts, hprev, aux, mask, r, rh, mode, gate, state, reverse, dg, dgr, dn):
    """dy T x N x H; dh N x H (the gradient at the final state, updated in place to the one at
    the initial state); r 3H x H, rh H x H (the candidate's block of R). Writes dg (T x N x 3H:
    the pre-activation gradients of the input side, for dW, db, dx) and dgr (those of the
    recurrent side R h + rb, for dR, the recurrent bias and dh; mode 1: the candidate block 0,
    its product has r * h as input); dn N x H is scratch."""
    T, N, H3 = acts.shape
    H = H3 // 3
    drh = np.empty_like(dn)
    for s in range(T):
        t = _at(s, T, not reverse)
        for n in range(N):
            if not mask[n, t]:
                dg[t, n] = 0.0
                dgr[t, n] = 0.0
                dn[n] = 0.0
                continue
            for j in range(H):
                gz = acts[t, n, H + j]
                gn = acts[t, n, 2 * H + j]
                dht = dh[n, j] + dy[t, n, j]
                d_n = dht * (1.0 - gz) * _state_grad_out(gn, state)
                dn[n, j] = d_n
                dg[t, n, H + j] = dht * (hprev[t, n, j] - gn) * _gate_grad(gz, gate)
                dg[t, n, 2 * H + j] = d_n
        if mode == 1:
            drh = np.dot(dn, rh)                        # the gradient of r * h
        for n in range(N):
            if not mask[n, t]:
                continue
            for j in range(H):
                gr = acts[t, n, j]
                gz = acts[t, n, H + j]
                dht = dh[n, j] + dy[t, n, j]
                if mode == 1:
                    dgate_r = drh[n, j] * hprev[t, n, j]
                    direct = dht * gz + drh[n, j] * gr
                    dgr[t, n, 2 * H + j] = 0.0
                else:
                    dgate_r = dn[n, j] * aux[t, n, j]
                    direct = dht * gz
                    dgr[t, n, 2 * H + j] = dn[n, j] * gr
                d_r = dgate_r * _gate_grad(gr, gate)
                dg[t, n, j] = d_r
                dgr[t, n, j] = d_r
                dgr[t, n, H + j] = dg[t, n, H + j]
                dh[n, j] = direct                       # + dgr R below
        back = np.dot(dgr[t], r)
        for n in range(N):
            if mask[n, t]:
                for j in range(H):
                    dh[n, j] += back[n, j]


def _gru_mode(mode):
    try:
        return MODES[mode]
    except KeyError:
        raise ValueError(f"gru: mode must be one of {list(MODES)}; got {mode!r}.") from None


def _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse):
    x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, 3, "gru")
    md = _gru_mode(mode)
    g, s = _codes(gate, state, "gru")
    n, ch, t = x.shape
    hid = r.shape[1]
    if md == 2:
        rb = like(rb, x, "rb", (3 * hid,))
    elif rb is not None:
        raise ValueError(f"gru: a recurrent bias is used by 'recurrent-bias-after-multiplication' only, not {mode!r}.")
    else:
        rb = np.zeros(3 * hid, x.dtype)
    xt, xp = _project(x, w, b)
    acts = np.empty((t, n, 3 * hid), x.dtype)
    hprev, aux, y = (np.empty((t, n, hid), x.dtype) for _ in range(3))
    rh_t = np.ascontiguousarray(r[2 * hid:].T)
    _gru_forward_loop(xp, np.ascontiguousarray(r.T), rh_t, rb, h, m, md, g, s, bool(reverse), acts, hprev, aux, y,
                      x.dtype == np.float32)
    return np.ascontiguousarray(y.transpose(1, 2, 0)), h, (xt, acts, hprev, aux, m)


def gru_forward_train(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False):
    """-> (y N x H x T, hT N x H, ctx). Gates r, z, candidate (MATLAB's order); b the input
    bias (3H,), rb the recurrent bias (3H,, 'recurrent-bias-after-multiplication' only)."""
    with blas_threads(1):
        return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse)


def gru_forward_infer(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False):
    with blas_threads(1):
        return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse)[:2]


def gru_backward(dy, dhT, ctx, w, r, mode="after-multiplication", gate="sigmoid", state="tanh", reverse=False):
    """-> (dx, dw, dr, db, drb, dh0); drb None unless 'recurrent-bias-after-multiplication'."""
    with blas_threads(1):
        return _gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse)


def _gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse):
    xt, acts, hprev, aux, m = ctx
    t, n, ch = xt.shape
    hid = acts.shape[2] // 3
    dt = xt.dtype
    w = like(w, xt, "w", (3 * hid, ch))
    r = like(r, xt, "r", (3 * hid, hid))
    md = _gru_mode(mode)
    g, s = _codes(gate, state, "gru")
    dyt = _time_first(dy, (t, n, hid), dt)
    dh = _final_grad(dhT, n, hid, dt)
    dg, dgr = np.empty((t, n, 3 * hid), dt), np.empty((t, n, 3 * hid), dt)
    _gru_backward_loop(dyt, dh, acts, hprev, aux, m, r, np.ascontiguousarray(r[2 * hid:]), md, g, s, bool(reverse),
                       dg, dgr, np.empty((n, hid), dt))
    dx, dw, db = _input_grads(dg, xt, w)
    dgr2 = dgr.reshape(t * n, 3 * hid)
    dr = dgr2.T @ hprev.reshape(t * n, hid)
    if md == 1:   # the candidate block's product has r * h as its input
        dr[2 * hid:] = dg.reshape(t * n, 3 * hid)[:, 2 * hid:].T @ aux.reshape(t * n, hid)
    drb = dgr2.sum(axis=0) if md == 2 else None
    return dx, dw, dr, db, drb, dh
