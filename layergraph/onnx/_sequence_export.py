"""The ONNX forms of the layers on sequence data (issue 13 step 7), used by export.py.

A sequence is written **time first, T x N x C** (ONNX LSTM / GRU ``layout`` 0, the default): the
layout MathWorks' exporter writes (``ConverterForSequenceInputLayer``: "ONNX LSTM input 'X' shape
is [seqLen, batchSize, inputDim]"; ``ConverterForLSTMLayer`` feeds X to the LSTM node and squeezes
its Y on axis 1; docs/recurrent_plan.md part 3). The graph input of a sequence input layer is
``[T, N, C]`` with the symbolic time dimension "T"; a sequence output likewise. Inside the core a
sequence is N x C x T (core/size.py); the exporters here only ever see ONNX tensor names.

By default the ONNX graph takes one length per batch: every sequence of a batch has the T steps of
the input (no ``sequence_lens`` is written, as MathWorks' exporter), which is what predict computes
for a batch of equal lengths. With ``to_onnx(..., sequence_lengths=True)`` the graph has a second
input ``sequence_lens`` ([N], int32, each observation's length; the data padded at the end), fed to
every LSTM / GRU / RNN node; SequenceLast then takes each observation's own last step
(``GatherElements``, opset 11+), a bilstm's 'last' likewise, SequenceReverse reverses each
observation's own steps (``ReverseSequence``); SequenceMost / SequenceRest are refused there.

* lstmLayer / bilstmLayer -> ``LSTM`` (direction forward / bidirectional; gates MATLAB i, f, g, o
  -> ONNX i, o, f, c, blocks [0, 3, 1, 2] of each direction; ``B`` = [Bias(iofc), zeros(4H)] as
  MathWorks writes it; ``activations`` [gate, state, state] per direction). OutputMode 'last':
  ``Y_h`` (one direction; the final state is the output at the last step) or the last step of Y
  (bilstm: the backward half there has seen one step, as predict gives it). HasStateOutputs:
  ``Y_h`` / ``Y_c``, [D, N, H] -> N x DH (forward first). HasStateInputs: the N x DH inputs ->
  ``initial_h`` / ``initial_c`` [D, N, H]. HiddenState / CellState: ``initial_h`` / ``initial_c``
  (a H x 1 state expanded over the batch; none when zero).
* RecurrentLayer (the basic recurrent layer) -> ``RNN`` (``activations`` [Tanh or Softsign],
  ``B`` = [Bias, zeros(H)]).
* gruLayer -> ``GRU`` (r, z, h -> z, r, h: blocks [1, 0, 2]): ResetGateMode 'before-multiplication'
  ``linear_before_reset`` 0 with ``B`` = [Bias, 0]; 'after-multiplication' 1 with [Bias, 0];
  'recurrent-bias-after-multiplication' 1 with [Bias(1:3H), Bias(3H+1:6H)].
* fullyConnectedLayer per step: ``MatMul`` by W^T then ``Add`` of the bias (Gemm takes 2-D data
  only); softmax: ``Softmax(axis=2)`` (the channels; at opsets below 13 Softmax flattens from its
  axis on, which for axis 2 of T x N x C is the channels alone); Concatenation over the channels:
  ``Concat(axis=2)``; the elementwise layers, dropout, additions: as for other data.
* Wolfram's SequenceLastLayer: ``Slice`` of the last step then ``Squeeze``; SequenceMostLayer /
  SequenceRestLayer: ``Slice`` [0, T-1) / [1, T); SequenceReverseLayer: ``Slice`` with step -1
  (opset 10 or later: Slice has no steps before). With one length per batch these are exact.
"""
from __future__ import annotations

import numpy as np

INT_MAX = 2 ** 63 - 1
INT_MIN = -(2 ** 63)

ACTIVATIONS = {"sigmoid": "Sigmoid", "hard-sigmoid": "HardSigmoid", "tanh": "Tanh", "softsign": "Softsign"}


class NotExportable(Exception):
    """Raised by an exporter for a layer it cannot write; the message says why (export.py re-exports it)."""


def _stored(layer, name):
    value = layer.internal(name)
    if value is None:
        raise NotExportable(f"{name} is empty")
    return np.asarray(value)


def _raise(msg):
    raise NotExportable(msg)


# -- opset-dependent helpers ------------------------------------------------------------------------------------
def squeeze(g, x, axes, base):
    """Squeeze: axes an attribute before opset 13, an input since."""
    if g.opset < 13:
        return g.node("Squeeze", [x], base, axes=list(axes))
    return g.node("Squeeze", [x, g.ints(f"{base}_axes", axes)], base)


def unsqueeze(g, x, axes, base):
    if g.opset < 13:
        return g.node("Unsqueeze", [x], base, axes=list(axes))
    return g.node("Unsqueeze", [x, g.ints(f"{base}_axes", axes)], base)


def slice_(g, x, starts, ends, axes, base, steps=None):
    """Slice: starts / ends / axes attributes at opset 9 (no steps), inputs from 10."""
    if g.opset < 10:
        if steps is not None:
            _raise("reversing a sequence needs Slice with a step of -1, which is opset 10 or later")
        return g.node("Slice", [x], base, starts=list(starts), ends=list(ends), axes=list(axes))
    ins = [x, g.ints(f"{base}_starts", starts), g.ints(f"{base}_ends", ends), g.ints(f"{base}_axes", axes)]
    if steps is not None:
        ins.append(g.ints(f"{base}_steps", steps))
    return g.node("Slice", ins, base)


def _raw_node(g, op, inputs, outputs, base, **attrs):
    from onnx import helper
    attrs = {k: v for k, v in attrs.items() if v is not None}
    g.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=g.fresh(f"{base}:{op}"), **attrs))


# -- the layers ---------------------------------------------------------------------------------------------------
def sequence_input(g, s, plain):
    """sequenceInputLayer: vector sequences only (its normalization arrays, (C,), broadcast over T x N x C)."""
    if s.out_sizes[0].is_image:
        _raise("image sequences (sequenceInputLayer with InputSize [h w c]) are not exported to ONNX")
    return plain(g, s)


def fc(g, s):
    L, n = s.layer, s.name
    if s.in_sizes[0].is_image:
        _raise("a fully connected layer on image sequences is not exported")
    w = np.asarray(_stored(L, "Weights"))
    y = g.node("MatMul", [s.x, g.const(f"{n}_WT", np.ascontiguousarray(w.T))], f"{n}_matmul")
    return [g.node("Add", [y, g.const(f"{n}_B", _stored(L, "Bias").reshape(-1))], n)]


def softmax(g, s):
    if s.in_sizes[0].is_image:
        _raise("a softmax over image sequences is not exported")
    return [g.node("Softmax", [s.x], s.name, axis=2)]


def concat(g, s):
    if s.in_sizes[0].is_image:
        _raise("a concatenation of image sequences is not exported")
    return [g.node("Concat", s.inputs, s.name, axis=2)]


def _blocks(a, order, h, dirs, gates):
    """Rows of a (dirs * gates * h) x ... array, each direction's gate blocks taken in ``order``."""
    parts = []
    for d in range(dirs):
        base = d * gates * h
        parts.append(np.concatenate([a[base + k * h: base + (k + 1) * h] for k in order]))
    return np.stack(parts)   # dirs x (gates h) x ...


def _state_in(g, s, x, port_index, internal_name, dirs, h, base):
    """initial_h / initial_c: [D, N, H] from the layer's state input (N x DH) or its stored state."""
    L = s.layer
    if L.HasStateInputs:
        t = s.inputs[port_index]
        if dirs == 1:
            return unsqueeze(g, t, [0], f"{base}_dnh")
        r = g.node("Reshape", [t, g.ints(f"{base}_ndh_shape", [0, dirs, h])], f"{base}_ndh")
        return g.node("Transpose", [r], f"{base}_dnh", perm=[1, 0, 2])
    value = L.internal(internal_name)
    if value is None:
        return ""
    value = np.asarray(value, dtype=g.dtype)
    if not np.any(value):
        return ""
    if value.ndim == 1:   # one state for every observation: D x 1 x H, expanded over the batch
        c = g.const(f"{base}_value", value.reshape(dirs, 1, h))
        batch = slice_(g, g.node("Shape", [x], f"{base}_xshape"), [1], [2], [0], f"{base}_batch")
        shape = g.node("Concat", [g.ints(f"{base}_d", [dirs]), batch, g.ints(f"{base}_h", [h])], f"{base}_shape",
                       axis=0)
        return g.node("Expand", [c, shape], f"{base}_dnh")
    # one state per observation (after stateful prediction of N observations): N x DH, fixed batch N
    return g.const(f"{base}_dnh", np.ascontiguousarray(value.reshape(-1, dirs, h).transpose(1, 0, 2)))


def _state_out(g, t, dirs, base):
    """Y_h / Y_c [D, N, H] -> N x DH (forward first)."""
    if dirs == 1:
        return squeeze(g, t, [0], base)
    tr = g.node("Transpose", [t], f"{base}_ndh", perm=[1, 0, 2])
    return g.node("Reshape", [tr, g.ints(f"{base}_shape", [0, -1])], base)


def _y_out(g, y, dirs, base):
    """Y [T, D, N, H] -> T x N x DH."""
    if dirs == 1:
        return squeeze(g, y, [1], base)
    tr = g.node("Transpose", [y], f"{base}_tndh", perm=[0, 2, 1, 3])
    return g.node("Reshape", [tr, g.ints(f"{base}_shape", [0, 0, -1])], base)


def _recurrent(g, s, op, gates, order, bias_rows, attrs, n_states):
    L, x, n = s.layer, s.x, s.name
    h, dirs = int(L.NumHiddenUnits), int(L.directions)
    w = _blocks(np.asarray(_stored(L, "InputWeights")), order, h, dirs, gates)
    r = _blocks(np.asarray(_stored(L, "RecurrentWeights")), order, h, dirs, gates)
    wb, rb = bias_rows(np.asarray(_stored(L, "Bias")).reshape(-1), h, dirs)
    b = np.concatenate([_blocks(wb, order, h, dirs, gates), _blocks(rb, order, h, dirs, gates)], axis=1)
    acts = attrs.pop("activations")
    states = [_state_in(g, s, x, 1 + i, name, dirs, h, f"{n}_initial_{'hc'[i]}")
              for i, name in enumerate(L.states[:n_states])]
    ins = [x, g.const(f"{n}_W", w), g.const(f"{n}_R", r), g.const(f"{n}_B", b), g.lens, *states]
    while ins and ins[-1] == "":
        ins.pop()
    sequence = L.OutputMode == "sequence"
    want_y = sequence or dirs == 2
    want_states = bool(L.HasStateOutputs) or not want_y
    outs = [g.fresh(f"{n}_Y") if want_y else "",
            *([g.fresh(f"{n}_Y_{'hc'[i]}") for i in range(n_states)] if want_states else [])]
    if not L.HasStateOutputs and not want_y:
        outs = outs[:2]
    _raw_node(g, op, ins, outs, n, activations=acts * dirs, hidden_size=h,
              direction="bidirectional" if dirs == 2 else "forward", **attrs)
    results = []
    if sequence:
        results.append(_y_out(g, outs[0], dirs, n))
    elif dirs == 1:   # the output at the last step is the final state
        results.append(squeeze(g, outs[1], [0], n))
    else:             # bilstm 'last': the last step of Y (the backward half after one step)
        seq = _y_out(g, outs[0], dirs, f"{n}_sequence")
        results.append(last_step(g, seq, dirs * h, n))
    if L.HasStateOutputs:
        for i in range(n_states):
            results.append(_state_out(g, outs[1 + i], dirs, f"{n}_{L.state_ports[i]}"))
    return results


def _lstm_bias(bias, h, dirs):
    return bias, np.zeros_like(bias)   # MathWorks: "Recurrent biases are left at 0"


def lstm(g, s):
    L = s.layer
    acts = [ACTIVATIONS[L.GateActivationFunction], ACTIVATIONS[L.StateActivationFunction],
            ACTIVATIONS[L.StateActivationFunction]]
    return _recurrent(g, s, "LSTM", 4, [0, 3, 1, 2], _lstm_bias, dict(activations=acts), 2)


def gru(g, s):
    L = s.layer
    mode = L.ResetGateMode
    acts = [ACTIVATIONS[L.GateActivationFunction], ACTIVATIONS[L.StateActivationFunction]]

    def bias_rows(bias, h, dirs):
        if mode == "recurrent-bias-after-multiplication":
            return bias[:3 * h * dirs], bias[3 * h * dirs:]
        return bias, np.zeros_like(bias)

    lbr = 0 if mode == "before-multiplication" else 1
    return _recurrent(g, s, "GRU", 3, [1, 0, 2], bias_rows, dict(activations=acts, linear_before_reset=lbr), 1)


def rnn(g, s):
    """The basic recurrent layer (RecurrentLayer, Wolfram's BasicRecurrentLayer) -> ``RNN``: one gate block,
    ``activations`` [state], B = [Bias, zeros(H)] (ONNX adds Wb + Rb)."""
    L = s.layer
    return _recurrent(g, s, "RNN", 1, [0], _lstm_bias, dict(activations=[ACTIVATIONS[L.StateActivationFunction]]), 1)


def _lens64(g, base):
    """The graph's sequence_lens (int32, as LSTM / GRU / RNN take it) as int64, once (ReverseSequence, indices)."""
    if not getattr(g, "lens64", ""):
        g.lens64 = g.node("Cast", [g.lens], f"{base}_lens_int64", to=7)   # TensorProto.INT64
    return g.lens64


def last_step(g, x, c, base):
    """The last step of a T x N x c sequence: ``Slice [-1:]`` + ``Squeeze``; with the graph's sequence_lens each
    observation's own last step, ``GatherElements`` at lens - 1 (opset 11+)."""
    if not g.lens:
        return squeeze(g, slice_(g, x, [-1], [INT_MAX], [0], f"{base}_step"), [0], base)
    if g.opset < 11:
        _raise("the last step of sequences of their own lengths needs GatherElements, which is opset 11 or later")
    lens = _lens64(g, base)
    at = g.node("Sub", [lens, g.ints(f"{base}_one", [1])], f"{base}_last_index")
    idx = g.node("Reshape", [at, g.ints(f"{base}_index_shape", [1, -1, 1])], f"{base}_index_1n1")
    shape = g.node("Concat", [g.ints(f"{base}_one_step", [1]),
                              slice_(g, g.node("Shape", [x], f"{base}_xshape"), [1], [2], [0], f"{base}_batch"),
                              g.ints(f"{base}_channels", [c])], f"{base}_index_shape_1nc", axis=0)
    full = g.node("Expand", [idx, shape], f"{base}_index")
    return squeeze(g, g.node("GatherElements", [x, full], f"{base}_step", axis=0), [0], base)


def sequence_last(g, s):
    return [last_step(g, s.x, s.in_sizes[0].channels, s.name)]


def _one_length(g, what):
    if g.lens:
        _raise(f"{what} changes each sequence's length, which the sequence_lens of the following nodes would "
               "have to follow; it is not written with sequence_lens")


def sequence_most(g, s):
    _one_length(g, "SequenceMostLayer")
    return [slice_(g, s.x, [0], [-1], [0], s.name)]


def sequence_rest(g, s):
    _one_length(g, "SequenceRestLayer")
    return [slice_(g, s.x, [1], [INT_MAX], [0], s.name)]


def sequence_reverse(g, s):
    if g.lens:   # each sequence's own steps reversed, its padding left where it is
        return [g.node("ReverseSequence", [s.x, _lens64(g, s.name)], s.name, batch_axis=1, time_axis=0)]
    return [slice_(g, s.x, [-1], [INT_MIN], [0], s.name, steps=[-1])]


# families whose ONNX form on T x N x C data differs from their form on other data
SEQUENCE_EXPORTERS = {
    "fc": fc, "softmax": softmax, "concatenation": concat, "lstm": lstm, "gru": gru, "rnn": rnn,
    "sequence_last": sequence_last, "sequence_most": sequence_most, "sequence_rest": sequence_rest,
    "sequence_reverse": sequence_reverse,
}
# families whose form does not depend on the layout (elementwise, or of equal-shaped inputs)
LAYOUT_FREE = ("relu", "leakyrelu", "clippedrelu", "elu", "tanh", "sigmoid", "swish", "gelu", "elementwise",
               "threading", "dropout", "addition", "crossentropyex", "mse", "hardsigmoid", "hardswish")
