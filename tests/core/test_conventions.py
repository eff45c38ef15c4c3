"""Layout conversions between MATLAB and the internal layout round-trip and agree
with MATLAB's column-major semantics."""
import numpy as np

from layergraph.core import conventions as cv


def test_images_round_trip_and_element_mapping():
    x = np.random.default_rng(0).standard_normal((4, 5, 3, 2))  # H W C N
    xi = cv.matlab_images_to_internal(x)
    assert xi.shape == (2, 3, 4, 5)
    assert xi[1, 2, 3, 4] == x[3, 4, 2, 1]
    assert np.array_equal(cv.internal_images_to_matlab(xi), x)


def test_matlab_flatten_is_column_major():
    h, w, c = 2, 3, 4
    x = np.random.default_rng(1).standard_normal((h, w, c))
    matlab_flat = x.ravel(order="F")                       # MATLAB x(:)
    internal = x.transpose(2, 0, 1).reshape(-1)            # C, H, W row-major
    perm = cv.matlab_flatten_order(c, h, w)
    assert np.array_equal(matlab_flat[perm], internal)


def test_fc_weights_give_matlab_numbers():
    rng = np.random.default_rng(2)
    h, w, c, out = 2, 3, 4, 5
    x = rng.standard_normal((h, w, c))
    wm = rng.standard_normal((out, h * w * c))
    expected = wm @ x.ravel(order="F")                      # what MATLAB computes
    wi = cv.fc_weights_to_internal(wm, (h, w, c))
    got = wi @ x.transpose(2, 0, 1).reshape(-1)
    assert np.allclose(got, expected)
    assert np.array_equal(cv.fc_weights_to_matlab(wi, (h, w, c)), wm)


def test_conv_weights_round_trip():
    w = np.random.default_rng(3).standard_normal((3, 5, 2, 7))
    wi = cv.conv_weights_to_internal(w)
    assert wi.shape == (7, 2, 3, 5) and wi[6, 1, 2, 4] == w[2, 4, 1, 6]
    assert np.array_equal(cv.conv_weights_to_matlab(wi), w)
    assert cv.conv_weights_to_internal(w[..., :1][..., 0]).shape == (1, 2, 3, 5)


def test_grouped_and_transposed_round_trip():
    w = np.random.default_rng(4).standard_normal((3, 3, 2, 4, 5))  # FH FW C/G F/G G
    wi = cv.grouped_weights_to_internal(w, 5)
    assert wi.shape == (20, 2, 3, 3)
    assert wi[4 * 3 + 1, 1, 0, 2] == w[0, 2, 1, 1, 3]
    assert np.array_equal(cv.grouped_weights_to_matlab(wi, 5), w)
    t = np.random.default_rng(5).standard_normal((3, 3, 4, 6))     # FH FW F C
    ti = cv.transposed_weights_to_internal(t)
    assert ti.shape == (6, 4, 3, 3) and np.array_equal(cv.transposed_weights_to_matlab(ti), t)


def test_momentum_and_decay_are_the_same_update():
    running, batch = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    m = 0.9
    wolfram = m * running + (1 - m) * batch
    assert np.allclose(cv.update_running(running, batch, cv.momentum_to_decay(m)), wolfram)
    assert cv.decay_to_momentum(0.1) == 0.9
