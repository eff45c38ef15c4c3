"""The fully connected layers' forward at small float32 batches (kernels/cpu/dense.py WX,
_wx_rows): y^T = W x^T on direct.py's register-blocked kernel, for a chain (lists of weights, one
layer too; a single layer's fc_forward stays on BLAS), on one thread or split by 16 observations.
torch's linear / relu / hardtanh values at shapes with partial blocks of rows and columns; the BLAS
route's values; the same bits however it is split; NaN as the BLAS route's epilogue takes it;
which batches take the route."""
import numpy as np
import pytest
from test_fc_chain import _torch as _torch_chain   # torch's layers one after another, in float64

from layergraph.kernels.cpu import dense
from layergraph.kernels.cpu.dense import fc_forward


def _torch(x, w, b, relu, ceiling):
    return _torch_chain(x.reshape(x.shape[0], -1), [w], [b], [relu], [ceiling])


@pytest.fixture
def threads(monkeypatch):
    """Split over nt threads whenever the route allows it (no back-off, no size floor)."""
    def use(nt):
        monkeypatch.setattr(dense, "_WX_MIN_OUT", 1)   # every layer, so that partial row blocks are met
        monkeypatch.setattr(dense._parallel, "threads", lambda: nt)
        monkeypatch.setattr(dense, "_MIN_COLUMN_WORK", 0)
        monkeypatch.setattr(dense, "_chain_tried", lambda *a: None)
        monkeypatch.setattr(dense, "_chain_serial_until", [0.0])
    return use


@pytest.mark.parametrize("n", [1, 5, 16, 17, 31, 32, 100, 128])
@pytest.mark.parametrize("sizes", [(3, 1), (5, 7), (100, 13), (64, 33), (784, 512)])
@pytest.mark.parametrize("act", [(False, np.inf), (True, np.inf), (True, 0.5)])
@pytest.mark.parametrize("nt", [1, 2])
def test_small_batch_forward_matches_torch_and_blas(threads, n, sizes, act, nt):
    threads(nt)
    g = np.random.default_rng(n * 7 + sizes[1])
    k, out = sizes
    x = g.standard_normal((n, k)).astype(np.float32)
    w = (g.standard_normal((out, k)) / np.sqrt(k)).astype(np.float32)
    b = (0.1 * g.standard_normal(out)).astype(np.float32) if out % 2 else None
    relu, ceiling = act
    calls = []
    real = dense._wx_rows
    dense_rows = lambda *a: calls.append(1) or real(*a)   # noqa: E731
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dense, "_wx_rows", dense_rows)
        y = fc_forward(x, [w], [b], relu=[relu], ceiling=[ceiling])
    assert calls, "the transposed route did not run"
    assert y.shape == (n, out) and y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_allclose(y, _torch(x, w, b, relu, ceiling), rtol=1e-4, atol=2e-5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dense, "WX", False)
        blas = fc_forward(x, w, b, relu=relu, ceiling=ceiling)
    np.testing.assert_allclose(y, blas, rtol=1e-5, atol=1e-5)   # two float32 orders of the sums


def test_the_split_does_not_change_a_bit(threads):
    g = np.random.default_rng(0)
    x = g.standard_normal((29, 200)).astype(np.float32)
    ws = [(g.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in ((200, 70), (70, 9))]
    bs = [g.standard_normal(70).astype(np.float32), None]
    threads(1)
    one = fc_forward(x, ws, bs, relu=[True, False], ceiling=[np.inf] * 2, softmax=True)
    threads(2)
    calls = []
    real = dense.batch_parallel
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dense, "batch_parallel", lambda *a: calls.append(a[1:]) or real(*a))
        two = fc_forward(x, ws, bs, relu=[True, False], ceiling=[np.inf] * 2, softmax=True)
    assert calls == [(29, 16)]   # two slices: 16 observations and the 13 left
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("nt", [1, 2])
def test_nan_and_inf_as_the_blas_route_gives_them(threads, nt):
    threads(nt)
    g = np.random.default_rng(1)
    x = g.standard_normal((20, 40)).astype(np.float32)
    x[3, 5], x[7, 0], x[11, 2] = np.nan, np.inf, -np.inf
    w = g.standard_normal((30, 40)).astype(np.float32)
    for relu, ceiling in ((False, np.inf), (True, np.inf), (True, 6.0)):
        y = fc_forward(x, [w], [None], relu=[relu], ceiling=[ceiling])
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dense, "WX", False)
            want = fc_forward(x, w, None, relu=relu, ceiling=ceiling)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
        ok = np.isfinite(want)
        np.testing.assert_array_equal(np.isposinf(y), np.isposinf(want))
        np.testing.assert_allclose(y[ok], want[ok], rtol=1e-5, atol=1e-5)
        if relu:   # ReLU takes NaN to 0, as the BLAS route's epilogue does
            assert not np.isnan(y).any()


def test_which_batches_take_the_route(monkeypatch):
    def refuse(*a):
        raise AssertionError("the transposed route ran")
    g = np.random.default_rng(2)
    w = g.standard_normal((dense._WX_MIN_OUT, 12))
    monkeypatch.setattr(dense, "_wx_rows", refuse)
    for x, wi in ((g.standard_normal((8, 12)), w),                                            # float64: BLAS
                  (g.standard_normal((dense._WX_MAX_ROWS + 1, 12)).astype(np.float32), w),    # too many rows
                  (g.standard_normal((8, 12)).astype(np.float32), w[:dense._WX_MIN_OUT - 1])):  # too few outputs
        wi = wi.astype(x.dtype)
        w2 = g.standard_normal((3, wi.shape[0])).astype(x.dtype)
        np.testing.assert_allclose(fc_forward(x, wi, None), x @ wi.T, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(fc_forward(x, [wi, w2], [None, None], relu=[True, False], ceiling=[np.inf] * 2),
                                   np.maximum(x @ wi.T, 0) @ w2.T, rtol=1e-4, atol=1e-4)
    x = g.standard_normal((8, 12)).astype(np.float32)   # one layer alone: BLAS
    np.testing.assert_allclose(fc_forward(x, w.astype(np.float32), None), x @ w.T.astype(np.float32), rtol=1e-5,
                               atol=1e-5)
    monkeypatch.undo()
    monkeypatch.setattr(dense, "_WX_MIN_OUT", 1)
    # images (N x C x H x W, read as their row-major flatten) and weights given as a strided view
    x = g.standard_normal((6, 2, 3, 2)).astype(np.float32)
    wt = np.asfortranarray(g.standard_normal((9, 12)).astype(np.float32))
    y = fc_forward(x, [wt], [np.arange(9, dtype=np.float32)], relu=[False], ceiling=[np.inf])
    np.testing.assert_allclose(y, x.reshape(6, -1) @ wt.T + np.arange(9), rtol=1e-5, atol=1e-5)
