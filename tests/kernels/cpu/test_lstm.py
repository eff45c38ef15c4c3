"""The LSTM kernels (kernels/cpu/recurrent.py) against a numpy reference (every gate and state
activation, masks, both directions), torch nn.LSTM (values and gradients), the ONNX LSTM node
tests' expected outputs, float64 finite differences through time, and padding: a padded batch
gives each sequence's own outputs and gradients."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from layergraph.kernels.cpu.recurrent import lstm_backward, lstm_forward_infer, lstm_forward_train

ACTS = list(itertools.product(("sigmoid", "hard-sigmoid"), ("tanh", "softsign")))


# -- an independent reference: one step at a time, in numpy --------------------------------------------------
def _gate(v, kind):
    return 1 / (1 + np.exp(-v)) if kind == "sigmoid" else np.clip(0.2 * v + 0.5, 0, 1)


def _state(v, kind):
    return np.tanh(v) if kind == "tanh" else v / (1 + np.abs(v))


def reference(x, w, r, b, h0, c0, mask, gate, state, reverse):
    n, _, t = x.shape
    hid = r.shape[1]
    h, c = h0.copy(), c0.copy()
    y = np.zeros((n, hid, t))
    for s in range(t):
        k = t - 1 - s if reverse else s
        z = x[:, :, k] @ w.T + h @ r.T + b
        i, f, g, o = (z[:, j * hid:(j + 1) * hid] for j in range(4))
        cn = _gate(f, gate) * c + _gate(i, gate) * _state(g, state)
        hn = _gate(o, gate) * _state(cn, state)
        m = mask[:, k][:, None]
        c = np.where(m, cn, c)
        h = np.where(m, hn, h)
        y[:, :, k] = np.where(m, hn, 0)
    return y, h, c


def problem(n=3, c=4, t=6, hid=5, seed=0, dtype=np.float64):
    g = np.random.default_rng(seed)
    shapes = dict(x=((n, c, t), 1), w=((4 * hid, c), 0.5), r=((4 * hid, hid), 0.5), b=((4 * hid,), 0.3),
                  h0=((n, hid), 0.5), c0=((n, hid), 0.5))
    return {k: (scale * g.standard_normal(shape)).astype(dtype) for k, (shape, scale) in shapes.items()}


def ragged_mask(lengths, t, left):
    ar = np.arange(t)[None, :]
    ln = np.asarray(lengths)[:, None]
    return ar >= t - ln if left else ar < ln


@pytest.mark.parametrize("gate, state", ACTS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("left", [False, True])
def test_forward_matches_reference(gate, state, reverse, left):
    p = problem()
    mask = ragged_mask([6, 2, 4], 6, left)
    y, h, c = lstm_forward_infer(**p, mask=mask, gate=gate, state=state, reverse=reverse)
    ry, rh, rc = reference(p["x"], p["w"], p["r"], p["b"], p["h0"], p["c0"], mask, gate, state, reverse)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, rh, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c, rc, rtol=1e-12, atol=1e-13)
    assert np.all(y[~np.broadcast_to(mask[:, None, :], y.shape)] == 0)   # padded steps output 0


def test_float32_gate_math_is_close_to_libm():
    """float32 computes tanh by a rational function and sigmoid from it (recurrent.py)."""
    import numba
    from layergraph.kernels.cpu.recurrent import _gate, _state

    @numba.njit
    def apply(v, out_t, out_s):
        for i in range(v.size):
            out_t[i] = _state(v[i], 0, True)
            out_s[i] = _gate(v[i], 0, True)

    v = np.linspace(-12, 12, 200001).astype(np.float32)
    t, s = np.empty_like(v), np.empty_like(v)
    apply(v, t, s)
    v64 = v.astype(np.float64)
    assert np.abs(t - np.tanh(v64)).max() < 5e-7
    assert np.abs(s - 1 / (1 + np.exp(-v64))).max() < 5e-7


def test_float32_keeps_dtype_and_agrees():
    p64 = problem()
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    y32, h32, c32 = lstm_forward_infer(**p32)
    y64, _, _ = lstm_forward_infer(**p64)
    assert y32.dtype == h32.dtype == c32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)


# -- torch nn.LSTM (MATLAB's gate order i, f, g, o is torch's: W, R as they are, bias_hh = 0) ------------------
def _torch_lstm(p, reverse):
    torch = pytest.importorskip("torch")
    hid = p["r"].shape[1]
    m = torch.nn.LSTM(p["w"].shape[1], hid, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["w"]))
        m.weight_hh_l0.copy_(torch.from_numpy(p["r"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        m.bias_hh_l0.zero_()
    x = torch.from_numpy(np.ascontiguousarray(p["x"].transpose(0, 2, 1))).requires_grad_(True)
    h0 = torch.from_numpy(p["h0"][None]).requires_grad_(True)
    c0 = torch.from_numpy(p["c0"][None]).requires_grad_(True)
    xin = torch.flip(x, [1]) if reverse else x
    y, (h, c) = m(xin, (h0, c0))
    if reverse:
        y = torch.flip(y, [1])
    return torch, m, x, h0, c0, y, h[0], c[0]


@pytest.mark.parametrize("reverse", [False, True])
def test_forward_and_gradients_match_torch(reverse):
    p = problem(n=4, c=3, t=7, hid=6, seed=1)
    torch, m, x, h0, c0, ty, th, tc = _torch_lstm(p, reverse)
    y, h, c, ctx = lstm_forward_train(**p, reverse=reverse)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c, tc.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = np.random.default_rng(2)
    dy, dh, dc = g.standard_normal(y.shape), g.standard_normal(h.shape), g.standard_normal(c.shape)
    loss = (ty * torch.from_numpy(dy.transpose(0, 2, 1).copy())).sum() + (th * torch.from_numpy(dh)).sum() \
        + (tc * torch.from_numpy(dc)).sum()
    loss.backward()
    dx, dw, dr, db, dh0, dc0 = lstm_backward(dy, dh, dc, ctx, p["w"], p["r"], reverse=reverse)
    np.testing.assert_allclose(dx, x.grad.numpy().transpose(0, 2, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, m.weight_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dr, m.weight_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, m.bias_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, h0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dc0, c0.grad.numpy()[0], rtol=1e-10, atol=1e-12)


# -- the ONNX LSTM node tests: their inputs and expected outputs (onnx.backend.test.case.node.lstm) -------------
def _onnx_cases():
    pytest.importorskip("onnx")
    from onnx.backend.test.case.node import lstm as onnx_lstm
    captured = []

    def expect(node, inputs, outputs, name, **kw):
        captured.append((node, inputs, outputs, name))

    saved = onnx_lstm.expect
    onnx_lstm.expect = expect
    try:
        for attr in sorted(dir(onnx_lstm.LSTM)):
            if attr.startswith("export"):
                getattr(onnx_lstm.LSTM, attr)()
    finally:
        onnx_lstm.expect = saved
    return captured


IOFC_TO_IFGO = [0, 2, 3, 1]   # ONNX's blocks i, o, f, c -> MATLAB's i, f, g, o


def _blocks(a, hid):
    return np.concatenate([a[k * hid:(k + 1) * hid] for k in IOFC_TO_IFGO], axis=0)


def test_onnx_lstm_node_tests():
    cases = _onnx_cases()
    names = {c[3] for c in cases}
    assert {"test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_batchwise"} <= names
    checked = 0
    for node, inputs, outputs, name in cases:
        feeds = dict(zip(node.input, inputs))
        attrs = {a.name: onnx_attr(a) for a in node.attribute}
        if "P" in feeds:        # peepholes: neither MATLAB's nor Wolfram's LSTM has them
            continue
        layout = attrs.get("layout", 0)
        x = feeds["X"].astype(np.float64)
        x = x if layout else x.transpose(1, 0, 2)               # batch x seq x in
        hid = attrs["hidden_size"]
        direction = attrs.get("direction", b"forward")
        ys, hs, cs = [], [], []
        for d in range(feeds["W"].shape[0]):        # bidirectional: forward then reverse
            w, r = _blocks(feeds["W"][d], hid), _blocks(feeds["R"][d], hid)
            bias = feeds.get("B", np.zeros((2, 8 * hid)))[d]
            b = _blocks(bias[:4 * hid], hid) + _blocks(bias[4 * hid:], hid)
            y, h, c = lstm_forward_infer(np.ascontiguousarray(x.transpose(0, 2, 1)), w, r, b,
                                         reverse=direction == b"reverse" or d == 1)
            ys.append(y.transpose(2, 0, 1))                # seq x batch x H
            hs.append(h)
            cs.append(c)
        Y, Yh, Yc = np.stack(ys, 1), np.stack(hs, 0), np.stack(cs, 0)     # ONNX layout 0
        got = {"Y": Y if not layout else Y.transpose(2, 0, 1, 3), "Y_h": Yh if not layout else Yh.transpose(1, 0, 2),
               "Y_c": Yc if not layout else Yc.transpose(1, 0, 2)}
        for out_name, expected in zip([o for o in node.output if o], outputs):   # expect lists the named ones
            np.testing.assert_allclose(got[out_name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
            checked += 1
    assert checked >= 3


def onnx_attr(a):
    import onnx
    return onnx.helper.get_attribute_value(a)


# -- float64 finite differences through time (all activations, masks, both directions) ------------------------
@pytest.mark.parametrize("gate, state", ACTS)
@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_match_finite_differences(gate, state, reverse):
    p = problem(n=3, c=3, t=5, hid=4, seed=4)
    mask = ragged_mask([5, 3, 1], 5, left=reverse)
    if gate == "hard-sigmoid":    # keep the gate pre-activations off the kinks at +-2.5
        p = {k: v * 0.5 for k, v in p.items()}
    g = np.random.default_rng(5)
    y, h, c, ctx = lstm_forward_train(**p, mask=mask, gate=gate, state=state, reverse=reverse)
    Wy, Wh, Wc = g.standard_normal(y.shape), g.standard_normal(h.shape), g.standard_normal(c.shape)

    def loss(q):
        yy, hh, cc = lstm_forward_infer(**q, mask=mask, gate=gate, state=state, reverse=reverse)
        return float(np.sum(yy * Wy) + np.sum(hh * Wh) + np.sum(cc * Wc))

    grads = dict(zip(("x", "w", "r", "b", "h0", "c0"),
                     lstm_backward(Wy, Wh, Wc, ctx, p["w"], p["r"], gate=gate, state=state, reverse=reverse)))
    eps = 1e-6
    for name, grad in grads.items():
        for _ in range(2):
            d = g.standard_normal(p[name].shape)
            up = loss({**p, name: p[name] + eps * d})
            down = loss({**p, name: p[name] - eps * d})
            numeric, analytic = (up - down) / (2 * eps), float(np.sum(grad * d))
            assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (name, numeric, analytic)


# -- padding: a padded batch gives each sequence's own outputs and gradients ------------------------------------
@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_padded_batch_equals_each_sequence_alone(left, reverse):
    g = np.random.default_rng(6)
    hid, ch, lengths = 4, 3, [5, 2, 4]
    t = max(lengths)
    p = problem(n=1, c=ch, t=1, hid=hid, seed=7)
    seqs = [g.standard_normal((ch, k)) for k in lengths]
    x = np.full((3, ch, t), 7.0)   # a padding value that would change the results if it were read
    for i, s in enumerate(seqs):
        if left:
            x[i, :, t - s.shape[1]:] = s
        else:
            x[i, :, :s.shape[1]] = s
    mask = ragged_mask(lengths, t, left)
    h0 = np.repeat(p["h0"], 3, 0)
    c0 = np.repeat(p["c0"], 3, 0)
    y, h, c, ctx = lstm_forward_train(x, p["w"], p["r"], p["b"], h0, c0, mask, reverse=reverse)
    dy = g.standard_normal(y.shape)
    dx, dw, dr, db, dh0, dc0 = lstm_backward(dy, None, None, ctx, p["w"], p["r"], reverse=reverse)
    sums = [np.zeros_like(dw), np.zeros_like(dr), np.zeros_like(db)]
    for i, s in enumerate(seqs):
        k = s.shape[1]
        span = slice(t - k, t) if left else slice(0, k)
        yi, hi, ci, ctxi = lstm_forward_train(s[None], p["w"], p["r"], p["b"], p["h0"], p["c0"], reverse=reverse)
        np.testing.assert_allclose(y[i:i + 1, :, span], yi, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h[i:i + 1], hi, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(c[i:i + 1], ci, rtol=1e-12, atol=1e-13)
        gi = lstm_backward(dy[i:i + 1, :, span], None, None, ctxi, p["w"], p["r"], reverse=reverse)
        np.testing.assert_allclose(dx[i:i + 1, :, span], gi[0], rtol=1e-11, atol=1e-12)
        assert np.all(np.delete(dx[i], np.arange(t)[span], axis=1) == 0)   # nothing flows into padding
        np.testing.assert_allclose(dh0[i:i + 1], gi[4], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(dc0[i:i + 1], gi[5], rtol=1e-11, atol=1e-12)
        for acc, part in zip(sums, gi[1:4]):
            acc += part
    for got, want in zip((dw, dr, db), sums):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_bad_shapes_are_refused():
    p = problem()
    with pytest.raises(ValueError, match="4H x C"):
        lstm_forward_infer(p["x"], p["w"][:, :2], p["r"], p["b"])
    with pytest.raises(ValueError, match="N x C x T"):
        lstm_forward_infer(p["x"][0], p["w"], p["r"], p["b"])
    with pytest.raises(ValueError, match="gate must be one of"):
        lstm_forward_infer(**p, gate="relu")
