"""ONNX export (issue 12): every registry family, both dialects, several operator sets.

Each case is a small network with random weights, normalization statistics and input
statistics; it is exported through the dialect's entry point (exportONNXNetwork / Export),
checked with onnx.checker (full check) and strict shape inference, run in onnxruntime and
compared with the dialect's own prediction (float32; 1e-5 relative to the output's scale).
Every MATLAB case is also opened as a Wolfram net and exported from there.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import pytest

import layergraph.matlab as ml
import layergraph.wolfram as wl
from layergraph import layers as L
from layergraph.core import conventions as cv
from layergraph.core.errors import LayerGraphError
from layergraph.onnx import export as ox

ort = pytest.importorskip("onnxruntime")

OPSETS = (9, 11, 13, ox.max_opset())
WOLFRAM_OPSETS = (9, 11, 13, 18)
H, W, C, N = 6, 7, 3, 2   # H != W catches a swapped axis


def _rng(seed=0):
    return np.random.default_rng(seed)


def _r(*shape, seed=0, lo=-1.0, hi=1.0):
    return _rng(seed).uniform(lo, hi, shape).astype(np.float32)


def _pos(*shape, seed=0):
    return _r(*shape, seed=seed, lo=0.5, hi=2.0)


# -- MATLAB networks ---------------------------------------------------------------------------------
def img(**kw):
    return ml.imageInputLayer([H, W, C], "Normalization", "none", Name="in", **kw)


def feat(n=5, **kw):
    return ml.featureInputLayer(n, Name="in", **kw)


def dl(*layers):
    return ml.dlnetwork(ml.LayerArray(list(layers)))


def conv(k=3, f=4, seed=1, **kw):
    return ml.convolution2dLayer(k, f, "BiasInitializer", "narrow-normal", **kw)


def bn(c, seed=2, **kw):
    return ml.batchNormalizationLayer("TrainedMean", _r(1, 1, c, seed=seed),
                                      "TrainedVariance", _pos(1, 1, c, seed=seed + 1),
                                      "Scale", _pos(1, 1, c, seed=seed + 2), "Offset", _r(1, 1, c, seed=seed + 3), **kw)


def so(c, seed=5):
    """Random Scale and Offset (1 x 1 x C) for a normalization layer."""
    return dict(Scale=_pos(1, 1, c, seed=seed), Offset=_r(1, 1, c, seed=seed + 1))


def two_branch(combine, k2=3, f2=4, pad2=1):
    """in -> conv(3, 4, same) -> relu -> combine/in1; in -> conv(k2, f2) -> combine/in2."""
    lg = ml.layerGraph(ml.LayerArray([img(), conv(3, 4, Padding="same", Name="c1"), ml.reluLayer(Name="r1"),
                                      combine]))
    lg = ml.addLayers(lg, ml.convolution2dLayer(k2, f2, "Padding", pad2, "BiasInitializer", "narrow-normal",
                                                Name="c2"))
    lg = ml.connectLayers(lg, "in", "c2")
    lg = ml.connectLayers(lg, "c2", f"{combine.Name}/in2")
    return ml.dlnetwork(lg)


def assembled(*layers):
    """A DAGNetwork (with output layer) from layers with every array set."""
    return ml.assembleNetwork(ml.LayerArray(list(layers)))


def _fc_weights(out, inp, seed=7):
    return _r(out, inp, seed=seed), _r(out, 1, seed=seed + 1)


MATLAB_CASES = {
    "input": [
        ("zerocenter-element", lambda: dl(ml.imageInputLayer([H, W, C], "Normalization", "zerocenter",
                                                             "Mean", _r(H, W, C, seed=3)), ml.reluLayer())),
        ("zscore-channel", lambda: dl(ml.imageInputLayer([H, W, C], "Normalization", "zscore",
                                                         "Mean", _r(1, 1, C, seed=3),
                                                         "StandardDeviation", _pos(1, 1, C, seed=4)),
                                      ml.reluLayer())),
        ("rescale-symmetric", lambda: dl(ml.imageInputLayer([H, W, C], "Normalization", "rescale-symmetric",
                                                            "Min", _r(1, 1, C, seed=3, hi=-0.5),
                                                            "Max", _pos(1, 1, C, seed=4)), ml.tanhLayer())),
        ("rescale-zero-one", lambda: dl(ml.imageInputLayer([H, W, C], "Normalization", "rescale-zero-one",
                                                           "Min", -1.0, "Max", 2.0), ml.tanhLayer())),
        ("feature-zscore", lambda: dl(ml.featureInputLayer(5, "Normalization", "zscore", "Mean", _r(5, 1, seed=3),
                                                           "StandardDeviation", _pos(5, 1, seed=4)),
                                      ml.reluLayer())),
    ],
    "conv": [
        ("plain", lambda: dl(img(), conv())),
        ("same-stride-dilation", lambda: dl(img(), conv(3, 4, Padding="same", Stride=2, DilationFactor=[2, 1]))),
        ("asymmetric", lambda: dl(img(), conv(3, 5, Padding=[1, 0, 2, 1], Stride=[1, 2]))),
        ("filter-2x3", lambda: dl(img(), conv([2, 3], 4, Padding="same"))),
        ("pad-value", lambda: dl(img(), conv(3, 4, Padding=1, PaddingValue=0.5))),
        ("replicate", lambda: dl(img(), conv(3, 4, Padding=[1, 2, 0, 1], PaddingValue="replicate"))),
        ("reflect", lambda: dl(img(), conv(3, 4, Padding=1, PaddingValue="symmetric-exclude-edge"))),
        ("symmetric", lambda: dl(img(), conv(5, 4, Padding=[2, 1, 0, 2], PaddingValue="symmetric-include-edge"))),
        ("grouped", lambda: dl(ml.imageInputLayer([H, W, 4], "Normalization", "none"),
                               ml.groupedConvolution2dLayer(3, 3, 2, "Padding", "same",
                                                            "BiasInitializer", "narrow-normal"))),
        ("channel-wise", lambda: dl(img(), ml.groupedConvolution2dLayer(3, 2, "channel-wise", "Stride", 2,
                                                                        "BiasInitializer", "narrow-normal"))),
    ],
    "transposed_conv": [
        ("stride2", lambda: dl(img(), ml.transposedConv2dLayer(3, 4, "Stride", 2,
                                                               "BiasInitializer", "narrow-normal"))),
        ("cropping", lambda: dl(img(), ml.transposedConv2dLayer([3, 2], 4, "Stride", [2, 1], "Cropping", [1, 0, 0, 1],
                                                                "BiasInitializer", "narrow-normal"))),
        ("same", lambda: dl(img(), ml.transposedConv2dLayer(4, 2, "Stride", 2, "Cropping", "same",
                                                            "BiasInitializer", "narrow-normal"))),
    ],
    "batchnorm": [
        ("image", lambda: dl(img(), conv(), bn(4, Epsilon=1e-3))),
        ("feature", lambda: dl(feat(), ml.batchNormalizationLayer(
            "TrainedMean", _r(5, 1, seed=2), "TrainedVariance", _pos(5, 1, seed=3),
            "Scale", _pos(5, 1, seed=4), "Offset", _r(5, 1, seed=5)))),
    ],
    "layernorm": [
        ("image", lambda: dl(img(), conv(), ml.layerNormalizationLayer(Epsilon=1e-4, **so(4)))),
        ("channel-only", lambda: dl(img(), conv(), ml.layerNormalizationLayer(OperationDimension="channel-only",
                                                                              **so(4)))),
        ("feature", lambda: dl(feat(), ml.layerNormalizationLayer(Scale=_pos(5, 1), Offset=_r(5, 1)))),
    ],
    "groupnorm": [
        ("groups2", lambda: dl(img(), conv(3, 4), ml.groupNormalizationLayer(2, **so(4)))),
        ("all-channels", lambda: dl(img(), conv(3, 4), ml.groupNormalizationLayer("all-channels", **so(4)))),
    ],
    "instancenorm": [
        ("image", lambda: dl(img(), conv(3, 4), ml.instanceNormalizationLayer(Epsilon=1e-3, **so(4)))),
    ],
    "relu": [("relu", lambda: dl(img(), ml.reluLayer()))],
    "leakyrelu": [("scale", lambda: dl(img(), ml.leakyReluLayer(0.2)))],
    "clippedrelu": [("ceiling", lambda: dl(img(), ml.clippedReluLayer(0.4)))],
    "elu": [("alpha", lambda: dl(img(), ml.eluLayer(0.7)))],
    "tanh": [("tanh", lambda: dl(img(), ml.tanhLayer()))],
    "sigmoid": [("sigmoid", lambda: dl(img(), ml.sigmoidLayer()))],
    "swish": [("swish", lambda: dl(img(), ml.swishLayer()))],
    "gelu": [("erf", lambda: dl(img(), ml.geluLayer())),
             ("tanh", lambda: dl(img(), ml.geluLayer("Approximation", "tanh")))],
    "softmax": [("image", lambda: dl(img(), conv(), ml.softmaxLayer())),
                ("feature", lambda: dl(feat(), ml.softmaxLayer()))],
    "maxpool": [("stride2", lambda: dl(img(), ml.maxPooling2dLayer(2, "Stride", 2))),
                ("padded", lambda: dl(img(), ml.maxPooling2dLayer([3, 2], "Stride", [2, 1], "Padding", [1, 2, 0, 1]))),
                ("same", lambda: dl(img(), ml.maxPooling2dLayer(3, "Stride", 2, "Padding", "same")))],
    "avgpool": [("include-pad", lambda: dl(img(), ml.averagePooling2dLayer(3, "Stride", 2, "Padding", 1))),
                ("mean-pad", lambda: dl(img(), ml.averagePooling2dLayer(3, "Stride", 2, "Padding", [1, 2, 0, 1],
                                                                         "PaddingValue", "mean"))),
                ("same", lambda: dl(img(), ml.averagePooling2dLayer(2, "Stride", 2, "Padding", "same")))],
    "globalavgpool": [("gap", lambda: dl(img(), conv(), ml.globalAveragePooling2dLayer()))],
    "globalmaxpool": [("gmp", lambda: dl(img(), conv(), ml.globalMaxPooling2dLayer()))],
    "fc": [
        # MATLAB's column-major flatten of H x W x C before the layer: the weights are permuted
        ("after-image", lambda: dl(img(), conv(), ml.fullyConnectedLayer(6, "BiasInitializer", "narrow-normal"))),
        ("features", lambda: dl(feat(), ml.fullyConnectedLayer(4, "BiasInitializer", "narrow-normal"))),
        ("given-weights", lambda: dl(img(), ml.fullyConnectedLayer(3, "Weights", _fc_weights(3, H * W * C)[0],
                                                                   "Bias", _fc_weights(3, H * W * C)[1]))),
    ],
    "dropout": [("p", lambda: dl(img(), ml.dropoutLayer(0.3), ml.reluLayer()))],
    "flatten": [("then-fc", lambda: dl(img(), conv(), ml.flattenLayer(), ml.fullyConnectedLayer(5))),
                ("last", lambda: dl(img(), conv(3, 2), ml.flattenLayer()))],
    "addition": [("two", lambda: two_branch(ml.additionLayer(2, Name="add")))],
    "concatenation": [
        ("channels", lambda: two_branch(ml.concatenationLayer(3, 2, Name="cat"), f2=2)),
        ("height", lambda: two_branch(ml.concatenationLayer(1, 2, Name="cat"), pad2=[0, 0, 1, 1])),
        ("width", lambda: two_branch(ml.concatenationLayer(2, 2, Name="cat"), pad2=[1, 1, 0, 0])),
        ("depth", lambda: two_branch(ml.depthConcatenationLayer(2, Name="cat"), f2=3)),
    ],
    # the ONNX importer's layers; the hard activations have no MATLAB constructor: the core layers
    "multiplication": [
        ("same-size", lambda: two_branch(ml.multiplicationLayer(2, Name="mul"))),
        ("gate", lambda: _gated(2)),
        ("three", lambda: _gated(3)),
    ],
    "scaling": [
        ("per-channel", lambda: dl(img(), ml.scalingLayer("Scale", _r(C, 1, 1, seed=3), "Bias", _r(1, H, W, seed=4)))),
        ("scalar", lambda: dl(img(), conv(), ml.scalingLayer("Scale", -2.5, "Bias", 0.5))),
        ("full", lambda: dl(img(), ml.scalingLayer("Scale", _r(C, H, W, seed=5), "Bias", _r(C, H, W, seed=6)))),
        ("feature", lambda: dl(feat(), ml.scalingLayer("Scale", _r(5, seed=7), "Bias", _r(5, seed=8)))),
    ],
    # the forms every opset writes (asymmetric; nearest rounding down); the others: test_resize_modes
    "resize": [
        ("nearest-2", lambda: dl(img(), ml.resize2dLayer("Scale", 2, "GeometricTransformMode", "asymmetric",
                                                         "NearestRoundingMode", "floor"))),
        ("bilinear", lambda: dl(img(), conv(), ml.resize2dLayer("Scale", [2, 1.5], "Method", "bilinear",
                                                                "GeometricTransformMode", "asymmetric"))),
        ("output-size", lambda: dl(img(), ml.resize2dLayer("OutputSize", [2 * H, 3 * W], "Method", "bilinear",
                                                           "GeometricTransformMode", "asymmetric"))),
    ],
    "hardsigmoid": [("alpha-beta", lambda: dl(img(), L.HardSigmoidLayer(Alpha=0.3, Beta=0.4))),
                    ("torch", lambda: dl(feat(), L.HardSigmoidLayer(Alpha=1 / 6, Beta=0.5)))],
    "hardswish": [("image", lambda: dl(img(), conv(), L.HardSwishLayer()))],
    "crossentropyex": [("seed-like", lambda: assembled(
        ml.imageInputLayer([H, W, C], "Normalization", "zerocenter", "Mean", _r(1, 1, C, seed=9)),
        ml.convolution2dLayer(3, 4, "Weights", _r(3, 3, C, 4, seed=10), "Bias", _r(1, 1, 4, seed=11)),
        bn(4), ml.reluLayer(),
        ml.fullyConnectedLayer(3, "Weights", _r(3, (H - 2) * (W - 2) * 4, seed=12), "Bias", _r(3, 1, seed=13)),
        ml.softmaxLayer(), ml.classificationLayer("Classes", ["a", "b", "c"])))],
    "mse": [("regression", lambda: assembled(
        ml.featureInputLayer(5, "Normalization", "none"),
        ml.fullyConnectedLayer(2, "Weights", _r(2, 5, seed=14), "Bias", _r(2, 1, seed=15)), ml.regressionLayer()))],
}


def _gated(n):
    """A squeeze-and-excitation gate: in -> conv(3, C, same) -> mul/in1, in -> GAP (1 x 1 x C) -> mul/in2
    (broadcast over H x W), and for three inputs in -> conv(1 x W) (H x 1 x C) -> mul/in3."""
    lg = ml.layerGraph(ml.LayerArray([img(), conv(3, C, Padding="same", Name="c1"),
                                      ml.multiplicationLayer(n, Name="mul")]))
    lg = ml.connectLayers(ml.addLayers(lg, ml.globalAveragePooling2dLayer(Name="gap")), "in", "gap")
    lg = ml.connectLayers(lg, "gap", "mul/in2")
    if n == 3:
        lg = ml.addLayers(lg, ml.convolution2dLayer([1, W], C, "BiasInitializer", "narrow-normal", Name="c3"))
        lg = ml.connectLayers(ml.connectLayers(lg, "in", "c3"), "c3", "mul/in3")
    return ml.dlnetwork(lg)


def _matlab_params():
    out = []
    for fam, cases in MATLAB_CASES.items():
        for cid, build in cases:
            out.append(pytest.param(build, id=f"{fam}-{cid}"))
    return out


def _internal_input(net):
    """Random data for the network's one input, internal layout (N x C x H x W or N x C)."""
    size = net.analysis.info(net.InputNames[0]).ActivationSizes["out"]
    return _r(N, *size.internal, seed=42, lo=-2.0, hi=2.0)


def _to_matlab_layout(x):
    return cv.internal_images_to_matlab(x) if x.ndim == 4 else x


def _onnx_to_matlab(y):
    if y.ndim == 4 and y.shape[2:] == (1, 1):
        return y.reshape(y.shape[:2])
    return cv.internal_images_to_matlab(y) if y.ndim == 4 else y


def _check_and_run(path, feeds):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return model, sess.run(None, feeds)


def _close(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(ours).max()), 1e-6)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("build", _matlab_params())
def test_matlab_export_runs_as_predict(build, opset, tmp_path):
    net = build()
    x = _internal_input(net)
    path = str(tmp_path / "net.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", opset)
    model, outs = _check_and_run(path, {net.InputNames[0]: x})
    assert model.opset_import[0].version == opset
    ours = net.predict(_to_matlab_layout(x))
    ours = ours if isinstance(ours, tuple) else (ours,)
    assert len(outs) == len(ours)
    for a, b in zip(ours, outs):
        _close(a, _onnx_to_matlab(b))


@pytest.mark.parametrize("build", _matlab_params())
def test_matlab_net_opened_in_wolfram_exports_too(build, tmp_path):
    net = build()
    wnet = wl.NetGraph(net)
    x = _internal_input(net)
    path = str(tmp_path / "net.onnx")
    assert wl.Export(path, wnet) == path
    model, outs = _check_and_run(path, {onnx.load(path).graph.input[0].name: x})
    assert len(outs) == 1
    if wnet.to_core_net().classes:   # a Class decoder: the net gives labels, the model the probabilities
        _close(net.predict(_to_matlab_layout(x)), outs[0])
    else:
        _close(np.asarray(wnet(x)), outs[0])


# -- Wolfram nets --------------------------------------------------------------------------------------
def winit(net):
    return wl.NetInitialize(net, RandomSeeding=3) if _takes_seed() else wl.NetInitialize(net)


def _takes_seed():
    import inspect
    return "RandomSeeding" in inspect.signature(wl.NetInitialize).parameters


def wbn(c, seed=2):
    return wl.BatchNormalizationLayer(Epsilon=1e-3, Scaling=_pos(c, seed=seed), Biases=_r(c, seed=seed + 1),
                                      MovingMean=_r(c, seed=seed + 2), MovingVariance=_pos(c, seed=seed + 3))


def chain(*layers, dims=(C, H, W)):
    return winit(wl.NetChain(list(layers), Input=dims))


WOLFRAM_CASES = {
    "conv": [("conv", lambda: chain(wl.ConvolutionLayer(4, 3, PaddingSize=1, Stride=(2, 1)))),
             ("groups", lambda: chain(wl.ConvolutionLayer(4, 3, ChannelGroups=2), dims=(4, H, W))),
             ("dilation", lambda: chain(wl.ConvolutionLayer(2, (2, 3), Dilation=(1, 2))))],
    "transposed_conv": [("deconv", lambda: chain(wl.DeconvolutionLayer(3, 3, Stride=2)))],
    "batchnorm": [("bn", lambda: chain(wl.ConvolutionLayer(4, 3), wbn(4)))],
    "layernorm": [("span", lambda: chain(wl.ConvolutionLayer(4, 3), wl.NormalizationLayer(wl.Span(1, wl.All), 1)))],
    "instancenorm": [("default", lambda: chain(wl.ConvolutionLayer(4, 3), wl.NormalizationLayer()))],
    "groupnorm": [("rms", lambda: chain(wl.ConvolutionLayer(4, 3), wl.NormalizationLayer(
                      wl.Span(1, wl.All), 1, GroupNumber=(2, None, None), Method="RMS"))),
                  ("unbiased", lambda: chain(wl.ConvolutionLayer(4, 3), wl.NormalizationLayer(
                      wl.Span(1, wl.All), 1, GroupNumber=(2, None, None), Unbiased=True)))],
    "relu": [("ramp", lambda: chain(wl.ElementwiseLayer(wl.Ramp)))],
    "elu": [("elu", lambda: chain(wl.ElementwiseLayer("ELU")))],
    "swish": [("swish", lambda: chain(wl.ElementwiseLayer("Swish")))],
    "gelu": [("gelu", lambda: chain(wl.ElementwiseLayer("GELU")))],
    "softmax": [("vector", lambda: chain(wl.LinearLayer(4), wl.SoftmaxLayer())),
                ("image-channels", lambda: chain(wl.ConvolutionLayer(4, 3), wl.SoftmaxLayer(1)))],
    "maxpool": [("max", lambda: chain(wl.PoolingLayer((2, 3), Stride=(2, 1), PaddingSize=1)))],
    "avgpool": [("mean", lambda: chain(wl.PoolingLayer(3, Stride=2, PaddingSize=1, Function=wl.Mean)))],
    "sumpool": [("total", lambda: chain(wl.PoolingLayer(2, Stride=1, Function=wl.Total)))],
    "fc": [("linear-on-image", lambda: chain(wl.ConvolutionLayer(2, 3), wl.LinearLayer(5))),
           ("linear-on-vector", lambda: chain(wl.LinearLayer(4), dims=(6,)))],
    "dropout": [("dropout", lambda: chain(wl.DropoutLayer(0.4), wl.ElementwiseLayer(wl.Tanh)))],
    "reshape": [("flatten", lambda: chain(wl.FlattenLayer(), wl.LinearLayer(3))),
                ("reshape", lambda: chain(wl.ReshapeLayer((W, H, C))))],
    "transpose": [("interleaving", lambda: chain(wl.ConvolutionLayer(2, 3, Interleaving=True), dims=(H, W, C)))],
    "elementwise": [(str(f), (lambda f=f: chain(wl.ElementwiseLayer(f))))
                    for f in ("SELU", "HardSwish", "Mish", "SoftSign", "SoftPlus", "HardTanh", "HardSigmoid",
                              wl.Exp, wl.Sin, wl.Cos, wl.ArcTan, wl.Erf, wl.Abs)]
                   + [("log-sqrt", lambda: chain(wl.ElementwiseLayer(wl.Exp), wl.ElementwiseLayer(wl.Log),
                                                 wl.ElementwiseLayer(wl.Exp), wl.ElementwiseLayer(wl.Sqrt)))],
    "threading": [(str(f), (lambda f=f: _threaded(f)))
                  for f in (wl.Plus, wl.Subtract, wl.Times, wl.Divide, wl.Max, wl.Min, wl.Power)],
    # the ONNX importer's layers have no Wolfram name: the core layers in a net
    "multiplication": [("times", lambda: _graph_of(L.MultiplicationLayer()))],
    "scaling": [("scaling", lambda: chain(L.ScalingLayer(Scale=_r(C, 1, 1, seed=3), Bias=_r(W, seed=4))))],
    "resize": [("bilinear", lambda: chain(L.Resize2DLayer(Scale=(2, 3), Method="bilinear",
                                                          GeometricTransformMode="asymmetric")))],
    "hardsigmoid": [("hardsigmoid", lambda: chain(L.HardSigmoidLayer(Alpha=0.25, Beta=0.45)))],
    "hardswish": [("hardswish", lambda: chain(wl.ConvolutionLayer(4, 3), L.HardSwishLayer()))],
    "addition": [("total", lambda: _graph_of(wl.TotalLayer()))],
    "concatenation": [("catenate", lambda: _graph_of(wl.CatenateLayer()))],
}


def _graph_of(combine):
    return winit(wl.NetGraph({"a": wl.ConvolutionLayer(4, 3, PaddingSize=1), "b": wl.ElementwiseLayer(wl.Tanh),
                              "c": combine},
                             [(wl.NetPort("Input"), ("a", "b")), (("a", "b"), "c")], Input=(4, H, W)))


def _threaded(name):
    return winit(wl.NetGraph({"a": wl.ElementwiseLayer(wl.Exp), "b": wl.ElementwiseLayer(wl.LogisticSigmoid),
                              "t": wl.ThreadingLayer(name)},
                             [(wl.NetPort("Input"), ("a", "b")), (("a", "b"), "t")], Input=(C, H, W)))


def _wolfram_params():
    return [pytest.param(build, id=f"{fam}-{cid}") for fam, cases in WOLFRAM_CASES.items() for cid, build in cases]


def _wolfram_input(net):
    dims = net.to_core_net()
    core = dims.graph
    port, layer = next(iter(dims.inputs.items()))
    from layergraph.core.infer import analyze
    size = analyze(core).info(layer).ActivationSizes["out"]
    return port, _r(N, *size.internal, seed=43, lo=-2.0, hi=2.0)


@pytest.mark.parametrize("opset", WOLFRAM_OPSETS)
@pytest.mark.parametrize("build", _wolfram_params())
def test_wolfram_export_runs_as_the_net(build, opset, tmp_path):
    net = build()
    port, x = _wolfram_input(net)
    path = str(tmp_path / "net.onnx")
    wl.Export(path, net, "ONNX", OperatorSetVersion=opset)
    model, outs = _check_and_run(path, {port: x})
    assert [o.name for o in model.graph.output] == ["Output"]
    _close(np.asarray(net(x)), outs[0])


@pytest.mark.parametrize("build", _wolfram_params())
def test_wolfram_net_at_the_newest_opset(build):
    """Through the core function at onnx's newest operator set (past Wolfram's documented 18)."""
    net = build()
    port, x = _wolfram_input(net)
    from layergraph.wolfram.export import onnx_model
    model = onnx_model(net, ox.max_opset())
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    _close(np.asarray(net(x)), sess.run(None, {port: x})[0])


# -- coverage of the registry -------------------------------------------------------------------------------
NOT_EXPORTABLE = set(ox.NOT_EXPORTABLE)   # families with no ONNX form: the placeholder, custom layers
# the recurrent and sequence families: their cases (sequence data) are in test_onnx_recurrent_export.py,
# which checks that each has an exporter and a case; the basic recurrent layer's and the embedding's (integer
# inputs) are in test_onnx_rnn_seqlens.py and test_onnx_embedding.py
SEQUENCE_FAMILIES = {"lstm", "gru", "sequence_last", "sequence_most", "sequence_rest", "sequence_reverse", "rnn",
                     "embedding"}


@pytest.mark.parametrize("family", ox.families())
def test_every_registry_family_is_exported_and_tested(family):
    if family in NOT_EXPORTABLE:
        assert family not in ox.EXPORTERS and ox.NOT_EXPORTABLE[family]
        return
    assert family in ox.EXPORTERS, f"registry family {family!r} has no ONNX exporter"
    assert family in MATLAB_CASES or family in WOLFRAM_CASES or family in SEQUENCE_FAMILIES, \
        f"registry family {family!r} has no export test"


def test_a_placeholder_is_refused_with_its_reason(tmp_path):
    """importONNXLayers' / Import's placeholder for a node no layer computes is listed with the
    reason, in each dialect's words, and nothing is written."""
    ph = L.PlaceholderLayer(Name="ph", ONNXOperator="Erf2", ONNXNode="n7", Reason="no layer",
                            OutputShapes=((C, H, W),))
    path = tmp_path / "ph.onnx"
    with pytest.raises(LayerGraphError) as e:
        ml.exportONNXNetwork(dl(img(), ph, ml.reluLayer(Name="r")), str(path))
    text = str(e.value)
    assert "'ph' (Placeholder)" in text and "replaceLayer" in text and "'Erf2'" in text and "'n7'" in text
    assert "'r'" not in text
    with pytest.raises(LayerGraphError) as e:
        wl.Export(str(path), wl.NetChain([ph, wl.ElementwiseLayer(wl.Ramp)], Input=(C, H, W)))
    assert e.value.identifier == "Export::onnxlayers" and "1 (Placeholder" in str(e.value)
    assert os.listdir(tmp_path) == []


# -- details -------------------------------------------------------------------------------------------------
def test_batch_size_fixes_the_batch_dimension_and_the_name(tmp_path):
    net = MATLAB_CASES["conv"][0][1]()
    path = str(tmp_path / "b.onnx")
    ml.exportONNXNetwork(net, path, "BatchSize", 3, "NetworkName", "tiny")
    m = onnx.load(path)
    assert m.graph.name == "tiny"
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_value == 3 and [d.dim_value for d in dims[1:]] == [C, H, W]
    path2 = str(tmp_path / "n.onnx")
    ml.exportONNXNetwork(net, path2, "BatchSize", [])
    dim0 = onnx.load(path2).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "N"
    assert onnx.load(path2).opset_import[0].version == 9     # MATLAB's default here


def test_column_major_flatten_before_fc_is_a_permutation_of_the_weights(tmp_path):
    """The MATLAB weights of an FC layer after a 6x7x3 input read the column-major flatten;
    the ONNX Gemm after Flatten (row-major) holds them permuted, not as given."""
    w, b = _fc_weights(3, H * W * C)
    net = dl(img(), ml.fullyConnectedLayer(3, "Weights", w, "Bias", b))
    path = str(tmp_path / "fc.onnx")
    ml.exportONNXNetwork(net, path)
    m = onnx.load(path)
    ops = [n.op_type for n in m.graph.node]
    assert ops[:3] == ["Identity", "Flatten", "Gemm"]
    gemm_w = next(onnx.numpy_helper.to_array(t) for t in m.graph.initializer if t.name.endswith("_W"))
    assert not np.array_equal(gemm_w, w)
    np.testing.assert_array_equal(gemm_w, w[:, cv.matlab_flatten_order(C, H, W)])


def test_softmax_over_channels_at_opset_9_uses_transposes(tmp_path):
    net = MATLAB_CASES["softmax"][0][1]()
    path = str(tmp_path / "s.onnx")
    ml.exportONNXNetwork(net, path, OpsetVersion=9)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("Transpose") == 2 and "Softmax" in ops
    ml.exportONNXNetwork(net, path, OpsetVersion=13)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert "Transpose" not in ops


def test_opset_dependent_forms(tmp_path):
    clip = dl(img(), ml.clippedReluLayer(0.4))
    for opset, n_inputs in ((9, 1), (11, 3)):
        m = ox.to_onnx(_core(clip), opset)
        node = next(n for n in m.graph.node if n.op_type == "Clip")
        assert len(node.input) == n_inputs
    gelu = dl(img(), ml.geluLayer())
    assert "Gelu" in [n.op_type for n in ox.to_onnx(_core(gelu), 20).graph.node]
    assert "Erf" in [n.op_type for n in ox.to_onnx(_core(gelu), 19).graph.node]
    ln = MATLAB_CASES["layernorm"][0][1]()
    assert "LayerNormalization" in [n.op_type for n in ox.to_onnx(_core(ln), 17).graph.node]
    assert "LayerNormalization" not in [n.op_type for n in ox.to_onnx(_core(ln), 16).graph.node]
    drop = MATLAB_CASES["dropout"][0][1]()
    d11 = next(n for n in ox.to_onnx(_core(drop), 11).graph.node if n.op_type == "Dropout")
    d12 = next(n for n in ox.to_onnx(_core(drop), 12).graph.node if n.op_type == "Dropout")
    assert len(d11.input) == 1 and d11.attribute[0].name == "ratio" and len(d12.input) == 2


def _core(net):
    from layergraph.matlab.onnx_export import _core_net
    return _core_net(net)


def test_seed_cnn_trained_briefly_then_exported(tmp_path):
    """examples/train_digits.py's CNN (MATLAB's batchNormalizationLayer page), 200 digits, two epochs."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    X = (digits.images[:200] / 16.0).astype(np.float32).transpose(1, 2, 0)[:, :, np.newaxis, :]
    Y = ml.categorical(digits.target[:200])
    layers = ml.LayerArray([
        ml.imageInputLayer([8, 8, 1]),
        ml.convolution2dLayer(3, 16, "Padding", 1), ml.batchNormalizationLayer(), ml.reluLayer(),
        ml.maxPooling2dLayer(2, "Stride", 2),
        ml.convolution2dLayer(3, 32, "Padding", 1), ml.batchNormalizationLayer(), ml.reluLayer(),
        ml.fullyConnectedLayer(10), ml.softmaxLayer(), ml.classificationLayer()])
    opts = ml.trainingOptions("sgdm", "MaxEpochs", 2, "MiniBatchSize", 50, "Verbose", False, "InitialLearnRate", 0.05)
    net, _ = ml.trainNetwork(X, Y, layers, opts)
    bn_layer = net.Layers[2]
    assert np.abs(bn_layer.TrainedMean).max() > 0            # trained statistics, not the initial zeros
    path = str(tmp_path / "seed.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", 13)
    x = cv.matlab_images_to_internal(X[..., :20])
    model, outs = _check_and_run(path, {"imageinput": x})
    assert [o.name for o in model.graph.output] == ["classoutput"]
    _close(net.predict(X[..., :20]), outs[0])
    labels, _ = net.classify(X[..., :20])
    classes = [str(c) for c in net.Layers[-1].Classes]
    assert [str(c) for c in labels] == [classes[i] for i in outs[0].argmax(1)]


# -- bad input -----------------------------------------------------------------------------------------------
def test_unsupported_layers_are_all_listed_and_nothing_is_written(tmp_path):
    net = dl(ml.imageInputLayer([H, W, C], "Normalization", lambda x: x * 2, Name="custom"),
             ml.maxPooling2dLayer(2, "HasUnpoolingOutputs", True, Name="unpool"),
             ml.reluLayer(Name="ok"),
             ml.maxPooling2dLayer(2, "HasUnpoolingOutputs", True, Name="unpool2"))
    path = tmp_path / "bad.onnx"
    with pytest.raises(LayerGraphError) as e:
        ml.exportONNXNetwork(net, str(path))
    text = str(e.value)
    for name, typ in (("custom", "Image Input"), ("unpool", "Max Pooling"), ("unpool2", "Max Pooling")):
        assert f"'{name}' ({typ})" in text
    assert "'ok'" not in text
    assert e.value.identifier == "nnet_cnn_onnx:onnx:UnsupportedLayers"
    assert os.listdir(tmp_path) == []


def test_wolfram_unsupported_layers_listed():
    net = chain(wl.ElementwiseLayer(lambda x: x * 3), wl.ElementwiseLayer(wl.Tanh),
                wl.ElementwiseLayer(lambda x: x + 1))
    with pytest.raises(LayerGraphError) as e:
        wl.Export("/tmp/never-written.onnx", net)
    assert e.value.identifier == "Export::onnxlayers"
    assert "1 (Elementwise" in str(e.value) and "3 (Elementwise" in str(e.value) and "2 (" not in str(e.value)
    assert not os.path.exists("/tmp/never-written.onnx")


@pytest.mark.parametrize("bad", [8, 5, 10 ** 3, 9.5, "13", True])
def test_bad_opset_version(bad, tmp_path):
    net = MATLAB_CASES["relu"][0][1]()
    with pytest.raises(LayerGraphError) as e:
        ml.exportONNXNetwork(net, str(tmp_path / "x.onnx"), "OpsetVersion", bad)
    assert "OpsetVersion" in str(e.value) and f"from 9 to {ox.max_opset()}" in str(e.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [8, 19, 12.0, "x"])
def test_wolfram_bad_operator_set_version(bad, tmp_path):
    net = chain(wl.ElementwiseLayer(wl.Ramp))
    with pytest.raises(LayerGraphError) as e:
        wl.Export(str(tmp_path / "x.onnx"), net, OperatorSetVersion=bad)
    assert "OperatorSetVersion" in str(e.value) and "between 9 and 18" in str(e.value)
    assert e.value.identifier == "Export::opset"


def test_file_not_writable_leaves_nothing(tmp_path):
    net = MATLAB_CASES["relu"][0][1]()
    with pytest.raises(LayerGraphError) as e:
        ml.exportONNXNetwork(net, str(tmp_path / "no-such-folder" / "x.onnx"))
    assert "Unable to write the file" in str(e.value)
    with pytest.raises(LayerGraphError) as e:
        wl.Export(str(tmp_path / "no-such-folder" / "x.onnx"), chain(wl.ElementwiseLayer(wl.Ramp)))
    assert e.value.identifier == "Export::noopen"


def test_failed_write_keeps_the_existing_file(tmp_path, monkeypatch):
    net = MATLAB_CASES["relu"][0][1]()
    path = tmp_path / "keep.onnx"
    path.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(LayerGraphError):
        ml.exportONNXNetwork(net, str(path))
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["keep.onnx"]


def test_matlab_takes_only_networks(tmp_path):
    layers = ml.LayerArray([img(), ml.reluLayer()])
    for obj in (layers, ml.layerGraph(layers)):
        with pytest.raises(LayerGraphError) as e:
            ml.exportONNXNetwork(obj, str(tmp_path / "x.onnx"))
        assert "SeriesNetwork, DAGNetwork or dlnetwork" in str(e.value)
    uninit = ml.dlnetwork(layers, Initialize=False)
    with pytest.raises(LayerGraphError, match="uninitialized"):
        ml.exportONNXNetwork(uninit, str(tmp_path / "x.onnx"))
    with pytest.raises(LayerGraphError, match="not a recognized parameter"):
        ml.exportONNXNetwork(dl(img(), ml.reluLayer()), str(tmp_path / "x.onnx"), "Opset", 9, "Bogus", 1)
    assert os.listdir(tmp_path) == []


def test_wolfram_format_and_options(tmp_path):
    net = chain(wl.ElementwiseLayer(wl.Ramp))
    with pytest.raises(LayerGraphError) as e:
        wl.Export(str(tmp_path / "x.png"), net)
    assert e.value.identifier == "Export::fmtnosup"
    with pytest.raises(LayerGraphError, match="ExternalArrays"):
        wl.Export(str(tmp_path / "x.onnx"), net, ExternalArrays=wl.All)
    path = str(tmp_path / "named.onnx")
    wl.Export(path, net, GraphName="g", Description="a ramp", ModelVersion=4)
    m = onnx.load(path)
    assert (m.graph.name, m.graph.doc_string, m.model_version) == ("g", "a ramp", 4)
    assert m.opset_import[0].version == ox.DEFAULT_OPSET
    lone = wl.ElementwiseLayer(wl.Tanh, Input=(3, 4))
    wl.Export(str(tmp_path / "lone.onnx"), lone)
    onnx.checker.check_model(onnx.load(str(tmp_path / "lone.onnx")), full_check=True)


def _families_in(core) -> set[str]:
    from layergraph.core.infer import analyze
    return {layer.family for layer in analyze(core.graph).layers.values()}


def test_the_cases_reach_every_registry_family():
    """The cases above, built, hold a layer of every registry family (a family named by a
    case but never built into its net would pass the roundtrips without being exported)."""
    from layergraph.matlab.onnx_export import _core_net
    seen: set[str] = set()
    for cases in MATLAB_CASES.values():
        for _, build in cases:
            seen |= _families_in(_core_net(build()))
    for cases in WOLFRAM_CASES.values():
        for _, build in cases:
            seen |= _families_in(build().to_core_net())
    assert set(ox.families()) - NOT_EXPORTABLE - SEQUENCE_FAMILIES <= seen, sorted(set(ox.families()) - seen)
    for fam, cases in WOLFRAM_CASES.items():
        for _, build in cases:
            assert fam in _families_in(build().to_core_net()), f"Wolfram case {fam!r} builds no {fam} layer"
    for fam, cases in MATLAB_CASES.items():
        for _, build in cases:
            assert fam in _families_in(_core_net(build())), f"MATLAB case {fam!r} builds no {fam} layer"


# -- rows registered at run time ---------------------------------------------------------------------------
def _softsign_row(with_scale: bool):
    from typing import Annotated, Any, ClassVar

    from layergraph.core import registry
    from layergraph.core.layer import Scalar
    from layergraph.layers.activation import ActivationLayer

    class SoftsignTestLayer(ActivationLayer):
        class_name: ClassVar[str] = "SoftsignTestLayer"
        Type: ClassVar[str] = "Softsign test"
        DefaultName: ClassVar[str] = "softsign"
        family: ClassVar[str] = "softsigntest" + ("scaled" if with_scale else "")
        hyperparameters: ClassVar = ("Scale",) if with_scale else ()
        if with_scale:
            Scale: Annotated[Any, Scalar(0, lo_open=True)] = 1.0

        def description(self):
            return "softsign"

    def f(x, F):
        return x / (F(1) + abs(x))

    def df(dy, x, F):
        d = F(1) + abs(x)
        return dy / (d * d)

    def fs(x, F, scale=1.0):
        return x / (scale + abs(x))

    def dfs(dy, x, F, scale=1.0):
        d = scale + abs(x)
        return dy * scale / (d * d)

    return registry.Entry(SoftsignTestLayer, "softsignTestLayer" + ("Scaled" if with_scale else ""), None,
                          "Softsign", elementwise=(fs, dfs) if with_scale else (f, df))


@pytest.mark.parametrize("with_scale", [False, True])
def test_a_row_registered_later(with_scale, tmp_path):
    """An activation row registered at run time is written from its ``onnx`` name when it has no
    hyperparameters (they would have no ONNX attribute to go to); else it is listed as not exportable."""
    from layergraph.core import registry
    row = registry.register(_softsign_row(with_scale))
    try:
        layer = row.layer(Name="ss")
        net = dl(feat(), layer)
        path = str(tmp_path / "ss.onnx")
        if with_scale:
            with pytest.raises(LayerGraphError, match=r"'ss' \(Softsign test\): no ONNX form"):
                ml.exportONNXNetwork(net, path)
            assert not os.path.exists(path)
        else:
            ml.exportONNXNetwork(net, path)
            x = _r(N, 5, seed=1)
            _, outs = _check_and_run(path, {"in": x})
            _close(net.predict(x), outs[0])
    finally:
        registry.unregister(row)


def test_float64_model(tmp_path):
    """Arrays written as ONNX DOUBLE compare with a float64 prediction to rounding."""
    net = dl(feat(), ml.fullyConnectedLayer(4, "BiasInitializer", "narrow-normal"), ml.tanhLayer(),
             ml.fullyConnectedLayer(3), ml.softmaxLayer())
    from layergraph.matlab.onnx_export import _core_net
    model = ox.to_onnx(_core_net(net), 13, dtype=np.float64)
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = _rng(5).normal(size=(N, 5))
    np.testing.assert_allclose(sess.run(None, {"in": x})[0], net.predict(x, dtype=np.float64),
                               rtol=1e-12, atol=1e-14)


def test_dlnetwork_with_two_outputs(tmp_path):
    lg = ml.layerGraph(ml.LayerArray([img(), conv(3, 2, Name="c"), ml.reluLayer(Name="r")]))
    lg = ml.connectLayers(ml.addLayers(lg, ml.tanhLayer(Name="t")), "c", "t")
    net = ml.dlnetwork(lg)
    path = str(tmp_path / "two.onnx")
    ml.exportONNXNetwork(net, path)
    x = _internal_input(net)
    model, outs = _check_and_run(path, {"in": x})
    assert [o.name for o in model.graph.output] == net.OutputNames
    for a, b in zip(net.predict(_to_matlab_layout(x)), outs):
        _close(a, _onnx_to_matlab(b))


def test_wolfram_coders_are_not_written(tmp_path):
    """A Class decoder's output is its probabilities; an Image encoder's input the array it makes."""
    labels = ["a", "b", "c"]
    net = wl.NetInitialize(wl.NetChain([wl.ConvolutionLayer(2, 3), wl.LinearLayer(3), wl.SoftmaxLayer()],
                                       Input=wl.NetEncoder(("Image", (6, 5), "Grayscale")),
                                       Output=wl.NetDecoder(("Class", labels))))
    path = str(tmp_path / "coders.onnx")
    wl.Export(path, net)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 1, 5, 6]                     # {w, h} -> C x h x w
    plain = wl.NetInitialize(wl.NetChain([wl.LinearLayer(3), wl.SoftmaxLayer()], Input=4,
                                         Output=wl.NetDecoder(("Class", labels))))
    wl.Export(path, plain)
    x = _r(N, 4, seed=8)
    _, outs = _check_and_run(path, {"Input": x})
    _close(np.stack([plain(row, None) for row in x]), outs[0])


def test_bad_batch_size_and_name(tmp_path):
    net = MATLAB_CASES["relu"][0][1]()
    for args in (("BatchSize", 0), ("BatchSize", 2.5), ("NetworkName", ""), ("NetworkName", 3)):
        with pytest.raises(LayerGraphError, match=f"Invalid value for '{args[0]}'"):
            ml.exportONNXNetwork(net, str(tmp_path / "x.onnx"), *args)
    assert os.listdir(tmp_path) == []


def test_wolfram_net_not_sized_is_refused_in_wolframs_words(tmp_path):
    with pytest.raises(LayerGraphError):
        wl.Export(str(tmp_path / "x.onnx"), wl.NetChain([wl.LinearLayer(3)]))
    assert os.listdir(tmp_path) == []


def test_the_registry_onnx_column_names_an_operator_the_export_writes():
    """Each registry row's ``onnx`` operator is written for some case holding that row's layer
    at onnx's newest operator set (where every native form is available), so the column stays true."""
    from layergraph.core.infer import analyze
    from layergraph.core.registry import REGISTRY
    from layergraph.matlab.onnx_export import _core_net
    written: dict[type, set[str]] = {}
    nets = [_core_net(b()) for cases in MATLAB_CASES.values() for _, b in cases]
    nets += [b().to_core_net() for cases in WOLFRAM_CASES.values() for _, b in cases]
    for core in nets:
        ops = {n.op_type for n in ox.to_onnx(core, ox.max_opset()).graph.node}
        for layer in analyze(core.graph).layers.values():
            written.setdefault(type(layer), set()).update(ops)
    for row in REGISTRY:
        if row.onnx and row.family not in NOT_EXPORTABLE | SEQUENCE_FAMILIES:   # LSTM, GRU: tested on sequences
            assert row.onnx in written.get(row.layer, set()), (row.layer.__name__, row.onnx)


def test_wolfram_graph_with_two_outputs_and_a_nested_chain(tmp_path):
    inner = wl.NetChain([wl.ConvolutionLayer(2, 3, PaddingSize=1), wl.ElementwiseLayer(wl.Ramp)])
    net = winit(wl.NetGraph({"block": inner, "t": wl.ElementwiseLayer(wl.Tanh)},
                            [(wl.NetPort("Input"), ("block", "t")), ("block", wl.NetPort("Features")),
                             ("t", wl.NetPort("Squashed"))], Input=(C, H, W)))
    path = str(tmp_path / "two.onnx")
    wl.Export(path, net)
    x = _r(N, C, H, W, seed=21)
    model, outs = _check_and_run(path, {"Input": x})
    names = [o.name for o in model.graph.output]
    assert sorted(names) == ["Features", "Squashed"]
    ours = net(x)
    for name, y in zip(names, outs):
        _close(np.asarray(ours[name]), y)
    assert any(n.name.startswith("block/") for n in model.graph.node)   # the nested layers keep their paths


RESIZE_MODES = [
    ("Scale", 2),                                                        # half-pixel, 'round' (MATLAB's defaults)
    ("Scale", [1.5, 0.5], "NearestRoundingMode", "round-prefer-floor"),
    ("OutputSize", [9, 4], "NearestRoundingMode", "ceil"),
    ("OutputSize", [3, 7], "Method", "bilinear"),
    ("Scale", [1.5, 0.4], "Method", "bilinear", "GeometricTransformMode", "align-corners"),   # 4 x 5 -> 6 x 2
    ("OutputSize", [1, 10], "Method", "bilinear", "GeometricTransformMode", "pytorch-half-pixel"),
    ("OutputSize", [2, 2], "NearestRoundingMode", "floor", "GeometricTransformMode", "align-corners"),
]


@pytest.mark.parametrize("opset", [11, 13, 17, 18, ox.max_opset()])
@pytest.mark.parametrize("args", RESIZE_MODES, ids=lambda a: "-".join(str(v) for v in a))
def test_resize_modes(args, opset, tmp_path):
    """resize2dLayer's coordinate and rounding modes: ONNX Resize from opset 11 (scales, or sizes
    from Shape before 18 and by axes from 18); refused at 9 and 10, which have none of them."""
    net = dl(img(), conv(3, 2), ml.resize2dLayer(*args))
    x = _internal_input(net)
    path = str(tmp_path / "r.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", opset)
    model, outs = _check_and_run(path, {"in": x})
    resize = next(n for n in model.graph.node if n.op_type == "Resize")
    assert any(a.name == "axes" for a in resize.attribute) == (opset >= 18)
    _close(net.predict(_to_matlab_layout(x)), _onnx_to_matlab(outs[0]))
    if args[:2] == ("Scale", 2):
        for old in (9, 10):
            with pytest.raises(LayerGraphError, match=r"'resize' \(Resize\): GeometricTransformMode 'half-pixel'"):
                ml.exportONNXNetwork(net, str(tmp_path / "old.onnx"), "OpsetVersion", old)


def test_resize_before_opset_11_is_upsample_or_resize_10(tmp_path):
    net = MATLAB_CASES["resize"][0][1]()
    assert [n.op_type for n in ox.to_onnx(_core(net), 9).graph.node].count("Upsample") == 1
    assert [n.op_type for n in ox.to_onnx(_core(net), 10).graph.node].count("Resize") == 1
    down = dl(img(), ml.resize2dLayer("Scale", 0.5, "GeometricTransformMode", "asymmetric",
                                      "NearestRoundingMode", "floor"))
    with pytest.raises(ox.UnsupportedLayers, match="only enlarges"):
        ox.to_onnx(_core(down), 10)
    odd = dl(img(), ml.resize2dLayer("OutputSize", [H + 1, W], "GeometricTransformMode", "asymmetric",
                                     "Method", "bilinear"))
    with pytest.raises(ox.UnsupportedLayers, match="no integer multiple"):
        ox.to_onnx(_core(odd), 9)
    assert "Resize" in [n.op_type for n in ox.to_onnx(_core(odd), 11).graph.node]
    fractional = dl(img(), ml.resize2dLayer("Scale", 0.5, "GeometricTransformMode", "align-corners"))   # 7 -> 3.5
    with pytest.raises(ox.UnsupportedLayers, match="fractional length.*give OutputSize"):
        ox.to_onnx(_core(fractional), 13)


def test_hard_swish_before_opset_14_is_x_times_hard_sigmoid():
    net = MATLAB_CASES["hardswish"][0][1]()
    ops13 = [n for n in ox.to_onnx(_core(net), 13).graph.node]
    hs = next(n for n in ops13 if n.op_type == "HardSigmoid")
    assert {a.name: round(a.f, 6) for a in hs.attribute} == {"alpha": round(1 / 6, 6), "beta": 0.5}
    assert "HardSwish" not in [n.op_type for n in ops13]
    assert "HardSwish" in [n.op_type for n in ox.to_onnx(_core(net), 14).graph.node]


def test_scaling_is_mul_then_add():
    net = MATLAB_CASES["scaling"][0][1]()
    ops = [n.op_type for n in ox.to_onnx(_core(net), 13).graph.node]
    assert ops[ops.index("Mul") + 1] == "Add"
