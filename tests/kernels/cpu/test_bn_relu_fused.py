"""Batch normalization + ReLU in one pass (bn_forward_train(relu=True), bn_backward(relu_out=...)):
equal to the two kernels run one after the other, float64 finite differences, and torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _cpu_testutil import fd_check

from layergraph.kernels.cpu.activation import relu_backward, relu_forward
from layergraph.kernels.cpu.norm import bn_backward, bn_forward_train

SHAPES = [(4, 3, 5, 6), (7, 5), (3, 2, 40, 40)]  # the last: more than one 1024-element block per row


def _data(shape, dtype, seed=0):
    r = np.random.default_rng(seed)
    c = shape[1]
    x = (r.standard_normal(shape) * 2 + 0.5).astype(dtype)
    return x, r.standard_normal(c).astype(dtype), r.standard_normal(c).astype(dtype), \
        r.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_equals_bn_then_relu(shape, dtype):
    x, s, o, dy = _data(shape, dtype)
    eps = 1e-5
    yb, m, v = bn_forward_train(x, s, o, eps)
    y = relu_forward(yb)
    yf, mf, vf = bn_forward_train(x, s, o, eps, relu=True)
    assert yf.dtype == dtype
    np.testing.assert_array_equal(yf, y)
    np.testing.assert_array_equal(mf, m)
    np.testing.assert_array_equal(vf, v)
    assert (y == 0).any() and (y > 0).any()
    dx, ds, do = bn_backward(relu_backward(dy, yb, y), x, s, m, v, eps)
    dxf, dsf, dof = bn_backward(dy, x, s, mf, vf, eps, relu_out=yf)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dxf, dx, **tol)
    np.testing.assert_allclose(dsf, ds, **tol)
    np.testing.assert_allclose(dof, do, **tol)


def test_fused_relu_keeps_relu_nan_rule():
    x, s, o, dy = _data((2, 2, 3, 3), np.float64)
    s[0] = np.nan  # a NaN scale: channel 0 is NaN after BN, 0 after the ReLU (as relu_forward)
    yb, m, v = bn_forward_train(x, s, o, 1e-5)
    yf, _, _ = bn_forward_train(x, s, o, 1e-5, relu=True)
    np.testing.assert_array_equal(yf, relu_forward(yb))
    assert (yf[:, 0] == 0).all()


@pytest.mark.parametrize("shape", SHAPES[:2])
def test_fused_gradients_match_finite_differences(shape):
    x, s, o, dy = _data(shape, np.float64, seed=3)
    eps = 1e-3

    def f(x, s, o):
        return bn_forward_train(x, s, o, eps, relu=True)[0]

    y, m, v = bn_forward_train(x, s, o, eps, relu=True)
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, relu_out=y)
    args = [x, s, o]
    for wrt, g in enumerate((dx, ds, do)):
        # a small step: no element may cross the ReLU's kink between the two evaluations
        fd_check(f, args, wrt, g, dy, h=1e-7, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_matches_torch(dtype):
    x, s, o, dy = _data((6, 4, 5, 5), dtype, seed=5)
    eps = 1e-5
    y, m, v = bn_forward_train(x, s, o, eps, relu=True)
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, relu_out=y)
    tx, ts, to = (torch.tensor(a, requires_grad=True) for a in (x, s, o))
    ty = torch.relu(torch.nn.functional.batch_norm(tx, None, None, ts, to, training=True, eps=eps))
    gx, gs, go = torch.autograd.grad(ty, (tx, ts, to), torch.tensor(dy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, gx.numpy(), **tol)
    np.testing.assert_allclose(ds, gs.numpy(), **tol)
    np.testing.assert_allclose(do, go.numpy(), **tol)
