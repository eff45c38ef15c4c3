"""The 3x3 undilated pixel-major depthwise forward (kernels/cpu/depthwise.py _dw3_forward_nhwc:
nine taps in one expression per interior pixel, border rows and pixels tap by tap; prediction
only, no backward): values against torch conv2d(groups=C) at strides 1, 2 and 3 with every kind
of border (small planes whose rows are all border rows, no padding, asymmetric and wide padding),
the fused bias, ReLU and clipped ReLU, float32 and float64, rows split in uneven pieces; and
bit-identical to the per-tap kernel (_dw_forward_nhwc) it replaces for these filters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import depthwise


def _torch(x, w, b, s, pads, relu, ceiling):
    pt, pb, pl, pr = pads
    y = F.conv2d(F.pad(torch.tensor(x), (pl, pr, pt, pb)), torch.tensor(w), torch.tensor(b), stride=s,
                 groups=x.shape[1])
    if relu:
        y = torch.clamp(y, 0, ceiling)
    return y.numpy()


CASES = [  # N, C, H, W, (sh, sw), (pt, pb, pl, pr)
    (3, 32, 9, 8, (1, 1), (1, 1, 1, 1)),
    (2, 40, 7, 11, (1, 1), (1, 1, 1, 1)),      # g = 6 pixels per inner loop, a remainder
    (2, 8, 10, 9, (2, 2), (1, 1, 1, 1)),
    (2, 64, 8, 8, (2, 2), (1, 1, 1, 1)),       # MobileNet's stride 2 (the last column needs no padding)
    (1, 24, 9, 10, (2, 1), (1, 1, 1, 1)),
    (2, 16, 6, 7, (1, 1), (0, 0, 0, 0)),       # no padding: every pixel interior, no border
    (2, 16, 6, 7, (1, 1), (2, 0, 0, 2)),       # asymmetric
    (1, 12, 5, 5, (1, 1), (2, 2, 2, 2)),       # wide padding: a border two rows and columns deep
    (2, 8, 2, 2, (1, 1), (1, 1, 1, 1)),        # no interior row: border rows only
    (1, 8, 1, 1, (1, 1), (1, 1, 1, 1)),
    (2, 300, 4, 3, (1, 1), (1, 1, 1, 1)),      # more channels than _DW_GROUP (g = 1)
    (2, 5, 11, 10, (3, 3), (1, 1, 1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,c,h,wd,s,pads", CASES)
def test_dw3_matches_torch_and_the_per_tap_kernel(spy, monkeypatch, dtype, n, c, h, wd, s, pads):
    calls = spy(depthwise, "_dw3_forward_nhwc", lambda *a, **k: 1)
    monkeypatch.setattr(depthwise, "parallel_range", lambda kern, m, *a, **k: _split(kern, m, *a))
    r = np.random.default_rng(c + h + s[0])
    x = r.standard_normal((n, c, h, wd)).astype(dtype)
    w = r.standard_normal((c, 1, 3, 3)).astype(dtype)
    b = r.standard_normal(c).astype(dtype)
    xn = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    for relu, ceiling in ((False, np.inf), (True, np.inf), (True, 0.7)):
        ref = _torch(x, w, b, s, pads, relu, ceiling)
        oh, ow = ref.shape[2:]
        monkeypatch.setattr(depthwise, "_DW3", True)
        y = depthwise.depthwise_forward_nhwc(xn, w, b, *s, 1, 1, pads[0], pads[2], oh, ow, relu, ceiling).copy()
        assert y.shape == (n, oh, ow, c) and y.dtype == dtype
        np.testing.assert_allclose(y.transpose(0, 3, 1, 2), ref, **tol)
        monkeypatch.setattr(depthwise, "_DW3", False)
        y0 = depthwise.depthwise_forward_nhwc(xn, w, b, *s, 1, 1, pads[0], pads[2], oh, ow, relu, ceiling)
        assert y.tobytes() == y0.tobytes()   # the same fused multiply-adds in the same order
    assert calls   # the 3x3 kernel ran (on the uneven pieces)


def _split(kernel, m, *args):
    """The rows in uneven pieces (1, 2, 3, ... rows), as a pool of threads could hand them out."""
    lo, k = 0, 1
    while lo < m:
        kernel(lo, min(m, lo + k), *args)
        lo, k = lo + k, k + 1


def test_dw3_keeps_nan_and_inf_as_the_per_tap_kernel(monkeypatch):
    r = np.random.default_rng(0)
    x = r.standard_normal((1, 6, 6, 16)).astype(np.float32)
    x[0, 2, 3, 4], x[0, 0, 0, 5], x[0, 5, 1, 6] = np.nan, np.inf, -np.inf
    w = r.standard_normal((16, 1, 3, 3)).astype(np.float32)
    for relu in (False, True):
        out = []
        for flag in (True, False):
            monkeypatch.setattr(depthwise, "_DW3", flag)
            out.append(depthwise.depthwise_forward_nhwc(x, w, None, 1, 1, 1, 1, 1, 1, 6, 6, relu, 6.0).copy())
        assert out[0].tobytes() == out[1].tobytes()
