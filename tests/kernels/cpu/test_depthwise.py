"""The depthwise convolution kernels (kernels/cpu/depthwise.py), reached through conv_forward /
conv_backward with groups == C: values and gradients against torch conv2d(groups=C), float64
finite differences, the grouped im2col path they replace, every padding value, stride,
dilation and filter size the router sends them, channel multipliers, the fused ReLU and max
pooling, need_dx=False, float32 and uneven thread splits; and conv.py's 1x1 pointwise path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _cpu_testutil import fd_check

from layergraph.kernels.cpu import conv, depthwise
from layergraph.kernels.cpu.conv import conv_backward, conv_forward


def _torch_pad(x, pads, pv):
    pt, pb, pl, pr = pads
    if pv == "symmetric-include-edge":  # no torch mode: numpy's 'symmetric' on the values
        return torch.tensor(np.pad(x.detach().numpy(), ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode="symmetric"))
    mode = {"symmetric-exclude-edge": "reflect", "replicate": "replicate"}.get(pv)
    if mode is not None:
        return F.pad(x, (pl, pr, pt, pb), mode=mode)
    return F.pad(x, (pl, pr, pt, pb), value=pv)


@pytest.fixture
def routed(monkeypatch):
    """Counts the calls that reach the depthwise kernels, to show the router sent them there."""
    calls = {"forward": 0, "backward": 0}
    fwd, bwd = conv.depthwise_forward, conv.depthwise_backward

    def f(*a, **k):
        calls["forward"] += 1
        return fwd(*a, **k)

    def b(*a, **k):
        calls["backward"] += 1
        return bwd(*a, **k)

    monkeypatch.setattr(conv, "depthwise_forward", f)
    monkeypatch.setattr(conv, "depthwise_backward", b)
    return calls


CASES = [  # C, M (filters per channel), (FH, FW), (sh, sw), (dh, dw), (pt, pb, pl, pr), padding value
    (4, 1, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),
    (4, 1, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 0.0),
    (3, 1, (3, 3), (2, 2), (1, 1), (0, 1, 0, 1), 0.0),       # MATLAB 'same' at stride 2
    (5, 2, (3, 2), (1, 2), (2, 1), (2, 1, 0, 3), 0.0),
    (4, 1, (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 0.0),
    (2, 3, (1, 1), (2, 1), (1, 1), (0, 0, 0, 0), 0.0),
    (3, 1, (3, 3), (3, 2), (2, 2), (3, 0, 1, 2), 0.0),
    (4, 1, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.5),
    (3, 2, (3, 3), (2, 1), (1, 2), (1, 2, 2, 1), -1.0),
    (2, 1, (3, 3), (1, 1), (1, 1), (2, 1, 1, 2), "symmetric-include-edge"),
    (3, 1, (3, 3), (2, 1), (1, 1), (1, 2, 2, 1), "symmetric-exclude-edge"),
    (2, 2, (3, 2), (1, 2), (2, 1), (2, 2, 1, 3), "replicate"),
]


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("c,m,k,s,d,pads,pv", CASES)
def test_values_and_gradients_match_torch(threads, routed, n, c, m, k, s, d, pads, pv):
    g = np.random.default_rng(n + c)
    x = g.standard_normal((n, c, 9, 8))
    w = g.standard_normal((c * m, 1, *k))
    b = g.standard_normal(c * m)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    xin = _torch_pad(tx, pads, pv)
    if pv == "symmetric-include-edge":  # the padded copy is a leaf here; its gradient is folded back below
        xin.requires_grad_(True)
    ty = F.conv2d(xin, tw, tb, stride=s, dilation=d, groups=c)
    y = conv_forward(x, w, b, *s, *d, *pads, groups=c, padding_value=pv)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = conv_backward(dy, x, w, *s, *d, *pads, groups=c, padding_value=pv)
    if pv == "symmetric-include-edge":
        # fold the padded copy's gradient back with the padding's one-hot index matrices
        pt, pb, pl, pr = pads
        rows = conv._onehot(x.shape[2], pt, pb, pv)
        cols = conv._onehot(x.shape[3], pl, pr, pv)
        ref_dx = rows.T @ xin.grad.numpy() @ cols
    else:
        ref_dx = tx.grad.numpy()
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-11, atol=1e-11)
    assert routed == {"forward": 1, "backward": 1}


@pytest.mark.parametrize("c,m,k,s,d,pads,pv", [CASES[1], CASES[3], CASES[8], CASES[11]])
def test_gradients_by_finite_differences(c, m, k, s, d, pads, pv):
    g = np.random.default_rng(7)
    x = g.standard_normal((2, c, 7, 6))
    w = g.standard_normal((c * m, 1, *k))
    b = g.standard_normal(c * m)
    hp = (*s, *d, *pads)

    def f(x, w, b):
        return conv_forward(x, w, b, *hp, groups=c, padding_value=pv)

    dy = g.standard_normal(f(x, w, b).shape)
    dx, dw, db = conv_backward(dy, x, w, *hp, groups=c, padding_value=pv)
    for i, grad in enumerate((dx, dw, db)):
        fd_check(f, (x, w, b), i, grad, dy)


@pytest.mark.parametrize("c,m,k,s,d,pads,pv", CASES)
def test_same_as_the_grouped_im2col_path(c, m, k, s, d, pads, pv):
    """The im2col path the router used before (conv._forward / conv._grads, run directly)."""
    g = np.random.default_rng(3)
    x = g.standard_normal((3, c, 9, 8))
    w = g.standard_normal((c * m, 1, *k))
    b = g.standard_normal(c * m)
    y = conv_forward(x, w, b, *s, *d, *pads, groups=c, padding_value=pv)
    p = dict(zip(("sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr"), (*s, *d, *pads)))
    xp, q, cv = conv._prepad(x, p, pv)
    old = conv._forward(xp, w, b, q["sh"], q["sw"], q["dh"], q["dw"], q["pt"], q["pl"], cv, c, *y.shape[2:])
    np.testing.assert_allclose(y, old, rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    dx, dw, db = conv_backward(dy, x, w, *s, *d, *pads, groups=c, padding_value=pv)
    odx, odw, odb = conv._grads(dy, xp, w, xp.shape, q["sh"], q["sw"], q["dh"], q["dw"], q["pt"], q["pl"], cv, c,
                                True, True)
    if isinstance(pv, str):
        odx = conv._unpad(odx, x.shape[2], x.shape[3], *pads, pv)
    np.testing.assert_allclose(dx, odx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(dw, odw.reshape(w.shape), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(db, odb, rtol=1e-11, atol=1e-11)


def test_fused_relu_and_max_pooling():
    g = np.random.default_rng(5)
    x = g.standard_normal((3, 6, 10, 10))
    w = g.standard_normal((6, 1, 3, 3))
    b = g.standard_normal(6)
    tx, tw, tb = (torch.tensor(a) for a in (x, w, b))
    ref = F.relu(F.conv2d(tx, tw, tb, padding=1, groups=6))
    y = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, groups=6, relu=True)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
    pooled = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, groups=6, relu=True, pool=(3, 3, 2, 2, 1, 1, 1, 1))
    want = F.max_pool2d(F.pad(ref, (1, 1, 1, 1), value=-np.inf), 3, 2)
    np.testing.assert_allclose(pooled, want.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="does not fit"):
        conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, groups=6, relu=True, pool=(20, 20, 1, 1, 0, 0, 0, 0))


def test_need_dx_false_and_no_bias(routed):
    g = np.random.default_rng(6)
    x = g.standard_normal((4, 3, 8, 8))
    w = g.standard_normal((3, 1, 3, 3))
    y = conv_forward(x, w, None, 2, 2, 1, 1, 0, 1, 0, 1, groups=3)
    ref = F.conv2d(F.pad(torch.tensor(x), (0, 1, 0, 1)), torch.tensor(w), stride=2, groups=3)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    dx, dw, db = conv_backward(dy, x, w, 2, 2, 1, 1, 0, 1, 0, 1, groups=3, need_dx=False)
    full = conv_backward(dy, x, w, 2, 2, 1, 1, 0, 1, 0, 1, groups=3)
    assert dx is None
    np.testing.assert_array_equal(dw, full[1])
    np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("n,c,hw,stride", [(5, 32, 16, 1), (3, 64, 16, 2), (4, 16, 9, 2)])
def test_float32_mobilenet_shapes(threads, n, c, hw, stride):
    """float32 against torch in float64: accurate to float32 rounding (the sums of dW over
    N*OH*OW positions included)."""
    g = np.random.default_rng(c)
    x = g.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (g.standard_normal((c, 1, 3, 3)) * 0.3).astype(np.float32)
    b = g.standard_normal(c).astype(np.float32)
    tx, tw, tb = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(tx, tw, tb, stride=stride, padding=1, groups=c)
    y = conv_forward(x, w, b, stride, stride, 1, 1, 1, 1, 1, 1, groups=c)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    dy = g.standard_normal(y.shape).astype(np.float32)
    ty.backward(torch.tensor(dy.astype(np.float64)))
    dx, dw, db = conv_backward(dy, x, w, stride, stride, 1, 1, 1, 1, 1, 1, groups=c)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    scale = np.abs(tw.grad.numpy()).max()
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-5, atol=1e-5 * np.abs(tb.grad.numpy()).max())


def test_span_is_the_valid_column_range():
    """_span's (j0, j1) against a brute-force scan over offsets, strides and widths."""
    span = depthwise._span.py_func if hasattr(depthwise._span, "py_func") else depthwise._span
    for off in range(-6, 7):
        for s in (1, 2, 3):
            for w in (1, 4, 7):
                for ow in (1, 3, 8):
                    ok = [j for j in range(ow) if 0 <= j * s + off < w]
                    j0, j1 = span(off, s, w, ow)
                    assert list(range(j0, j1)) == ok, (off, s, w, ow)


def test_one_channel_keeps_the_im2col_path(routed):
    x = np.ones((1, 1, 4, 4))
    w = np.ones((2, 1, 3, 3))
    conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, groups=1)
    assert routed["forward"] == 0


# -- the 1x1 pointwise path of conv.py (the columns are x itself; dx written without col2im) ------
@pytest.mark.parametrize("n,c,f,groups", [(1, 4, 6, 1), (5, 6, 4, 2), (3, 8, 8, 1)])
def test_pointwise_matches_torch(threads, n, c, f, groups):
    g = np.random.default_rng(n * c)
    x = g.standard_normal((n, c, 5, 7))
    w = g.standard_normal((f, c // groups, 1, 1))
    b = g.standard_normal(f)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(tx, tw, tb, groups=groups)
    y = conv_forward(x, w, b, 1, 1, 1, 1, 0, 0, 0, 0, groups=groups)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = conv_backward(dy, x, w, 1, 1, 1, 1, 0, 0, 0, 0, groups=groups)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)
    fd_check(lambda x: conv_forward(x, w, b, 1, 1, 1, 1, 0, 0, 0, 0, groups=groups), (x,), 0, dx, dy)


def test_pointwise_transposed_convolution_matches_torch():
    """A 1x1 stride-1 transposed convolution's forward is the pointwise backward's dx."""
    g = np.random.default_rng(11)
    x = g.standard_normal((3, 4, 6, 5))
    w = g.standard_normal((4, 3, 1, 1))
    b = g.standard_normal(3)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv_transpose2d(tx, tw, tb)
    y = conv.transposed_conv_forward(x, w, b, 1, 1, 1, 1, 0, 0, 0, 0)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = conv.transposed_conv_backward(dy, x, w, 1, 1, 1, 1, 0, 0, 0, 0)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)


def test_parallel_range_inside_the_pool_gives_the_same_result(monkeypatch):
    """A kernel split by parallel_range, called from inside the pool's own work (where it runs
    in the calling thread instead of waiting on the pool), gives the same result."""
    from layergraph.kernels.cpu import _parallel
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    monkeypatch.setattr(_parallel, "SERIAL_BELOW", 0)
    g = np.random.default_rng(9)
    x = g.standard_normal((4, 8, 6, 6))
    w = g.standard_normal((8, 1, 3, 3))
    want = conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, groups=8)
    got = _parallel.batch_parallel(lambda chunks: [conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, groups=8)
                                                   for _ in chunks], 2, 1)
    for out in got:
        for y in out:
            np.testing.assert_array_equal(y, want)
