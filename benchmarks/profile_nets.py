"""Where a suite network's training step and prediction spend their time, per kind of kernel
(ResNet-20's 3x3 convolutions by shape, the 1x1 and first convolutions, batch normalization,
ReLU, addition, pooling, fully connected), ours against torch's (issue 16).

    python benchmarks/profile_nets.py [--net resnet20] [--batch 32] [--threads 1] [--steps 10] [--tree DIR]

Ours: every op method the executor calls (forward, backward, the fused forms) is wrapped with a
timer of the process's CPU time (``time.process_time``, all threads) and of the wall time (with
more than one thread their ratio is how many cores the op kept busy), labelled by the op and
the shape of its input; what the step took outside them (loss, SGD update, the executor's own
work) is the remainder. Torch: ``torch.profiler`` over the same number of steps, the CPU time of
its top-level aten operators grouped the same way (torch's profiler measures each operator's
wall time on its thread; with 1 thread on a machine where we hold a core that is its CPU time).
Both: medians of whole steps, per-step means of each row. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--net", default="resnet20")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--no-torch", action="store_true")
ap.add_argument("--tree", help="the layergraph source tree to import (default: this checkout)")
args = ap.parse_args()
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, args.tree or os.path.dirname(HERE))

import numpy as np  # noqa: E402
import nets  # noqa: E402


def conv_label(cin, cout, kh, stride, hw):
    if cin == 3:
        return f"conv first 3->{cout} {kh}x{kh} @{hw}"
    if kh == 1:
        return f"conv 1x1 s{stride} {cin}->{cout} @{hw}"
    return f"conv 3x3 s{stride} {cin}->{cout} @{hw}"


def our_label(op, x):
    fam = getattr(op.layer, "family", type(op).__name__)
    if getattr(op, "x_nhwc", False) and getattr(x, "ndim", 0) == 4:   # pixel-major (training's plan): N x H x W x C
        x = x.transpose(0, 3, 1, 2)
    if type(op).__name__ == "ConvOp":
        L = op.layer
        if not hasattr(L, "NumFilters"):   # a grouped (MobileNet: channel-wise) convolution
            return f"conv {int(L.FilterSize[0])}x{int(L.FilterSize[0])} s{int(L.Stride[0])} grouped @{x.shape[2]}"
        return conv_label(x.shape[1], int(L.NumFilters), int(L.FilterSize[0]), int(L.Stride[0]), x.shape[2])
    return str(fam)


def profile_ours(training):
    parts, net = nets.train_step(args.net, args.batch)
    ex = parts.ex
    acc = collections.defaultdict(float)
    wall = collections.defaultdict(float)

    def wrap(op, attr):
        fn = getattr(op, attr, None)
        if fn is None:
            return

        def timed(k, a0, *a, **kw):
            x = a0[0] if isinstance(a0, (list, tuple)) else a0
            if attr == "forward_pixel_major" and a[0]:   # pixel-major x: label by its N x C x H x W
                x = x.transpose(0, 3, 1, 2)
            if attr.startswith("backward") and type(op).__name__ == "ConvOp":
                x = a[0]  # a convolution's ctx is its input
            t0, w0 = time.process_time(), time.perf_counter()
            r = fn(k, a0, *a, **kw)
            dt, dw = time.process_time() - t0, time.perf_counter() - w0
            if attr.startswith("backward"):
                lab = our_label(op, x) + " (backward)"
            else:
                lab = our_label(op, x) + (" (+BN)" if attr == "forward_fused" and kw.get("bn") else "")
                lab += " (pixel-major)" if attr == "forward_pixel_major" else ""
                lab += " (+residual)" if kw.get("residual") is not None or attr == "forward_train_residual" else ""
            acc[lab] += dt
            wall[lab] += dw
            return r
        setattr(op, attr, timed)

    for s in ex.steps:
        for attr in ("forward", "backward", "forward_fused", "forward_train_fused", "backward_fused",
                     "forward_pixel_major", "forward_train_residual"):
            wrap(s.op, attr)
    if training:
        def run():
            parts()
    else:
        xin = {parts.inp: parts.x}

        def run():
            ex.forward(xin, training=False)
    for _ in range(3):
        run()
    acc.clear()
    wall.clear()
    whole, whole_wall = [], []
    for _ in range(args.steps):
        t0, w0 = time.process_time(), time.perf_counter()
        run()
        whole.append(time.process_time() - t0)
        whole_wall.append(time.perf_counter() - w0)
    per = {k: (v / args.steps * 1e3, wall[k] / args.steps * 1e3) for k, v in acc.items()}
    return per, (float(np.mean(whole)) * 1e3, float(np.mean(whole_wall)) * 1e3)


def profile_torch(training):
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function
    if training:
        step, net = nets.torch_train_step(args.net, args.batch)
    else:
        _, net = nets.torch_train_step(args.net, args.batch)
        step = nets.torch_predictor(net, args.net, args.batch)
    for m in net.modules():  # each convolution's forward under its own label (the stride is not in the shapes)
        if isinstance(m, torch.nn.Conv2d):
            def fwd(x, m=m, orig=m.forward):
                with record_function(conv_label(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0],
                                                x.shape[2])):
                    return orig(x)
            m.forward = fwd
    for _ in range(3):
        step()
    whole = []
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(args.steps):
            t0 = time.process_time()
            step()
            whole.append(time.process_time() - t0)
    acc = collections.defaultdict(float)
    for ev in prof.key_averages(group_by_input_shape=True):
        name, shapes = ev.key, ev.input_shapes
        t = ev.cpu_time_total / 1e3 / args.steps  # ms per step, the operator and what it calls
        if name.startswith("conv "):
            acc[name] += t
        elif name == "aten::convolution_backward" and shapes and len(shapes[1]) == 4:
            n, c, h, w = shapes[1]  # (dy, x, w, ...): the stride is x's size over dy's
            f, _, kh, _ = shapes[2]
            acc[conv_label(c, f, kh, h // shapes[0][2], h) + " (backward)"] += t
        elif name in ("aten::batch_norm",):
            acc["batchnorm"] += t
        elif name in ("aten::native_batch_norm_backward",):
            acc["batchnorm (backward)"] += t
        elif name in ("aten::relu", "aten::relu_"):
            acc["relu"] += t
        elif name == "aten::threshold_backward":
            acc["relu (backward)"] += t
        elif name in ("aten::add", "aten::add_") and shapes and shapes[0] and len(shapes[0]) == 4:
            acc["addition"] += t
        elif name in ("aten::adaptive_avg_pool2d", "aten::max_pool2d"):
            acc["pooling"] += t
        elif name in ("aten::linear",):
            acc["fc"] += t
    return dict(acc), float(np.median(whole)) * 1e3


print(f"{args.net}, batch {args.batch}, {args.threads} thread(s), {args.steps} steps; CPU ms per step; "
      f"load average {os.getloadavg()[0]:.2f} before")
for training in ((False,) if os.environ.get("PROFILE_PREDICT_ONLY") else (True, False)):
    ours, ours_whole = profile_ours(training)
    th, th_whole = ({}, float("nan")) if args.no_torch else profile_torch(training)
    what = "training step" if training else "prediction"
    print(f"\n{what}: layergraph {ours_whole[0]:.1f} ms CPU, {ours_whole[1]:.1f} ms wall; torch {th_whole:.1f} ms "
          "(whole, CPU time)")
    print("| kernel | layergraph CPU ms | layergraph wall ms | torch ms |")
    print("|---|---|---|---|")
    keys = sorted(set(ours) | set(th), key=lambda k: -ours.get(k, (0.0, 0.0))[0])
    for k in keys:
        a, b = ours.get(k), th.get(k)
        mine = " | " if a is None else f"{a[0]:.2f} | {a[1]:.2f}"
        print(f"| {k} | {mine} | {'' if b is None else f'{b:.2f}'} |")
    rest = [ours_whole[i] - sum(v[i] for v in ours.values()) for i in (0, 1)]
    print(f"| (outside the ops: loss, update, executor) | {rest[0]:.2f} | {rest[1]:.2f} | |")
print(f"\nload average {os.getloadavg()[0]:.2f} after")
