"""The 2x2 / stride-2 max pooling fast path (training, with argmax) and the backward that
zeroes dx inside its parallel loop, against a plain reference with the same tie and NaN
rules: the window's first element, then any strictly greater one."""
import numpy as np
import pytest

from layergraph.kernels.cpu import pool


def _reference(x, ph, pw, sh, sw):
    n, c, h, w = x.shape
    oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    y = np.empty((n, c, oh, ow), x.dtype)
    arg = np.empty((n, c, oh, ow), np.int64)
    for q in np.ndindex(n, c):
        for i in range(oh):
            for j in range(ow):
                best, bi = None, -1
                for a in range(i * sh, i * sh + ph):
                    for b in range(j * sw, j * sw + pw):
                        v = x[q][a, b]
                        if bi < 0 or v > best:
                            best, bi = v, a * w + b
                y[q][i, j], arg[q][i, j] = best, bi
    return y, arg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (3, 2, 5, 7), (2, 3, 8, 8)])
def test_fast_path_matches_reference(dtype, shape):
    g = np.random.default_rng(sum(shape))
    x = g.integers(-2, 3, shape).astype(dtype)  # small integers: many ties
    x.flat[::5] = np.nan
    y, arg = pool.maxpool_forward_train(x, 2, 2, 2, 2, 0, 0, 0, 0)
    ry, rarg = _reference(x, 2, 2, 2, 2)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(arg, rarg)
    np.testing.assert_array_equal(pool.maxpool_forward_infer(np.nan_to_num(x), 2, 2, 2, 2, 0, 0, 0, 0),
                                  _reference(np.nan_to_num(x), 2, 2, 2, 2)[0])


@pytest.mark.parametrize("hp", [(2, 2, 2, 2), (3, 3, 2, 2), (2, 2, 1, 1)])
def test_backward_overwrites_dx(hp):
    """dx comes from np.empty: every element must be written, overlapping windows add up."""
    g = np.random.default_rng(3)
    x = g.standard_normal((3, 2, 7, 6))
    y, arg = pool.maxpool_forward_train(x, *hp, 0, 0, 0, 0)
    dy = g.standard_normal(y.shape)
    dx = pool.maxpool_backward(dy, arg, 7, 6)
    ref = np.zeros_like(x)
    for q in np.ndindex(3, 2):
        np.add.at(ref[q].reshape(-1), arg[q].reshape(-1), dy[q].reshape(-1))
    np.testing.assert_array_equal(dx, ref)
