"""conv_forward's pixel-major layouts (x_layout / y_layout 'nhwc': N x H x W x C), which the
executor's pixel-major prediction plan uses: values against torch conv2d (float64) for strides,
dilations, asymmetric padding, constant padding values, 1x1 filters and the fused ReLU, on the
pixel-major kernel and on the transposing fallback (groups, mirrored padding, 3 channels), at 1
and 3 threads with uneven batches; float32 at ResNet-20's shapes against the channel-major path;
the layout conversions; bad arguments. Forward only: prediction is the one caller, and the
gradients stay on the channel-major path (test_conv_rows.py, test_cpu_gradients.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu.conv import conv_forward, nchw_to_nhwc, nhwc_to_nchw, pixel_major_eligible

from test_conv_threads import _torch_pad


@pytest.fixture
def pm_calls(monkeypatch):
    calls = []
    f0 = cv._forward_pixel_major

    w0 = cv._winograd.winograd_forward

    def f(*a, **k):
        calls.append(a[13])  # x_nhwc
        return f0(*a, **k)

    def wf(*a, **k):   # the 3x3 stride-1 dilation-1 filters: Winograd, the same layouts
        calls.append(a[9])
        return w0(*a, **k)
    monkeypatch.setattr(cv, "_forward_pixel_major", f)
    monkeypatch.setattr(cv._winograd, "winograd_forward", wf)
    return calls


CASES = [  # (C, F, FH, FW), (sh, sw), (dh, dw), (pt, pb, pl, pr), padding_value
    ((8, 8, 3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),
    ((16, 12, 3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 0.0),
    ((9, 5, 3, 3), (1, 2), (2, 2), (0, 2, 1, 3), 0.5),
    ((8, 4, 2, 3), (3, 1), (1, 2), (1, 0, 0, 1), -1.0),
    ((10, 6, 5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 0.0),
    ((8, 7, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 0.0),   # 1x1 stride 1: x's rows are the rows
    ((16, 6, 1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 0.0),  # ResNet's 1x1 stride-2 shortcut
    ((8, 6, 3, 3), (1, 1), (1, 1), (3, 0, 0, 4), 0.0),
    ((64, 5, 3, 2), (2, 1), (2, 1), (2, 1, 0, 2), 0.5),
    ((3, 16, 3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0.0),   # a first convolution (direct.py in float32)
    ((3, 32, 3, 3), (1, 1), (1, 1), (0, 2, 1, 1), 0.25),
]


def _torch_ref(x, w, b, s, d, pads, pv, relu):
    ref = F.conv2d(_torch_pad(torch.tensor(x), pads, pv), torch.tensor(w),
                   None if b is None else torch.tensor(b), stride=s, dilation=d)
    return (F.relu(ref) if relu else ref).numpy()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("x_layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("n", [1, 5])
def test_pixel_major_matches_torch(threads, pm_calls, case, relu, x_layout, n):
    (c, f, fh, fw), s, d, pads, pv = case
    g = np.random.default_rng(c + f + n)
    x = g.standard_normal((n, c, 9, 8))
    w = g.standard_normal((f, c, fh, fw))
    b = g.standard_normal(f) if relu else None
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_layout == "nhwc" else x
    y = conv_forward(xin, w, b, *s, *d, *pads, padding_value=pv, relu=relu, x_layout=x_layout, y_layout="nhwc")
    assert pm_calls == [x_layout == "nhwc"]
    ref = _torch_ref(x, w, b, s, d, pads, pv, relu)
    assert y.shape == (n, ref.shape[2], ref.shape[3], f)
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), ref, rtol=1e-12, atol=1e-12)
    # a pixel-major x into a channel-major output: the same numbers
    y2 = conv_forward(xin, w, b, *s, *d, *pads, padding_value=pv, relu=relu, x_layout=x_layout)
    np.testing.assert_allclose(y2, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [  # not pixel-major eligible: transposed before or after, same numbers
    ((3, 4, 5, 5), 1, 0.0),                      # 3 channels, 5x5 (3x3 stride 1 is eligible: a first convolution)
    ((8, 6, 3, 3), 2, 0.0),                      # two groups
    ((8, 4, 3, 3), 1, "symmetric-include-edge"),  # mirrored padding
    ((8, 4, 3, 3), 1, "replicate"),
    ((4, 4, 3, 3), 4, 0.0),                      # depthwise
    ((128, 4, 3, 3), 1, 0.0),                    # above 64 channels
])
@pytest.mark.parametrize("x_layout", ["nchw", "nhwc"])
def test_fallback_layouts_match_torch(threads, pm_calls, case, x_layout):
    (c, f, fh, fw), groups, pv = case
    assert not pixel_major_eligible(c, groups, pv)
    g = np.random.default_rng(c)
    x = g.standard_normal((3, c, 7, 6))
    w = g.standard_normal((f, c // groups, fh, fw))
    b = g.standard_normal(f)
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x_layout == "nhwc" else x
    y = conv_forward(xin, w, b, 1, 1, 1, 1, 1, 1, 1, 1, groups=groups, padding_value=pv, relu=True,
                     x_layout=x_layout, y_layout="nhwc")
    # above 64 channels a 3x3 stride-1 filter still runs as Winograd, on the channel-major route
    assert pm_calls == ([False] if c > 64 else [])
    pads = (1, 1, 1, 1)
    ref = F.conv2d(_torch_pad(torch.tensor(x), pads, pv), torch.tensor(w), torch.tensor(b), groups=groups)
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), F.relu(ref).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(32, 16, 32, 32, 16, 1), (32, 32, 16, 16, 32, 1), (32, 64, 8, 8, 64, 1),
                                   (7, 16, 32, 32, 32, 2)])
def test_float32_resnet_shapes_match_channel_major(shape):
    n, c, h, w_, f, s = shape
    g = np.random.default_rng(1)
    x = g.standard_normal((n, c, h, w_)).astype(np.float32)
    w = (g.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    b = g.standard_normal(f).astype(np.float32)
    ref = conv_forward(x, w, b, s, s, 1, 1, 1, 1, 1, 1, relu=True)
    y = conv_forward(nchw_to_nhwc(x), w, b, s, s, 1, 1, 1, 1, 1, 1, relu=True, x_layout="nhwc", y_layout="nhwc")
    assert y.dtype == np.float32
    np.testing.assert_allclose(nhwc_to_nchw(y), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layout_conversions(dtype):
    x = np.random.default_rng(2).standard_normal((3, 5, 7, 33)).astype(dtype)
    t = nchw_to_nhwc(x)
    assert t.dtype == dtype and t.shape == (3, 7, 33, 5)
    assert np.array_equal(t, x.transpose(0, 2, 3, 1))
    assert np.array_equal(nhwc_to_nchw(t), x)


def test_bad_layouts_are_errors():
    x = np.ones((1, 8, 4, 4))
    w = np.ones((2, 8, 3, 3))
    with pytest.raises(ValueError, match="x_layout and y_layout"):
        conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, y_layout="NHWC")
    with pytest.raises(ValueError, match="pooling"):
        conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, pool=(2, 2, 2, 2, 0, 0, 0, 0), y_layout="nhwc")
    with pytest.raises(ValueError, match="pixel-major x"):
        conv_forward(np.ones((8, 4, 4)), w, None, 1, 1, 1, 1, 1, 1, 1, 1, x_layout="nhwc")
    with pytest.raises(ValueError, match="do not fit"):   # 8 channels (last axis) against weights for 4
        conv_forward(np.ones((1, 4, 4, 8)), np.ones((2, 4, 3, 3)), None, 1, 1, 1, 1, 1, 1, 1, 1,
                     x_layout="nhwc", y_layout="nhwc")


def test_first_convolution_rule():
    """Below 8 channels: 3x3 stride 1, undilated where the dilation is given (the executor's plan)."""
    assert pixel_major_eligible(3, 1, 0.0, 16, (3, 3), (1, 1), (1, 1, 1, 1))
    assert pixel_major_eligible(3, 1, 0.0, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    assert pixel_major_eligible(3, 1, 0.0, 16, (3, 3), (1, 1), (2, 2, 2, 2))   # conv_forward's own route
    assert not pixel_major_eligible(3, 1, 0.0, 16, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2))
    assert not pixel_major_eligible(3, 1, 0.0, 16, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1))
    assert not pixel_major_eligible(3, 1, 0.0, 16, (5, 5), (1, 1), (2, 2, 2, 2), (1, 1))
