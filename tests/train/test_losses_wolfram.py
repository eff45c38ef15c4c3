"""Core losses added for Wolfram's loss layers: each gradient against float64 central
differences of its own value, each value against PyTorch (CPU) or plain numpy."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.train import BinaryCrossEntropy

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
