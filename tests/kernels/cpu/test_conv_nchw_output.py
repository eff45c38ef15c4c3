"""A channel-major result straight from the pixel-major kernels: direct.direct_forward's and
winograd.winograd_forward's ``from_rows`` (each chunk's rows transposed in cache) give exactly the
pixel-major result transposed, as the whole transpose afterwards gave (bias, ReLU / ReLU6, both
input layouts, odd sizes, uneven batches over several threads); conv_forward's channel-major
routes through them and conv_backward's dx (direct.py's route) the same to the bit as the
pixel-major ones transposed; float64 torch references for the channel-major forward."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import direct as dc
from layergraph.kernels.cpu import winograd as wg

CASES = [  # n, C, F, H, W, padding, bias, relu, ceiling
    (5, 16, 32, 16, 16, (1, 1, 1, 1), True, True, np.inf),   # the seed CNN's second convolution
    (3, 3, 16, 32, 32, (1, 1, 1, 1), False, False, np.inf),  # a first convolution
    (4, 9, 20, 7, 13, (0, 2, 2, 0), True, True, 6.0),        # F = 16 + 4, uneven padding, ReLU6
    (2, 16, 17, 4, 1, (1, 1, 1, 1), True, False, np.inf),    # width 1
]
WINO = [  # n, C, F, H, W, padding, bias, relu, ceiling
    (3, 32, 32, 16, 16, (1, 1, 1, 1), True, True, np.inf),
    (5, 64, 48, 9, 7, (1, 1, 1, 1), False, True, 6.0),       # odd sizes: partial tiles
    (2, 40, 64, 8, 8, (0, 2, 1, 1), True, False, np.inf),
]


def _data(case, seed):
    n, c, f, h, w, pads, bias, relu, ceiling = case
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (g.standard_normal((f, c, 3, 3)) * 0.2).astype(np.float32)
    b = g.standard_normal(f).astype(np.float32) if bias else None
    return x, wt, b


def _direct(xin, wt, b, pads, oh, ow, relu, x_nhwc, shape, ceiling, from_rows):
    f = wt.shape[0]
    return dc.direct_forward(xin, dc.weights(wt), f, 3, 3, b, 1, 1, 1, 1, *pads, 0.0, oh, ow, relu, x_nhwc, shape,
                             ceiling=ceiling, from_rows=from_rows)


def _winograd(xin, wt, b, pads, oh, ow, relu, x_nhwc, shape, ceiling, from_rows):
    return wg.winograd_forward(xin, wg.filter_transform(wt), b, pads[0], pads[2], 0.0, oh, ow, relu, x_nhwc, shape,
                               ceiling=ceiling, to_rows=cv._to_rows, from_rows=from_rows)


@pytest.mark.parametrize("kernel, case", [(_direct, c) for c in CASES] + [(_winograd, c) for c in WINO])
@pytest.mark.parametrize("x_nhwc", [False, True])
def test_nchw_output_is_the_transpose(kernel, case, x_nhwc, threads):
    n, c, f, h, w, pads, _, relu, ceiling = case
    x, wt, b = _data(case, c + f)
    oh, ow = h + pads[0] + pads[1] - 2, w + pads[2] + pads[3] - 2
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_nhwc else x
    pm = kernel(xin, wt, b, pads, oh, ow, relu, x_nhwc, x.shape, ceiling, None)
    cm = kernel(xin, wt, b, pads, oh, ow, relu, x_nhwc, x.shape, ceiling, cv._from_rows)
    assert cm.shape == (n, f, oh, ow) and cm.dtype == np.float32
    np.testing.assert_array_equal(cm, pm.transpose(0, 3, 1, 2))


def test_a_residual_needs_the_pixel_major_output():
    x, wt, b = _data(CASES[0], 1)
    res = np.zeros((5, 16, 16, 32), np.float32)
    with pytest.raises(ValueError, match="residual"):
        dc.direct_forward(x, dc.weights(wt), 32, 3, 3, b, 1, 1, 1, 1, 1, 1, 1, 1, 0.0, 16, 16, False, False,
                          x.shape, res, from_rows=cv._from_rows)
    with pytest.raises(ValueError, match="residual"):
        wg.winograd_forward(x, wg.filter_transform(wt), b, 1, 1, 0.0, 16, 16, False, False, x.shape, res,
                            to_rows=cv._to_rows, from_rows=cv._from_rows)


@pytest.mark.parametrize("case", CASES[:3] + WINO)
def test_conv_forward_channel_major_against_torch_and_the_pixel_major_route(case, threads):
    n, c, f, h, w, pads, _, relu, ceiling = case
    x, wt, b = _data(case, 7 * c + f)
    y = cv.conv_forward(x, wt, b, 1, 1, 1, 1, *pads, relu=relu, ceiling=ceiling)
    ynhwc = cv.conv_forward(x, wt, b, 1, 1, 1, 1, *pads, relu=relu, ceiling=ceiling, y_layout="nhwc")
    np.testing.assert_array_equal(y, ynhwc.transpose(0, 3, 1, 2))
    pt, pb, pl, pr = pads
    ref = F.conv2d(F.pad(torch.tensor(x, dtype=torch.float64), (pl, pr, pt, pb)),
                   torch.tensor(wt, dtype=torch.float64), None if b is None else torch.tensor(b, dtype=torch.float64))
    if relu:
        ref = ref.clamp(0, ceiling)
    ref = ref.numpy()
    np.testing.assert_allclose(y, ref, rtol=0, atol=2e-5 * np.abs(ref).max())


def test_conv_backward_channel_major_dx_on_direct_route(threads):
    """dx through direct.py channel-major out (16 filters) is the pixel-major route's, transposed."""
    g = np.random.default_rng(3)
    x = g.standard_normal((6, 16, 12, 10)).astype(np.float32)
    wt = g.standard_normal((16, 16, 3, 3)).astype(np.float32)
    dy = g.standard_normal((6, 16, 12, 10)).astype(np.float32)
    dx, dW, db = cv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1)
    dxp, dWp, dbp = cv.conv_backward(np.ascontiguousarray(dy.transpose(0, 2, 3, 1)),
                                     np.ascontiguousarray(x.transpose(0, 2, 3, 1)), wt, 1, 1, 1, 1, 1, 1, 1, 1,
                                     x_layout="nhwc", y_layout="nhwc")
    np.testing.assert_array_equal(dx, dxp.transpose(0, 3, 1, 2))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, torch.tensor(wt, dtype=torch.float64), padding=1).backward(torch.tensor(dy, dtype=torch.float64))
    ref = xt.grad.numpy()
    np.testing.assert_allclose(dx, ref, rtol=0, atol=2e-5 * np.abs(ref).max())
