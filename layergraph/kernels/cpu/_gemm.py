"""NumPy's own OpenBLAS sgemm called from numba code (the recurrent loops' per-step products).

numba's ``np.dot`` calls SciPy's BLAS (``scipy.linalg.cython_blas``). In this venv that is an
older OpenBLAS build (0.3.30) which ran the LSTM's per-step shapes (32 x 128 by 128 x 512) at
0.55-0.65 of the speed of NumPy's (0.3.31), docs/performance.md (h_seq32). ``sgemm_address()``
finds NumPy's ``cblas_sgemm`` (the 64-bit-integer interface NumPy's wheels ship, symbol
``scipy_cblas_sgemm64_``) once per process; the loops take the address as an argument, so their
cached machine code holds no address of this process. 0 (not found): the loops use ``np.dot``.

``matmul(fp, a, b, out)`` inside numba code: out = a @ b for C-contiguous rows (a m x k with rows
of stride lda, b k x n contiguous, out m x n contiguous); float32 with fp != 0 through the
address, anything else ``np.dot``.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_ADDRESS = []


def sgemm_address() -> int:
    """The address of NumPy's OpenBLAS ``cblas_sgemm`` (ILP64), or 0."""
    if not _ADDRESS:
        address = 0
        try:
            libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
            for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas64_*.so"))):
                lib = ctypes.CDLL(path)
                address = ctypes.cast(lib.scipy_cblas_sgemm64_, ctypes.c_void_p).value or 0
                if address:
                    break
        except (OSError, AttributeError):
            address = 0
        _ADDRESS.append(address)
    return _ADDRESS[0]


@intrinsic
def _cblas_sgemm(typingctx, fp, m, n, k, a, lda, b, ldb, c, ldc):
    """cblas_sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) at address fp
    (a, b, c: integer addresses; the integers int64)."""
    sig = types.void(types.int64, types.int64, types.int64, types.int64, types.uintp, types.int64,
                     types.uintp, types.int64, types.uintp, types.int64)

    def codegen(context, builder, signature, args):
        fpv, mv, nv, kv, av, ldav, bv, ldbv, cv, ldcv = args
        i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64])
        fn = builder.inttoptr(fpv, fnty.as_pointer())
        one, zero = ir.Constant(f32, 1.0), ir.Constant(f32, 0.0)
        rowmajor, notrans = ir.Constant(i32, 101), ir.Constant(i32, 111)
        builder.call(fn, [rowmajor, notrans, notrans, mv, nv, kv, one,
                          builder.inttoptr(av, ptr), ldav, builder.inttoptr(bv, ptr), ldbv, zero,
                          builder.inttoptr(cv, ptr), ldcv])
        return context.get_dummy_value()
    return sig, codegen


def matmul(fp, a, b, out):  # pragma: no cover -- numba code only
    raise NotImplementedError


@overload(matmul, inline="always")
def _matmul_impl(fp, a, b, out):
    if (isinstance(a, types.Array) and a.dtype == types.float32 and b.dtype == types.float32
            and out.dtype == types.float32):
        def impl(fp, a, b, out):
            m, k = a.shape
            n = b.shape[1]
            if fp == 0 or m == 0 or a.strides[1] != 4 or b.strides[1] != 4 or out.strides[1] != 4:
                np.dot(a, b, out)
                return
            _cblas_sgemm(fp, m, n, k, a.ctypes.data, a.strides[0] // 4, b.ctypes.data, b.strides[0] // 4,
                         out.ctypes.data, out.strides[0] // 4)
        return impl

    def impl(fp, a, b, out):
        np.dot(a, b, out)
    return impl


__all__ = ["matmul", "sgemm_address"]
