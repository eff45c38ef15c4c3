"""The activation kernels (kernels/cpu/activation.py) are serial loops over [lo, hi) that
parallel_range splits over the thread pool above _SERIAL_BELOW elements: the split gives exactly
the one-slice numbers, and both agree with torch, forward and backward, float32 and float64."""
import numpy as np
import pytest
import torch

from layergraph.kernels import get_kernel
from layergraph.kernels.cpu import activation

TORCH = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "elu": torch.nn.functional.elu}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("family", sorted(TORCH))
def test_split_equals_one_slice_and_torch(family, dtype, monkeypatch):
    n = activation._SERIAL_BELOW + 3 * activation._GRAIN + 17   # split, with a ragged last slice
    g = np.random.default_rng(3)
    x = (g.standard_normal(n) * 3).astype(dtype)
    dy = g.standard_normal(x.shape).astype(dtype)
    fwd, bwd = get_kernel(family, "forward_infer", "cpu"), get_kernel(family, "backward", "cpu")
    y, dx = fwd(x), bwd(dy, x, None)
    monkeypatch.setattr(activation, "_SERIAL_BELOW", 2 * n)   # the same arrays in one slice
    np.testing.assert_array_equal(fwd(x), y)
    np.testing.assert_array_equal(bwd(dy, x, None), dx)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = TORCH[family](xt)
    yt.backward(torch.tensor(dy, dtype=torch.float64))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    assert y.dtype == dx.dtype == dtype
