"""Composite nodes in the core graph (builders and nested graphs), the cycle issue and
sizes from outputs, in core terms: no dialect is imported."""
from dataclasses import dataclass, field

import numpy as np
import pytest

from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.core.graph import Graph
from layergraph.core.infer import analyze, find_cycle, flatten
from layergraph.core.layer import Layer
from layergraph.core.network import Network
from layergraph.core.size import Size


@dataclass
class Expansion:
    specs: list
    main: int = 0
    form: object = None


@dataclass
class Dense:
    """A builder: a fully connected layer of ``n`` outputs (None: from the output it feeds),
    followed by a ReLU when ``relu``; its form is a tag that says how many Dense nodes
    the data went through."""

    n: int | None = None
    relu: bool = False
    InputNames: list = field(default_factory=lambda: ["in"])
    OutputNames: list = field(default_factory=lambda: ["out"])
    is_input = False
    is_output = False
    calls: list = field(default_factory=list)
    sized: list = field(default_factory=list)

    def build(self, in_sizes, in_forms):
        self.calls.append((list(in_sizes), list(in_forms)))
        if self.n is None:
            raise LayerGraphError("Dense: the output size is not known.")
        specs = [L.FullyConnectedLayer(OutputSize=self.n)] + ([L.ReLULayer()] if self.relu else [])
        return Expansion(specs, 0, (in_forms[0] or 0) + 1)

    def with_output_size(self, size, form):
        return Dense(size.channels, self.relu) if self.n is None else None

    def on_sized(self, record):
        self.sized.append(record.out_sizes)


@dataclass
class Picky(Dense):
    """A builder whose second spec does not fit its input (a reshape to 7 elements)."""

    errors: list = field(default_factory=list)

    def build(self, in_sizes, in_forms):
        return Expansion([L.FullyConnectedLayer(OutputSize=4), L.ArrayReshapeLayer(OutputSize=Size((), 7))])

    def on_size_error(self, err, record):
        self.errors.append((err.message, record.in_sizes))


def chain(*nodes, input_size=6):
    g = Graph()
    g._add(L.FeatureInputLayer(Name="in", InputSize=input_size))
    prev = "in"
    for name, node in nodes:
        if isinstance(node, Layer):
            g._add(node._resolved_copy(Name=name))
        else:
            g._add_node(name, node)
        g._connect(prev, "out", name, "in")
        prev = name
    return g


def test_a_builder_becomes_its_specs_once_its_input_size_is_known():
    d = Dense(3, relu=True)
    a = analyze(chain(("d", d)))
    assert not a.errors
    assert d.calls == [([Size((), 6)], [None])]   # a plain layer's output has no form
    record = a.expanded["d"]
    assert record.names == ["d", "d$1"] and record.out_sizes == [Size((), 3)] and record.form == 1
    assert d.sized == [[Size((), 3)]]
    assert list(a.graph.graph.nodes) == ["in", "d", "d$1"] and a.order == ["in", "d", "d$1"]
    assert a.node_order == ["in", "d"]
    assert a.graph.connections() == [("in", "out", "d", "in"), ("d", "out", "d$1", "in")]
    assert a.layers["d"].InputSize == 6 and a.info("d$1").ActivationSizes == {"out": Size((), 3)}


def test_forms_travel_from_builder_to_builder_and_the_network_runs():
    d1, d2 = Dense(4), Dense(2)
    a = analyze(chain(("a", d1), ("b", d2)))
    assert d2.calls == [([Size((), 4)], [1])] and a.expanded["b"].form == 2
    net = Network.build(a.graph)
    y = net.run({"in": np.ones((5, 6), np.float32)}, [("b", "out")], 5)[("b", "out")]
    assert y.shape == (5, 2)


def test_a_builder_error_stops_inference_and_unsized_inputs_skip_the_node():
    with pytest.raises(LayerGraphError, match="output size is not known"):
        analyze(chain(("d", Dense())))
    g = Graph()
    g._add_node("d", Dense(3))   # nothing feeds it: skipped, not built
    g._add(L.FeatureInputLayer(Name="in", InputSize=2))
    a = analyze(g)
    assert not a.expanded["d"].built and a.expanded["d"].names == []
    assert [(i.LayerName, i.Port) for i in a.errors] == [("d", "in")]   # the unconnected input
    assert "d" in a.graph.graph.nodes   # an unsized builder stays a node


def test_a_spec_that_does_not_fit_reaches_the_builder_and_is_an_issue():
    p = Picky()
    a = analyze(chain(("p", p)))
    assert p.errors and p.errors[0][1] == [Size((), 6)]
    assert [i.LayerName for i in a.errors] == ["p$1"] and not a.expanded["p"].built


def test_sizes_from_outputs_pass_through_layers_that_keep_the_shape():
    g = chain(("d", Dense(relu=False)), ("act", L.TanhLayer()), ("drop", L.DropoutLayer()))
    g._set_ports(outputs={"y": ("drop", "out")})
    g._require_size("y", Size((), 5))
    a = analyze(g)
    assert not a.errors and a.expanded["d"].out_sizes == [Size((), 5)]
    assert a.info("drop").ActivationSizes["out"] == Size((), 5)


def test_sizes_from_outputs_stop_at_a_layer_that_changes_the_shape_or_a_branch():
    g = chain(("d", Dense()), ("fc", L.FullyConnectedLayer(OutputSize=2)))
    g._set_ports(outputs={"y": ("fc", "out")})
    g._require_size("y", Size((), 5))
    with pytest.raises(LayerGraphError, match="not known"):
        analyze(g)
    g = chain(("d", Dense()), ("act1", L.TanhLayer()), ("act2", L.TanhLayer()))
    g._add(L.ReLULayer(Name="other"))
    g._connect("act1", "out", "other", "in")   # act1 feeds two layers: the walk stops there
    g._set_ports(outputs={"y": ("act2", "out")})
    g._require_size("y", Size((), 5))
    with pytest.raises(LayerGraphError, match="not known"):
        analyze(g)
    g._g.remove_node("act2")
    g._set_ports(outputs={"y": ("act1", "out")})   # the node reached takes the size, whatever else it feeds
    assert analyze(g).expanded["d"].out_sizes == [Size((), 5)]


def test_the_registry_marks_layers_that_keep_the_shape():
    from layergraph.core.registry import BY_CLASS
    assert BY_CLASS[L.ReLULayer].keeps_shape and BY_CLASS[L.BatchNormalizationLayer].keeps_shape
    assert BY_CLASS[L.SoftmaxLayer].keeps_shape and BY_CLASS[L.DropoutLayer].keeps_shape
    assert not BY_CLASS[L.FullyConnectedLayer].keeps_shape and not BY_CLASS[L.Convolution2DLayer].keeps_shape


def block():
    """A nested graph: in -> fc -> relu -> out, with a skip from in to an addition."""
    b = Graph()
    b._add(L.FullyConnectedLayer(Name="fc", OutputSize=6))
    b._add(L.ReLULayer(Name="relu"))
    b._add(L.AdditionLayer(Name="add"))
    b._connect("fc", "out", "relu", "in")
    b._connect("relu", "out", "add", "in1")
    b._set_ports({"x": [("fc", "in"), ("add", "in2")]}, {"y": ("add", "out")})
    return b


def test_a_nested_graph_joins_the_graph_under_path_names():
    outer = Graph()
    outer._add(L.FeatureInputLayer(Name="in", InputSize=6))
    outer._add_node("block", block())
    inner_twice = Graph()
    inner_twice._add_node("b1", block())
    inner_twice._add_node("b2", block())
    inner_twice._connect("b1", "y", "b2", "x")
    inner_twice._set_ports({"x": [("b1", "x")]}, {"y": ("b2", "y")})
    outer._add_node("deep", inner_twice)
    outer._connect("in", "out", "block", "x")
    outer._connect("block", "y", "deep", "x")
    outer._set_ports(outputs={"out": ("deep", "y")})
    flat = flatten(outer)
    assert list(flat.graph.nodes) == ["in", "block/fc", "block/relu", "block/add", "deep/b1/fc", "deep/b1/relu",
                                      "deep/b1/add", "deep/b2/fc", "deep/b2/relu", "deep/b2/add"]
    assert ("in", "out", "block/add", "in2") in flat.connections()
    assert ("block/add", "out", "deep/b1/fc", "in") in flat.connections()
    assert ("deep/b1/add", "out", "deep/b2/add", "in2") in flat.connections()
    assert flat.output_ports() == {"out": ("deep/b2/add", "out")}
    assert flat.layer("block/fc").Name == "block/fc"
    a = analyze(outer)
    assert not a.errors and a.info("deep/b2/add").ActivationSizes["out"] == Size((), 6)
    net = Network.build(a.graph)
    assert net.run({"in": np.ones((2, 6), np.float32)}, [("deep/b2/add", "out")], 2)[("deep/b2/add", "out")].shape \
        == (2, 6)


def test_a_nested_graph_may_hold_builders():
    b = Graph()
    b._add_node("d", Dense(3))
    b._set_ports({"in": [("d", "in")]}, {"y": ("d", "out")})
    outer = chain(("sub", b))
    a = analyze(outer)
    assert a.expanded["sub/d"].names == ["sub/d"] and a.info("sub/d").ActivationSizes["out"] == Size((), 3)
    b._set_ports({"x": [("d", "in")]})
    with pytest.raises(LayerGraphError, match="The nested graph 'sub' has no port 'in'. Ports: 'x'."):
        analyze(chain(("sub", b)))


def test_a_cycle_is_one_issue_that_names_its_nodes():
    g = chain(("a", L.ReLULayer()), ("b", L.AdditionLayer()))
    g._g.remove_edge("a", "b")
    g._connect("a", "out", "b", "in1")
    g._connect("b", "out", "a", "in")
    assert find_cycle(g) == ["a", "b"]
    a = analyze(g)
    assert a.cycle == ["a", "b"]
    assert [i.Message for i in a.errors if "Cycle" in i.Message] == [
        "Cycle detected. The network must be acyclic; the cycle runs through layers 'a' -> 'b' -> 'a'."]
    assert find_cycle(chain(("a", L.ReLULayer()))) == []


def test_a_nested_graphs_shared_learnables_join_the_table_under_path_names():
    from layergraph.core.shared import set_shared_learnables, shared_learnables
    b = Graph()
    b._add(L.FullyConnectedLayer(Name="f1", OutputSize=6))
    b._add(L.FullyConnectedLayer(Name="f2", OutputSize=6))
    b._connect("f1", "out", "f2", "in")
    b._set_ports({"in": [("f1", "in")]}, {"y": ("f2", "out")})
    set_shared_learnables(b, {"w": [("f1", "Weights"), ("f2", "Weights")]})
    outer = chain(("blk", b))
    flat = flatten(outer)
    assert shared_learnables(flat) == {"blk/w": (("blk/f1", "Weights"), ("blk/f2", "Weights"))}
    assert shared_learnables(outer) == {} and shared_learnables(b) == {"w": (("f1", "Weights"), ("f2", "Weights"))}
    net = Network.build(analyze(outer).graph)
    ex = net.executor()
    assert ex.params["blk/f1"]["Weights"] is ex.params["blk/f2"]["Weights"]
