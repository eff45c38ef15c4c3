"""conv_backward's dx_add (the executor's gradient already gathered at x, added in dx's
epilogue): dx is exactly dx + dx_add of the call without it (the same float sums: a + b in
either order), dW and db unchanged, on every route (channel-major im2col, the rows path, dx on
direct.py and Winograd, depthwise, a mirrored border, the pixel-major layouts at stride 1 and 2,
their channel-major fallback) and both float types; dx_add is read, never written."""
import numpy as np
import pytest

from layergraph.kernels.cpu import conv as cv

CASES = [  # (C, F, H = W, filter, stride, padding, groups)
    (3, 8, 9, 3, 1, 1, 1), (3, 16, 9, 3, 1, 1, 1), (16, 16, 10, 3, 1, 1, 1), (32, 32, 8, 3, 1, 1, 1),
    (64, 64, 5, 3, 1, 1, 1), (8, 24, 7, 5, 1, 2, 1), (16, 32, 9, 3, 2, 1, 1), (16, 32, 8, 1, 2, 0, 1),
    (128, 128, 4, 3, 1, 1, 1), (12, 12, 7, 3, 1, 1, 12), (8, 8, 6, 3, 1, 1, 2), (80, 16, 5, 3, 1, 0, 1),
]
LAYOUTS = [("nchw", "nchw"), ("nhwc", "nhwc"), ("nchw", "nhwc"), ("nhwc", "nchw")]


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layouts", LAYOUTS)
def test_dx_add_is_dx_plus_the_gathered_gradient(dtype, case, layouts):
    c, f, hw, k, st, pd, groups = case
    g = np.random.default_rng(c * f + hw + k)
    x = g.standard_normal((3, c, hw, hw)).astype(dtype)
    w = g.standard_normal((f, c // groups, k, k)).astype(dtype)
    oh = (hw + 2 * pd - k) // st + 1
    dy = g.standard_normal((3, f, oh, oh)).astype(dtype)
    xl, yl = layouts
    xs = _nhwc(x) if xl == "nhwc" else x
    dys = _nhwc(dy) if yl == "nhwc" else dy
    add = g.standard_normal(xs.shape).astype(dtype)
    kept = add.copy()
    args = (st, st, 1, 1, pd, pd, pd, pd, groups)
    dx0, dw0, db0 = cv.conv_backward(dys, xs, w, *args, x_layout=xl, y_layout=yl)
    dx, dw, db = cv.conv_backward(dys, xs, w, *args, x_layout=xl, y_layout=yl, dx_add=add)
    assert dx.shape == xs.shape and dx.dtype == dtype
    np.testing.assert_array_equal(dx, dx0 + add)
    np.testing.assert_array_equal(dw, dw0)
    np.testing.assert_array_equal(db, db0)
    np.testing.assert_array_equal(add, kept)


@pytest.mark.parametrize("padding_value", ["replicate", "symmetric-include-edge"])
def test_dx_add_with_a_mirrored_border(padding_value):
    g = np.random.default_rng(5)
    x = g.standard_normal((2, 4, 7, 6))
    w = g.standard_normal((5, 4, 3, 3))
    dy = g.standard_normal((2, 5, 7, 6))
    add = g.standard_normal(x.shape)
    dx0, _, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1, padding_value=padding_value)
    dx, _, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1, padding_value=padding_value, dx_add=add)
    np.testing.assert_array_equal(dx, dx0 + add)


def test_dx_add_without_dx_and_a_wrong_shape():
    g = np.random.default_rng(1)
    x = g.standard_normal((2, 16, 6, 6)).astype(np.float32)
    w = g.standard_normal((16, 16, 3, 3)).astype(np.float32)
    dy = g.standard_normal((2, 16, 6, 6)).astype(np.float32)
    dx, dw, _ = cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1, need_dx=False, dx_add=np.ones_like(x))
    assert dx is None
    np.testing.assert_array_equal(dw, cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1, need_dx=False)[1])
    for xl in ("nchw", "nhwc"):
        xs = _nhwc(x) if xl == "nhwc" else x
        with pytest.raises(ValueError, match=r"conv_backward: dx_add: expected shape \(2, "):
            cv.conv_backward(_nhwc(dy), xs, w, 1, 1, 1, 1, 1, 1, 1, 1, x_layout=xl, y_layout="nhwc",
                             dx_add=np.ones((2, 16, 6, 5), np.float32))
        with pytest.raises(ValueError, match="dx_add: expected shape"):   # the other layout: not reshaped
            cv.conv_backward(_nhwc(dy), xs, w, 1, 1, 1, 1, 1, 1, 1, 1, x_layout=xl, y_layout="nhwc",
                             dx_add=np.ones((2, 6, 6, 16) if xl == "nchw" else (2, 16, 6, 6), np.float32))
