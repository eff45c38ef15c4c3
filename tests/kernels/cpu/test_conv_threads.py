"""The batch-split prediction path of conv_forward: uneven batches over threads,
groups, strides, padding values and the fused ReLU, against PyTorch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu.conv import conv_backward, conv_forward, transposed_conv_backward, transposed_conv_forward


@pytest.mark.parametrize("n", [1, 3, 9])
@pytest.mark.parametrize("relu", [False, True])
def test_batch_split_matches_torch(n, relu):
    g = np.random.default_rng(n)
    x = g.standard_normal((n, 4, 7, 6))
    w = g.standard_normal((6, 2, 3, 2))
    b = g.standard_normal(6)
    y = conv_forward(x, w, b, 2, 1, 1, 2, 1, 2, 0, 1, groups=2, padding_value=0.5, relu=relu)
    xp = F.pad(torch.tensor(x), (0, 1, 1, 2), value=0.5)
    ref = F.conv2d(xp, torch.tensor(w), torch.tensor(b), stride=(2, 1), dilation=(1, 2), groups=2)
    if relu:
        ref = F.relu(ref)
    assert np.allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)


def test_blas_threads_restored():
    from threadpoolctl import ThreadpoolController
    before = [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    conv_forward(np.ones((5, 1, 4, 4), np.float32), np.ones((1, 1, 2, 2), np.float32), None, 1, 1, 1, 1, 0, 0, 0, 0)
    after = [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    assert before == after


@pytest.mark.parametrize("pool", [(2, 2, 2, 2, 0, 0, 0, 0), (3, 2, 2, 1, 1, 1, 0, 1)])
def test_fused_max_pooling_matches_torch(pool):
    g = np.random.default_rng(7)
    x = g.standard_normal((6, 3, 8, 7))
    w = g.standard_normal((5, 3, 3, 3))
    b = g.standard_normal(5)
    y = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, relu=True, pool=pool)
    ph, pw, sh, sw, pt, pb, pl, pr = pool
    ref = F.relu(F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1))
    ref = F.max_pool2d(F.pad(ref, (pl, pr, pt, pb), value=-np.inf), (ph, pw), (sh, sw))
    assert np.allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)


# -- the batch-split backward --------------------------------------------------------------------
def _torch_pad(x, pads, pv):
    pt, pb, pl, pr = pads
    mode = {"symmetric-include-edge": "symmetric", "symmetric-exclude-edge": "reflect",
            "replicate": "replicate"}.get(pv) if isinstance(pv, str) else None
    if mode == "symmetric":  # torch has no symmetric mode: mirror with the edge by hand
        x = torch.cat([x[:, :, :pt].flip(2), x, x[:, :, x.shape[2] - pb:].flip(2)], 2)
        return torch.cat([x[:, :, :, :pl].flip(3), x, x[:, :, :, x.shape[3] - pr:].flip(3)], 3)
    if mode is not None:
        return F.pad(x, (pl, pr, pt, pb), mode=mode)
    return F.pad(x, (pl, pr, pt, pb), value=pv)


BACKWARD = [  # (C, F, FH, FW), (sh, sw), (dh, dw), (pt, pb, pl, pr), groups, padding_value
    ((3, 4, 3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, 0.0),
    ((3, 2, 3, 2), (2, 2), (1, 1), (0, 2, 1, 0), 1, 0.0),
    ((4, 6, 3, 3), (1, 2), (2, 1), (2, 1, 0, 3), 2, 0.5),
    ((4, 4, 3, 3), (2, 1), (1, 2), (1, 1, 1, 1), 4, -1.0),
    ((2, 3, 3, 3), (1, 1), (1, 1), (2, 1, 1, 2), 1, "symmetric-include-edge"),
    ((2, 3, 3, 3), (2, 1), (1, 1), (1, 2, 2, 1), 1, "symmetric-exclude-edge"),
    ((2, 4, 3, 2), (1, 2), (2, 1), (2, 2, 1, 3), 2, "replicate"),
]


@pytest.mark.parametrize("n", [1, 2, 5, 7])
@pytest.mark.parametrize("wshape,s,d,pads,groups,pv", BACKWARD)
def test_backward_batch_split_matches_torch(threads, n, wshape, s, d, pads, groups, pv):
    g = np.random.default_rng(n)
    c, f, fh, fw = wshape
    x = g.standard_normal((n, c, 7, 8))
    w = g.standard_normal((f, c // groups, fh, fw))
    b = g.standard_normal(f)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(_torch_pad(tx, pads, pv), tw, tb, stride=s, dilation=d, groups=groups)
    y = conv_forward(x, w, b, *s, *d, *pads, groups=groups, padding_value=pv)
    assert np.allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = conv_backward(dy, x, w, *s, *d, *pads, groups=groups, padding_value=pv)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        assert ours.dtype == np.float64
        assert np.allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_backward_float32_seed_shape(threads, n):
    """The seed CNN's second layer in float32, batch sizes that split unevenly."""
    g = np.random.default_rng(0)
    x = g.standard_normal((n, 16, 16, 16)).astype(np.float32)
    w = (g.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    dy = g.standard_normal((n, 32, 16, 16)).astype(np.float32)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    F.conv2d(tx, tw, padding=1).backward(torch.tensor(dy.astype(np.float64)))
    dx, dw, db = conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    assert np.allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert np.allclose(dw, tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    assert np.allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("s,d,crop,groups", [((1, 1), (1, 1), (0, 0, 0, 0), 1), ((2, 3), (1, 2), (1, 0, 0, 2), 1),
                                             ((2, 1), (2, 1), (1, 1, 1, 0), 2), ((2, 2), (1, 1), (1, -1, 0, -1), 1)])
def test_transposed_batch_split_matches_torch(threads, n, s, d, crop, groups):
    g = np.random.default_rng(n)
    x = g.standard_normal((n, 4, 4, 3))
    w = g.standard_normal((4, 6 // groups, 3, 2))
    b = g.standard_normal(6)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    full = F.conv_transpose2d(tx, tw, stride=s, dilation=d, groups=groups)
    ct, cb, cl, cr = crop
    full = F.pad(full, (max(-cl, 0), max(-cr, 0), max(-ct, 0), max(-cb, 0)))  # negative crop: rows added
    full = full + tb[None, :, None, None]  # the bias covers them too (ONNX output_padding)
    ct, cb, cl, cr = (max(v, 0) for v in crop)
    ty = full[:, :, ct:full.shape[2] - cb, cl:full.shape[3] - cr]
    y = transposed_conv_forward(x, w, b, *s, *d, *crop, groups)
    assert np.allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = transposed_conv_backward(dy, x, w, *s, *d, *crop, groups)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        assert np.allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)


def test_backward_workspaces_are_not_returned():
    """Results never alias the per-thread scratch buffers: a second call leaves the first's
    results intact."""
    g = np.random.default_rng(1)
    x = g.standard_normal((5, 3, 6, 6)).astype(np.float32)
    w = g.standard_normal((4, 3, 3, 3)).astype(np.float32)
    dy = g.standard_normal((5, 4, 6, 6)).astype(np.float32)
    first = [a.copy() for a in conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)]
    kept = conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    conv_backward(dy * 2, x * 3, w, 1, 1, 1, 1, 1, 1, 1, 1)
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)


def test_one_thread_holds_blas_at_one_thread_in_the_convolution(monkeypatch):
    """NUMBA_NUM_THREADS=1: batch_parallel's single chunk runs with BLAS held at one thread too
    (it ran on OpenBLAS's own threads before), for the convolution's products as for the fully
    connected layer's."""
    from _cpu_testutil import blas_threads_seen

    from layergraph.kernels.cpu import _parallel
    from layergraph.kernels.cpu import conv as cv
    monkeypatch.setattr(_parallel, "threads", lambda: 1)
    seen = blas_threads_seen(monkeypatch, cv)
    g = np.random.default_rng(2)
    x, w = g.standard_normal((4, 8, 9, 9)), g.standard_normal((6, 8, 3, 3))
    y = conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1)
    conv_backward(np.ones_like(y), x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    assert seen and set(seen) == {1}
