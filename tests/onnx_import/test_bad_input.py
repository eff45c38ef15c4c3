"""Bad input gets one clear error naming the file, the node and what is allowed: a file that
is not ONNX, is truncated, has an unsupported opset, dynamic shapes the importer cannot fix,
external data that is missing, or ops that cannot be mapped (all of them listed at once).
Importing never runs code from the file."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from layergraph.onnx.importer import OnnxImportError, import_file, read_model, valid_name


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _conv_model(opset=17, dims=("N", 3, 8, 8)):
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "W")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", None, None, None])
    return _model([helper.make_node("Conv", ["x", "W"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
                   helper.make_node("Relu", ["h"], ["y"], name="relu1")], [x], [y], [w], opset)


def _raises(path, *fragments, identifier=None, **kw):
    with pytest.raises(OnnxImportError) as info:
        import_file(path, **kw)
    text = str(info.value)
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"
    if identifier:
        assert info.value.identifier == identifier
    return info.value


def test_a_valid_model_imports(tmp_path):
    p = tmp_path / "ok.onnx"
    onnx.save(_conv_model(), p)
    imported = import_file(p)
    assert [layer.Name for layer in imported.net.graph.layers()] == ["x", "conv1", "relu1"]


def test_not_onnx(tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_text("these are my notes, not a network\n" * 20)
    _raises(p, str(p), "not an ONNX model", identifier="layergraph:onnx:NotONNX")


def test_missing_file(tmp_path):
    _raises(tmp_path / "nope.onnx", "nope.onnx", "no such file", identifier="layergraph:onnx:FileNotFound")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated(tmp_path, keep):
    data = _conv_model().SerializeToString()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[:int(len(data) * keep)])
    err = _raises(p, str(p))
    assert err.identifier in ("layergraph:onnx:NotONNX", "layergraph:onnx:Invalid")
    assert "truncated" in str(err) or "not a valid ONNX model" in str(err) or "not an ONNX model" in str(err)


@pytest.mark.parametrize("opset", [7, 8, 99])
def test_unsupported_opset(tmp_path, opset):
    m = _conv_model()
    m.opset_import[0].version = opset
    p = tmp_path / "old.onnx"
    p.write_bytes(m.SerializeToString())
    _raises(p, str(p), f"opset {opset}", "9 to", identifier="layergraph:onnx:UnsupportedOpset")


def test_opset_9_imports(tmp_path):
    p = tmp_path / "o9.onnx"
    onnx.save(_conv_model(opset=9), p)
    assert import_file(p).opset == 9


def test_dynamic_shape_we_cannot_fix(tmp_path):
    p = tmp_path / "dyn.onnx"
    onnx.save(_conv_model(dims=("N", 3, "H", "W")), p)
    _raises(p, str(p), "'x'", "dynamic dimensions (N, 3, H, W)", "ImageInputSize",
            identifier="layergraph:onnx:DynamicShape")
    # given the size, it imports
    imported = import_file(p, input_sizes={"x": (3, 8, 8)})
    assert imported.input_shapes == {"x": (3, 8, 8)}


def test_external_data_missing(tmp_path):
    m = _conv_model()
    p = tmp_path / "ext.onnx"
    onnx.save_model(m, p, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
                    size_threshold=0)
    assert import_file(p).arrays["W"].shape == (4, 3, 3, 3)    # present: it loads
    (tmp_path / "weights.bin").unlink()
    _raises(p, str(p), "weights.bin", "'W'", "missing", identifier="layergraph:onnx:ExternalDataMissing")


def test_external_data_outside_the_folder_is_not_read(tmp_path):
    m = _conv_model()
    sub = tmp_path / "model"
    sub.mkdir()
    onnx.save_model(m, sub / "m.onnx", save_as_external_data=True, location="w.bin", size_threshold=0)
    m2 = onnx.load(sub / "m.onnx", load_external_data=False)
    for t in m2.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../w.bin"
    (tmp_path / "w.bin").write_bytes((sub / "w.bin").read_bytes())
    onnx.save(m2, sub / "m.onnx")
    _raises(sub / "m.onnx", "outside the model's folder", identifier="layergraph:onnx:ExternalData")


def test_every_unsupported_op_is_listed_with_its_node(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", None, None, None])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", None, None, None])
    nodes = [helper.make_node("Cos", ["x"], ["a"], name="my_cos"),
             helper.make_node("Relu", ["a"], ["y"], name="after_cos"),           # downstream: not reported
             helper.make_node("LpNormalization", ["x"], ["b"], name="norm/p2"),
             helper.make_node("Softmax", ["b"], ["c"], name="sm", axis=2),
             helper.make_node("Sigmoid", ["c"], ["z"], name="sig")]
    p = tmp_path / "bad.onnx"
    onnx.save(_model(nodes, [x], [y, z]), p)
    err = _raises(p, str(p), "2 node(s)", "node 'my_cos' (Cos)", "node 'norm/p2' (LpNormalization)",
                  "Supported ops:", identifier="layergraph:onnx:UnsupportedOperator")
    assert [n for n, _, _ in err.nodes] == ["my_cos", "norm/p2"]
    assert "after_cos" not in str(err)


def test_a_configuration_without_a_layer_names_the_reason(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", None, None, None])
    p = tmp_path / "sm.onnx"
    onnx.save(_model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=3)], [x], [y]), p)
    _raises(p, "node 'sm' (Softmax)", "axis 3", "over the channels (axis 1)")


def test_custom_domain_and_model_functions_are_ops_never_run(tmp_path):
    """A node of another domain (a model-local function) is listed as unsupported: its body is
    never evaluated."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", None])
    fn = helper.make_function("evil.domain", "Boom", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("Boom", ["x"], ["y"], name="boom", domain="evil.domain")], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("evil.domain", 1)],
                          functions=[fn])
    p = tmp_path / "fn.onnx"
    onnx.save(m, p)
    _raises(p, "node 'boom' (Boom)", "domain 'evil.domain'")


def test_shape_arithmetic_on_the_batch_size_is_refused(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", None, None, None])
    two = numpy_helper.from_array(np.array([2], np.int64), "two")
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Slice", ["s", "zero", "one"], ["n"], name="batch"),
             helper.make_node("Div", ["n", "two"], ["half"], name="halve"),
             helper.make_node("Concat", ["half", "minus"], ["t"], name="target", axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"], name="reshape")]
    inits = [two, numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus")]
    p = tmp_path / "batch.onnx"
    onnx.save(_model(nodes, [x], [y], inits), p)
    _raises(p, "node 'halve' (Div)", "batch size")


def test_read_model_accepts_bytes_and_protos():
    m = _conv_model()
    assert read_model(m.SerializeToString()).graph.node[0].name == "conv1"
    assert read_model(m) is m


@pytest.mark.parametrize("raw, valid", [("/conv1/Conv", "x_conv1_Conv"), ("conv1", "conv1"), ("1x", "x1x"),
                                        ("a.b:c", "a_b_c"), ("", "x")])
def test_valid_names_as_matlab_makes_them(raw, valid):
    assert valid_name(raw) == valid
