"""Wolfram layers: defaults, shape formulas, array layouts and the functions they compute,
checked against NumPy and PyTorch."""
import numpy as np
import pytest
import torch

from layergraph.wolfram import (
    All,
    Automatic,
    CatenateLayer,
    ConvolutionLayer,
    DeconvolutionLayer,
    DropoutLayer,
    ElementwiseLayer,
    FlattenLayer,
    Inherited,
    LayerGraphError,
    LinearLayer,
    LogisticSigmoid,
    Max,
    Mean,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    Plus,
    PoolingLayer,
    Ramp,
    ReshapeLayer,
    SoftmaxLayer,
    Tanh,
    ThreadingLayer,
    Times,
    TotalLayer,
)

R = np.random.default_rng(11)
T = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731


def out_dims(layer, dims):
    return NetChain([layer], Input=dims).compile().out_dims["Output"]


# -- defaults -----------------------------------------------------------------------------------
def test_pooling_stride_defaults_to_one():
    assert NetExtract(PoolingLayer(2), "Stride") == (1, 1)
    assert out_dims(PoolingLayer(2), (3, 8, 8)) == (3, 7, 7)
    assert out_dims(PoolingLayer(2, 2), (3, 8, 8)) == (3, 4, 4)
    assert NetExtract(PoolingLayer(2), "Function") is Max


def test_convolution_defaults():
    c = ConvolutionLayer(16, 3)
    assert NetExtract(c, "Stride") == (1, 1)
    assert NetExtract(c, "Dilation") == (1, 1)
    assert NetExtract(c, "ChannelGroups") == 1
    assert NetExtract(c, "Interleaving") is False
    assert NetExtract(c, "Weights") is Automatic and NetExtract(c, "Biases") is Automatic


def test_dropout_default_probability():
    assert NetExtract(DropoutLayer(), "DropoutProbability") == 0.5


def test_softmax_default_level_is_last():
    assert NetExtract(SoftmaxLayer(), "Level") == -1


def test_catenate_default_level_is_first():
    assert NetExtract(CatenateLayer(), "Level") == 1


# -- shape formulas ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,k,s,p,d", [(4, 3, 1, 0, 1), (4, 3, 2, 1, 1), (2, (3, 2), (2, 1), ((1, 0), (2, 1)), 1),
                                       (3, 3, 1, 0, 2), (3, 2, 3, 2, 1)])
def test_convolution_shape_formula(n, k, s, p, d):
    dims = (2, 11, 9)
    out = out_dims(ConvolutionLayer(n, k, Stride=s, PaddingSize=p, Dilation=d), dims)
    kk = (k, k) if isinstance(k, int) else k
    ss = (s, s) if isinstance(s, int) else s
    pp = ((p, p), (p, p)) if isinstance(p, int) else p
    expect = [n] + [int(np.floor((dims[i + 1] + pp[i][0] + pp[i][1] - (d * (kk[i] - 1) + 1)) / ss[i] + 1))
                    for i in range(2)]
    assert out == tuple(expect)


def test_padding_same_gives_ceiling():
    assert out_dims(ConvolutionLayer(4, 3, Stride=2, PaddingSize="Same"), (1, 9, 8)) == (4, 5, 4)


def test_pooling_shape_formula():
    for k, s, p in [(2, 1, 0), (3, 2, 1), (2, 2, 1)]:
        out = out_dims(PoolingLayer(k, s, PaddingSize=p), (2, 9, 10))
        assert out == (2, (9 + 2 * p - k) // s + 1, (10 + 2 * p - k) // s + 1)


def test_deconvolution_shape_formula():
    out = out_dims(DeconvolutionLayer(3, 3, Stride=2, PaddingSize=1), (2, 5, 4))
    assert out == (3, 2 * (5 - 1) + 3 - 2, 2 * (4 - 1) + 3 - 2)


def test_flatten_levels():
    assert out_dims(FlattenLayer(), (2, 3, 4)) == (24,)
    assert out_dims(FlattenLayer(1), (2, 3, 4)) == (6, 4)
    assert out_dims(FlattenLayer(-1), (2, 3, 4)) == (2, 12)


def test_reshape_dims():
    assert out_dims(ReshapeLayer((4, Automatic)), (2, 3, 4)) == (4, 6)
    assert out_dims(ReshapeLayer((Inherited, All)), (2, 3, 4)) == (2, 3, 4)
    assert out_dims(ReshapeLayer((6, 4)), (24,)) == (6, 4)
    with pytest.raises(LayerGraphError, match="ReshapeLayer"):
        out_dims(ReshapeLayer((5, 5)), (24,))


def test_linear_weights_dimensions():
    net = NetInitialize(NetChain([LinearLayer(10)], Input=(3, 4, 5)))
    assert NetExtract(net, (1, "Weights")).shape == (10, 60)
    assert NetExtract(net, (1, "Biases")).shape == (10,)


# -- what the layers compute ------------------------------------------------------------------------
def test_linear_flattens_row_major():
    w = R.standard_normal((4, 24))
    b = R.standard_normal(4)
    layer = LinearLayer(4, Weights=w, Biases=b, Input=(2, 3, 4))
    x = R.standard_normal((2, 3, 4))
    np.testing.assert_allclose(layer(x), w @ x.reshape(-1) + b, rtol=1e-5)


def test_linear_without_biases():
    w = R.standard_normal((3, 5))
    layer = LinearLayer(3, Weights=w, Biases=None, Input=5)
    x = R.standard_normal(5)
    np.testing.assert_allclose(layer(x), w @ x, rtol=1e-5)
    assert NetExtract(layer, "Biases") is None


@pytest.mark.parametrize("groups", [1, 2])
def test_convolution_against_torch(groups):
    w = R.standard_normal((4, 4 // groups, 3, 2))
    b = R.standard_normal(4)
    conv = ConvolutionLayer(4, (3, 2), Stride=(2, 1), PaddingSize=(1, 1), ChannelGroups=groups, Weights=w, Biases=b,
                            Input=(4, 7, 6))
    x = R.standard_normal((2, 4, 7, 6))
    ref = torch.nn.functional.conv2d(T(x), T(w), T(b), stride=(2, 1), padding=(1, 1), groups=groups).numpy()
    np.testing.assert_allclose(conv(x), ref, rtol=1e-4, atol=1e-5)


def test_deconvolution_against_torch():
    w = R.standard_normal((2, 3, 3, 3))  # {in, out, kh, kw}
    b = R.standard_normal(3)
    layer = DeconvolutionLayer(3, 3, Stride=2, PaddingSize=1, Weights=w, Biases=b, Input=(2, 4, 5))
    x = R.standard_normal((2, 4, 5))
    ref = torch.nn.functional.conv_transpose2d(T(x[None]), T(w), T(b), stride=2, padding=1).numpy()[0]
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)


def test_pooling_against_torch():
    x = R.standard_normal((3, 7, 8))
    np.testing.assert_allclose(PoolingLayer(3, 2, Input=(3, 7, 8))(x),
                               torch.nn.functional.max_pool2d(T(x[None]), 3, 2).numpy()[0], rtol=1e-6)
    ref = torch.nn.functional.avg_pool2d(T(x[None]), 2, 1, padding=1, count_include_pad=True).numpy()[0]
    y = PoolingLayer(2, Function=Mean, PaddingSize=1, Input=(3, 7, 8))(x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    from layergraph.wolfram import Total
    y = PoolingLayer((2, 3), 2, Function=Total, PaddingSize=1, Input=(3, 7, 8))(x)
    ref = torch.nn.functional.avg_pool2d(T(x[None]), (2, 3), 2, padding=1, count_include_pad=True).numpy()[0] * 6
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("f,ref", [(Ramp, torch.relu), (Tanh, torch.tanh), (LogisticSigmoid, torch.sigmoid),
                                   ("SELU", torch.selu), ("SoftPlus", torch.nn.functional.softplus),
                                   ("HardTanh", torch.nn.functional.hardtanh), ("GELU", torch.nn.functional.gelu)])
def test_elementwise_functions(f, ref):
    x = R.standard_normal((2, 3, 4))
    np.testing.assert_allclose(ElementwiseLayer(f, Input=(2, 3, 4))(x), ref(T(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_elementwise_python_function():
    layer = ElementwiseLayer(lambda x: x ** 2 + 1, Input=3)
    np.testing.assert_allclose(layer([1.0, 2.0, 3.0]), [2, 5, 10])


@pytest.mark.parametrize("dims,level", [((5,), -1), ((3, 4), -1), ((3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), 1),
                                        ((2, 3, 4), 2)])
def test_softmax_levels(dims, level):
    x = R.standard_normal(dims)
    axis = level - 1 if level > 0 else len(dims) + level
    np.testing.assert_allclose(SoftmaxLayer(level, Input=dims)(x), torch.softmax(T(x), axis).numpy(), rtol=1e-5)


def test_dropout_is_identity_in_test_mode_and_scales_in_train():
    layer = DropoutLayer(0.25, Input=1000)
    x = np.ones(1000)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, NetEvaluationMode="Train", RandomSeeding=3)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.15 < np.mean(y == 0) < 0.35


def test_catenate_total_threading():
    a, b = R.standard_normal((2, 3, 4)), R.standard_normal((5, 3, 4))
    g = NetGraph({"a": ElementwiseLayer(Ramp), "b": ElementwiseLayer(Tanh), "cat": CatenateLayer()},
                 [(NetPort("x"), "a"), (NetPort("y"), "b"), (("a", "b"), "cat")], x=(2, 3, 4), y=(5, 3, 4))
    np.testing.assert_allclose(g({"x": a, "y": b}), np.concatenate([np.maximum(a, 0), np.tanh(b)]), rtol=1e-6)
    g2 = NetGraph([CatenateLayer(2)], [((NetPort("x"), NetPort("y")), 1)], x=(2, 3, 4), y=(2, 1, 4))
    c = R.standard_normal((2, 1, 4))
    np.testing.assert_allclose(g2({"x": a, "y": c}), np.concatenate([a, c], axis=1), rtol=1e-6)
    tot = NetGraph([TotalLayer()], [((NetPort("x"), NetPort("y")), 1)], x=3, y=3)
    np.testing.assert_allclose(tot({"x": [1, 2, 3], "y": [4, 5, 6]}), [5, 7, 9])
    thr = NetGraph([ThreadingLayer(Times)], [((NetPort("x"), NetPort("y")), 1)], x=3, y=3)
    np.testing.assert_allclose(thr({"x": [1, 2, 3], "y": [4, 5, 6]}), [4, 10, 18])
    thr2 = NetGraph([Plus], [((NetPort("x"), NetPort("y")), 1)], x=2, y=2)
    np.testing.assert_allclose(thr2({"x": [1, 2], "y": [3, 4]}), [4, 6])
    fn = NetGraph([ThreadingLayer(lambda u, v: u * v - v)], [((NetPort("x"), NetPort("y")), 1)], x=2, y=2)
    np.testing.assert_allclose(fn({"x": [1, 2], "y": [3, 4]}), [0, 4])


def test_interleaved_convolution():
    w = R.standard_normal((4, 3, 3, 3))
    x = R.standard_normal((6, 5, 3))  # h, w, c
    layer = ConvolutionLayer(4, 3, Interleaving=True, Weights=w, Biases=np.zeros(4), Input=(6, 5, 3))
    ref = torch.nn.functional.conv2d(T(x.transpose(2, 0, 1)[None]), T(w)).numpy()[0].transpose(1, 2, 0)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: LinearLayer(0), lambda: LinearLayer(-3), lambda: ConvolutionLayer(4),
    lambda: ConvolutionLayer(4, 3, Stride=0),
    lambda: ConvolutionLayer(4, 3, PaddingSize="valid"), lambda: PoolingLayer(2, Function="max"),
    lambda: PoolingLayer(2, PaddingSize=2), lambda: ElementwiseLayer("NoSuchFunction"), lambda: ElementwiseLayer(),
    lambda: SoftmaxLayer(0), lambda: DropoutLayer(1.0), lambda: ReshapeLayer((Automatic, Automatic)),
    lambda: ConvolutionLayer(5, 3, ChannelGroups=2), lambda: LinearLayer(3, Weight=np.ones((3, 2))),
    lambda: LinearLayer(3, Weights=np.ones((4, 2))), lambda: ThreadingLayer(Ramp),
])
def test_bad_options_are_layergraph_errors(make):
    with pytest.raises(LayerGraphError):
        make()


def test_wrong_input_rank_names_layer_and_port():
    with pytest.raises(LayerGraphError, match=r'ConvolutionLayer.*"Input"'):
        NetChain([ConvolutionLayer(3, 2)], Input=10)


def test_kernel_larger_than_input_names_the_layer():
    with pytest.raises(LayerGraphError, match=r'ConvolutionLayer \(layer "2"\)'):
        NetChain([Ramp, ConvolutionLayer(3, 5)], Input=(1, 3, 3))


# -- NormalizationLayer ------------------------------------------------------------------------------
def test_normalization_layer_default_is_per_channel_over_the_rest():
    from layergraph.wolfram import NormalizationLayer
    x = R.standard_normal((3, 4, 5))
    s, b = R.standard_normal(3), R.standard_normal(3)
    layer = NormalizationLayer(Scaling=s, Biases=b, Input=(3, 4, 5))
    assert NetExtract(layer, "Epsilon") == 0.001
    ref = torch.nn.functional.instance_norm(T(x[None]), weight=T(s), bias=T(b), eps=1e-3).numpy()[0]
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)
    m = NormalizationLayer(Input=(2, 6))   # a matrix: each row normalized
    y = NetInitialize(m)(np.arange(12.0).reshape(2, 6))
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-6)


def test_normalization_layer_all_levels_and_bad_levels():
    from layergraph.wolfram import NormalizationLayer, Span
    x = R.standard_normal((3, 4, 5))
    layer = NetInitialize(NormalizationLayer(Span(1, All), 1, Input=(3, 4, 5)))
    ref = torch.nn.functional.layer_norm(T(x), (3, 4, 5), eps=1e-3).numpy()
    np.testing.assert_allclose(layer(x), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(LayerGraphError, match="not supported"):
        NetChain([NormalizationLayer(2)], Input=(3, 4, 5))
    with pytest.raises(LayerGraphError, match="only splitting level 1"):   # "GroupNumber" on a spatial level
        NetChain([NormalizationLayer(GroupNumber=2)], Input=(3, 4, 4))


def test_normalization_layer_without_scaling():
    from layergraph.wolfram import NormalizationLayer
    layer = NetInitialize(NormalizationLayer(Scaling=None, Biases=None, Input=(2, 3, 3)))
    x = R.standard_normal((2, 3, 3))
    y = layer(x)
    np.testing.assert_allclose(y.reshape(2, -1).std(axis=1), np.sqrt(x.reshape(2, -1).var(axis=1)
                                                                      / (x.reshape(2, -1).var(axis=1) + 1e-3)),
                               rtol=1e-4)
    assert NetExtract(layer, "Scaling") is None


def test_linear_array_output():
    layer = NetInitialize(LinearLayer((2, 3), Input=4))
    x = R.standard_normal(4)
    y = layer(x)
    assert y.shape == (2, 3) and NetExtract(layer, "Weights").shape == (6, 4)
    np.testing.assert_allclose(y.reshape(-1), NetExtract(layer, "Weights") @ x + NetExtract(layer, "Biases"),
                               rtol=1e-5, atol=1e-6)
    assert NetChain([LinearLayer(Output=(2, 2))], Input=3).compile().out_dims == {"Output": (2, 2)}


def test_threading_broadcasting():
    from layergraph.wolfram import NetPort as P
    g = NetGraph([ThreadingLayer(Times)], [(P("x"), P(1, "Input1")), (P("y"), P(1, "Input2"))], x=(2, 3), y=(1, 3))
    a, b = R.standard_normal((2, 3)), R.standard_normal((1, 3))
    np.testing.assert_allclose(g({"x": a, "y": b}), a * b, rtol=1e-6)
    with pytest.raises(LayerGraphError, match="same dimensions"):
        NetGraph([ThreadingLayer(Times, None)], [((P("x"), P("y")), 1)], x=(2, 3), y=(1, 3))
    with pytest.raises(LayerGraphError, match="same rank"):
        NetGraph([ThreadingLayer(Times)], [((P("x"), P("y")), 1)], x=(2, 3), y=(3,))
    with pytest.raises(LayerGraphError, match="not supported"):
        ThreadingLayer(Plus, -1)


def test_matrix_inputs():
    w, b = R.standard_normal((4, 6)), R.standard_normal(4)
    x = R.standard_normal((2, 3))
    np.testing.assert_allclose(LinearLayer(4, Weights=w, Biases=b, Input=(2, 3))(x), w @ x.reshape(-1) + b,
                               rtol=1e-5, atol=1e-6)
    from layergraph.wolfram import BatchNormalizationLayer
    bn = BatchNormalizationLayer(Scaling=[1, 2], Biases=[0, 1], MovingMean=[0, 0], MovingVariance=[1, 1],
                                 Input=(2, 3))
    np.testing.assert_allclose(bn(x), np.array([[1], [2]]) * x / np.sqrt(1.001) + np.array([[0], [1]]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(SoftmaxLayer(Input=(2, 3))(x), torch.softmax(T(x), -1).numpy(), rtol=1e-5)
