"""LSTM and GRU through time on the GPU (MATLAB lstmLayer / bilstmLayer / gruLayer, Wolfram
LongShortTermMemoryLayer): the CPU set's names, signatures, equations and masking
(kernels/cpu/recurrent.py; a padded step freezes the state and outputs 0, ``reverse`` runs
t = T-1 .. 0).

  lstm_forward_train(x, w, r, b, h0, c0, mask, gate, state, reverse, sequence) -> (y, hT, cT, ctx)
  lstm_forward_infer(...) -> (y, hT, cT)
  lstm_backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse) -> (dx, dw, dr, db, dh0, dc0)
  gru_forward_train(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, sequence) -> (y, hT, ctx)
  gru_forward_infer(...) -> (y, hT)
  gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse) -> (dx, dw, dr, db, drb, dh0)

Every product is the fully connected layer's ``dot_rows`` kernel (dense.py) over flat arrays
with strides: the input projection of every step as one product before the loop (x moved to
time-major T x N x C first), the per-step recurrent products (N x H by H x kH; the GRU's
'before-multiplication' adds (r * h) R_h^T), and the weight gradients as one product each after
it. The elementwise math of a step is one or two kernels (_recurrent_kernels.py), so a step is
2 to 4 launches; the loop over time is a Python loop over launches (a GPU has no other way to
order the steps short of one persistent kernel). ``chunks`` is accepted for the CPU set's
signature and ignored. ctx holds device arrays.
"""
from __future__ import annotations

import numpy as np

from . import _runtime
from ._runtime import Args, flat, launch
from .dense import _dot_rows

GATES = {"sigmoid": 0, "hard-sigmoid": 1}
STATES = {"tanh": 0, "softsign": 1}
MODES = {"after-multiplication": 0, "before-multiplication": 1, "recurrent-bias-after-multiplication": 2}


def _kernels(args, name):
    from . import _dense_kernels, _recurrent_kernels
    dt = args.float_dtype(name).name
    return _recurrent_kernels.kernels(dt), _dense_kernels.kernels(dt)


def _codes(gate, state, name):
    try:
        return GATES[gate], STATES[state]
    except KeyError:
        raise ValueError(f"{name}: gate must be one of {list(GATES)} and state one of {list(STATES)}; "
                         f"got {gate!r}, {state!r}.") from None


def _gru_mode(mode):
    try:
        return MODES[mode]
    except KeyError:
        raise ValueError(f"gru: mode must be one of {list(MODES)}; got {mode!r}.") from None


def _setup(name, args, x, w, r, b, k):
    xd = args.device(x, "x")
    if len(xd.shape) != 3:
        raise ValueError(f"{name}: expected N x C x T input, got shape {tuple(xd.shape)}.")
    n, c, t = (int(v) for v in xd.shape)
    wd = args.device(w, "w")
    if len(wd.shape) != 2 or int(wd.shape[0]) % k or int(wd.shape[1]) != c:
        raise ValueError(f"{name}: input weights {tuple(wd.shape)} do not fit {c} input channels "
                         f"(expected {k}H x C).")
    hid = int(wd.shape[0]) // k
    rd = args.device(r, "r", shape=(k * hid, hid))
    bd = args.device(b, "b", shape=(k * hid,))
    return xd, wd, rd, bd, n, c, t, hid


def _state(kd, args, v, n, hid, name):
    """An initial state (None: zeros; H or N x H) as a fresh N x H device array (flat): the
    loop updates it in place."""
    if v is None:
        host = np.zeros((n, hid), args.dtype)
    elif _runtime.is_device_array(v):
        d = args.device(v, name)
        if tuple(d.shape) != (n, hid):
            raise ValueError(f"{name}: expected shape {(n, hid)}, got {tuple(d.shape)}.")
        out = args.empty((n * hid,))
        launch(kd["copy"], n * hid, flat(d), out)
        return out
    else:
        host = np.array(np.broadcast_to(np.asarray(v, args.dtype), (n, hid)))
    return args.device(host.reshape(n * hid), name)


def _mask(args, mask, n, t, name):
    m = np.ones((n, t), np.uint8) if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
    if m.shape != (n, t):
        raise ValueError(f"{name}: mask {m.shape} does not fit N x T = {(n, t)}.")
    return args.device(m.reshape(n * t), "mask", dtype=np.uint8)


def _project(kr, kd, args, xd, wd, bd, n, c, t, kh):
    """(xt T x N x C, xp T x N x kH = xt w^T + b), flat."""
    xt = args.empty((t * n * c,))
    launch(kr["nct_to_tnc"], n * c * t, flat(xd), n, c, t, xt)
    xp = args.empty((t * n * kh,))
    _dot_rows(kd, xt, (c, 1), flat(wd), (c, 1), c, t * n, kh, bd, xp)
    return xt, xp


def _input_grads(kr, kd, args, dg, xt, wd, n, c, t, kh):
    """From dg (T x N x kH, flat): dx (N x C x T, flat), dw (kH x C), db (kH,)."""
    m = t * n
    dxt = args.empty((m * c,))
    _dot_rows(kd, dg, (kh, 1), flat(wd), (1, c), kh, m, c, None, dxt)          # dg w
    dx = args.empty((n * c * t,))
    launch(kr["tnc_to_nct"], n * c * t, dxt, n, c, t, dx)
    dw = args.empty((kh * c,))
    _dot_rows(kd, dg, (1, kh), xt, (1, c), m, kh, c, None, dw)                 # dg^T xt
    db = _colsum(kd, args, dg, m, kh)
    return dx, dw, db


def _colsum(kd, args, a, m, k):
    """The sum over the m rows of an m x k flat array."""
    ones = args.empty((max(m, 1),))
    launch(kd["fill"], m, ones, args.dtype.type(1))
    out = args.empty((k,))
    _dot_rows(kd, ones, (0, 1), a, (1, k), m, 1, k, None, out)
    return out


def _final_grad(kd, args, a, n, hid, name):
    return _state(kd, args, a if a is None or _runtime.is_device_array(a) else np.reshape(a, (n, hid)), n, hid, name)


def _dummy(args):
    return args.empty((1,))


# -- LSTM ---------------------------------------------------------------------------------------------------------
def _lstm_forward(x, w, r, b, h0, c0, mask, gate, state, reverse, store, sequence):
    name = "lstm_forward_train" if store else "lstm_forward_infer"
    args = Args(x, w, r, b, h0, c0)
    kr, kd = _kernels(args, name)
    gk, sk = _codes(gate, state, "lstm")
    xd, wd, rd, bd, n, c, t, hid = _setup(name, args, x, w, r, b, 4)
    h = _state(kd, args, h0, n, hid, "h0")
    cc = _state(kd, args, c0, n, hid, "c0")
    md = _mask(args, mask, n, t, name)
    xt, xp = _project(kr, kd, args, xd, wd, bd, n, c, t, 4 * hid)
    nh = n * hid
    if store:
        acts = args.empty((t * n * 4 * hid,))
        hprev, cprev, cs = (args.empty((t * nh,)) for _ in range(3))
    else:
        acts = hprev = cprev = cs = _dummy(args)
    y = args.empty((nh * t,)) if sequence else _dummy(args)
    z = args.empty((n * 4 * hid,))
    rf = flat(rd)
    for s in range(t):
        _dot_rows(kd, h, (hid, 1), rf, (hid, 1), hid, n, 4 * hid, None, z)     # h R^T
        launch(kr["lstm_step"], nh, s, t, bool(reverse), n, hid, z, xp, md, gk, sk, h, cc, store, acts, hprev,
               cprev, cs, sequence, y)
    out = args.result(y, (n, hid, t)) if sequence else None
    ctx = (xt, acts, hprev, cprev, cs, md, (n, c, t, hid)) if store else None
    return out, args.result(h, (n, hid)), args.result(cc, (n, hid)), ctx


def lstm_forward_train(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False,
                       sequence=True, chunks=None):
    return _lstm_forward(x, w, r, b, h0, c0, mask, gate, state, reverse, True, sequence)


def lstm_forward_infer(x, w, r, b, h0=None, c0=None, mask=None, gate="sigmoid", state="tanh", reverse=False,
                       sequence=True, chunks=None):
    return _lstm_forward(x, w, r, b, h0, c0, mask, gate, state, reverse, False, sequence)[:3]


def lstm_backward(dy, dhT, dcT, ctx, w, r, gate="sigmoid", state="tanh", reverse=False, chunks=None, need_dx=True):
    # need_dx: the CPU kernel's argument (there, False skips dx); here dx is always computed
    name = "lstm_backward"
    xt, acts, hprev, cprev, cs, md, (n, c, t, hid) = ctx
    args = Args(w, r, dy, dhT, dcT)
    kr, kd = _kernels(args, name)
    gk, sk = _codes(gate, state, "lstm")
    wd = args.device(w, "w", shape=(4 * hid, c))
    rd = args.device(r, "r", shape=(4 * hid, hid))
    has_dy = dy is not None
    dyd = flat(args.device(dy, "dy", shape=(n, hid, t))) if has_dy else _dummy(args)
    dh = _final_grad(kd, args, dhT, n, hid, "dhT")
    dc = _final_grad(kd, args, dcT, n, hid, "dcT")
    nh = n * hid
    dg = args.empty((t * n * 4 * hid,))
    back = args.empty((nh,))
    rf = flat(rd)
    step = n * 4 * hid
    for s in range(t):
        tt = s if reverse else t - 1 - s
        launch(kr["lstm_step_back"], nh, s, t, bool(reverse), n, hid, has_dy, dyd, md, gk, sk, acts, cprev, cs,
               dh, dc, dg)
        _dot_rows(kd, dg[tt * step:(tt + 1) * step], (4 * hid, 1), rf, (1, hid), 4 * hid, n, hid, None, back)
        launch(kr["masked_copy"], nh, s, t, bool(reverse), n, hid, md, back, False, dh)
    dx, dw, db = _input_grads(kr, kd, args, dg, xt, wd, n, c, t, 4 * hid)
    dr = args.empty((4 * hid * hid,))
    _dot_rows(kd, dg, (1, 4 * hid), hprev, (1, hid), t * n, 4 * hid, hid, None, dr)   # dg^T hprev
    return (args.result(dx, (n, c, t)), args.result(dw, (4 * hid, c)), args.result(dr, (4 * hid, hid)),
            args.result(db), args.result(dh, (n, hid)), args.result(dc, (n, hid)))


# -- GRU ----------------------------------------------------------------------------------------------------------
def _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, store, sequence):
    name = "gru_forward_train" if store else "gru_forward_infer"
    args = Args(x, w, r, b, rb, h0)
    kr, kd = _kernels(args, name)
    md_ = _gru_mode(mode)
    gk, sk = _codes(gate, state, "gru")
    xd, wd, rd, bd, n, c, t, hid = _setup(name, args, x, w, r, b, 3)
    if md_ == 2:
        rbd = args.device(rb, "rb", shape=(3 * hid,))
    elif rb is not None:
        raise ValueError(f"gru: a recurrent bias is used by 'recurrent-bias-after-multiplication' only, not {mode!r}.")
    else:
        rbd = args.device(np.zeros(3 * hid, args.dtype), "rb")
    h = _state(kd, args, h0, n, hid, "h0")
    m = _mask(args, mask, n, t, name)
    xt, xp = _project(kr, kd, args, xd, wd, bd, n, c, t, 3 * hid)
    nh = n * hid
    if store:
        acts = args.empty((t * n * 3 * hid,))
        hprev, auxs = args.empty((t * nh,)), args.empty((t * nh,))
    else:
        acts = hprev = auxs = _dummy(args)
    y = args.empty((nh * t,)) if sequence else _dummy(args)
    z = args.empty((n * 3 * hid,))
    g = args.empty((n * 2 * hid,))
    aux = args.empty((nh,))
    rec = args.empty((nh,)) if md_ == 1 else _dummy(args)
    rf = flat(rd)
    rh = rf[2 * hid * hid:]
    for s in range(t):
        _dot_rows(kd, h, (hid, 1), rf, (hid, 1), hid, n, 3 * hid, None, z)     # h R^T
        launch(kr["gru_gates"], nh, s, t, bool(reverse), n, hid, md_, z, xp, rbd, m, gk, h, g, aux)
        if md_ == 1:                                                            # (r * h) R_h^T
            _dot_rows(kd, aux, (hid, 1), rh, (hid, 1), hid, n, hid, None, rec)
        launch(kr["gru_update"], nh, s, t, bool(reverse), n, hid, md_, xp, m, sk, g, aux, rec, h, store, acts,
               hprev, auxs, sequence, y)
    out = args.result(y, (n, hid, t)) if sequence else None
    ctx = (xt, acts, hprev, auxs, m, (n, c, t, hid)) if store else None
    return out, args.result(h, (n, hid)), ctx


def gru_forward_train(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False, sequence=True, chunks=None):
    return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, True, sequence)


def gru_forward_infer(x, w, r, b, rb=None, h0=None, mask=None, mode="after-multiplication", gate="sigmoid",
                      state="tanh", reverse=False, sequence=True, chunks=None):
    return _gru_forward(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, False, sequence)[:2]


def gru_backward(dy, dhT, ctx, w, r, mode="after-multiplication", gate="sigmoid", state="tanh", reverse=False,
                 chunks=None):
    name = "gru_backward"
    xt, acts, hprev, auxs, m, (n, c, t, hid) = ctx
    args = Args(w, r, dy, dhT)
    kr, kd = _kernels(args, name)
    md_ = _gru_mode(mode)
    gk, sk = _codes(gate, state, "gru")
    wd = args.device(w, "w", shape=(3 * hid, c))
    rd = args.device(r, "r", shape=(3 * hid, hid))
    has_dy = dy is not None
    dyd = flat(args.device(dy, "dy", shape=(n, hid, t))) if has_dy else _dummy(args)
    dh = _final_grad(kd, args, dhT, n, hid, "dhT")
    nh = n * hid
    kh = 3 * hid
    dg, dgr = args.empty((t * n * kh,)), args.empty((t * n * kh,))
    dn, back = args.empty((nh,)), args.empty((nh,))
    drh = args.empty((nh,)) if md_ == 1 else _dummy(args)
    rf = flat(rd)
    rh = rf[2 * hid * hid:]
    step = n * kh
    for s in range(t):
        tt = s if reverse else t - 1 - s
        launch(kr["gru_back1"], nh, s, t, bool(reverse), n, hid, has_dy, dyd, m, gk, sk, acts, hprev, dh, dn, dg, dgr)
        if md_ == 1:                                                            # dn R_h: the gradient of r * h
            _dot_rows(kd, dn, (hid, 1), rh, (1, hid), hid, n, hid, None, drh)
        launch(kr["gru_back2"], nh, s, t, bool(reverse), n, hid, md_, has_dy, dyd, m, gk, acts, hprev, auxs, dn,
               drh, dh, dg, dgr)
        _dot_rows(kd, dgr[tt * step:(tt + 1) * step], (kh, 1), rf, (1, hid), kh, n, hid, None, back)
        launch(kr["masked_copy"], nh, s, t, bool(reverse), n, hid, m, back, True, dh)
    dx, dw, db = _input_grads(kr, kd, args, dg, xt, wd, n, c, t, kh)
    dr = args.empty((kh * hid,))
    _dot_rows(kd, dgr, (1, kh), hprev, (1, hid), t * n, kh, hid, None, dr)             # dgr^T hprev
    if md_ == 1:   # the candidate block's product has r * h as its input
        _dot_rows(kd, dg[2 * hid:], (1, kh), auxs, (1, hid), t * n, hid, hid, None, dr[2 * hid * hid:])
    drb = args.result(_colsum(kd, args, dgr, t * n, kh)) if md_ == 2 else None
    return (args.result(dx, (n, c, t)), args.result(dw, (kh, c)), args.result(dr, (kh, hid)), args.result(db),
            drb, args.result(dh, (n, hid)))
