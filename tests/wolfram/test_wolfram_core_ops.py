"""Gradients through the core ops the Wolfram dialect added (row-major reshape, transpose
for Interleaving and softmax levels, elementwise and threading functions, instance
normalization), checked end to end in float64 by finite differences through the executor."""
import numpy as np
import pytest

from layergraph.core.network import Network
from layergraph.wolfram import (
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NormalizationLayer,
    ReshapeLayer,
    SoftmaxLayer,
    ThreadingLayer,
    Times,
)
from layergraph.wolfram.types import internal_shape

R = np.random.default_rng(8)


def _check(net, in_dims, n=3):
    net = NetInitialize(net, RandomSeeding=1)
    c, core = net._core_network(None, "check")
    ex = core.executor("cpu", np.float64)
    xs = {f"$in:{p}": R.standard_normal((n,) + internal_shape(d)) for p, d in c.in_dims.items()}
    refs = [c.leaves[src[0]].out_ref for src in c.out_ports.values()]
    acts = ex.forward(xs, training=True, keep=set(refs))
    seeds = {r: R.standard_normal(acts[r].shape) for r in refs}
    grads = ex.backward(seeds, input_grads=True)

    def loss():
        a = ex.forward(xs, training=True, keep=set(refs))
        return sum(float(np.sum(a[r] * seeds[r])) for r in refs)

    h = 1e-6
    # input gradients
    for name, x in xs.items():
        g = ex.input_grads[(name, "out")]
        v = R.standard_normal(x.shape)
        x0 = x.copy()
        xs[name] = x0 + h * v
        up = loss()
        xs[name] = x0 - h * v
        down = loss()
        xs[name] = x0
        assert (up - down) / (2 * h) == pytest.approx(float(np.sum(g * v)), rel=1e-5, abs=1e-7)
    # parameter gradients
    for layer, per in grads.items():
        for pname, g in per.items():
            w = ex.params[layer][pname]
            v = R.standard_normal(w.shape)
            w0 = w.copy()
            w[...] = w0 + h * v
            up = loss()
            w[...] = w0 - h * v
            down = loss()
            w[...] = w0
            assert (up - down) / (2 * h) == pytest.approx(float(np.sum(g * v)), rel=1e-5, abs=1e-7)
    assert type(core) is Network   # the core network, no dialect class


def test_interleaved_conv_bn_softmax_levels():
    _check(NetChain([ConvolutionLayer(3, 2, Interleaving=True), BatchNormalizationLayer(Interleaving=True),
                     SoftmaxLayer(), SoftmaxLayer(2)], Input=(5, 4, 2)), None)


def test_reshape_flatten_linear_elementwise():
    _check(NetChain([ReshapeLayer((4, 6)), ElementwiseLayer("SoftPlus"), FlattenLayer(), LinearLayer(3),
                     ElementwiseLayer(lambda x: x ** 3)], Input=(2, 3, 4)), None)


def test_sum_pooling():
    from layergraph.wolfram import PoolingLayer, Total
    _check(NetChain([PoolingLayer((2, 3), (1, 2), Function=Total, PaddingSize=1)], Input=(2, 5, 6)), None)


def test_threading_catenate_instance_norm():
    g = NetGraph({"n": NormalizationLayer(), "t": ThreadingLayer(Times), "c": CatenateLayer(2)},
                 [(NetPort("a"), "n"), (("n", NetPort("b")), "t"), (("t", NetPort("b")), "c")],
                 a=(2, 3, 4), b=(2, 3, 4))
    _check(g, None)


def test_threading_broadcast_through_the_executor():
    g = NetGraph({"t": ThreadingLayer(Times), "u": ThreadingLayer(lambda a, b: a - b * b)},
                 [((NetPort("a"), NetPort("b")), "t"), (("t", NetPort("c")), "u")], a=(2, 3, 4), b=(1, 3, 4),
                 c=(2, 1, 4))
    _check(g, None)
