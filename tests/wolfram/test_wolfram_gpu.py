"""net(x, TargetDevice="GPU"): Wolfram evaluation on the 'cuda' kernels (the CUDA simulator
where no GPU is attached, as for every CUDA test) gives the CPU's numbers."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (BatchNormalizationLayer, ConvolutionLayer, LinearLayer, NetChain, NetInitialize,
                                PoolingLayer, Ramp, SoftmaxLayer)

pytestmark = pytest.mark.cuda


def _net():
    net = NetChain([ConvolutionLayer(3, 3, PaddingSize=1), BatchNormalizationLayer(), Ramp, PoolingLayer(2, 2),
                    LinearLayer(4), SoftmaxLayer()], Input=(2, 4, 4))
    return NetInitialize(net, RandomSeeding=3)


def test_gpu_evaluation_equals_cpu():
    net = _net()
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    cpu = net(x, WorkingPrecision="Real64")
    for device in ("GPU", ("GPU", 1)):
        np.testing.assert_allclose(net(x, WorkingPrecision="Real64", TargetDevice=device), cpu, rtol=1e-12)
    np.testing.assert_allclose(net(x[0], TargetDevice="GPU"), cpu[0], rtol=1e-5)


@pytest.mark.parametrize("bad", ["TPU", ("GPU", 2), 3])
def test_other_target_devices_are_refused(bad):
    with pytest.raises(LayerGraphError, match="TargetDevice"):
        _net()(np.zeros((2, 4, 4)), TargetDevice=bad)
