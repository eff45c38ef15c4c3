"""h_small3's per-call cuts, each the same numbers as the path it replaces, to the bit:
fc_backward's fused ReLU mask and bias gradient in one pass (dense._relu_mask_sums against
combine.masked_copies and numpy's sum over the rows), the cross-entropy's loss and gradient from
one kernel call, and sgdm_update's rate scalars and checks."""
import numpy as np
import pytest
import torch

from layergraph.kernels.cpu import dense, loss, update
from layergraph.kernels.cpu.combine import masked_copies
from layergraph.kernels.cpu._util import relu_mask_top
from layergraph.train.losses import CrossEntropy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5), (2, 3), (7, 13), (32, 512), (33, 100), (1000, 10)])
@pytest.mark.parametrize("ceiling", [np.inf, 0.5])
def test_mask_and_column_sums_are_masked_copies_and_numpys_sum(dtype, shape, ceiling):
    r = np.random.default_rng(shape[0] * 7 + shape[1])
    dy = (r.standard_normal(shape) * 10 ** r.uniform(-3, 3, shape)).astype(dtype)
    dy[r.random(shape) < 0.05] = -0.0
    y = r.standard_normal(shape).astype(dtype)
    y[r.random(shape) < 0.1] = np.nan
    y[0, 0] = 0.5   # on the clipped ReLU's kink: no gradient there
    top = relu_mask_top("t", ceiling, dtype)
    ref = masked_copies(dy, 1, y, top, "t")[0]
    d, db = np.empty_like(dy), np.empty(shape[1], dtype)
    dense._relu_mask_sums(dy, y, top, d, db)
    assert d.tobytes() == ref.tobytes()
    assert db.tobytes() == ref.sum(axis=0).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, k, out", [(3, 7, 5), (32, 512, 512), (64, 100, 600)])  # the last: masked_copies' path
@pytest.mark.parametrize("ceiling", [np.inf, 6.0])
def test_fc_backward_with_relu_out_is_the_mask_then_the_plain_backward(dtype, n, k, out, ceiling):
    r = np.random.default_rng(n + k)
    x, w = r.standard_normal((n, k)).astype(dtype), (r.standard_normal((out, k)) * 0.1).astype(dtype)
    y = dense.fc_forward(x, w, r.standard_normal(out).astype(dtype), relu=True, ceiling=ceiling)
    dy = r.standard_normal((n, out)).astype(dtype)
    masked = masked_copies(dy, 1, y, relu_mask_top("t", ceiling, dtype), "t")[0]
    for need_dx in (True, False):
        got = dense.fc_backward(dy, x, w, need_dx=need_dx, relu_out=y, ceiling=ceiling)
        want = dense.fc_backward(masked, x, w, need_dx=need_dx)
        for a, b in zip(got, want):
            assert (a is None and b is None) or a.tobytes() == b.tobytes()
        assert got[2].dtype == dtype and got[2].shape == (out,)


def test_fc_backward_mask_and_bias_gradient_against_torch():
    r = np.random.default_rng(3)
    x, w, b = r.standard_normal((32, 40)), r.standard_normal((50, 40)) * 0.2, r.standard_normal(50)
    dy = r.standard_normal((32, 50))
    y = dense.fc_forward(x, w, b, relu=True)
    dx, dw, db = dense.fc_backward(dy, x, w, relu_out=y)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.relu(torch.nn.functional.linear(tx, tw, tb)).backward(torch.tensor(dy))
    for a, t in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_fc_backward_bias_gradient_float64_central_differences():
    r = np.random.default_rng(4)
    x, w, b = r.standard_normal((6, 4)), r.standard_normal((5, 4)), r.standard_normal(5)
    dy = r.standard_normal((6, 5))

    def f(bb):
        return float(np.sum(dense.fc_forward(x, w, bb, relu=True) * dy))
    y = dense.fc_forward(x, w, b, relu=True)
    _, _, db = dense.fc_backward(dy, x, w, relu_out=y)
    h = 1e-6
    num = [(f(b + h * e) - f(b - h * e)) / (2 * h) for e in np.eye(5)]
    np.testing.assert_allclose(db, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, weights", [((32, 10), False), ((5, 4, 1, 1), True), ((3, 6, 2, 2), False)])
def test_loss_and_grad_is_forward_and_backward(dtype, shape, weights):
    r = np.random.default_rng(5)
    y = r.random(shape).astype(dtype)
    y[0, 0] = 0   # below eps: raised to it
    t = np.zeros(shape, dtype)
    t.reshape(shape[0], shape[1], -1)[np.arange(shape[0]), r.integers(0, shape[1], shape[0])] = 1
    w = r.random(shape[1]).astype(dtype) if weights else None
    l1, g1 = loss.crossentropyex_loss_and_grad(y, t, w)
    assert l1 == loss.crossentropyex_forward(y, t, w)
    assert g1.shape == y.shape and g1.tobytes() == loss.crossentropyex_backward(y, t, w).tobytes()
    l2, g2 = CrossEntropy(None if w is None else w.astype(float))(y, t)   # the trainer's
    assert l2 == l1 and g2.tobytes() == g1.tobytes()


def test_rate_scalars_are_the_dtypes_and_a_changing_rate_is_not_stale():
    w, g, v = (np.random.default_rng(6).standard_normal(5000).astype(np.float32) for _ in range(3))
    for lr in [0.01 * i for i in range(1, 100)]:   # more rates than the cache keeps
        w2, v2 = w.copy(), v.copy()
        assert update.sgdm_update(w, g, v, lr, 0.9)
        v2 *= 0.9
        v2 -= lr * g
        w2 += v2
        assert w.tobytes() == w2.tobytes() and v.tobytes() == v2.tobytes()
    assert len(update._scalars) <= 64
    a, b = update._rate_scalars(np.dtype(np.float64), 0.01, 0.9)
    assert type(a) is np.float64 and a == 0.01 and b == 0.9


@pytest.mark.parametrize("which", ["w", "v"])
def test_read_only_weights_or_velocity_are_left_to_numpy(which):
    w, g, v = (np.random.default_rng(7).standard_normal(5000).astype(np.float32) for _ in range(3))
    (w if which == "w" else v).flags.writeable = False
    assert not update.sgdm_update(w, g, v, 0.01, 0.9)
    assert update.sgdm_update(w.copy(), g, v.copy(), 0.01, 0.9)   # g may be read-only


def test_a_column_of_negative_zeros_sums_to_zero_as_numpys():
    dy = np.full((3, 4), -0.0, np.float32)
    d, db = np.empty_like(dy), np.empty(4, np.float32)
    dense._relu_mask_sums(dy, np.ones_like(dy), np.float32(np.inf), d, db)
    assert db.tobytes() == dy.sum(axis=0).tobytes() == np.zeros(4, np.float32).tobytes()
    assert d.tobytes() == dy.tobytes()
