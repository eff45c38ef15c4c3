"""conv_backward's im2col route (kernels/cpu/conv.py _grads) at small planes, where a chunk holds
at least _DW_ROWS output pixels and at most a quarter of the batch (8 observations at 8x8, batch
32: fewer dW slots), the slots in the calling
thread's workspace (reused between calls): dW, db and dx against torch and float64 central
differences, several slots and a partial last one, the same dW and db with and without dx, and
two calls in a row (a reused workspace) giving the same arrays; and Winograd's filter transform
(winograd.filter_transform, in blocks of filters over the pool) against G w G^T."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _cpu_testutil import fd_check

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import winograd as wg


@pytest.mark.parametrize("n,c,f,hw,s", [(20, 72, 80, 8, 1), (40, 68, 16, 6, 1), (9, 72, 24, 16, 2)])
def test_grads_with_big_chunks_match_torch_and_finite_differences(threads, spy, n, c, f, hw, s):
    calls = spy(cv, "_grads", lambda *a, **k: a[1].shape)
    g = np.random.default_rng(n + c)
    x = g.standard_normal((n, c, hw, hw))
    w = g.standard_normal((f, c, 3, 3)) * 0.2
    b = g.standard_normal(f)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(tx, tw, tb, stride=s, padding=1)
    dy = g.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    p = ty.shape[2] * ty.shape[3]
    sub = cv._dw_sub(n, p)
    assert sub > cv._SUB_B and -(-n // sub) >= 3   # several slots of more than two observations
    dx, dw, db = cv.conv_backward(dy, x, w, s, s, 1, 1, 1, 1, 1, 1)
    assert calls   # the im2col route (not the pixel-major one: more than 64 channels)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-10, atol=1e-10)
    dx1, dw1, db1 = cv.conv_backward(dy, x, w, s, s, 1, 1, 1, 1, 1, 1)   # the workspace again
    assert dx1.tobytes() == dx.tobytes() and dw1.tobytes() == dw.tobytes() and db1.tobytes() == db.tobytes()
    _, dw0, db0 = cv.conv_backward(dy, x, w, s, s, 1, 1, 1, 1, 1, 1, need_dx=False)
    assert dw0.tobytes() == dw.tobytes() and db0.tobytes() == db.tobytes()

    def fwd(x_, w_, b_):
        return cv.conv_forward(x_, w_, b_, s, s, 1, 1, 1, 1, 1, 1)
    fd_check(fwd, [x, w, b], 0, dx, dy)
    fd_check(fwd, [x, w, b], 1, dw, dy)
    fd_check(fwd, [x, w, b], 2, db, dy)


def test_float32_grads_with_big_chunks_match_torch(threads):
    g = np.random.default_rng(5)
    x = g.standard_normal((32, 96, 8, 8)).astype(np.float32)
    w = (g.standard_normal((128, 96, 3, 3)) * 0.1).astype(np.float32)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = F.conv2d(tx, tw, padding=1)
    dy = g.standard_normal(tuple(ty.shape)).astype(np.float32)
    ty.backward(torch.tensor(dy))
    dx, dw, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    assert dw.dtype == np.float32
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("f,c", [(7, 5), (40, 33), (16, 130), (50, 3), (64, 64), (128, 256)])
def test_filter_transform_by_channels_over_the_pool(threads, f, c):
    """Against G w G^T, power-of-two shapes (the staggered rows: a 16 x C x F view, not contiguous)
    among them, and a flipped, transposed view of weights (the dx route's) as its copy."""
    g = np.random.default_rng(f)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    for dt in (np.float64, np.float32):
        w = g.standard_normal((f, c, 3, 3)).astype(dt)
        u = wg.filter_transform(w)
        assert u.shape == (16, c, f) and u.dtype == dt
        ref = np.einsum("ia,fcab,jb->ijcf", G, w.astype(np.float64), G).reshape(16, c, f)
        np.testing.assert_allclose(u, ref, rtol=1e-12 if dt == np.float64 else 1e-6, atol=1e-12)
        view = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
        np.testing.assert_array_equal(wg.filter_transform(view), wg.filter_transform(np.ascontiguousarray(view)))


def test_dw_chunks():
    assert [cv._dw_sub(32, p) for p in (1024, 256, 64, 16, 1)] == [2, 2, 8, 8, 8]
    assert cv._dw_sub(128, 64) == 8 and cv._dw_sub(128, 4) == 32 and cv._dw_sub(5, 64) == 2
