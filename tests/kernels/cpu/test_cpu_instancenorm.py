"""Instance normalization kernels: float64 finite differences and PyTorch."""
import numpy as np
import pytest
import torch
from _cpu_testutil import fd_check

from layergraph.kernels.cpu.instancenorm import in_backward, in_forward

R = np.random.default_rng(4)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 6, 1), (1, 4, 3, 3)])
def test_gradients(shape):
    x = R.standard_normal(shape) * 2 + 1
    s, o = R.standard_normal(shape[1]), R.standard_normal(shape[1])
    dy = R.standard_normal(shape)
    _, mean, var = in_forward(x, s, o, 1e-3)
    dx, ds, do = in_backward(dy, x, s, mean, var, 1e-3)
    f = lambda a, b, c: in_forward(a, b, c, 1e-3)[0]  # noqa: E731
    fd_check(f, [x, s, o], 0, dx, dy)
    fd_check(f, [x, s, o], 1, ds, dy)
    fd_check(f, [x, s, o], 2, do, dy)


def test_against_torch():
    x = R.standard_normal((2, 3, 4, 5))
    s, o = R.standard_normal(3), R.standard_normal(3)
    t = torch.tensor(x, requires_grad=True)
    ts, to = torch.tensor(s, requires_grad=True), torch.tensor(o, requires_grad=True)
    ref = torch.nn.functional.instance_norm(t, weight=ts, bias=to, eps=1e-3)
    dy = R.standard_normal(x.shape)
    ref.backward(torch.tensor(dy))
    y, mean, var = in_forward(x, s, o, 1e-3)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, ds, do = in_backward(dy, x, s, mean, var, 1e-3)
    for a, b in ((dx, t.grad), (ds, ts.grad), (do, to.grad)):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-9, atol=1e-11)


def test_float32_in_float32_out():
    x = R.standard_normal((2, 3, 4, 4)).astype(np.float32)
    y, mean, var = in_forward(x, np.ones(3), np.zeros(3), 1e-3)
    assert y.dtype == mean.dtype == np.float32
