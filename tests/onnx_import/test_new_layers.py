"""The core layers added for ONNX import, against an independent reference (torch CPU:
values and autograd gradients) and float64 finite differences: the hard sigmoid and hard
swish activations, multiplicationLayer with broadcasting, scalingLayer, resize2dLayer."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from layergraph import layers as L   # noqa: E402
from layergraph.core.errors import LayerGraphError   # noqa: E402
from layergraph.core.graph import Graph   # noqa: E402
from layergraph.core.network import Network   # noqa: E402
from layergraph.kernels import get_kernel   # noqa: E402
from layergraph.matlab import multiplicationLayer, resize2dLayer, scalingLayer   # noqa: E402

R = np.random.default_rng(0)


def _grad(fn, *xs):
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    y = fn(*ts)
    w = torch.tensor(R.standard_normal(tuple(y.shape)))
    (y * w).sum().backward()
    return y.detach().numpy(), w.numpy(), [t.grad.numpy() for t in ts]


def _fd(f, x, w, h=1e-6):
    """Directional finite difference of sum(w * f(x)) along a random direction."""
    d = R.standard_normal(x.shape)
    return (np.sum(w * f(x + h * d)) - np.sum(w * f(x - h * d))) / (2 * h), d


@pytest.mark.parametrize("alpha, beta", [(0.2, 0.5), (1 / 6, 0.5), (0.5, 0.6)])
def test_hard_sigmoid_against_torch(alpha, beta):
    x = R.uniform(-6, 6, (3, 4, 5, 2))
    fwd, bwd = get_kernel("hardsigmoid", "forward_infer"), get_kernel("hardsigmoid", "backward")
    y_ref, w, (g_ref,) = _grad(lambda t: torch.clamp(alpha * t + beta, 0, 1), x)
    y = fwd(x, alpha, beta)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bwd(w, x, y, alpha, beta), g_ref, rtol=1e-12, atol=1e-12)
    if (alpha, beta) == (1 / 6, 0.5):
        np.testing.assert_allclose(y, F.hardsigmoid(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)


def test_hard_swish_against_torch():
    x = R.uniform(-6, 6, (3, 4, 5, 2))
    y_ref, w, (g_ref,) = _grad(F.hardswish, x)
    y = get_kernel("hardswish", "forward_infer")(x)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(get_kernel("hardswish", "backward")(w, x, y), g_ref, rtol=1e-12, atol=1e-12)
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(get_kernel("hardswish", "forward_infer")(x32), F.hardswish(torch.tensor(x32)).numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shapes", [[(2, 3, 4, 5), (2, 3, 4, 5)], [(2, 3, 4, 5), (2, 3, 1, 1)],
                                    [(2, 1, 4, 5), (2, 3, 1, 5), (2, 3, 4, 1)], [(2, 6), (2, 1)]])
def test_multiplication_with_broadcasting_against_torch(shapes):
    xs = [R.standard_normal(s) for s in shapes]
    y_ref, w, g_ref = _grad(lambda *ts: torch.stack(torch.broadcast_tensors(*ts)).prod(0), *xs)
    y = get_kernel("multiplication", "forward_infer")(xs)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12)
    grads = get_kernel("multiplication", "backward")(w, xs)
    for g, gr, x in zip(grads, g_ref, xs):
        assert g.shape == x.shape
        np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-12)
    # and float64 finite differences of the first input
    fd, d = _fd(lambda a: get_kernel("multiplication", "forward_infer")([a] + xs[1:]), xs[0], w)
    assert np.sum(grads[0] * d) == pytest.approx(fd, rel=1e-6)


def test_multiplication_layer_sizes_broadcast_as_matlab():
    layer = multiplicationLayer(2, "Name", "m")
    from layergraph.core.size import Size
    _, (out,) = layer.infer([Size((4, 5), 3), Size((1, 1), 3)])
    assert out == Size((4, 5), 3)
    from layergraph.core.layer import SizeError
    with pytest.raises(SizeError, match="same size or size 1"):
        layer.infer([Size((4, 5), 3), Size((2, 5), 3)])


def test_scaling_forward_backward():
    x = R.standard_normal((2, 3, 4, 5))
    s, b = R.standard_normal((1, 3, 1, 1)), R.standard_normal((1, 3, 4, 5))
    y = get_kernel("scaling", "forward_infer")(x, s, b)
    np.testing.assert_allclose(y, x * s + b)
    w = R.standard_normal(y.shape)
    fd, d = _fd(lambda a: get_kernel("scaling", "forward_infer")(a, s, b), x, w)
    assert np.sum(get_kernel("scaling", "backward")(w, s) * d) == pytest.approx(fd, rel=1e-7)
    with pytest.raises(LayerGraphError, match="'Scale'"):
        scalingLayer("Scale", np.array([1.0, np.nan]))


_TORCH_RESIZE = [
    # (MATLAB arguments, torch interpolate arguments)
    (("Scale", 2), dict(scale_factor=2, mode="nearest-exact")),        # half-pixel, halves up
    (("Scale", 2, "GeometricTransformMode", "asymmetric", "NearestRoundingMode", "floor"),
     dict(scale_factor=2, mode="nearest")),
    (("OutputSize", [7, 9], "GeometricTransformMode", "asymmetric", "NearestRoundingMode", "floor"),
     dict(size=(7, 9), mode="nearest")),
    (("Scale", [2, 3], "Method", "bilinear"), dict(scale_factor=(2, 3), mode="bilinear", align_corners=False)),
    (("OutputSize", [3, 7], "Method", "bilinear"), dict(size=(3, 7), mode="bilinear", align_corners=False)),
    (("OutputSize", [8, 3], "Method", "bilinear", "GeometricTransformMode", "align-corners"),
     dict(size=(8, 3), mode="bilinear", align_corners=True)),
]


@pytest.mark.parametrize("args, ref", _TORCH_RESIZE, ids=[str(a) for a, _ in _TORCH_RESIZE])
def test_resize_against_torch(args, ref):
    x = R.standard_normal((2, 3, 5, 6))
    layer = resize2dLayer(*args)
    rh, rw = layer.matrices(5, 6)
    y = get_kernel("resize", "forward_infer")(x, rh, rw)
    y_ref, w, (g_ref,) = _grad(lambda t: F.interpolate(t, **ref), x)
    assert y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(get_kernel("resize", "backward")(w, rh, rw), g_ref, rtol=1e-10, atol=1e-12)


def test_resize_gradient_by_finite_differences_through_a_network():
    g = Graph()
    g._add(L.ImageInputLayer(Name="in", InputSize=(5, 4, 2), Normalization="none"))
    g._add(L.Resize2DLayer(Name="rs", Scale=(1.5, 2.0), Method="bilinear"))
    g._connect("in", "out", "rs", "in")
    net = Network.build(g)
    ex = net.executor("cpu", np.float64)
    x = R.standard_normal((2, 2, 5, 4))
    y = ex.forward({"in": x}, training=True)[("rs", "out")]
    assert y.shape == (2, 2, 7, 8)
    w = R.standard_normal(y.shape)
    ex.backward({("rs", "out"): w}, input_grads=True)
    grads = ex.input_grads
    dx = next(iter(grads.values())) if isinstance(grads, dict) else grads
    fd, d = _fd(lambda a: ex.forward({"in": a}, training=True)[("rs", "out")].copy(), x, w)
    assert np.sum(dx * d) == pytest.approx(fd, rel=1e-6)
