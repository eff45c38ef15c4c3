"""LSTM and GRU over a padding-free batch, float32: layergraph's CPU kernels
(kernels/cpu/recurrent.py) vs torch nn.LSTM / nn.GRU on the CPU, prediction (forward) and
training (forward + backward through time). The GRU runs in ResetGateMode
'recurrent-bias-after-multiplication', torch's form.

    python benchmarks/bench_lstm.py [--threads 2] [--repeat 10]

Cases are N (batch), C (features), T (steps), H (hidden units), mode, cell. Mode 'train-last' and
'predict-last' are a sequence classifier's recurrent layer (OutputMode 'last': only the final
state is used; ours computes no y and takes no dy, torch's gradient flows from h_n). Prediction is
ours' infer forward (nothing stored). Each side runs in its own process with the same thread
count, alternately (see _harness.py); the batch split over threads is ours' default
(kernels/cpu/recurrent.py, _row_chunks)."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, timed

# [N, C, T, H, mode]: the digits example's size, a speech-like one, a long one with a small batch
CASES = [[32, 8, 8, 64, "train", "lstm"], [32, 8, 8, 64, "predict", "lstm"], [64, 40, 100, 128, "train", "lstm"],
         [64, 40, 100, 128, "predict", "lstm"], [8, 16, 500, 64, "train", "lstm"],
         [32, 8, 8, 64, "train", "gru"], [64, 40, 100, 128, "train", "gru"], [64, 40, 100, 128, "predict", "gru"],
         [8, 16, 500, 64, "train", "gru"], [64, 40, 100, 128, "train-last", "lstm"],
         [64, 40, 100, 128, "predict-last", "lstm"]]
RB = "recurrent-bias-after-multiplication"


def _data(case):
    n, c, t, h, _, cell = case
    k = 4 if cell == "lstm" else 3
    r = np.random.default_rng(0)
    x = r.standard_normal((n, c, t)).astype(np.float32)
    w = (0.2 * r.standard_normal((k * h, c))).astype(np.float32)
    rr = (0.2 * r.standard_normal((k * h, h))).astype(np.float32)
    b = (0.1 * r.standard_normal(k * h)).astype(np.float32)
    dy = r.standard_normal((n, h, t)).astype(np.float32)
    return x, w, rr, b, dy


def ours(case, repeat, warmup):
    from layergraph.kernels.cpu.recurrent import (
        gru_backward,
        gru_forward_infer,
        gru_forward_train,
        lstm_backward,
        lstm_forward_infer,
        lstm_forward_train,
    )
    x, w, r, b, dy = _data(case)
    if case[5] == "gru":
        if case[4] == "predict":
            return timed(lambda: gru_forward_infer(x, w, r, b, b, mode=RB), repeat, warmup)

        def gru_step():
            y, h, ctx = gru_forward_train(x, w, r, b, b, mode=RB)
            gru_backward(dy, None, ctx, w, r, mode=RB)
        return timed(gru_step, repeat, warmup)
    if case[4] == "predict":
        return timed(lambda: lstm_forward_infer(x, w, r, b), repeat, warmup)
    if case[4] == "predict-last":
        return timed(lambda: lstm_forward_infer(x, w, r, b, sequence=False), repeat, warmup)
    if case[4] == "train-last":
        dh = np.ascontiguousarray(dy[:, :, -1])

        def last_step():
            _, h, c, ctx = lstm_forward_train(x, w, r, b, sequence=False)
            lstm_backward(None, dh, None, ctx, w, r)
        return timed(last_step, repeat, warmup)

    def step():
        y, h, c, ctx = lstm_forward_train(x, w, r, b)
        lstm_backward(dy, None, None, ctx, w, r)
    return timed(step, repeat, warmup)


def torch_lstm(case, repeat, warmup):
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    x, w, r, b, dy = _data(case)
    m = (torch.nn.LSTM if case[5] == "lstm" else torch.nn.GRU)(x.shape[1], r.shape[1], batch_first=True)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
    dyt = torch.from_numpy(np.ascontiguousarray(dy.transpose(0, 2, 1)))
    if case[4] in ("predict", "predict-last"):
        def run():
            with torch.no_grad():
                m(xt)
        return timed(run, repeat, warmup)
    xt.requires_grad_(True)
    if case[4] == "train-last":
        dh = torch.from_numpy(np.ascontiguousarray(dy[None, :, :, -1]))

        def last_step():
            _, (h, _) = m(xt)
            torch.autograd.grad(h, [xt, *m.parameters()], dh)
        return timed(last_step, repeat, warmup)

    def step():
        y, _ = m(xt)
        torch.autograd.grad(y, [xt, *m.parameters()], dyt)
    return timed(step, repeat, warmup)


SIDES = {"layergraph": ours, "torch": torch_lstm}

if __name__ == "__main__":
    main(os.path.abspath(__file__), SIDES, CASES, "torch", lambda c: "{5} N{0} C{1} T{2} H{3} {4}".format(*c),
         repeat=10, warmup=3)
