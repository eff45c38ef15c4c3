"""Core losses added for Wolfram's loss layers: each gradient against float64 central
differences of its own value, each value against PyTorch (CPU) or plain numpy."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.train import BinaryCrossEntropy, CrossEntropy, MeanAbsolute, MeanSquared

R = np.random.default_rng(7)


def finite_differences(loss, y, t, h=1e-6):
    g = np.zeros_like(y)
    for idx in np.ndindex(*y.shape):
        yp, ym = y.copy(), y.copy()
        yp[idx] += h
        ym[idx] -= h
        g[idx] = (loss(yp, t)[0] - loss(ym, t)[0]) / (2 * h)
    return g


# -- BinaryCrossEntropy (CrossEntropyLossLayer["Binary"]) ------------------------------------------

@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (3, 2, 2, 2)])
def test_binary_cross_entropy_gradient_is_the_derivative_of_the_loss(shape):
    y = R.uniform(0.05, 0.95, size=shape)
    t = R.uniform(size=shape)                     # soft targets too
    value, dy = BinaryCrossEntropy()(y, t)
    assert dy.dtype == np.float64 and dy.shape == y.shape
    np.testing.assert_allclose(dy, finite_differences(BinaryCrossEntropy(), y, t), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(6, 1), (4, 3), (3, 2, 2, 2)])
def test_binary_cross_entropy_value_matches_torch(shape):
    y = R.uniform(0.01, 0.99, size=shape)
    t = (R.uniform(size=shape) > 0.5).astype(float)
    value, dy = BinaryCrossEntropy()(y, t)
    yt = torch.tensor(y, requires_grad=True)
    ref = F.binary_cross_entropy(yt, torch.tensor(t))  # mean over every element = over the example, then the batch
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dy, yt.grad.numpy(), rtol=1e-10)


def test_binary_cross_entropy_keeps_float32_and_stays_finite_at_0_and_1():
    y = np.array([[0.0, 1.0, 0.5]], dtype=np.float32)
    t = np.array([[1.0, 0.0, 1.0]], dtype=np.float32)
    value, dy = BinaryCrossEntropy()(y, t)
    assert dy.dtype == np.float32 and np.isfinite(value) and np.all(np.isfinite(dy))
    assert value > 10  # -log(eps) for the two wrong certainties


# -- MeanAbsolute (MeanAbsoluteLossLayer) -----------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (3, 2, 2, 2)])
def test_mean_absolute_gradient_is_the_derivative_of_the_loss(shape):
    y = R.normal(size=shape)
    t = y + R.choice([-1, 1], size=shape) * R.uniform(0.1, 1, size=shape)   # away from the kink
    value, dy = MeanAbsolute()(y, t)
    np.testing.assert_allclose(dy, finite_differences(MeanAbsolute(), y, t), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(6, 1), (4, 3), (3, 2, 2, 2)])
def test_mean_absolute_matches_torch_l1_loss(shape):
    y = R.normal(size=shape)
    t = R.normal(size=shape)
    t.flat[0] = y.flat[0]                          # one exact tie: the subgradient 0, as torch's sign
    value, dy = MeanAbsolute()(y, t)
    yt = torch.tensor(y, requires_grad=True)
    ref = F.l1_loss(yt, torch.tensor(t))           # mean over every element
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dy, yt.grad.numpy(), rtol=1e-12)
    assert dy.flat[0] == 0


def test_mean_absolute_float32():
    y = np.array([[1, 2, 3]], np.float32)
    value, dy = MeanAbsolute()(y, np.array([[0, 2, 5]], np.float32))
    assert value == pytest.approx(1.0) and dy.dtype == np.float32
    np.testing.assert_array_equal(dy, np.array([[1, 0, -1]], np.float32) / 3)


# -- the losses NetTrain's other loss layers use, pinned against torch --------------------------------

def test_mean_squared_matches_torch_mse_loss():
    y, t = R.normal(size=(4, 3)), R.normal(size=(4, 3))
    value, dy = MeanSquared()(y, t)
    yt = torch.tensor(y, requires_grad=True)
    ref = F.mse_loss(yt, torch.tensor(t))          # mean over the elements and the batch
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dy, yt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dy, finite_differences(MeanSquared(), y, t), rtol=1e-6, atol=1e-9)


def test_cross_entropy_index_targets_match_torch_nll_loss():
    # CrossEntropyLossLayer["Index"]: -log p[class], averaged over the batch (core CrossEntropy, one-hot)
    p = R.uniform(0.05, 1, size=(5, 4))
    p /= p.sum(axis=1, keepdims=True)
    idx = R.integers(0, 4, 5)
    value, dy = CrossEntropy()(p, np.eye(4)[idx])
    pt = torch.tensor(p, requires_grad=True)
    ref = F.nll_loss(torch.log(pt), torch.tensor(idx))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dy, pt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dy, finite_differences(CrossEntropy(), p, np.eye(4)[idx]), rtol=1e-6, atol=1e-9)
