"""The addition of large arrays split over the pool's threads (combine.py, h_rpar): values
against torch, finite-difference gradients in float64, the pooled outputs independent."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _cpu_testutil import fd_check, rng

from layergraph.kernels.cpu import _parallel, combine

SHAPE = (3, 16, 33, 31)   # 49,104 elements: above SERIAL_BELOW, not a multiple of the block


def test_large_enough_for_the_parallel_path():
    assert int(np.prod(SHAPE)) >= _parallel.SERIAL_BELOW and int(np.prod(SHAPE)) % combine._BLOCK


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [2, 3])
def test_addition_vs_torch(dtype, k):
    r = rng(40)
    xs = [r.standard_normal(SHAPE).astype(dtype) for _ in range(k)]
    y = combine.addition_forward(xs)
    want = sum(torch.tensor(a) for a in xs)
    assert y.dtype == dtype and y.shape == SHAPE
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)
    y2 = combine.addition_forward(xs)   # a second call while the first result is held: no aliasing
    assert not np.shares_memory(y, y2)
    np.testing.assert_array_equal(y, y2)


def test_addition_mixed_dtypes_keeps_numpy_result():
    r = rng(41)
    a = r.standard_normal(SHAPE).astype(np.float32)
    b = r.standard_normal(SHAPE)
    y = combine.addition_forward([a, b])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, a.astype(np.float64) + b)


def test_addition_backward_copies_and_fd():
    r = rng(42)
    xs = [r.standard_normal(SHAPE) for _ in range(3)]
    dy = r.standard_normal(SHAPE)
    grads = combine.addition_backward(dy, 3)
    assert len(grads) == 3
    for i, g in enumerate(grads):
        assert not np.shares_memory(g, dy)
        for h in grads[i + 1:]:
            assert not np.shares_memory(g, h)
        np.testing.assert_array_equal(g, dy)
        fd_check(lambda *a: combine.addition_forward(a), xs, i, g, dy)
    t = [torch.tensor(a, requires_grad=True) for a in xs]
    (sum(t) * torch.tensor(dy)).sum().backward()
    for g, a in zip(grads, t):
        np.testing.assert_allclose(g, a.grad.numpy())
