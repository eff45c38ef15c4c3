"""docs/adding_a_layer.md's short path, taken at test time: a throwaway activation is one spec
class, two scalar functions and one registry row, registered with the function the library
registers its own rows with. It must then exist in both dialects and on both devices (CUDA on
numba's simulator without a GPU), its constructor in the ``layergraph.matlab`` namespace and
its Wolfram symbol wherever the built-in ones (Ramp) go, and be gone from every table and
namespace once unregistered."""
from __future__ import annotations

import inspect
from typing import Annotated, Any, ClassVar

import numpy as np
import pytest

import layergraph.matlab as ml
import layergraph.matlab.constructors as C
import layergraph.wolfram as W
from layergraph.core import registry
from layergraph.core.errors import LayerGraphError
from layergraph.core.layer import Scalar
from layergraph.kernels import KernelNotFoundError, get_kernel
from layergraph.layers.activation import ActivationLayer
from layergraph.matlab import dlnetwork, featureInputLayer, predict
from layergraph.wolfram import ElementwiseLayer, NetChain
from layergraph.wolfram import symbols as S
from layergraph.wolfram.layers import from_core


# -- the three pieces of a new activation -------------------------------------------------------
class ScaledSoftsignLayer(ActivationLayer):  # 1. the spec (layers/activation.py)
    class_name: ClassVar[str] = "ScaledSoftsignLayer"
    Type: ClassVar[str] = "Scaled softsign"
    DefaultName: ClassVar[str] = "softsign"
    family: ClassVar[str] = "scaledsoftsign"
    hyperparameters: ClassVar = ("Scale",)

    Scale: Annotated[Any, Scalar(0, lo_open=True)] = 1.0

    def description(self):
        return f"Softsign with scale {self.Scale:g}"


def scaledsoftsign(x, F, scale=1.0):  # 2. the scalar math (kernels/activation_math.py)
    """x / (scale + |x|)"""
    return x / (scale + abs(x))


def scaledsoftsign_grad(dy, x, F, scale=1.0):
    d = scale + abs(x)
    return dy * scale / (d * d)


ROW = registry.Entry(  # 3. the row (core/registry.py)
    ScaledSoftsignLayer, "scaledSoftsignLayer", "ElementwiseLayer", None, (), ("Scale",),
    doc="Scaled softsign layer", wolfram_symbol="ScaledSoftsign", wolfram_names=("ScaledSoftSign",),
    elementwise=(scaledsoftsign, scaledsoftsign_grad))


@pytest.fixture
def registered():
    registry.register(ROW)
    try:
        yield ROW
    finally:
        registry.unregister(ROW)


def _x(shape=(3, 2, 4, 5), seed=0):
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    return np.where(np.abs(x) < 0.05, 0.3, x)  # |x| has a kink at 0


def test_matlab_constructor_exists_and_prints(registered):
    f = C.CONSTRUCTORS["scaledSoftsignLayer"]
    assert C.scaledSoftsignLayer is f and f.layer_class is ScaledSoftsignLayer
    layer = f(0.5, "Name", "ss")
    assert layer == f("Scale", 0.5, Name="ss") and (layer.Name, layer.Scale) == ("ss", 0.5)
    text = str(layer)
    assert "ScaledSoftsignLayer with properties" in text and "Scale: 0.5000" in text, text
    assert str(inspect.signature(f)) == "(Scale=1.0, *name_value, Name='')"
    assert "Scaled softsign layer" in f.__doc__
    with pytest.raises(LayerGraphError, match="'Scale'"):
        f(-1)


def test_matlab_namespace_has_the_constructor(registered):
    f = C.CONSTRUCTORS["scaledSoftsignLayer"]
    assert ml.scaledSoftsignLayer is f and "scaledSoftsignLayer" in ml.__all__
    from layergraph.matlab import scaledSoftsignLayer
    assert scaledSoftsignLayer is f
    namespace: dict = {}
    exec("from layergraph.matlab import *", namespace)
    assert namespace["scaledSoftsignLayer"] is f


def test_wolfram_symbol_goes_where_ramp_goes(registered):
    sym = W.ScaledSoftsign  # a name of layergraph.wolfram, as Ramp is
    from layergraph.wolfram import ScaledSoftsign
    assert sym is ScaledSoftsign is S.ScaledSoftsign and repr(sym) == "ScaledSoftsign" and "ScaledSoftsign" in S.__all__
    assert sym in S.UNARY_SYMBOLS and sym in list(S.UNARY_SYMBOLS) and S.is_elementwise(sym)
    assert W.Ramp in S.UNARY_SYMBOLS  # the built-in ones still there
    x = np.array([-2.0, 0.5, 4.0])
    layer = ElementwiseLayer(sym, Input=3)
    assert isinstance(layer.build("e", [(3,)]).specs[0], ScaledSoftsignLayer)
    np.testing.assert_allclose(layer(x), x / (1 + np.abs(x)), rtol=1e-6)
    chain = NetChain([sym], Input=3)  # a bare symbol in a layer list becomes ElementwiseLayer[sym]
    assert isinstance(chain[1], ElementwiseLayer) and chain[1].params["Function"] is sym
    np.testing.assert_allclose(chain(x), x / (1 + np.abs(x)), rtol=1e-6)
    back = from_core(C.scaledSoftsignLayer())  # the core layer seen as Wolfram's: its symbol
    assert isinstance(back, ElementwiseLayer) and back.params["Function"] is sym


def test_wolfram_elementwise_layer_takes_its_name(registered):
    layer = ElementwiseLayer("ScaledSoftSign", Input=3)
    assert isinstance(layer.build("e", [(3,)]).specs[0], ScaledSoftsignLayer)
    x = np.array([-2.0, 0.5, 4.0])
    np.testing.assert_allclose(layer(x), x / (1 + np.abs(x)), rtol=1e-6)
    chain = NetChain([ElementwiseLayer("ScaledSoftSign")], Input=3)
    np.testing.assert_allclose(chain(x), x / (1 + np.abs(x)), rtol=1e-6)


def test_it_runs_in_a_matlab_network(registered):
    net = dlnetwork([featureInputLayer(3), C.scaledSoftsignLayer(2)])
    x = np.array([[-2.0, 0.5, 4.0]], np.float32)
    np.testing.assert_allclose(predict(net, x), x / (2 + np.abs(x)), rtol=1e-6)


def test_cpu_forward_and_backward_against_finite_differences(registered):
    forward, backward = (get_kernel("scaledsoftsign", op, "cpu") for op in ("forward_train", "backward"))
    assert get_kernel("scaledsoftsign", "forward_infer", "cpu") is forward
    x = _x()
    y = forward(x, 0.7)
    np.testing.assert_allclose(y, x / (0.7 + np.abs(x)), rtol=1e-14)
    assert forward(x.astype(np.float32), 0.7).dtype == np.float32
    dy = np.random.default_rng(1).standard_normal(x.shape)
    dx = backward(dy, x, y, 0.7)
    h = 1e-6
    numeric = dy * (forward(x + h, 0.7) - forward(x - h, 0.7)) / (2 * h)
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(backward(dy, x, None, scale=0.7), dx)  # keywords, and y not needed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cuda_forward_and_backward_equal_the_cpu(registered):
    for dtype in (np.float32, np.float64):
        x = _x((2, 3, 5), seed=2).astype(dtype)
        dy = np.random.default_rng(3).standard_normal(x.shape).astype(dtype)
        cpu = [get_kernel("scaledsoftsign", op, "cpu") for op in ("forward_infer", "backward")]
        gpu = [get_kernel("scaledsoftsign", op, "cuda") for op in ("forward_infer", "backward")]
        y = cpu[0](x, 1.5)
        y_gpu = gpu[0](x, 1.5)
        assert y_gpu.dtype == dtype
        tol = dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-13)
        np.testing.assert_allclose(y_gpu, y, **tol)
        np.testing.assert_allclose(gpu[1](dy, x, y_gpu, 1.5), cpu[1](dy, x, y, 1.5), **tol)


def test_unregistered_afterwards():
    registry.register(ROW)
    get_kernel("scaledsoftsign", "backward", "cpu")
    sym = W.ScaledSoftsign
    registry.unregister(ROW)
    assert not hasattr(W, "ScaledSoftsign") and not hasattr(S, "ScaledSoftsign") and "ScaledSoftsign" not in S.__all__
    assert sym not in S.UNARY_SYMBOLS and sym not in list(S.UNARY_SYMBOLS)
    with pytest.raises(LayerGraphError, match="elementwise function"):
        ElementwiseLayer(sym)
    with pytest.raises(LayerGraphError, match="is not a layer"):
        NetChain([sym])
    assert ROW not in registry.REGISTRY and ScaledSoftsignLayer not in registry.BY_CLASS
    assert "scaledSoftsignLayer" not in C.CONSTRUCTORS and not hasattr(C, "scaledSoftsignLayer")
    assert not hasattr(ml, "scaledSoftsignLayer") and "scaledSoftsignLayer" not in ml.__all__
    for device in ("cpu", "cuda"):
        with pytest.raises(KernelNotFoundError):
            get_kernel("scaledsoftsign", "forward_train", device)
    from layergraph.kernels import cpu, cuda
    assert not hasattr(cpu.activation, "scaledsoftsign_forward") and not hasattr(cuda, "scaledsoftsign_forward")
    with pytest.raises(LayerGraphError, match="not a known function name"):
        ElementwiseLayer("ScaledSoftSign")


def test_a_broken_row_is_refused():
    with pytest.raises(ValueError, match="taken"):
        registry.register(registry.Entry(ScaledSoftsignLayer, "reluLayer", None, None))
    assert ScaledSoftsignLayer not in registry.BY_CLASS

    def bad_grad(dy, z, F, scale=1.0):
        return dy

    with pytest.raises(TypeError, match="gradient takes"):
        from layergraph.kernels.cpu.activation import make_kernels
        make_kernels("bad", scaledsoftsign, bad_grad)
