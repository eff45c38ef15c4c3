"""The core graph: layers as the nodes of a networkx DiGraph, connections as edges.

Nodes are keyed by layer name and carry the attribute ``layer``. Each edge (source
layer, destination layer) carries ``ports``: the list of (output port, input port)
pairs it joins. The networkx graph's own attribute dict carries graph-level tables
(the shared learnables of ``core/shared.py``), so every copy keeps them.

A node may also be *composite* (``_add_node``): a nested ``Graph`` with named ports
(``_set_ports``: input port -> the (node, input) pairs inside it feeds, output port -> the
(node, output) inside that gives it), or a *builder*, an object that becomes core layers in
series once its input sizes are known (the protocol is ``Builder`` below). Core inference
(``core/infer.py``) expands both; a graph's output ports may also carry the size they
require (``_require_size``), which inference gives to an unsized layer before them.

This class knows no dialect. MATLAB's layerGraph (``matlab/layer_graph.py``) adds
MATLAB's editing functions, names and printouts on top of it; the Wolfram containers
build one when they compile (``wolfram/net.py``). Every dialect-level edit returns a
new graph (value semantics), so a failed call leaves the graph it was given as it was.
"""
from __future__ import annotations

import networkx as nx

from typing import Any, Protocol

from .errors import LayerGraphError
from .layer import Layer, SizeError
from .size import Size


class Builder(Protocol):
    """A graph node that becomes core layer specs in series when its input sizes are known
    (a dialect's layer whose specs depend on its input, e.g. a Wolfram layer). Required:
    ``InputNames``, ``OutputNames``, ``is_input``, ``is_output`` and ``build``. Optional:
    ``keeps_shape`` (True: its output has its input's size, for sizes from outputs),
    ``with_output_size``, ``on_size_error``, ``on_sized``."""

    InputNames: list[str]
    OutputNames: list[str]
    is_input: bool
    is_output: bool

    def build(self, in_sizes: list[Size], in_forms: list) -> Any:
        """The expansion: an object with ``specs`` (core layers in series; the first takes the
        node's inputs by position, the last gives its outputs), optionally ``main`` (the index
        of the spec named after the node; the others are named ``node$i``) and ``form``
        (an opaque value the core attaches to the node's outputs and hands to the builders
        they feed as ``in_forms``: what a core Size does not say, such as a dialect's array
        rank; ``port_forms``, optionally, {output name: form} for outputs whose form differs).
        ``in_forms`` holds None for inputs from plain layers. None: not buildable
        yet (the node stays unsized). A LayerGraphError raised here stops inference."""

    def with_output_size(self, size: Size, form) -> "Builder | None":
        """This node with the output size a graph output requires (None: no change)."""

    def on_size_error(self, error: SizeError, record) -> None:
        """One of its specs did not fit (``record``: infer.Expanded); may raise."""

    def on_sized(self, record) -> None:
        """Its specs are sized (``record``: infer.Expanded); may raise."""


def is_builder(node) -> bool:
    return not isinstance(node, (Layer, Graph)) and callable(getattr(node, "build", None))


class Graph:
    """Layers joined port to port; the structure the executor and inference read."""

    def __init__(self):
        self._g = nx.DiGraph()

    # -- reading ----------------------------------------------------------------
    @property
    def graph(self) -> nx.DiGraph:
        """The networkx graph underneath (read-only view): nodes are layer names with
        attribute ``layer``; edges carry ``ports``."""
        return self._g.copy(as_view=True)

    def layer(self, name: str) -> Layer:
        self._require(name)
        return self._g.nodes[name]["layer"]

    def layers(self) -> list[Layer]:
        """The layers in the order they were added."""
        return [self._g.nodes[n]["layer"] for n in self._g.nodes]

    def connections(self) -> list[tuple[str, str, str, str]]:
        """(source layer, output, destination layer, input), ordered by source layer."""
        order = {n: i for i, n in enumerate(self._g.nodes)}
        rows = []
        for src, dst, data in self._g.edges(data=True):
            for out, inp in data["ports"]:
                rows.append((src, out, dst, inp))
        rows.sort(key=lambda r: (order[r[0]], order[r[2]]))
        return rows

    def upstream(self, name: str) -> set[str]:
        """The layers whose outputs reach ``name``, directly or through others."""
        self._require(name)
        return nx.ancestors(self._g, name)

    def input_layers(self) -> list[str]:
        """Names of the layers that take data from outside (input layers)."""
        return [n for n in self._g.nodes if self._g.nodes[n]["layer"].is_input]

    def output_layers(self) -> list[str]:
        """Names of the output (loss) layers."""
        return [n for n in self._g.nodes if self._g.nodes[n]["layer"].is_output]

    def unconnected_inputs(self) -> list[tuple[str, str]]:
        used = {(dst, inp) for _, _, dst, inp in self.connections()}
        return [(n, p) for n in self._g.nodes for p in self.layer(n).InputNames if (n, p) not in used]

    def unconnected_outputs(self) -> list[tuple[str, str]]:
        used = {(src, out) for src, out, _, _ in self.connections()}
        return [(n, p) for n in self._g.nodes for p in self.layer(n).OutputNames if (n, p) not in used]

    # -- ports: a nested graph's interface, and the sizes outputs require -------------------
    def input_ports(self) -> dict[str, list[tuple[str, str]]]:
        """{port: [(node, input), ...]}: what each input port of this graph feeds."""
        return dict(self._g.graph.get("input_ports", {}))

    def output_ports(self) -> dict[str, tuple[str, str]]:
        """{port: (node, output)}: what gives each output port of this graph."""
        return dict(self._g.graph.get("output_ports", {}))

    def required_sizes(self) -> dict[str, tuple[Size, Any]]:
        """{output port: (size, form)}: the sizes the output ports require."""
        return dict(self._g.graph.get("required_sizes", {}))

    # -- building (in place: callers copy first) ---------------------------------------
    def _copy(self):
        new = object.__new__(type(self))
        new._g = self._g.copy()
        return new

    def _require(self, name: str):
        if name not in self._g:
            raise LayerGraphError(f"Layer '{name}' does not exist in the layer graph. Layer names: "
                                  f"{', '.join(repr(n) for n in self._g.nodes) or 'none'}.")

    def _add(self, layer: Layer):
        """Add a named layer as a node (its Name is its key)."""
        self._g.add_node(layer.Name, layer=layer)

    def _add_node(self, name: str, node):
        """Add a composite node: a builder or a nested Graph (with its ports set)."""
        if not (is_builder(node) or isinstance(node, Graph)):
            raise TypeError(f"a graph node is a layer, a builder or a Graph; got {type(node).__name__}")
        self._g.add_node(name, layer=node)

    def _set_ports(self, inputs: dict | None = None, outputs: dict | None = None):
        if inputs is not None:
            self._g.graph["input_ports"] = {p: [tuple(t) for t in targets] for p, targets in inputs.items()}
        if outputs is not None:
            self._g.graph["output_ports"] = {p: tuple(src) for p, src in outputs.items()}

    def _clear_ports(self):
        for key in ("input_ports", "output_ports", "required_sizes"):
            self._g.graph.pop(key, None)

    def _require_size(self, port: str, size: Size, form=None):
        """The output ``port`` must have ``size`` (``form``: as in Builder.build)."""
        self._g.graph["required_sizes"] = {**self.required_sizes(), port: (size, form)}

    def _connect(self, src, out, dst, inp):
        if self._g.has_edge(src, dst):
            self._g.edges[src, dst]["ports"].append((out, inp))
        else:
            self._g.add_edge(src, dst, ports=[(out, inp)])

    def _set_layer(self, name: str, layer: Layer):
        """Put a new version of layer ``name`` in place (same ports)."""
        self._g.nodes[name]["layer"] = layer
