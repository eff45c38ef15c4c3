"""Suite-wide setup: run the numba.cuda kernel tests on the CUDA simulator when no GPU is attached.

numba reads NUMBA_ENABLE_CUDASIM once, when numba is first imported, and numba.cuda picks
the simulator or the real driver when it is first imported. pytest imports this file before
any test module, so setting the variable here reaches every import that follows. Without it
the plain `pytest` run (the README's command) could not run tests/kernels/cuda on a machine
without a GPU. The simulator only changes numba.cuda; @njit CPU code compiles as usual
(tests/kernels/cuda/test_runtime.py checks that).
"""
import ctypes
import os
import sys


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
