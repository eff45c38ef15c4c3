"""The basic recurrent kernels (kernels/cpu/rnn.py: s_t = state(W x_t + R s_{t-1} + b)) against a
numpy step reference (both state activations, ragged masks, both directions), torch nn.RNN
(values and every gradient, float64), the ONNX RNN node tests' expected outputs
(onnx.backend.test.case.node.rnn) and onnx's ReferenceEvaluator on a bidirectional node, float64
finite differences through time, and padding: a padded batch gives each sequence's own outputs
and gradients."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from onnx.backend.test.case.node import rnn as onnx_rnn
from onnx.reference import ReferenceEvaluator

from layergraph.kernels import cpu
from layergraph.kernels.cpu.rnn import rnn_backward, rnn_forward_infer, rnn_forward_train

STATES = ("tanh", "softsign")


def _state(v, kind):
    return np.tanh(v) if kind == "tanh" else v / (1 + np.abs(v))


def reference(x, w, r, b, h0, mask, state, reverse):
    """One step at a time; a padded step keeps the state and outputs 0."""
    n, _, t = x.shape
    h = np.zeros((n, r.shape[1])) if h0 is None else np.array(np.broadcast_to(h0, (n, r.shape[1])))
    y = np.zeros((n, r.shape[1], t))
    for s in range(t):
        k = t - 1 - s if reverse else s
        hn = _state(x[:, :, k] @ w.T + h @ r.T + b, state)
        m = np.ones((n, 1), bool) if mask is None else mask[:, k][:, None]
        h = np.where(m, hn, h)
        y[:, :, k] = np.where(m, hn, 0)
    return y, h


def problem(n=3, c=4, t=6, hid=5, seed=0, dtype=np.float64):
    g = np.random.default_rng(seed)
    shapes = dict(x=((n, c, t), 1), w=((hid, c), 0.5), r=((hid, hid), 0.5), b=((hid,), 0.3), h0=((n, hid), 0.5))
    return {k: (scale * g.standard_normal(shape)).astype(dtype) for k, (shape, scale) in shapes.items()}


def ragged_mask(lengths, t, left):
    ar = np.arange(t)[None, :]
    ln = np.asarray(lengths)[:, None]
    return ar >= t - ln if left else ar < ln


def test_the_kernel_table_has_the_family():
    assert cpu.KERNELS[("rnn", "forward_train")] is rnn_forward_train
    assert cpu.KERNELS[("rnn", "forward_infer")] is rnn_forward_infer
    assert cpu.KERNELS[("rnn", "backward")] is rnn_backward


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("left", [False, True])
def test_forward_matches_reference(state, reverse, left):
    p = problem()
    mask = ragged_mask([6, 2, 4], 6, left=left)
    y, h = rnn_forward_infer(**p, mask=mask, state=state, reverse=reverse)
    ry, rh = reference(p["x"], p["w"], p["r"], p["b"], p["h0"], mask, state, reverse)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, rh, rtol=1e-12, atol=1e-13)
    assert np.all(y[~np.broadcast_to(mask[:, None, :], y.shape)] == 0)   # padded steps output 0
    y2, h2, _ = rnn_forward_train(**p, mask=mask, state=state, reverse=reverse)
    assert np.array_equal(y, y2) and np.array_equal(h, h2)


def test_float32_agrees_and_keeps_its_dtype():
    p64 = problem(n=5, c=3, t=9, hid=7, seed=8)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    y32, h32 = rnn_forward_infer(**p32)
    assert y32.dtype == h32.dtype == np.float32
    y64, h64 = rnn_forward_infer(**p64)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=1e-5)
    _, _, ctx = rnn_forward_train(**p32)
    grads = rnn_backward(np.ones_like(y32), None, ctx, p32["w"], p32["r"])
    assert all(g.dtype == np.float32 for g in grads)


def test_zero_initial_state_by_default_and_a_vector_state_broadcasts():
    p = problem()
    y0, _ = rnn_forward_infer(p["x"], p["w"], p["r"], p["b"])
    yz, _ = rnn_forward_infer(p["x"], p["w"], p["r"], p["b"], np.zeros(5))
    assert np.array_equal(y0, yz)
    yv, _ = rnn_forward_infer(p["x"], p["w"], p["r"], p["b"], p["h0"][0])
    ym, _ = rnn_forward_infer(p["x"], p["w"], p["r"], p["b"], np.repeat(p["h0"][:1], 3, 0))
    assert np.array_equal(yv, ym)


# -- torch nn.RNN (tanh): bias = bias_ih + bias_hh; the reverse direction as torch on the flipped sequence ----------
@pytest.mark.parametrize("reverse", [False, True])
def test_forward_and_gradients_match_torch(reverse):
    p = problem(n=4, c=3, t=7, hid=6, seed=1)
    hid = p["r"].shape[1]
    m = torch.nn.RNN(3, hid, batch_first=True, nonlinearity="tanh").double()
    g = np.random.default_rng(2)
    bhh = 0.2 * g.standard_normal(hid)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["w"]))
        m.weight_hh_l0.copy_(torch.from_numpy(p["r"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"] - bhh))
        m.bias_hh_l0.copy_(torch.from_numpy(bhh))
    x = torch.from_numpy(np.ascontiguousarray(p["x"].transpose(0, 2, 1))).requires_grad_(True)
    h0 = torch.from_numpy(p["h0"][None]).requires_grad_(True)
    ty, th = m(torch.flip(x, [1]) if reverse else x, h0)
    ty = torch.flip(ty, [1]) if reverse else ty
    th = th[0]
    y, h, ctx = rnn_forward_train(**p, reverse=reverse)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-13)
    dy, dh = g.standard_normal(y.shape), g.standard_normal(h.shape)
    loss = (ty * torch.from_numpy(dy.transpose(0, 2, 1).copy())).sum() + (th * torch.from_numpy(dh)).sum()
    loss.backward()
    dx, dw, dr, db, dh0 = rnn_backward(dy, dh, ctx, p["w"], p["r"], reverse=reverse)
    np.testing.assert_allclose(dx, x.grad.numpy().transpose(0, 2, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, m.weight_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dr, m.weight_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, m.bias_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, m.bias_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, h0.grad.numpy()[0], rtol=1e-10, atol=1e-12)


def test_torch_packed_sequences_match_the_mask():
    """torch's packed sequences of three lengths (right padding) = our masked batch."""
    p = problem(n=3, c=3, t=6, hid=4, seed=9)
    lengths = [6, 2, 4]
    mask = ragged_mask(lengths, 6, False)
    m = torch.nn.RNN(3, 4, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["w"]))
        m.weight_hh_l0.copy_(torch.from_numpy(p["r"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        m.bias_hh_l0.zero_()
    x = torch.from_numpy(np.ascontiguousarray(p["x"].transpose(0, 2, 1)))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, th = m(packed, torch.from_numpy(p["h0"][None]))
    ty, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=6)
    y, h = rnn_forward_infer(**p, mask=mask)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, th[0].detach().numpy(), rtol=1e-12, atol=1e-13)


# -- ONNX: the RNN node tests (inputs and expected outputs) and the reference evaluator ----------------------------
def _onnx_cases():
    captured = []

    def expect(node, inputs, outputs, name, **kw):
        captured.append((node, inputs, outputs, name))

    saved = onnx_rnn.expect
    onnx_rnn.expect = expect
    try:
        for attr in sorted(dir(onnx_rnn.RNN)):
            if attr.startswith("export"):
                getattr(onnx_rnn.RNN, attr)()
    finally:
        onnx_rnn.expect = saved
    return captured


def _run_onnx_node(node, inputs):
    """The node with our kernel: b = Wb + Rb; direction 'reverse' or the second of 'bidirectional'
    runs reverse; layout 1 is batch first."""
    feeds = {k: v for k, v in zip(node.input, inputs) if k}
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs.get("activations", [b"Tanh"]) == [b"Tanh"] * len(attrs.get("activations", [b"Tanh"]))
    layout = attrs.get("layout", 0)
    x = feeds["X"].astype(np.float64)
    x = x if layout else x.transpose(1, 0, 2)               # batch x seq x in
    hid = attrs["hidden_size"]
    direction = attrs.get("direction", b"forward")
    lens = feeds.get("sequence_lens")
    mask = None if lens is None or len(lens) == 0 else ragged_mask(lens, x.shape[1], False)
    h0all = feeds.get("initial_h")
    ys, hs = [], []
    for d in range(feeds["W"].shape[0]):
        w, r = feeds["W"][d].astype(np.float64), feeds["R"][d].astype(np.float64)
        bias = feeds.get("B", np.zeros((feeds["W"].shape[0], 2 * hid)))[d].astype(np.float64)
        h0 = None if h0all is None else (h0all[d] if layout == 0 else h0all[:, d])
        y, h = rnn_forward_infer(np.ascontiguousarray(x.transpose(0, 2, 1)), w, r, bias[:hid] + bias[hid:], h0=h0,
                                 mask=mask, reverse=direction == b"reverse" or d == 1)
        ys.append(y.transpose(2, 0, 1))                # seq x batch x H
        hs.append(h)
    Y, Yh = np.stack(ys, 1), np.stack(hs, 0)           # ONNX layout 0
    return {"Y": Y if not layout else Y.transpose(2, 0, 1, 3), "Y_h": Yh if not layout else Yh.transpose(1, 0, 2)}


def test_onnx_rnn_node_tests():
    cases = _onnx_cases()
    names = {c[3] for c in cases}
    assert {"test_simple_rnn_defaults", "test_simple_rnn_with_initial_bias", "test_rnn_seq_length",
            "test_simple_rnn_batchwise"} <= names, names
    checked = 0
    for node, inputs, outputs, name in cases:
        got = _run_onnx_node(node, inputs)
        for out_name, expected in zip([o for o in node.output if o], outputs):
            np.testing.assert_allclose(got[out_name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
            checked += 1
    assert checked >= 4


def test_onnx_reference_bidirectional_with_lengths():
    """onnx.reference on a bidirectional node with a bias, an initial state and full lengths."""
    g = np.random.default_rng(3)
    seq, batch, cin, hid = 5, 3, 4, 6
    arrays = {"X": g.standard_normal((seq, batch, cin)), "W": 0.5 * g.standard_normal((2, hid, cin)),
              "R": 0.5 * g.standard_normal((2, hid, hid)), "B": 0.3 * g.standard_normal((2, 2 * hid)),
              "initial_h": 0.5 * g.standard_normal((2, batch, hid))}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    names = ["X", "W", "R", "B", "", "initial_h"]
    node = helper.make_node("RNN", names, ["Y", "Y_h"], hidden_size=hid, direction="bidirectional")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape)
                                            for k, v in arrays.items()],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    Y, Yh = ReferenceEvaluator(model).run(None, arrays)
    got = _run_onnx_node(node, [arrays[k] if k else np.array([]) for k in names])
    np.testing.assert_allclose(got["Y"], Y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["Y_h"], Yh, rtol=1e-5, atol=1e-5)
    assert onnx.__version__


# -- float64 finite differences through time ----------------------------------------------------------------------
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_finite_differences(state, reverse, masked):
    p = problem(n=3, c=3, t=5, hid=4, seed=4)
    mask = ragged_mask([5, 3, 1], 5, left=reverse) if masked else None
    g = np.random.default_rng(5)
    kw = dict(mask=mask, state=state, reverse=reverse)
    y, h, ctx = rnn_forward_train(**p, **kw)
    Wy, Wh = g.standard_normal(y.shape), g.standard_normal(h.shape)

    def loss(q):
        yy, hh = rnn_forward_infer(**q, **kw)
        return float(np.sum(yy * Wy) + np.sum(hh * Wh))

    grads = dict(zip(("x", "w", "r", "b", "h0"), rnn_backward(Wy, Wh, ctx, p["w"], p["r"], state=state,
                                                             reverse=reverse)))
    eps = 1e-6
    for name, grad in grads.items():
        assert grad.shape == p[name].shape, name
        for _ in range(2):
            d = g.standard_normal(p[name].shape)
            up = loss({**p, name: p[name] + eps * d})
            down = loss({**p, name: p[name] - eps * d})
            numeric, analytic = (up - down) / (2 * eps), float(np.sum(grad * d))
            assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (name, numeric, analytic)


def test_gradient_of_the_output_only_and_of_the_final_state_only():
    p = problem(seed=11)
    y, h, ctx = rnn_forward_train(**p)
    g = np.random.default_rng(12)
    dy, dh = g.standard_normal(y.shape), g.standard_normal(h.shape)
    both = rnn_backward(dy, dh, ctx, p["w"], p["r"])
    only_y = rnn_backward(dy, None, ctx, p["w"], p["r"])
    only_h = rnn_backward(None, dh, ctx, p["w"], p["r"])
    for a, b, c in zip(both, only_y, only_h):
        np.testing.assert_allclose(a, b + c, rtol=1e-12, atol=1e-13)


# -- padding: a padded batch gives each sequence's own outputs and gradients --------------------------------------
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
    y, h, ctx = rnn_forward_train(x, p["w"], p["r"], p["b"], h0, mask, reverse=reverse)
    dy, dhT = g.standard_normal(y.shape), g.standard_normal(h.shape)
    dx, dw, dr, db, dh0 = rnn_backward(dy, dhT, ctx, p["w"], p["r"], reverse=reverse)
    sums = [np.zeros_like(a) for a in (dw, dr, db)]
    for i, s in enumerate(seqs):
        k = s.shape[1]
        span = slice(t - k, t) if left else slice(0, k)
        yi, hi, ctxi = rnn_forward_train(s[None], p["w"], p["r"], p["b"], p["h0"], reverse=reverse)
        np.testing.assert_allclose(y[i:i + 1, :, span], yi, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h[i:i + 1], hi, rtol=1e-12, atol=1e-13)
        gi = rnn_backward(dy[i:i + 1, :, span], dhT[i:i + 1], ctxi, p["w"], p["r"], reverse=reverse)
        np.testing.assert_allclose(dx[i:i + 1, :, span], gi[0], rtol=1e-11, atol=1e-12)
        assert np.all(np.delete(dx[i], np.arange(t)[span], axis=1) == 0)   # nothing flows into padding
        np.testing.assert_allclose(dh0[i:i + 1], gi[4], rtol=1e-11, atol=1e-12)
        for acc, part in zip(sums, gi[1:4]):
            acc += part
    for got, want in zip((dw, dr, db), sums):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_refused():
    p = problem()
    with pytest.raises(ValueError, match="H x C"):
        rnn_forward_infer(p["x"], p["w"][:, :2], p["r"], p["b"])
    with pytest.raises(ValueError, match="state must be one of"):
        rnn_forward_infer(**p, state="relu")
    with pytest.raises(ValueError, match="mask"):
        rnn_forward_infer(**p, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="N x C x T"):
        rnn_forward_infer(p["x"][0], p["w"], p["r"], p["b"])
