"""Device check, host <-> device argument handling and launch sizes for the CUDA kernel set.

Nothing here imports numba at module import: ``import layergraph.kernels.cuda`` must work on
a machine without a GPU, without a CUDA driver and without the simulator. numba.cuda is
imported (and kernels are compiled) on the first call of a kernel function.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

# Launch-size limits. Module attributes rather than constants so that the tests can shrink
# them and exercise the grid-stride and multi-block paths with tiny arrays on the simulator.
MAX_THREADS = 256          # threads per block, elementwise kernels (a multiple of 32)
MAX_BLOCKS = 4096          # blocks per grid; larger arrays are covered by grid-stride loops
REDUCE_THREADS = 256       # threads per block for reductions: a power of two, <= SMEM_SIZE
REDUCE_ITEMS = 8           # elements each reduction thread sums before the tree reduction
MAX_PARTIALS = 256         # blocks per channel in a BN reduction: a power of two, <= SMEM_SIZE
SMEM_SIZE = 256            # compile-time size of the shared-memory reduction buffers

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class CudaUnavailableError(RuntimeError):
    """Neither a CUDA GPU nor the numba CUDA simulator is available."""


_checked = False


def cuda_module():
    """numba.cuda, after checking that a device (real or simulated) is there to run on."""
    global _checked
    from numba import cuda
    if not _checked:
        if not cuda.is_available():
            reason = ""
            try:
                err = cuda.cuda_error()
                if err is not None:
                    reason = " (" + " ".join(str(err).split()) + ")"
            except Exception:  # the reason is a courtesy; the error below is what matters
                pass
            raise CudaUnavailableError(
                "layergraph.kernels.cuda needs a CUDA GPU, and numba.cuda found none"
                f"{reason}. To run these kernels on the CPU through numba's CUDA simulator "
                "(slow; meant for tests), set the environment variable NUMBA_ENABLE_CUDASIM=1 "
                "before numba is first imported, e.g. `NUMBA_ENABLE_CUDASIM=1 python ...`; "
                "otherwise use the CPU kernel set, layergraph.kernels.cpu.")
        _checked = True
    return cuda


def is_device_array(a) -> bool:
    """True for numba device arrays (real or simulated) and other CUDA-array-interface objects."""
    return bool(getattr(a, "__cuda_ndarray__", False)) or hasattr(a, "__cuda_array_interface__")


def _c_contiguous(a) -> bool:
    check = getattr(a, "is_c_contiguous", None)
    return bool(check()) if check is not None else bool(a.flags["C_CONTIGUOUS"])


class Args:
    """Moves a call's arrays to the device and brings its results back to the caller's side.

    Results are device arrays when any array argument was a device array, numpy otherwise,
    so a GPU pipeline never pays a round trip it did not ask for.
    """

    def __init__(self, *arrays, dtype=None):
        self.cuda = cuda_module()
        self.on_device = any(is_device_array(a) for a in arrays if a is not None)
        if dtype is None:  # the first array argument (the data) sets the precision
            first = next(a for a in arrays if a is not None)
            dtype = first.dtype if is_device_array(first) else np.asarray(first).dtype
        self.dtype = np.dtype(dtype)

    def float_dtype(self, name):
        if self.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}: expected float32 or float64 data, got {self.dtype}.")
        return self.dtype

    def device(self, a, name, dtype=None, shape=None):
        """``a`` as a C-contiguous device array of ``dtype`` (default: the call's dtype)."""
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if is_device_array(a):
            if not getattr(a, "__cuda_ndarray__", False):
                a = self.cuda.as_cuda_array(a)  # e.g. CuPy or torch CUDA tensors
            if np.dtype(a.dtype) != dtype:
                raise TypeError(f"{name}: device array has dtype {np.dtype(a.dtype)}, expected "
                                f"{dtype}; convert it before the call (no silent device copies).")
            if not _c_contiguous(a):
                raise ValueError(f"{name}: device array must be C-contiguous.")
        else:
            host = np.asarray(a, dtype=dtype, order="C")  # keeps 0-d shapes, unlike ascontiguousarray
            a = self.cuda.to_device(host)
        if shape is not None and tuple(a.shape) != tuple(shape):
            raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(a.shape)}.")
        return a

    def empty(self, shape, dtype=None):
        return device_empty(self.cuda, tuple(int(s) for s in shape),
                            self.dtype if dtype is None else np.dtype(dtype))

    def result(self, d, shape=None):
        """``d`` on the caller's side, reshaped (C order) to ``shape`` when given."""
        if self.on_device:
            if shape is None or tuple(shape) == tuple(d.shape) or len(shape) == 0:
                return d  # a 0-d result stays a 1-element device array
            return d.reshape(tuple(shape))
        host = d.copy_to_host()
        return host if shape is None else host.reshape(tuple(shape))


# -- reused device arrays ------------------------------------------------------------------------
# Measured on an H100 (numba-cuda 0.68): cuda.device_array took 129 us for 8 MB and 37 us for
# 4 KB, more than the kernels' own work at the seed CNN's sizes (a ReLU call took 300 us, a BN
# training forward 745 us). So outputs and scratch arrays come from a pool, as the CPU kernels'
# outputs do (cpu/_util.out_empty): an array is handed out again only when nothing outside the
# pool refers to it or to its memory (a view or slice holds the memory's owner object; CPython's
# reference count says so exactly). Kernels run in order on the default stream, so a buffer
# handed out again is not written before the kernels that used it have finished.
DEVICE_POOL_PER_SHAPE = 8
DEVICE_POOL_MAX_BYTES = 1 << 30
_device_pool: dict = {}
_device_pool_bytes = 0
_device_pool_lock = threading.Lock()


def _owner(a):
    """The object that holds a device array's memory: numba's pointer on a GPU (reshapes share
    it), the numpy array under the simulator's fake device array (views hold it as their base)."""
    return a.gpu_data if hasattr(a, "gpu_data") else a._ary


def device_empty(cuda, shape, dtype):
    """cuda.device_array(shape, dtype), reusing a pooled array that nobody holds any more."""
    global _device_pool_bytes
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    key = (shape, dtype.str)
    with _device_pool_lock:
        entries = _device_pool.setdefault(key, [])
        for entry in entries:
            a = entry[0]
            if sys.getrefcount(a) > 3:  # more than the entry, `a` and getrefcount's argument
                continue
            owner = _owner(a)
            if sys.getrefcount(owner) > entry[1] + 1:  # a reshape of it is alive somewhere
                continue
            if getattr(getattr(owner, "_mem", None), "refct", 1) > 1:  # numba counts slices here
                continue
            return a
        a = cuda.device_array(shape, dtype=dtype)
        if len(entries) >= DEVICE_POOL_PER_SHAPE or nbytes > DEVICE_POOL_MAX_BYTES:
            return a
        while _device_pool_bytes + nbytes > DEVICE_POOL_MAX_BYTES:  # drop the oldest entries
            k0 = next(k for k, v in _device_pool.items() if v)
            _device_pool_bytes -= _device_pool[k0].pop(0)[0].nbytes
        entries.append((a, sys.getrefcount(_owner(a))))  # the owner's count when only `a` holds it
        _device_pool_bytes += nbytes
        return a


def to_device(a):
    """A host array as a C-contiguous device array (from the pool); device arrays pass through."""
    if is_device_array(a):
        return a
    host = np.ascontiguousarray(a)
    d = device_empty(cuda_module(), tuple(host.shape), host.dtype)
    d.copy_to_device(host)
    return d


def to_host(a):
    """A device array copied to a numpy array; anything else through np.asarray."""
    return a.copy_to_host() if is_device_array(a) else np.asarray(a)


def flat(d):
    """A C-contiguous device array viewed as 1-D (no copy)."""
    return d.reshape(int(np.prod(d.shape, dtype=np.int64)))


def elementwise_config(n: int):
    """(blocks, threads) for a grid-stride loop over n elements."""
    threads = min(MAX_THREADS, max(32, -(-n // 32) * 32))
    blocks = max(1, min(MAX_BLOCKS, -(-n // threads)))
    return blocks, threads


def launch(kernel, total: int, *arguments):
    """Run a grid-stride kernel over ``total`` elements (nothing to do when it is 0)."""
    if total:
        blocks, threads = elementwise_config(total)
        kernel[blocks, threads](*arguments)


def next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def reduce_config(count: int):
    """(partials, threads) for a per-channel reduction over ``count`` elements.

    Each channel is split over ``partials`` blocks (so a batch with few channels still
    fills the GPU); ``threads`` is a power of two, as the shared-memory tree requires.
    """
    limit = min(REDUCE_THREADS, SMEM_SIZE)
    threads = min(limit, max(32, next_pow2(count)))
    per_block = threads * REDUCE_ITEMS
    partials = min(MAX_PARTIALS, SMEM_SIZE, next_pow2(-(-count // per_block)))
    return max(1, partials), threads
