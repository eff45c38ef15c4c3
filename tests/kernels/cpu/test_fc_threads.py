"""The fully connected kernels on one thread (fewer than dense._MIN_ROWS rows per thread) and over
the pool (more): values and gradients against torch, at the pool's own and 3 threads, with BLAS's
thread count restored after each call."""
import numpy as np
import pytest
import torch

from layergraph.kernels.cpu import dense
from layergraph.kernels.cpu.dense import fc_backward, fc_forward


@pytest.fixture(params=[None, 3], ids=["numba-threads", "3-threads"])
def threads(request, monkeypatch):
    if request.param is not None:
        from layergraph.kernels.cpu import _parallel
        monkeypatch.setattr(_parallel, "threads", lambda: request.param)
    return request.param


def _blas():
    from threadpoolctl import ThreadpoolController
    return [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


@pytest.mark.parametrize("n", [1, 32, 2 * dense._MIN_ROWS + 5])
def test_fc_matches_torch(threads, n):
    g = np.random.default_rng(n)
    x, w, b = g.standard_normal((n, 37)), g.standard_normal((11, 37)), g.standard_normal(11)
    dy = g.standard_normal((n, 11))
    before = _blas()
    y = fc_forward(x, w, b)
    dx, dw, db = fc_backward(dy, x, w)
    assert _blas() == before
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.linear(xt, wt, bt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, ref in ((dx, xt.grad), (dw, wt.grad), (db, bt.grad)):
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-12, atol=1e-11)
