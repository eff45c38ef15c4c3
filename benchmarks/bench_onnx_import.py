"""Predict throughput of an imported ONNX model against onnxruntime on the same machine
(issue 12), float32, each side in its own process (_harness.py: alternating rounds, medians,
the load average printed), the same thread count on both sides.

    python benchmarks/bench_onnx_import.py --threads 2 [--repeat 10] [--rounds 2]

Models (nets.py's torch modules, eval mode, exported once with torch.onnx.export(dynamo=False),
opset 13, a dynamic batch dimension; torch's exporter folds the BN layers into the convolutions):
  resnet20   CIFAR ResNet-20, 32 x 32 x 3 input
  mlp        784-512-512-10
Cases: batch 32 and 128 of each. Sides:
  layergraph   importNetworkFromONNX(file) (a dlnetwork), then predict(net, X) on MATLAB-layout
               data (H x W x C x N images, N x 784 features): what a user of the import runs
  onnxruntime  InferenceSession(file, CPUExecutionProvider, intra_op_num_threads = --threads,
               inter_op_num_threads 1).run on the N x C x H x W / N x 784 array
Both give the same numbers (checked once per model before timing, 1e-4 relative).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

CASES = [["resnet20", 32], ["resnet20", 128], ["mlp", 32], ["mlp", 128]]
MODELS = os.path.join(tempfile.gettempdir(), f"layergraph-bench-onnx-{os.getuid()}")


def _path(name):
    return os.path.join(MODELS, f"{name}.onnx")


def export_models():
    """Write the models (in a process of their own: torch is not loaded by either side)."""
    import torch
    os.makedirs(MODELS, exist_ok=True)
    for name in sorted({c[0] for c in CASES}):
        module = nets.torch_module(name).eval()
        x = torch.from_numpy(nets.internal_data(name, 2)[0])
        torch.onnx.export(module, (x,), _path(name) + ".part", input_names=["input"], output_names=["output"],
                          opset_version=13, dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, dynamo=False)
        os.replace(_path(name) + ".part", _path(name))


def _ort_session(name):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(_path(name), opts, providers=["CPUExecutionProvider"])


def ours(case, repeat, warmup):
    from layergraph.matlab import importNetworkFromONNX, predict
    name, n = case
    net = importNetworkFromONNX(_path(name))
    X = nets.matlab_data(name, n)[0]
    y = np.asarray(predict(net, X)).reshape(n, -1)
    ref = _ort_session(name).run(None, {"input": nets.internal_data(name, n)[0]})[0]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    return timed(lambda: predict(net, X), repeat, warmup)


def onnxruntime(case, repeat, warmup):
    name, n = case
    sess = _ort_session(name)
    x = nets.internal_data(name, n)[0]
    return timed(lambda: sess.run(None, {"input": x}), repeat, warmup)


SIDES = {"layergraph": ours, "onnxruntime": onnxruntime}


def describe(case):
    return f"{nets.DESCRIPTIONS[case[0]]}, batch {case[1]}"


if __name__ == "__main__":
    if "--export" in sys.argv:
        export_models()
    else:
        if "--side" not in sys.argv:
            subprocess.run([sys.executable, __file__, "--export"], check=True,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                               p for p in (os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                           os.environ.get("PYTHONPATH")) if p)))
        main(__file__, SIDES, CASES, "onnxruntime", describe, repeat=10, warmup=2, rounds=2)
