"""Wolfram shared arrays: NetArray, NetInsertSharedArrays, NetExtract / NetReplacePart with
NetArray, Information, the layer printout, and the BatchNormalizationLayer page's example
(Scaling and Biases shared, MovingMean and MovingVariance not)."""
import numpy as np
import pytest

from layergraph.wolfram import (
    All,
    Automatic,
    BatchNormalizationLayer,
    Information,
    LayerGraphError,
    LinearLayer,
    NetArray,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetInsertSharedArrays,
    NetReplacePart,
    NetSharedArray,
    NetTrain,
    Ramp,
    Tanh,
    TotalLayer,
)

R = np.random.default_rng(0)


def _train(net, x, y, **kw):
    return NetTrain(net, (x, y), MaxTrainingRounds=kw.pop("rounds", 5), BatchSize=10,
                    TrainingProgressReporting=None, RandomSeeding=1, **kw)


def test_batch_normalization_page_example_scaling_and_biases_shared_moving_statistics_not():
    # "Create a BatchNormalizationLayer with shared arrays; train it on data; extract the trained
    # batch normalization layers: Scaling and Biases were shared, but not MovingMean or MovingVariance."
    bn = NetInsertSharedArrays(BatchNormalizationLayer())
    assert bn.shared == {"Biases": "Biases", "Scaling": "Scaling"}
    net = NetChain([bn, LinearLayer(3), Ramp, bn, LinearLayer(2)], Input=3)
    x = R.normal(size=(60, 3)).astype(np.float32) * 2 + 1
    y = np.stack([x.sum(axis=1), x[:, 0] - x[:, 2]], axis=1).astype(np.float32)
    trained = _train(net, x, y)
    first, second = NetExtract(trained, "1"), NetExtract(trained, "4")
    for name in ("Scaling", "Biases"):
        np.testing.assert_array_equal(NetExtract(first, name), NetExtract(second, name))
        assert first.shared[name] == second.shared[name] == name
    assert not np.allclose(NetExtract(first, "Scaling"), 1.0)   # trained
    for name in ("MovingMean", "MovingVariance"):
        assert name not in first.shared
        assert not np.allclose(NetExtract(first, name), NetExtract(second, name))
    np.testing.assert_array_equal(NetExtract(trained, NetArray("Scaling")), NetExtract(first, "Scaling"))
    assert Information(trained, "SharedArraysCount") == 2


def test_moving_statistics_cannot_be_shared():
    for name in ("MovingMean", "MovingVariance"):
        with pytest.raises(LayerGraphError, match=f"\"{name}\" of BatchNormalizationLayer is an auxiliary array") \
                as err:
            BatchNormalizationLayer(**{name: NetArray("m")})
        assert err.value.identifier == "NetArray::auxshare"
    layer = NetInitialize(BatchNormalizationLayer(Input=3))
    with pytest.raises(LayerGraphError, match="auxiliary array"):
        NetReplacePart(layer, {"MovingMean": NetArray("m")})
    BatchNormalizationLayer(Scaling=NetArray("s"), Biases=NetArray("b"))   # the trained arrays can be


def test_linear_layers_sharing_weights_initialize_to_one_value_and_train_as_one():
    net = NetChain([LinearLayer(3, Weights=NetArray("w")), Tanh, LinearLayer(3, Weights=NetArray("w"))], Input=3)
    net = NetInitialize(net)
    w = NetExtract(net, NetArray("w"))
    np.testing.assert_array_equal(NetExtract(net, (1, "Weights")), w)
    np.testing.assert_array_equal(NetExtract(net, (3, "Weights")), w)
    x = R.normal(size=(40, 3)).astype(np.float32)
    trained = _train(net, x, np.tanh(x))
    w2 = NetExtract(trained, NetArray("w"))
    assert not np.allclose(w2, w)
    np.testing.assert_array_equal(NetExtract(trained, (1, "Weights")), w2)
    np.testing.assert_array_equal(NetExtract(trained, (3, "Weights")), w2)
    # the two layers compute with the one array
    np.testing.assert_allclose(trained(x[:2]), np.tanh(x[:2] @ w2.T + NetExtract(trained, (1, "Biases"))) @ w2.T
                               + NetExtract(trained, (3, "Biases")), rtol=1e-5, atol=1e-6)


def test_information_counts_a_shared_array_once():
    net = NetInitialize(NetChain([LinearLayer(4, Weights=NetArray("w")), LinearLayer(4, Weights=NetArray("w"))],
                                 Input=4))
    assert Information(net, "SharedArraysCount") == 1
    assert Information(net, "ArraysCount") == 3    # w once, two biases
    assert Information(net, "ArraysTotalElementCount") == 16 + 4 + 4
    arrays = Information(net, "Arrays")
    assert list(arrays) == [NetArray("w"), ("1", "Biases"), ("2", "Biases")]
    assert Information(net, "ArraysDimensions")[NetArray("w")] == (4, 4)
    assert Information(NetChain([LinearLayer(2)], Input=2), "SharedArraysCount") == 0


def test_net_insert_shared_arrays_names_by_position_and_shares_copies():
    chain = NetChain([LinearLayer(3), LinearLayer(2)], Input=2)
    shared = NetInsertSharedArrays(chain)
    assert NetExtract(shared, "1").shared == {"Weights": "1/Weights", "Biases": "1/Biases"}
    assert NetExtract(NetInsertSharedArrays(chain, "enc/"), "2").shared == {"Weights": "enc/2/Weights",
                                                                            "Biases": "enc/2/Biases"}
    assert NetInsertSharedArrays(LinearLayer(2)).shared == {"Weights": "Weights", "Biases": "Biases"}
    # the same shared net used twice in a graph: one set of arrays
    enc = NetInsertSharedArrays(NetChain([LinearLayer(3)], Input=2), "enc/")
    g = NetInitialize(NetGraph({"a": enc, "b": enc, "t": TotalLayer()}, [("a", "t"), ("b", "t")],
                               Input1=2, Input2=2))
    np.testing.assert_array_equal(NetExtract(g, ("a", "1", "Weights")), NetExtract(g, ("b", "1", "Weights")))
    assert Information(g, "ArraysCount") == 2
    assert set(NetExtract(g, NetArray(All))) == {NetArray("enc/1/Weights"), NetArray("enc/1/Biases")}


def test_net_insert_shared_arrays_messages():
    from layergraph.wolfram.messages import WolframMessage
    plain = NetChain([Tanh], Input=3)
    with pytest.warns(WolframMessage, match="NetInsertSharedArrays::noarr"):
        assert NetInsertSharedArrays(plain) is plain
    with pytest.raises(LayerGraphError, match="Prefix 3 should be either None or a string"):
        NetInsertSharedArrays(plain, 3)
    clash = NetChain([LinearLayer(2, Biases=NetArray("2/Weights")), LinearLayer(2)], Input=2)
    with pytest.raises(LayerGraphError, match="target name \"2/Weights\" already exists") as err:
        NetInsertSharedArrays(clash)
    assert err.value.identifier == "NetInsertSharedArrays::nameclash"


def test_net_extract_and_net_replace_part_with_net_array():
    net = NetChain([LinearLayer(2, Weights=NetArray("w")), LinearLayer(2, Weights=NetArray("w"))], Input=2)
    assert NetExtract(net, NetArray("w")) is Automatic   # before NetInitialize
    v = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    replaced = NetReplacePart(net, {NetArray("w"): v})
    np.testing.assert_array_equal(NetExtract(replaced, (1, "Weights")), v)
    np.testing.assert_array_equal(NetExtract(replaced, (2, "Weights")), v)
    every = NetExtract(replaced, NetArray(All))
    assert list(every) == [NetArray("w")]
    np.testing.assert_array_equal(every[NetArray("w")], v)
    with pytest.raises(LayerGraphError, match="not a part of the net"):
        NetExtract(net, NetArray("nope"))
    with pytest.raises(LayerGraphError, match="not a part of the net"):
        NetReplacePart(net, {NetArray("nope"): v})
    # a value at one position replaces the NetArray there (that layer no longer shares)
    one = NetReplacePart(replaced, {(1, "Weights"): 2 * v})
    assert "Weights" not in NetExtract(one, "1").shared and NetExtract(one, "2").shared == {"Weights": "w"}
    # an array made shared keeps its value
    made = NetReplacePart(NetInitialize(NetChain([LinearLayer(2)], Input=2)), {(1, "Biases"): NetArray("b")})
    assert NetExtract(made, "1").shared == {"Biases": "b"}
    np.testing.assert_array_equal(NetExtract(made, NetArray("b")), np.zeros(2))


def test_one_name_two_dimensions_or_values_is_an_error():
    with pytest.raises(LayerGraphError, match=r"Inferred inconsistent dimensions for NetArray\[\"w\"\]") as err:
        NetChain([LinearLayer(3, Weights=NetArray("w")), LinearLayer(3), LinearLayer(4, Weights=NetArray("w"))],
                 Input=2).compile()
    assert err.value.identifier == "General::tyfail2"
    with pytest.raises(LayerGraphError, match="inconsistent dimensions"):
        NetChain([LinearLayer(3, Weights=NetArray("w", Dimensions=(3, 5)))], Input=2).compile()
    a = LinearLayer(2, Weights=NetArray("w", Array=np.eye(2)))
    b = LinearLayer(2, Weights=NetArray("w", Array=2 * np.eye(2)))
    with pytest.raises(LayerGraphError, match="two different values"):
        NetChain([a, b], Input=2).compile()


def test_net_array_names_properties_and_printout():
    assert NetArray().name != NetArray().name   # UUIDs
    assert NetSharedArray("x") == NetArray("x") and repr(NetArray("x")) == 'NetArray["x"]'
    na = NetArray(Name="x", Array=[1.0, 2.0])
    assert na["Name"] == "x" and na["Dimensions"] == (2,)
    layer = NetInitialize(LinearLayer(2, Weights=NetArray("w"), Input=3))
    text = repr(layer)
    assert "Weights: matrix (size: 2\u00d73)  (shared as w)" in text
    assert "(shared as" not in text.split("Biases")[1]


def test_uses_of_one_name_need_one_learning_rate_multiplier():
    net = NetChain([LinearLayer(3, Weights=NetArray("w")), Tanh, LinearLayer(3, Weights=NetArray("w"))], Input=3)
    x = R.normal(size=(20, 3)).astype(np.float32)
    with pytest.raises(LayerGraphError, match="Shared array 'w' is one array, so its members must have one "
                                              "learn-rate factor"):
        _train(net, x, x, LearningRateMultipliers={"1": 0})
    before = NetInitialize(net)   # one multiplier for every use is fine
    after = _train(before, x, x, LearningRateMultipliers=0.5, rounds=1)
    assert not np.array_equal(NetExtract(after, NetArray("w")), NetExtract(before, NetArray("w")))
