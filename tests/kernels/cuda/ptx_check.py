"""Compile every CUDA kernel for a real GPU (sm_90) with cuda.compile_ptx; no GPU needed.

Run as a script with NUMBA_ENABLE_CUDASIM unset (test_cuda_runtime.py does). The simulator
runs kernels as Python and accepts code the CUDA target rejects; this catches that, and checks
that float32 kernels do no float64 arithmetic. Prints one line per failure and a summary.
Exit status 0: all compiled; 1: failures; 3: no NVVM (CUDA toolkit) to compile with.
"""
import sys
import types

import numba.cuda.api
import numba.cuda.dispatcher
import numpy as np
from numba import cuda, typeof

# Device functions are compiled for the current device's compute capability; with no GPU
# there is none, so name one (an H100).
_device = types.SimpleNamespace(compute_capability=(9, 0))
numba.cuda.api.get_current_device = numba.cuda.dispatcher.get_current_device = lambda: _device

# After the stub: it must be in place before anything in the kernel modules can compile.
from layergraph.kernels.cuda import _act_kernels, _bn_kernels, _conv_kernels, _dense_kernels, _pool_kernels  # noqa: E402


def cases(dt):
    v, m, i64, s = np.empty(8, dt), np.empty((2, 2), dt), np.empty(8, np.int64), np.dtype(dt).type(1)
    bn, pk, ak = _bn_kernels.kernels(dt), _pool_kernels.kernels(dt), _act_kernels.kernels(dt)
    geom = (1,) * 10
    yield bn["stats_partial"], (v, 1, 1, 1, 1, m, m)
    yield bn["stats_combine"], (m, m, 1, 1, v, v)
    yield bn["normalize"], (v, 1, 1, 1, v, v, v, v, s, v)
    yield bn["grad_partial"], (v, v, 1, 1, 1, 1, v, m, m)
    yield bn["grad_combine"], (m, m, v, s, v, v)
    yield bn["grad_input"], (v, v, 1, 1, 1, v, v, v, s, v, v, v)
    yield pk["maxpool_forward"], (v, *geom, v, i64, True)
    yield pk["maxpool_backward"], (v, i64, 1, 1, v)
    yield pk["avgpool_forward"], (v, *geom, True, v)
    yield pk["avgpool_backward"], (v, *geom, True, v)
    ck, dk = _conv_kernels.kernels(dt), _dense_kernels.kernels(dt)
    yield ck["conv_forward"], (v, v, v, True, *(1,) * 15, 0, s, v)
    yield ck["im2col"], (v, *(1,) * 14, 0, s, v)
    yield ck["swap_leading"], (v, 1, 1, 1, v)
    yield ck["conv_grad_input"], (v, v, *(1,) * 15, v)
    yield ck["fold_border"], (v, 1, 1, 1, 1, 0, v)
    yield dk["dot_rows"], (v, 1, 1, v, 1, 1, 1, 1, 1, v, True, v)
    yield dk["softmax_forward"], (v, 1, 1, v)
    yield dk["softmax_backward"], (v, v, 1, 1, v)
    yield dk["add"], (v, v, v)
    yield dk["copy"], (v, v)
    yield dk["fill"], (v, s)
    from layergraph.core.registry import ELEMENTWISE
    from layergraph.kernels._scalar import Elementwise
    for family, entry in ELEMENTWISE.items():  # kernel(x, hp, y) and kernel(dy, <reads>, hp, dx)
        math = Elementwise(*entry.elementwise)
        hp = (s,) * len(math.hyper)
        yield ak[f"{family}_forward"], (v, hp, v)
        yield ak[f"{family}_backward"], (v,) * (1 + len(math.reads)) + (hp, v)


def main():
    try:
        cuda.cudadrv.nvvm.NVVM()
    except Exception as e:  # no CUDA toolkit: nothing to compile with
        print(f"no NVVM: {e}")
        return 3
    failures = compiled = 0
    for dt in ("float32", "float64"):
        for kernel, args in cases(dt):
            name = f"{dt} {kernel.py_func.__name__}"
            try:
                ptx, _ = cuda.compile_ptx(kernel.py_func, tuple(typeof(a) for a in args), cc=(9, 0))
            except Exception as e:
                failures += 1
                print(f"FAIL {name}: {type(e).__name__}: {str(e)[:400]}")
                continue
            compiled += 1
            if dt == "float32" and ".f64" in ptx:
                failures += 1
                print(f"FAIL {name}: float64 instructions in a float32 kernel")
    print(f"compiled {compiled}, failures {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
