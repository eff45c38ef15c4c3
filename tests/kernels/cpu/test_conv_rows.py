"""The pixel-major ("im2row") path of conv_forward / conv_backward (one group, stride 1, between
conv._ROWS_MIN_C and conv._ROWS_MAX_C input channels; the forward from conv._ROWS_MIN_C_FWD, which
these tests lower to reach it at small shapes): values and gradients against torch conv2d, float64 finite
differences, the im2col path it replaces, float32 at ResNet-20's shapes, uneven batches over
threads."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu.conv import conv_backward, conv_forward

from _cpu_testutil import fd_check
from test_conv_threads import _torch_pad


@pytest.fixture
def rows_calls(monkeypatch):
    """Counts the calls of the pixel-major forward and backward, so each test shows it ran them;
    the forward takes the path from 8 channels (and not Winograd's, which 3x3 stride-1 filters on 32
    or more channels take first; nor the backward Winograd's filter gradient)."""
    monkeypatch.setattr(cv, "_ROWS_MIN_C_FWD", 8)
    monkeypatch.setattr(cv, "_WINOGRAD_MIN_C", 10 ** 9)
    monkeypatch.setattr(cv._winograd, "DW_WINOGRAD", False)   # nor Winograd's filter gradient (from 64)
    calls = {"forward": 0, "backward": 0}
    f0, b0 = cv._forward_rows, cv._grads_rows

    def f(*a, **k):
        calls["forward"] += 1
        return f0(*a, **k)

    def b(*a, **k):
        calls["backward"] += 1
        return b0(*a, **k)
    monkeypatch.setattr(cv, "_forward_rows", f)
    monkeypatch.setattr(cv, "_grads_rows", b)
    return calls


CASES = [  # (C, F, FH, FW), (dh, dw), (pt, pb, pl, pr), padding_value
    ((8, 8, 3, 3), (1, 1), (1, 1, 1, 1), 0.0),
    ((9, 5, 3, 3), (2, 2), (0, 2, 1, 3), 0.0),
    ((8, 4, 2, 3), (1, 2), (1, 0, 0, 1), 0.5),
    ((10, 12, 5, 5), (1, 1), (2, 2, 2, 2), -1.0),
    ((8, 3, 1, 3), (1, 1), (0, 0, 1, 1), 0.0),
    ((8, 6, 3, 3), (1, 1), (3, 0, 0, 4), 0.0),  # padding beyond the filter's reach: dx reads fewer rows
    ((8, 5, 3, 3), (1, 1), (2, 1, 1, 2), "symmetric-include-edge"),
    ((8, 4, 3, 2), (2, 1), (2, 2, 1, 1), "replicate"),
    ((8, 4, 3, 3), (1, 1), (1, 2, 2, 1), "symmetric-exclude-edge"),
    ((64, 6, 3, 3), (1, 1), (1, 1, 1, 1), 0.0),  # 64 channels: dW from x's rows
    ((64, 5, 3, 2), (2, 1), (2, 1, 0, 2), 0.5),
]


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("wshape,d,pads,pv", CASES)
def test_rows_match_torch(threads, rows_calls, n, wshape, d, pads, pv):
    g = np.random.default_rng(n)
    c, f, fh, fw = wshape
    x = g.standard_normal((n, c, 7, 8))
    w = g.standard_normal((f, c, fh, fw))
    b = g.standard_normal(f)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(_torch_pad(tx, pads, pv), tw, tb, dilation=d)
    y = conv_forward(x, w, b, 1, 1, *d, *pads, padding_value=pv)
    assert np.allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    yr = conv_forward(x, w, b, 1, 1, *d, *pads, padding_value=pv, relu=True)
    assert np.array_equal(yr, np.maximum(y, 0))
    dy = g.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    dx, dw, db = conv_backward(dy, x, w, 1, 1, *d, *pads, padding_value=pv)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        assert ours.dtype == np.float64 and ours.shape == ref.shape
        assert np.allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)
    dx0, dw0, db0 = conv_backward(dy, x, w, 1, 1, *d, *pads, padding_value=pv, need_dx=False)
    assert dx0 is None and np.array_equal(dw0, dw) and np.array_equal(db0, db)
    assert rows_calls == {"forward": 2, "backward": 2}


@pytest.mark.parametrize("wshape,d,pads,pv", [CASES[0], CASES[1], CASES[3], CASES[6], CASES[10]])
def test_rows_finite_differences(rows_calls, wshape, d, pads, pv):
    g = np.random.default_rng(3)
    c, f, fh, fw = wshape
    x = g.standard_normal((3, c, 6, 5))
    w = g.standard_normal((f, c, fh, fw))
    b = g.standard_normal(f)

    def fwd(x, w, b):
        return conv_forward(x, w, b, 1, 1, *d, *pads, padding_value=pv)
    dy = g.standard_normal(fwd(x, w, b).shape)
    dx, dw, db = conv_backward(dy, x, w, 1, 1, *d, *pads, padding_value=pv)
    fd_check(fwd, [x, w, b], 0, dx, dy)
    fd_check(fwd, [x, w, b], 1, dw, dy)
    fd_check(fwd, [x, w, b], 2, db, dy)
    assert rows_calls["backward"] == 1 and rows_calls["forward"] > 1


@pytest.mark.parametrize("c,hw", [(16, 32), (32, 16), (64, 8)])
def test_rows_equal_im2col_float32_resnet_shapes(threads, monkeypatch, c, hw):
    """ResNet-20's 3x3 layers in float32 (batch 5: uneven over threads): the pixel-major path
    against the im2col path (differences of float rounding only) and float64 torch."""
    g = np.random.default_rng(c)
    x = g.standard_normal((5, c, hw, hw)).astype(np.float32)
    w = (g.standard_normal((c, c, 3, 3)) * 0.1).astype(np.float32)
    b = g.standard_normal(c).astype(np.float32)
    dy = g.standard_normal((5, c, hw, hw)).astype(np.float32)
    y = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1)
    grads = conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    monkeypatch.setattr(cv, "_ROWS_MIN_C", 10 ** 9)  # the im2col path
    y_old = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1)
    grads_old = conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    assert y.dtype == np.float32 and all(a.dtype == np.float32 for a in grads)
    assert np.allclose(y, y_old, rtol=1e-5, atol=1e-5)
    for a, o in zip(grads, grads_old):
        assert np.allclose(a, o, rtol=1e-4, atol=1e-4 * np.abs(o).max())
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    ty = F.conv2d(tx, tw, torch.tensor(b.astype(np.float64)), padding=1)
    ty.backward(torch.tensor(dy.astype(np.float64)))
    assert np.allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    assert np.allclose(grads[0], tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert np.allclose(grads[1], tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    assert np.allclose(grads[2], dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-3)


def test_rows_not_taken_where_not_eligible(rows_calls):
    """Strides, groups, narrow and wide inputs stay on the im2col path (and still match torch)."""
    g = np.random.default_rng(0)
    for c, groups, s in ((8, 1, 2), (8, 2, 1), (3, 1, 1), (65, 1, 1)):
        x = g.standard_normal((2, c, 6, 6))
        w = g.standard_normal((4, c // groups, 3, 3))
        y = conv_forward(x, w, None, s, s, 1, 1, 1, 1, 1, 1, groups=groups)
        ref = F.conv2d(torch.tensor(x), torch.tensor(w), stride=s, padding=1, groups=groups)
        assert np.allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
        conv_backward(g.standard_normal(y.shape), x, w, s, s, 1, 1, 1, 1, 1, 1, groups=groups)
    assert rows_calls == {"forward": 0, "backward": 0}
