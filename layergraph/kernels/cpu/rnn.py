"""The basic recurrent layer (Wolfram's BasicRecurrentLayer, ONNX's RNN, torch's nn.RNN)
forward and backward through time, on the helpers of the LSTM and GRU kernels
(kernels/cpu/recurrent.py: ``_setup``, ``_state0``, ``_project``, ``_input_grads``, ``_at``, the
state functions with the float32 rational tanh):

    s_t = state(W x_t + R s_{t-1} + b)        state 'tanh' (Wolfram's, ONNX's default) | 'softsign'

x N x C x T, w H x C, r H x H, b (H,) (ONNX's Wb + Rb, torch's bias_ih + bias_hh), h0 N x H or
H (None: zeros), mask N x T bool (True on a sequence's own steps; None: every step). On a padded
step the state is frozen and the output is 0, as in the LSTM and GRU kernels, so a padded batch
gives each sequence's own outputs and final state for padding on either side and either
direction; ``reverse`` runs t = T-1 .. 0.

  rnn_forward_train(x, w, r, b, h0, mask, state, reverse) -> (y N x H x T, hT N x H, ctx)
  rnn_forward_infer(x, w, r, b, h0, mask, state, reverse) -> (y, hT)
  rnn_backward(dy, dhT, ctx, w, r, state, reverse) -> (dx, dw, dr, db, dh0)

dy and dhT may be None (no gradient there). The input projection of every step is one product
before the loop, the weight gradients one product each after it; the loop over time is one
compiled function (one BLAS product N x H by H x H per step, the activation fused over the batch).
"""
from __future__ import annotations

import numba
import numpy as np

from ._util import like
from .recurrent import (STATES, _at, _blas1, _final_grad, _input_grads, _project, _setup, _state, _state_grad_out,
                        _time_first)


@numba.njit(cache=True, nogil=True)
def _rnn_forward_loop(xp, r_t, h, mask, state, reverse, hprev, y, fast):
    """xp T x N x H (input projection + bias), r_t H x H (R transposed), h N x H updated in place
    to the final state. Writes hprev (the state entering each step) and y (the state after each
    step, 0 on padded steps; T x N x H each)."""
    T, N, H = xp.shape
    for s in range(T):
        t = _at(s, T, reverse)
        z = np.dot(h, r_t)
        for n in range(N):
            hprev[t, n] = h[n]
            if not mask[n, t]:
                y[t, n] = 0.0
                continue
            for j in range(H):
                v = _state(xp[t, n, j] + z[n, j], state, fast)
                h[n, j] = v
                y[t, n, j] = v


@numba.njit(cache=True, nogil=True)
def _rnn_backward_loop(dy, dh, ys, mask, r, state, reverse, dg):
    """dy T x N x H; dh N x H (the gradient at the final state, updated in place to the one at the
    initial state); ys the forward's outputs (0 on padded steps). Writes dg (T x N x H, the
    pre-activation gradients; 0 on padded steps, where dh passes through the frozen state)."""
    T, N, H = ys.shape
    for s in range(T):
        t = _at(s, T, not reverse)
        for n in range(N):
            if not mask[n, t]:
                dg[t, n] = 0.0
                continue
            for j in range(H):
                dg[t, n, j] = (dh[n, j] + dy[t, n, j]) * _state_grad_out(ys[t, n, j], state)
        back = np.dot(dg[t], r)
        for n in range(N):
            if mask[n, t]:
                for j in range(H):
                    dh[n, j] = back[n, j]


def _code(state):
    try:
        return STATES[state]
    except KeyError:
        raise ValueError(f"rnn: state must be one of {list(STATES)}; got {state!r}.") from None


def _rnn_forward(x, w, r, b, h0, mask, state, reverse):
    x, w, r, b, h, m = _setup(x, w, r, b, h0, mask, 1, "rnn")
    s = _code(state)
    n, _, t = x.shape
    hid = r.shape[1]
    xt, xp = _project(x, w, b)
    hprev, y = np.empty((t, n, hid), x.dtype), np.empty((t, n, hid), x.dtype)
    _rnn_forward_loop(xp, np.ascontiguousarray(r.T), h, m, s, bool(reverse), hprev, y, x.dtype == np.float32)
    return np.ascontiguousarray(y.transpose(1, 2, 0)), h, (xt, y, hprev, m)


def rnn_forward_train(x, w, r, b, h0=None, mask=None, state="tanh", reverse=False):
    """-> (y N x H x T, hT N x H, ctx)."""
    with _blas1():
        return _rnn_forward(x, w, r, b, h0, mask, state, reverse)


def rnn_forward_infer(x, w, r, b, h0=None, mask=None, state="tanh", reverse=False):
    """-> (y N x H x T, hT N x H)."""
    with _blas1():
        return _rnn_forward(x, w, r, b, h0, mask, state, reverse)[:2]


def rnn_backward(dy, dhT, ctx, w, r, state="tanh", reverse=False):
    """-> (dx N x C x T, dw H x C, dr H x H, db (H,), dh0 N x H)."""
    with _blas1():
        xt, ys, hprev, m = ctx
        t, n, ch = xt.shape
        hid = ys.shape[2]
        dt = xt.dtype
        w = like(w, xt, "w", (hid, ch))
        r = like(r, xt, "r", (hid, hid))
        s = _code(state)
        dyt = _time_first(dy, (t, n, hid), dt)
        dh = _final_grad(dhT, n, hid, dt)
        dg = np.empty((t, n, hid), dt)
        _rnn_backward_loop(dyt, dh, ys, m, r, s, bool(reverse), dg)
        dx, dw, db = _input_grads(dg, xt, w)
        dr = dg.reshape(t * n, hid).T @ hprev.reshape(t * n, hid)
        return dx, dw, dr, db, dh
