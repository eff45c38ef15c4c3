"""backward outside the training program on its worked-out steps (core/executor.py BACKWARD_PLAN,
Executor._backward_entries): the same gradients, input gradients, contexts left and op flags as
the loop, bit for bit, in the pixel-major training plan (residual fusions, converted inputs whose
gradients go back to their layouts, kept outputs that unfuse a fusion), with and without
released contexts, and again from the cache; a pass with other fusions or layouts gets its own
steps."""
import numpy as np
import pytest
from test_pixel_major_plan import residual_net
from test_training_program import _equal, _pass

import layergraph as L
import layergraph.core.executor as E


def converted_net():
    """r0 feeds a convolution that is not planned (a channel-major copy) and the addition (n1's
    output goes to it as a pixel-major copy), the pooling reads a channel-major copy."""
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


def _vs_loop(monkeypatch, ex, x, keep, input_grads, release):
    calls = []
    real = E.Executor._run_backward_entries
    monkeypatch.setattr(E.Executor, "_run_backward_entries", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = _pass(ex, x, keep, input_grads, release)
    monkeypatch.setattr(E.Executor, "_run_backward_entries", real)
    assert not got["prog"] and calls == [1]   # the pixel-major plan: no training program, the backward's steps
    monkeypatch.setattr(E, "BACKWARD_PLAN", False)
    want = _pass(ex, x, keep, input_grads, release)
    monkeypatch.setattr(E, "BACKWARD_PLAN", True)
    _equal(got, want)
    return got


@pytest.mark.parametrize("keep", [None, {("b0n2", "out")}, {("b1add", "out")}])
@pytest.mark.parametrize("input_grads", [False, True])
@pytest.mark.parametrize("release", [False, True])
def test_the_backward_steps_equal_the_loop_on_a_residual_net(monkeypatch, keep, input_grads, release):
    net = residual_net()
    ex = net.executor("cpu", np.float64)
    assert ex._train_layout_plan()
    x = np.random.default_rng(1).standard_normal((3, 3, 12, 10))
    _vs_loop(monkeypatch, ex, x, keep, input_grads, release)
    _vs_loop(monkeypatch, ex, x, keep, input_grads, release)   # again, from the cache
    assert ex._backward_cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_grads", [False, True])
def test_the_backward_steps_turn_converted_gradients_back(monkeypatch, dtype, input_grads):
    ex = converted_net().executor("cpu", dtype)
    x = np.random.default_rng(10).standard_normal((3, 3, 6, 6)).astype(dtype)
    _vs_loop(monkeypatch, ex, x, {("r2", "out")}, input_grads, False)
    assert ex._train_converted == {"c1": [(0, False)], "add": [(0, True)], "ap": [(0, False)]}


def test_passes_with_other_fusions_get_their_own_steps(monkeypatch):
    ex = residual_net().executor("cpu", np.float64)
    x = np.random.default_rng(2).standard_normal((2, 3, 12, 10))
    for keep in (None, {("b0n2", "out")}, None):
        _vs_loop(monkeypatch, ex, x, keep, False, True)
    assert len(ex._backward_cache) == 2


def _masking(ex):
    """(convolutions that mask, additions handed a masked dy) in the backward steps cached."""
    cached = list(ex.__dict__.get("_backward_cache", {}).values())
    cached += [b for prog in ex.__dict__.get("_train_program_cache", {}).values() for b in prog.backward.values()]
    ents = [e for entries in cached for e in entries if e[0] == 2]
    return {e[1].name for e in ents if e[3][4] is not None}, {e[1].name for e in ents if e[3][5] is not None}


@pytest.mark.parametrize("pixel_major", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_grads", [False, True])
def test_the_relu_mask_in_the_convolutions_dx_gives_the_same_gradients(monkeypatch, pixel_major, dtype,
                                                                        input_grads):
    """RELU_MASK_IN_DX: the next block's first convolution returns the gradient at the ReLU's
    input and the addition hands it on; the same gradients as the addition's own mask, to the bit,
    in the pixel-major plan and in the training program."""
    monkeypatch.setattr(E, "PIXEL_MAJOR_TRAINING", pixel_major)
    x = np.random.default_rng(4).standard_normal((3, 3, 12, 10)).astype(dtype)
    ex = residual_net().executor("cpu", dtype)
    got = _pass(ex, x, None, input_grads, True)
    convs, adds = _masking(ex)
    assert adds == {"b0add", "b1add"} and "tail" in convs and len(convs & {"b1c1", "b1skip"}) == 1
    monkeypatch.setattr(E, "RELU_MASK_IN_DX", False)
    ex0 = residual_net().executor("cpu", dtype)
    want = _pass(ex0, x, None, input_grads, True)
    assert _masking(ex0) == (set(), set())
    got.pop("prog"), want.pop("prog")
    _equal(got, want)


def test_a_masking_convolution_that_gets_no_gradient_leaves_the_mask_to_the_addition(monkeypatch):
    """The ReLU's first reader is a convolution whose output (a network output) gets no seed: its
    backward does not run, so the addition applies the mask itself."""
    lg = L.layerGraph([L.imageInputLayer([6, 6, 3], "Normalization", "none", "Name", "in"),
                       L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c0"), L.additionLayer(2, "Name", "add"),
                       L.reluLayer("Name", "r"), L.convolution2dLayer(3, 4, "Padding", 1, "Name", "dead"),
                       L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c1", "Stride", 2)])
    lg = L.addLayers(lg, [L.convolution2dLayer(3, 8, "Padding", 1, "Name", "c2"),
                          L.fullyConnectedLayer(3, "Name", "fc"), L.softmaxLayer("Name", "sm")])
    lg = L.disconnectLayers(lg, "dead", "c1")
    lg = L.connectLayers(lg, "r", "c1")
    lg = L.connectLayers(lg, "c1", "c2")
    lg = L.addLayers(lg, L.convolution2dLayer(1, 8, "Name", "cs"))
    lg = L.connectLayers(lg, "in", "cs")
    lg = L.connectLayers(lg, "cs", "add/in2")
    L.rng(2)
    ex = L.dlnetwork(lg).executor("cpu", np.float64)
    steps = [s.name for s in ex.steps]
    assert steps.index("dead") < steps.index("c1")
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 6))
    acts = ex.forward({"in": x}, training=True)
    ref = ("sm", "out")
    seed = {ref: np.random.default_rng(5).standard_normal(acts[ref].shape)}
    got = ex.backward(seed, input_grads=True)
    assert _masking(ex) == ({"dead"}, {"add"})
    monkeypatch.setattr(E, "RELU_MASK_IN_DX", False)
    ex.forward({"in": x}, training=True)
    want = ex.backward(seed, input_grads=True)
    _equal(got, want)
