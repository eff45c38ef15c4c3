"""The GRU kernels (kernels/cpu/recurrent.py, all three of MATLAB's ResetGateMode values)
against a numpy step reference (every gate and state activation, masks, both directions),
torch nn.GRU (values and every gradient), the ONNX GRU node tests' expected outputs
(linear_before_reset 0 and 1), float64 finite differences through time, and padding: a padded
batch gives each sequence's own outputs and gradients."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from layergraph.kernels.cpu.recurrent import MODES, gru_backward, gru_forward_infer, gru_forward_train

ACTS = list(itertools.product(("sigmoid", "hard-sigmoid"), ("tanh", "softsign")))
AFTER, BEFORE, RBIAS = "after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication"


# -- an independent reference: one step at a time, the equations of docs/recurrent_plan.md 1.4 ---------------
def _gate(v, kind):
    return 1 / (1 + np.exp(-v)) if kind == "sigmoid" else np.clip(0.2 * v + 0.5, 0, 1)


def _state(v, kind):
    return np.tanh(v) if kind == "tanh" else v / (1 + np.abs(v))


def reference(x, w, r, b, rb, h0, mask, mode, gate, state, reverse):
    n, _, t = x.shape
    hid = r.shape[1]
    rb = np.zeros(3 * hid) if rb is None else rb
    W = [w[k * hid:(k + 1) * hid] for k in range(3)]
    R = [r[k * hid:(k + 1) * hid] for k in range(3)]
    B = [b[k * hid:(k + 1) * hid] for k in range(3)]
    RB = [rb[k * hid:(k + 1) * hid] for k in range(3)]
    h = h0.copy()
    y = np.zeros((n, hid, t))
    for s in range(t):
        k = t - 1 - s if reverse else s
        xk = x[:, :, k]
        rg = _gate(xk @ W[0].T + B[0] + h @ R[0].T + RB[0], gate)
        zg = _gate(xk @ W[1].T + B[1] + h @ R[1].T + RB[1], gate)
        if mode == BEFORE:
            cand = _state(xk @ W[2].T + (rg * h) @ R[2].T + B[2], state)
        else:
            cand = _state(xk @ W[2].T + B[2] + rg * (h @ R[2].T + RB[2]), state)
        hn = (1 - zg) * cand + zg * h
        m = mask[:, k][:, None]
        h = np.where(m, hn, h)
        y[:, :, k] = np.where(m, hn, 0)
    return y, h


def problem(n=3, c=4, t=6, hid=5, seed=0, mode=AFTER, dtype=np.float64):
    g = np.random.default_rng(seed)
    shapes = dict(x=((n, c, t), 1), w=((3 * hid, c), 0.5), r=((3 * hid, hid), 0.5), b=((3 * hid,), 0.3),
                  rb=((3 * hid,), 0.3), h0=((n, hid), 0.5))
    p = {k: (scale * g.standard_normal(shape)).astype(dtype) for k, (shape, scale) in shapes.items()}
    if mode != RBIAS:
        p["rb"] = None
    return p


def ragged_mask(lengths, t, left):
    ar = np.arange(t)[None, :]
    ln = np.asarray(lengths)[:, None]
    return ar >= t - ln if left else ar < ln


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("gate, state", ACTS)
@pytest.mark.parametrize("reverse", [False, True])
def test_forward_matches_reference(mode, gate, state, reverse):
    p = problem(mode=mode)
    mask = ragged_mask([6, 2, 4], 6, left=reverse)
    y, h = gru_forward_infer(**p, mask=mask, mode=mode, gate=gate, state=state, reverse=reverse)
    ry, rh = reference(p["x"], p["w"], p["r"], p["b"], p["rb"], p["h0"], mask, mode, gate, state, reverse)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, rh, rtol=1e-12, atol=1e-13)
    assert np.all(y[~np.broadcast_to(mask[:, None, :], y.shape)] == 0)   # padded steps output 0


def test_modes_differ_and_float32_agrees():
    p = problem(mode=RBIAS)
    ys = {m: gru_forward_infer(**{**p, "rb": p["rb"] if m == RBIAS else None}, mode=m)[0] for m in MODES}
    assert np.abs(ys[AFTER] - ys[BEFORE]).max() > 1e-2 and np.abs(ys[AFTER] - ys[RBIAS]).max() > 1e-2
    for m in MODES:
        q = {k: (None if v is None else v.astype(np.float32)) for k, v in problem(mode=m).items()}
        y32, h32 = gru_forward_infer(**q, mode=m)
        assert y32.dtype == h32.dtype == np.float32
        np.testing.assert_allclose(y32, gru_forward_infer(**problem(mode=m), mode=m)[0], rtol=1e-4, atol=1e-5)


# -- torch nn.GRU: its gates r, z, n are MATLAB's r, z, h (no reordering); torch adds b_hh inside r * (...), so
# 'recurrent-bias-after-multiplication' = torch with bias_ih = Bias(1:3H), bias_hh = Bias(3H+1:6H), and
# 'after-multiplication' = torch with bias_hh = 0 (docs/recurrent_plan.md part 4) ---------------------------
def _torch_gru(p, reverse):
    torch = pytest.importorskip("torch")
    hid = p["r"].shape[1]
    m = torch.nn.GRU(p["w"].shape[1], hid, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["w"]))
        m.weight_hh_l0.copy_(torch.from_numpy(p["r"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        m.bias_hh_l0.copy_(torch.from_numpy(p["rb"])) if p["rb"] is not None else m.bias_hh_l0.zero_()
    x = torch.from_numpy(np.ascontiguousarray(p["x"].transpose(0, 2, 1))).requires_grad_(True)
    h0 = torch.from_numpy(p["h0"][None]).requires_grad_(True)
    y, h = m(torch.flip(x, [1]) if reverse else x, h0)
    return torch, m, x, h0, (torch.flip(y, [1]) if reverse else y), h[0]


@pytest.mark.parametrize("mode", [AFTER, RBIAS])
@pytest.mark.parametrize("reverse", [False, True])
def test_forward_and_gradients_match_torch(mode, reverse):
    p = problem(n=4, c=3, t=7, hid=6, seed=1, mode=mode)
    torch, m, x, h0, ty, th = _torch_gru(p, reverse)
    y, h, ctx = gru_forward_train(**p, mode=mode, reverse=reverse)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = np.random.default_rng(2)
    dy, dh = g.standard_normal(y.shape), g.standard_normal(h.shape)
    loss = (ty * torch.from_numpy(dy.transpose(0, 2, 1).copy())).sum() + (th * torch.from_numpy(dh)).sum()
    loss.backward()
    dx, dw, dr, db, drb, dh0 = gru_backward(dy, dh, ctx, p["w"], p["r"], mode=mode, reverse=reverse)
    np.testing.assert_allclose(dx, x.grad.numpy().transpose(0, 2, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, m.weight_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dr, m.weight_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, m.bias_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, h0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    if mode == RBIAS:
        np.testing.assert_allclose(drb, m.bias_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert drb is None


# -- the ONNX GRU node tests: their inputs and expected outputs (onnx.backend.test.case.node.gru) ---------------
def _onnx_cases():
    pytest.importorskip("onnx")
    from onnx.backend.test.case.node import gru as onnx_gru
    captured = []

    def expect(node, inputs, outputs, name, **kw):
        captured.append((node, inputs, outputs, name))

    saved = onnx_gru.expect
    onnx_gru.expect = expect
    try:
        for attr in sorted(dir(onnx_gru.GRU)):
            if attr.startswith("export"):
                getattr(onnx_gru.GRU, attr)()
    finally:
        onnx_gru.expect = saved
    return captured


ZRH_TO_RZH = [1, 0, 2]   # ONNX's blocks z, r, h -> MATLAB's r, z, h


def _blocks(a, hid):
    return np.concatenate([a[k * hid:(k + 1) * hid] for k in ZRH_TO_RZH], axis=0)


def onnx_attr(a):
    import onnx
    return onnx.helper.get_attribute_value(a)


def _run_onnx_node(node, inputs, lbr):
    """The node with our kernel: linear_before_reset 0 -> 'before-multiplication' with b = Wb + Rb;
    1 -> 'recurrent-bias-after-multiplication' with b = Wb, rb = Rb."""
    feeds = dict(zip(node.input, inputs))
    attrs = {a.name: onnx_attr(a) for a in node.attribute}
    layout = attrs.get("layout", 0)
    x = feeds["X"].astype(np.float64)
    x = x if layout else x.transpose(1, 0, 2)               # batch x seq x in
    hid = attrs["hidden_size"]
    direction = attrs.get("direction", b"forward")
    n = x.shape[0]
    lens = feeds.get("sequence_lens")
    mask = None if lens is None or len(lens) == 0 else ragged_mask(lens, x.shape[1], False)
    h0all = feeds.get("initial_h")
    ys, hs = [], []
    for d in range(feeds["W"].shape[0]):        # bidirectional: forward then reverse
        w, r = _blocks(feeds["W"][d].astype(np.float64), hid), _blocks(feeds["R"][d].astype(np.float64), hid)
        bias = feeds.get("B", np.zeros((feeds["W"].shape[0], 6 * hid)))[d].astype(np.float64)
        wb, rbias = _blocks(bias[:3 * hid], hid), _blocks(bias[3 * hid:], hid)
        h0 = None if h0all is None else (h0all[d] if layout == 0 else h0all[:, d])
        kw = dict(mode=RBIAS, rb=rbias) if lbr else dict(mode=BEFORE)
        y, h = gru_forward_infer(np.ascontiguousarray(x.transpose(0, 2, 1)), w, r, wb if lbr else wb + rbias, h0=h0,
                                 mask=mask, reverse=direction == b"reverse" or d == 1, **kw)
        ys.append(y.transpose(2, 0, 1))                # seq x batch x H
        hs.append(h)
    Y, Yh = np.stack(ys, 1), np.stack(hs, 0)           # ONNX layout 0
    assert Yh.shape[1] == n
    return {"Y": Y if not layout else Y.transpose(2, 0, 1, 3), "Y_h": Yh if not layout else Yh.transpose(1, 0, 2)}


def test_onnx_gru_node_tests():
    """Every node test in onnx 1.23 has linear_before_reset 0 ('before-multiplication')."""
    cases = _onnx_cases()
    names = {c[3] for c in cases}
    assert {"test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length", "test_gru_batchwise"} <= names
    checked = 0
    for node, inputs, outputs, name in cases:
        lbr = {a.name: onnx_attr(a) for a in node.attribute}.get("linear_before_reset", 0)
        got = _run_onnx_node(node, inputs, lbr)
        for out_name, expected in zip([o for o in node.output if o], outputs):   # expect lists the named ones
            np.testing.assert_allclose(got[out_name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("lbr", [0, 1])
def test_onnx_gru_reference_both_linear_before_reset(lbr):
    """The ONNX reference implementation (onnx.reference) of a GRU node with a bias, an initial
    state and sequence_lens 0 and 1; both directions."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    g = np.random.default_rng(3)
    seq, batch, cin, hid = 5, 3, 4, 6
    arrays = {"X": g.standard_normal((seq, batch, cin)), "W": 0.5 * g.standard_normal((2, 3 * hid, cin)),
              "R": 0.5 * g.standard_normal((2, 3 * hid, hid)), "B": 0.3 * g.standard_normal((2, 6 * hid)),
              "initial_h": 0.5 * g.standard_normal((2, batch, hid))}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    names = ["X", "W", "R", "B", "", "initial_h"]
    node = helper.make_node("GRU", names, ["Y", "Y_h"], hidden_size=hid, linear_before_reset=lbr,
                            direction="bidirectional")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape)
                                            for k, v in arrays.items()],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    Y, Yh = ReferenceEvaluator(model).run(None, arrays)
    got = _run_onnx_node(node, [arrays[k] if k else np.array([]) for k in names], lbr)
    np.testing.assert_allclose(got["Y"], Y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["Y_h"], Yh, rtol=1e-5, atol=1e-5)
    assert onnx is not None


# -- float64 finite differences through time (every mode and activation, masks, both directions) ---------------
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("gate, state", ACTS)
@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_match_finite_differences(mode, gate, state, reverse):
    p = problem(n=3, c=3, t=5, hid=4, seed=4, mode=mode)
    mask = ragged_mask([5, 3, 1], 5, left=reverse)
    if gate == "hard-sigmoid":    # keep the gate pre-activations off the kinks at +-2.5
        p = {k: (None if v is None else v * 0.5) for k, v in p.items()}
    g = np.random.default_rng(5)
    kw = dict(mask=mask, mode=mode, gate=gate, state=state, reverse=reverse)
    y, h, ctx = gru_forward_train(**p, **kw)
    Wy, Wh = g.standard_normal(y.shape), g.standard_normal(h.shape)

    def loss(q):
        yy, hh = gru_forward_infer(**q, **kw)
        return float(np.sum(yy * Wy) + np.sum(hh * Wh))

    grads = dict(zip(("x", "w", "r", "b", "rb", "h0"),
                     gru_backward(Wy, Wh, ctx, p["w"], p["r"], mode=mode, gate=gate, state=state, reverse=reverse)))
    eps = 1e-6
    for name, grad in grads.items():
        if p[name] is None:
            assert grad is None
            continue
        for _ in range(2):
            d = g.standard_normal(p[name].shape)
            up = loss({**p, name: p[name] + eps * d})
            down = loss({**p, name: p[name] - eps * d})
            numeric, analytic = (up - down) / (2 * eps), float(np.sum(grad * d))
            assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (name, numeric, analytic)


# -- padding: a padded batch gives each sequence's own outputs and gradients ------------------------------------
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_padded_batch_equals_each_sequence_alone(mode, left, reverse):
    g = np.random.default_rng(6)
    hid, ch, lengths = 4, 3, [5, 2, 4]
    t = max(lengths)
    p = problem(n=1, c=ch, t=1, hid=hid, seed=7, mode=mode)
    seqs = [g.standard_normal((ch, k)) for k in lengths]
    x = np.full((3, ch, t), 7.0)   # a padding value that would change the results if it were read
    for i, s in enumerate(seqs):
        if left:
            x[i, :, t - s.shape[1]:] = s
        else:
            x[i, :, :s.shape[1]] = s
    mask = ragged_mask(lengths, t, left)
    h0 = np.repeat(p["h0"], 3, 0)
    kw = dict(mode=mode, reverse=reverse)
    y, h, ctx = gru_forward_train(x, p["w"], p["r"], p["b"], p["rb"], h0, mask, **kw)
    dy = g.standard_normal(y.shape)
    dx, dw, dr, db, drb, dh0 = gru_backward(dy, None, ctx, p["w"], p["r"], **kw)
    parts = [a for a in (dw, dr, db, drb) if a is not None]
    sums = [np.zeros_like(a) for a in parts]
    for i, s in enumerate(seqs):
        k = s.shape[1]
        span = slice(t - k, t) if left else slice(0, k)
        yi, hi, ctxi = gru_forward_train(s[None], p["w"], p["r"], p["b"], p["rb"], p["h0"], **kw)
        np.testing.assert_allclose(y[i:i + 1, :, span], yi, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h[i:i + 1], hi, rtol=1e-12, atol=1e-13)
        gi = gru_backward(dy[i:i + 1, :, span], None, ctxi, p["w"], p["r"], **kw)
        np.testing.assert_allclose(dx[i:i + 1, :, span], gi[0], rtol=1e-11, atol=1e-12)
        assert np.all(np.delete(dx[i], np.arange(t)[span], axis=1) == 0)   # nothing flows into padding
        np.testing.assert_allclose(dh0[i:i + 1], gi[5], rtol=1e-11, atol=1e-12)
        for acc, part in zip(sums, [a for a in gi[1:5] if a is not None]):
            acc += part
    for got, want in zip(parts, sums):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_refused():
    p = problem()
    with pytest.raises(ValueError, match="3H x C"):
        gru_forward_infer(p["x"], p["w"][:, :2], p["r"], p["b"])
    with pytest.raises(ValueError, match="mode must be one of"):
        gru_forward_infer(**p, mode="after")
    with pytest.raises(ValueError, match="recurrent bias"):
        gru_forward_infer(**{**p, "rb": np.zeros(15)}, mode=AFTER)
    with pytest.raises(ValueError, match="gate must be one of"):
        gru_forward_infer(**p, gate="relu")
