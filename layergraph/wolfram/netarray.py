"""NetArray values and the rules of shared arrays that hold for any layer or compiled net.

``NetArray("name")`` (Wolfram's ``NetArray["name"]``; ``NetSharedArray`` before 12.2) as the
value of a layer's array makes that array a named array; all arrays of one name in a net
are one array for NetInitialize and NetTrain (one value, one gradient: the sum, one update).
``NetArray()`` gets a unique (UUID) name. A layer keeps the name in ``layer.shared``
({array: name}) and the value in ``layer.arrays`` like any array.

This module sits below the layers and the nets (it imports neither): a layer's constructor
reads its NetArray options here (``take_netarrays``), and compiling a net keeps the values of
one name equal here (``unify``: a member without a value gets the value of one that has it;
two different values for one name are an error, and so are two dimensions: ``check_dims``)
and tells the core which core learnables are one array (``core_table``). What works on a
whole net (NetExtract, NetReplacePart and NetInsertSharedArrays of shared arrays) is in
``shared.py``, above the nets.

BatchNormalizationLayer's "MovingMean" and "MovingVariance" are auxiliary arrays (updated
from the data, not trained) and cannot be shared, as Wolfram's documentation says.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict

import numpy as np

from ..core.errors import LayerGraphError
from . import symbols as S


class NetArray:
    """``NetArray("name")``, ``NetArray()`` (a UUID name), ``NetArray(Name=..., Array=...)``
    (Wolfram's ``NetArray["Name" -> name, "Array" -> array]``); ``NetArray(All)`` only as a
    NetExtract spec (every shared array). Two NetArrays are equal when their names are."""

    def __init__(self, name=S.Automatic, *, Name=None, Array=None, Dimensions=None):
        if Name is not None:
            if name is not S.Automatic:
                raise LayerGraphError("NetArray: give the name once, either as the argument or as \"Name\".",
                                      "NetArray::argx")
            name = Name
        if name is S.Automatic or name is None:
            name = str(uuid.uuid4())
        if not (isinstance(name, str) and name) and name is not S.All:
            raise LayerGraphError(f"NetArray: the name {name!r} should be a nonempty string.", "NetArray::invname")
        self.name = name
        self.array = None
        if Array is not None and Array is not S.Automatic:
            self.array = np.asarray(Array, dtype=np.float32)
        self.dims = None if Dimensions is None or Dimensions is S.Automatic else tuple(int(d) for d in Dimensions)
        if self.dims is not None and self.array is not None and self.array.shape != self.dims:
            raise LayerGraphError(f"NetArray[\"{name}\"]: \"Array\" has dimensions {list(self.array.shape)} but "
                                  f"\"Dimensions\" -> {list(self.dims)}.", "NetArray::dims")

    def __getitem__(self, prop):
        if prop == "Name":
            return self.name
        if prop == "Array":
            return S.Automatic if self.array is None else self.array
        if prop == "Dimensions":
            return S.Automatic if self.dims is None and self.array is None else (
                self.dims or tuple(self.array.shape))
        raise LayerGraphError(f"\"{prop}\" is not a property of NetArray; properties: \"Array\", \"Dimensions\", "
                              "\"Name\".", "NetArray::prop")

    def __eq__(self, other):
        return isinstance(other, NetArray) and other.name == self.name

    def __hash__(self):
        return hash(("NetArray", str(self.name)))

    def __repr__(self):
        return f"NetArray[{self.name}]" if self.name is S.All else f"NetArray[\"{self.name}\"]"


NetSharedArray = NetArray   # the name before 12.2


# -- layers -----------------------------------------------------------------------------------------
def aux_error(layer, array) -> LayerGraphError:
    return LayerGraphError(f"The array \"{array}\" of {layer.head} is an auxiliary array (updated from the data, "
                           "not trained) and cannot be shared; only "
                           + ", ".join(f"\"{n}\"" for n in layer.array_names if n not in layer.aux_arrays)
                           + " can be a NetArray.", "NetArray::auxshare")


def share_array(layer, array: str, na: NetArray):
    """A copy of ``layer`` whose ``array`` is the named array ``na`` (its "Array" the value)."""
    if na.name is S.All:
        raise LayerGraphError("NetArray[All] is a NetExtract spec, not an array value.", "NetArray::invname")
    if array in layer.aux_arrays:
        raise aux_error(layer, array)
    new = layer.copy()
    new.shared = dict(getattr(layer, "shared", {}))
    new.shared[array] = na.name
    new.disabled.discard(array)
    if na.array is not None:   # else the array keeps its value, which becomes the shared one's
        new.arrays[array] = na.array.copy()
    new.shared_dims = {**getattr(layer, "shared_dims", {}), array: na.dims} if na.dims else \
        dict(getattr(layer, "shared_dims", {}))
    return new


def take_netarrays(layer, arrays: dict) -> dict:
    """In a layer's constructor: record the NetArray values among the options in
    ``layer.shared`` and give back the options with their plain values."""
    layer.shared = {}
    layer.shared_dims = {}
    out = dict(arrays)
    for name in layer.array_names:
        value = arrays.get(name)
        if isinstance(value, NetArray):
            if value.name is S.All:
                raise LayerGraphError("NetArray[All] is a NetExtract spec, not an array value.", "NetArray::invname")
            if name in layer.aux_arrays:
                raise aux_error(layer, name)
            layer.shared[name] = value.name
            if value.dims:
                layer.shared_dims[name] = value.dims
            out[name] = value.array if value.array is not None else S.Automatic
    return out


def _shared(layer) -> dict:
    return getattr(layer, "shared", {}) or {}


# -- compiled nets ----------------------------------------------------------------------------------
def groups(items) -> OrderedDict:
    """{name: [(path, array), ...]} over [(path, layer)]."""
    out = OrderedDict()
    for path, layer in items:
        for array, name in _shared(layer).items():
            if array in layer.active_arrays:
                out.setdefault(name, []).append((path, array))
    return out


def _where(path, array) -> str:
    return f"\"{array}\" of layer \"{'/'.join(path)}\"" if path else f"\"{array}\""


def unify(leaf_map: "OrderedDict") -> "OrderedDict":
    """The leaves {path: layer} with each name's value given to the members that lack it;
    two different values for one name are an error."""
    table = groups(leaf_map.items())
    if not table:
        return leaf_map
    out = OrderedDict(leaf_map)
    for name, members in table.items():
        value, source = None, None
        for path, array in members:
            v = out[path].arrays.get(array)
            if v is None:
                continue
            if value is None:
                value, source = v, (path, array)
            elif v.shape != value.shape:
                raise LayerGraphError(f"Inferred inconsistent dimensions for NetArray[\"{name}\"] "
                                      f"({list(value.shape)} for {_where(*source)} versus {list(v.shape)} for "
                                      f"{_where(path, array)}).", "General::tyfail2")
            elif not np.array_equal(v, value):
                raise LayerGraphError(f"NetArray[\"{name}\"] has two different values ({_where(*source)} and "
                                      f"{_where(path, array)}); the arrays of one name are one array.",
                                      "NetArray::valclash")
        if value is None:
            continue
        for path, array in members:
            if out[path].arrays.get(array) is None:
                out[path] = out[path].with_arrays({array: value})
    return out


def check_dims(compiled) -> None:
    """The arrays of one name must have one dimensions (after sizing)."""
    seen = {}
    for name, members in groups((p, compiled.leaves[p].layer) for p in compiled.order).items():
        for path, array in members:
            info = compiled.leaves[path]
            if not info.in_dims:
                continue
            dims = tuple(info.layer.array_dims(info.in_dims).get(array, ()))
            want = getattr(info.layer, "shared_dims", {}).get(array)
            if want is not None and tuple(want) != dims:
                raise LayerGraphError(f"Inferred inconsistent dimensions for NetArray[\"{name}\"] ({list(want)} "
                                      f"versus {list(dims)} for {_where(path, array)}).", "General::tyfail2")
            if name in seen and seen[name][0] != dims:
                raise LayerGraphError(f"Inferred inconsistent dimensions for NetArray[\"{name}\"] "
                                      f"({list(seen[name][0])} for {_where(*seen[name][1])} versus {list(dims)} for "
                                      f"{_where(path, array)}).", "General::tyfail2")
            seen.setdefault(name, (dims, (path, array)))


_CORE_NAMES = {"Weights": ("Weights",), "Biases": ("Bias", "Offset"), "Scaling": ("Scale",)}


def core_table(compiled) -> dict:
    """{name: [(core layer, core learnable), ...]} for the core graph of a compiled net."""
    table = {}
    for name, members in groups((p, compiled.leaves[p].layer) for p in compiled.order).items():
        for path, array in members:
            info = compiled.leaves[path]
            spec = info.built.specs[info.built.main]
            own = getattr(type(info.layer), "_core", None) or {}
            candidates = (own[array],) if array in own else _CORE_NAMES.get(array, (array,))
            learnables = [s.name for s in spec.learnables]
            core = next((c for c in candidates if c in learnables), None)
            if core is None:
                raise LayerGraphError(f"The array {_where(path, array)} ({info.layer.head}) is not trained and "
                                      "cannot be shared.", "NetArray::auxshare")
            table.setdefault(name, []).append((spec.Name, core))
    return table


__all__ = ["NetArray", "NetSharedArray"]
