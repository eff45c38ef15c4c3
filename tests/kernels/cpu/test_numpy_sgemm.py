"""_gemm.matmul: numba code calling NumPy's own OpenBLAS sgemm (the recurrent loops' per-step products)."""
import numba
import numpy as np

from layergraph.kernels.cpu._gemm import matmul, sgemm_address


@numba.njit(cache=True)
def _mm(fp, a, b, out):
    matmul(fp, a, b, out)


def test_address_found():
    assert sgemm_address() != 0      # NumPy's wheels ship scipy_cblas_sgemm64_


def test_matches_numpy_float32_and_falls_back():
    rng = np.random.default_rng(0)
    for m, k, n in ((1, 1, 1), (5, 3, 7), (32, 128, 512), (16, 512, 128)):
        big = rng.standard_normal((m + 3, k)).astype(np.float32)
        a = big[1:m + 1]                         # rows of a larger array (the loops' dg[t][lo:hi])
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.full((m, n), np.nan, np.float32)
        _mm(sgemm_address(), a, b, out)
        np.testing.assert_array_equal(out, a @ b)      # NumPy's BLAS: the same values
        ref = np.empty_like(out)
        _mm(0, a, b, ref)                              # no address: np.dot (SciPy's BLAS)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    a64, b64 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    out64 = np.empty((4, 2))
    _mm(sgemm_address(), a64, b64, out64)              # float64: np.dot whatever the address
    np.testing.assert_allclose(out64, a64 @ b64, rtol=1e-12)
