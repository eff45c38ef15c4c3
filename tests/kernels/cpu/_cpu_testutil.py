"""Shared helpers for the CPU kernel tests: finite differences and ONNX test-case loading."""
from __future__ import annotations

import glob
import importlib
import os
from functools import lru_cache

import numpy as np


def rng(seed=0):
    return np.random.default_rng(seed)


def fd_check(f, args, wrt, grad, dy, n_dirs=3, h=1e-5, rtol=1e-6, atol=1e-9, seed=1):
    """Central finite differences along random directions v:
    <dy, (f(a + h v) - f(a - h v)) / 2h>  ==  <grad, v>   for args[wrt] = a (float64)."""
    r = np.random.default_rng(seed)
    a = np.asarray(args[wrt], dtype=np.float64)
    assert grad.shape == a.shape, (grad.shape, a.shape)
    for _ in range(n_dirs):
        v = r.standard_normal(a.shape)
        plus, minus = list(args), list(args)
        plus[wrt] = a + h * v
        minus[wrt] = a - h * v
        num = (np.sum(dy * np.asarray(f(*plus))) - np.sum(dy * np.asarray(f(*minus)))) / (2 * h)
        ana = float(np.sum(grad * v))
        assert abs(num - ana) <= rtol * max(abs(ana), abs(num)) + atol, (num, ana, abs(num - ana))


# -- ONNX backend node tests, rebuilt in memory from the generators --------------------------
_NODE_MODULES = ("conv", "convtranspose", "batchnorm", "maxpool", "averagepool", "globalaveragepool",
                 "globalmaxpool", "gemm", "relu", "leakyrelu", "elu", "sigmoid", "tanh", "softmax", "concat",
                 "add", "layernormalization", "groupnormalization", "instance_normalization")


@lru_cache(maxsize=None)
def onnx_node_cases():
    import onnx.backend.test.case.node as N
    for mod in _NODE_MODULES:
        name = "batch_normalization" if mod == "batchnorm" else mod
        try:
            importlib.import_module("onnx.backend.test.case.node." + name)
        except ModuleNotFoundError:
            importlib.import_module("onnx.backend.test.case.node." + mod)
    return {c.name: c for c in N._NodeTestCases}


def _arr(t):
    from onnx import numpy_helper
    return t if isinstance(t, np.ndarray) else numpy_helper.to_array(t)


def node_case(name):
    """(node, attrs, inputs, outputs) of an in-memory ONNX node test."""
    from onnx import helper
    c = onnx_node_cases()[name]
    node = c.model.graph.node[0]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    ins, outs = c.data_sets[0]
    return node, attrs, [_arr(a) for a in ins], [_arr(a) for a in outs]


def disk_case(name):
    """(node, attrs, weights by name, inputs, outputs) of an on-disk pytorch-converted case."""
    import onnx
    from onnx import helper, numpy_helper
    from onnx.backend.test.loader import DATA_DIR
    d = os.path.join(DATA_DIR, "pytorch-converted", name)
    m = onnx.load(os.path.join(d, "model.onnx"))

    def read(kind):
        fs = sorted(glob.glob(os.path.join(d, "test_data_set_0", f"{kind}_*.pb")),
                    key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
        out = []
        for fn in fs:
            t = onnx.TensorProto()
            with open(fn, "rb") as fh:
                t.ParseFromString(fh.read())
            out.append(numpy_helper.to_array(t))
        return out

    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    nodes = list(m.graph.node)
    attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in nodes]
    return m, nodes, attrs, weights, read("input"), read("output")


def blas_threads_seen(monkeypatch, module):
    """Replaces module's np.matmul with a spy; returns the list of numpy's BLAS thread counts at
    each product (threadpoolctl), so a test shows the products ran with BLAS held."""
    from threadpoolctl import ThreadpoolController
    seen = []
    real = np.matmul

    def spy(*a, **k):
        seen.append(max(lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers
                        if "numpy" in str(lib.filepath)))
        return real(*a, **k)
    monkeypatch.setattr(module.np, "matmul", spy)
    return seen
