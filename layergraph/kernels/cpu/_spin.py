"""Atomic loads and stores and a bounded spin-wait in compiled code, for the pool's optional
spinning hand-off (_parallel.py's _Team with LAYERGRAPH_POOL_SPIN_US > 0): a thread waits for a
flag in a ``nogil`` loop, so it holds no GIL and sleeps in no futex while it waits; a job reached
a spinning worker in 1-3 us against 20-80 us for a sleeping one on the 2-core VM
(docs/performance.md, h_mlp2). Imported only when the spin is asked for.

``spin_until(flags, i, j, value, spins)``: True as soon as flags[i, j] == value (an atomic,
sequentially consistent load, with the CPU's ``pause`` between loads on x86), False after
``spins`` loads. ``store_then_spin``: a store and then that spin, without the GIL between them.
``load(flags, i, j)`` / ``store(flags, i, j, value)``: one atomic access of an
int64 element of a C-contiguous 2-D array.
"""
from __future__ import annotations

import platform
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _element_ptr(context, builder, aryty, ary, i, j):
    """The address of a[i, j] of a C-contiguous 2-D int64 array."""
    arr = context.make_array(aryty)(context, builder, value=ary)
    cols = builder.extract_value(arr.shape, 1)
    return builder.gep(arr.data, [builder.add(builder.mul(i, cols), j)])


@intrinsic
def _atomic_load(typingctx, a, i, j):
    sig = types.int64(a, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        ary, iv, jv = args
        ptr = _element_ptr(context, builder, signature.args[0], ary, iv, jv)
        return builder.load_atomic(ptr, "seq_cst", 8)
    return sig, codegen


@intrinsic
def _atomic_store(typingctx, a, i, j, v):
    sig = types.void(a, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        ary, iv, jv, vv = args
        ptr = _element_ptr(context, builder, signature.args[0], ary, iv, jv)
        builder.store_atomic(vv, ptr, "seq_cst", 8)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _pause(typingctx):
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _X86:
            fn = builder.module.declare_intrinsic("llvm.x86.sse2.pause", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])
        return context.get_dummy_value()
    return sig, codegen


@njit(nogil=True, cache=True)
def spin_until(flags, i, j, value, spins):
    for _ in range(spins):
        if _atomic_load(flags, i, j) == value:
            return True
        _pause()
    return _atomic_load(flags, i, j) == value


@njit(nogil=True, cache=True)
def store_then_spin(flags, i, j, done, k, value, spins):
    """flags[i, j] = done, then spin_until(flags, i, k, value, spins), in one call: a worker
    that reports a result without the GIL, so the waiting caller never has to take the GIL
    from it (a futex wake-up)."""
    _atomic_store(flags, i, j, done)
    return spin_until(flags, i, k, value, spins)


@njit(nogil=True, cache=True)
def load(flags, i, j):
    return _atomic_load(flags, i, j)


@njit(nogil=True, cache=True)
def store(flags, i, j, value):
    _atomic_store(flags, i, j, value)


_counts: dict = {}


def spin_count(us) -> int:
    """The ``spins`` of spin_until that last about ``us`` microseconds here (measured once per
    value: the pool's hand-off spin, dense.py's chain waits)."""
    if us not in _counts:
        probe = np.zeros((1, 8), np.int64)
        spin_until(probe, 0, 0, 1, 16)   # compiled (or loaded) before the timing
        t0 = time.perf_counter()
        spin_until(probe, 0, 0, 1, 20000)
        _counts[us] = max(1, int(us * 20000 / max((time.perf_counter() - t0) * 1e6, 1.0)))
    return _counts[us]
