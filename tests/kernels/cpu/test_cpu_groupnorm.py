"""Group normalization kernels (instance normalization is G = C): float64 finite
differences, PyTorch's group_norm / instance_norm / rms_norm, the ONNX node tests, and
NumPy formulas for Wolfram's "Unbiased" and Method -> "RMS"."""
import numpy as np
import pytest
import torch
from _cpu_testutil import fd_check, node_case

from layergraph.kernels import get_kernel
from layergraph.kernels.cpu.groupnorm import gn_backward, gn_forward
from layergraph.kernels.cpu.instancenorm import in_backward, in_forward

R = np.random.default_rng(7)


def numpy_gn(x, s, o, g, eps, unbiased=False, rms=False):
    n, c = x.shape[:2]
    xg = x.reshape(n, g, -1)
    m = np.zeros((n, g, 1)) if rms else xg.mean(axis=2, keepdims=True)
    d = xg.shape[2] - (1 if unbiased else 0)
    v = ((xg - m) ** 2).sum(axis=2, keepdims=True) / d
    xh = ((xg - m) / np.sqrt(v + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return s.reshape(shape) * xh + o.reshape(shape)


CASES = [((2, 6, 4, 5), 3), ((3, 4, 2, 3), 1), ((2, 4, 3, 3), 4), ((1, 6, 5, 1), 2), ((4, 6), 2), ((2, 8, 3), 4)]


@pytest.mark.parametrize("shape, g", CASES)
@pytest.mark.parametrize("unbiased, rms", [(False, False), (True, False), (False, True), (True, True)])
def test_gradients_float64(shape, g, unbiased, rms):
    x = R.standard_normal(shape) * 2 + 1
    s, o = R.standard_normal(shape[1]), R.standard_normal(shape[1])
    dy = R.standard_normal(shape)
    y, mean, var = gn_forward(x, s, o, g, 1e-3, unbiased, rms)
    np.testing.assert_allclose(y, numpy_gn(x, s, o, g, 1e-3, unbiased, rms), rtol=1e-12, atol=1e-12)
    assert mean.shape == var.shape == (shape[0], g)
    dx, ds, do = gn_backward(dy, x, s, mean, var, g, 1e-3, unbiased, rms)
    f = lambda a, b, c: gn_forward(a, b, c, g, 1e-3, unbiased, rms)[0]  # noqa: E731
    for wrt, grad in enumerate((dx, ds, do)):
        fd_check(f, [x, s, o], wrt, grad, dy)


@pytest.mark.parametrize("shape, g", CASES)
def test_against_torch_group_norm(shape, g):
    x = R.standard_normal(shape)
    s, o = R.standard_normal(shape[1]), R.standard_normal(shape[1])
    t = torch.tensor(x, requires_grad=True)
    ts, to = torch.tensor(s, requires_grad=True), torch.tensor(o, requires_grad=True)
    ref = torch.nn.functional.group_norm(t, g, weight=ts, bias=to, eps=1e-5)
    dy = R.standard_normal(shape)
    ref.backward(torch.tensor(dy))
    y, mean, var = gn_forward(x, s, o, g, 1e-5)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, ds, do = gn_backward(dy, x, s, mean, var, g, 1e-5)
    for a, b in ((dx, t.grad), (ds, ts.grad), (do, to.grad)):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("g", [1, 2, 6])
def test_rms_against_torch_rms_norm(g):
    x = R.standard_normal((3, 6, 4, 4))
    s, o = R.standard_normal(6), R.standard_normal(6)
    t = torch.tensor(x, requires_grad=True)
    ts, to = torch.tensor(s, requires_grad=True), torch.tensor(o, requires_grad=True)
    tg = t.reshape(3, g, -1)
    normed = torch.nn.functional.rms_norm(tg, (tg.shape[2],), eps=1e-3).reshape(t.shape)
    ref = normed * ts[None, :, None, None] + to[None, :, None, None]
    dy = R.standard_normal(x.shape)
    ref.backward(torch.tensor(dy))
    y, mean, var = gn_forward(x, s, o, g, 1e-3, rms=True)
    assert not mean.any()
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, ds, do = gn_backward(dy, x, s, mean, var, g, 1e-3, rms=True)
    for a, b in ((dx, t.grad), (ds, ts.grad), (do, to.grad)):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-9, atol=1e-11)


def test_unbiased_is_the_n_minus_1_variance():
    x = R.standard_normal((2, 4, 3, 3))
    _, _, var = gn_forward(x, np.ones(4), np.zeros(4), 2, 1e-5, unbiased=True)
    np.testing.assert_allclose(var, x.reshape(2, 2, -1).var(axis=2, ddof=1), rtol=1e-12)
    t = torch.tensor(x)
    ref = (t.reshape(2, 2, -1) - t.reshape(2, 2, -1).mean(-1, keepdim=True)) / torch.sqrt(
        t.reshape(2, 2, -1).var(-1, unbiased=True, keepdim=True) + 1e-5)
    y, _, _ = gn_forward(x, np.ones(4), np.zeros(4), 2, 1e-5, unbiased=True)
    np.testing.assert_allclose(y, ref.reshape(x.shape).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["test_group_normalization_example", "test_group_normalization_epsilon"])
def test_onnx_group_normalization(name):
    _, attrs, (x, s, b), (want,) = node_case(name)
    y, _, _ = gn_forward(x, s, b, attrs["num_groups"], attrs.get("epsilon", 1e-5))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["test_instancenorm_example", "test_instancenorm_epsilon"])
def test_onnx_instance_normalization(name):
    _, attrs, (x, s, b), (want,) = node_case(name)
    y, _, _ = in_forward(x, s, b, attrs.get("epsilon", 1e-5))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    y2, _, _ = gn_forward(x, s, b, x.shape[1], attrs.get("epsilon", 1e-5))
    np.testing.assert_array_equal(y, y2)


def test_instance_norm_is_group_norm_with_one_channel_per_group():
    x = R.standard_normal((2, 3, 4, 5))
    s, o, dy = R.standard_normal(3), R.standard_normal(3), R.standard_normal(x.shape)
    a, b = in_forward(x, s, o, 1e-3), gn_forward(x, s, o, 3, 1e-3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(in_backward(dy, x, s, a[1], a[2], 1e-3), gn_backward(dy, x, s, b[1], b[2], 3, 1e-3)):
        np.testing.assert_array_equal(u, v)


def test_float32_keeps_float32_and_float64_statistics_accuracy():
    x64 = R.standard_normal((2, 8, 16, 16)) * 3 + 100
    x = x64.astype(np.float32)
    y, mean, var = gn_forward(x, np.ones(8), np.zeros(8), 4, 1e-5)
    assert y.dtype == mean.dtype == var.dtype == np.float32
    ref = numpy_gn(x.astype(np.float64), np.ones(8), np.zeros(8), 4, 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    dx, ds, do = gn_backward(np.ones_like(x), x, np.ones(8, np.float32), mean, var, 4, 1e-5)
    assert dx.dtype == ds.dtype == do.dtype == np.float32


def test_table_and_inputs_untouched():
    assert get_kernel("groupnorm", "forward_train") is get_kernel("groupnorm", "forward_infer") is gn_forward
    assert get_kernel("groupnorm", "backward") is gn_backward
    x = R.standard_normal((2, 4, 3, 3))
    keep = x.copy()
    gn_forward(x, np.ones(4), np.zeros(4), 2, 1e-5)
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize("call, match", [
    (lambda: gn_forward(np.zeros((2, 6, 3)), np.ones(6), np.zeros(6), 4, 1e-5), "cannot be split into 4 groups"),
    (lambda: gn_forward(np.zeros((2, 6, 3)), np.ones(5), np.zeros(6), 2, 1e-5), "scale"),
    (lambda: gn_forward(np.zeros((2, 2)), np.ones(2), np.zeros(2), 2, 1e-5, unbiased=True), "at least 2"),
    (lambda: gn_forward(np.zeros(3), np.ones(3), np.zeros(3), 1, 1e-5), "N x C"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
