"""numba.cuda batch normalization against numpy and PyTorch (CPU build), float32 and float64."""
import numpy as np
import pytest
import torch

import layergraph.kernels.cuda as K
from layergraph.kernels.cuda import _runtime

pytestmark = pytest.mark.cuda

DTYPES = [np.float32, np.float64]
SHAPES = [(2, 3, 4, 5), (6, 3)]
EPS = 1e-5


def _axes(x):
    return (0, 2, 3) if x.ndim == 4 else (0,)


def _bc(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def reference_forward(x, scale, offset, eps):
    mean = x.mean(_axes(x), dtype=np.float64)
    var = ((x - _bc(mean, x)) ** 2).mean(_axes(x))
    xhat = (x - _bc(mean, x)) / np.sqrt(_bc(var, x) + eps)
    return _bc(scale, x) * xhat + _bc(offset, x), mean, var


def reference_backward(dy, x, scale, mean, var, eps):
    m = x.size // x.shape[1]
    istd = 1 / np.sqrt(_bc(var, x) + eps)
    xhat = (x - _bc(mean, x)) * istd
    doffset = dy.sum(_axes(x), dtype=np.float64)
    dscale = (dy * xhat).sum(_axes(x), dtype=np.float64)
    dx = _bc(scale, x) * istd * (dy - (_bc(doffset, x) + xhat * _bc(dscale, x)) / m)
    return dx, dscale, doffset


def _data(rng, shape, dtype):
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)  # offset mean: tests the two-pass variance
    scale = rng.uniform(0.5, 1.5, c).astype(dtype)
    offset = rng.standard_normal(c).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, scale, offset, dy


def _close(a, b, dtype, tol, scale=1.0):
    t = tol(dtype)
    np.testing.assert_allclose(a, b, rtol=t["rtol"] * 10, atol=t["atol"] * 10 * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_train_infer_backward_match_numpy(shape, dtype, rng, tol):
    x, scale, offset, dy = _data(rng, shape, dtype)
    x64 = [a.astype(np.float64) for a in (x, scale, offset, dy)]
    y_ref, mean_ref, var_ref = reference_forward(x64[0], x64[1], x64[2], EPS)

    y, mean, var = K.bn_forward_train(x, scale, offset, EPS)
    for out in (y, mean, var):
        assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert y.shape == shape and mean.shape == var.shape == (shape[1],)
    _close(y, y_ref, dtype, tol)
    _close(mean, mean_ref, dtype, tol)
    _close(var, var_ref, dtype, tol)

    y_inf = K.bn_forward_infer(x, scale, offset, mean, var, EPS)
    assert y_inf.dtype == dtype
    _close(y_inf, y_ref, dtype, tol)

    dx, dscale, doffset = K.bn_backward(dy, x, scale, mean, var, EPS)
    dx_ref, dscale_ref, doffset_ref = reference_backward(x64[3], x64[0], x64[1], mean_ref, var_ref, EPS)
    assert dx.dtype == dscale.dtype == doffset.dtype == dtype
    _close(dx, dx_ref, dtype, tol)
    _close(dscale, dscale_ref, dtype, tol, scale=10)
    _close(doffset, doffset_ref, dtype, tol, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch(shape, dtype, rng, tol):
    x, scale, offset, dy = _data(rng, shape, dtype)
    tx = torch.tensor(x, requires_grad=True)
    ts = torch.tensor(scale, requires_grad=True)
    to = torch.tensor(offset, requires_grad=True)
    ty = torch.nn.functional.batch_norm(tx, None, None, ts, to, training=True, eps=EPS)
    ty.backward(torch.tensor(dy))

    y, mean, var = K.bn_forward_train(x, scale, offset, EPS)
    dx, dscale, doffset = K.bn_backward(dy, x, scale, mean, var, EPS)
    t = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y, ty.detach().numpy(), **t)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **t)
    np.testing.assert_allclose(dscale, ts.grad.numpy(), **t)
    np.testing.assert_allclose(doffset, to.grad.numpy(), **t)


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_finite_difference(shape, rng, directional_check):
    x, scale, offset, dy = _data(rng, shape, np.float64)

    def loss(x, scale, offset):
        return float(np.sum(dy * K.bn_forward_train(x, scale, offset, EPS)[0]))

    _, mean, var = K.bn_forward_train(x, scale, offset, EPS)
    grads = K.bn_backward(dy, x, scale, mean, var, EPS)
    directional_check(loss, [x, scale, offset], list(grads))


def test_device_arrays_round_trip(cuda, rng):
    x, scale, offset, dy = _data(rng, (2, 3, 4, 5), np.float32)
    host = K.bn_forward_train(x, scale, offset, EPS)
    dev = K.bn_forward_train(cuda.to_device(x), cuda.to_device(scale), cuda.to_device(offset), EPS)
    assert all(K.is_device_array(d) for d in dev)
    for h, d in zip(host, dev):
        np.testing.assert_array_equal(h, d.copy_to_host())
    y, mean, var = dev
    y_inf = K.bn_forward_infer(cuda.to_device(x), scale, offset, mean, var, EPS)  # mixed kinds
    assert K.is_device_array(y_inf)
    y_inf_host = K.bn_forward_infer(x, scale, offset, host[1], host[2], EPS)
    np.testing.assert_array_equal(y_inf.copy_to_host(), y_inf_host)
    grads = K.bn_backward(cuda.to_device(dy), cuda.to_device(x), scale, mean, var, EPS)
    assert all(K.is_device_array(g) for g in grads)
    for h, d in zip(K.bn_backward(dy, x, scale, host[1], host[2], EPS), grads):
        np.testing.assert_array_equal(h, d.copy_to_host())


def test_empty_partial_chunk(monkeypatch, rng, tol):
    # 9 rows split over 4 partial blocks of 3: the last block has nothing to reduce.
    monkeypatch.setattr(_runtime, "REDUCE_THREADS", 4)
    monkeypatch.setattr(_runtime, "REDUCE_ITEMS", 1)
    assert _runtime.reduce_config(9) == (4, 4)
    x, scale, offset, dy = _data(rng, (9, 2), np.float64)
    _, mean, var = K.bn_forward_train(x, scale, offset, EPS)
    _, mean_ref, var_ref = reference_forward(x, scale, offset, EPS)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-13)
    np.testing.assert_allclose(var, var_ref, rtol=1e-13)
    dx, dscale, doffset = K.bn_backward(dy, x, scale, mean, var, EPS)
    dx_ref, dscale_ref, doffset_ref = reference_backward(dy, x, scale, mean_ref, var_ref, EPS)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dscale, dscale_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(doffset, doffset_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.default_launch
def test_default_launch_sizes(rng, tol):
    x, scale, offset, dy = _data(rng, (2, 3, 4, 5), np.float32)
    y, mean, var = K.bn_forward_train(x, scale, offset, EPS)
    y_ref, mean_ref, var_ref = reference_forward(x.astype(np.float64), scale, offset, EPS)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, var_ref, rtol=1e-5)
    dx, _, _ = K.bn_backward(dy, x, scale, mean, var, EPS)
    dx_ref, _, _ = reference_backward(dy.astype(np.float64), x.astype(np.float64), scale, mean_ref, var_ref, EPS)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-5)


def test_large_mean_float32_variance_is_accurate(rng):
    # A naive E[x^2] - E[x]^2 in float32 loses every digit here; the two-pass reduction does not.
    x = (1000 + rng.standard_normal((4, 2, 3, 3))).astype(np.float32)
    _, _, var = K.bn_forward_train(x, np.ones(2, np.float32), np.zeros(2, np.float32), EPS)
    np.testing.assert_allclose(var, x.astype(np.float64).var((0, 2, 3)), rtol=1e-3)


def test_bad_input():
    x = np.zeros((2, 3, 4, 5), np.float32)
    with pytest.raises(ValueError, match="scale"):
        K.bn_forward_train(x, np.ones(4, np.float32), np.zeros(3, np.float32), EPS)
    with pytest.raises(ValueError, match="N x C"):
        K.bn_forward_train(np.zeros((2, 3, 4), np.float32), np.ones(3), np.zeros(3), EPS)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.bn_forward_train(x.astype(np.int32), np.ones(3), np.zeros(3), EPS)


def test_repeated_calls_stay_exact(tol):
    # Stress loop for races between the simulator's GPU threads (one Python thread each, with
    # the short switch interval from conftest): a race in a shared-memory reduction shows up
    # as one channel's statistics, or one block's partial sums, coming out wrong on some calls.
    # Shapes give one and several partial blocks per channel and an empty last chunk.
    for seed, shape in enumerate([(2, 3, 4, 5), (3, 2, 3, 3), (9, 2), (5, 4)] * 4):
        dtype = np.float64 if seed % 2 == 0 else np.float32
        x, scale, offset, dy = _data(np.random.default_rng(seed), shape, dtype)
        x64 = [a.astype(np.float64) for a in (x, scale, offset, dy)]
        y_ref, mean_ref, var_ref = reference_forward(x64[0], x64[1], x64[2], EPS)
        y, mean, var = K.bn_forward_train(x, scale, offset, EPS)
        _close(mean, mean_ref, dtype, tol)
        _close(var, var_ref, dtype, tol)
        _close(y, y_ref, dtype, tol)
        dx, dscale, doffset = K.bn_backward(dy, x, scale, mean, var, EPS)
        dx_ref, dscale_ref, doffset_ref = reference_backward(x64[3], x64[0], x64[1], mean_ref,
                                                             var_ref, EPS)
        _close(dx, dx_ref, dtype, tol)
        _close(dscale, dscale_ref, dtype, tol, scale=10)
        _close(doffset, doffset_ref, dtype, tol, scale=10)
