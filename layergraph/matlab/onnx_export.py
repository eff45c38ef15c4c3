"""exportONNXNetwork(net, filename, 'OpsetVersion', N, 'NetworkName', name, 'BatchSize', n):
MATLAB's arguments and messages over the one exporter (layergraph/onnx/export.py).

MATLAB takes a trained network: a SeriesNetwork, DAGNetwork or initialized dlnetwork (a
layer array or layerGraph is refused, as MATLAB refuses it). The ONNX graph's inputs are the
input layers (by name), its outputs the layers feeding the output layers (named after the
output layer: its input is the network's output; the output layer itself writes nothing)
or, for a dlnetwork, its OutputNames. The default OpsetVersion is 9: MATLAB's own default (8,
[UNCONFIRMED] docs/onnx.md) lies below the lowest operator set the exporter writes.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError, brief
from ..core.exchange import CoreNet
from .args import parse
from .network import DAGNetwork, DLNetwork

DEFAULT_OPSET = 9
_NAMES = ["OpsetVersion", "NetworkName", "BatchSize"]


def _core_net(net) -> CoreNet:
    g = net.layer_graph
    inputs = {name: name for name in g.input_layers()}
    if isinstance(net, DAGNetwork):
        feeding = {dst: (src, out) for src, out, dst, _ in g.connections() if g.layer(dst).is_output}
        outputs = {name: feeding[name] for name in g.output_layers() if name in feeding}
    else:
        outs = g.unconnected_outputs()
        outputs = {(n if len(g.layer(n).OutputNames) == 1 else f"{n}/{p}"): (n, p) for n, p in outs}
    return CoreNet(graph=g, inputs=inputs, outputs=outputs)


def _predict_shapes(net, core: CoreNet) -> dict:
    """Each output as predict gives it: a 1 x 1 x C image as C features (matlab/data.py to_matlab)."""
    out = {}
    for port, (layer, p) in core.outputs.items():
        size = net.analysis.info(layer).ActivationSizes[p]
        out[port] = (size.channels,) if size.spatial == (1, 1) else size.internal
    return out


def _validate(opts):
    from ..onnx.export import MIN_OPSET, max_opset
    top = max_opset()
    v = opts.get("OpsetVersion", DEFAULT_OPSET)
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and float(v).is_integer()
    if not ok or not MIN_OPSET <= int(v) <= top:
        raise LayerGraphError(f"Invalid value for 'OpsetVersion': {brief(v)}. Expected OpsetVersion to be an "
                              f"integer from {MIN_OPSET} to {top}.", "MATLAB:InputParser:ArgumentFailedValidation")
    name = opts.get("NetworkName", "Network")
    if not isinstance(name, str) or not name:
        raise LayerGraphError(f"Invalid value for 'NetworkName': {brief(name)}. Expected NetworkName to be a "
                              "nonempty character vector or string scalar.",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    batch = opts.get("BatchSize")
    if isinstance(batch, (list, tuple, np.ndarray)) and np.size(batch) == 0:
        batch = None   # MATLAB's []
    if batch is not None and not (isinstance(batch, (int, float, np.integer, np.floating)) and not
                                  isinstance(batch, bool) and float(batch).is_integer() and batch >= 1):
        raise LayerGraphError(f"Invalid value for 'BatchSize': {brief(batch)}. Expected BatchSize to be a positive "
                              "integer or [] (a variable batch size).", "MATLAB:InputParser:ArgumentFailedValidation")
    return int(v), name, (int(batch) if batch is not None else None)


def exportONNXNetwork(net, filename, *args, **kwargs) -> None:
    """Export the network ``net`` with its weights to the ONNX file ``filename`` (overwritten
    if it exists; a failed export leaves no file and an existing one as it was).
    Name-value arguments: OpsetVersion (default 9, up to onnx's newest), NetworkName
    (default 'Network'), BatchSize (default []: a variable batch dimension "N")."""
    from ..onnx import export as ox
    opts = parse("exportONNXNetwork", args, kwargs, (), 0, _NAMES)
    if not isinstance(net, (DAGNetwork, DLNetwork)):
        raise LayerGraphError(f"Invalid argument at position 1. Expected the network to be a SeriesNetwork, "
                              f"DAGNetwork or dlnetwork object; got {brief(net)}.",
                              "nnet_cnn_onnx:onnx:FirstArgNetwork")
    if isinstance(net, DLNetwork) and not net.Initialized:
        raise LayerGraphError("Unable to export an uninitialized dlnetwork. Initialize it first "
                              "(initialize(net)).", "nnet_cnn_onnx:onnx:UninitializedDlnetwork")
    if not isinstance(filename, str) or not filename:
        raise LayerGraphError(f"Invalid argument at position 2. Expected the file name to be a nonempty character "
                              f"vector or string scalar; got {brief(filename)}.", "nnet_cnn_onnx:onnx:FileName")
    opset, name, batch = _validate(opts)
    core = _core_net(net)
    try:
        model = ox.to_onnx(core, opset, name=name, batch_size=batch, output_shapes=_predict_shapes(net, core))
    except ox.UnsupportedLayers as e:
        rows = "\n".join(f"    '{p.name}' ({p.type}): {p.reason}." for p in e.problems)
        raise LayerGraphError(f"Unable to export the network to ONNX with OpsetVersion {opset}. These layers "
                              f"are not supported for export:\n{rows}", "nnet_cnn_onnx:onnx:UnsupportedLayers") \
            from None
    try:
        ox.save_model(model, filename)
    except OSError as e:
        raise LayerGraphError(f"Unable to write the file '{filename}': {e.strerror or e}. Check that the folder "
                              "exists and that you have write permission.", "MATLAB:save:permissionDenied") from None


__all__ = ["exportONNXNetwork"]
