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


class _RecurrentOp(Op):
    """What the recurrent ops share: the mask from the batch's padding, the initial state, the
    step OutputMode 'last' reads, the flattening of an image sequence."""

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

    def __init__(self, *args):
        super().__init__(*args)
        self.state_names = () if self.layer.HasStateInputs else tuple(self.layer.states)
        self.initial_state: tuple[np.ndarray, ...] | None = None
        self.final_state: tuple[np.ndarray, ...] | None = None

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
        if self.layer.HasStateInputs:
            return tuple(np.ascontiguousarray(_host(a).reshape(n, d), dtype=self.dtype) for a in xs[1:1 + len(names)])
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
            out = fn(x, P["InputWeights"][rows], P["RecurrentWeights"][rows], P["Bias"][rows],
                     h0[:, cols], c0[:, cols], mask, gate, state, d == 1, sequence=not final_only)
            ys.append(out[0])
            hs.append(out[1])
            cs.append(out[2])
            ctxs.append(out[3] if training else None)
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
        dx, dws, drs, dbs, dh0s, dc0s = None, [], [], [], [], []
        one = len(ctxs) == 1
        for d, c in enumerate(ctxs):
            rows = slice(4 * hid * d, 4 * hid * (d + 1))
            cols = slice(hid * d, hid * (d + 1))
            gx, gw, gr, gb, gh, gc = bwd(_cols(dy, cols, one), _cols(dhT, cols, one), _cols(dcT, cols, one),
                                         c, P["InputWeights"][rows], P["RecurrentWeights"][rows], gate, state, d == 1)
            dx = gx if dx is None else _host(dx) + _host(gx)
            dws.append(gw)
            drs.append(gr)
            dbs.append(gb)
            dh0s.append(gh)
            dc0s.append(gc)
        grads = {"InputWeights": _cat(dws, 0), "RecurrentWeights": _cat(drs, 0), "Bias": _cat(dbs, 0)}
        dxs = [self._images(dx)]
        if self.layer.HasStateInputs:
            dxs += [_cat(dh0s, 1), _cat(dc0s, 1)]
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
        out = k("gru", "forward_train" if training else "forward_infer")(
            x, P["InputWeights"], P["RecurrentWeights"], bias[:3 * hid], rb, h0, mask,
            sequence=self.layer.OutputMode != "last", **self._kw())
        y, hT = out[0], out[1]
        ctx = out[2] if training else None
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
        dx, dw, dr, db, drb, dh0 = k("gru", "backward")(dy, dhT, ctx, P["InputWeights"], P["RecurrentWeights"],
                                                         **self._kw())
        grads = {"InputWeights": dw, "RecurrentWeights": dr, "Bias": db if drb is None else _cat([db, drb], 0)}
        dx = self._images(dx)
        return ([dx, dh0] if self.layer.HasStateInputs else [dx]), grads


class RNNOp(_RecurrentOp):
    """The basic recurrent layer (RecurrentLayer): one state, 'hidden'; OutputMode 'last' is the
    final state (each sequence's output at its own last step)."""

    def forward(self, k, xs, P, training):
        x = self._vectors(xs[0])
        mask, _ = self._mask(x)
        (h0,) = self._start(xs, P, x.shape[0])
        y, hT, ctx = k("rnn", "forward_train")(x, P["InputWeights"], P["RecurrentWeights"], P["Bias"], h0, mask,
                                              self.layer.StateActivationFunction)
        self.final_state = (hT,)
        if self.layer.OutputMode == "last":
            y = hT.copy()
        outs = [y, hT] if self.layer.HasStateOutputs else [y]
        return outs, (ctx if training else None)

    def backward(self, k, dys, ctx, P):
        dout = dys[0]
        dhT = dys[1] if self.layer.HasStateOutputs else None
        dy = dout
        if self.layer.OutputMode == "last":   # the output is the final state
            dy = None
            dhT = dout if dhT is None else dhT + dout
        dx, dw, dr, db, dh0 = k("rnn", "backward")(dy, dhT, ctx, P["InputWeights"], P["RecurrentWeights"],
                                                   self.layer.StateActivationFunction)
        grads = {"InputWeights": dw, "RecurrentWeights": dr, "Bias": db}
        dx = self._images(dx)
        return ([dx, dh0] if self.layer.HasStateInputs else [dx]), grads


RECURRENT_OPS = {"lstm": LSTMOp, "gru": GRUOp, "rnn": RNNOp}
