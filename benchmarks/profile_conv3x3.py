"""Where the 3x3 stride-1 pad-1 convolution of ResNet-20's shapes spends its time, piece by piece,
against torch's conv2d forward and backward on the same shapes (issue 16).

    python benchmarks/profile_conv3x3.py [--batch 32 128] [--threads 1] [--repeats 10]

For each shape (N x C x 32x32 / 16x16 / 8x8, F = C in 16, 32, 64) it times, by the process's CPU
time (``time.process_time``, all threads) and in one process: our conv_forward and conv_backward
whole, and their pieces called the way conv.py calls them (im2col, the forward product, the bias
epilogue; the backward's dy gather, im2col, dW product, dX product, col2im; and, where the tree
has it, the pixel-major path's transposes, im2row, products and transposing epilogue), then torch's
F.conv2d and its autograd backward (dx, dW, db). Medians over ``--repeats`` calls after 2
warm-up calls. The machine's load is printed; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, nargs="+", default=[32, 128])
ap.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=10)
ap.add_argument("--no-torch", action="store_true")
ap.add_argument("--tree", help="the layergraph source tree to import (default: this checkout)")
args = ap.parse_args()
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
sys.path.insert(0, args.tree or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from layergraph.kernels.cpu import conv as cv  # noqa: E402
from layergraph.kernels.cpu._parallel import blas_threads  # noqa: E402

SIZES = {16: 32, 32: 16, 64: 8}  # ResNet-20: channels -> spatial size of the stage


def cpu_ms(fn, repeats):
    for _ in range(2):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return float(np.median(ts)) * 1e3


def pieces(n, c, hw, repeats):
    r = np.random.default_rng(0)
    x = r.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = r.standard_normal((c, c, 3, 3)).astype(np.float32)
    b = r.standard_normal(c).astype(np.float32)
    dy = r.standard_normal((n, c, hw, hw)).astype(np.float32)
    K, P = c * 9, hw * hw
    out = {}
    out["forward"] = cpu_ms(lambda: cv.conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1), repeats)
    out["backward"] = cpu_ms(lambda: cv.conv_backward(dy, x, w, 1, 1, 1, 1, 1, 1, 1, 1), repeats)
    # the forward's pieces over the whole batch, in blocks of _SUB observations
    sub = cv._SUB
    cols = np.empty((sub, K, P), np.float32)
    y = np.empty((n, c, P), np.float32)
    w2 = w.reshape(c, K)

    def f_im2col():
        for s in range(0, n, sub):
            cv._im2col(x[s:s + sub], 3, 3, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, cols[:min(sub, n - s)], False)

    def f_gemm():
        for s in range(0, n, sub):
            np.matmul(w2, cols[:min(sub, n - s)], out=y[s:s + sub])

    out["fwd im2col"] = cpu_ms(f_im2col, repeats)
    with blas_threads(1):
        out["fwd GEMM"] = cpu_ms(f_gemm, repeats)
    out["fwd bias"] = cpu_ms(lambda: cv._bias_act(y, b, False, np.float32(np.inf)), repeats)
    # the backward's pieces, in chunks of _SUB_B observations
    sb = cv._SUB_B
    c3 = np.empty((K, sb, P), np.float32)
    c2 = c3.reshape(K, sb * P)
    d2 = np.empty((c, sb * P), np.float32)
    dws = np.empty((K, c), np.float32)
    dx = np.empty_like(x)
    sums = np.zeros(c)
    dy3 = dy.reshape(n, c, P)

    def b_gather():
        for s in range(0, n, sb):
            cv._gather_rows(dy3[s:s + sb], d2, sums)

    def b_im2col():
        for s in range(0, n, sb):
            cv._im2col(x[s:s + sb], 3, 3, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, c3, True)

    def b_dw():
        for s in range(0, n, sb):
            np.matmul(c2, d2.T, out=dws)

    def b_dx():
        for s in range(0, n, sb):
            np.matmul(w2.T, d2, out=c2)

    def b_col2im():
        for s in range(0, n, sb):
            cv._col2im(c3, 3, 3, 1, 1, 1, 1, 1, 1, hw, hw, True, dx[s:s + sb])

    out["bwd gather dy"] = cpu_ms(b_gather, repeats)
    out["bwd im2col"] = cpu_ms(b_im2col, repeats)
    with blas_threads(1):
        out["bwd dW GEMM"] = cpu_ms(b_dw, repeats)
        out["bwd dX GEMM"] = cpu_ms(b_dx, repeats)
    out["bwd col2im"] = cpu_ms(b_col2im, repeats)
    if hasattr(cv, "_im2row"):  # the pixel-major path's pieces (where this tree has it), same blocks as conv.py
        rs = cv._rows_sub(P)
        xt = np.empty((rs * P, c), np.float32)
        rows = np.empty((rs * P, K), np.float32)
        yt = np.empty((rs * P, c), np.float32)
        wr = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(K, c))
        c3r = np.empty((K, rs, P), np.float32)
        none = np.zeros(0)

        def blocks(fn):
            return lambda: [fn(s, min(s + rs, n)) for s in range(0, n, rs)]

        def r_im2row(s0, s1):
            cv._im2row(xt[:(s1 - s0) * P], s1 - s0, hw, hw, 3, 3, 1, 1, 1, 1, 1, 1, 0.0, hw, hw, rows[:(s1 - s0) * P])

        out["rows: to_rows x / dy"] = cpu_ms(blocks(lambda s0, s1: cv._to_rows(x.reshape(n, c, P)[s0:s1],
                                                                                xt[:(s1 - s0) * P], none, False)),
                                             repeats)
        out["rows: im2row"] = cpu_ms(blocks(r_im2row), repeats)
        with blas_threads(1):
            out["rows: fwd / dX GEMM"] = cpu_ms(blocks(lambda s0, s1: np.matmul(rows[:(s1 - s0) * P], wr,
                                                                                 out=yt[:(s1 - s0) * P])), repeats)
            out["rows: dW GEMM"] = cpu_ms(blocks(lambda s0, s1: np.matmul(c3r.reshape(K, rs * P)[:, :(s1 - s0) * P],
                                                                           yt[:(s1 - s0) * P], out=dws)), repeats)
        top = np.float32(np.inf)
        out["rows: from_rows"] = cpu_ms(blocks(lambda s0, s1: cv._from_rows(yt[:(s1 - s0) * P], b, False, top,
                                                                            y[s0:s1])), repeats)
    if not args.no_torch:
        import torch
        torch.set_num_threads(args.threads)
        tx = torch.from_numpy(x).requires_grad_(True)
        tw = torch.from_numpy(w).requires_grad_(True)
        tb = torch.from_numpy(b).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def t_fwd():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, padding=1)

        yy = [None]

        def t_bwd():
            torch.autograd.grad(yy[0], (tx, tw, tb), tdy, retain_graph=True)

        out["torch forward"] = cpu_ms(t_fwd, repeats)
        yy[0] = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
        out["torch backward"] = cpu_ms(t_bwd, repeats)
    return out


print(f"CPU time ms (all threads), {args.threads} thread(s), median of {args.repeats}; "
      f"load average {os.getloadavg()[0]:.2f} before")
rows = []
for n in args.batch:
    for c in args.channels:
        res = pieces(n, c, SIZES[c], args.repeats)
        rows.append((f"{n}x{c}x{SIZES[c]}x{SIZES[c]}", res))
keys = list(rows[0][1])
print("| shape | " + " | ".join(keys) + " |")
print("|---|" + "---|" * len(keys))
for name, res in rows:
    print(f"| {name} | " + " | ".join(f"{res[k]:.2f}" for k in keys) + " |")
print(f"load average {os.getloadavg()[0]:.2f} after")
