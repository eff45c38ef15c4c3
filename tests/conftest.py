"""Suite-wide setup: run the numba.cuda kernel tests on the CUDA simulator when no GPU is attached.

numba reads NUMBA_ENABLE_CUDASIM once, when numba is first imported, and numba.cuda picks
the simulator or the real driver when it is first imported. pytest imports this file before
any test module, so setting the variable here reaches every import that follows. Without it
the plain `pytest` run (the README's command) could not run tests/kernels/cuda on a machine
without a GPU. The simulator only changes numba.cuda; @njit CPU code compiles as usual
(tests/kernels/cuda/test_cuda_runtime.py checks that).

Under the simulator it also fixes a race in numba's simulated shared memory (below), which
made the batch-norm kernel tests fail about once in a dozen runs. The fix lives here, in the
test set-up, and not in the library: layergraph never patches numba.
"""
import ctypes
import os
import sys
import threading


def _gpu_attached():
    # Ask the driver directly; importing numba here would freeze its config too early.
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    return False


if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _gpu_attached():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    if "numba" in sys.modules:  # a plugin imported numba first; numba.cuda decides on its own import
        sys.modules["numba"].core.config.reload_config()


def _make_simulator_shared_arrays_atomic() -> bool:
    """Under numba's CUDA simulator, give every thread of a block the same shared array.

    The simulator (numba 0.68.1, numba/cuda/simulator/kernelapi.py, FakeCUDAShared.array)
    runs each GPU thread as a Python thread and hands out a static ``cuda.shared.array`` with
    an unlocked check-then-act on a dict keyed by the calling line::

        res = self._allocations.get(caller)
        if res is None:
            res = np.empty(shape, dtype)
            self._allocations[caller] = res

    Two threads of a launch's first block that both see None get two different arrays, so
    one thread's writes land in a private copy: a tree reduction then sums garbage and, in
    batch normalization, a whole channel's statistics (and so its outputs) come out wrong,
    about once in a few hundred launches with the tests' short GIL switch interval. A real
    GPU has one shared buffer per block and no such race. This replaces the method with the
    same lookup (same key: the calling line) under a lock. Returns True when installed.
    """
    from numba.core import config
    if not config.ENABLE_CUDASIM:
        return False

    import numpy as np
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    cls = kernelapi.FakeCUDAShared
    if getattr(cls.array, "_layergraph_atomic", False):
        return True
    original = cls.array
    lock = threading.Lock()

    def array(self, shape, dtype, *args, **kwargs):
        if shape == 0:  # dynamic shared memory: one preallocated buffer, no race
            return original(self, shape, dtype, *args, **kwargs)
        frame = sys._getframe(1)
        caller = (frame.f_code.co_filename, frame.f_lineno)  # the original's key
        np_dtype = numpy_support.as_dtype(dtype) if isinstance(dtype, types.Type) else dtype
        with lock:
            res = self._allocations.get(caller)
            if res is None:
                res = np.empty(shape, np_dtype)
                self._allocations[caller] = res
        return res

    array._layergraph_atomic = True
    array.__doc__ = original.__doc__
    cls.array = array
    return True


# Installed now, before any test module imports numba.cuda and launches a kernel (the wolfram
# and matlab GPU tests run simulated kernels too, not only tests/kernels/cuda).
_make_simulator_shared_arrays_atomic()
