"""numba.cuda max and average pooling against loop references in numpy, and PyTorch."""
import numpy as np
import pytest
import torch

import layergraph.kernels.cuda as K

pytestmark = pytest.mark.cuda

DTYPES = [np.float32, np.float64]
# (ph, pw, sh, sw, pt, pb, pl, pr)
GEOMETRIES = [
    (2, 2, 2, 2, 0, 0, 0, 0),   # MATLAB's usual 2 x 2, stride 2
    (3, 3, 1, 1, 1, 1, 1, 1),   # overlapping windows, 'same' padding
    (2, 3, 1, 2, 1, 0, 0, 2),   # asymmetric everything
]


def _windows(H, W, ph, pw, sh, sw, pt, pb, pl, pr):
    OH, OW = (H + pt + pb - ph) // sh + 1, (W + pl + pr - pw) // sw + 1
    for oh in range(OH):
        for ow in range(OW):
            rows = [h for h in range(oh * sh - pt, oh * sh - pt + ph) if 0 <= h < H]
            cols = [w for w in range(ow * sw - pl, ow * sw - pl + pw) if 0 <= w < W]
            yield oh, ow, rows, cols
    return OH, OW


def _out_size(H, W, ph, pw, sh, sw, pt, pb, pl, pr):
    return (H + pt + pb - ph) // sh + 1, (W + pl + pr - pw) // sw + 1


def ref_maxpool(x, g):
    N, C, H, W = x.shape
    OH, OW = _out_size(H, W, *g)
    y = np.empty((N, C, OH, OW))
    am = np.empty((N, C, OH, OW), np.int64)
    for n in range(N):
        for c in range(C):
            for oh, ow, rows, cols in _windows(H, W, *g):
                cells = [(x[n, c, h, w], h * W + w) for h in rows for w in cols]
                k = int(np.argmax([v for v, _ in cells]))  # first maximum wins
                y[n, c, oh, ow], am[n, c, oh, ow] = cells[k]
    return y, am


def ref_maxpool_backward(dy, am, H, W):
    N, C = dy.shape[:2]
    dx = np.zeros((N, C, H * W))
    for n in range(N):
        for c in range(C):
            np.add.at(dx[n, c], am[n, c].ravel(), dy[n, c].ravel())
    return dx.reshape(N, C, H, W)


def ref_avgpool(x, g, include_pad):
    N, C, H, W = x.shape
    ph, pw = g[:2]
    OH, OW = _out_size(H, W, *g)
    y = np.empty((N, C, OH, OW))
    for oh, ow, rows, cols in _windows(H, W, *g):
        count = ph * pw if include_pad else len(rows) * len(cols)
        y[:, :, oh, ow] = x[:, :, rows][:, :, :, cols].sum((2, 3)) / count
    return y


def ref_avgpool_backward(dy, H, W, g, include_pad):
    N, C = dy.shape[:2]
    ph, pw = g[:2]
    dx = np.zeros((N, C, H, W))
    for oh, ow, rows, cols in _windows(H, W, *g):
        count = ph * pw if include_pad else len(rows) * len(cols)
        for h in rows:
            for w in cols:
                dx[:, :, h, w] += dy[:, :, oh, ow] / count
    return dx


def _x(rng, dtype, shape=(2, 3, 4, 5)):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("g", GEOMETRIES)
def test_maxpool_matches_numpy(g, dtype, rng):
    x = _x(rng, dtype)
    y, am = K.maxpool_forward_train(x, *g)
    y_ref, am_ref = ref_maxpool(x, g)
    assert y.dtype == dtype and am.dtype == np.int64 and y.shape == y_ref.shape
    np.testing.assert_array_equal(y, y_ref.astype(dtype))
    np.testing.assert_array_equal(am, am_ref)
    np.testing.assert_array_equal(K.maxpool_forward_infer(x, *g), y)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = K.maxpool_backward(dy, am, x.shape[2], x.shape[3])
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, ref_maxpool_backward(dy.astype(np.float64), am_ref, 4, 5),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("g", GEOMETRIES)
def test_avgpool_matches_numpy(g, include_pad, dtype, rng, tol):
    x = _x(rng, dtype)
    y = K.avgpool_forward(x, *g, include_pad)
    t = tol(dtype)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref_avgpool(x.astype(np.float64), g, include_pad), rtol=t["rtol"] * 5,
                               atol=t["atol"] * 5)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = K.avgpool_backward(dy, 4, 5, *g, include_pad)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, ref_avgpool_backward(dy.astype(np.float64), 4, 5, g, include_pad),
                               rtol=t["rtol"] * 5, atol=t["atol"] * 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_torch(dtype, rng):
    # torch pads symmetrically: the (3, 3), stride 1, padding 1 geometry.
    x = _x(rng, dtype)
    g = GEOMETRIES[1]
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, 3, 1, 1, return_indices=True)
    dy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(dy))
    y, am = K.maxpool_forward_train(x, *g)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(am, tidx.numpy())
    np.testing.assert_allclose(K.maxpool_backward(dy, am, 4, 5), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    for include_pad in (True, False):
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.avg_pool2d(tx, 3, 1, 1, count_include_pad=include_pad)
        ty.backward(torch.tensor(dy))
        np.testing.assert_allclose(K.avgpool_forward(x, *g, include_pad), ty.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(K.avgpool_backward(dy, 4, 5, *g, include_pad), tx.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("g", GEOMETRIES)
def test_backward_finite_difference(g, rng, directional_check):
    x = _x(rng, np.float64)
    y, am = K.maxpool_forward_train(x, *g)
    dy = rng.standard_normal(y.shape)
    directional_check(lambda x: float(np.sum(dy * K.maxpool_forward_infer(x, *g))), [x],
                      [K.maxpool_backward(dy, am, 4, 5)])
    for include_pad in (True, False):
        directional_check(lambda x, p=include_pad: float(np.sum(dy * K.avgpool_forward(x, *g, p))), [x],
                          [K.avgpool_backward(dy, 4, 5, *g, include_pad)])


def test_padding_never_wins_and_ties_go_first():
    x = -np.ones((1, 1, 2, 2), np.float32)           # every real cell is below the zero padding
    y, am = K.maxpool_forward_train(x, 2, 2, 1, 1, 1, 1, 1, 1)
    assert (y == -1).all()
    # Each window's first real cell (row-major) wins the tie.
    np.testing.assert_array_equal(am[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])


def test_all_padding_window():
    # Padding as large as the pool: the first row and column of windows hold no real cell;
    # they give -inf with argmax -1, and their gradient goes nowhere.
    x = np.ones((1, 1, 2, 2))
    y, am = K.maxpool_forward_train(x, 1, 1, 1, 1, 1, 0, 1, 0)
    assert (y[0, 0, 0] == -np.inf).all() and (am[0, 0, :, 0] == -1).all()
    np.testing.assert_array_equal(K.maxpool_backward(np.ones_like(y), am, 2, 2), x)
    assert K.avgpool_forward(x, 1, 1, 1, 1, 1, 0, 1, 0, False)[0, 0, 0, 0] == 0


def test_device_arrays_round_trip(cuda, rng):
    x = _x(rng, np.float32)
    g = GEOMETRIES[1]
    y, am = K.maxpool_forward_train(x, *g)
    yd, amd = K.maxpool_forward_train(cuda.to_device(x), *g)
    assert K.is_device_array(yd) and K.is_device_array(amd)
    np.testing.assert_array_equal(yd.copy_to_host(), y)
    np.testing.assert_array_equal(amd.copy_to_host(), am)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dxd = K.maxpool_backward(cuda.to_device(dy), amd, 4, 5)
    assert K.is_device_array(dxd)
    np.testing.assert_allclose(dxd.copy_to_host(), K.maxpool_backward(dy, am, 4, 5), rtol=1e-6)
    ad = K.avgpool_forward(cuda.to_device(x), *g, False)
    assert K.is_device_array(ad)
    np.testing.assert_array_equal(ad.copy_to_host(), K.avgpool_forward(x, *g, False))
    bd = K.avgpool_backward(cuda.to_device(dy), 4, 5, *g, False)
    assert K.is_device_array(bd)
    np.testing.assert_array_equal(bd.copy_to_host(), K.avgpool_backward(dy, 4, 5, *g, False))


def test_bad_geometry():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="positive"):
        K.maxpool_forward_train(x, 2, 2, 0, 1, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="exceeds"):
        K.avgpool_forward(x, 5, 2, 1, 1, 0, 0, 0, 0, True)
    with pytest.raises(ValueError, match="N x C x H x W"):
        K.maxpool_forward_infer(np.zeros((4, 4), np.float32), 2, 2, 2, 2, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="gives 2 x 2"):
        K.avgpool_backward(np.zeros((1, 1, 3, 3), np.float32), 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, True)
