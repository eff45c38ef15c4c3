"""MATLAB's layerGraph on the core graph (``core/graph.py``): MATLAB's auto-naming,
'layer/port' names, editing functions, errors and printouts.

Each edge's ``ports`` are MATLAB's EndPorts. Every mutating operation returns a new
graph (MATLAB's value semantics: ``lgraph = addLayers(lgraph, ...)``), so a failed
call leaves the graph it was given as it was.
"""
from __future__ import annotations

from collections import Counter

from ..core.errors import LayerGraphError, brief
from ..core.graph import Graph
from ..core.layer import Layer
from ..display.matlab_format import format_value
from .layer_array import LayerArray, as_layer_array
from .table import Table


def assign_names(layers: list[Layer], taken=()) -> list[Layer]:
    """MATLAB's auto-naming: an empty Name becomes the layer's DefaultName; when a
    default name occurs more than once, or is taken, each of them gets _1, _2, ...
    Names the user gave are kept; two equal user names are an error."""
    taken = set(taken)
    explicit = Counter(layer.Name for layer in layers if layer.Name)
    for name, count in explicit.items():
        if count > 1:
            where = [i + 1 for i, layer in enumerate(layers) if layer.Name == name]
            raise LayerGraphError(
                f"Layer names must be unique: layers {', '.join(map(str, where))} are all named '{name}'.",
                "nnet_cnn:layerGraph:NonUniqueLayerNames")
        if name in taken:
            raise LayerGraphError(f"Layer names must be unique: a layer named '{name}' is already in the "
                                  "layer graph.", "nnet_cnn:layerGraph:NonUniqueLayerNames")
    used = taken | set(explicit)
    defaults = Counter(layer.DefaultName for layer in layers if not layer.Name)
    counters = Counter()
    out = []
    for layer in layers:
        if layer.Name:
            out.append(layer)
            continue
        base = layer.DefaultName
        if defaults[base] == 1 and base not in used:
            name = base
        else:
            while True:
                counters[base] += 1
                name = f"{base}_{counters[base]}"
                if name not in used:
                    break
        used.add(name)
        out.append(layer._resolved_copy(Name=name))
    return out


def _split(spec: str, what: str) -> tuple[str, str | None]:
    if not isinstance(spec, str) or not spec:
        raise LayerGraphError(f"Invalid {what} {spec!r}. Specify a layer name or 'layerName/portName'.",
                              "nnet_cnn:LayerGraph:InvalidLayerPortName")
    parts = spec.split("/")
    if len(parts) > 2:
        raise LayerGraphError(f"Invalid {what} '{spec}'. Specify a layer name or 'layerName/portName' with at "
                              "most one '/'.", "nnet_cnn:LayerGraph:InvalidLayerPortName")
    return parts[0], parts[1] if len(parts) == 2 else None


def _port(layer: str, given: str | None, ports: list[str], kind: str) -> str:
    """The port of ``layer`` that 'layer' or 'layer/port' names; ``kind`` 'Output' or 'Input'."""
    if given is None:
        if len(ports) > 1:
            raise LayerGraphError(f"Layer '{layer}' has several {kind.lower()}s ({', '.join(ports)}). Specify "
                                  f"one, e.g. '{layer}/{ports[0]}'.", f"nnet_cnn:LayerGraph:MustSpecify{kind}")
        return ports[0]
    if given not in ports:
        raise LayerGraphError(f"Layer '{layer}' has no {kind.lower()} named '{given}'. {kind}s: "
                              f"{', '.join(ports)}.", f"nnet_cnn:LayerGraph:Invalid{kind}Name")
    return given


class LayerGraph(Graph):
    """MATLAB's layerGraph. Use the functions of ``layergraph.matlab`` (addLayers,
    connectLayers, ...) or the methods of the same names."""

    def __init__(self, layers=None):
        super().__init__()
        if layers is not None:
            if isinstance(layers, Graph):
                self._g = layers._g.copy()
            else:
                self._add_series(as_layer_array(layers))

    # -- reading ----------------------------------------------------------------
    @property
    def Layers(self) -> LayerArray:
        """Copies: changing them does not change the graph (use replaceLayer)."""
        return LayerArray([self._g.nodes[n]["layer"].model_copy() for n in self._g.nodes])

    @property
    def Connections(self) -> Table:
        rows = []
        for src, out, dst, inp in self.connections():
            s = src if len(self.layer(src).OutputNames) == 1 else f"{src}/{out}"
            d = dst if len(self.layer(dst).InputNames) == 1 else f"{dst}/{inp}"
            rows.append((s, d))
        return Table(("Source", "Destination"), rows)

    @property
    def InputNames(self) -> list[str]:
        return self.input_layers()

    @property
    def OutputNames(self) -> list[str]:
        return self.output_layers()

    # -- changing (each returns a new graph) ---------------------------------------
    def _require(self, name: str):
        try:
            super()._require(name)
        except LayerGraphError as err:
            raise LayerGraphError(str(err), "nnet_cnn:LayerGraph:InvalidLayerName") from None

    def _add_series(self, layers: LayerArray) -> list[str]:
        named = assign_names([layer.model_copy(deep=True) for layer in layers], self._g.nodes)
        for layer in named:
            self._add(layer)
        for a, b in zip(named, named[1:]):
            if a.OutputNames and b.InputNames:
                self._connect(a.Name, a.OutputNames[0], b.Name, b.InputNames[0])
        return [layer.Name for layer in named]

    def addLayers(self, layers) -> "LayerGraph":
        """Add layers and connect them to each other in series (not to the graph)."""
        new = self._copy()
        new._add_series(as_layer_array(layers))
        return new

    def removeLayers(self, names) -> "LayerGraph":
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise LayerGraphError(f"Expected a layer name or a list of layer names, but got {brief(names)}.",
                                  "nnet_cnn:LayerGraph:InvalidLayerName")
        for n in names:
            self._require(n)
        new = self._copy()
        new._g.remove_nodes_from(set(names))
        return new

    def _resolve_ports(self, s: str, d: str):
        src, out = _split(s, "source")
        dst, inp = _split(d, "destination")
        self._require(src)
        self._require(dst)
        sl, dl = self.layer(src), self.layer(dst)
        if not sl.OutputNames:
            raise LayerGraphError(f"Layer '{src}' is an output layer and has no outputs to connect.",
                                  "nnet_cnn:LayerGraph:SourceIsOutputLayer")
        if not dl.InputNames:
            raise LayerGraphError(f"Layer '{dst}' is an input layer and has no inputs to connect.",
                                  "nnet_cnn:LayerGraph:DestinationIsInputLayer")
        return src, _port(src, out, sl.OutputNames, "Output"), dst, _port(dst, inp, dl.InputNames, "Input")

    def connectLayers(self, s: str, d: str) -> "LayerGraph":
        """Connect output ``s`` ('layer' or 'layer/out') to input ``d`` ('layer' or 'layer/in2')."""
        src, out, dst, inp = self._resolve_ports(s, d)
        if src == dst:
            raise LayerGraphError(f"Cannot connect layer '{src}' to itself.", "nnet_cnn:LayerGraph:SelfLoop")
        for s2, o2, d2, i2 in self.connections():
            if d2 == dst and i2 == inp:
                if (s2, o2) == (src, out):
                    raise LayerGraphError(f"The connection from '{s}' to '{d}' already exists.",
                                          "nnet_cnn:LayerGraph:ConnectionAlreadyExists")
                raise LayerGraphError(f"Input '{dst}/{inp}' is already connected to '{s2}/{o2}'. Disconnect it "
                                      "first with disconnectLayers.", "nnet_cnn:LayerGraph:InputAlreadyConnected")
        new = self._copy()
        new._connect(src, out, dst, inp)
        return new

    def disconnectLayers(self, s: str, d: str) -> "LayerGraph":
        """Remove the connection from ``s`` to ``d``; a missing connection changes nothing."""
        src, out, dst, inp = self._resolve_ports(s, d)
        new = self._copy()
        if new._g.has_edge(src, dst):
            ports = [p for p in new._g.edges[src, dst]["ports"] if p != (out, inp)]
            if ports:
                new._g.edges[src, dst]["ports"] = ports
            else:
                new._g.remove_edge(src, dst)
        return new

    def replaceLayer(self, name: str, layers, ReconnectBy: str = "name") -> "LayerGraph":
        """Replace layer ``name`` by ``layers`` (connected in series). The inputs of the
        old layer feed the first new layer and its outputs are fed by the last, port
        to port by name (ReconnectBy='name') or by position ('order')."""
        self._require(name)
        mode = str(ReconnectBy).lower()
        if mode not in ("name", "order"):
            raise LayerGraphError(f"Invalid value for 'ReconnectBy': {ReconnectBy!r}. Expected 'name' or 'order'.",
                                  "MATLAB:InputParser:ArgumentFailedValidation")
        larray = as_layer_array(layers)
        if not larray:
            raise LayerGraphError("replaceLayer needs at least one layer to put in place of "
                                  f"'{name}'.", "nnet_cnn:LayerGraph:EmptyReplacement")
        old = self.layer(name)
        incoming = [(s, o, i) for s, o, d, i in self.connections() if d == name]
        outgoing = [(o, d, i) for s, o, d, i in self.connections() if s == name]
        new = self._copy()
        new._g.remove_node(name)
        added = new._add_series(larray)
        first, last = new.layer(added[0]), new.layer(added[-1])

        def port(old_ports, new_ports, p, kind, layer_name):
            if mode == "name":
                if p in new_ports:
                    return p
            else:
                k = old_ports.index(p)
                if k < len(new_ports):
                    return new_ports[k]
            raise LayerGraphError(
                f"Cannot reconnect the {kind} '{p}' of '{name}' by {mode}: layer '{layer_name}' has "
                f"{kind}s {', '.join(new_ports) or 'none'}.", "nnet_cnn:LayerGraph:CannotReconnect")

        for s, o, i in incoming:
            new._connect(s, o, first.Name, port(old.InputNames, first.InputNames, i, "input", first.Name))
        for o, d, i in outgoing:
            new._connect(last.Name, port(old.OutputNames, last.OutputNames, o, "output", last.Name), d, i)
        return new

    def plot(self, ax=None):
        """Draw the graph with matplotlib (layered layout, layer names as labels)."""
        from ..display.plot import plot_graph
        return plot_graph(self, ax)

    # -- display ---------------------------------------------------------------
    def __str__(self):
        n, c = len(self._g), sum(len(d["ports"]) for _, _, d in self._g.edges(data=True))
        return ("  LayerGraph with properties:\n\n"
                f"         Layers: [{n}x1 nnet.cnn.layer.Layer]\n"
                f"    Connections: [{c}x2 table]\n"
                f"     InputNames: {format_value(self.InputNames)}\n"
                f"    OutputNames: {format_value(self.OutputNames)}\n")

    __repr__ = __str__

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output
