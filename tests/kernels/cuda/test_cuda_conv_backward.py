"""numba.cuda convolution backward against the CPU kernel, PyTorch autograd and a float64
finite difference: stride, dilation, asymmetric padding, padding values, the mirrored /
replicated borders and groups."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import layergraph.kernels.cuda as K
from layergraph.kernels import get_kernel

from test_cuda_conv import DTYPES, GEOMETRIES, _tol  # the forward tests' cases
from test_cuda_conv import _data as _forward_data

pytestmark = pytest.mark.cuda


def _data(rng, dtype, groups, bias=True):
    return _forward_data(rng, dtype, groups, bias, n=1)  # one observation: the simulator's reductions are slow


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("g", GEOMETRIES)
def test_backward_matches_cpu_and_torch(g, dtype, rng):
    *geom, groups = g
    x, w, b = _data(rng, dtype, groups)
    y = K.conv_forward(x, w, b, *geom, groups=groups)
    dy = rng.standard_normal(y.shape).astype(dtype)
    ours = K.conv_backward(dy, x, w, *geom, groups=groups)
    cpu = get_kernel("conv", "backward", "cpu")(dy, x, w, *geom, groups=groups)
    sh, sw, dh, dw, pt, pb, pl, pr = geom
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(F.pad(tx, (pl, pr, pt, pb)), tw, tb, (sh, sw), 0, (dh, dw), groups).backward(torch.from_numpy(dy))
    for mine, theirs, ref in zip(ours, cpu, (tx.grad, tw.grad, tb.grad)):
        assert mine.dtype == dtype and mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, **_tol(dtype))
        np.testing.assert_allclose(mine, ref.numpy(), **_tol(dtype))
    dx, dW, db = K.conv_backward(dy, x, w, *geom, groups=groups, need_dx=False)
    assert dx is None
    np.testing.assert_array_equal(dW, ours[1])


@pytest.mark.parametrize("pv", [0.75, "symmetric-include-edge", "symmetric-exclude-edge", "replicate"])
def test_backward_padding_values_match_cpu(pv, rng):
    x, w, _ = _data(rng, np.float64, 2, bias=False)
    geom = (1, 2, 1, 1, 2, 1, 3, 1)
    dy = rng.standard_normal(K.conv_forward(x, w, None, *geom, groups=2, padding_value=pv).shape)
    for mine, theirs in zip(K.conv_backward(dy, x, w, *geom, groups=2, padding_value=pv),
                            get_kernel("conv", "backward", "cpu")(dy, x, w, *geom, groups=2, padding_value=pv)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


def test_backward_finite_difference(rng, directional_check):
    x, w, b = _data(rng, np.float64, 2)
    geom = (2, 1, 1, 2, 1, 0, 2, 1)
    dy = rng.standard_normal(K.conv_forward(x, w, b, *geom, groups=2, padding_value="replicate").shape)
    dx, dW, db = K.conv_backward(dy, x, w, *geom, groups=2, padding_value="replicate")
    directional_check(lambda x, w, b: float(np.sum(dy * K.conv_forward(x, w, b, *geom, groups=2,
                                                                       padding_value="replicate"))),
                      [x, w, b], [dx, dW, db])


def test_backward_device_arrays_and_bad_input(cuda, rng):
    x, w, b = _data(rng, np.float32, 1)
    geom = GEOMETRIES[0][:-1]
    dy = rng.standard_normal((1, 4, 5, 7)).astype(np.float32)
    host = K.conv_backward(dy, x, w, *geom)
    dev = K.conv_backward(cuda.to_device(dy), cuda.to_device(x), cuda.to_device(w), *geom)
    for d, h in zip(dev, host):
        assert K.is_device_array(d)
        np.testing.assert_array_equal(d.copy_to_host(), h)
    with pytest.raises(ValueError, match=r"dy: expected shape \(1, 4, 5, 7\)"):
        K.conv_backward(dy[:, :3], x, w, *geom)
    with pytest.raises(ValueError, match="PaddingValue"):
        K.conv_backward(dy, x, w, *geom, padding_value=None)
