"""Wolfram's ``Import["net.onnx"]`` over the one core importer (layergraph/onnx/importer.py).

``Import(file)`` (the format from the extension ".onnx"), ``Import(file, "ONNX")``,
``Import(file, ("ONNX", elem))`` or ``Import(file, elem)``. Elements as Wolfram's ONNX format
page lists them: "Net" (the default: a NetChain when the layers run in series, else a
NetGraph, every array initialized; a node no layer computes is a placeholder layer, as
Wolfram's PlaceholderLayer, which cannot be evaluated, with the message
Import::onnxplaceholder), "ArrayAssociation" (initializer name -> array), "ArrayList",
"IRVersion", "OperatorSetVersion" ({domain: version}), "ProducerName", "ProducerVersion",
"ModelDomain", "ModelVersion", "Description", "Elements". "ONNXGraph" and "NetExternalObject"
are not supported. A file that cannot be imported gives Import::fmterr
with the importer's reason."""
from __future__ import annotations

import os

from ..core.errors import LayerGraphError

ELEMENTS = ("ArrayAssociation", "ArrayList", "Description", "Elements", "IRVersion", "ModelDomain", "ModelVersion",
            "Net", "OperatorSetVersion", "ProducerName", "ProducerVersion")


def _element(fmt, file) -> str:
    if fmt is None:
        if not str(file).lower().endswith(".onnx"):
            raise LayerGraphError(f"Cannot determine the format of {file!r}: give it as Import(file, \"ONNX\") (only "
                                  "ONNX is imported here).", "Import::infer")
        return "Net"
    if isinstance(fmt, (tuple, list)):
        if len(fmt) != 2 or str(fmt[0]).upper() != "ONNX":
            raise LayerGraphError(f"{fmt!r} is not a valid Import element specification; use (\"ONNX\", elem).",
                                  "Import::fmterr")
        fmt = fmt[1]
    elif str(fmt).upper() == "ONNX":
        return "Net"
    if fmt not in ELEMENTS:
        raise LayerGraphError(f"The Import element \"{fmt}\" is not present when importing as ONNX. Elements: "
                              f"{', '.join(ELEMENTS)}.", "Import::noelem")
    return fmt


def Import(file, fmt=None):
    """Import["file.onnx"], Import["file", "ONNX"], Import["file", {"ONNX", elem}], Import["file.onnx", elem]."""
    element = _element(fmt, file)
    if element == "Elements":
        return list(ELEMENTS)
    try:
        from ..onnx.importer import OnnxImportError, import_file
    except ImportError as err:   # pragma: no cover - the onnx extra is missing
        raise LayerGraphError(f"Import of ONNX needs the onnx package: {err}.", "Import::fmterr") from None
    if not os.path.isfile(os.fspath(file)):
        raise LayerGraphError(f"File {os.fspath(file)!r} not found during Import.", "Import::nffil")
    try:
        imported = import_file(file, placeholders=element == "Net")
    except OnnxImportError as err:
        raise LayerGraphError(f"Cannot import data as ONNX format: {err}", "Import::fmterr") from None
    if imported.placeholders:
        from .messages import message
        message("Import::onnxplaceholder", f"{len(imported.placeholders)} ONNX operator(s) have no layer and were "
                "imported as placeholder layers, which cannot be evaluated or trained: "
                + "; ".join(f"{node} ({op}): {why}" for node, op, why in imported.placeholders))
    if element == "ArrayAssociation":
        return dict(imported.arrays)
    if element == "ArrayList":
        return list(imported.arrays.values())
    simple = {"IRVersion": imported.ir_version, "OperatorSetVersion": {"": imported.opset},
              "ProducerName": imported.producer, "ProducerVersion": imported.producer_version,
              "ModelDomain": imported.domain, "ModelVersion": imported.model_version, "Description": imported.doc}
    if element in simple:
        return simple[element]
    return _net(imported.net)


def _net(net):
    from .net import NetChain, NetGraph
    g = net.graph.graph
    chain = (len(net.inputs) == 1 and len(net.outputs) == 1
             and all(g.in_degree(n) <= 1 and g.out_degree(n) <= 1 for n in g))
    if chain:
        try:
            return NetChain(net.graph)
        except LayerGraphError:
            pass
    return NetGraph(net.graph)


__all__ = ["Import"]
