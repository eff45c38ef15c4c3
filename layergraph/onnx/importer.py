"""ONNX model -> core network (a ``CoreNet``), written once for both dialects (issue 12).

``read_model(file)`` loads and checks a file (not ONNX, truncated, opset outside 9 to
onnx's current one, external data missing or outside the model's folder: one clear error
naming the file); ``import_model(model)`` maps its graph onto core layers and returns an
``Imported``: the CoreNet that MATLAB's importers (matlab/onnx_import.py) and Wolfram's
Import (wolfram/onnx_import.py) open as they open the other dialect's networks, plus what
the file said (opset, producer, arrays by initializer name).

Tensors, layouts, names:

* The first dimension of every activation is the batch; the rest is one example: ONNX
  (C,) is the core's features, (C, H, W) its images (internal layout N x C x H x W is
  ONNX's), (C, L) an image L x 1 (the node tests' rank-3 tensors). Weights need no
  permutation (conv F x C x FH x FW, transposed conv C x F x FH x FW, FC Out x In over the
  row-major (C, H, W) flatten with ``input_order='row-major'``); BatchNormalization's running
  variance is TrainedVariance with Epsilon inside the square root, as the core's; momentum m
  is MeanDecay 1 - m.
* Layer names come from the node names (or the first output's name for an unnamed node),
  made valid identifiers as MATLAB's matlab.lang.makeValidName does (invalid characters to
  '_', an 'x' in front of a name that does not start with a letter) and unique as
  matlab.lang.makeUniqueStrings does (a suffix _1, _2, ...).
* Folded patterns (never a layer of their own): constant subgraphs and shape arithmetic
  (``_fold.py``); Flatten / Reshape(N, -1) / Squeeze feeding Gemm or MatMul (the fully
  connected layer reads the image row-major); MatMul + Add of a constant (one fully
  connected layer); chains of Add / Sub / Mul / Div by constants (one scaling layer), and such
  a chain right after a network input becomes the input layer's normalization ('zerocenter'
  or 'zscore'); Pad before a Conv (its padding, zeros, 'replicate' for edge, 'symmetric-
  exclude-edge' for reflect) or before an AveragePool; Dropout and Identity at inference.
* Every node that cannot be mapped is collected: one ``OnnxImportError`` lists each with its
  node name, op type and the reason (what is allowed). Nothing is silently dropped.

Importing never runs code from the file: the graph is read as data (protobuf), constants are
folded by fixed numpy functions, and model-local functions are ops like any other (and not
supported).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from .. import layers as L
from ..core.errors import LayerGraphError
from ..core.exchange import CoreNet
from ..core.graph import Graph
from ..core.infer import analyze
from ..core.layer import Internal
from ..core.size import Size
from ._fold import BATCH, FOLDABLE, FoldError, attrs, fold
from ._values import _Act, _size, _Unsupported

MIN_OPSET = 9
_FLOATS = {1: np.float32, 10: np.float16, 11: np.float64}


def max_opset() -> int:
    import onnx.defs
    return onnx.defs.onnx_opset_version()


class OnnxImportError(LayerGraphError):
    """A file or model the importer cannot take; ``nodes`` lists (node name, op type, reason)
    for a model with ops that cannot be mapped."""

    def __init__(self, message: str, identifier: str = "layergraph:onnx:import", nodes=()):
        super().__init__(message, identifier)
        self.nodes = list(nodes)


# -- reading a file ------------------------------------------------------------------------------------------
def read_model(file):
    """The ModelProto of ``file`` (a path, bytes or a ModelProto), checked: one error naming the
    file for a file that is missing, not ONNX, truncated, of an unsupported opset or with external
    data that is missing."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(file, onnx.ModelProto):
        model, where, base = file, "the model", None
    else:
        if isinstance(file, (bytes, bytearray)):
            data, where, base = bytes(file), "the bytes given", None
        else:
            path = os.fspath(file)
            where, base = f"'{path}'", os.path.dirname(os.path.abspath(path))
            if not os.path.isfile(path):
                raise OnnxImportError(f"Unable to open {where}: no such file.", "layergraph:onnx:FileNotFound")
            with open(path, "rb") as f:
                data = f.read()
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except (DecodeError, ValueError, RuntimeError) as err:
            raise OnnxImportError(f"{where} is not an ONNX model or is truncated: it does not parse as an ONNX "
                                  f"ModelProto ({err}).", "layergraph:onnx:NotONNX") from None
        if not model.graph.node and not model.graph.output or model.ir_version == 0:
            raise OnnxImportError(f"{where} is not an ONNX model: it holds no graph (IR version "
                                  f"{model.ir_version}, {len(model.graph.node)} nodes).", "layergraph:onnx:NotONNX")
    _check_opset(model, where)
    _load_external(model, where, base)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid"
        raise OnnxImportError(f"{where} is not a valid ONNX model: {first}", "layergraph:onnx:Invalid") from None
    return model


def opset_of(model) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return 0


def _check_opset(model, where):
    v, top = opset_of(model), max_opset()
    if not MIN_OPSET <= v <= top:
        raise OnnxImportError(f"{where} uses ONNX opset {v}; the importer supports the default domain's opsets "
                              f"{MIN_OPSET} to {top}.", "layergraph:onnx:UnsupportedOpset")


def _load_external(model, where, base):
    from onnx import external_data_helper as ext

    tensors = [t for t in ext._get_all_tensors(model) if ext.uses_external_data(t)]
    if not tensors:
        return
    if base is None:
        raise OnnxImportError(f"{where} stores tensors in external files ({tensors[0].name!r}, ...); import it from "
                              "its file path so that they can be found next to it.", "layergraph:onnx:ExternalData")
    for t in tensors:
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        full = os.path.normpath(os.path.join(base, loc))
        if os.path.isabs(loc) or not full.startswith(base + os.sep):
            raise OnnxImportError(f"{where}: the external data of tensor {t.name!r} is at {loc!r}, outside the "
                                  "model's folder; only files in the model's folder are read.",
                                  "layergraph:onnx:ExternalData")
        if not os.path.isfile(full):
            raise OnnxImportError(f"{where}: the external data file {loc!r} of tensor {t.name!r} is missing (looked "
                                  f"for {full}).", "layergraph:onnx:ExternalDataMissing")
        length = int(info.get("length", -1) or -1)
        if length >= 0 and os.path.getsize(full) < int(info.get("offset", 0) or 0) + length:
            raise OnnxImportError(f"{where}: the external data file {loc!r} of tensor {t.name!r} is shorter than "
                                  "the tensor (truncated).", "layergraph:onnx:ExternalDataMissing")
    ext.load_external_data_for_model(model, base)


# -- names -------------------------------------------------------------------------------------------------
def valid_name(name: str) -> str:
    """matlab.lang.makeValidName: invalid characters to '_', a leading 'x' when the name does not
    start with a letter, at most 63 characters."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not s or not s[0].isalpha():
        s = "x" + s
    return s[:63]


class _Names:
    def __init__(self):
        self.taken: set[str] = set()

    def make(self, raw: str) -> str:
        base = valid_name(raw)
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


# -- values during import ----------------------------------------------------------------------------------
@dataclass
class _Flat:
    """A Flatten / Reshape(N, -1) of ``act``, not yet a layer (a Gemm reads the image itself)."""
    act: _Act
    node: object


@dataclass
class _Affine:
    """scale * act + bias by constants (per element of one example), not yet a layer."""
    act: _Act
    scale: np.ndarray
    bias: np.ndarray
    node: object
    exclusive: bool = False    # every tensor from act to here has one reader (the chain may fold into an input)


@dataclass
class _Linear:
    """MatMul by a constant (and an Add of a constant after it), not yet a layer."""
    src: object    # _Act or _Flat
    weights: np.ndarray   # Out x In
    bias: np.ndarray | None
    node: object


@dataclass
class _Padded:
    """A Pad of the height and width of ``act`` (t, l, b, r), for a Conv or AveragePool to take."""
    act: _Act
    pads: tuple[int, int, int, int]
    mode: str
    value: float
    node: object


@dataclass
class _HardSigmoid:
    """HardSigmoid of ``act``, not yet a layer: x * HardSigmoid(x; 1/6, 1/2) is hard swish (the
    exporters' hard swish before opset 14)."""
    act: _Act
    alpha: float
    beta: float
    node: object


@dataclass
class _Poison:
    """The output of a node that was not mapped (its consumers are not reported again)."""


_DEFERRED = (_Flat, _Affine, _Linear, _Padded, _HardSigmoid)


def _internal(shape) -> tuple:
    return tuple(shape) + ((1,) if len(shape) == 2 else ())


def _shape_of(size: Size, rank: int) -> tuple:
    if rank == 1:
        return (size.channels,)
    if rank == 2:
        return (size.channels, size.spatial[0])
    return (size.channels, *size.spatial)


@dataclass
class Imported:
    """What ``import_model`` gives: the core network and what the file says about itself."""
    net: CoreNet
    opset: int
    ir_version: int
    producer: str
    producer_version: str
    domain: str
    model_version: int
    doc: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    ops: list[str] = field(default_factory=list)
    normalized_inputs: dict[str, str] = field(default_factory=dict)
    placeholders: list[tuple[str, str, str]] = field(default_factory=list)   # (node, op, reason)
    input_shapes: dict[str, tuple] = field(default_factory=dict)    # input port -> ONNX example shape
    output_shapes: dict[str, tuple] = field(default_factory=dict)   # output port -> ONNX example shape
    # ports whose ONNX tensor is not batch first (_rnn_import.py): "TNC" / "NTC" sequences (core N x C x T),
    # "DNH" / "NDH" states (core N x DH), "TDNH" / "NTDH" / "TNDH" / ... an LSTM / GRU's Y (core N x DH x T)
    input_forms: dict[str, str] = field(default_factory=dict)
    output_forms: dict[str, tuple] = field(default_factory=dict)   # port -> (form, directions, hidden size)


def import_model(model, file: str = "the model", input_sizes: dict | None = None,
                 placeholders: bool = False) -> Imported:
    """The core network of a checked ModelProto (``read_model``). ``input_sizes``: {input name:
    example shape (C, H, W) or (C,)} for inputs whose dimensions the file leaves open (MATLAB's
    ImageInputSize). ``placeholders``: a node no layer computes becomes a PlaceholderLayer (its
    output sizes from ONNX's shape inference) instead of failing the import; one that cannot
    (unknown output shapes, no activation input) is still an error."""
    return _Importer(model, file, input_sizes or {}, placeholders).run()


def import_file(file, input_sizes: dict | None = None, placeholders: bool = False) -> Imported:
    where = f"'{os.fspath(file)}'" if isinstance(file, (str, os.PathLike)) else "the model"
    return import_model(read_model(file), where, input_sizes, placeholders)


class _Importer:
    handlers: dict = {}   # the op handlers (_HANDLERS, set below), for _rnn_import.py to reach

    def __init__(self, model, file, input_sizes, placeholders=False):
        self.model, self.file = model, file
        self.placeholders = placeholders
        self.made_placeholders: list[tuple[str, str, str]] = []
        self.shapes = _inferred_shapes(model) if placeholders else {}
        self.opset = opset_of(model)
        self.g = Graph()
        self.names = _Names()
        self.vals: dict[str, object] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.problems: list[tuple[str, str, str]] = []
        self.input_sizes = input_sizes
        self.inputs: dict[str, str] = {}
        self.input_tensors: dict[str, str] = {}   # tensor -> input layer name
        self.normalized: dict[str, str] = {}
        self.consumers: dict[str, int] = {}
        self.made: dict[int, tuple] = {}
        self.core_sizes: dict[tuple[str, str], Size] = {}   # (layer, output) -> the size the core gives it
        self.input_shapes: dict[str, tuple] = {}
        self.output_shapes: dict[str, tuple] = {}
        for node in model.graph.node:
            for t in node.input:
                if t:
                    self.consumers[t] = self.consumers.get(t, 0) + 1
        for o in model.graph.output:
            self.consumers[o.name] = self.consumers.get(o.name, 0) + 1
        self.readers: dict[str, list] = {}   # tensor -> [(node, input index)]
        for node in model.graph.node:
            for i, t in enumerate(node.input):
                if t:
                    self.readers.setdefault(t, []).append((node, i))
        self.input_forms: dict[str, str] = {}
        self.output_forms: dict[str, tuple] = {}

    # -- the pass ------------------------------------------------------------------------------------------
    def run(self) -> Imported:
        from onnx import numpy_helper
        graph = self.model.graph
        arrays = {}
        for t in graph.initializer:
            arrays[t.name] = self.consts[t.name] = numpy_helper.to_array(t)
        for vi in graph.input:
            if vi.name not in self.consts:
                self._input(vi)
        for node in graph.node:
            self._node(node)
        outputs = {}
        for vi in graph.output:
            v = self.vals.get(vi.name)
            if isinstance(v, _Poison):
                continue
            if v is None:
                reason = "a constant" if vi.name in self.consts else "not computed by any node"
                self.problems.append((vi.name, "(graph output)", f"the output {vi.name!r} is {reason}; an output "
                                      "must be computed from the network's inputs"))
                continue
            port = valid_name(vi.name)
            if isinstance(v, (_rnn.RnnY, _rnn.RnnState)):   # an LSTM / GRU's Y, Y_h or Y_c as it is
                outputs[port] = v.ref
                self.output_shapes[port] = (v.dirs * v.hidden,)
                self.output_forms[port] = (v.form, v.dirs, v.hidden)
                continue
            try:
                act = self._act(v)
            except _Unsupported as err:
                self.problems.append((vi.name, "(graph output)", str(err)))
                continue
            outputs[port] = act.ref
            self.output_shapes[port] = act.shape
            if act.seq:
                self.output_forms[port] = (act.seq, 1, act.shape[0])
        if self.problems:
            self._fail()
        if not outputs:
            raise OnnxImportError(f"{self.file} has no outputs computed from its inputs.", "layergraph:onnx:NoOutputs")
        errors = analyze(self.g).errors
        if errors:
            text = "; ".join(str(i) for i in errors[:10])
            raise OnnxImportError(f"{self.file}: the imported layers do not fit together: {text}",
                                  "layergraph:onnx:Invalid")
        net = CoreNet(self.g, dict(self.inputs), outputs)
        ops = sorted({n.op_type for n in graph.node})
        m = self.model
        return Imported(net, self.opset, m.ir_version, m.producer_name, m.producer_version, m.domain,
                        m.model_version, m.doc_string, arrays, ops, dict(self.normalized), self.made_placeholders,
                        dict(self.input_shapes),
                        dict(self.output_shapes), dict(self.input_forms), dict(self.output_forms))

    def _fail(self):
        rows = "\n".join(f"  {op[1:-1]} '{n}': {why}" if op.startswith("(") else f"  node '{n}' ({op}): {why}"
                         for n, op, why in self.problems)
        ops = sorted({op for _, op, _ in self.problems})
        raise OnnxImportError(
            f"Unable to import {self.file}: {len(self.problems)} node(s) cannot be mapped to layers "
            f"(op types: {', '.join(ops)}).\n{rows}\nSupported ops: {', '.join(sorted(SUPPORTED))} "
            f"(opsets {MIN_OPSET} to {max_opset()}); docs/onnx_ops.md lists what each takes.",
            "layergraph:onnx:UnsupportedOperator", self.problems)

    # -- inputs --------------------------------------------------------------------------------------------
    def _input(self, vi):
        tt = vi.type.tensor_type
        name = vi.name
        if _emb.is_index_input(self, vi):   # integer indices of an embedding (PyTorch's nn.Embedding)
            lname = self.names.make(name)
            try:
                layer, value, shape, form = _emb.index_input(self, vi, lname)
            except _Unsupported as err:
                self.problems.append((name, "(graph input)", str(err)))
                self.vals[name] = _Poison()
                return
            self.g._add(layer)
            self.inputs[valid_name(name)] = lname
            self.input_shapes[valid_name(name)] = shape
            self.input_forms[valid_name(name)] = form
            self.vals[name] = value
            return
        role = _rnn.input_role(self, name)
        if role == "lens":   # each sequence's length is the data's own (_rnn_import.py)
            self.vals[name] = _rnn.SeqLens()
            return
        if role is not None and tt.elem_type in _FLOATS:
            lname = self.names.make(name)
            try:
                layer, value, shape = _rnn.sequence_input(self, vi, role, lname)
            except _Unsupported as err:
                self.problems.append((name, "(graph input)", str(err)))
                self.vals[name] = _Poison()
                return
            self.g._add(layer)
            self.inputs[valid_name(name)] = lname
            self.input_shapes[valid_name(name)] = shape
            self.input_forms[valid_name(name)] = "DNH" if role == "state" else role
            if role != "state":
                self.input_tensors[name] = lname
            self.vals[name] = value
            return
        if not vi.type.HasField("tensor_type") or tt.elem_type not in _FLOATS:
            self.problems.append((name, "(graph input)", f"the input {name!r} is not a float tensor (element type "
                                  f"{tt.elem_type}); inputs must be float32, float16 or float64"))
            self.vals[name] = _Poison()
            return
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if not tt.HasField("shape") or len(dims) < 2:
            self.problems.append((name, "(graph input)", f"the input {name!r} has rank {len(dims)}; inputs have a "
                                  "batch dimension and a channel dimension at least (N x C, N x C x L, N x C x H x W)"))
            self.vals[name] = _Poison()
            return
        example = dims[1:]
        if name in self.input_sizes:
            fixed = tuple(int(v) for v in self.input_sizes[name])
            if len(fixed) != len(example) or any(a is not None and a != b for a, b in zip(example, fixed)):
                raise OnnxImportError(f"{self.file}: the input size {fixed} given for {name!r} does not fit its shape "
                                      f"(N, {', '.join('?' if d is None else str(d) for d in example)}).",
                                      "layergraph:onnx:InputSize")
            example = list(fixed)
        if any(d is None or d <= 0 for d in example):
            shown = ", ".join(d.dim_param or "?" if not d.HasField("dim_value") else str(d.dim_value)
                              for d in tt.shape.dim[1:])
            raise OnnxImportError(
                f"{self.file}: the input {name!r} has dynamic dimensions (N, {shown}) that the importer cannot fix; "
                "only the batch dimension may be dynamic. Give the input's size (MATLAB: 'ImageInputSize', "
                "[H W] or [H W C]; the core importer: input_sizes={name: (C, H, W)}).", "layergraph:onnx:DynamicShape")
        example = tuple(example)
        lname = self.names.make(name)
        if len(example) == 1:
            layer = L.FeatureInputLayer(Name=lname, InputSize=example[0], Normalization="none")
        elif len(example) == 3:
            layer = L.ImageInputLayer(Name=lname, InputSize=(example[1], example[2], example[0]),
                                      Normalization="none")
        elif len(example) == 2:
            layer = L.ImageInputLayer(Name=lname, InputSize=(example[1], 1, example[0]), Normalization="none")
        else:
            self.problems.append((name, "(graph input)", f"the input {name!r} has rank {len(example) + 1}; inputs "
                                  "are N x C, N x C x L or N x C x H x W"))
            self.vals[name] = _Poison()
            return
        self.g._add(layer)
        self.inputs[valid_name(name)] = lname
        self.input_shapes[valid_name(name)] = example
        self.input_tensors[name] = lname
        self.vals[name] = _Act((lname, "out"), example, name)

    # -- nodes ---------------------------------------------------------------------------------------------
    def _node(self, node):
        op = node.op_type
        label = node.name or (node.output[0] if node.output else op)
        ins = [None if t == "" else self.vals.get(t, self.consts.get(t)) for t in node.input]
        if any(isinstance(v, _Poison) for v in ins):
            self._poison(node)
            return
        missing = [t for t, v in zip(node.input, ins) if t and v is None]
        if missing:
            self.problems.append((label, op, f"its input {missing[0]!r} is not computed by any node before it"))
            self._poison(node)
            return
        try:
            if node.domain not in ("", "ai.onnx"):
                raise _Unsupported(f"the op is in the domain {node.domain!r}; only the default ONNX domain is "
                                   "supported")
            if op in ("ConstantOfShape", "Expand") and _rnn._has_batch(self, node, ins):   # an initial state
                self._store(node, label, op, _rnn._batch_const(self, node, ins, attrs(node)))
                return
            if all(v is None or isinstance(v, np.ndarray) for v in ins) and op in FOLDABLE:
                try:
                    outs = fold(op, node, ins, self.opset)
                except FoldError as err:
                    raise _Unsupported(f"it computes on constants that cannot be folded: {err}") from None
                for t, v in zip(node.output, outs):
                    if t:
                        self.consts[t] = np.asarray(v)
                return
            if op == "Cast" or any(isinstance(v, _emb.Indices) for v in ins):   # embedding indices
                outs = _emb.index_op(self, node, label, ins, attrs(node))
                if outs is not NotImplemented:
                    self._store(node, label, op, outs)
                    return
            if any(isinstance(v, _rnn.DEFERRED) or _rnn.seq_of(v) for v in ins) or \
                    op in ("Unsqueeze", "ConstantOfShape", "Expand"):
                outs = _rnn.shape_op(self, node, label, ins, attrs(node))
                if outs is not NotImplemented:
                    self._store(node, label, op, outs)
                    return
            handler = _HANDLERS.get(op)
            if handler is None:
                raise _Unsupported("no layer computes this op" if op not in _NOTES else _NOTES[op])
            outs = handler(self, node, label, ins, attrs(node))
        except _Unsupported as err:
            self._unmapped(node, label, op, ins, str(err))
            return
        except LayerGraphError as err:
            self._unmapped(node, label, op, ins, f"its attributes give no valid layer: {err}")
            return
        self._store(node, label, op, outs)

    def _store(self, node, label, op, outs):
        outs = outs if isinstance(outs, list) else [outs]
        for t, v in zip(node.output, outs):
            if t and v is not None:
                if isinstance(v, np.ndarray):
                    self.consts[t] = v
                else:
                    self.vals[t] = v
        for t in node.output[len(outs):]:
            if t and self.consumers.get(t):
                self.problems.append((label, op, f"its output {t!r} (output {list(node.output).index(t) + 1}) is "
                                      "used, and no layer computes it"))
                self._poison(node)

    def _unmapped(self, node, label, op, ins, reason):
        """A node no layer computes: a placeholder layer where asked and possible, else a problem."""
        if self.placeholders:
            try:
                acts = [self._act(v) for v in ins if v is not None and not isinstance(v, np.ndarray)]
                outs = [t for t in node.output if t]
                shapes = [self.shapes.get(t) for t in outs]
                if not acts:
                    raise _Unsupported("it has no activation input")
                if any(sh is None for sh in shapes):
                    raise _Unsupported("ONNX's shape inference does not fix its output shapes")
                name = self.names.make(label)
                layer = L.PlaceholderLayer(Name=name, ONNXOperator=op, ONNXNode=label, Reason=reason,
                                           num_inputs=len(acts), OutputShapes=shapes)
                self.g._add(layer)
                for a, port in zip(acts, layer.InputNames):
                    self.g._connect(a.ref[0], a.ref[1], name, port)
                for t, port, shape in zip(outs, layer.OutputNames, shapes):
                    self.vals[t] = _Act((name, port), shape)
                self.made_placeholders.append((label, op, reason))
                return
            except (_Unsupported, LayerGraphError) as err:
                reason = f"{reason} (and no placeholder layer: {err})"
        self.problems.append((label, op, reason))
        self._poison(node)

    def declared_batch(self):
        """The batch size the file fixes for its first input (None: dynamic)."""
        for vi in self.model.graph.input:
            if vi.name in self.input_tensors:
                d = vi.type.tensor_type.shape.dim[0]
                return d.dim_value if d.HasField("dim_value") else None
        return None

    def _poison(self, node):
        for t in node.output:
            if t:
                self.vals[t] = _Poison()

    # -- adding layers --------------------------------------------------------------------------------------
    def _add(self, layer_cls, label, inputs: list, rank: int | None = None, **props) -> _Act:
        acts = [self._act(v) for v in inputs]
        name = self.names.make(label)
        layer = layer_cls(Name=name, **props)
        _, outs = layer.infer([_size(a.shape).with_time() if a.seq else _size(a.shape) for a in acts])
        self.g._add(layer)
        for a, port in zip(acts, layer.InputNames):
            self.g._connect(a.ref[0], a.ref[1], name, port)
        rank = len(acts[0].shape) if rank is None else rank
        self.core_sizes[(name, layer.OutputNames[0])] = outs[0]
        if outs[0].is_sequence:   # a sequence stays in the ONNX layout of the input's
            if outs[0].is_image:
                raise _Unsupported("a sequence of images")
            return _Act((name, layer.OutputNames[0]), (outs[0].channels,), seq=next(a.seq for a in acts if a.seq))
        return _Act((name, layer.OutputNames[0]), _shape_of(outs[0], rank))

    def _act(self, v) -> _Act:
        """A value as an activation, making the layers a deferred pattern stands for (once)."""
        if isinstance(v, _Act):
            return v
        if isinstance(v, np.ndarray):
            raise _Unsupported("a constant is used where an activation is needed")
        made = self.made.get(id(v))
        if made is None:
            made = (v, self._make(v))
            self.made[id(v)] = made
        return made[1]

    def _make(self, v) -> _Act:
        if isinstance(v, _Flat):
            src = v.act
            if len(src.shape) == 1:
                return src
            n = int(np.prod(src.shape))
            label = v.node.name or v.node.output[0]
            act = self._add(L.ArrayReshapeLayer, label, [src], rank=1, OutputSize=Size((), n))
            return act
        if isinstance(v, _Affine):
            return self._affine_layer(v)
        if isinstance(v, _Linear):
            return self._linear_layer(v)
        if isinstance(v, _HardSigmoid):
            return self._add(L.HardSigmoidLayer, v.node.name or v.node.output[0], [v.act], Alpha=v.alpha,
                             Beta=v.beta)
        if isinstance(v, _Padded):
            raise _Unsupported(f"Pad (node '{v.node.name or v.node.output[0]}') is imported only before a Conv or an "
                               "AveragePool, which take its padding")
        if isinstance(v, _rnn.DEFERRED):
            raise _Unsupported(f"an LSTM / GRU's output or state of form {getattr(v, 'form', '?')} (with its direction "
                               "axis), or a constant over the batch, is used where an activation is needed")
        raise _Unsupported("the value cannot be an activation")

    def _affine_layer(self, v: _Affine) -> _Act:
        src = v.act
        label = v.node.name or v.node.output[0]
        lname = self.input_tensors.get(src.tensor)
        shape = _internal(src.shape)
        scale = np.broadcast_to(v.scale, shape)
        bias = np.broadcast_to(v.bias, shape)
        flat_s, flat_b = scale.reshape(shape[0], -1), bias.reshape(shape[0], -1)
        per_channel = np.all(flat_s == flat_s[:, :1]) and np.all(flat_b == flat_b[:, :1])
        if (lname is not None and v.exclusive and src.tensor not in self.normalized and np.all(scale > 0)
                and per_channel and len(src.shape) in (1, 3)):
            # (x - Mean) / StandardDeviation right after the input: the input layer's normalization
            layer = self.g.layer(lname)
            stat = (shape[0],) if len(src.shape) == 1 else (shape[0], 1, 1)
            s, b = flat_s[:, 0].reshape(stat), flat_b[:, 0].reshape(stat)
            mean = np.ascontiguousarray(-b / s, dtype=np.float32)
            kw = {k: getattr(layer, k) for k in ("Name", "InputSize")}
            if np.all(s == 1):
                new = type(layer)(**kw, Normalization="zerocenter", Mean=Internal(mean))
            else:
                new = type(layer)(**kw, Normalization="zscore", Mean=Internal(mean),
                                  StandardDeviation=Internal(np.ascontiguousarray(1 / s, dtype=np.float32)))
            self.normalized[src.tensor] = new.Normalization
            self.g._set_layer(lname, new)
            return src
        s = v.scale if v.scale.size > 1 and not np.all(v.scale == v.scale.ravel()[0]) else v.scale.ravel()[0]
        b = v.bias if v.bias.size > 1 and not np.all(v.bias == v.bias.ravel()[0]) else v.bias.ravel()[0]
        return self._add(L.ScalingLayer, label, [src], Scale=np.asarray(s), Bias=np.asarray(b))

    def _linear_layer(self, v: _Linear) -> _Act:
        src = v.src.act if isinstance(v.src, _Flat) else self._act(v.src)
        label = v.node.name or v.node.output[0]
        n_in = int(np.prod(src.shape))
        out, k = v.weights.shape
        if k != n_in:
            raise _Unsupported(f"the weights take {k} inputs; the input has {n_in} ({'x'.join(map(str, src.shape))})")
        if len(src.shape) != 1 and not isinstance(v.src, _Flat):
            raise _Unsupported(f"the input has shape (N, {', '.join(map(str, src.shape))}); a fully connected layer "
                               "takes N x C data (after a Flatten)")
        bias = np.zeros(out, np.float32) if v.bias is None else v.bias
        size = _size(src.shape)
        props = dict(OutputSize=out, Weights=Internal(np.ascontiguousarray(v.weights, dtype=np.float32)),
                     Bias=Internal(np.ascontiguousarray(bias, dtype=np.float32)), input_order="row-major")
        if size.is_image:
            props["input_dims"] = size.dims
        return self._add(L.FullyConnectedLayer, label, [src], rank=1, **props)

    # -- helpers for handlers --------------------------------------------------------------------------------
    def const(self, ins, i, what):
        v = ins[i] if i < len(ins) else None
        if v is None:
            return None
        if not isinstance(v, np.ndarray):
            raise _Unsupported(f"its {what} (input {i + 1}) must be a constant (an initializer or computed from "
                               "constants); here it is computed from the network's input")
        return v

    def data(self, ins, i=0) -> object:
        v = ins[i]
        if isinstance(v, np.ndarray):
            raise _Unsupported(f"input {i + 1} is a constant; the op computes on an activation")
        return v

    def image(self, ins, what) -> _Act:
        act = self._act(self.data(ins))
        if len(act.shape) != 3:
            raise _Unsupported(f"only 2-D {what} is supported (input N x C x H x W); this input has shape "
                               f"(N, {', '.join(map(str, act.shape))})")
        return act

    def axis(self, a, rank_full):
        if not -rank_full <= a < rank_full:
            raise _Unsupported(f"axis {a} is out of range for rank {rank_full}")
        return a % rank_full


def _inferred_shapes(model) -> dict:
    """{tensor: example shape} from ONNX's shape inference (C++; runs nothing from the file), for
    the tensors whose dimensions after the batch are all known."""
    import onnx
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:   # noqa: BLE001 - inference is a help here; without it there are no placeholders
        return {}
    out = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        ex = [d.dim_value if d.HasField("dim_value") else None for d in dims][1:]
        if 1 <= len(ex) <= 3 and all(d is not None and d > 0 for d in ex):
            out[vi.name] = tuple(ex)
    return out


# -- op handlers -------------------------------------------------------------------------------------------
def _pads2d(a, in_hw, k, s, d, what):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(2):
            o = -(-in_hw[i] // s[i])
            total = max((o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i], 0)
            small = total // 2
            out.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return out[0][0], out[1][0], out[0][1], out[1][1]
    if auto == "VALID":
        return 0, 0, 0, 0
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4:
        raise _Unsupported(f"pads {pads} are not those of a 2-D {what}")
    return tuple(int(p) for p in pads)    # t, l, b, r


def _matlab_pads(p):
    t, left, b, r = p
    return (t, b, left, r)


def _check_2(a, key, default, what):
    v = list(a.get(key, default))
    if len(v) != 2:
        raise _Unsupported(f"{key} {v} are not those of a 2-D {what}")
    return tuple(int(x) for x in v)


def _conv(im: _Importer, node, label, ins, a):
    src = ins[0]
    extra, pad_value = (0, 0, 0, 0), 0.0
    if isinstance(src, _Padded):
        extra = src.pads
        pad_value = {"constant": src.value, "edge": "replicate", "reflect": "symmetric-exclude-edge"}.get(src.mode)
        if pad_value is None:
            raise _Unsupported(f"the Pad before it has mode {src.mode!r}; a convolution pads with a constant, "
                               "'edge' (replicate) or 'reflect' (symmetric-exclude-edge)")
        src = src.act
        ins = [src] + list(ins[1:])
    x = im.image(ins, "convolution")
    w = im.const(ins, 1, "weights")
    b = im.const(ins, 2, "bias")
    if w is None or w.ndim != 4:
        raise _Unsupported("only 2-D convolution (4-D weights) is supported")
    group = int(a.get("group", 1))
    o, cg, kh, kw = w.shape
    c = x.shape[0]
    if cg * group != c:
        raise _Unsupported(f"the weights take {cg * group} channels; the input has {c}")
    k = _check_2(a, "kernel_shape", (kh, kw), "convolution")
    if k != (kh, kw):
        raise _Unsupported(f"kernel_shape {k} disagrees with the weights' {kh}x{kw}")
    s = _check_2(a, "strides", (1, 1), "convolution")
    d = _check_2(a, "dilations", (1, 1), "convolution")
    p = _pads2d(a, x.shape[1:], k, s, d, "convolution")
    if any(extra) and any(p) and pad_value != 0:
        raise _Unsupported("a Pad with a mode other than zeros before a convolution with its own padding")
    p = tuple(int(u + v) for u, v in zip(p, extra))
    bias = np.zeros(o, np.float32) if b is None else b.astype(np.float32)
    common = dict(FilterSize=(kh, kw), Stride=s, DilationFactor=d, PaddingSize=_matlab_pads(p),
                  PaddingValue=pad_value, Weights=Internal(np.ascontiguousarray(w, dtype=np.float32)))
    if group == 1:
        return im._add(L.Convolution2DLayer, label, [x], NumFilters=o, Bias=Internal(bias), **common)
    return im._add(L.GroupedConvolution2DLayer, label, [x], NumFiltersPerGroup=o // group, NumGroups=group,
                   Bias=Internal(bias), **common)


def _conv_transpose(im, node, label, ins, a):
    x = im.image(ins, "transposed convolution")
    w = im.const(ins, 1, "weights")
    b = im.const(ins, 2, "bias")
    if w is None or w.ndim != 4:
        raise _Unsupported("only 2-D transposed convolution (4-D weights) is supported")
    if int(a.get("group", 1)) != 1:
        raise _Unsupported(f"group {a.get('group')}: a transposed convolution layer has one group")
    c, o, kh, kw = w.shape
    s = _check_2(a, "strides", (1, 1), "transposed convolution")
    if _check_2(a, "dilations", (1, 1), "transposed convolution") != (1, 1):
        raise _Unsupported(f"dilations {list(a['dilations'])}: a transposed convolution layer has none")
    op = _check_2(a, "output_padding", (0, 0), "transposed convolution")
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    hw = x.shape[1:]
    full = [s[i] * (hw[i] - 1) + w.shape[2 + i] for i in range(2)]    # the layer's output before cropping
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        target = [int(v) for v in list(a.get("output_shape", [hw[0] * s[0], hw[1] * s[1]]))[-2:]]
        crops = []
        for i in range(2):
            total = full[i] + op[i] - target[i]       # ONNX's total padding
            begin = total // 2 if auto == "SAME_UPPER" else total - total // 2
            crops.append((begin, full[i] - begin - target[i]))
        t, bot, left, r = crops[0][0], crops[0][1], crops[1][0], crops[1][1]
    elif auto == "VALID":
        t, bot, left, r = 0, -op[0], 0, -op[1]
    else:
        t, left, bot, r = (int(v) for v in a.get("pads", [0, 0, 0, 0]))
        bot, r = bot - op[0], r - op[1]
    if min(t, bot, left, r) < 0:
        raise _Unsupported("the output extends past the full transposed convolution (output_padding or output_shape "
                           "beyond the padding): a transposed convolution layer crops, it does not pad")
    bias = np.zeros(o, np.float32) if b is None else b.astype(np.float32)
    return im._add(L.TransposedConvolution2DLayer, label, [x], FilterSize=(kh, kw), NumFilters=o, Stride=s,
                   CroppingSize=(t, bot, left, r), Weights=Internal(np.ascontiguousarray(w, dtype=np.float32)),
                   Bias=Internal(bias))


def _batchnorm(im, node, label, ins, a):
    x = im._act(im.data(ins))
    if a.get("training_mode", 0):
        raise _Unsupported("training_mode=1 computes batch statistics and running-statistic outputs; only "
                           "inference (training_mode=0) is imported")
    scale, bias, mean, var = (im.const(ins, i, w).astype(np.float32).ravel()
                              for i, w in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")))
    if a.get("spatial", 1) != 1:
        raise _Unsupported("spatial=0 (per-element statistics)")
    decay = 1.0 - float(a.get("momentum", 0.9))
    return im._add(L.BatchNormalizationLayer, label, [x], Epsilon=float(a.get("epsilon", 1e-5)),
                   Scale=Internal(scale), Offset=Internal(bias), TrainedMean=Internal(mean),
                   TrainedVariance=Internal(var), MeanDecay=decay, VarianceDecay=decay)


def _instancenorm(im, node, label, ins, a):
    x = im._act(im.data(ins))
    if len(x.shape) < 2:
        raise _Unsupported("instance normalization needs spatial dimensions (N x C x ...)")
    scale, bias = im.const(ins, 1, "scale"), im.const(ins, 2, "bias")
    return im._add(L.InstanceNormalizationLayer, label, [x], Epsilon=float(a.get("epsilon", 1e-5)),
                   Scale=Internal(scale.astype(np.float32)), Offset=Internal(bias.astype(np.float32)))


def _per_channel(arr, shape, what):
    """A (C,) array from an ONNX array over the example's axes that is constant except along C."""
    full = np.broadcast_to(arr, shape) if arr.ndim <= len(shape) else None
    if full is None:
        raise _Unsupported(f"{what} of shape {arr.shape} does not fit the normalized shape {shape}")
    flat = full.reshape(shape[0], -1)
    if not np.all(flat == flat[:, :1]):
        raise _Unsupported(f"{what} varies along the spatial dimensions; a layer normalization layer scales per "
                           "channel")
    return np.ascontiguousarray(flat[:, 0], dtype=np.float32)


def _layernorm(im, node, label, ins, a):
    x = im._act(im.data(ins))
    rank = len(x.shape) + 1
    axis = im.axis(int(a.get("axis", -1)), rank)
    if axis != 1:
        raise _Unsupported(f"axis {a.get('axis', -1)} normalizes over dimensions {axis} to {rank - 1}; a layer "
                           "normalization layer normalizes every dimension but the batch (axis 1)")
    if a.get("stash_type", 1) != 1:
        raise _Unsupported("stash_type other than float")
    scale = im.const(ins, 1, "scale")
    bias = im.const(ins, 2, "bias")
    bias = np.zeros(x.shape[0], np.float32) if bias is None else bias
    return im._add(L.LayerNormalizationLayer, label, [x], Epsilon=float(a.get("epsilon", 1e-5)),
                   Scale=Internal(_per_channel(scale, x.shape, "scale")),
                   Offset=Internal(_per_channel(bias, x.shape, "bias")))


def _groupnorm(im, node, label, ins, a):
    x = im._act(im.data(ins))
    g = int(a["num_groups"])
    c = x.shape[0]
    scale, bias = im.const(ins, 1, "scale").ravel(), im.const(ins, 2, "bias").ravel()
    if scale.size == g and g != c:     # opset 18: one scale per group
        scale, bias = np.repeat(scale, c // g), np.repeat(bias, c // g)
    if len(x.shape) < 2:
        raise _Unsupported("group normalization needs spatial dimensions (N x C x ...)")
    return im._add(L.GroupNormalizationLayer, label, [x], NumGroups=g, Epsilon=float(a.get("epsilon", 1e-5)),
                   Scale=Internal(scale.astype(np.float32)), Offset=Internal(bias.astype(np.float32)))


def _gemm(im, node, label, ins, a):
    src = im.data(ins)
    if a.get("transA", 0):
        raise _Unsupported("transA=1 transposes the batch into the features")
    bmat = im.const(ins, 1, "B (weights)")
    if bmat.ndim != 2:
        raise _Unsupported(f"B of shape {bmat.shape} is not a matrix")
    w = (bmat if a.get("transB", 0) else bmat.T) * float(a.get("alpha", 1.0))
    cvec = im.const(ins, 2, "C (bias)")
    out = w.shape[0]
    bias = None
    if cvec is not None:
        if cvec.size not in (1, out) or (cvec.ndim == 2 and cvec.shape[0] != 1):
            raise _Unsupported(f"C of shape {cvec.shape} is a bias per observation; a fully connected layer's bias "
                               f"is one vector of {out}")
        bias = np.broadcast_to(cvec.ravel(), (out,)) * float(a.get("beta", 1.0))
    return im._linear_layer(_Linear(src if isinstance(src, _Flat) else im._act(src), w, bias, node))


def _matmul(im, node, label, ins, a):
    src = im.data(ins)
    bmat = im.const(ins, 1, "second operand (weights)")
    if bmat.ndim != 2:
        raise _Unsupported(f"the second operand of shape {bmat.shape} is not a matrix")
    act = src.act if isinstance(src, _Flat) else im._act(src)
    if len(act.shape) != 1 and not isinstance(src, _Flat):
        raise _Unsupported(f"the first operand has shape (N, {', '.join(map(str, act.shape))}); MatMul is a fully "
                           "connected layer on N x K data")
    return _Linear(src if isinstance(src, _Flat) else act, np.ascontiguousarray(bmat.T), None, node)


def _activation(cls, **fixed):
    def handler(im, node, label, ins, a):
        props = {k: (float(a[key]) if key in a else default) for k, (key, default) in fixed.items()}
        return im._add(cls, label, [im.data(ins)], **props)
    return handler


def _softmax(im, node, label, ins, a):
    x = im._act(im.data(ins))
    rank = len(x.shape) + 1
    axis = im.axis(int(a.get("axis", -1 if im.opset >= 13 else 1)), rank)
    if im.opset < 13 and axis == rank - 1 and len(x.shape) > 1:
        # the last axis alone (what Softmax flattens from it on): a softmax over the channels between
        # two transposes (the exporters' Transpose, Softmax(last), Transpose form before opset 13)
        k = len(x.shape)
        pad = (2,) if k == 2 else ()
        first = im._add(L.ArrayTransposeLayer, f"{label}_last_first", [x], Perm=(k - 1, *range(k - 1), *pad))
        y = im._add(L.SoftmaxLayer, label, [first])
        return im._add(L.ArrayTransposeLayer, f"{label}_first_last", [y], Perm=(*range(1, k), 0, *pad))
    if im.opset < 13:
        if axis != 1 or (len(x.shape) > 1 and int(np.prod(x.shape[1:])) != 1):
            raise _Unsupported(f"opset {im.opset} Softmax with axis {a.get('axis', 1)} normalizes over the flattened "
                               "dimensions after it; a softmax layer normalizes over the channels (N x C data, or "
                               "images of 1x1)")
    elif axis != 1 and not (len(x.shape) == 1 and axis == rank - 1):
        raise _Unsupported(f"axis {a.get('axis', -1)} of a rank-{rank} tensor; a softmax layer normalizes over the "
                           "channels (axis 1)")
    return im._add(L.SoftmaxLayer, label, [x])


def _clip(im, node, label, ins, a):
    x = im.data(ins)
    if im.opset < 11:
        lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    else:
        lo = im.const(ins, 1, "min")
        hi = im.const(ins, 2, "max")
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
    if lo != 0:
        raise _Unsupported(f"min {lo:g}: only Clip with min 0 is a layer (clipped ReLU, or ReLU without a max)")
    if hi == np.inf:
        return im._add(L.ReLULayer, label, [x])
    if not hi > 0:
        raise _Unsupported(f"max {hi:g}: a clipped ReLU's ceiling is positive")
    return im._add(L.ClippedReLULayer, label, [x], Ceiling=float(hi))


def _example_const(im, c, act: _Act, what):
    """A constant that broadcasts against (N, *example) as one example's internal array."""
    full = (1,) + tuple(act.shape)
    if c.ndim > len(full):
        raise _Unsupported(f"the {what} of shape {c.shape} has more dimensions than the data")
    c = c.reshape((1,) * (len(full) - c.ndim) + c.shape)
    if c.shape[0] != 1:
        raise _Unsupported(f"the {what} of shape {c.shape} varies along the batch dimension")
    try:
        np.broadcast_shapes(c.shape, full)
        if np.broadcast_shapes(c.shape, full) != full:
            raise ValueError
    except ValueError:
        raise _Unsupported(f"the {what} of shape {c.shape} does not broadcast against the data (N, "
                           f"{', '.join(map(str, act.shape))})") from None
    e = c[0].astype(np.float64)
    return e.reshape(e.shape + ((1,) if len(act.shape) == 2 else ()))


def _hard_swish(im, x, y):
    """x * HardSigmoid(x; 1/6, 1/2), the HardSigmoid read by this Mul only: the activation x."""
    for a, b in ((x, y), (y, x)):
        if (isinstance(b, _HardSigmoid) and isinstance(a, _Act) and a.ref == b.act.ref
                and abs(b.alpha - 1 / 6) < 1e-6 and abs(b.beta - 0.5) < 1e-7
                and im.consumers.get(b.node.output[0]) == 1):
            return a
    return None


def _binary(kind):
    def handler(im, node, label, ins, a):
        x, y = ins[0], ins[1]
        xc, yc = isinstance(x, np.ndarray), isinstance(y, np.ndarray)
        if kind == "Mul" and (src := _hard_swish(im, x, y)) is not None:
            return im._add(L.HardSwishLayer, label, [src])
        if not xc and not yc:
            ax, ay = im._act(x), im._act(y)
            if len(ax.shape) != len(ay.shape):
                raise _Unsupported(f"operands of ranks {len(ax.shape) + 1} and {len(ay.shape) + 1}")
            if kind == "Add" and ax.shape == ay.shape:
                return im._add(L.AdditionLayer, label, [ax, ay], num_inputs=2)
            if kind == "Mul":
                return im._add(L.MultiplicationLayer, label, [ax, ay], num_inputs=2)
            fn = {"Add": "Plus", "Sub": "Subtract", "Div": "Divide"}[kind]
            return im._add(L.ThreadingFunctionLayer, label, [ax, ay], num_inputs=2, Function=fn)
        value, c = (y, x) if xc else (x, y)
        tensor = node.input[1 if xc else 0]
        exclusive = (value.exclusive if isinstance(value, _Affine) else True) and im.consumers.get(tensor) == 1
        if isinstance(value, _Affine) and im.consumers.get(tensor) == 1:   # compose: one scaling layer
            base, s0, b0 = value.act, value.scale, value.bias
        else:
            base = im._act(value)
            s0, b0 = np.ones(()), np.zeros(())
        if c.dtype.kind not in "f":
            raise _Unsupported(f"a constant of element type {c.dtype}")
        e = _example_const(im, c, base, "constant")
        if kind == "Add":
            s, b = s0, b0 + e
        elif kind == "Sub":
            s, b = (-s0, e - b0) if xc else (s0, b0 - e)
        elif kind == "Mul":
            s, b = s0 * e, b0 * e
        else:
            if xc:
                raise _Unsupported("a constant divided by an activation has no layer")
            if np.any(e == 0):
                raise _Unsupported("division by a constant with zeros")
            s, b = s0 / e, b0 / e
        return _Affine(base, np.asarray(s), np.asarray(b), node, exclusive)
    return handler


def _sum(im, node, label, ins, a):
    vals = [im._act(v) for v in ins]
    if any(isinstance(v, np.ndarray) for v in ins):
        raise _Unsupported("Sum of activations and constants")
    if len(vals) == 1:
        return vals[0]
    if any(v.shape != vals[0].shape for v in vals):
        raise _Unsupported("Sum of activations of different shapes (an addition layer adds equal sizes)")
    return im._add(L.AdditionLayer, label, vals, num_inputs=len(vals))


def _concat(im, node, label, ins, a):
    if any(isinstance(v, np.ndarray) for v in ins):
        raise _Unsupported("Concat of activations and constants")
    vals = [im._act(v) for v in ins]
    rank = len(vals[0].shape) + 1
    axis = im.axis(int(a["axis"]), rank)
    if axis == 0:
        raise _Unsupported("axis 0 concatenates along the batch")
    if len(vals) == 1:
        return vals[0]
    if axis == 1:
        return im._add(L.DepthConcatenationLayer, label, vals, num_inputs=len(vals))
    return im._add(L.ConcatenationLayer, label, vals, num_inputs=len(vals), Dim=axis - 1)


def _pool(kind):
    def handler(im, node, label, ins, a):
        src, extra = ins[0], (0, 0, 0, 0)
        if isinstance(src, _Padded):
            if kind != "AveragePool" or src.mode != "constant" or src.value != 0:
                raise _Unsupported("a Pad before max pooling, or a Pad other than zeros before average pooling")
            if any(a.get("pads", [0])) and not a.get("count_include_pad", 0):
                raise _Unsupported("a Pad before average pooling that excludes its own padding")
            extra, src = src.pads, src.act
            a = {**a, "count_include_pad": 1}
        x = im.image([src], f"{kind}")
        k = _check_2(a, "kernel_shape", (), kind)
        s = _check_2(a, "strides", (1, 1), kind)
        if _check_2(a, "dilations", (1, 1), kind) != (1, 1):
            raise _Unsupported(f"dilations {list(a['dilations'])}: pooling layers have no dilation")
        if a.get("storage_order", 0):
            raise _Unsupported("storage_order=1 (the indices output)")
        p = list(_pads2d(a, x.shape[1:], k, s, (1, 1), kind))
        p = [u + v for u, v in zip(p, extra)]
        include = bool(a.get("count_include_pad", 0))
        if a.get("ceil_mode", 0):
            for i in range(2):
                n = x.shape[1 + i] + p[i] + p[i + 2]
                o = -(-(n - k[i]) // s[i]) + 1
                if (o - 1) * s[i] >= x.shape[1 + i] + p[i]:
                    o -= 1
                more = max(0, (o - 1) * s[i] + k[i] - n)
                if more and kind == "AveragePool" and include:
                    raise _Unsupported("ceil_mode=1 with count_include_pad=1: the windows past the padding would "
                                       "count padded zeros")
                p[i + 2] += more
        mp = _matlab_pads(p)
        if kind == "MaxPool":
            return im._add(L.MaxPooling2DLayer, label, [x], PoolSize=k, Stride=s, PaddingSize=mp)
        return im._add(L.AveragePooling2DLayer, label, [x], PoolSize=k, Stride=s, PaddingSize=mp,
                       PaddingValue=0 if include else "mean")
    return handler


def _global(cls):
    def handler(im, node, label, ins, a):
        x = im.image(ins, "global pooling")
        return im._add(cls, label, [x])
    return handler


def _reduce(cls):
    """ReduceMean / ReduceMax over the height and width: global average / max pooling."""
    def handler(im, node, label, ins, a):
        x = im.image(ins, "global pooling")
        if im.opset >= 18 and len(ins) > 1 and ins[1] is not None:
            axes = [int(v) for v in im.const(ins, 1, "axes").ravel()]
        else:
            axes = list(a.get("axes", []))
        if sorted(ax % 4 for ax in axes) != [2, 3]:
            raise _Unsupported(f"axes {axes or 'all'}; only the reduction over the height and width (axes 2 and 3) is "
                               "a layer (global pooling)")
        act = im._add(cls, label, [x])
        if a.get("keepdims", 1):
            return act
        return _Flat(act, node)
    return handler


def _flatten(im, node, label, ins, a):
    x = im.data(ins)
    act = x.act if isinstance(x, _Flat) else im._act(x)
    rank = len(act.shape) + 1
    axis = im.axis(int(a.get("axis", 1)), rank)
    if axis != 1:
        raise _Unsupported(f"axis {a.get('axis')} flattens the batch with other dimensions; only axis 1 keeps the "
                           "batch")
    return _Flat(act, node)


def _reshape_to(im, node, label, act: _Act, target: list, what):
    n = int(np.prod(act.shape))
    if int(np.prod(target)) != n:
        raise _Unsupported(f"{what} to (N, {', '.join(map(str, target))}) from (N, {', '.join(map(str, act.shape))})")
    target = tuple(int(t) for t in target)
    if target == act.shape:
        return act
    core = im.core_sizes.get(act.ref)
    if core is not None and all(d == 1 for d in core.spatial) and target in ((core.channels,), core.internal):
        # a fully connected layer's output is 1 x 1 x C in the core (C in ONNX): the reshapes between
        # the two forms (our exporter's after a Gemm and before an output) need no layer
        return _Act(act.ref, target, act.tensor)
    if len(target) == 1:
        return _Flat(act, node)
    return im._add(L.ArrayReshapeLayer, label, [act], rank=len(target), OutputSize=_size(target))


def _reshape(im, node, label, ins, a):
    x = im.data(ins)
    act = x.act if isinstance(x, _Flat) else im._act(x)
    shape = [int(v) for v in im.const(ins, 1, "shape").ravel()]
    allowzero = a.get("allowzero", 0)
    if not shape:
        raise _Unsupported("a reshape to a scalar")
    first, rest = shape[0], shape[1:]
    rest = [act.shape[i] if (v == 0 and not allowzero and i < len(act.shape)) else v for i, v in enumerate(rest)]
    if any(v == BATCH for v in rest):
        raise _Unsupported("the target shape uses the batch size in a dimension other than the first")
    n = int(np.prod(act.shape))
    if rest.count(-1) > 1 or any(v < -1 for v in rest):
        raise _Unsupported(f"the target shape {shape} is not a valid reshape")
    if -1 in rest:
        known = int(np.prod([v for v in rest if v != -1]))
        if known == 0 or n % known:
            raise _Unsupported(f"the target shape {shape} does not fit {n} elements per observation")
        rest[rest.index(-1)] = n // known
    batch_kept = first == BATCH or (first == 0 and not allowzero) or (first == -1 and int(np.prod(rest)) == n)
    batch_kept = batch_kept or (first > 0 and int(np.prod(rest)) == n and first == im.declared_batch())
    if not batch_kept:
        raise _Unsupported(f"the target shape {[('N' if v == BATCH else v) for v in shape]} changes the batch "
                           "dimension; a reshape layer keeps it")
    return _reshape_to(im, node, label, act, rest, "a reshape")


def _squeeze_unsqueeze(kind):
    def handler(im, node, label, ins, a):
        x = im.data(ins)
        act = x.act if isinstance(x, _Flat) else im._act(x)
        if im.opset >= 13 and len(ins) > 1 and ins[1] is not None:
            axes = [int(v) for v in im.const(ins, 1, "axes").ravel()]
        else:
            axes = list(a.get("axes", []))
        full = [-1] + list(act.shape)
        if kind == "Squeeze":
            axes = [ax % len(full) for ax in axes] if axes else [i for i, d in enumerate(full) if d == 1]
            if 0 in axes:
                raise _Unsupported("it squeezes the batch dimension")
            if any(full[ax] != 1 for ax in axes):
                raise _Unsupported(f"axes {axes} are not of size 1")
            out = [d for i, d in enumerate(full) if i not in axes]
        else:
            rank = len(full) + len(axes)
            axes = sorted(ax % rank for ax in axes)
            if 0 in axes:
                raise _Unsupported("it inserts a dimension before the batch")
            out = full
            for ax in axes:
                out = out[:ax] + [1] + out[ax:]
        return _reshape_to(im, node, label, act, out[1:], kind)
    return handler


def _transpose(im, node, label, ins, a):
    act = im._act(im.data(ins))
    rank = len(act.shape) + 1
    perm = list(a.get("perm", list(range(rank))[::-1]))
    if perm[0] != 0:
        raise _Unsupported(f"perm {perm} moves the batch dimension")
    q = [p - 1 for p in perm[1:]]
    if q == sorted(q):
        return act
    if len(act.shape) == 2:
        q = q + [2]
    return im._add(L.ArrayTransposeLayer, label, [act], Perm=tuple(q))


def _dropout(im, node, label, ins, a):
    x = im.data(ins)
    if im.opset >= 12:
        ratio = im.const(ins, 1, "ratio")
        ratio = 0.5 if ratio is None else float(ratio)
        mode = im.const(ins, 2, "training_mode")
        if mode is not None and bool(mode):
            raise _Unsupported("training_mode=true drops at inference")
    else:
        ratio = float(a.get("ratio", 0.5))
    if len(node.output) > 1 and node.output[1] and im.consumers.get(node.output[1]):
        raise _Unsupported("its mask output is used")
    return im._add(L.DropoutLayer, label, [x], Probability=ratio)


def _identity(im, node, label, ins, a):
    return im.data(ins)


def _pad(im, node, label, ins, a):
    act = im._act(im.data(ins))
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if im.opset >= 11:
        pads = [int(v) for v in im.const(ins, 1, "pads").ravel()]
        value = im.const(ins, 2, "constant value")
        value = 0.0 if value is None else float(np.asarray(value).ravel()[0])
        axes = im.const(ins, 3, "axes")
    else:
        pads, value, axes = list(a["pads"]), float(a.get("value", 0.0)), None
    rank = len(act.shape) + 1
    axes = list(range(rank)) if axes is None else [int(v) % rank for v in axes.ravel()]
    n = len(axes)
    begin = dict(zip(axes, pads[:n]))
    end = dict(zip(axes, pads[n:]))
    if rank != 4 or any(begin.get(i, 0) or end.get(i, 0) for i in (0, 1)):
        raise _Unsupported("only padding of the height and width of N x C x H x W data is imported")
    if any(v < 0 for v in pads):
        raise _Unsupported("negative pads (cropping)")
    return _Padded(act, (begin.get(2, 0), begin.get(3, 0), end.get(2, 0), end.get(3, 0)), mode, value, node)


def _resize(im, node, label, ins, a):
    op = node.op_type
    x = im.image(ins, "resizing")
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if op == "Upsample" or im.opset == 10:
        scales = im.const(ins, 1, "scales")
        sizes, coord, nearest = None, "asymmetric", "floor"
    else:
        scales = im.const(ins, 2, "scales") if len(ins) > 2 else None
        sizes = im.const(ins, 3, "sizes") if len(ins) > 3 else None
        coord = a.get("coordinate_transformation_mode", b"half_pixel")
        coord = coord.decode() if isinstance(coord, bytes) else coord
        nearest = a.get("nearest_mode", b"round_prefer_floor")
        nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
        if a.get("antialias", 0):
            raise _Unsupported("antialias=1: a resize layer does not filter before it downsamples")
        policy = a.get("keep_aspect_ratio_policy", b"stretch")
        if (policy.decode() if isinstance(policy, bytes) else policy) != "stretch":
            raise _Unsupported(f"keep_aspect_ratio_policy {policy!r}")
    if scales is not None and scales.size == 0:
        scales = None
    axes = [int(v) % 4 for v in a.get("axes", [0, 1, 2, 3])]
    if mode not in ("nearest", "linear", "bilinear"):
        raise _Unsupported(f"mode {mode!r}; a resize layer is 'nearest' or 'bilinear'")
    coords = {"half_pixel": "half-pixel", "asymmetric": "asymmetric", "align_corners": "align-corners",
              "pytorch_half_pixel": "pytorch-half-pixel"}
    if coord not in coords:
        raise _Unsupported(f"coordinate_transformation_mode {coord!r}; allowed: {', '.join(coords)}")
    rounding = {"round_prefer_floor": "round-prefer-floor", "round_prefer_ceil": "round", "floor": "floor",
                "ceil": "ceil"}
    if mode == "nearest" and nearest not in rounding:
        raise _Unsupported(f"nearest_mode {nearest!r}")
    props = dict(Method="nearest" if mode == "nearest" else "bilinear", GeometricTransformMode=coords[coord],
                 NearestRoundingMode=rounding.get(nearest, "round"))
    if sizes is not None:
        sz = dict(zip(axes, [int(v) for v in sizes.ravel()]))
        if sz.get(1, x.shape[0]) != x.shape[0]:   # axis 0 is the batch, whatever the file says
            raise _Unsupported(f"sizes {list(sizes)} resize the batch or the channels")
        props["OutputSize"] = (sz.get(2, x.shape[1]), sz.get(3, x.shape[2]))
    elif scales is not None:
        sc = dict(zip(axes, [float(v) for v in scales.ravel()]))
        if sc.get(0, 1.0) != 1 or sc.get(1, 1.0) != 1:
            raise _Unsupported(f"scales {list(scales)} resize the batch or the channels")
        props["Scale"] = (sc.get(2, 1.0), sc.get(3, 1.0))
    else:
        raise _Unsupported("neither scales nor sizes are given")
    return im._add(L.Resize2DLayer, label, [x], **props)


def _shape(im, node, label, ins, a):
    v = ins[0]
    act = v.act if isinstance(v, (_Flat, _Affine, _Padded)) else None
    if isinstance(v, _Act):
        act = v
    if act is None:
        act = im._act(v)
    shape = np.array([BATCH] + list(act.shape), dtype=np.int64)
    if isinstance(v, _Flat):
        shape = np.array([BATCH, int(np.prod(act.shape))], dtype=np.int64)
    if isinstance(v, _Padded):
        raise _Unsupported("Shape of a Pad")
    start, end = a.get("start", 0), a.get("end", None)
    return shape[start:end]



_HANDLERS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "BatchNormalization": _batchnorm,
    "InstanceNormalization": _instancenorm, "LayerNormalization": _layernorm, "GroupNormalization": _groupnorm,
    "Gemm": _gemm, "MatMul": _matmul,
    "Relu": _activation(L.ReLULayer), "LeakyRelu": _activation(L.LeakyReLULayer, Scale=("alpha", 0.01)),
    "Elu": _activation(L.ELULayer, Alpha=("alpha", 1.0)), "Sigmoid": _activation(L.SigmoidLayer),
    "Tanh": _activation(L.TanhLayer), "Softmax": _softmax, "Clip": _clip,
    "HardSigmoid": lambda im, node, label, ins, a: _HardSigmoid(im._act(im.data(ins)), float(a.get("alpha", 0.2)),
                                                                float(a.get("beta", 0.5)), node),
    "HardSwish": _activation(L.HardSwishLayer),
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"), "Sum": _sum,
    "Concat": _concat, "MaxPool": _pool("MaxPool"), "AveragePool": _pool("AveragePool"),
    "GlobalAveragePool": _global(L.GlobalAveragePooling2DLayer), "GlobalMaxPool": _global(L.GlobalMaxPooling2DLayer),
    "ReduceMean": _reduce(L.GlobalAveragePooling2DLayer), "ReduceMax": _reduce(L.GlobalMaxPooling2DLayer),
    "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze_unsqueeze("Squeeze"),
    "Unsqueeze": _squeeze_unsqueeze("Unsqueeze"), "Transpose": _transpose, "Dropout": _dropout,
    "Identity": _identity, "Pad": _pad, "Resize": _resize, "Upsample": _resize, "Shape": _shape,
}


def _add_bias(handler):
    def wrapped(im, node, label, ins, a):
        x, y = ins[0], ins[1]
        lin, c = (x, y) if isinstance(x, _Linear) else (y, x) if isinstance(y, _Linear) else (None, None)
        if lin is not None and isinstance(c, np.ndarray) and c.size in (1, lin.weights.shape[0]) \
                and (c.ndim <= 1 or c.shape[:-1] == (1,) * (c.ndim - 1)):
            add = np.broadcast_to(c.astype(np.float32).ravel(), (lin.weights.shape[0],))
            bias = add if lin.bias is None else lin.bias + add
            return _Linear(lin.src, lin.weights, bias, lin.node)
        return handler(im, node, label, ins, a)
    return wrapped


_HANDLERS["Add"] = _add_bias(_HANDLERS["Add"])

from . import _embedding_import as _emb  # noqa: E402 -- Gather of a constant matrix's rows: EmbeddingLayer
from . import _rnn_import as _rnn  # noqa: E402 -- LSTM / GRU / RNN and sequences

_HANDLERS["LSTM"] = _HANDLERS["GRU"] = _HANDLERS["RNN"] = _rnn.rnn
_Importer.handlers = _HANDLERS

_NOTES = {
    "Cast": "Cast of an activation (only constants are cast at import)",
    "Gather": "Gather of an activation (constants are gathered at import; an activation of integer indices "
              "gathers the rows of a constant matrix: an embedding layer)",
}

SUPPORTED = sorted(set(_HANDLERS) - {"Shape"} | {"Constant", "Gather"})

__all__ = ["Imported", "OnnxImportError", "SUPPORTED", "import_file", "import_model", "read_model", "valid_name"]
