"""The mapped forms of ops whose ONNX node tests use other configurations, and the folded
patterns, each in a small model against onnxruntime: LayerNormalization over all but the batch,
Sum of activations, ReduceMean over H and W (keepdims 0 and 1), Pad folded into Conv (zeros,
edge, reflect) and into AveragePool, MatMul + Add as one fully connected layer, Clip at opset 9
(attributes) and 13 (inputs), Softmax before opset 13, Sub / Div input normalization ('zerocenter'
and 'zscore'), the exporters' Shape -> Gather -> Unsqueeze -> Concat -> Reshape before a Gemm."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from layergraph import layers as L
from layergraph.core.network import Network
from layergraph.onnx.importer import import_model

R = np.random.default_rng(5)


def _f(*shape):
    return R.standard_normal(shape).astype(np.float32)


def _check(nodes, in_shape, inits, opset=17, expect=(), n=3):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    y.type.tensor_type.SetInParent()
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()]
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 8)
    data = _f(n, *in_shape)
    expected = ort.InferenceSession(m.SerializeToString()).run(None, {"x": data})[0]
    imported = import_model(m)
    net = Network.build(imported.net.graph, initialize=False)
    (ref,) = imported.net.outputs.values()
    got = net.run({"x": data}, [ref], n)[ref].reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    kinds = [type(layer) for layer in imported.net.graph.layers()]
    for k in expect:
        assert k in kinds, (k, kinds)
    return imported, kinds


def test_layer_normalization_all_but_batch():
    for shape, s in (((6,), _f(6)), ((3, 4, 5), np.broadcast_to(_f(3, 1, 1), (3, 4, 5)).copy())):
        _check([helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=1, epsilon=1e-3)], shape,
               {"s": s, "b": np.zeros_like(s) + 0.3}, expect=[L.LayerNormalizationLayer])


def test_sum_of_three_activations():
    _check([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
            helper.make_node("Sum", ["x", "a", "b"], ["y"])], (3, 4, 4), {}, expect=[L.AdditionLayer])


@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_over_height_and_width(keepdims):
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=keepdims)]
    if keepdims:
        nodes.append(helper.make_node("Relu", ["m"], ["y"]))
    else:
        nodes.append(helper.make_node("Gemm", ["m", "w"], ["y"]))
    _check(nodes, (4, 5, 6), {"w": _f(4, 3)}, opset=13, expect=[L.GlobalAveragePooling2DLayer])


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_folded_into_conv(mode):
    own = [0, 1, 0, 1] if mode == "constant" else [0, 0, 0, 0]    # a replicate / reflect pad and zeros: no layer
    imported, kinds = _check([helper.make_node("Pad", ["x", "p"], ["q"], mode=mode),
                              helper.make_node("Conv", ["q", "w"], ["y"], pads=own)], (2, 6, 7),
                             {"p": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "w": _f(3, 2, 3, 3)})
    (conv,) = [layer for layer in imported.net.graph.layers() if isinstance(layer, L.Convolution2DLayer)]
    if mode == "constant":
        assert conv.PaddingSize == (1, 2, 3, 2)        # [t b l r]: the Pad's and the Conv's own
    else:
        assert conv.PaddingValue == {"edge": "replicate", "reflect": "symmetric-exclude-edge"}[mode]


def test_pad_folded_into_average_pool():
    _check([helper.make_node("Pad", ["x", "p"], ["q"]),
            helper.make_node("AveragePool", ["q"], ["y"], kernel_shape=[3, 3], strides=[2, 2])], (2, 7, 7),
           {"p": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}, expect=[L.AveragePooling2DLayer])


def test_matmul_plus_add_is_one_fully_connected_layer():
    imported, kinds = _check([helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
                              helper.make_node("Add", ["m", "b"], ["y"], name="bias")], (7,),
                             {"w": _f(7, 4), "b": _f(4)})
    assert kinds == [L.FeatureInputLayer, L.FullyConnectedLayer]


@pytest.mark.parametrize("opset", [9, 13])
def test_clip_as_clipped_relu(opset):
    if opset == 9:
        nodes, inits = [helper.make_node("Clip", ["x"], ["y"], min=0.0, max=0.5)], {}
    else:
        nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])]
        inits = {"lo": np.array(0, np.float32), "hi": np.array(0.5, np.float32)}
    _check(nodes, (3, 4, 4), inits, opset=opset, expect=[L.ClippedReLULayer])


def test_softmax_before_opset_13_on_features():
    _check([helper.make_node("Softmax", ["x"], ["y"], axis=1)], (6,), {}, opset=11, expect=[L.SoftmaxLayer])


@pytest.mark.parametrize("divide", [False, True])
def test_input_normalization_is_folded_into_the_input_layer(divide):
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"])]
    nodes.append(helper.make_node("Div", ["c", "std"], ["d"]) if divide else helper.make_node("Identity", ["c"], ["d"]))
    nodes.append(helper.make_node("Conv", ["d", "w"], ["y"]))
    imported, kinds = _check(nodes, (3, 5, 5), {"mean": _f(1, 3, 1, 1), "std": np.abs(_f(1, 3, 1, 1)) + 0.5,
                                                 "w": _f(2, 3, 3, 3)})
    assert L.ScalingLayer not in kinds
    assert imported.normalized_inputs == {"x": "zscore" if divide else "zerocenter"}


def test_shape_chain_before_gemm_is_a_flatten():
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["f"]), helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1)]
    imported, kinds = _check(nodes, (2, 3, 4), {"zero": np.array(0, np.int64), "ax": np.array([0], np.int64),
                                                 "minus": np.array([-1], np.int64), "w": _f(5, 24), "b": _f(5)})
    assert kinds == [L.ImageInputLayer, L.FullyConnectedLayer]     # no reshape layer: the FC reads the image
    (fc,) = [layer for layer in imported.net.graph.layers() if isinstance(layer, L.FullyConnectedLayer)]
    assert fc.input_order == "row-major"


def test_constant_subgraph_is_folded():
    nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.float32(2.0))),
             helper.make_node("Mul", ["c", "c"], ["c2"]), helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Add", ["r", "c2"], ["y"])]
    imported, kinds = _check(nodes, (4,), {})
    (sc,) = [layer for layer in imported.net.graph.layers() if isinstance(layer, L.ScalingLayer)]
    assert float(sc.Bias) == 4.0 and float(sc.Scale) == 1.0
    assert onnx.__version__


def test_an_input_read_twice_keeps_its_values():
    """(x - m) feeds a Conv, and x itself feeds a Relu: no folding into the input layer."""
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Add", ["c", "r"], ["y"])]
    imported, kinds = _check(nodes, (3, 4, 4), {"mean": _f(1, 3, 1, 1)})
    assert imported.normalized_inputs == {} and L.ScalingLayer in kinds


def test_an_affine_result_read_twice_folds_only_up_to_where_it_branches():
    """c = x - m is read by a Relu and by a Div: c is the input layer's output (zero-centred), the
    Div is a scaling layer after it."""
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Div", ["c", "std"], ["d"]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Add", ["d", "r"], ["y"])]
    imported, kinds = _check(nodes, (3, 4, 4), {"mean": _f(1, 3, 1, 1), "std": np.abs(_f(1, 3, 1, 1)) + 0.5})
    assert imported.normalized_inputs == {"x": "zerocenter"} and L.ScalingLayer in kinds
