"""NetChain and NetGraph: construction forms, size propagation, evaluation, errors."""
import numpy as np
import pytest

from layergraph.wolfram import (
    Automatic,
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    LayerGraphError,
    LinearLayer,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    PoolingLayer,
    Ramp,
    SoftmaxLayer,
    Tanh,
    TotalLayer,
)

R = np.random.default_rng(5)


def init(net):
    return NetInitialize(net, RandomSeeding=1)


# -- NetChain ------------------------------------------------------------------------------------
def test_reference_propagation_example():
    # "Input" -> {3,32,32}: ConvolutionLayer[16,3] {16,30,30}; PoolingLayer[2,2] {16,15,15};
    # FlattenLayer[] {3600}; LinearLayer[10] {10} with weights {10, 3600}
    net = NetChain([ConvolutionLayer(16, 3), PoolingLayer(2, 2), FlattenLayer(), LinearLayer(10)], Input=(3, 32, 32))
    c = net.compile()
    assert [c.leaves[p].out_dims for p in c.order] == [(16, 30, 30), (16, 15, 15), (3600,), (10,)]
    assert NetExtract(init(net), (4, "Weights")).shape == (10, 3600)


def test_chain_from_dict_and_special_entries():
    net = NetChain({"lin": 5, "act": Ramp, "sub": [3, Tanh]}, Input=2)
    assert list(net._nodes) == ["lin", "act", "sub"]
    assert isinstance(NetExtract(net, "lin"), LinearLayer)
    assert isinstance(NetExtract(net, ("sub", 2)), ElementwiseLayer)
    assert net.compile().out_dims == {"Output": (3,)}
    y = init(net)([1.0, 2.0])
    assert y.shape == (3,)


def test_unknown_sizes_stay_automatic():
    net = NetChain([LinearLayer(5), Ramp])
    c = net.compile()
    assert c.in_dims == {"Input": None} and not c.sized
    assert "Input port:" in repr(net) and "array" in repr(net)
    with pytest.raises(LayerGraphError, match="Cannot initialize net") as err:
        NetInitialize(net)
    assert err.value.identifier == "General::nfspec"


def test_input_from_first_layer_option():
    net = NetChain([LinearLayer(4, Input=3), Ramp])
    assert net.compile().in_dims == {"Input": (3,)}


def test_layers_without_arrays_evaluate_on_data_of_any_size():
    net = NetChain([Ramp, SoftmaxLayer()])
    y = net([1.0, -2.0, 3.0])
    np.testing.assert_allclose(y, np.exp([1, 0, 3]) / np.exp([1, 0, 3]).sum(), rtol=1e-6)


def test_evaluation_single_batch_list():
    net = init(NetChain([LinearLayer(3), Tanh], Input=4))
    x = R.standard_normal((5, 4))
    batch = net(x)
    assert batch.shape == (5, 3)
    np.testing.assert_allclose(net(x[0]), batch[0], rtol=1e-6)
    np.testing.assert_allclose(net([x[0], x[1]]), batch[:2], rtol=1e-6)


def test_uninitialized_evaluation_is_nninit():
    with pytest.raises(LayerGraphError, match=r'Cannot evaluate net: unspecified value for the array "Weights"') as e:
        NetChain([LinearLayer(3)], Input=2)([1.0, 2.0])
    assert e.value.identifier == "General::nninit"


def test_bad_data():
    net = init(NetChain([LinearLayer(3)], Input=4))
    for bad in ([1.0, 2.0], np.ones((2, 2, 4)), "abc", [np.nan] * 4):
        with pytest.raises(LayerGraphError, match='port "Input"'):
            net(bad)


def test_inconsistent_sizes_name_layer_and_port():
    with pytest.raises(LayerGraphError, match=r'LinearLayer \(layer "2"\)') as e:
        NetChain([LinearLayer(5), LinearLayer(3, Input=4)], Input=2)
    assert "length-5 vector" in str(e.value)


def test_empty_chain():
    with pytest.raises(LayerGraphError, match="at least one layer") as e:
        NetChain([])
    assert e.value.identifier == "General::netempty"


def test_chain_rejects_multiport_and_unknown_port_option():
    with pytest.raises(LayerGraphError, match="exactly one input port"):
        NetChain([TotalLayer()])
    with pytest.raises(LayerGraphError, match="valid input or output port"):
        NetChain([Ramp], Foo=3)


def test_train_mode_option_checked():
    with pytest.raises(LayerGraphError, match='either "Test" or "Train"'):
        NetChain([Ramp], Input=2)([1.0, 2.0], NetEvaluationMode="train")


def test_nothing_half_built_after_failure():
    net = NetChain([LinearLayer(3)], Input=2)
    with pytest.raises(LayerGraphError):
        net([1.0, 2.0])
    assert not net.initialized and NetExtract(net, (1, "Weights")) is Automatic


# -- NetGraph edge forms --------------------------------------------------------------------------
def _graph_value(g, x):
    return init(g)(x)


def test_edge_forms_agree():
    layers = {"a": LinearLayer(3), "b": Ramp, "c": LinearLayer(2)}
    g1 = NetGraph(layers, [("a", "b"), ("b", "c")], Input=4)
    g2 = NetGraph(layers, [["a", "b", "c"]], Input=4)
    g3 = NetGraph(layers, {"a": "b", "b": "c"}, Input=4)
    g4 = NetGraph(layers, [(NetPort("Input"), "a"), ["a", "b", "c"], ("c", NetPort("Output"))], Input=4)
    g5 = NetGraph([LinearLayer(3), Ramp, LinearLayer(2)], [(1, 2), (2, 3)], Input=4)
    x = R.standard_normal(4)
    ref = _graph_value(g1, x)
    for g in (g2, g3, g4):
        np.testing.assert_allclose(_graph_value(g, x), ref, rtol=1e-6)
    assert _graph_value(g5, x).shape == (2,)


def test_list_sources_keep_their_order():
    g = NetGraph({"x": ElementwiseLayer(Ramp), "y": ElementwiseLayer(Tanh), "cat": CatenateLayer()},
                 [(NetPort("a"), "x"), (NetPort("b"), "y"), (("y", "x"), "cat")], a=2, b=3)
    a, b = np.array([-1.0, 2.0]), np.array([0.5, -0.5, 1.0])
    np.testing.assert_allclose(g({"a": a, "b": b}), np.concatenate([np.tanh(b), np.maximum(a, 0)]), rtol=1e-6)


def test_fan_out_and_several_outputs():
    g = NetGraph({"l": LinearLayer(3), "r": Ramp, "t": Tanh}, [("l", ("r", "t"))], Input=2)
    y = init(g)([1.0, -1.0])
    assert set(y) == {"Output1", "Output2"}
    np.testing.assert_allclose(y["Output1"], np.maximum(y["Output2"] * 0 + np.arctanh(y["Output2"]), 0), rtol=1e-5,
                               atol=1e-6)


def test_named_output_ports_and_mute():
    g = NetGraph({"l": LinearLayer(3), "r": Ramp}, [("l", "r"), ("r", NetPort("y")), ("l", NetPort("z"))], Input=2)
    assert g._output_names() == ["y", "z"]
    y = init(g)([1.0, 2.0])
    np.testing.assert_allclose(y["y"], np.maximum(y["z"], 0))
    g2 = NetGraph({"l": LinearLayer(3), "r": Ramp, "t": Tanh}, [("l", ("r", "t")), (NetPort("t", "Output"), None)],
                  Input=2)
    assert g2._output_names() == ["Output"]


def test_graph_of_chain_and_layer():
    chain = NetChain([LinearLayer(2), Ramp], Input=3)
    assert NetGraph(chain).compile().out_dims == {"Output": (2,)}
    assert NetGraph(Ramp if False else LinearLayer(2, Input=3)).compile().out_dims == {"Output": (2,)}


def test_nested_nets():
    inner = NetChain([LinearLayer(4), Ramp])
    g = NetGraph({"a": inner, "b": inner, "sum": TotalLayer()}, [(NetPort("Input"), ("a", "b")), (("a", "b"), "sum")],
                 Input=3)
    net = init(g)
    x = R.standard_normal(3)
    a = NetExtract(net, "a")
    b = NetExtract(net, "b")
    np.testing.assert_allclose(net(x), a(x) + b(x), rtol=1e-5)


@pytest.mark.parametrize("edges,tag", [
    ([(1, 2), (2, 1)], "NetGraph::acyclic"),
    ([(1, 1)], "NetGraph::acyclic"),
    ([(1, 5)], "General::invnetvert"),
    ([(1, "nope")], "General::invnetvert"),
    ([(NetPort(1, "Foo"), 2)], "General::invport"),
    ([(1, NetPort(2, "Bar"))], "General::invport"),
    ([(1, 2), (NetPort("x"), 2)], "NetGraph::dupedges"),
    ("1 -> 2", "General::nginvedgespec"),
    ([(1, 2, 3)], "General::invedge"),
])
def test_graph_errors(edges, tag):
    with pytest.raises(LayerGraphError) as e:
        NetGraph([LinearLayer(2), LinearLayer(2)], edges, Input=2)
    assert e.value.identifier == tag


def test_indeterminate_multiport():
    with pytest.raises(LayerGraphError) as e:
        NetGraph([Ramp, TotalLayer()], [], Input=2)
    assert e.value.identifier == "General::indmultiport"


def test_unknown_graph_port_option():
    with pytest.raises(LayerGraphError) as e:
        NetGraph([Ramp], [], Nope=2)
    assert e.value.identifier == "NetGraph::netinvgport"


def test_graph_size_mismatch_names_layer():
    with pytest.raises(LayerGraphError, match=r"TotalLayer"):
        NetGraph([LinearLayer(2), LinearLayer(3), TotalLayer()], [(NetPort("Input"), (1, 2)), ((1, 2), 3)], Input=2)


def test_multi_input_evaluation_errors():
    g = NetGraph([TotalLayer()], [((NetPort("x"), NetPort("y")), 1)], x=2, y=2)
    with pytest.raises(LayerGraphError, match="Required input slot"):
        g({"x": [1.0, 2.0]})
    with pytest.raises(LayerGraphError, match="Unknown input"):
        g({"x": [1.0, 2.0], "y": [1.0, 2.0], "z": [1.0]})


def test_conv_net_end_to_end_shapes():
    net = init(NetChain([ConvolutionLayer(8, 3, PaddingSize=1), BatchNormalizationLayer(), Ramp, PoolingLayer(2, 2),
                         FlattenLayer(), LinearLayer(10), SoftmaxLayer()], Input=(3, 16, 16)))
    y = net(R.standard_normal((4, 3, 16, 16)))
    assert y.shape == (4, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)


def test_automatic_symbol_in_port_spec():
    net = NetChain([Ramp], Input=(3, Automatic, Automatic))
    assert net.compile().in_dims == {"Input": None}
    y = net(np.ones((3, 2, 2)))
    assert y.shape == (3, 2, 2)


def test_numbered_input_of_a_multiport_layer():
    g = NetGraph({"a": Ramp, "b": Tanh, "c": CatenateLayer()},
                 [(NetPort("x"), "a"), (NetPort("y"), "b"), ("a", NetPort("c", 2)), ("b", NetPort("c", 1))],
                 x=2, y=2)
    np.testing.assert_allclose(g({"x": [1.0, -1.0], "y": [0.5, 0.2]}),
                               np.concatenate([np.tanh([0.5, 0.2]), [1.0, 0.0]]), rtol=1e-6)
    assert repr(NetPort("c", 2)) == 'NetPort[{"c", 2}]'
    with pytest.raises(LayerGraphError) as e:
        NetGraph({"a": Ramp, "c": CatenateLayer()}, [("a", NetPort("c", 2))], Input=2)
    assert e.value.identifier == "NetGraph::mismatchmi"


def test_real_ports():
    from layergraph.wolfram import NetTrain
    net = NetChain([LinearLayer(4), Ramp, LinearLayer(())], Input=3)
    assert net.compile().out_dims == {"Output": ()}
    assert "Output port:      real" in repr(net)
    n = init(net)
    y = n([1.0, 2.0, 3.0])
    assert np.ndim(y) == 0 and n(np.ones((5, 3))).shape == (5,)
    t = NetChain([Tanh], Input="Real")
    np.testing.assert_allclose(t(0.5), np.tanh(0.5), rtol=1e-6)
    np.testing.assert_allclose(t([0.1, 0.2]), np.tanh([0.1, 0.2]), rtol=1e-6)
    with pytest.raises(LayerGraphError, match="rank"):
        NetChain([BatchNormalizationLayer()], Input="Real")
    X = R.standard_normal((40, 3))
    trained = NetTrain(n, (X, X.sum(axis=1)), MaxTrainingRounds=2, TrainingProgressReporting=None)
    assert trained(X).shape == (40,)


def test_linear_layer_size_from_the_output_port():
    from layergraph.wolfram import Information, NetDecoder
    net = NetChain([LinearLayer(), SoftmaxLayer()], Input=3, Output=NetDecoder(("Class", ["a", "b", "c", "d"])))
    assert net.compile().out_dims == {"Output": (4,)}
    assert Information(net, "ArraysDimensions")[("1", "Weights")] == (4, 3)
    assert NetExtract(init(net), (1, "Weights")).shape == (4, 3)
    assert NetChain([LinearLayer(), Tanh], Input=3, Output=2).compile().out_dims == {"Output": (2,)}


def test_value_at_an_inner_port():
    net = init(NetChain({"a": LinearLayer(4), "r": Ramp, "sub": NetChain({"l": LinearLayer(3), "t": Tanh}),
                         "s": SoftmaxLayer()}, Input=2))
    x = np.array([1.0, 2.0])
    a = net(x, NetPort("a", "Output"))
    np.testing.assert_allclose(a, NetExtract(net, "a")(x), rtol=1e-6)
    np.testing.assert_allclose(net(x, NetPort(2, "Output")), np.maximum(a, 0), rtol=1e-6)
    inner = net(x, NetPort(("sub", "l"), "Output"))
    np.testing.assert_allclose(net(x, NetPort("sub", "Output")), np.tanh(inner), rtol=1e-5)
    assert net(np.ones((5, 2)), NetPort("a", "Output")).shape == (5, 4)
    with pytest.raises(LayerGraphError):
        net(x, NetPort("zz", "Output"))
    with pytest.raises(LayerGraphError):
        net(x, NetPort("a", "Nope"))
