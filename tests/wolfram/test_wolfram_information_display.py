"""Information(net, prop) and the summary printouts."""
import networkx as nx
import numpy as np
import pytest
from rich.console import Console

from layergraph.wolfram import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    FlattenLayer,
    Information,
    LayerGraphError,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    PoolingLayer,
    Quantity,
    Ramp,
    SoftmaxLayer,
    Tanh,
)


def cnn():
    return NetChain([ConvolutionLayer(16, 3), BatchNormalizationLayer(), Ramp, PoolingLayer(2, 2), FlattenLayer(),
                     LinearLayer(10), SoftmaxLayer()], Input=(3, 32, 32))


def test_array_properties():
    net = cnn()
    assert Information(net, "ArraysCount") == 8
    total = 16 * 3 * 3 * 3 + 16 + 4 * 16 + 10 * 3600 + 10
    assert Information(net, "ArraysTotalElementCount") == total
    assert Information(net, "ArraysTotalByteCount") == 4 * total
    assert Information(net, "ArraysTotalSize") == Quantity(4 * total / 1000, "Kilobytes")
    dims = Information(net, "ArraysDimensions")
    assert dims[("1", "Weights")] == (16, 3, 3, 3) and dims[("6", "Weights")] == (10, 3600)
    assert list(Information(net, "ArraysPositionList"))[:2] == [("1", "Weights"), ("1", "Biases")]
    assert all(v == 1.0 for v in Information(net, "ArraysLearningRateMultipliers").values())
    assert Information(net, "SharedArraysCount") == 0


def test_total_size_units():
    assert Information(NetChain([LinearLayer(2)], Input=3), "ArraysTotalSize") == Quantity(32, "Bytes")


def test_uninitialized_arrays_are_automatic():
    from layergraph.wolfram import Automatic
    arrays = Information(cnn(), "Arrays")
    assert all(v is Automatic for v in arrays.values())
    arrays = Information(NetInitialize(cnn()), "Arrays")
    assert arrays[("6", "Weights")].shape == (10, 3600)


def test_layer_properties():
    net = cnn()
    assert Information(net, "LayersCount") == 7
    assert Information(net, "LayerTypeCounts")["ConvolutionLayer"] == 1
    assert list(Information(net, "Layers")) == [(str(i),) for i in range(1, 8)]
    g = Information(net, "LayersGraph")
    assert isinstance(g, nx.DiGraph) and g.number_of_edges() == 6
    assert Information(net, "InputPorts") == {"Input": "array (size: 3\u00d732\u00d732)"}
    assert Information(net, "OutputPorts") == {"Output": "vector (size: 10)"}
    assert Information(net, ["InputPortNames", "OutputPortNames"]) == [["Input"], ["Output"]]
    assert "ArraysCount" in Information(net, "Properties")


def test_layer_information_like_a_graph():
    assert Information(LinearLayer(3, Input=2), "ArraysCount") == 2


def test_unknown_property():
    with pytest.raises(LayerGraphError, match="not a known property"):
        Information(cnn(), "Foo")


def test_information_panel():
    text = repr(Information(cnn()))
    assert text.splitlines()[0] == "Net information"
    assert "Layers count                7" in text
    assert 'Arrays total size           Quantity[146.088, "Kilobytes"]' in text


EXPECTED_CHAIN = """NetChain  (uninitialized)
  Input port:       vector (size: 4)
  Output port:      vector (size: 2)
  Number of layers: 3

     Input             vector (size: 4)
  1  LinearLayer       vector (size: 3)  (uninitialized)
  2  ElementwiseLayer  vector (size: 3)
  3  LinearLayer       vector (size: 2)  (uninitialized)
     Output            vector (size: 2)"""


def test_chain_printout():
    net = NetChain([LinearLayer(3), Ramp, LinearLayer(2)], Input=4)
    assert repr(net) == EXPECTED_CHAIN
    assert repr(NetInitialize(net)) == EXPECTED_CHAIN.replace("  (uninitialized)", "")


EXPECTED_BN = """BatchNormalizationLayer  (uninitialized)
  Parameters
    Epsilon:      0.001
    Momentum:     0.9
    Interleaving: False
  Arrays
    Biases:         vector (size: 3)  (uninitialized)
    MovingMean:     vector (size: 3)  (uninitialized)
    MovingVariance: vector (size: 3)  (uninitialized)
    Scaling:        vector (size: 3)  (uninitialized)
  Ports
    Input:  vector (size: 3)
    Output: vector (size: 3)"""


def test_layer_printout():
    assert repr(BatchNormalizationLayer(Input=3)) == EXPECTED_BN
    text = repr(BatchNormalizationLayer())
    assert "Input:  array" in text and "Biases:         array  (uninitialized)" in text


def test_array_types_and_unknown_sizes():
    assert "array (size: 16\u00d730\u00d730)" in repr(cnn())
    text = repr(NetChain([LinearLayer(3), Tanh]))
    assert "Input port:       array" in text


def test_graph_printout():
    g = NetGraph({"l": LinearLayer(3), "r": Ramp, "t": Tanh}, [("l", ("r", "t"))], Input=2)
    text = repr(g)
    assert "Number of outputs: 2" in text and '"l" -> "r"' in text and "Output2" in text


def test_rich_renderables():
    console = Console(record=True, width=100, color_system=None)
    console.print(cnn())
    console.print(NetInitialize(cnn())[1])
    console.print(Information(cnn()))
    out = console.export_text()
    assert "uninitialized" in out and "ConvolutionLayer" in out and "Net information" in out
    assert np.isfinite(Information(cnn(), "ArraysTotalByteCount"))
