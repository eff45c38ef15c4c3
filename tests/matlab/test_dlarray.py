"""dlarray: formats and their permutation, dims / finddim / stripdims / extractdata, MATLAB's
implicit expansion, reductions, indexing, elementwise functions and the display."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (dims, dlarray, exp, extractdata, finddim, log, sqrt, stripdims, tanh)
from layergraph.matlab import max as mmax
from layergraph.matlab import mean as mmean
from layergraph.matlab import min as mmin
from layergraph.matlab import sum as msum

R = np.random.default_rng(0)


def test_format_is_permuted_to_scbtu():
    x = R.standard_normal((3, 4))
    X = dlarray(x, "TS")          # MATLAB's dims page: 'TS' -> 'ST'
    assert dims(X) == "ST" and X.shape == (4, 3)
    np.testing.assert_array_equal(extractdata(X), x.T)
    Y = dlarray(R.standard_normal((7, 5, 2)), "BCT")
    assert dims(Y) == "CBT" and Y.shape == (5, 7, 2)
    Z = dlarray(R.standard_normal((2, 3, 4, 5)), "BSCS")
    assert dims(Z) == "SSCB" and Z.shape == (3, 5, 4, 2)


def test_trailing_singletons_and_vectors():
    X = dlarray(np.ones((5, 1)), "CB")
    assert X.shape == (5, 1) and dims(X) == "CB"
    v = dlarray(np.arange(4.0), "C")      # dlarray(v, dim): a column, second dimension 'U'
    assert dims(v) == "CU" and v.shape == (4, 1)
    s = dlarray(np.ones((2, 3, 1)), "SSCU")  # the trailing 'U' singleton after the second dimension is dropped
    assert dims(s) == "SSC" and s.shape == (2, 3, 1)
    assert dlarray([-1, 2]).shape == (1, 2)      # a MATLAB row vector
    assert dlarray(3.0).shape == (1, 1)


def test_format_errors():
    with pytest.raises(LayerGraphError, match="at most one 'C'"):
        dlarray(np.ones((2, 2)), "CC")
    with pytest.raises(LayerGraphError, match="greater than or equal to the number of dimensions"):
        dlarray(np.ones((2, 2, 2)), "CB")
    with pytest.raises(LayerGraphError, match="dimension labels 'S', 'C', 'B', 'T' and 'U'"):
        dlarray(np.ones((2, 2)), "CX")


def test_finddim_stripdims_extractdata():
    X = dlarray(R.standard_normal((4, 4, 3, 2)).astype(np.float32), "SSCB")
    assert finddim(X, "S") == [1, 2] and finddim(X, "C") == [3] and finddim(X, "T") == []
    U = stripdims(X)
    assert dims(U) == "" and U.shape == X.shape
    P = stripdims(X, "CBSS")
    np.testing.assert_array_equal(extractdata(P), np.transpose(extractdata(X), (2, 3, 0, 1)))
    assert extractdata(X).dtype == np.float32
    assert dims(dlarray(X, "SSCB")) == "SSCB"


def test_expansion_is_matlabs():
    A = R.standard_normal((3, 4, 5))
    B = R.standard_normal((3, 4))        # MATLAB pads B to 3x4x1 (trailing), numpy would pad in front
    np.testing.assert_allclose(extractdata(dlarray(A) + dlarray(B)), A + B[:, :, None])
    X = dlarray(R.standard_normal((5, 7)), "CB")
    b = dlarray(np.arange(5.0), "C")     # 'CU' with 'CB': by label
    np.testing.assert_allclose(extractdata(X * b), extractdata(X) * np.arange(5.0)[:, None])
    assert dims(X * b) == "CB"
    Y = dlarray(R.standard_normal((2, 2, 5, 7)), "SSCB")
    np.testing.assert_allclose(extractdata(Y + X), extractdata(Y) + extractdata(X)[None, None])
    assert dims(Y + X) == "SSCB"
    assert dims(X + 1) == "CB" and dims(2 * X) == "CB"
    with pytest.raises(LayerGraphError, match="incompatible sizes"):
        dlarray(np.ones((3, 4))) + dlarray(np.ones((2, 4)))


def test_single_wins_over_double():
    X = dlarray(np.ones((2, 2), np.float32))
    assert (X + np.ones((2, 2))).dtype == np.float32
    assert (X * 2.5).dtype == np.float32


def test_reductions():
    x = R.standard_normal((5, 7))
    X = dlarray(x, "CB")
    np.testing.assert_allclose(extractdata(msum(X, 1)), x.sum(0, keepdims=True))
    assert dims(msum(X, 1)) == "CB" and msum(X, 1).shape == (1, 7)
    np.testing.assert_allclose(extractdata(msum(X, "all")), x.sum().reshape(1, 1))
    np.testing.assert_allclose(extractdata(mmean(X, 2)), x.mean(1, keepdims=True))
    np.testing.assert_allclose(extractdata(msum(X)), x.sum(0, keepdims=True))   # first non-singleton
    v, i = mmax(X, [], 1)
    np.testing.assert_allclose(extractdata(v), x.max(0, keepdims=True))
    np.testing.assert_array_equal(i, x.argmax(0)[None] + 1)
    v, i = mmin(X, [], 2)
    np.testing.assert_allclose(extractdata(v), x.min(1, keepdims=True))
    np.testing.assert_allclose(extractdata(mmax(X, 0.5)), np.maximum(x, 0.5))
    # Python's builtins still work under ``from layergraph import *``
    assert msum([1, 2, 3]) == 6 and mmax(3, 4) == 4 and mmin([5, 2]) == 2
    with pytest.raises(LayerGraphError, match="positive integer"):
        msum(X, 0)


def test_indexing_keeps_dimensions():
    x = R.standard_normal((5, 7))
    X = dlarray(x, "CB")
    assert X[:, 2].shape == (5, 1) and dims(X[:, 2]) == "CB"
    assert X[1, :].shape == (1, 7)
    np.testing.assert_array_equal(extractdata(X[1:3, [0, 4]]), x[1:3][:, [0, 4]])
    v = dlarray([-1.0, 2.0])
    assert float(v[1]) == 2.0 and v[1].shape == (1, 1)     # linear index into a vector


def test_elementwise_functions():
    x = np.abs(R.standard_normal((3, 4))) + 0.1
    X = dlarray(x, "CB")
    for f, ref in ((exp, np.exp), (log, np.log), (sqrt, np.sqrt), (tanh, np.tanh)):
        np.testing.assert_allclose(extractdata(f(X)), ref(x))
        assert dims(f(X)) == "CB"
    np.testing.assert_allclose(extractdata(abs(dlarray(-x))), x)
    np.testing.assert_allclose(extractdata(X ** 2 / X - X), 0 * x, atol=1e-12)


def test_display():
    X = dlarray(np.arange(35, dtype=np.float32).reshape(5, 7), "CB")
    text = repr(X)
    assert text.startswith("  5(C) × 7(B) single dlarray\n\n")
    assert "   34\n" in text
    L = dlarray(np.array([[True, False], [False, True]]), "SS")
    assert repr(L).startswith("  2(S) × 2(S) logical dlarray")
    D = dlarray(np.zeros((3, 2, 1, 2)), "SSTU")
    assert repr(D).startswith("  3(S) × 2(S) × 1(T) × 2(U) dlarray\n\n(:,:,1,1) =")
    assert repr(stripdims(D)).startswith("  3×2×1×2 dlarray")
    assert repr(dlarray([396.0, 200.0])) == "  1×2 dlarray\n\n   396   200\n"


def test_value_semantics():
    x = np.ones((2, 3))
    X = dlarray(x, "CB")
    x[0, 0] = 5
    assert extractdata(X)[0, 0] == 1
    d = extractdata(X)
    d[0, 0] = 7
    assert extractdata(X)[0, 0] == 1
