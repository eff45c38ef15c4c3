"""globalavgpool_forward on a pixel-major input (x_layout='nhwc', the prediction plan's): the
same means as on the channel-major planes, against torch in float64; a bad layout is refused."""
import numpy as np
import pytest
import torch

from layergraph.kernels.cpu.pool import globalavgpool_forward


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (32, 256, 8, 8), (1, 1, 1, 1)])
def test_nhwc_equals_nchw_and_torch(dtype, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    ref = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x, dtype=torch.float64), 1).numpy()
    y = globalavgpool_forward(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), x_layout="nhwc")
    assert y.shape == (shape[0], shape[1], 1, 1) and y.dtype == dtype and y.flags.c_contiguous
    # both summed in float64, in another order: the same float32 values up to a rounding tie
    same = dict(rtol=2e-7, atol=0) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(y, globalavgpool_forward(x), **same)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


def test_bad_layout_is_named():
    with pytest.raises(ValueError, match="x_layout must be 'nchw' or 'nhwc', got 'nwhc'"):
        globalavgpool_forward(np.ones((1, 2, 3, 3)), x_layout="nwhc")
