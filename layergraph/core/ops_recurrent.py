"""The adapter of the recurrent layers (layers/recurrent.py) to the LSTM and GRU kernels.

One op for lstmLayer and bilstmLayer (one kernel call per direction, the reverse one over the
same masked batch), one for gruLayer, one for the basic recurrent layer (RecurrentLayer); what
they share is in ``_RecurrentOp``. The padding of the input batch comes from the executor as
``self.seq`` (core/sequence.py); padded steps freeze
the state, so OutputMode 'last' is each sequence's output at its own last step. The initial
state is, in order: the 'hidden' (and 'cell') inputs
(HasStateInputs), ``initial_state`` (N x dH arrays set by a caller that carries state between
calls: stateful prediction, sequence chunks), the layer's HiddenState / CellState, zeros.
After each forward ``final_state`` holds the state after every sequence's last step (a tuple in
the order of the layer's ``states``: (hidden, cell) for an LSTM, (hidden,) for a GRU and a
basic recurrent layer).
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError
from .op import Op


def _host(a):
    """A device array (the 'cuda' kernels' results) copied to the host; anything else as it is.
    The small glue of these ops (initial and final states, the halves of a bidirectional layer)
    is numpy; the kernels take host or device arrays alike."""
    return a.copy_to_host() if hasattr(a, "copy_to_host") else a


def _cat(arrays, axis):
    """One direction's array as it is (on the device where the kernel left it), two concatenated
    on the host."""
    return arrays[0] if len(arrays) == 1 else np.concatenate([_host(a) for a in arrays], axis=axis)


def _cols(a, cols, whole):
    """Direction ``cols`` of an N x dH (x T) array (None stays None); ``whole``: one direction, the
    array as it is."""
    if a is None or whole:
        return a
    return np.ascontiguousarray(_host(a)[:, cols])


def keep_mask(rng, shape, p, dtype):
    """Inverted dropout's mask: 1 / (1 - p) where kept (probability 1 - p), 0 where dropped
    (p = 1: everything dropped)."""
    if p >= 1:
        return np.zeros(shape, dtype)
    return (rng.random(shape) >= p).astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype)


class DropoutMasks:
    """One training forward's recurrent dropout masks for one direction (the layer's ``dropout``,
    Wolfram's "Dropout" methods; the NeuralNetworks paclet's RecurrentDropoutMethodT and
    MakeRNNDropoutData, docs/porting_from_mathematica.md), applied around the kernel call:

    * "VariationalInput" p: each gate's own mask on the input vector, one per sequence (shared by
      its steps), ``W_g (m_g * x_t)``. The kernel gets x as G copies, one per gate with its mask
      (N x G*C x T), and the input weights block-diagonal (G*H x G*C), so its one input projection
      computes every gate's masked contribution; the gradients are read back per block.
    * "VariationalWeights" p: DropConnect, one mask per weight matrix entry (input and recurrent
      weights, not the biases), the same for the whole batch and every step; the kernel gets
      ``W * M``, and the weights' gradients are multiplied by M.
    * "VariationalState" p: each gate's own mask on the state entering its recurrent product,
      one per sequence (G x N x H), ``R_g (ms_g * s)``; and "StateUpdate" p: a fresh mask every
      step (T x N x H) on the state update (the LSTM's memory candidate, the GRU's candidate).
      These act inside the recurrence: the kernel family "maskedrecurrent" runs them.

    Masks are inverted dropout (``keep_mask``), drawn in the order input, input weights,
    recurrent weights, state, update."""

    def __init__(self, rng, rates, x, w, r, gates):
        n, c, t = x.shape
        hid = r.shape[1]
        dt = x.dtype
        p_in, p_w = rates.get("VariationalInput", 0), rates.get("VariationalWeights", 0)
        p_s, p_u = rates.get("VariationalState", 0), rates.get("StateUpdate", 0)
        self.gates = gates
        self.mi = keep_mask(rng, (gates, n, c), p_in, dt) if p_in else None
        self.mw = keep_mask(rng, w.shape, p_w, dt) if p_w else None
        self.mr = keep_mask(rng, r.shape, p_w, dt) if p_w else None
        self.ms = keep_mask(rng, (gates, n, hid), p_s, dt) if p_s else None
        self.mu = keep_mask(rng, (t, n, hid), p_u, dt) if p_u else None

    @property
    def inner(self) -> bool:
        """Masks inside the recurrence: the masked kernel (kernels/cpu/recurrent_masked.py) runs."""
        return self.ms is not None or self.mu is not None

    def inputs(self, x, w, r):
        """(x, w, r) as the kernel takes them."""
        if self.mw is not None:
            w, r = _host(w) * self.mw, _host(r) * self.mr
        if self.mi is not None:
            x, w = _host(x), _host(w)
            g_, (n, c, t), h = self.gates, x.shape, w.shape[0] // self.gates
            xg = np.empty((n, g_ * c, t), x.dtype)
            wb = np.zeros((g_ * h, g_ * c), w.dtype)
            for g in range(g_):
                xg[:, g * c:(g + 1) * c] = x * self.mi[g][:, :, None]
                wb[g * h:(g + 1) * h, g * c:(g + 1) * c] = w[g * h:(g + 1) * h]
            x, w = xg, wb
        return x, w, r

    def grads(self, dx, dw, dr):
        """The kernel's gradients (of its x, w, r) as those of the layer's x, w, r."""
        if self.mi is not None:
            dx, dw = _host(dx), _host(dw)
            c, h = self.mi.shape[2], dw.shape[0] // self.gates
            dx = sum(dx[:, g * c:(g + 1) * c] * self.mi[g][:, :, None] for g in range(self.gates))
            dw = np.concatenate([dw[g * h:(g + 1) * h, g * c:(g + 1) * c] for g in range(self.gates)], axis=0)
        if self.mw is not None:
            dw, dr = _host(dw) * self.mw, _host(dr) * self.mr
        return dx, dw, dr


class _RecurrentOp(Op):
    """What the recurrent ops share: the mask from the batch's padding, the initial state, the
    step OutputMode 'last' reads, the dropout masks (training with the layer's ``dropout``), the
    flattening of an image sequence."""

    def _vectors(self, x):
        """An image sequence N x C x H x W x T ('SSCBT') as the vector sequence N x (H W C) x T that the
        layer reads: each step's image flattened column-major (H fastest), as flattenLayer does
        (conventions.matlab_flatten_order); a vector sequence as it is."""
        if x.ndim == 3:
            return x
        n, c, h, w, t = x.shape
        return np.ascontiguousarray(_host(x).transpose(0, 1, 3, 2, 4).reshape(n, c * w * h, t))

    def _images(self, dx):
        """The input gradient back in the input's layout (the inverse of ``_vectors``)."""
        size = self.in_sizes[0]
        if dx is None or not size.is_image:
            return dx
        (h, w), c = size.spatial, size.channels
        n, _, t = dx.shape
        return np.ascontiguousarray(_host(dx).reshape(n, c, w, h, t).transpose(0, 1, 3, 2, 4))

    learnable_names = ("InputWeights", "RecurrentWeights", "Bias")
    rng = None   # set by the executor: a numpy Generator (dropout masks)

    def __init__(self, *args):
        super().__init__(*args)
        self.state_names = tuple(self.layer.kept_states)
        self.initial_state: tuple[np.ndarray, ...] | None = None
        self.final_state: tuple[np.ndarray, ...] | None = None

    @property
    def drops_out(self) -> bool:
        """The executor's switch: the trainer's statistics pass turns this op's dropout off."""
        return bool(self.layer.dropout)

    def _masks(self, training, x, w, r):
        """DropoutMasks for this forward, or None (not training, or no dropout)."""
        rates = {m: float(p) for m, p in (self.layer.dropout or {}).items() if p > 0}
        if not rates or not training or self.predicting:
            return None
        rng = self.rng if self.rng is not None else np.random.default_rng()
        return DropoutMasks(rng, rates, x, w, r, self.layer.gates)

    def seq_out(self, seq):
        return None if self.layer.OutputMode == "last" else seq

    def _acts(self):
        return self.layer.GateActivationFunction, self.layer.StateActivationFunction

    def _mask(self, x):
        seq = self.seq
        if seq is None or seq.full:
            return None, None
        if seq.steps != x.shape[2] or len(seq.lengths) != x.shape[0]:
            raise LayerGraphError(f"Layer '{self.layer.Name}': the sequence lengths ({len(seq.lengths)} sequences "
                                  f"of at most {seq.steps} steps) do not fit the batch {x.shape}.")
        return seq.mask(), seq

    def _start(self, xs, P, n):
        """The initial states (one N x dH array per name in the layer's ``states``)."""
        d = self.layer.directions * self.layer.NumHiddenUnits
        names = self.layer.states
        fed = self.layer.input_states
        if fed:   # the inputs' states; the others (only some states are inputs) from the layer's
            given = dict(zip(fed, xs[1:1 + len(fed)]))
            return tuple(np.ascontiguousarray(_host(given[s]).reshape(n, d), dtype=self.dtype) if s in given else
                         np.ascontiguousarray(np.broadcast_to(_host(P[s]), (n, d)), dtype=self.dtype) for s in names)
        if self.initial_state is not None:
            return tuple(np.ascontiguousarray(np.broadcast_to(a, (n, d)), dtype=self.dtype)
                         for a in self.initial_state)
        h = _host(P[names[0]])
        if h.ndim == 2 and h.shape[0] != n:   # one state per observation (stateful prediction)
            raise LayerGraphError(f"Layer '{self.layer.Name}': the network state holds {h.shape[0]} observations "
                                  f"({names[0]} is {d}x{h.shape[0]}) but the data has {n}. Use as many "
                                  "observations, or resetState first.", "nnet_cnn:layer:LSTMLayer:StateSize")
        return tuple(np.ascontiguousarray(np.broadcast_to(_host(P[name]), (n, d))) for name in names)

    def _last(self, seq, n, t):
        """Each sequence's last own step (the output 'last' reads)."""
        if seq is None or seq.left:
            return np.full(n, t - 1)
        return np.maximum(seq.lengths - 1, 0)


class LSTMOp(_RecurrentOp):
    """lstmLayer and bilstmLayer."""

    def forward(self, k, xs, P, training):
        x = self._vectors(xs[0])
        n, _, t = x.shape
        hid = self.layer.NumHiddenUnits
        mask, seq = self._mask(x)
        h0, c0 = self._start(xs, P, n)
        gate, state = self._acts()
        fn = k("lstm", "forward_train" if training else "forward_infer")
        final_only = self.layer.OutputMode == "last" and self.layer.directions == 1
        ys, hs, cs, ctxs = [], [], [], []
        for d in range(self.layer.directions):
            rows = slice(4 * hid * d, 4 * hid * (d + 1))
            cols = slice(hid * d, hid * (d + 1))
            xd, w, r = x, P["InputWeights"][rows], P["RecurrentWeights"][rows]
            drop = self._masks(training, x, w, r)
            if drop is not None:
                xd, w, r = drop.inputs(x, w, r)
            if drop is not None and drop.inner:
                out = k("maskedrecurrent", "forward_train")(xd, w, r, P["Bias"][rows], None, h0[:, cols], c0[:, cols],
                                                            mask, drop.ms, drop.mu, "lstm", gate, state, d == 1,
                                                            sequence=not final_only)
            else:
                out = fn(xd, w, r, P["Bias"][rows], h0[:, cols], c0[:, cols], mask, gate, state, d == 1,
                         sequence=not final_only)
            ys.append(out[0])
            hs.append(out[1])
            cs.append(out[2])
            ctxs.append((out[3], drop, w, r) if training else None)
        y, hT, cT = _cat(ys, 1), _cat(hs, 1), _cat(cs, 1)
        self.final_state = (_host(hT), _host(cT))
        last = None
        if self.layer.OutputMode == "last" and self.layer.directions == 1:
            # the state after each sequence's last own step (carried over a chunk without any)
            y = hT.copy() if isinstance(hT, np.ndarray) else hT   # device arrays: no kernel writes its inputs
            last = self._last(seq, n, t)
        elif self.layer.OutputMode == "last":
            last = self._last(seq, n, t)
            y = np.ascontiguousarray(_host(y)[np.arange(n), :, last])
        outs = [y, hT, cT] if self.layer.HasStateOutputs else [y]
        return outs, ((ctxs, last, t) if training else None)

    def backward(self, k, dys, ctx, P):
        ctxs, last, t = ctx
        hid = self.layer.NumHiddenUnits
        dout = dys[0]
        n = dout.shape[0]
        dhT = dys[1] if self.layer.HasStateOutputs else None
        dcT = dys[2] if self.layer.HasStateOutputs else None
        if last is not None and self.layer.directions == 1:   # the output is the final state
            dy = None
            dhT = dout if dhT is None else _host(dhT) + _host(dout)
        elif last is not None:
            dy = np.zeros((n, dout.shape[1], t), dout.dtype)
            dy[np.arange(n), :, last] = _host(dout)
        else:
            dy = dout
        gate, state = self._acts()
        bwd = k("lstm", "backward")
        need_dx = self.need_dx is None or self.need_dx[0]   # no dx for the network input: no dg W, no transpose
        dx, dws, drs, dbs, dh0s, dc0s = None, [], [], [], [], []
        one = len(ctxs) == 1
        for d, (c, drop, w, r) in enumerate(ctxs):
            cols = slice(hid * d, hid * (d + 1))
            args = (_cols(dy, cols, one), _cols(dhT, cols, one), _cols(dcT, cols, one), c, w, r, gate, state, d == 1)
            if drop is not None and drop.inner:
                gx, gw, gr, gb, _, gh, gc = k("maskedrecurrent", "backward")(*args)
            else:
                gx, gw, gr, gb, gh, gc = bwd(*args, need_dx=need_dx or drop is not None)
            if drop is not None:
                gx, gw, gr = drop.grads(gx, gw, gr)
            dx = gx if dx is None else _host(dx) + _host(gx)
            dws.append(gw)
            drs.append(gr)
            dbs.append(gb)
            dh0s.append(gh)
            dc0s.append(gc)
        grads = {"InputWeights": _cat(dws, 0), "RecurrentWeights": _cat(drs, 0), "Bias": _cat(dbs, 0)}
        dxs = [self._images(dx)]
        d0 = {"HiddenState": dh0s, "CellState": dc0s}
        dxs += [_cat(d0[s], 1) for s in self.layer.input_states]
        return dxs, grads


class GRUOp(_RecurrentOp):
    """gruLayer: Bias is 3H, or 6H (input then recurrent biases) with ResetGateMode
    'recurrent-bias-after-multiplication'; one state, 'hidden'. OutputMode 'last' is the final
    state (= each sequence's output at its own last step: padded steps freeze the state)."""

    def _kw(self):
        gate, state = self._acts()
        return dict(mode=self.layer.ResetGateMode, gate=gate, state=state)

    def forward(self, k, xs, P, training):
        x = self._vectors(xs[0])
        hid = self.layer.NumHiddenUnits
        mask, _ = self._mask(x)
        (h0,) = self._start(xs, P, x.shape[0])
        bias = P["Bias"]
        rb = bias[3 * hid:] if self.layer.ResetGateMode == "recurrent-bias-after-multiplication" else None
        xd, w, r = x, P["InputWeights"], P["RecurrentWeights"]
        drop = self._masks(training, x, w, r)
        if drop is not None:
            xd, w, r = drop.inputs(x, w, r)
        if drop is not None and drop.inner:
            kw = self._kw()
            y, hT, _, c = k("maskedrecurrent", "forward_train")(
                xd, w, r, bias[:3 * hid], rb, h0, None, mask, drop.ms, drop.mu, "gru", kw["gate"], kw["state"], False,
                sequence=self.layer.OutputMode != "last")
            out = (y, hT, c)
        else:
            out = k("gru", "forward_train" if training else "forward_infer")(
                xd, w, r, bias[:3 * hid], rb, h0, mask, sequence=self.layer.OutputMode != "last", **self._kw())
        y, hT = out[0], out[1]
        ctx = (out[2], drop, w, r) if training else None
        self.final_state = (_host(hT),)
        if self.layer.OutputMode == "last":
            y = hT.copy() if isinstance(hT, np.ndarray) else hT
        outs = [y, hT] if self.layer.HasStateOutputs else [y]
        return outs, ((ctx, x.shape[2]) if training else None)

    def backward(self, k, dys, ctx, P):
        ctx, t = ctx
        dout = dys[0]
        dhT = dys[1] if self.layer.HasStateOutputs else None
        dy = dout
        if self.layer.OutputMode == "last":   # the output is the final state
            dy = None
            dhT = dout if dhT is None else _host(dhT) + _host(dout)
        ctx, drop, w, r = ctx
        if drop is not None and drop.inner:
            kw = self._kw()
            dx, dw, dr, db, drb, dh0, _ = k("maskedrecurrent", "backward")(dy, dhT, None, ctx, w, r, kw["gate"],
                                                                           kw["state"], False)
            if self.layer.ResetGateMode != "recurrent-bias-after-multiplication":
                drb = None
        else:
            dx, dw, dr, db, drb, dh0 = k("gru", "backward")(dy, dhT, ctx, w, r, **self._kw())
        if drop is not None:
            dx, dw, dr = drop.grads(dx, dw, dr)
        grads = {"InputWeights": dw, "RecurrentWeights": dr, "Bias": db if drb is None else _cat([db, drb], 0)}
        dx = self._images(dx)
        return ([dx, dh0] if self.layer.input_states else [dx]), grads


class RNNOp(_RecurrentOp):
    """The basic recurrent layer (RecurrentLayer): one state, 'hidden'; OutputMode 'last' is the
    final state (each sequence's output at its own last step)."""

    def forward(self, k, xs, P, training):
        x = self._vectors(xs[0])
        mask, _ = self._mask(x)
        (h0,) = self._start(xs, P, x.shape[0])
        xd, w, r = x, P["InputWeights"], P["RecurrentWeights"]
        drop = self._masks(training, x, w, r)
        if drop is not None:
            xd, w, r = drop.inputs(x, w, r)
        if drop is not None and drop.inner:
            y, hT, _, ctx = k("maskedrecurrent", "forward_train")(xd, w, r, P["Bias"], None, h0, None, mask, drop.ms,
                                                                  None, "rnn", "sigmoid",
                                                                  self.layer.StateActivationFunction, False)
        else:
            y, hT, ctx = k("rnn", "forward_train")(xd, w, r, P["Bias"], h0, mask, self.layer.StateActivationFunction)
        self.final_state = (hT,)
        if self.layer.OutputMode == "last":
            y = hT.copy()
        outs = [y, hT] if self.layer.HasStateOutputs else [y]
        return outs, ((ctx, drop, w, r) if training else None)

    def backward(self, k, dys, ctx, P):
        dout = dys[0]
        dhT = dys[1] if self.layer.HasStateOutputs else None
        dy = dout
        if self.layer.OutputMode == "last":   # the output is the final state
            dy = None
            dhT = dout if dhT is None else dhT + dout
        ctx, drop, w, r = ctx
        if drop is not None and drop.inner:
            dx, dw, dr, db, _, dh0, _ = k("maskedrecurrent", "backward")(dy, dhT, None, ctx, w, r, "sigmoid",
                                                                         self.layer.StateActivationFunction, False)
        else:
            dx, dw, dr, db, dh0 = k("rnn", "backward")(dy, dhT, ctx, w, r, self.layer.StateActivationFunction)
        if drop is not None:
            dx, dw, dr = drop.grads(dx, dw, dr)
        grads = {"InputWeights": dw, "RecurrentWeights": dr, "Bias": db}
        dx = self._images(dx)
        return ([dx, dh0] if self.layer.input_states else [dx]), grads


RECURRENT_OPS = {"lstm": LSTMOp, "gru": GRUOp, "rnn": RNNOp}
