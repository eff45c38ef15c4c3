"""The fully connected kernels on one thread (fewer than dense._MIN_ROWS rows per thread) and over
the pool (more): values and gradients against torch, at the pool's own and 3 threads, with BLAS's
thread count restored after each call."""
import contextlib

import numpy as np
import pytest
import torch

from layergraph.kernels.cpu import dense
from layergraph.kernels.cpu.dense import fc_backward, fc_forward

from _cpu_testutil import blas_threads_seen


def _blas():
    # the first fused call compiles (or loads) the bias/ReLU epilogue, and numba's start-up loads SciPy's
    # BLAS: counted from then on, so that what is compared is the thread counts of the same libraries
    fc_forward(np.ones((1, 1)), np.ones((1, 1)), np.ones(1), relu=True)
    fc_forward(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), np.ones(1, np.float32), relu=True)
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


# -- a small batch of a large layer: the products split over the output columns ----------------
def test_small_batch_of_a_large_layer_splits_the_columns():
    assert dense._split(8) == 1 and dense._split_columns(8, 520, 1024) == (dense._parallel.threads() > 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
# the forward split by columns, then by rows; the backward by columns at both
@pytest.mark.parametrize("n", [8, 2 * dense._MIN_ROWS + 5])
def test_column_split_matches_torch(threads, dtype, relu, n):
    g = np.random.default_rng(7)
    k, out = 1024, 521   # 8 * 521 * 1024 multiply-adds: over _MIN_COLUMN_WORK; 521 splits unevenly
    assert n * out * k >= dense._MIN_COLUMN_WORK
    x, w, b = (g.standard_normal(s).astype(dtype) for s in ((n, k), (out, k), (out,)))
    dy = g.standard_normal((n, out)).astype(dtype)
    before = _blas()
    y = fc_forward(x, w, b, relu=relu)
    dx, dw, db = fc_backward(dy, x, w)
    assert _blas() == before
    assert y.dtype == dx.dtype == dw.dtype == db.dtype == dtype
    xt, wt, bt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.linear(xt, wt, bt)
    if relu:
        yt = torch.relu(yt)
        assert (y == 0).any() and (y > 0).any()
    torch.nn.functional.linear(xt, wt, bt).backward(torch.tensor(dy, dtype=torch.float64))
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    for ours, ref in ((dx, xt.grad), (dw, wt.grad), (db, bt.grad)):
        np.testing.assert_allclose(ours, ref.numpy(), **tol)


def test_column_split_gradients_match_finite_differences():
    from _cpu_testutil import fd_check
    g = np.random.default_rng(8)
    n, k, out = 4, 1100, 1000
    assert dense._split(n) == 1 and n * out * k >= dense._MIN_COLUMN_WORK
    x, w, b = g.standard_normal((n, k)), g.standard_normal((out, k)), g.standard_normal(out)
    dy = g.standard_normal((n, out))
    dx, dw, _ = fc_backward(dy, x, w)
    fd_check(lambda x, w: fc_forward(x, w, b), [x, w], 0, dx, dy)
    fd_check(lambda x, w: fc_forward(x, w, b), [x, w], 1, dw, dy)


def test_column_split_is_the_same_whoever_takes_a_slice():
    g = np.random.default_rng(9)
    x, w, b = g.standard_normal((8, 1024)), g.standard_normal((600, 1024)), g.standard_normal(600)
    dy = g.standard_normal((8, 600))
    first = fc_forward(x, w, b, relu=True), *fc_backward(dy, x, w)
    for _ in range(3):
        for a, c in zip(first, (fc_forward(x, w, b, relu=True), *fc_backward(dy, x, w))):
            np.testing.assert_array_equal(a, c)


# -- need_dx=False (a layer on the network input): no dy W, dW and db unchanged ----------------
@pytest.mark.parametrize("n, k, out", [(3, 37, 11), (2 * dense._MIN_ROWS + 5, 37, 11), (8, 1024, 521)],
                         ids=["one-thread", "row-split", "column-split"])
def test_without_dx_the_weight_gradients_are_the_same(threads, n, k, out):
    g = np.random.default_rng(n + k)
    x, w = g.standard_normal((n, k)).astype(np.float32), g.standard_normal((out, k)).astype(np.float32)
    dy = g.standard_normal((n, out)).astype(np.float32)
    before = _blas()
    dx, dw, db = fc_backward(dy, x, w)
    none, dw2, db2 = fc_backward(dy, x, w, need_dx=False)
    assert _blas() == before
    assert none is None and dx is not None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


def test_the_executor_skips_the_first_layers_dx():
    """The MLP's first fully connected layer reads the network input: its backward is called
    without dx, and the learnables' gradients are those of the backward with every dx."""
    import layergraph as L
    from layergraph.core.ops import FullyConnectedOp
    L.rng(0)
    net = L.dlnetwork([L.featureInputLayer(20, "Normalization", "none"), L.fullyConnectedLayer(30),
                       L.reluLayer, L.fullyConnectedLayer(4), L.softmaxLayer])
    ex = net.executor("cpu", np.float64)
    x = np.random.default_rng(1).standard_normal((5, 20))
    [out] = ex.output_refs()
    seed = np.random.default_rng(2).standard_normal((5, 4))
    calls = []
    orig = FullyConnectedOp.backward

    def spy(self, k, dys, ctx, P):
        r = orig(self, k, dys, ctx, P)
        calls.append((self.layer.Name, r[0][0] is None))
        return r
    FullyConnectedOp.backward = spy
    try:
        ex.forward({ex.input_names[0]: x}, training=True)
        grads = ex.backward({out: seed})
        ex.forward({ex.input_names[0]: x}, training=True)
        all_dx = ex.backward({out: seed}, input_grads=True)
    finally:
        FullyConnectedOp.backward = orig
    assert [c[1] for c in calls] == [False, True, False, False]
    assert ex.input_grads and all(v.shape == x.shape for v in ex.input_grads.values())
    for layer, gs in grads.items():
        for name, gr in gs.items():
            np.testing.assert_array_equal(gr, all_dx[layer][name])


def test_one_thread_holds_blas_at_one_thread(monkeypatch):
    """With one thread in the pool a large batch is not 'split' into one chunk that runs without
    BLAS held: the product runs inside blas_threads(1)."""
    from layergraph.kernels.cpu import _parallel
    monkeypatch.setattr(_parallel, "threads", lambda: 1)
    assert dense._split(4 * dense._MIN_ROWS) == 1
    seen = blas_threads_seen(monkeypatch, dense)
    g = np.random.default_rng(5)
    # 256 x 300 x 11 multiply-adds: above the size OpenBLAS runs on one thread by itself
    x, w, b = g.standard_normal((4 * dense._MIN_ROWS, 300)), g.standard_normal((11, 300)), g.standard_normal(11)
    assert x.shape[0] * w.size > dense._BLAS_SERIAL_WORK
    y = fc_forward(x, w, b)
    fc_backward(np.ones_like(y), x, w)
    assert seen and set(seen) == {1}
    np.testing.assert_allclose(y, x @ w.T + b, rtol=1e-12, atol=1e-12)


def test_small_product_is_not_held(monkeypatch):
    """A product OpenBLAS runs on one thread by itself (at most _BLAS_SERIAL_WORK multiply-adds,
    a 512 -> 10 layer at batch 32) does not pay for blas_threads' two set_num_threads calls; the
    values are the same."""
    held = []
    monkeypatch.setattr(dense, "blas_threads", lambda n: held.append(n) or contextlib.nullcontext())
    g = np.random.default_rng(6)
    x, w, b = g.standard_normal((32, 512)), g.standard_normal((10, 512)), g.standard_normal(10)
    assert x.shape[0] * w.size <= dense._BLAS_SERIAL_WORK
    y = fc_forward(x, w, b, relu=True)
    dx, dw, db = fc_backward(np.ones_like(y), x, w)
    assert held == []
    np.testing.assert_allclose(y, np.maximum(x @ w.T + b, 0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, np.ones_like(y).T @ x, rtol=1e-12, atol=1e-12)
    x2 = g.standard_normal((32, 1024))
    w2 = g.standard_normal((10, 1024))
    assert x2.shape[0] * w2.size > dense._BLAS_SERIAL_WORK
    fc_forward(x2, w2, None)
    assert held == [1]
