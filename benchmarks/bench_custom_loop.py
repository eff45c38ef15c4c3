"""A custom training loop step (dlfeval + dlgradient + sgdmupdate) of the seed CNN at batch 128,
against trainNetwork's step on the same network and data, and against a torch autograd loop.

    python benchmarks/bench_custom_loop.py [--rounds 2] [--repeat 15] [--threads 2]

custom loop: one iteration of MATLAB's canonical loop, ``[loss, gradients, state] =
dlfeval(@modelLoss, net, X, T)`` (forward, crossentropy, dlgradient of net.Learnables), ``net.State
= state``, ``[net, vel] = sgdmupdate(net, gradients, vel, 0.01, 0.9)``, on H x W x C x N dlarrays.
trainNetwork: the time between two iterations of ``trainNetwork`` (SGDM, the same rate and
momentum, no L2, moving batch-normalization statistics), read by an OutputFcn, so that set-up and
the end of training are left out. torch: nets.py's step (forward, CrossEntropyLoss, backward,
torch.optim.SGD). Each side runs in its own processes, alternating (benchmarks/_harness.py);
the table gives median milliseconds per step.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

CASES = [[128]]


def custom_loop(case, repeat, warmup):
    from layergraph import crossentropy, dlarray, dlfeval, dlgradient, forward, sgdmupdate
    n = case[0]
    net = nets.dlnet("seed")
    x, labels = nets.matlab_data("seed", n)
    X = dlarray(x, "SSCB")
    T = dlarray(np.eye(nets.CLASSES, dtype=np.float32)[labels].T, "CB")

    def model_loss(net, X, T):
        Y, state = forward(net, X)
        loss = crossentropy(Y, T)
        return loss, dlgradient(loss, net.Learnables), state

    box = {"net": net, "vel": []}

    def step():
        loss, grads, state = dlfeval(model_loss, box["net"], X, T)
        box["net"].State = state
        box["net"], box["vel"] = sgdmupdate(box["net"], grads, box["vel"], nets.LR, nets.MOMENTUM)
    return timed(step, repeat, warmup)


def train_network(case, repeat, warmup):
    from layergraph import LayerArray, categorical, classificationLayer, trainNetwork
    n = case[0]
    iterations = repeat + warmup + 1
    x, labels = nets.matlab_data("seed", n)
    X = np.concatenate([x] * iterations, axis=3)
    Y = categorical(np.concatenate([labels] * iterations))
    net = nets.dlnet("seed")
    stamps = []
    opts = nets.matlab_options(epochs=1, batch=n)
    opts.Shuffle = "never"
    opts.OutputFcn = lambda info: stamps.append(time.perf_counter()) if info["State"] == "iteration" else None
    trainNetwork(X, Y, LayerArray(list(net.Layers) + [classificationLayer]), opts)
    steps = np.diff(stamps)
    return [float(s) for s in steps[warmup:]]


def torch_loop(case, repeat, warmup):
    step, _ = nets.torch_train_step("seed", case[0])
    return timed(step, repeat, warmup)


SIDES = {"trainNetwork": train_network, "custom loop": custom_loop, "torch autograd": torch_loop}

if __name__ == "__main__":
    main(os.path.abspath(__file__), SIDES, CASES, "trainNetwork",
         lambda c: f"seed CNN training step, batch {c[0]}", repeat=15, warmup=3, rounds=2)
