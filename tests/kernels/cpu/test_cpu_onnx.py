"""CPU kernels against the ONNX backend node tests (rebuilt in memory from onnx's own
generators, see shared/reference/external_checks.md 1.2(b)) and the on-disk cases that
were recorded from PyTorch (pytorch-converted). Only cases the kernels can express are
taken: 2-D NCHW, channel-axis softmax / layer normalization, no pooling dilation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from _cpu_testutil import disk_case, node_case

from layergraph.kernels.cpu import activation, combine, conv, dense, norm, pool, softmax

RTOL, ATOL = 1e-3, 1e-7  # the tolerance every ONNX node case carries; ours are far tighter below
TIGHT = dict(rtol=1e-5, atol=1e-6)


def _close(got, want, **tol):
    tol = tol or TIGHT
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, **tol)


def _tblr(pads):
    """ONNX [t, l, b, r] -> (t, b, l, r)."""
    return pads[0], pads[2], pads[1], pads[3]


def _same_pads(size, k, s, d, mode):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small, big = total // 2, total - total // 2
    return (small, big) if mode == b"SAME_UPPER" else (big, small)


def _spatial_pads(attrs, hw, kernel, strides, dil=(1, 1)):
    auto = attrs.get("auto_pad", b"NOTSET")
    if auto in (b"SAME_UPPER", b"SAME_LOWER"):
        (pt, pb), (pl, pr) = (_same_pads(hw[i], kernel[i], strides[i], dil[i], auto) for i in range(2))
        return pt, pb, pl, pr
    if auto == b"VALID":
        return 0, 0, 0, 0
    return _tblr(attrs.get("pads", [0, 0, 0, 0]))


def _ceil_extra(size, k, s, p0, p1):
    """Extra end padding that turns ceil_mode into floor mode (windows that would start in
    the end padding are dropped, the PyTorch / ONNX rule). Exact for max pooling and for
    averages that do not count padding."""
    out = math.ceil((size + p0 + p1 - k) / s) + 1
    if (out - 1) * s >= size + p0:
        out -= 1
    return max((out - 1) * s + k - (size + p0 + p1), 0)


# -- Conv --------------------------------------------------------------------------------------
CONV = ["test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
        "test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding",
        "test_conv_with_autopad_same"]


def _run_conv(attrs, x, w, b):
    s = attrs.get("strides", [1, 1])
    d = attrs.get("dilations", [1, 1])
    pt, pb, pl, pr = _spatial_pads(attrs, x.shape[2:], w.shape[2:], s, d)
    return conv.conv_forward(x, w, b, s[0], s[1], d[0], d[1], pt, pb, pl, pr, attrs.get("group", 1))


@pytest.mark.parametrize("name", CONV)
def test_onnx_conv(name):
    _, attrs, ins, (want,) = node_case(name)
    x, w = ins[:2]
    _close(_run_conv(attrs, x, w, ins[2] if len(ins) > 2 else None), want)


DISK_CONV = ["test_Conv2d", "test_Conv2d_dilated", "test_Conv2d_groups", "test_Conv2d_groups_thnn",
             "test_Conv2d_no_bias", "test_Conv2d_padding", "test_Conv2d_strided", "test_Conv2d_depthwise",
             "test_Conv2d_depthwise_padded", "test_Conv2d_depthwise_strided",
             "test_Conv2d_depthwise_with_multiplier"]


@pytest.mark.parametrize("name", DISK_CONV)
def test_pytorch_converted_conv(name):
    _, nodes, (attrs,), weights, (x,), (want,) = disk_case(name)
    names = list(nodes[0].input)
    w = weights[names[1]]
    b = weights[names[2]] if len(names) > 2 else None
    _close(_run_conv(attrs, x, w, b), want)


# -- ConvTranspose -------------------------------------------------------------------------
CONVT = ["test_convtranspose", "test_convtranspose_dilations", "test_convtranspose_group_2",
         "test_convtranspose_group_2_image_3", "test_convtranspose_kernel_shape",
         "test_convtranspose_output_shape", "test_convtranspose_pad", "test_convtranspose_pads",
         "test_convtranspose_autopad_same"]


def _run_convt(attrs, x, w, b):
    s = attrs.get("strides", [1, 1])
    d = attrs.get("dilations", [1, 1])
    k = w.shape[2:]
    op = attrs.get("output_padding", [0, 0])
    full = [(x.shape[2 + i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 + op[i] for i in range(2)]
    auto = attrs.get("auto_pad", b"NOTSET")
    if "output_shape" in attrs or auto in (b"SAME_UPPER", b"SAME_LOWER"):
        out = attrs.get("output_shape") or [x.shape[2 + i] * s[i] for i in range(2)]
        total = [full[i] - out[i] for i in range(2)]
        if auto == b"SAME_UPPER":
            begin = [t // 2 for t in total]
        else:
            begin = [t - t // 2 for t in total]
        end = [total[i] - begin[i] for i in range(2)]
        ct, cl, cb, cr = begin[0], begin[1], end[0], end[1]
    else:
        ct, cb, cl, cr = _tblr(attrs.get("pads", [0, 0, 0, 0]))
    # output_padding adds zero-weighted rows at the bottom/right: a negative crop there
    cb -= op[0]
    cr -= op[1]
    return conv.transposed_conv_forward(x, w, b, s[0], s[1], d[0], d[1], ct, cb, cl, cr, attrs.get("group", 1))


@pytest.mark.parametrize("name", CONVT)
def test_onnx_convtranspose(name):
    _, attrs, ins, (want,) = node_case(name)
    _close(_run_convt(attrs, ins[0], ins[1], ins[2] if len(ins) > 2 else None), want)


@pytest.mark.parametrize("name", ["test_ConvTranspose2d", "test_ConvTranspose2d_no_bias"])
def test_pytorch_converted_convtranspose(name):
    _, nodes, (attrs,), weights, (x,), (want,) = disk_case(name)
    names = list(nodes[0].input)
    b = weights[names[2]] if len(names) > 2 else None
    _close(_run_convt(attrs, x, weights[names[1]], b), want)


# -- BatchNormalization ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["test_batchnorm_example", "test_batchnorm_epsilon"])
def test_onnx_batchnorm_infer(name):
    _, attrs, (x, s, bias, mean, var), (want,) = node_case(name)
    _close(norm.bn_forward_infer(x, s, bias, mean, var, attrs.get("epsilon", 1e-5)), want)


@pytest.mark.parametrize("name", ["test_batchnorm_example_training_mode", "test_batchnorm_epsilon_training_mode"])
def test_onnx_batchnorm_train(name):
    """y from the batch statistics; the running statistics that ONNX outputs use the
    biased batch variance, the one our kernel returns."""
    _, attrs, (x, s, bias, mean, var), (want_y, want_mean, want_var) = node_case(name)
    y, bm, bv = norm.bn_forward_train(x, s, bias, attrs.get("epsilon", 1e-5))
    _close(y, want_y)
    m = attrs.get("momentum", 0.9)
    _close(m * mean + (1 - m) * bm, want_mean)
    _close(m * var + (1 - m) * bv, want_var)


@pytest.mark.parametrize("name", ["test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval"])
def test_pytorch_converted_batchnorm(name):
    _, nodes, (attrs,), weights, (x,), (want,) = disk_case(name)
    s, b, m, v = (weights[n] for n in list(nodes[0].input)[1:5])
    _close(norm.bn_forward_infer(x, s, b, m, v, attrs["epsilon"]), want)


# -- pooling -------------------------------------------------------------------------------------
MAXPOOL = ["test_maxpool_2d_default", "test_maxpool_2d_pads", "test_maxpool_2d_strides",
           "test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_strides",
           "test_maxpool_2d_precomputed_same_upper", "test_maxpool_2d_same_upper", "test_maxpool_2d_same_lower",
           "test_maxpool_2d_ceil", "test_maxpool_2d_ceil_output_size_reduce_by_one"]
AVGPOOL = ["test_averagepool_2d_default", "test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
           "test_averagepool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads_count_include_pad",
           "test_averagepool_2d_strides", "test_averagepool_2d_precomputed_strides",
           "test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_same_upper",
           "test_averagepool_2d_same_lower", "test_averagepool_2d_ceil"]


def _pool_args(attrs, x):
    k = attrs["kernel_shape"]
    s = attrs.get("strides", [1, 1])
    pt, pb, pl, pr = _spatial_pads(attrs, x.shape[2:], k, s)
    if attrs.get("ceil_mode", 0):
        pb += _ceil_extra(x.shape[2], k[0], s[0], pt, pb)
        pr += _ceil_extra(x.shape[3], k[1], s[1], pl, pr)
    return k[0], k[1], s[0], s[1], pt, pb, pl, pr


@pytest.mark.parametrize("name", MAXPOOL)
def test_onnx_maxpool(name):
    _, attrs, (x,), (want,) = node_case(name)
    args = _pool_args(attrs, x)
    y, _ = pool.maxpool_forward_train(x, *args)
    _close(y, want, rtol=0, atol=0)
    _close(pool.maxpool_forward_infer(x, *args), want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["test_maxpool_with_argmax_2d_precomputed_pads",
                                  "test_maxpool_with_argmax_2d_precomputed_strides"])
def test_onnx_maxpool_argmax(name):
    """ONNX's Indices are flat over the whole N x C x H x W tensor (storage_order 1: the
    plane is read column-major); ours are row-major within one H x W plane."""
    _, attrs, (x,), (want, want_idx) = node_case(name)
    y, arg = pool.maxpool_forward_train(x, *_pool_args(attrs, x))
    n, c, h, w = x.shape
    if attrs.get("storage_order", 0) == 1:
        arg = (arg // w) + (arg % w) * h
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :])[:, :, None, None] * (h * w)
    _close(y, want, rtol=0, atol=0)
    np.testing.assert_array_equal(arg + plane, want_idx)


@pytest.mark.parametrize("name", AVGPOOL)
def test_onnx_avgpool(name):
    _, attrs, (x,), (want,) = node_case(name)
    incl = bool(attrs.get("count_include_pad", 0))
    _close(pool.avgpool_forward(x, *_pool_args(attrs, x), incl), want)


def test_pytorch_converted_maxpool():
    _, _, (attrs,), _, (x,), (want,) = disk_case("test_MaxPool2d")
    _close(pool.maxpool_forward_infer(x, *_pool_args(attrs, x)), want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["test_AvgPool2d", "test_AvgPool2d_stride"])
def test_pytorch_converted_avgpool(name):
    _, _, (attrs,), _, (x,), (want,) = disk_case(name)
    _close(pool.avgpool_forward(x, *_pool_args(attrs, x), True), want)


@pytest.mark.parametrize("name", ["test_globalaveragepool", "test_globalaveragepool_precomputed"])
def test_onnx_globalaveragepool(name):
    _, _, (x,), (want,) = node_case(name)
    _close(pool.globalavgpool_forward(x), want)


@pytest.mark.parametrize("name", ["test_globalmaxpool", "test_globalmaxpool_precomputed"])
def test_onnx_globalmaxpool(name):
    _, _, (x,), (want,) = node_case(name)
    _close(pool.globalmaxpool_forward_infer(x), want, rtol=0, atol=0)
    _close(pool.globalmaxpool_forward_train(x)[0], want, rtol=0, atol=0)


# -- Gemm -> fully connected ------------------------------------------------------------------
GEMM = ["test_gemm_alpha", "test_gemm_beta", "test_gemm_default_no_bias", "test_gemm_default_scalar_bias",
        "test_gemm_default_single_elem_vector_bias", "test_gemm_default_vector_bias",
        "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB"]


def _run_gemm(attrs, a, b, c):
    """Y = alpha * A' B' + beta * C as fc_forward(x = A', w = alpha * B'^T, b = beta * C)
    (C must broadcast along rows, i.e. be a bias vector)."""
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    out = b.shape[1]
    bias = None if c is None else np.broadcast_to(attrs.get("beta", 1.0) * c, (1, out)).reshape(out)
    return dense.fc_forward(a, attrs.get("alpha", 1.0) * b.T, bias)


@pytest.mark.parametrize("name", GEMM)
def test_onnx_gemm(name):
    _, attrs, ins, (want,) = node_case(name)
    c = ins[2] if len(ins) > 2 else None
    if c is not None:
        assert c.size == 1 or c.ndim == 1 or c.shape[0] == 1, "matrix bias is not a fully connected layer"
    _close(_run_gemm(attrs, ins[0], ins[1], c), want)


def test_pytorch_converted_linear():
    _, nodes, (attrs,), weights, (x,), (want,) = disk_case("test_Linear")
    names = list(nodes[0].input)
    _close(_run_gemm(attrs, x, weights[names[1]], weights[names[2]]), want)


def test_pytorch_converted_linear_no_bias():
    """Exported as Transpose(W) then MatMul: y = x W^T with W Out x In, our layout."""
    _, nodes, _, weights, (x,), (want,) = disk_case("test_Linear_no_bias")
    assert [n.op_type for n in nodes] == ["Transpose", "MatMul"]
    _close(dense.fc_forward(x, weights[nodes[0].input[0]], None), want)


# -- activations, softmax ------------------------------------------------------------------------
ACT = {
    "test_relu": lambda a, x: activation.relu_forward(x),
    "test_leakyrelu": lambda a, x: activation.leakyrelu_forward(x, a.get("alpha", 0.01)),
    "test_leakyrelu_default": lambda a, x: activation.leakyrelu_forward(x, a.get("alpha", 0.01)),
    "test_leakyrelu_example": lambda a, x: activation.leakyrelu_forward(x, a.get("alpha", 0.01)),
    "test_elu": lambda a, x: activation.elu_forward(x, a.get("alpha", 1.0)),
    "test_elu_default": lambda a, x: activation.elu_forward(x, a.get("alpha", 1.0)),
    "test_elu_example": lambda a, x: activation.elu_forward(x, a.get("alpha", 1.0)),
    "test_sigmoid": lambda a, x: activation.sigmoid_forward(x),
    "test_sigmoid_example": lambda a, x: activation.sigmoid_forward(x),
    "test_tanh": lambda a, x: activation.tanh_forward(x),
    "test_tanh_example": lambda a, x: activation.tanh_forward(x),
}


@pytest.mark.parametrize("name", sorted(ACT))
def test_onnx_activation(name):
    _, attrs, (x,), (want,) = node_case(name)
    _close(ACT[name](attrs, x), want)


@pytest.mark.parametrize("name", ["test_ReLU", "test_LeakyReLU", "test_LeakyReLU_with_negval", "test_ELU",
                                  "test_Sigmoid", "test_Tanh"])
def test_pytorch_converted_activation(name):
    _, nodes, (attrs,), _, (x,), (want,) = disk_case(name)
    op = nodes[0].op_type
    fn = {"Relu": lambda: activation.relu_forward(x),
          "LeakyRelu": lambda: activation.leakyrelu_forward(x, attrs.get("alpha", 0.01)),
          "Elu": lambda: activation.elu_forward(x, attrs.get("alpha", 1.0)),
          "Sigmoid": lambda: activation.sigmoid_forward(x),
          "Tanh": lambda: activation.tanh_forward(x)}[op]
    _close(fn(), want)


@pytest.mark.parametrize("name", ["test_softmax_example", "test_softmax_large_number", "test_softmax_axis_1"])
def test_onnx_softmax_channel_axis(name):
    _, attrs, (x,), (want,) = node_case(name)
    assert attrs.get("axis", -1) % x.ndim == 1
    _close(softmax.softmax_forward(x), want)


# -- Concat, Add --------------------------------------------------------------------------------
CONCAT = ["test_concat_1d_axis_0", "test_concat_1d_axis_negative_1", "test_concat_2d_axis_0",
          "test_concat_2d_axis_1", "test_concat_2d_axis_negative_1", "test_concat_2d_axis_negative_2",
          "test_concat_3d_axis_0", "test_concat_3d_axis_1", "test_concat_3d_axis_2",
          "test_concat_3d_axis_negative_1", "test_concat_3d_axis_negative_2", "test_concat_3d_axis_negative_3"]


@pytest.mark.parametrize("name", CONCAT)
def test_onnx_concat(name):
    _, attrs, ins, (want,) = node_case(name)
    _close(combine.concat_forward(ins, attrs["axis"]), want.astype(np.float32), rtol=0, atol=0)


def test_onnx_add():
    _, _, ins, (want,) = node_case("test_add")
    _close(combine.addition_forward(ins), want)


# -- LayerNormalization (normalized over every axis from 1 on) ------------------------------
LAYERNORM = ["test_layer_normalization_2d_axis1", "test_layer_normalization_2d_axis_negative_1",
             "test_layer_normalization_3d_axis1_epsilon", "test_layer_normalization_3d_axis_negative_2_epsilon",
             "test_layer_normalization_4d_axis1", "test_layer_normalization_4d_axis_negative_3"]


@pytest.mark.parametrize("name", LAYERNORM)
def test_onnx_layernorm(name):
    _, attrs, ins, outs = node_case(name)
    x, scale = ins[:2]
    assert attrs.get("axis", -1) % x.ndim == 1
    bias = ins[2] if len(ins) > 2 else np.zeros_like(scale)
    y, mean, var = norm.ln_forward_train(x, scale, bias, attrs.get("epsilon", 1e-5))
    _close(y, outs[0])
    if len(outs) > 1:
        _close(mean.reshape(outs[1].shape), outs[1])
    if len(outs) > 2:
        _close((1 / np.sqrt(var + attrs.get("epsilon", 1e-5))).reshape(outs[2].shape), outs[2])
