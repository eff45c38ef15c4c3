"""The core graph: layers as the nodes of a networkx DiGraph, connections as edges.

Nodes are keyed by layer name and carry the attribute ``layer``. Each edge (source
layer, destination layer) carries ``ports``: the list of (output port, input port)
pairs it joins. The networkx graph's own attribute dict carries graph-level tables
(the shared learnables of ``core/shared.py``), so every copy keeps them.

This class knows no dialect. MATLAB's layerGraph (``matlab/layer_graph.py``) adds
MATLAB's editing functions, names and printouts on top of it; the Wolfram containers
build one when they compile (``wolfram/net.py``). Every dialect-level edit returns a
new graph (value semantics), so a failed call leaves the graph it was given as it was.
"""
from __future__ import annotations

import networkx as nx

from .errors import LayerGraphError
from .layer import Layer


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

    def _connect(self, src, out, dst, inp):
        if self._g.has_edge(src, dst):
            self._g.edges[src, dst]["ports"].append((out, inp))
        else:
            self._g.add_edge(src, dst, ports=[(out, inp)])

    def _set_layer(self, name: str, layer: Layer):
        """Put a new version of layer ``name`` in place (same ports)."""
        self._g.nodes[name]["layer"] = layer
