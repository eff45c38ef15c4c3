"""predict() of the seed CNN with ExecutionEnvironment 'gpu' against PyTorch CUDA and against
layergraph's own 'cpu' predict, float32, batches of 128 and 1024 (one mini-batch each).

    python benchmarks/bench_gpu_predict.py --threads 16 [--repeat 20] [--rounds 1]
    python benchmarks/bench_gpu_predict.py --profile      # per-layer times of the 'gpu' path

The network (nets.py's seed CNN): 32 x 32 x 3 input, conv 3 x 3 x 16 pad 1, BN, ReLU, max
pool 2 / 2, conv 3 x 3 x 32 pad 1, BN, ReLU, fc 10, softmax, classification output. Sides (each in its own
process, _harness.py):
  layergraph_gpu      predict(net, X, ExecutionEnvironment='gpu'): MATLAB-layout H x W x C x N
                      host data in, N x 10 host scores out (the user's path)
  layergraph_gpu_fwd  the same executor on N x C x H x W host data (no MATLAB-layout conversion
                      or input checks): the part that the CUDA kernels and copies decide
  layergraph_cpu      predict(net, X) on the CPU kernels, --threads threads
  torch_host          nn.Sequential (eval, inference_mode) on N x C x H x W host data:
                      .cuda(), forward, .cpu()
  torch_device        the same with the input already on the GPU, ended by a synchronize
Needs a CUDA GPU and a CUDA build of PyTorch (the simulator would time Python threads).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

CASES = [[128], [1024]]


def _net():
    from layergraph import assembleNetwork, classificationLayer
    d = nets.dlnet("seed")
    return assembleNetwork(list(d.Layers) + [classificationLayer("Classes", [str(i) for i in range(10)])])


def _images(n):
    return nets.matlab_data("seed", n)[0]


def _ours(env):
    def side(case, repeat, warmup):
        from layergraph import predict
        net, X = _net(), _images(case[0])
        return timed(lambda: predict(net, X, ExecutionEnvironment=env, MiniBatchSize=case[0]), repeat, warmup)
    return side


def ours_forward(case, repeat, warmup):
    net, X = _net(), _images(case[0])
    ex = net.executor("cuda")
    x = np.ascontiguousarray(X.transpose(3, 2, 0, 1))
    name = ex.input_names[0]
    return timed(lambda: ex.forward({name: x}), repeat, warmup)


def _torch(resident):
    def side(case, repeat, warmup):
        import torch
        import torch.nn as nn
        net = nn.Sequential(nets.torch_module("seed"), nn.Softmax(dim=1)).cuda().eval()
        x = torch.from_numpy(np.ascontiguousarray(_images(case[0]).transpose(3, 2, 0, 1)))
        xd = x.cuda()

        def step():
            with torch.inference_mode():
                if resident:
                    net(xd)
                    torch.cuda.synchronize()
                else:
                    net(x.cuda()).cpu()
        return timed(step, repeat, warmup)
    return side


def profile():
    """Per-layer wall times of one 'gpu' forward (each kernel followed by a synchronize)."""
    from numba import cuda

    from layergraph.core import executor as E
    from layergraph.kernels import cuda as K
    for n in (128, 1024):
        net, X = _net(), _images(n)
        ex = net.executor("cuda")
        x = np.ascontiguousarray(X.transpose(3, 2, 0, 1))
        times = {}

        def timed_kernel(family, op, _k=E.Executor.k):
            fn = _k(ex, family, op)

            def run(*a, **kw):
                cuda.synchronize()
                t = time.perf_counter()
                out = fn(*a, **kw)
                cuda.synchronize()
                times[family] = times.get(family, 0.0) + time.perf_counter() - t
                return out
            return run

        def timed_copy(name, fn):
            def run(a):
                t = time.perf_counter()
                out = fn(a)
                cuda.synchronize()
                times[name] = times.get(name, 0.0) + time.perf_counter() - t
                return out
            return run

        ex.forward({ex.input_names[0]: x})  # compile and upload the parameters
        ex.k = timed_kernel
        up, down = K.to_device, K.to_host
        K.to_device, K.to_host = timed_copy("copy to device", up), timed_copy("copy to host", down)
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            ex.forward({ex.input_names[0]: x})
        total = (time.perf_counter() - t0) / reps
        K.to_device, K.to_host = up, down
        from layergraph.matlab.data import to_internal
        t = time.perf_counter()
        for _ in range(5):
            to_internal(X, net.analysis.info(ex.input_names[0]).ActivationSizes["out"], "in", np.float32)
        layout = (time.perf_counter() - t) / 5
        print(f"batch {n}: forward {total * 1e3:.2f} ms per batch (synchronized per kernel); "
              f"MATLAB-layout conversion and checks (to_internal) {layout * 1e3:.2f} ms")
        for k, v in sorted(times.items(), key=lambda kv: -kv[1]):
            print(f"  {k:<16} {v / reps * 1e3:8.3f} ms")


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        main(__file__, {"layergraph_gpu": _ours("gpu"), "layergraph_gpu_fwd": ours_forward,
                        "layergraph_cpu": _ours("cpu"), "torch_host": _torch(False), "torch_device": _torch(True)},
             CASES, "layergraph_gpu", lambda c: f"seed CNN, batch {c[0]}", repeat=20, warmup=3)
