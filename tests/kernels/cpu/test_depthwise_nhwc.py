"""The pixel-major depthwise forward (kernels/cpu/depthwise.py depthwise_forward_nhwc, prediction
only: no backward) and conv_forward's pixel-major routes it and the wide pointwise product serve
(x and y N x H x W x C): values against torch conv2d(groups=C) for filter sizes, strides,
dilations and asymmetric zero padding, the fused bias, ReLU and clipped ReLU, a residual, both x
layouts, float32 and float64, and uneven thread splits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv, depthwise
from layergraph.kernels.cpu.conv import conv_forward, pixel_major_eligible


@pytest.fixture
def routed(spy):
    return spy(conv, "depthwise_forward_nhwc", lambda *a, **k: a[0].shape)


def _torch(x, w, b, s, d, pads, relu, ceiling, groups):
    pt, pb, pl, pr = pads
    y = F.conv2d(F.pad(torch.tensor(x), (pl, pr, pt, pb)), torch.tensor(w), torch.tensor(b), stride=s, dilation=d,
                 groups=groups)
    if relu:
        y = torch.clamp(y, 0, ceiling)
    return y.numpy()


CASES = [  # C, (FH, FW), (sh, sw), (dh, dw), (pt, pb, pl, pr)
    (4, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
    (4, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
    (3, (3, 3), (2, 2), (1, 1), (0, 1, 0, 1)),
    (5, (3, 2), (1, 2), (1, 1), (1, 0, 2, 1)),
    (2, (5, 5), (1, 1), (2, 1), (4, 4, 2, 2)),
    (6, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),
    (3, (3, 3), (3, 1), (1, 2), (0, 0, 0, 0)),
    (40, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),     # C*g pixels per inner loop, a remainder
    (300, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),    # more channels than _DW_GROUP
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c,k,s,d,pads", CASES)
def test_depthwise_nhwc_matches_torch(threads, routed, dtype, c, k, s, d, pads):
    r = np.random.default_rng(c + k[0] + s[0])
    n, h, wd = 3, 9, 8
    x = r.standard_normal((n, c, h, wd)).astype(dtype)
    w = r.standard_normal((c, 1, *k)).astype(dtype)
    b = r.standard_normal(c).astype(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    xn = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    for relu, ceiling in ((False, np.inf), (True, np.inf), (True, 0.7)):
        ref = _torch(x, w, b, s, d, pads, relu, ceiling, c)
        for xin, layout in ((xn, "nhwc"), (x, "nchw")):
            y = conv_forward(xin, w, b, *s, *d, *pads, groups=c, relu=relu, ceiling=ceiling, x_layout=layout,
                             y_layout="nhwc")
            assert y.shape == (n, *ref.shape[2:], c) and y.dtype == dtype
            np.testing.assert_allclose(y.transpose(0, 3, 1, 2), ref, **tol)
    assert len(routed) == 6
    # the kernel itself, no bias
    oh, ow = ref.shape[2:]
    y = depthwise.depthwise_forward_nhwc(xn, w, None, *s, *d, pads[0], pads[2], oh, ow)
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), _torch(x, w, 0 * b, s, d, pads, False, np.inf, c), **tol)


def test_depthwise_nhwc_residual_is_added_before_the_relu(threads, routed):
    r = np.random.default_rng(3)
    x = r.standard_normal((2, 8, 6, 6))
    w = r.standard_normal((8, 1, 3, 3))
    b = r.standard_normal(8)
    res = r.standard_normal((2, 6, 6, 8))
    y = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, groups=8, relu=True, ceiling=1.5, y_layout="nhwc",
                     residual=res)
    ref = _torch(x, w, b, (1, 1), (1, 1), (1, 1, 1, 1), False, np.inf, 8).transpose(0, 2, 3, 1) + res
    np.testing.assert_allclose(y, np.clip(ref, 0, 1.5), rtol=1e-12, atol=1e-12)
    assert routed


@pytest.mark.parametrize("c,f", [(72, 16), (128, 256), (8, 8)])
def test_wide_pointwise_runs_pixel_major_and_matches_torch(threads, c, f):
    r = np.random.default_rng(c)
    x = r.standard_normal((5, c, 4, 3)).astype(np.float32)
    w = r.standard_normal((f, c, 1, 1)).astype(np.float32)
    b = r.standard_normal(f).astype(np.float32)
    ref = _torch(x, w, b, (1, 1), (1, 1), (0, 0, 0, 0), True, 6.0, 1)
    assert pixel_major_eligible(c, 1, 0.0, f, (1, 1), (1, 1), (0, 0, 0, 0))
    xn = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    for xin, layout in ((xn, "nhwc"), (x, "nchw")):
        y = conv_forward(xin, w, b, 1, 1, 1, 1, 0, 0, 0, 0, relu=True, ceiling=6.0, x_layout=layout,
                         y_layout="nhwc")
        np.testing.assert_allclose(y.transpose(0, 3, 1, 2), ref, rtol=1e-4, atol=1e-4)


def test_eligibility():
    assert pixel_major_eligible(128, 128, 0.0, 128, (3, 3), (2, 2), (1, 1, 1, 1))      # depthwise
    assert not pixel_major_eligible(128, 128, 0.5, 128, (3, 3), (1, 1), (1, 1, 1, 1))  # non-zero padding value
    assert not pixel_major_eligible(64, 64, 0.0, 128, (3, 3), (1, 1), (1, 1, 1, 1))    # two filters per channel
    assert not pixel_major_eligible(128, 1, 0.0, 64, (1, 1), (2, 2), (0, 0, 0, 0))     # stride 2
    assert not pixel_major_eligible(128, 1, 0.0, 64, (1, 1), (1, 1), (1, 0, 0, 0))     # padded
    assert not pixel_major_eligible(128, 1, 0.0, 64, (3, 3), (1, 1), (1, 1, 1, 1))     # 3x3 past 64 channels
    assert not pixel_major_eligible(128, 1, "replicate", 64, (1, 1), (1, 1), (0, 0, 0, 0))
    assert not pixel_major_eligible(128, 128, 0.0)   # without the filters: the 3x3 rule alone


def test_depthwise_nhwc_refuses_channel_multipliers():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="one filter per channel"):
        depthwise.depthwise_forward_nhwc(x, np.zeros((4, 1, 3, 3)), None, 1, 1, 1, 1, 1, 1, 4, 4)
