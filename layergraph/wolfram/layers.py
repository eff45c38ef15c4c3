"""Wolfram layers: Wolfram's names, options, defaults and array layouts, each mapped onto
core layer specs (whose property names are MATLAB's) by ``build``.

A layer is a value: options and arrays are fixed at construction; NetInitialize,
NetReplacePart and NetTrain return new layers. Arrays are kept in Wolfram's layout
(``Weights`` of a LinearLayer {nOut, nIn}, read row-major over the input's
(channels, height, width); of a ConvolutionLayer {out, in/groups, kh, kw}); ``None`` in
``arrays`` means ``Automatic`` (not yet initialized).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import layers as L
from ..core import conventions as cv
from ..core import registry
from ..core.errors import LayerGraphError
from ..core.layer import Layer as CoreLayer
from ..core.layer import Internal, matlab_size_equal
from ..core.registry import BY_CLASS
from ..core.size import Size
from . import symbols as S
from .args import checked_init, one_of, same
from .display import layer_renderable, layer_text
from .netarray import NetArray, share_array, take_netarrays
from .types import _wl, dims_to_size, is_varying, port_spec, size_to_dims, wl_list


# A lone layer computes, and is sized for its printout, as the NetChain of itself. NetChain is
# in net.py, above this module (a chain holds layers); net.py registers it here when it is
# imported, which the package does before any layer can be used.
_LONE_CHAIN = None


_LONE_CALL = None


def register_lone_call(call) -> None:
    """states.py: ``call(layer, x, prop, **options)`` evaluates a lone layer (its recurrent
    states keyed ("State",), not (1, "State"))."""
    global _LONE_CALL
    _LONE_CALL = call


def register_lone_chain(chain_class) -> None:
    """net.py: ``chain_class([layer])`` is the net a lone layer evaluates and sizes as."""
    global _LONE_CHAIN
    _LONE_CHAIN = chain_class


def _err(head: str, message: str, tag: str = "General::valfail") -> LayerGraphError:
    return LayerGraphError(f"Validation failed for {head}: {message}", tag)


def _opt_err(head: str, option: str, value, allowed: str) -> LayerGraphError:
    return LayerGraphError(f"Invalid argument for {head}: the value of {option} -> {_wl(value)} should be "
                           f"{allowed}.", "General::cstfail")


def _pos_int(head, option, value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise _opt_err(head, option, value, "a positive integer")


def _level_option(head, value) -> int:
    """The level argument of SoftmaxLayer and CatenateLayer: a nonzero integer (negative counts
    from the last dimension)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value == 0:
        raise _opt_err(head, "the level", value, "a nonzero integer")
    return int(value)


def _int_tuple(head, option, value, rank=2, lo=1):
    """n or {n1, n2}: a positive (lo=1) or nonnegative (lo=0) integer per dimension."""
    vals = [value] * rank if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        vals = list(vals)
    except TypeError:
        raise _opt_err(head, option, value, f"an integer or a list of {rank} integers") from None
    if len(vals) != rank or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo
                                    for v in vals):
        word = "positive" if lo == 1 else "nonnegative"
        raise _opt_err(head, option, value, f"a {word} integer or a list of {rank} {word} integers")
    return tuple(int(v) for v in vals)


def _padding(head, value):
    """PaddingSize: n, {n1, n2}, {{lo1, hi1}, {lo2, hi2}} or "Same" -> ('same' | [t b l r])."""
    if isinstance(value, str):
        if value.lower() == "same":
            return "same"
        raise _opt_err(head, "PaddingSize", value, 'a nonnegative integer, a list of them, or "Same"')
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        if len(value) != 2 or not all(len(v) == 2 for v in value):
            raise _opt_err(head, "PaddingSize", value, "a list {{lo1, hi1}, {lo2, hi2}}")
        (t, b), (left, r) = value
        vals = _int_tuple(head, "PaddingSize", [t, b, left, r], rank=4, lo=0)
        return vals
    h, w = _int_tuple(head, "PaddingSize", value, rank=2, lo=0)
    return (h, h, w, w)


def _array(head, name, value):
    if value is None or value is S.Automatic:
        return None
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _err(head, f"the array \"{name}\" should be a numeric array.") from None
    if arr.ndim == 0 or not np.all(np.isfinite(arr)):
        raise _err(head, f"the array \"{name}\" should be a numeric array of finite values.")
    return arr.astype(np.float32)


def _lrm(head, value):
    """LearningRateMultipliers of a layer: Automatic, a number r (None or 0 freezes) or
    {"array" -> r} as a dict."""
    if value is None:
        return 0.0
    if value is S.Automatic:
        return None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = _lrm(head, v)
        return out
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise _opt_err(head, "LearningRateMultipliers", value, "Automatic, None, a nonnegative number or "
                                                           "a dict {array name: multiplier}")


@dataclass
class Built:
    """What a Wolfram layer becomes in the core: specs in series, the one that owns the
    arrays, the output rank, and how to read the arrays back."""

    specs: list[CoreLayer]
    main: int = 0
    out_rank: int | None = None
    read_arrays: Callable[[CoreLayer], dict[str, np.ndarray]] | None = None
    frozen_state: bool = False   # BN moving statistics stay (multiplier 0 or Momentum 1)
    extra: dict[str, Any] = field(default_factory=dict)
    port_forms: dict[str, int] | None = None   # the ranks of outputs beyond "Output" (a recurrent layer's states)

    @property
    def form(self) -> int | None:
        """What core inference carries along this layer's output (core/graph.py Builder):
        the rank, which a core size does not keep."""
        return self.out_rank


class NetLayer:
    """Base of the Wolfram layers."""

    head = "Layer"
    array_names: tuple[str, ...] = ()
    aux_arrays: tuple[str, ...] = ()   # updated from the data, not trained: never shared (NetArray)
    multiport = False     # one "Input" port that takes a list of arrays (CatenateLayer, TotalLayer, ...)

    def __init__(self, *, Input=None, Output=None, LearningRateMultipliers=S.Automatic, **arrays):
        arrays = take_netarrays(self, arrays)   # NetArray values: layer.shared {array: name}
        self.params: dict[str, Any] = {}
        self.input_spec = port_spec(Input, f"{self.head} option \"Input\"")
        self.output_spec = port_spec(Output, f"{self.head} option \"Output\"")
        self.lrm = _lrm(self.head, LearningRateMultipliers)
        self.arrays: dict[str, np.ndarray | None] = {}
        self.disabled: set[str] = set()      # arrays set to None ("Biases" -> None)
        for name in self.array_names:
            if name in arrays:
                value = arrays.pop(name)
                if value is None and name in self._optional_arrays():
                    self.disabled.add(name)
                    continue
                self.arrays[name] = _array(self.head, name, value)
            else:
                self.arrays[name] = None
        if arrays:
            bad = next(iter(arrays))
            raise LayerGraphError(f"{bad} is not a known parameter or option for {self.head}. Options and arrays: "
                                  f"{', '.join(self._all_options())}.", "General::optx")

    # -- facts ---------------------------------------------------------------------------------
    def _optional_arrays(self) -> tuple[str, ...]:
        return ()

    def _all_options(self) -> list[str]:
        import inspect
        own = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
               if p.kind == p.KEYWORD_ONLY]
        return own + ["Input", "Output", "LearningRateMultipliers", *self.array_names]

    @property
    def active_arrays(self) -> list[str]:
        return [n for n in self.array_names if n not in self.disabled]

    @property
    def initialized(self) -> bool:
        return all(self.arrays.get(n) is not None for n in self.active_arrays)

    def input_ports(self) -> list[str]:
        return ["Input"]

    def output_ports(self) -> list[str]:
        return ["Output"]

    def array_dims(self, in_dims: list) -> dict[str, tuple]:
        """The arrays' Wolfram dimensions for known input dims."""
        return {}

    def copy(self, **changes) -> "NetLayer":
        new = object.__new__(type(self))
        new.__dict__.update({k: (dict(v) if isinstance(v, dict) else (set(v) if isinstance(v, set) else v))
                             for k, v in self.__dict__.items()})
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    def with_arrays(self, arrays: dict[str, np.ndarray | None]) -> "NetLayer":
        new = self.copy()
        for k, v in arrays.items():
            new.arrays[k] = None if v is None else np.asarray(v, dtype=np.float32)
        return new

    # -- core ----------------------------------------------------------------------------------
    def build(self, name: str, in_dims: list) -> Built:
        raise NotImplementedError

    def core_spec(self, name: str = "") -> CoreLayer:
        """This layer as one core layer spec (MATLAB's names and layout), for a MATLAB layer
        array or layerGraph. Built for its "Input" dims when it has them; otherwise for an
        input of the kind the layer takes (``_probe_dims``), leaving the sizes 'auto' for the
        MATLAB network's own analysis."""
        dims = self.input_spec if self.input_spec is not None and None not in self.input_spec else None
        probe = [dims] * (self.num_inputs or 2 if self.multiport else 1) if dims is not None else self._probe_dims()
        if probe is None:
            raise LayerGraphError(f"{self.head} needs its input dimensions to become a MATLAB layer; give "
                                  f"Input=... (e.g. Input=(3, 32, 32)).", "General::nfspec")
        built = self.build(name or "layer", probe)
        if len(built.specs) != 1:
            raise LayerGraphError(f"{self.head} computes with {len(built.specs)} core layers (Interleaving, levels "
                                  "other than the channels, ...), so it is not one MATLAB layer; put it in a NetChain "
                                  "or NetGraph and convert the net: layerGraph(net) or dlnetwork(net).",
                                  "General::unsupported")
        return built.specs[0]._resolved_copy(Name=name)

    def _probe_dims(self) -> list | None:
        """Input dims for which ``build`` gives the spec of any input of this layer's kind
        (None: the spec depends on the input's dimensions)."""
        return [(1,)] * (getattr(self, "num_inputs", None) or 2 if self.multiport else 1)

    def _check_arrays(self, in_dims):
        for arr_name, dims in self.array_dims(in_dims).items():
            value = self.arrays.get(arr_name)
            if value is not None and tuple(value.shape) != tuple(dims):
                raise _err(self.head, f"the array \"{arr_name}\" has dimensions {wl_list(value.shape)}, but "
                                      f"dimensions {wl_list(dims)} were expected.")

    def array_for_core(self, core: str) -> str | None:
        """The name of this layer's array that is the core learnable ``core`` (Bias -> "Biases")."""
        own = {c: w for w, c in getattr(type(self), "_core", {}).items()} or \
            {"Weights": "Weights", "Bias": "Biases", "Offset": "Biases", "Scale": "Scaling"}
        if core in self.array_names:   # CoreLayerView: the core's own names
            return core
        name = own.get(core)
        return name if name in self.array_names else None

    def _weights_and_biases(self, n: int) -> dict:
        """The core spec's Weights and Bias from this layer's "Weights" and "Biases" (Wolfram's
        arrays are the core's internal ones, stored as they are); "Biases" -> None is a zero
        bias that does not learn."""
        kw = {}
        if self.arrays["Weights"] is not None:
            kw["Weights"] = Internal(self.arrays["Weights"])
        if "Biases" in self.disabled:
            kw.update(Bias=Internal(np.zeros(n, np.float32)), BiasLearnRateFactor=0.0, BiasL2Factor=0.0)
        elif self.arrays["Biases"] is not None:
            kw["Bias"] = Internal(self.arrays["Biases"])
        return kw

    def factor(self, array: str) -> float:
        """The learning-rate multiplier of one array (1 unless set)."""
        if self.lrm is None:
            return 1.0
        if isinstance(self.lrm, dict):
            v = self.lrm.get(array, 1.0)
            return 1.0 if v is None else v
        return self.lrm

    def with_part(self, name, value) -> "NetLayer":
        """``NetReplacePart[layer, name -> value]``: a copy with the array or port ``name`` set
        (a NetArray makes the array a shared one; None removes an array, Automatic clears it)."""
        if name in self.array_names and isinstance(value, NetArray):   # the array becomes a shared one
            return share_array(self, name, value)
        layer = self
        if name in layer.array_names and name in getattr(layer, "shared", {}):
            # a value (or None, Automatic) at one position replaces the NetArray there, as in Wolfram
            layer = layer.copy(shared={k: v for k, v in layer.shared.items() if k != name})
        if name in layer.array_names:
            if value is None:
                new = layer.copy()
                new.disabled.add(name)
                new.arrays[name] = None
                return new
            arr = _array(layer.head, name, value)
            if arr is None:  # Automatic: the array is to be initialized again
                new = layer.with_arrays({name: None})
                new.disabled.discard(name)
                return new
            old = layer.arrays.get(name)
            if old is not None and old.shape != arr.shape:
                raise LayerGraphError(f"Validation failed for {layer.head}: the array \"{name}\" has dimensions "
                                      f"{wl_list(old.shape)}; a value of dimensions {wl_list(arr.shape)} was given.",
                                      "General::valfail")
            if name == "MovingVariance" and (arr < 0).any():
                raise LayerGraphError(f"Validation failed for {layer.head}: the array \"MovingVariance\" should not "
                                      "have negative values.", "General::valfail")
            new = layer.with_arrays({name: arr})
            new.disabled.discard(name)
            return new
        if name in ("Input", "Output"):
            dims = port_spec(value, f"{layer.head} port \"{name}\"")
            return layer.copy(**{"input_spec" if name == "Input" else "output_spec": dims})
        raise LayerGraphError(f"\"{name}\" is not an array or port of {layer.head}. Arrays: "
                              f"{', '.join(layer.array_names) or 'none'}.", "NetReplacePart::nopart")

    # -- evaluation of a lone layer ----------------------------------------------------------------
    def __call__(self, x, prop=S.Automatic, **options):
        if _LONE_CALL is not None:   # states.py: the states of a lone layer keyed as its own
            return _LONE_CALL(self, x, prop, **options)
        return _LONE_CHAIN([self])(x, prop, **options)

    def lone_leaf(self):
        """This layer sized as the chain of itself: the compiled leaf (``in_dims``,
        ``out_dims``) that the printout reads its ports and array dimensions from."""
        return _LONE_CHAIN([self]).compile().leaves[("1",)]

    # -- display ---------------------------------------------------------------------------------
    def __repr__(self):
        return layer_text(self)

    def __rich__(self):
        return layer_renderable(self)

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        if self.params != other.params or self.disabled != other.disabled:
            return False
        if getattr(self, "shared", {}) != getattr(other, "shared", {}):   # NetArray names
            return False
        for n in self.array_names:
            a, b = self.arrays.get(n), other.arrays.get(n)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                return False
        return True

    __hash__ = None


def _single(head, in_dims):
    if len(in_dims) != 1:
        raise LayerGraphError(f"Layer {head} should have exactly one input port.", "General::notuport")
    return in_dims[0]


def _rank(head, dims, ranks, port="Input"):
    if len(dims) not in ranks:
        want = " or ".join({1: "a vector", 2: "a matrix", 3: "a rank-3 array"}[r] for r in ranks)
        raise LayerGraphError(f"Validation failed for {head}: the port \"{port}\" should be {want}, but "
                              f"received {len(dims)}-dimensional input {wl_list(dims)}.", "General::valfail")


def _interleave_in(dims) -> CoreLayer:
    """channels-last {h, w, c} (read by the core as c'=h, spatial (w, c)) -> channels first."""
    return L.ArrayTransposeLayer(Perm=(2, 0, 1) if len(dims) == 3 else (1, 0, 2))


def _interleave_out(rank) -> CoreLayer:
    return L.ArrayTransposeLayer(Perm=(1, 2, 0) if rank == 3 else (1, 0, 2))


# -- core -> Wolfram: helpers of the from_core classmethods -------------------------------------
class NoCounterpart(Exception):
    """from_core: the Wolfram layer cannot say what this core spec does (the reason is the
    message); the spec then stays in the net as itself (CoreLayerView)."""


def _at_default(spec: CoreLayer, *fields):
    """The Wolfram layer has no option for these core properties: they must hold the core
    default, which is what its build gives."""
    for f in fields:
        default = type(spec).model_fields[f].default
        value = getattr(spec, f)
        if not (value == default if not isinstance(value, np.ndarray) else False):
            raise NoCounterpart(f"{f} is {value!r}; the Wolfram layer has no option for it")
    for s in spec.learnables:   # an initializer matters only while its learnable is empty
        default = type(spec).model_fields[s.initializer].default
        if getattr(spec, s.name) is None and getattr(spec, s.initializer) != default:
            raise NoCounterpart(f"{s.initializer} is {getattr(spec, s.initializer)!r}; NetInitialize has its own "
                                "methods")


def _biases_from(spec: CoreLayer, core: str) -> dict:
    """{"Biases": array} (the core's internal (n,) array is Wolfram's) or, for the zero and
    untrainable biases that "Biases" -> None builds, {"Biases": None}; {} when unset."""
    b = spec.internal(core)
    if b is None:
        return {}
    if not np.any(b) and spec.BiasLearnRateFactor == 0 and spec.BiasL2Factor == 0:
        return {"Biases": None}
    return {"Biases": b}


def _lrm_from(spec: CoreLayer, names: dict, arrays: dict):
    """LearningRateMultipliers from the core learn-rate factors: Automatic when all are 1,
    one number when they agree, else {array: factor}; names is {Wolfram array: core learnable}."""
    rate = {s.name: float(getattr(spec, s.learn_rate)) for s in spec.learnables}
    values = {wl: rate[core] for wl, core in names.items() if not (wl in arrays and arrays[wl] is None)}
    if all(v == 1 for v in values.values()):
        return S.Automatic
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return values


def _padding_from(spec: CoreLayer):
    if spec.PaddingMode == "same":
        return "Same"
    t, b, left, r = spec.PaddingSize
    return ((t, b), (left, r))


def _dims_of(size) -> tuple:
    """Wolfram's channel-first dims of a core size: {c, h, w} for images, {n} for features,
    {"Varying", n} for sequences."""
    if size.is_sequence:
        return size_to_dims(size, 2)
    return (size.channels, *size.spatial) if size.spatial else (size.channels,)


# =============================================================================================
class LinearLayer(NetLayer):
    """``LinearLayer[n]``: Weights {n, nIn} times the row-major flatten of the input, plus
    Biases {n}; ``LinearLayer()`` takes n from the "Output" port."""

    head = "LinearLayer"
    array_names = ("Weights", "Biases")

    def __init__(self, n=S.Automatic, **options):
        super().__init__(**options)
        if n is S.Automatic:
            n = self.output_spec if self.output_spec is not None and None not in self.output_spec else None
            if n is None and self.arrays.get("Weights") is not None:
                n = self.arrays["Weights"].shape[0]
        out_dims = None
        if isinstance(n, (list, tuple)):
            if len(n) > 3:
                raise LayerGraphError(f"LinearLayer[{_wl(n)}]: outputs of rank 0 (LinearLayer[{{}}], a real) to 3 are "
                                      "supported.", "General::unsupported")
            out_dims = tuple(_pos_int(self.head, "the output dimensions", d) for d in n)
            n = int(np.prod(out_dims)) if out_dims else 1
        if n is not None:
            n = _pos_int(self.head, "the output size", n)
            out_dims = out_dims if out_dims is not None else (n,)
        self.params = {"OutputDimensions": out_dims}
        self._n = n
        w = self.arrays.get("Weights")
        if w is not None and (w.ndim != 2 or (n is not None and w.shape[0] != n)):
            raise _err(self.head, f"the array \"Weights\" has dimensions {wl_list(w.shape)}, but dimensions "
                                  f"{{{n}, nIn}} were expected.")
        if w is not None and self.input_spec is None:
            self.input_spec = (w.shape[1],)

    def _optional_arrays(self):
        return ("Biases",)

    def with_output(self, dims) -> "LinearLayer":
        """This layer with its output dimensions set (inferred from the net's output port)."""
        dims = tuple(int(d) for d in dims)
        new = self.copy()
        new.params = {**self.params, "OutputDimensions": dims}
        new._n = int(np.prod(dims)) if dims else 1
        return new

    def array_dims(self, in_dims):
        n_in = int(np.prod(in_dims[0]))
        return {"Weights": (self._n, n_in), "Biases": (self._n,)}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A LinearLayer for a core FullyConnectedLayer: Wolfram's weights read the row-major
        (C, H, W) flatten of the input; a column-major (MATLAB's) layer's weights read the
        column-major flatten of an H x W x C input, so they are permuted once
        (conventions.fc_weights_row_major, the executor's step), which needs the input size."""
        _at_default(spec, "WeightL2Factor", "BiasL2Factor")
        arrays = {}
        w = spec.internal("Weights")
        if w is not None:
            if spec.input_order == "row-major":
                arrays["Weights"] = w
            elif not in_sizes:
                raise NoCounterpart("the input size is unknown, so MATLAB's column-major weights cannot be read "
                                    "row-major")
            else:
                arrays["Weights"] = cv.fc_weights_row_major(w, spec.input_order, in_sizes[0].dims)
        arrays.update(_biases_from(spec, "Bias"))
        # the weights alone would say a vector input; a 1 x 1 x C input (MATLAB's size after a fully
        # connected layer, where Wolfram's LinearLayer gives a vector) is left to the graph: a vector
        # and a C x 1 x 1 array flatten alike, and which one arrives depends on the layer before
        ambiguous = bool(in_sizes) and bool(in_sizes[0].spatial) and all(d == 1 for d in in_sizes[0].spatial)
        if in_sizes and not ambiguous:
            arrays["Input"] = _dims_of(in_sizes[0])
        layer = cls(spec.OutputSize, LearningRateMultipliers=_lrm_from(spec, {"Weights": "Weights", "Biases": "Bias"},
                                                                        arrays), **arrays)
        if ambiguous:   # not the vector the weights alone would say: any input of their flattened size
            layer.input_spec = None
        return layer

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        n = self._n
        if n is None:
            raise LayerGraphError(f"Cannot build net: the output size of {self.head} ({name}) is not specified. "
                                  "Give LinearLayer(n) or Output=n.", "General::nfspec")
        self._check_arrays(in_dims)
        # the core layer reads its input row-major as Wolfram does: the arrays go on as they are
        kw = {"OutputSize": n, "WeightLearnRateFactor": self.factor("Weights"),
              "BiasLearnRateFactor": self.factor("Biases"), "input_order": "row-major",
              "input_dims": dims_to_size(dims).dims}
        kw.update(self._weights_and_biases(n))
        spec = L.FullyConnectedLayer(Name=name, **kw)

        def read(core):
            out = {"Weights": core.internal("Weights")}
            if "Biases" not in self.disabled:
                out["Biases"] = core.internal("Bias")
            return out
        out_dims = self.params["OutputDimensions"]
        if len(out_dims) == 1:
            return Built([spec], 0, 1, read)
        # the output {n1, n2, ...} is the length-n vector read row-major
        return Built([spec, L.ArrayReshapeLayer(OutputSize=dims_to_size(out_dims))], 0, len(out_dims), read)


# =============================================================================================
class _Windowed(NetLayer):
    def _common(self, kernel, Stride, PaddingSize, Interleaving):
        head = self.head
        k = _int_tuple(head, "the kernel size", kernel)
        self.params.update({"KernelSize": k, "Stride": _int_tuple(head, "\"Stride\"", Stride),
                            "PaddingSize": _padding(head, PaddingSize)})
        if not isinstance(Interleaving, bool):
            raise _opt_err(head, "Interleaving", Interleaving, "True or False")
        self.params["Interleaving"] = Interleaving

    def _probe_dims(self):
        w = self.arrays.get("Weights")
        if w is None:
            c = self.params.get("ChannelGroups", 1)
        else:
            c = w.shape[0] if isinstance(self, DeconvolutionLayer) else w.shape[1] * self.params.get("ChannelGroups", 1)
        kh, kw = self.params["KernelSize"]
        return [(kh, kw, c) if self.params["Interleaving"] else (c, kh, kw)]

    def _channels_first(self, dims):
        if self.params["Interleaving"]:
            return (dims[2], dims[0], dims[1])
        return dims

    def _pad_kw(self):
        pad = self.params["PaddingSize"]
        return {"PaddingMode": "same"} if pad == "same" else {"PaddingSize": pad}

    def _wrap(self, specs, main, dims, read):
        if self.params["Interleaving"]:
            specs = [_interleave_in(dims)] + specs + [_interleave_out(3)]
            main += 1
        return Built(specs, main, 3, read)


class ConvolutionLayer(_Windowed):
    """``ConvolutionLayer[n, k]``: n output channels, kernel k or {kh, kw}; "Stride" 1,
    PaddingSize 0 (or "Same"), "Dilation" 1, "ChannelGroups" 1, Interleaving False.
    Weights {n, in/groups, kh, kw}, Biases {n} (None: no biases)."""

    head = "ConvolutionLayer"
    array_names = ("Weights", "Biases")

    def __init__(self, n=S.Automatic, kernel=None, *, Stride=1, PaddingSize=0, Dilation=1, ChannelGroups=1,
                 Interleaving=False, Dimensionality=S.Automatic, **options):
        super().__init__(**options)
        if kernel is None:
            raise LayerGraphError("ConvolutionLayer needs the kernel size: ConvolutionLayer(n, k) or "
                                  "ConvolutionLayer(n, (kh, kw)).", "ConvolutionLayer::argrx")
        if not one_of(Dimensionality, S.Automatic, 2):
            raise LayerGraphError("ConvolutionLayer: only 2-D convolution (\"Dimensionality\" -> 2) is supported.",
                                  "General::unsupported")
        w = self.arrays.get("Weights")
        if n is S.Automatic and w is not None:
            n = w.shape[0]
        self.params["OutputChannels"] = _pos_int(self.head, "the number of output channels", n)
        self._common(kernel, Stride, PaddingSize, Interleaving)
        self.params["Dilation"] = _int_tuple(self.head, "\"Dilation\"", Dilation)
        self.params["ChannelGroups"] = _pos_int(self.head, "\"ChannelGroups\"", ChannelGroups)
        if self.params["OutputChannels"] % self.params["ChannelGroups"]:
            raise _err(self.head, f"the number of output channels ({self.params['OutputChannels']}) must be "
                                  f"divisible by \"ChannelGroups\" ({self.params['ChannelGroups']}).")
        if w is not None and (w.ndim != 4 or w.shape[0] != self.params["OutputChannels"]
                              or tuple(w.shape[2:]) != self.params["KernelSize"]):
            kernel = ", ".join(map(str, self.params["KernelSize"]))
            raise _err(self.head, f"the array \"Weights\" has dimensions {wl_list(w.shape)}, but dimensions "
                                  f"{{{self.params['OutputChannels']}, nIn, {kernel}}} were expected.")

    def _optional_arrays(self):
        return ("Biases",)

    def array_dims(self, in_dims):
        c = self._channels_first(in_dims[0])[0]
        n, g = self.params["OutputChannels"], self.params["ChannelGroups"]
        return {"Weights": (n, c // g, *self.params["KernelSize"]), "Biases": (n,)}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A ConvolutionLayer for a core (grouped) Convolution2DLayer: weights
        FH x FW x C x F -> {F, C, FH, FW}, biases 1 x 1 x F -> {F}."""
        _at_default(spec, "WeightL2Factor", "BiasL2Factor", "PaddingValue")
        grouped = isinstance(spec, L.GroupedConvolution2DLayer)
        g = spec.NumGroups if grouped else 1
        if not isinstance(g, (int, np.integer)) or isinstance(g, bool):
            raise NoCounterpart("the number of groups is not known yet")
        n = spec.NumFiltersPerGroup * g if grouped else spec.NumFilters
        arrays = {} if spec.internal("Weights") is None else {"Weights": spec.internal("Weights")}
        arrays.update(_biases_from(spec, "Bias"))
        return cls(n, tuple(spec.FilterSize), Stride=tuple(spec.Stride), PaddingSize=_padding_from(spec),
                   Dilation=tuple(spec.DilationFactor), ChannelGroups=g,
                   LearningRateMultipliers=_lrm_from(spec, {"Weights": "Weights", "Biases": "Bias"}, arrays), **arrays)

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        _rank(self.head, dims, (3,))
        c = self._channels_first(dims)[0]
        n, g = self.params["OutputChannels"], self.params["ChannelGroups"]
        if c % g:
            raise _err(self.head, f"the number of input channels ({c}) must be divisible by \"ChannelGroups\" "
                                  f"({g}).")
        self._check_arrays(in_dims)
        kw = dict(Name=name, FilterSize=self.params["KernelSize"], Stride=self.params["Stride"],
                  DilationFactor=self.params["Dilation"], WeightLearnRateFactor=self.factor("Weights"),
                  BiasLearnRateFactor=self.factor("Biases"), **self._pad_kw())
        # Wolfram's arrays are the core's internal ones ({n, in/g, kh, kw}, {n})
        kw.update(self._weights_and_biases(n))
        if g == 1:
            spec = L.Convolution2DLayer(NumFilters=n, **kw)
        else:
            spec = L.GroupedConvolution2DLayer(NumFiltersPerGroup=n // g, NumGroups=g, **kw)

        def read(core):
            out = {"Weights": core.internal("Weights")}
            if "Biases" not in self.disabled:
                out["Biases"] = core.internal("Bias")
            return out
        return self._wrap([spec], 0, dims, read)


class DeconvolutionLayer(_Windowed):
    """``DeconvolutionLayer[n, k]``: transposed convolution; output
    s*(in-1) + k - (padLo + padHi). Weights {in, n, kh, kw} (MXNet's layout,
    UNCONFIRMED for Wolfram), Biases {n}."""

    head = "DeconvolutionLayer"
    array_names = ("Weights", "Biases")

    def __init__(self, n=S.Automatic, kernel=None, *, Stride=1, PaddingSize=0, Interleaving=False, **options):
        super().__init__(**options)
        if kernel is None:
            raise LayerGraphError("DeconvolutionLayer needs the kernel size: DeconvolutionLayer(n, k).",
                                  "DeconvolutionLayer::argrx")
        self.params["OutputChannels"] = _pos_int(self.head, "the number of output channels", n)
        self._common(kernel, Stride, PaddingSize, Interleaving)
        if self.params["PaddingSize"] == "same":
            raise _opt_err(self.head, "PaddingSize", PaddingSize, "a nonnegative integer or a list of them")

    def _optional_arrays(self):
        return ("Biases",)

    def array_dims(self, in_dims):
        c = self._channels_first(in_dims[0])[0]
        return {"Weights": (c, self.params["OutputChannels"], *self.params["KernelSize"]),
                "Biases": (self.params["OutputChannels"],)}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A DeconvolutionLayer for a core TransposedConvolution2DLayer (cropping as PaddingSize)."""
        _at_default(spec, "WeightL2Factor", "BiasL2Factor")
        if spec.CroppingMode != "manual":
            raise NoCounterpart("DeconvolutionLayer has no \"Same\" padding")
        arrays = {} if spec.internal("Weights") is None else {"Weights": spec.internal("Weights")}
        arrays.update(_biases_from(spec, "Bias"))
        t, b, left, r = spec.CroppingSize
        return cls(spec.NumFilters, tuple(spec.FilterSize), Stride=tuple(spec.Stride),
                   PaddingSize=((t, b), (left, r)),
                   LearningRateMultipliers=_lrm_from(spec, {"Weights": "Weights", "Biases": "Bias"}, arrays), **arrays)

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        _rank(self.head, dims, (3,))
        self._check_arrays(in_dims)
        n = self.params["OutputChannels"]
        kw = dict(Name=name, FilterSize=self.params["KernelSize"], NumFilters=n, Stride=self.params["Stride"],
                  CroppingSize=self.params["PaddingSize"], WeightLearnRateFactor=self.factor("Weights"),
                  BiasLearnRateFactor=self.factor("Biases"))
        kw.update(self._weights_and_biases(n))   # Weights {in, n, kh, kw}: the core's internal layout

        def read(core):
            out = {"Weights": core.internal("Weights")}
            if "Biases" not in self.disabled:
                out["Biases"] = core.internal("Bias")
            return out
        return self._wrap([L.TransposedConvolution2DLayer(**kw)], 0, dims, read)


class PoolingLayer(_Windowed):
    """``PoolingLayer[k]`` == ``PoolingLayer[k, 1]``: the stride defaults to 1, not to the
    kernel size. "Function" Max (default), Mean or Total (padding counts as zeros)."""

    head = "PoolingLayer"

    def __init__(self, kernel=None, stride=None, *, Function=S.Max, Stride=None, PaddingSize=0,
                 Interleaving=False, **options):
        super().__init__(**options)
        if kernel is None:
            raise LayerGraphError("PoolingLayer needs the kernel size: PoolingLayer(k) or PoolingLayer((kh, kw)).",
                                  "PoolingLayer::argrx")
        if stride is not None and Stride is not None:
            raise LayerGraphError("PoolingLayer: give the stride once, as the second argument or as Stride.",
                                  "PoolingLayer::argrx")
        stride = stride if stride is not None else (Stride if Stride is not None else 1)
        if not one_of(Function, S.Max, S.Mean, S.Total):
            raise _opt_err(self.head, "\"Function\"", Function, "Max, Mean or Total")
        self.params["Function"] = Function
        self._common(kernel, stride, PaddingSize, Interleaving)
        pad = self.params["PaddingSize"]
        if pad != "same":
            t, b, left, r = pad
            kh, kw = self.params["KernelSize"]
            if max(t, b) >= kh or max(left, r) >= kw:
                raise _err(self.head, f"padding size {{{t}, {b}}}\u00d7{{{left}, {r}}} must be smaller than "
                                      f"KernelSize {kh}\u00d7{kw}.")

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A PoolingLayer for core max, average and sum pooling."""
        function = {L.MaxPooling2DLayer: S.Max, L.AveragePooling2DLayer: S.Mean, L.SumPooling2DLayer: S.Total}
        if isinstance(spec, L.MaxPooling2DLayer):
            _at_default(spec, "HasUnpoolingOutputs")
        if isinstance(spec, L.AveragePooling2DLayer):
            _at_default(spec, "PaddingValue")
        return cls(tuple(spec.PoolSize), tuple(spec.Stride), Function=function[type(spec)],
                   PaddingSize=_padding_from(spec))

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        _rank(self.head, dims, (3,))
        cls = {S.Max: L.MaxPooling2DLayer, S.Mean: L.AveragePooling2DLayer,
               S.Total: L.SumPooling2DLayer}[self.params["Function"]]
        spec = cls(Name=name, PoolSize=self.params["KernelSize"], Stride=self.params["Stride"], **self._pad_kw())
        return self._wrap([spec], 0, dims, None)


# =============================================================================================
class BatchNormalizationLayer(NetLayer):
    """``BatchNormalizationLayer[]``: "Epsilon" 0.001, "Momentum" 0.9, Interleaving False.
    Test mode: Scaling (x - MovingMean) / Sqrt[MovingVariance + Epsilon] + Biases per
    channel; training uses the batch statistics and updates
    moving = Momentum moving + (1 - Momentum) batch (core MeanDecay = 1 - Momentum)."""

    head = "BatchNormalizationLayer"
    array_names = ("Biases", "MovingMean", "MovingVariance", "Scaling")
    aux_arrays = ("MovingMean", "MovingVariance")
    _core = {"Biases": "Offset", "Scaling": "Scale", "MovingMean": "TrainedMean", "MovingVariance": "TrainedVariance"}

    def __init__(self, *, Epsilon=0.001, Momentum=0.9, Interleaving=False, **options):
        super().__init__(**options)
        if not isinstance(Epsilon, (int, float, np.floating)) or isinstance(Epsilon, bool) or not Epsilon > 0:
            raise _opt_err(self.head, "\"Epsilon\"", Epsilon, "a positive number")
        if not isinstance(Momentum, (int, float, np.floating)) or isinstance(Momentum, bool) \
                or not 0 <= Momentum <= 1:
            raise _opt_err(self.head, "\"Momentum\"", Momentum, "a number between 0 and 1")
        if not isinstance(Interleaving, bool):
            raise _opt_err(self.head, "Interleaving", Interleaving, "True or False")
        self.params = {"Epsilon": float(Epsilon), "Momentum": float(Momentum), "Interleaving": Interleaving}
        sizes = {a.shape for a in self.arrays.values() if a is not None}
        if any(len(s) != 1 for s in sizes) or len(sizes) > 1:
            raise _err(self.head, "the arrays \"Biases\", \"Scaling\", \"MovingMean\" and \"MovingVariance\" "
                                  "should be vectors of one length (the number of channels).")
        mv = self.arrays.get("MovingVariance")
        if mv is not None and (mv < 0).any():
            raise _err(self.head, "the array \"MovingVariance\" should not have negative values (its square root "
                                  "is taken during evaluation).")
        if sizes and self.input_spec is None:
            self.input_spec = None  # the channel count alone does not give the input's rank

    def channels(self, dims):
        return dims[-1] if self.params["Interleaving"] else dims[0]

    def _probe_dims(self):   # an image of the channels the arrays give
        c = next((len(a) for a in self.arrays.values() if a is not None), 1)
        return [(1, 1, c) if self.params["Interleaving"] else (c, 1, 1)]

    def array_dims(self, in_dims):
        c = self.channels(in_dims[0])
        return {n: (c,) for n in self.array_names}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A BatchNormalizationLayer for a core one: Momentum = 1 - MeanDecay (Wolfram has one
        Momentum for both statistics, so MeanDecay and VarianceDecay must agree); Epsilon is
        kept as it is (MATLAB's default 1e-5 prints as Epsilon: 1e-05)."""
        _at_default(spec, "ScaleL2Factor", "OffsetL2Factor")
        if not np.isclose(spec.MeanDecay, spec.VarianceDecay, rtol=1e-12, atol=0):
            raise NoCounterpart("MeanDecay and VarianceDecay differ; Wolfram has one \"Momentum\"")
        arrays = {wl: spec.internal(core) for wl, core in cls._core.items() if spec.internal(core) is not None}
        return cls(Epsilon=float(spec.Epsilon), Momentum=cv.decay_to_momentum(float(spec.MeanDecay)),
                   LearningRateMultipliers=_lrm_from(spec, {"Scaling": "Scale", "Biases": "Offset"}, arrays),
                   **arrays)

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        if len(dims) == 0:
            raise LayerGraphError("Specification Real is not compatible with port \"Input\", which must be an array "
                                  "of rank \u2265 1.", "General::valfail")
        self._check_arrays(in_dims)
        kw = {"Name": name, "MeanDecay": cv.momentum_to_decay(self.params["Momentum"]),
              "VarianceDecay": cv.momentum_to_decay(self.params["Momentum"]),
              "ScaleLearnRateFactor": self.factor("Scaling"), "OffsetLearnRateFactor": self.factor("Biases"),
              "Epsilon": self.params["Epsilon"]}
        for wl_name, core_name in self._core.items():   # {c}: the core's internal layout
            if self.arrays[wl_name] is not None:
                kw[core_name] = Internal(self.arrays[wl_name])
        spec = L.BatchNormalizationLayer(**kw)

        def read(core):
            return {wl_name: core.internal(core_name) for wl_name, core_name in self._core.items()}

        frozen = self.params["Momentum"] == 1 or self.factor("Scaling") == 0 and self.factor("Biases") == 0 \
            or (self.lrm == 0.0)
        specs, main = [spec], 0
        if self.params["Interleaving"] and len(dims) > 1:
            specs = [_interleave_in(dims), spec, _interleave_out(len(dims))]
            main = 1
        return Built(specs, main, len(dims), read, frozen_state=frozen)


class NormalizationLayer(NetLayer):
    """``NormalizationLayer[]``: normalizes each example over levels 2;;All and applies a
    Scaling and Biases per component of level 1 ("Epsilon" 0.001, biased variance,
    Method "Standardize"). Also ``NormalizationLayer(Span(1, All), 1)``: normalization over
    the whole example with per-channel scaling, and with ``"GroupNumber" -> {g, None, ...}``
    (one entry per aggregation level; level 1, the channels, split into g groups normalized
    separately) group normalization. "Unbiased" -> True (variance over n - 1) and
    Method -> "RMS" (x / Sqrt[Mean[x^2] + eps]) work with each of these. Other level
    choices, and splitting a level other than the channels, are not supported."""

    head = "NormalizationLayer"
    array_names = ("Biases", "Scaling")

    def __init__(self, aggregation=None, scaling="Complement", *, Epsilon=0.001, GroupNumber=None, Unbiased=False,
                 Method="Standardize", **options):
        super().__init__(**options)
        aggregation = S.Span(2, S.All) if aggregation is None else aggregation
        if not isinstance(Epsilon, (int, float, np.floating)) or isinstance(Epsilon, bool) or not Epsilon > 0:
            raise _opt_err(self.head, "\"Epsilon\"", Epsilon, "a positive number")
        if not self._group_spec_ok(GroupNumber):
            raise _opt_err(self.head, "\"GroupNumber\"", GroupNumber,
                           "None, a positive integer or a list of positive integers or None, one for each "
                           "aggregation level")
        if not isinstance(Unbiased, (bool, np.bool_)):
            raise _opt_err(self.head, "\"Unbiased\"", Unbiased, "True or False")
        if not one_of(Method, "Standardize", "RMS"):
            raise _opt_err(self.head, "Method", Method, "\"Standardize\" or \"RMS\"")
        group = tuple(GroupNumber) if isinstance(GroupNumber, (list, tuple)) else GroupNumber
        self.params = {"AggregationLevels": aggregation, "ScalingLevels": scaling, "Epsilon": float(Epsilon),
                       "GroupNumber": group, "Unbiased": bool(Unbiased), "Method": Method}

    @staticmethod
    def _group_spec_ok(spec) -> bool:
        def count(v):
            return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 1
        if spec is None or count(spec):
            return True
        return isinstance(spec, (list, tuple)) and len(spec) > 0 and all(v is None or count(v) for v in spec)

    def _groups(self, agg, dims) -> dict[int, int]:
        """{level: number of groups} for the aggregation levels that "GroupNumber" splits
        (a single number splits the first aggregation level [UNCONFIRMED])."""
        spec = self.params["GroupNumber"]
        if spec is None:
            return {}
        if not isinstance(spec, tuple):
            spec = (spec,) + (None,) * (len(agg) - 1)
        if len(spec) != len(agg):
            raise _err(self.head, f"\"GroupNumber\" -> {_wl(list(spec))} should have one entry for each of the "
                                  f"{len(agg)} aggregation levels {_wl(list(agg))}.")
        out = {}
        for level, g in zip(agg, spec):
            if g is None or g == 1:
                continue
            if dims[level - 1] % g:
                raise _err(self.head, f"the dimension {dims[level - 1]} of level {level} is not a multiple of "
                                      f"its \"GroupNumber\" {g}.")
            out[level] = int(g)
        return out

    def _optional_arrays(self):
        return ("Biases", "Scaling")

    @staticmethod
    def _levels(spec, rank):
        if isinstance(spec, S.Span):
            b = rank if spec.b is S.All else spec.b
            return tuple(range(spec.a, b + 1))
        if spec is S.All:
            return tuple(range(1, rank + 1))
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return (int(spec) if spec > 0 else rank + 1 + int(spec),)
        if isinstance(spec, (list, tuple)):
            return tuple(sorted(int(v) for v in spec))
        raise LayerGraphError(f"NormalizationLayer: {_wl(spec)} is not a level specification (an integer, Span(a, b), "
                              "All or a list of integers).", "NormalizationLayer::invlev")

    def _mode(self, dims):
        """("instance" | "layer" | "group", number of channel groups)."""
        r = len(dims)
        agg = self._levels(self.params["AggregationLevels"], r)
        sc = self.params["ScalingLevels"]
        scale = tuple(i for i in range(1, r + 1) if i not in agg) if same(sc, "Complement") else self._levels(sc, r)
        supported = (agg == tuple(range(2, r + 1)) and r >= 2 or agg == tuple(range(1, r + 1))) and scale == (1,)
        groups = self._groups(agg, dims) if supported else {}
        if set(groups) - {1}:
            spec = self.params["GroupNumber"]
            spec = list(spec) if isinstance(spec, tuple) else spec
            raise LayerGraphError(f"NormalizationLayer: \"GroupNumber\" -> {_wl(spec)} "
                                  f"splits level {min(set(groups) - {1})}; only splitting level 1 (the channels, "
                                  "with aggregation levels Span(1, All) and scaling level 1: group normalization) "
                                  "is supported.", "General::unsupported")
        if supported and agg[0] == 2:
            return "instance", dims[0]
        if supported:
            g = groups.get(1, 1)
            plain = g == 1 and not self.params["Unbiased"] and same(self.params["Method"], "Standardize")
            return ("layer" if plain else "group"), g
        raise LayerGraphError(f"NormalizationLayer: aggregation levels {_wl(list(agg))} with scaling levels "
                              f"{_wl(list(scale))} are not supported for {r}-dimensional input; supported: the "
                              "default (2;;All with per-channel scaling) and Span(1, All) with scaling level 1.",
                              "General::unsupported")

    def array_dims(self, in_dims):
        return {"Biases": (in_dims[0][0],), "Scaling": (in_dims[0][0],)}

    def _probe_dims(self):
        c = next((len(a) for a in self.arrays.values() if a is not None), 1)
        return [(c, 1, 1)]

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A NormalizationLayer for core instance, layer and group normalization."""
        _at_default(spec, "ScaleL2Factor", "OffsetL2Factor")
        arrays = {wl: spec.internal(core) for wl, core in (("Scaling", "Scale"), ("Biases", "Offset"))
                  if spec.internal(core) is not None}
        kw = {"Epsilon": float(spec.Epsilon),
              "LearningRateMultipliers": _lrm_from(spec, {"Scaling": "Scale", "Biases": "Offset"}, arrays)}
        if isinstance(spec, L.LayerNormalizationLayer):
            _at_default(spec, "OperationDimension")
            return cls(S.Span(1, S.All), 1, **kw, **arrays)
        kw.update(Unbiased=bool(spec.unbiased), Method="RMS" if spec.rms else "Standardize")
        if isinstance(spec, L.GroupNormalizationLayer):
            if not isinstance(spec.NumGroups, (int, np.integer)):
                raise NoCounterpart("the number of groups is not a number")
            return cls(S.Span(1, S.All), 1, GroupNumber=int(spec.NumGroups), **kw, **arrays)
        return cls(**kw, **arrays)

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        mode, groups = self._mode(dims)
        self._check_arrays(in_dims)
        c = dims[0]
        kw = {"Name": name, "ScaleLearnRateFactor": self.factor("Scaling"),
              "OffsetLearnRateFactor": self.factor("Biases"), "Epsilon": self.params["Epsilon"]}
        for wl_name, core_name, fixed in (("Scaling", "Scale", 1.0), ("Biases", "Offset", 0.0)):
            if wl_name in self.disabled:
                kw[core_name] = Internal(np.full(c, fixed, np.float32))
                kw[("ScaleLearnRateFactor" if wl_name == "Scaling" else "OffsetLearnRateFactor")] = 0.0
            elif self.arrays[wl_name] is not None:   # {c}: the core's internal layout
                kw[core_name] = Internal(self.arrays[wl_name])
        if mode == "layer":
            cls = L.LayerNormalizationLayer
        else:
            cls = L.InstanceNormalizationLayer if mode == "instance" else L.GroupNormalizationLayer
            kw.update(unbiased=self.params["Unbiased"], rms=same(self.params["Method"], "RMS"))
            if mode == "group":
                kw["NumGroups"] = groups
        spec = cls(**kw)

        def read(core):
            return {n: core.internal(cn) for n, cn in (("Scaling", "Scale"), ("Biases", "Offset"))
                    if n not in self.disabled}
        return Built([spec], 0, len(dims), read)


# =============================================================================================
# Names that run on the numpy table of kernels/cpu/elementwise.py; the names and symbols of
# activations with kernels come from the registry (core/registry.py: wolfram_symbol, wolfram_names).
_NAMED = ("SELU", "HardSwish", "Mish", "SoftSign", "SoftPlus", "HardTanh", "HardSigmoid")


class ElementwiseLayer(NetLayer):
    """``ElementwiseLayer[f]``: f one of Ramp, Tanh, LogisticSigmoid, Exp, Log, Sqrt, Sin, Cos,
    Abs, ArcTan, Erf, the names "ReLU", "ELU", "SELU", "GELU", "Swish", "HardSwish", "Mish",
    "SoftSign", "SoftPlus", "HardTanh", "HardSigmoid", "Sigmoid" (and those of any activation
    registered in core/registry.py), or a Python function of an array (its derivative comes from
    the tape when numpy's traced operations compute it, else from central differences)."""

    head = "ElementwiseLayer"

    def __init__(self, f=None, **options):
        super().__init__(**options)
        if isinstance(f, S.Symbol):
            if not S.is_elementwise(f):
                raise _opt_err(self.head, "the function", f, "an elementwise function such as Ramp, Tanh or "
                                                             "LogisticSigmoid")
            fname = f.name
        elif isinstance(f, str):
            if f not in registry.WOLFRAM_FUNCTIONS and f not in _NAMED:
                raise LayerGraphError(f"ElementwiseLayer: {_wl(f)} is not a known function name. Names: "
                                      f"{', '.join(sorted(set(registry.WOLFRAM_FUNCTIONS) | set(_NAMED)))}.",
                                      "ElementwiseLayer::invfunc")
            fname = f
        elif callable(f):
            fname = f
        else:
            raise LayerGraphError("ElementwiseLayer needs a function: ElementwiseLayer(Ramp), "
                                  "ElementwiseLayer(\"SELU\") or ElementwiseLayer(lambda x: ...).",
                                  "ElementwiseLayer::invfunc")
        self.params = {"Function": f}
        self._fn = fname

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        fn = self._fn
        entry = registry.WOLFRAM_FUNCTIONS.get(fn) if isinstance(fn, str) else None
        if entry is not None:  # an activation with kernels, at its MATLAB defaults
            spec = entry.layer(Name=name)
        else:  # a function of the numpy table, or the user's own
            spec = L.ElementwiseFunctionLayer(Name=name, Function=fn)
        return Built([spec], 0, len(dims), None)


def _level(head, level, rank):
    if not isinstance(level, (int, np.integer)) or isinstance(level, bool) or level == 0 or abs(level) > rank:
        raise _err(head, f"the level {_wl(level)} is out of range for an input of rank {rank}.")
    return level - 1 if level > 0 else rank + level


class SoftmaxLayer(NetLayer):
    """``SoftmaxLayer[]`` == ``SoftmaxLayer[-1]``: normalizes over the last dimension."""

    head = "SoftmaxLayer"
    takes_sequences = True   # a sequence of vectors: each element normalized (the last level)

    def __init__(self, level=-1, **options):
        super().__init__(**options)
        self.params = {"Level": _level_option(self.head, level)}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """MATLAB's softmax normalizes over the channels: level 1 of channel-first
        dims, which is SoftmaxLayer[]'s last level for a vector."""
        if in_sizes and not in_sizes[0].is_image:
            return cls()
        return cls(1)

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        axis = _level(self.head, self.params["Level"], len(dims))
        spec = L.SoftmaxLayer(Name=name)
        if is_varying(dims):   # {"Varying", d}: the core's channels are the last level
            if axis != 1:
                raise _err(self.head, "on a sequence only the last level (-1) can be normalized.")
            return Built([spec], 0, 2, None)
        if axis == 0:
            return Built([spec], 0, len(dims), None)
        # bring the level to the channel position, normalize, move it back
        r = 3 if len(dims) >= 2 else 1  # the internal example shape: (C,) or (C, H, W)
        perm = [axis] + [i for i in range(r) if i != axis]
        inverse = list(np.argsort(perm))
        return Built([L.ArrayTransposeLayer(Perm=tuple(perm)), spec, L.ArrayTransposeLayer(Perm=tuple(inverse))],
                     1, len(dims), None)


class DropoutLayer(NetLayer):
    """``DropoutLayer[]`` (p = 0.5), ``DropoutLayer[p]``: in training ("Train" mode) zeroes
    elements with probability p and scales the rest by 1/(1-p)."""

    head = "DropoutLayer"

    def __init__(self, p=0.5, *, Method="Dropout", **options):
        super().__init__(**options)
        if not isinstance(p, (int, float, np.floating)) or isinstance(p, bool) or not 0 <= p < 1:
            raise _opt_err(self.head, "the dropout probability", p, "a number p with 0 <= p < 1")
        if not same(Method, "Dropout"):
            raise LayerGraphError(f"DropoutLayer: Method -> {_wl(Method)} is not supported; only \"Dropout\".",
                                  "General::unsupported")
        self.params = {"DropoutProbability": float(p), "Method": Method}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        return cls(float(spec.Probability))

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        return Built([L.DropoutLayer(Name=name, Probability=self.params["DropoutProbability"])], 0, len(dims), None)


class _Reshaping(NetLayer):
    """A layer that reshapes (row-major, as Wolfram does): the core's ArrayReshapeLayer to the
    ``out_dims`` of its input."""

    def out_dims(self, dims):
        raise NotImplementedError

    def _probe_dims(self):
        return None   # the output dimensions depend on the input's

    def build(self, name, in_dims):
        dims = _single(self.head, in_dims)
        out = self.out_dims(dims)
        return Built([L.ArrayReshapeLayer(Name=name, OutputSize=dims_to_size(out))], 0, len(out), None)


class FlattenLayer(_Reshaping):
    """``FlattenLayer[]`` flattens everything (row-major); ``FlattenLayer[n]`` the first n+1
    dimensions; ``FlattenLayer[-n]`` the last n+1."""

    head = "FlattenLayer"

    def __init__(self, level=S.Infinity, **options):
        super().__init__(**options)
        if level is not S.Infinity and (not isinstance(level, (int, np.integer)) or isinstance(level, bool)
                                        or level == 0):
            raise _opt_err(self.head, "the level", level, "Infinity or a nonzero integer")
        self.params = {"Level": level}

    def out_dims(self, dims):
        level = self.params["Level"]
        r = len(dims)
        if level is S.Infinity or (level > 0 and level >= r - 1) or (level < 0 and -level >= r - 1):
            return (int(np.prod(dims)),)
        if level > 0:
            return (int(np.prod(dims[:level + 1])), *dims[level + 1:])
        k = -level + 1
        return (*dims[:r - k], int(np.prod(dims[r - k:])))


class ReshapeLayer(_Reshaping):
    """``ReshapeLayer[{d1, ...}]``: each di a positive integer, Inherited (the input's
    dimension), Automatic (inferred; at most one) or All (the rest; at most one)."""

    head = "ReshapeLayer"

    def __init__(self, dims=None, **options):
        super().__init__(**options)
        if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
            dims = (dims,)
        if not isinstance(dims, (list, tuple)) or not dims:
            raise LayerGraphError("ReshapeLayer needs the dimensions: ReshapeLayer((d1, d2, ...)).",
                                  "ReshapeLayer::argrx")
        ok = all(one_of(d, S.Inherited, S.Automatic, S.All) or (isinstance(d, (int, np.integer))
                                                              and not isinstance(d, bool) and d >= 1) for d in dims)
        if not ok or sum(d is S.Automatic for d in dims) > 1 or sum(d is S.All for d in dims) > 1:
            raise _opt_err(self.head, "the dimensions", dims, "positive integers, Inherited, at most one Automatic "
                                                              "and at most one All")
        self.params = {"Dimensions": tuple(dims)}

    def out_dims(self, dims):
        spec = self.params["Dimensions"]
        total = int(np.prod(dims))
        out = []
        for i, d in enumerate(spec):
            if d is S.Inherited:
                if i >= len(dims):
                    raise _err(self.head, f"Inherited at position {i + 1} has no input dimension to copy.")
                out.append(dims[i])
            elif d is S.All:
                out.append(list(dims[i:]))
            else:
                out.append(d)
        flat = []
        for d in out:
            flat.extend(d if isinstance(d, list) else [d])
        known = int(np.prod([d for d in flat if isinstance(d, int)]))
        if S.Automatic in flat:
            if known == 0 or total % known:
                raise _err(self.head, f"cannot reshape {wl_list(dims)} to {_wl(spec)}.")
            flat = [total // known if d is S.Automatic else d for d in flat]
        if int(np.prod(flat)) != total:
            raise _err(self.head, f"cannot reshape {wl_list(dims)} ({total} elements) to {wl_list(flat)} "
                                  f"({int(np.prod(flat))} elements).")
        return tuple(int(d) for d in flat)

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """A ReshapeLayer for the core ArrayReshapeLayer (row-major, like Wolfram's)."""
        return cls(_dims_of(spec.OutputSize))


# =============================================================================================
class _MultiPort(NetLayer):
    multiport = True

    def __init__(self, **options):
        inputs = options.pop("InputPorts", None)
        super().__init__(**options)
        if inputs is not None and not (isinstance(inputs, (int, np.integer)) and inputs >= 1):
            raise _opt_err(self.head, "\"InputPorts\"", inputs, "a positive integer")
        self.num_inputs = None if inputs is None else int(inputs)

    def _check_same_rank(self, in_dims):
        if len(in_dims) < 1:
            raise LayerGraphError(f"The input port of {self.head} has an indeterminate number of input ports. "
                                  "Connect its inputs, e.g. ((1, 2), 3) for {1, 2} -> 3.", "General::indmultiport")


class CatenateLayer(_MultiPort):
    """``CatenateLayer[]`` == ``CatenateLayer[1]``: joins its inputs along the first
    (channel) dimension; ``CatenateLayer[n]`` along level n."""

    head = "CatenateLayer"

    def __init__(self, level=1, **options):
        super().__init__(**options)
        self.params = {"Level": _level_option(self.head, level)}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """CatenateLayer[] for depth concatenation; MATLAB's concatenation along Dim 1 (H)
        or 2 (W) of images is level Dim + 1 (channel-first dims), along Dim 3 level 1."""
        if isinstance(spec, L.DepthConcatenationLayer):
            return cls()
        if not (in_sizes and in_sizes[0].is_image) or spec.Dim not in (1, 2, 3):
            raise NoCounterpart("only images concatenated along height, width or channels map to CatenateLayer")
        return cls(1 if spec.Dim == 3 else spec.Dim + 1)

    def _probe_dims(self):
        return [(1, 1, 1)] * (self.num_inputs or 2)

    def build(self, name, in_dims):
        self._check_same_rank(in_dims)
        ranks = {len(d) for d in in_dims}
        if len(ranks) != 1:
            raise _err(self.head, "the inputs should have the same rank; received "
                                  + ", ".join(wl_list(d) for d in in_dims) + ".")
        rank = ranks.pop()
        axis = _level(self.head, self.params["Level"], rank)
        for d in in_dims[1:]:
            if any(a != b for i, (a, b) in enumerate(zip(d, in_dims[0])) if i != axis):
                raise _err(self.head, "the inputs should agree in every dimension but level "
                                      f"{self.params['Level']}; received " + ", ".join(wl_list(x) for x in in_dims)
                                      + ".")
        k = len(in_dims)
        if axis == 0:
            spec = L.DepthConcatenationLayer(Name=name, num_inputs=k) if k >= 2 else L.ArrayReshapeLayer(
                Name=name, OutputSize=dims_to_size(in_dims[0]))
        else:
            # internal (C, H, W): Wolfram level 2 is H (MATLAB Dim 1), level 3 W (Dim 2)
            spec = L.ConcatenationLayer(Name=name, Dim=axis, num_inputs=k) if k >= 2 else L.ArrayReshapeLayer(
                Name=name, OutputSize=dims_to_size(in_dims[0]))
        return Built([spec], 0, rank, None)


class TotalLayer(_MultiPort):
    """``TotalLayer[]``: the sum of its inputs (all of the same dimensions)."""

    head = "TotalLayer"

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        return cls()

    def build(self, name, in_dims):
        self._check_same_rank(in_dims)
        for d in in_dims[1:]:
            if d != in_dims[0]:
                raise _err(self.head, "the inputs should have the same dimensions; received "
                                      + ", ".join(wl_list(x) for x in in_dims) + ".")
        k = len(in_dims)
        spec = L.AdditionLayer(Name=name, num_inputs=k) if k >= 2 else L.ArrayReshapeLayer(
            Name=name, OutputSize=dims_to_size(in_dims[0]))
        return Built([spec], 0, len(in_dims[0]), None)


class ThreadingLayer(_MultiPort):
    """``ThreadingLayer[f]`` == ``ThreadingLayer[f, Automatic]``: f(x1, x2, ...) element by
    element; f Plus, Subtract, Times, Divide, Power, Max, Min or a Python function of as many
    arrays. With Automatic the inputs have one rank and each dimension agrees or is 1 (that
    input is replicated); with None they have equal dimensions. Other broadcasting
    specifications (n, -n, lists) are not supported."""

    head = "ThreadingLayer"

    def __init__(self, f=None, bspec=S.Automatic, **options):
        super().__init__(**options)
        if not (bspec is S.Automatic or bspec is None):
            raise LayerGraphError(f"ThreadingLayer: the broadcasting specification {_wl(bspec)} is not supported; "
                                  "use Automatic (replicate along axes of size 1) or None.", "General::unsupported")
        if isinstance(f, S.Symbol) and f in S.BINARY_SYMBOLS:
            self._fn = f.name
        elif callable(f) and not isinstance(f, S.Symbol):
            self._fn = f
        else:
            raise _opt_err(self.head, "the function", f, "Plus, Subtract, Times, Divide, Power, Max, Min or a "
                                                         "function")
        self.params = {"Function": f, "Broadcasting": bspec}

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        f = spec.Function
        if isinstance(f, str):
            f = next((s for s in S.BINARY_SYMBOLS if s.name == f), None)
            if f is None:
                raise NoCounterpart(f"the function {spec.Function!r} has no Wolfram symbol")
        return cls(f)

    def build(self, name, in_dims):
        self._check_same_rank(in_dims)
        received = ", ".join(wl_list(x) for x in in_dims)
        broadcast = self.params["Broadcasting"] is S.Automatic
        for d in in_dims[1:]:
            if broadcast:
                if len(d) != len(in_dims[0]) or any(a != b and 1 not in (a, b) for a, b in zip(d, in_dims[0])):
                    raise _err(self.head, "the inputs should have the same rank and dimensions that agree or are 1; "
                                          f"received {received}.")
            elif d != in_dims[0]:
                raise _err(self.head, f"the inputs should have the same dimensions; received {received}.")
        k = len(in_dims)
        if k == 1:
            spec = L.ArrayReshapeLayer(Name=name, OutputSize=dims_to_size(in_dims[0]))
        else:
            spec = L.ThreadingFunctionLayer(Name=name, Function=self._fn, num_inputs=k)
        return Built([spec], 0, len(in_dims[0]), None)


# =============================================================================================
# core -> Wolfram: the one place that maps a core layer spec to a Wolfram layer
def _elementwise_from_core(cls, spec, in_sizes=None):
    """ElementwiseLayer[f] for a core activation: the first Wolfram name of its class in the
    activation table (a symbol such as Ramp where Wolfram has one)."""
    def named(name):
        symbol = next((s for s in S.UNARY_SYMBOLS if s.name == name), None)
        return cls(symbol if symbol is not None else name)
    if isinstance(spec, L.ElementwiseFunctionLayer):
        return named(spec.Function) if isinstance(spec.Function, str) else cls(spec.Function)
    entry = BY_CLASS.get(type(spec))
    if entry is not None and entry.wolfram_function:
        return named(entry.wolfram_function)
    raise NoCounterpart(f"no ElementwiseLayer function builds {spec.class_name}")


ElementwiseLayer.from_core = classmethod(_elementwise_from_core)


class CoreLayerView(NetLayer):
    """A core layer inside a Wolfram net as itself: a layer without a Wolfram counterpart
    (leakyReluLayer, flattenLayer, an input layer's normalization, ...) or one whose
    properties its counterpart cannot express. It builds to the spec, prints as its MATLAB
    class (``nnet.cnn.layer.LeakyReLULayer``), and its arrays keep MATLAB's names and
    layout (``"Weights"`` FH x FW x C x F, ``"Bias"`` 1 x 1 x F)."""

    core_view = True

    def __init__(self, spec: CoreLayer):
        if not isinstance(spec, CoreLayer):
            raise LayerGraphError(f"CoreLayerView needs a core layer; got {type(spec).__name__}.",
                                  "General::invnetarg")
        if spec.is_output:
            raise LayerGraphError(f"{spec.class_name} '{spec.Name}': output layers are not layers of a Wolfram net. "
                                  "Give a classifier's classes as the decoder of its output port: "
                                  "Output=NetDecoder((\"Class\", labels)).", "General::invnetarg")
        if len(spec.OutputNames) != 1:
            raise LayerGraphError(f"{spec.class_name} '{spec.Name}' has {len(spec.OutputNames)} outputs; a layer of "
                                  "a Wolfram net has one output port.", "General::unsupported")
        entry = BY_CLASS.get(type(spec))
        self.head = ("nnet.cnn.layer." if entry is not None and entry.matlab else "layergraph.layers.") \
            + spec.class_name
        self.array_names = tuple(s.name for s in spec.learnables) + tuple(spec.states)
        self.arrays = {n: getattr(spec, n) for n in self.array_names}
        self.spec = spec._resolved_copy(**{n: None for n in self.array_names})
        self.multiport = len(spec.InputNames) > 1
        self.is_input = spec.is_input
        self.input_spec = _dims_of(spec.infer([])[1][0]) if spec.is_input else None
        self.output_spec = None
        self.lrm = None
        self.disabled = set()
        self.shared, self.shared_dims = {}, {}
        hidden = {"Name", *self.array_names,
                  *(s.initializer for s in spec.learnables if self.arrays[s.name] is not None)}
        self.params = {}
        for _, names in spec.property_groups():
            for k in names:
                if k not in hidden and k in type(spec).model_fields:
                    v = getattr(spec, k)
                    self.params[k] = _wl(v) if isinstance(v, np.ndarray) else v

    def current_spec(self, name: str | None = None) -> CoreLayer:
        """The spec with this view's arrays (and name)."""
        updates = {n: self.arrays.get(n) for n in self.array_names}
        if self.lrm is not None:   # a net's LearningRateMultipliers reach the core factors
            updates.update({s.learn_rate: self.factor(s.name) for s in self.spec.learnables})
        if name is not None:
            updates["Name"] = name
        return self.spec.with_matlab_arrays(**updates)   # this view's arrays are in MATLAB's layout

    def core_spec(self, name: str = "") -> CoreLayer:
        return self.current_spec(name)

    def input_ports(self):
        return ["Input"]

    def array_dims(self, in_dims):
        from ..core.layer import SizeError
        sizes = [dims_to_size(d) for d in in_dims]
        try:
            sized, _ = self.spec.infer(sizes)
        except SizeError as err:   # the input does not fit the core layer (an LSTM given no sequence)
            raise _err(self.head, err.message) from None
        return {**sized.learnable_sizes(sizes[0]), **sized.state_sizes(sizes[0])}

    def _check_arrays(self, in_dims):
        for arr_name, dims in self.array_dims(in_dims).items():
            value = self.arrays.get(arr_name)
            if value is not None and not matlab_size_equal(tuple(value.shape), tuple(dims)):
                raise _err(self.head, f"the array \"{arr_name}\" has dimensions {wl_list(value.shape)}, but "
                                      f"dimensions {wl_list(dims)} (MATLAB's layout) were expected.")

    def build(self, name, in_dims):
        if not self.is_input:
            self._check_arrays(in_dims)

        def read(core):
            return {n: getattr(core, n) for n in self.array_names}
        return Built([self.current_spec(name)], 0, None, read if self.array_names else None)

    def __eq__(self, other):
        if type(other) is not CoreLayerView:
            return NotImplemented
        return self.current_spec("") == other.current_spec("") and self.shared == other.shared

    __hash__ = None


def from_core(spec: CoreLayer, in_sizes=None) -> NetLayer:
    """The Wolfram layer for a core layer spec: the registry's Wolfram class reads it
    (``from_core``); ``in_sizes`` (the core sizes at its inputs) lets the result be checked
    by building it back, which must give the same spec. A spec that no Wolfram layer says
    exactly stays as itself (CoreLayerView); an output layer is refused."""
    entry = BY_CLASS.get(type(spec))
    cls = _BY_HEAD.get(entry.wolfram) if entry is not None and entry.wolfram else None
    if cls is None or spec.is_input or spec.is_output:
        return CoreLayerView(spec)
    if in_sizes and any(s.is_sequence for s in in_sizes) and not getattr(cls, "takes_sequences", False):
        return CoreLayerView(spec)   # on a sequence per step (MATLAB's fullyConnectedLayer), which cls is not
    try:
        layer = cls.from_core(spec, in_sizes)
        probe = in_sizes or ([Size((), 1)] if cls in (ElementwiseLayer, DropoutLayer) else None)
        if probe:
            built = layer.build(spec.Name or "layer", [_dims_of(s) for s in probe])
            if len(built.specs) != 1 or _differs(spec, built.specs[0]):
                raise NoCounterpart("building it back gives another spec")
    except (NoCounterpart, LayerGraphError):
        return CoreLayerView(spec)
    return layer


def _differs(orig: CoreLayer, rebuilt: CoreLayer) -> str | None:
    """The first property in which two specs differ (None: they compute the same)."""
    if isinstance(orig, L.ConcatenationLayer) and isinstance(rebuilt, L.DepthConcatenationLayer):
        return None if orig.Dim == 3 else "Dim"
    if isinstance(orig, L.ElementwiseFunctionLayer) and isinstance(orig.Function, str) \
            and registry.WOLFRAM_FUNCTIONS.get(orig.Function) is BY_CLASS.get(type(rebuilt)):
        return None   # a named function that an activation's kernels compute ("Tanh": tanhLayer)
    if type(orig) is not type(rebuilt):
        return "class"
    set_learnables = {s.initializer for s in orig.learnables if getattr(orig, s.name) is not None}
    for f in type(orig).model_fields:
        a, b = getattr(orig, f), getattr(rebuilt, f)
        if f == "Name" or f in set_learnables or (isinstance(a, str) and a == "auto") \
                or (isinstance(b, str) and b == "auto"):
            continue
        if f == "PaddingSize" and getattr(orig, "PaddingMode", None) == "same":
            continue   # derived from the input size in 'same' mode
        if f in ("input_order", "input_dims"):
            continue   # how a fully connected layer stores its weights; their MATLAB views are compared
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            if a is None or b is None or np.size(a) != np.size(b) or not np.array_equal(
                    np.asarray(a, np.float32).ravel(order="F"), np.asarray(b, np.float32).ravel(order="F")):
                return f
        elif isinstance(a, float) and isinstance(b, float):
            if not np.isclose(a, b, rtol=1e-12, atol=0):
                return f
        elif a != b:
            return f
    return None


LAYER_CLASSES = (LinearLayer, ConvolutionLayer, DeconvolutionLayer, PoolingLayer, BatchNormalizationLayer,
                 NormalizationLayer,
                 ElementwiseLayer, SoftmaxLayer, DropoutLayer, FlattenLayer, ReshapeLayer, CatenateLayer,
                 TotalLayer, ThreadingLayer)

_BY_HEAD = {c.head: c for c in LAYER_CLASSES}


def _recorded(cls):
    """Keep the constructor call (``layer.call``: positional arguments and options) so that
    layergraph.save can write a layer as the call that makes it and load can make it again
    through the same validation."""
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if type(self) is cls:
            self.call = (args, dict(kwargs))
        init(self, *args, **kwargs)
    cls.__init__ = __init__


for _cls in LAYER_CLASSES:
    checked_init(_cls)
    _recorded(_cls)

__all__ = [c.__name__ for c in LAYER_CLASSES] + ["NetLayer"]
