"""Saving and loading: ``layergraph.save(obj, path)`` and ``layergraph.load(path)``.

What can be saved: a ``SeriesNetwork`` / ``DAGNetwork`` (trained or assembled),
a ``DLNetwork`` (initialized or not), a ``LayerGraph``, a ``LayerArray`` (a plain
list of layers is saved as one) and a single layer; of the Wolfram dialect a
``NetChain``, a ``NetGraph`` (nested nets too), a Wolfram layer, initialized,
trained or not, with coders (NetEncoder / NetDecoder) and shared arrays (NetArray),
and on their own a loss layer, a NetEncoder / NetDecoder and a NetArray (see
"Wolfram objects" below). ``load`` gives back an object
of the same class with the same layer names, every property, every array (same
dtype, shape and bits), the same connections and, for a dlnetwork, the same
``Initialized``; ``predict`` on the loaded network gives identical outputs.

Format: ONE file, a zip archive that is also a valid ``.npz``:

* ``layergraph.json`` (the first member): ``{"format": "layergraph", "version": 1,
  "kind": "DAGNetwork", "layers": [{"class": "Convolution2DLayer", "properties":
  {...}}, ...], "connections": [[source, destination, [[output, input], ...]], ...],
  "attributes": {"Initialized": true}, "arrays": {"a0": {"dtype": "<f4",
  "shape": [3, 3, 3, 16]}, ...}}``;
* ``a0.npy``, ``a1.npy``, ...: the arrays, in numpy's ``.npy`` format, referred to
  from the properties as ``{"$array": "a0"}``.

Shared learnables (``core/shared.py``) are listed as ``"shared": {name: [[layer,
learnable], ...]}``; a member holding the same value as the group's first member refers
to that member's array, so a shared array is written once, and it loads shared.

One file because a network is one thing to the user (MATLAB's ``save('net.mat',
'net')`` writes one file): it cannot be copied half, and the description and the
arrays cannot drift apart. A zip of ``.npy`` members is numpy's own ``.npz``
format, so ``np.load(path)`` opens it too, and the description is plain JSON that
any zip tool shows. Any file name works (nothing is appended); ``.npz`` is a
good choice.

Every property of every layer is written, not only those that differ from the
defaults, so a later change of a default never changes a saved network. Values
JSON has no type for are tagged: ``{"$tuple": [...]}``, ``{"$float": "inf"}``,
``{"$size": [[h, w], c]}``, ``{"$array": key}``, ``{"$function": name}``.

Loading never runs code from the file: the description is read with
``json.loads`` and the arrays with ``np.load(..., allow_pickle=False)``, so an
object array (which only pickle could restore) is refused; layer classes are
looked up by name in a fixed table of layergraph's own classes (the registry's
plus the core array layers), never imported by name; every property then goes
through the layer's own validation, as if typed by the user. A missing, foreign,
truncated or damaged file, an unknown format version, an unknown layer class, a
missing array or an invalid property is a ``LayerGraphError`` that names the
file and what is wrong.

Python functions in properties. A file holds no code, so a function cannot be
restored without running code. layergraph therefore:

* saves an *initializer* function (``WeightsInitializer``, ``BiasInitializer``,
  ``ScaleInitializer``, ``OffsetInitializer``) when the learnable it initializes is
  already set, which is the case in every trained, assembled or initialized network,
  where the initializer no longer matters. Only its name is saved; after loading, the
  property holds an :class:`UnsavedFunction` of that name, which displays as
  ``@name`` and raises a clear error if it is ever called (assign the function again
  to use it);
* refuses, naming the layer and the property, to save an initializer function whose
  learnable is still empty (the loaded layer could not be initialized), a
  ``Normalization`` function of an input layer and the ``Function`` of an
  elementwise or threading layer (each of these is needed to compute the outputs).
  Use a named value (``'glorot'``, ``'zerocenter'``, ...) or initialize the network
  first.

Saving is atomic: the file is written under a temporary name in the same folder
and renamed over ``path`` (``os.replace``) once complete, so an interrupted save
never leaves a half-written file under the final name, and an existing file stays
as it was when the save fails. Before writing, ``save`` checks that the object
loads back (every layer is rebuilt with its validation, networks are analyzed), so
a file that ``save`` wrote always loads: a network whose weights hold NaN or Inf,
which no layer accepts, is refused at save time rather than at load time.
"""
from __future__ import annotations

import io as _io
import json
import math
import os
import secrets
import zipfile
import zlib

import numpy as np

from . import layers as _L
from .core.errors import LayerGraphError, NetworkAnalysisError
from .core.infer import require_valid
from .core.layer import Layer
from .core.registry import REGISTRY
from .core.shared import set_shared_learnables, shared_learnables
from .core.size import Size
from .matlab.analysis import analyze
from .matlab.layer_array import LayerArray
from .matlab.layer_graph import LayerGraph
from .matlab.limits import LIMITS as MATLAB_LIMITS, matlab_limits
from .matlab.network import DAGNetwork, DLNetwork, SeriesNetwork

FORMAT = "layergraph"
VERSION = 1
DESCRIPTION = "layergraph.json"

KINDS = ("SeriesNetwork", "DAGNetwork", "DLNetwork", "LayerGraph", "LayerArray", "Layer")


def _layer_classes() -> dict[str, type]:
    """The only classes ``load`` creates, by MATLAB class name: the registry's, and any
    core layer of ``layergraph.layers`` that the registry does not list."""
    table: dict[str, type] = {}
    for cls in [e.layer for e in REGISTRY] + [getattr(_L, n) for n in _L.__all__]:
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            continue
        other = table.setdefault(cls.class_name, cls)
        if other is not cls:
            raise RuntimeError(f"Two layer classes are named {cls.class_name!r}.")
    return table


LAYER_CLASSES = _layer_classes()


_CUSTOM_MODULE = "layergraph.matlab.custom"
_CUSTOM_BASES = ("Layer", "ClassificationLayer", "RegressionLayer")


def _custom_template(layer):
    """The user's object of a MATLAB custom layer (matlab/custom.py), else None."""
    impl = layer.__dict__.get("impl") if getattr(layer, "family", None) in ("custom", "crossentropyex", "mse") \
        else None
    template = getattr(impl, "template", None)
    if template is None or type(impl).__module__ != _CUSTOM_MODULE:
        return None
    return template


def _custom_table(CustomLayers) -> dict[str, type]:
    """load's CustomLayers (a class, or a list, tuple or dict of them) as {class name: class}."""
    from .matlab.custom import _Base
    if CustomLayers is None:
        return {}
    items = list(CustomLayers.values()) if isinstance(CustomLayers, dict) else \
        [CustomLayers] if isinstance(CustomLayers, type) else list(CustomLayers)
    out = {}
    for c in items:
        if not (isinstance(c, type) and issubclass(c, _Base)):
            raise LayerGraphError(f"Invalid value in CustomLayers: {c!r}. Expected custom layer classes (subclasses "
                                  "of nnet.layer.Layer).", "layergraph:load:InvalidCustomLayers")
        out[c.__name__] = c
    return out


class UnsavedFunction:
    """Stands in, after loading, for an initializer function that the file could not
    hold. Shows as ``@name``; calling it raises an error that says so."""

    def __init__(self, name: str):
        self.__name__ = name
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        raise LayerGraphError(
            f"The initializer function '{self.__name__}' was not saved with the network (a layergraph file holds "
            "no code; only its name was kept). Assign the function again before initializing.",
            "layergraph:load:UnsavedFunction")

    def __eq__(self, other):
        return type(other) is UnsavedFunction and other.__name__ == self.__name__

    def __hash__(self):
        return hash(("UnsavedFunction", self.__name__))

    def __repr__(self):
        return f"UnsavedFunction({self.__name__!r})"


# ------------------------------------------------------------------------------------------
# object <-> description

def _kind(obj) -> str:
    if isinstance(obj, Layer):
        return "Layer"
    for cls in (SeriesNetwork, DAGNetwork, DLNetwork, LayerGraph, LayerArray):   # the most derived first
        if isinstance(obj, cls):
            return cls.__name__
    if isinstance(obj, (list, tuple)):
        return "LayerArray"
    hint = ""
    if type(obj).__name__ == "NetTrainResultsObject":
        hint = ' Save its trained net: results["TrainedNet"].'
    raise LayerGraphError(
        f"save expects a SeriesNetwork, DAGNetwork, dlnetwork, LayerGraph, layer array, layer, NetChain, NetGraph "
        f"or Wolfram layer; got {type(obj).__name__}.{hint}", "layergraph:save:UnsupportedObject")


def _function_name(fn) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


_OTHER = object()   # _Writer.plain: not a plain value


class _Writer:
    """Encodes layers as JSON values, collecting the arrays."""

    def __init__(self, path: str):
        self.path = path
        self.arrays: dict[str, np.ndarray] = {}
        self.custom_classes: dict[str, type] = {}   # the custom layer classes met (the save checks its file with them)

    def fail(self, layer: Layer, message: str, identifier: str) -> LayerGraphError:
        return LayerGraphError(f"Unable to save to '{self.path}': layer '{layer.Name}' ({layer.class_name}): "
                               f"{message}", identifier)

    def layer(self, layer: Layer) -> dict:
        cls = type(layer)
        if _custom_template(layer) is not None:
            return self.custom(layer)
        if LAYER_CLASSES.get(cls.class_name) is not cls:
            raise self.fail(layer, f"the class {cls.__module__}.{cls.__qualname__} is not one of layergraph's "
                                   "layer classes, so load could not create it.", "layergraph:save:UnknownLayerClass")
        initializers = {spec.initializer: spec.name for spec in cls.learnables}
        props = {}
        for field in cls.model_fields:
            value = getattr(layer, field)
            if callable(value) and not isinstance(value, (np.ndarray, str, type)):
                props[field] = self.function(layer, field, value, initializers)
            else:
                props[field] = self.value(layer, field, value)
        out = {"class": cls.class_name, "properties": props}
        if cls in MATLAB_LIMITS and not layer._limits:
            out["limits"] = "none"   # made outside MATLAB's constructors (e.g. a Wolfram layer's Epsilon 1e-6)
        return out

    def custom(self, layer: Layer) -> dict:
        """A MATLAB custom layer (a subclass of nnet.layer.Layer): its spec's properties (name,
        learnables, their factors, states) and the user object's own attributes, which must be
        plain values; the class itself is code, given to ``load`` by the user (CustomLayers)."""
        template = _custom_template(layer)
        user_cls = type(template)
        self.custom_classes[user_cls.__name__] = user_cls
        props = {f: self.value(layer, f, getattr(layer, f)) for f in type(layer).model_fields if f != "impl"}
        skip = {"Name", "Description", *user_cls.Learnable, *user_cls.State}
        attributes = {}
        for key, value in template.__dict__.items():
            if key.startswith("_") or key in skip:
                continue
            if callable(value) and not isinstance(value, (np.ndarray, str, type)):
                raise self.fail(layer, f"property '{key}' of the custom layer class {user_cls.__name__} holds the "
                                       f"Python function '{_function_name(value)}'. A layergraph file holds no code, "
                                       "so the function cannot be saved.", "layergraph:save:FunctionNotSaved")
            attributes[key] = self.value(layer, key, value)
        base = next(b.__name__ for b in user_cls.__mro__ if b.__name__ in _CUSTOM_BASES
                    and b.__module__ == _CUSTOM_MODULE)
        return {"class": "$custom", "custom": user_cls.__name__, "base": base, "properties": props,
                "attributes": attributes}

    def function(self, layer, field, fn, initializers) -> dict:
        name = _function_name(fn)
        if field in initializers:
            learnable = initializers[field]
            if getattr(layer, learnable) is not None:
                return {"$function": name}
            raise self.fail(layer, f"{field} is the Python function '{name}' and {learnable} is empty. A layergraph "
                                   "file holds no code, so the loaded layer could not be initialized. Initialize the "
                                   f"network first (dlnetwork), set {learnable}, or use a named initializer.",
                            "layergraph:save:FunctionNotSaved")
        raise self.fail(layer, f"{field} is the Python function '{name}'. A layergraph file holds no code, so the "
                               "function cannot be saved; use one of the named values instead.",
                        "layergraph:save:FunctionNotSaved")

    def plain(self, value, bad_array):
        """The JSON of a value that no dialect adds anything to: None, a bool, a string, a
        number (a non-finite float tagged), a numeric array (kept in ``self.arrays``); ``_OTHER``
        for anything else. ``bad_array(value)`` is the error for an array that is not numeric."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            v = float(value)
            if math.isfinite(v):
                return v
            return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise bad_array(value)
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"$array": key}
        return _OTHER

    def value(self, layer, field, value):
        out = self.plain(value, lambda a: self.fail(
            layer, f"{field} is an array of dtype {a.dtype}; only numeric arrays can be saved.",
            "layergraph:save:UnsupportedValue"))
        if out is not _OTHER:
            return out
        if isinstance(value, Size):
            time = [] if value.time is None else [int(value.time)]   # a sequence's time (core/size.py)
            return {"$size": [[int(s) for s in value.spatial], int(value.channels), *time]}
        if type(value) is tuple:
            return {"$tuple": [self.value(layer, field, v) for v in value]}
        if type(value) is list:
            return [self.value(layer, field, v) for v in value]
        raise self.fail(layer, f"{field} holds a value of type {type(value).__name__}, which a layergraph file cannot "
                               "hold.", "layergraph:save:UnsupportedValue")


def _describe(obj, path: str) -> tuple[dict, dict[str, np.ndarray], dict]:
    from . import __version__
    wolfram = _wolfram_kind(obj)
    if wolfram is not None:
        writer = _WolframWriter(path)
        desc = {"format": FORMAT, "version": VERSION, "kind": wolfram, "written_by": f"layergraph {__version__}",
                "net": writer.node(obj, "")}
        desc["arrays"] = {key: {"dtype": a.dtype.str, "shape": list(a.shape)} for key, a in writer.arrays.items()}
        return desc, writer.arrays, {}
    kind = _kind(obj)
    writer = _Writer(path)
    desc: dict = {"format": FORMAT, "version": VERSION, "kind": kind, "written_by": f"layergraph {__version__}"}
    if kind == "Layer":
        desc["layers"] = [writer.layer(obj)]
    elif kind == "LayerArray":
        desc["layers"] = [writer.layer(layer) for layer in LayerArray(obj)]
    else:
        graph = obj if kind == "LayerGraph" else obj.layer_graph
        g = graph._g
        desc["layers"] = [writer.layer(g.nodes[n]["layer"]) for n in g.nodes]
        desc["connections"] = [[src, dst, [[out, inp] for out, inp in data["ports"]]]
                               for src, dst, data in g.edges(data=True)]
        if kind == "DLNetwork":
            desc["attributes"] = {"Initialized": bool(obj.Initialized)}
        table = shared_learnables(graph)
        if table:
            desc["shared"] = {name: [list(m) for m in members] for name, members in table.items()}
            _save_shared_once(desc["layers"], list(g.nodes), table, writer.arrays)
    desc["arrays"] = {key: {"dtype": a.dtype.str, "shape": list(a.shape)} for key, a in writer.arrays.items()}
    return desc, writer.arrays, writer.custom_classes


def _save_shared_once(items: list, names: list, table: dict, arrays: dict) -> None:
    """A shared learnable is written once: members whose value is the holder's (same
    dtype, shape and bits) refer to the holder's array."""
    where = dict(zip(names, items))
    for members in table.values():
        holder = where[members[0][0]]["properties"].get(members[0][1])
        if not (isinstance(holder, dict) and "$array" in holder):
            continue
        first = arrays[holder["$array"]]
        for layer_name, param in members[1:]:
            props = where[layer_name]["properties"]
            ref = props.get(param)
            if isinstance(ref, dict) and "$array" in ref and ref["$array"] != holder["$array"]:
                a = arrays[ref["$array"]]
                if a.dtype == first.dtype and a.shape == first.shape and np.array_equal(a, first):
                    del arrays[ref["$array"]]
                    props[param] = {"$array": holder["$array"]}


class _Reader:
    """Builds the object from a description and its arrays; every problem is a
    LayerGraphError that starts with ``prefix`` (which names the file)."""

    def __init__(self, prefix: str, arrays, custom: dict | None = None):
        self.prefix = prefix
        self.arrays = arrays        # key -> ndarray (or a callable that reads one)
        self.custom = custom or {}  # the custom layer classes the caller gave: {class name: class}

    def fail(self, message: str, identifier: str = "layergraph:load:InvalidFile") -> LayerGraphError:
        return LayerGraphError(f"{self.prefix}{message}", identifier)

    def expect(self, ok: bool, message: str):
        if not ok:
            raise self.fail(f"the description is malformed: {message}")

    # -- values -----------------------------------------------------------------------------
    def value(self, v, where: str, function_ok: bool):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.value(x, where, False) for x in v]
        self.expect(isinstance(v, dict) and len(v) == 1, f"{where} has the unknown value {v!r}.")
        (tag, arg), = v.items()
        if tag == "$tuple" and isinstance(arg, list):
            return tuple(self.value(x, where, False) for x in arg)
        if tag == "$float" and arg in ("inf", "-inf", "nan"):
            return float(arg)
        if tag == "$array" and isinstance(arg, str):
            return self.array(arg, where)
        if tag == "$size" and isinstance(arg, list) and len(arg) in (2, 3) and isinstance(arg[0], list) \
                and all(type(s) is int for s in arg[0]) and all(type(v) is int for v in arg[1:]):
            return Size(tuple(arg[0]), *arg[1:])
        if tag == "$function" and isinstance(arg, str):
            if not function_ok:
                raise self.fail(f"{where} is a saved function name, which only an initializer property whose "
                                "learnable is set can hold.")
            return UnsavedFunction(arg)
        self.expect(False, f"{where} has the unknown value {v!r}.")

    def array(self, key: str, where: str) -> np.ndarray:
        if key not in self.arrays:
            raise self.fail(f"{where} refers to the array '{key}', which is not in the file.",
                            "layergraph:load:MissingArray")
        a = self.arrays[key]
        return a(key, where) if callable(a) else a

    # -- layers and graphs -------------------------------------------------------------------
    def layer(self, item, index: int) -> Layer:
        self.expect(isinstance(item, dict) and isinstance(item.get("class"), str)
                    and isinstance(item.get("properties"), dict), f"layer {index} is not a class with properties.")
        props = item["properties"]
        name = props.get("Name")
        label = f"layer {index} ('{name}')" if isinstance(name, str) and name else f"layer {index}"
        if item["class"] == "$custom":
            return self.custom_layer(item, label)
        cls = LAYER_CLASSES.get(item["class"])
        if cls is None:
            raise self.fail(f"{label} has the class '{item['class']}', which is not a layergraph layer class. Known "
                            f"classes: {', '.join(sorted(LAYER_CLASSES))}.", "layergraph:load:UnknownLayerClass")
        missing = [f for f, info in cls.model_fields.items() if info.is_required() and f not in props]
        if missing:
            raise self.fail(f"{label} ({cls.class_name}) lacks the required properties {', '.join(missing)}.",
                            "layergraph:load:InvalidProperty")
        initializers = {spec.initializer: spec.name for spec in cls.learnables}
        values = {}
        for field, v in props.items():
            values[field] = self.value(v, f"property '{field}' of {label}", function_ok=field in initializers)
        for field, fn in values.items():
            if isinstance(fn, UnsavedFunction) and values.get(initializers[field]) is None:
                raise self.fail(f"property '{field}' of {label} is a saved function name but "
                                f"{initializers[field]} is empty.")
        try:
            layer = cls(**values)
            # MATLAB's limits unless the file says the layer was made without them (files before they were recorded
            # hold MATLAB layers only)
            return layer if item.get("limits") == "none" else matlab_limits(layer)
        except LayerGraphError as err:
            raise LayerGraphError(f"{self.prefix}{label} ({cls.class_name}): {err}", err.identifier) from None
        except Exception as err:  # a validator tripped over a value no user would type (e.g. 10**400)
            raise self.fail(f"{label} ({cls.class_name}): invalid property value ({type(err).__name__}: {err}).",
                            "layergraph:load:InvalidProperty") from None

    def custom_layer(self, item, label) -> Layer:
        """A custom layer: an object of the class the caller gave (found by name), its attributes,
        learnables and states set from the file (its constructor is not run), then its spec."""
        from .matlab import custom as mc
        name, base = item.get("custom"), item.get("base")
        attributes = item.get("attributes")
        self.expect(isinstance(name, str) and base in _CUSTOM_BASES and isinstance(attributes, dict),
                    f"{label} is a custom layer without its class name, base or attributes.")
        cls = self.custom.get(name)
        if cls is None:
            raise self.fail(f"{label} is a custom layer of class '{name}'. A layergraph file holds no code: give the "
                            f"class to load, load(path, CustomLayers=[{name}]).", "layergraph:load:MissingCustomLayer")
        if not issubclass(cls, getattr(mc, base)):
            raise self.fail(f"{label}: the class {name} given in CustomLayers is not a subclass of "
                            f"nnet.layer.{base}, as the saved layer's class was.", "layergraph:load:MissingCustomLayer")
        props = {k: self.value(v, f"property '{k}' of {label}", False) for k, v in item["properties"].items()}
        obj = object.__new__(cls)
        for key, v in attributes.items():
            obj.__dict__[key] = self.value(v, f"attribute '{key}' of {label}", False)
        missing = [n for n in ("Name", *cls.Learnable, *cls.State) if n not in props]
        if missing:
            raise self.fail(f"{label} ({name}): the file has no {', '.join(missing)}; the class {name} given in "
                            "CustomLayers declares other properties than the saved layer's.",
                            "layergraph:load:InvalidProperty")
        for key in ("Name", "Description", *cls.Learnable, *cls.State):
            if key in props:
                obj.__dict__[key] = props[key]
        try:
            spec = obj.core_spec()
            factors = {k: props[k] for k in type(spec).model_fields if k.endswith(("LearnRateFactor", "L2Factor"))
                       and k in props}
            for k in ("Classes", "ResponseNames"):
                if k in props and k in type(spec).model_fields:
                    factors[k] = props[k]
            spec = type(spec)(**{**{k: getattr(spec, k) for k in type(spec).model_fields}, **factors})
        except LayerGraphError as err:
            raise LayerGraphError(f"{self.prefix}{label} ({name}): {err}", err.identifier) from None
        return spec

    def build(self, desc) -> object:
        self.expect(isinstance(desc, dict), "it is not a JSON object.")
        kind = desc.get("kind")
        if kind in WOLFRAM_KINDS:
            return _WolframReader(self).build(desc)
        if kind not in KINDS:
            raise self.fail(f"the object kind {kind!r} is unknown; expected one of {', '.join(KINDS + WOLFRAM_KINDS)}.")
        items = desc.get("layers")
        self.expect(isinstance(items, list), "'layers' is not a list.")
        layers = [self.layer(item, i + 1) for i, item in enumerate(items)]
        if kind == "Layer":
            self.expect(len(layers) == 1, f"a Layer file holds {len(layers)} layers.")
            return layers[0]
        if kind == "LayerArray":
            self.expect(not desc.get("connections"), "a layer array has no connections.")
            return LayerArray(layers)
        graph = self.graph(layers, desc.get("connections"))
        if "shared" in desc:
            table = desc["shared"]
            self.expect(isinstance(table, dict) and all(
                isinstance(k, str) and isinstance(v, list) and all(
                    isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m) for m in v)
                for k, v in table.items()), "'shared' is not {name: [[layer, learnable], ...]}.")
            try:
                set_shared_learnables(graph, table)
            except LayerGraphError as err:
                raise self.fail(f"the shared arrays are not valid: {err}") from None
        if kind == "LayerGraph":
            return graph
        try:
            if kind == "DLNetwork":
                attributes = desc.get("attributes")
                self.expect(isinstance(attributes, dict) and isinstance(attributes.get("Initialized"), bool),
                            "a dlnetwork needs the attribute Initialized (true or false).")
                analysis = analyze(graph)
                outputs = [n for n, layer in analysis.layers.items() if layer.is_output]
                if outputs:
                    raise LayerGraphError(f"Layer '{outputs[0]}': Detected output layer. The network must not have "
                                          "output layers.", "nnet_cnn:dlnetwork:OutputLayersNotSupported")
                require_valid(analysis)
                return DLNetwork(graph, analysis, attributes["Initialized"])
            assembled = DAGNetwork.assemble(graph)
            cls = SeriesNetwork if kind == "SeriesNetwork" else DAGNetwork
            return cls(graph, assembled.analysis)
        except NetworkAnalysisError as err:
            raise NetworkAnalysisError(f"{self.prefix}the {kind} in the file is not valid: {err}", err.issues,
                                       err.identifier) from None
        except LayerGraphError as err:
            if str(err).startswith(self.prefix):
                raise
            raise LayerGraphError(f"{self.prefix}the {kind} in the file is not valid: {err}",
                                  err.identifier) from None

    def graph(self, layers: list[Layer], connections) -> LayerGraph:
        self.expect(isinstance(connections, list), "'connections' is not a list.")
        graph = LayerGraph()
        g = graph._g
        for i, layer in enumerate(layers):
            if not layer.Name:
                raise self.fail(f"layer {i + 1} ({layer.class_name}) of the graph has no name.")
            if layer.Name in g:
                raise self.fail(f"two layers of the graph are named '{layer.Name}'.")
            g.add_node(layer.Name, layer=layer)
        connected = set()
        for row in connections:
            self.expect(isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)
                        and isinstance(row[1], str) and isinstance(row[2], list) and row[2],
                        f"the connection {row!r} is not [source, destination, [[output, input], ...]].")
            src, dst, ports = row
            for name in (src, dst):
                if name not in g:
                    raise self.fail(f"the connection from '{src}' to '{dst}' names the layer '{name}', which is not "
                                    "in the file.")
            if g.has_edge(src, dst) or src == dst:
                raise self.fail(f"the connection from '{src}' to '{dst}' is listed twice or joins a layer to itself.")
            pairs = []
            for pair in ports:
                self.expect(isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair),
                            f"the ports {pair!r} of the connection from '{src}' to '{dst}' are not [output, input].")
                out, inp = pair
                if out not in g.nodes[src]["layer"].OutputNames or inp not in g.nodes[dst]["layer"].InputNames:
                    raise self.fail(f"the connection '{src}/{out}' -> '{dst}/{inp}' names a port that the layers do "
                                    "not have.")
                if (dst, inp) in connected:
                    raise self.fail(f"the input '{dst}/{inp}' is connected twice.")
                connected.add((dst, inp))
                pairs.append((out, inp))
            g.add_edge(src, dst, ports=pairs)
        return graph


# ------------------------------------------------------------------------------------------
# Wolfram objects: NetChain, NetGraph (nested), layers, with coders and shared arrays
#
# A Wolfram layer is written as the constructor call that made it (``layer.call``: the
# positional arguments and the options other than arrays, ports and multipliers), plus its
# arrays (``null``: not yet initialized, ``"None"``: switched off, as "Biases" -> None),
# NetArray names, port specs and LearningRateMultipliers; loading calls the constructor
# again, so every option is validated as if typed. A CoreLayerView (a core layer kept in a
# Wolfram net) is written as its core layer, as the MATLAB kinds write layers. A NetChain is
# its nodes and port options; a NetGraph also its edges, in NetGraph's own syntax
# (NetPort(...) pairs). Values JSON has no type for are tagged as for the MATLAB kinds, and
# ``{"$symbol": "Max"}``, ``{"$span": [a, b]}``, ``{"$dict": [[key, value], ...]}``,
# ``{"$netport": [node, port]}``, ``{"$coder": ["NetDecoder", kind, {parameter: value}]}``.
# A Python function (ElementwiseLayer(lambda x: ...)) cannot be written: save refuses it.

WOLFRAM_KINDS = ("NetChain", "NetGraph", "NetLayer", "LossLayer", "NetCoder", "NetArray", "NetMapOperator",
                 "NetBidirectionalOperator")


def _loss_classes() -> dict:
    from .wolfram import losses
    return {c.head: c for c in vars(losses).values()
            if isinstance(c, type) and issubclass(c, losses.LossLayer) and c is not losses.LossLayer}


def _wolfram_kind(obj) -> str | None:
    from .wolfram.coders import _Coder
    from .wolfram.layers import NetLayer
    from .wolfram.losses import LossLayer
    from .wolfram.net import NetChain, NetGraph
    from .wolfram.operators import OPERATOR_CLASSES
    from .wolfram.shared import NetArray
    if isinstance(obj, NetLayer):
        return "NetLayer"
    if isinstance(obj, LossLayer):
        return "LossLayer"
    if isinstance(obj, _Coder):
        return "NetCoder"
    if isinstance(obj, NetArray) and isinstance(obj.name, str):
        return "NetArray"
    for cls in (NetChain, NetGraph, *OPERATOR_CLASSES):
        if type(obj) is cls:
            return cls.__name__
    return None


class _WolframWriter:
    def __init__(self, path: str):
        self.path = path
        self.core = _Writer(path)     # the arrays of both go into one table
        self.arrays = self.core.arrays

    def fail(self, where: str, message: str) -> LayerGraphError:
        return LayerGraphError(f"Unable to save to '{self.path}': {where}: {message}",
                               "layergraph:save:UnsupportedValue")

    def value(self, v, where: str):
        from .wolfram import symbols as S
        from .wolfram.coders import _Coder
        from .wolfram.net import NetPort
        out = self.core.plain(v, lambda a: self.fail(where, f"an array of dtype {a.dtype}; only numeric arrays can "
                                                            "be saved."))
        if out is not _OTHER:
            return out
        if isinstance(v, S.Symbol):
            return {"$symbol": v.name}
        if isinstance(v, S.Span):
            return {"$span": [self.value(v.a, where), self.value(v.b, where)]}
        if isinstance(v, NetPort):
            return {"$netport": [self.value(v.node, where), self.value(v.port, where)]}
        if isinstance(v, _Coder):
            family = "NetEncoder" if v.head == "NetEncoder" else "NetDecoder"
            return {"$coder": [family, v.kind, {k: self.value(p, where) for k, p in v.params.items()}]}
        if type(v) is tuple:
            return {"$tuple": [self.value(x, where) for x in v]}
        if type(v) is list:
            return [self.value(x, where) for x in v]
        if isinstance(v, dict):
            return {"$dict": [[self.value(k, where), self.value(x, where)] for k, x in v.items()]}
        if callable(v):
            raise self.fail(where, f"the Python function '{_function_name(v)}'. A layergraph file holds no code, so "
                                   "the function cannot be saved; use one of Wolfram's named functions instead.")
        raise self.fail(where, f"a value of type {type(v).__name__}, which a layergraph file cannot hold.")

    def node(self, obj, where: str) -> dict:
        from .wolfram import symbols as S
        from .wolfram.coders import _Coder
        from .wolfram.layers import _BY_HEAD, CoreLayerView, NetLayer
        from .wolfram.losses import LossLayer
        from .wolfram.shared import NetArray
        if isinstance(obj, LossLayer):
            if _loss_classes().get(obj.head) is not type(obj):
                raise self.fail(where or obj.head, f"{type(obj).__name__} is not one of layergraph's loss layers.")
            return {"loss": obj.head, "args": [obj.target] if hasattr(obj, "target") else [],
                    "Input": self.value(obj.input_spec, where), "Target": self.value(obj.target_spec, where)}
        if isinstance(obj, _Coder):
            return {"coder": self.value(obj, where)}
        if isinstance(obj, NetArray):
            return {"netarray": [obj.name, self.value(obj.array, where),
                                 self.value(None if obj.dims is None else tuple(obj.dims), where)]}
        if not isinstance(obj, NetLayer):
            return self.container(obj, where)
        out: dict = {}
        if isinstance(obj, CoreLayerView):   # the spec without its arrays, then the arrays, as the view holds them
            out["view"] = self.core.layer(obj.spec)
            out["arrays"] = {n: None if obj.arrays.get(n) is None else self.value(obj.arrays[n], where)
                             for n in obj.array_names}
        else:
            cls = type(obj)
            if _BY_HEAD.get(cls.head) is not cls or not hasattr(obj, "call"):
                raise self.fail(where, f"{cls.__name__} is not one of layergraph's Wolfram layer classes.")
            args, options = obj.call
            skip = {*obj.array_names, "Input", "Output", "LearningRateMultipliers"}
            out["layer"] = cls.head
            out["args"] = [self.value(a, where) for a in args]
            out["options"] = {k: self.value(v, where) for k, v in options.items() if k not in skip}
            out["arrays"] = {n: ("None" if n in obj.disabled else
                                 (None if obj.arrays.get(n) is None else self.value(obj.arrays[n], where)))
                             for n in obj.array_names}
        out["shared"] = dict(getattr(obj, "shared", {}) or {})
        out["shared_dims"] = {k: list(v) for k, v in (getattr(obj, "shared_dims", {}) or {}).items()}
        out["Input"] = self.value(obj.input_spec, where)
        out["Output"] = self.value(obj.output_spec, where)
        lrm = obj.lrm
        if isinstance(lrm, dict):   # inside a dict, None is Automatic (outside, None freezes)
            lrm = {k: (S.Automatic if v is None else v) for k, v in lrm.items()}
        out["LearningRateMultipliers"] = self.value(S.Automatic if lrm is None else lrm, where)
        return out

    def container(self, net, where: str) -> dict:
        from .wolfram import symbols as S
        from .wolfram.net import NetPort
        operator = hasattr(net, "save_options")   # an operator (wolfram/operators.py): its parts, not its helpers
        nodes = net.parts() if operator else net._nodes
        out = {"container": net.head,
               "nodes": [[name, self.node(node, f"{where}/{name}" if where else name)]
                         for name, node in nodes.items()]}
        if operator:
            out["options"] = dict(net.save_options())
        ports = {p: net._coders.get(p, dims) for p, dims in net._port_specs.items()}
        ports.update(net._coders)
        out["ports"] = {p: self.value(v, where or net.head) for p, v in ports.items()}
        out["LearningRateMultipliers"] = self.value(S.Automatic if net._lrm is None else net._lrm, where)
        if net.head == "NetGraph":
            edges = []
            for src, dst in net._edges:
                s = NetPort(src[1]) if src[0] == "$port" else NetPort(src[0], src[1])
                if dst[0] == "$port":
                    d = None if dst[1].startswith("$muted") else NetPort(dst[1])
                elif dst[2] is not None:
                    d = NetPort(dst[0], dst[2] + 1)   # the i-th input of a multi-input layer
                else:
                    d = NetPort(dst[0], dst[1])
                edges.append([self.value(s, where), self.value(d, where)])
            out["edges"] = edges
        return out


class _WolframReader:
    """Makes the Wolfram object of a description; every problem is a LayerGraphError that
    names the file."""

    def __init__(self, core: "_Reader"):
        self.core = core

    def fail(self, message: str):
        return self.core.fail(message)

    def value(self, v, where: str):
        from .wolfram import symbols as S
        from .wolfram.coders import NetDecoder, NetEncoder
        from .wolfram.net import NetPort
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.value(x, where) for x in v]
        self.core.expect(isinstance(v, dict) and len(v) == 1, f"{where} has the unknown value {v!r}.")
        (tag, arg), = v.items()
        if tag == "$symbol" and isinstance(arg, str) and arg in S.__all__ and isinstance(getattr(S, arg), S.Symbol):
            return getattr(S, arg)
        if tag == "$tuple" and isinstance(arg, list):
            return tuple(self.value(x, where) for x in arg)
        if tag == "$span" and isinstance(arg, list) and len(arg) == 2:
            return S.Span(*(self.value(x, where) for x in arg))
        if tag == "$dict" and isinstance(arg, list) and all(isinstance(x, list) and len(x) == 2 for x in arg):
            return {self.value(k, where): self.value(x, where) for k, x in arg}
        if tag == "$netport" and isinstance(arg, list) and len(arg) == 2:
            node, port = (self.value(x, where) for x in arg)
            return NetPort(port) if node is None else NetPort(node, port)
        if tag == "$coder" and isinstance(arg, list) and len(arg) == 3 and arg[0] in ("NetEncoder", "NetDecoder") \
                and isinstance(arg[1], str) and isinstance(arg[2], dict):
            family = NetEncoder if arg[0] == "NetEncoder" else NetDecoder
            return family(arg[1], **{k: self.value(x, where) for k, x in arg[2].items()})
        return self.core.value(v, where, function_ok=False)

    def node(self, d, where: str):
        from .wolfram import shared as sh
        from .wolfram.layers import _BY_HEAD, CoreLayerView
        from .wolfram.types import port_spec
        self.core.expect(isinstance(d, dict), f"the node {where} is not an object.")
        if "container" in d:
            return self.container(d, where)
        if "loss" in d:
            cls = _loss_classes().get(d["loss"])
            args = self.value(d.get("args"), where)
            self.core.expect(cls is not None and isinstance(args, list), f"{d['loss']!r} is not a loss layer.")
            return cls(*args, Input=self.value(d.get("Input"), where), Target=self.value(d.get("Target"), where))
        if "coder" in d:
            coder = self.value(d["coder"], where)
            self.core.expect(hasattr(coder, "kind"), "the coder is not a NetEncoder or NetDecoder.")
            return coder
        if "netarray" in d:
            self.core.expect(isinstance(d["netarray"], list) and len(d["netarray"]) == 3, "the NetArray is malformed.")
            name, array, dims = (self.value(x, where) for x in d["netarray"])
            return sh.NetArray(name, Array=array, Dimensions=dims)
        shared = d.get("shared", {})
        shared_dims = d.get("shared_dims", {})
        self.core.expect(isinstance(shared, dict) and isinstance(shared_dims, dict),
                         f"the shared arrays of {where} are not objects.")
        lrm = self.value(d.get("LearningRateMultipliers"), where)
        if "view" in d:
            layer = CoreLayerView(self.core.layer(d["view"], 1))
            arrays = d.get("arrays")
            self.core.expect(isinstance(arrays, dict) and set(arrays) <= set(layer.array_names),
                             f"the arrays of {where} are not those of {layer.head}.")
            layer = layer.with_arrays({n: None if v is None else self.value(v, f"the array \"{n}\" of {where}")
                                       for n, v in arrays.items()})
            if lrm is not None and not (hasattr(lrm, "name") and lrm.name == "Automatic"):
                layer.lrm = lrm
        else:
            cls = _BY_HEAD.get(d.get("layer"))
            if cls is None:
                raise self.fail(f"the node {where} has the layer '{d.get('layer')}', which is not a Wolfram layer "
                                f"of layergraph. Known: {', '.join(sorted(_BY_HEAD))}.")
            args = self.value(d.get("args"), where)
            options = d.get("options")
            arrays = d.get("arrays")
            self.core.expect(isinstance(args, list) and isinstance(options, dict) and isinstance(arrays, dict),
                             f"the layer {where} lacks its arguments, options or arrays.")
            kw = {k: self.value(v, where) for k, v in options.items()}
            for name, v in arrays.items():
                if v is None:
                    value = None
                elif v == "None":
                    kw[name] = None
                    continue
                else:
                    value = self.value(v, f"the array \"{name}\" of {where}")
                if name in shared:
                    dims = shared_dims.get(name)
                    kw[name] = sh.NetArray(shared[name], Array=value, Dimensions=dims)
                elif value is not None:
                    kw[name] = value
            kw["LearningRateMultipliers"] = lrm
            layer = cls(*args, **kw)
        layer.input_spec = port_spec(self.value(d.get("Input"), where), where)
        layer.output_spec = port_spec(self.value(d.get("Output"), where), where)
        for array, name in shared.items():
            if array not in getattr(layer, "shared", {}):
                layer = sh.share_array(layer, array, sh.NetArray(name))
        return layer

    def container(self, d, where: str):
        from .wolfram.net import NetChain, NetGraph
        nodes = d.get("nodes")
        ports = d.get("ports", {})
        self.core.expect(isinstance(nodes, list) and all(isinstance(x, list) and len(x) == 2 and isinstance(x[0], str)
                                                         for x in nodes) and isinstance(ports, dict),
                         f"the net {where or d.get('container')} lacks its nodes or ports.")
        layers = {name: self.node(node, f"{where}/{name}" if where else name) for name, node in nodes}
        ports = {p: self.value(v, where) for p, v in ports.items()}
        lrm = self.value(d.get("LearningRateMultipliers"), where)
        if d["container"] == "NetChain":
            return NetChain(layers, LearningRateMultipliers=lrm, **ports)
        if d["container"] in ("NetMapOperator", "NetBidirectionalOperator"):
            from .wolfram.operators import from_saved
            options = d.get("options", {})
            self.core.expect(isinstance(options, dict) and set(layers) == (
                {"Net"} if d["container"] == "NetMapOperator" else {"ForwardNet", "BackwardNet"}),
                f"the {d['container']} {where} lacks its nets.")
            return from_saved(d["container"], layers, ports, options, lrm)
        self.core.expect(d["container"] == "NetGraph", f"{d['container']!r} is not NetChain or NetGraph.")
        edges = d.get("edges")
        self.core.expect(isinstance(edges, list) and all(isinstance(e, list) and len(e) == 2 for e in edges),
                         f"the edges of {where or 'the NetGraph'} are not a list of pairs.")
        return NetGraph(layers, [tuple(self.value(x, where) for x in e) for e in edges], LearningRateMultipliers=lrm,
                        **ports)

    def build(self, desc):
        try:
            return self.node(desc.get("net"), "")
        except LayerGraphError as err:
            if str(err).startswith(self.core.prefix):
                raise
            raise LayerGraphError(f"{self.core.prefix}the {desc.get('kind')} in the file is not valid: {err}",
                                  err.identifier) from None


def _same_wolfram(a, b) -> bool:
    """The loaded object is the saved one: the same printout and equal leaves (arrays, options)."""
    from .wolfram.layers import NetLayer
    from .wolfram.net import _Container
    from .wolfram.shared import NetArray, leaves
    if repr(a) != repr(b) or type(a) is not type(b):
        return False
    if isinstance(a, NetArray):
        return a.dims == b.dims and ((a.array is None and b.array is None) or np.array_equal(a.array, b.array))
    if not isinstance(a, (NetLayer, _Container)):
        return a == b
    la, lb = leaves(a), leaves(b)
    return [p for p, _ in la] == [p for p, _ in lb] and all(x == y for (_, x), (_, y) in zip(la, lb))


# ------------------------------------------------------------------------------------------
# files

def _write_zip(f, desc: dict, arrays: dict[str, np.ndarray]):
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(DESCRIPTION, json.dumps(desc, indent=1, allow_nan=False))
        for key, a in arrays.items():
            with z.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def save(obj, path) -> None:
    """Save a network, layer graph, layer array or layer to one file (MATLAB's
    ``save('net.mat', 'net')``); ``load(path)`` gives it back. See the module's
    documentation for the format and for what happens to Python functions."""
    if isinstance(obj, (str, os.PathLike)) and not isinstance(path, (str, os.PathLike)):
        raise LayerGraphError("save(obj, path) takes the object first and the file name second: MATLAB's "
                              "save('net.mat','net') is save(net, 'net.mat').", "layergraph:save:ArgumentOrder")
    if not isinstance(path, (str, os.PathLike)):
        raise LayerGraphError(f"Expected the file name to be a string or a path, not {type(path).__name__}.",
                              "layergraph:save:InvalidFileName")
    path = os.fspath(path)
    desc, arrays, custom = _describe(obj, path)
    # what save writes must load: rebuild it here, with the same checks load makes
    again = _Reader(f"Unable to save to '{path}': ", arrays, custom).build(
        json.loads(json.dumps(desc, allow_nan=False)))
    if desc["kind"] in WOLFRAM_KINDS and not _same_wolfram(obj, again):
        raise LayerGraphError(f"Unable to save to '{path}': the {desc['kind']} would not load as it is (its "
                              "constructor call does not give it back); this is a bug in layergraph.",
                              "layergraph:save:NotFaithful")

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LayerGraphError(f"Unable to save to '{path}': the folder '{folder}' does not exist.",
                              "layergraph:save:NoSuchFolder")
    if os.path.isdir(path):
        raise LayerGraphError(f"Unable to save to '{path}': it is a folder.", "layergraph:save:IsAFolder")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:          # "x": a new file, with the user's umask
            _write_zip(f, desc, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise LayerGraphError(f"Unable to save to '{path}': {err.strerror or err}.",
                              "layergraph:save:WriteFailed") from err
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path, CustomLayers=None):
    """Load what ``save`` wrote: the network, layer graph, layer array or layer,
    with every property and array as it was saved. Runs no code from the file.
    A training checkpoint (``CheckpointPath`` of trainingOptions) loads as its
    network, as MATLAB's ``load`` of a checkpoint file gives ``net``. A file with
    custom layers needs their classes (``CustomLayers=[preluLayer, ...]``), as MATLAB
    needs the class files on its path."""
    custom = _custom_table(CustomLayers)
    if not isinstance(path, (str, os.PathLike)):
        raise LayerGraphError(f"Expected the file name to be a string or a path, not {type(path).__name__}.",
                              "layergraph:load:InvalidFileName")
    path = os.fspath(path)
    prefix = f"Unable to load '{path}': "
    if os.path.isdir(path):
        raise LayerGraphError(f"{prefix}it is a folder, not a file.", "layergraph:load:FileNotFound")
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise LayerGraphError(f"{prefix}no such file.", "layergraph:load:FileNotFound") from None
    except OSError as err:
        raise LayerGraphError(f"{prefix}{err.strerror or err}.", "layergraph:load:FileNotFound") from None
    with f:
        return _load_from(f, prefix, checkpoint_ok=True, custom=custom)


_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, NotImplementedError,
            RuntimeError)


def _damaged(prefix: str, err) -> LayerGraphError:
    return LayerGraphError(f"{prefix}the file is damaged or truncated ({err}).", "layergraph:load:DamagedFile")


def _load_from(f, prefix: str, checkpoint_ok: bool, custom: dict | None = None):
    """Load from a seekable binary file object."""
    head = f.read(4)
    f.seek(0)
    try:
        z = zipfile.ZipFile(f)
    except _DAMAGED as err:
        if head.startswith(b"PK"):
            raise _damaged(prefix, err) from None
        raise LayerGraphError(f"{prefix}not a layergraph file (not a zip archive; layergraph.save writes a zip of "
                              "a JSON description and .npy arrays).", "layergraph:load:NotALayergraphFile") from None
    with z:
        names = z.namelist()
        if DESCRIPTION not in names:
            if checkpoint_ok and {"network", "trainer.json"} <= set(names):
                # a training checkpoint (layergraph.train.checkpoint): its network, as MATLAB's
                # load of a checkpoint file gives the network
                try:
                    data = z.read("network")
                except _DAMAGED as err:
                    raise _damaged(prefix, err) from None
                return _load_from(_io.BytesIO(data), f"{prefix[:-2]} (the network of the training checkpoint): ",
                                  checkpoint_ok=False, custom=custom)
            if names and all(n.endswith(".npy") for n in names):
                what = (f"a plain .npz of arrays ({', '.join(n[:-4] for n in names[:5])}"
                        f"{', ...' if len(names) > 5 else ''}) without the member '{DESCRIPTION}'")
            else:
                what = f"a zip archive without the member '{DESCRIPTION}'"
            raise LayerGraphError(f"{prefix}not a layergraph file ({what}).", "layergraph:load:NotALayergraphFile")
        try:
            raw = z.read(DESCRIPTION)
        except _DAMAGED as err:
            raise _damaged(prefix, err) from None
    try:
        desc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise LayerGraphError(f"{prefix}its description '{DESCRIPTION}' is not valid JSON ({err}).",
                              "layergraph:load:DamagedFile") from None
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise LayerGraphError(f"{prefix}not a layergraph file (the description does not say format '{FORMAT}').",
                              "layergraph:load:NotALayergraphFile")
    version = desc.get("version")
    if version != VERSION or type(version) is not int:
        raise LayerGraphError(f"{prefix}it is in layergraph file format version {version!r}; this layergraph reads "
                              f"version {VERSION} (was it written by a newer layergraph?).",
                              "layergraph:load:UnsupportedVersion")
    meta = desc.get("arrays")
    if not isinstance(meta, dict):
        raise LayerGraphError(f"{prefix}the description is malformed: 'arrays' is not an object.",
                              "layergraph:load:InvalidFile")
    f.seek(0)
    try:
        npz = np.load(f, allow_pickle=False)
    except (ValueError, *_DAMAGED) as err:
        raise _damaged(prefix, err) from None
    with npz:
        def read(key, where):
            if key not in npz.files:
                raise LayerGraphError(f"{prefix}{where} refers to the array '{key}', which is not in the file.",
                                      "layergraph:load:MissingArray")
            try:
                a = npz[key]
            except ValueError as err:
                if "pickle" in str(err):
                    raise LayerGraphError(f"{prefix}the array '{key}' ({where}) could only be read by running code "
                                          "(it is an object array); layergraph does not load such arrays.",
                                          "layergraph:load:UnsafeArray") from None
                raise LayerGraphError(f"{prefix}the array '{key}' ({where}) is damaged ({err}).",
                                      "layergraph:load:DamagedFile") from None
            except (MemoryError, *_DAMAGED) as err:
                raise LayerGraphError(f"{prefix}the array '{key}' ({where}) is damaged or truncated ({err!r}).",
                                      "layergraph:load:DamagedFile") from None
            info = meta[key]
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf" or not isinstance(info, dict) \
                    or info.get("dtype") != a.dtype.str or info.get("shape") != list(a.shape):
                raise LayerGraphError(f"{prefix}the array '{key}' ({where}) does not have the dtype and shape that "
                                      "the description gives.", "layergraph:load:DamagedFile")
            return a

        return _Reader(prefix, {key: read for key in meta}, custom).build(desc)


__all__ = ["save", "load", "UnsavedFunction"]
