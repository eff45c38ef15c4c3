"""Sequence data at predict's boundary (matlab/data.py ``_all_finite``, core/sequence.py ``pad``):
NaN and Inf found in any observation and named, large finite values (whose squares overflow)
accepted, float32 and float64; a batch without padding built without its fill pass gives the
padded batch's values."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.sequence import pad
from layergraph.matlab import dlnetwork, fullyConnectedLayer, lstmLayer, sequenceInputLayer, softmaxLayer
from layergraph.matlab.data import _all_finite


def _net():
    return dlnetwork([sequenceInputLayer(3), lstmLayer(4, "OutputMode", "last"), fullyConnectedLayer(2),
                      softmaxLayer()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_found_and_named(dtype, bad):
    r = np.random.default_rng(0)
    X = [r.standard_normal((3, k)).astype(dtype) for k in (5, 7, 6)]
    X[1][2, 3] = bad
    with pytest.raises(LayerGraphError, match="observation 2 contains NaN or Inf"):
        _net().predict(X, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_finite_values_are_accepted(dtype):
    big = np.finfo(dtype).max / 2     # its square overflows: the elementwise check decides
    a = np.full((3, 4), big, dtype)
    assert _all_finite(a)
    assert _all_finite(np.zeros((3, 0), dtype))
    a[1, 1] = np.nan
    assert not _all_finite(a)
    b = np.ones((3, 5000), dtype)     # above the sum-of-squares size: the elementwise check alone
    assert _all_finite(b)
    b[2, 4999] = np.inf
    assert not _all_finite(b)
    assert not _all_finite(np.array([[1, -np.inf]], dtype))
    assert _all_finite(np.arange(6).reshape(2, 3))            # integers: the elementwise check
    _net().predict([np.full((3, 4), np.finfo(np.float32).max / 2, np.float32)])   # accepted, not refused as Inf


def test_unpadded_batch_equals_the_padded_fill():
    r = np.random.default_rng(1)
    same = [r.standard_normal((3, 6)).astype(np.float32) for _ in range(4)]
    batch, info = pad(same, value=7.0)
    np.testing.assert_array_equal(batch, np.stack(same))
    assert info.full
    cut, info = pad(same, length=4, value=7.0)          # truncated: still no padding
    np.testing.assert_array_equal(cut, np.stack(same)[..., :4])
    left, _ = pad(same, length=4, value=7.0, left=True)
    np.testing.assert_array_equal(left, np.stack(same)[..., 2:])
    ragged = same[:2] + [same[2][:, :3]]
    out, info = pad(ragged, value=7.0)
    assert (out[2, :, 3:] == 7.0).all() and not info.full
    out, _ = pad(ragged, value=7.0, left=True)
    assert (out[2, :, :3] == 7.0).all()
    np.testing.assert_array_equal(out[2, :, 3:], same[2][:, :3])
