"""direct.py's register-blocked pixel-major convolution (the prediction forward of float32 3x3
stride-1 convolutions of up to 16 input channels, conv._DIRECT_MAX_C): values against torch
conv2d in float64 (paddings, padding values, output widths that need every pixel-block size,
filter counts that are not multiples of 16, strides, dilations and other filter sizes through
direct_forward itself, both input layouts, bias, ReLU / ReLU6, a fused residual, several threads
with uneven batches); at ResNet-20's 16-channel shape its float32 error against a float64
reference bounded by that of the im2row product; conv_forward's dispatch and the weights cache.
Forward only: prediction is the one caller."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import direct as dc


def _ref(x, w, b, s, d, pads, pv):
    pt, pb, pl, pr = pads
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pv)
    y = F.conv2d(torch.tensor(xp), torch.tensor(np.asarray(w, np.float64)),
                 None if b is None else torch.tensor(np.asarray(b, np.float64)), stride=s, dilation=d)
    return y.numpy().transpose(0, 2, 3, 1)   # N x OH x OW x F


CASES = [  # n, C, F, H, W, (kh, kw), (sh, sw), (dh, dw), (pt, pb, pl, pr), padding value
    (2, 16, 16, 32, 32, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),   # ResNet-20's first stage
    (3, 9, 20, 7, 13, (3, 3), (1, 1), (1, 1), (0, 2, 2, 0), 0.5),     # F = 16 + 4; widths 15: 6+6+3
    (2, 8, 5, 5, 11, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),      # one partial block of filters
    (1, 12, 33, 9, 8, (3, 3), (1, 1), (1, 1), (3, 0, 0, 4), -1.0),    # padding beyond the filter's reach
    (5, 16, 16, 3, 3, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),
    (2, 4, 16, 6, 4, (3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 0.0),      # no padding: width 2
    (2, 16, 17, 4, 1, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.25),    # width 1
    (2, 3, 16, 9, 10, (5, 2), (2, 1), (1, 2), (2, 1, 0, 3), 0.5),     # other filters, strides, dilations
    (2, 16, 32, 8, 9, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 0.0),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("x_nhwc", [False, True])
@pytest.mark.parametrize("act", ["none", "relu", "relu6", "residual"])
def test_values_against_torch_float64(case, x_nhwc, act, threads):
    n, c, f, h, w, (kh, kw), (sh, sw), (dh, dw), pads, pv = case
    g = np.random.default_rng(c * 7 + f + n + kh)
    x = (g.standard_normal((n, c, h, w)) * 3).astype(np.float32)
    wt = g.standard_normal((f, c, kh, kw)).astype(np.float32)
    b = g.standard_normal(f).astype(np.float32) if act != "none" else None
    ref = _ref(x, wt, b, (sh, sw), (dh, dw), pads, pv)
    oh, ow = ref.shape[1:3]
    res = (g.standard_normal(ref.shape) * 3).astype(np.float32) if act == "residual" else None
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_nhwc else x
    y = dc.direct_forward(xin, dc.weights(wt), f, kh, kw, b, sh, sw, dh, dw, *pads, pv, oh, ow,
                          act in ("relu", "relu6", "residual"), x_nhwc, x.shape, residual=res,
                          ceiling=6.0 if act == "relu6" else np.inf)
    expect = {"none": ref, "relu": np.maximum(ref, 0), "relu6": np.clip(ref, 0, 6),
              "residual": None if res is None else np.maximum(ref + res, 0)}[act]
    assert y.shape == expect.shape and y.dtype == np.float32
    scale = np.abs(expect).max() + 1
    np.testing.assert_allclose(y, expect, rtol=0, atol=2e-6 * scale * np.sqrt(c * kh * kw))


def test_float32_error_at_resnet20_shape_no_worse_than_im2row():
    g = np.random.default_rng(1)
    n, c, hw = 4, 16, 32
    x = np.maximum(g.standard_normal((n, c, hw, hw)), 0).astype(np.float32)
    w = (g.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
    ref = _ref(x, w, None, (1, 1), (1, 1), (1, 1, 1, 1), 0.0)
    xr = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = dc.direct_forward(xr, dc.weights(w), c, 3, 3, None, 1, 1, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, False, True, x.shape)
    rows = cv._forward_pixel_major(xr, w, None, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, False, True, x.shape)
    scale = np.abs(ref).max()
    e_d, e_r = np.abs(y - ref).max() / scale, np.abs(rows - ref).max() / scale
    assert e_d < 1e-6 and e_d <= 1.5 * e_r, (e_d, e_r)


def test_conv_forward_dispatch_and_weights_cache(monkeypatch):
    calls = []
    d0 = dc.direct_forward

    def spy(*a, **k):
        calls.append((a[0].dtype, a[19][1]))   # x, shape (N, C, H, W)
        return d0(*a, **k)
    monkeypatch.setattr(dc, "direct_forward", spy)
    monkeypatch.setattr(cv, "CHANNEL_MAJOR_VIA_ROWS", False)   # the reference: channel-major im2col
    g = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        for c in (8, 16, 32):
            x = g.standard_normal((2, c, 6, 7)).astype(dt)
            w = g.standard_normal((5, c, 3, 3)).astype(dt)
            b = g.standard_normal(5).astype(dt)
            for args in ((1, 1, 1, 1), (2, 2, 1, 1), (1, 1, 2, 2)):   # stride 1; stride 2; dilation 2
                y = cv.conv_forward(x, w, b, *args, 1, 1, 1, 1, relu=True, y_layout="nhwc")
                ref = cv.conv_forward(x, w, b, *args, 1, 1, 1, 1, relu=True)
                tol = 1e-5 if dt == np.float32 else 1e-12
                np.testing.assert_allclose(y, ref.transpose(0, 2, 3, 1), rtol=tol, atol=tol)
    # float32, 3x3 stride 1 dilation 1, at most cv._DIRECT_MAX_C channels
    assert calls == [(np.dtype(np.float32), 8), (np.dtype(np.float32), 16)]
    x = g.standard_normal((2, 6, 7, 16)).astype(np.float32)
    w = g.standard_normal((16, 16, 3, 3)).astype(np.float32)
    cache = {}
    y = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, x_layout="nhwc", y_layout="nhwc", winograd=cache)
    (key, wt), = cache.items()
    np.testing.assert_array_equal(wt, dc.weights(w))
    y2 = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, x_layout="nhwc", y_layout="nhwc", winograd=cache)
    assert len(cache) == 1 and cache[key] is wt
    np.testing.assert_array_equal(y, y2)


def test_weights_layout():
    g = np.random.default_rng(0)
    w = g.standard_normal((20, 3, 2, 3)).astype(np.float32)
    wt = dc.weights(w)
    assert wt.shape == (2 * 3 * 3, 32) and wt.dtype == np.float32
    assert np.all(wt[:, 20:] == 0)
    assert wt[(1 * 3 + 2) * 3 + 1, 7] == w[7, 1, 1, 2]


WINO_CASES = [  # n, C, F, H, W, (pt, pb, pl, pr), padding value
    (2, 32, 32, 16, 16, (1, 1, 1, 1), 0.0),    # ResNet-20's second stage
    (3, 64, 64, 8, 8, (1, 1, 1, 1), 0.0),
    (2, 8, 16, 7, 9, (1, 1, 1, 1), 0.0),       # odd output sizes: half tiles
    (1, 9, 48, 6, 5, (0, 2, 2, 0), 0.5),
    (5, 12, 32, 3, 3, (1, 1, 1, 1), 0.0),      # one tile per image
    (2, 40, 16, 13, 11, (2, 1, 0, 2), 0.25),   # tile rows that need 1 to 6 tile blocks
]


@pytest.mark.parametrize("case", WINO_CASES)
@pytest.mark.parametrize("x_nhwc", [False, True])
@pytest.mark.parametrize("act", ["relu", "residual"])
def test_winograd_products_through_the_direct_kernel(case, x_nhwc, act, threads, monkeypatch):
    """winograd.py's 16 products in float32 with F a multiple of 16 run on direct.products:
    against torch in float64, and against the same transforms with numpy's products."""
    from layergraph.kernels.cpu import winograd as wg
    n, c, f, h, w, pads, pv = case
    g = np.random.default_rng(c + f + h)
    x = (g.standard_normal((n, c, h, w)) * 3).astype(np.float32)
    wt = g.standard_normal((f, c, 3, 3)).astype(np.float32)
    b = g.standard_normal(f).astype(np.float32)
    ref = _ref(x, wt, b, (1, 1), (1, 1), pads, pv)
    res = (g.standard_normal(ref.shape) * 3).astype(np.float32) if act == "residual" else None
    expect = np.maximum(ref + (0 if res is None else res), 0)
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_nhwc else x
    calls = []
    p0 = dc.products
    monkeypatch.setattr(dc, "products", lambda *a: calls.append(1) or p0(*a))

    def run():
        return wg.winograd_forward(xin, wg.filter_transform(wt), b, pads[0], pads[2], pv, *ref.shape[1:3], True,
                                   x_nhwc, x.shape, residual=res, to_rows=cv._to_rows)
    y = run()
    assert calls and y.dtype == np.float32
    scale = np.abs(expect).max() + 1
    np.testing.assert_allclose(y, expect, rtol=0, atol=2e-6 * scale * np.sqrt(9 * c))
    monkeypatch.setattr(wg, "PRODUCTS_DIRECT", False)
    n_calls = len(calls)
    y_blas = run()
    assert len(calls) == n_calls
    np.testing.assert_allclose(y, y_blas, rtol=0, atol=1e-6 * scale * np.sqrt(9 * c))


def test_products_equal_matmul():
    g = np.random.default_rng(3)
    t, c, f = 13, 24, 32
    Z = g.standard_normal((4, 3, t, 2 * c)).astype(np.float32)
    U2 = g.standard_normal((4, 4, c, f)).astype(np.float32)
    M = np.full((4, 2, t, 2 * f), np.nan, np.float32)
    dc.products(Z, U2, M)
    for b, (zi, lo) in enumerate(((0, 0), (1, 0), (2, 0), (0, c))):
        for a in range(4):
            expect = Z[a, zi, :, lo:lo + c].astype(np.float64) @ U2[b, a].astype(np.float64)
            np.testing.assert_allclose(M[a, b // 2, :, (b % 2) * f:(b % 2 + 1) * f], expect, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("c, f, hw, pads, pv", [(16, 16, 13, (1, 1, 1, 1), 0.0), (8, 20, 9, (0, 2, 2, 0), 0.5),
                                               (32, 32, 8, (1, 1, 1, 1), 0.0), (64, 48, 7, (2, 1, 0, 2), -0.5),
                                               (24, 16, 6, (1, 1, 1, 1), 0.0),
                                               # a first convolution: direct.py at 3-7 channels with 16 filters
                                               (3, 16, 12, (1, 1, 1, 1), 0.0), (5, 16, 7, (0, 2, 2, 0), 0.5),
                                               (1, 16, 8, (1, 1, 1, 1), 0.0), (3, 32, 8, (1, 1, 1, 1), 0.0),
                                               (3, 8, 8, (1, 1, 1, 1), 0.0)])
@pytest.mark.parametrize("relu", [False, True])
def test_channel_major_forward_through_the_pixel_major_kernels(c, f, hw, pads, pv, relu, threads, monkeypatch):
    """conv_forward with channel-major x and y (the training forward) at float32 3x3 stride 1:
    direct.py from 8 to 16 channels, and at 3 to 7 with 16 filters (conv._FEW_C_F), Winograd from
    32 (conv._winograd_ok; 24: neither), then a transpose; against torch in float64."""
    from layergraph.kernels.cpu import winograd as wg
    calls = []
    d0, w0 = dc.direct_forward, wg.winograd_forward
    monkeypatch.setattr(dc, "direct_forward", lambda *a, **k: calls.append("direct") or d0(*a, **k))
    monkeypatch.setattr(wg, "winograd_forward", lambda *a, **k: calls.append("winograd") or w0(*a, **k))
    g = np.random.default_rng(c + f)
    x = (g.standard_normal((3, c, hw, hw + 1)) * 2).astype(np.float32)
    w = g.standard_normal((f, c, 3, 3)).astype(np.float32)
    b = g.standard_normal(f).astype(np.float32)
    y = cv.conv_forward(x, w, b, 1, 1, 1, 1, *pads, padding_value=pv, relu=relu)
    ref = _ref(x, w, b, (1, 1), (1, 1), pads, pv).transpose(0, 3, 1, 2)
    ref = np.maximum(ref, 0) if relu else ref
    assert y.shape == ref.shape and y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_allclose(y, ref, rtol=0, atol=2e-6 * (np.abs(ref).max() + 1) * np.sqrt(9 * c))
    direct = 8 <= c <= 16 or (3 <= c < 8 and f == 16)
    assert calls == (["direct"] if direct else ["winograd"] if c >= 32 else [])
    calls.clear()
    cv.conv_forward(x.astype(np.float64), w, b, 1, 1, 1, 1, *pads, padding_value=pv, relu=relu)
    assert calls == ([] if c <= 24 else ["winograd"])   # float64: not direct.py (Winograd in float64 too)
    calls.clear()
    cv.conv_forward(x, w, b, 2, 2, 1, 1, *pads, padding_value=pv, relu=relu)
    assert calls == []   # stride 2: the channel-major paths


@pytest.mark.parametrize("c, f, hw, pads, pv", [
    (16, 16, (9, 7), (1, 1, 1, 1), 0.0),     # ResNet's 16-channel stage, odd sizes
    (5, 8, (6, 6), (0, 2, 2, 0), 0.5),       # 8 filters, asymmetric padding, a padding value
    (4, 12, (5, 6), (2, 2, 2, 2), 0.0),      # padding at the filter's whole reach
    (3, 16, (6, 6), (1, 1, 1, 1), "replicate"),   # a replicated border, folded back
    (4, 16, (6, 6), (3, 0, 0, 1), 0.0),      # beyond the reach: the im2row dx
])
def test_backward_dx_through_direct_matches_torch(monkeypatch, c, f, hw, pads, pv):
    """float32 conv_backward with 8 to 16 filters computes dx as direct.py's forward of the flipped
    filters: against float64 torch (the float32 error), and dW, db unchanged by the route."""
    from layergraph.kernels.cpu import direct
    from test_conv_threads import _torch_pad
    calls = []
    d0 = direct.direct_forward
    monkeypatch.setattr(direct, "direct_forward", lambda *a, **k: calls.append(a[2]) or d0(*a, **k))
    g = np.random.default_rng(c + f)
    x = g.standard_normal((3, c, *hw))
    w = g.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    ty = F.conv2d(_torch_pad(tx, pads, pv), tw)
    dy = g.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
    calls.clear()
    dx, dw, db = cv.conv_backward(dy32, x32, w32, 1, 1, 1, 1, *pads, padding_value=pv)
    assert calls == ([c] if max(pads) <= 2 else [])   # the dx convolution's filters: the C input channels
    ref = tx.grad.numpy()
    assert dx.dtype == np.float32 and np.abs(dx - ref).max() <= 2e-6 * np.abs(ref).max() + 1e-6
    _, dw0, db0 = cv.conv_backward(dy32, x32, w32, 1, 1, 1, 1, *pads, padding_value=pv, need_dx=False)
    np.testing.assert_array_equal(dw, dw0)
    np.testing.assert_array_equal(db, db0)
    # float64 (the finite-difference-checked im2row path) gives the same dx to float32 rounding
    dx64, _, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, *pads, padding_value=pv)
    np.testing.assert_allclose(dx, dx64, rtol=0, atol=2e-6 * np.abs(dx64).max() + 1e-6)
