"""Winograd F(3x3, 2x2) for the filter gradient (kernels/cpu/winograd.py dw_chunk, conv.py
_grads_winograd): dW and db through conv_backward against torch's weight gradient in float64
(odd and even sizes, paddings of 0 to 2 on either side, a padding value, channel counts that are
not multiples of 8, both layouts, several threads with uneven batches; float32 on direct.py's
micro-kernel with F a multiple of 16, float64 on numpy's products), float64 central differences,
the route taken where dw_eligible says and not elsewhere, and the float32 error against a
float64 reference bounded by that of the path it replaces."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import winograd as wg

CASES = [  # n, C, F, H, W, (pt, pb, pl, pr), padding value
    (2, 64, 16, 7, 9, (1, 1, 1, 1), 0.0),     # odd output sizes: half tiles at the bottom and right
    (3, 64, 32, 8, 8, (1, 1, 1, 1), 0.0),
    (1, 72, 48, 5, 6, (0, 0, 0, 0), 0.0),
    (2, 80, 16, 6, 5, (2, 0, 1, 2), 0.5),     # uneven padding, a padding value
    (5, 128, 32, 4, 4, (1, 1, 1, 1), -1.5),
    (2, 64, 20, 6, 6, (1, 1, 1, 1), 0.0),     # F not a multiple of 16: float64 only
    (2, 64, 128, 6, 5, (1, 1, 1, 1), 0.0),    # dx's channel-major Winograd route: dW too
]


def _taken(dtype, c, f, pads, pv, layouts):
    """Whether conv_backward's dW goes through Winograd: eligible, and dx has a route of its own
    (the pixel-major path's from 32 filters with dy pixel-major, at 8 to 64 channels; else the
    channel-major one's), with or without dx."""
    pm = layouts != ("nchw", "nchw") and 8 <= c <= 64
    q = dict(sh=1, sw=1, dh=1, dw=1, groups=1, pt=pads[0], pb=pads[1], pl=pads[2], pr=pads[3])
    route = cv._dx_route(np.dtype(dtype), f, q, 3, 3, cv._WINOGRAD_DX_PM_MIN_F if pm and layouts[1] == "nhwc"
                         else None)
    return wg.dw_eligible(dtype, c, f, 3, 3, 1, 1, pv) and route is not None


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _torch_grads(x, w, dy, pads, pv):
    pt, pb, pl, pr = pads
    xp = torch.tensor(np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pv), dtype=torch.float64)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(xp, wt)
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return wt.grad.numpy(), dy.astype(np.float64).sum(axis=(0, 2, 3))


def _data(case, dtype, seed=0):
    n, c, f, h, wd, pads, pv = case
    g = np.random.default_rng(seed + c + f)
    oh, ow = h + pads[0] + pads[1] - 2, wd + pads[2] + pads[3] - 2
    return (g.standard_normal((n, c, h, wd)).astype(dtype), g.standard_normal((f, c, 3, 3)).astype(dtype),
            g.standard_normal((n, f, oh, ow)).astype(dtype))


@pytest.fixture
def spy(monkeypatch):
    """The number of dw_chunk calls made."""
    calls = []
    real = wg.dw_chunk

    def counted(*a):
        calls.append(a[0].shape)
        return real(*a)
    monkeypatch.setattr(wg, "dw_chunk", counted)
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layouts", [("nchw", "nchw"), ("nhwc", "nhwc"), ("nchw", "nhwc"), ("nhwc", "nchw")])
@pytest.mark.parametrize("threads", [1, 2])
def test_filter_gradient_against_torch(dtype, case, layouts, threads, spy, monkeypatch):
    n, c, f, h, wd, pads, pv = case
    monkeypatch.setattr(cv, "_threads", lambda: threads)
    x, w, dy = _data(case, dtype)
    xl, yl = layouts
    xs, dys = (_nhwc(x) if xl == "nhwc" else x), (_nhwc(dy) if yl == "nhwc" else dy)
    ref_dw, ref_db = _torch_grads(x, w, dy, pads, pv)
    # channel-major: Winograd's dW where dx is not wanted (or goes its own route); pixel-major both ways
    for need_dx in (False, True):
        spy.clear()
        dx, dw, db = cv.conv_backward(dys, xs, w, 1, 1, 1, 1, *pads, padding_value=pv, need_dx=need_dx,
                                      x_layout=xl, y_layout=yl)
        assert bool(spy) == _taken(dtype, c, f, pads, pv, layouts), (need_dx, layouts)
        tol = dict(rtol=1e-10, atol=1e-10 * np.abs(ref_dw).max()) if dtype == np.float64 else \
            dict(rtol=1e-4, atol=3e-6 * np.abs(ref_dw).max())
        np.testing.assert_allclose(dw, ref_dw, **tol)
        np.testing.assert_allclose(db, ref_db, rtol=1e-10 if dtype == np.float64 else 1e-5,
                                   atol=1e-10 if dtype == np.float64 else 1e-4)


def test_the_pixel_major_training_plans_convolutions_take_it(spy):
    """ResNet-20's 64-channel stage in the pixel-major training plan: dx through Winograd's
    forward, dW through Winograd's filter gradient."""
    x, w, dy = _data((4, 64, 64, 8, 8, (1, 1, 1, 1), 0.0), np.float32)
    dx, dw, _ = cv.conv_backward(_nhwc(dy), _nhwc(x), w, 1, 1, 1, 1, 1, 1, 1, 1, x_layout="nhwc", y_layout="nhwc")
    assert spy and dx.shape == (4, 8, 8, 64)
    ref, _ = _torch_grads(x, w, dy, (1, 1, 1, 1), 0.0)
    np.testing.assert_allclose(dw, ref, rtol=1e-4, atol=3e-6 * np.abs(ref).max())


def test_float64_central_differences():
    """The filter gradient of sum(conv_forward(x, w) * dy) against central differences in w."""
    case = (2, 64, 32, 5, 6, (1, 0, 2, 1), 0.25)
    n, c, f, h, wd, pads, pv = case
    x, w, dy = _data(case, np.float64, 3)
    assert _taken(np.float64, 64, 32, case[5], 0.25, ("nhwc", "nhwc"))
    _, dw, _ = cv.conv_backward(_nhwc(dy), _nhwc(x), w, 1, 1, 1, 1, *pads, padding_value=pv, need_dx=False,
                                x_layout="nhwc", y_layout="nhwc")

    def loss(wv):
        return float((cv.conv_forward(x, wv, None, 1, 1, 1, 1, *pads, padding_value=pv) * dy).sum())
    d = np.random.default_rng(9).standard_normal(w.shape)
    eps = 1e-6
    fd = (loss(w + eps * d) - loss(w - eps * d)) / (2 * eps)
    assert fd == pytest.approx(float((dw * d).sum()), rel=1e-7)


def test_float32_error_within_the_replaced_paths(monkeypatch):
    """At ResNet-20's 64-channel stage and VGG's 128, float32: the error against float64 no more
    than 4x that of the path used without Winograd's dW."""
    for case, lay in [((8, 64, 64, 8, 8, (1, 1, 1, 1), 0.0), "nhwc"),
                      ((4, 128, 128, 16, 16, (1, 1, 1, 1), 0.0), "nchw")]:
        n, c, f, h, wd, pads, pv = case
        x, w, dy = _data(case, np.float32, 11)
        ref, _ = _torch_grads(x, w, dy, pads, pv)
        args = (1, 1, 1, 1, *pads)
        xs, dys = (_nhwc(x), _nhwc(dy)) if lay == "nhwc" else (x, dy)
        _, dw, _ = cv.conv_backward(dys, xs, w, *args, need_dx=False, x_layout=lay, y_layout=lay)
        monkeypatch.setattr(wg, "DW_WINOGRAD", False)
        _, dw0, _ = cv.conv_backward(dys, xs, w, *args, need_dx=False, x_layout=lay, y_layout=lay)
        monkeypatch.setattr(wg, "DW_WINOGRAD", True)
        err, err0 = np.abs(dw - ref).max(), np.abs(dw0 - ref).max()
        assert err <= 4 * err0 + 1e-7 * np.abs(ref).max(), (case, err, err0)


@pytest.mark.filterwarnings("ignore:invalid value encountered")   # the infinite padding value's NaN
def test_not_taken_outside_its_range(spy):
    """32 channels, F not a multiple of 16 in float32, a 5x5 filter, stride 2, an infinite padding
    value: the paths as before. (A mirrored border is padded first and then takes it.)"""
    g = np.random.default_rng(2)
    for c, f, k, st, pv, dt in [(32, 32, 3, 1, 0.0, np.float32), (64, 24, 3, 1, 0.0, np.float32),
                                (64, 32, 5, 1, 0.0, np.float32), (64, 32, 3, 2, 0.0, np.float32),
                                (64, 32, 3, 1, np.inf, np.float64)]:
        x = g.standard_normal((2, c, 6, 6)).astype(dt)
        w = g.standard_normal((f, c, k, k)).astype(dt)
        oh = (6 + 2 * (k // 2) - k) // st + 1
        dy = g.standard_normal((2, f, oh, oh)).astype(dt)
        cv.conv_backward(dy, x, w, st, st, 1, 1, k // 2, k // 2, k // 2, k // 2, padding_value=pv, need_dx=False)
    assert not spy


def test_dw_output_transform_is_g_transposed_m_g():
    """G^T S M S G, S = diag(1, 1, 1, -1): the signs of A's last row, left out of dy's transform."""
    g = np.random.default_rng(4)
    M = g.standard_normal((16, 3, 5))
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, -1]])
    want = np.einsum("ai,abcf,bj->fcij", G, M.reshape(4, 4, 3, 5), G)
    np.testing.assert_allclose(wg.dw_from_products(M, 5, 3), want, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("k, c, f", [(1, 3, 5), (2, 64, 64), (3, 33, 48), (5, 128, 16)])
def test_dw_output_sums_the_chunks_as_numpy_does(threads, dt, k, c, f):
    """dw_from_products of K chunks' products (K x 16 x C x F) sums them in the pass: the same
    numbers to the bit as their numpy sum over the chunks first, in M's dtype."""
    Ms = np.random.default_rng(k * c + f).standard_normal((k, 16, c, f)).astype(dt)
    got = wg.dw_from_products(Ms, f, c)
    assert got.shape == (f, c, 3, 3) and got.dtype == dt and got.flags.c_contiguous
    np.testing.assert_array_equal(got, wg.dw_from_products(Ms.sum(axis=0), f, c))
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, -1]])
    want = np.einsum("ai,abcf,bj->fcij", G, Ms.sum(axis=0, dtype=np.float64).reshape(4, 4, c, f), G)
    tol = 1e-5 if dt == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
