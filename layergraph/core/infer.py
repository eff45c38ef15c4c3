"""Whole-graph shape inference: the only place 'auto' sizes are resolved.

Sizes flow from the input layers in topological order. Every problem is
collected as an Issue that names the layer and the port, instead of stopping at
the first one. A dialect adds its own rules (MATLAB's: a classification layer after
a softmax layer, ``matlab/analysis.py``) as functions called once per sized layer.

Composite nodes (``core/graph.py``) are expanded here: a nested Graph's nodes join the
graph under path names (``"block/conv"``) before sizing; a builder node becomes its
core specs once its input sizes are known (``Analysis.expanded`` records what each
became). Before sizing, one backward step gives sizes from outputs: from a graph output
port that requires a size, back through layers that keep the shape (the registry's
``keeps_shape``, or a builder's own), to the node that takes it (``with_output_size``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import LayerGraphError
from .graph import Graph, is_builder
from .layer import Layer, SizeError
from .shared import KEY as SHARED_KEY
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
        return {p: s.batch_format for p, s in self.ActivationSizes.items()}

    def activations_text(self) -> str:
        return ", ".join(f"{s}" for s in self.ActivationSizes.values()) or "-"

    def learnables_text(self, sep: str = ", ") -> str:
        return sep.join(f"{k} {'x'.join(map(str, v))}" for k, v in self.LearnableSizes.items()) or "-"

    def states_text(self, sep: str = ", ") -> str:
        return sep.join(f"{k} {'x'.join(map(str, v))}" for k, v in self.StateSizes.items()) or "-"


@dataclass
class Expanded:
    """What one builder node became: its (final) builder, the core names of its specs
    (empty while it is unsized), the expansion ``build`` returned, its input and output
    sizes and forms."""

    builder: object
    names: list[str] = field(default_factory=list)
    specs: list[Layer] = field(default_factory=list)   # named, before sizing (as the expanded graph holds them)
    expansion: object = None
    in_sizes: list[Size] = field(default_factory=list)
    in_forms: list = field(default_factory=list)
    out_sizes: list[Size] = field(default_factory=list)
    form: object = None

    @property
    def built(self) -> bool:
        return self.expansion is not None


@dataclass
class Analysis:
    """What analyzeNetwork reports; ``layers`` holds the sized layers by name. ``graph`` is
    the graph given, or, when it has composite nodes, the expanded graph (nodes in the
    order sizing visited them; a builder that could not be sized stays a node);
    ``order`` is the topological order of ``graph``, ``node_order`` that of the nodes
    before builders were expanded, ``expanded`` {builder node: Expanded}, and ``cycle``
    the nodes of a cycle found (in order), if any."""

    graph: Graph
    LayerInfo: list[LayerInfo]
    Issues: list[Issue]
    layers: dict[str, Layer]
    order: list[str]
    expanded: dict[str, Expanded] = field(default_factory=dict)
    node_order: list[str] = field(default_factory=list)
    cycle: list[str] = field(default_factory=list)

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


def flatten(graph: Graph) -> Graph:
    """The graph with every nested Graph node replaced by its nodes, named by path
    ("block/conv"), edges and ports rewired through the nested ports (the graph itself
    when nothing is nested)."""
    g = graph._g
    if not any(isinstance(g.nodes[n]["layer"], Graph) for n in g.nodes):
        return graph
    flat = Graph()
    flat._g.graph.update({k: v for k, v in g.graph.items() if k not in ("input_ports", "output_ports")})
    into: dict[tuple[str, str], list[tuple[str, str]]] = {}   # (nested node, input port) -> flat targets
    out_of: dict[tuple[str, str], tuple[str, str]] = {}       # (nested node, output port) -> flat source
    shared = dict(g.graph.get(SHARED_KEY, {}))                # a new table: the given graph keeps its own
    for n in g.nodes:
        node = g.nodes[n]["layer"]
        if not isinstance(node, Graph):
            flat._g.add_node(n, layer=node)
            continue
        inner = flatten(node)
        for m in inner._g.nodes:
            obj = inner._g.nodes[m]["layer"]
            path = f"{n}/{m}"
            flat._g.add_node(path, layer=obj._resolved_copy(Name=path) if isinstance(obj, Layer) else obj)
        for src, out, dst, inp in inner.connections():
            flat._connect(f"{n}/{src}", out, f"{n}/{dst}", inp)
        for port, targets in inner.input_ports().items():
            into[(n, port)] = [(f"{n}/{m}", p) for m, p in targets]
        for port, (m, p) in inner.output_ports().items():
            out_of[(n, port)] = (f"{n}/{m}", p)
        for name, members in inner._g.graph.get(SHARED_KEY, {}).items():   # core/shared.py's table
            shared[f"{n}/{name}"] = tuple((f"{n}/{m}", learnable) for m, learnable in members)
    nested = {n for n in g.nodes if isinstance(g.nodes[n]["layer"], Graph)}
    for src, out, dst, inp in graph.connections():
        for node, port, table in ((src, out, out_of), (dst, inp, into)):
            if node in nested and (node, port) not in table:
                raise LayerGraphError(f"The nested graph '{node}' has no port '{port}'. Ports: "
                                      f"{', '.join(repr(q) for (m, q) in table if m == node) or 'none'}.")
        s = out_of.get((src, out), (src, out))
        for d in into.get((dst, inp), [(dst, inp)]):
            flat._connect(*s, *d)
    if shared:
        flat._g.graph[SHARED_KEY] = shared
    flat._set_ports({p: [d for t in targets for d in into.get(tuple(t), [tuple(t)])]
                     for p, targets in graph.input_ports().items()},
                    {p: out_of.get(tuple(src), tuple(src)) for p, src in graph.output_ports().items()})
    return flat


def find_cycle(graph: Graph) -> list[str]:
    """The nodes of one cycle of the graph, in order (empty when it is acyclic)."""
    try:
        return [e[0] for e in nx.find_cycle(graph.graph)]
    except nx.NetworkXNoCycle:
        return []


def _keeps_shape(node) -> bool:
    if isinstance(node, Layer):
        from .registry import BY_CLASS
        entry = BY_CLASS.get(type(node))
        return entry is not None and entry.keeps_shape
    return bool(getattr(node, "keeps_shape", False))


def _sizes_from_outputs(graph: Graph) -> None:
    """Give each required output size to the node that takes it (in place): from the node
    that gives the output, back through nodes that keep the shape and have one feeder that
    feeds nothing else."""
    feeders: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    for src, _, dst, _ in graph.connections():
        feeders.setdefault(dst, []).append(src)
        readers.setdefault(src, []).append(dst)
    outputs = graph.output_ports()
    for port, (size, form) in graph.required_sizes().items():
        if port not in outputs:
            continue
        name = outputs[port][0]
        while _keeps_shape(graph.layer(name)) and len(feeders.get(name, [])) == 1:
            name = feeders[name][0]
            if len(readers.get(name, [])) != 1:
                break
        take = getattr(graph.layer(name), "with_output_size", None)
        new = take(size, form) if take is not None else None
        if new is not None:
            graph._g.nodes[name]["layer"] = new


def analyze(graph: Graph, rules: tuple[Rule, ...] = (), issues: list[Issue] | None = None) -> Analysis:
    """Infer every size in a graph and collect every problem (added to ``issues``
    when given). Each rule is called as ``rule(name, layer, layers, feeds)`` after the
    layer is sized (``layers``: the sized layers so far by name, ``feeds``: (layer,
    input) -> (source layer, output)) and may return an Issue."""
    issues = [] if issues is None else issues
    given = graph
    graph = flatten(graph)
    g = graph.graph
    composite = graph is not given or any(is_builder(g.nodes[n]["layer"]) for n in g.nodes)
    if composite:
        graph = graph._copy()   # sizes from outputs replace builders in this copy
        g = graph.graph
    names = list(g.nodes)
    index = {n: i for i, n in enumerate(names)}
    layers = {n: g.nodes[n]["layer"] for n in names}
    rows = {n: LayerInfo(index[n] + 1, n, getattr(layers[n], "Type", type(layers[n]).__name__), {}, {}, {})
            for n in names}

    if not names:
        issues.append(Issue("Error", "", "", "Missing input layer. The network must have at least one input layer."))
        return Analysis(given, [], issues, {}, [])
    if not any(layer.is_input for layer in layers.values()):
        issues.append(Issue("Error", "", "", "Missing input layer. The network must have at least one input layer."))

    members = find_cycle(graph)
    if members:
        issues.append(Issue("Error", members[0], "",
                            "Cycle detected. The network must be acyclic; the cycle runs through layers "
                            + " -> ".join(f"'{m}'" for m in members + [members[0]]) + "."))
        return Analysis(given if not composite else graph, [rows[n] for n in names], issues, layers, [],
                        cycle=members)

    order = list(nx.lexicographical_topological_sort(g, key=lambda n: index[n]))
    for n, port in graph.unconnected_inputs():
        issues.append(Issue("Error", n, port, "Unconnected input. Each layer input must be connected to the "
                                              "output of another layer."))
    has_output_layers = any(layer.is_output for layer in layers.values())
    if has_output_layers:
        for n, port in graph.unconnected_outputs():
            issues.append(Issue("Error", n, port, "Unconnected output. Each layer output must be connected to "
                                                  "the input of another layer."))
    if composite:
        _sizes_from_outputs(graph)
        layers = {n: g.nodes[n]["layer"] for n in names}
    feeds = {}  # (dst, in) -> (src, out)
    for src, out, dst, inp in graph.connections():
        feeds[(dst, inp)] = (src, out)

    sizes: dict[tuple[str, str], Size] = {}
    forms: dict[tuple[str, str], object] = {}
    expanded = {n: Expanded(layers[n]) for n in names if is_builder(layers[n])}
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
        if n in expanded:
            in_forms = [forms.get(feeds[(n, port)]) for port in layer.InputNames]
            _expand_builder(n, expanded[n], list(inputs.values()), in_forms, rows, layers, issues, rules, feeds)
            record = expanded[n]
            port_forms = getattr(record.expansion, "port_forms", None) or {}   # a form per output, if it says
            for port, size in zip(layer.OutputNames, record.out_sizes):
                sizes[(n, port)] = size
                forms[(n, port)] = port_forms.get(port, record.form)
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
        _fill_row(rows[n], sized, inputs, outs)
        for rule in rules:
            issue = rule(n, sized, layers, feeds)
            if issue is not None:
                issues.append(issue)
    if not composite:
        return Analysis(graph, [rows[n] for n in names], issues, layers, order, node_order=order)
    if any(not r.built for r in expanded.values()) and not any(i.Severity == "Error" for i in issues):
        for n, r in expanded.items():
            if not r.built:
                issues.append(Issue("Error", n, "", "Unsized node. Its inputs do not give it a size."))
    out = _expanded_graph(graph, order, expanded)
    flat_order = [m for n in order for m in (expanded[n].names if n in expanded and expanded[n].built else [n])]
    info = [rows[m] for m in flat_order]
    for i, row in enumerate(info):
        row.Index = i + 1
    return Analysis(out, info, issues, {m: layers[m] for m in flat_order}, flat_order, expanded, order)


def _fill_row(row: LayerInfo, sized: Layer, inputs: dict, outs: list):
    row.InputSizes = inputs
    row.ActivationSizes = dict(zip(sized.OutputNames, outs))
    first = next(iter(inputs.values()), None)
    row.LearnableSizes = sized.learnable_sizes(first)
    row.StateSizes = sized.state_sizes(first)


def _expand_builder(n, record: Expanded, in_sizes, in_forms, rows, layers, issues, rules, feeds):
    """Build builder node ``n`` and size its specs in series (the records go to
    ``record``, ``rows`` and ``layers`` under the specs' names)."""
    builder = record.builder
    expansion = builder.build(in_sizes, in_forms)
    if expansion is None:
        return
    record.in_sizes, record.in_forms = list(in_sizes), list(in_forms)
    main = getattr(expansion, "main", 0)
    specs = [spec._resolved_copy(Name=n if i == main else f"{n}${i}") for i, spec in enumerate(expansion.specs)]
    current = list(in_sizes)
    sized_specs, spec_rows = [], []
    for i, spec in enumerate(specs):
        ins = dict(zip(spec.InputNames, current)) if len(spec.InputNames) == len(current) or not current \
            else {spec.InputNames[0]: current[0]}
        try:
            sized, outs = spec.infer(current)
        except SizeError as err:
            on_error = getattr(builder, "on_size_error", None)
            if on_error is not None:
                on_error(err, record)
            issues.append(Issue("Error", spec.Name, err.port, err.message))
            return
        row = LayerInfo(0, spec.Name, spec.Type, {}, {}, {})
        _fill_row(row, sized, ins, outs)
        sized_specs.append(sized)
        spec_rows.append(row)
        current = outs
    record.expansion, record.form, record.out_sizes = expansion, getattr(expansion, "form", None), list(current)
    record.names = [s.Name for s in specs]
    record.specs = specs
    on_sized = getattr(builder, "on_sized", None)
    if on_sized is not None:
        on_sized(record)
    for spec, sized, row in zip(specs, sized_specs, spec_rows):
        layers[spec.Name] = sized
        rows[spec.Name] = row
        for rule in rules:
            issue = rule(spec.Name, sized, layers, feeds)
            if issue is not None:
                issues.append(issue)


def _expanded_graph(graph: Graph, order: list[str], expanded: dict[str, Expanded]) -> Graph:
    """The graph with each built builder replaced by its (unsized, named) specs in series,
    nodes in topological order."""
    out = Graph()
    out._g.graph.update(graph._g.graph)
    first: dict[str, Layer] = {}
    last: dict[str, Layer] = {}
    for n in order:
        record = expanded.get(n)
        if record is None or not record.built:
            out._g.add_node(n, layer=graph._g.nodes[n]["layer"] if record is None else record.builder)
            continue
        for spec in record.specs:
            out._add(spec)
        for a, b in zip(record.specs, record.specs[1:]):
            out._connect(a.Name, a.OutputNames[0], b.Name, b.InputNames[0])
        first[n], last[n] = record.specs[0], record.specs[-1]
    for src, out_port, dst, inp in graph.connections():
        if src in last:
            out_port = last[src].OutputNames[graph.layer(src).OutputNames.index(out_port)]
            src = last[src].Name
        if dst in first:
            names = first[dst].InputNames
            k = graph.layer(dst).InputNames.index(inp)
            inp, dst = (names[k] if len(names) > 1 else names[0]), first[dst].Name
        out._connect(src, out_port, dst, inp)
    ports_in = {p: [(first[m].Name, first[m].InputNames[graph.layer(m).InputNames.index(q)]) if m in first
                    else (m, q) for m, q in targets] for p, targets in graph.input_ports().items()}
    ports_out = {p: (last[m].Name, last[m].OutputNames[graph.layer(m).OutputNames.index(q)]) if m in last
                 else (m, q) for p, (m, q) in graph.output_ports().items()}
    out._set_ports(ports_in, ports_out)
    return out


def require_valid(analysis: Analysis):
    """Raise one error listing every problem, MATLAB's 'Invalid network.'"""
    from .errors import NetworkAnalysisError
    errors = analysis.errors
    if errors:
        lines = "\n".join(f"    {issue}" for issue in errors)
        raise NetworkAnalysisError(f"Invalid network.\n  Caused by:\n{lines}", errors,
                                   "nnet_cnn:internal:cnn:analyzer:NetworkAnalyzer:NetworkHasErrors")


__all__ = ["Analysis", "Expanded", "Issue", "LayerInfo", "analyze", "find_cycle", "flatten", "require_valid",
           "LayerGraphError"]
