"""The core's layer specs take the widest values a dialect allows; MATLAB's constructors
add MATLAB's narrower limits (Epsilon >= 1e-5), which later assignments and loading keep."""
import numpy as np
import pytest

import layergraph as lg
from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (
    batchNormalizationLayer,
    dlnetwork,
    featureInputLayer,
    fullyConnectedLayer,
    groupNormalizationLayer,
    imageInputLayer,
    instanceNormalizationLayer,
    layerNormalizationLayer,
)

MATLAB_NORMS = [batchNormalizationLayer, layerNormalizationLayer, instanceNormalizationLayer,
                lambda **kw: groupNormalizationLayer(2, **kw)]
MESSAGE = "Expected Epsilon to be a numeric scalar with value >= 1e-05."


@pytest.mark.parametrize("make", MATLAB_NORMS)
def test_matlab_constructors_and_assignment_keep_matlab_limit(make):
    with pytest.raises(LayerGraphError, match="Invalid value for 'Epsilon' of .*: 1e-07. " + MESSAGE):
        make(Epsilon=1e-7)
    layer = make()
    with pytest.raises(LayerGraphError, match=MESSAGE):
        layer.Epsilon = 1e-7
    assert layer.Epsilon == 1e-5
    copy = layer.model_copy()       # what Layers and graph edits hand out
    with pytest.raises(LayerGraphError, match=MESSAGE):
        copy.Epsilon = 1e-6


@pytest.mark.parametrize("cls", [L.BatchNormalizationLayer, L.LayerNormalizationLayer,
                                 L.InstanceNormalizationLayer, L.GroupNormalizationLayer])
def test_core_specs_take_any_positive_epsilon(cls):
    kw = {"NumGroups": 2} if cls is L.GroupNormalizationLayer else {}
    layer = cls(Epsilon=1e-7, **kw)
    layer.Epsilon = 1e-9
    assert layer.Epsilon == 1e-9
    for bad in (0, -1e-3, float("nan")):
        with pytest.raises(LayerGraphError, match="Invalid value for 'Epsilon'.*Expected Epsilon to be a numeric "
                                                  "scalar with value > 0"):
            cls(Epsilon=bad, **kw)


def test_a_core_epsilon_below_matlabs_limit_saves_and_loads(tmp_path):
    net = dlnetwork([featureInputLayer(4), fullyConnectedLayer(3), L.BatchNormalizationLayer(Epsilon=1e-7)])
    path = tmp_path / "net.lgnet"
    lg.save(net, path)
    back = lg.load(path)
    assert back.Layers[2].Epsilon == 1e-7
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    # a layer made by MATLAB's constructor keeps MATLAB's limit through save and load
    lg.save(batchNormalizationLayer(), path)
    with pytest.raises(LayerGraphError, match=MESSAGE):
        lg.load(path).Epsilon = 1e-7


def test_wolfram_epsilon_reaches_the_core_spec():
    from layergraph.wolfram import BatchNormalizationLayer, NetChain, NetInitialize
    net = NetInitialize(NetChain([BatchNormalizationLayer(Epsilon=1e-7)], Input=(3, 2, 2)))
    core = net._core_network(None, "check")[1]
    assert core.layer_graph.layer("1").Epsilon == 1e-7
    # the same layer through MATLAB's constructor is refused, in MATLAB's words
    with pytest.raises(LayerGraphError, match=MESSAGE):
        dlnetwork([imageInputLayer([2, 2, 3]), batchNormalizationLayer(Epsilon=1e-7)])
