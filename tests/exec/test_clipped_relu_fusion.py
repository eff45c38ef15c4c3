"""Prediction fuses clippedReluLayer (ReLU6 and any Ceiling) as it fuses reluLayer: into the
convolution's epilogue (after a folded BN) on every convolution path (im2col, depthwise,
pixel-major im2row, Winograd, a fused max pooling), into the residual epilogue after an addition,
and into the fully connected epilogue. Values against torch (clamp / hardtanh), and the fused
prediction against the layer-by-layer one (every activation kept: nothing fused)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import layergraph as L
import layergraph.core.executor as E
from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import dense


def mobile_net(width=32):
    """conv 3x3 + BN + ReLU6, depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN + ReLU6 (pixel-major:
    it leads to a 3x3 convolution), a residual block of two 3x3 convolutions (Winograd from 32
    channels) whose addition is read by a ReLU6 and then a 3x3 convolution + BN + ReLU6, a
    stride-2 depthwise + BN + clipped ReLU (4) + max pooling, global pooling, fc + clipped ReLU
    (1.5), fc, softmax."""
    lg = L.layerGraph([L.imageInputLayer([10, 9, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, width, "Padding", 1, "Name", "c0"),
                       L.batchNormalizationLayer("Name", "n0"), L.clippedReluLayer(6, "Name", "r0"),
                       L.groupedConvolution2dLayer(3, 1, "channel-wise", "Padding", 1, "Name", "dw"),
                       L.batchNormalizationLayer("Name", "ndw"), L.clippedReluLayer(6, "Name", "rdw"),
                       L.convolution2dLayer(1, width, "Name", "pw"),
                       L.batchNormalizationLayer("Name", "npw"), L.clippedReluLayer(6, "Name", "rpw"),
                       L.convolution2dLayer(3, width, "Padding", 1, "Name", "ca"),
                       L.batchNormalizationLayer("Name", "na"), L.clippedReluLayer(6, "Name", "ra"),
                       L.convolution2dLayer(3, width, "Padding", 1, "Name", "cb"),
                       L.batchNormalizationLayer("Name", "nb"), L.additionLayer(2, "Name", "add"),
                       L.clippedReluLayer(6, "Name", "radd"),
                       L.convolution2dLayer(3, width, "Padding", 1, "Name", "cc"),
                       L.batchNormalizationLayer("Name", "ncc"), L.clippedReluLayer(6, "Name", "rcc"),
                       L.groupedConvolution2dLayer(3, 1, "channel-wise", "Stride", 2, "Padding", 1, "Name", "dw2"),
                       L.batchNormalizationLayer("Name", "ndw2"), L.clippedReluLayer(4, "Name", "rdw2"),
                       L.maxPooling2dLayer(2, "Stride", 1, "Name", "mp"),
                       L.globalAveragePooling2dLayer("Name", "gap"), L.fullyConnectedLayer(12, "Name", "fc1"),
                       L.clippedReluLayer(1.5, "Name", "rfc"), L.fullyConnectedLayer(5, "Name", "fc2"),
                       L.softmaxLayer("Name", "sm")])
    lg = L.connectLayers(lg, "rpw", "add/in2")
    L.rng(11)
    net = L.dlnetwork(lg)
    g = np.random.default_rng(12)
    values = {}
    for layer in net.Layers:   # statistics that are not the identity, and outputs above 6 and below 0
        if type(layer).__name__ == "BatchNormalizationLayer":
            c = layer.NumChannels
            values[(layer.Name, "TrainedMean")] = g.standard_normal((1, 1, c)) * 0.2
            values[(layer.Name, "TrainedVariance")] = g.uniform(0.1, 0.5, (1, 1, c))
            values[(layer.Name, "Scale")] = g.uniform(1, 3, (1, 1, c))
            values[(layer.Name, "Offset")] = g.standard_normal((1, 1, c)) + 1
    return net._with_arrays(values)


def torch_reference(ex, x):
    """The network in torch, float64, from the executor's internal parameters."""
    P = ex.params

    def conv(t, name, groups=1, stride=1, pad=1):
        return F.conv2d(t, torch.tensor(P[name]["Weights"]), torch.tensor(P[name]["Bias"]), stride, pad,
                        groups=groups)

    def bn(t, name):
        p = {k: torch.tensor(v) for k, v in P[name].items()}
        return F.batch_norm(t, p["TrainedMean"], p["TrainedVariance"], p["Scale"], p["Offset"], False, 0.0, 1e-5)

    t = torch.tensor(x)
    t = F.hardtanh(bn(conv(t, "c0"), "n0"), 0, 6)
    t = F.hardtanh(bn(conv(t, "dw", groups=t.shape[1]), "ndw"), 0, 6)
    s = F.hardtanh(bn(conv(t, "pw", pad=0), "npw"), 0, 6)
    t = F.hardtanh(bn(conv(s, "ca"), "na"), 0, 6)
    t = torch.clamp(bn(conv(t, "cb"), "nb") + s, 0, 6)
    t = F.hardtanh(bn(conv(t, "cc"), "ncc"), 0, 6)
    t = torch.clamp(bn(conv(t, "dw2", groups=t.shape[1], stride=2), "ndw2"), 0, 4)
    t = F.max_pool2d(t, 2, 1).mean(dim=(2, 3))
    t = torch.clamp(F.linear(t, torch.tensor(P["fc1"]["Weights"]), torch.tensor(P["fc1"]["Bias"])), 0, 1.5)
    t = F.linear(t, torch.tensor(P["fc2"]["Weights"]), torch.tensor(P["fc2"]["Bias"]))
    return torch.softmax(t, dim=1).numpy()


def test_the_chains_take_the_clipped_relus():
    ex = mobile_net().executor("cpu", np.float64)
    chains = {k: tuple(None if s is None else s.name for s in v[:3]) for k, v in ex._chains.items()}
    assert chains == {"c0": ("n0", "r0", None), "dw": ("ndw", "rdw", None), "pw": ("npw", "rpw", None),
                      "ca": ("na", "ra", None), "cb": ("nb", None, None), "cc": ("ncc", "rcc", None),
                      "dw2": ("ndw2", "rdw2", "mp"), "fc1": (None, "rfc", None)}
    assert {"pw", "ca", "cb"} <= ex._pixel_major
    add, relu, other = ex._residuals["cb"]
    assert (add.name, relu.name, other) == ("add", "radd", ("rpw", "out"))


@pytest.mark.parametrize("pixel_major", [True, False])
@pytest.mark.parametrize("n", [1, 5])
def test_fused_prediction_equals_layer_by_layer_and_torch(monkeypatch, pixel_major, n):
    monkeypatch.setattr(E, "PIXEL_MAJOR", pixel_major)
    ex = mobile_net().executor("cpu", np.float64)
    x = np.random.default_rng(n).standard_normal((n, 3, 10, 9))
    out = ex.output_refs()[0]
    calls = []
    fwd = cv.conv_forward

    def spy(*a, **k):
        calls.append(k.get("ceiling", np.inf))
        return fwd(*a, **k)
    from layergraph.kernels import get_kernel
    monkeypatch.setattr(E, "get_kernel", lambda fam, op, dev: spy if (fam, op) == ("conv", "forward_infer")
                        else get_kernel(fam, op, dev))
    fused = ex.forward({"in": x})[out]
    # every convolution with its clipped ReLU (cb's after the addition: the pixel-major plan's residual)
    assert sorted(calls) == ([4.0] + [6.0] * 6 if pixel_major else [4.0] + [6.0] * 5 + [np.inf])
    every = {(s.name, p) for s in ex.steps for p in s.outputs}
    unfused = ex.forward({"in": x}, keep=every)
    assert unfused[("rdw", "out")].max() == 6.0 and unfused[("nb", "out")].max() > 6   # the clipping shows
    np.testing.assert_allclose(fused, unfused[out], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fused.reshape(n, -1), torch_reference(ex, x), rtol=1e-10, atol=1e-12)


def test_float32_prediction():
    net = mobile_net()
    X = np.random.default_rng(3).standard_normal((10, 9, 3, 4))
    y = net.predict(X.astype(np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, net.predict(X, dtype=np.float64), rtol=1e-4, atol=1e-5)


# kernel level: every path of conv_forward with a ceiling, against torch's clamp
CONV_CASES = [  # (C, F, groups, FH, stride, pad, layouts)
    (3, 8, 1, 3, 1, 1, ("nchw", "nchw")),      # im2col
    (64, 16, 1, 3, 1, 1, ("nchw", "nchw")),    # im2row (from 64 channels)
    (16, 16, 1, 1, 1, 0, ("nchw", "nchw")),    # pointwise
    (12, 12, 12, 3, 2, 1, ("nchw", "nchw")),   # depthwise
    (16, 8, 1, 3, 1, 1, ("nhwc", "nhwc")),     # pixel-major im2row
    (32, 8, 1, 3, 1, 1, ("nchw", "nhwc")),     # Winograd
    (3, 8, 1, 3, 1, 1, ("nchw", "nhwc")),      # channel-major then transposed
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("ceiling", [6.0, 0.5])
def test_conv_forward_ceiling_against_torch(case, ceiling):
    c, f, groups, k, stride, pad, (xl, yl) = case
    g = np.random.default_rng(c + f + k)
    x = g.standard_normal((3, c, 9, 8)) * 3
    w = g.standard_normal((f, c // groups, k, k))
    b = g.standard_normal(f)
    ref = torch.clamp(F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride, pad, groups=groups),
                      0, ceiling).numpy()
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if xl == "nhwc" else x
    y = cv.conv_forward(xin, w, b, stride, stride, 1, 1, pad, pad, pad, pad, groups=groups, relu=True,
                        ceiling=ceiling, x_layout=xl, y_layout=yl)
    if yl == "nhwc":
        y = y.transpose(0, 3, 1, 2)
    assert (ref == ceiling).any() and (ref == 0).any()
    np.testing.assert_allclose(y, ref, rtol=1e-11, atol=1e-11)
    y32 = cv.conv_forward(xin.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride, stride, 1, 1,
                          pad, pad, pad, pad, groups=groups, relu=True, ceiling=ceiling, x_layout=xl, y_layout=yl)
    assert y32.dtype == np.float32 and y32.max() <= np.float32(ceiling)


def test_conv_forward_ceiling_with_pool_and_residual():
    g = np.random.default_rng(5)
    x = g.standard_normal((2, 5, 8, 8)) * 3
    w = g.standard_normal((6, 5, 3, 3))
    t = F.conv2d(torch.tensor(x), torch.tensor(w), None, 1, 1)
    y = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, relu=True, ceiling=2.0, pool=(2, 2, 2, 2, 0, 0, 0, 0))
    np.testing.assert_allclose(y, F.max_pool2d(torch.clamp(t, 0, 2), 2).numpy(), rtol=1e-12, atol=1e-12)
    res = g.standard_normal((2, 8, 8, 6))
    y = cv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, relu=True, ceiling=2.0, y_layout="nhwc", residual=res)
    ref = torch.clamp(t + torch.tensor(res).permute(0, 3, 1, 2), 0, 2).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [3, 200])   # one block of rows, and the batch split
def test_fc_forward_ceiling_against_torch(n):
    g = np.random.default_rng(n)
    x, w, b = g.standard_normal((n, 40)), g.standard_normal((30, 40)), g.standard_normal(30)
    y = dense.fc_forward(x, w, b, relu=True, ceiling=3.0)
    ref = torch.clamp(F.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)), 0, 3).numpy()
    assert (ref == 3).any()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "six"])
def test_a_bad_ceiling_is_refused(bad):
    x, w = np.ones((1, 2, 3, 3)), np.ones((2, 2, 1, 1))
    with pytest.raises(ValueError, match="ceiling must be a number > 0"):
        cv.conv_forward(x, w, None, 1, 1, 1, 1, 0, 0, 0, 0, relu=True, ceiling=bad)
    with pytest.raises(ValueError, match="ceiling must be a number > 0"):
        dense.fc_forward(np.ones((2, 3)), np.ones((4, 3)), None, relu=True, ceiling=bad)
