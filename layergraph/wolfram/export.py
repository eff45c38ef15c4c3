"""Export["net.onnx", net] / Export(file, net, "ONNX", OperatorSetVersion=...): Wolfram's
options and messages over the one exporter (layergraph/onnx/export.py).

A NetChain, a NetGraph or a lone layer (as the chain it evaluates as) is exported from the
core network it compiles to (``to_core_net``): its input ports are the graph's inputs, its
output ports its outputs, under the ports' names. Encoders and decoders are not written (the
model takes and gives arrays, as the net does without them; a Class decoder's output is its
probabilities), except that an image encoder that normalizes is refused, as everywhere a net
leaves Wolfram. Options (Wolfram's ONNX export options): "OperatorSetVersion" (Automatic:
13; Wolfram documents 9 to 18), "GraphName" (Automatic: "Network"), "Description" (None),
"ModelVersion" (0), "ExternalArrays" (Automatic or None: the arrays inside the file; All, a
file per array, is not written here).
"""
from __future__ import annotations

import os

import numpy as np

from ..core.errors import LayerGraphError, brief
from .layers import NetLayer
from .net import NetChain, NetGraph
from .symbols import All, Automatic

WOLFRAM_MAX_OPSET = 18   # "Export supports Versions 9 to 18 of the standard ONNX operator set"
_FORMATS = {"onnx": "ONNX"}


def _format(file, fmt) -> str:
    if fmt is None:
        ext = os.path.splitext(os.fspath(file))[1].lstrip(".").lower()
        if ext not in _FORMATS:
            raise LayerGraphError(f"The format of \"{os.fspath(file)}\" is not a supported Export format here; "
                                  "only \"ONNX\" (.onnx) is.", "Export::fmtnosup")
        return _FORMATS[ext]
    if not isinstance(fmt, str) or fmt.lower() not in _FORMATS:
        raise LayerGraphError(f"{brief(fmt)} is not a supported Export format here; only \"ONNX\" is.",
                              "Export::fmtnosup")
    return _FORMATS[fmt.lower()]


def _opset(value) -> int:
    from ..onnx.export import DEFAULT_OPSET, MIN_OPSET
    if value is Automatic:
        return DEFAULT_OPSET
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and \
            MIN_OPSET <= int(value) <= WOLFRAM_MAX_OPSET:
        return int(value)
    raise LayerGraphError(f"The value of the option \"OperatorSetVersion\" -> {brief(value)} should be Automatic or "
                          f"an integer between {MIN_OPSET} and {WOLFRAM_MAX_OPSET}.", "Export::opset")


def onnx_model(net, opset: int, **options):
    """The ONNX model of a NetChain or NetGraph at ``opset`` (core/onnx/export.py to_onnx's
    options), each output in the net's own dimensions."""
    from ..onnx.export import to_onnx
    core = net.to_core_net()
    shapes = {p: d for p, d in net.compile().out_dims.items() if p in core.outputs and d is not None}
    return to_onnx(core, opset, output_shapes=shapes, **options)


def Export(file, net, fmt=None, *, OperatorSetVersion=Automatic, GraphName=Automatic, Description=None,
           ModelVersion=0, ExternalArrays=Automatic):
    """Export[file, net]: write ``net`` (NetChain, NetGraph or a layer) to ``file`` as ONNX;
    returns the file name, as Export does. A failed export writes nothing."""
    from ..onnx import export as ox
    if not isinstance(file, (str, os.PathLike)) or not os.fspath(file):
        raise LayerGraphError(f"{brief(file)} is not a valid file name.", "Export::chtype")
    _format(file, fmt)
    if isinstance(net, NetLayer):
        net = NetChain([net])
    if not isinstance(net, (NetChain, NetGraph)):
        raise LayerGraphError(f"{brief(net)} cannot be exported to the \"ONNX\" format: expected a NetChain, a "
                              "NetGraph or a net layer.", "Export::type")
    opset = _opset(OperatorSetVersion)
    name = "Network" if GraphName is Automatic else GraphName
    if not isinstance(name, str) or not name:
        raise LayerGraphError(f"The value of the option \"GraphName\" -> {brief(GraphName)} should be Automatic or a "
                              "non-empty string.", "Export::optval")
    if Description is not None and not isinstance(Description, str):
        raise LayerGraphError(f"The value of the option \"Description\" -> {brief(Description)} should be None or a "
                              "string.", "Export::optval")
    if not isinstance(ModelVersion, (int, np.integer)) or isinstance(ModelVersion, bool) or ModelVersion < 0:
        raise LayerGraphError(f"The value of the option \"ModelVersion\" -> {brief(ModelVersion)} should be a "
                              "non-negative integer.", "Export::optval")
    if ExternalArrays is All:
        raise LayerGraphError("The option \"ExternalArrays\" -> All (a file per array) is not supported; use "
                              "Automatic or None (the arrays inside the model file).", "Export::optval")
    if ExternalArrays is not Automatic and ExternalArrays is not None:
        raise LayerGraphError(f"The value of the option \"ExternalArrays\" -> {brief(ExternalArrays)} should be "
                              "Automatic, None or All.", "Export::optval")
    try:
        model = onnx_model(net, opset, name=name, doc_string=Description or "", model_version=int(ModelVersion))
    except ox.UnsupportedLayers as e:
        rows = "; ".join(f"{p.name} ({p.type}: {p.reason})" for p in e.problems)
        raise LayerGraphError(f"The net cannot be exported to ONNX with operator set {opset}; these layers have no "
                              f"ONNX form: {rows}.", "Export::onnxlayers") from None
    try:
        ox.save_model(model, file)
    except OSError:
        raise LayerGraphError(f"Cannot open {os.fspath(file)}.", "Export::noopen") from None
    return os.fspath(file)


__all__ = ["Export"]
