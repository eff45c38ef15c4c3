"""Shared arrays: ``NetArray``, ``NetInsertSharedArrays``, and what nets do with them.

``NetArray("name")`` (Wolfram's ``NetArray["name"]``; ``NetSharedArray`` before 12.2) as the
value of a layer's array makes that array a named array; all arrays of one name in a net
are one array for NetInitialize and NetTrain (one value, one gradient: the sum, one update).
``NetArray()`` gets a unique (UUID) name. A layer keeps the name in ``layer.shared``
({array: name}) and the value in ``layer.arrays`` like any array; a net keeps the values of
one name equal: compiling a net gives a member without a value the value of one that has
it, two different values for one name are an error, and so are two dimensions.

The NetArray class and the rules that hold for any layer or compiled net are in
``netarray.py``, below the layers and the nets (a layer's constructor and a net's compile
use them); they are importable from here too, where they were first. This module holds
what works on a whole net or layer, above the nets and NetInitialize: NetExtract,
NetReplacePart and NetInsertSharedArrays of shared arrays.

The core does the sharing (``layergraph/core/shared.py``): the core graph a net compiles to
lists the arrays of each name as one shared learnable.

BatchNormalizationLayer's "MovingMean" and "MovingVariance" are auxiliary arrays (updated
from the data, not trained) and cannot be shared, as Wolfram's documentation says;
NetInsertSharedArrays leaves them unshared.

Wolfram's NetInsertSharedArrays (paclet source, ``NetInsertSharedArrays.m``): every array
that is neither None nor already shared nor auxiliary becomes ``NetArray[prefix <> path]``,
the path being the array's position joined with "/" (``"1/Weights"`` in a chain,
``"Weights"`` in a lone layer); a name already in use is ``NetInsertSharedArrays::nameclash``;
a net without such arrays comes back unchanged with ``NetInsertSharedArrays::noarr``.
"""
from __future__ import annotations

from collections import OrderedDict

from ..core.errors import LayerGraphError, brief
from . import symbols as S
from .initialize import _replace_leaves
from .layers import NetLayer
from .messages import message
from .net import _Container
from .netarray import (  # noqa: F401 -- aux_error ... core_table: re-exported from their first home
    NetArray, NetSharedArray, _shared, aux_error, check_dims, core_table, groups, share_array, take_netarrays, unify)


# -- nets -------------------------------------------------------------------------------------------
def leaves(net):
    """[(path, layer)] of a layer (path ()) or a net's leaves, through the nodes as they are."""
    if isinstance(net, NetLayer):
        return [((), net)]
    out = []
    for name, node in net._nodes.items():
        out.extend(((name,) + p, leaf) for p, leaf in leaves(node))
    return out


def extract(net, na: NetArray):
    """``NetExtract[net, NetArray["name"]]`` (Automatic when uninitialized) and
    ``NetExtract[net, NetArray[All]]`` ({NetArray: value})."""
    items = leaves(net)
    table = groups(items)
    layers = dict(items)

    def value(name):
        for path, array in table[name]:
            v = layers[path].arrays.get(array)
            if v is not None:
                return v.copy()
        return S.Automatic
    if na.name is S.All:
        return OrderedDict((NetArray(name), value(name)) for name in table)
    if na.name not in table:
        raise LayerGraphError(f"{na!r} is not a part of the net; its shared arrays: "
                              f"{', '.join(repr(NetArray(n)) for n in table) or 'none'}.", "NetExtract::nopart")
    return value(na.name)


def replace(net, na: NetArray, value):
    """``NetReplacePart[net, NetArray["name"] -> value]``: every array of that name."""
    if na.name is S.All:
        raise LayerGraphError("NetArray[All] cannot be replaced; name one shared array.", "NetReplacePart::nopart")
    items = leaves(net)
    table = groups(items)
    if na.name not in table:
        raise LayerGraphError(f"{na!r} is not a part of the net; its shared arrays: "
                              f"{', '.join(repr(NetArray(n)) for n in table) or 'none'}.", "NetReplacePart::nopart")
    if value is None:
        raise LayerGraphError(f"{na!r} cannot be set to None.", "NetReplacePart::invsetpart")
    layers = dict(items)
    new = {}
    for path, array in table[na.name]:
        layer = new.get(path, layers[path])
        changed = layer.with_part(array, value)
        changed.shared = {**_shared(layer), array: na.name}
        new[path] = changed
    if isinstance(net, NetLayer):
        return new[()]
    return _replace_leaves(net, new)


def insert(net, prefix=None):
    """``NetInsertSharedArrays[net]`` / ``NetInsertSharedArrays[net, "prefix"]``."""
    if not isinstance(net, (NetLayer, _Container)):
        raise LayerGraphError(f"NetInsertSharedArrays: {brief(net)} is not a net or a layer.",
                              "NetInsertSharedArrays::invnet")
    if prefix is not None and not isinstance(prefix, str):
        raise LayerGraphError(f"Prefix {prefix!r} should be either None or a string.",
                              "NetInsertSharedArrays::badprefix")
    prefix = prefix or ""
    items = leaves(net)
    taken = set(groups(items))
    new = {}
    for path, layer in items:
        changed = layer
        for array in layer.active_arrays:
            if array in _shared(layer) or array in layer.aux_arrays:
                continue
            name = prefix + "/".join((*path, array))
            if name in taken:
                raise LayerGraphError(f"Cannot share array at {{{', '.join(repr(p) for p in (*path, array))}}} "
                                      f"because the target name \"{name}\" already exists.",
                                      "NetInsertSharedArrays::nameclash")
            taken.add(name)
            changed = share_array(changed, array, NetArray(name, Array=layer.arrays.get(array)))
        if changed is not layer:
            new[path] = changed
    if not new:
        message("NetInsertSharedArrays::noarr",
                "Net contained no arrays that could be shared, returning net unchanged.")
        return net
    if isinstance(net, NetLayer):
        return new[()]
    return _replace_leaves(net, new)


def count(net) -> int:
    """The number of shared arrays (names) in a net."""
    return len(groups(leaves(net)))


__all__ = ["NetArray", "NetSharedArray"]
