"""A net's compile is the core's inference over its leaves as builder nodes: what the
net's view (Compiled) reads from the analysis, in the net's words."""
import pytest

from layergraph import LayerGraphError
from layergraph.wolfram import (
    BatchNormalizationLayer, ConvolutionLayer, LinearLayer, NetChain, NetGraph, NetPort, NormalizationLayer, Ramp,
    ReshapeLayer, SoftmaxLayer, Tanh, TotalLayer,
)


def test_leaves_carry_their_dims_specs_and_core_names_from_the_analysis():
    net = NetChain({"conv": ConvolutionLayer(4, 3, Interleaving=True), "lin": LinearLayer((2, 3))}, Input=(8, 8, 1))
    c = net.compile()
    conv, lin = c.leaves[("conv",)], c.leaves[("lin",)]
    assert conv.in_dims == [(8, 8, 1)] and conv.out_dims == (6, 6, 4)   # the rank and layout of Interleaving
    assert conv.core_names == ["conv$0", "conv", "conv$2"] and conv.built.main == 1
    assert lin.out_dims == (2, 3) and lin.core_names == ["lin", "lin$1"]
    assert list(c.graph.graph.nodes) == ["$in:Input", "conv$0", "conv", "conv$2", "lin", "lin$1"]
    assert c.order == [("conv",), ("lin",)]


def test_sizes_from_outputs_pass_through_the_layers_that_keep_the_shape():
    for keeps in (Ramp, SoftmaxLayer(), BatchNormalizationLayer(), NormalizationLayer()):
        net = NetChain([LinearLayer(), keeps], Input=2, Output=(2, 3))
        assert net.compile().out_dims == {"Output": (2, 3)}
        assert net.compile().leaves[("1",)].layer.params["OutputDimensions"] == (2, 3)
    with pytest.raises(LayerGraphError, match="is not specified"):
        NetChain([LinearLayer(), ReshapeLayer((6,))], Input=2, Output=6)(1.0)


def test_a_partly_specified_graph_keeps_the_sizes_it_knows():
    net = NetGraph({"a": LinearLayer(3), "b": Tanh, "s": TotalLayer()}, [(NetPort("x"), "a"), ("a", "s"), ("b", "s")],
                   x=2)
    c = net.compile()
    assert c.leaves[("a",)].out_dims == (3,) and c.leaves[("b",)].out_dims is None and not c.sized


def test_a_cycle_is_the_cores_issue_in_the_nets_words():
    with pytest.raises(LayerGraphError) as e:
        NetGraph({"a": NetChain([LinearLayer(2)]), "b": TotalLayer()}, [("a", "b"), ("b", "a"), (NetPort("x"), "b")])
    assert e.value.identifier == "NetGraph::acyclic"
    assert str(e.value).endswith('(cycle through "a" -> "b").')   # nested nets are one node on construction
