"""NetExtract, NetReplacePart, NetTake, NetDrop, NetAppend, NetPrepend, NetInsert, NetDelete,
NetJoin, NetFlatten, NetRename."""
import numpy as np
import pytest

from layergraph.wolfram import (
    All,
    Automatic,
    BatchNormalizationLayer,
    ElementwiseLayer,
    LayerGraphError,
    LinearLayer,
    NetAppend,
    NetChain,
    NetDelete,
    NetDrop,
    NetExtract,
    NetFlatten,
    NetGraph,
    NetInitialize,
    NetInsert,
    NetJoin,
    NetPort,
    NetPrepend,
    NetRename,
    NetReplacePart,
    NetTake,
    Normal,
    Ramp,
    SoftmaxLayer,
    Tanh,
    TotalLayer,
)

R = np.random.default_rng(9)


def chain():
    return NetInitialize(NetChain([LinearLayer(5), Ramp, LinearLayer(3), SoftmaxLayer()], Input=4), RandomSeeding=2)


def test_extract_forms():
    net = chain()
    assert isinstance(NetExtract(net, 1), LinearLayer)
    assert isinstance(NetExtract(net, "2"), ElementwiseLayer)
    assert NetExtract(net, (1, "Weights")).shape == (5, 4)
    assert net[1, "Weights"].shape == (5, 4)
    assert NetExtract(net, -1).head == "SoftmaxLayer"
    assert list(NetExtract(net, All)) == ["1", "2", "3", "4"]
    assert len(NetExtract(net, [1, 3])) == 2
    assert NetExtract(net, "Input") == (4,)
    assert NetExtract(NetChain([LinearLayer(2)], Input=2), (1, "Weights")) is Automatic
    assert len(Normal(net)) == 4 and len(net) == 4
    # an extracted layer evaluates on its own (its input dims come from the net)
    x = R.standard_normal(4)
    np.testing.assert_allclose(NetExtract(net, 1)(x), NetTake(net, 1)(x), rtol=1e-6)
    with pytest.raises(LayerGraphError):
        NetExtract(net, 7)
    with pytest.raises(LayerGraphError):
        NetExtract(net, (1, "Scaling"))


def test_extracted_arrays_are_copies():
    net = chain()
    w = NetExtract(net, (1, "Weights"))
    w[:] = 0
    assert np.any(NetExtract(net, (1, "Weights")) != 0)


def test_replace_part():
    net = chain()
    w = np.ones((5, 4))
    new = NetReplacePart(net, {(1, "Weights"): w})
    np.testing.assert_array_equal(NetExtract(new, (1, "Weights")), w)
    assert np.any(NetExtract(net, (1, "Weights")) != 1)  # the original is unchanged
    new2 = NetReplacePart(net, (2, ElementwiseLayer(Tanh)))
    assert NetExtract(new2, 2).params["Function"] is Tanh
    with pytest.raises(LayerGraphError, match="dimensions"):
        NetReplacePart(net, {(1, "Weights"): np.ones((2, 2))})
    with pytest.raises(LayerGraphError):
        NetReplacePart(net, {"Input": 7})   # the weights need 4 inputs
    layer = NetReplacePart(LinearLayer(2, Input=3), {"Weights": np.ones((2, 3))})
    assert NetExtract(layer, "Weights").shape == (2, 3)
    bn = NetReplacePart(BatchNormalizationLayer(Input=2), {"MovingVariance": [1.0, 2.0]})
    with pytest.raises(LayerGraphError, match="negative"):
        NetReplacePart(bn, {"MovingVariance": [-1.0, 2.0]})


def test_take_drop():
    net = chain()
    x = R.standard_normal(4)
    head = NetTake(net, 2)
    assert len(head) == 2 and head.compile().out_dims["Output"] == (5,)
    np.testing.assert_allclose(head(x), np.maximum(NetExtract(net, 1)(x), 0), rtol=1e-6)
    mid = NetTake(net, (2, 3))
    assert list(mid._nodes) == ["1", "2"]  # numbered names follow the position
    tail = NetDrop(net, 2)
    np.testing.assert_allclose(tail(head(x)), net(x), rtol=1e-5)
    assert len(NetDrop(net, -1)) == 3
    assert len(NetDrop(net, (2, 3))) == 2
    with pytest.raises(LayerGraphError):
        NetDrop(net, 9)


def test_take_from_graph():
    g = NetGraph({"a": LinearLayer(3), "b": Ramp, "c": Tanh}, [["a", "b", "c"]], Input=2)
    assert list(NetTake(g, "b")._nodes) == ["a", "b"]


def test_append_prepend_insert_delete():
    net = NetChain([LinearLayer(5), Ramp], Input=4)
    app = NetAppend(net, LinearLayer(2))
    assert list(app._nodes) == ["1", "2", "3"] and app.compile().out_dims["Output"] == (2,)
    pre = NetPrepend(net, ElementwiseLayer(Tanh))
    assert list(pre._nodes) == ["1", "2", "3"] and isinstance(NetExtract(pre, 1), ElementwiseLayer)
    ins = NetInsert(net, ElementwiseLayer(Tanh), 2)
    assert [n.head for n in Normal(ins)] == ["LinearLayer", "ElementwiseLayer", "ElementwiseLayer"]
    named = NetChain({"a": LinearLayer(5), "b": Ramp}, Input=4)
    ins2 = NetInsert(named, ("t", ElementwiseLayer(Tanh)), 2)
    assert list(ins2._nodes) == ["a", "t", "b"]
    assert list(NetDelete(named, "b")._nodes) == ["a"]
    assert len(NetDelete(app, [2, 3])) == 1
    with pytest.raises(LayerGraphError):
        NetAppend(named, {"a": Ramp})   # the name is taken
    with pytest.raises(LayerGraphError):
        NetInsert(net, LinearLayer(3, Input=9), 2)  # shapes do not fit


def test_delete_in_graph():
    g = NetGraph({"a": LinearLayer(3), "b": Ramp, "c": Tanh}, [("a", ("b", "c"))], Input=2)
    assert NetDelete(g, "c")._output_names() == ["Output"]
    # the one output left is named "Output" again (UNCONFIRMED: Wolfram may keep "Output1")
    assert NetDelete(g, NetPort("Output2"))._output_names() == ["Output"]


def test_join():
    a = NetChain([LinearLayer(3), Ramp], Input=2)
    b = NetChain([LinearLayer(4), Tanh])
    j = NetJoin(a, b)
    assert list(j._nodes) == ["1", "2", "3", "4"] and j.compile().out_dims["Output"] == (4,)
    na = NetChain({"x": LinearLayer(3)}, Input=2)
    nb = NetChain({"x": Ramp})
    assert list(NetJoin(na, nb)._nodes) == ["x", "x2"]


def test_flatten():
    net = NetChain([NetChain([LinearLayer(3), Ramp]), NetChain({"t": Tanh})], Input=2)
    flat = NetFlatten(net)
    assert list(flat._nodes) == ["1/1", "1/2", "2/t"]
    inner = NetChain([LinearLayer(3), Ramp])
    g = NetGraph({"a": inner, "b": inner, "s": TotalLayer()}, [(NetPort("Input"), ("a", "b")), (("a", "b"), "s")],
                 Input=2)
    gi = NetInitialize(g, RandomSeeding=3)
    fg = NetFlatten(gi)
    assert list(fg._nodes) == ["a/1", "a/2", "b/1", "b/2", "s"]
    x = R.standard_normal(2)
    np.testing.assert_allclose(fg(x), gi(x), rtol=1e-6)


def test_rename():
    net = NetChain({"a": LinearLayer(3), "b": Ramp}, Input=2)
    r = NetRename(net, {"a": "lin"})
    assert list(r._nodes) == ["lin", "b"]
    g = NetGraph({"a": LinearLayer(3)}, [], Input=2)
    g2 = NetRename(g, {NetPort("Input"): NetPort("x")})
    assert g2._input_names() == ["x"]
    with pytest.raises(LayerGraphError):
        NetRename(net, {"a": "b"})
