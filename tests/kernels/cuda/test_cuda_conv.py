"""numba.cuda convolution against the CPU kernel and PyTorch: stride, dilation, asymmetric
padding, a numeric PaddingValue, the mirrored / replicated borders and groups."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import layergraph.kernels.cuda as K
from layergraph.kernels import get_kernel

pytestmark = pytest.mark.cuda

DTYPES = [np.float32, np.float64]
# (sh, sw, dh, dw, pt, pb, pl, pr, groups)
GEOMETRIES = [
    (1, 1, 1, 1, 1, 1, 1, 1, 1),    # the seed CNN's 3 x 3, pad 1
    (2, 1, 1, 2, 0, 2, 1, 0, 1),    # stride, dilation, asymmetric padding
    (1, 2, 2, 1, 2, 1, 0, 1, 2),    # two groups
    (2, 2, 1, 1, 0, 0, 0, 0, 4),    # channel-wise (groups = C)
]


def _data(rng, dtype, groups, bias=True, n=2):
    x = rng.standard_normal((n, 4, 5, 6)).astype(dtype)
    w = rng.standard_normal((4, 4 // groups, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    return x, w, b


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("g", GEOMETRIES)
def test_matches_cpu_and_torch(g, dtype, rng):
    *geom, groups = g
    x, w, b = _data(rng, dtype, groups)
    y = K.conv_forward(x, w, b, *geom, groups=groups)
    assert isinstance(y, np.ndarray) and y.dtype == dtype
    np.testing.assert_allclose(y, get_kernel("conv", "forward_infer", "cpu")(x, w, b, *geom, groups=groups),
                               **_tol(dtype))
    sh, sw, dh, dw, pt, pb, pl, pr = geom
    xp = F.pad(torch.from_numpy(x), (pl, pr, pt, pb))
    ref = F.conv2d(xp, torch.from_numpy(w), torch.from_numpy(b), (sh, sw), 0, (dh, dw), groups)
    np.testing.assert_allclose(y, ref.numpy(), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pv", [0.75, "symmetric-include-edge", "symmetric-exclude-edge", "replicate"])
def test_padding_values_match_cpu(pv, dtype, rng):
    x, w, _ = _data(rng, dtype, 2, bias=False)
    geom = (1, 2, 1, 1, 2, 1, 3, 1)   # padding wider than a mirror of one cell
    y = K.conv_forward(x, w, None, *geom, groups=2, padding_value=pv)
    np.testing.assert_allclose(y, get_kernel("conv", "forward_infer", "cpu")(x, w, None, *geom, groups=2,
                                                                            padding_value=pv), **_tol(dtype))


def test_mirrored_borders_match_torch(rng):
    x, w, b = _data(rng, np.float64, 1)
    for pv, mode in (("symmetric-exclude-edge", "reflect"), ("replicate", "replicate")):
        ref = F.conv2d(F.pad(torch.from_numpy(x), (1, 2, 2, 1), mode=mode), torch.from_numpy(w), torch.from_numpy(b))
        np.testing.assert_allclose(K.conv_forward(x, w, b, 1, 1, 1, 1, 2, 1, 1, 2, padding_value=pv), ref.numpy(),
                                   rtol=1e-12, atol=1e-12)
    # a one-pixel-wide input mirrors onto itself
    x1 = x[:, :, :, :1].copy()
    np.testing.assert_allclose(
        K.conv_forward(x1, w, b, 1, 1, 1, 1, 1, 1, 1, 1, padding_value="symmetric-exclude-edge"),
        get_kernel("conv", "forward_infer", "cpu")(x1, w, b, 1, 1, 1, 1, 1, 1, 1, 1,
                                                   padding_value="symmetric-exclude-edge"), rtol=1e-12)


def test_device_arrays_round_trip(cuda, rng):
    x, w, b = _data(rng, np.float32, 1)
    y = K.conv_forward(x, w, b, *GEOMETRIES[0][:-1])
    yd = K.conv_forward(cuda.to_device(x), cuda.to_device(w), cuda.to_device(b), *GEOMETRIES[0][:-1])
    assert K.is_device_array(yd)
    np.testing.assert_array_equal(yd.copy_to_host(), y)
    # host parameters with device data: still device out
    assert K.is_device_array(K.conv_forward(cuda.to_device(x), w, b, *GEOMETRIES[0][:-1]))


def test_bad_input_is_a_clear_error(cuda, rng):
    x, w, b = _data(rng, np.float32, 1)
    geom = GEOMETRIES[0][:-1]
    with pytest.raises(ValueError, match="fusion arguments are CPU-only"):
        K.conv_forward(x, w, b, *geom, relu=True)
    with pytest.raises(ValueError, match="fusion arguments are CPU-only"):
        K.conv_forward(x, w, b, *geom, pool=(2, 2, 2, 2, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="PaddingValue"):
        K.conv_forward(x, w, b, *geom, padding_value="mirror")
    with pytest.raises(ValueError, match="sh must be >= 1"):
        K.conv_forward(x, w, b, 0, 1, 1, 1, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="do not fit 3 group"):
        K.conv_forward(x, w, b, *geom, groups=3)
    with pytest.raises(ValueError, match="exceeds the padded input"):
        K.conv_forward(x[:, :, :2], w, b, 1, 1, 1, 1, 0, 0, 0, 0)
    with pytest.raises(ValueError, match=r"b: expected shape \(4,\)"):
        K.conv_forward(x, w, b[:3], *geom)
    with pytest.raises(TypeError, match=r"w: device array has dtype float64"):
        K.conv_forward(cuda.to_device(x), cuda.to_device(w.astype(np.float64)), b, *geom)
    with pytest.raises(TypeError, match="conv_forward: expected float32 or float64"):
        K.conv_forward(x.astype(np.int32), w, b, *geom)


@pytest.mark.parametrize("groups, filters", [(1, 10), (2, 18)])
def test_filter_blocks_with_a_short_last_block(groups, filters, rng):
    # A thread computes FB filters of one group; here groups hold more than FB filters and
    # the last block of each is short.
    from layergraph.kernels.cuda import _conv_kernels
    assert filters // groups > _conv_kernels.FB and (filters // groups) % _conv_kernels.FB
    x = rng.standard_normal((1, 2 * groups, 3, 3))
    w = rng.standard_normal((filters, 2, 2, 2))
    b = rng.standard_normal(filters)
    np.testing.assert_allclose(K.conv_forward(x, w, b, 1, 1, 1, 1, 1, 0, 0, 1, groups=groups),
                               get_kernel("conv", "forward_infer", "cpu")(x, w, b, 1, 1, 1, 1, 1, 0, 0, 1,
                                                                          groups=groups), rtol=1e-12, atol=1e-12)

