"""ONNX in and out, written once for both dialects on the neutral core (issue 12).

The dialects' entry points (MATLAB's exportONNXNetwork / importNetworkFromONNX /
importONNXNetwork / importONNXLayers, Wolfram's Export / Import of "net.onnx") are thin
wrappers over this package. The onnx package (and onnxruntime in tests) is an optional
extra: importing layergraph does not import onnx.
"""
from .export import (DEFAULT_OPSET, MIN_OPSET, UnsupportedLayers, max_opset, save_model, to_onnx,  # noqa: F401
                     unsupported)
