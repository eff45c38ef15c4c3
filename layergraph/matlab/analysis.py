"""MATLAB's network analysis (analyzeNetwork, and the check behind dlnetwork,
assembleNetwork and trainNetwork): the core's inference (``core/infer.py``) over a
layer array or layerGraph, plus MATLAB's own rules."""
from __future__ import annotations

from ..core.graph import Graph
from ..core.infer import Analysis, Issue, analyze as infer_sizes
from .layer_array import LayerArray
from .layer_graph import LayerGraph, assign_names


def to_graph(obj, issues: list[Issue] | None = None) -> Graph:
    """A graph from a graph, a network, a LayerArray or a list. Duplicate user names in
    an array are reported in ``issues`` (when given) and made unique, as MATLAB's
    analysis does; without ``issues`` they are an error."""
    if isinstance(obj, Graph):
        return obj
    if hasattr(obj, "layer_graph"):
        return obj.layer_graph
    layers = LayerArray(obj)
    if issues is not None:
        seen = {}
        renamed = []
        for i, layer in enumerate(layers):
            if layer.Name and layer.Name in seen:
                issues.append(Issue("Error", layer.Name, "",
                                    f"Duplicate layer name. Layers {seen[layer.Name]} and {i + 1} are both "
                                    f"named '{layer.Name}'; layer names must be unique."))
                layer = layer._resolved_copy(Name="")
            elif layer.Name:
                seen[layer.Name] = i + 1
            renamed.append(layer)
        layers = LayerArray(assign_names(renamed))
    return LayerGraph(layers)


def _with_output_layers(layers) -> bool:
    return any(layer.is_output for layer in layers.values())


def _softmax_before_classification(name, layer, layers, feeds):
    if layer.family == "crossentropyex" and _with_output_layers(layers):
        prev = feeds.get((name, "in"))
        if prev and layers[prev[0]].family != "softmax":
            return Issue("Error", name, "in", "Missing softmax layer. A classification layer must be preceded by "
                                              "a softmax layer.")
    return None


def _no_softmax_before_regression(name, layer, layers, feeds):
    if layer.family == "mse" and _with_output_layers(layers):
        prev = feeds.get((name, "in"))
        if prev and layers[prev[0]].family == "softmax":
            return Issue("Error", name, "in", "Softmax layer before regression layer. A regression layer must not "
                                              "follow a softmax layer.")
    return None


def _folding_pairs(name, layer, layers, feeds):
    """A sequence folding's 'miniBatchSize' output feeds the 'miniBatchSize' input of a sequence
    unfolding, and an unfolding's comes from a folding (MATLAB's doc: "you must connect the
    miniBatchSize output to the miniBatchSize input of the corresponding sequence unfolding layer")."""
    if layer.family == "sequencefolding":
        if not any(src == (name, "miniBatchSize") and dst[1] == "miniBatchSize"
                   and getattr(layers.get(dst[0]), "family", None) == "sequenceunfolding"
                   for dst, src in feeds.items()):
            return Issue("Error", name, "miniBatchSize",
                         f"Missing sequence unfolding layer. The 'miniBatchSize' output of sequence folding layer "
                         f"'{name}' must be connected to the 'miniBatchSize' input of a sequence unfolding layer.")
    if layer.family == "sequenceunfolding":
        src = feeds.get((name, "miniBatchSize"))
        if src is not None and (src[1] != "miniBatchSize" or layers[src[0]].family != "sequencefolding"):
            return Issue("Error", name, "miniBatchSize",
                         f"Invalid connection. The 'miniBatchSize' input of sequence unfolding layer '{name}' must "
                         f"be connected to the 'miniBatchSize' output of a sequence folding layer, not to "
                         f"'{src[0]}/{src[1]}'.")
    return None


RULES = (_softmax_before_classification, _no_softmax_before_regression, _folding_pairs)


def analyze(obj) -> Analysis:
    """Infer every size in a layer array or graph and collect every problem, MATLAB's
    rules included."""
    issues: list[Issue] = []
    graph = to_graph(obj, issues)
    return infer_sizes(graph, RULES, issues)
