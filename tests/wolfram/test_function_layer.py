"""Wolfram's FunctionLayer[f] with a Python function (wolfram/function_layer.py): the core's
custom layer with the tape's gradient (core/traced_array.py). Values against torch, the
gradients of a net with it against float64 finite differences, NetTrain, and bad input."""
import numpy as np
import pytest
import torch

from layergraph.core.executor import Executor
from layergraph.core.infer import analyze
from layergraph.core.ops_custom import traced
from layergraph.core.traced_array import TracedArray, unwrap, wrap
from layergraph.wolfram import FunctionLayer, LayerGraphError, LinearLayer, NetChain, NetInitialize, NetTrain


def test_values_against_torch_per_example():
    f = FunctionLayer(lambda x: np.tanh(x) * 2 + x.sum(axis=0) - np.maximum(x, 0.5) ** 2, Input=(3, 4, 5))
    x = np.random.default_rng(0).standard_normal((6, 3, 4, 5)).astype(np.float32)
    t = torch.from_numpy(x)
    ref = torch.tanh(t) * 2 + t.sum(dim=1, keepdim=True) - torch.clamp(t, min=0.5) ** 2
    np.testing.assert_allclose(f(x), ref.numpy(), rtol=1e-5, atol=1e-5)
    assert "FunctionLayer" in str(f) and "3×4×5" in str(f)


def test_output_dimensions_come_from_the_function():
    chain = NetChain([FunctionLayer(lambda v: (v[:2] * v[1:3]).sum(keepdims=True))], Input=4)
    assert chain(np.array([1.0, 2.0, 3.0, 4.0], np.float32)).shape == (1,)
    np.testing.assert_allclose(chain(np.array([1.0, 2.0, 3.0, 4.0], np.float32)), [1 * 2 + 2 * 3])


def _core(net):
    core = net.to_core_net()
    analysis = analyze(core.graph)
    ex = Executor(core.graph, analysis, "cpu", np.float64)
    (in_name,) = core.inputs.values()
    (out_ref,) = core.outputs.values()
    return ex, in_name, out_ref


def test_gradients_against_finite_differences():
    net = NetInitialize(NetChain([LinearLayer(4), FunctionLayer(lambda v: np.exp(v * 0.5) * v), LinearLayer(2)],
                                 Input=3), RandomSeeding=3)
    ex, in_name, out_ref = _core(net)
    g = np.random.default_rng(1)
    x = g.standard_normal((5, 3))
    R = g.standard_normal((5, 2))

    def value():
        return float(np.sum(ex.forward({in_name: x}, training=False)[out_ref] * R))

    ex.forward({in_name: x}, training=True)
    grads = ex.backward({out_ref: R}, input_grads=True)
    gx = ex.input_grads[(in_name, "out")]
    h = 1e-6
    checked = 0
    for layer, per in grads.items():
        for param, gval in per.items():
            w = ex.params[layer][param]
            for idx in g.choice(w.size, size=min(4, w.size), replace=False):
                flat = w.reshape(-1)
                keep = flat[idx]
                flat[idx] = keep + h
                up = value()
                flat[idx] = keep - h
                dn = value()
                flat[idx] = keep
                assert gval.reshape(-1)[idx] == pytest.approx((up - dn) / (2 * h), rel=1e-6, abs=1e-8)
                checked += 1
    for idx in range(x.size):
        flat = x.reshape(-1)
        keep = flat[idx]
        flat[idx] = keep + h
        up = value()
        flat[idx] = keep - h
        dn = value()
        flat[idx] = keep
        assert gx.reshape(-1)[idx] == pytest.approx((up - dn) / (2 * h), rel=1e-6, abs=1e-8)
    assert checked >= 12 and len(grads) == 2


def test_traced_array_reductions_indexing_and_matmul_against_finite_differences():
    g = np.random.default_rng(2)
    a = g.standard_normal((3, 4))
    m = g.standard_normal((4, 2))

    def f(x):
        return ((np.tanh(x[1:, ::2]).max(axis=1) * x.mean()).sum() + (x @ m).T.reshape(-1)[:2].sum() - np.abs(x).min()
                + np.sqrt(x * x + 1).sum(axis=0).sum() / np.square(x).sum())
    (y,), vjp = traced(f, [a], wrap, unwrap)
    (ga,) = vjp([np.ones_like(y)])
    h = 1e-6
    for idx in range(a.size):
        up, dn = a.copy().reshape(-1), a.copy().reshape(-1)
        up[idx] += h
        dn[idx] -= h
        fd = (traced(f, [up.reshape(a.shape)], wrap, unwrap)[0][0]
              - traced(f, [dn.reshape(a.shape)], wrap, unwrap)[0][0]) / (2 * h)
        assert ga.reshape(-1)[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    assert isinstance(TracedArray(a) + 1, TracedArray)


def test_nettrain_trains_through_the_function_layer():
    g = np.random.default_rng(4)
    X = g.standard_normal((80, 2)).astype(np.float32)
    Y = (np.sin(X[:, :1]) * 2 + X[:, 1:]).astype(np.float32)
    net = NetChain([LinearLayer(8), FunctionLayer(lambda v: np.tanh(v) + 0.1 * v), LinearLayer(1)], Input=2)
    trained = NetTrain(net, (X, Y), TrainingProgressReporting=None, RandomSeeding=1, MaxTrainingRounds=100,
                       LearningRate=0.01, BatchSize=16)
    before = float(np.mean((NetInitialize(net, RandomSeeding=1)(X) - Y) ** 2))
    after = float(np.mean((trained(X) - Y) ** 2))
    assert after < 0.3 * before


def test_bad_input():
    with pytest.raises(LayerGraphError, match="is not a function"):
        FunctionLayer(3)
    with pytest.raises(LayerGraphError, match=r"np\.arctan is not supported on traced arrays"):
        NetChain([FunctionLayer(lambda v: np.arctan(v))], Input=3)
    chain = NetChain([FunctionLayer(lambda v: v[:1] if float(np.asarray(v)[0]) > 0 else v[:2])], Input=3)
    assert chain(np.ones(3, np.float32)).shape == (1,)   # the probe's first element is positive
    with pytest.raises(LayerGraphError, match="output dimensions must not depend on the values"):
        chain(np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], np.float32))


def test_elementwise_and_threading_layers_take_exact_gradients_from_the_tape():
    """ElementwiseLayer(f) / ThreadingLayer(f) with a Python function: the tape's gradient when f
    is traceable (exact: the analytic derivative to rounding), central differences otherwise."""
    from layergraph.core.ops_array import ElementwiseOp, ThreadingOp
    from layergraph.kernels import get_kernel
    from layergraph.layers import ElementwiseFunctionLayer, ThreadingFunctionLayer

    def k(family, which):
        return get_kernel(family, which, "cpu")
    g = np.random.default_rng(2)
    x = g.uniform(0.1, 2.0, (4, 3))
    dy = g.standard_normal((4, 3))
    op = ElementwiseOp.__new__(ElementwiseOp)
    op.layer = ElementwiseFunctionLayer(Name="f", Function=lambda v: v ** 3 + np.sin(v) * np.log(v))
    (dx,), _ = op.backward(k, [dy], (x, None), {})
    np.testing.assert_allclose(dx, dy * (3 * x ** 2 + np.cos(x) * np.log(x) + np.sin(x) / x), rtol=1e-13)
    op.layer = ElementwiseFunctionLayer(Name="f", Function=lambda v: np.clip(v, 0.0, 1.0))   # not on the tape
    (dx,), _ = op.backward(k, [dy], (x, np.clip(x, 0, 1)), {})
    np.testing.assert_allclose(dx, dy * (x < 1.0), atol=1e-6)
    a, b = g.standard_normal((4, 1)), g.standard_normal((4, 3))
    th = ThreadingOp.__new__(ThreadingOp)
    th.layer = ThreadingFunctionLayer(Name="t", Function=lambda p, q: p * q + q ** 2)
    da, db = th.backward(k, [dy], [a, b], {})[0]
    np.testing.assert_allclose(da, np.sum(dy * b, axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(db, dy * (a + 2 * b), rtol=1e-13)
