"""The CUDA kernel set's table, its import without a GPU, and the simulator's side effects."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import layergraph.kernels.cuda as K

pytestmark = pytest.mark.cuda

FAMILIES = ["batchnorm", "relu", "leakyrelu", "clippedrelu", "elu", "tanh", "sigmoid", "swish",
            "gelu", "maxpool", "avgpool", "conv", "fc", "softmax", "addition", "hardsigmoid", "hardswish",
            "lstm", "gru"]
OPERATIONS = ["forward_train", "forward_infer", "backward"]


def test_kernel_table_is_complete():
    assert set(K.KERNELS) == {(f, o) for f in FAMILIES for o in OPERATIONS}
    assert all(callable(fn) for fn in K.KERNELS.values())
    assert K.KERNELS[("relu", "forward_train")] is K.KERNELS[("relu", "forward_infer")]
    assert K.KERNELS[("avgpool", "forward_train")] is K.KERNELS[("avgpool", "forward_infer")]
    assert K.KERNELS[("maxpool", "forward_train")] is K.maxpool_forward_train
    assert K.KERNELS[("batchnorm", "forward_infer")] is K.bn_forward_infer


def test_cuda_tests_really_run():
    # tests/conftest.py turns the simulator on where no GPU is attached, so this suite
    # always has a device to run on instead of being skipped.
    from numba import cuda
    assert cuda.is_available()


def test_njit_unaffected_by_simulator():
    from numba import njit, prange

    @njit(cache=True, parallel=True)
    def total(a):
        s = 0.0
        for i in prange(a.size):
            s += a[i]
        return s

    assert total(np.arange(10.0)) == 45.0
    assert "CPUDispatcher" in type(total).__name__


_NO_DEVICE_SCRIPT = """
import sys
import numpy as np
import layergraph.kernels.cuda as K
assert len(K.KERNELS) == 57  # 45 + hardsigmoid, hardswish (issue 12) + lstm, gru (issue 13)
lazy = [m for m in ("_bn_kernels", "_act_kernels", "_pool_kernels", "_conv_kernels", "_dense_kernels",
                    "_recurrent_kernels")
        if "layergraph.kernels.cuda." + m in sys.modules]
assert not lazy, lazy
from numba import cuda
if cuda.is_available():
    K.relu_forward(np.ones(3, np.float32))
    print("ran on a GPU")
else:
    try:
        K.relu_forward(np.ones(3, np.float32))
    except K.CudaUnavailableError as e:
        assert "NUMBA_ENABLE_CUDASIM=1" in str(e), e
        print("clear error")
"""


def test_import_without_gpu_or_simulator():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", _NO_DEVICE_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).parents[3])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("ran on a GPU", "clear error")


def test_kernel_closures_are_cacheable():
    # cache=True hashes each kernel's closure into its cache key: the cells must pickle, and
    # the float32 and float64 builds of a kernel with dtype constants must not share a key
    # (a kernel without a closure is told apart by its argument types, as any function is).
    from numba.core.serialize import dumps

    from layergraph.kernels.cuda import _act_kernels, _bn_kernels, _conv_kernels, _dense_kernels, _pool_kernels

    def closure_bytes(kernel):
        fn = getattr(kernel, "py_func", None) or kernel.fn
        return dumps(tuple(c.cell_contents for c in fn.__closure__ or ()))

    for module in (_bn_kernels, _act_kernels, _pool_kernels, _conv_kernels, _dense_kernels):
        k32, k64 = module.kernels("float32"), module.kernels("float64")
        assert k32.keys() == k64.keys()
        for name in k32:
            b32, b64 = closure_bytes(k32[name]), closure_bytes(k64[name])
            assert b32 != b64 or b32 == dumps(()), name


def test_kernels_compile_for_a_real_gpu():
    # The simulator runs kernels as plain Python, so code that the CUDA target rejects (or
    # float32 kernels that silently compute in float64) would pass every other test here.
    # ptx_check.py compiles each kernel to PTX for sm_90 with NVVM; no GPU is needed.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    # a script's own folder comes first on sys.path: name this checkout's package explicitly
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[3]), env.get("PYTHONPATH", "")])
    script = Path(__file__).with_name("ptx_check.py")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).parents[3])
    if out.returncode == 3:
        pytest.skip(f"no CUDA toolkit (NVVM) to compile with: {out.stdout.strip()}")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1", reason="simulator only")
def test_simulator_gives_a_block_one_shared_array(monkeypatch):
    # numba's simulator hands out cuda.shared.array with an unlocked get-then-set, so two
    # threads of a launch's first block could get different arrays; the BN reductions then
    # summed a private copy and got a whole channel wrong (about 1 run of the BN test file in
    # 12). The test set-up (tests/conftest.py, not the library) makes the lookup atomic. Here a
    # lookup that sleeps (and so yields the GIL) between its get and its set widens that window
    # from about a microsecond to a millisecond: without the fix nearly every thread of the
    # first block gets its own array.
    from numba.cuda.simulator import kernelapi

    from layergraph.kernels.cuda import _runtime

    _runtime.cuda_module()
    assert getattr(kernelapi.FakeCUDAShared.array, "_layergraph_atomic", False)

    class SlowLookups(dict):
        def get(self, key, default=None):
            value = dict.get(self, key, default)
            time.sleep(1e-3)
            return value

    init = kernelapi.FakeCUDAShared.__init__

    def slow_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._allocations = SlowLookups(self._allocations)

    monkeypatch.setattr(kernelapi.FakeCUDAShared, "__init__", slow_init)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5)) * 2 + 3
    dy = rng.standard_normal(x.shape)
    scale, offset = np.ones(3), np.zeros(3)
    _, mean, var = K.bn_forward_train(x, scale, offset, 1e-5)
    np.testing.assert_allclose(mean, x.mean((0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(var, x.var((0, 2, 3)), rtol=1e-12)
    _, dscale, doffset = K.bn_backward(dy, x, scale, mean, var, 1e-5)
    np.testing.assert_allclose(doffset, dy.sum((0, 2, 3)), rtol=1e-12)
    xhat = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(dscale, (dy * xhat).sum((0, 2, 3)), rtol=1e-10)
