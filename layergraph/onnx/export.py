"""A sized core network -> an ONNX model, written once for both dialects (issue 12).

``to_onnx(core_net, opset)`` reads a ``CoreNet`` (core/exchange.py: the sized core graph, its
input and output ports) and writes one ONNX graph: the network's input ports as graph inputs
(images N x C x H x W, features N x C: the internal layout, which is ONNX's), every layer as
the nodes of its family's entry in ``EXPORTERS`` (one function per registry family, keyed by
``layer.family``), the output ports as graph outputs. ``unsupported(core_net, opset)`` lists
the layers that cannot be written, each with the reason; ``save_model`` writes a model
atomically (a temporary file in the target folder, then one rename). The dialects
(matlab/onnx_export.py, wolfram/export.py) parse their options, check them in their own
words and call these.

Arrays are read where the core stores them, in the internal layout (conv weights
F x C/G x FH x FW, transposed conv C x F x FH x FW, normalization arrays (C,)), which is
ONNX's; the one conversion that needs a size, a fully connected layer's column-major
(MATLAB) weights, goes through ``conventions.fc_weights_row_major`` as the executor's does.
The layouts and semantics at this boundary are tabled in docs/onnx.md.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from ..core import conventions as cv
from ..core.exchange import CoreNet
from ..core.infer import analyze
from ..core.registry import REGISTRY, WOLFRAM_FUNCTIONS
from ..core.size import Size
from . import _sequence_export as _seq
from ._sequence_export import NotExportable, _stored

MIN_OPSET = 9
DEFAULT_OPSET = 13     # Softmax over one axis and Clip / Pad inputs in their current form; run by every runtime seen
PRODUCER = "layergraph"


def max_opset() -> int:
    """The newest standard operator set of the installed onnx package."""
    import onnx
    return int(onnx.defs.onnx_opset_version())


@dataclass
class _Graph:
    """The ONNX graph being written: nodes, initializers and unique names."""

    opset: int
    dtype: np.dtype
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    names: set = field(default_factory=set)
    lens: str = ""     # the graph input sequence_lens ("" when none: one length per batch)
    lens64: str = ""   # ... cast to int64, once (_sequence_export._lens64)

    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            name, i = f"{base}_{i}", i + 1
        self.names.add(name)
        return name

    def const(self, base: str, value, dtype=None) -> str:
        from onnx import numpy_helper
        arr = np.array(value, dtype=self.dtype if dtype is None else dtype, order="C")   # 0-d stays 0-d
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, base: str, values) -> str:
        return self.const(base, np.asarray(values, dtype=np.int64).reshape(-1), np.int64)

    def scalar(self, base: str, value) -> str:
        return self.const(base, np.asarray(value).reshape(()))

    def node(self, op: str, inputs: list[str], base: str, n_out: int = 1, **attrs) -> str | list[str]:
        from onnx import helper
        outs = [self.fresh(base) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=self.fresh(f"{base}:{op}"), **attrs))
        return outs[0] if n_out == 1 else outs


@dataclass(frozen=True)
class Site:
    """What an exporter sees of one layer: the sized layer, its input tensors and sizes,
    its output sizes (one observation each)."""

    layer: object
    inputs: list[str]
    in_sizes: list[Size]
    out_sizes: list[Size]

    @property
    def name(self) -> str:
        return self.layer.Name

    @property
    def x(self) -> str:
        return self.inputs[0]


# -- opset-dependent forms -------------------------------------------------------------------
def clip(g: _Graph, x: str, lo, hi, base: str) -> str:
    """Clip: min / max attributes before opset 11, inputs since."""
    if g.opset < 11:
        return g.node("Clip", [x], base, min=float(lo) if lo is not None else None,
                      max=float(hi) if hi is not None else None)
    lo_name = g.scalar(f"{base}_min", lo) if lo is not None else ""
    hi_name = g.scalar(f"{base}_max", hi) if hi is not None else ""
    return g.node("Clip", [x, lo_name, hi_name] if hi is not None else [x, lo_name], base)


def reduce_mean(g: _Graph, x: str, axes: list[int], base: str) -> str:
    """ReduceMean, keeping the axes: axes an attribute before opset 18, an input since."""
    if g.opset < 18:
        return g.node("ReduceMean", [x], base, axes=list(axes), keepdims=1)
    return g.node("ReduceMean", [x, g.ints(f"{base}_axes", axes)], base, keepdims=1)


def softmax_channels(g: _Graph, x: str, rank: int, base: str, one_position: bool = False) -> str:
    """Softmax over axis 1 (the channels) at each position. Before opset 13 Softmax flattens
    everything from its axis on into one, which is the channels alone only for N x C or an
    image of one position (1 x 1, ``one_position``); other images move the channels last, take
    the softmax there and move them back."""
    if rank == 2 or g.opset >= 13 or one_position:
        return g.node("Softmax", [x], base, axis=1)
    perm = [0, *range(2, rank), 1]
    t = g.node("Transpose", [x], f"{base}_channels_last", perm=perm)
    s = g.node("Softmax", [t], f"{base}_softmax", axis=rank - 1)
    return g.node("Transpose", [s], base, perm=[int(i) for i in np.argsort(perm)])


def pad(g: _Graph, x: str, pads_tblr, mode: str, value: float, base: str) -> str:
    """Pad the two spatial axes of N x C x H x W: pads an attribute before opset 11, an input since."""
    t, b, left, r = (int(v) for v in pads_tblr)
    pads = [0, 0, t, left, 0, 0, b, r]
    if g.opset < 11:
        return g.node("Pad", [x], base, pads=pads, mode=mode, value=float(value) if mode == "constant" else None)
    inputs = [x, g.ints(f"{base}_pads", pads)]
    if mode == "constant":
        inputs.append(g.scalar(f"{base}_value", value))
    return g.node("Pad", inputs, base, mode=mode)


def gather_pad(g: _Graph, x: str, spatial, pads_tblr, base: str) -> str:
    """MATLAB's 'symmetric-include-edge' padding (NumPy's 'symmetric': ... x1 x0 | x0 x1 ...),
    which no ONNX Pad mode gives: a Gather of the rows, then of the columns, by indices
    fixed at export (every size is static). Gather is the same at every opset."""
    t, b, left, r = (int(v) for v in pads_tblr)
    out = x
    for axis, (n, lo, hi) in ((2, (spatial[0], t, b)), (3, (spatial[1], left, r))):
        if lo or hi:
            idx = np.pad(np.arange(n), (lo, hi), mode="symmetric")
            out = g.node("Gather", [out, g.ints(f"{base}_rows" if axis == 2 else f"{base}_cols", idx)],
                         f"{base}_{'h' if axis == 2 else 'w'}", axis=axis)
    return out


def _onnx_pads(tblr) -> list[int]:
    """MATLAB's [top bottom left right] -> ONNX's [x1_begin, x2_begin, x1_end, x2_end] = [t l b r]."""
    t, b, left, r = (int(v) for v in tblr)
    return [t, left, b, r]


# -- elementwise functions ---------------------------------------------------------------------
_SELU_SCALE = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu(g: _Graph, x: str, tanh: bool, base: str) -> str:
    """GELU: the Gelu operator from opset 20, else its formula."""
    if g.opset >= 20:
        return g.node("Gelu", [x], base, approximate="tanh" if tanh else "none")
    half = g.scalar(f"{base}_half", 0.5)
    one = g.scalar(f"{base}_one", 1.0)
    if tanh:
        cube = g.node("Mul", [g.node("Mul", [x, x], f"{base}_sq"), x], f"{base}_cube")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(f"{base}_c", 0.044715)], f"{base}_cx3")],
                       f"{base}_inner")
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(f"{base}_k", _SQRT_2_OVER_PI)], f"{base}_arg")],
                   f"{base}_tanh")
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(f"{base}_k", _SQRT_HALF)], f"{base}_arg")], f"{base}_erf")
    hx = g.node("Mul", [half, x], f"{base}_halfx")
    return g.node("Mul", [hx, g.node("Add", [one, t], f"{base}_1p")], base)


def _times_self_fn(op: str, **attrs):
    def write(g, x, base):
        return g.node("Mul", [x, g.node(op, [x], f"{base}_{op.lower()}", **attrs)], base)
    return write


def _simple(op: str, **attrs):
    return lambda g, x, base: g.node(op, [x], base, **attrs)


def _since(opset: int, native, fallback):
    return lambda g, x, base: (native if g.opset >= opset else fallback)(g, x, base)


# Wolfram's ElementwiseLayer names (kernels/cpu/elementwise.py UNARY) -> f(graph, x, base)
UNARY = {
    "SELU": _simple("Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE),
    "HardSwish": _since(14, _simple("HardSwish"), _times_self_fn("HardSigmoid", alpha=1 / 6, beta=0.5)),
    "Mish": _since(18, _simple("Mish"), lambda g, x, base: g.node(
        "Mul", [x, g.node("Tanh", [g.node("Softplus", [x], f"{base}_softplus")], f"{base}_tanh")], base)),
    "SoftSign": _simple("Softsign"),
    "SoftPlus": _simple("Softplus"),
    "HardTanh": lambda g, x, base: clip(g, x, -1.0, 1.0, base),
    "HardSigmoid": _simple("HardSigmoid", alpha=0.5, beta=0.5),
    "Exp": _simple("Exp"), "Log": _simple("Log"), "Sqrt": _simple("Sqrt"), "Abs": _simple("Abs"),
    "Sin": _simple("Sin"), "Cos": _simple("Cos"), "ArcTan": _simple("Atan"), "Erf": _simple("Erf"),
    "Square": lambda g, x, base: g.node("Mul", [x, x], base),
}

# Wolfram's ThreadingLayer names (kernels/cpu/elementwise.py BINARY) -> the ONNX operator, folded left
BINARY = {"Plus": "Add", "Subtract": "Sub", "Times": "Mul", "Divide": "Div", "Max": "Max", "Min": "Min",
          "Power": "Pow"}


# -- the exporters, one per registry family --------------------------------------------------------
def _activation(g: _Graph, s: Site) -> list[str]:
    L, x, n = s.layer, s.x, s.name
    fam = L.family
    if fam == "relu":
        return [g.node("Relu", [x], n)]
    if fam == "leakyrelu":
        return [g.node("LeakyRelu", [x], n, alpha=float(L.Scale))]
    if fam == "clippedrelu":
        return [clip(g, x, 0.0, float(L.Ceiling), n)]
    if fam == "elu":
        return [g.node("Elu", [x], n, alpha=float(L.Alpha))]
    if fam == "tanh":
        return [g.node("Tanh", [x], n)]
    if fam == "sigmoid":
        return [g.node("Sigmoid", [x], n)]
    if fam == "swish":
        return [_times_self_fn("Sigmoid")(g, x, n)]
    if fam == "gelu":
        return [_gelu(g, x, L.Approximation == "tanh", n)]
    raise NotExportable(f"no ONNX form for the activation family '{fam}'")


def _input(g: _Graph, s: Site) -> list[str]:
    L, x, n = s.layer, s.x, s.name
    mode = L.Normalization
    if callable(mode):
        raise NotExportable("a custom normalization function has no ONNX form")
    if mode == "none":
        return [g.node("Identity", [x], n)]
    if mode == "zerocenter":
        return [g.node("Sub", [x, g.const(f"{n}_Mean", _stored(L, "Mean"))], n)]
    if mode == "zscore":
        centred = g.node("Sub", [x, g.const(f"{n}_Mean", _stored(L, "Mean"))], f"{n}_centred")
        return [g.node("Div", [centred, g.const(f"{n}_StandardDeviation", _stored(L, "StandardDeviation"))], n)]
    lo, hi = _stored(L, "Min"), _stored(L, "Max")
    shifted = g.node("Sub", [x, g.const(f"{n}_Min", lo)], f"{n}_shifted")
    span = g.const(f"{n}_Range", np.asarray(hi, g.dtype) - np.asarray(lo, g.dtype))
    if mode == "rescale-zero-one":
        return [g.node("Div", [shifted, span], n)]
    # rescale-symmetric: 2 (x - Min) / (Max - Min) - 1, in the input op's order of operations
    doubled = g.node("Mul", [g.scalar(f"{n}_two", 2.0), shifted], f"{n}_doubled")
    return [g.node("Sub", [g.node("Div", [doubled, span], f"{n}_scaled"), g.scalar(f"{n}_one", 1.0)], n)]


def _conv(g: _Graph, s: Site) -> list[str]:
    L, x, n = s.layer, s.x, s.name
    w, b = _stored(L, "Weights"), _stored(L, "Bias").reshape(-1)
    groups = int(getattr(L, "NumGroups", 1))
    pads = tuple(L.PaddingSize)
    value = L.PaddingValue
    if any(pads) and not (isinstance(value, (int, float)) and value == 0):
        if value == "symmetric-include-edge":
            x = gather_pad(g, x, s.in_sizes[0].spatial, pads, f"{n}_pad")
        else:
            mode = {"symmetric-exclude-edge": "reflect", "replicate": "edge"}.get(value, "constant")
            x = pad(g, x, pads, mode, 0.0 if mode != "constant" else float(value), f"{n}_pad")
        pads = (0, 0, 0, 0)
    return [g.node("Conv", [x, g.const(f"{n}_W", w), g.const(f"{n}_B", b)], n,
                   kernel_shape=[int(v) for v in w.shape[2:]], strides=[int(v) for v in L.Stride],
                   dilations=[int(v) for v in L.DilationFactor], pads=_onnx_pads(pads), group=groups)]


def _transposed_conv(g: _Graph, s: Site) -> list[str]:
    L, n = s.layer, s.name
    w, b = _stored(L, "Weights"), _stored(L, "Bias").reshape(-1)
    return [g.node("ConvTranspose", [s.x, g.const(f"{n}_W", w), g.const(f"{n}_B", b)], n,
                   kernel_shape=[int(v) for v in w.shape[2:]], strides=[int(v) for v in L.Stride],
                   pads=_onnx_pads(L.CroppingSize))]


def _batchnorm(g: _Graph, s: Site) -> list[str]:
    L, n = s.layer, s.name
    arrays = [g.const(f"{n}_{name}", _stored(L, name).reshape(-1))
              for name in ("Scale", "Offset", "TrainedMean", "TrainedVariance")]
    return [g.node("BatchNormalization", [s.x, *arrays], n, epsilon=float(L.Epsilon))]


def _channel_array(g, s, name, shape):
    return g.const(f"{s.name}_{name}", _stored(s.layer, name).reshape(shape))


def _normalize(g: _Graph, s: Site, groups: int | None, unbiased=False, rms=False) -> str:
    """(x - mean) / sqrt(var + Epsilon) * Scale + Offset over groups of channels and the
    spatial positions (groups: 1 for layer normalization) per observation, or over the
    channels alone at each position (groups None): the primitive form for every opset."""
    L, x, n = s.layer, s.x, s.name
    size = s.in_sizes[0]
    rank = 1 + len(size.internal)
    if groups is None:
        axes, v, count = [1], x, size.channels
    else:
        v = g.node("Reshape", [x, g.ints(f"{n}_groups", [0, groups, -1])], f"{n}_grouped")
        axes, count = [2], size.numel // groups
    d = v if rms else g.node("Sub", [v, reduce_mean(g, v, axes, f"{n}_mean")], f"{n}_centred")
    var = reduce_mean(g, g.node("Mul", [d, d], f"{n}_sq"), axes, f"{n}_var")
    if unbiased:
        var = g.node("Mul", [var, g.scalar(f"{n}_bessel", count / (count - 1))], f"{n}_unbiased")
    std = g.node("Sqrt", [g.node("Add", [var, g.scalar(f"{n}_eps", L.Epsilon)], f"{n}_vareps")], f"{n}_std")
    y = g.node("Div", [d, std], f"{n}_normalized")
    if groups is not None:
        y = g.node("Reshape", [y, g.ints(f"{n}_shape", [-1, *size.internal])], f"{n}_ungrouped")
    shape = (size.channels,) + (1,) * (rank - 2)
    y = g.node("Mul", [y, _channel_array(g, s, "Scale", shape)], f"{n}_scaled")
    return g.node("Add", [y, _channel_array(g, s, "Offset", shape)], n)


def _layernorm(g: _Graph, s: Site) -> list[str]:
    L = s.layer
    if L.OperationDimension == "channel-only":
        return [_normalize(g, s, None)]
    if g.opset >= 17:  # over everything after the batch axis; Scale and Offset as that shape
        shape = s.in_sizes[0].internal
        per = (shape[0],) + (1,) * (len(shape) - 1)
        arrays = [g.const(f"{s.name}_{name}", np.broadcast_to(_stored(L, name).reshape(per), shape))
                  for name in ("Scale", "Offset")]
        return [g.node("LayerNormalization", [s.x, *arrays], s.name, axis=1, epsilon=float(L.Epsilon))]
    return [_normalize(g, s, 1)]


def _groupnorm(g: _Graph, s: Site) -> list[str]:
    L = s.layer
    size = s.in_sizes[0]
    groups = L.num_groups(size.channels)
    plain = not (L.unbiased or L.rms)
    if plain and L.family == "instancenorm" and size.is_image:
        arrays = [_channel_array(g, s, name, (-1,)) for name in ("Scale", "Offset")]
        return [g.node("InstanceNormalization", [s.x, *arrays], s.name, epsilon=float(L.Epsilon))]
    if plain and g.opset >= 21:  # GroupNormalization-21: Scale and Offset per channel (18 had them per group)
        arrays = [_channel_array(g, s, name, (-1,)) for name in ("Scale", "Offset")]
        return [g.node("GroupNormalization", [s.x, *arrays], s.name, epsilon=float(L.Epsilon), num_groups=groups)]
    return [_normalize(g, s, groups, bool(L.unbiased), bool(L.rms))]


def _softmax(g: _Graph, s: Site) -> list[str]:
    size = s.in_sizes[0]
    return [softmax_channels(g, s.x, 1 + len(size.internal), s.name, all(d == 1 for d in size.spatial))]


def _pool_attrs(L):
    return dict(kernel_shape=[int(v) for v in L.PoolSize], strides=[int(v) for v in L.Stride],
                pads=_onnx_pads(L.PaddingSize))


def _maxpool(g: _Graph, s: Site) -> list[str]:
    if getattr(s.layer, "HasUnpoolingOutputs", False):
        raise NotExportable("the unpooling outputs (HasUnpoolingOutputs) have no ONNX form here")
    return [g.node("MaxPool", [s.x], s.name, **_pool_attrs(s.layer))]


def _avgpool(g: _Graph, s: Site) -> list[str]:
    include = int(s.layer.PaddingValue != "mean")   # PaddingValue 0 counts padded zeros; 'mean' leaves them out
    return [g.node("AveragePool", [s.x], s.name, count_include_pad=include, **_pool_attrs(s.layer))]


def _sumpool(g: _Graph, s: Site) -> list[str]:
    L, n = s.layer, s.name
    avg = g.node("AveragePool", [s.x], f"{n}_mean", count_include_pad=1, **_pool_attrs(L))
    return [g.node("Mul", [avg, g.scalar(f"{n}_window", float(np.prod(L.PoolSize)))], n)]


def _global(op):
    return lambda g, s: [g.node(op, [s.x], s.name)]


def _fc(g: _Graph, s: Site) -> list[str]:
    L, n = s.layer, s.name
    size = s.in_sizes[0]
    w = cv.fc_weights_row_major(_stored(L, "Weights"), L.input_order, size.dims)
    x = s.x if not size.spatial else g.node("Flatten", [s.x], f"{n}_flatten", axis=1)
    y = g.node("Gemm", [x, g.const(f"{n}_W", w), g.const(f"{n}_B", _stored(L, "Bias").reshape(-1))],
               n if not s.out_sizes[0].spatial else f"{n}_gemm", alpha=1.0, beta=1.0, transB=1)
    if s.out_sizes[0].spatial:   # an image input gives 1 x 1 x OutputSize
        y = g.node("Reshape", [y, g.ints(f"{n}_shape", [-1, *s.out_sizes[0].internal])], n)
    return [y]


def _dropout(g: _Graph, s: Site) -> list[str]:
    """Dropout, which is the identity in inference: ratio an attribute before opset 12, an input since."""
    p = float(s.layer.Probability)
    if g.opset < 12:
        return [g.node("Dropout", [s.x], s.name, ratio=p)]
    return [g.node("Dropout", [s.x, g.scalar(f"{s.name}_ratio", p)], s.name)]


def _flatten(g: _Graph, s: Site) -> list[str]:
    """MATLAB's flatten: column-major over H x W x C (H fastest), so the internal N x C x H x W
    is read as N x C x W x H row-major."""
    size = s.in_sizes[0]
    if not size.spatial:
        return [g.node("Identity", [s.x], s.name)]
    rank = 1 + len(size.internal)
    perm = [0, 1, *range(rank - 1, 1, -1)]
    t = g.node("Transpose", [s.x], f"{s.name}_column_major", perm=perm)
    return [g.node("Flatten", [t], s.name, axis=1)]


def _addition(g: _Graph, s: Site) -> list[str]:
    return [g.node("Add" if len(s.inputs) == 2 else "Sum", s.inputs, s.name)]


def _concat(g: _Graph, s: Site) -> list[str]:
    dim = getattr(s.layer, "Dim", None)   # MATLAB's dims H=1, W=2, C=3 (core/ops.py ConcatOp)
    axis = 1 if dim is None or not s.in_sizes[0].is_image else {1: 2, 2: 3, 3: 1}[dim]
    return [g.node("Concat", s.inputs, s.name, axis=axis)]


def _elementwise(g: _Graph, s: Site) -> list[str]:
    f = s.layer.Function
    if not isinstance(f, str):
        raise NotExportable("a Python function has no ONNX form")
    if f in UNARY:
        return [UNARY[f](g, s.x, s.name)]
    entry = WOLFRAM_FUNCTIONS.get(f)   # a name an activation's kernels compute (Ramp, Tanh, ...)
    if entry is not None:
        return _activation(g, Site(entry.layer(Name=s.name), s.inputs, s.in_sizes, s.out_sizes))
    raise NotExportable(f"the function {f} has no ONNX form")


def _threading(g: _Graph, s: Site) -> list[str]:
    f = s.layer.Function
    if not isinstance(f, str) or f not in BINARY:
        raise NotExportable("a Python function has no ONNX form")
    y = s.inputs[0]
    for i, other in enumerate(s.inputs[1:]):
        y = g.node(BINARY[f], [y, other], s.name if i == len(s.inputs) - 2 else f"{s.name}_{i + 1}")
    return [y]


def _reshape(g: _Graph, s: Site) -> list[str]:
    return [g.node("Reshape", [s.x, g.ints(f"{s.name}_shape", [-1, *s.out_sizes[0].internal])], s.name)]


def _transpose(g: _Graph, s: Site) -> list[str]:
    return [g.node("Transpose", [s.x], s.name, perm=[0, *(int(p) + 1 for p in s.layer.Perm)])]


def _multiplication(g: _Graph, s: Site) -> list[str]:
    """Mul, folded left; ONNX's multidirectional broadcasting is MATLAB's (equal or singleton
    dimensions of inputs of one rank, N x C x H x W)."""
    y = s.inputs[0]
    for i, other in enumerate(s.inputs[1:]):
        y = g.node("Mul", [y, other], s.name if i == len(s.inputs) - 2 else f"{s.name}_{i + 1}")
    return [y]


def _scaling(g: _Graph, s: Site) -> list[str]:
    """Scale .* x + Bias: Mul then Add. The arrays are one example's, broadcasting from the
    right (a scalar, (C, 1, 1), the example's shape) as numpy's and ONNX's broadcasting do, so
    they are written as they are stored."""
    L, n = s.layer, s.name
    y = g.node("Mul", [s.x, g.const(f"{n}_Scale", np.asarray(L.Scale))], f"{n}_scaled")
    return [g.node("Add", [y, g.const(f"{n}_Bias", np.asarray(L.Bias))], n)]


_COORDS = {"half-pixel": "half_pixel", "asymmetric": "asymmetric", "align-corners": "align_corners",
           "pytorch-half-pixel": "pytorch_half_pixel"}
_ROUNDING = {"round": "round_prefer_ceil", "round-prefer-floor": "round_prefer_floor", "floor": "floor",
             "ceil": "ceil"}


def _resize(g: _Graph, s: Site) -> list[str]:
    """resize2dLayer. From opset 11: Resize with its coordinate_transformation_mode and
    nearest_mode, by scales (Scale) or sizes (OutputSize; before 18 the batch and channels come
    from Shape, from 18 the axes attribute names H and W). Opset 9 (Upsample) and 10 (Resize)
    have one coordinate mapping, asymmetric, and nearest rounds down when it enlarges: only a
    layer of that form, by a Scale (or an OutputSize an integer multiple of the input), is
    written there."""
    L, x, n = s.layer, s.x, s.name
    h, w = s.in_sizes[0].spatial
    oh, ow = s.out_sizes[0].spatial
    method = "nearest" if L.Method == "nearest" else "linear"
    if L.Scale is not None:
        scales = [float(v) for v in L.Scale]
    else:
        scales = [oh / h, ow / w]
    if L.GeometricTransformMode == "align-corners" and L.Scale is not None and (
            abs(h * scales[0] - oh) > 1e-9 or abs(w * scales[1] - ow) > 1e-9):
        raise NotExportable(f"'align-corners' with Scale [{scales[0]:g} {scales[1]:g}] on a {h}x{w} input resizes to "
                            "a fractional length, which runtimes map differently (ONNX's reference by the unrounded "
                            "length, onnxruntime by the output's); give OutputSize instead")
    if g.opset < 11:
        if L.GeometricTransformMode != "asymmetric":
            raise NotExportable(f"GeometricTransformMode '{L.GeometricTransformMode}' needs Resize of opset 11 "
                                "or later (opset 9 and 10 resize by 'asymmetric' coordinates only)")
        if method == "nearest" and (L.NearestRoundingMode != "floor" or min(scales) < 1):
            raise NotExportable("nearest resizing at opset 9 and 10 rounds down and only enlarges: "
                                "NearestRoundingMode 'floor' and a scale of 1 or more, or opset 11 or later")
        if L.Scale is None and (oh % h or ow % w):
            raise NotExportable(f"OutputSize [{oh} {ow}] is no integer multiple of the input {h}x{w}; "
                                "opset 9 and 10 resize by scales only")
        sc = g.const(f"{n}_scales", [1.0, 1.0, *scales], np.float32)
        return [g.node("Upsample" if g.opset < 10 else "Resize", [x, sc], n, mode=method)]
    attrs = dict(mode=method, coordinate_transformation_mode=_COORDS[L.GeometricTransformMode],
                 nearest_mode=_ROUNDING[L.NearestRoundingMode] if method == "nearest" else None)
    if g.opset >= 18:
        if L.Scale is not None:
            ins = [x, "", g.const(f"{n}_scales", scales, np.float32)]
        else:
            ins = [x, "", "", g.ints(f"{n}_sizes", [oh, ow])]
        return [g.node("Resize", ins, n, axes=[2, 3], **attrs)]
    roi = g.const(f"{n}_roi", np.zeros(0), np.float32) if g.opset < 13 else ""   # an input until opset 13
    if L.Scale is not None:
        return [g.node("Resize", [x, roi, g.const(f"{n}_scales", [1.0, 1.0, *scales], np.float32)], n, **attrs)]
    empty = g.const(f"{n}_no_scales", np.zeros(0), np.float32) if g.opset < 13 else ""
    shape = g.node("Shape", [x], f"{n}_shape")
    nc = g.node("Slice", [shape, g.ints(f"{n}_start", [0]), g.ints(f"{n}_end", [2])], f"{n}_batch_channels")
    sizes = g.node("Concat", [nc, g.ints(f"{n}_hw", [oh, ow])], f"{n}_sizes", axis=0)
    return [g.node("Resize", [x, roi, empty, sizes], n, **attrs)]


def _hardsigmoid(g: _Graph, s: Site) -> list[str]:
    return [g.node("HardSigmoid", [s.x], s.name, alpha=float(s.layer.Alpha), beta=float(s.layer.Beta))]


def _hardswish(g: _Graph, s: Site) -> list[str]:
    return [UNARY["HardSwish"](g, s.x, s.name)]   # HardSwish from 14, x * HardSigmoid(1/6, 1/2) before


def _embedding(g: _Graph, s: Site) -> list[str]:
    """EmbeddingLayer -> ``Gather`` of the rows of Weights (NumWords x Dimension, as stored) by the input's 1-based
    indices made 0-based: ``Cast`` to int64 (a non-integer is truncated toward zero) and ``Sub`` 1. The graph
    input stays the net's (float numbers 1..NumWords). Out of range, the graph does not check as the core does:
    0 becomes -1, which Gather reads as the last row (its negative indices count from the end); above NumWords
    the runtime fails (onnxruntime: an error). On a sequence (T x N x 1) the channel axis is squeezed first
    (T x N -> T x N x Dimension); otherwise the Gather's N x (input) x Dimension is reshaped to the core's size."""
    L, n = s.layer, s.name
    w = np.asarray(_stored(L, "Weights"))   # NumWords x Dimension
    from onnx import TensorProto
    idx = g.node("Cast", [s.x], f"{n}_int64", to=TensorProto.INT64)
    idx = g.node("Sub", [idx, g.ints(f"{n}_one", [1])], f"{n}_index")
    if s.in_sizes[0].is_sequence:
        idx = _seq.squeeze(g, idx, [2], f"{n}_index_tn")
        return [g.node("Gather", [g.const(f"{n}_Weights", w), idx], n, axis=0)]
    y = g.node("Gather", [g.const(f"{n}_Weights", w), idx], f"{n}_gather", axis=0)
    return [g.node("Reshape", [y, g.ints(f"{n}_shape", [-1, *s.out_sizes[0].internal])], n)]


def _passthrough(g: _Graph, s: Site) -> list[str]:
    return [g.node("Identity", [s.x], s.name)] if s.layer.OutputNames else []


def _missing(g: _Graph, s: Site) -> list[str]:
    return [g.fresh(f"{s.name}:missing") for _ in s.layer.OutputNames]


# family -> exporter(graph, site) -> output tensor names, in the layer's OutputNames order
EXPORTERS = {
    "input": _input, "conv": _conv, "transposed_conv": _transposed_conv, "batchnorm": _batchnorm,
    "layernorm": _layernorm, "groupnorm": _groupnorm, "instancenorm": _groupnorm, "softmax": _softmax,
    "maxpool": _maxpool, "avgpool": _avgpool, "sumpool": _sumpool,
    "globalavgpool": _global("GlobalAveragePool"), "globalmaxpool": _global("GlobalMaxPool"),
    "fc": _fc, "dropout": _dropout, "flatten": _flatten, "addition": _addition, "concatenation": _concat,
    "elementwise": _elementwise, "threading": _threading, "reshape": _reshape, "transpose": _transpose,
    # output layers: their input is the network's output (MATLAB's exporter writes nothing for them)
    "crossentropyex": _passthrough, "mse": _passthrough,
    # the ONNX importer's layers
    "multiplication": _multiplication, "scaling": _scaling, "resize": _resize,
    "hardsigmoid": _hardsigmoid, "hardswish": _hardswish, "embedding": _embedding,
    # recurrent and sequence layers (their forms on T x N x C data: _sequence_export.py)
    **{fam: _seq.SEQUENCE_EXPORTERS[fam] for fam in ("lstm", "gru", "rnn", "sequence_last", "sequence_most",
                                                     "sequence_rest", "sequence_reverse")},
    **{fam: (lambda g, s: [_activation(g, s)[0]])
       for fam in ("relu", "leakyrelu", "clippedrelu", "elu", "tanh", "sigmoid", "swish", "gelu")},
}


# families the executor runs that have no ONNX form, with the reason (the export names it)
NOT_EXPORTABLE = {
    "placeholder": "a placeholder for an ONNX node that no layer computes (from importONNXLayers or Import) has "
                   "no ONNX form of its own; replace it with a layer that computes it (replaceLayer) first",
    "custom": "a custom layer's predict is Python code, which has no ONNX form",
    **{f"sequence_{k}": "NetMapOperator's folding of time into the batch has no ONNX form written yet"
       for k in ("fold", "unfold")},
    **{k: "ONNX has no operator that folds time into the batch and back (an ONNX graph has no sequence "
          "padding to carry between them)" for k in ("sequencefolding", "sequenceunfolding")},
}


def _refuse(reason: str):
    def write(g, s):
        L = s.layer
        if L.family == "placeholder":
            raise NotExportable(f"{reason} (ONNX operator '{L.ONNXOperator}', node '{L.ONNXNode}')")
        raise NotExportable(reason)
    return write


def exporter_for(family: str):
    """The exporter of a registry family. A family without an entry in EXPORTERS (a row
    registered at run time) is written from its row when the row is an elementwise activation
    without hyperparameters that names its ONNX operator (``Entry.onnx``); otherwise it has none."""
    if family in EXPORTERS:
        return EXPORTERS[family]
    if family in NOT_EXPORTABLE:
        return _refuse(NOT_EXPORTABLE[family])
    for e in REGISTRY:
        if e.family == family and e.elementwise is not None and e.onnx and not e.layer.hyperparameters:
            op = e.onnx
            return lambda g, s: [g.node(op, [s.x], s.name)]
    return None


def families() -> list[str]:
    """Every registry family, in registry order, then the families the executor runs that have
    no registry row (core/ops.py OPS: the placeholder, custom layers); the tests parametrize over it."""
    from ..core.ops import OPS
    out: list[str] = []
    for fam in [e.family for e in REGISTRY] + list(OPS):
        if fam not in out:
            out.append(fam)
    return out


# -- the whole network -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """A layer that cannot be exported: its name (as the dialect names it), its Type, why."""

    name: str
    type: str
    reason: str


def _ordered(core: CoreNet):
    analysis = analyze(core.graph)
    if analysis.errors:
        raise ValueError("the network is not fully sized: " + "; ".join(str(i) for i in analysis.errors))
    feeds: dict[tuple[str, str], tuple[str, str]] = {}
    for src, out, dst, inp in analysis.graph.connections():
        feeds[(dst, inp)] = (src, out)
    return analysis, feeds


LENS = "sequence_lens"   # the graph input of each observation's length (to_onnx's sequence_lengths)


def _sites_and_problems(core: CoreNet, opset: int, dtype, output_shapes=None, sequence_lengths=False):
    """Write every layer into a scratch graph: the problems found, and the graph when there are none."""
    from onnx import TensorProto, helper
    analysis, feeds = _ordered(core)
    g = _Graph(opset, np.dtype(dtype))
    if sequence_lengths:
        if not any(analysis.info(layer).ActivationSizes[analysis.layers[layer].OutputNames[0]].is_sequence
                   for layer in core.inputs.values()):
            raise ValueError("sequence_lengths: the network has no sequence input")
        if LENS in core.inputs or LENS in core.outputs:
            raise ValueError(f"sequence_lengths: the network has a port named {LENS!r} already")
        g.lens = LENS
    elem = TensorProto.DOUBLE if g.dtype == np.float64 else TensorProto.FLOAT
    tensors: dict[tuple[str, str], str] = {}
    in_ports = {layer: port for port, layer in core.inputs.items()}
    for port in core.inputs:
        g.names.add(port)
    for port in core.outputs:
        g.names.add(port)
    problems: list[Problem] = []
    inputs, outputs = [], []
    for name in analysis.order:
        layer = analysis.layers[name]
        info = analysis.info(name)
        shown = core.names.get(name, name)
        if layer.is_input:
            if name not in in_ports:
                problems.append(Problem(shown, layer.Type, "an input layer that is no input port of the network"))
                continue
            xs, in_sizes = [in_ports[name]], [info.ActivationSizes[layer.OutputNames[0]]]
            inputs.append((in_ports[name], _onnx_shape(in_sizes[0])))
        else:
            refs = [feeds.get((name, p)) for p in layer.InputNames]
            if any(r is None for r in refs):
                problems.append(Problem(shown, layer.Type, "an input is not connected"))
                continue
            # a layer after one that could not be written is still checked, on a stand-in tensor
            xs = [tensors.get(r) or g.fresh(f"{r[0]}:missing") for r in refs]
            in_sizes = [info.InputSizes[p] for p in layer.InputNames]
        out_sizes = [info.ActivationSizes[p] for p in layer.OutputNames]
        fn = exporter_for(layer.family)
        if any(z.is_sequence for z in (*in_sizes, *out_sizes)):
            # sequence data, written T x N x C (_sequence_export.py): the families with a form there
            fam = layer.family
            if layer.is_input:
                fn = (lambda f: lambda g_, s_: _seq.sequence_input(g_, s_, f))(fn)
            elif fam in _seq.SEQUENCE_EXPORTERS:
                fn = _seq.SEQUENCE_EXPORTERS[fam]
            elif fam == "embedding":   # one form for both: the sequence's channel axis squeezed
                fn = _embedding
            elif fam not in _seq.LAYOUT_FREE:
                problems.append(Problem(shown, layer.Type, "this layer is not exported on sequence data (a time "
                                        "dimension); on sequences the export writes the input, LSTM, BiLSTM, GRU, "
                                        "RNN, embedding, fully connected, softmax, concatenation, elementwise, "
                                        "dropout, addition and sequence layers"))
                fn = _missing
        if fn is None:
            problems.append(Problem(shown, layer.Type, "no ONNX form for this layer family"))
            fn = _missing
        try:
            outs = fn(g, Site(layer, xs, in_sizes, out_sizes))
        except NotExportable as e:
            problems.append(Problem(shown, layer.Type, str(e)))
            outs = [g.fresh(f"{name}:missing") for _ in layer.OutputNames]
        for p, t in zip(layer.OutputNames, outs):
            tensors[(name, p)] = t
    for port, ref in core.outputs.items():
        if ref in tensors:
            size = analysis.info(ref[0]).ActivationSizes[ref[1]]
            if size.is_sequence:   # T x N x C, as inside the graph
                g.nodes.append(helper.make_node("Identity", [tensors[ref]], [port], name=g.fresh(f"{port}:Identity")))
                outputs.append((port, _onnx_shape(size)))
                continue
            shape = tuple(output_shapes.get(port) or size.internal) if output_shapes else size.internal
            if int(np.prod(shape)) != size.numel:
                raise ValueError(f"output {port}: shape {shape} does not hold the {size.numel} elements of {size}")
            if shape != size.internal:   # the dialect's form of the output (a 1 x 1 x C image as C features)
                g.nodes.append(helper.make_node("Reshape", [tensors[ref], g.ints(f"{port}_shape", [-1, *shape])],
                                                [port], name=g.fresh(f"{port}:Reshape")))
            else:
                g.nodes.append(helper.make_node("Identity", [tensors[ref]], [port], name=g.fresh(f"{port}:Identity")))
            outputs.append((port, shape))
    return g, elem, inputs, outputs, problems


def unsupported(core: CoreNet, opset: int = DEFAULT_OPSET, dtype=np.float32,
                sequence_lengths: bool = False) -> list[Problem]:
    """Every layer of the network that cannot be written at this opset, with the reason."""
    return _sites_and_problems(core, opset, dtype, sequence_lengths=sequence_lengths)[4]


class _Seq(tuple):
    """One observation's shape of a sequence tensor, written T x N x (shape)."""


def _onnx_shape(size: Size):
    return _Seq(size.internal) if size.is_sequence else size.internal


def _value_info(name: str, elem, shape: tuple, batch):
    from onnx import helper
    if isinstance(shape, _Seq):   # a sequence: the symbolic time dimension first, then the batch
        return helper.make_tensor_value_info(name, elem, ["T", batch, *shape])
    return helper.make_tensor_value_info(name, elem, [batch, *shape])


def to_onnx(core: CoreNet, opset: int = DEFAULT_OPSET, name: str = "Network", batch_size: int | None = None,
            dtype=np.float32, doc_string: str = "", model_version: int = 0, producer_version: str = "",
            output_shapes: dict | None = None, sequence_lengths: bool = False):
    """The ONNX model of a sized core network. ``batch_size`` fixes the batch dimension of
    the inputs and outputs (else the symbolic dimension "N"); ``output_shapes`` (port -> one
    observation's shape) gives an output the form the dialect shows it in (MATLAB's predict
    and Wolfram's net give a 1 x 1 x C result of a fully connected layer as C values), by a
    final Reshape; by default an output has the internal shape. The arrays are written in
    ``dtype`` (float32, or float64 as ONNX DOUBLE). Raises ``UnsupportedLayers`` listing every
    layer that cannot be written, and ValueError for an opset outside MIN_OPSET..max_opset().
    ``sequence_lengths`` (a network with sequence inputs): a graph input ``sequence_lens`` ([N], int32,
    each observation's number of steps, the data padded at the end) read by every recurrent node and the
    layers that need each observation's own end (_sequence_export.py); without it every observation of
    a batch has the input's T steps."""
    from onnx import helper
    top = max_opset()
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) or not MIN_OPSET <= opset <= top:
        raise ValueError(f"opset {opset!r} is outside {MIN_OPSET}..{top}")
    g, elem, inputs, outputs, problems = _sites_and_problems(core, int(opset), dtype, output_shapes,
                                                             bool(sequence_lengths))
    if problems:
        raise UnsupportedLayers(problems)
    batch = int(batch_size) if batch_size is not None else "N"
    from onnx import TensorProto
    lens = [helper.make_tensor_value_info(LENS, TensorProto.INT32, [batch])] if g.lens else []
    graph = helper.make_graph(g.nodes, name, [_value_info(p, elem, s, batch) for p, s in inputs] + lens,
                              [_value_info(p, elem, s, batch) for p, s in outputs], initializer=g.initializers,
                              doc_string=doc_string or None)
    opsets = [helper.make_opsetid("", int(opset))]
    model = helper.make_model(graph, opset_imports=opsets, producer_name=PRODUCER,
                              producer_version=producer_version or _version(), model_version=int(model_version),
                              ir_version=helper.find_min_ir_version_for(opsets))
    return model


class UnsupportedLayers(Exception):
    """The layers that cannot be exported (``problems``: name, Type, reason each)."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"'{p.name}' ({p.type}): {p.reason}" for p in problems))
        self.problems = list(problems)


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("layergraph")
    except Exception:  # noqa: BLE001 -- not installed as a distribution: no version to record
        return ""


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` atomically: into a temporary file in the same folder, then
    renamed over the target, so a failed write leaves no partial file (and an existing file
    as it was). OSError when the folder cannot be written."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    data = model.SerializeToString()
    fd, tmp = tempfile.mkstemp(prefix=".layergraph-", suffix=".onnx.part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["DEFAULT_OPSET", "EXPORTERS", "MIN_OPSET", "NOT_EXPORTABLE", "NotExportable", "Problem", "UnsupportedLayers",
           "families", "max_opset", "save_model", "to_onnx", "unsupported"]
