"""The executor's shortcuts in training: gradients only where a learnable needs them (no dx for
the network input unless asked), and batch normalization + ReLU fused on 'cpu'. Each shortcut
must give the numbers of the plain path."""
import numpy as np
import pytest
from test_executor import residual_graph
from test_pixel_major_plan import residual_net

from layergraph import (
    batchNormalizationLayer,
    convolution2dLayer,
    dlnetwork,
    fullyConnectedLayer,
    imageInputLayer,
    maxPooling2dLayer,
    reluLayer,
    rng,
    softmaxLayer,
)
from layergraph.core import conventions as cv
from layergraph.kernels.cpu.conv import conv_backward


def seed_cnn(first_relu=False):
    layers = [imageInputLayer([8, 8, 3], "Normalization", "none", "Name", "in")]
    if first_relu:
        layers.append(reluLayer("Name", "r0"))
    layers += [convolution2dLayer(3, 4, "Padding", 1, "Name", "c1"), batchNormalizationLayer("Name", "bn1"),
               reluLayer("Name", "r1"), maxPooling2dLayer(2, "Stride", 2, "Name", "mp"),
               convolution2dLayer(3, 5, "Padding", 1, "Name", "c2"), batchNormalizationLayer("Name", "bn2"),
               reluLayer("Name", "r2"), fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")]
    return layers


def _check_fd(ex, x, W, grads, layers, g):
    """The learnable gradients of ``layers`` against central differences of sum(y * W) along a
    random direction each (float64 training passes of ``ex``)."""
    [ref] = ex.output_refs()
    for layer in layers:
        for pname, gr in grads[layer].items():
            P = ex.params[layer][pname]
            d = g.standard_normal(P.shape)
            eps = 1e-7
            P += eps * d
            up = float((ex.forward({"in": x}, training=True)[ref] * W).sum())
            P -= 2 * eps * d
            down = float((ex.forward({"in": x}, training=True)[ref] * W).sum())
            P += eps * d
            assert (up - down) / (2 * eps) == pytest.approx(float((gr * d).sum()), rel=1e-5, abs=1e-8), \
                (layer, pname)


def _same_for(dtype, g1, g2):
    """Gradients of a fused and a plain pass: to float64 rounding, or float32's tolerance."""
    if dtype == np.float64:
        _same(g1, g2, exact=False)
    else:
        for layer in g1:
            for name in g1[layer]:
                np.testing.assert_allclose(g1[layer][name], g2[layer][name], rtol=2e-4, atol=2e-5)


def _run(ex, x, W, input_grads=False, keep=None):
    acts = ex.forward({"in": x}, training=True, keep=keep)
    [ref] = ex.output_refs()
    grads = ex.backward({ref: W}, input_grads=input_grads)
    return acts, grads


def _same(g1, g2, exact=True):
    assert set(g1) == set(g2)
    for layer in g1:
        assert set(g1[layer]) == set(g2[layer])
        for name in g1[layer]:
            if exact:
                np.testing.assert_array_equal(g1[layer][name], g2[layer][name], err_msg=f"{layer} {name}")
            else:
                np.testing.assert_allclose(g1[layer][name], g2[layer][name], rtol=1e-12, atol=1e-13,
                                           err_msg=f"{layer} {name}")


# -- gradients only where needed -------------------------------------------------------------
@pytest.mark.parametrize("padding_value", [0.0, 1.5, "replicate", "symmetric-exclude-edge"])
def test_conv_backward_without_dx_gives_the_same_weight_gradients(padding_value):
    g = np.random.default_rng(0)
    x = g.standard_normal((5, 3, 7, 6))
    w = g.standard_normal((4, 3, 3, 3))
    dy = g.standard_normal((5, 4, 7, 6))
    args = (1, 1, 1, 1, 1, 1, 1, 1)
    dx, dw, db = conv_backward(dy, x, w, *args, padding_value=padding_value)
    dx2, dw2, db2 = conv_backward(dy, x, w, *args, padding_value=padding_value, need_dx=False)
    assert dx is not None and dx.shape == x.shape and dx2 is None
    np.testing.assert_array_equal(dw, dw2)
    np.testing.assert_array_equal(db, db2)


@pytest.mark.parametrize("first_relu", [False, True])
def test_learnable_gradients_do_not_depend_on_input_grads(first_relu):
    rng(0)
    net = dlnetwork(seed_cnn(first_relu))
    ex = net.executor("cpu", np.float64)
    g = np.random.default_rng(1)
    x = g.standard_normal((6, 3, 8, 8))
    W = g.standard_normal((6, 3, 1, 1))
    _, plain = _run(ex, x, W, input_grads=True)
    assert ex.input_grads[("in", "out")].shape == x.shape
    _, skipped = _run(ex, x, W)
    assert ("in", "out") not in ex.input_grads
    _same(plain, skipped)
    assert set(skipped) == {"c1", "bn1", "c2", "bn2", "fc"}


def test_input_gradient_when_asked_matches_finite_differences():
    rng(0)
    net = dlnetwork(seed_cnn(first_relu=True))
    ex = net.executor("cpu", np.float64)
    g = np.random.default_rng(2)
    x = g.standard_normal((4, 3, 8, 8))
    W = g.standard_normal((4, 3, 1, 1))
    _run(ex, x, W, input_grads=True)
    dx = ex.input_grads[("in", "out")]
    d = g.standard_normal(x.shape)
    [ref] = ex.output_refs()

    def f(xi):
        return float((ex.forward({"in": xi}, training=True)[ref] * W).sum())

    eps = 1e-6
    assert (f(x + eps * d) - f(x - eps * d)) / (2 * eps) == pytest.approx(float((dx * d).sum()), rel=1e-6)


def test_residual_graph_gradients_do_not_depend_on_input_grads():
    rng(0)
    net = dlnetwork(residual_graph())
    ex = net.executor("cpu", np.float64)
    g = np.random.default_rng(3)
    x = cv.matlab_images_to_internal(g.standard_normal((6, 6, 2, 3)))
    W = g.standard_normal((3, 3, 1, 1))
    _, plain = _run(ex, x, W, input_grads=True)
    assert ("in", "out") in ex.input_grads
    _, skipped = _run(ex, x, W)
    _same(plain, skipped)


# -- batch normalization + ReLU fused in training ---------------------------------------------
def _executors(layers, dtype):
    rng(0)
    fused = dlnetwork(layers).executor("cpu", dtype)
    rng(0)
    plain = dlnetwork(layers).executor("cpu", dtype)  # (a network builds one executor per dtype)
    plain._train_fusions_cache = {}  # the unfused path, as on a device without the fusion
    return fused, plain


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_training_step_equals_unfused(dtype):
    fused, plain = _executors(seed_cnn(), dtype)
    g = np.random.default_rng(5)
    x = g.standard_normal((6, 3, 8, 8)).astype(dtype)
    W = g.standard_normal((6, 3, 1, 1)).astype(dtype)
    a1, g1 = _run(fused, x, W)
    assert set(fused._fused_into) == {"r1", "mp", "r2"}  # bn1 + r1 + mp, bn2 + r2
    a2, g2 = _run(plain, x, W)
    assert plain._fused_into == {}
    [ref] = fused.output_refs()
    np.testing.assert_array_equal(a1[ref], a2[ref])
    assert set(fused.batch_stats) == set(plain.batch_stats) == {"bn1", "bn2"}
    for name in ("bn1", "bn2"):
        for s1, s2 in zip(fused.batch_stats[name], plain.batch_stats[name]):
            np.testing.assert_array_equal(s1, s2)
    _same_for(dtype, g1, g2)


def test_fused_training_gradients_match_finite_differences():
    fused, _ = _executors(seed_cnn(), np.float64)
    g = np.random.default_rng(6)
    x = g.standard_normal((4, 3, 8, 8))
    W = g.standard_normal((4, 3, 1, 1))
    _, grads = _run(fused, x, W)
    _check_fd(fused, x, W, grads, ("bn1", "c2", "bn2"), g)


def test_kept_batchnorm_output_turns_the_fusion_off():
    fused, plain = _executors(seed_cnn(), np.float64)
    g = np.random.default_rng(7)
    x = g.standard_normal((3, 3, 8, 8))
    W = g.standard_normal((3, 3, 1, 1))
    a1, g1 = _run(fused, x, W, keep={("bn1", "out"), ("r2", "out")})
    assert set(fused._fused_into) == {"r2"}  # bn2's output is not kept: bn2 + r2 stay fused
    a2, g2 = _run(plain, x, W, keep={("bn1", "out"), ("r2", "out")})
    np.testing.assert_array_equal(a1[("bn1", "out")], a2[("bn1", "out")])
    np.testing.assert_array_equal(a1[("r2", "out")], a2[("r2", "out")])
    _same(g1, g2, exact=False)


def test_kept_relu_output_keeps_the_pooling_out_of_the_fusion():
    fused, plain = _executors(seed_cnn(), np.float64)
    g = np.random.default_rng(9)
    x = g.standard_normal((3, 3, 8, 8))
    W = g.standard_normal((3, 3, 1, 1))
    a1, g1 = _run(fused, x, W, keep={("r1", "out")})
    assert set(fused._fused_into) == {"r1", "r2"}
    a2, g2 = _run(plain, x, W, keep={("r1", "out")})
    np.testing.assert_array_equal(a1[("r1", "out")], a2[("r1", "out")])
    _same(g1, g2, exact=False)


def test_batchnorm_with_a_second_reader_is_not_fused():
    from layergraph import additionLayer, connectLayers, layerGraph
    lg = layerGraph([
        imageInputLayer([6, 6, 2], "Normalization", "none", "Name", "in"),
        convolution2dLayer(3, 2, "Padding", "same", "Name", "c1"), batchNormalizationLayer("Name", "bn1"),
        reluLayer("Name", "r1"), additionLayer(2, "Name", "add"), fullyConnectedLayer(3, "Name", "fc"),
    ])
    lg = connectLayers(lg, "bn1", "add/in2")
    fused, plain = _executors(lg, np.float64)
    g = np.random.default_rng(8)
    x = g.standard_normal((3, 2, 6, 6))
    W = g.standard_normal((3, 3))
    a1, g1 = _run(fused, x, W)
    assert fused._fused_into == {}
    a2, g2 = _run(plain, x, W)
    _same(g1, g2)


def _arrays(obj):
    """The ndarrays inside a context (nested tuples, lists, dicts)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _arrays(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _arrays(o)


def test_a_training_pass_does_not_hold_the_last_passes_contexts():
    """The peak memory of a training loop: while pass 2 runs, pass 1's saved activations are
    released (the executor held them to the end of pass 2 before, two passes' activations at once),
    and pass 2's backward still gives pass 2's gradients."""
    import weakref
    rng(0)
    ex = dlnetwork(seed_cnn()).executor("cpu", np.float64)
    x1, x2 = (np.random.default_rng(i).standard_normal((4, 3, 8, 8)) for i in (1, 2))
    [ref] = ex.output_refs()
    W = np.random.default_rng(3).standard_normal((4, 3))
    ex.forward({"in": x1}, training=True)
    saved = [weakref.ref(a) for ctx in ex._ctx.values() for a in _arrays(ctx) if a is not x1]
    assert saved
    alive_during = []
    last = ex.steps[-1].op
    inner = last.forward

    def spy(*args, **kwargs):
        alive_during.append(sum(r() is not None for r in saved))
        return inner(*args, **kwargs)
    last.forward = spy
    try:
        ex.forward({"in": x2}, training=True)
    finally:
        del last.forward
    assert alive_during == [0]
    grads = ex.backward({ref: W})
    ex2 = dlnetwork(seed_cnn()).executor("cpu", np.float64)
    ex2.params = ex.params
    _, expect = _run(ex2, x2, W)
    for layer, gs in expect.items():
        for name, g in gs.items():
            np.testing.assert_allclose(grads[layer][name], g, rtol=1e-12, atol=1e-14)


def test_backward_with_release_gives_the_same_gradients_and_lets_the_contexts_go():
    rng(0)
    ex = dlnetwork(seed_cnn()).executor("cpu", np.float64)
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))
    W = np.random.default_rng(3).standard_normal((4, 3))
    [ref] = ex.output_refs()
    acts = ex.forward({"in": x}, training=True)
    assert set(acts) == {ref}   # a training pass returns the outputs (and kept activations) only
    keep = ex.backward({ref: W})
    ex.forward({"in": x}, training=True)
    got = ex.backward({ref: W}, release=True)
    for layer, gs in keep.items():
        for name, g in gs.items():
            np.testing.assert_array_equal(got[layer][name], g)
    from layergraph.core.errors import LayerGraphError
    with pytest.raises(LayerGraphError, match="forward pass with training=True first"):
        ex.backward({ref: W})

def mobile_cnn():
    """BN + clipped ReLU (ReLU6, and a ceiling of 0.5 before a max pooling, which then stays
    unfused: the fused pooling takes a plain ReLU) after a convolution and a depthwise one."""
    from layergraph import clippedReluLayer, groupedConvolution2dLayer
    return [imageInputLayer([8, 8, 3], "Normalization", "none", "Name", "in"),
            convolution2dLayer(3, 4, "Padding", 1, "Name", "c1"), batchNormalizationLayer("Name", "bn1"),
            clippedReluLayer(0.5, "Name", "r1"), maxPooling2dLayer(2, "Stride", 2, "Name", "mp"),
            groupedConvolution2dLayer(3, 1, "channel-wise", "Padding", 1, "Name", "dw"),
            batchNormalizationLayer("Name", "bn2"), clippedReluLayer(6, "Name", "r2"),
            fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_clipped_relu_training_step_equals_unfused(dtype):
    fused, plain = _executors(mobile_cnn(), dtype)
    g = np.random.default_rng(7)
    x = (g.standard_normal((6, 3, 8, 8)) * 3).astype(dtype)
    W = g.standard_normal((6, 3, 1, 1)).astype(dtype)
    a1, g1 = _run(fused, x, W)
    assert set(fused._fused_into) == {"r1", "r2"}   # no pooling after a clipped ReLU
    a2, g2 = _run(plain, x, W, keep={("r1", "out"), ("r2", "out")})
    assert plain._fused_into == {}
    r1 = a2[("r1", "out")]
    assert (r1 == dtype(0.5)).any() and (r1 == 0).any()   # both kinks are reached
    [ref] = fused.output_refs()
    np.testing.assert_array_equal(a1[ref], a2[ref])
    _same_for(dtype, g1, g2)


def test_fused_clipped_relu_training_gradients_match_finite_differences():
    fused, _ = _executors(mobile_cnn(), np.float64)
    g = np.random.default_rng(8)
    x = g.standard_normal((4, 3, 8, 8)) * 3
    W = g.standard_normal((4, 3, 1, 1))
    _, grads = _run(fused, x, W)
    assert set(fused._fused_into) == {"r1", "r2"}
    _check_fd(fused, x, W, grads, ("c1", "bn1", "dw", "bn2"), g)


@pytest.mark.parametrize("input_grads", [False, True])
def test_three_input_addition_gradients(input_grads):
    """A three-input addition reading the network input twice: the learnables' gradients and
    (``input_grads``) the input's against central differences, and each gradient the addition
    hands back equal to its dy (at the ReLU's output: training fuses the two, so where that output
    is not > 0 it is 0), one array handed to every input (as torch's autograd: nothing writes
    into a gradient it is given)."""
    from layergraph import additionLayer, connectLayers, layerGraph
    lg = layerGraph([
        imageInputLayer([5, 5, 2], "Normalization", "none", "Name", "in"),
        convolution2dLayer(3, 2, "Padding", "same", "Name", "c1"), additionLayer(3, "Name", "add"),
        reluLayer("Name", "r"), fullyConnectedLayer(3, "Name", "fc"),
    ])
    lg = connectLayers(lg, "in", "add/in2")
    lg = connectLayers(lg, "in", "add/in3")
    rng(0)
    ex = dlnetwork(lg).executor("cpu", np.float64)
    g = np.random.default_rng(11)
    x = g.standard_normal((3, 2, 5, 5))
    W = g.standard_normal((3, 3, 1, 1))
    add_op = next(s.op for s in ex.steps if s.name == "add")
    seen = []
    inner = add_op.backward

    def spy(k, dys, ctx, P):
        dxs, gr = inner(k, dys, ctx, P)
        seen.append((dys[0], dxs, add_op.need_dx, ctx))
        return dxs, gr
    add_op.backward = spy
    acts, grads = _run(ex, x, W, input_grads=input_grads)
    [(dy, dxs, needs, ctx)] = seen
    assert ex._fused_into == {"r": "add"}
    wanted = [d for d, want in zip(dxs, needs) if want]
    assert len(wanted) == sum(needs) and len({id(d) for d in dxs}) == 1
    for d in wanted:
        np.testing.assert_array_equal(d, np.where(ctx["relu_out"] > 0, dy, 0.0))
    _check_fd(ex, x, W, grads, ["c1", "fc"], g)
    if input_grads:   # dL/dx along a random direction against central differences
        [ref] = ex.output_refs()
        d = g.standard_normal(x.shape)
        eps = 1e-7
        up = float((ex.forward({"in": x + eps * d}, training=True)[ref] * W).sum())
        down = float((ex.forward({"in": x - eps * d}, training=True)[ref] * W).sum())
        gx = ex.input_grads[("in", "out")]
        assert (up - down) / (2 * eps) == pytest.approx(float((gx * d).sum()), rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_addition_relu_training_pass_equals_unfused(dtype):
    """A ResNet block's addition and ReLU fused in training (with BN + ReLU, and the pixel-major
    plan) against every layer on its own."""
    fused = residual_net().executor("cpu", dtype)
    plain = residual_net().executor("cpu", dtype)   # the same network and values, its own executor
    plain._train_fusions_cache = {}   # nothing fused (BN + ReLU neither)
    g = np.random.default_rng(2)
    x, W = g.standard_normal((4, 3, 12, 10)).astype(dtype), g.standard_normal((4, 5, 1, 1)).astype(dtype)
    [ref] = fused.output_refs()
    out = {}
    for name, ex in (("fused", fused), ("plain", plain)):
        y = ex.forward({"in": x}, training=True)[ref]
        out[name] = (y, ex.backward({ref: W}))
    assert {"b0r", "b1r"} <= set(fused._fused_into) and fused._fused_into["b0r"] == "b0add"
    (y1, g1), (y0, g0) = out["fused"], out["plain"]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y1, y0, **tol)
    for layer in g0:
        for name in g0[layer]:
            scale = np.abs(g0[layer][name]).max()
            np.testing.assert_allclose(g1[layer][name], g0[layer][name], rtol=tol["rtol"],
                                       atol=tol["atol"] * max(scale, 1.0), err_msg=f"{layer} {name}")
