"""The recurrent layers' training path with masks inside the recurrence (Wolfram's "Dropout"
methods "VariationalState" and "StateUpdate"; core/ops_recurrent.py DropoutMasks): the LSTM, the
GRU ('after-multiplication' and 'recurrent-bias-after-multiplication') and the basic recurrent
layer, forward and backward through time. The unmasked kernels (recurrent.py, rnn.py) stay as they
are; this one is used only in training with those dropout methods, so it is written for clarity
over speed: one thread, per step one BLAS product per gate.

  ms  G x N x H: each gate's mask on the state entering its recurrent product (one per sequence:
      the same at every step), ``R_g (ms_g * h)``
  mu  T x N x H (time first): a fresh mask per step on the state update: the LSTM's memory
      candidate (c = f c + i (mu * m)), the GRU's candidate (h = (1 - z) (mu * n) + z h)

Layout and gate order as recurrent.py's (x N x C x T; w GH x C, r GH x H, b (GH,); LSTM i, f, g, o;
GRU r, z, candidate; rb the GRU's recurrent bias or None). Padded steps freeze the state and
output 0, as there.

  masked_recurrent_forward(x, w, r, b, rb, h0, c0, mask, ms, mu, cell, gate, state, reverse,
                           sequence=True) -> (y N x H x T or None, hT, cT or None, ctx)
  masked_recurrent_backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse)
                           -> (dx, dw, dr, db, drb, dh0, dc0)      (drb None without rb, dc0 None but LSTM)
"""
from __future__ import annotations

import numba
import numpy as np

from ._util import like
from .recurrent import (_at, _blas1, _codes, _final_grad, _gate, _gate_grad, _input_grads, _project, _setup,
                        _state, _state0, _state_grad_out, _time_first)

CELLS = {"lstm": (0, 4), "gru": (1, 3), "rnn": (2, 1)}


@numba.njit(cache=True, nogil=True)
def _forward_loop(cell, xp, rgT, rb, h, c, mask, ms, mu, gate, state, reverse, acts, hprev, cprev, cs, aux, y,
                  fast):
    T, N, GH = xp.shape
    G = rgT.shape[0]
    H = GH // G
    zb = np.empty((G, N, H), xp.dtype)
    hm = np.empty((N, H), xp.dtype)
    for s in range(T):
        t = _at(s, T, reverse)
        for g in range(G):
            for n in range(N):
                for j in range(H):
                    hm[n, j] = h[n, j] * ms[g, n, j]
            np.dot(hm, rgT[g], zb[g])
        for n in range(N):
            hprev[t, n] = h[n]
            cprev[t, n] = c[n]
            if not mask[n, t]:
                acts[t, n] = 0.0
                cs[t, n] = c[n]
                aux[t, n] = 0.0
                y[t, n] = 0.0
                continue
            for j in range(H):
                u = mu[t, n, j]
                if cell == 0:
                    gi = _gate(xp[t, n, j] + zb[0, n, j], gate, fast)
                    gf = _gate(xp[t, n, H + j] + zb[1, n, j], gate, fast)
                    gg = _state(xp[t, n, 2 * H + j] + zb[2, n, j], state, fast)
                    go = _gate(xp[t, n, 3 * H + j] + zb[3, n, j], gate, fast)
                    cn = gf * c[n, j] + gi * gg * u
                    hn = go * _state(cn, state, fast)
                    acts[t, n, j] = gi
                    acts[t, n, H + j] = gf
                    acts[t, n, 2 * H + j] = gg
                    acts[t, n, 3 * H + j] = go
                    c[n, j] = cn
                    cs[t, n, j] = cn
                elif cell == 1:
                    gr = _gate(xp[t, n, j] + zb[0, n, j] + rb[j], gate, fast)
                    gz = _gate(xp[t, n, H + j] + zb[1, n, j] + rb[H + j], gate, fast)
                    a = zb[2, n, j] + rb[2 * H + j]
                    gn = _state(xp[t, n, 2 * H + j] + gr * a, state, fast)
                    hn = (1.0 - gz) * gn * u + gz * h[n, j]
                    acts[t, n, j] = gr
                    acts[t, n, H + j] = gz
                    acts[t, n, 2 * H + j] = gn
                    aux[t, n, j] = a
                else:
                    hn = _state(xp[t, n, j] + zb[0, n, j], state, fast)
                    acts[t, n, j] = hn
                h[n, j] = hn
                y[t, n, j] = hn


@numba.njit(cache=True, nogil=True)
def _backward_loop(cell, dy, dh, dc, acts, hprev, cprev, cs, aux, mask, ms, mu, rg, gate, state, reverse, dgx, dgr,
                   fast):
    T, N, GH = acts.shape
    G = rg.shape[0]
    H = GH // G
    has_dy = dy.shape[0] == T
    blk = np.empty((N, H), dgx.dtype)
    back = np.empty((N, H), dgx.dtype)
    for s in range(T):
        t = _at(s, T, not reverse)
        for n in range(N):
            if not mask[n, t]:
                dgx[t, n] = 0.0
                dgr[t, n] = 0.0
                continue
            for j in range(H):
                u = mu[t, n, j]
                dht = dh[n, j] + dy[t, n, j] if has_dy else dh[n, j]
                if cell == 0:
                    gi = acts[t, n, j]
                    gf = acts[t, n, H + j]
                    gg = acts[t, n, 2 * H + j]
                    go = acts[t, n, 3 * H + j]
                    sc = _state(cs[t, n, j], state, fast)
                    dct = dc[n, j] + dht * go * _state_grad_out(sc, state)
                    dgx[t, n, j] = dct * gg * u * _gate_grad(gi, gate)
                    dgx[t, n, H + j] = dct * cprev[t, n, j] * _gate_grad(gf, gate)
                    dgx[t, n, 2 * H + j] = dct * gi * u * _state_grad_out(gg, state)
                    dgx[t, n, 3 * H + j] = dht * sc * _gate_grad(go, gate)
                    for g in range(4):
                        dgr[t, n, g * H + j] = dgx[t, n, g * H + j]
                    dc[n, j] = dct * gf
                    dh[n, j] = 0.0
                elif cell == 1:
                    gr = acts[t, n, j]
                    gz = acts[t, n, H + j]
                    gn = acts[t, n, 2 * H + j]
                    d_n = dht * (1.0 - gz) * u * _state_grad_out(gn, state)
                    d_z = dht * (hprev[t, n, j] - gn * u) * _gate_grad(gz, gate)
                    d_r = d_n * aux[t, n, j] * _gate_grad(gr, gate)
                    dgx[t, n, j] = d_r
                    dgx[t, n, H + j] = d_z
                    dgx[t, n, 2 * H + j] = d_n
                    dgr[t, n, j] = d_r
                    dgr[t, n, H + j] = d_z
                    dgr[t, n, 2 * H + j] = d_n * gr
                    dh[n, j] = dht * gz
                else:
                    d = dht * _state_grad_out(acts[t, n, j], state)
                    dgx[t, n, j] = d
                    dgr[t, n, j] = d
                    dh[n, j] = 0.0
        for g in range(G):
            for n in range(N):
                for j in range(H):
                    blk[n, j] = dgr[t, n, g * H + j]
            np.dot(blk, rg[g], back)
            for n in range(N):
                if mask[n, t]:
                    for j in range(H):
                        dh[n, j] += back[n, j] * ms[g, n, j]


def _cell(cell):
    try:
        return CELLS[cell]
    except KeyError:
        raise ValueError(f"masked recurrent: cell must be one of {list(CELLS)}; got {cell!r}.") from None


def _masks(ms, mu, g, n, t, hid, dt):
    ms = np.ones((g, n, hid), dt) if ms is None else like(ms, np.empty(0, dt), "ms", (g, n, hid))
    mu = np.ones((t, n, hid), dt) if mu is None else like(mu, np.empty(0, dt), "mu", (t, n, hid))
    return np.ascontiguousarray(ms), np.ascontiguousarray(mu)


def masked_recurrent_forward(x, w, r, b, rb=None, h0=None, c0=None, mask=None, ms=None, mu=None, cell="lstm",
                             gate="sigmoid", state="tanh", reverse=False, sequence=True):
    """-> (y N x H x T (None when not ``sequence``), hT, cT (LSTM; else None), ctx)."""
    code, G = _cell(cell)
    with _blas1():
        x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, G, cell)
        g, s = _codes(gate, state, cell)
        n, _, t = x.shape
        hid = r.shape[1]
        dt = x.dtype
        c = _state0(c0, x, n, hid, "c0")
        rb = np.zeros(G * hid, dt) if rb is None else like(rb, x, "rb", (G * hid,))
        ms, mu = _masks(ms, mu, G, n, t, hid, dt)
        xt, xp = _project(x, w, b)
        acts = np.empty((t, n, G * hid), dt)
        hprev, cprev, cs, aux, y = (np.empty((t, n, hid), dt) for _ in range(5))
        rgT = np.ascontiguousarray(r.reshape(G, hid, hid).transpose(0, 2, 1))
        _forward_loop(code, xp, rgT, rb, h, c, m, ms, mu, g, s, bool(reverse), acts, hprev, cprev, cs, aux, y,
                      dt == np.float32)
        out = np.ascontiguousarray(y.transpose(1, 2, 0)) if sequence else None
        return out, h, (c if code == 0 else None), (code, xt, acts, hprev, cprev, cs, aux, m, ms, mu)


def masked_recurrent_backward(dy, dhT, dcT, ctx, w, r, gate="sigmoid", state="tanh", reverse=False):
    """-> (dx, dw, dr, db, drb (the recurrent bias's; None but the GRU), dh0, dc0 (LSTM; else None))."""
    code, xt, acts, hprev, cprev, cs, aux, m, ms, mu = ctx
    with _blas1():
        t, n, ch = xt.shape
        G = ms.shape[0]
        hid = acts.shape[2] // G
        dt = xt.dtype
        w = like(w, xt, "w", (G * hid, ch))
        r = like(r, xt, "r", (G * hid, hid))
        g, s = _codes(gate, state, "masked recurrent")
        dyt = np.zeros((1, 1, 1), dt) if dy is None else _time_first(dy, (t, n, hid), dt)
        dh, dc = _final_grad(dhT, n, hid, dt), _final_grad(dcT, n, hid, dt)
        dgx, dgr = np.empty((t, n, G * hid), dt), np.empty((t, n, G * hid), dt)
        rg = np.ascontiguousarray(r.reshape(G, hid, hid))
        _backward_loop(code, dyt, dh, dc, acts, hprev, cprev, cs, aux, m, ms, mu, rg, g, s, bool(reverse), dgx, dgr,
                       dt == np.float32)
        dx, dw, db = _input_grads(dgx, xt, w)
        dr = np.empty_like(r)
        dgr2 = dgr.reshape(t * n, G * hid)
        for k in range(G):   # dR_g = sum over steps of dg_g^T (ms_g * h_prev)
            hm = (hprev * ms[k][None]).reshape(t * n, hid)
            dr[k * hid:(k + 1) * hid] = dgr2[:, k * hid:(k + 1) * hid].T @ hm
        drb = dgr2.sum(axis=0) if code == 1 else None
        return dx, dw, dr, db, drb, dh, (dc if code == 0 else None)
