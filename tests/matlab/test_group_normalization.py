"""groupNormalizationLayer and instanceNormalizationLayer: constructor arguments, defaults,
displays, errors at construction and at network assembly, values against PyTorch, float64
finite differences through the executor, and a save/load round trip."""
import numpy as np
import pytest
import torch

import layergraph.io as lio
from layergraph import (
    LayerGraphError,
    NetworkAnalysisError,
    dlnetwork,
    fullyConnectedLayer,
    groupNormalizationLayer,
    imageInputLayer,
    instanceNormalizationLayer,
    layerNormalizationLayer,
    predict,
    rng,
)
from layergraph.core import conventions as cv
from layergraph.core.layer import AUTO
from layergraph.layers import GroupNormalizationLayer, InstanceNormalizationLayer

R = np.random.default_rng(5)


def _net(layer, size=(5, 4, 6)):
    return dlnetwork([imageInputLayer(list(size), "Normalization", "none", "Name", "in"), layer])


def _torch_group_norm(X, g, scale, offset, eps):
    """X in MATLAB's H x W x C x N layout; returns the same layout."""
    t = torch.tensor(np.ascontiguousarray(X.transpose(3, 2, 0, 1)))
    y = torch.nn.functional.group_norm(t, g, torch.tensor(scale), torch.tensor(offset), eps=eps).numpy()
    return y.transpose(2, 3, 1, 0)


# -- construction -------------------------------------------------------------------------------
@pytest.mark.parametrize("given, stored, groups", [(3, 3, 3), (np.int64(2), 2, 2), (1.0, 1, 1),
                                                   ("all-channels", "all-channels", 1),
                                                   ("Channel-Wise", "channel-wise", 6)])
def test_num_groups_forms(given, stored, groups):
    layer = groupNormalizationLayer(given)
    assert layer.NumGroups == stored and type(layer.NumGroups) is type(stored)
    assert layer.num_groups(6) == groups


def test_defaults_and_name_value_arguments():
    layer = groupNormalizationLayer(2)
    assert (layer.Name, layer.NumChannels, layer.Epsilon) == ("", AUTO, 1e-5)
    assert (layer.ScaleInitializer, layer.OffsetInitializer) == ("ones", "zeros")
    assert (layer.ScaleLearnRateFactor, layer.OffsetLearnRateFactor, layer.ScaleL2Factor, layer.OffsetL2Factor) == (
        1, 1, 1, 1)
    assert layer.Scale is None and layer.Offset is None
    assert not layer.unbiased and not layer.rms
    a = groupNormalizationLayer(4, "Epsilon", 1e-3, "Name", "gn", "ScaleL2Factor", 0, "OffsetLearnRateFactor", 2)
    b = groupNormalizationLayer(4, Epsilon=1e-3, Name="gn", ScaleL2Factor=0, OffsetLearnRateFactor=2)
    c = groupNormalizationLayer(4, "eps", 1e-3, "name", "gn", "ScaleL2", 0, "OffsetLearn", 2)
    assert a == b == c
    assert groupNormalizationLayer("channel-wise", "ScaleInitializer", "narrow-normal").ScaleInitializer == \
        "narrow-normal"
    inst = instanceNormalizationLayer("Name", "in1", "Epsilon", 1e-4)
    assert type(inst) is InstanceNormalizationLayer and (inst.Name, inst.Epsilon) == ("in1", 1e-4)
    assert "NumGroups" not in inst.properties()


def test_property_groups_and_types():
    layer = groupNormalizationLayer(2)
    assert [(t, tuple(n)) for t, n in layer.property_groups()] == [
        ("", ("Name", "NumGroups", "NumChannels")), ("Hyperparameters", ("Epsilon",)),
        ("Learnable Parameters", ("Offset", "Scale"))]
    assert (layer.Type, layer.DefaultName) == ("Group Normalization", "groupnorm")
    inst = instanceNormalizationLayer()
    assert [(t, tuple(n)) for t, n in inst.property_groups()] == [
        ("", ("Name", "NumChannels")), ("Hyperparameters", ("Epsilon",)), ("Learnable Parameters", ("Offset", "Scale"))]
    # Wolfram's options are internal fields: neither MATLAB properties nor constructor arguments
    assert "unbiased" not in layer.properties() and "rms" not in layer.properties()
    with pytest.raises(LayerGraphError, match="'unbiased' is not a recognized parameter"):
        groupNormalizationLayer(2, "unbiased", True)


@pytest.mark.parametrize("call, fragments", [
    (lambda: groupNormalizationLayer(0), ["'NumGroups'", "0", "positive integer, 'all-channels' or 'channel-wise'"]),
    (lambda: groupNormalizationLayer(2.5), ["'NumGroups'", "2.5", "positive integer"]),
    (lambda: groupNormalizationLayer("all"), ["'NumGroups'", "'all'", "'all-channels'"]),
    (lambda: groupNormalizationLayer(4, "NumChannels", 6), ["'NumGroups'", "divide the number of channels (6)"]),
    (lambda: groupNormalizationLayer(2, "Epsilon", 1e-7), ["'Epsilon'", ">= 1e-05"]),
    (lambda: groupNormalizationLayer(2, "Scale", np.ones((1, 1, 3)), "Offset", np.ones((1, 1, 4))), ["'Offset'"]),
    (lambda: groupNormalizationLayer(), ["Not enough input arguments", "NumGroups"]),
    (lambda: instanceNormalizationLayer(2), ["Too many input arguments"]),
])
def test_bad_arguments(call, fragments):
    with pytest.raises(LayerGraphError) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_assembly_names_the_layer_when_groups_do_not_divide_the_channels():
    with pytest.raises(NetworkAnalysisError) as info:
        _net(groupNormalizationLayer(4, "Name", "gn"))
    text = str(info.value)
    assert "Layer 'gn'" in text
    assert "number of channels of the input (6) must be divisible by the number of groups (4)" in text
    with pytest.raises(NetworkAnalysisError, match="Instance normalization needs spatial dimensions"):
        from layergraph import featureInputLayer
        dlnetwork([featureInputLayer(4), instanceNormalizationLayer()])


def test_sized_descriptions():
    net = _net(groupNormalizationLayer(3, "Name", "gn"))
    gn = net.Layers[1]
    assert gn.NumChannels == 6 and gn.NumGroups == 3
    assert gn.description() == "Group normalization with 6 channels split into 3 groups"
    assert gn.Scale.shape == (1, 1, 6) and np.all(gn.Scale == 1) and np.all(gn.Offset == 0)
    assert _net(groupNormalizationLayer("all-channels")).Layers[1].description() == \
        "Group normalization with 6 channels split into 1 group"
    assert _net(groupNormalizationLayer("channel-wise")).Layers[1].NumGroups == "channel-wise"
    assert _net(instanceNormalizationLayer()).Layers[1].description() == "Instance normalization with 6 channels"
    assert "root mean square" in GroupNormalizationLayer(NumGroups=2, rms=True).description()


# -- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("groups, g", [(3, 3), (2, 2), ("all-channels", 1), ("channel-wise", 6)])
def test_predict_matches_torch_group_norm(groups, g):
    s, o = R.standard_normal(6), R.standard_normal(6)
    layer = groupNormalizationLayer(groups, "Scale", s.reshape(1, 1, 6), "Offset", o.reshape(1, 1, 6),
                                    "Epsilon", 1e-4)
    X = R.standard_normal((5, 4, 6, 3)) * 2 + 0.5
    got = predict(_net(layer), X)
    np.testing.assert_allclose(got, _torch_group_norm(X, g, s, o, 1e-4), rtol=1e-4, atol=1e-5)


def test_all_channels_is_layer_norm_and_channel_wise_is_instance_norm():
    X = R.standard_normal((5, 4, 6, 2))
    a = predict(_net(groupNormalizationLayer("all-channels")), X)
    b = predict(_net(layerNormalizationLayer()), X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    c = predict(_net(groupNormalizationLayer("channel-wise")), X)
    d = predict(_net(instanceNormalizationLayer()), X)
    np.testing.assert_array_equal(c, d)


def test_feature_input():
    from layergraph import featureInputLayer
    net = dlnetwork([featureInputLayer(6, "Name", "in"), groupNormalizationLayer(2)])
    X = R.standard_normal((4, 6))   # N x C, MATLAB's feature layout
    ref = torch.nn.functional.group_norm(torch.tensor(X), 2, eps=1e-5).numpy()
    np.testing.assert_allclose(predict(net, X), ref, rtol=1e-4, atol=1e-5)


# -- gradients through the executor ------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    groupNormalizationLayer(3, "Name", "gn"),
    instanceNormalizationLayer("Name", "gn"),
    GroupNormalizationLayer(Name="gn", NumGroups=2, unbiased=True),
    GroupNormalizationLayer(Name="gn", NumGroups="all-channels", rms=True),
    GroupNormalizationLayer(Name="gn", NumGroups=3, unbiased=True, rms=True),
], ids=["group", "instance", "unbiased", "rms", "unbiased-rms"])
def test_float64_finite_differences(layer):
    rng(0)
    net = dlnetwork([imageInputLayer([4, 3, 6], "Normalization", "none", "Name", "in"), layer,
                     fullyConnectedLayer(2, "Name", "fc")])
    ex = net.executor("cpu", np.float64)
    ex.params["gn"]["Scale"][:] = R.standard_normal(6)
    ex.params["gn"]["Offset"][:] = R.standard_normal(6)
    x = cv.matlab_images_to_internal(R.standard_normal((4, 3, 6, 2)))
    W = R.standard_normal((2, 2, 1, 1))   # the fc output, N x C x 1 x 1 inside

    def loss():
        acts = ex.forward({"in": x}, training=True)
        return float((acts[ex.output_refs()[0]] * W).sum())

    loss()
    grads = ex.backward({ex.output_refs()[0]: W})
    assert set(grads["gn"]) == {"Scale", "Offset"}
    gen = np.random.default_rng(3)
    for pname, g in grads["gn"].items():
        P = ex.params["gn"][pname]
        d = gen.standard_normal(P.shape)
        P += 1e-6 * d
        up = loss()
        P -= 2e-6 * d
        down = loss()
        P += 1e-6 * d
        assert (up - down) / 2e-6 == pytest.approx(float((g * d).sum()), rel=1e-6, abs=1e-9), pname


# -- save / load -------------------------------------------------------------------------------
def test_save_load_keeps_groups_and_wolfram_flags(tmp_path):
    rng(0)
    net = dlnetwork([imageInputLayer([4, 3, 6], "Normalization", "none", "Name", "in"),
                     GroupNormalizationLayer(Name="gn", NumGroups=3, unbiased=True, rms=True, Epsilon=1e-3)])
    lio.save(net, tmp_path / "gn.npz")
    back = lio.load(tmp_path / "gn.npz")
    gn = back.Layers[1]
    assert type(gn) is GroupNormalizationLayer
    assert (gn.NumGroups, gn.unbiased, gn.rms, gn.Epsilon) == (3, True, True, 1e-3)
    X = R.standard_normal((4, 3, 6, 2))
    np.testing.assert_array_equal(predict(net, X), predict(back, X))
    layer = groupNormalizationLayer("channel-wise", "Name", "g")
    lio.save(layer, tmp_path / "layer.npz")
    assert lio.load(tmp_path / "layer.npz") == layer
