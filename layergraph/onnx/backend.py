"""An ``onnx.backend.base.Backend`` over layergraph, so that ONNX's own ``BackendTest``
machinery (its node tests) drives the importer and the core's kernels.

``LayergraphBackend.prepare(model)`` checks the model (``read_model``) and returns a
``LayergraphRep``; ``rep.run(inputs)`` imports it and runs the core network on the CPU in the
inputs' float type. A node test gives weights as graph inputs, so ``run`` binds them: the
first graph input is the data; another input is data too when it has the first's shape (the
two operands of Add or Mul), and otherwise a constant, as an initializer (Conv's weights,
BatchNormalization's statistics, Gemm's B and C, Reshape's shape, Resize's scales); a Gather by
integer indices that are a graph input (an embedding's) has the indices as the data and the
gathered array as a constant. The first
dimension of every tensor is the batch (a rank-3 tensor N x C x L runs as N x C x L x 1), except
the sequences and states of LSTM / GRU nodes, which go in and come out in their ONNX forms
(``Imported.input_forms`` / ``output_forms``).
Anything the importer cannot map raises its ``OnnxImportError``: a backend test of an
unsupported configuration fails with that error (never a wrong number)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

from ..core.network import Network
from ._rnn_import import core_array, onnx_array
from .importer import import_model, read_model


def _bind(model, inputs):
    """A copy of ``model`` whose non-data inputs are initializers holding ``inputs``' values,
    and the {input name: array} of the data inputs."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    init = {t.name for t in m.graph.initializer}
    graph_inputs = [vi for vi in m.graph.input if vi.name not in init]
    if len(inputs) != len(graph_inputs):
        raise ValueError(f"the model takes {len(graph_inputs)} inputs; {len(inputs)} were given")
    data, keep = {}, []
    first = np.asarray(inputs[0]).shape if inputs else None
    # integer indices of a Gather (an embedding's): the indices are the data, the gathered array a constant
    gathered = {n.input[0]: n.input[1] for n in m.graph.node if n.op_type == "Gather" and len(n.input) > 1}
    index = {t for t in gathered.values() if any(vi.name == t and vi.type.tensor_type.elem_type in (6, 7)
                                                 for vi in graph_inputs)}
    for i, (vi, x) in enumerate(zip(graph_inputs, inputs)):
        x = np.asarray(x)
        if index and (vi.name in index or (vi.name not in gathered and x.shape == first)):
            data[vi.name] = x
            keep.append(vi)
        elif index:
            m.graph.initializer.append(numpy_helper.from_array(x, vi.name))
        elif i == 0 or x.shape == first:
            data[vi.name] = x
            keep.append(vi)
        else:
            m.graph.initializer.append(numpy_helper.from_array(x, vi.name))
    del m.graph.input[:]
    m.graph.input.extend(keep)
    return m, data


class LayergraphRep(BackendRep):
    def __init__(self, model):
        self.model = model

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            inputs = list(inputs.values())
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        model, data = _bind(self.model, inputs)
        imported = import_model(model, "the node test's model")
        net = Network.build(imported.net.graph, initialize=False)
        feeds, n = {}, None
        dtype = np.float64 if any(np.asarray(x).dtype == np.float64 for x in data.values()) else np.float32
        for port, layer in imported.net.inputs.items():
            x = np.asarray(data[next(k for k in data if k == port or _valid(k) == port)], dtype=dtype)
            if port in imported.input_forms:   # a sequence or a state, not batch first (_rnn_import.py)
                x = core_array(x, imported.input_forms[port])
                n = x.shape[0]
                feeds[layer] = x
                continue
            n = x.shape[0]
            feeds[layer] = x.reshape(x.shape + (1,)) if x.ndim == 3 else x
        refs = list(imported.net.outputs.values())
        out = net.run(feeds, refs, batch_size=max(n or 1, 1), dtype=dtype)
        results = []
        for port, ref in imported.net.outputs.items():
            y = out[ref]
            if port in imported.output_forms:
                results.append(onnx_array(np.stack(y) if isinstance(y, list) else y, *imported.output_forms[port]))
                continue
            results.append(y.reshape((y.shape[0],) + tuple(imported.output_shapes[port])))
        return tuple(results)


def _valid(name):
    from .importer import valid_name
    return valid_name(name)


class LayergraphBackend(Backend):
    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs) -> bool:
        return device == "CPU"

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs):
        super().prepare(model, device, **kwargs)
        return LayergraphRep(read_model(model))

    @classmethod
    def run_node(cls, node, inputs, device: str = "CPU", outputs_info=None, **kwargs):
        raise NotImplementedError("run_node: the node tests run whole models (prepare / run)")

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


prepare = LayergraphBackend.prepare
run_model = LayergraphBackend.run_model
supports_device = LayergraphBackend.supports_device

__all__ = ["LayergraphBackend", "LayergraphRep", "prepare", "run_model", "supports_device"]
