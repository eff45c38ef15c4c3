"""LSTM over a padded-free batch, float32: layergraph's CPU kernels (kernels/cpu/recurrent.py)
vs torch nn.LSTM on the CPU, prediction (forward) and training (forward + backward through
time).

    python benchmarks/bench_lstm.py [--threads 2] [--repeat 10]

Cases are N (batch), C (features), T (steps), H (hidden units). Each side runs in its own
process with the same thread count, alternately (see _harness.py)."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

# [N, C, T, H, mode]: the digits example's size, a speech-like one, a long one with a small batch
CASES = [[32, 8, 8, 64, "train"], [32, 8, 8, 64, "predict"], [64, 40, 100, 128, "train"],
         [64, 40, 100, 128, "predict"], [8, 16, 500, 64, "train"]]


def _data(case):
    n, c, t, h, _ = case
    r = np.random.default_rng(0)
    x = r.standard_normal((n, c, t)).astype(np.float32)
    w = (0.2 * r.standard_normal((4 * h, c))).astype(np.float32)
    rr = (0.2 * r.standard_normal((4 * h, h))).astype(np.float32)
    b = (0.1 * r.standard_normal(4 * h)).astype(np.float32)
    dy = r.standard_normal((n, h, t)).astype(np.float32)
    return x, w, rr, b, dy


def ours(case, repeat, warmup):
    from layergraph.kernels.cpu.recurrent import lstm_backward, lstm_forward_infer, lstm_forward_train
    x, w, r, b, dy = _data(case)
    if case[4] == "predict":
        return timed(lambda: lstm_forward_infer(x, w, r, b), repeat, warmup)

    def step():
        y, h, c, ctx = lstm_forward_train(x, w, r, b)
        lstm_backward(dy, None, None, ctx, w, r)
    return timed(step, repeat, warmup)


def torch_lstm(case, repeat, warmup):
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x, w, r, b, dy = _data(case)
    m = torch.nn.LSTM(x.shape[1], r.shape[1], batch_first=True)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
    dyt = torch.from_numpy(np.ascontiguousarray(dy.transpose(0, 2, 1)))
    if case[4] == "predict":
        def run():
            with torch.no_grad():
                m(xt)
        return timed(run, repeat, warmup)
    xt.requires_grad_(True)

    def step():
        y, _ = m(xt)
        torch.autograd.grad(y, [xt, *m.parameters()], dyt)
    return timed(step, repeat, warmup)


SIDES = {"layergraph": ours, "torch": torch_lstm}

if __name__ == "__main__":
    main(os.path.abspath(__file__), SIDES, CASES, "torch", lambda c: "N{} C{} T{} H{} {}".format(*c),
         repeat=10, warmup=3)
