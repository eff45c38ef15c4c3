"""ONNX ``LSTM`` / ``GRU`` nodes and the sequence tensors around them -> the core's sequence
input, lstmLayer, bilstmLayer and gruLayer (issue 13 step 7), used by importer.py.

A sequence tensor is T x N x C (``layout`` 0) or N x T x C (batch first: ``layout`` 1, or
PyTorch's ``batch_first`` Transpose before a layout-0 node); inside it is the core's N x C x T
(``_Act.seq`` says which ONNX layout the tensor has). A graph input is a sequence when it reaches
an LSTM / GRU's X through Transposes [1, 0, 2] and elementwise ops (``input_role``). The node's
outputs stay values of their own until read: ``RnnY`` (Y, [T, D, N, H] or [N, T, D, H]) and
``RnnState`` (Y_h / Y_c, [D, N, H]); a Squeeze of the direction axis, a Transpose and a Reshape
that merges D and H (what PyTorch's exporter and ours write) make them sequences / N x DH
states again, and a graph output of either is the core output with its ONNX form recorded
(``Imported.output_forms``). Shape arithmetic on a sequence carries the time as ``TIME``
(_fold.py), and the zero or constant initial state built from the batch size (ConstantOfShape
or Expand of a shape with the batch) is ``BatchConst``.

Mapping (docs/onnx_ops.md): gates ONNX i, o, f, c -> MATLAB i, f, g, o (blocks [0, 2, 3, 1]),
z, r, h -> r, z, h ([1, 0, 2]); LSTM Bias = Wb + Rb; GRU ``linear_before_reset`` 0 ->
'before-multiplication' with Bias = Wb + Rb, 1 -> 'after-multiplication' (Rb zero) or
'recurrent-bias-after-multiplication' (Bias [Wb; Rb], 6H); direction 'reverse' -> the forward
layer between two SequenceReverse layers (no MATLAB layer runs one LSTM backwards);
'bidirectional' -> bilstmLayer (a bidirectional GRU has no layer: MATLAB has no bigruLayer).
Only Y_h read (one direction) -> OutputMode 'last'; else 'sequence' with HasStateOutputs when Y_h
or Y_c are read. ``sequence_lens``: a graph input read only there is no input of the network (each
sequence's length is its own, as in MATLAB's cell arrays; padded steps are masked as ONNX's
``sequence_lens`` masks them); a constant one is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import layers as L
from ..core.layer import Internal
from ..layers.sequence_ops import SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer
from ._fold import BATCH, TIME, attrs
from ._values import _Act, _size, _Unsupported

RECURRENT = ("LSTM", "GRU", "RNN")   # the recurrent ops: X input 0, sequence_lens 4, initial_h 5 (LSTM: initial_c 6)
_TRANSPARENT = {"Sub", "Add", "Mul", "Div", "Identity", "Dropout", "Relu", "Tanh", "Sigmoid", "LeakyRelu", "Elu",
                "MatMul", "Softsign", "Slice", "Cast", "Squeeze", "ReverseSequence", "GatherElements"}
_GATE = {"Sigmoid": "sigmoid", "HardSigmoid": "hard-sigmoid"}
_STATE = {"Tanh": "tanh", "Softsign": "softsign"}


@dataclass
class RnnY:
    """Y of an LSTM / GRU node: the core output ``ref`` (N x DH x T), its ONNX form (letters T, D, N, H)."""
    ref: tuple
    dirs: int
    hidden: int
    form: str


@dataclass
class RnnState:
    """Y_h / Y_c ([D, N, H]), or an N x H activation unsqueezed for an initial state: ``ref`` is N x DH."""
    ref: tuple
    dirs: int
    hidden: int
    form: str = "DNH"


@dataclass
class BatchConst:
    """A constant over the batch: ``value`` with 1 on the batch axis (ConstantOfShape / Expand of a shape holding
    the batch size)."""
    value: np.ndarray


@dataclass
class SeqLens:
    """A graph input read only as ``sequence_lens`` (or a value computed from it, for the export's ReverseSequence
    and GatherElements of each observation's last step): the lengths are the data's own. ``shift``: the value is
    the lengths + shift; ``shaped``: reshaped [1, N, 1] (and expanded) as GatherElements' indices."""
    shift: int = 0
    shaped: bool = False


@dataclass
class LastStep:
    """The last step of a sequence as a one-step sequence (Slice [-1:] of the time axis), for a Squeeze to take."""
    act: object
    node: object


DEFERRED = (RnnY, RnnState, BatchConst, SeqLens, LastStep)


def _decode(v):
    return v.decode() if isinstance(v, bytes) else v


# -- graph inputs --------------------------------------------------------------------------------------------------
def input_role(im, name):
    """"TNC" / "NTC" (a sequence read by an LSTM / GRU's X in that layout), "state" (read as initial_h / c),
    "lens" (read as sequence_lens only), or None."""
    direct = [(n, i) for n, i in im.readers.get(name, [])]
    if direct and all((n.op_type in RECURRENT and i == 4) or n.op_type == "Cast" for n, i in direct) and \
            any(n.op_type in RECURRENT for n, _ in direct):   # (the Cast: the export's int64 copy of the lengths)
        return "lens"
    if direct and all(n.op_type in RECURRENT and i in (5, 6) for n, i in direct):
        return "state"
    frontier, seen = [(name, False)], set()
    while frontier:
        t, flipped = frontier.pop()
        if t in seen:
            continue
        seen.add(t)
        for node, idx in im.readers.get(t, []):
            op = node.op_type
            if op in RECURRENT and idx == 0:
                tnc = (int(attrs(node).get("layout", 0)) == 0) != flipped
                return "TNC" if tnc else "NTC"
            if op == "Transpose" and idx == 0 and list(attrs(node).get("perm", [])) == [1, 0, 2]:
                frontier.append((node.output[0], not flipped))
            elif ((op in _TRANSPARENT and (op != "MatMul" or idx == 0)) or (op == "Gather" and idx == 1)) \
                    and node.output:   # Gather by indices: an embedding of a sequence of indices
                frontier.append((node.output[0], flipped))
    return None


def sequence_input(im, vi, role, lname):
    """The core layer and value of a graph input with a sequence role."""
    tt = vi.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    name = vi.name
    if role == "state":
        if len(dims) != 3 or dims[0] != 1 or not dims[2]:
            raise _Unsupported(f"the initial state input {name!r} has shape {dims}; a state input is [1, N, H] "
                               "(one direction; a bidirectional state input has no layer port of that layout)")
        layer = L.FeatureInputLayer(Name=lname, InputSize=dims[2], Normalization="none")
        return layer, RnnState((lname, "out"), 1, dims[2]), (dims[2],)
    if len(dims) != 3 or not dims[2]:
        raise _Unsupported(f"the sequence input {name!r} has shape {dims}; a sequence is T x N x C or N x T x C "
                           "with C fixed")
    c = dims[2]
    layer = L.SequenceInputLayer(Name=lname, InputSize=c, Normalization="none")
    return layer, _Act((lname, "out"), (c,), name, seq=role), (c,)


# -- shape ops on sequences and the nodes' outputs ------------------------------------------------------------------
def _axes(im, ins, a):
    if im.opset >= 13 and len(ins) > 1 and ins[1] is not None:
        return [int(v) for v in im.const(ins, 1, "axes").ravel()]
    return [int(v) for v in a.get("axes", [])]


def _merges(target, keep: int, merged: int) -> bool:
    """A Reshape target of ``keep`` leading kept axes (0, -1, BATCH, TIME) and one merged last axis."""
    t = [int(v) for v in target]
    if len(t) != keep + 1 or t[-1] not in (-1, merged, 0) or (t[-1] == 0 and merged != 1):
        return False
    return all(v in (0, BATCH, TIME) or (v == -1 and t[-1] != -1) for v in t[:-1])


def seq_of(v):
    """The ONNX layout of a sequence value: an _Act with ``seq``, or a deferred pattern (an input normalization, a
    product by weights) over one; else None."""
    for _ in range(4):
        if isinstance(v, _Act):
            return v.seq
        v = getattr(v, "act", None) or getattr(v, "src", None)
    return None


def shape_op(im, node, label, ins, a):
    """The value of a shape op on a sequence, an RNN output or a batch constant; NotImplemented when ins[0] is none
    of them (the op's own handler takes it)."""
    op, x = node.op_type, ins[0] if ins else None
    if not isinstance(x, (_Act, *DEFERRED)) and seq_of(x) and op not in ("Add", "Sub", "Mul", "Div", *RECURRENT):
        x = im._act(x)   # a pattern over a sequence (a normalization, a product by weights) read by another op
        ins = [x, *ins[1:]]
    seq = isinstance(x, _Act) and x.seq is not None
    if not (seq or isinstance(x, DEFERRED)):
        if op == "Unsqueeze" and isinstance(x, _Act) and len(x.shape) == 1 and _axes(im, ins, a) == [0] and \
                _reads_state(im, node.output[0]):
            return RnnState(x.ref, 1, x.shape[0])
        if op in ("ConstantOfShape", "Expand") and _has_batch(im, node, ins):
            return _batch_const(im, node, ins, a)
        return NotImplemented
    if isinstance(x, BatchConst) and op in ("Slice", "Identity") and all(
            v is None or isinstance(v, np.ndarray) for v in ins[1:]):   # one layer's part of a stacked state
        axes = ins[3] if len(ins) > 3 else a.get("axes")
        if axes is None or 1 in [int(v) % x.value.ndim for v in np.ravel(axes)]:
            raise _Unsupported("Slice of a constant over the batch along the batch axis")
        from ._fold import fold
        return BatchConst(fold(op, node, [x.value, *ins[1:]], im.opset)[0])
    if isinstance(x, LastStep):
        t = x.act.seq.index("T")
        if op == "Squeeze" and [v % 3 for v in _axes(im, ins, a)] == [t]:
            return im._add(SequenceLastLayer, label, [x.act])
        raise _Unsupported(f"{op} of a sequence's last step kept as a one-step sequence; the importer takes it "
                           "squeezed (Squeeze of the time axis)")
    if isinstance(x, SeqLens):
        return _lens_op(im, node, ins, a, x)
    if isinstance(x, (BatchConst, SeqLens)):
        raise _Unsupported(f"{op} of {'a constant over the batch' if isinstance(x, BatchConst) else 'sequence_lens'}")
    if op == "Shape":
        if not seq:
            raise _Unsupported("Shape of an LSTM / GRU output")
        shape = np.array([TIME, BATCH, x.shape[0]] if x.seq == "TNC" else [BATCH, TIME, x.shape[0]], np.int64)
        return shape[a.get("start", 0):a.get("end", None)]
    if op == "Transpose":
        form = x.seq if seq else x.form
        perm = list(a.get("perm", range(len(form))[::-1]))
        if sorted(perm) != list(range(len(form))):
            raise _Unsupported(f"perm {perm} for a rank-{len(form)} tensor")
        new = "".join(form[p] for p in perm)
        if seq:
            if new not in ("TNC", "NTC"):
                raise _Unsupported(f"perm {perm} moves the channels of a sequence ({form} -> {new})")
            return _Act(x.ref, x.shape, "", seq=new)
        return RnnY(x.ref, x.dirs, x.hidden, new) if isinstance(x, RnnY) else RnnState(x.ref, x.dirs, x.hidden, new)
    if op == "Squeeze" and not seq:
        axes = [ax % len(x.form) for ax in _axes(im, ins, a)]
        d = x.form.index("D")
        if x.dirs != 1 or axes != [d]:
            raise _Unsupported(f"Squeeze axes {axes} of a {x.form} tensor with {x.dirs} direction(s); only the "
                               "direction axis of one direction is squeezed")
        rest = x.form.replace("D", "").replace("H", "C")
        if isinstance(x, RnnState):
            return _Act(x.ref, (x.hidden,))
        if rest not in ("TNC", "NTC"):
            raise _Unsupported(f"a sequence of form {rest}")
        return _Act(x.ref, (x.hidden,), "", seq=rest)
    if op == "Reshape" and not seq:
        target = im.const(ins, 1, "shape").ravel()
        if x.form.endswith("DH") and _merges(target, len(x.form) - 2, x.dirs * x.hidden):
            rest = x.form[:-2] + "C"
            if isinstance(x, RnnState) and rest == "NC":
                return _Act(x.ref, (x.dirs * x.hidden,))
            if isinstance(x, RnnY) and rest in ("TNC", "NTC"):
                return _Act(x.ref, (x.dirs * x.hidden,), "", seq=rest)
        raise _Unsupported(f"Reshape of a {x.form} tensor to {[int(v) for v in target]}; the importer takes the "
                           "Reshape that merges the directions and the hidden units ([0, 0, -1])")
    if not seq:
        raise _Unsupported(f"{op} of an LSTM / GRU output of form {x.form} (the direction axis is still there: "
                           "Squeeze it, or Transpose and Reshape the directions into the channels)")
    return _on_sequence(im, node, label, ins, a)


def _lens_op(im, node, ins, a, x):
    """The export's arithmetic on sequence_lens: Cast, lens - 1, Reshape [1, -1, 1], Expand over the channels."""
    op = node.op_type
    if op in ("Cast", "Identity"):
        return x
    c = ins[1] if len(ins) > 1 else None
    if op in ("Sub", "Add") and isinstance(c, np.ndarray) and c.size == 1 and not x.shaped:
        return SeqLens(x.shift + (-1 if op == "Sub" else 1) * int(np.ravel(c)[0]), False)
    if op == "Reshape" and isinstance(c, np.ndarray) and [int(v) for v in np.ravel(c)] == [1, -1, 1]:
        return SeqLens(x.shift, True)
    if op == "Expand" and x.shaped:
        return x
    raise _Unsupported(f"{op} of sequence_lens; the importer takes the lengths as the data's own (read by the "
                       "recurrent nodes, ReverseSequence, and GatherElements at lens - 1)")


def _reads_state(im, tensor):
    readers = im.readers.get(tensor, [])
    return bool(readers) and all(n.op_type in RECURRENT and i in (5, 6) for n, i in readers)


def _has_batch(im, node, ins):
    shape = ins[0] if node.op_type == "ConstantOfShape" else (ins[1] if len(ins) > 1 else None)
    return isinstance(shape, np.ndarray) and shape.dtype.kind == "i" and np.any(shape == BATCH) and (
        node.op_type == "ConstantOfShape" or isinstance(ins[0], np.ndarray))


def _batch_const(im, node, ins, a):
    from onnx import numpy_helper
    if node.op_type == "ConstantOfShape":
        shape = ins[0]
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        base = np.full([1 if v == BATCH else int(v) for v in shape], value.ravel()[0], dtype=value.dtype)
    else:
        data, shape = np.asarray(ins[0]), ins[1]
        target = [1 if v == BATCH else int(v) for v in shape]
        if np.any(shape == TIME):
            raise _Unsupported("Expand over the time dimension")
        base = np.broadcast_to(data, np.broadcast_shapes(data.shape, tuple(target))).copy()
    return BatchConst(base)


SEQUENCE_OPS = ("LSTM", "GRU", "RNN", "Transpose", "Squeeze", "Reshape", "Shape", "Slice", "Softmax", "Concat",
                "ReverseSequence", "GatherElements", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Tanh", "Sigmoid",
                "LeakyRelu", "Elu", "Dropout", "Identity")
_BIG = 2 ** 30


def _time_slice(im, node, label, ins, a, x):
    """Slice of the time axis: the last step, all but the last (SequenceMostLayer), all but the first
    (SequenceRestLayer), reversed (SequenceReverseLayer). ONNX's graph has one length per batch; the layers take each
    sequence's own steps, which is the same when the batch holds no padding."""
    if im.opset >= 10:
        vals = [im.const(ins, i, what) for i, what in ((1, "starts"), (2, "ends"), (3, "axes"), (4, "steps"))]
        starts, ends, axes, steps = [None if v is None else [int(u) for u in np.ravel(v)] for v in vals]
    else:
        starts, ends, axes, steps = list(a.get("starts", [])), list(a.get("ends", [])), a.get("axes"), None
        axes = None if axes is None else list(axes)
    axes = list(range(len(starts))) if axes is None else [ax % 3 for ax in axes]
    steps = steps or [1] * len(starts)
    t = x.seq.index("T")
    if axes != [t]:
        raise _Unsupported(f"Slice of axes {axes} of a {x.seq[0]} x {x.seq[1]} x C sequence; the importer takes "
                           "slices of the time axis")
    (s0,), (e0,), (st,) = starts, ends, steps
    if st == 1 and s0 == -1 and e0 >= _BIG:
        return LastStep(x, node)
    if st == 1 and s0 == 0 and e0 == -1:
        return im._add(SequenceMostLayer, label, [x])
    if st == 1 and s0 == 1 and e0 >= _BIG:
        return im._add(SequenceRestLayer, label, [x])
    if st == -1 and (s0 == -1 or s0 >= _BIG) and e0 <= -_BIG:
        return im._add(SequenceReverseLayer, label, [x])
    raise _Unsupported(f"Slice [{s0}:{e0}:{st}] of the time axis; the importer takes [-1:] (the last step), "
                       "[0:-1], [1:] and [::-1]")


def _on_sequence(im, node, label, ins, a):
    """Other ops on a sequence: a softmax over the channels, constants per channel, elementwise ops."""
    op = node.op_type
    x = ins[0]
    if op not in SEQUENCE_OPS or op in ("Squeeze", "Reshape"):
        raise _Unsupported(f"{op} of a sequence (a {x.seq[0]} x {x.seq[1]} x C tensor): on sequences the importer "
                           f"takes {', '.join(SEQUENCE_OPS)}")
    if op == "Slice":
        return _time_slice(im, node, label, ins, a, x)
    if op == "ReverseSequence":   # each observation's own steps reversed: SequenceReverseLayer
        lens = ins[1] if len(ins) > 1 else None
        t, n = x.seq.index("T"), x.seq.index("N")
        if not (isinstance(lens, SeqLens) and lens.shift == 0 and not lens.shaped) or \
                int(a.get("time_axis", 0)) != t or int(a.get("batch_axis", 1)) != n:
            raise _Unsupported("ReverseSequence by lengths other than sequence_lens, or along other axes")
        return im._add(SequenceReverseLayer, label, [x])
    if op == "GatherElements":   # the export's last step of each observation (index lens - 1 along the time)
        idx = ins[1] if len(ins) > 1 else None
        if not (isinstance(idx, SeqLens) and idx.shift == -1 and idx.shaped) or \
                int(a.get("axis", 0)) % 3 != x.seq.index("T"):
            raise _Unsupported("GatherElements of a sequence by indices other than sequence_lens - 1 along the time")
        return LastStep(x, node)
    if op == "Concat":   # over the channels (the export's NetBidirectionalOperator Catenate, a concatenation)
        if int(a.get("axis", 0)) % 3 != 2 or not all(isinstance(v, _Act) and v.seq == x.seq for v in ins):
            raise _Unsupported(f"Concat along axis {a.get('axis')} of sequences; the layers concatenate sequences "
                               "of one layout over their channels (axis 2 or -1)")
        return im._add(L.DepthConcatenationLayer, label, list(ins), num_inputs=len(ins))
    if op == "Softmax":
        axis = int(a.get("axis", -1 if im.opset >= 13 else 1))
        if axis % 3 != 2:
            raise _Unsupported(f"a softmax over axis {axis} of a sequence; the layers take a softmax over the "
                               "channels (axis 2 or -1)")
        return im._add(L.SoftmaxLayer, label, [x])
    if op in ("Add", "Sub", "Mul", "Div"):
        consts = [v for v in ins if isinstance(v, np.ndarray)]
        if consts:   # a constant per channel or one value: broadcast over the time and the batch
            c = consts[0]
            if c.ndim > 3 or any(d != 1 for d in c.shape[:-1]) or (c.ndim and c.shape[-1] not in (1, x.shape[0])):
                raise _Unsupported(f"a constant of shape {c.shape} on a sequence; the layers take one per channel "
                                   f"({x.shape[0]},) or one value")
            ins = [v.reshape(-1) if isinstance(v, np.ndarray) and v.size > 1 else
                   (v.reshape(()) if isinstance(v, np.ndarray) else v) for v in ins]
    return im.handlers[op](im, node, label, ins, a)


# -- the LSTM / GRU / RNN node -----------------------------------------------------------------------------------------
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
ORDER = {"LSTM": [0, 2, 3, 1],   # ONNX i, o, f, c -> i, f, g (c), o
         "GRU": [1, 0, 2],       # z, r, h -> r, z, h
         "RNN": [0]}


def _activations(a, op, dirs, label):
    """(gate, state) activation names of the layers (gate None for RNN)."""
    per = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
    default = ["Tanh"] if op == "RNN" else ["Sigmoid", "Tanh", "Tanh"][:per]
    names = [_decode(v) for v in a.get("activations", [])] or default * dirs
    if len(names) != per * dirs:
        raise _Unsupported(f"activations {names}: {per * dirs} are expected ({per} per direction)")
    alphas, betas = list(a.get("activation_alpha", [])), list(a.get("activation_beta", []))
    consumed = {"HardSigmoid", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Elu", "Affine"}
    ai = bi = 0
    for i, nm in enumerate(names):
        if nm in consumed:   # alpha / beta are consumed in order by the activations that take them (onnxruntime)
            al = alphas[ai] if ai < len(alphas) else None
            be = betas[bi] if bi < len(betas) else None
            ai, bi = ai + 1, bi + 1
            if nm == "HardSigmoid" and ((al is not None and abs(al - 0.2) > 1e-6) or
                                        (be is not None and abs(be - 0.5) > 1e-6)):
                raise _Unsupported(f"HardSigmoid with alpha {al}, beta {be}; the layers' 'hard-sigmoid' is alpha "
                                   "0.2, beta 0.5")
    per_dir = [names[d * per:(d + 1) * per] for d in range(dirs)]
    if any(p != per_dir[0] for p in per_dir):
        raise _Unsupported(f"activations {names} differ between the directions")
    if op == "RNN":
        if per_dir[0][0] not in _STATE:
            raise _Unsupported(f"activations {per_dir[0]}; the basic recurrent layer takes [f] = [Tanh or Softsign]")
        return None, _STATE[per_dir[0][0]]
    gate, state = per_dir[0][0], per_dir[0][1]
    if gate not in _GATE or state not in _STATE or (per == 3 and per_dir[0][2] != state):
        allowed = "[f, g, h] = [Sigmoid or HardSigmoid, Tanh or Softsign, the same as g]" if per == 3 else \
            "[f, g] = [Sigmoid or HardSigmoid, Tanh or Softsign]"
        raise _Unsupported(f"activations {per_dir[0]}; the layers take {allowed}")
    return _GATE[gate], _STATE[state]


def _reorder(w, order, h, dirs, gates):
    """Stack the directions' gate blocks (each ``gates`` x H rows) in ``order``: (dirs * gates * h) x ..."""
    out = []
    for d in range(dirs):
        out += [w[d][k * h:(k + 1) * h] for k in order]
    return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def _initial(im, v, name, dirs, h, layout):
    """A constant initial state as the layer's stored state ((DH,), forward first); None for zeros; an RnnState
    for a state input port. Layout 1 states are [N, D, H]."""
    if v is None:
        return None
    form = "DNH" if layout == 0 else "NDH"
    if isinstance(v, RnnState):
        if v.dirs != dirs or v.hidden != h or (v.form != form and not (dirs == 1 and v.form in ("DNH", "NDH"))):
            raise _Unsupported(f"{name} is a {v.form} tensor of {v.dirs} x {v.hidden}; it must be {form} with D "
                               f"{dirs}, H {h}")
        return v
    value = v.value if isinstance(v, BatchConst) else v
    if isinstance(value, np.ndarray) and value.ndim == 3 and layout == 1:
        value = value.transpose(1, 0, 2)
    if not isinstance(value, np.ndarray):
        raise _Unsupported(f"{name} is computed in a way the importer does not follow (it takes a constant, a "
                           "graph input [1, N, H] or another LSTM / GRU's state)")
    if value.ndim != 3 or value.shape[0] != dirs or value.shape[2] != h:
        raise _Unsupported(f"{name} of shape {value.shape}; expected [{dirs}, N, {h}]")
    if not np.all(value == value[:, :1]):
        raise _Unsupported(f"{name} differs between the observations of the batch; a layer's stored state is one "
                           "state for every observation")
    flat = np.ascontiguousarray(value[:, 0, :].reshape(-1), dtype=np.float32)
    return None if not np.any(flat) else flat


def _arrays(op, w, r, wb, rb, h, dirs, a):
    """The layer's stored arrays (and GRU's ResetGateMode) from ONNX's W, R, Wb, Rb of ``dirs`` directions."""
    gates, order = GATES[op], ORDER[op]
    props = {}
    if op == "GRU":
        lbr = int(a.get("linear_before_reset", 0))
        if lbr == 0:
            mode, bias = "before-multiplication", _reorder(wb + rb, order, h, dirs, gates)
        elif not np.any(rb):
            mode, bias = "after-multiplication", _reorder(wb, order, h, dirs, gates)
        else:
            mode = "recurrent-bias-after-multiplication"
            bias = np.concatenate([_reorder(wb, order, h, dirs, gates), _reorder(rb, order, h, dirs, gates)])
        props["ResetGateMode"] = mode
    else:   # LSTM, RNN: one bias per gate, Wb + Rb
        bias = _reorder(wb + rb, order, h, dirs, gates)
    props.update(InputWeights=Internal(_reorder(w, order, h, dirs, gates)),
                 RecurrentWeights=Internal(_reorder(r, order, h, dirs, gates)), Bias=Internal(bias))
    return props


def rnn(im, node, label, ins, a):
    op = node.op_type
    gates = GATES[op]
    x = ins[0]
    if not isinstance(x, _Act) and seq_of(x):   # a normalization of the input, a product by weights: the layers
        x = im._act(x)
    if not node.name:   # an unnamed node: named after its first output that is written (Y may be '')
        label = next((t for t in node.output if t), op)
    layout = int(a.get("layout", 0))
    want = "TNC" if layout == 0 else "NTC"
    if not (isinstance(x, _Act) and x.seq):
        raise _Unsupported("its input X is no sequence the importer follows from a graph input (T x N x C, or "
                           "N x T x C with layout 1, through Transposes and elementwise ops)")
    if x.seq != want:
        raise _Unsupported(f"X is {'batch' if x.seq == 'NTC' else 'time'} first ({x.seq[0]} x {x.seq[1]} x C) but "
                           f"the node reads layout {layout} ({want[0]} x {want[1]} x C)")
    if a.get("clip") is not None:
        raise _Unsupported(f"clip={a['clip']}: the layers do not clip the cell input")
    if op == "LSTM" and int(a.get("input_forget", 0)):
        raise _Unsupported("input_forget=1 (coupled input and forget gates): lstmLayer has separate gates")
    if op == "LSTM" and len(ins) > 7 and ins[7] is not None:
        raise _Unsupported("peepholes (input P): lstmLayer has no peephole connections")
    direction = _decode(a.get("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise _Unsupported(f"direction {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    w, r = im.const(ins, 1, "W"), im.const(ins, 2, "R")
    b = im.const(ins, 3, "B") if len(ins) > 3 else None
    c = x.shape[0]
    h = int(a.get("hidden_size", r.shape[-1] if r is not None else 0))
    if w is None or r is None or w.shape != (dirs, gates * h, c) or r.shape != (dirs, gates * h, h):
        raise _Unsupported(f"W {None if w is None else w.shape} and R {None if r is None else r.shape} do not fit "
                           f"{dirs} direction(s), hidden_size {h} and {c} input channels")
    if b is not None and b.shape != (dirs, 2 * gates * h):
        raise _Unsupported(f"B of shape {b.shape}; expected ({dirs}, {2 * gates * h})")
    lens = ins[4] if len(ins) > 4 else None
    if isinstance(lens, np.ndarray):
        raise _Unsupported("a constant sequence_lens fixes each observation's length; the layers take each "
                           "sequence's own length from the data (give none, or a graph input)")
    if lens is not None and not isinstance(lens, SeqLens):
        raise _Unsupported("sequence_lens is computed from the network's input; the layers take the lengths from "
                           "the data")
    gate, state = _activations(a, op, dirs, label)
    wb = np.zeros((dirs, gates * h), np.float32) if b is None else b[:, :gates * h]
    rb = np.zeros((dirs, gates * h), np.float32) if b is None else b[:, gates * h:]
    base = dict(NumHiddenUnits=h, InputSize=c, StateActivationFunction=state)
    if gate is not None:
        base["GateActivationFunction"] = gate
    state_names = {"LSTM": ("HiddenState", "CellState"), "GRU": ("HiddenState",), "RNN": ("HiddenState",)}[op]
    initial = [_initial(im, ins[5 + i] if len(ins) > 5 + i else None, ("initial_h", "initial_c")[i], dirs, h, layout)
               for i in range(len(state_names))]
    ports = [v for v in initial if isinstance(v, RnnState)]
    if ports and len(ports) != len(initial):
        raise _Unsupported("initial_h and initial_c must both come from the network (state inputs) or both be "
                           "constants")
    used = [bool(t) and im.consumers.get(t, 0) > 0 for t in node.output] + [False] * 3
    y_used, states_used = used[0], used[1:1 + len(state_names)]
    last = dirs == 1 and not y_used and states_used[0] and not any(states_used[1:])
    base["OutputMode"] = "last" if last else "sequence"
    base["HasStateOutputs"] = not last and any(states_used)
    y_form = "TDNH" if layout == 0 else "NTDH"
    s_form = "DNH" if layout == 0 else "NDH"
    outs = [None] * len(node.output)
    if op == "LSTM" or dirs == 1:   # one layer (bilstmLayer for both directions of an LSTM)
        props = dict(base, **_arrays(op, w, r, wb, rb, h, dirs, a))
        if ports:
            props["HasStateInputs"] = True
        else:
            for name, v in zip(state_names, initial):   # zeros when the node has none (ONNX's default)
                props[name] = Internal(np.zeros(dirs * h, np.float32) if v is None else v)
        cls = {"LSTM": L.BiLSTMLayer if dirs == 2 else L.LSTMLayer, "GRU": L.GRULayer, "RNN": L.RecurrentLayer}[op]
        name, y_ref = _layer(im, cls, label, x, props, ports, direction == "reverse", want, y_used)
        layer = im.g.layer(name)
        if y_used:
            outs[0] = RnnY(y_ref, dirs, h, y_form)
        for i, port in enumerate(layer.state_ports):
            if 1 + i < len(outs) and states_used[i]:
                outs[1 + i] = RnnState((name, "out") if last else (name, port), dirs, h, s_form)
        return outs
    # a bidirectional GRU / RNN: the forward layer and the layer between two SequenceReverse layers (what Wolfram's
    # NetBidirectionalOperator computes), their outputs (and final states) concatenated, forward first
    cls = L.GRULayer if op == "GRU" else L.RecurrentLayer
    halves = []
    for d, part in enumerate(("forward", "backward")):
        props = dict(base, **_arrays(op, w[d:d + 1], r[d:d + 1], wb[d:d + 1], rb[d:d + 1], h, 1, a))
        v = initial[0]
        props["HiddenState"] = Internal(np.zeros(h, np.float32) if v is None else v[d * h:(d + 1) * h])
        halves.append(_layer(im, cls, f"{label}_{part}", x, props, [], d == 1, want, y_used))
    if y_used:
        cat = im._add(L.DepthConcatenationLayer, label, [_Act(ref, (h,), "", seq=want) for _, ref in halves],
                      num_inputs=2)
        outs[0] = RnnY(cat.ref, 2, h, y_form)
    if len(outs) > 1 and states_used[0]:
        cat = im._add(L.DepthConcatenationLayer, f"{label}_Y_h", [_Act((n, "hidden"), (h,)) for n, _ in halves],
                      num_inputs=2)
        outs[1] = RnnState(cat.ref, 2, h, s_form)
    return outs


def _layer(im, cls, label, x, props, ports, reverse, want, y_used):
    """Add one recurrent layer reading the sequence ``x`` (reversed first, and its Y reversed back, for the reverse
    direction: no MATLAB layer runs backwards); its state inputs from ``ports``. (layer name, Y's core ref)."""
    src = x
    if reverse:
        src = im._add(SequenceReverseLayer, f"{label}_reverse_input", [x])
    name = im.names.make(label)
    layer = cls(Name=name, **props)
    h = props["NumHiddenUnits"]
    sizes = [_size(src.shape).with_time()] + [_size((layer.directions * h,))] * len(ports)
    layer.infer(sizes)
    im.g._add(layer)
    im.g._connect(src.ref[0], src.ref[1], name, "in")
    for v, port in zip(ports, layer.state_ports):
        im.g._connect(v.ref[0], v.ref[1], name, port)
    ref = (name, "out")
    if reverse and y_used:
        ref = im._add(SequenceReverseLayer, f"{label}_reverse_output", [_Act(ref, (h,), "", seq=want)]).ref
    return name, ref


# -- data in the ONNX forms (the backend, the tests) ------------------------------------------------------------------
def core_array(x, form: str):
    """A graph input's ONNX array (``Imported.input_forms``) in the core's layout: a TNC / NTC sequence as
    N x C x T, a [1, N, H] state as N x H."""
    x = np.asarray(x)
    if form.startswith("I"):   # integer 0-based indices (an embedding's, _embedding_import.py) -> 1-based numbers
        v = x.astype(np.float64) + 1
        if form == "I1":
            return v.reshape(-1, 1)
        if form in ("ITN", "INT"):   # a sequence of indices -> N x 1 x T
            return np.ascontiguousarray((v.T if form == "ITN" else v)[:, None, :])
        return v
    if form == "TNC":
        return np.ascontiguousarray(x.transpose(1, 2, 0))
    if form == "NTC":
        return np.ascontiguousarray(x.transpose(0, 2, 1))
    if form in ("DNH", "NDH"):
        return np.ascontiguousarray((x if form == "DNH" else x.transpose(1, 0, 2))[0])
    raise ValueError(f"unknown form {form!r}")


def onnx_array(y, form: str, dirs: int, hidden: int):
    """A core output (N x C x T sequence, N x DH state, N x DH x T Y) as the ONNX tensor of ``form``."""
    y = np.asarray(y)
    if form in ("TNC", "NTC"):
        labels = "NCT"
    elif "T" in form:
        y, labels = y.reshape(y.shape[0], dirs, hidden, y.shape[2]), "NDHT"
    else:
        y, labels = y.reshape(y.shape[0], dirs, hidden), "NDH"
    return np.ascontiguousarray(y.transpose([labels.index(ch) for ch in form]))
