"""The filter gradient on direct.py's micro-kernel (direct._dw_chunk, conv._grads_rows with
conv.DIRECT_DW): float32, one group, stride 1, F a multiple of 16. dW and db against torch in
float64 (paddings, padding values, dilation, a replicated border, dx's routes
alongside, uneven batches over several threads); the adjoint identity <dW, V> = <dy, conv(x, V)>
in float64 (the directional finite difference of a loss linear in W, exact up to rounding);
the same result as the BLAS product it replaces; the cases it leaves to that product."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv


CASES = [  # n, C, F, H, W, (dh, dw), (pt, pb, pl, pr), padding value
    (5, 16, 16, 32, 32, (1, 1), (1, 1, 1, 1), 0.0),     # ResNet-20's first stage
    (3, 32, 32, 16, 16, (1, 1), (1, 1, 1, 1), 0.0),
    (7, 64, 64, 8, 8, (1, 1), (1, 1, 1, 1), 0.0),
    (2, 8, 48, 7, 13, (1, 1), (0, 2, 2, 0), 0.5),       # C = 8: blocks of 6 + 2 channels; 3 filter blocks
    (3, 13, 16, 9, 5, (1, 1), (3, 0, 1, 4), -1.0),      # padding beyond the filter's reach; 13 = 6 + 6 + 1
    (2, 20, 32, 10, 11, (2, 1), (2, 2, 1, 1), 0.25),    # dilation
    (2, 16, 16, 3, 1, (1, 1), (1, 1, 1, 1), 0.0),       # output width 1
    (5, 3, 16, 32, 32, (1, 1), (1, 1, 1, 1), 0.0),      # a network's first convolution (conv._few_channels_dw)
    (3, 1, 16, 9, 7, (1, 1), (0, 1, 2, 0), 0.5),        # one channel, uneven padding
    (2, 3, 16, 10, 11, (2, 1), (2, 2, 1, 1), 0.25),     # few channels, dilation (dx on _grads_rows too)
    (3, 3, 32, 12, 14, (1, 1), (1, 1, 1, 1), 0.0),      # few channels, 32 and 64 filters: the folded taps too
    (2, 5, 64, 9, 10, (1, 2), (2, 1, 0, 3), -0.5),      # ... with dilation and uneven padding
    (3, 2, 32, 9, 5, (1, 1), (3, 0, 1, 4), -1.0),       # ... padding beyond the filter's reach
    (20, 2, 32, 24, 24, (1, 1), (1, 1, 1, 1), 0.0),     # ... several chunks of conv._FOLD_PIX pixels (dx: of one)
]
FIRST = [case for case in CASES if case[1] < cv._ROWS_MIN_C]


def _ref(x, w, dy, d, pads, pv):
    pt, pb, pl, pr = pads
    xt = torch.tensor(np.asarray(x, np.float64))
    xp = F.pad(xt, (pl, pr, pt, pb), value=pv)
    wt = torch.tensor(np.asarray(w, np.float64), requires_grad=True)
    y = F.conv2d(xp, wt, dilation=d)
    y.backward(torch.tensor(np.asarray(dy, np.float64)))
    return wt.grad.numpy(), y.shape


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("need_dx", [True, False])
def test_dw_against_torch_float64(case, need_dx, threads):
    n, c, f, h, w, (dh, dw), pads, pv = case
    g = np.random.default_rng(c * 5 + f + n)
    x = (g.standard_normal((n, c, h, w)) * 2).astype(np.float32)
    wt = g.standard_normal((f, c, 3, 3)).astype(np.float32)
    oh = h + pads[0] + pads[1] - 2 * dh
    ow = w + pads[2] + pads[3] - 2 * dw
    dy = g.standard_normal((n, f, oh, ow)).astype(np.float32)
    ref, shape = _ref(x, wt, dy, (dh, dw), pads, pv)
    assert tuple(shape) == dy.shape
    dx, dW, db = cv.conv_backward(dy, x, wt, 1, 1, dh, dw, *pads, padding_value=pv, need_dx=need_dx)
    assert dW.dtype == np.float32 and dW.shape == wt.shape
    np.testing.assert_allclose(dW, ref, rtol=0, atol=2e-5 * np.abs(ref).max())
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-4)
    assert (dx is None) == (not need_dx)


def test_dw_replicated_border_against_torch():
    g = np.random.default_rng(3)
    x = g.standard_normal((3, 16, 9, 8)).astype(np.float32)
    wt = g.standard_normal((32, 16, 3, 3)).astype(np.float32)
    dy = g.standard_normal((3, 32, 9, 8)).astype(np.float32)
    xp = F.pad(torch.tensor(x, dtype=torch.float64), (1, 1, 1, 1), mode="replicate")
    wr = torch.tensor(wt, dtype=torch.float64, requires_grad=True)
    F.conv2d(xp, wr).backward(torch.tensor(dy, dtype=torch.float64))
    _, dW, _ = cv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1, padding_value="replicate")
    ref = wr.grad.numpy()
    np.testing.assert_allclose(dW, ref, rtol=0, atol=2e-5 * np.abs(ref).max())


@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[5], CASES[11], CASES[12]])
def test_dw_adjoint_identity_float64(case):
    """L(W) = <dy, conv(x, W)> is linear in W, so its directional finite difference along V is
    <dy, conv(x, V)> exactly: float64 through the (finite-difference-checked) float64 forward."""
    n, c, f, h, w, (dh, dw), pads, pv = case
    g = np.random.default_rng(11)
    x = g.standard_normal((n, c, h, w)).astype(np.float32)
    wt = g.standard_normal((f, c, 3, 3)).astype(np.float32)
    v = g.standard_normal((f, c, 3, 3))
    oh = h + pads[0] + pads[1] - 2 * dh
    ow = w + pads[2] + pads[3] - 2 * dw
    dy = g.standard_normal((n, f, oh, ow)).astype(np.float32)
    _, dW, _ = cv.conv_backward(dy, x, wt, 1, 1, dh, dw, *pads, padding_value=pv, need_dx=False)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    eps = 1e-3
    lp = np.vdot(dy64, cv.conv_forward(x64, wt.astype(np.float64) + eps * v, None, 1, 1, dh, dw, *pads,
                                       padding_value=pv))
    lm = np.vdot(dy64, cv.conv_forward(x64, wt.astype(np.float64) - eps * v, None, 1, 1, dh, dw, *pads,
                                       padding_value=pv))
    fd = (lp - lm) / (2 * eps)
    assert abs(np.vdot(dW.astype(np.float64), v) - fd) <= 1e-5 * np.abs(dW).sum() * np.abs(v).max()


def test_same_as_the_blas_product(monkeypatch):
    g = np.random.default_rng(5)
    x = g.standard_normal((6, 32, 12, 12)).astype(np.float32)
    wt = g.standard_normal((32, 32, 3, 3)).astype(np.float32)
    dy = g.standard_normal((6, 32, 12, 12)).astype(np.float32)
    a = cv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1)
    monkeypatch.setattr(cv, "DIRECT_DW", False)
    b = cv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-5 * np.abs(b[1]).max())
    np.testing.assert_allclose(a[2], b[2], rtol=1e-6)


def test_routes_left_to_the_product(monkeypatch):
    """float64, F not a multiple of 16: the BLAS product (direct._dw_chunk is never called)."""
    from layergraph.kernels.cpu import direct as dc
    calls = []
    real = dc._dw_chunk
    monkeypatch.setattr(dc, "_dw_chunk", lambda *a: calls.append(1) or real(*a))
    g = np.random.default_rng(2)
    for dt, f in [(np.float64, 16), (np.float32, 20)]:
        x = g.standard_normal((2, 16, 6, 6)).astype(dt)
        wt = g.standard_normal((f, 16, 3, 3)).astype(dt)
        dy = g.standard_normal((2, f, 6, 6)).astype(dt)
        cv.conv_backward(dy, x, wt, 1, 1, 1, 1, 1, 1, 1, 1)
    assert not calls
    x = g.standard_normal((2, 16, 6, 6)).astype(np.float32)
    cv.conv_backward(g.standard_normal((2, 16, 6, 6)).astype(np.float32), x,
                     g.standard_normal((16, 16, 3, 3)).astype(np.float32), 1, 1, 1, 1, 1, 1, 1, 1)
    assert calls


@pytest.mark.parametrize("case", FIRST)
def test_few_channels_dx_and_dw_against_torch(case, threads):
    """Below 8 channels with 16 filters dW goes to direct._dw_chunk whether dx is wanted or not:
    dx against torch, and dW the same array either way (its numbers do not depend on need_dx);
    with more filters and dx, dW and dx come from im2col's path (dW against torch)."""
    n, c, f, h, w, (dh, dw), pads, pv = case
    g = np.random.default_rng(c + n)
    x = g.standard_normal((n, c, h, w)).astype(np.float32)
    wt = g.standard_normal((f, c, 3, 3)).astype(np.float32)
    pt, pb, pl, pr = pads
    dy = g.standard_normal((n, f, h + pt + pb - 2 * dh, w + pl + pr - 2 * dw)).astype(np.float32)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    F.conv2d(F.pad(xt, (pl, pr, pt, pb), value=pv), torch.tensor(wt, dtype=torch.float64),
             dilation=(dh, dw)).backward(torch.tensor(dy, dtype=torch.float64))
    dx, dW, db = cv.conv_backward(dy, x, wt, 1, 1, dh, dw, *pads, padding_value=pv)
    _, dW2, db2 = cv.conv_backward(dy, x, wt, 1, 1, dh, dw, *pads, padding_value=pv, need_dx=False)
    ref = xt.grad.numpy()
    np.testing.assert_allclose(dx, ref, rtol=0, atol=2e-5 * np.abs(ref).max())
    if f == cv._FEW_C_F:
        np.testing.assert_array_equal(dW, dW2)
        np.testing.assert_array_equal(db, db2)
    else:
        np.testing.assert_allclose(dW, dW2, rtol=0, atol=2e-5 * np.abs(dW2).max())
        np.testing.assert_allclose(db, db2, rtol=1e-5, atol=1e-4)


def test_few_channels_route(monkeypatch):
    """_dw_chunk below 8 channels with 16, 32 or 64 filters, float32, stride 1 (at 128 filters
    im2col's product measured faster)."""
    from layergraph.kernels.cpu import direct as dc
    calls = []
    real = dc._dw_chunk
    monkeypatch.setattr(dc, "_dw_chunk", lambda *a: calls.append(1) or real(*a))
    g = np.random.default_rng(4)

    def run(dt, f, s):
        x = g.standard_normal((2, 3, 8, 8)).astype(dt)
        wt = g.standard_normal((f, 3, 3, 3)).astype(dt)
        o = (8 + 2 - 3) // s + 1
        cv.conv_backward(g.standard_normal((2, f, o, o)).astype(dt), x, wt, s, s, 1, 1, 1, 1, 1, 1, need_dx=False)
        n, calls[:] = len(calls), []
        return n
    assert run(np.float32, 16, 1)
    assert run(np.float32, 32, 1)
    assert run(np.float32, 64, 1)
    assert not run(np.float32, 128, 1)
    assert not run(np.float32, 24, 1)
    assert not run(np.float64, 16, 1)
    assert not run(np.float32, 16, 2)
