"""Inference of the seed page's CNN at batch 128: layergraph vs PyTorch CPU (NCHW).

    python benchmarks/bench_seed_cnn.py [--repeats 20] [--threads 2]

Each side runs in its own process (torch's and numba's OpenMP runtimes slow each
other down) with the same thread count; prints median images per second and the
ratio. layergraph is timed on the user's path: predict() on H x W x C x N data.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

BATCH = 128

OURS = r"""
import json, statistics, sys, time
import numpy as np
from layergraph import *
rng(0)
net = dlnetwork([imageInputLayer([32, 32, 3], 'Normalization', 'none'),
                 convolution2dLayer(3, 16, 'Padding', 1), batchNormalizationLayer, reluLayer,
                 maxPooling2dLayer(2, 'Stride', 2),
                 convolution2dLayer(3, 32, 'Padding', 1), batchNormalizationLayer, reluLayer,
                 fullyConnectedLayer(10), softmaxLayer])
X = np.random.default_rng(0).standard_normal((32, 32, 3, BATCH)).astype(np.float32)
for _ in range(3):
    net.predict(X, MiniBatchSize=BATCH)
times = []
for _ in range(REPEATS):
    t = time.perf_counter(); net.predict(X, MiniBatchSize=BATCH); times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times)))
"""

TORCH = r"""
import json, statistics, time
import torch, torch.nn as nn
torch.set_num_threads(THREADS)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.Flatten(),
                    nn.Linear(32 * 16 * 16, 10), nn.Softmax(dim=1)).eval()
x = torch.randn(BATCH, 3, 32, 32)
with torch.inference_mode():
    for _ in range(3):
        net(x)
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter(); net(x); times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times)))
"""


def run(code, threads, repeats):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    code = code.replace("BATCH", str(BATCH)).replace("REPEATS", str(repeats)).replace("THREADS", str(threads))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternating process pairs; the median is reported")
    a = ap.parse_args()
    ours, theirs = [], []
    for _ in range(a.rounds):
        ours.append(run(OURS, a.threads, a.repeats))
        theirs.append(run(TORCH, a.threads, a.repeats))
    o, t = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
    print(f"seed CNN inference, batch {BATCH}, {a.threads} threads, median of {a.rounds} x {a.repeats}")
    print(f"  layergraph predict : {o * 1e3:8.2f} ms  {BATCH / o:8.0f} images/s")
    print(f"  torch (NCHW)       : {t * 1e3:8.2f} ms  {BATCH / t:8.0f} images/s")
    print(f"  ratio torch/ours   : {t / o:.2f}x")


if __name__ == "__main__":
    main()
