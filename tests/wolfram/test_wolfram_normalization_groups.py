"""NormalizationLayer's "GroupNumber", "Unbiased" and Method -> "RMS" against a NumPy
formula of the documented semantics, the core layers they build, and the errors in
Wolfram's words."""
import numpy as np
import pytest

from layergraph import layers as L
from layergraph.wolfram import (
    All,
    LayerGraphError,
    NetChain,
    NetExtract,
    NetInitialize,
    NormalizationLayer,
    Span,
)

R = np.random.default_rng(12)


def numpy_norm(x, groups, scaling, biases, eps, per_channel_levels, unbiased=False, rms=False):
    """One example x (C x ...): channels split into ``groups`` groups; each group normalized over
    its channels and the levels in ``per_channel_levels`` (all other levels)."""
    c = x.shape[0]
    xg = x.reshape(groups, -1)
    m = np.zeros((groups, 1)) if rms else xg.mean(axis=1, keepdims=True)
    d = xg.shape[1] - (1 if unbiased else 0)
    v = ((xg - m) ** 2).sum(axis=1, keepdims=True) / d
    y = ((xg - m) / np.sqrt(v + eps)).reshape(x.shape)
    shape = (c,) + (1,) * (x.ndim - 1)
    return scaling.reshape(shape) * y + biases.reshape(shape)


def core_spec(layer, dims):
    info = NetChain([layer], Input=dims).compile().leaves[("1",)]
    return info.built.specs[info.built.main]


@pytest.mark.parametrize("group_number", [(3, None, None), [3, 1, 1], 3])
def test_group_number_splits_the_channels(group_number):
    x = R.standard_normal((6, 4, 5)) * 3 + 1
    s, b = R.standard_normal(6), R.standard_normal(6)
    layer = NormalizationLayer(Span(1, All), 1, GroupNumber=group_number, Scaling=s, Biases=b, Input=(6, 4, 5))
    np.testing.assert_allclose(layer(x), numpy_norm(x, 3, s, b, 1e-3, None), rtol=1e-4, atol=1e-5)
    spec = core_spec(layer, (6, 4, 5))
    assert type(spec) is L.GroupNormalizationLayer
    assert (spec.NumGroups, spec.Epsilon, spec.unbiased, spec.rms) == (3, 0.001, False, False)


def test_group_number_on_a_vector_and_a_batch():
    x = R.standard_normal((5, 8))
    layer = NetInitialize(NormalizationLayer(Span(1, All), 1, GroupNumber=[4], Input=8))
    ref = np.stack([numpy_norm(v, 4, np.ones(8), np.zeros(8), 1e-3, None) for v in x])
    np.testing.assert_allclose(layer(list(x)), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("unbiased, method", [(True, "Standardize"), (False, "RMS"), (True, "RMS")])
def test_unbiased_and_rms_on_the_default_levels(unbiased, method):
    x = R.standard_normal((3, 4, 5)) + 2
    s, b = R.standard_normal(3), R.standard_normal(3)
    layer = NormalizationLayer(Unbiased=unbiased, Method=method, Scaling=s, Biases=b, Input=(3, 4, 5))
    ref = numpy_norm(x, 3, s, b, 1e-3, None, unbiased=unbiased, rms=method == "RMS")
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)
    spec = core_spec(layer, (3, 4, 5))
    assert type(spec) is L.InstanceNormalizationLayer and (spec.unbiased, spec.rms) == (unbiased, method == "RMS")


def test_groups_with_unbiased_rms_and_a_small_epsilon():
    x = R.standard_normal((4, 3, 3))
    s, b = R.standard_normal(4), R.standard_normal(4)
    layer = NormalizationLayer(Span(1, All), 1, GroupNumber=(2, None, None), Unbiased=True, Method="RMS",
                               Epsilon=1e-7, Scaling=s, Biases=b, Input=(4, 3, 3))
    ref = numpy_norm(x, 2, s, b, 1e-7, None, unbiased=True, rms=True)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)


def test_whole_example_with_options_is_group_norm_with_one_group():
    x = R.standard_normal((3, 4, 5))
    layer = NetInitialize(NormalizationLayer(Span(1, All), 1, Method="RMS", Input=(3, 4, 5)))
    ref = numpy_norm(x, 1, np.ones(3), np.zeros(3), 1e-3, None, rms=True)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)
    assert core_spec(layer, (3, 4, 5)).NumGroups == 1
    # without options it stays the core's layer normalization
    assert type(core_spec(NormalizationLayer(Span(1, All), 1), (3, 4, 5))) is L.LayerNormalizationLayer
    assert type(core_spec(NormalizationLayer(Span(1, All), 1, GroupNumber=(1, None, None)), (3, 4, 5))) is \
        L.LayerNormalizationLayer


def test_options_read_back():
    layer = NormalizationLayer(Span(1, All), 1, GroupNumber=[2, None, None], Unbiased=True, Method="RMS")
    assert NetExtract(layer, "GroupNumber") == (2, None, None)
    assert NetExtract(layer, "Unbiased") is True and NetExtract(layer, "Method") == "RMS"
    plain = NormalizationLayer()
    assert (NetExtract(plain, "GroupNumber"), NetExtract(plain, "Unbiased"), NetExtract(plain, "Method")) == (
        None, False, "Standardize")
    assert "GroupNumber" in repr(layer) and "{2, None, None}" in repr(layer)


def test_training_a_group_normalization_gives_finite_gradients():
    from layergraph.wolfram import LinearLayer, NetTrain
    net = NetChain([NormalizationLayer(Span(1, All), 1, GroupNumber=(2, None, None), Unbiased=True), LinearLayer(1)],
                   Input=(4, 3, 3))
    xs = R.standard_normal((16, 4, 3, 3))
    ys = xs.reshape(16, -1)[:, :1] * 2.0
    trained = NetTrain(net, {"Input": list(xs), "Output": list(ys)}, MaxTrainingRounds=3, BatchSize=8,
                       RandomSeeding=1)
    s = NetExtract(trained, (1, "Scaling"))
    assert np.all(np.isfinite(s)) and not np.allclose(s, 1)


@pytest.mark.parametrize("options, fragment", [
    (dict(GroupNumber=0), '"GroupNumber" -> 0 should be None, a positive integer or a list'),
    (dict(GroupNumber="2"), '"GroupNumber" -> "2" should be'),
    (dict(GroupNumber=[2, 0]), '"GroupNumber" -> {2, 0} should be'),
    (dict(Unbiased=1), '"Unbiased" -> 1 should be True or False'),
    (dict(Method="L2"), 'Method -> "L2" should be "Standardize" or "RMS"'),
])
def test_bad_option_values_name_the_option(options, fragment):
    with pytest.raises(LayerGraphError) as info:
        NormalizationLayer(**options)
    assert "Invalid argument for NormalizationLayer" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("layer, dims, fragment", [
    (NormalizationLayer(Span(1, All), 1, GroupNumber=(4, None, None)), (6, 4, 5),
     'the dimension 6 of level 1 is not a multiple of its "GroupNumber" 4'),
    (NormalizationLayer(Span(1, All), 1, GroupNumber=(2, None)), (6, 4, 5),
     '"GroupNumber" -> {2, None} should have one entry for each of the 3 aggregation levels {1, 2, 3}'),
    (NormalizationLayer(GroupNumber=2), (6, 4, 4), 'splits level 2; only splitting level 1'),
    (NormalizationLayer(Span(1, All), 1, GroupNumber=(None, 2, None)), (6, 4, 5), "splits level 2"),
])
def test_bad_groups_for_the_input(layer, dims, fragment):
    with pytest.raises(LayerGraphError) as info:
        NetChain([layer], Input=dims)
    assert fragment in str(info.value)
