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

from ._gemm import matmul, sgemm_address
from ._parallel import _PREFIX, batch_parallel, blas_threads, parallel_range, threads, workspace
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


# The constants below are float32 so that every expression keeps its argument's type: float32 op
# float32 stays float32, float32 op float64 is float64 (a Python float literal would make a float32
# gate float64 and the loop 4 lanes wide instead of 8). 1, 0.5, 2.5 and 5 are exact in float32,
# so float64 loses nothing; hard-sigmoid's 0.2 v + 0.5 is computed as (v + 2.5) / 5.
_ONE = _F(1.0)
_ZERO = _F(0.0)
_TWO_HALF = _F(2.5)
_FIVE = _F(5.0)


@numba.njit(cache=True, inline="always")
def _sig32(v):
    """float32 sigmoid as 0.5 + 0.5 tanh(v / 2) (no branch: the vectorized loops' gate)."""
    return _HALF + _HALF * _tanh32(_HALF * v)


@numba.njit(cache=True, inline="always")
def _gate(v, kind, fast):
    if kind == 0:
        if fast:
            return _sig32(v)
        return _ONE / (_ONE + np.exp(-v))
    return min(_ONE, max(_ZERO, (v + _TWO_HALF) / _FIVE))


@numba.njit(cache=True, inline="always")
def _gate_grad(y, kind):
    """The gate's derivative from its output."""
    if kind == 0:
        return y * (_ONE - y)
    return (y - y + _ONE) / _FIVE if _ZERO < y < _ONE else y - y


@numba.njit(cache=True, inline="always")
def _state(v, kind, fast):
    if kind == 0:
        return _tanh32(v) if fast else np.tanh(v)
    return v / (_ONE + abs(v))


@numba.njit(cache=True, inline="always")
def _state_grad_out(y, kind):
    """The state activation's derivative from its output (tanh: 1 - y^2; softsign: (1 - |y|)^2)."""
    if kind == 0:
        return _ONE - y * y
    a = _ONE - abs(y)
    return a * a


@numba.njit(cache=True, inline="always")
def _at(s, T, reverse):
    """The time index of loop step s (forward in time, or T-1 .. 0 when ``reverse``)."""
    return T - 1 - s if reverse else s


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _forward_loop(lo, hi, xp, bias, r_t, h0, c0, mask, gate, state, reverse, store, hprev, cs, y, want_y, hT, cT, fast,
                  fp):
    """Rows lo:hi of the batch through every step. xp T x N x 4H (the input projection, bias (4H,)
    added here: no pass of its own over xp; its rows lo:hi are overwritten with the
    post-activation gates of each step: the store of the training forward, scratch in
    prediction), r_t H x 4H, h0 and c0 N x H (read), hT and cT N x H
    (rows lo:hi written: the final state). With ``store`` (training) writes the states entering
    each step and the cell after it (hprev, cs: T x N x H); without, those are not touched. With
    ``want_y`` writes y (T x N x H, 0 on padded steps); a padded step's gates are 0. Per step one
    product of the rows' states (one BLAS call into a buffer made once), then the gate math of
    each row in one pass over contiguous memory (sigmoid and tanh in float32: one branch-free
    loop the compiler vectorizes; the other activations and float64: the general loop)."""
    T, N, H4 = xp.shape
    H = H4 // 4
    nc = hi - lo
    h = h0[lo:hi].copy()
    c = c0[lo:hi].copy()
    z = np.empty((nc, H4), xp.dtype)
    quick = fast and gate == 0 and state == 0
    for s in range(T):
        t = _at(s, T, reverse)
        matmul(fp, h, r_t, z)
        for i in range(nc):
            n = lo + i
            a = xp[t, n]
            if store:
                hprev[t, n] = h[i]
            if not mask[n, t]:
                a[:] = 0.0
                if store:
                    cs[t, n] = c[i]
                if want_y:
                    y[t, n] = 0.0
                continue
            zi = z[i]
            hr = h[i]
            cr = c[i]
            if quick:   # branch-free: vectorized (8 lanes of float32 on AVX2)
                # one view per gate block: indexed as a[k * H + j], LLVM's vectorized path was not
                # taken (5x slower gate loop at H = 128; the same operations, the same values)
                ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
                zi_i, zi_f, zi_g, zi_o = zi[:H], zi[H:2 * H], zi[2 * H:3 * H], zi[3 * H:]
                bi, bf, bg, bo = bias[:H], bias[H:2 * H], bias[2 * H:3 * H], bias[3 * H:]
                for j in range(H):
                    gi = _sig32((ai[j] + bi[j]) + zi_i[j])
                    gf = _sig32((af[j] + bf[j]) + zi_f[j])
                    gg = _tanh32((ag[j] + bg[j]) + zi_g[j])
                    go = _sig32((ao[j] + bo[j]) + zi_o[j])
                    cn = gf * cr[j] + gi * gg
                    cr[j] = cn
                    hr[j] = go * _tanh32(cn)
                    ai[j] = gi
                    af[j] = gf
                    ag[j] = gg
                    ao[j] = go
            else:
                for j in range(H):
                    gi = _gate((a[j] + bias[j]) + zi[j], gate, fast)
                    gf = _gate((a[H + j] + bias[H + j]) + zi[H + j], gate, fast)
                    gg = _state((a[2 * H + j] + bias[2 * H + j]) + zi[2 * H + j], state, fast)
                    go = _gate((a[3 * H + j] + bias[3 * H + j]) + zi[3 * H + j], gate, fast)
                    cn = gf * cr[j] + gi * gg
                    cr[j] = cn
                    hr[j] = go * _state(cn, state, fast)
                    a[j] = gi
                    a[H + j] = gf
                    a[2 * H + j] = gg
                    a[3 * H + j] = go
            if store:
                cs[t, n] = cr
            if want_y:
                y[t, n] = hr
    hT[lo:hi] = h
    cT[lo:hi] = c


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _infer_loop(lo, hi, xt, w_t, bias, r_t, h0, c0, mask, gate, state, reverse, y, want_y, hT, cT, fast, fp):
    """Prediction: _forward_loop's values without its stores, the input projection made per step.
    xt T x N x C (the input, time first), w_t C x 4H; the rest as _forward_loop's. Each step makes
    its rows' projection x_t W^T (one small product into a buffer made once, in cache) beside
    h R^T, then the same gate math on the same sums ((x w + b) + r h). One product of all T x N
    rows before the loop wrote (and the gate loop read back) a T x N x 4H array out of cache
    (26 MB at N 128, T 100, H 128): 12 ms against 6 ms for the same products per step."""
    T, N, C = xt.shape
    H4 = w_t.shape[1]
    H = H4 // 4
    nc = hi - lo
    h = h0[lo:hi].copy()
    c = c0[lo:hi].copy()
    z = np.empty((nc, H4), xt.dtype)
    p = np.empty((nc, H4), xt.dtype)
    quick = fast and gate == 0 and state == 0
    for s in range(T):
        t = _at(s, T, reverse)
        matmul(fp, xt[t, lo:hi], w_t, p)
        matmul(fp, h, r_t, z)
        for i in range(nc):
            n = lo + i
            if not mask[n, t]:
                if want_y:
                    y[t, n] = 0.0
                continue
            a = p[i]
            zi = z[i]
            hr = h[i]
            cr = c[i]
            if quick:   # branch-free: vectorized (8 lanes of float32 on AVX2), one view per gate block
                ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
                zi_i, zi_f, zi_g, zi_o = zi[:H], zi[H:2 * H], zi[2 * H:3 * H], zi[3 * H:]
                bi, bf, bg, bo = bias[:H], bias[H:2 * H], bias[2 * H:3 * H], bias[3 * H:]
                for j in range(H):
                    gi = _sig32((ai[j] + bi[j]) + zi_i[j])
                    gf = _sig32((af[j] + bf[j]) + zi_f[j])
                    gg = _tanh32((ag[j] + bg[j]) + zi_g[j])
                    go = _sig32((ao[j] + bo[j]) + zi_o[j])
                    cn = gf * cr[j] + gi * gg
                    cr[j] = cn
                    hr[j] = go * _tanh32(cn)
            else:
                for j in range(H):
                    gi = _gate((a[j] + bias[j]) + zi[j], gate, fast)
                    gf = _gate((a[H + j] + bias[H + j]) + zi[H + j], gate, fast)
                    gg = _state((a[2 * H + j] + bias[2 * H + j]) + zi[2 * H + j], state, fast)
                    go = _gate((a[3 * H + j] + bias[3 * H + j]) + zi[3 * H + j], gate, fast)
                    cn = gf * cr[j] + gi * gg
                    cr[j] = cn
                    hr[j] = go * _state(cn, state, fast)
            if want_y:
                y[t, n] = hr
    hT[lo:hi] = h
    cT[lo:hi] = c


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _backward_loop(lo, hi, dy, dh, dc, acts, c0, cs, mask, r, gate, state, reverse, dg, fast, fp):
    """Rows lo:hi. dy T x N x H (or 1 x 1 x 1: no gradient at the outputs); dh, dc N x H (the
    gradients at the final state, rows lo:hi updated in place to those at the initial state);
    acts T x N x 4H the post-activation gates, cs T x N x H the cell after each step (frozen on
    padded steps), c0 N x H the initial cell (the cell entering a step is the one after the
    step before it, or c0); writes dg (T x N x 4H, the gates' pre-activation gradients). Per step the gate math of the
    rows in one pass (sigmoid and tanh in float32: a branch-free loop), then one product dg_t r
    into a buffer made once."""
    T, N, H4 = acts.shape
    H = H4 // 4
    has_dy = dy.shape[0] == T
    back = np.empty((hi - lo, H), dg.dtype)
    quick = fast and gate == 0 and state == 0
    for s in range(T):
        t = _at(s, T, not reverse)
        for n in range(lo, hi):
            d = dg[t, n]
            if not mask[n, t]:
                d[:] = 0.0
                continue
            a = acts[t, n]
            dhn = dh[n]
            dcn = dc[n]
            cp = c0[n] if s == T - 1 else cs[t + 1 if reverse else t - 1, n]
            cn = cs[t, n]
            if has_dy:
                dyn = dy[t, n]
                for j in range(H):
                    dhn[j] += dyn[j]
            if quick:   # one view per gate block (as the forward's)
                ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
                di, df, dgg, do = d[:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:]
                for j in range(H):
                    gi = ai[j]
                    gf = af[j]
                    gg = ag[j]
                    go = ao[j]
                    sc = _tanh32(cn[j])
                    dht = dhn[j]
                    dct = dcn[j] + dht * go * (_ONE - sc * sc)
                    di[j] = dct * gg * (gi * (_ONE - gi))
                    df[j] = dct * cp[j] * (gf * (_ONE - gf))
                    dgg[j] = dct * gi * (_ONE - gg * gg)
                    do[j] = dht * sc * (go * (_ONE - go))
                    dcn[j] = dct * gf
            else:
                for j in range(H):
                    gi = a[j]
                    gf = a[H + j]
                    gg = a[2 * H + j]
                    go = a[3 * H + j]
                    sc = _state(cn[j], state, fast)
                    dht = dhn[j]
                    dct = dcn[j] + dht * go * _state_grad_out(sc, state)
                    d[j] = dct * gg * _gate_grad(gi, gate)
                    d[H + j] = dct * cp[j] * _gate_grad(gf, gate)
                    d[2 * H + j] = dct * gi * _state_grad_out(gg, state)
                    d[3 * H + j] = dht * sc * _gate_grad(go, gate)
                    dcn[j] = dct * gf
        matmul(fp, dg[t][lo:hi], r, back)
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
    """(x as T x N x C, the input projection of every step T x N x kH): one matrix product (its
    rows split over the pool)."""
    n, ch, t = x.shape
    xt = _to_tnh(x)
    xp = np.empty((t, n, w.shape[0]), x.dtype)
    _matmul(xt.reshape(t * n, ch), w.T, xp.reshape(t * n, w.shape[0]), b)
    return xt, xp


def _input_grads(dg, xt, w, need_dx=True):
    """From the gates' pre-activation gradients dg (T x N x kH): (dx N x C x T, or None when not
    ``need_dx``; dw, db)."""
    t, n, ch = xt.shape
    kh = dg.shape[2]
    dg2 = dg.reshape(t * n, kh)
    dw = _matmul(dg2.T, xt.reshape(t * n, ch), np.empty((kh, ch), dg.dtype))
    db = dg2.sum(axis=0)
    if not need_dx:
        return None, dw, db
    dx2 = _matmul(dg2, w, np.empty((t * n, ch), dg.dtype))
    dx = _to_nht(dx2.reshape(t, n, ch))
    return dx, dw, db


# The big products before and after the loop (the input projection, dx, dW, dR), split by rows of
# the result over the pool, each thread one single-threaded BLAS product into its own rows (no sum
# of parts; OpenBLAS's own threads would spin between them and into the loop that follows).
MATMUL_SPLIT = 1 << 22        # multiply-adds below which the calling thread does it all


def _matmul(a, b, out, bias=None):
    """out = a @ b (+ bias) with out C-contiguous; -> out."""
    m = a.shape[0]
    nt = threads()
    if (nt <= 1 or m < 2 * SPLIT_ROWS or m * a.shape[1] * b.shape[1] < MATMUL_SPLIT
            or threading.current_thread().name.startswith(_PREFIX)):
        np.matmul(a, b, out=out)
        if bias is not None:
            out += bias
        return out

    def work(chunks):
        for lo, hi in chunks:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
            if bias is not None:
                out[lo:hi] += bias
    batch_parallel(work, m, -(-m // nt))
    return out


def _time_first(a, shape, dt):
    """An N x H x T gradient (None: zeros) as T x N x H."""
    return np.zeros(shape, dt) if a is None else _to_tnh(np.asarray(a, dt))


@numba.njit(cache=True, nogil=True)
def _nht_rows(lo, hi, y, out):
    """out[n, j, t] = y[t, n, j] for n in lo:hi, in blocks of 16 steps (both sides stay in cache)."""
    T, N, H = y.shape
    for n in range(lo, hi):
        for t0 in range(0, T, 16):
            t1 = min(T, t0 + 16)
            for j in range(H):
                for t in range(t0, t1):
                    out[n, j, t] = y[t, n, j]


@numba.njit(cache=True, nogil=True)
def _tnh_rows(lo, hi, a, out):
    """out[t, n, j] = a[n, j, t] for n in lo:hi (the inverse of _nht_rows), in blocks of 16 steps."""
    N, H, T = a.shape
    for n in range(lo, hi):
        for t0 in range(0, T, 16):
            t1 = min(T, t0 + 16)
            for j in range(H):
                for t in range(t0, t1):
                    out[t, n, j] = a[n, j, t]


def _to_nht(y):
    """A T x N x H array as N x H x T (the layout outside the kernels), split over the pool."""
    t, n, hid = y.shape
    out = np.empty((n, hid, t), y.dtype)
    parallel_range(_nht_rows, n, y, out, size=y.size)
    return out


def _to_tnh(a):
    """An N x H x T array as T x N x H (the loops' layout), split over the pool."""
    a = np.ascontiguousarray(a)
    n, hid, t = a.shape
    out = np.empty((t, n, hid), a.dtype)
    parallel_range(_tnh_rows, n, a, out, size=a.size)
    return out


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
    y = np.empty((t, n, hid), dt) if sequence else _none(dt)
    hT, cT = np.empty_like(h), np.empty_like(c)
    chunks = _row_chunks(n, t, 4 * hid) if chunks is None else chunks
    if not store:   # prediction: the projection per step, inside the loop (_infer_loop)
        _over_rows(_infer_loop, n, chunks, _to_tnh(x), np.ascontiguousarray(w.T), b, np.ascontiguousarray(r.T),
                   h, c, m, g, s, bool(reverse), y, sequence, hT, cT, dt == np.float32, sgemm_address())
        return (_to_nht(y) if sequence else None), hT, cT, None
    xt, xp = _project(x, w, None)     # the bias is added in the loop (the same sum: (x w + b) + r h)
    hprev, cs = np.empty((t, n, hid), dt), np.empty((t, n, hid), dt)
    _over_rows(_forward_loop, n, chunks, xp, b, np.ascontiguousarray(r.T), h, c, m, g, s, bool(reverse), True,
               hprev, cs, y, sequence, hT, cT, dt == np.float32, sgemm_address())
    out = _to_nht(y) if sequence else None      # N x H x T
    # the training context: xp now holds the post-activation gates; the cell entering step t is
    # the one after the step before it (or c0), so it is not stored twice
    return out, hT, cT, (xt, xp, hprev, c, cs, m)


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


def lstm_backward(dy, dhT, dcT, ctx, w, r, gate="sigmoid", state="tanh", reverse=False, chunks=None, need_dx=True):
    """dy N x H x T, or None (no gradient at the outputs: OutputMode 'last' reads the final state).
    ``need_dx=False``: dx is None (the layer on the network input: no dg w product, no transpose)."""
    with _blas1():
        return _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse, chunks, need_dx)


def _backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse, chunks, need_dx=True):
    xt, acts, hprev, c0, cs, m = ctx
    t, n, ch = xt.shape
    hid = acts.shape[2] // 4
    dt = xt.dtype
    w = like(w, xt, "w", (4 * hid, ch))
    r = like(r, xt, "r", (4 * hid, hid))
    g, s = _codes(gate, state)
    dyt = _none(dt) if dy is None else _time_first(dy, (t, n, hid), dt)
    dh, dc = _final_grad(dhT, n, hid, dt), _final_grad(dcT, n, hid, dt)
    dg = workspace((t, n, 4 * hid), dt, "rnn_dg")     # scratch of this call (a fresh one page-faults)
    chunks = _row_chunks(n, t, 4 * hid) if chunks is None else chunks
    _over_rows(_backward_loop, n, chunks, dyt, dh, dc, acts, c0, cs, m, r, g, s, bool(reverse), dg,
               dt == np.float32, sgemm_address())
    dx, dw, db = _input_grads(dg, xt, w, need_dx)
    dr = _matmul(dg.reshape(t * n, 4 * hid).T, hprev.reshape(t * n, hid), np.empty((4 * hid, hid), dt))
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


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _gru_forward_loop(lo, hi, xp, r_t, rh_t, rb, h0, mask, mode, gate, state, reverse, store, hprev, aux, y, want_y,
                      hT, fast, fp):
    """Rows lo:hi of the batch. xp T x N x 3H (input projection + input bias; its rows lo:hi are
    overwritten with the gates after activation, r, z, candidate: the store of the training
    forward, scratch in prediction; 0 on padded steps), r_t H x 3H, rh_t H x H (the candidate's
    block of R, transposed; read by 'before-multiplication' only), rb (3H,) the recurrent bias
    (zeros unless 'recurrent-bias-after-multiplication'), h0 N x H (read), hT N x H (rows lo:hi
    written). With ``store`` writes hprev (the state entering each step) and aux (modes 0 and 2:
    the candidate's recurrent term R_h h + rb_h; mode 1: r * h); without, those are not touched.
    With ``want_y`` writes y (0 on padded steps). Each row's gate math runs as branch-free loops
    over contiguous memory (vectorized; sigmoid and tanh in float32 without libm)."""
    T, N, H3 = xp.shape
    H = H3 // 3
    nc = hi - lo
    h = h0[lo:hi].copy()
    z = np.empty((nc, H3), xp.dtype)
    rh = np.empty((nc, H), xp.dtype)               # r * h (mode 1) or the candidate's recurrent term
    q = np.empty((nc, H), xp.dtype)
    quick = fast and gate == 0 and state == 0
    for s in range(T):
        t = _at(s, T, reverse)
        matmul(fp, h, r_t, z)
        for i in range(nc):
            n = lo + i
            if store:
                hprev[t, n] = h[i]
            if not mask[n, t]:
                continue
            a = xp[t, n]
            zi = z[i]
            if quick:
                for j in range(2 * H):
                    a[j] = _sig32(a[j] + zi[j] + rb[j])
            else:
                for j in range(2 * H):
                    a[j] = _gate(a[j] + zi[j] + rb[j], gate, fast)
            rhi = rh[i]
            if mode == 1:
                hr = h[i]
                for j in range(H):
                    rhi[j] = a[j] * hr[j]
            else:
                for j in range(H):
                    rhi[j] = zi[2 * H + j] + rb[2 * H + j]
        if mode == 1:
            matmul(fp, rh, rh_t, q)                        # R_h (r * h): the second product of the step
        else:
            for i in range(nc):
                a = xp[_at(s, T, reverse), lo + i]
                qi = q[i]
                rhi = rh[i]
                for j in range(H):
                    qi[j] = a[j] * rhi[j]              # r (R_h h + rb_h)
        for i in range(nc):
            n = lo + i
            a = xp[t, n]
            if not mask[n, t]:
                a[:] = 0.0
                if store:
                    aux[t, n] = 0.0
                if want_y:
                    y[t, n] = 0.0
                continue
            hr = h[i]
            qi = q[i]
            if quick:
                for j in range(H):
                    gz = a[H + j]
                    gn = _tanh32(a[2 * H + j] + qi[j])
                    hr[j] = (_ONE - gz) * gn + gz * hr[j]
                    a[2 * H + j] = gn
            else:
                for j in range(H):
                    gz = a[H + j]
                    gn = _state(a[2 * H + j] + qi[j], state, fast)
                    hr[j] = (_ONE - gz) * gn + gz * hr[j]
                    a[2 * H + j] = gn
            if store:
                aux[t, n] = rh[i]
            if want_y:
                y[t, n] = hr
    hT[lo:hi] = h


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _gru_backward_loop(lo, hi, dy, dh, acts, hprev, aux, mask, r, rh, mode, gate, state, reverse, dg, dgr, fp):
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
    quick = gate == 0 and state == 0
    for s in range(T):
        t = _at(s, T, not reverse)
        for i in range(nc):
            n = lo + i
            d = dg[t, n]
            if not mask[n, t]:
                d[:] = 0.0
                dgr[t, n] = 0.0
                dn[i] = 0.0
                continue
            a = acts[t, n]
            hp = hprev[t, n]
            dhn = dh[n]
            dni = dn[i]
            if has_dy:
                dyn = dy[t, n]
                for j in range(H):
                    dhn[j] += dyn[j]
            if quick:
                for j in range(H):
                    gz = a[H + j]
                    gn = a[2 * H + j]
                    d_n = dhn[j] * (_ONE - gz) * (_ONE - gn * gn)
                    dni[j] = d_n
                    d[H + j] = dhn[j] * (hp[j] - gn) * (gz * (_ONE - gz))
                    d[2 * H + j] = d_n
            else:
                for j in range(H):
                    gz = a[H + j]
                    gn = a[2 * H + j]
                    d_n = dhn[j] * (_ONE - gz) * _state_grad_out(gn, state)
                    dni[j] = d_n
                    d[H + j] = dhn[j] * (hp[j] - gn) * _gate_grad(gz, gate)
                    d[2 * H + j] = d_n
        if mode == 1:
            matmul(fp, dn, rh, drh)                        # the gradient of r * h
        for i in range(nc):
            n = lo + i
            if not mask[n, t]:
                continue
            a = acts[t, n]
            d = dg[t, n]
            e = dgr[t, n]
            dhn = dh[n]
            dni = dn[i]
            if mode == 1:
                hp = hprev[t, n]
                dri = drh[i]
                for j in range(H):
                    gr = a[j]
                    d_r = dri[j] * hp[j] * _gate_grad(gr, gate)
                    d[j] = d_r
                    e[j] = d_r
                    e[H + j] = d[H + j]
                    e[2 * H + j] = 0.0
                    dhn[j] = dhn[j] * a[H + j] + dri[j] * gr     # + dgr R below
            else:
                ax = aux[t, n]
                for j in range(H):
                    gr = a[j]
                    d_r = dni[j] * ax[j] * (gr * (_ONE - gr) if quick else _gate_grad(gr, gate))
                    d[j] = d_r
                    e[j] = d_r
                    e[H + j] = d[H + j]
                    e[2 * H + j] = dni[j] * gr
                    dhn[j] = dhn[j] * a[H + j]                    # + dgr R below
        matmul(fp, dgr[t][lo:hi], r, back)
        for i in range(nc):
            n = lo + i
            if mask[n, t]:
                dhn = dh[n]
                bi = back[i]
                for j in range(H):
                    dhn[j] += bi[j]


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
        hprev, aux = np.empty((t, n, hid), dt), np.empty((t, n, hid), dt)
    else:
        hprev = aux = _none(dt)
    y = np.empty((t, n, hid), dt) if sequence else _none(dt)
    hT = np.empty_like(h)
    rh_t = np.ascontiguousarray(r[2 * hid:].T)
    chunks = _row_chunks(n, t, 3 * hid) if chunks is None else chunks
    _over_rows(_gru_forward_loop, n, chunks, xp, np.ascontiguousarray(r.T), rh_t, rb, h, m, md, g, s, bool(reverse),
               store, hprev, aux, y, sequence, hT, dt == np.float32, sgemm_address())
    out = _to_nht(y) if sequence else None
    return out, hT, ((xt, xp, hprev, aux, m) if store else None)     # xp: the gates now


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
    dg, dgr = workspace((t, n, 3 * hid), dt, "rnn_dg"), workspace((t, n, 3 * hid), dt, "rnn_dgr")
    chunks = _row_chunks(n, t, 3 * hid) if chunks is None else chunks
    _over_rows(_gru_backward_loop, n, chunks, dyt, dh, acts, hprev, aux, m, r, np.ascontiguousarray(r[2 * hid:]), md,
               g, s, bool(reverse), dg, dgr, sgemm_address())
    dx, dw, db = _input_grads(dg, xt, w)
    dgr2 = dgr.reshape(t * n, 3 * hid)
    dr = _matmul(dgr2.T, hprev.reshape(t * n, hid), np.empty((3 * hid, hid), dt))
    if md == 1:   # the candidate block's product has r * h as its input
        dr[2 * hid:] = dg.reshape(t * n, 3 * hid)[:, 2 * hid:].T @ aux.reshape(t * n, hid)
    drb = dgr2.sum(axis=0) if md == 2 else None
    return dx, dw, dr, db, drb, dh
