"""The helper process of train/compiling.py compiles the signatures that a real first run's
backward needs: after it has run on an empty numba cache, a first trainNetwork of a small CNN
shaped like the seed CNN (conv of 16 filters, BN + ReLU + max pooling, conv of 16 input
channels and 32 filters, BN + ReLU, FC, softmax, cross-entropy) compiles its forward kernels and
loads every backward kernel from the cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RUN = r"""
import json, numpy as np
from numba.core import event
import layergraph as L
compiled = []
class Seen(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__name__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Seen())
r = np.random.default_rng(0)
X = r.standard_normal((8, 8, 3, 4)).astype(np.float32)
Y = L.categorical(np.array([0, 1, 0, 1]))
layers = [L.imageInputLayer([8, 8, 3], "Normalization", "none"),
          L.convolution2dLayer(3, 16, "Padding", 1), L.batchNormalizationLayer, L.reluLayer,
          L.maxPooling2dLayer(2, "Stride", 2),
          L.convolution2dLayer(3, 32, "Padding", 1), L.batchNormalizationLayer, L.reluLayer,
          L.fullyConnectedLayer(2), L.softmaxLayer, L.classificationLayer]
L.trainNetwork(X, Y, layers, L.trainingOptions("sgdm", "MaxEpochs", 1, "MiniBatchSize", 4, "Verbose", False))
print("COMPILED " + json.dumps(compiled))
"""


def _env(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), LAYERGRAPH_BACKGROUND_COMPILE="0",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    return env


def _compiled(cache):
    p = subprocess.run([sys.executable, "-c", RUN], env=_env(cache), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("COMPILED ")][-1]
    return set(json.loads(line[len("COMPILED "):]))


def _looks_cold(cache):
    p = subprocess.run([sys.executable, "-c", "from layergraph.train.compiling import cache_looks_cold; "
                                              "print(cache_looks_cold())"],
                       env=_env(cache), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.strip().splitlines()[-1]


def test_helper_compiles_the_backward_signatures_of_a_first_run(tmp_path):
    assert _looks_cold(tmp_path) == "True"   # an empty cache: the helper starts with the run
    # a training run's clock on a cold cache starts the helper as it is entered; wait for the helper
    start = ("from layergraph.train import compiling\n"
             "with compiling.CompileClock(None, 'float32'):\n"
             "    pass\n"
             "print('STARTED', bool(compiling._background))\n"
             "print('RC', compiling._background.wait())\n")
    helper = subprocess.run([sys.executable, "-c", start], env=dict(_env(tmp_path), LAYERGRAPH_BACKGROUND_COMPILE="1"),
                            capture_output=True, text=True, timeout=600)
    assert helper.returncode == 0, helper.stderr[-3000:]
    assert helper.stdout.split()[-4:] == ["STARTED", "True", "RC", "0"], helper.stdout
    assert _looks_cold(tmp_path) == "False"
    compiled = _compiled(tmp_path)
    # the forward's kernels up to its last convolution are compiled by the run itself (the listener
    # sees compilations); those after it (BN fused with ReLU, softmax) were the helper's first ones ...
    assert {"_bn_train_relu_pool2", "_chunk"} <= compiled
    assert not compiled & {"_bn_train", "_softmax_f"}, compiled
    # ... and none of the backward's: they were all loaded from what the helper wrote (the second
    # convolution, 16 input channels, goes the pixel-major way: _to_rows, _im2row, _from_rows; both
    # convolutions' dW, 16 and 32 filters, on direct.py's micro-kernel: _dw_chunk, _tap_planes)
    assert not compiled & {"_bn_back_pooled", "_bn_back_masked", "_softmax_b", "_ce", "_col2im", "_gather_rows",
                           "_to_rows", "_im2row", "_from_rows", "_dw_chunk", "_tap_planes"}, compiled
    # and nothing the network does not use: no general pooling loop, no plain BN backward
    assert not compiled & {"_max_plane_arg", "_bn_train_relu_pool", "_bn_back_plain"}, compiled


def test_background_compile_respects_the_switch(monkeypatch):
    from layergraph.train import compiling
    monkeypatch.setattr(compiling, "_background", None)
    monkeypatch.setenv("LAYERGRAPH_BACKGROUND_COMPILE", "0")
    assert compiling.background_compile("float32") is None
    assert compiling._background is None


class _Alive:
    def poll(self):
        return None


def test_run_waits_only_for_a_kernel_the_helper_is_compiling(monkeypatch, tmp_path):
    """The status file's "+name" / "-name" lines: a kernel started and not finished is the helper's
    (the run waits for it); one finished, or any once the helper has exited, is not."""
    from layergraph.train import compiling
    status = tmp_path / "status.txt"
    status.write_text("+a.f\n+a.g\n-a.f\n+a.h\n-a.h\n")
    monkeypatch.setattr(compiling, "_status", str(status))
    monkeypatch.setattr(compiling, "_background", _Alive())
    assert compiling._helper_compiling() == {"a.g"}
    assert not compiling._wait_for_helper("a.f")       # finished: no wait
    monkeypatch.setattr(compiling, "_WAIT_MAX", 0.05)
    assert compiling._wait_for_helper("a.g")            # still compiling: waited (here until the limit)
    monkeypatch.setattr(compiling, "_background", None)
    assert compiling._helper_compiling() == set()
