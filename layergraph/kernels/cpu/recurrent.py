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

import threading

import numba
import numpy as np

from ._parallel import _PREFIX, batch_parallel, blas_threads, threads
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
def _forward_loop(lo, hi, xp, r_t, h0, c0, mask, gate, state, reverse, store, acts, hprev, cprev, cs, y, want_y,
                  hT, cT, fast):
    """Rows lo:hi of the batch through every step. xp T x N x 4H (input projection + bias), r_t
    H x 4H, h0 and c0 N x H (read), hT and cT N x H (rows lo:hi written: the final state). With
    ``store`` (training) writes acts (post-activation gates), the states entering each step and
    the cell after it (T x N x H each); without, those are not touched (prediction). With
    ``want_y`` writes y (T x N x H, 0 on padded steps). Per step one product of the rows' states
    (one BLAS call into a buffer made once), then the gate math of those rows in one pass."""
    T, N, H4 = xp.shape
    H = H4 // 4
    nc = hi - lo
    h = h0[lo:hi].copy()
    c = c0[lo:hi].copy()
    z = np.empty((nc, H4), xp.dtype)
    for s in range(T):
        t = _at(s, T, reverse)
        np.dot(h, r_t, z)
        for i in range(nc):
            n = lo + i
            if store:
                hprev[t, n] = h[i]
                cprev[t, n] = c[i]
            if not mask[n, t]:
                if store:
                    acts[t, n] = 0.0
                    cs[t, n] = c[i]
                if want_y:
                    y[t, n] = 0.0
                continue
            zi = z[i]
            xi = xp[t, n]
            hi_ = h[i]
            ci = c[i]
            for j in range(H):
                gi = _gate(zi[j] + xi[j], gate, fast)
                gf = _gate(zi[H + j] + xi[H + j], gate, fast)
                gg = _state(zi[2 * H + j] + xi[2 * H + j], state, fast)
                go = _gate(zi[3 * H + j] + xi[3 * H + j], gate, fast)
                cn = gf * ci[j] + gi * gg
                hn = go * _state(cn, state, fast)
                ci[j] = cn
                hi_[j] = hn
                if store:
                    acts[t, n, j] = gi
                    acts[t, n, H + j] = gf
                    acts[t, n, 2 * H + j] = gg
                    acts[t, n, 3 * H + j] = go
                    cs[t, n, j] = cn
            if want_y:
                y[t, n] = hi_
    hT[lo:hi] = h
    cT[lo:hi] = c


@numba.njit(cache=True, nogil=True)
def _backward_loop(lo, hi, dy, dh, dc, acts, cprev, cs, mask, r, gate, state, reverse, dg, fast):
    """Rows lo:hi. dy T x N x H (or 1 x 1 x 1: no gradient at the outputs); dh, dc N x H (the
    gradients at the final state, rows lo:hi updated in place to those at the initial state);
    writes dg (T x N x 4H, the gates' pre-activation gradients). Per step the gate math of the
    rows in one pass, then one product dg_t r into a buffer made once."""
    T, N, H4 = acts.shape
    H = H4 // 4
    has_dy = dy.shape[0] == T
    back = np.empty((hi - lo, H), dg.dtype)
    for s in range(T):
        t = _at(s, T, not reverse)
        for n in range(lo, hi):
            if not mask[n, t]:
                dg[t, n] = 0.0
                continue
            a = acts[t, n]
            d = dg[t, n]
            dhn = dh[n]
            dcn = dc[n]
            cp = cprev[t, n]
            cn = cs[t, n]
            for j in range(H):
                gi = a[j]
                gf = a[H + j]
                gg = a[2 * H + j]
                go = a[3 * H + j]
                sc = _state(cn[j], state, fast)
                dht = dhn[j] + dy[t, n, j] if has_dy else dhn[j]
                dct = dcn[j] + dht * go * _state_grad_out(sc, state)
                d[j] = dct * gg * _gate_grad(gi, gate)
                d[H + j] = dct * cp[j] * _gate_grad(gf, gate)
                d[2 * H + j] = dct * gi * _state_grad_out(gg, state)
                d[3 * H + j] = dht * sc * _gate_grad(go, gate)
                dcn[j] = dct * gf
        np.dot(dg[t][lo:hi], r, back)
        for n in range(lo, hi):
            if mask[n, t]:
                dh[n] = back[n - lo]


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


# The batch split: sequences are independent, so each of the pool's threads runs the whole time
# loop over its own rows (its own per-step products, single-threaded BLAS; no synchronisation per
# step). Only where each thread gets at least SPLIT_ROWS rows and the call is big enough that the
# hand-off (tens of microseconds) is small beside it (benchmarks/bench_lstm.py, docs/performance.md).
SPLIT_ROWS = 8
SPLIT_WORK = 1 << 18          # rows x steps x gate rows


def _row_chunks(n, t, k_h):
    nt = threads()
    if (nt <= 1 or n < 2 * SPLIT_ROWS or n * t * k_h < SPLIT_WORK
            or threading.current_thread().name.startswith(_PREFIX)):
        return 1
    return min(nt, n // SPLIT_ROWS)


def _over_rows(kernel, n, chunks, *args):
    """``kernel(lo, hi, *args)`` over ``chunks`` equal slices of the batch's n rows, one per
    thread of the pool (or all in this thread)."""
    if chunks <= 1:
        kernel(0, n, *args)
        return
    size = -(-n // chunks)

    def work(slices):
        for lo, hi in slices:
            kernel(lo, hi, *args)
    batch_parallel(work, n, size)


_NONE = {}


def _none(dt):
    """A placeholder for the arrays a call does not use (1 x 1 x 1, never read or written)."""
    a = _NONE.get(dt)
    if a is None:
        a = _NONE[dt] = np.zeros((1, 1, 1), dt)
    return a


def _forward(x, w, r, b, h0, c0, mask, gate, state, reverse, store, sequence, chunks=None):
    x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, 4, "lstm")
    g, s = _codes(gate, state)
    n, ch, t = x.shape
    hid = r.shape[1]
    dt = x.dtype
    c = _state0(c0, x, n, hid, "c0")
    xt, xp = _project(x, w, b)
    if store:
        acts = np.empty((t, n, 4 * hid), dt)
        hprev, cprev, cs = (np.empty((t, n, hid), dt) for _ in range(3))
    else:
        acts = hprev = cprev = cs = _none(dt)
    y = np.empty((t, n, hid), dt) if sequence else _none(dt)
    hT, cT = np.empty_like(h), np.empty_like(c)
    chunks = _row_chunks(n, t, 4 * hid) if chunks is None else chunks
    _over_rows(_forward_loop, n, chunks, xp, np.ascontiguousarray(r.T), h, c, m, g, s, bool(reverse), store,
               acts, hprev, cprev, cs, y, sequence, hT, cT, dt == np.float32)
    out = np.ascontiguousarray(y.transpose(1, 2, 0)) if sequence else None      # N x H x T
    return out, hT, cT, ((xt, acts, hprev, cprev, cs, m) if store else None)


# BLAS at one thread throughout: the per-step products are small, and OpenBLAS's own threads
# only wake up and spin between them (and into the next kernels; _parallel.py). numba's np.dot
# calls SciPy's BLAS, which is held too (_blas1).
def _blas1():
    if not _loaded:
        import scipy.linalg.cython_blas  # noqa: F401 -- what numba's np.dot calls; loaded anyway on its first call
        _loaded.append(True)
        blas_threads.rescan()
    return blas_threads(1, every=True)


_loaded = []


def lstm_forward_train(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False,
                       sequence=True, chunks=None):
    """-> (y N x H x T, or None when not ``sequence``; hT, cT N x H; ctx). ``chunks``: the
    batch's split over threads (None: chosen by size)."""
    with _blas1():
        return _forward(x, w, r, b, h0, c0, mask, gate, state, reverse, True, sequence, chunks)


def lstm_forward_infer(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False,
                       sequence=True, chunks=None):
    """-> (y, hT, cT): the training forward's values, nothing stored for a backward."""
    with _blas1():
        return _forward(x, w, r, b, h0, c0, mask, gate, state, reverse, False, sequence, chunks)[:3]


def lstm_backward(dy, dhT, dcT, ctx, w, r, gate="sigmoid", state="tanh", reverse=False, chunks=None):
    """dy N x H x T, or None (no gradient at the outputs: OutputMode 'last' reads the final state)."""
    with _blas1():
        return _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse, chunks)


def _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse, chunks):
    xt, acts, hprev, cprev, cs, m = ctx
    t, n, ch = xt.shape
    hid = acts.shape[2] // 4
    dt = xt.dtype
    w = like(w, xt, "w", (4 * hid, ch))
    r = like(r, xt, "r", (4 * hid, hid))
    g, s = _codes(gate, state)
    dyt = _none(dt) if dy is None else _time_first(dy, (t, n, hid), dt)
    dh, dc = _final_grad(dhT, n, hid, dt), _final_grad(dcT, n, hid, dt)
    dg = np.empty((t, n, 4 * hid), dt)
    chunks = _row_chunks(n, t, 4 * hid) if chunks is None else chunks
    _over_rows(_backward_loop, n, chunks, dyt, dh, dc, acts, cprev, cs, m, r, g, s, bool(reverse), dg,
               dt == np.float32)
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
def _gru_forward_loop(lo, hi, xp, r_t, rh_t, rb, h0, mask, mode, gate, state, reverse, store, acts, hprev, aux, y,
                      want_y, hT, fast):
    """Rows lo:hi of the batch. xp T x N x 3H (input projection + input bias), r_t H x 3H, rh_t
    H x H (the candidate's block of R, transposed; read by 'before-multiplication' only), rb
    (3H,) the recurrent bias (zeros unless 'recurrent-bias-after-multiplication'), h0 N x H
    (read), hT N x H (rows lo:hi written). With ``store`` writes acts (r, z, candidate after
    activation), hprev (the state entering each step) and aux (modes 0 and 2: the candidate's
    recurrent term R_h h + rb_h; mode 1: r * h); without, those are not touched. With
    ``want_y`` writes y (0 on padded steps)."""
    T, N, H3 = xp.shape
    H = H3 // 3
    nc = hi - lo
    h = h0[lo:hi].copy()
    z = np.empty((nc, H3), xp.dtype)
    g = np.empty((nc, 2 * H), xp.dtype)            # r, z of the step
    rh = np.empty((nc, H), xp.dtype)               # r * h (mode 1) or the candidate's recurrent term
    q = np.empty((nc, H), xp.dtype)
    for s in range(T):
        t = _at(s, T, reverse)
        np.dot(h, r_t, z)
        for i in range(nc):
            n = lo + i
            if store:
                hprev[t, n] = h[i]
            if not mask[n, t]:
                continue
            for j in range(H):
                gr = _gate(xp[t, n, j] + z[i, j] + rb[j], gate, fast)
                g[i, j] = gr
                g[i, H + j] = _gate(xp[t, n, H + j] + z[i, H + j] + rb[H + j], gate, fast)
                rh[i, j] = gr * h[i, j] if mode == 1 else z[i, 2 * H + j] + rb[2 * H + j]
        if mode == 1:
            np.dot(rh, rh_t, q)                        # R_h (r * h): the second product of the step
        for i in range(nc):
            n = lo + i
            if not mask[n, t]:
                if store:
                    acts[t, n] = 0.0
                    aux[t, n] = 0.0
                if want_y:
                    y[t, n] = 0.0
                continue
            for j in range(H):
                gr = g[i, j]
                gz = g[i, H + j]
                rec = q[i, j] if mode == 1 else gr * rh[i, j]
                gn = _state(xp[t, n, 2 * H + j] + rec, state, fast)
                hn = (1.0 - gz) * gn + gz * h[i, j]
                h[i, j] = hn
                if store:
                    acts[t, n, j] = gr
                    acts[t, n, H + j] = gz
                    acts[t, n, 2 * H + j] = gn
                    aux[t, n, j] = rh[i, j]
            if want_y:
                y[t, n] = h[i]
    hT[lo:hi] = h


@numba.njit(cache=True, nogil=True)
def _gru_backward_loop(lo, hi, dy, dh, acts, hprev, aux, mask, r, rh, mode, gate, state, reverse, dg, dgr):
    """Rows lo:hi. dy T x N x H (or 1 x 1 x 1: none); dh N x H (the gradient at the final state,
    rows lo:hi updated in place to the one at the initial state); r 3H x H, rh H x H (the
    candidate's block of R). Writes dg (T x N x 3H: the pre-activation gradients of the input
    side, for dW, db, dx) and dgr (those of the recurrent side R h + rb, for dR, the recurrent
    bias and dh; mode 1: the candidate block 0, its product has r * h as input)."""
    T, N, H3 = acts.shape
    H = H3 // 3
    nc = hi - lo
    has_dy = dy.shape[0] == T
    dn = np.zeros((nc, H), dg.dtype)
    drh = np.empty((nc, H), dg.dtype)
    back = np.empty((nc, H), dg.dtype)
    for s in range(T):
        t = _at(s, T, not reverse)
        for i in range(nc):
            n = lo + i
            if not mask[n, t]:
                dg[t, n] = 0.0
                dgr[t, n] = 0.0
                dn[i] = 0.0
                continue
            for j in range(H):
                gz = acts[t, n, H + j]
                gn = acts[t, n, 2 * H + j]
                dht = dh[n, j] + dy[t, n, j] if has_dy else dh[n, j]
                d_n = dht * (1.0 - gz) * _state_grad_out(gn, state)
                dn[i, j] = d_n
                dg[t, n, H + j] = dht * (hprev[t, n, j] - gn) * _gate_grad(gz, gate)
                dg[t, n, 2 * H + j] = d_n
        if mode == 1:
            np.dot(dn, rh, drh)                        # the gradient of r * h
        for i in range(nc):
            n = lo + i
            if not mask[n, t]:
                continue
            for j in range(H):
                gr = acts[t, n, j]
                gz = acts[t, n, H + j]
                dht = dh[n, j] + dy[t, n, j] if has_dy else dh[n, j]
                if mode == 1:
                    dgate_r = drh[i, j] * hprev[t, n, j]
                    direct = dht * gz + drh[i, j] * gr
                    dgr[t, n, 2 * H + j] = 0.0
                else:
                    dgate_r = dn[i, j] * aux[t, n, j]
                    direct = dht * gz
                    dgr[t, n, 2 * H + j] = dn[i, j] * gr
                d_r = dgate_r * _gate_grad(gr, gate)
                dg[t, n, j] = d_r
                dgr[t, n, j] = d_r
                dgr[t, n, H + j] = dg[t, n, H + j]
                dh[n, j] = direct                       # + dgr R below
        np.dot(dgr[t][lo:hi], r, back)
        for i in range(nc):
            n = lo + i
            if mask[n, t]:
                for j in range(H):
                    dh[n, j] += back[i, j]


def _gru_mode(mode):
    try:
        return MODES[mode]
    except KeyError:
        raise ValueError(f"gru: mode must be one of {list(MODES)}; got {mode!r}.") from None


def _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, store, sequence, chunks):
    x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, 3, "gru")
    md = _gru_mode(mode)
    g, s = _codes(gate, state, "gru")
    n, ch, t = x.shape
    hid = r.shape[1]
    dt = x.dtype
    if md == 2:
        rb = like(rb, x, "rb", (3 * hid,))
    elif rb is not None:
        raise ValueError(f"gru: a recurrent bias is used by 'recurrent-bias-after-multiplication' only, not {mode!r}.")
    else:
        rb = np.zeros(3 * hid, dt)
    xt, xp = _project(x, w, b)
    if store:
        acts = np.empty((t, n, 3 * hid), dt)
        hprev, aux = np.empty((t, n, hid), dt), np.empty((t, n, hid), dt)
    else:
        acts = hprev = aux = _none(dt)
    y = np.empty((t, n, hid), dt) if sequence else _none(dt)
    hT = np.empty_like(h)
    rh_t = np.ascontiguousarray(r[2 * hid:].T)
    chunks = _row_chunks(n, t, 3 * hid) if chunks is None else chunks
    _over_rows(_gru_forward_loop, n, chunks, xp, np.ascontiguousarray(r.T), rh_t, rb, h, m, md, g, s, bool(reverse),
               store, acts, hprev, aux, y, sequence, hT, dt == np.float32)
    out = np.ascontiguousarray(y.transpose(1, 2, 0)) if sequence else None
    return out, hT, ((xt, acts, hprev, aux, m) if store else None)


def gru_forward_train(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False, sequence=True, chunks=None):
    """-> (y N x H x T (None when not ``sequence``), hT N x H, ctx). Gates r, z, candidate
    (MATLAB's order); b the input bias (3H,), rb the recurrent bias (3H,, 'recurrent-bias-after-
    multiplication' only); ``chunks`` the batch's split over threads (None: chosen by size)."""
    with _blas1():
        return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, True, sequence, chunks)


def gru_forward_infer(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False, sequence=True, chunks=None):
    """-> (y, hT): the training forward's values, nothing stored for a backward."""
    with _blas1():
        return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, False, sequence, chunks)[:2]


def gru_backward(dy, dhT, ctx, w, r, mode="after-multiplication", gate="sigmoid", state="tanh", reverse=False,
                 chunks=None):
    """-> (dx, dw, dr, db, drb, dh0); drb None unless 'recurrent-bias-after-multiplication'; dy
    may be None (no gradient at the outputs)."""
    with _blas1():
        return _gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse, chunks)


def _gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse, chunks):
    xt, acts, hprev, aux, m = ctx
    t, n, ch = xt.shape
    hid = acts.shape[2] // 3
    dt = xt.dtype
    w = like(w, xt, "w", (3 * hid, ch))
    r = like(r, xt, "r", (3 * hid, hid))
    md = _gru_mode(mode)
    g, s = _codes(gate, state, "gru")
    dyt = _none(dt) if dy is None else _time_first(dy, (t, n, hid), dt)
    dh = _final_grad(dhT, n, hid, dt)
    dg, dgr = np.empty((t, n, 3 * hid), dt), np.empty((t, n, 3 * hid), dt)
    chunks = _row_chunks(n, t, 3 * hid) if chunks is None else chunks
    _over_rows(_gru_backward_loop, n, chunks, dyt, dh, acts, hprev, aux, m, r, np.ascontiguousarray(r[2 * hid:]), md,
               g, s, bool(reverse), dg, dgr)
    dx, dw, db = _input_grads(dg, xt, w)
    dgr2 = dgr.reshape(t * n, 3 * hid)
    dr = dgr2.T @ hprev.reshape(t * n, hid)
    if md == 1:   # the candidate block's product has r * h as its input
        dr[2 * hid:] = dg.reshape(t * n, 3 * hid)[:, 2 * hid:].T @ aux.reshape(t * n, hid)
    drb = dgr2.sum(axis=0) if md == 2 else None
    return dx, dw, dr, db, drb, dh
