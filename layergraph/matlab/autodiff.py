"""MATLAB's automatic differentiation: dlfeval, dlgradient, the functional deep learning
operations on dlarray, dlnetwork's forward / predict on dlarrays, and the solver functions.

``dlfeval(fn, *args)`` runs ``fn`` with its dlarray arguments (also inside lists, tuples,
dicts, tables, and a dlnetwork's Learnables) traced on a new tape (``core/autodiff.py``);
``dlgradient(loss, x1, ..., xk)`` inside it walks the tape back. ``forward(net, X)`` and
``predict(net, X)`` of a dlnetwork are one node on the tape whose vjp is the executor's
backward (core/executor.py), the same numbers trainNetwork trains with. The functional ops
(dlconv, fullyconnect, batchnorm, layernorm, relu, leakyrelu, sigmoid, softmax, maxpool,
avgpool, crossentropy, mse, l1loss, l2loss, huber) call the kernels as the layer adapters do
(core/autodiff.py). sgdmupdate, adamupdate and rmspropupdate use the trainer's solver steps
(train/solvers.py). Choices where MATLAB's documentation is silent: docs/modern_api.md.
"""
from __future__ import annotations

import copy

import numpy as np

from ..core import autodiff as ad
from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.sequence import SeqInfo
from ..core.shared import shared_learnables
from ..layers._common import same_padding
from ..train import solvers
from . import network as _network
from .dlarray import _as_data, dlarray, stripdims
from .layer_graph import LayerGraph
from .network import DLNetwork
from .table import Table

_COLUMNS = ("Layer", "Parameter", "Value")


# -- tracing -----------------------------------------------------------------------------------
class _TracedNetwork(DLNetwork):
    """A dlnetwork inside dlfeval: its Learnables are traced dlarrays (one tape key each)."""

    @property
    def Learnables(self) -> Table:
        traced = self.__dict__.get("_ad_learnables")
        if traced is None:   # one traced dlarray per learnable, the same at every read
            traced = []
            for layer, name, value in self._arrays("learnables"):
                x = dlarray._new(value, "")
                x._key, x._tape = self._ad_keys[(layer, name)], self._ad_tape
                traced.append((layer, name, x))
            self._ad_learnables = traced
        return Table(_COLUMNS, traced)


def _trace(value, tape):
    if isinstance(value, dlarray):
        out = dlarray._new(value._data, value._fmt)
        out._key, out._tape = tape.leaf(), tape
        return out
    if isinstance(value, DLNetwork):
        net = copy.copy(value)
        net.__class__ = _TracedNetwork
        net._ad_tape = tape
        net._ad_keys = {(r[0], r[1]): tape.leaf() for r in value._arrays("learnables")}
        for members in shared_learnables(value._graph).values():   # a shared array is one variable
            for m in members[1:]:
                net._ad_keys[m] = net._ad_keys[members[0]]
        net.__dict__.pop("_ad_learnables", None)
        return net
    if isinstance(value, Table):
        return Table(value.columns, [tuple(_trace(v, tape) if isinstance(v, dlarray) else
                                           (_trace(dlarray._new(np.asarray(v), ""), tape)
                                            if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
                                           for v in row) for row in value])
    if isinstance(value, dict):
        return {k: _trace(v, tape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_trace(v, tape) for v in value)
    return value


def _untrace(value):
    if isinstance(value, dlarray):
        return dlarray._new(value._data, value._fmt) if value._tape is not None else value
    if isinstance(value, _TracedNetwork):
        net = copy.copy(value)
        net.__class__ = DLNetwork
        del net._ad_tape, net._ad_keys
        net.__dict__.pop("_ad_learnables", None)
        return net
    if isinstance(value, Table):
        return Table(value.columns, [tuple(_untrace(v) for v in row) for row in value])
    if isinstance(value, dict):
        return {k: _untrace(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_untrace(v) for v in value)
    return value


def dlfeval(fun, *args):
    """Evaluate ``fun(*args)`` with its dlarray arguments traced, so that dlgradient can be
    called inside it. Returns what ``fun`` returns, untraced."""
    if not callable(fun):
        raise LayerGraphError("Invalid argument at position 1. Value must be a function handle.",
                              "MATLAB:dlfeval:InvalidFunction")
    tape = ad.Tape()
    traced = [_trace(a, tape) for a in args]
    with ad.tracing(tape):
        out = fun(*traced)
    tape.nodes.clear()
    return _untrace(out)


def _options(args, kw, names):
    """Trailing MATLAB name-value pairs in ``args`` and keywords: (positional args, options)."""
    args = list(args)
    opts = dict(kw)
    while len(args) >= 2 and isinstance(args[-2], str) and args[-2].lower() in {n.lower() for n in names}:
        opts[args[-2]] = args[-1]
        del args[-2:]
    out = {}
    for k, v in opts.items():
        match = [n for n in names if n.lower() == k.lower()]
        if not match:
            raise LayerGraphError(f"'{k}' is not a recognized parameter. Parameters: {', '.join(names)}.",
                                  "MATLAB:InputParser:UnmatchedParameter")
        out[match[0]] = v
    return args, out


_NOT_TRACED = ("Value to differentiate is not traced. It must be a traced real dlarray scalar. Use dlgradient "
               "inside a function called by dlfeval to trace the variables.")


def dlgradient(loss, *args, **kw):
    """``dlgradient(loss, x1, ..., xk)`` (or with 'RetainData', true): the gradients of the
    traced scalar ``loss`` with respect to each x (a dlarray, a Learnables table, or a list,
    tuple or dict of them), in the same structure. One x gives one result; several a tuple."""
    xs, opts = _options(args, kw, ("RetainData", "EnableHigherDerivatives"))
    if opts.get("EnableHigherDerivatives", False):
        raise LayerGraphError("'EnableHigherDerivatives' true is not supported by layergraph: gradients are "
                              "computed untraced (first derivatives only). Call dlgradient with "
                              "'EnableHigherDerivatives', false.", "deep:dlgradient:HigherDerivatives")
    if not isinstance(loss, dlarray) or not loss._traced() or ad.current() is not loss._tape:
        raise LayerGraphError(_NOT_TRACED, "deep:dlgradient:NotTraced")
    if loss.size != 1:
        raise LayerGraphError("Value to differentiate is non-scalar. It must be a traced real dlarray scalar.",
                              "deep:dlgradient:NonScalar")
    if not xs:
        raise LayerGraphError("Not enough input arguments: dlgradient needs the values to differentiate with "
                              "respect to.", "MATLAB:minrhs")
    tape = loss._tape
    leaves = []

    def collect(x):
        if isinstance(x, dlarray):
            if x._tape is not tape:
                raise LayerGraphError("Unable to compute the gradient with respect to an input that is not traced. "
                                      "Differentiate with respect to dlarray values passed to dlfeval (or computed "
                                      "from them).", "deep:dlgradient:InputNotTraced")
            leaves.append(x)
        elif isinstance(x, Table):
            for row in x:
                collect(row[-1])
        elif isinstance(x, dict):
            for v in x.values():
                collect(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                collect(v)
        else:
            raise LayerGraphError(f"Invalid value to differentiate with respect to: {type(x).__name__}. Expected a "
                                  "dlarray, or a table, struct (dict) or cell array (list) of dlarrays.",
                                  "deep:dlgradient:InvalidInput")

    for x in xs:
        collect(x)
    seed = np.ones(loss.shape, loss.dtype)
    grads = tape.gradients(loss._key, seed, [x._key for x in leaves], retain=bool(opts.get("RetainData", False)))
    found = {id(x): g for x, g in zip(leaves, grads)}

    def build(x):
        if isinstance(x, dlarray):
            g = found[id(x)]
            g = np.zeros_like(x._data) if g is None else np.asarray(g, dtype=x.dtype).reshape(x.shape)
            return dlarray._new(g, x._fmt)
        if isinstance(x, Table):
            return Table(x.columns, [tuple(row[:-1]) + (build(row[-1]),) for row in x])
        if isinstance(x, dict):
            return {k: build(v) for k, v in x.items()}
        return type(x)(build(v) for v in x)
    out = tuple(build(x) for x in xs)
    return out[0] if len(out) == 1 else out


# -- dlnetwork forward / predict on dlarrays ---------------------------------------------------------
# MATLAB layout of a dlarray format -> the executor's internal layout (a transpose)
_TO_INTERNAL = {"SSCB": (3, 2, 0, 1), "CB": (1, 0), "CBT": (1, 0, 2), "SSCBT": (3, 2, 0, 1, 4)}


def _to_layout(data, fmt):
    return np.ascontiguousarray(data.transpose(_TO_INTERNAL[fmt]))


def _from_layout(y, fmt):
    """An internal array (or gradient) back in the dlarray format's MATLAB layout."""
    return np.ascontiguousarray(y.transpose(np.argsort(_TO_INTERNAL[fmt])))


def _input_to_internal(X, size, name):
    """(internal array, format, SeqInfo or None) of the data X for the input layer ``name``."""
    fmt = X._fmt if isinstance(X, dlarray) else ""
    data = _as_data(X)
    if size.is_sequence:   # sequenceInputLayer: 'CBT' (vectors), 'SSCBT' (images); dlarray orders 'CTB' as 'CBT'
        want = "S" * len(size.spatial) + "CBT"
        if not fmt:   # unformatted: read as the layer's format when it has its number of dimensions
            if data.ndim != len(want):
                raise LayerGraphError(f"Invalid input data for layer '{name}'. The layer expects data with format "
                                      f"'{want}'; the unformatted data has {data.ndim} dimensions (size "
                                      f"{_dims(data.shape)}). Give a formatted dlarray, e.g. dlarray(X, '{want}').",
                                      "deep:dlnetwork:InvalidInputFormat")
            fmt = want
        if fmt != want or data.ndim > len(want):
            raise LayerGraphError(f"Invalid input data for layer '{name}'. The layer expects data with format "
                                  f"'{want}', but the data has format '{fmt}'.", "deep:dlnetwork:InvalidInputFormat")
        data = data.reshape(data.shape + (1,) * (len(want) - data.ndim))
        got = data.shape[:len(size.spatial) + 1]
        if got != size.dims:
            what = f"{size.channels} channels" if not size.spatial else f"size {_dims(size.dims)}"
            has = f"{got[-1]} channels" if not size.spatial else f"size {_dims(got)}"
            raise LayerGraphError(f"Invalid input data for layer '{name}'. Layer expects input data with {what}, "
                                  f"but the input data has {has}.", "deep:dlnetwork:InvalidInputSize")
        x = _to_layout(data, fmt)
        return x, fmt, SeqInfo(np.full(x.shape[0], x.shape[-1], np.int64), x.shape[-1])
    if size.is_image:
        if not fmt:
            fmt = "SSCB"[:max(data.ndim, 3)] if data.ndim <= 4 else fmt
        if fmt not in ("SSCB", "SSC"):
            raise LayerGraphError(f"Invalid input data for layer '{name}'. The layer expects data with format "
                                  f"'SSCB', but the data has format '{fmt}'.", "deep:dlnetwork:InvalidInputFormat")
        if data.ndim == 3:
            data = data[..., None]
        if data.shape[:3] != size.dims:
            raise LayerGraphError(f"Invalid input data for layer '{name}'. Layer expects input data of size "
                                  f"{_dims(size.dims)}, but the input data has size {_dims(data.shape[:3])}.",
                                  "deep:dlnetwork:InvalidInputSize")
        return cv.matlab_images_to_internal(data), "SSCB", None
    fmt = fmt or "CB"
    if fmt != "CB":
        raise LayerGraphError(f"Invalid input data for layer '{name}'. The layer expects data with format 'CB', "
                              f"but the data has format '{fmt}'.", "deep:dlnetwork:InvalidInputFormat")
    if data.shape[0] != size.channels:
        raise LayerGraphError(f"Invalid input data for layer '{name}'. Layer expects input data with "
                              f"{size.channels} channels, but the input data has {data.shape[0]} channels.",
                              "deep:dlnetwork:InvalidInputSize")
    return np.ascontiguousarray(data.T), "CB", None


def _dims(shape):
    return "[" + " ".join(map(str, shape)) + "]"


def _output_dlarray(y, size):
    """An internal activation as MATLAB's dlnetwork returns it: 'CBT' / 'SSCBT' with time, 'CB'
    once no spatial extent is left (a fully connected output), 'SSCB' otherwise."""
    if size.is_sequence:
        fmt = "CBT" if y.ndim == 3 else "SSCBT"
        return _from_layout(y, fmt), fmt
    if y.ndim == 2:
        return np.ascontiguousarray(y.T), "CB"
    if y.shape[2:] == (1, 1):
        return np.ascontiguousarray(y.reshape(y.shape[:2]).T), "CB"
    return cv.internal_images_to_matlab(y), "SSCB"


def _output_grad(dy, shape, fmt):
    """A gradient at an output (the dlarray's layout) in the executor's internal layout ``shape``."""
    if fmt in ("CBT", "SSCBT"):
        return _to_layout(dy, fmt).reshape(shape)
    if fmt == "CB":
        return np.ascontiguousarray(dy.T).reshape(shape)
    return cv.matlab_images_to_internal(dy).reshape(shape)


def _input_scale(op, P):
    """d(normalized input)/d(input) of an input layer: a factor (or 1)."""
    mode = op.layer.Normalization
    if callable(mode):
        raise LayerGraphError(f"Input layer '{op.layer.Name}': gradients through a function Normalization are not "
                              "supported.", "deep:dlgradient:UnsupportedNormalization")
    if mode == "zscore":
        return 1 / P["StandardDeviation"]
    if mode == "rescale-zero-one":
        return 1 / (P["Max"] - P["Min"])
    if mode == "rescale-symmetric":
        return 2 / (P["Max"] - P["Min"])
    return None


def _network_call(net, X, training, Outputs):
    xs = list(X) if isinstance(X, (tuple, list)) else [X]
    names = net._graph.input_layers()
    if len(xs) != len(names):
        raise LayerGraphError(f"The network has {len(names)} inputs ({', '.join(names)}) but {len(xs)} data arrays "
                              "were given.")
    dtype = next((x.dtype for x in xs if isinstance(x, dlarray) and x.dtype.kind == "f"), np.dtype(np.float32))
    ex = net.executor("cpu", dtype)
    feeds, fmts, seq = {}, [], {}
    for n, x in zip(names, xs):
        feeds[n], f, info = _input_to_internal(x, net._analysis.info(n).ActivationSizes["out"], n)
        feeds[n] = np.ascontiguousarray(feeds[n], dtype=ex.dtype)
        fmts.append(f)
        if info is not None:
            seq[n] = info
    if len({len(a) for a in feeds.values()}) > 1:
        raise LayerGraphError("All network inputs must have the same number of observations.",
                              "deep:dlnetwork:InconsistentBatchSize")
    refs = net._refs(Outputs)
    tape = ad.current()
    traced_net = isinstance(net, _TracedNetwork) and net._ad_tape is tape
    traced = tape is not None and (traced_net or any(isinstance(x, dlarray) and x._tape is tape for x in xs))
    layers = {s.name: s.op.layer for s in ex.steps}
    # traced predict: prediction's numbers (trained statistics, no dropout) with the contexts kept
    acts = ex.forward(feeds, training=training or traced, keep=set(refs), predicting=traced and not training,
                      seq=seq or None)
    outs = []
    for ref in refs:
        data, fmt = _output_dlarray(acts[ref], net.size(ref))
        outs.append(dlarray._new(np.array(data, copy=True), fmt))
    state = net._state_after(ex) if training else None
    if traced:
        ctx, fused = ex._ctx, dict(ex._fused_into)
        op_seq = [(s.op, s.op.seq) for s in ex.steps]   # the padding each op saw (a later call may change it)
        shapes = [acts[r].shape for r in refs]
        learn = list(net._ad_keys) if traced_net else []
        steps = {s.name: s for s in ex.steps}
        n_in = len(xs)

        def vjp(dys, need):
            ex._ctx, ex._fused_into = ctx, fused
            for op, info in op_seq:
                op.seq = info
            seeds = {r: _output_grad(d, s, o._fmt) for r, d, s, o in zip(refs, dys, shapes, outs) if d is not None}
            want_x = any(need[:n_in])
            grads = ex.backward(seeds, input_grads=want_x)
            dxs = []
            for n, x, f, wanted in zip(names, xs, fmts, need[:n_in]):
                g = ex.input_grads.get((n, "out")) if wanted else None
                if g is None:
                    dxs.append(None)
                    continue
                scale = _input_scale(steps[n].op, ex.params[n])
                if scale is not None:
                    g = g * scale
                g = _from_layout(g, f)
                dxs.append(g.reshape(_as_data(x).shape))
            for (layer, param), wanted in zip(learn, need[n_in:]):
                g = grads.get(layer, {}).get(param) if wanted else None
                if g is None:
                    dxs.append(None)
                    continue
                g = layers[layer]._matlab_view(param, steps[layer].op.stored(param, g))
                g.flags.writeable = True   # a fresh copy (a property's view is read-only)
                dxs.append(g)
            return dxs

        in_keys = [x._key if isinstance(x, dlarray) and x._tape is tape else None for x in xs]
        in_keys += [net._ad_keys[k] for k in learn]
        keys = tape.record(in_keys, len(outs), vjp)
        for o, k in zip(outs, keys):
            o._key, o._tape = k, tape
    y = outs[0] if len(outs) == 1 else tuple(outs)
    return (y, state) if training else y


_network._ARRAY_CALLS[dlarray] = _network_call


# -- layouts of the functional ops --------------------------------------------------------------
def _formatted(X, DataFormat=None, name="X"):
    X = X if isinstance(X, dlarray) else dlarray(X)
    if DataFormat is not None:
        if X._fmt:
            raise LayerGraphError(f"{name} is a formatted dlarray; DataFormat must be empty.",
                                  "deep:dlarray:DataFormatForFormatted")
        X = dlarray(X, DataFormat)
    if not X._fmt:
        raise LayerGraphError(f"{name} must be a formatted dlarray, or DataFormat must be specified.",
                              "deep:dlarray:UnformattedInput")
    return X


def _nc(X, t_as_batch=False):
    """(N x C x L x 1 array, back(y) -> X's layout) for a formatted X: B first, C second, every
    other dimension flattened (T folded into the batch with ``t_as_batch``)."""
    fmt, data = X._fmt, X._data
    b = fmt.find("B")
    c = fmt.find("C")
    t = fmt.find("T")
    batch = [i for i in (b, t if t_as_batch else -1) if i >= 0]
    rest = [i for i in range(len(fmt)) if i not in batch and i != c]
    perm = batch + ([c] if c >= 0 else []) + rest
    moved = np.transpose(data, perm)
    n = int(np.prod([data.shape[i] for i in batch])) if batch else 1
    ch = data.shape[c] if c >= 0 else 1
    arr = np.ascontiguousarray(moved).reshape(n, ch, -1, 1)
    inv = np.argsort(perm)
    moved_shape = moved.shape

    def back(y):
        return np.transpose(y.reshape(moved_shape), inv)
    return arr, back


def _sscb(X, what):
    if X._fmt not in ("SSCB", "SSC"):
        raise LayerGraphError(f"{what} supports 2-D image data with format 'SSCB'; the input has format "
                              f"'{X._fmt}'.", "deep:dlarray:UnsupportedFormat")
    data = X._data if X.ndim == 4 else X._data[..., None]
    return np.ascontiguousarray(data.transpose(3, 2, 0, 1))


def _from_nchw(y):
    return np.ascontiguousarray(y.transpose(2, 3, 1, 0))


def _param(v, dtype):
    """A parameter argument (weights, bias, offset, scale): its numpy data in ``dtype``."""
    return np.ascontiguousarray(_as_data(v), dtype=dtype)


def _pair_arg(v, n=2):
    a = np.atleast_1d(np.asarray(v, dtype=int)).reshape(-1)
    return tuple(int(x) for x in (np.repeat(a, n) if a.size == 1 else a))


def _pads(Padding, in_hw, filt_hw, stride, dilation):
    if isinstance(Padding, str):
        if Padding.lower() != "same":
            raise LayerGraphError(f"Invalid value for 'Padding': {Padding!r}. Expected 'same' or nonnegative "
                                  "integers.", "MATLAB:InputParser:ArgumentFailedValidation")
        return same_padding(in_hw, filt_hw, stride, dilation)
    p = np.asarray(Padding, dtype=int)
    if p.ndim == 2 and p.shape == (2, 2):   # [top left; bottom right]
        return (int(p[0, 0]), int(p[1, 0]), int(p[0, 1]), int(p[1, 1]))
    p = p.reshape(-1)
    if p.size == 1:
        return (int(p[0]),) * 4
    if p.size == 2:
        return (int(p[0]), int(p[0]), int(p[1]), int(p[1]))
    if p.size == 4:
        return tuple(int(v) for v in p)
    raise LayerGraphError("Invalid value for 'Padding': expected 'same', a scalar, [h w], [t b l r] or a 2-by-2 "
                          "matrix.", "MATLAB:InputParser:ArgumentFailedValidation")


def _grad_like(g, v):
    return None if g is None else np.asarray(g).reshape(np.shape(_as_data(v)))


# -- functional ops ---------------------------------------------------------------------------------
def dlconv(X, weights, bias, *args, **kw):
    """``dlconv(X, weights, bias, 'Stride', s, 'DilationFactor', d, 'Padding', p)``: 2-D
    convolution of 'SSCB' data with FH x FW x C x F weights and an F-element (or scalar) bias."""
    _, o = _options(args, kw, ("Stride", "DilationFactor", "Padding", "DataFormat"))
    X = _formatted(X, o.get("DataFormat"))
    x = _sscb(X, "dlconv")
    w_m = _param(weights, x.dtype)
    if w_m.ndim == 2:
        w_m = w_m[:, :, None, None]
    elif w_m.ndim == 3:
        w_m = w_m[..., None]
    if w_m.shape[2] != x.shape[1]:
        raise LayerGraphError(f"The number of channels of the weights ({w_m.shape[2]}) must match the number of "
                              f"channels of the input ({x.shape[1]}).", "deep:dlconv:ChannelMismatch")
    f = w_m.shape[3]
    b = _param(bias, x.dtype).reshape(-1)
    b = np.full(f, b[0], x.dtype) if b.size == 1 else b
    stride = _pair_arg(o.get("Stride", 1))
    dilation = _pair_arg(o.get("DilationFactor", 1))
    pads = _pads(o.get("Padding", 0), x.shape[2:], w_m.shape[:2], stride, dilation)
    w = cv.conv_weights_to_internal(w_m)
    y, vjp = ad.conv2d(x, w, b, stride, dilation, pads)

    def back(dys, need):
        dy = cv.matlab_images_to_internal(dys[0])
        dx, dw, db = vjp(dy, need)
        return (_from_nchw(dx).reshape(X.shape) if need[0] and dx is not None else None,
                _grad_like(cv.conv_weights_to_matlab(dw), weights), _grad_like(db.sum() if np.size(bias) == 1
                                                                               else db, bias))
    return dlarray._new(_from_nchw(y), "SSCB", [X, weights, bias], back)


def fullyconnect(X, weights, bias, *args, **kw):
    """``fullyconnect(X, weights, bias)``: weights OutputSize x InputSize, where InputSize is the
    number of elements of one observation (its 'S' and 'C' dimensions, flattened column-major);
    the result is 'CB' ('CBT' for sequences)."""
    _, o = _options(args, kw, ("DataFormat",))
    X = _formatted(X, o.get("DataFormat"))
    fmt = X._fmt
    if "U" in fmt:
        raise LayerGraphError(f"fullyconnect does not support 'U' dimensions (format '{fmt}').",
                              "deep:dlarray:UnsupportedFormat")
    if "B" not in fmt and "C" not in fmt:
        raise LayerGraphError("fullyconnect needs a 'C' or 'B' dimension.", "deep:dlarray:UnsupportedFormat")
    data = X._data
    k = fmt.find("B") if "B" in fmt else (fmt.find("T") if "T" in fmt else len(fmt))
    features = int(np.prod(data.shape[:k]))
    obs_shape = data.shape[k:]
    rest = int(np.prod(obs_shape)) if obs_shape else 1
    w = _param(weights, data.dtype)
    w = w.reshape(w.shape[0], -1)
    if w.shape[1] != features:
        raise LayerGraphError(f"The weights must have {features} columns (the number of elements of one "
                              f"observation), but they have {w.shape[1]}.", "deep:fullyconnect:WeightsSize")
    b = _param(bias, data.dtype).reshape(-1)
    b = np.full(w.shape[0], b[0], data.dtype) if b.size == 1 else b
    x2 = np.ascontiguousarray(data.reshape(features, rest, order="F").T)
    y2, vjp = ad.fully_connected(x2, w, b)
    out_fmt = "C" + fmt[k:]
    y = y2.T.reshape((w.shape[0],) + obs_shape, order="F")

    def back(dys, need):
        dy2 = np.ascontiguousarray(dys[0].reshape(w.shape[0], rest, order="F").T)
        dx2, dw, db = vjp(dy2)
        return (dx2.T.reshape(data.shape, order="F"), _grad_like(dw, weights),
                _grad_like(db.sum() if np.size(bias) == 1 else db, bias))
    return dlarray._new(np.ascontiguousarray(y), out_fmt if len(out_fmt) > 1 else "CB", [X, weights, bias], back)


def _channel_params(X, c, *vs):
    return [_param(v, X.dtype).reshape(-1) if np.size(_as_data(v)) == c else
            np.full(c, float(np.asarray(_as_data(v)).reshape(-1)[0]), X.dtype) for v in vs]


def batchnorm(X, offset, scaleFactor, *args, **kw):
    """``[Y, mu, sigmaSq] = batchnorm(X, offset, scaleFactor)``: normalized with the batch's
    statistics (per channel, biased variance), returned with them. ``batchnorm(X, offset,
    scaleFactor, trainedMean, trainedVariance)``: Y with the given statistics (prediction);
    with ``Training=True``: (Y, updated mean, updated variance), the running statistics updated
    with MeanDecay and VarianceDecay (0.1) as the layer does."""
    pos, o = _options(args, kw, ("Epsilon", "MeanDecay", "VarianceDecay", "DataFormat", "Training"))
    X = _formatted(X, o.get("DataFormat"))
    eps = float(o.get("Epsilon", 1e-5))
    x, back_layout = _nc(X, t_as_batch=True)
    c = x.shape[1]
    off, sc = _channel_params(X, c, offset, scaleFactor)
    if pos and len(pos) != 2:
        raise LayerGraphError("batchnorm takes both trainedMean and trainedVariance, or neither.",
                              "MATLAB:narginchk:notEnoughInputs")
    if pos and not o.get("Training", False):
        mean_, var_ = (_param(v, X.dtype).reshape(-1) for v in pos)
        y, vjp = ad.batchnorm_infer(x, sc, off, mean_, var_, eps)
        stats = None
    else:
        y, mean_b, var_b, vjp = ad.batchnorm_train(x, sc, off, eps)
        stats = (mean_b, var_b)

    def back(dys, need):
        dy = np.ascontiguousarray(_nc(dlarray._new(dys[0], X._fmt), t_as_batch=True)[0])
        dx, dscale, doffset = vjp(dy)
        return back_layout(dx).reshape(X.shape), _grad_like(doffset, offset), _grad_like(dscale, scaleFactor)
    Y = dlarray._new(np.ascontiguousarray(back_layout(y)), X._fmt, [X, offset, scaleFactor], back)
    if stats is None:
        return Y
    if pos:
        shape = np.shape(_as_data(pos[0]))
        md, vd = float(o.get("MeanDecay", 0.1)), float(o.get("VarianceDecay", 0.1))
        run_m = cv.update_running(_param(pos[0], X.dtype).reshape(-1), stats[0], md).astype(X.dtype)
        run_v = cv.update_running(_param(pos[1], X.dtype).reshape(-1), stats[1], vd).astype(X.dtype)
        return Y, run_m.reshape(shape), run_v.reshape(shape)
    return Y, stats[0].reshape(np.shape(_as_data(offset))), stats[1].reshape(np.shape(_as_data(offset)))


def layernorm(X, offset, scaleFactor, *args, **kw):
    """``layernorm(X, offset, scaleFactor)``: each observation (and time step) normalized over its
    'S' and 'C' dimensions, then scaled and offset per channel."""
    _, o = _options(args, kw, ("Epsilon", "DataFormat"))
    X = _formatted(X, o.get("DataFormat"))
    eps = float(o.get("Epsilon", 1e-5))
    x, back_layout = _nc(X, t_as_batch=True)
    off, sc = _channel_params(X, x.shape[1], offset, scaleFactor)
    y, vjp = ad.layernorm(x, sc, off, eps)

    def back(dys, need):
        dy = np.ascontiguousarray(_nc(dlarray._new(dys[0], X._fmt), t_as_batch=True)[0])
        dx, dscale, doffset = vjp(dy)
        return back_layout(dx).reshape(X.shape), _grad_like(doffset, offset), _grad_like(dscale, scaleFactor)
    return dlarray._new(np.ascontiguousarray(back_layout(y)), X._fmt, [X, offset, scaleFactor], back)


def _activation(family, X, *hp):
    X = X if isinstance(X, dlarray) else dlarray(X)
    x = X._data if X.dtype.kind == "f" else X._data.astype(np.float64)
    y, vjp = ad.activation(family, np.ascontiguousarray(x), *hp)
    return dlarray._new(y, X._fmt, [X], lambda dys, need: (vjp(dys[0]),))


def relu(X):
    """max(X, 0), elementwise."""
    return _activation("relu", X)


def leakyrelu(X, scaleFactor=0.01):
    """X where X > 0, scaleFactor * X elsewhere (MATLAB's default scale 0.01)."""
    return _activation("leakyrelu", X, float(scaleFactor))


def sigmoid(X):
    """1 / (1 + exp(-X)), elementwise."""
    return _activation("sigmoid", X)


def softmax(X, *args, **kw):
    """Softmax over the 'C' dimension of formatted data."""
    _, o = _options(args, kw, ("DataFormat",))
    X = _formatted(X, o.get("DataFormat"))
    if "C" not in X._fmt:
        raise LayerGraphError("softmax needs data with a 'C' dimension.", "deep:dlarray:UnsupportedFormat")
    x, back_layout = _nc(X)
    y, vjp = ad.activation("softmax", x)

    def back(dys, need):
        dy = np.ascontiguousarray(_nc(dlarray._new(dys[0], X._fmt))[0])
        return (back_layout(vjp(dy)).reshape(X.shape),)
    return dlarray._new(np.ascontiguousarray(back_layout(y)), X._fmt, [X], back)


def _pool(kind, X, poolsize, args, kw):
    _, o = _options(args, kw, ("Stride", "Padding", "PaddingValue", "DataFormat"))
    X = _formatted(X, o.get("DataFormat"))
    x = _sscb(X, kind)
    pool = _pair_arg(poolsize)
    stride = _pair_arg(o.get("Stride", 1))
    pads = _pads(o.get("Padding", 0), x.shape[2:], pool, stride, (1, 1))
    if kind == "maxpool":
        y, vjp = ad.maxpool(x, pool, stride, pads)
    else:
        y, vjp = ad.avgpool(x, pool, stride, pads, o.get("PaddingValue", 0) != "mean")

    def back(dys, need):
        return (_from_nchw(vjp(cv.matlab_images_to_internal(dys[0]))).reshape(X.shape),)
    return dlarray._new(_from_nchw(y), "SSCB", [X], back)


def maxpool(X, poolsize, *args, **kw):
    """``maxpool(X, poolsize, 'Stride', s, 'Padding', p)`` of 'SSCB' data (Stride 1 by default)."""
    return _pool("maxpool", X, poolsize, args, kw)


def avgpool(X, poolsize, *args, **kw):
    """``avgpool(X, poolsize, 'Stride', s, 'Padding', p)`` of 'SSCB' data; padding counts as zeros."""
    return _pool("avgpool", X, poolsize, args, kw)


def _loss_pair(Y, T, o, name):
    """Y formatted, and T's data in Y's dimension order (a formatted T of the same labels is
    permuted to Y's format; an unformatted one is read in Y's)."""
    Y = _formatted(Y, o.get("DataFormat"), "Y")
    if isinstance(T, dlarray) and T._fmt and T._fmt != Y._fmt and sorted(T._fmt) == sorted(Y._fmt):
        T = stripdims(T, Y._fmt)
    Td = np.asarray(_as_data(T), dtype=Y.dtype)
    if Td.shape != Y.shape:
        if Td.size != Y.size:
            raise LayerGraphError(f"{name}: Size of predictions and target values arguments must match.",
                                  "deep:dlarray:SizeMismatch")
        Td = Td.reshape(Y.shape)
    return Y, Td


def _scalar(value, dtype, parents, vjp):
    return dlarray._new(np.asarray(value, dtype=dtype).reshape(1, 1), "", parents, vjp)


def crossentropy(Y, T, *args, **kw):
    """``crossentropy(Y, T)``: -sum(T .* log(Y)) / N over the 'C' dimension (single-label), N the
    number of observations (the 'B' dimension)."""
    _, o = _options(args, kw, ("DataFormat",))
    Y, Td = _loss_pair(Y, T, o, "crossentropy")
    y, back_layout = _nc(Y)
    t, _ = _nc(dlarray._new(Td, Y._fmt))
    y2, t2 = (y.reshape(y.shape[:2]), t.reshape(t.shape[:2])) if y.shape[2] == 1 else (y, t)
    loss, vjp = ad.crossentropy(np.ascontiguousarray(y2), np.ascontiguousarray(t2))
    return _scalar(loss, Y.dtype, [Y], lambda dys, need: (
        back_layout(vjp(float(dys[0].reshape(-1)[0])).reshape(y.shape)).reshape(Y.shape),))


def _batch_count(Y):
    b = Y._fmt.find("B")
    return Y.shape[b] if b >= 0 else 1


def mse(Y, T, *args, **kw):
    """``mse(Y, T)``: half mean squared error, sum((Y - T).^2) / 2 / N (N observations)."""
    _, o = _options(args, kw, ("DataFormat",))
    Y, Td = _loss_pair(Y, T, o, "mse")
    y, back_layout = _nc(Y)
    t, _ = _nc(dlarray._new(Td, Y._fmt))
    loss, vjp = ad.half_mse(y, t)

    def back(dys, need):
        dy, dt = vjp(float(dys[0].reshape(-1)[0]))
        return back_layout(dy).reshape(Y.shape), back_layout(dt).reshape(Y.shape)
    return _scalar(loss, Y.dtype, [Y, T], back)


def _elementwise_loss(name, Y, T, args, kw, f, df):
    _, o = _options(args, kw, ("DataFormat", "TransitionPoint", "NormalizationFactor"))
    Y, Td = _loss_pair(Y, T, o, name)
    norm = str(o.get("NormalizationFactor", "batch-size")).lower()
    n = {"batch-size": _batch_count(Y), "all-elements": Y.size, "none": 1}.get(norm)
    if n is None:
        raise LayerGraphError(f"Invalid value for 'NormalizationFactor': {norm!r}. Expected 'batch-size', "
                              "'all-elements' or 'none'.", "MATLAB:InputParser:ArgumentFailedValidation")
    d = Y._data - Td
    loss = float(np.sum(f(d, o).astype(np.float64)) / n)

    def back(dys, need):
        g = (df(d, o) * (float(dys[0].reshape(-1)[0]) / n)).astype(Y.dtype)
        return g, -g
    return _scalar(loss, Y.dtype, [Y, T], back)


def l1loss(Y, T, *args, **kw):
    """``l1loss(Y, T)``: sum(|Y - T|) / N (NormalizationFactor 'batch-size')."""
    return _elementwise_loss("l1loss", Y, T, args, kw, lambda d, o: np.abs(d), lambda d, o: np.sign(d))


def l2loss(Y, T, *args, **kw):
    """``l2loss(Y, T)``: sum((Y - T).^2) / N (NormalizationFactor 'batch-size')."""
    return _elementwise_loss("l2loss", Y, T, args, kw, lambda d, o: d * d, lambda d, o: 2 * d)


def huber(Y, T, *args, **kw):
    """``huber(Y, T, 'TransitionPoint', delta)``: sum of 0.5 d^2 where |d| <= delta, delta (|d| -
    0.5 delta) elsewhere, divided by N."""
    def f(d, o):
        delta = float(o.get("TransitionPoint", 1))
        a = np.abs(d)
        return np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    def df(d, o):
        delta = float(o.get("TransitionPoint", 1))
        return np.where(np.abs(d) <= delta, d, delta * np.sign(d))
    return _elementwise_loss("huber", Y, T, args, kw, f, df)


# -- solvers ------------------------------------------------------------------------------------
def _items(obj):
    """[(key, MATLAB-layout array, learn-rate factor)] of the learnables in ``obj``."""
    if isinstance(obj, DLNetwork):
        factors = obj._learn_rate_factors()
        return [((r[0], r[1]), r[2], float(factors[(r[0], r[1])])) for r in obj._arrays("learnables")]
    if isinstance(obj, Table):
        return [((row[0], row[1]) if len(row) >= 3 else (i,), np.asarray(_as_data(row[-1])), 1.0)
                for i, row in enumerate(obj)]
    if isinstance(obj, (dlarray, np.ndarray)):
        return [((), np.asarray(_as_data(obj)), 1.0)]
    if isinstance(obj, dict):
        return [((k,) + (sub if isinstance(sub, tuple) else (sub,)), a, f)
                for k, v in obj.items() for sub, a, f in _items(v)]
    if isinstance(obj, (list, tuple)):
        return [((i,) + (sub if isinstance(sub, tuple) else (sub,)), a, f)
                for i, v in enumerate(obj) for sub, a, f in _items(v)]
    raise LayerGraphError(f"Invalid learnable parameters: {type(obj).__name__}. Expected a dlnetwork, a table, a "
                          "dlarray, or a struct (dict) or cell array (list) of them.",
                          "deep:solvers:InvalidParameters")


def _like(template, values: dict):
    """``values`` ({key: array}) in the structure of ``template`` (a dlnetwork gives a table)."""
    if isinstance(template, (DLNetwork, Table)):
        keys = [k for k, _, _ in _items(template)]
        rows = list(DLNetwork.Learnables.fget(template)) if isinstance(template, DLNetwork) else list(template)
        return Table(_COLUMNS if isinstance(template, DLNetwork) else template.columns,
                     [tuple(row[:-1]) + (dlarray._new(values[k], ""),) for row, k in zip(rows, keys)])
    if isinstance(template, dlarray):
        return dlarray._new(values[()], template._fmt)
    if isinstance(template, np.ndarray):
        return values[()]

    if isinstance(template, dict):
        return {k: _like(v, _subkeys(values, k)) for k, v in template.items()}
    return type(template)(_like(v, _subkeys(values, i)) for i, v in enumerate(template))


def _subkeys(values, prefix):
    out = {}
    for k, v in values.items():
        if k[:1] == (prefix,):
            rest = k[1:]
            out[rest[0] if len(rest) == 1 and isinstance(rest[0], tuple) else rest] = v
    return out


def _state(obj):
    """A solver state as {key: array}; None for MATLAB's [] (the first call)."""
    if obj is None or (isinstance(obj, (list, tuple)) and len(obj) == 0) or \
            (isinstance(obj, np.ndarray) and obj.size == 0):
        return None
    return {k: a for k, a, _ in _items(obj)}


def _updated(net, values: dict):
    if isinstance(net, DLNetwork):
        return net._with_arrays(values)
    return _like(net, values)


def _in_order(obj, keys, name, what):
    """The arrays of ``obj`` (gradients or a solver state) for the learnables ``keys`` of a
    dlnetwork, in their order: a table in the order of net.Learnables is read row by row,
    anything else matched by key. None for MATLAB's [] (a first call's state)."""
    if what == "state" and _state(obj) is None:
        return None
    if isinstance(obj, Table) and len(obj) == len(keys) and len(obj.columns) >= 3 and \
            all((row[0], row[1]) == k for row, k in zip(obj, keys)):
        return [_as_data(row[-1]) for row in obj]
    found = {k: a for k, a, _ in _items(obj)}
    out = []
    for k in keys:
        if k not in found:
            raise LayerGraphError(f"{name}: the {'gradients' if what == 'grad' else 'state'} have no value for the "
                                  f"learnable {k!r}. They must have the structure of the parameters.",
                                  "deep:solvers:GradientMismatch")
        out.append(found[k])
    return out


def _solve_network(name, net, grad, states, step):
    """``_solve`` for a dlnetwork: its learnables in the order of net.Learnables, the gradients and
    states read in that order, the learnables a factor 0 freezes left as they are; the new network
    keeps the executors of the old one for the layers that did not change."""
    rows = net._arrays("learnables")
    keys = [(r[0], r[1]) for r in rows]
    factors = net._learn_rate_factors()
    g_in = _in_order(grad, keys, name, "grad")
    st_in = [_in_order(s, keys, name, "state") for s in states]
    new_w, new_states = {}, [[] for _ in states]
    for i, (key, (_, _, w)) in enumerate(zip(keys, rows)):
        g = np.asarray(g_in[i], dtype=w.dtype)
        if g.size != w.size:
            raise LayerGraphError(f"{name}: the gradient of {key!r} has {g.size} elements; the parameter has {w.size}.",
                                  "deep:solvers:GradientMismatch")
        g = g.reshape(w.shape)
        slots = [np.array(st[i], dtype=w.dtype).reshape(w.shape) if st is not None else np.zeros_like(w)
                 for st in st_in]
        factor = float(factors[key])
        if factor != 0:
            w = np.array(w, order="C")
            step(w, g, slots, factor)
            w.flags.writeable = False   # as a layer's property gives it (net.Learnables reads it as it is)
            new_w[key] = w
        for d, slot in zip(new_states, slots):
            d.append(slot)
    out = net._with_arrays(new_w, matlab=new_w) if new_w else copy.copy(net)
    return (out, *(Table(_COLUMNS, [(k[0], k[1], dlarray._new(a, "")) for k, a in zip(keys, d)])
                   for d in new_states))


def _solve(name, net, grad, states, step):
    """One solver step over every learnable: ``step(w, g, state arrays, lr factor)`` in place on copies."""
    if isinstance(net, DLNetwork):
        return _solve_network(name, net, grad, states, step)
    params = _items(net)
    g_of = {k: a for k, a, _ in _items(grad)}
    st_of = [_state(s) for s in states]
    new_w, new_states = {}, [dict() for _ in states]
    for key, w, factor in params:
        if key not in g_of:
            raise LayerGraphError(f"{name}: the gradients have no value for the learnable {key!r}. The gradients must "
                                  "have the structure of the parameters.", "deep:solvers:GradientMismatch")
        g = np.asarray(g_of[key], dtype=w.dtype)
        if g.size != w.size:
            raise LayerGraphError(f"{name}: the gradient of {key!r} has {g.size} elements; the parameter has {w.size}.",
                                  "deep:solvers:GradientMismatch")
        g = g.reshape(w.shape)
        w = np.array(w, copy=True)
        slots = [np.array(s[key], dtype=w.dtype, copy=True).reshape(w.shape) if s is not None else np.zeros_like(w)
                 for s in st_of]
        if factor != 0:
            step(w, g, slots, factor)
        new_w[key] = w
        for d, s in zip(new_states, slots):
            d[key] = s
    return (_updated(net, new_w), *(_like(net, d) for d in new_states))


def _num(v, default, what):
    if v is None or (isinstance(v, (list, tuple)) and not v):
        return default
    try:
        return float(v)
    except (TypeError, ValueError):
        raise LayerGraphError(f"Invalid value for {what}: expected a real scalar.",
                              "MATLAB:validators:mustBeNumeric") from None


def sgdmupdate(net, grad, vel, learnRate=0.01, momentum=0.9):
    """``[net, vel] = sgdmupdate(net, grad, vel, learnRate, momentum)``: v = momentum * v -
    learnRate * g; w = w + v (vel ``[]`` or None at the first call). A dlnetwork's learn-rate
    factors multiply learnRate (a factor 0 leaves the learnable as it is)."""
    lr, mu = _num(learnRate, 0.01, "learnRate"), _num(momentum, 0.9, "momentum")
    return _solve("sgdmupdate", net, grad, [vel],
                  lambda w, g, s, f: solvers.sgdm_step(w, g, s[0], lr * f, mu))


def adamupdate(net, grad, averageGrad, averageSqGrad, iteration, learnRate=0.001, gradDecay=0.9,
               sqGradDecay=0.999, epsilon=1e-8):
    """``[net, averageGrad, averageSqGrad] = adamupdate(net, grad, averageGrad, averageSqGrad,
    iteration, learnRate, gradDecay, sqGradDecay, epsilon)``: the trainer's Adam step."""
    t = int(iteration)
    if t < 1:
        raise LayerGraphError("Invalid value for iteration: expected a positive integer.",
                              "MATLAB:validators:mustBePositive")
    lr, b1 = _num(learnRate, 0.001, "learnRate"), _num(gradDecay, 0.9, "gradDecay")
    b2, eps = _num(sqGradDecay, 0.999, "sqGradDecay"), _num(epsilon, 1e-8, "epsilon")
    return _solve("adamupdate", net, grad, [averageGrad, averageSqGrad],
                  lambda w, g, s, f: solvers.adam_step(w, g, s[0], s[1], lr * f, b1, b2, eps, t))


def rmspropupdate(net, grad, averageSqGrad, learnRate=0.001, sqGradDecay=0.9, epsilon=1e-8):
    """``[net, averageSqGrad] = rmspropupdate(net, grad, averageSqGrad, learnRate, sqGradDecay,
    epsilon)``: the trainer's RMSProp step."""
    lr, rho = _num(learnRate, 0.001, "learnRate"), _num(sqGradDecay, 0.9, "sqGradDecay")
    eps = _num(epsilon, 1e-8, "epsilon")
    return _solve("rmspropupdate", net, grad, [averageSqGrad],
                  lambda w, g, s, f: solvers.rmsprop_step(w, g, s[0], lr * f, rho, eps))


def dlupdate(fun, net, *others):
    """``dlupdate(fun, net_or_params, X1, ...)``: ``fun`` applied to each learnable (and the
    matching values of the others, e.g. ``dlupdate(lambda g, w: g + l2 * w, grads, net.Learnables)``);
    a dlnetwork gives a dlnetwork back, a table or structure the same structure."""
    params = _items(net)
    rest = [{k: a for k, a, _ in _items(o)} for o in others]
    values = {}
    for key, w, _ in params:
        args = [dlarray._new(w, "")] + [dlarray._new(r[key], "") for r in rest]
        y = fun(*args)
        values[key] = np.asarray(_as_data(y), dtype=w.dtype).reshape(w.shape)
    return _updated(net, values)


def initialize(net, *examples):
    """``net = initialize(net)``: the learnables and state still empty initialized.
    ``initialize(net, X1, ..., Xn)`` also sizes a network without input layers from example
    data: one formatted dlarray per unconnected layer input, in the order of the layers; each
    becomes an input layer ('SSCB': imageInputLayer, 'CB': featureInputLayer, Normalization
    'none') named ``input`` (``input_2``, ...) connected to that input."""
    if not isinstance(net, DLNetwork):
        raise LayerGraphError(f"initialize needs a dlnetwork, not {type(net).__name__}.",
                              "nnet_cnn:dlnetwork:InitializeInvalidNetwork")
    lg = net.layer_graph
    if examples:
        from .constructors import CONSTRUCTORS
        free = lg.unconnected_inputs()
        if len(free) != len(examples):
            raise LayerGraphError(f"The network has {len(free)} unconnected inputs "
                                  f"({', '.join(f'{n}/{p}' for n, p in free) or 'none'}) but {len(examples)} "
                                  "example inputs were given.", "nnet_cnn:dlnetwork:InitializeWrongNumInputs")
        added = []
        for i, ((layer, port), X) in enumerate(zip(free, examples)):
            fmt = X._fmt if isinstance(X, dlarray) else ""
            name = "input" if i == 0 else f"input_{i + 1}"
            if fmt in ("SSCB", "SSC"):
                inp = CONSTRUCTORS["imageInputLayer"](list(X.shape[:3]), "Normalization", "none", "Name", name)
            elif fmt in ("CB", "C"):
                inp = CONSTRUCTORS["featureInputLayer"](X.shape[0], "Normalization", "none", "Name", name)
            else:
                raise LayerGraphError(f"Example input {i + 1} must be a formatted dlarray with format 'SSCB' or "
                                      f"'CB'; its format is '{fmt}'.", "nnet_cnn:dlnetwork:InitializeInvalidInput")
            added.append((inp, layer, port))
        # the input layers first, as they would be in a layer array
        new = LayerGraph()
        new._g.graph.update(copy.deepcopy(lg._g.graph))
        for inp, _, _ in added:
            new._add(inp)
        for n in lg._g.nodes:
            new._add(lg.layer(n))
        for src, out, dst, inp_port in lg.connections():
            new._connect(src, out, dst, inp_port)
        for inp, layer, port in added:
            new._connect(inp.Name, inp.OutputNames[0], layer, port)
        lg = new
    return DLNetwork.build(lg, Initialize=True)


def onehotencode(A, featureDim, *args, **kw):
    """``onehotencode(labels, featureDim)``: a categorical vector as one-hot numbers, the classes
    (in the order of its categories) along dimension ``featureDim`` (1: K x N, 2: N x K)."""
    from .categorical import Categorical
    _, o = _options(args, kw, ("ClassNames", "DataType"))
    cat = A if isinstance(A, Categorical) else Categorical(A, o.get("ClassNames"))
    dtype = {"single": np.float32, "double": np.float64}.get(str(o.get("DataType", "single")).lower(), np.float32)
    onehot = cat.onehot(dtype)   # N x K
    if int(featureDim) == 1:
        return np.ascontiguousarray(onehot.T)
    if int(featureDim) == 2:
        return onehot
    raise LayerGraphError(f"Invalid value for featureDim: {featureDim!r}. Expected 1 or 2 for a vector of labels.",
                          "MATLAB:onehotencode:InvalidFeatureDim")


__all__ = ["initialize", "onehotencode", "dlfeval", "dlgradient", "dlconv", "fullyconnect", "batchnorm",
           "layernorm", "relu", "leakyrelu", "sigmoid", "softmax", "maxpool", "avgpool", "crossentropy", "mse",
           "l1loss", "l2loss", "huber", "sgdmupdate", "adamupdate", "rmspropupdate", "dlupdate"]
