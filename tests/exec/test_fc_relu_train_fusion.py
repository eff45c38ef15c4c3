"""The fully connected layer and a following ReLU (or clipped ReLU) fused in training on 'cpu'
(core/executor.py _train_fusions, FullyConnectedOp.forward_train_fused, dense.fc_backward's
relu_out): the numbers of the unfused path, bit for bit, and gradients against central
differences and against torch."""
import numpy as np
import pytest
from test_executor_training_paths import _check_fd, _executors, _run, _same

from layergraph import (
    clippedReluLayer,
    featureInputLayer,
    fullyConnectedLayer,
    imageInputLayer,
    reluLayer,
    softmaxLayer,
)
from layergraph.kernels.cpu.dense import fc_backward


def mlp(clipped=False):
    act = (lambda name: clippedReluLayer(0.5, "Name", name)) if clipped else (lambda name: reluLayer("Name", name))
    return [featureInputLayer(7, "Normalization", "none", "Name", "in"),
            fullyConnectedLayer(9, "Name", "fc1"), act("r1"),
            fullyConnectedLayer(8, "Name", "fc2"), act("r2"),
            fullyConnectedLayer(3, "Name", "fc3"), softmaxLayer("Name", "sm")]


def image_fc():
    """A fully connected layer on images (a 4-D input and output) and its ReLU."""
    return [imageInputLayer([4, 4, 2], "Normalization", "none", "Name", "in"),
            fullyConnectedLayer(6, "Name", "fc1"), reluLayer("Name", "r1"),
            fullyConnectedLayer(3, "Name", "fc2"), softmaxLayer("Name", "sm")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("clipped", [False, True])
def test_fused_fc_relu_training_step_equals_unfused(dtype, clipped):
    fused, plain = _executors(mlp(clipped), dtype)
    g = np.random.default_rng(1)
    x = (g.standard_normal((11, 7)) * 3).astype(dtype)
    W = g.standard_normal((11, 3)).astype(dtype)
    a1, g1 = _run(fused, x, W, input_grads=True)
    assert set(fused._fused_into) == {"r1", "r2"}
    a2, g2 = _run(plain, x, W, input_grads=True, keep={("r1", "out")})
    assert plain._fused_into == {}
    r1 = a2[("r1", "out")]
    assert (r1 == 0).any() and (r1 > 0).any()
    if clipped:
        assert (r1 == dtype(0.5)).any()   # the ceiling's kink is reached too
    [ref] = fused.output_refs()
    np.testing.assert_array_equal(a1[ref], a2[ref])
    _same(g1, g2)   # the same operations: exact, float32 too
    np.testing.assert_array_equal(fused.input_grads[("in", "out")], plain.input_grads[("in", "out")])


def test_fused_fc_relu_on_images_equals_unfused():
    fused, plain = _executors(image_fc(), np.float64)
    g = np.random.default_rng(2)
    x, W = g.standard_normal((5, 2, 4, 4)), g.standard_normal((5, 3, 1, 1))
    a1, g1 = _run(fused, x, W)
    assert set(fused._fused_into) == {"r1"}
    a2, g2 = _run(plain, x, W)
    [ref] = fused.output_refs()
    np.testing.assert_array_equal(a1[ref], a2[ref])
    _same(g1, g2)


def test_kept_fc_output_turns_the_fusion_off():
    fused, plain = _executors(mlp(), np.float64)
    g = np.random.default_rng(3)
    x = g.standard_normal((6, 7))
    W = g.standard_normal((6, 3))
    a1, g1 = _run(fused, x, W, keep={("fc1", "out"), ("r2", "out")})
    assert set(fused._fused_into) == {"r2"}   # fc2's output is not kept: fc2 + r2 stay fused
    a2, g2 = _run(plain, x, W, keep={("fc1", "out"), ("r2", "out")})
    np.testing.assert_array_equal(a1[("fc1", "out")], a2[("fc1", "out")])
    np.testing.assert_array_equal(a1[("r2", "out")], a2[("r2", "out")])
    _same(g1, g2)


@pytest.mark.parametrize("clipped", [False, True])
def test_fused_fc_relu_gradients_match_finite_differences(clipped):
    fused, _ = _executors(mlp(clipped), np.float64)
    g = np.random.default_rng(4)
    x = g.standard_normal((5, 7))
    W = g.standard_normal((5, 3))
    _, grads = _run(fused, x, W)
    assert set(fused._fused_into) == {"r1", "r2"}
    _check_fd(fused, x, W, grads, ("fc1", "fc2", "fc3"), g)


@pytest.mark.parametrize("ceiling", [np.inf, 6.0])
def test_fc_backward_relu_out_matches_torch(ceiling):
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(5)
    x = g.standard_normal((16, 20)).astype(np.float32)
    w = g.standard_normal((12, 20)).astype(np.float32)
    b = g.standard_normal(12).astype(np.float32)
    dy = g.standard_normal((16, 12)).astype(np.float32)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    z = torch.nn.functional.linear(xt, wt, bt)
    yt = torch.relu(z) if ceiling == np.inf else torch.nn.functional.hardtanh(z, 0.0, ceiling)
    yt.backward(torch.tensor(dy))
    from layergraph.kernels.cpu.dense import fc_forward
    y = fc_forward(x, w, b, relu=True, ceiling=ceiling)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    dx, dw, db = fc_backward(dy, x, w, relu_out=y, ceiling=ceiling)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_fc_backward_relu_out_rejects_a_bad_ceiling():
    x = np.ones((2, 3), np.float32)
    w = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="ceiling must be a number > 0"):
        fc_backward(np.ones((2, 4), np.float32), x, w, relu_out=np.ones((2, 4), np.float32), ceiling=-1)
