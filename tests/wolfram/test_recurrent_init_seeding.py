"""NetInitialize's RandomSeeding covers the arrays the core initializes (the recurrent layers'
InputWeights / StateWeights ...): the same seed gives the same arrays in one process, another seed
others, and the MATLAB side's global generator (rng) is left as it was."""
import numpy as np
import pytest

from layergraph.core import initializers as core_init
from layergraph.wolfram import (BasicRecurrentLayer, GatedRecurrentLayer, LinearLayer, LongShortTermMemoryLayer,
                                NetChain, NetExtract, NetInitialize, SequenceLastLayer)


@pytest.mark.parametrize("layer", [BasicRecurrentLayer, LongShortTermMemoryLayer, GatedRecurrentLayer])
def test_same_seed_same_recurrent_arrays(layer):
    net = NetChain([layer(5), SequenceLastLayer(), LinearLayer(2)], Input=["Varying", 3])
    a, b = NetInitialize(net, RandomSeeding=7), NetInitialize(net, RandomSeeding=7)
    c = NetInitialize(net, RandomSeeding=8)
    x = [np.linspace(-1, 1, 12).reshape(4, 3)]
    assert np.array_equal(np.asarray(a(x)), np.asarray(b(x)))
    assert not np.array_equal(np.asarray(a(x)), np.asarray(c(x)))
    names = {BasicRecurrentLayer: ("InputWeights", "StateWeights")}.get(
        layer, ("InputGateInputWeights", "InputGateStateWeights"))
    for n in names:
        assert np.array_equal(np.asarray(NetExtract(a, (1, n))), np.asarray(NetExtract(b, (1, n))))


def test_netinitialize_leaves_the_global_generator():
    core_init.rng(3)
    expected = np.random.default_rng(3).standard_normal(4)
    NetInitialize(NetChain([LongShortTermMemoryLayer(4), SequenceLastLayer()], Input=["Varying", 2]),
                  RandomSeeding=11)
    assert np.array_equal(core_init.rng().standard_normal(4), expected)
