"""core/exchange.py: the dialects meet in the core. MATLAB takes any object that hands over
a CoreNet (not only a Wolfram net), and Wolfram opens whatever analysis_of analyses (a core
Graph as well as MATLAB's objects)."""
import numpy as np
import pytest

from layergraph import (
    LayerArray, LayerGraphError, assembleNetwork, dlnetwork, featureInputLayer, fullyConnectedLayer, layerGraph,
    predict, reluLayer, rng,
)
from layergraph import layers as L
from layergraph.core.exchange import CoreNet, analysis_of, as_core_net
from layergraph.core.graph import Graph
from layergraph.core.network import Network
from layergraph.matlab.exchange import matlab_name
from layergraph.wolfram import LinearLayer, NetChain, NetDecoder, NetGraph, NetInitialize, Ramp, SoftmaxLayer


def _core_graph():
    """A core graph as a third dialect might name it: paths and a '$' in the names."""
    g = Graph()
    for layer in (L.FeatureInputLayer(Name="$in:x", InputSize=4, Normalization="none"),
                  L.FullyConnectedLayer(Name="block/fc", OutputSize=3), L.SoftmaxLayer(Name="block/fc$1")):
        g._add(layer)
    g._connect("$in:x", "out", "block/fc", "in")
    g._connect("block/fc", "out", "block/fc$1", "in")
    return g


class _Handed:
    """Not a Wolfram net: only the protocol."""

    def __init__(self, chain=True, initialized=False):
        graph = Network.build(_core_graph()).layer_graph if initialized else _core_graph()
        self.net = CoreNet(graph, {"x": "$in:x"}, {"y": ("block/fc$1", "out")}, classes={"y": [1, 2, 3]},
                           chain=chain)

    def to_core_net(self):
        return self.net


def test_matlab_takes_any_core_net():
    rng(0)
    lg = layerGraph(_Handed())
    assert lg.Layers.Name == ["x", "block_fc", "block_fc_1", "classoutput"]
    assert list(lg.layer("classoutput").Classes) == ["1", "2", "3"]
    d = dlnetwork(_Handed())
    assert d.OutputNames == ["block_fc_1"] and d.InputNames == ["x"]
    assert type(assembleNetwork(_Handed(initialized=True))).__name__ == "SeriesNetwork"
    assert type(assembleNetwork(_Handed(chain=False, initialized=True))).__name__ == "DAGNetwork"
    with pytest.raises(LayerGraphError, match="Weights is empty"):
        assembleNetwork(_Handed())


def test_as_core_net_is_none_for_other_objects():
    assert as_core_net(LayerArray([reluLayer])) is None and as_core_net([1, 2]) is None
    assert as_core_net(_core_graph()) is None


def test_a_wolfram_net_hands_over_its_core_graph():
    net = NetInitialize(NetChain({"a": LinearLayer(3), "b": SoftmaxLayer()}, Input=4,
                                 Output=NetDecoder(("Class", ["p", "q", "r"]))))
    core = as_core_net(net)
    assert core.inputs == {"Input": "$in:Input"} and core.outputs == {"Output": ("b", "out")}
    assert core.classes == {"Output": ["p", "q", "r"]} and core.chain and core.names == {}
    assert sorted(core.graph.graph.nodes) == ["$in:Input", "a", "b"]
    g = NetGraph(net)
    assert not as_core_net(g).chain


def test_analysis_of():
    assert analysis_of([reluLayer()]) is None and analysis_of("x") is None
    a = analysis_of(_core_graph())
    assert a.errors == [] and a.info("block/fc").ActivationSizes["out"].channels == 3
    # MATLAB's layer array: its layers in series, with MATLAB's names
    a = analysis_of(LayerArray([featureInputLayer(4), fullyConnectedLayer(2), fullyConnectedLayer(2)]))
    assert list(a.layers) == ["featureinput", "fc_1", "fc_2"]
    net = Network.build(_core_graph())
    assert analysis_of(net).info("block/fc$1").ActivationSizes["out"].channels == 3


def test_wolfram_opens_a_core_graph_and_network():
    rng(1)
    net = Network.build(_core_graph())
    g = NetGraph(net)
    assert list(g._nodes) == ["block/fc", "block/fc$1"] and g._input_names() == ["Input"]
    x = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    ref = net.run({"$in:x": x}, [("block/fc$1", "out")], 5)[("block/fc$1", "out")]
    np.testing.assert_array_equal(g(x), ref)
    assert isinstance(NetGraph(_core_graph())._nodes["block/fc"], LinearLayer)
    np.testing.assert_array_equal(NetChain(net)(x), ref)
    # and back, with MATLAB's names
    d = dlnetwork(NetChain(net))
    assert d.Layers.Name == ["featureinput", "block_fc", "block_fc_1"]
    np.testing.assert_array_equal(predict(d, x), ref)


def test_matlab_name():
    assert matlab_name("block/conv") == "block_conv" and matlab_name("conv$1") == "conv_1"


def test_a_plain_list_is_layers_not_a_network():
    chain = NetChain([fullyConnectedLayer(3), Ramp], Input=4)
    assert list(chain._nodes) == ["1", "2"]


@pytest.mark.parametrize("before", ["fc", "conv", "gap"])
def test_a_fully_connected_layer_after_a_1x1_output_opens_in_wolfram(before):
    """MATLAB gives 1 x 1 x C after a fully connected layer, a 1x1 convolution output or global
    pooling; Wolfram's view has a vector after LinearLayer and a C x 1 x 1 array otherwise. The
    next LinearLayer takes either (it flattens), and the numbers are MATLAB's both ways."""
    from layergraph import convolution2dLayer, globalAveragePooling2dLayer, imageInputLayer
    rng(0)
    head = {"fc": [convolution2dLayer(3, 4), fullyConnectedLayer(6), reluLayer()],
            "conv": [convolution2dLayer([6, 5], 4)],
            "gap": [convolution2dLayer(3, 4), globalAveragePooling2dLayer()]}[before]
    net = dlnetwork(LayerArray([imageInputLayer([6, 5, 3], Normalization="none"), *head, fullyConnectedLayer(3)]))
    X = np.random.default_rng(1).random((6, 5, 3, 2)).astype(np.float32)
    wolfram = NetGraph(net)
    np.testing.assert_allclose(np.asarray(wolfram(np.ascontiguousarray(X.transpose(3, 2, 0, 1)))),
                               net.predict(X), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(dlnetwork(wolfram).predict(X), net.predict(X))
