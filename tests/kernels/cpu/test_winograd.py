"""Winograd F(2x2, 3x3) (kernels/cpu/winograd.py), the pixel-major prediction forward of 3x3
stride-1 convolutions: values against torch conv2d in float64 (paddings, padding values, odd
sizes, channel counts that are not multiples of 8, both input layouts, bias, ReLU / ReLU6, a fused
residual, several threads with uneven batches); in float32, the error against a float64
reference bounded by that of the direct (im2row) product at ResNet-20's shapes; the filter
transform against G g G^T written out; the transform cache; conv_forward's dispatch and its
residual argument; the channel-major route (x and y N x C x H x W, as training's forward and
prediction's fused chains with pooling call it) against torch, with ReLU and a fused max pooling,
and float64 finite differences of a training forward through it against conv_backward. Forward
only: the backward stays the im2col / im2row product (test_cpu_gradients.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import winograd as wg


def _ref(x, w, b, pads, pv):
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pv)
    y = F.conv2d(torch.tensor(xp, dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                 None if b is None else torch.tensor(b, dtype=torch.float64))
    return y.numpy().transpose(0, 2, 3, 1)   # N x OH x OW x F


CASES = [  # n, C, F, H, W, (pt, pb, pl, pr), padding value
    (2, 8, 5, 7, 9, (1, 1, 1, 1), 0.0),     # odd output sizes: half tiles at the bottom and right
    (3, 16, 16, 8, 8, (1, 1, 1, 1), 0.0),
    (1, 9, 4, 6, 5, (0, 2, 2, 0), 0.5),     # asymmetric padding, a padding value
    (2, 8, 8, 5, 5, (3, 0, 0, 3), -1.0),    # padding larger than the filter's reach
    (2, 4, 3, 4, 4, (0, 0, 0, 0), 0.0),     # no padding
    (5, 12, 20, 3, 3, (1, 1, 1, 1), 0.0),   # one tile per image
    (1, 64, 64, 2, 11, (2, 1, 0, 2), 0.25),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("x_nhwc", [False, True])
@pytest.mark.parametrize("act", ["none", "relu", "relu6"])
def test_values_against_torch_float64(case, x_nhwc, act, threads):
    n, c, f, h, w, pads, pv = case
    g = np.random.default_rng(c * 7 + f + n)
    x = g.standard_normal((n, c, h, w)) * 3
    wt = g.standard_normal((f, c, 3, 3))
    b = g.standard_normal(f) if act != "none" else None
    ref = _ref(x, wt, b, pads, pv)
    oh, ow = ref.shape[1:3]
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_nhwc else x
    y = wg.winograd_forward(xin, wg.filter_transform(wt), b, pads[0], pads[2], pv, oh, ow, act != "none",
                            x_nhwc, x.shape, ceiling=6.0 if act == "relu6" else np.inf)
    expect = np.maximum(ref, 0) if act == "relu" else np.clip(ref, 0, 6) if act == "relu6" else ref
    assert y.shape == expect.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, expect, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES[:4])
def test_the_residual_is_added_before_the_relu(case, threads):
    n, c, f, h, w, pads, pv = case
    g = np.random.default_rng(11)
    x = g.standard_normal((n, c, h, w))
    wt = g.standard_normal((f, c, 3, 3))
    b = g.standard_normal(f)
    ref = _ref(x, wt, b, pads, pv)
    res = g.standard_normal(ref.shape)
    y = wg.winograd_forward(x, wg.filter_transform(wt), b, pads[0], pads[2], pv, *ref.shape[1:3], True, False,
                            x.shape, residual=res)
    np.testing.assert_allclose(y, np.maximum(ref + res, 0), rtol=1e-12, atol=1e-12)


def test_filter_transform_is_g_w_gt():
    g = np.random.default_rng(0)
    w = g.standard_normal((5, 3, 3, 3)).astype(np.float32)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    u = wg.filter_transform(w)
    assert u.shape == (16, 3, 5) and u.dtype == np.float32
    for fi in range(5):
        for ci in range(3):
            np.testing.assert_allclose(u[:, ci, fi], (G @ w[fi, ci].astype(np.float64) @ G.T).reshape(16),
                                       rtol=1e-6)


@pytest.mark.parametrize("n, c, hw", [(4, 16, 32), (8, 32, 16), (16, 64, 8)])
def test_float32_error_is_bounded_by_the_direct_products(n, c, hw):
    """The bound stated in docs/performance.md: at ResNet-20's shapes (He-scaled weights, ReLU
    inputs), Winograd's float32 error against float64 is below 1e-6 of the output's largest
    magnitude, and at most 1.5x that of the direct (im2row) float32 product."""
    g = np.random.default_rng(c)
    x = np.maximum(g.standard_normal((n, c, hw, hw)), 0)
    wt = g.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))
    b = g.standard_normal(c) * 0.1
    ref = _ref(x, wt, b, (1, 1, 1, 1), 0.0)
    x32, w32, b32 = x.astype(np.float32), wt.astype(np.float32), b.astype(np.float32)
    xr = np.ascontiguousarray(x32.transpose(0, 2, 3, 1))
    y = wg.winograd_forward(xr, wg.filter_transform(w32), b32, 1, 1, 0.0, hw, hw, False, True, x.shape)
    direct = cv._forward_pixel_major(xr, w32, b32, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, False, True, x.shape)
    scale = np.abs(ref).max()
    e_w = np.abs(y - ref).max() / scale
    e_d = np.abs(direct - ref).max() / scale
    assert y.dtype == np.float32
    assert e_w < 1e-6 and e_w <= 1.5 * e_d, (e_w, e_d)


def test_conv_forward_dispatches_3x3_stride_1_from_32_channels_to_winograd(spy):
    calls = spy(wg, "winograd_forward", lambda *a, **k: a[1].shape)
    g = np.random.default_rng(0)
    for c in (16, 32):
        x = g.standard_normal((2, c, 6, 6))
        w3 = g.standard_normal((4, c, 3, 3))
        for args in ((1, 1, 1, 1), (2, 2, 1, 1), (1, 1, 2, 2)):   # stride 1; stride 2; dilation 2
            y = cv.conv_forward(x, w3, None, *args, 1, 1, 1, 1, y_layout="nhwc")
            ref = cv.conv_forward(x, w3, None, *args, 1, 1, 1, 1)
            np.testing.assert_allclose(y, ref.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    # 16 channels: _im2row's product (cv._WINOGRAD_MIN_C); 32: Winograd for both layouts
    assert calls == [(16, 32, 4), (16, 32, 4)]
    x = g.standard_normal((2, 32, 6, 6))
    cv.conv_forward(x, g.standard_normal((4, 32, 5, 5)), None, 1, 1, 1, 1, 2, 2, 2, 2, y_layout="nhwc")
    assert len(calls) == 2   # 5x5: im2row


def test_the_transform_cache():
    g = np.random.default_rng(0)
    x = g.standard_normal((2, 32, 6, 6)).astype(np.float32)
    w = g.standard_normal((4, 32, 3, 3)).astype(np.float32)
    cache = {}
    y = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, y_layout="nhwc", winograd=cache)
    (key, u), = cache.items()
    np.testing.assert_array_equal(u, wg.filter_transform(w))
    y2 = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, y_layout="nhwc", winograd=cache)
    assert len(cache) == 1 and cache[key] is u
    np.testing.assert_array_equal(y, y2)
    y64 = cv.conv_forward(x.astype(np.float64), w.astype(np.float64), None, 1, 1, 1, 1, 1, 1, 1, 1,
                          y_layout="nhwc", winograd=cache)
    assert len(cache) == 2 and y64.dtype == np.float64   # one entry per dtype


@pytest.mark.parametrize("c, fh, stride, groups", [(32, 3, 1, 1), (16, 3, 1, 1), (8, 1, 2, 1), (8, 3, 1, 2)])
def test_conv_forward_residual_on_every_pixel_major_path(c, fh, stride, groups):
    # Winograd; _im2row's product (3x3 at 16 channels, 1x1 stride 2); the transposing fallback (groups)
    g = np.random.default_rng(fh + stride + groups + c)
    x = g.standard_normal((3, c, 7, 6))
    w = g.standard_normal((6, c // groups, fh, fh))
    b = g.standard_normal(6)
    p = (fh - 1) // 2
    ref = cv.conv_forward(x, w, b, stride, stride, 1, 1, p, p, p, p, groups=groups).transpose(0, 2, 3, 1)
    res = g.standard_normal(ref.shape)
    y = cv.conv_forward(x, w, b, stride, stride, 1, 1, p, p, p, p, groups=groups, relu=True, y_layout="nhwc",
                        residual=res)
    np.testing.assert_allclose(y, np.maximum(ref + res, 0), rtol=1e-12, atol=1e-12)


def test_bad_residual_arguments():
    x = np.zeros((2, 8, 6, 6))
    w = np.zeros((4, 8, 3, 3))
    with pytest.raises(ValueError, match="residual needs the pixel-major output"):
        cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, residual=np.zeros((2, 6, 6, 4)))
    with pytest.raises(ValueError, match=r"residual: expected shape \(2, 6, 6, 4\)"):
        cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, y_layout="nhwc", residual=np.zeros((2, 6, 6, 3)))


@pytest.mark.parametrize("c, f, hw, pads, pv, pool", [
    (32, 8, (7, 9), (1, 1, 1, 1), 0.0, None),             # odd sizes
    (40, 6, (8, 8), (1, 1, 1, 1), 0.0, (2, 2, 2, 2, 0, 0, 0, 0)),   # VGG's conv + pool
    (33, 5, (6, 5), (0, 2, 2, 0), 0.5, (3, 3, 2, 2, 1, 1, 1, 1)),   # a padding value, a padded pool
    (128, 4, (5, 5), (1, 1, 1, 1), -1.0, None),            # above the pixel-major range
])
def test_channel_major_route_matches_torch(threads, monkeypatch, c, f, hw, pads, pv, pool):
    calls = []
    w0 = wg.winograd_forward
    monkeypatch.setattr(wg, "winograd_forward", lambda *a, **k: calls.append(a[9]) or w0(*a, **k))
    g = np.random.default_rng(c + f)
    x = g.standard_normal((3, c, *hw))
    w = g.standard_normal((f, c, 3, 3))
    b = g.standard_normal(f)
    for relu in (False, True):
        y = cv.conv_forward(x, w, b, 1, 1, 1, 1, *pads, padding_value=pv, relu=relu, pool=pool)
        ref = torch.tensor(_ref(x, w, b, pads, pv).transpose(0, 3, 1, 2))
        if relu:
            ref = F.relu(ref)
        if pool is not None:
            ph, pw, sh, sw, pt, pb, pl, pr = pool
            ref = F.max_pool2d(F.pad(ref, (pl, pr, pt, pb), value=-np.inf), (ph, pw), (sh, sw))
        assert y.shape == tuple(ref.shape)
        np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
    assert calls == [False, False]   # Winograd from a channel-major x, each time


def test_channel_major_route_float32_error_and_gradients():
    """float32 VGG-like shapes against float64 torch: the error bounded as for the pixel-major
    route; and a float64 training forward through Winograd has conv_backward's gradients (finite
    differences)."""
    from _cpu_testutil import fd_check
    g = np.random.default_rng(5)
    for c, f, hw in ((64, 128, 16), (128, 256, 8), (256, 256, 8)):
        x = np.maximum(g.standard_normal((2, c, hw, hw)), 0).astype(np.float32)
        w = (g.standard_normal((f, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        y = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1)
        ref = _ref(x.astype(np.float64), w.astype(np.float64), None, (1, 1, 1, 1), 0.0).transpose(0, 3, 1, 2)
        assert y.dtype == np.float32
        assert np.abs(y - ref).max() / np.abs(ref).max() < 1e-6
    x = g.standard_normal((2, 32, 5, 6))
    w = g.standard_normal((3, 32, 3, 3))
    b = g.standard_normal(3)

    def fwd(x, w, b):
        return cv.conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1)
    dy = g.standard_normal(fwd(x, w, b).shape)
    dx, dw, db = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
    for i, grad in enumerate((dx, dw, db)):
        fd_check(fwd, [x, w, b], i, grad, dy)


@pytest.mark.parametrize("c, f, hw, pads, pv", [
    (5, 32, (7, 9), (1, 1, 1, 1), 0.0),              # F = 32: dx through Winograd
    (3, 40, (6, 5), (0, 2, 2, 0), 0.5),              # asymmetric padding, a padding value
    (4, 33, (5, 6), (2, 2, 2, 2), 0.0),              # padding at the filter's whole reach
    (6, 32, (6, 6), (1, 2, 2, 1), "symmetric-include-edge"),   # a mirrored border, folded back
    (4, 32, (5, 5), (3, 0, 0, 3), 0.0),              # beyond the reach: the im2col / im2row dx
    (4, 16, (6, 6), (1, 1, 1, 1), 0.0),              # F = 16: not Winograd
])
def test_backward_dx_through_winograd_matches_torch(threads, monkeypatch, c, f, hw, pads, pv):
    monkeypatch.setattr(cv, "_WINOGRAD_DX_MIN_F", 32)   # small shapes through the Winograd dx
    calls = []
    w0 = wg.winograd_forward
    monkeypatch.setattr(wg, "winograd_forward", lambda *a, **k: calls.append(a[2] is None) or w0(*a, **k))
    g = np.random.default_rng(c + f)
    x = g.standard_normal((3, c, *hw))
    w = g.standard_normal((f, c, 3, 3))
    b = g.standard_normal(f)
    from test_conv_threads import _torch_pad
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(_torch_pad(tx, pads, pv), tw, tb)
    dy = g.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    calls.clear()
    dx, dw, db = cv.conv_backward(dy, x, w, 1, 1, 1, 1, *pads, padding_value=pv)
    assert calls == ([True] if f >= 32 and pads[0] <= 2 and pads[2] <= 2 else [])
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-11)
    dx0, dw0, db0 = cv.conv_backward(dy, x, w, 1, 1, 1, 1, *pads, padding_value=pv, need_dx=False)
    assert dx0 is None and np.array_equal(dw0, dw) and np.array_equal(db0, db)


def test_backward_dx_through_winograd_finite_differences_and_float32(monkeypatch):
    from _cpu_testutil import fd_check
    monkeypatch.setattr(cv, "_WINOGRAD_DX_MIN_F", 32)
    g = np.random.default_rng(7)
    x = g.standard_normal((2, 3, 5, 6))
    w = g.standard_normal((32, 3, 3, 3))
    b = g.standard_normal(32)

    def fwd(x, w, b):
        return cv.conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 0, 2, padding_value=0.25)
    dy = g.standard_normal(fwd(x, w, b).shape)
    dx, dw, db = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 0, 2, padding_value=0.25)
    for i, grad in enumerate((dx, dw, db)):
        fd_check(fwd, [x, w, b], i, grad, dy)
    # float32 at VGG's shapes: dx against float64 torch, the error of float32 rounding
    for c, f, hw in ((64, 64, 16), (128, 256, 8)):
        x = g.standard_normal((2, c, hw, hw)).astype(np.float32)
        w = (g.standard_normal((f, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        dy = g.standard_normal((2, f, hw, hw)).astype(np.float32)
        dx, _, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
        tx = torch.tensor(x.astype(np.float64), requires_grad=True)
        F.conv2d(tx, torch.tensor(w.astype(np.float64)), padding=1).backward(torch.tensor(dy.astype(np.float64)))
        ref = tx.grad.numpy()
        assert dx.dtype == np.float32 and np.abs(dx - ref).max() / np.abs(ref).max() < 1e-6


def test_backward_dx_takes_winograd_from_128_filters_by_default(monkeypatch):
    calls = []
    w0 = wg.winograd_forward
    monkeypatch.setattr(wg, "winograd_forward", lambda *a, **k: calls.append(a[2] is None) or w0(*a, **k))
    g = np.random.default_rng(1)
    for f in (64, 128):
        x = g.standard_normal((2, 4, 5, 5))
        w = g.standard_normal((f, 4, 3, 3))
        dy = g.standard_normal((2, f, 5, 5))
        calls.clear()
        dx, _, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1)
        assert calls == ([True] if f >= cv._WINOGRAD_DX_MIN_F else [])
        tx = torch.tensor(x, requires_grad=True)
        F.conv2d(tx, torch.tensor(w), padding=1).backward(torch.tensor(dy))
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-11, atol=1e-11)
