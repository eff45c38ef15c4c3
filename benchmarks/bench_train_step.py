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
softmax) and torch.optim.SGD. Both steps are nets.py's (``TrainStep``, ``torch_train_step``),
which suite.py also runs, on this and four more networks. Each side runs in its own
processes (benchmarks/_harness.py), alternating; the table gives median milliseconds per
step, then images per second.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

CASES = [[128]]


def ours(case, repeat, warmup):
    step, _ = nets.train_step("seed", case[0])
    return timed(step, repeat, warmup)


def torch_side(case, repeat, warmup):
    step, _ = nets.torch_train_step("seed", case[0])
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
