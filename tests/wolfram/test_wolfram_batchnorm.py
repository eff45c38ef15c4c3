"""BatchNormalizationLayer as Wolfram documents it; every example of the reference page
(seeds/001) that Python can express is a test here."""
import numpy as np
import pytest

from layergraph.wolfram import (
    All,
    Automatic,
    BatchNormalizationLayer,
    ConvolutionLayer,
    LayerGraphError,
    NetChain,
    NetExtract,
    NetInitialize,
    Ramp,
)

R = np.random.default_rng(7)


def test_defaults():
    bn = BatchNormalizationLayer()
    assert NetExtract(bn, "Epsilon") == 0.001
    assert NetExtract(bn, "Momentum") == 0.9
    assert NetExtract(bn, "Interleaving") is False
    for name in ("Biases", "MovingMean", "MovingVariance", "Scaling"):
        assert NetExtract(bn, name) is Automatic


# -- Basic examples ----------------------------------------------------------------------------
def test_create():
    bn = BatchNormalizationLayer()
    assert "BatchNormalizationLayer" in repr(bn)
    assert not bn.initialized


def test_initialized_vector_layer_applied_to_a_vector():
    bn = NetInitialize(BatchNormalizationLayer(Input=3))
    y = bn([1.0, 2.0, 3.0])
    # Scaling 1, Biases 0, MovingMean 0, MovingVariance 1: x / Sqrt[1 + 0.001]
    np.testing.assert_allclose(y, np.array([1, 2, 3]) / np.sqrt(1.001), rtol=1e-6)


# -- Scope: ports ---------------------------------------------------------------------------------
def test_rank3_in_rank3_out():
    bn = NetInitialize(BatchNormalizationLayer(Input=(3, 4, 5)))
    y = bn(R.standard_normal((3, 4, 5)))
    assert y.shape == (3, 4, 5)


def test_batch_of_vectors():
    bn = NetInitialize(BatchNormalizationLayer(Input=3))
    xs = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    y = bn(xs)
    assert y.shape == (2, 3)
    np.testing.assert_allclose(y, np.array(xs) / np.sqrt(1.001), rtol=1e-6)


def test_train_mode_uses_batch_statistics():
    bn = NetInitialize(BatchNormalizationLayer(Input=3))
    xs = R.standard_normal((8, 3)) * 3 + 5
    y = bn(xs, NetEvaluationMode="Train")
    mean = xs.mean(axis=0)
    var = xs.var(axis=0)  # biased, as MXNet's and the core's
    np.testing.assert_allclose(y, (xs - mean) / np.sqrt(var + 0.001), rtol=1e-4, atol=1e-5)
    # evaluation never changes the arrays
    np.testing.assert_array_equal(NetExtract(bn, "MovingMean"), np.zeros(3))


def test_train_mode_on_images_normalizes_per_channel_over_batch_and_space():
    bn = NetInitialize(BatchNormalizationLayer(Input=(2, 3, 3)))
    xs = R.standard_normal((4, 2, 3, 3)) * 2 + 1
    y = bn(xs, NetEvaluationMode="Train")
    mean = xs.mean(axis=(0, 2, 3), keepdims=True)
    var = xs.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (xs - mean) / np.sqrt(var + 0.001), rtol=1e-4, atol=1e-5)


# -- Parameters ----------------------------------------------------------------------------------
def test_biases_given_extracted_and_default_zero():
    b = [1.0, 2.0, 3.0]
    bn = BatchNormalizationLayer(Biases=b, Input=3)
    np.testing.assert_array_equal(NetExtract(bn, "Biases"), b)
    np.testing.assert_array_equal(NetExtract(NetInitialize(bn), "Biases"), b)
    np.testing.assert_array_equal(NetExtract(NetInitialize(BatchNormalizationLayer(Input=3)), "Biases"), np.zeros(3))


def test_scaling_zero_returns_biases():
    biases = [1.5, -2.0, 0.25]
    bn = NetInitialize(BatchNormalizationLayer(Scaling=[0, 0, 0], Biases=biases, Input=3))
    for x in ([3.0, -4.0, 10.0], R.standard_normal(3) * 100):
        np.testing.assert_allclose(bn(x), biases, rtol=0, atol=0)


def test_scaling_default_is_ones():
    np.testing.assert_array_equal(NetExtract(NetInitialize(BatchNormalizationLayer(Input=4)), "Scaling"), np.ones(4))


def test_moving_statistics_defaults():
    bn = NetInitialize(BatchNormalizationLayer(Input=(2, 3, 3)))
    np.testing.assert_array_equal(NetExtract(bn, "MovingMean"), np.zeros(2))
    np.testing.assert_array_equal(NetExtract(bn, "MovingVariance"), np.ones(2))


# -- Options --------------------------------------------------------------------------------------
def test_epsilon_option():
    bn = BatchNormalizationLayer(Epsilon=0.01)
    assert NetExtract(bn, "Epsilon") == 0.01


def test_small_epsilon_allowed_though_matlab_refuses_it():
    bn = NetInitialize(BatchNormalizationLayer(Epsilon=1e-8, Input=2))
    np.testing.assert_allclose(bn([1.0, 2.0]), [1.0, 2.0], rtol=1e-6)


def test_momentum_option():
    bn = BatchNormalizationLayer(Momentum=0.5)
    assert NetExtract(bn, "Momentum") == 0.5


def test_momentum_maps_to_core_decay():
    c = NetChain([BatchNormalizationLayer(Momentum=0.8)], Input=3).compile()
    core = c.leaves[("1",)].built.specs[0]
    assert core.MeanDecay == pytest.approx(0.2) and core.VarianceDecay == pytest.approx(0.2)
    assert core.Epsilon == 0.001


# -- Applications ----------------------------------------------------------------------------------
def test_between_convolution_and_activation():
    net = NetInitialize(NetChain([ConvolutionLayer(4, 3), BatchNormalizationLayer(), Ramp], Input=(2, 6, 6)))
    y = net(R.standard_normal((2, 6, 6)))
    assert y.shape == (4, 4, 4) and (y >= 0).all()


# -- Properties & relations --------------------------------------------------------------------
def test_formula_by_hand_single_channel():
    x = R.standard_normal((1, 5)) * 2
    arrays = dict(Scaling=[1.7], Biases=[-0.3], MovingMean=[0.4], MovingVariance=[2.5])
    bn = BatchNormalizationLayer(Epsilon=0.001, Input=(1, 5), **arrays)
    by_hand = 1.7 * (x - 0.4) / np.sqrt(2.5 + 0.001) + -0.3
    np.testing.assert_allclose(bn(x), by_hand, rtol=1e-5, atol=1e-6)


def test_formula_by_hand_rank3():
    c = 3
    arrays = {k: R.uniform(0.5, 2, size=c) for k in ("Scaling", "Biases", "MovingMean", "MovingVariance")}
    bn = BatchNormalizationLayer(Input=(c, 4, 4), **arrays)
    x = R.standard_normal((c, 4, 4))
    s = lambda k: arrays[k][:, None, None]  # noqa: E731
    by_hand = s("Scaling") * (x - s("MovingMean")) / np.sqrt(s("MovingVariance") + 0.001) + s("Biases")
    np.testing.assert_allclose(bn(x), by_hand, rtol=1e-5)


def test_interleaving_puts_channels_last():
    c = 3
    arrays = {k: R.uniform(0.5, 2, size=c) for k in ("Scaling", "Biases", "MovingMean", "MovingVariance")}
    bn = BatchNormalizationLayer(Interleaving=True, Input=(4, 5, c), **arrays)
    x = R.standard_normal((4, 5, c))
    by_hand = arrays["Scaling"] * (x - arrays["MovingMean"]) / np.sqrt(arrays["MovingVariance"] + 0.001) \
        + arrays["Biases"]
    np.testing.assert_allclose(bn(x), by_hand, rtol=1e-5)


# -- Possible issues --------------------------------------------------------------------------------
def test_negative_moving_variance_is_an_error():
    with pytest.raises(LayerGraphError, match="MovingVariance"):
        BatchNormalizationLayer(MovingVariance=[-1.0, 1.0])


def test_cannot_initialize_without_dimensions():
    with pytest.raises(LayerGraphError, match="Cannot initialize net") as err:
        NetInitialize(BatchNormalizationLayer())
    assert err.value.identifier == "General::nfspec"


def test_initialize_all_replaces_given_arrays():
    bn = BatchNormalizationLayer(Biases=[5.0, 5.0], Input=2)
    np.testing.assert_array_equal(NetExtract(NetInitialize(bn, All), "Biases"), [0, 0])
