"""dlnetwork: a layer graph with every size inferred and every learnable set.

Learnables and state are kept in MATLAB's layout on the layers themselves
(``net.Layers[1].Weights`` is FH x FW x C x F); the executor converts them to
the internal layout when it runs.
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError
from .graph import LayerGraph
from .infer import analyze, require_valid
from .initializers import initialize as init_values
from .layer import Layer
from .layer_array import LayerArray
from .table import Table


def initialize_layer(layer: Layer, input_size, dtype=np.float32) -> Layer:
    """Fill the empty learnables (with the layer's initializers) and state; values
    that are already set stay as they are."""
    updates = {}
    for spec in layer.learnables:
        if getattr(layer, spec.name) is None:
            sz = layer.learnable_sizes(input_size)[spec.name]
            fan_in, fan_out = layer.fans(spec.name)
            updates[spec.name] = init_values(getattr(layer, spec.initializer), sz, fan_in, fan_out,
                                             layer_name=layer.Name, param=spec.name, dtype=dtype)
    for name, sz in layer.state_sizes(input_size).items():
        if getattr(layer, name) is None:
            fill = np.ones if name == "TrainedVariance" else np.zeros
            updates[name] = fill(sz, dtype=dtype)
    return layer._resolved_copy(**updates) if updates else layer


class DLNetwork:
    """MATLAB's dlnetwork. Build it with ``dlnetwork(layers_or_lgraph)``."""

    def __init__(self, graph: LayerGraph, analysis, initialized: bool):
        self._graph = graph
        self._analysis = analysis
        self.Initialized = initialized

    @classmethod
    def build(cls, obj, Initialize: bool = True) -> "DLNetwork":
        analysis = analyze(obj)
        for name, layer in analysis.layers.items():
            if layer.is_output:
                raise LayerGraphError(f"Layer '{name}': Detected output layer. The network must not have output "
                                      "layers.", "nnet_cnn:dlnetwork:OutputLayersNotSupported")
        require_valid(analysis)
        g = analysis.graph._copy()
        for name in g._g.nodes:
            layer = analysis.layers[name]
            if Initialize:
                first = next(iter(analysis.info(name).InputSizes.values()), None)
                layer = initialize_layer(layer, first)
            g._g.nodes[name]["layer"] = layer
        return cls(g, analysis, bool(Initialize))

    def initialize(self) -> "DLNetwork":
        """Initialize the learnables and state that are still empty."""
        return DLNetwork.build(self._graph, Initialize=True)

    # -- MATLAB properties --------------------------------------------------------
    @property
    def layer_graph(self) -> LayerGraph:
        return self._graph

    @property
    def Layers(self) -> LayerArray:
        return self._graph.Layers

    @property
    def Connections(self) -> Table:
        return self._graph.Connections

    @property
    def InputNames(self) -> list[str]:
        return self._graph.InputNames

    @property
    def OutputNames(self) -> list[str]:
        outs = self._graph.unconnected_outputs()
        return [n if len(self._graph.layer(n).OutputNames) == 1 else f"{n}/{p}" for n, p in outs]

    @property
    def Learnables(self) -> Table:
        rows = [(layer.Name, spec.name, getattr(layer, spec.name))
                for layer in self.Layers for spec in layer.learnables]
        return Table(("Layer", "Parameter", "Value"), rows)

    @property
    def State(self) -> Table:
        rows = [(layer.Name, name, getattr(layer, name)) for layer in self.Layers for name in layer.states]
        return Table(("Layer", "Parameter", "Value"), rows)

    @property
    def analysis(self):
        return self._analysis

    def _learnable_spec(self, layer_name, parameter):
        layer = self._graph.layer(layer_name)
        for spec in layer.learnables:
            if spec.name == parameter:
                return layer, spec
        raise LayerGraphError(f"Layer '{layer_name}' has no learnable parameter '{parameter}'. Learnables: "
                              f"{', '.join(s.name for s in layer.learnables) or 'none'}.")

    def getLearnRateFactor(self, layer_name: str, parameter: str) -> float:
        layer, spec = self._learnable_spec(layer_name, parameter)
        return getattr(layer, spec.learn_rate)

    def getL2Factor(self, layer_name: str, parameter: str) -> float:
        layer, spec = self._learnable_spec(layer_name, parameter)
        return getattr(layer, spec.l2)

    def _with_factor(self, layer_name, parameter, which, value) -> "DLNetwork":
        layer, spec = self._learnable_spec(layer_name, parameter)
        updated = layer.model_copy()
        setattr(updated, getattr(spec, which), value)  # validated like any assignment
        g = self._graph._copy()
        g._g.nodes[layer_name]["layer"] = updated
        return DLNetwork(g, self._analysis, self.Initialized)

    def setLearnRateFactor(self, layer_name: str, parameter: str, factor) -> "DLNetwork":
        return self._with_factor(layer_name, parameter, "learn_rate", factor)

    def setL2Factor(self, layer_name: str, parameter: str, factor) -> "DLNetwork":
        return self._with_factor(layer_name, parameter, "l2", factor)

    def __str__(self):
        names = lambda xs: "{" + "  ".join(f"'{x}'" for x in xs) + "}" if xs else "{}"  # noqa: E731
        return ("  dlnetwork with properties:\n\n"
                f"         Layers: [{len(self.Layers)}x1 nnet.cnn.layer.Layer]\n"
                f"    Connections: [{len(self.Connections)}x2 table]\n"
                f"     Learnables: [{len(self.Learnables)}x3 table]\n"
                f"          State: [{len(self.State)}x3 table]\n"
                f"     InputNames: {names(self.InputNames)}\n"
                f"    OutputNames: {names(self.OutputNames)}\n"
                f"    Initialized: {int(self.Initialized)}\n")

    __repr__ = __str__
