"""The executor's pixel-major prediction plan (core/executor.py PIXEL_MAJOR): which convolutions
it keeps pixel-major, and that prediction and activations give the channel-major plan's numbers
(float64: to rounding) on a residual network with stride-2 blocks, 1x1 shortcuts, additions,
elementwise layers between convolutions, a pooling reader and a global pooling at the end."""
import numpy as np
import pytest

import layergraph as L
import layergraph.core.executor as E


def _with_bn_statistics(net, seed, spread=1.0):
    """net with random batch normalization statistics, scales and offsets (not the identity, so
    that the folding into the convolutions shows); means and offsets times ``spread``."""
    g = np.random.default_rng(seed)
    values = {}
    for layer in net.Layers:
        if type(layer).__name__ == "BatchNormalizationLayer":
            c = layer.NumChannels
            values[(layer.Name, "TrainedMean")] = g.standard_normal((1, 1, c)) * spread
            values[(layer.Name, "TrainedVariance")] = g.uniform(0.5, 2, (1, 1, c))
            values[(layer.Name, "Scale")] = g.uniform(0.5, 1.5, (1, 1, c))
            values[(layer.Name, "Offset")] = g.standard_normal((1, 1, c)) * spread
    return net._with_arrays(values)


def residual_net(act="relu"):
    lg = L.layerGraph([L.imageInputLayer([12, 10, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c0"),
                       L.batchNormalizationLayer("Name", "bn0"), L.reluLayer("Name", "r0")])
    last, ch = "r0", 8

    def activation(name):
        return L.reluLayer("Name", name) if act == "relu" else L.leakyReluLayer(0.1, "Name", name)
    for i, (width, stride) in enumerate(((8, 1), (16, 2))):
        p = f"b{i}"
        lg = L.addLayers(lg, [L.convolution2dLayer(3, width, "Stride", stride, "Padding", 1, "Name", f"{p}c1"),
                              L.batchNormalizationLayer("Name", f"{p}n1"), activation(f"{p}a1"),
                              L.convolution2dLayer(3, width, "Padding", 1, "Name", f"{p}c2"),
                              L.batchNormalizationLayer("Name", f"{p}n2"),
                              L.additionLayer(2, "Name", f"{p}add"), L.reluLayer("Name", f"{p}r")])
        lg = L.connectLayers(lg, last, f"{p}c1")
        if stride != 1 or width != ch:
            lg = L.addLayers(lg, [L.convolution2dLayer(1, width, "Stride", stride, "Name", f"{p}skip"),
                                  L.batchNormalizationLayer("Name", f"{p}skipn")])
            lg = L.connectLayers(lg, last, f"{p}skip")
            lg = L.connectLayers(lg, f"{p}skipn", f"{p}add/in2")
        else:
            lg = L.connectLayers(lg, last, f"{p}add/in2")
        last, ch = f"{p}r", width
    lg = L.addLayers(lg, [L.convolution2dLayer(3, 8, "Padding", 1, "Name", "tail"),
                          L.convolution2dLayer(3, 8, "Padding", 1, "Name", "tail2"),
                          L.maxPooling2dLayer(2, "Stride", 2, "Name", "pool"),
                          L.globalAveragePooling2dLayer("Name", "gap"), L.fullyConnectedLayer(5, "Name", "fc"),
                          L.softmaxLayer("Name", "sm")])
    lg = L.connectLayers(lg, last, "tail")
    L.rng(3)
    net = L.dlnetwork(lg)
    return _with_bn_statistics(net, 4)


def first_block_graph(h, w, classes):
    """ResNet's stem and first block on h x w x 3 images: conv (16 filters), BN, ReLU, a residual
    block of two 3x3 convolutions with BN, the addition and its ReLU, global average pooling, a
    fully connected layer of ``classes`` and softmax."""
    lg = L.layerGraph([L.imageInputLayer([h, w, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "c0"),
                       L.batchNormalizationLayer("Name", "n0"), L.reluLayer("Name", "r0"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "c1"),
                       L.batchNormalizationLayer("Name", "n1"), L.reluLayer("Name", "r1"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "c2"),
                       L.batchNormalizationLayer("Name", "n2"), L.additionLayer(2, "Name", "add"),
                       L.reluLayer("Name", "r2"), L.globalAveragePooling2dLayer("Name", "gap"),
                       L.fullyConnectedLayer(classes, "Name", "fc"), L.softmaxLayer("Name", "sm")])
    return L.connectLayers(lg, "r0", "add/in2")


@pytest.fixture
def plan_off(monkeypatch):
    def off():
        monkeypatch.setattr(E, "PIXEL_MAJOR", False)
    return off


def test_the_plan_keeps_the_residual_body_pixel_major():
    ex = residual_net().executor("cpu", np.float64)
    # c0 (3 input channels, 3x3 stride 1: a first convolution) too; 'tail' is read by 'tail2',
    # whose max pooling (fused) is channel-major only, so 'tail' reads its input transposed back
    assert ex._pixel_major == {"c0", "b0c1", "b0c2", "b1c1", "b1c2", "b1skip"}


@pytest.mark.parametrize("act", ["relu", "leaky"])
@pytest.mark.parametrize("n", [1, 6])
def test_predict_equals_the_channel_major_plan(plan_off, act, n):
    net = residual_net(act)
    X = np.random.default_rng(n).standard_normal((12, 10, 3, n))
    y = net.predict(X, dtype=np.float64)
    plan_off()
    ref = net.predict(X, dtype=np.float64)
    assert y.shape == (n, 5)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("layer", ["b0n1", "b0a1", "b0add", "b1r", "b1skipn", "tail", "tail2"])
def test_activations_equal_the_channel_major_plan(plan_off, layer):
    net = residual_net()
    X = np.random.default_rng(0).standard_normal((12, 10, 3, 4))
    a = net.activations(X, layer, dtype=np.float64)
    plan_off()
    ref = net.activations(X, layer, dtype=np.float64)
    assert a.shape == ref.shape and a.shape[-1] == 4   # H x W x C x N, as MATLAB gives it
    np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-13)


def test_several_outputs_and_float32(plan_off):
    net = residual_net()
    X = np.random.default_rng(1).standard_normal((12, 10, 3, 5)).astype(np.float32)
    outs = net.predict(X, Outputs=["b1add", "sm"])
    plan_off()
    refs = net.predict(X, Outputs=["b1add", "sm"])
    for a, r in zip(outs, refs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


def test_training_forward_is_unchanged(plan_off):
    net = residual_net()
    X = np.random.default_rng(2).standard_normal((12, 10, 3, 3))
    y, _ = net.forward(X, dtype=np.float64)
    plan_off()
    ref, _ = net.forward(X, dtype=np.float64)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-13)


def test_a_convolution_leading_to_no_pixel_major_reader_stays_channel_major(plan_off):
    # MobileNet's pattern: a pointwise convolution, BN and ReLU6, then a depthwise convolution:
    # both pixel-major (depthwise.py's pixel-major kernel) since h_mob2
    L.rng(5)
    net = L.dlnetwork([L.imageInputLayer([6, 6, 8], "Normalization", "none"),
                       L.convolution2dLayer(1, 16, "Name", "pw"), L.batchNormalizationLayer,
                       L.clippedReluLayer(6), L.groupedConvolution2dLayer(3, 1, "channel-wise", "Padding", 1),
                       L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c2"), L.reluLayer("Name", "r2"),
                       L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c3"),
                       L.averagePooling2dLayer(2, "Stride", 2), L.fullyConnectedLayer(3), L.softmaxLayer])
    # pw leads to the depthwise convolution, which leads to c2 (16 channels), which leads through
    # its ReLU (fused) to c3; c3 is read by the average pooling, which takes channel-major input
    assert net.executor("cpu", np.float64)._pixel_major == {"pw", "groupedconv", "c2"}
    X = np.random.default_rng(0).standard_normal((6, 6, 8, 3))
    y = net.predict(X, dtype=np.float64)
    plan_off()
    np.testing.assert_allclose(y, net.predict(X, dtype=np.float64), rtol=1e-12, atol=1e-13)


def test_residual_fusions_are_planned_where_the_addition_reads_a_planned_convolution():
    ex = residual_net().executor("cpu", np.float64)
    # block 0: b0c2 + BN, added to r0 (computed before); block 1: both b1c2 and the 1x1 shortcut
    # qualify, and the pass fuses whichever runs second (the other's output is then computed)
    assert set(ex._residuals) == {"b0c2", "b1c2", "b1skip"}
    add, relu, other = ex._residuals["b0c2"]
    assert (add.name, relu.name, other) == ("b0add", "b0r", ("r0", "out"))


def wide_net():
    """Two residual blocks at 32 channels: 3x3 stride-1 convolutions that run as Winograd."""
    lg = L.layerGraph([L.imageInputLayer([10, 9, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 32, "Padding", 1, "Name", "c0"),
                       L.batchNormalizationLayer("Name", "bn0"), L.reluLayer("Name", "r0")])
    last = "r0"
    for i in range(2):
        p = f"w{i}"
        lg = L.addLayers(lg, [L.convolution2dLayer(3, 32, "Padding", 1, "Name", f"{p}c1"),
                              L.batchNormalizationLayer("Name", f"{p}n1"), L.reluLayer("Name", f"{p}a1"),
                              L.convolution2dLayer(3, 32, "Padding", 1, "Name", f"{p}c2"),
                              L.batchNormalizationLayer("Name", f"{p}n2"),
                              L.additionLayer(2, "Name", f"{p}add"), L.reluLayer("Name", f"{p}r")])
        lg = L.connectLayers(lg, last, f"{p}c1")
        lg = L.connectLayers(lg, last, f"{p}add/in2")
        last = f"{p}r"
    lg = L.addLayers(lg, [L.convolution2dLayer(3, 8, "Padding", 1, "Name", "tail"),
                          L.globalAveragePooling2dLayer("Name", "gap"), L.fullyConnectedLayer(4, "Name", "fc"),
                          L.softmaxLayer("Name", "sm")])
    lg = L.connectLayers(lg, last, "tail")
    L.rng(6)
    net = L.dlnetwork(lg)
    return _with_bn_statistics(net, 7, spread=0.1)


def test_winograd_through_the_plan_equals_the_channel_major_plan(plan_off, monkeypatch):
    from layergraph.kernels.cpu import winograd as wg
    calls = []
    w0 = wg.winograd_forward
    monkeypatch.setattr(wg, "winograd_forward", lambda *a, **k: calls.append(
        (a[11] if len(a) > 11 else k.get("residual")) is not None) or w0(*a, **k))
    net = wide_net()
    X = np.random.default_rng(8).standard_normal((10, 9, 3, 5))
    y = net.predict(X, dtype=np.float64)
    a = net.activations(X, "w1n2", dtype=np.float64)   # a kept BN output: that block unfused
    y32 = net.predict(X.astype(np.float32))
    # 4 Winograd convolutions per pass, the two second ones with their residual (not in activations)
    assert calls[:4] == [False, True, False, True] and len(calls) >= 8
    plan_off()
    np.testing.assert_allclose(y, net.predict(X, dtype=np.float64), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a, net.activations(X, "w1n2", dtype=np.float64), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y32, net.predict(X.astype(np.float32)), rtol=1e-4, atol=1e-6)


def test_the_folded_weights_follow_parameters_changed_in_place(plan_off):
    # a trainer updates the executor's parameter arrays in place: the cached folding and Winograd
    # transform (ConvOp._pixel_major_weights) must not serve the old values
    ex = wide_net().executor("cpu", np.float64)
    x = {"in": np.random.default_rng(9).standard_normal((3, 3, 10, 9))}
    out = ex.output_refs()[0]
    first = ex.forward(x)[out]
    ex.params["w0c2"]["Weights"] *= -0.5
    ex.params["w1n1"]["TrainedMean"] += 0.3
    second = ex.forward(x)[out]
    plan_off()
    ref = ex.forward(x)[out]
    assert np.abs(first - second).max() > 1e-3
    np.testing.assert_allclose(second, ref, rtol=1e-12, atol=1e-13)


def mobilenet_like(padding_value=0):
    """MobileNet's chain with non-trivial BN statistics: a 3-channel first convolution, depthwise
    (stride 1 and 2) + BN + ReLU6, pointwise (to 72 channels: past the 3x3 rule's 64) + BN + ReLU6,
    a depthwise convolution of channel multiplier 2 and one with a non-zero padding value (neither
    pixel-major), a global pooling at the end."""
    layers = [L.imageInputLayer([9, 11, 3], "Normalization", "none"),
              L.convolution2dLayer(3, 16, "Padding", 1, "Name", "first"), L.batchNormalizationLayer,
              L.clippedReluLayer(6)]
    for i, (out, stride) in enumerate(((24, 1), (72, 2), (72, 1))):
        layers += [L.groupedConvolution2dLayer(3, 1, "channel-wise", "Stride", stride, "Padding", 1,
                                               "Name", f"dw{i}"),
                   L.batchNormalizationLayer, L.clippedReluLayer(6),
                   L.convolution2dLayer(1, out, "Name", f"pw{i}"), L.batchNormalizationLayer, L.clippedReluLayer(6)]
    layers += [L.groupedConvolution2dLayer(3, 2, "channel-wise", "Padding", 1, "Name", "dwm2"),
               L.convolution2dLayer(1, 16, "Name", "pw3"),
               L.groupedConvolution2dLayer(3, 1, "channel-wise", "Padding", 1, "PaddingValue", padding_value,
                                           "Name", "dwpad"),
               L.convolution2dLayer(1, 16, "Name", "pw4"), L.reluLayer,
               L.globalAveragePooling2dLayer, L.fullyConnectedLayer(4), L.softmaxLayer]
    L.rng(7)
    net = L.dlnetwork(layers)
    return _with_bn_statistics(net, 8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mobilenet_chain_runs_pixel_major_and_matches_the_channel_major_plan(plan_off, dtype):
    net = mobilenet_like(padding_value=0.5)
    planned = net.executor("cpu", dtype)._pixel_major
    # the first (3 channels, 3x3 stride 1), every depthwise (one filter per channel, zero
    # padding) and pointwise convolution that leads to another, and pw4 (read through its ReLU by
    # the global average pooling, which reads pixel-major input as it is); not the multiplier-2
    # one, the padded one (non-zero PaddingValue), those read by either (pw2, pw3)
    assert planned == {"first", "dw0", "pw0", "dw1", "pw1", "dw2", "pw4"}
    X = np.random.default_rng(1).standard_normal((9, 11, 3, 5))
    y = net.predict(X, dtype=dtype)
    acts = net.activations(X, "pw1", dtype=dtype)   # a planned convolution's output: channel-major
    plan_off()
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(y, net.predict(X, dtype=dtype), **tol)
    np.testing.assert_allclose(acts, net.activations(X, "pw1", dtype=dtype), **tol)


def test_global_average_pooling_reads_the_plan_pixel_major(plan_off):
    """A residual block whose output (through its ReLU) only global average pooling reads: the
    block's second convolution is planned (the pooling reads pixel-major input as it is), and
    predictions and the pooling's activations equal the channel-major plan's."""
    lg = first_block_graph(9, 7, 4)
    L.rng(5)
    net = _with_bn_statistics(L.dlnetwork(lg), 6)
    assert {"c1", "c2"} <= net.executor("cpu", np.float64)._pixel_major
    X = np.random.default_rng(2).standard_normal((9, 7, 3, 6))
    y, pooled = net.predict(X), net.activations(X, "gap")
    plan_off()
    np.testing.assert_allclose(y, net.predict(X), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(pooled, net.activations(X, "gap"), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("relu", [False, True])
def test_a_fully_connected_layer_reads_a_pixel_major_input(plan_off, relu):
    """conv -> BN -> ReLU -> fully connected (a small CNN's head, the seed CNN's): the convolution
    is planned, the fully connected layer reads its N x H x W x C output through its weights'
    columns in (h, w, c) order, kept between calls (and renewed when the weights change); the
    same numbers as the channel-major pass (float64), with and without a ReLU after it (fused)."""
    L.rng(7)
    layers = [L.imageInputLayer([6, 5, 3], "Normalization", "none"), L.convolution2dLayer(3, 8, "Name", "c0"),
              L.convolution2dLayer(3, 12, "Padding", 1, "Name", "c1"), L.batchNormalizationLayer,
              L.reluLayer, L.fullyConnectedLayer(4, "Name", "fc")]
    layers += [L.reluLayer, L.fullyConnectedLayer(3)] if relu else []
    net = L.dlnetwork(layers + [L.softmaxLayer])
    ex = net.executor("cpu", np.float64)
    assert "c1" in ex._pixel_major
    X = np.random.default_rng(3).standard_normal((6, 5, 3, 4))
    y = net.predict(X, dtype=np.float64)
    y2 = net.predict(X, dtype=np.float64)   # the kept weights
    plan_off()
    ref = net.predict(X, dtype=np.float64)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(y, y2)


def test_the_fully_connected_layers_kept_weights_follow_an_update_in_place():
    """The (h, w, c) copy of the weights is renewed when the executor's weights change in place
    (a trainer's update between predictions)."""
    L.rng(8)
    net = L.dlnetwork([L.imageInputLayer([5, 5, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 8, "Name", "c0"), L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c1"),
                       L.reluLayer, L.fullyConnectedLayer(3, "Name", "fc"), L.softmaxLayer("Name", "sm")])
    ex = net.executor("cpu", np.float64)
    assert "c1" in ex._pixel_major
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5))
    [ref] = ex.output_refs()
    y0 = ex.forward({"in": x})[ref]
    ex.params["fc"]["Weights"] *= 0.5
    y1 = ex.forward({"in": x})[ref]
    ex0 = net.executor("cpu", np.float64)
    ex0.params["fc"]["Weights"][...] = ex.params["fc"]["Weights"]
    E.PIXEL_MAJOR = False
    try:
        want = ex0.forward({"in": x})[ref]
    finally:
        E.PIXEL_MAJOR = True
    assert not np.allclose(y0, y1)
    np.testing.assert_allclose(y1, want, rtol=1e-12, atol=1e-13)
