"""Elementwise and threading function kernels (Wolfram's ElementwiseLayer[f] and
ThreadingLayer[f]): float64 finite-difference gradients and PyTorch as the reference."""
import numpy as np
import pytest
import torch
from _cpu_testutil import fd_check

from layergraph.kernels.cpu import elementwise as ew

R = np.random.default_rng(3)
# positive inputs for Log/Sqrt; away from kinks (Ramp at 0, HardTanh at +-1, ...) elsewhere
POSITIVE = {"Log", "Sqrt"}


def _x(name, shape=(2, 3, 4, 5)):
    x = R.uniform(0.2, 2.5, size=shape) if name in POSITIVE else R.uniform(-2.5, 2.5, size=shape)
    kinks = {"Ramp": [0], "HardTanh": [-1, 1], "HardSigmoid": [-1, 1], "HardSwish": [-3, 3], "Abs": [0],
             "ELU": [0], "SELU": [0]}.get(name, [])
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    return x


@pytest.mark.parametrize("name", sorted(ew.UNARY))
def test_unary_gradient(name):
    x = _x(name)
    dy = R.standard_normal(x.shape)
    y = ew.elementwise_forward(x, name)
    dx = ew.elementwise_backward(dy, x, y, name)
    fd_check(lambda a: ew.elementwise_forward(a, name), [x], 0, dx, dy, h=1e-6, rtol=1e-5, atol=1e-8)


TORCH = {
    "Ramp": torch.relu, "Tanh": torch.tanh, "LogisticSigmoid": torch.sigmoid, "ELU": torch.nn.functional.elu,
    "SELU": torch.selu, "GELU": torch.nn.functional.gelu, "Swish": torch.nn.functional.silu,
    "HardSwish": torch.nn.functional.hardswish, "Mish": torch.nn.functional.mish,
    "SoftSign": torch.nn.functional.softsign, "SoftPlus": torch.nn.functional.softplus,
    "HardTanh": torch.nn.functional.hardtanh, "Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt,
    "Square": torch.square, "Abs": torch.abs, "Sin": torch.sin, "Cos": torch.cos, "ArcTan": torch.atan,
    "Erf": torch.erf,
    # torch's hardsigmoid is relu6(x+3)/6; Wolfram's is Clip[(x+1)/2, {0, 1}]
    "HardSigmoid": lambda t: torch.clamp((t + 1) / 2, 0, 1),
}


@pytest.mark.parametrize("name", sorted(ew.UNARY))
def test_unary_against_torch(name):
    x = _x(name)
    t = torch.tensor(x, requires_grad=True)
    ref = TORCH[name](t)
    dy = R.standard_normal(x.shape)
    ref.backward(torch.tensor(dy))
    y = ew.elementwise_forward(x, name)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ew.elementwise_backward(dy, x, y, name), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_selu_constants_are_wolframs():
    # 1.0507 x for x >= 0 and 1.758099340847161 (Exp[x] - 1) otherwise
    assert ew.elementwise_forward(np.array([1.0]), "SELU")[0] == pytest.approx(1.0507009873554805)
    assert ew.elementwise_forward(np.array([-1.0]), "SELU")[0] == pytest.approx(1.758099340847161 * np.expm1(-1))


def test_callable_uses_central_differences():
    x = _x("Tanh", (3, 4))
    dy = R.standard_normal(x.shape)
    f = lambda a: a ** 3 - 2 * a  # noqa: E731
    y = ew.elementwise_forward(x, f)
    np.testing.assert_allclose(y, x ** 3 - 2 * x)
    np.testing.assert_allclose(ew.elementwise_backward(dy, x, y, f), dy * (3 * x ** 2 - 2), rtol=1e-7)


def test_scalar_only_callable():
    import math
    x = _x("Tanh", (2, 3))
    y = ew.elementwise_forward(x, math.sin)
    np.testing.assert_allclose(y, np.sin(x))


@pytest.mark.parametrize("name", sorted(ew.BINARY))
@pytest.mark.parametrize("k", [2, 3])
def test_threading_gradient(name, k):
    xs = [R.uniform(0.5, 2.0, size=(2, 3, 4)) for _ in range(k)]
    if name in ("Max", "Min"):  # no ties
        xs = [x + 0.37 * i for i, x in enumerate(xs)]
    dy = R.standard_normal(xs[0].shape)
    grads = ew.threading_backward(dy, xs, name)
    for i in range(k):
        fd_check(lambda *a: ew.threading_forward(list(a), name), xs, i, grads[i], dy, h=1e-6, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name,op", [("Plus", torch.add), ("Subtract", torch.sub), ("Times", torch.mul),
                                     ("Divide", torch.div), ("Max", torch.maximum), ("Min", torch.minimum),
                                     ("Power", torch.pow)])
def test_threading_against_torch(name, op):
    a, b, c = (R.uniform(0.5, 2.0, size=(2, 5)) for _ in range(3))
    ta, tb, tc = (torch.tensor(v, requires_grad=True) for v in (a, b, c))
    ref = op(op(ta, tb), tc)
    dy = R.standard_normal(a.shape)
    ref.backward(torch.tensor(dy))
    np.testing.assert_allclose(ew.threading_forward([a, b, c], name), ref.detach().numpy(), rtol=1e-12)
    for g, t in zip(ew.threading_backward(dy, [a, b, c], name), (ta, tb, tc)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_float32_stays_float32():
    x = _x("Tanh").astype(np.float32)
    assert ew.elementwise_forward(x, "SoftPlus").dtype == np.float32
    assert ew.elementwise_backward(x, x, x, "SoftPlus").dtype == np.float32
    assert ew.threading_forward([x, x], "Times").dtype == np.float32


@pytest.mark.parametrize("name", ["Plus", "Subtract", "Times", "Divide", "Max", "Power"])
def test_threading_broadcast_gradient(name):
    xs = [R.uniform(0.5, 2.0, size=(2, 3, 4)), R.uniform(0.5, 2.0, size=(2, 1, 4)), R.uniform(0.5, 2.0, size=(2, 3, 1))]
    if name == "Max":
        xs = [x + 0.37 * i for i, x in enumerate(xs)]
    dy = R.standard_normal((2, 3, 4))
    grads = ew.threading_backward(dy, xs, name)
    assert [g.shape for g in grads] == [x.shape for x in xs]
    for i in range(3):
        fd_check(lambda *a: ew.threading_forward(list(a), name), xs, i, grads[i], dy, h=1e-6, rtol=1e-5, atol=1e-8)
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    op = {"Plus": torch.add, "Subtract": torch.sub, "Times": torch.mul, "Divide": torch.div, "Max": torch.maximum,
          "Power": torch.pow}[name]
    op(op(ts[0], ts[1]), ts[2]).backward(torch.tensor(dy))
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_threading_broadcast_callable():
    a, b = R.uniform(0.5, 2.0, size=(2, 3)), R.uniform(0.5, 2.0, size=(2, 1))
    f = lambda u, v: u * v + v ** 2  # noqa: E731
    dy = R.standard_normal((2, 3))
    np.testing.assert_allclose(ew.threading_forward([a, b], f), a * b + b ** 2)
    ga, gb = ew.threading_backward(dy, [a, b], f)
    np.testing.assert_allclose(ga, dy * b, rtol=1e-7)
    np.testing.assert_allclose(gb, (dy * (a + 2 * b)).sum(axis=1, keepdims=True), rtol=1e-7)
