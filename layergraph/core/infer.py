"""Whole-graph shape inference: the only place 'auto' sizes are resolved.

Sizes flow from the input layers in topological order. Every problem is
collected as an Issue that names the layer and the port, instead of stopping at
the first one. A dialect adds its own rules (MATLAB's: a classification layer after
a softmax layer, ``matlab/analysis.py``) as functions called once per sized layer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import LayerGraphError
from .graph import Graph
from .layer import Layer, SizeError
from .size import Size


@dataclass
class Issue:
    Severity: str      # 'Error' or 'Warning'
    LayerName: str
    Port: str
    Message: str

    def __str__(self):
        where = f"Layer '{self.LayerName}'" if self.LayerName else "Network"
        return f"{where}: {self.Message}"


@dataclass
class LayerInfo:
    Index: int
    Name: str
    Type: str
    ActivationSizes: dict[str, Size]          # output port -> size (one observation)
    LearnableSizes: dict[str, tuple[int, ...]]
    StateSizes: dict[str, tuple[int, ...]]
    InputSizes: dict[str, Size] = field(default_factory=dict)

    @property
    def NumLearnables(self) -> int:
        return int(sum(np.prod(s) for s in self.LearnableSizes.values()))

    @property
    def ActivationFormats(self) -> dict[str, str]:
        return {p: s.format + "B" for p, s in self.ActivationSizes.items()}

    def activations_text(self) -> str:
        return ", ".join(f"{s}" for s in self.ActivationSizes.values()) or "-"

    def learnables_text(self, sep: str = ", ") -> str:
        return sep.join(f"{k} {'x'.join(map(str, v))}" for k, v in self.LearnableSizes.items()) or "-"

    def states_text(self, sep: str = ", ") -> str:
        return sep.join(f"{k} {'x'.join(map(str, v))}" for k, v in self.StateSizes.items()) or "-"


@dataclass
class Analysis:
    """What analyzeNetwork reports; ``layers`` holds the sized layers by name."""

    graph: Graph
    LayerInfo: list[LayerInfo]
    Issues: list[Issue]
    layers: dict[str, Layer]
    order: list[str]

    @property
    def TotalLearnables(self) -> float:
        if any(i.Severity == "Error" for i in self.Issues):
            return float("nan")
        return int(sum(row.NumLearnables for row in self.LayerInfo))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.Issues if i.Severity == "Error"]

    def info(self, name: str) -> LayerInfo:
        for row in self.LayerInfo:
            if row.Name == name:
                return row
        raise KeyError(name)

    def __str__(self):
        from ..display.analysis import analysis_text
        return analysis_text(self)

    __repr__ = __str__

    def __rich__(self):
        from ..display.rich_display import report_renderable
        return report_renderable(self)


Rule = Callable[[str, Layer, dict, dict], "Issue | None"]


def analyze(graph: Graph, rules: tuple[Rule, ...] = (), issues: list[Issue] | None = None) -> Analysis:
    """Infer every size in a graph and collect every problem (added to ``issues``
    when given). Each rule is called as ``rule(name, layer, layers, feeds)`` after the
    layer is sized (``layers``: the sized layers so far by name, ``feeds``: (layer,
    input) -> (source layer, output)) and may return an Issue."""
    issues = [] if issues is None else issues
    g = graph.graph
    names = list(g.nodes)
    index = {n: i for i, n in enumerate(names)}
    layers = {n: g.nodes[n]["layer"] for n in names}
    rows = {n: LayerInfo(index[n] + 1, n, layers[n].Type, {}, {}, {}) for n in names}

    if not names:
        issues.append(Issue("Error", "", "", "Missing input layer. The network must have at least one input layer."))
        return Analysis(graph, [], issues, {}, [])
    if not any(layer.is_input for layer in layers.values()):
        issues.append(Issue("Error", "", "", "Missing input layer. The network must have at least one input layer."))

    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        members = [e[0] for e in cycle]
        issues.append(Issue("Error", members[0], "",
                            "Cycle detected. The network must be acyclic; the cycle runs through layers "
                            + " -> ".join(f"'{m}'" for m in members + [members[0]]) + "."))
        return Analysis(graph, [rows[n] for n in names], issues, layers, [])

    order = list(nx.lexicographical_topological_sort(g, key=lambda n: index[n]))
    for n, port in graph.unconnected_inputs():
        issues.append(Issue("Error", n, port, "Unconnected input. Each layer input must be connected to the "
                                              "output of another layer."))
    has_output_layers = any(layer.is_output for layer in layers.values())
    if has_output_layers:
        for n, port in graph.unconnected_outputs():
            issues.append(Issue("Error", n, port, "Unconnected output. Each layer output must be connected to "
                                                  "the input of another layer."))
    feeds = {}  # (dst, in) -> (src, out)
    for src, out, dst, inp in graph.connections():
        feeds[(dst, inp)] = (src, out)

    sizes: dict[tuple[str, str], Size] = {}
    for n in order:
        layer = layers[n]
        inputs = {}
        for port in layer.InputNames:
            source = feeds.get((n, port))
            if source is None or source not in sizes:
                inputs = None
                break
            inputs[port] = sizes[source]
        if inputs is None:
            continue
        rows[n].InputSizes = inputs
        try:
            sized, outs = layer.infer(list(inputs.values()))
        except SizeError as err:
            issues.append(Issue("Error", n, err.port, err.message))
            continue
        layers[n] = sized
        for port, size in zip(sized.OutputNames, outs):
            sizes[(n, port)] = size
        rows[n].ActivationSizes = dict(zip(sized.OutputNames, outs))
        first = next(iter(inputs.values()), None)
        rows[n].LearnableSizes = sized.learnable_sizes(first)
        rows[n].StateSizes = sized.state_sizes(first)
        for rule in rules:
            issue = rule(n, sized, layers, feeds)
            if issue is not None:
                issues.append(issue)
    return Analysis(graph, [rows[n] for n in names], issues, layers, order)


def require_valid(analysis: Analysis):
    """Raise one error listing every problem, MATLAB's 'Invalid network.'"""
    from .errors import NetworkAnalysisError
    errors = analysis.errors
    if errors:
        lines = "\n".join(f"    {issue}" for issue in errors)
        raise NetworkAnalysisError(f"Invalid network.\n  Caused by:\n{lines}", errors,
                                   "nnet_cnn:internal:cnn:analyzer:NetworkAnalyzer:NetworkHasErrors")


__all__ = ["Analysis", "Issue", "LayerInfo", "analyze", "require_valid", "LayerGraphError"]
