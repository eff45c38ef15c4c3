"""The addition followed by a ReLU in one pass each way (combine.addition_forward(relu=True),
addition_backward(relu_out=...); the executor's training fusion of a ResNet block's end):
against the unfused kernels, torch, and float64 central differences (the training pass, fused
against unfused: tests/exec/test_executor_training_paths.py)."""
import numpy as np
import pytest

from layergraph.kernels.cpu.combine import addition_backward, addition_forward

SHAPES = [(2, 3, 4, 5), (32, 16, 32, 32)]   # the second above the pool's serial threshold


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("ceiling", [np.inf, 6.0])
def test_equals_the_unfused_kernels(dtype, shape, k, ceiling):
    g = np.random.default_rng(k + len(shape))
    xs = [(g.standard_normal(shape) * 4).astype(dtype) for _ in range(k)]
    y = addition_forward(xs, relu=True, ceiling=ceiling)
    s = addition_forward(xs)
    ref = np.minimum(np.maximum(s, 0), ceiling)
    np.testing.assert_array_equal(y, ref)
    dy = g.standard_normal(shape).astype(dtype)
    dxs = addition_backward(dy, k, relu_out=y, ceiling=ceiling)
    want = np.where((ref > 0) & (ref < ceiling), dy, 0)
    assert len(dxs) == k and len({id(d) for d in dxs}) == k
    for d in dxs:
        np.testing.assert_array_equal(d, want)


def test_nan_follows_relus_rule():
    a = np.array([np.nan, 1.0, -1.0, 3.0], np.float32)
    y = addition_forward([a, np.zeros(4, np.float32)], relu=True)
    np.testing.assert_array_equal(y, [0.0, 1.0, 0.0, 3.0])


def test_against_torch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    a, b = (g.standard_normal((4, 8, 6, 6)).astype(np.float32) for _ in range(2))
    dy = g.standard_normal(a.shape).astype(np.float32)
    for ceiling in (np.inf, 6.0):
        y = addition_forward([a, b], relu=True, ceiling=ceiling)
        da, db = addition_backward(dy, 2, relu_out=y, ceiling=ceiling)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ty = torch.relu(ta + tb) if ceiling == np.inf else torch.nn.functional.relu6(ta + tb)
        ty.backward(torch.tensor(dy))
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(da, ta.grad.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_central_differences():
    g = np.random.default_rng(1)
    a, b = g.standard_normal((3, 2, 4, 4)), g.standard_normal((3, 2, 4, 4))
    W = g.standard_normal(a.shape)
    y = addition_forward([a, b], relu=True)
    da, db = addition_backward(W, 2, relu_out=y)
    for x, dx, other in ((a, da, b), (b, db, a)):
        d = g.standard_normal(x.shape)
        eps = 1e-7
        up = float((addition_forward([x + eps * d, other], relu=True) * W).sum())
        down = float((addition_forward([x - eps * d, other], relu=True) * W).sum())
        assert (up - down) / (2 * eps) == pytest.approx(float((dx * d).sum()), rel=1e-6)


def test_bad_ceiling_and_shapes():
    a = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="ceiling must be a number > 0"):
        addition_forward([a, a], relu=True, ceiling=-1)
    with pytest.raises(ValueError, match="relu_out .* does not fit dy"):
        addition_backward(a, 2, relu_out=np.ones(3, np.float32))
