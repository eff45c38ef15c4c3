"""``Information(net)`` and ``Information(net, prop)`` (NetInformation's properties).

Positions are tuples of layer names then the array name, e.g. ``("1", "Weights")`` for
Wolfram's ``{"1", "Weights"}`` (UNCONFIRMED whether Wolfram keys positions by name or by
index). Arrays count 4 bytes per element (Real32), as Wolfram reports them.
"""
from __future__ import annotations

from collections import Counter, OrderedDict

import networkx as nx
import numpy as np

from ..core.errors import LayerGraphError
from . import symbols as S
from .args import checked
from .display import port_type
from .layers import NetLayer
from .net import NetChain, _Container
from .netarray import NetArray
from .types import _wl


class Quantity:
    """``Quantity[3.6, "Kilobytes"]``: a value with a unit."""

    def __init__(self, value, unit: str):
        self.value = value
        self.unit = unit

    def __repr__(self):
        v = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        return f'Quantity[{v}, "{self.unit}"]'

    def __eq__(self, other):
        return isinstance(other, Quantity) and (self.value, self.unit) == (other.value, other.unit)

    __hash__ = None


def _total_size(nbytes: int) -> Quantity:
    """Decimal units: Bytes below 1000, else Kilobytes, Megabytes, Gigabytes (n / 1000^k)."""
    for k, unit in ((3, "Gigabytes"), (2, "Megabytes"), (1, "Kilobytes")):
        if nbytes >= 1000 ** k:
            return Quantity(nbytes / 1000 ** k, unit)
    return Quantity(nbytes, "Bytes")


def _arrays(net):
    """OrderedDict position -> (value or Automatic, dims or None, layer, array name). A shared
    array appears once, at the key NetArray["name"] (where its first use is)."""
    c = net.compile()
    out = OrderedDict()
    leaves = net._expand()[0]
    for path, leaf in leaves.items():
        info = c.leaves.get(path)
        if info is not None:
            leaf = info.layer   # with what inference added (a LinearLayer's size from the output)
        dims = leaf.array_dims(info.in_dims) if info is not None and info.in_dims else {}
        for name in leaf.active_arrays:
            value = leaf.arrays.get(name)
            d = tuple(value.shape) if value is not None else dims.get(name)
            shared = getattr(leaf, "shared", {}).get(name)
            key = path + (name,) if shared is None else NetArray(shared)
            if key not in out:
                out[key] = (S.Automatic if value is None else value, d, leaf, name)
    return out


PROPERTIES = (
    "Arrays", "ArraysList", "ArraysPositionList", "ArraysCount", "ArraysDimensions", "ArraysElementCounts",
    "ArraysByteCounts", "ArraysSizes", "ArraysTotalElementCount", "ArraysTotalByteCount", "ArraysTotalSize",
    "ArraysLearningRateMultipliers", "SharedArraysCount", "Layers", "LayersList", "LayersCount", "LayerTypeCounts",
    "LayersGraph", "InputPorts", "OutputPorts", "InputPortNames", "OutputPortNames", "Properties",
)


def _count(d):
    return None if d is None or any(x is None for x in d) else int(np.prod(d))


def _property(net, prop):
    if prop == "Properties":
        return list(PROPERTIES)
    if prop.startswith("Arrays") or prop == "SharedArraysCount":
        arrays = _arrays(net)
        if prop == "Arrays":
            return OrderedDict((p, v) for p, (v, *_) in arrays.items())
        if prop == "ArraysList":
            return [v for v, *_ in arrays.values()]
        if prop == "ArraysPositionList":
            return list(arrays)
        if prop == "ArraysCount":
            return len(arrays)
        if prop == "SharedArraysCount":
            return sum(1 for p in arrays if not isinstance(p, tuple))
        if prop == "ArraysDimensions":
            return OrderedDict((p, d) for p, (_, d, *_) in arrays.items())
        if prop == "ArraysElementCounts":
            return OrderedDict((p, _count(d)) for p, (_, d, *_) in arrays.items())
        if prop in ("ArraysByteCounts", "ArraysSizes"):
            counts = OrderedDict((p, _count(d)) for p, (_, d, *_) in arrays.items())
            if prop == "ArraysByteCounts":
                return OrderedDict((p, None if n is None else 4 * n) for p, n in counts.items())
            return OrderedDict((p, None if n is None else _total_size(4 * n)) for p, n in counts.items())
        counts = [_count(d) for _, d, *_ in arrays.values()]
        if prop == "ArraysLearningRateMultipliers":
            return OrderedDict((p, leaf.factor(name)) for p, (_, _, leaf, name) in arrays.items())
        if any(n is None for n in counts):
            raise LayerGraphError(f"Information: \"{prop}\" needs every array's dimensions; the net is not fully "
                                  "specified.", "General::nfspec")
        total = int(sum(counts))
        if prop == "ArraysTotalElementCount":
            return total
        if prop == "ArraysTotalByteCount":
            return 4 * total
        if prop == "ArraysTotalSize":
            return _total_size(4 * total)
    if prop.startswith("Layer"):
        # an operator's helper layers (operators.py: fold, reverse, aggregate) are not the user's
        leaves = OrderedDict((p, leaf) for p, leaf in net._expand()[0].items()
                             if not getattr(leaf, "operator_helper", False))
        if prop == "Layers":
            return OrderedDict(leaves)
        if prop == "LayersList":
            return list(leaves.values())
        if prop == "LayersCount":
            return len(leaves)
        if prop == "LayerTypeCounts":
            return dict(Counter(leaf.head for leaf in leaves.values()))
        if prop == "LayersGraph":
            _, edges, _, _ = net._expand()
            g = nx.DiGraph()
            for path, leaf in leaves.items():
                g.add_node(path, layer=leaf.head)
            g.add_edges_from((s[0], d[0]) for s, d in edges if s[0] in leaves and d[0] in leaves)
            return g
    c = net.compile()
    if prop in ("InputPorts", "OutputPorts"):
        return OrderedDict((p, port_type(net, c, p)) for p in (c.in_dims if prop == "InputPorts" else c.out_dims))
    if prop == "InputPortNames":
        return list(c.in_dims)
    if prop == "OutputPortNames":
        return list(c.out_dims)
    raise LayerGraphError(f"{_wl(prop)} is not a known property. Properties: {', '.join(PROPERTIES)}.",
                          "Information::notprop")


class NetInformation:
    """The "Net information" panel of ``Information(net)``; ``info[prop]`` reads a property."""

    ROWS = (("Layers count", "LayersCount"), ("Arrays count", "ArraysCount"),
            ("Shared arrays count", "SharedArraysCount"), ("Input port names", "InputPortNames"),
            ("Output port names", "OutputPortNames"), ("Arrays total element count", "ArraysTotalElementCount"),
            ("Arrays total size", "ArraysTotalSize"))

    def __init__(self, net):
        self._net = net

    def __getitem__(self, prop):
        return Information(self._net, prop)

    def rows(self):
        out = []
        for label, prop in self.ROWS:
            try:
                value = _property(self._net, prop)
            except LayerGraphError:
                value = S.Automatic
            if isinstance(value, list):
                value = "{" + ", ".join(f'"{v}"' for v in value) + "}"
            out.append((label, str(value)))
        return out

    def __repr__(self):
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        return "Net information\n" + "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)

    def __rich__(self):
        from rich.table import Table
        table = Table(title="Net information", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for k, v in self.rows():
            table.add_row(k, v)
        return table


@checked
def Information(net, prop=None):
    """``Information(net)``: the "Net information" panel; ``Information(net, "ArraysCount")``: one
    property; a list of properties gives a list. A layer is treated as a one-layer net."""
    if isinstance(net, NetLayer):
        net = NetChain([net])
    if not isinstance(net, _Container):
        raise LayerGraphError(f"Information: {_wl(net)} is not a net or a layer.", "Information::invnet")
    if prop is None:
        return NetInformation(net)
    if isinstance(prop, list):
        return [Information(net, p) for p in prop]
    if not isinstance(prop, str):
        raise LayerGraphError(f"{_wl(prop)} is not a known property. Properties: {', '.join(PROPERTIES)}.",
                              "Information::notprop")
    return _property(net, prop)



__all__ = ["Information", "Quantity"]
