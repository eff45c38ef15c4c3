"""Every CPU backward kernel against float64 central finite differences (random directions,
random cotangents, small shapes)."""
from __future__ import annotations

import numpy as np
import pytest
from _cpu_testutil import fd_check, rng

from layergraph.kernels.cpu import (
    combine,
    conv,
    dense,
    dropout,
    flatten,
    loss,
    norm,
    pool,
    softmax,
)


# -- activations -----------------------------------------------------------------------------
# Each activation row of the registry (with its hyperparameter variants: leaky 0.1, clipped
# 0.8, ELU 0.7, GELU 'none' and 'tanh'), on N x C x H x W and N x C, through the executor's
# backward: tests/conformance (test_gradients_match_finite_differences).


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5)])
def test_softmax_grad(shape):
    r = rng(4)
    x = r.standard_normal(shape)
    y = softmax.softmax_forward(x)
    dy = r.standard_normal(shape)
    fd_check(softmax.softmax_forward, [x], 0, softmax.softmax_backward(dy, x, y), dy)


# -- normalization -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (7, 3)])
def test_batchnorm_grad(shape):
    r = rng(5)
    c = shape[1]
    x = 2 * r.standard_normal(shape) + 1
    scale, offset = r.standard_normal(c), r.standard_normal(c)
    eps = 1e-3
    y, mean, var = norm.bn_forward_train(x, scale, offset, eps)
    dy = r.standard_normal(shape)
    dx, dscale, doffset = norm.bn_backward(dy, x, scale, mean, var, eps)
    def f(a, s, o):
        return norm.bn_forward_train(a, s, o, eps)[0]
    fd_check(f, [x, scale, offset], 0, dx, dy)
    fd_check(f, [x, scale, offset], 1, dscale, dy)
    fd_check(f, [x, scale, offset], 2, doffset, dy)


def test_batchnorm_infer_is_affine_in_x():
    r = rng(6)
    x = r.standard_normal((3, 2, 4, 4))
    s, o, m, v = r.standard_normal(2), r.standard_normal(2), r.standard_normal(2), r.random(2) + 0.5
    want = s[:, None, None] * (x - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-5) + o[:, None, None]
    np.testing.assert_allclose(norm.bn_forward_infer(x, s, o, m, v, 1e-5), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,channel_only,full_scale", [
    ((3, 4, 5, 2), False, False), ((3, 4, 5, 2), True, False), ((3, 4, 5, 2), False, True), ((5, 6), False, False)])
def test_layernorm_grad(shape, channel_only, full_scale):
    r = rng(7)
    x = 2 * r.standard_normal(shape) + 0.5
    pshape = shape[1:] if full_scale else (shape[1],)
    scale, offset = r.standard_normal(pshape), r.standard_normal(pshape)
    eps = 1e-3
    y, mean, var = norm.ln_forward_train(x, scale, offset, eps, channel_only)
    dy = r.standard_normal(shape)
    dx, dscale, doffset = norm.ln_backward(dy, x, scale, mean, var, eps, channel_only)
    assert dscale.shape == pshape and doffset.shape == pshape
    def f(a, s, o):
        return norm.ln_forward_train(a, s, o, eps, channel_only)[0]
    fd_check(f, [x, scale, offset], 0, dx, dy)
    fd_check(f, [x, scale, offset], 1, dscale, dy)
    fd_check(f, [x, scale, offset], 2, doffset, dy)
    np.testing.assert_allclose(norm.ln_forward_infer(x, scale, offset, eps, channel_only), y, rtol=0, atol=0)


# -- pooling ------------------------------------------------------------------------------------------
POOLS = [  # ph, pw, sh, sw, pt, pb, pl, pr
    (2, 2, 2, 2, 0, 0, 0, 0),
    (3, 3, 1, 1, 1, 1, 1, 1),
    (3, 2, 2, 1, 0, 2, 1, 0),
    (2, 3, 3, 2, 1, 0, 0, 2),
]


@pytest.mark.parametrize("hp", POOLS)
def test_maxpool_grad(hp):
    r = rng(8)
    x = r.standard_normal((2, 3, 7, 6))
    y, arg = pool.maxpool_forward_train(x, *hp)
    dy = r.standard_normal(y.shape)
    dx = pool.maxpool_backward(dy, arg, 7, 6)
    fd_check(lambda a: pool.maxpool_forward_infer(a, *hp), [x], 0, dx, dy)


@pytest.mark.parametrize("hp", POOLS)
@pytest.mark.parametrize("incl", [True, False])
def test_avgpool_grad(hp, incl):
    r = rng(9)
    x = r.standard_normal((2, 3, 7, 6))
    y = pool.avgpool_forward(x, *hp, incl)
    dy = r.standard_normal(y.shape)
    dx = pool.avgpool_backward(dy, 7, 6, *hp, incl)
    fd_check(lambda a: pool.avgpool_forward(a, *hp, incl), [x], 0, dx, dy)


def test_global_pool_grads():
    r = rng(10)
    x = r.standard_normal((3, 4, 5, 6))
    dy = r.standard_normal((3, 4, 1, 1))
    fd_check(pool.globalavgpool_forward, [x], 0, pool.globalavgpool_backward(dy, 5, 6), dy)
    y, arg = pool.globalmaxpool_forward_train(x)
    assert y.shape == (3, 4, 1, 1)
    fd_check(pool.globalmaxpool_forward_infer, [x], 0, pool.globalmaxpool_backward(dy, arg, 5, 6), dy)


# -- fully connected ---------------------------------------------------------------------------------
@pytest.mark.parametrize("xshape", [(5, 12), (5, 3, 2, 2)])
def test_fc_grad(xshape):
    r = rng(11)
    x = r.standard_normal(xshape)
    w, b = r.standard_normal((4, 12)), r.standard_normal(4)
    dy = r.standard_normal((5, 4))
    dx, dw, db = dense.fc_backward(dy, x, w)
    fd_check(dense.fc_forward, [x, w, b], 0, dx, dy)
    fd_check(dense.fc_forward, [x, w, b], 1, dw, dy)
    fd_check(dense.fc_forward, [x, w, b], 2, db, dy)


# -- convolution ----------------------------------------------------------------------------------
CONVS = [  # (C, F, FH, FW), (sh, sw, dh, dw), (pt, pb, pl, pr), groups, padding_value
    ((3, 4, 3, 3), (1, 1, 1, 1), (1, 1, 1, 1), 1, 0.0),
    ((3, 2, 3, 2), (2, 1, 1, 2), (0, 2, 1, 0), 1, 0.5),
    ((4, 6, 2, 3), (1, 2, 2, 1), (2, 1, 0, 1), 2, 0.0),
    ((4, 4, 3, 3), (2, 2, 1, 1), (1, 1, 1, 1), 4, 0.0),
    ((2, 3, 3, 3), (1, 1, 1, 1), (2, 1, 1, 2), 1, "symmetric-include-edge"),
    ((2, 3, 3, 3), (2, 1, 1, 1), (1, 2, 2, 1), 1, "symmetric-exclude-edge"),
    ((2, 3, 3, 2), (1, 2, 2, 1), (2, 2, 1, 3), 1, "replicate"),
]


@pytest.mark.parametrize("wshape,sd,pads,groups,pv", CONVS)
def test_conv_grad(wshape, sd, pads, groups, pv):
    r = rng(12)
    c, f, fh, fw = wshape
    x = r.standard_normal((2, c, 7, 6))
    w, b = r.standard_normal((f, c // groups, fh, fw)), r.standard_normal(f)
    def fwd(a, ww, bb):
        return conv.conv_forward(a, ww, bb, *sd, *pads, groups, pv)
    y = fwd(x, w, b)
    dy = r.standard_normal(y.shape)
    dx, dw, db = conv.conv_backward(dy, x, w, *sd, *pads, groups, pv)
    fd_check(fwd, [x, w, b], 0, dx, dy)
    fd_check(fwd, [x, w, b], 1, dw, dy)
    fd_check(fwd, [x, w, b], 2, db, dy)


def test_conv_padding_modes_values():
    """MATLAB's three padding modes on a 1 x 1 x 3 x 3 ramp, written out by hand."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    ident = np.ones((1, 1, 1, 1))
    def pad(mode):
        return conv.conv_forward(x, ident, None, 1, 1, 1, 1, 2, 0, 2, 0, 1, mode)[0, 0]
    np.testing.assert_array_equal(pad("replicate")[0], [1, 1, 1, 2, 3])
    np.testing.assert_array_equal(pad("replicate")[:, :3], [[1, 1, 1], [1, 1, 1], [1, 1, 1], [4, 4, 4], [7, 7, 7]])
    np.testing.assert_array_equal(pad("symmetric-include-edge")[0], [5, 4, 4, 5, 6])
    np.testing.assert_array_equal(pad("symmetric-include-edge")[:, 2], [4, 1, 1, 4, 7])
    np.testing.assert_array_equal(pad("symmetric-exclude-edge")[0], [9, 8, 7, 8, 9])
    np.testing.assert_array_equal(pad("symmetric-exclude-edge")[:, 2], [7, 4, 1, 4, 7])
    np.testing.assert_array_equal(pad(2.5)[:2], np.full((2, 5), 2.5))


TCONVS = [  # (C, F, FH, FW), (sh, sw, dh, dw), (ct, cb, cl, cr), groups
    ((3, 2, 3, 3), (1, 1, 1, 1), (0, 0, 0, 0), 1),
    ((3, 4, 3, 2), (2, 3, 1, 1), (1, 0, 0, 2), 1),
    ((4, 6, 2, 3), (2, 1, 2, 1), (1, 1, 1, 0), 2),
    ((2, 3, 3, 3), (2, 2, 1, 1), (1, -1, 0, -1), 1),
]


@pytest.mark.parametrize("wshape,sd,crop,groups", TCONVS)
def test_transposed_conv_grad(wshape, sd, crop, groups):
    r = rng(13)
    c, f, fh, fw = wshape
    x = r.standard_normal((2, c, 4, 3))
    w, b = r.standard_normal((c, f // groups, fh, fw)), r.standard_normal(f)
    def fwd(a, ww, bb):
        return conv.transposed_conv_forward(a, ww, bb, *sd, *crop, groups)
    y = fwd(x, w, b)
    dy = r.standard_normal(y.shape)
    dx, dw, db = conv.transposed_conv_backward(dy, x, w, *sd, *crop, groups)
    fd_check(fwd, [x, w, b], 0, dx, dy)
    fd_check(fwd, [x, w, b], 1, dw, dy)
    fd_check(fwd, [x, w, b], 2, db, dy)


# -- dropout, combination, flatten -----------------------------------------------------------------
def test_dropout_grad_and_seed():
    r = rng(14)
    x = r.standard_normal((4, 3, 5, 5))
    y, mask = dropout.dropout_forward_train(x, 0.4, 123)
    y2, mask2 = dropout.dropout_forward_train(x, 0.4, np.random.default_rng(123))
    np.testing.assert_array_equal(mask, mask2)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_allclose(y, np.where(mask, x / 0.6, 0.0), rtol=1e-15)
    assert 0.45 < mask.mean() < 0.75
    dy = r.standard_normal(x.shape)
    fd_check(lambda a: dropout.dropout_forward_train(a, 0.4, 123)[0], [x], 0,
             dropout.dropout_backward(dy, mask, 0.4), dy)
    np.testing.assert_array_equal(dropout.dropout_forward_infer(x, 0.4), x)


def test_addition_grad():
    r = rng(15)
    xs = [r.standard_normal((2, 3, 4, 4)) for _ in range(3)]
    dy = r.standard_normal((2, 3, 4, 4))
    grads = combine.addition_backward(dy, 3)
    assert len(grads) == 3 and grads[0] is not grads[1]
    for i in range(3):
        fd_check(lambda *a: combine.addition_forward(a), xs, i, grads[i], dy)


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_concat_grad(axis):
    r = rng(16)
    shapes = [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5)]
    sizes = [1, 2, 3]
    xs = []
    for s, k in zip(shapes, sizes):
        s = list(s)
        s[axis] = k
        xs.append(r.standard_normal(s))
    y = combine.concat_forward(xs, axis)
    dy = r.standard_normal(y.shape)
    grads = combine.concat_backward(dy, sizes, axis)
    for i in range(3):
        fd_check(lambda *a: combine.concat_forward(a, axis), xs, i, grads[i], dy)
    if axis == 1:
        np.testing.assert_array_equal(combine.depthconcat_forward(xs), y)
        for g1, g2 in zip(combine.depthconcat_backward(dy, sizes), grads):
            np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("column_major", [True, False])
def test_flatten_order_and_grad(column_major):
    r = rng(17)
    n, c, h, w = 2, 3, 4, 5
    x = r.standard_normal((n, c, h, w))
    y = flatten.flatten_forward(x, column_major)
    hh, ww, cc = 2, 3, 1
    k = hh + h * (ww + w * cc) if column_major else (cc * h + hh) * w + ww
    assert y[1, k] == x[1, cc, hh, ww]
    if column_major:  # MATLAB's x(:) of H x W x C, observation by observation
        np.testing.assert_array_equal(y[1], x[1].transpose(1, 2, 0).reshape(-1, order="F"))
    dy = r.standard_normal(y.shape)
    fd_check(lambda a: flatten.flatten_forward(a, column_major), [x], 0,
             flatten.flatten_backward(dy, c, h, w, column_major), dy)


# -- losses --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weights", [None, [0.5, 2.0, 1.0, 3.0]])
@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 1, 1)])
def test_crossentropyex_grad(weights, shape):
    r = rng(18)
    y = softmax.softmax_forward(r.standard_normal((5, 4))).reshape(shape)
    t = np.eye(4)[r.integers(0, 4, 5)].reshape(shape)
    lossv = loss.crossentropyex_forward(y, t, weights)
    w = np.ones(4) if weights is None else np.asarray(weights)
    want = -np.sum(w[None, :] * t.reshape(5, 4) * np.log(y.reshape(5, 4))) / 5
    assert abs(lossv - want) < 1e-12
    dy = loss.crossentropyex_backward(y, t, weights)
    assert dy.shape == shape
    fd_check(lambda a: loss.crossentropyex_forward(a, t, weights), [y], 0, dy, 1.0, h=1e-7)


def test_mse_grad():
    r = rng(19)
    y, t = r.standard_normal((6, 3)), r.standard_normal((6, 3))
    assert abs(loss.mse_forward(y, t) - np.sum((y - t) ** 2) / 2 / 6) < 1e-12
    fd_check(lambda a: loss.mse_forward(a, t), [y], 0, loss.mse_backward(y, t), 1.0)
