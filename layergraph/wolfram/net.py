"""NetChain, NetGraph and NetPort: Wolfram containers over a core graph.

A container holds its nodes (Wolfram layers or nested containers) and edges, and is a
value: every operation returns a new one. ``compile`` expands nested containers into
leaf layers and hands them to core inference as builder nodes of a core graph (one input
per graph input port; ``_Leaf`` keeps the leaf's Wolfram dims and messages), which checks
for cycles, sizes them in topological order (sizes from outputs included) and expands
each into its core specs; ``compile`` maps that analysis onto the net's view
(``Compiled``). Evaluation, initialization and training run through the core network
built from the expanded graph.

Python spellings of Wolfram's edges (NetGraph's second argument, a list):

  1 -> 2                      (1, 2)          or {1: 2}
  "a" -> "b" -> "c"           ["a", "b", "c"]  (a list of three or more names is a chain)
  {1, 2} -> 3                 ((1, 2), 3)
  1 -> {2, 3}                 (1, (2, 3))
  NetPort["Input"] -> 1       (NetPort("Input"), 1)
  1 -> NetPort["Out"]         (1, NetPort("Out"))
  NetPort[2, "Input"]         NetPort(2, "Input")  (a port of layer 2)

A dict may hold several single edges: ``{1: 2, 2: 3}``.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from .. import layers as L
from ..core.errors import LayerGraphError, brief
from ..core.exchange import CoreNet, analysis_of
from ..core.graph import Graph
from ..core.infer import analyze as analyze_graph, find_cycle, flatten, require_valid
from ..core.initializers import rng
from ..core.layer import Layer as CoreLayer
from ..core.network import Network
from ..core.network import run as run_sequences
from ..core.network import run_stateful
from ..core.registry import BY_CLASS, BY_WOLFRAM
from ..core.shared import set_shared_learnables, shared_learnables
from ..data.sources import Column, run, streamed
from ..train.normalization import missing_statistics, needs_statistics, statistics
from . import netarray
from . import symbols as S
from .args import checked_init, one_of, same
from .coders import ClassDecoder, ImageEncoder, NetDecoder, NetEncoder, _Coder, check_sides
from .display import net_renderable, net_text
from .layers import (Built, CoreLayerView, DropoutLayer, ElementwiseLayer, LinearLayer, NetLayer, ThreadingLayer,
                     from_core, register_lone_chain)
from .losses import LossLayer
from .embedding import index_sequences
from .recurrent import Sequences, final_states, initial_states, sequence_output, state_table
from .types import (VARYING_DIM, _wl, dims_to_size, internal_shape, is_varying, known, phrase, port_spec,
                    size_to_dims, wl_list)


class NetPort:
    """``NetPort("x")``: a port of the graph; ``NetPort(2, "Input")`` / ``NetPort("a", "Output")``:
    a named port of a layer."""

    def __init__(self, *spec):
        if len(spec) == 2 and spec[0] is S.All and spec[1] == "States":   # NetPort[All, "States"]
            self.node, self.port = S.All, "States"
        elif len(spec) == 1 and isinstance(spec[0], str):
            self.node, self.port = None, spec[0]
        elif len(spec) == 2 and isinstance(spec[0], (int, str, tuple)) and not isinstance(spec[0], bool) \
                and (isinstance(spec[1], str) or (isinstance(spec[1], int) and not isinstance(spec[1], bool)
                                                  and spec[1] >= 1)):
            self.node, self.port = spec   # an integer port is the i-th input of a multi-input layer
        else:
            raise LayerGraphError(f"NetPort{_wl(list(spec))} is not a valid port specification. Use NetPort(\"name\") "
                                  "or NetPort(layer, \"port\").", "General::invport")

    def __repr__(self):
        if self.node is None:
            return f'NetPort["{self.port}"]'
        if self.node is S.All:
            return 'NetPort[All, "States"]'
        node = f'"{self.node}"' if isinstance(self.node, str) else str(self.node)
        port = f'"{self.port}"' if isinstance(self.port, str) else str(self.port)
        return f'NetPort[{{{node}, {port}}}]'

    def __eq__(self, other):
        return isinstance(other, NetPort) and (self.node, self.port) == (other.node, other.port)

    def __hash__(self):
        return hash((self.node, self.port))


ALL_STATES = NetPort(S.All, "States")
STATE_CORE_PORTS = {"State": "hidden", "CellState": "cell"}   # a recurrent layer's state ports -> the core's


# -- layer-list entries ---------------------------------------------------------------------
def _as_node(item, graph: bool):
    if isinstance(item, (NetLayer, _Container)):
        return item
    if callable(item) and getattr(item, "layer_class", None) is not None:
        item = item()   # a MATLAB constructor without arguments (reluLayer), as a layer array takes it
    if isinstance(item, CoreLayer):   # a MATLAB layer: its Wolfram counterpart, or itself
        return from_core(item)
    if isinstance(item, S.Symbol):
        if item in S.UNARY_SYMBOLS:
            return ElementwiseLayer(item)
        if graph and item in S.BINARY_SYMBOLS:
            return ThreadingLayer(item)
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        return LinearLayer(int(item))
    if isinstance(item, list):
        return NetChain(item)
    if isinstance(item, LossLayer):
        raise LayerGraphError(f"{item!r}: loss layers inside a NetChain or NetGraph (a graph with a \"Loss\" port) "
                              "are not supported; give the loss to NetTrain as LossFunction -> layer, or compute it "
                              "with ordinary layers and name that output: LossFunction -> \"port\".",
                              "General::invnetarg")
    raise LayerGraphError(f"{_wl(item) if not hasattr(item, '__module__') else brief(item)} is not a layer, a net, a "
                          "function such as Ramp, an integer (LinearLayer[n]) or a list (NetChain).",
                          "General::invnetarg")


def _named_nodes(layers, head: str, graph: bool) -> OrderedDict:
    if isinstance(layers, dict):
        items = []
        for k, v in layers.items():
            if not isinstance(k, str) or not k:
                raise LayerGraphError(f"{head}: layer names must be nonempty strings; got {k!r}.", "General::invkey")
            items.append((k, _as_node(v, graph)))
    elif isinstance(layers, (list, tuple)):
        items = [(str(i + 1), _as_node(v, graph)) for i, v in enumerate(layers)]
    elif isinstance(layers, (NetLayer, _Container)):
        items = [("1", layers)]
    else:
        raise LayerGraphError(f"{head}: the first argument should be a list or a dict of layers.",
                              "General::invnetarg")
    if not items:
        raise LayerGraphError(f"{head} objects must contain at least one layer.", "General::netempty")
    return OrderedDict(items)


# -- the compiled view ------------------------------------------------------------------------
@dataclass
class LeafInfo:
    path: tuple[str, ...]
    layer: NetLayer
    in_dims: list | None = None      # dims per input (multiport: per incoming edge)
    out_dims: tuple | None = None
    built: Built | None = None
    core_names: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "/".join(self.path)

    @property
    def out_ref(self):
        return (self.core_names[-1], "out")

    def ref(self, port="Output"):
        """The core (layer, port) of its output ``port`` ("Output", or a recurrent layer's state
        port "State" / "CellState": the core layer's 'hidden' / 'cell' output)."""
        if port == "Output":
            return self.out_ref
        return (self.core_names[-1], STATE_CORE_PORTS[port])

    def port_dims(self, port="Output"):
        if port == "Output":
            return self.out_dims
        return (self.layer.params["OutputSize"],)


@dataclass
class Compiled:
    leaves: dict[tuple, LeafInfo]
    order: list[tuple]
    in_ports: dict[str, list]          # graph input -> [(leaf path, port, index)]
    out_ports: dict[str, tuple]        # graph output -> (leaf path, port)
    in_dims: dict[str, tuple | None]
    out_dims: dict[str, tuple | None]
    graph: Graph | None = None         # the core graph when every size is known
    error: LayerGraphError | None = None

    @property
    def sized(self) -> bool:
        return self.graph is not None


def _core_input(name: str, dims):
    size = dims_to_size(dims)
    if size.is_sequence:   # {"Varying", d}: sequences of length-d vectors
        return L.SequenceInputLayer(Name=name, InputSize=size.channels, Normalization="none")
    if size.is_image:
        h, w = size.spatial
        return L.ImageInputLayer(Name=name, InputSize=(h, w, size.channels), Normalization="none")
    return L.FeatureInputLayer(Name=name, InputSize=size.channels, Normalization="none")


def _where(info: LeafInfo, head_only=False) -> str:
    return f"{info.layer.head} (layer \"{info.name}\")"


def _acyclic(cycle: list[str]) -> None:
    """The core's cycle issue (``cycle``: its nodes, leaves named by path) in the net's words."""
    if cycle:
        raise LayerGraphError("The connectivity of layers within a NetGraph must be acyclic (cycle through "
                              + " -> ".join(f'"{m}"' for m in cycle) + ").", "NetGraph::acyclic")


class _PortInput:
    """An input port of known dims as a core builder node: its core input layer."""

    InputNames: list = []
    OutputNames = ["Output"]
    is_input, is_output = True, False

    def __init__(self, dims):
        self.dims = dims

    def build(self, in_sizes, in_forms) -> Built:
        return Built([_core_input("", self.dims)], 0, len(self.dims))


_NOT_A_VIEW = object()
STREAM_BATCH = 64   # images read and evaluated at a time when a net is evaluated on a list of files


def _fits(want, got) -> bool:
    """Dims ``got`` meet a port spec ``want`` (None: any size at that level)."""
    return len(want) == len(got) and all(w is None or w == g for w, g in zip(want, got))


class _Leaf:
    """A leaf of a net as a core builder node (core/graph.py's Builder): the layer's own
    ``build`` on Wolfram dims, which are the core sizes read with the ranks the forms carry
    (``types.size_to_dims``), and the net's messages for what does not fit. An input layer
    the net holds (``view_dims``: its port's dims) is its port's core input."""

    OutputNames = ["Output"]
    is_output = False

    def __init__(self, path, layer, n_inputs, view_dims=_NOT_A_VIEW, bad_view=False, from_view=None,
                 state_in=(), state_out=()):
        self.path, self.layer, self.name = path, layer, "/".join(path)
        self.view_dims = view_dims
        self.is_input = view_dims is not _NOT_A_VIEW
        self.bad_view = bad_view      # an input layer fed by another layer: an error once it is reached
        self.from_view = from_view    # fed by a port that has an input layer: an error once the net is sized
        # a recurrent layer's connected state ports ("State", "CellState"), in its order
        order = tuple(getattr(layer, "state_ports", lambda: ())())
        self.state_in = tuple(p for p in order if p in state_in)
        self.state_out = order if state_out else ()   # all of them: the core layer's outputs by position
        self.InputNames = [] if self.is_input else (
            [f"Input{i + 1}" for i in range(n_inputs)] if layer.multiport else ["Input", *self.state_in])
        self.OutputNames = ["Output", *self.state_out]

    @property
    def keeps_shape(self) -> bool:
        """The registry says so for every core layer this layer's head builds."""
        rows = [BY_CLASS.get(type(self.layer.spec))] if isinstance(self.layer, CoreLayerView) else \
            BY_WOLFRAM.get(self.layer.head, [])
        return bool(rows) and all(row is not None and row.keeps_shape for row in rows)

    def with_output_size(self, size, form):
        """A LinearLayer without its size takes it from the output port it feeds, as in
        NetChain[{LinearLayer[], SoftmaxLayer[]}, "Output" -> NetDecoder[{"Class", ...}]]."""
        if isinstance(self.layer, LinearLayer) and self.layer._n is None:
            new = copy.copy(self)
            new.layer = self.layer.with_output(size_to_dims(size, form))
            return new
        return None

    def _dims(self, in_sizes, in_forms) -> list:
        if self.is_input:
            return [self.view_dims]
        return [size_to_dims(s, f) for s, f in zip(in_sizes, in_forms)]

    def in_dims(self, record) -> list:
        """The Wolfram dims of its inputs (per input; a list of inputs: per incoming edge)."""
        return self._dims(record.in_sizes, record.in_forms)

    def build(self, in_sizes, in_forms):
        if self.is_input and self.view_dims is None:
            return None
        in_list = self._dims(in_sizes, in_forms)
        layer = self.layer
        if layer.input_spec is not None and not layer.multiport:
            want, got = layer.input_spec, in_list[0]
            if not _fits(want, got):
                raise LayerGraphError(
                    f"Incompatible dimensions for the input to {_where(self)}: {phrase(got)} is not "
                    f"compatible with {phrase(want)} (its \"Input\" -> {wl_list(want)}).", "General::ninctyp")
        if any(is_varying(d) for d in in_list) and not getattr(layer, "takes_sequences", False) \
                and not isinstance(layer, (ElementwiseLayer, DropoutLayer, CoreLayerView)):
            got = next(d for d in in_list if is_varying(d))
            raise LayerGraphError(f"Validation failed for {_where(self)}: the port \"Input\" received {phrase(got)}; "
                                  f"{layer.head} does not take sequences. Take an element first (SequenceLastLayer) "
                                  "or use a recurrent layer.", "General::valfail")
        if self.state_in or self.state_out:
            n = layer.params["OutputSize"]
            for port, got in zip(self.state_in, in_list[1:]):
                if tuple(got) != (n,):
                    raise LayerGraphError(f"Incompatible dimensions for the state port \"{port}\" of {_where(self)}: "
                                          f"{phrase(got)} is not compatible with {phrase((n,))}.", "General::ninctyp")
            built = layer.build(self.name, in_list[:1], state_in=self.state_in, state_out=bool(self.state_out))
            built.port_forms = {p: 1 for p in self.state_out}   # the states are vectors
        else:
            built = layer.build(self.name, in_list)
        if self.bad_view:
            raise LayerGraphError(f"{_where(self)} is an input layer: it takes a net's input port, not the output of "
                                  "another layer.", "General::invnetarg")
        return built

    def on_size_error(self, err, record):
        in_list = self.in_dims(record)
        raise LayerGraphError(f"Validation failed for {_where(self)}, port \"Input\" ({phrase(in_list[0])}): "
                              f"{err.message}", "General::valfail") from None

    def on_sized(self, record):
        want = self.layer.output_spec
        if want is None:
            return
        got = size_to_dims(record.out_sizes[0], record.form)
        if not _fits(want, got):
            raise LayerGraphError(
                f"Incompatible dimensions for the output of {_where(self)}: {phrase(got)} is not "
                f"compatible with {phrase(want)} (its \"Output\" -> {wl_list(want)}).", "General::ninctyp")


class _Container:
    head = "Net"

    def __init__(self):
        self._nodes: OrderedDict = OrderedDict()
        self._edges: list = []            # (src, dst); src ("$port", name) | (node, port); dst ... + index
        self._port_specs: dict[str, tuple] = {}
        self._coders: dict = {}            # input port -> NetEncoder, output port -> NetDecoder
        self._lrm = None
        self._cache: dict = {}

    # -- structure --------------------------------------------------------------------------------
    def _copy(self):
        new = object.__new__(type(self))
        new._nodes = OrderedDict(self._nodes)
        new._edges = list(self._edges)
        new._port_specs = dict(self._port_specs)
        new._coders = dict(self._coders)
        new._lrm = self._lrm
        new._cache = {}
        return new

    @property
    def _decoders(self) -> dict:
        return {p: c for p, c in self._coders.items() if isinstance(c, NetDecoder)}

    @property
    def _encoders(self) -> dict:
        return {p: c for p, c in self._coders.items() if isinstance(c, NetEncoder)}

    def _node_inputs(self, name):
        node = self._nodes[name]
        return node.input_ports() if isinstance(node, NetLayer) else list(node._input_names())

    def _node_outputs(self, name):
        node = self._nodes[name]
        return node.output_ports() if isinstance(node, NetLayer) else list(node._output_names())

    def _input_names(self) -> list[str]:
        return list(self._interface()[0])

    def _output_names(self) -> list[str]:
        return list(self._interface()[1])

    def input_ports(self):
        return self._input_names()

    def output_ports(self):
        return self._output_names()

    def _interface(self):
        """(graph inputs {name: [(node, port, index)]}, graph outputs {name: (node, port)})."""
        if "interface" in self._cache:
            return self._cache["interface"]
        ins: OrderedDict = OrderedDict()
        outs: OrderedDict = OrderedDict()
        fed = set()
        used = set()
        for src, dst in self._edges:
            if src[0] == "$port":
                ins.setdefault(src[1], []).append(dst)
            else:
                used.add(src)
            if dst[0] == "$port":
                if dst[1].startswith("$muted"):
                    used.add(src)  # NetPort[layer, "port"] -> None
                else:
                    outs[dst[1]] = src
            else:
                fed.add((dst[0], dst[1]))
        dangling_in = [(n, p) for n in self._nodes for p in self._node_inputs(n) if (n, p) not in fed]
        for n, p in dangling_in:
            node = self._nodes[n]
            if isinstance(node, NetLayer) and node.multiport:
                raise LayerGraphError(f"The input port \"{p}\" of {node.head} (layer \"{n}\") has an indeterminate "
                                      "number of input ports. Connect its inputs, e.g. ((1, 2), 3) for "
                                      "{1, 2} -> 3.", "General::indmultiport")
        counts = {}
        for n, p in dangling_in:
            counts[p] = counts.get(p, 0) + 1
        seen = {}
        for n, p in dangling_in:
            name = p
            if counts[p] > 1 and p not in ins:
                seen[p] = seen.get(p, 0) + 1
                name = f"{p}{seen[p]}"
            ins.setdefault(name, []).append((n, p, None))
        dangling_out = [(n, p) for n in self._nodes for p in self._node_outputs(n) if (n, p) not in used]
        counts = {}
        for n, p in dangling_out:
            counts[p] = counts.get(p, 0) + 1
        seen = {}
        for n, p in dangling_out:
            if (n, p) in outs.values():
                continue
            name = p
            if counts[p] > 1 or p in outs:
                seen[p] = seen.get(p, 0) + 1
                name = f"{p}{seen[p]}"
            outs[name] = (n, p)
        self._cache["interface"] = (ins, outs)
        return ins, outs

    # -- nested containers: a core graph with nested graphs, flattened by the core -------------------
    def _core_nesting(self, prefix=(), lrm=None, keep=()) -> Graph:
        """This net as a core graph: its layers as leaf builder nodes (``_Leaf``, with the
        LearningRateMultipliers that match them: the net's own, else those it inherits),
        nested nets as nested graphs, its ports (``_interface``) as the graph's ports."""
        rules = self._lrm if self._lrm is not None else lrm
        fed: dict[str, int] = {}
        st_in: dict[str, set] = {}
        st_out: dict[str, set] = {}
        for src, dst in self._edges:
            if dst[0] != "$port":
                if dst[1] in STATE_CORE_PORTS:
                    st_in.setdefault(dst[0], set()).add(dst[1])
                else:
                    fed[dst[0]] = fed.get(dst[0], 0) + 1
            if src[0] != "$port" and src[1] in STATE_CORE_PORTS:
                st_out.setdefault(src[0], set()).add(src[1])
        g = Graph()
        for position, (name, node) in enumerate(self._nodes.items(), 1):
            factor = _match_lrm(rules, name, position)
            if isinstance(node, NetLayer):
                g._add_node(name, _Leaf(prefix + (name,), node if factor is _NOMATCH else node.copy(lrm=factor),
                                        fed.get(name, 0), state_in=st_in.get(name, ()),
                                        state_out=st_out.get(name, ())))
            elif isinstance(node, keep):   # a net kept whole (NetFlatten keeps operators): a leaf of the view
                g._add_node(name, _Leaf(prefix + (name,), node, fed.get(name, 0)))
            else:
                g._add_node(name, node._core_nesting(prefix + (name,), None if factor is _NOMATCH else factor, keep))

        def into(dst):   # a leaf's numbered input (a list of inputs) is its port "Input<k>"
            return dst[1] if dst[2] is None else f"{dst[1]}{dst[2] + 1}"

        for src, dst in self._edges:
            if src[0] != "$port" and dst[0] != "$port":
                g._connect(src[0], src[1], dst[0], into(dst))
        ins, outs = self._interface()
        g._set_ports({p: [(t[0], into(t)) for t in targets] for p, targets in ins.items()}, outs)
        return g

    def _expand(self, prefix=(), lrm=None, keep=()):
        """(leaves {path: layer}, edges [(src leaf ref, dst leaf ref)], inputs {port: [dst refs]},
        outputs {port: src ref}); leaf refs are (path, port) and (path, port, index). Nets of the
        classes ``keep`` stay whole, as leaves."""
        flat = flatten(self._core_nesting(prefix, lrm, keep))
        leaf = {n: flat.layer(n) for n in flat.graph.nodes}

        def dst(n, port):
            if port in STATE_CORE_PORTS:   # a recurrent layer's state input
                return (leaf[n].path, port, None)
            return (leaf[n].path, "Input", None if port == "Input" else int(port[len("Input"):]) - 1)

        leaves = OrderedDict((node.path, node.layer) for node in leaf.values())
        edges = [((leaf[a].path, pa), dst(b, port)) for a, pa, b, port in flat.connections()]
        inputs = {p: [dst(n, port) for n, port in targets] for p, targets in flat.input_ports().items()}
        outputs = {p: (leaf[n].path, pn) for p, (n, pn) in flat.output_ports().items()}
        return leaves, edges, inputs, outputs

    # -- sizing: the core's inference over the leaves as builder nodes ------------------------------
    def compile(self, in_dims: dict | None = None) -> Compiled:
        """Size every leaf that can be sized (core inference over the net's core view); build
        the core graph if all can."""
        key = tuple(sorted((in_dims or {}).items()))
        if key in self._cache:
            return self._cache[key]
        leaves, edges, inputs, outputs = self._expand()
        leaves = netarray.unify(leaves)   # the arrays of one NetArray name get one value
        # dims of graph inputs: given, a port spec, or the input spec of the layer they feed
        port_dims = {}
        for port, targets in inputs.items():
            dims = (in_dims or {}).get(port)
            if dims is None:
                dims = self._port_specs.get(port)
            if dims is None:
                for path, p, _ in targets:
                    if p in STATE_CORE_PORTS:   # a state: a vector of the layer's size
                        dims = (leaves[path].params["OutputSize"],)
                        break
                    if leaves[path].input_spec is not None:
                        dims = leaves[path].input_spec
                        break
            port_dims[port] = dims if known(dims) else None
        view, lg = self._core_view(leaves, edges, inputs, outputs, port_dims)
        analysis = analyze_graph(lg)
        _acyclic(analysis.cycle)
        infos = {}
        for path in leaves:
            record = analysis.expanded[view[path]]
            info = infos[path] = LeafInfo(path, record.builder.layer)
            if record.built:
                info.in_dims = record.builder.in_dims(record)
                info.built = record.expansion
                info.built.specs = list(record.specs)
                info.core_names = list(record.names)
                info.out_dims = size_to_dims(record.out_sizes[0], record.form)
        node_path = {node: path for path, node in view.items()}
        order = [node_path[n] for n in analysis.node_order if n in node_path]
        out_dims = {p: infos[src[0]].port_dims(src[1]) if infos[src[0]].built is not None or src[1] == "Output"
                    else None for p, src in outputs.items()}
        for p, want in self._port_specs.items():
            if p in out_dims and out_dims[p] is not None and known(want) and out_dims[p] != want:
                raise LayerGraphError(f"Incompatible dimensions for the output port \"{p}\": {phrase(out_dims[p])} "
                                      f"is not compatible with {phrase(want)}.", "General::ninctyp")
        for p, decoder in self._decoders.items():
            if out_dims.get(p) is not None:
                decoder.check_port(out_dims[p], p)
        compiled = Compiled(infos, order, inputs, outputs, port_dims, out_dims)
        netarray.check_dims(compiled)
        if all(infos[p].built is not None for p in order) and all(d is not None for d in port_dims.values()):
            for path in order:   # a port with an input layer feeds only that layer
                node = analysis.expanded[view[path]].builder
                if node.from_view is not None:
                    raise LayerGraphError(f"The input port \"{node.from_view}\" feeds an input layer "
                                          f"({infos[path].built.specs[0].class_name}) and "
                                          f"{_where(infos[path])}; a port with an input layer feeds only that layer.",
                                          "General::invnetarg")
            compiled.graph = analysis.graph
            compiled.graph._clear_ports()   # the net's ports are Compiled's; the core graph is a plain one
            set_shared_learnables(compiled.graph, netarray.core_table(compiled))   # NetArray names: one array each
        self._cache[key] = compiled
        return compiled

    def _core_view(self, leaves, edges, inputs, outputs, port_dims):
        """({leaf path: core node}, the core graph of builder nodes: one per input port with
        known dims ("$in:port"), one per leaf (named by its path; an input layer the net
        holds is its port's "$in:port"), edges as the net's; the output ports with the dims
        their specs fix, for sizes from outputs)."""
        incoming: dict[tuple, list] = {p: [] for p in leaves}
        states_in: dict[tuple, dict] = {p: {} for p in leaves}    # state port -> source
        states_out: dict[tuple, set] = {p: set() for p in leaves}
        for port, targets in inputs.items():
            for path, p, idx in targets:
                if p in STATE_CORE_PORTS:
                    states_in[path][p] = ("$port", port)
                else:
                    incoming[path].append((idx, ("$port", port)))
        for src, dst in edges:
            if dst[1] in STATE_CORE_PORTS:
                states_in[dst[0]][dst[1]] = src
            else:
                incoming[dst[0]].append((dst[2], src))
            if src[1] in STATE_CORE_PORTS:
                states_out[src[0]].add(src[1])
        for src in outputs.values():
            if src[1] in STATE_CORE_PORTS:
                states_out[src[0]].add(src[1])
        for path in incoming:
            incoming[path].sort(key=lambda t: (t[0] is not None, t[0] or 0))
        view, views = {}, {}
        for path, layer in leaves.items():
            feeds = incoming[path]
            src = feeds[0][1] if len(feeds) == 1 else None
            if getattr(layer, "is_input", False) and src is not None and src[0] == "$port" \
                    and src[1] not in views:
                views[src[1]] = path   # the input layer the net holds is the port's core input
                view[path] = f"$in:{src[1]}"
            else:
                view[path] = "/".join(path)
        lg = Graph()
        for port, dims in port_dims.items():
            if dims is not None and port not in views:
                lg._add_node(f"$in:{port}", _PortInput(dims))
        for path, layer in leaves.items():
            feeds = incoming[path]
            if view[path].startswith("$in:"):
                lg._add_node(view[path], _Leaf(path, layer, 0, port_dims[feeds[0][1][1]]))
                continue
            port_fed = next((src[1] for _, src in feeds if src[0] == "$port" and src[1] in views), None)
            leaf = _Leaf(path, layer, len(feeds), bad_view=getattr(layer, "is_input", False), from_view=port_fed,
                         state_in=tuple(states_in[path]), state_out=tuple(states_out[path]))
            lg._add_node(view[path], leaf)
            srcs = [src for _, src in feeds] + [states_in[path][p] for p in leaf.state_in]
            for src, inp in zip(srcs, leaf.InputNames):
                if src[0] != "$port":
                    lg._connect(view[src[0]], src[1], view[path], inp)
                elif src[1] in views or port_dims[src[1]] is not None:   # else the input stays unsized
                    lg._connect(f"$in:{src[1]}", "Output", view[path], inp)
        lg._set_ports(outputs={p: (view[src[0]], src[1]) for p, src in outputs.items()})
        for port in outputs:
            dims = self._port_specs.get(port)
            if known(dims):
                lg._require_size(port, dims_to_size(dims), len(dims))
        return view, lg

    def _core_network(self, in_dims=None, action="evaluate"):
        """(compiled, core Network with the arrays set; uninitialized arrays are an error)."""
        c = self.compile(in_dims)
        self._require_sized(c, action)
        missing = [(info, n) for info in (c.leaves[p] for p in c.order) for n in info.layer.active_arrays
                   if info.layer.arrays.get(n) is None]
        if missing:
            info, n = missing[0]
            raise LayerGraphError(f"Cannot {action} net: unspecified value for the array \"{n}\" of "
                                  f"{_where(info)}. Use NetInitialize first.", "General::nninit")
        self._require_statistics(c, action)
        key = ("network", tuple(sorted((in_dims or {}).items())))
        if key not in self._cache:
            self._cache[key] = Network.build(c.graph, initialize=False)
        return c, self._cache[key]

    def _require_sized(self, c: Compiled, action: str):
        if c.sized:
            return
        for port, dims in c.in_dims.items():
            if dims is None:
                raise LayerGraphError(f"Cannot {action} net: the input port \"{port}\" is not fully specified. Give "
                                      f"Input=... (e.g. Input=(3, 32, 32)).", "General::nfspec")
        for p in c.order:
            if c.leaves[p].built is None:
                raise LayerGraphError(f"Cannot {action} net: {_where(c.leaves[p])} is not fully specified.",
                                      "General::nfspec")

    def _require_statistics(self, c: Compiled, action: str):
        """An input layer the net holds (a MATLAB input layer with a normalization) needs its
        statistics to compute; said here in the net's words, not by the core's name of its
        port ("$in:Input")."""
        for p in c.order:
            layer = c.leaves[p].layer
            missing = missing_statistics(layer.spec) if isinstance(layer, CoreLayerView) and layer.is_input else []
            if missing:
                one = len(missing) == 1
                it = "it" if one else "them"
                raise LayerGraphError(
                    f"Cannot {action} net: {_where(c.leaves[p])} normalizes its input (\"Normalization\" -> "
                    f"\"{layer.spec.Normalization}\") but its " + " and ".join(f'"{m}"' for m in missing)
                    + f" {'is' if one else 'are'} not set. Set {it} (a trained MATLAB network has {it}), or train "
                    f"the net with NetTrain, which computes {it} from the training data.", "General::nninit")

    def _output_dims(self, port: str):
        """The dimensions of the output ``port`` (None while they are not known)."""
        return self.compile().out_dims.get(port)

    def _for_training(self, xs: dict, initialize, rules=None, dtype=np.float32) -> "_TrainingView":
        """This net as NetTrain trains it on the inputs ``xs`` ({port: array, batch first});
        ``initialize`` (NetInitialize with NetTrain's seed) fills the missing arrays, ``rules``
        (parsed LearningRateMultipliers, None for the net's own) set the factors."""
        return _TrainingView(self, xs, initialize, rules, dtype)

    # -- evaluation ---------------------------------------------------------------------------------
    def __call__(self, data, prop=S.Automatic, *, NetEvaluationMode="Test", WorkingPrecision="Real32",
                 RandomSeeding=S.Automatic, BatchSize=S.Automatic, TargetDevice="CPU"):
        """``net(x)`` for one example, ``net([x1, x2])`` or an array with the batch first for
        a batch, ``net({"port": data, ...})`` for several inputs. One output gives an array,
        several a dict by port name. An output with a Class decoder gives labels; ``prop``
        picks another decoder property ("Probabilities", ("TopProbabilities", n), ...) or None
        for the raw output. ``prop`` ``NetPort(All, "States")`` gives the recurrent layers'
        final states ({(2, "State"): ..., ...}, wolfram/states.py), a list of NetPorts a dict
        by NetPort; ``data`` may hold ``NetPort(All, "States"): {key: state}``, the initial states."""
        states_in = None
        if isinstance(data, dict) and any(isinstance(k, NetPort) and k == ALL_STATES for k in data):
            states_in = data[ALL_STATES]
            data = {k: v for k, v in data.items() if not (isinstance(k, NetPort) and k == ALL_STATES)}
            if states_in is None:
                states_in = {}
        out, finals, _ = self._evaluate(data, prop, states_in, False, NetEvaluationMode=NetEvaluationMode,
                                        WorkingPrecision=WorkingPrecision, RandomSeeding=RandomSeeding,
                                        BatchSize=BatchSize, TargetDevice=TargetDevice)
        return out

    def _evaluate(self, data, prop, states_in, one_only, *, NetEvaluationMode="Test", WorkingPrecision="Real32",
                  RandomSeeding=S.Automatic, BatchSize=S.Automatic, TargetDevice="CPU"):
        """(the result ``__call__`` gives, the final states {key: state} or None, one example?);
        ``states_in`` ({key: state} or None) the initial states; ``one_only``: a batch is an
        error (NetStateObject), raised before anything runs."""
        props = prop if isinstance(prop, list) else None
        if props is not None:
            bad = next((p for p in props if not isinstance(p, NetPort)), None)
            if bad is not None or not props:
                raise LayerGraphError(f"{_wl(bad) if props else '{}'} is not a NetPort; a list of properties should "
                                      "be a list of NetPort specifications.", "General::invport")
        all_states = isinstance(prop, NetPort) and prop == ALL_STATES
        want_states = all_states or (props is not None and ALL_STATES in props) or one_only
        inner = isinstance(prop, NetPort) and prop.node is not None and not all_states
        if prop is not S.Automatic and not inner and not all_states and props is None and not self._decoders:
            raise LayerGraphError("The net has no output decoder, so it has no properties to give; call net(x).",
                                  "General::nodecoder")
        if not one_of(NetEvaluationMode, "Test", "Train"):
            raise LayerGraphError('NetEvaluationMode should be set to either "Test" or "Train".',
                                  "General::netevalmode")
        dtype = np.float32 if same(WorkingPrecision, "Real32") else (
            np.float64 if same(WorkingPrecision, "Real64") else None)
        if dtype is None:
            raise LayerGraphError(f"The value of WorkingPrecision -> {_wl(WorkingPrecision)} should be \"Real32\" or "
                                  "\"Real64\".", "General::invwp")
        device = _target_device(TargetDevice)
        batches, single = self._parse_data(data)
        if one_only and not single:
            raise LayerGraphError("NetStateObject evaluates one example at a time (its states are those of one "
                                  "sequence); give one example.", "NetStateObject::batch")
        n_examples = {b.shape[0] for b in batches.values()}
        if len(n_examples) != 1:
            raise LayerGraphError("The inputs should have the same number of examples.", "General::netbatchlen")
        c, net = self._core_network({p: b.shape[1:] for p, b in batches.items()}, "evaluate")
        n = next(iter(n_examples))
        table = None
        if want_states or states_in is not None:
            table = state_table(c)
            start = initial_states(table, states_in, n, dtype)   # checked before anything runs
        ex = net.executor(device, dtype)
        gen = _generator(RandomSeeding)
        feeds = {f"$in:{p}": b.internal(dtype) if isinstance(b, Sequences) else
                 b.converted(internal_shape(b.shape[1:]), dtype) if isinstance(b, Column) else
                 np.ascontiguousarray(b.reshape((b.shape[0],) + internal_shape(b.shape[1:])), dtype=dtype)
                 for p, b in batches.items()}
        # targets: {result key: (core ref, dims, decoder)}
        graph_out = {p: (c.leaves[src[0]].ref(src[1]), c.out_dims[p], self._decoders.get(p))
                     for p, src in c.out_ports.items()}
        if inner:   # net(x, NetPort(layer, "Output")): the value at a layer's output
            path = self._leaf_path(prop)
            targets = {"$inner": (c.leaves[path].out_ref, c.leaves[path].out_dims, None)}
        elif props is not None:
            targets = {}
            for p in props:
                if p == ALL_STATES:
                    continue
                if p.node is None:
                    if p.port not in graph_out:
                        raise LayerGraphError(f"{p}: the net has no output port \"{p.port}\". Outputs: "
                                              + ", ".join(graph_out) + ".", "General::invport")
                    targets[p] = graph_out[p.port]
                else:
                    path = self._leaf_path(p)
                    targets[p] = (c.leaves[path].out_ref, c.leaves[path].out_dims, None)
        else:
            targets = graph_out
        refs = {ref for ref, _, _ in (targets or graph_out).values()} or {ref for ref, _, _ in graph_out.values()}
        if BatchSize is not S.Automatic:
            bs = _positive(BatchSize, "BatchSize")
        else:   # files are read STREAM_BATCH at a time, ahead of the kernels; arrays in one batch
            bs = min(n, STREAM_BATCH) if streamed(feeds) else n
        finals = None
        if table is not None:   # the core's stateful run: every recurrent op starts from its state
            acts, finals = run_stateful(ex, feeds, refs, max(bs, 1), start,
                                        training=same(NetEvaluationMode, "Train"), rng=gen)
            finals = final_states(table, finals, single)
        else:
            # sequences (lists of C x T arrays) go to the core's run, which pads each mini-batch
            runner = run_sequences if any(isinstance(f, list) for f in feeds.values()) else run
            acts = runner(ex, feeds, refs, max(bs, 1), training=same(NetEvaluationMode, "Train"), rng=gen)
        out = {}
        for key, (ref, dims, decoder) in targets.items():
            if isinstance(acts[ref], list):   # a sequence per example: T x C matrices of their own lengths
                out[key] = sequence_output(acts[ref], single)
                continue
            y = acts[ref].reshape((n,) + tuple(dims))
            if decoder is not None and prop is not None and props is None:
                out[key] = decoder.decode(y, prop, single)
            elif decoder is not None and props is not None:
                out[key] = decoder.decode(y, S.Automatic, single)
            else:
                out[key] = y[0] if single else y
        if all_states:
            return finals, finals, single
        if props is not None:
            return {p: (finals if p == ALL_STATES else out[p]) for p in props}, finals, single
        return (next(iter(out.values())) if len(out) == 1 else out), finals, single

    def _leaf_path(self, port: NetPort) -> tuple:
        """The leaf whose output NetPort(layer, "Output") names; a nested net's layer is
        named by a path tuple, NetPort(("outer", "inner"), "Output")."""
        names = port.node if isinstance(port.node, tuple) else (port.node,)
        net, path = self, ()
        for name in names:
            if not isinstance(net, _Container):
                raise LayerGraphError(f"{port} does not name a layer of the net.", "General::invport")
            key = net._resolve_node(name)
            path += (key,)
            net = net._nodes[key]
        if isinstance(net, _Container):
            out = net._output_names()
            if port.port not in out:
                raise LayerGraphError(f"{port}: the net \"{key}\" has no output port \"{port.port}\".",
                                      "General::invport")
            return net._expand(path)[3][port.port][0]
        if port.port not in net.output_ports():
            raise LayerGraphError(f"{port}: layer \"{key}\" has no output port \"{port.port}\".", "General::invport")
        return path

    def _parse_data(self, data):
        """{port: batch array (N first)}, single-example flag."""
        ins = self._input_names()
        if isinstance(data, dict):
            unknown = [k for k in data if k not in ins]
            if unknown:
                raise LayerGraphError(f"Unknown input {unknown[0]!r} provided. Inputs: {', '.join(ins)}.",
                                      "General::inpunk")
            missing = [k for k in ins if k not in data]
            if missing:
                raise LayerGraphError(f"Required input slot {missing[0]!r} was not provided.", "General::inpmiss")
            items = data
        else:
            if len(ins) != 1:
                raise LayerGraphError(f"The net has {len(ins)} inputs ({', '.join(ins)}); give a dict "
                                      "{port: data}.", "General::inpmiss")
            items = {ins[0]: data}
        out, single = {}, None
        c = self.compile()
        encoders = self._encoders
        for port, value in items.items():
            files = encoders[port].file_column(value, port) if isinstance(encoders.get(port), ImageEncoder) else None
            if files is not None:   # a list of image files: read a batch at a time when evaluated
                arr, one = files, False
            elif port in encoders:
                arr, one = encoders[port].encode(value, port)
            else:
                dims = self._data_dims(port, c)
                arr, one = index_sequences(port, value, dims) if is_varying(dims) else \
                    _numeric_input(port, value, dims)
            if single is not None and single != one:
                raise LayerGraphError("Give either one example or a batch for every input.", "General::netinvinput")
            single = one
            out[port] = arr
        return out, bool(single)

    def _data_dims(self, port: str, c: Compiled | None = None):
        """The dims the data of input ``port`` has: the sized port's, else its spec, else
        ``("Varying", None)`` when it feeds a layer that takes only sequences (an LSTM): its
        data are then sequences whose vectors' size the data gives."""
        c = c if c is not None else self.compile()
        dims = c.in_dims.get(port)
        dims = dims if dims is not None else self._port_specs.get(port)
        if dims is None:
            leaves, _, inputs, _ = self._expand()
            for path, _, _ in inputs.get(port, []):
                layer = leaves[path]
                if is_varying(layer.input_spec):
                    return layer.input_spec
                if getattr(layer, "requires_sequences", False):
                    return (VARYING_DIM, None)
        return dims

    # -- Wolfram-style access --------------------------------------------------------------------------
    def __len__(self):
        return len(self._nodes)

    def __getitem__(self, spec):
        return _EXTRACT(self, spec)

    def _resolve_node(self, spec) -> str:
        names = list(self._nodes)
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            i = int(spec)
            if 1 <= i <= len(names):
                return names[i - 1]
            if -len(names) <= i <= -1:
                return names[i]
            raise LayerGraphError(f"The layer {i} does not exist in the net ({len(names)} layers).",
                                  "NetExtract::nopart")
        if isinstance(spec, str) and spec in self._nodes:
            return spec
        raise LayerGraphError(f"The layer {_wl(spec)} does not exist in the net. Layers: "
                              + ", ".join(f'"{n}"' for n in names) + ".", "NetExtract::nopart")

    @property
    def initialized(self) -> bool:
        return all(_leaf.initialized for _leaf in self._expand()[0].values())

    def to_core_net(self) -> CoreNet:
        """This net as another dialect takes it (core/exchange.py; see the module function
        ``to_core_net``): layerGraph(net), dlnetwork(net) and assembleNetwork(net) use it."""
        return to_core_net(self)

    # -- display ---------------------------------------------------------------------------------------
    def __repr__(self):
        return net_text(self)

    def __rich__(self):
        return net_renderable(self)

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output


# NetExtract is in ops.py, above this module (it works on nets and layers); ops.py registers
# it here when it is imported, which the package does before any net can be used, so that
# net[spec] is NetExtract[net, spec].
_EXTRACT = None


def register_extract(extract) -> None:
    """ops.py: ``extract(net, spec)`` is what ``net[spec]`` gives."""
    global _EXTRACT
    _EXTRACT = extract


_NOMATCH = object()


def _match_lrm(rules, name, position):
    """The first rule matching a node: rules are a number (all), or a dict whose keys are
    names, 1-based positions or "_" (anything)."""
    if rules is None:
        return _NOMATCH
    if not isinstance(rules, dict):
        return rules
    for key, value in rules.items():
        if key == name or key == position or key == "_":
            return 0.0 if value is None else value
    return _NOMATCH


def _lrm_option(value):
    if value is S.Automatic:
        return None
    if value is None:
        return 0.0
    if isinstance(value, dict):
        return {k: (0.0 if v is None else float(v)) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise LayerGraphError(f"The value of LearningRateMultipliers -> {_wl(value)} should be Automatic, None, a "
                          "nonnegative number or a dict {layer: multiplier}.", "General::invlrm")


def _generator(seed):
    if seed is S.Automatic or seed is None:
        return rng()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed) % (2 ** 63))  # a negative seed is a seed too
    if isinstance(seed, str):
        return np.random.default_rng(abs(hash(seed)) % (2 ** 32))
    raise LayerGraphError(f"The value of RandomSeeding -> {_wl(seed)} should be Automatic, an integer or a string.",
                          "General::seeding")


def _positive(value, option):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise LayerGraphError(f"The value of {option} -> {_wl(value)} should be a positive machine-sized integer.",
                          "General::optpi")


def _port_options(head, ports: dict, inputs, allowed=None):
    """({port: dims}, {port: NetEncoder or NetDecoder}); a coder gives its port's dims, and the
    name of a coder kind ("Image", "Boolean") makes that coder (an encoder on an input)."""
    out, coders = {}, {}
    for k, v in ports.items():
        if allowed is not None and k not in allowed:
            raise LayerGraphError(f"{k!r} is neither a valid input or output port for the given {head}.",
                                  f"{head}::netinvcport")
        if isinstance(v, str) and v in NetEncoder._kinds:
            v = (NetEncoder if k in inputs else NetDecoder)(v)
        if isinstance(v, _Coder):
            coders[k] = v
            v = v.dims
        out[k] = port_spec(v, f"{head} port \"{k}\"")
    return out, coders


def numeric_array(value, what: str, shapes: str, tag: str) -> np.ndarray:
    """``value`` (an array or nested lists) as a float64 array of finite numbers: the one check
    of the data given to a port without an encoder, for evaluation and NetTrain alike. The
    messages are the caller's: ``what`` names the data (``Data for port "x"``), ``shapes`` says
    what it should be when it is no array at all, ``tag`` is the message tag."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise LayerGraphError(f"{what} should be {shapes}.", tag) from None
    if arr.dtype.kind not in "biuf" or not np.all(np.isfinite(arr)):
        raise LayerGraphError(f"{what} should be numeric and finite.", tag)
    return arr


def _numeric_input(port, value, dims):
    """(array with the batch first, whether ``value`` was one example) for a port without an encoder."""
    is_list = isinstance(value, (list, tuple))
    arr = numeric_array(value, f"Data for port \"{port}\"",
                        "a numeric array or a list of numeric arrays of equal dimensions", "General::netinvinput")
    if dims is not None:
        rank = len(dims)
        one = arr.ndim == rank
        shape = arr.shape if one else arr.shape[1:]
        if arr.ndim not in (rank, rank + 1) or any(d is not None and d != s for d, s in zip(dims, shape)):
            raise LayerGraphError(f"Data for port \"{port}\" should be {phrase(dims)} or a batch of them; "
                                  f"received an array of dimensions {wl_list(arr.shape)}.", "General::netinvinput")
    else:
        # unknown rank: a list is a batch of examples, an array one example
        one = not (is_list and arr.ndim >= 2)
    if one:
        arr = arr[None]
    if not 0 <= arr.ndim - 1 <= 3:
        raise LayerGraphError(f"Data for port \"{port}\" should be a real, vector, matrix or rank-3 array per "
                              f"example; received {wl_list(arr.shape)}.", "General::netinvinput")
    return arr, one


class NetChain(_Container):
    """``NetChain([l1, l2, ...])`` or ``NetChain({"a": l1, ...})``: the output of each layer
    feeds the next. Entries may be layers, nets, Ramp/Tanh/... (ElementwiseLayer), an integer
    n (LinearLayer[n]), a list (a nested NetChain) or a MATLAB layer (its Wolfram
    counterpart). ``NetChain(series_net)`` / ``NetChain(layer_array)`` / ``NetChain(dlnet)``:
    a MATLAB network whose layers run in series, with its arrays. Options: Input, Output,
    LearningRateMultipliers."""

    head = "NetChain"

    def __init__(self, layers, Input=None, Output=None, LearningRateMultipliers=S.Automatic, **ports):
        super().__init__()
        analysis = analysis_of(layers)
        if analysis is not None:   # NetChain(series_net): the same layers and arrays, Wolfram's view
            layers, given_in, given_out = _chain_from_core(analysis)
            Input = given_in if Input is None else Input
            Output = given_out if Output is None else Output
        self._nodes = _named_nodes(layers, "NetChain", graph=False)
        names = list(self._nodes)
        for n in names:
            node = self._nodes[n]
            if isinstance(node, NetLayer) and node.multiport:
                raise LayerGraphError(f"Layer {node.head} (layer \"{n}\") should have exactly one input port to be "
                                      "used in a NetChain; use NetGraph.", "General::notuport")
        for a, b in zip(names, names[1:]):
            self._edges.append(((a, self._node_outputs(a)[0]), (b, self._node_inputs(b)[0], None)))
        self._edges.insert(0, (("$port", "Input"), (names[0], self._node_inputs(names[0])[0], None)))
        self._edges.append(((names[-1], self._node_outputs(names[-1])[0]), ("$port", "Output")))
        specs, coders = _port_options("NetChain", {"Input": Input, "Output": Output, **ports}, ("Input",),
                                      allowed=("Input", "Output"))
        check_sides("NetChain", coders, ("Input",))
        self._port_specs = {k: v for k, v in specs.items() if v is not None}
        self._coders = coders
        self._lrm = _lrm_option(LearningRateMultipliers)
        self.compile()  # sizes what can be sized now; an inconsistent chain fails here


class NetGraph(_Container):
    """``NetGraph(layers, edges)``: layers as a list (named "1", "2", ...) or a dict; edges as
    documented in this module. ``NetGraph(chain)`` / ``NetGraph(layer)`` make a minimal graph;
    ``NetGraph(dagnet)`` / ``NetGraph(lgraph)`` / ``NetGraph(dlnet)`` a MATLAB network's graph.
    Unconnected ports become the graph's ports; port specs as keywords (Input=(3, 32, 32))."""

    head = "NetGraph"

    def __init__(self, layers, edges=None, LearningRateMultipliers=S.Automatic, **ports):
        super().__init__()
        analysis = analysis_of(layers) if edges is None else None
        if analysis is not None:   # NetGraph(dagnet): Wolfram's view of it
            layers, edges, given = _from_core(analysis)
            ports = {**given, **ports}
        if isinstance(layers, _Container) and edges is None:
            if isinstance(layers, NetGraph):
                self._nodes, self._edges = OrderedDict(layers._nodes), list(layers._edges)
                self._port_specs = dict(layers._port_specs)
            else:
                self._nodes = OrderedDict(layers._nodes)
                self._edges = [e for e in layers._edges]
                self._port_specs = dict(layers._port_specs)
            self._coders = dict(layers._coders)
            self._lrm = layers._lrm
        else:
            self._nodes = _named_nodes(layers, "NetGraph", graph=True)
            self._edges = self._parse_edges([] if edges is None else edges)
        _acyclic(find_cycle(self._core_nesting()))   # the core's cycle check of its nodes, before the ports' checks
        ins, outs = self._interface()
        specs, coders = _port_options("NetGraph", ports, ins)
        self._port_specs.update({k: v for k, v in specs.items() if v is not None})
        self._coders.update(coders)
        if LearningRateMultipliers is not S.Automatic:
            self._lrm = _lrm_option(LearningRateMultipliers)
        for k in specs:
            if k not in ins and k not in outs:
                raise LayerGraphError(f"{k!r} is not a port of the NetGraph. Ports: "
                                      f"{', '.join(list(ins) + list(outs))}.", "NetGraph::netinvgport")
        check_sides("NetGraph", coders, ins)
        self.compile()

    # -- edges --------------------------------------------------------------------------------------
    def _parse_edges(self, edges):
        if isinstance(edges, dict):
            edges = list(edges.items())
        if not isinstance(edges, (list, tuple)):
            raise LayerGraphError("Second argument should be a list of rules.", "General::nginvedgespec")
        out = []
        for e in edges:
            if isinstance(e, list):
                if len(e) < 2:
                    raise LayerGraphError(f"{e!r} is not a valid edge specification.", "General::invedge")
                chain = [(a, b) for a, b in zip(e, e[1:])]
            elif isinstance(e, tuple) and len(e) == 2:
                chain = [e]
            else:
                raise LayerGraphError(f"{e!r} is not a valid edge specification. Use (src, dst), a list "
                                      "[a, b, c] for a -> b -> c, or a dict {src: dst}.", "General::invedge")
            for a, b in chain:
                srcs = list(a) if isinstance(a, tuple) else [a]
                dsts = list(b) if isinstance(b, tuple) else [b]
                if len(srcs) > 1 and len(dsts) > 1:
                    raise LayerGraphError(f"{e!r} is not a valid edge specification.", "General::invedge")
                for d in dsts:
                    for k, s in enumerate(srcs):
                        out.append(self._edge(s, d, k if len(srcs) > 1 else None, e))
        # number the inputs of multiport layers: NetPort(n, i) gives input i, the others
        # take the free positions in the order their edges were given
        taken: dict = {}
        for src, dst in out:
            if dst[0] != "$port" and self._explicit(dst):
                taken.setdefault(dst[0], set()).add(dst[2])
        final = []
        next_free: dict = {}
        for src, dst in out:
            if dst[0] != "$port":
                node = self._nodes[dst[0]]
                if isinstance(node, NetLayer) and node.multiport and not self._explicit(dst):
                    k = next_free.get(dst[0], 0)
                    while k in taken.get(dst[0], ()):
                        k += 1
                    next_free[dst[0]] = k + 1
                    dst = (dst[0], dst[1], k)
            final.append((src, dst[:3] if self._explicit(dst) else dst))
        for node in {d[0] for _, d in final if d[0] != "$port"}:
            layer = self._nodes[node]
            if isinstance(layer, NetLayer) and layer.multiport:
                idx = sorted(d[2] for _, d in final if d[0] == node)
                if idx != list(range(len(idx))):
                    raise LayerGraphError(f"The inputs of layer \"{node}\" are numbered {[i + 1 for i in idx]}; they "
                                          f"should be 1 to {len(idx)}.", "NetGraph::mismatchmi")
        seen = {}
        for src, dst in final:
            if dst[0] != "$port":
                key = (dst[0], dst[1], dst[2])
                if key in seen:
                    raise LayerGraphError(f"Multiple vertices have been connected to the input port \"{dst[1]}\" of "
                                          f"layer \"{dst[0]}\".", "NetGraph::dupedges")
                seen[key] = src
            else:
                if ("$out", dst[1]) in seen:
                    raise LayerGraphError(f"Multiple vertices are connected to NetPort[\"{dst[1]}\"].",
                                          "General::outportconfl")
                seen[("$out", dst[1])] = src
        return final

    @staticmethod
    def _explicit(dst):
        return len(dst) == 4

    def _vertex(self, v, edge):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            names = list(self._nodes)
            if 1 <= v <= len(names):
                return names[v - 1]
        elif isinstance(v, str) and v in self._nodes:
            return v
        raise LayerGraphError(f"The vertex {_wl(v)}, specified in the edge {_edge_text(edge)}, does not exist.",
                              "General::invnetvert")

    def _edge(self, s, d, index, edge):
        if isinstance(s, NetPort) and s.node is None:
            src = ("$port", s.port)
        elif isinstance(s, NetPort) and s.port in _state_ports(self._nodes[self._vertex(s.node, edge)]):
            src = (self._vertex(s.node, edge), s.port)   # NetPort[layer, "State"] -> dst: the final state
        elif isinstance(s, NetPort):
            node = self._vertex(s.node, edge)
            if s.port not in self._node_outputs(node):
                raise LayerGraphError(f"The output port \"{s.port}\" of layer \"{node}\" does not exist. Outputs: "
                                      f"{', '.join(self._node_outputs(node))}.", "General::invport")
            src = (node, s.port)
        else:
            node = self._vertex(s, edge)
            src = (node, self._node_outputs(node)[0])
        if d is None:
            if src[0] == "$port":
                raise LayerGraphError(f"{_edge_text(edge)} is not a valid edge specification.", "General::invedge")
            dst = ("$port", f"$muted:{src[0]}/{src[1]}")
        elif isinstance(d, NetPort) and d.node is None:
            dst = ("$port", d.port)
        elif isinstance(d, NetPort) and isinstance(d.port, int):
            node = self._vertex(d.node, edge)
            layer = self._nodes[node]
            if not (isinstance(layer, NetLayer) and layer.multiport):
                raise LayerGraphError(f"NetPort[{d.node}, {d.port}]: layer \"{node}\" does not take a list of inputs.",
                                      "General::invport")
            dst = (node, "Input", d.port - 1, "explicit")
        elif isinstance(d, NetPort) and _numbered_input(self._nodes[self._vertex(d.node, edge)], d.port):
            node = self._vertex(d.node, edge)
            dst = (node, "Input", int(d.port[5:]) - 1, "explicit")   # "Input2": the second input
        elif isinstance(d, NetPort) and d.port in _state_ports(self._nodes[self._vertex(d.node, edge)]):
            dst = (self._vertex(d.node, edge), d.port, None)   # src -> NetPort[layer, "State"]: the initial state
        elif isinstance(d, NetPort):
            node = self._vertex(d.node, edge)
            if d.port not in self._node_inputs(node):
                raise LayerGraphError(f"The input port \"{d.port}\" of layer \"{node}\" does not exist. Inputs: "
                                      f"{', '.join(self._node_inputs(node))}.", "General::invport")
            dst = (node, d.port, None)
        else:
            node = self._vertex(d, edge)
            dst = (node, self._node_inputs(node)[0], None)
        if src[0] == "$port" and dst[0] == "$port":
            raise LayerGraphError(f"{_edge_text(edge)} is not a valid edge specification: it joins two graph ports.",
                                  "General::invedge")
        if src[0] != "$port" and src[0] == dst[0]:
            raise LayerGraphError("The connectivity of layers within a NetGraph must be acyclic.", "NetGraph::acyclic")
        return src, dst

    @property
    def edges(self) -> list:
        """The edges as (source, destination) pairs of NetPort objects."""
        out = []
        for src, dst in self._edges:
            s = NetPort(src[1]) if src[0] == "$port" else NetPort(src[0], src[1])
            d = NetPort(dst[1]) if dst[0] == "$port" else NetPort(dst[0], dst[1])
            out.append((s, d))
        return out


for _cls in (NetPort, NetChain, NetGraph):
    checked_init(_cls)

register_lone_chain(NetChain)   # a lone layer evaluates as the chain of itself


def _state_ports(node) -> tuple:
    """A recurrent layer's state ports ("State", and "CellState" for an LSTM); none for others."""
    return tuple(node.state_ports()) if isinstance(node, NetLayer) and hasattr(node, "state_ports") else ()


def _numbered_input(node, port) -> bool:
    """"Input1", "Input2", ...: the numbered ports of a multi-input layer."""
    return (isinstance(node, NetLayer) and node.multiport and isinstance(port, str) and port.startswith("Input")
            and port[5:].isdigit() and int(port[5:]) >= 1)


def _edge_text(edge) -> str:
    if isinstance(edge, tuple) and len(edge) == 2:
        return f"{_wl(edge[0]) if not isinstance(edge[0], NetPort) else edge[0]} -> " \
               f"{_wl(edge[1]) if not isinstance(edge[1], NetPort) else edge[1]}"
    return repr(edge)


__all__ = ["NetChain", "NetGraph", "NetPort"]


def _target_device(value) -> str:
    """Evaluation's TargetDevice: "CPU" -> the 'cpu' kernels; "GPU" or {"GPU", 1} -> the 'cuda'
    kernels (prediction only: NetTrain stays on the CPU)."""
    if same(value, "CPU"):
        return "cpu"
    if same(value, "GPU") or (isinstance(value, (tuple, list)) and len(value) == 2 and same(value[0], "GPU")
                              and value[1] in (1, S.All)):
        return "cuda"
    raise LayerGraphError(f"TargetDevice -> {_wl(value)} should be \"CPU\", \"GPU\" or (\"GPU\", 1) (one GPU).",
                          "General::invdevice")


# -- one network, both dialects ----------------------------------------------------------------


def _plain_input(spec) -> bool:
    return isinstance(spec.Normalization, str) and spec.Normalization == "none" \
        and getattr(spec, "DataAugmentation", "none") == "none" and not spec.SplitComplexInputs


def _from_core(analysis):
    """(nodes {name: Wolfram layer}, edges in NetGraph's syntax, port options) of a network
    of core layers (a MATLAB network, layerGraph or layer array), from its analysis
    (core/exchange.analysis_of: as its own dialect analyses it). Its layers become their
    Wolfram counterparts (layers.from_core), sized by that analysis. Input layers become
    input ports (one port "Input", or one per input layer by its name); an input layer with
    a normalization stays as the net's first layer. An output layer becomes an output port:
    a classificationLayer whose classes are set gives the port a NetDecoder(("Class",
    classes)); regressionLayer and a classificationLayer with Classes 'auto' leave a plain
    port."""
    require_valid(analysis)
    graph = analysis.graph
    layers = analysis.layers
    names = list(graph._g.nodes)
    inputs = [n for n in names if layers[n].is_input]
    outputs = [n for n in names if layers[n].is_output]
    in_port = {n: "Input" if len(inputs) == 1 else n for n in inputs}
    out_port = {n: "Output" if len(outputs) == 1 else n for n in outputs}
    nodes: OrderedDict = OrderedDict()
    ports: dict = {}
    edges: list = []
    for n in names:
        spec = layers[n]
        if spec.is_input:
            view = CoreLayerView(spec)
            ports[in_port[n]] = view.input_spec
            if not _plain_input(spec):
                nodes[n] = view
                edges.append((NetPort(in_port[n]), n))
        elif spec.is_output:
            if isinstance(spec, L.ClassificationOutputLayer) and isinstance(spec.Classes, list):
                ports[out_port[n]] = NetDecoder(("Class", list(spec.Classes)))
        else:
            sizes = analysis.info(n).InputSizes
            nodes[n] = from_core(spec, [sizes[p] for p in spec.InputNames] if len(sizes) == len(spec.InputNames)
                                 else None)
    for src, _, dst, inp in graph.connections():
        s = src if src in nodes else NetPort(in_port[src])
        if layers[dst].is_output:
            edges.append((s, NetPort(out_port[dst])))
            continue
        if isinstance(s, NetPort) and dst in nodes and getattr(nodes[dst], "is_input", False):
            continue
        ins = layers[dst].InputNames
        edges.append((s, NetPort(dst, ins.index(inp) + 1) if len(ins) > 1 else dst))
    # the edges from the ports first, in the order of MATLAB's input layers: a NetGraph's
    # inputs are in the order its edges name them
    order = {port: i for i, port in enumerate(in_port.values())}
    edges.sort(key=lambda e: order.get(e[0].port, len(order)) if isinstance(e[0], NetPort) else len(order))
    for name, members in shared_learnables(graph).items():
        for layer_name, learnable in members:
            node = nodes[layer_name]
            array = node.array_for_core(learnable)
            if array is None:
                raise LayerGraphError(f"The shared array '{name}' ({learnable} of layer '{layer_name}') has no "
                                      f"array in {node.head}.", "NetArray::auxshare")
            nodes[layer_name] = netarray.share_array(node, array, netarray.NetArray(name))
    return nodes, edges, ports


def _chain_from_core(analysis):
    """(nodes, Input, Output) of a network of core layers that run in series."""
    nodes, edges, ports = _from_core(analysis)
    names = list(nodes)
    inner = [(a, b) for a, b in edges if not isinstance(a, NetPort) and not (isinstance(b, NetPort) and b.node is None)]
    ins = [p for p in ports if not hasattr(ports[p], "decode")]
    chain = [(a, b if not isinstance(b, NetPort) else b.node) for a, b in inner]
    if len(ins) != 1 or chain != list(zip(names, names[1:])) or len(edges) - len(inner) > 2:
        raise LayerGraphError("NetChain: the MATLAB network is not a chain of layers (one input, each layer feeding "
                              "the next); use NetGraph(net).", "NetChain::notchain")
    out = [p for p in ports if p not in ins]
    return nodes, ports[ins[0]], (ports[out[0]] if out else None)


def to_core_net(net) -> CoreNet:
    """A Wolfram net as another dialect takes it (core/exchange.py): the one core graph it
    compiles to, its input ports' core input layers, its output ports' core outputs, the
    labels of each port with a Class decoder, the name the net gives each input layer it
    holds (its core name is its port's, "$in:port"). Encoders are dropped (the other dialect
    takes arrays), except an image encoder that normalizes (MeanImage / VarianceImage),
    which is refused; so is a net that is not fully sized, each in Wolfram's words."""
    for port, enc in net._encoders.items():
        if isinstance(enc, ImageEncoder) and (enc.params["MeanImage"] is not None
                                              or enc.params["VarianceImage"] is not None):
            raise LayerGraphError(f"The encoder of port \"{port}\" normalizes its images (MeanImage / VarianceImage), "
                                  "which a MATLAB network cannot hold outside its input layer; remove the encoder "
                                  "(NetReplacePart) first.", "General::unsupported")
    c = net.compile()
    net._require_sized(c, "convert")
    names = {c.leaves[p].core_names[0]: c.leaves[p].name for p in c.order
             if getattr(c.leaves[p].layer, "is_input", False)}
    return CoreNet(graph=c.graph,
                   inputs={port: f"$in:{port}" for port in c.in_dims},
                   outputs={port: c.leaves[path].ref(p) for port, (path, p) in c.out_ports.items()},
                   names=names,
                   classes={port: list(decoder.labels) for port, decoder in net._decoders.items()
                            if isinstance(decoder, ClassDecoder)},
                   chain=isinstance(net, NetChain))


# -- what NetTrain asks of a net ------------------------------------------------------------------
def _replace_leaves(net, leaves: dict):
    """A copy of ``net`` with the leaves at the given paths replaced."""
    new = net._copy()
    by_head: dict = {}
    for path, leaf in leaves.items():
        by_head.setdefault(path[0], {})[path[1:]] = leaf
    for name, sub in by_head.items():
        node = new._nodes[name]
        if () in sub:
            new._nodes[name] = sub[()]
        else:
            new._nodes[name] = _replace_leaves(node, sub)
    return new


def _node_at(net, path):
    for name in path:
        net = net._nodes[name]
    return net


class _TrainingView:
    """What NetTrain asks of a net, read from its compiled leaves in this one place: the
    net sized for the data (input dimensions the net leaves open come from the examples),
    the statistics its input layers lack computed from the data, initialized; the core
    network it compiles to with NetTrain's LearningRateMultipliers, the factors of its
    trainable arrays, the core names and sizes of its outputs and frozen statistics; and
    the trained arrays read back into the net's own layers."""

    def __init__(self, net, xs, initialize, rules, dtype):
        work = net._copy()
        c0 = net.compile()
        for port, x in xs.items():
            if c0.in_dims.get(port) is None:
                work._port_specs[port] = tuple(x.shape[1:])
        work._cache = {}
        c = work.compile()
        for port, x in xs.items():
            dims = c.in_dims[port]
            if dims is not None and tuple(x.shape[1:]) != tuple(dims):
                raise LayerGraphError(f"Data provided to port \"{port}\" should be a list of numeric arrays of "
                                      f"dimensions {wl_list(dims)}; received examples of dimensions "
                                      f"{wl_list(x.shape[1:])}.", "NetTrain::invindim")
        if not c.sized:
            work._require_sized(c, "train")
        self.original = net
        self.work = initialize(_with_statistics(work, c, xs, dtype))
        self.training = self.work
        if rules is not None:  # NetTrain's rules win over the net's own
            self.training = self.work._copy()
            self.training._lrm = rules
        self._compiled, self.core = self.training._core_network(None, "train")
        c = self._compiled
        self._leaves = [c.leaves[p] for p in c.order]
        self.out_dims = c.out_dims
        # {leaf path + (array name,): learning-rate factor} of every trainable array
        self.factors = {info.path + (n,): info.layer.factor(n) for info in self._leaves
                        for n in info.layer.active_arrays}
        self.frozen_state = frozenset(
            info.core_names[info.built.main] for info in self._leaves
            if info.built.frozen_state or (isinstance(info.layer.lrm, float) and info.layer.lrm == 0))

    def _output_leaf(self, port):
        c = self._compiled
        return c.leaves[c.out_ports[port][0]]

    def output_ref(self, port):
        """The core (layer, port) of the net's output ``port``."""
        return self._output_leaf(port).ref(self._compiled.out_ports[port][1])

    def output_layer(self, port):
        """The net's layer that gives the output ``port``."""
        return self._output_leaf(port).layer

    def output_size(self, port):
        """The core activation size of the output ``port``."""
        ref = self.output_ref(port)
        return self.core.analysis.info(ref[0]).ActivationSizes[ref[1]]

    def read_back(self, core_net):
        """The trained arrays in the original net's layers (multipliers given to NetTrain do
        not stay on the net); input dimensions learned from the data and input statistics
        computed from it do."""
        new = {}
        for info in self._leaves:
            if info.built.read_arrays is None:
                continue
            core_layer = core_net.layer_graph.layer(info.core_names[info.built.main])
            new[info.path] = _node_at(self.work, info.path).with_arrays(info.built.read_arrays(core_layer))
        out = _replace_leaves(self.work, new)
        out._lrm = self.original._lrm
        return out


def _with_statistics(net, c: Compiled, xs: dict, dtype):
    """``net`` with the normalization statistics its input layers lack (a MATLAB input layer
    with 'zerocenter', 'zscore' or 'rescale-*' and no Mean, ...) computed from the training
    inputs ``xs``, in trainNetwork's one function (train/normalization.py) on the data in
    the working precision, as trainNetwork does. Only the missing ones: NetTrain has no
    ResetInputNormalization, so statistics a net has are kept."""
    new = {}
    for path in c.order:
        info = c.leaves[path]
        layer = info.layer
        if not (isinstance(layer, CoreLayerView) and layer.is_input and needs_statistics(layer.spec)):
            continue
        port = info.core_names[0][len("$in:"):]   # an input layer is its port's core input
        x = np.asarray(xs[port])
        x = np.ascontiguousarray(x.reshape((x.shape[0],) + internal_shape(c.in_dims[port])), dtype=dtype)
        spec = _node_at(net, path).current_spec()
        try:
            stats = statistics(spec, x)
        except LayerGraphError as err:   # its reason, with the layer named as the net names it
            reason = str(err).removeprefix(f"Layer '{spec.Name}': ")
            raise LayerGraphError(f"Cannot train net: {_where(info)}: {reason}", "NetTrain::invindim") from None
        # stored in single precision, as a net's arrays are and as trainNetwork's network stores them
        new[path] = CoreLayerView(spec._resolved_copy(**{k: v.astype(np.float32) for k, v in stats.items()}))
    return _replace_leaves(net, new) if new else net
