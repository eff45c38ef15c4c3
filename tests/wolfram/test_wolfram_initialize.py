"""NetInitialize: methods, fans, seeding, what is filled and what is kept."""
import numpy as np
import pytest

from layergraph.wolfram import (
    All,
    Automatic,
    ConvolutionLayer,
    LayerGraphError,
    LinearLayer,
    NetChain,
    NetExtract,
    NetInitialize,
)


def weights(net, **kw):
    return NetExtract(NetInitialize(net, **kw), (1, "Weights")).astype(np.float64)


BIG = NetChain([LinearLayer(400)], Input=300)


def test_default_is_kaiming_normal_and_seeded():
    w = weights(BIG)
    assert w.shape == (400, 300)
    assert w.std() == pytest.approx(np.sqrt(2 / 300), rel=0.02) and abs(w.mean()) < 0.01
    np.testing.assert_array_equal(w, weights(BIG))                     # RandomSeeding -> 1234
    assert not np.array_equal(w, weights(BIG, RandomSeeding=7))
    assert not np.array_equal(weights(BIG, RandomSeeding=Automatic), weights(BIG, RandomSeeding=Automatic))


def test_kaiming_uniform():
    w = weights(BIG, Method=("Kaiming", {"Distribution": "Uniform"}))
    bound = np.sqrt(3 * 2 / 300)
    assert w.max() <= bound and w.min() >= -bound and w.std() == pytest.approx(np.sqrt(2 / 300), rel=0.02)


@pytest.mark.parametrize("factor,var", [("Mean", 2 / 700), ("In", 2 / 300), ("Out", 2 / 400)])
def test_xavier(factor, var):
    w = weights(BIG, Method=("Xavier", {"FactorType": factor}))
    assert w.std() == pytest.approx(np.sqrt(var), rel=0.02)


def test_orthogonal_and_random():
    w = weights(NetChain([LinearLayer(50)], Input=80), Method="Orthogonal")
    np.testing.assert_allclose(w @ w.T, np.eye(50), atol=1e-5)
    assert weights(BIG, Method="Random").std() == pytest.approx(1.0, rel=0.02)
    assert weights(BIG, Method=("Random", {"Weights": 0.1})).std() == pytest.approx(0.1, rel=0.02)


def test_convolution_fans_are_wolframs():
    net = NetChain([ConvolutionLayer(64, 3)], Input=(20, 10, 10))
    w = weights(net)
    assert w.shape == (64, 20, 3, 3)
    assert w.std() == pytest.approx(np.sqrt(2 / (20 * 9)), rel=0.03)     # fanIn = Times @@ Rest[dims]
    w = weights(net, Method="Xavier")
    assert w.std() == pytest.approx(np.sqrt(2 / (20 * 9 + 64)), rel=0.03)  # fanOut = First[dims]


def test_fills_only_missing_arrays_unless_all_and_none_removes():
    net = NetChain([LinearLayer(2, Weights=np.ones((2, 3)))], Input=3)
    init = NetInitialize(net)
    np.testing.assert_array_equal(NetExtract(init, (1, "Weights")), np.ones((2, 3)))
    np.testing.assert_array_equal(NetExtract(init, (1, "Biases")), np.zeros(2))
    assert not np.array_equal(NetExtract(NetInitialize(net, All), (1, "Weights")), np.ones((2, 3)))
    assert NetExtract(NetInitialize(init, None), (1, "Weights")) is Automatic
    assert [n.initialized for n in NetInitialize([net, net])] == [True, True]


@pytest.mark.parametrize("method", ["Nope", ("Kaiming", {"Distribution": "Cauchy"}), ("Xavier", {"FactorType": "X"}),
                                    ("Random", {"Biases": 0.1}), ("Orthogonal", {"Distribution": "Normal"})])
def test_bad_methods(method):
    with pytest.raises(LayerGraphError) as e:
        NetInitialize(BIG, Method=method)
    assert e.value.identifier == "NetInitialize::invmethod"


def test_second_argument():
    with pytest.raises(LayerGraphError) as e:
        NetInitialize(BIG, "All")
    assert e.value.identifier == "NetInitialize::arg2"
