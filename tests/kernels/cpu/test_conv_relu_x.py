"""conv_backward's ``relu_x`` (kernels/cpu/conv.py): x is a (clipped) ReLU's output and dx (with
dx_add: the whole gradient there) comes back as the gradient at the ReLU's input, in place in the
kernel's own dx (combine.mask_into). The numbers of the ReLU's own backward after the sum, to the
bit (the mask of combine.addition_backward), in both layouts and at strides 1 and 2; central
differences in float64 through relu -> conv; against torch's autograd; its argument checked."""
import numpy as np
import pytest

from layergraph.kernels.cpu import combine
from layergraph.kernels.cpu import conv as cv

CASES = [(16, 16, 8, 3, 1, 1), (32, 32, 6, 3, 1, 1), (16, 32, 9, 3, 2, 1), (16, 32, 8, 1, 2, 0), (3, 8, 7, 3, 1, 1)]


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _data(case, dtype, ceiling, seed=0):
    c, f, hw, k, st, pd = case
    g = np.random.default_rng(seed + c * f + hw)
    z = g.standard_normal((2, c, hw, hw))
    z = np.where(np.abs(z) < 0.05, 0.3, z)                       # away from the ReLU's kink
    if np.isfinite(ceiling):
        z = np.where(np.abs(z - ceiling) < 0.05, ceiling + 0.2, z)   # and from the clip
    x = np.minimum(np.maximum(z, 0), ceiling)
    w = g.standard_normal((f, c, k, k))
    oh = (hw + 2 * pd - k) // st + 1
    dy = g.standard_normal((2, f, oh, oh))
    add = g.standard_normal(x.shape)
    return [a.astype(dtype) for a in (z, x, w, dy, add)], (st, st, 1, 1, pd, pd, pd, pd)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("ceiling", [np.inf, 0.5])
@pytest.mark.parametrize("with_add", [False, True])
def test_relu_x_is_the_mask_after_the_sum_to_the_bit(dtype, case, layout, ceiling, with_add):
    (_, x, w, dy, add), args = _data(case, dtype, ceiling)
    x_in = _nhwc(x) if layout == "nhwc" else x
    dy_in = _nhwc(dy) if layout == "nhwc" else dy
    a_in = (_nhwc(add) if layout == "nhwc" else add) if with_add else None
    kw = dict(x_layout=layout, y_layout=layout, dx_add=a_in)
    dx0, dw0, db0 = cv.conv_backward(dy_in, x_in, w, *args, **kw)
    want = combine.addition_backward(dx0, 1, relu_out=x_in, ceiling=ceiling)[0]
    dx, dw, db = cv.conv_backward(dy_in, x_in, w, *args, relu_x=ceiling, **kw)
    np.testing.assert_array_equal(dx, want)
    np.testing.assert_array_equal(dw, dw0)
    np.testing.assert_array_equal(db, db0)
    assert cv.conv_backward(dy_in, x_in, w, *args, need_dx=False, relu_x=ceiling, **kw)[0] is None


@pytest.mark.parametrize("case", CASES[:3] + CASES[4:])
@pytest.mark.parametrize("ceiling", [np.inf, 0.5])
def test_relu_x_against_central_differences(case, ceiling):
    """f(z) = <conv(relu(z)), dy> + <relu(z), add>: its gradient at z is conv_backward(dy,
    relu(z), dx_add=add, relu_x=ceiling)'s dx."""
    (z, x, w, dy, add), args = _data(case, np.float64, ceiling, seed=3)

    def f(zz):
        xx = np.minimum(np.maximum(zz, 0), ceiling)
        y = cv.conv_forward(xx, w, np.zeros(w.shape[0]), *args)
        return float((y * dy).sum() + (xx * add).sum())
    dz, _, _ = cv.conv_backward(dy, x, w, *args, dx_add=add, relu_x=ceiling)
    g = np.random.default_rng(5)
    eps = 1e-6
    for _ in range(3):
        d = g.standard_normal(z.shape)
        fd = (f(z + eps * d) - f(z - eps * d)) / (2 * eps)
        assert fd == pytest.approx(float((dz * d).sum()), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_relu_x_against_torch(dtype, case):
    torch = pytest.importorskip("torch")
    (z, x, w, dy, add), args = _data(case, dtype, np.inf, seed=7)
    st, pd = args[0], args[4]
    zt = torch.tensor(z, requires_grad=True)
    y = torch.nn.functional.conv2d(torch.relu(zt), torch.tensor(w), stride=st, padding=pd)
    ((y * torch.tensor(dy)).sum() + (torch.relu(zt) * torch.tensor(add)).sum()).backward()
    dz, _, _ = cv.conv_backward(dy, x, w, *args, dx_add=add, relu_x=np.inf)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dz, zt.grad.numpy(), **tol)


def test_relu_x_is_checked():
    x = np.ones((1, 2, 4, 4), np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    dy = np.ones((1, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="conv_backward: ceiling must be a number > 0"):
        cv.conv_backward(dy, x, w, 1, 1, 1, 1, 0, 0, 0, 0, relu_x=-1.0)
    with pytest.raises(ValueError, match="mask_into: relu_out"):
        combine.mask_into(np.ones(4, np.float32), np.ones(3, np.float32), np.float32(np.inf), "mask_into")
