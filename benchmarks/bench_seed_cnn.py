"""Inference of the seed page's CNN at batch 128: layergraph vs PyTorch CPU (NCHW).

    python benchmarks/bench_seed_cnn.py [--rounds 3] [--repeats 20] [--threads 2]

Each side runs in its own processes (benchmarks/_harness.py; torch's and numba's OpenMP
runtimes slow each other down) with the same thread count, alternating; prints median
milliseconds per batch and the ratio. layergraph is timed on the user's path: predict() on
H x W x C x N data; torch in eval mode under inference_mode, with the softmax. The network
and data are nets.py's, as in suite.py (which adds batch 32 and four more networks).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

CASES = [[128]]


def ours(case, repeat, warmup):
    n = case[0]
    net, (X, _) = nets.dlnet("seed"), nets.matlab_data("seed", n)
    return timed(lambda: net.predict(X, MiniBatchSize=n), repeat, warmup)


def torch_side(case, repeat, warmup):
    return timed(nets.torch_predictor(nets.torch_module("seed"), "seed", case[0]), repeat, warmup)


if __name__ == "__main__":
    main(os.path.abspath(__file__), {"layergraph": ours, "torch": torch_side}, CASES, "layergraph",
         lambda c: f"seed CNN inference, batch {c[0]}", repeat=20, warmup=3, rounds=3)
