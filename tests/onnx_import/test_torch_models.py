"""Models exported by torch.onnx.export (the TorchScript exporter, dynamo=False: no onnxscript
needed) from torch networks built here import and match onnxruntime to 1e-5 relative in
float32: a residual CNN with BN (folded into the convolutions by the exporter, and kept as
BatchNormalization nodes), a depthwise-separable block with squeeze-and-excitation, hard swish,
input normalization and nearest upsampling, and an MLP with LayerNorm; opsets 9 to 17 and
fixed or dynamic batch sizes."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

pytest.importorskip("torch")

from layergraph import layers as L   # noqa: E402
from layergraph.core.network import Network   # noqa: E402
from layergraph.onnx.importer import import_file   # noqa: E402

from . import _torch_nets as T   # noqa: E402

CASES = [("residual_cnn", 9, True, True), ("residual_cnn", 13, False, True), ("residual_cnn", 17, True, False),
         ("depthwise_se", 9, True, True), ("depthwise_se", 13, True, False), ("depthwise_se", 17, False, True),
         ("mlp", 17, True, True), ("mlp", 17, False, True)]


def _run(path, x):
    imported = import_file(path)
    net = Network.build(imported.net.graph, initialize=False)
    (layer,) = imported.net.inputs.values()
    (ref,) = imported.net.outputs.values()
    y = net.run({layer: x}, [ref], batch_size=x.shape[0])[ref]
    return imported, y.reshape(y.shape[0], -1)


IDS = [f"{n}-opset{o}-{'dyn' if d else 'fixed'}-{'folded' if f else 'bn'}" for n, o, d, f in CASES]


@pytest.mark.parametrize("name, opset, dynamic, fold_bn", CASES, ids=IDS)
def test_matches_onnxruntime(tmp_path, name, opset, dynamic, fold_bn):
    path = tmp_path / f"{name}.onnx"
    model = T.export(name, path, opset=opset, dynamic_batch=dynamic, fold_bn=fold_bn)
    n = 5 if dynamic else 2
    x = np.random.default_rng(opset).standard_normal((n, *T.NETS[name][1])).astype(np.float32)
    expected = ort.InferenceSession(str(path)).run(None, {"input": x})[0].reshape(n, -1)
    imported, y = _run(path, x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))
    # and torch agrees with onnxruntime (the export is the model)
    import torch
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(x)).numpy().reshape(n, -1), expected, rtol=1e-4, atol=1e-5)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    kinds = {type(layer) for layer in imported.net.graph.layers()}
    if "BatchNormalization" in ops:
        assert L.BatchNormalizationLayer in kinds
    if name == "depthwise_se":
        assert imported.normalized_inputs == {"input": "zscore"}      # (x - mean) / std folded into the input
        assert {L.GroupedConvolution2DLayer, L.MultiplicationLayer, L.Resize2DLayer} <= kinds
        assert L.HardSwishLayer in kinds     # the op (opset 14+), or x * HardSigmoid(x) folded before it
        assert sum(isinstance(layer, L.HardSigmoidLayer) for layer in imported.net.graph.layers()) == 1   # SE gate
    if name == "residual_cnn":
        assert L.AdditionLayer in kinds and L.ScalingLayer not in kinds


def test_bn_kept_by_the_exporter_is_a_batch_normalization_layer(tmp_path):
    path = tmp_path / "cnn.onnx"
    T.export("residual_cnn", path, opset=13, fold_bn=False)
    imported = import_file(path)
    bns = [layer for layer in imported.net.graph.layers() if isinstance(layer, L.BatchNormalizationLayer)]
    assert len(bns) == 6   # stem, two per block, the projection
    # ONNX's running variance and epsilon (inside the square root) are the layer's
    bn_nodes = [n for n in onnx.load(str(path)).graph.node if n.op_type == "BatchNormalization"]
    eps = [a.f for a in bn_nodes[0].attribute if a.name == "epsilon"][0]
    assert bns[0].Epsilon == pytest.approx(eps)
    assert bns[0].MeanDecay == pytest.approx(0.1)     # torch's momentum 0.1 is ONNX's 0.9
