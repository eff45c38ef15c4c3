"""One training step of the seed page's CNN at batch 128: layergraph vs PyTorch CPU (NCHW).

    python benchmarks/bench_train_step.py [--rounds 3] [--repeat 20] [--threads 2]

A step is: forward in training mode, softmax + cross-entropy loss and its gradient, backward,
and an SGDM update (momentum 0.9, learning rate 0.01) of every learnable, plus the batch
normalization running statistics. The network is
32x32x3 input, conv 3x3x16 pad 1, BN, ReLU, maxpool 2 stride 2, conv 3x3x32 pad 1, BN, ReLU,
FC 10, softmax.

layergraph runs its executor directly (``net.executor('cpu', np.float32)``) on NCHW data, with
the trainer's SGDM solver (layergraph/train/solvers.py); torch
runs nn.Conv2d/BatchNorm2d/ReLU/MaxPool2d/Linear with CrossEntropyLoss (which includes the
softmax) and torch.optim.SGD. Each side runs in its own processes (benchmarks/_harness.py),
alternating; the table gives median milliseconds per step, then images per second.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

CASES = [[128]]
LR, MOMENTUM = 0.01, 0.9


def _data(n):
    r = np.random.default_rng(0)
    x = r.standard_normal((n, 3, 32, 32)).astype(np.float32)
    labels = r.integers(0, 10, n)
    return x, labels


def ours(case, repeat, warmup):
    from layergraph import (
        batchNormalizationLayer,
        convolution2dLayer,
        dlnetwork,
        fullyConnectedLayer,
        imageInputLayer,
        maxPooling2dLayer,
        reluLayer,
        rng,
        softmaxLayer,
    )
    from layergraph.core.conventions import update_running
    from layergraph.kernels.cpu.loss import crossentropyex_backward, crossentropyex_forward
    from layergraph.train.solvers import SGDM

    n = case[0]
    rng(0)
    net = dlnetwork([imageInputLayer([32, 32, 3], "Normalization", "none"),
                     convolution2dLayer(3, 16, "Padding", 1), batchNormalizationLayer, reluLayer,
                     maxPooling2dLayer(2, "Stride", 2),
                     convolution2dLayer(3, 32, "Padding", 1), batchNormalizationLayer, reluLayer,
                     fullyConnectedLayer(10), softmaxLayer])
    ex = net.executor("cpu", np.float32)
    x, labels = _data(n)
    t = np.zeros((n, 10), np.float32)
    t[np.arange(n), labels] = 1.0
    inp = ex.input_names[0]
    [out] = ex.output_refs()
    solver, state = SGDM(momentum=MOMENTUM), {}
    bns = {s.name: s.op.layer for s in ex.steps if s.op.layer.family == "batchnorm"}

    # The trainer (layergraph/train/trainer.py, behind trainNetwork and NetTrain) exposes only the
    # whole loop, train(); its per-iteration work is this step plus a backup copy of the weights
    # and a finiteness check. So the step is written out here with the trainer's pieces (its SGDM
    # solver and running-statistics rule); use a single-step entry point if one is added.
    def step():
        y = ex.forward({inp: x}, training=True)[out]
        crossentropyex_forward(y, t)
        grads = ex.backward({out: crossentropyex_backward(y, t)})
        for layer, gs in grads.items():
            for name, g in gs.items():
                solver.step(ex.params[layer][name], g, LR, state.setdefault((layer, name), {}), 1)
        for layer, (mean, var) in ex.batch_stats.items():  # running statistics, as torch does
            P, L = ex.params[layer], bns[layer]
            P["TrainedMean"][...] = update_running(P["TrainedMean"], mean, L.MeanDecay)
            P["TrainedVariance"][...] = update_running(P["TrainedVariance"], var, L.VarianceDecay)

    return timed(step, repeat, warmup)


def torch_side(case, repeat, warmup):
    import torch
    import torch.nn as nn
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.Flatten(),
                        nn.Linear(32 * 16 * 16, 10)).train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    x, labels = _data(case[0])
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def step():
        opt.zero_grad()
        loss_fn(net(x), labels).backward()
        opt.step()

    return timed(step, repeat, warmup)


SIDES = {"layergraph": ours, "torch": torch_side}


def describe(case):
    return f"seed CNN training step, batch {case[0]}"


if __name__ == "__main__":
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(os.path.abspath(__file__), SIDES, CASES, "layergraph", describe, repeat=20, warmup=5)
    text = buf.getvalue()
    print(text, end="")
    if "--side" not in sys.argv:  # the parent: add images per second from the table's medians
        for line in text.splitlines():
            m = re.match(r"\| seed CNN training step, batch (\d+) \| ([\d.]+) \| ([\d.]+) \|", line)
            if m:
                n, ours_ms, torch_ms = int(m[1]), float(m[2]), float(m[3])
                print(f"images/s: layergraph {n / ours_ms * 1e3:,.0f}, torch {n / torch_ms * 1e3:,.0f}; "
                      f"ours / torch {torch_ms / ours_ms:.2f}x")
