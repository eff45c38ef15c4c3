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


# -- batch normalization + ReLU + max pooling -------------------------------------------------
POOLS = [(2, 2, 2, 2, 0, 0, 0, 0), (3, 3, 2, 2, 1, 1, 1, 1), (2, 3, 1, 2, 0, 1, 1, 0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS)
def test_fused_pool_equals_bn_relu_then_maxpool(pool, dtype):
    from layergraph.kernels.cpu.pool import maxpool_backward, maxpool_forward_train
    x, s, o, _ = _data((5, 3, 9, 8), dtype, seed=11)
    eps = 1e-5
    yb, m, v = bn_forward_train(x, s, o, eps)
    r = relu_forward(yb)
    yp, arg = maxpool_forward_train(r, *pool)
    y2, m2, v2, arg2 = bn_forward_train(x, s, o, eps, relu=True, pool=pool)
    for a, b in ((y2, yp), (arg2, arg), (m2, m), (v2, v)):
        np.testing.assert_array_equal(a, b)
    assert (yp == 0).any() and (yp > 0).any()
    dy = np.random.default_rng(12).standard_normal(yp.shape).astype(dtype)
    dx, ds, do = bn_backward(relu_backward(maxpool_backward(dy, arg, 9, 8), yb, r), x, s, m, v, eps)
    dx2, ds2, do2 = bn_backward(dy, x, s, m2, v2, eps, pool_out=(y2, arg2))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for a, b in ((dx2, dx), (ds2, ds), (do2, do)):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("pool", POOLS[:2])
def test_fused_pool_gradients_match_finite_differences(pool):
    x, s, o, _ = _data((3, 2, 7, 6), np.float64, seed=13)
    eps = 1e-3

    def f(x, s, o):
        return bn_forward_train(x, s, o, eps, relu=True, pool=pool)[0]

    y, m, v, arg = bn_forward_train(x, s, o, eps, relu=True, pool=pool)
    dy = np.random.default_rng(14).standard_normal(y.shape)
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, pool_out=(y, arg))
    for wrt, g in enumerate((dx, ds, do)):
        fd_check(f, [x, s, o], wrt, g, dy, h=1e-7, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_pool_matches_torch(dtype):
    x, s, o, _ = _data((6, 4, 8, 8), dtype, seed=15)
    eps = 1e-5
    y, m, v, arg = bn_forward_train(x, s, o, eps, relu=True, pool=(2, 2, 2, 2, 0, 0, 0, 0))
    dy = np.random.default_rng(16).standard_normal(y.shape).astype(dtype)
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, pool_out=(y, arg))
    tx, ts, to = (torch.tensor(a, requires_grad=True) for a in (x, s, o))
    F = torch.nn.functional
    ty = F.max_pool2d(torch.relu(F.batch_norm(tx, None, None, ts, to, training=True, eps=eps)), 2, 2)
    gx, gs, go = torch.autograd.grad(ty, (tx, ts, to), torch.tensor(dy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for a, b in ((y, ty.detach()), (dx, gx), (ds, gs), (do, go)):
        np.testing.assert_allclose(a, b.numpy(), **tol)


def test_fused_pool_needs_relu():
    x, s, o, _ = _data((2, 2, 4, 4), np.float64)
    with pytest.raises(ValueError, match="relu=True"):
        bn_forward_train(x, s, o, 1e-5, pool=(2, 2, 2, 2, 0, 0, 0, 0))


# -- a clipped ReLU (ReLU6): bn_forward_train(relu=True, ceiling=c), bn_backward(relu_out=y, ceiling=c)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_clipped_equals_bn_then_clipped_relu(shape, dtype):
    from layergraph.kernels.cpu.activation import clippedrelu_backward, clippedrelu_forward
    x, s, o, dy = _data(shape, dtype)
    eps, c = 1e-5, 0.8
    yb, m, v = bn_forward_train(x, s, o, eps)
    y = clippedrelu_forward(yb, c)
    yf, mf, vf = bn_forward_train(x, s, o, eps, relu=True, ceiling=c)
    assert yf.dtype == dtype
    np.testing.assert_array_equal(yf, y)
    assert (y == 0).any() and (y == dtype(c)).any() and ((y > 0) & (y < c)).any()
    dx, ds, do = bn_backward(clippedrelu_backward(dy, yb, y, c), x, s, m, v, eps)
    dxf, dsf, dof = bn_backward(dy, x, s, mf, vf, eps, relu_out=yf, ceiling=c)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dxf, dx, **tol)
    np.testing.assert_allclose(dsf, ds, **tol)
    np.testing.assert_allclose(dof, do, **tol)


@pytest.mark.parametrize("shape", SHAPES[:2])
def test_fused_clipped_gradients_match_finite_differences(shape):
    x, s, o, dy = _data(shape, np.float64, seed=3)
    eps, c = 1e-3, 0.7

    def f(x, s, o):
        return bn_forward_train(x, s, o, eps, relu=True, ceiling=c)[0]

    y, m, v = bn_forward_train(x, s, o, eps, relu=True, ceiling=c)
    assert (y == c).any() and (y == 0).any()
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, relu_out=y, ceiling=c)
    for wrt, g in enumerate((dx, ds, do)):
        fd_check(f, [x, s, o], wrt, g, dy, h=1e-7, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_clipped_matches_torch(dtype):
    x, s, o, dy = _data((6, 4, 5, 5), dtype, seed=5)
    eps = 1e-5
    y, m, v = bn_forward_train(x, s, o, eps, relu=True, ceiling=6.0 if dtype == np.float64 else 1.0)
    c = 6.0 if dtype == np.float64 else 1.0
    dx, ds, do = bn_backward(dy, x, s, m, v, eps, relu_out=y, ceiling=c)
    tx, ts, to = (torch.tensor(a, requires_grad=True) for a in (x, s, o))
    ty = torch.nn.functional.hardtanh(torch.nn.functional.batch_norm(tx, None, None, ts, to, training=True, eps=eps),
                                      0.0, c)
    gx, gs, go = torch.autograd.grad(ty, (tx, ts, to), torch.tensor(dy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    for a, t in ((dx, gx), (ds, gs), (do, go)):
        np.testing.assert_allclose(a, t.numpy(), **tol)


def test_fused_clipped_refuses_a_pooling_and_a_bad_ceiling():
    x, s, o, _ = _data((2, 2, 4, 4), np.float64)
    with pytest.raises(ValueError, match="plain ReLU only"):
        bn_forward_train(x, s, o, 1e-5, relu=True, ceiling=6.0, pool=(2, 2, 2, 2, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="ceiling must be a number > 0"):
        bn_forward_train(x, s, o, 1e-5, relu=True, ceiling=-6)
