"""numba.cuda kernels for the LSTM and GRU steps; imported on first use (see _runtime).

The per-step products are the fully connected layer's ``dot_rows`` (_dense_kernels.py); what is
here is the elementwise math of one step, one thread per (observation, hidden unit) in a grid-
stride loop, and the transposes between N x C x T and the time-major T x N x C that the input
projection and the weight gradients read. The gate and state functions are scalar functions of
this file (registered for the CUDA target with ``jitable``), given the dtype ``F`` so that a
float32 kernel does no float64 arithmetic; the kernels hold ``F`` and a hash of this file in
their closure, so numba's cache key tells float32 from float64 builds and editing this file
recompiles them (as _act_kernels.py does). The equations, layouts and masking are the CPU
kernels' (kernels/cpu/recurrent.py): a padded step freezes the state and outputs 0.
"""
import functools
import math

import numpy as np
from numba import cuda

from .._scalar import file_stamp, jitable

STAMP = file_stamp(__file__)


def gate_fn(v, kind, F):
    """'sigmoid' (0) or 'hard-sigmoid' (1: max(0, min(1, 0.2 v + 0.5)))."""
    if kind == 0:
        return F(1) / (F(1) + math.exp(-v))
    u = F(0.2) * v + F(0.5)
    return F(0) if u < F(0) else (F(1) if u > F(1) else u)


def gate_grad(y, kind, F):
    """The gate's derivative from its output."""
    if kind == 0:
        return y * (F(1) - y)
    return F(0.2) if F(0) < y and y < F(1) else F(0)


def state_fn(v, kind, F):
    """'tanh' (0) or 'softsign' (1: v / (1 + |v|))."""
    if kind == 0:
        return math.tanh(v)
    return v / (F(1) + abs(v))


def state_grad(y, kind, F):
    """The state function's derivative from its output (tanh: 1 - y^2; softsign: (1 - |y|)^2)."""
    if kind == 0:
        return F(1) - y * y
    a = F(1) - abs(y)
    return a * a


def _at(s, T, reverse):
    return T - 1 - s if reverse else s


@functools.lru_cache(maxsize=None)
def kernels(dtype_name):
    F = np.dtype(dtype_name).type
    zero, one = F(0), F(1)
    stamp = STAMP
    gate, dgate, state, dstate, at = (jitable(f) for f in (gate_fn, gate_grad, state_fn, state_grad, _at))

    @cuda.jit(cache=True)
    def nct_to_tnc(x, N, C, T, out):
        """out[t, n, c] = x[n, c, t]."""
        stamp  # noqa: B018 -- a closure cell, and so part of the cache key
        for i in range(cuda.grid(1), N * C * T, cuda.gridsize(1)):
            c = i % C
            m = i // C
            n = m % N
            t = m // N
            out[i] = x[(n * C + c) * T + t]

    @cuda.jit(cache=True)
    def tnc_to_nct(x, N, C, T, out):
        """out[n, c, t] = x[t, n, c]."""
        stamp  # noqa: B018
        for i in range(cuda.grid(1), N * C * T, cuda.gridsize(1)):
            t = i % T
            m = i // T
            c = m % C
            n = m // C
            out[i] = x[(t * N + n) * C + c]

    @cuda.jit(cache=True)
    def lstm_step(s, T, reverse, N, H, z, xp, mask, gk, sk, h, c, store, acts, hprev, cprev, cs, want_y, y):
        """Step s: z N x 4H (h R^T), xp T x N x 4H; h, c N x H updated in place; stores the
        step's gates (post-activation), entering states and cell (time-major) with ``store``,
        y[n, j, t] (N x H x T) with ``want_y``."""
        stamp  # noqa: B018
        t = at(s, T, reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            cp = c[q]
            if store:
                hprev[t * N * H + q] = h[q]
                cprev[t * N * H + q] = cp
            if mask[n * T + t] == 0:
                if store:
                    for k in range(4):
                        acts[(t * N + n) * 4 * H + k * H + j] = zero
                    cs[t * N * H + q] = cp
                if want_y:
                    y[q * T + t] = zero
                continue
            zb = n * 4 * H + j
            xb = (t * N + n) * 4 * H + j
            gi = gate(z[zb] + xp[xb], gk, F)
            gf = gate(z[zb + H] + xp[xb + H], gk, F)
            gg = state(z[zb + 2 * H] + xp[xb + 2 * H], sk, F)
            go = gate(z[zb + 3 * H] + xp[xb + 3 * H], gk, F)
            cn = gf * cp + gi * gg
            hn = go * state(cn, sk, F)
            c[q] = cn
            h[q] = hn
            if store:
                acts[xb] = gi
                acts[xb + H] = gf
                acts[xb + 2 * H] = gg
                acts[xb + 3 * H] = go
                cs[t * N * H + q] = cn
            if want_y:
                y[q * T + t] = hn

    @cuda.jit(cache=True)
    def lstm_step_back(s, T, reverse, N, H, has_dy, dy, mask, gk, sk, acts, cprev, cs, dh, dc, dg):
        """Backward step s (t from the last step of the direction): dy N x H x T; dh, dc N x H
        (the gradients at the state after step t; dc updated in place to the one before it);
        writes dg[t] (N x 4H, the pre-activation gradients; 0 on a padded step)."""
        stamp  # noqa: B018
        t = at(s, T, not reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            b = (t * N + n) * 4 * H + j
            if mask[n * T + t] == 0:
                for k in range(4):
                    dg[b + k * H] = zero
                continue
            gi = acts[b]
            gf = acts[b + H]
            gg = acts[b + 2 * H]
            go = acts[b + 3 * H]
            sc = state(cs[t * N * H + q], sk, F)
            dht = dh[q] + dy[q * T + t] if has_dy else dh[q]
            dct = dc[q] + dht * go * dstate(sc, sk, F)
            dg[b] = dct * gg * dgate(gi, gk, F)
            dg[b + H] = dct * cprev[t * N * H + q] * dgate(gf, gk, F)
            dg[b + 2 * H] = dct * gi * dstate(gg, sk, F)
            dg[b + 3 * H] = dht * sc * dgate(go, gk, F)
            dc[q] = dct * gf

    @cuda.jit(cache=True)
    def masked_copy(s, T, reverse, N, H, mask, src, add, dst):
        """dst[n, j] = src[n, j] (+ dst[n, j] with ``add``) where step t of row n is the
        sequence's own; padded rows keep dst (their state was frozen)."""
        stamp  # noqa: B018
        t = at(s, T, not reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            if mask[(q // H) * T + t] != 0:
                dst[q] = dst[q] + src[q] if add else src[q]

    @cuda.jit(cache=True)
    def gru_gates(s, T, reverse, N, H, mode, z, xp, rb, mask, gk, h, g, aux):
        """GRU step s, part 1: g N x 2H (r, z after activation), aux N x H (modes 0 and 2: the
        candidate's recurrent term R_h h + rb_h; mode 1: r * h, the next product's input)."""
        stamp  # noqa: B018
        t = at(s, T, reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            if mask[n * T + t] == 0:
                aux[q] = zero
                continue
            zb = n * 3 * H + j
            xb = (t * N + n) * 3 * H + j
            gr = gate(xp[xb] + z[zb] + rb[j], gk, F)
            g[n * 2 * H + j] = gr
            g[n * 2 * H + H + j] = gate(xp[xb + H] + z[zb + H] + rb[H + j], gk, F)
            aux[q] = gr * h[q] if mode == 1 else z[zb + 2 * H] + rb[2 * H + j]

    @cuda.jit(cache=True)
    def gru_update(s, T, reverse, N, H, mode, xp, mask, sk, g, aux, rec, h, store, acts, hprev, auxs, want_y, y):
        """GRU step s, part 2: the candidate (mode 1: from rec = R_h (r * h)), the new state;
        stores the gates, the entering state and aux (time-major) with ``store``, y with
        ``want_y``."""
        stamp  # noqa: B018
        t = at(s, T, reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            hp = h[q]
            if store:
                hprev[t * N * H + q] = hp
            ab = (t * N + n) * 3 * H + j
            if mask[n * T + t] == 0:
                if store:
                    for k in range(3):
                        acts[ab + k * H] = zero
                    auxs[t * N * H + q] = zero
                if want_y:
                    y[q * T + t] = zero
                continue
            gr = g[n * 2 * H + j]
            gz = g[n * 2 * H + H + j]
            r_ = rec[q] if mode == 1 else gr * aux[q]
            gn = state(xp[ab + 2 * H] + r_, sk, F)
            hn = (one - gz) * gn + gz * hp
            h[q] = hn
            if store:
                acts[ab] = gr
                acts[ab + H] = gz
                acts[ab + 2 * H] = gn
                auxs[t * N * H + q] = aux[q]
            if want_y:
                y[q * T + t] = hn

    @cuda.jit(cache=True)
    def gru_back1(s, T, reverse, N, H, has_dy, dy, mask, gk, sk, acts, hprev, dh, dn, dg, dgr):
        """GRU backward step s, part 1: dn (the candidate's pre-activation gradient, 0 on a padded
        row), dg[t]'s z and candidate blocks; a padded row's dg[t] and dgr[t] are 0."""
        stamp  # noqa: B018
        t = at(s, T, not reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            b = (t * N + n) * 3 * H + j
            if mask[n * T + t] == 0:
                for k in range(3):
                    dg[b + k * H] = zero
                    dgr[b + k * H] = zero
                dn[q] = zero
                continue
            gz = acts[b + H]
            gn = acts[b + 2 * H]
            dht = dh[q] + dy[q * T + t] if has_dy else dh[q]
            d_n = dht * (one - gz) * dstate(gn, sk, F)
            dn[q] = d_n
            dg[b + H] = dht * (hprev[t * N * H + q] - gn) * dgate(gz, gk, F)
            dg[b + 2 * H] = d_n

    @cuda.jit(cache=True)
    def gru_back2(s, T, reverse, N, H, mode, has_dy, dy, mask, gk, acts, hprev, auxs, dn, drh, dh, dg, dgr):
        """GRU backward step s, part 2: the reset gate's gradient, dgr[t] (the recurrent side),
        and dh's direct part (before + dgr[t] R)."""
        stamp  # noqa: B018
        t = at(s, T, not reverse)
        for q in range(cuda.grid(1), N * H, cuda.gridsize(1)):
            j = q % H
            n = q // H
            if mask[n * T + t] == 0:
                continue
            b = (t * N + n) * 3 * H + j
            gr = acts[b]
            gz = acts[b + H]
            dht = dh[q] + dy[q * T + t] if has_dy else dh[q]
            if mode == 1:
                dgate_r = drh[q] * hprev[t * N * H + q]
                direct = dht * gz + drh[q] * gr
                dgr[b + 2 * H] = zero
            else:
                dgate_r = dn[q] * auxs[t * N * H + q]
                direct = dht * gz
                dgr[b + 2 * H] = dn[q] * gr
            d_r = dgate_r * dgate(gr, gk, F)
            dg[b] = d_r
            dgr[b] = d_r
            dgr[b + H] = dg[b + H]
            dh[q] = direct

    return {"nct_to_tnc": nct_to_tnc, "tnc_to_nct": tnc_to_nct, "lstm_step": lstm_step,
            "lstm_step_back": lstm_step_back, "masked_copy": masked_copy, "gru_gates": gru_gates,
            "gru_update": gru_update, "gru_back1": gru_back1, "gru_back2": gru_back2}
