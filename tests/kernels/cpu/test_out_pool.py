"""Reused output arrays (_util.out_empty): an array is handed out again only when nothing
outside the pool refers to it, so results that callers keep are never overwritten."""
import numpy as np

from layergraph.kernels.cpu import _util
from layergraph.kernels.cpu.activation import relu_backward, relu_forward
from layergraph.kernels.cpu.conv import conv_backward, conv_forward

SHAPE = (64, 4, 32, 32)  # 2 MiB of float32: pooled


def test_reused_only_when_released():
    a = _util.out_empty((512, 1024), np.float32)
    b = _util.out_empty((512, 1024), np.float32)
    assert a is not b
    ida = id(a)
    del a
    c = _util.out_empty((512, 1024), np.float32)
    assert id(c) == ida  # released: handed out again
    view = c.reshape(-1)
    del c
    d = _util.out_empty((512, 1024), np.float32)
    assert d.base is None and id(d) != ida  # a view keeps its base in use
    assert view.base is not None


def test_small_arrays_are_not_pooled():
    a = _util.out_empty((10, 10), np.float64)
    b = _util.out_empty((10, 10), np.float64)
    assert a is not b and a.flags.owndata and ((10, 10), "<f8") not in _util._pool


def test_kept_results_survive_later_calls():
    g = np.random.default_rng(0)
    xs = [g.standard_normal(SHAPE).astype(np.float32) for _ in range(3)]
    kept = [relu_forward(x) for x in xs]
    for x, y in zip(xs, kept):
        np.testing.assert_array_equal(y, np.maximum(x, 0))
    dys = [relu_backward(x, x, None) for x in xs]
    for x, d in zip(xs, dys):
        np.testing.assert_array_equal(d, np.where(x > 0, x, 0))


def test_conv_outputs_not_shared_between_live_results():
    g = np.random.default_rng(1)
    x = g.standard_normal((64, 3, 32, 32)).astype(np.float32)
    w = g.standard_normal((8, 3, 3, 3)).astype(np.float32)
    y1 = conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1)
    y2 = conv_forward(2 * x, w, None, 1, 1, 1, 1, 1, 1, 1, 1)
    np.testing.assert_allclose(y2, 2 * y1, rtol=1e-5, atol=1e-5)
    dx1 = conv_backward(y1, x, w, 1, 1, 1, 1, 1, 1, 1, 1)[0]
    dx2 = conv_backward(2 * y1, x, w, 1, 1, 1, 1, 1, 1, 1, 1)[0]
    np.testing.assert_allclose(dx2, 2 * dx1, rtol=1e-5, atol=1e-4)


def test_pool_stays_bounded(monkeypatch):
    monkeypatch.setattr(_util, "POOL_MAX_BYTES", 4 << 20)
    monkeypatch.setattr(_util, "_pool", {})
    monkeypatch.setattr(_util, "_pool_bytes", 0)
    held = [_util.out_empty((256, 1024), np.float32) for _ in range(12)]  # 1 MiB each
    assert _util._pool_bytes <= 4 << 20
    assert sum(len(v) for v in _util._pool.values()) <= 4
    assert len({id(a) for a in held}) == 12
