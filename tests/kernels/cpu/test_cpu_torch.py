"""CPU kernels against PyTorch CPU (test oracle only): forward and autograd backward for
each family at a few shapes, float64 unless stated."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _cpu_testutil import rng

from layergraph.kernels.cpu import (
    activation,
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

TOL = dict(rtol=1e-10, atol=1e-11)


def T(a):
    return torch.tensor(np.asarray(a), requires_grad=True)


def _close(got, want, **tol):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, **(tol or TOL))


def _backward(out, dy):
    out.backward(torch.tensor(dy))


# -- convolution ---------------------------------------------------------------------------------
CONVS = [  # N, C, H, W, F, FH, FW, (sh, sw), (dh, dw), (pt, pb, pl, pr), groups, padding_value
    (2, 3, 8, 7, 4, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1), 1, 0.0),
    (3, 4, 9, 9, 6, 3, 2, (2, 1), (1, 2), (0, 1, 2, 0), 2, 0.0),
    (2, 4, 7, 8, 8, 3, 3, (2, 2), (2, 1), (2, 0, 1, 1), 4, 0.0),
    (2, 3, 6, 6, 5, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0), 1, 0.0),
    (2, 3, 8, 7, 4, 3, 3, (1, 2), (1, 1), (1, 2, 2, 1), 1, 1.5),
    (2, 3, 8, 7, 4, 3, 3, (1, 1), (1, 1), (1, 2, 2, 1), 1, "replicate"),
    (2, 3, 8, 7, 4, 3, 3, (2, 1), (1, 1), (2, 1, 1, 2), 1, "symmetric-exclude-edge"),
]


def _torch_pad(x, pads, pv):
    pt, pb, pl, pr = pads
    if isinstance(pv, str):
        mode = {"replicate": "replicate", "symmetric-exclude-edge": "reflect"}[pv]
        return F.pad(x, (pl, pr, pt, pb), mode=mode)
    return F.pad(x, (pl, pr, pt, pb), value=pv)


@pytest.mark.parametrize("case", CONVS)
def test_conv_vs_torch(case):
    n, c, h, w, f, fh, fw, s, d, pads, g, pv = case
    r = rng(20)
    x, wt, b = r.standard_normal((n, c, h, w)), r.standard_normal((f, c // g, fh, fw)), r.standard_normal(f)
    tx, tw, tb = T(x), T(wt), T(b)
    ty = F.conv2d(_torch_pad(tx, pads, pv), tw, tb, stride=s, dilation=d, groups=g)
    y = conv.conv_forward(x, wt, b, *s, *d, *pads, g, pv)
    _close(y, ty)
    dy = r.standard_normal(y.shape)
    _backward(ty, dy)
    dx, dw, db = conv.conv_backward(dy, x, wt, *s, *d, *pads, g, pv)
    _close(dx, tx.grad)
    _close(dw, tw.grad)
    _close(db, tb.grad)


def test_conv_float32_vs_torch():
    r = rng(21)
    x = r.standard_normal((4, 3, 16, 16)).astype(np.float32)
    wt = r.standard_normal((8, 3, 3, 3)).astype(np.float32)
    b = r.standard_normal(8).astype(np.float32)
    y = conv.conv_forward(x, wt, b, 1, 1, 1, 1, 1, 1, 1, 1)
    assert y.dtype == np.float32
    tx, tw = T(x), T(wt)
    ty = F.conv2d(tx, tw, torch.tensor(b), padding=1)
    _close(y, ty, rtol=1e-4, atol=1e-4)
    dy = r.standard_normal(y.shape).astype(np.float32)
    _backward(ty, dy)
    dx, dw, db = conv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    _close(dx, tx.grad, rtol=1e-4, atol=1e-4)
    _close(dw, tw.grad, rtol=1e-4, atol=1e-3)


TCONVS = [  # N, C, H, W, F, FH, FW, (sh, sw), (dh, dw), (ct, cb, cl, cr), groups
    (2, 3, 4, 5, 4, 3, 3, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    (2, 3, 4, 5, 2, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1), 1),
    (2, 4, 3, 4, 6, 4, 3, (3, 2), (1, 2), (2, 1, 0, 1), 2),
    (1, 2, 5, 3, 3, 2, 2, (2, 1), (1, 1), (0, 1, 1, 0), 1),
]


@pytest.mark.parametrize("case", TCONVS)
def test_transposed_conv_vs_torch(case):
    """torch's conv_transpose2d without padding gives the full output; cropping is a slice."""
    n, c, h, w, f, fh, fw, s, d, crop, g = case
    r = rng(22)
    x, wt, b = r.standard_normal((n, c, h, w)), r.standard_normal((c, f // g, fh, fw)), r.standard_normal(f)
    tx, tw, tb = T(x), T(wt), T(b)
    full = F.conv_transpose2d(tx, tw, tb, stride=s, dilation=d, groups=g)
    ct, cb, cl, cr = crop
    ty = full[:, :, ct:full.shape[2] - cb, cl:full.shape[3] - cr]
    y = conv.transposed_conv_forward(x, wt, b, *s, *d, *crop, g)
    _close(y, ty)
    dy = r.standard_normal(y.shape)
    _backward(ty, dy)
    dx, dw, db = conv.transposed_conv_backward(dy, x, wt, *s, *d, *crop, g)
    _close(dx, tx.grad)
    _close(dw, tw.grad)
    _close(db, tb.grad)


def test_transposed_conv_symmetric_crop_is_torch_padding():
    r = rng(23)
    x, wt = r.standard_normal((2, 3, 5, 5)), r.standard_normal((3, 2, 4, 4))
    ty = F.conv_transpose2d(torch.tensor(x), torch.tensor(wt), stride=2, padding=1, output_padding=1)
    _close(conv.transposed_conv_forward(x, wt, None, 2, 2, 1, 1, 1, 0, 1, 0), ty)


# -- batch normalization ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 3, 5, 4), (16, 5), (2, 16, 3, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batchnorm_train_vs_torch(shape, dtype):
    r = rng(24)
    c = shape[1]
    x = (3 * r.standard_normal(shape) + 2).astype(dtype)
    s, o = r.standard_normal(c).astype(dtype), r.standard_normal(c).astype(dtype)
    eps = 1e-5
    tx, ts, to = T(x), T(s), T(o)
    rm, rv = torch.zeros(c, dtype=tx.dtype), torch.ones(c, dtype=tx.dtype)
    ty = F.batch_norm(tx, rm, rv, ts, to, training=True, momentum=1.0, eps=eps)
    y, mean, var = norm.bn_forward_train(x, s, o, eps)
    tol = TOL if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    assert y.dtype == mean.dtype == var.dtype == dtype
    _close(y, ty, **tol)
    _close(mean, rm, **tol)
    m = x.size // c
    _close(var, rv * (m - 1) / m, **tol)  # torch keeps the unbiased variance; ours is biased
    dy = r.standard_normal(shape).astype(dtype)
    _backward(ty, dy)
    dx, dscale, doffset = norm.bn_backward(dy, x, s, mean, var, eps)
    _close(dx, tx.grad, **tol)
    _close(dscale, ts.grad, **(tol if dtype == np.float64 else dict(rtol=1e-3, atol=1e-3)))
    _close(doffset, to.grad, **(tol if dtype == np.float64 else dict(rtol=1e-3, atol=1e-3)))


def test_batchnorm_infer_vs_torch():
    r = rng(25)
    x = r.standard_normal((4, 3, 5, 5))
    s, o, m, v = r.standard_normal(3), r.standard_normal(3), r.standard_normal(3), r.random(3) + 0.1
    ty = F.batch_norm(torch.tensor(x), torch.tensor(m), torch.tensor(v), torch.tensor(s), torch.tensor(o),
                      training=False, eps=1e-3)
    _close(norm.bn_forward_infer(x, s, o, m, v, 1e-3), ty)


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (5, 7)])
def test_layernorm_vs_torch(shape):
    r = rng(26)
    x = r.standard_normal(shape) * 2 + 1
    c = shape[1]
    s, o = r.standard_normal(c), r.standard_normal(c)
    tx, ts, to = T(x), T(s), T(o)
    bshape = (c,) + (1,) * (len(shape) - 2)
    ty = F.layer_norm(tx, shape[1:], eps=1e-5) * ts.reshape(bshape) + to.reshape(bshape)
    y, mean, var = norm.ln_forward_train(x, s, o, 1e-5)
    _close(y, ty)
    dy = r.standard_normal(shape)
    _backward(ty, dy)
    dx, dscale, doffset = norm.ln_backward(dy, x, s, mean, var, 1e-5)
    _close(dx, tx.grad)
    _close(dscale, ts.grad)
    _close(doffset, to.grad)


# -- pooling ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hp", [(2, 2, 2, 2, 0, 0, 0, 0), (3, 3, 2, 2, 1, 1, 1, 1), (3, 2, 1, 2, 0, 1, 1, 0)])
def test_maxpool_vs_torch(hp):
    ph, pw, sh, sw, pt, pb, pl, pr = hp
    r = rng(27)
    x = r.standard_normal((2, 3, 9, 8))
    tx = T(x)
    ty, tidx = F.max_pool2d(F.pad(tx, (pl, pr, pt, pb), value=-np.inf), (ph, pw), (sh, sw), return_indices=True)
    y, arg = pool.maxpool_forward_train(x, *hp)
    _close(y, ty, rtol=0, atol=0)
    # torch's indices point into the padded plane; map them back to the input plane
    wp = 8 + pl + pr
    ti = tidx.numpy()
    np.testing.assert_array_equal(arg, (ti // wp - pt) * 8 + (ti % wp - pl))
    dy = r.standard_normal(y.shape)
    _backward(ty, dy)
    _close(pool.maxpool_backward(dy, arg, 9, 8), tx.grad)


@pytest.mark.parametrize("hp", [(2, 2, 2, 2, 0, 0, 0, 0), (3, 3, 2, 2, 1, 1, 1, 1), (3, 2, 1, 2, 1, 1, 1, 1)])
@pytest.mark.parametrize("incl", [True, False])
def test_avgpool_vs_torch(hp, incl):
    ph, pw, sh, sw, pt, pb, pl, pr = hp
    r = rng(28)
    x = r.standard_normal((2, 3, 9, 8))
    tx = T(x)
    ty = F.avg_pool2d(tx, (ph, pw), (sh, sw), padding=(pt, pl), count_include_pad=incl)
    y = pool.avgpool_forward(x, *hp, incl)
    _close(y, ty)
    dy = r.standard_normal(y.shape)
    _backward(ty, dy)
    _close(pool.avgpool_backward(dy, 9, 8, *hp, incl), tx.grad)


def test_global_pools_vs_torch():
    r = rng(29)
    x = r.standard_normal((3, 4, 5, 6))
    dy = r.standard_normal((3, 4, 1, 1))
    tx = T(x)
    ty = F.adaptive_avg_pool2d(tx, 1)
    _close(pool.globalavgpool_forward(x), ty)
    _backward(ty, dy)
    _close(pool.globalavgpool_backward(dy, 5, 6), tx.grad)
    tx = T(x)
    ty = F.adaptive_max_pool2d(tx, 1)
    y, arg = pool.globalmaxpool_forward_train(x)
    _close(y, ty, rtol=0, atol=0)
    _backward(ty, dy)
    _close(pool.globalmaxpool_backward(dy, arg, 5, 6), tx.grad)


# -- fully connected, activations, softmax -------------------------------------------------------
def test_fc_vs_torch():
    r = rng(30)
    x, w, b = r.standard_normal((6, 2, 3, 2)), r.standard_normal((5, 12)), r.standard_normal(5)
    tx, tw, tb = T(x), T(w), T(b)
    ty = F.linear(tx.reshape(6, -1), tw, tb)
    _close(dense.fc_forward(x, w, b), ty)
    dy = r.standard_normal((6, 5))
    _backward(ty, dy)
    dx, dw, db = dense.fc_backward(dy, x, w)
    _close(dx, tx.grad)
    _close(dw, tw.grad)
    _close(db, tb.grad)


TORCH_ACT = [
    ("relu", (), F.relu),
    ("leakyrelu", (0.2,), lambda t: F.leaky_relu(t, 0.2)),
    ("clippedrelu", (1.5,), lambda t: torch.clamp(t, 0.0, 1.5)),
    ("elu", (0.8,), lambda t: F.elu(t, 0.8)),
    ("tanh", (), torch.tanh),
    ("sigmoid", (), torch.sigmoid),
    ("swish", (), F.silu),
    ("gelu", (False,), lambda t: F.gelu(t, approximate="none")),
    ("gelu", (True,), lambda t: F.gelu(t, approximate="tanh")),
]


@pytest.mark.parametrize("name,hp,tf", TORCH_ACT, ids=[f"{a[0]}{a[1]}" for a in TORCH_ACT])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_vs_torch(name, hp, tf, dtype):
    r = rng(31)
    x = (3 * r.standard_normal((4, 3, 5, 5))).astype(dtype)
    tx = T(x)
    ty = tf(tx)
    y = getattr(activation, f"{name}_forward")(x, *hp)
    assert y.dtype == dtype
    tol = TOL if dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)
    _close(y, ty, **tol)
    dy = r.standard_normal(x.shape).astype(dtype)
    _backward(ty, dy)
    _close(getattr(activation, f"{name}_backward")(dy, x, y, *hp), tx.grad, **tol)


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 2, 3)])
def test_softmax_vs_torch(shape):
    r = rng(32)
    x = 4 * r.standard_normal(shape)
    tx = T(x)
    ty = F.softmax(tx, dim=1)
    y = softmax.softmax_forward(x)
    _close(y, ty)
    dy = r.standard_normal(shape)
    _backward(ty, dy)
    _close(softmax.softmax_backward(dy, x, y), tx.grad)


# -- losses, dropout, combination, flatten -------------------------------------------------------
@pytest.mark.parametrize("weights", [None, [0.3, 1.0, 2.0, 0.5, 1.5]])
def test_crossentropyex_vs_torch(weights):
    """MATLAB divides by the number of observations N, also with class weights, so the torch
    reference is the weighted NLL summed and divided by N (not torch's weighted mean)."""
    r = rng(33)
    n, k = 8, 5
    logits = r.standard_normal((n, k))
    labels = r.integers(0, k, n)
    t = np.eye(k)[labels]
    y = softmax.softmax_forward(logits)
    ty = T(y)
    tw = None if weights is None else torch.tensor(weights, dtype=torch.float64)
    tl = F.nll_loss(torch.log(ty), torch.tensor(labels), weight=tw, reduction="sum") / n
    assert abs(loss.crossentropyex_forward(y, t, weights) - tl.item()) < 1e-12
    tl.backward()
    _close(loss.crossentropyex_backward(y, t, weights), ty.grad)
    # and end to end through softmax: the familiar (Y - T) / N for unit weights
    tz = T(logits)
    F.cross_entropy(tz, torch.tensor(labels), weight=tw, reduction="sum").div(n).backward()
    dz = softmax.softmax_backward(loss.crossentropyex_backward(y, t, weights), logits, y)
    _close(dz, tz.grad)


def test_mse_vs_torch():
    r = rng(34)
    y, t = r.standard_normal((7, 3)), r.standard_normal((7, 3))
    ty = T(y)
    tl = F.mse_loss(ty, torch.tensor(t), reduction="sum") / 2 / 7
    assert abs(loss.mse_forward(y, t) - tl.item()) < 1e-12
    tl.backward()
    _close(loss.mse_backward(y, t), ty.grad)


def test_dropout_matches_torch_formula():
    """Inverted dropout: torch scales kept elements by 1/(1-p) too; with the same mask the
    values and gradients agree."""
    r = rng(35)
    x = r.standard_normal((3, 4, 5))
    y, mask = dropout.dropout_forward_train(x, 0.25, 7)
    tx = T(x)
    ty = tx * torch.tensor(mask) / 0.75
    _close(y, ty)
    dy = r.standard_normal(x.shape)
    _backward(ty, dy)
    _close(dropout.dropout_backward(dy, mask, 0.25), tx.grad)


def test_addition_concat_flatten_vs_torch():
    r = rng(36)
    a, b = r.standard_normal((2, 3, 4, 4)), r.standard_normal((2, 5, 4, 4))
    _close(combine.addition_forward([a, a, a]), torch.tensor(a) * 3)
    _close(combine.depthconcat_forward([a, b]), torch.cat([torch.tensor(a), torch.tensor(b)], 1))
    ta = T(a)
    ty = torch.flatten(ta.permute(0, 1, 3, 2), 1)
    _close(flatten.flatten_forward(a), ty)
    dy = r.standard_normal(ty.shape)
    _backward(ty, dy)
    _close(flatten.flatten_backward(dy, 3, 4, 4), ta.grad)
    _close(flatten.flatten_forward(a, column_major=False), torch.flatten(torch.tensor(a), 1))
