"""MATLAB's ONNX importers over the one core importer (layergraph/onnx/importer.py):

* ``importNetworkFromONNX(modelfile)``: a dlnetwork (initialized, no output layers);
* ``importONNXNetwork(modelfile, 'OutputLayerType', t, 'Classes', c, 'ImageInputSize', sz)``:
  a DAGNetwork, or a SeriesNetwork when the layers run in series, with a classificationLayer
  or regressionLayer after each output;
* ``importONNXLayers(modelfile, ...)``: the layerGraph (an output layer only when
  OutputLayerType is given); as MATLAB's, it puts a placeholder layer (PlaceholderLayer: the
  op, the node, the reason; it refuses to run) where no layer computes a node, with a warning,
  while the other two fail with the list of such nodes.

The file's graph becomes core layers once; here it only gets MATLAB's output layers (as a
network handed over by the Wolfram dialect does, matlab/exchange.py). Layer names are the ONNX
node names made valid and unique as MATLAB makes them (the importer's ``valid_name``).
OutputLayerType given none: 'classification' when the last layer before the output is a
softmax, else 'regression' (docs/onnx_ops.md). Classes given none: '1', '2', ..., as many as
the output has channels."""
from __future__ import annotations

import warnings
from dataclasses import replace

from .. import layers as L
from ..core.errors import LayerGraphError
from .args import parse
from .exchange import layer_graph_of, runs_in_series
from .network import DAGNetwork, DLNetwork, SeriesNetwork

_OUTPUT_TYPES = ("classification", "regression")


def _import(function, modelfile, size=None, placeholders=False):
    try:
        from ..onnx.importer import import_file
    except ImportError as err:   # pragma: no cover - the onnx extra is missing
        raise LayerGraphError(f"{function} needs the onnx package (pip install layergraph[onnx]): {err}.",
                              "nnet_cnn:onnx:NoSupportPackage") from None
    sizes = None
    if size is not None:
        from ..onnx.importer import read_model
        model = read_model(modelfile)
        first = next(vi for vi in model.graph.input if vi.name not in {t.name for t in model.graph.initializer})
        dims = [d.dim_value if d.HasField("dim_value") else None for d in first.type.tensor_type.shape.dim]
        sizes = {first.name: _image_size(size, dims, function)}
    imported = import_file(modelfile, sizes, placeholders)
    if imported.placeholders:
        rows = "; ".join(f"'{node}' ({op}): {why}" for node, op, why in imported.placeholders)
        warnings.warn(f"Unable to import {len(imported.placeholders)} ONNX operator(s); {function} inserted "
                      f"placeholder layers in their place: {rows}. Replace them before using the network.",
                      UserWarning, stacklevel=3)
    return imported


def _image_size(size, dims, function):
    try:
        v = [int(s) for s in (size if hasattr(size, "__len__") else [size])]
    except (TypeError, ValueError):
        v = []
    if len(v) not in (2, 3) or any(s < 1 for s in v):
        raise LayerGraphError(f"Invalid value for 'ImageInputSize' of {function}: {size!r}. Expected a vector [h w] or "
                              "[h w c] of positive integers.", "MATLAB:InputParser:ArgumentFailedValidation")
    if len(dims) != 4:
        raise LayerGraphError(f"'ImageInputSize' of {function} is for image input; the model's input has rank "
                              f"{len(dims)}.", "nnet_cnn:onnx:ImageInputSizeNotImage")
    c = v[2] if len(v) == 3 else dims[1]
    if c is None:
        raise LayerGraphError(f"'ImageInputSize' of {function}: the model leaves the number of channels open; give "
                              "[h w c].", "MATLAB:InputParser:ArgumentFailedValidation")
    return (c, v[0], v[1])


def _with_outputs(imported, function, output_type, classes):
    net = imported.net
    if output_type is None:
        return net
    kind = str(output_type).lower()
    if kind not in _OUTPUT_TYPES:
        raise LayerGraphError(f"Invalid value for 'OutputLayerType' of {function}: '{output_type}'. Expected "
                              "'classification' or 'regression' ('pixelclassification' has no layer here).",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    if kind == "regression":
        if classes is not None:
            raise LayerGraphError(f"'Classes' of {function} is for 'OutputLayerType' 'classification'.",
                                  "nnet_cnn:onnx:ClassesNeedClassification")
        return net
    labels = {}
    for port, (layer, _) in net.outputs.items():
        n = imported.output_shapes[port][0]
        if classes is None:
            labels[port] = [str(i + 1) for i in range(n)]
        else:
            given = [str(c) for c in (classes if not isinstance(classes, str) else [classes])]
            if len(given) != n:
                raise LayerGraphError(f"Invalid value for 'Classes' of {function}: {len(given)} classes for an output "
                                      f"of {n} channels.", "nnet_cnn:onnx:ClassesMismatch")
            labels[port] = given
    return replace(net, classes=labels)


def _default_type(imported):
    net = imported.net
    last = [net.graph.layer(layer) for layer, _ in net.outputs.values()]
    return "classification" if last and all(isinstance(x, L.SoftmaxLayer) for x in last) else "regression"


def _chain(net) -> bool:
    g = net.graph.graph
    return len(net.inputs) == 1 and len(net.outputs) == 1 and all(g.in_degree(n) <= 1 and g.out_degree(n) <= 1
                                                                   for n in g)


def _named(net):
    return replace(net, names={**{core: core for core in net.inputs.values()}, **net.names}, chain=_chain(net))


def importNetworkFromONNX(modelfile, *args, **kwargs) -> DLNetwork:
    """importNetworkFromONNX(modelfile): the ONNX model as an initialized dlnetwork."""
    opts = parse("importNetworkFromONNX", args, kwargs, (), 0, ["InputDataFormats", "OutputDataFormats", "Namespace",
                                                                 "PackageName"])
    if opts:
        raise LayerGraphError(f"importNetworkFromONNX: {', '.join(opts)} are not supported here: the importer "
                              "generates no custom layers (every op maps to a built-in layer or the import fails) "
                              "and reads the data formats from the model (N x C, N x C x H x W).",
                              "nnet_cnn:onnx:OptionNotSupported")
    imported = _import("importNetworkFromONNX", modelfile)
    return DLNetwork.build(layer_graph_of(_named(imported.net), "none"), Initialize=True)


_OPTIONS = ["OutputLayerType", "Classes", "ImageInputSize"]


def importONNXNetwork(modelfile, *args, **kwargs):
    """importONNXNetwork(modelfile, 'OutputLayerType', 'classification'|'regression', 'Classes', classes,
    'ImageInputSize', [h w] or [h w c]): a DAGNetwork (a SeriesNetwork for layers in series) with output layers."""
    opts = parse("importONNXNetwork", args, kwargs, (), 0, _OPTIONS)
    imported = _import("importONNXNetwork", modelfile, opts.get("ImageInputSize"))
    kind = opts.get("OutputLayerType") or _default_type(imported)
    net = _named(_with_outputs(imported, "importONNXNetwork", kind, opts.get("Classes")))
    lg = layer_graph_of(net, "all")
    assembled = DAGNetwork.assemble(lg)
    if runs_in_series(net, lg):
        return SeriesNetwork(assembled.layer_graph, assembled.analysis)
    return assembled


def importONNXLayers(modelfile, *args, **kwargs):
    """importONNXLayers(modelfile, 'OutputLayerType', ..., 'Classes', ..., 'ImageInputSize', ...): the layerGraph,
    with its learnables; output layers only when OutputLayerType is given; placeholder layers for
    nodes no layer computes (with a warning)."""
    opts = parse("importONNXLayers", args, kwargs, (), 0, _OPTIONS)
    imported = _import("importONNXLayers", modelfile, opts.get("ImageInputSize"), placeholders=True)
    kind = opts.get("OutputLayerType")
    net = _named(_with_outputs(imported, "importONNXLayers", kind, opts.get("Classes")))
    return layer_graph_of(net, "all" if kind is not None else "none")


__all__ = ["importNetworkFromONNX", "importONNXLayers", "importONNXNetwork"]
