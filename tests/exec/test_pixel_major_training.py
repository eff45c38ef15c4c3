"""The executor's pixel-major training plan (core/executor.py PIXEL_MAJOR_TRAINING): which
convolutions it keeps pixel-major in training, and that a training pass (outputs, kept
activations, batch statistics) and its backward (every learnable's gradient, the input's)
give the channel-major pass's numbers (float64: to rounding), on the residual network of the
prediction plan's tests (stride-2 blocks, 1x1 shortcuts, additions, elementwise layers, a
max-pooling reader, global average pooling), and float64 central differences of the plan's
own gradients."""
import numpy as np
import pytest
from test_executor_training_paths import _check_fd
from test_pixel_major_plan import first_block_graph, residual_net

import layergraph.core.executor as E
from layergraph.kernels.cpu import conv as cv
from layergraph.kernels.cpu import norm


@pytest.fixture
def plan(monkeypatch):
    """plan(False) turns the pixel-major training plan off for the rest of the test."""
    def set_(on):
        monkeypatch.setattr(E, "PIXEL_MAJOR_TRAINING", on)
    return set_


def _pass(ex, x, W, keep=None, input_grads=False):
    acts = ex.forward({"in": x}, training=True, keep=keep)
    [ref] = ex.output_refs()
    grads = ex.backward({ref: W}, input_grads=input_grads)
    return acts, grads, dict(ex.batch_stats), dict(getattr(ex, "input_grads", {}))


def _data(n, seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal((n, 3, 12, 10)), g.standard_normal((n, 5, 1, 1))   # the softmax output: N x 5 x 1 x 1


def test_the_plan_keeps_the_residual_body_pixel_major():
    ex = residual_net().executor("cpu", np.float64)
    # prediction's plan but 'c0' (3 channels and 8 filters: its dW would need its dy transposed
    # back), and 'tail', whose reader 'tail2' takes either layout (training fuses no max pooling
    # into a convolution); 'tail2' feeds the max pooling, so it gives channel-major
    assert ex._train_layout_plan() == {"b0c1", "b0c2", "b1c1", "b1c2", "b1skip", "tail"}


@pytest.mark.parametrize("act", ["relu", "leaky"])
@pytest.mark.parametrize("n", [1, 4])
def test_training_pass_equals_the_channel_major_one(plan, act, n):
    net = residual_net(act)
    x, W = _data(n, n)
    keep = {("b0add", "out"), ("b1n2", "out"), ("tail", "out")}
    ex = net.executor("cpu", np.float64)
    acts, grads, stats, ig = _pass(ex, x, W, keep, input_grads=True)
    assert ex._train_pm, "the plan ran pixel-major"
    plan(False)
    ex0 = net.executor("cpu", np.float64)
    acts0, grads0, stats0, ig0 = _pass(ex0, x, W, keep, input_grads=True)
    assert set(acts) == set(acts0)
    for ref in acts0:   # the outputs and kept activations come back channel-major
        np.testing.assert_allclose(acts[ref], acts0[ref], rtol=1e-12, atol=1e-12, err_msg=str(ref))
    for layer in stats0:
        for a, b in zip(stats[layer], stats0[layer]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=layer)
    assert set(grads) == set(grads0)
    for layer in grads0:
        for name in grads0[layer]:
            np.testing.assert_allclose(grads[layer][name], grads0[layer][name], rtol=1e-9, atol=1e-11,
                                       err_msg=f"{layer} {name}")
    np.testing.assert_allclose(ig[("in", "out")], ig0[("in", "out")], rtol=1e-9, atol=1e-11)


def test_float32_training_pass_is_close(plan):
    net = residual_net()
    x, W = _data(6, 3)
    ex = net.executor("cpu", np.float32)
    acts, grads, _, _ = _pass(ex, x.astype(np.float32), W.astype(np.float32))
    plan(False)
    acts0, grads0, _, _ = _pass(net.executor("cpu", np.float32), x.astype(np.float32), W.astype(np.float32))
    for layer in grads0:
        for name in grads0[layer]:
            # a convolution's bias before a batch normalization has a zero gradient but for rounding
            scale = np.abs(grads0[layer][name]).max()
            np.testing.assert_allclose(grads[layer][name], grads0[layer][name], rtol=1e-3, atol=2e-4 * scale + 1e-6,
                                       err_msg=f"{layer} {name}")


def test_gradients_against_central_differences():
    net = residual_net()
    ex = net.executor("cpu", np.float64)
    x, W = _data(3, 7)
    _, grads, _, _ = _pass(ex, x, W)
    assert ex._train_layout["b0c2"] == (True, True)
    _check_fd(ex, x, W, grads, ("c0", "b0c1", "b0n1", "b1skip", "b1c2", "b1n2", "fc"), np.random.default_rng(8))


def _first_block_net():
    """ResNet's stem and first block (test_pixel_major_plan.first_block_graph): a first
    convolution of 3 channels with 16 filters (its dW from a channel-major x and a pixel-major
    dy), BN, ReLU, a residual block, global pooling."""
    import layergraph as L
    lg = first_block_graph(8, 8, 5)
    L.rng(5)
    return L.dlnetwork(lg)


def test_a_first_convolution_with_16_filters_is_planned(plan):
    net = _first_block_net()
    g = np.random.default_rng(9)
    x, W = g.standard_normal((4, 3, 8, 8)), g.standard_normal((4, 5, 1, 1))
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan() == {"c0", "c1", "c2"}
    _, grads, _, _ = _pass(ex, x, W)
    assert ex._train_layout["c0"] == (False, True) and ex._train_layout["gap"] == (True, False)
    plan(False)
    _, grads0, _, _ = _pass(net.executor("cpu", np.float64), x, W)
    for layer in grads0:
        for name in grads0[layer]:
            np.testing.assert_allclose(grads[layer][name], grads0[layer][name], rtol=1e-9, atol=1e-11,
                                       err_msg=f"{layer} {name}")


def converted_net():
    """r0 (pixel-major: c0 is planned, for c1) feeds c1 and the addition; c1 leads to no other
    convolution, so it is not planned and reads a channel-major copy, and the addition gets n1's
    output as a pixel-major copy; its output goes through a ReLU to an average pooling, which reads
    a channel-major copy (test_backward_plan.py uses it too)."""
    import layergraph as L
    lg = L.layerGraph([L.imageInputLayer([6, 6, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "c0"),
                       L.batchNormalizationLayer("Name", "n0"), L.reluLayer("Name", "r0"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "c1"),
                       L.batchNormalizationLayer("Name", "n1"), L.additionLayer(2, "Name", "add"),
                       L.reluLayer("Name", "r2"), L.averagePooling2dLayer(2, "Name", "ap"),
                       L.fullyConnectedLayer(4, "Name", "fc"), L.softmaxLayer("Name", "sm")])
    lg = L.connectLayers(lg, "r0", "add/in2")
    L.rng(6)
    return L.dlnetwork(lg)


def test_a_pixel_major_input_of_another_layer_is_a_copy_and_its_gradient_goes_back(plan):
    # converted_net's copies in the other layout: the gradients go back to their activations' layouts
    net = converted_net()
    g = np.random.default_rng(10)
    x, W = g.standard_normal((3, 3, 6, 6)), g.standard_normal((3, 4, 1, 1))
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan() == {"c0"}
    acts, grads, _, ig = _pass(ex, x, W, keep={("r2", "out")}, input_grads=True)
    assert ex._train_converted == {"c1": [(0, False)], "add": [(0, True)], "ap": [(0, False)]}
    plan(False)
    acts0, grads0, _, ig0 = _pass(net.executor("cpu", np.float64), x, W, keep={("r2", "out")}, input_grads=True)
    np.testing.assert_allclose(acts[("r2", "out")], acts0[("r2", "out")], rtol=1e-12, atol=1e-12)
    for layer in grads0:
        for name in grads0[layer]:
            np.testing.assert_allclose(grads[layer][name], grads0[layer][name], rtol=1e-9, atol=1e-11,
                                       err_msg=f"{layer} {name}")
    np.testing.assert_allclose(ig[("in", "out")], ig0[("in", "out")], rtol=1e-9, atol=1e-11)


def test_prediction_after_training_is_channel_major_again():
    # the ops' layout flags are the pass's: a prediction after a training pass reads its own
    net = residual_net()
    x, W = _data(2, 5)
    ex = net.executor("cpu", np.float64)
    _pass(ex, x, W)
    y = ex.forward({"in": x})
    [ref] = ex.output_refs()
    np.testing.assert_allclose(y[ref], residual_net().executor("cpu", np.float64).forward({"in": x})[ref],
                               rtol=1e-12, atol=1e-13)


# -- the kernels' pixel-major forms, against their channel-major ones and torch ----------------
def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True, 6.0])
@pytest.mark.parametrize("shape", [(5, 16, 9, 7), (2, 3, 4, 5), (1, 64, 1, 3)])
def test_batchnorm_nhwc_equals_nchw(dtype, relu, shape):
    g = np.random.default_rng(sum(shape))
    x = (g.standard_normal(shape) * 3 + 2).astype(dtype)
    s, o = g.uniform(0.5, 2, shape[1]).astype(dtype), g.standard_normal(shape[1]).astype(dtype)
    kw = {} if relu is False else {"relu": True, "ceiling": np.inf if relu is True else relu}
    y, m, v = norm.bn_forward_train(x, s, o, 1e-5, **kw)
    yn, mn, vn = norm.bn_forward_train(_nhwc(x), s, o, 1e-5, x_layout="nhwc", **kw)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(yn, _nhwc(y), **tol)
    np.testing.assert_allclose(mn, m, **tol)
    np.testing.assert_allclose(vn, v, **tol)
    dy = g.standard_normal(shape).astype(dtype)
    bkw = {} if relu is False else {"relu_out": y, "ceiling": kw["ceiling"]}
    dx, ds, do = norm.bn_backward(dy, x, s, m, v, 1e-5, **bkw)
    if relu is not False:
        bkw["relu_out"] = yn
    dxn, dsn, don = norm.bn_backward(_nhwc(dy), _nhwc(x), s, mn, vn, 1e-5, x_layout="nhwc", **bkw)
    np.testing.assert_allclose(dxn, _nhwc(dx), **tol)
    np.testing.assert_allclose(dsn, ds, **tol)
    np.testing.assert_allclose(don, do, **tol)


def test_batchnorm_nhwc_against_torch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    x = g.standard_normal((4, 8, 6, 5)).astype(np.float32) * 2 + 1
    s, o = g.uniform(0.5, 2, 8).astype(np.float32), g.standard_normal(8).astype(np.float32)
    dy = g.standard_normal(x.shape).astype(np.float32)
    y, m, v = norm.bn_forward_train(_nhwc(x), s, o, 1e-5, relu=True, x_layout="nhwc")
    dx, ds, do = norm.bn_backward(_nhwc(dy), _nhwc(x), s, m, v, 1e-5, relu_out=y, x_layout="nhwc")
    xt = torch.tensor(x, requires_grad=True)
    st, ot = torch.tensor(s, requires_grad=True), torch.tensor(o, requires_grad=True)
    yt = torch.relu(torch.nn.functional.batch_norm(xt, None, None, st, ot, training=True, eps=1e-5))
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, _nhwc(yt.detach().numpy()), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, _nhwc(xt.grad.numpy()), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ds, st.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(do, ot.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_batchnorm_nhwc_gradient_central_differences():
    g = np.random.default_rng(2)
    x = g.standard_normal((3, 5, 4, 3))
    s, o = g.uniform(0.5, 2, 3), g.standard_normal(3)
    W = g.standard_normal(x.shape)

    def loss(x_, s_):
        return float((norm.bn_forward_train(x_, s_, o, 1e-5, relu=True, x_layout="nhwc")[0] * W).sum())
    y, m, v = norm.bn_forward_train(x, s, o, 1e-5, relu=True, x_layout="nhwc")
    dx, ds, _ = norm.bn_backward(W, x, s, m, v, 1e-5, relu_out=y, x_layout="nhwc")
    d = g.standard_normal(x.shape)
    eps = 1e-6
    assert (loss(x + eps * d, s) - loss(x - eps * d, s)) / (2 * eps) == pytest.approx(float((dx * d).sum()),
                                                                                     rel=1e-6)
    d = g.standard_normal(3)
    assert (loss(x, s + eps * d) - loss(x, s - eps * d)) / (2 * eps) == pytest.approx(float((ds * d).sum()),
                                                                                     rel=1e-6)


CONV_CASES = [  # (C, F, H = W, filter, stride, padding): the plan's convolutions and its fallbacks
    (16, 16, 10, 3, 1, 1), (32, 32, 8, 3, 1, 1), (64, 64, 5, 3, 1, 1), (3, 16, 9, 3, 1, 1), (3, 8, 9, 3, 1, 1),
    (16, 32, 9, 3, 2, 1), (16, 32, 8, 1, 2, 0), (32, 32, 6, 1, 1, 0), (8, 24, 7, 3, 1, 1), (12, 20, 7, 3, 1, 0),
    (8, 16, 9, 3, 2, 0), (16, 16, 10, 3, 3, 1), (32, 32, 6, 3, 1, 0), (16, 48, 6, 3, 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("layouts", [("nhwc", "nhwc"), ("nchw", "nhwc"), ("nhwc", "nchw")])
def test_conv_backward_layouts_equal_nchw(dtype, case, layouts):
    c, f, hw, k, st, pd = case
    g = np.random.default_rng(c * f + hw)
    x = g.standard_normal((3, c, hw, hw)).astype(dtype)
    w = g.standard_normal((f, c, k, k)).astype(dtype)
    oh = (hw + 2 * pd - k) // st + 1
    dy = g.standard_normal((3, f, oh, oh)).astype(dtype)
    args = (st, st, 1, 1, pd, pd, pd, pd)
    dx0, dw0, db0 = cv.conv_backward(dy, x, w, *args)
    xl, yl = layouts
    for need_dx in (True, False):
        dx, dw, db = cv.conv_backward(_nhwc(dy) if yl == "nhwc" else dy, _nhwc(x) if xl == "nhwc" else x, w, *args,
                                      need_dx=need_dx, x_layout=xl, y_layout=yl)
        tol = dict(rtol=2e-5, atol=2e-5 * np.abs(dw0).max()) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(dw, dw0, **tol)
        np.testing.assert_allclose(db, db0, **tol)
        if need_dx:
            np.testing.assert_allclose(dx, _nhwc(dx0) if xl == "nhwc" else dx0, **tol)
        else:
            assert dx is None


def test_layout_arguments_are_checked():
    x = np.zeros((1, 2, 4, 4), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="x_layout and y_layout must be 'nchw' or 'nhwc'"):
        cv.conv_backward(np.zeros((1, 3, 2, 2), np.float32), x, w, 1, 1, 1, 1, 0, 0, 0, 0, x_layout="NHWC")
    with pytest.raises(ValueError, match="x_layout must be 'nchw' or 'nhwc'"):
        norm.bn_forward_train(x, np.ones(2), np.zeros(2), 1e-5, x_layout="hwc")
    with pytest.raises(ValueError, match="fused pooling takes channel-major"):
        norm.bn_forward_train(x, np.ones(2), np.zeros(2), 1e-5, relu=True, pool=(2, 2, 2, 2, 0, 0, 0, 0),
                              x_layout="nhwc")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("planned", [True, False])
def test_gathered_gradients_added_in_the_convolutions_dx_are_the_same(plan, monkeypatch, dtype, planned):
    """A residual block's input gradient: the shortcut's, added in the next convolution's dx
    (Op.dx_add), equals the sum made afterwards, to the bit, in both training layouts."""
    from layergraph.core.ops import ConvOp
    plan(planned)
    net = residual_net()
    x, W = _data(3, 7)
    x, W = x.astype(dtype), W.astype(dtype)
    calls = []
    real = cv.conv_backward

    def spy(*a, **kw):
        calls.append(kw.get("dx_add") is not None)
        return real(*a, **kw)
    ex = net.executor("cpu", dtype)
    monkeypatch.setattr(ex, "k", lambda fam, op: spy if (fam, op) == ("conv", "backward")
                        else E.Executor.k(ex, fam, op))
    _, grads, _, ig = _pass(ex, x, W, input_grads=True)
    assert sum(calls) >= 2, "some convolutions added a gathered gradient"
    assert all(s.op.dx_add is None for s in ex.steps), "dx_add is let go after each backward"
    monkeypatch.setattr(ConvOp, "adds_dx", False)
    ex0 = net.executor("cpu", dtype)
    _, grads0, _, ig0 = _pass(ex0, x, W, input_grads=True)
    _bitwise_same(grads, grads0, ig, ig0)


def _head_net(relu):
    """conv -> BN -> ReLU -> fully connected (-> ReLU -> fully connected) -> softmax: the seed
    CNN's head, its fully connected layer reading the pixel-major ReLU output."""
    import layergraph as L
    layers = [L.imageInputLayer([6, 5, 3], "Normalization", "none", "Name", "in"),
              L.convolution2dLayer(3, 8, "Name", "c0"), L.convolution2dLayer(3, 12, "Padding", 1, "Name", "c1"),
              L.batchNormalizationLayer("Name", "n1"), L.reluLayer("Name", "r1"),
              L.fullyConnectedLayer(4, "Name", "fc")]
    layers += [L.reluLayer("Name", "r2"), L.fullyConnectedLayer(5, "Name", "fc2")] if relu else \
        [L.fullyConnectedLayer(5, "Name", "fc2")]
    L.rng(11)
    return L.dlnetwork(layers + [L.softmaxLayer("Name", "sm")])


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("n", [8, 3])
def test_a_fully_connected_layer_reads_the_pixel_major_output(plan, monkeypatch, relu, n):
    """With FullyConnectedOp.TRAIN_PIXEL_MAJOR, the fully connected layer after conv -> BN -> ReLU
    reads its pixel-major input as it is where its weights are small beside the batch
    (takes_pixel_major: 3F <= 2N; else a channel-major copy): its dW back in the weights' order,
    dx pixel-major; the same gradients as the channel-major pass, and float64 central differences."""
    from layergraph.core.ops import FullyConnectedOp
    monkeypatch.setattr(FullyConnectedOp, "TRAIN_PIXEL_MAJOR", True)
    net = _head_net(relu)
    g = np.random.default_rng(n)
    x, W = g.standard_normal((n, 3, 6, 5)), g.standard_normal((n, 5, 1, 1))
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan() == {"c1"}
    _, grads, _, ig = _pass(ex, x, W, input_grads=True)
    if n == 8:
        assert ex._train_layout["fc"] == (True, False) and "fc" not in ex._train_converted
    else:
        assert ex._train_converted["fc"] == [(0, False)]
    plan(False)
    _, grads0, _, ig0 = _pass(net.executor("cpu", np.float64), x, W, input_grads=True)
    for layer in grads0:
        for name in grads0[layer]:
            np.testing.assert_allclose(grads[layer][name], grads0[layer][name], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{layer} {name}")
    np.testing.assert_allclose(ig[("in", "out")], ig0[("in", "out")], rtol=1e-10, atol=1e-12)
    if n == 8:
        plan(True)
        _check_fd(ex, x, W, grads, ("c1", "n1", "fc", "fc2"), np.random.default_rng(12))


def test_without_the_fully_connected_switch_the_head_stays_channel_major(plan):
    """FullyConnectedOp.TRAIN_PIXEL_MAJOR off (the default): the training plan does not count on
    the fully connected layer, so the convolution before it stays channel-major (prediction's plan
    keeps it)."""
    net = _head_net(False)
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan() == set() and "c1" in ex._pixel_major


def _bitwise_same(grads, grads0, ig, ig0):
    """Every gradient (learnables', inputs') of two passes equal to the bit."""
    for layer in grads0:
        for name in grads0[layer]:
            np.testing.assert_array_equal(grads[layer][name], grads0[layer][name], err_msg=f"{layer} {name}")
    for ref in ig0:
        np.testing.assert_array_equal(ig[ref], ig0[ref])


def _fusions_run(monkeypatch):
    """[(BN name, whether its residual fusion ran)] of the passes from here on."""
    ran = []
    real = E.Executor._bn_residual

    def spy(self, step, *a):
        done = real(self, step, *a)
        ran.append((step.name, done))
        return done
    monkeypatch.setattr(E.Executor, "_bn_residual", spy)
    return ran


def test_the_residual_fusions_of_the_plan():
    """The BN that gives an addition's later input computes the addition and its ReLU: b0's second
    BN (the shortcut r0 is computed first), b1's shortcut BN (after b1's second BN)."""
    ex = residual_net().executor("cpu", np.float64)
    assert ex._train_residual_bns() == {"b0n2": ("b0add", "b0r", ("r0", "out")),
                                        "b1skipn": ("b1add", "b1r", ("b1n2", "out"))}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ["relu", "leaky"])
def test_the_residual_fusion_gives_the_same_numbers(monkeypatch, dtype, act):
    """A residual block's BN, addition and ReLU in one pass (RESIDUAL_BN_TRAINING) against the
    layers one by one: outputs, kept activations, batch statistics and every gradient to the
    bit (the same operations in the same order), in both float types."""
    net = residual_net(act)
    x, W = _data(4, 3)
    x, W = x.astype(dtype), W.astype(dtype)
    keep = {("b1n2", "out"), ("tail", "out")}
    ex = net.executor("cpu", dtype)
    ran = _fusions_run(monkeypatch)
    acts, grads, stats, ig = _pass(ex, x, W, keep, input_grads=True)
    assert ran == [("b0n2", True), ("b1skipn", True)]
    monkeypatch.setattr(E, "RESIDUAL_BN_TRAINING", False)
    ran.clear()
    ex0 = net.executor("cpu", dtype)
    acts0, grads0, stats0, ig0 = _pass(ex0, x, W, keep, input_grads=True)
    assert ran == []
    for ref in acts0:
        np.testing.assert_array_equal(acts[ref], acts0[ref], err_msg=str(ref))
    for name in stats0:
        for a, b in zip(stats[name], stats0[name]):
            np.testing.assert_array_equal(a, b)
    _bitwise_same(grads, grads0, ig, ig0)


def test_a_kept_output_inside_the_fusion_leaves_it_unfused(monkeypatch):
    """A kept addition output (its ReLU fused after it) or a kept BN output: the layers one by one,
    and the kept activation is returned."""
    ran = _fusions_run(monkeypatch)
    net = residual_net()
    x, W = _data(2, 4)
    for kept in (("b0add", "out"), ("b0n2", "out")):
        ran.clear()
        acts, _, _, _ = _pass(net.executor("cpu", np.float64), x, W, keep={kept})
        assert ran == [("b0n2", False), ("b1skipn", True)] and kept in acts


def test_the_residual_argument_is_checked():
    x = np.zeros((2, 3, 3, 4))
    with pytest.raises(ValueError, match="a fused residual takes pixel-major data"):
        norm.bn_forward_train(x, np.ones(3), np.zeros(3), 1e-5, residual=x)
    with pytest.raises(ValueError, match="residual: expected shape"):
        norm.bn_forward_train(x, np.ones(4), np.zeros(4), 1e-5, x_layout="nhwc", residual=np.zeros((2, 3, 3, 5)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ceiling", [None, np.inf, 6.0])
def test_batchnorm_with_a_residual_is_bn_then_the_addition(dtype, ceiling):
    """bn_forward_train(residual=) against bn_forward_train and addition_forward (with its ReLU):
    to the bit; the statistics unchanged."""
    from layergraph.kernels.cpu.combine import addition_forward
    g = np.random.default_rng(1)
    for shape in [(5, 9, 7, 16), (2, 3, 4, 5), (32, 8, 8, 64)]:
        x, r = g.standard_normal(shape).astype(dtype), g.standard_normal(shape).astype(dtype)
        sc, of = g.standard_normal(shape[-1]).astype(dtype), g.standard_normal(shape[-1]).astype(dtype)
        relu = ceiling is not None
        kw = dict(relu=True, ceiling=ceiling) if relu else {}
        y, m, v = norm.bn_forward_train(x, sc, of, 1e-5, x_layout="nhwc", residual=r, **kw)
        y0, m0, v0 = norm.bn_forward_train(x, sc, of, 1e-5, x_layout="nhwc")
        np.testing.assert_array_equal(y, addition_forward([y0, r], **kw))
        np.testing.assert_array_equal(m, m0)
        np.testing.assert_array_equal(v, v0)
