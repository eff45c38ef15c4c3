"""numba's OpenMP threads and numpy's OpenBLAS threads on one small machine: time a conv
forward (OpenBLAS product) and a batch-norm forward (numba prange) alone and back to back.

    python benchmarks/bench_thread_contention.py
    GOMP_SPINCOUNT=10000 python benchmarks/bench_thread_contention.py

Each configuration runs in a fresh process (the runtimes read their settings at load)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import timed  # noqa: E402

CONFIGS = [
    {},
    {"GOMP_SPINCOUNT": "10000"},
    {"GOMP_SPINCOUNT": "10000", "OPENBLAS_THREAD_TIMEOUT": "4"},
    {"OMP_WAIT_POLICY": "PASSIVE"},
    {"OPENBLAS_NUM_THREADS": "1"},
    {"NUMBA_NUM_THREADS": "1"},
    {"MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_MMAP_THRESHOLD_": "1000000000"},
    {"MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_MMAP_THRESHOLD_": "1000000000", "OMP_WAIT_POLICY": "PASSIVE"},
    {"MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_MMAP_THRESHOLD_": "1000000000", "GOMP_SPINCOUNT": "10000"},
]


def child():
    import numpy as np

    from layergraph.kernels.cpu import conv, norm
    r = np.random.default_rng(0)
    x = r.standard_normal((128, 3, 32, 32)).astype(np.float32)
    w = r.standard_normal((16, 3, 3, 3)).astype(np.float32)
    s, o = np.ones(16, np.float32), np.zeros(16, np.float32)
    y = conv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1)

    def med(f, n=30):
        return statistics.median(timed(f, n, 5)) * 1e3

    c = med(lambda: conv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1))
    b = med(lambda: norm.bn_forward_train(y, s, o, 1e-5))
    cb = med(lambda: (conv.conv_forward(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1), norm.bn_forward_train(y, s, o, 1e-5)))
    print(f"{c:.2f} {b:.2f} {cb:.2f}")


def main():
    base = dict(os.environ)
    for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        base[v] = "2"
    print(f"# 1-min load average {os.getloadavg()[0]:.2f}; 128x3x32x32 conv 3x3 -> 16, then batch norm; "
          "ms, median of 30")
    print("| extra environment | conv alone | BN alone | conv then BN | overhead |")
    print("|---|---|---|---|---|")
    for extra in CONFIGS:
        env = dict(base, **extra)
        out = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        c, b, cb = (float(v) for v in out)
        label = " ".join(f"{k}={v}" for k, v in extra.items()) or "(none)"
        print(f"| {label} | {c:.2f} | {b:.2f} | {cb:.2f} | {cb - c - b:+.2f} |")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
