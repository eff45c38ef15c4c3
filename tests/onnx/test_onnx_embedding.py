"""EmbeddingLayer to and from ONNX (issue 13): the export writes ``Gather`` of the Weights' rows by
``Cast(x, int64) - 1`` (the net's 1-based indices made 0-based; the graph input stays the net's numbers), the
import reads PyTorch's ``nn.Embedding`` (an int64 graph input of 0-based indices, ``Gather`` of an initializer)
and the export's own pattern as EmbeddingLayer. Values against onnxruntime and ONNX's ReferenceEvaluator,
round trips export -> Import equal, out-of-range indices as the runtime reads them, the refusals."""
from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import layergraph.wolfram as wl
from layergraph.core.infer import analyze
from layergraph.onnx import export as ox
from layergraph.onnx.backend import LayergraphBackend
from layergraph.onnx.importer import OnnxImportError, import_model

NUM, DIM, N, T = 10, 3, 5, 6


def _net(inp, rest=()):
    return wl.NetInitialize(wl.NetChain([wl.EmbeddingLayer(DIM, NUM, Input=inp), *rest]), RandomSeeding=1)


CASES = {   # Input -> (the layers after the embedding, the data of N examples, the ONNX feed)
    "Integer": ((), lambda x: x.reshape(N, 1)),
    4: ((), lambda x: x),
    (2, 3): ((), lambda x: x[..., None]),   # a Wolfram matrix port is N x C x H x 1 in ONNX (the internal layout)
    "Varying lstm last": ((wl.LongShortTermMemoryLayer(4), wl.SequenceLastLayer()), None),
    "Varying gru sequence": ((wl.GatedRecurrentLayer(4),), None),
    "Varying basic + reverse": ((wl.BasicRecurrentLayer(4), wl.SequenceReverseLayer()), None),
}


def _case(key):
    rest, feed = CASES[key]
    inp = "Varying" if isinstance(key, str) and key.startswith("Varying") else key
    r = np.random.default_rng(0)
    shape = {"Integer": (N,), 4: (N, 4), (2, 3): (N, 2, 3)}.get(inp, (N, T))
    x = r.integers(1, NUM + 1, shape).astype(np.float32)
    feed = feed or (lambda v: np.ascontiguousarray(v.T[:, :, None]))   # a sequence: T x N x 1
    return _net(inp, rest), x, feed(x)


def _wolfram_out(net, x):
    y = np.stack([net(v) for v in x]) if x.ndim == 1 else net(x)
    return np.asarray(np.stack(y) if isinstance(y, list) else y)


def _to_tn(y):   # a Wolfram sequence output N x T x c as ONNX's T x N x c
    return y.transpose(1, 0, 2)


@pytest.mark.parametrize("opset", (10, 13, 18))
@pytest.mark.parametrize("key", list(CASES), ids=str)
def test_wolfram_embedding_nets_match_onnxruntime_and_the_reference(key, opset, tmp_path):
    net, x, feed = _case(key)
    path = tmp_path / "e.onnx"
    wl.Export(str(path), net, "ONNX", OperatorSetVersion=opset)
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    ops = [n.op_type for n in m.graph.node if n.op_type in ("Cast", "Sub", "Squeeze", "Gather")]
    assert ops[:3] == ["Cast", "Sub", "Gather"] or ops[:4] == ["Cast", "Sub", "Squeeze", "Gather"]
    ref = _wolfram_out(net, x)
    if "Varying" in str(key) and ref.ndim == 3:
        ref = _to_tn(ref)
    got = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"Input": feed})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ReferenceEvaluator(m).run(None, {"Input": feed})[0], ref, rtol=1e-5, atol=1e-6)
    # round trip: Import gives a net computing the same
    back = wl.Import(str(path))
    assert "embedding" in {la.family for la in analyze(back.to_core_net().graph).layers.values()}
    # the imported port has the ONNX input's shape; a sequence of indices comes back as {"Varying", 1}
    y = _wolfram_out(back, x[:, :, None] if "Varying" in str(key) else feed)
    want = _wolfram_out(net, x)
    np.testing.assert_allclose(y.reshape(want.shape), want, rtol=1e-5, atol=1e-6)


def test_the_gather_holds_the_weights_and_indices_are_made_zero_based():
    net = _net(4)
    m = ox.to_onnx(net.to_core_net(), 13)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    gather = next(n for n in m.graph.node if n.op_type == "Gather")
    np.testing.assert_array_equal(inits[gather.input[0]], np.asarray(wl.NetExtract(net, (1, "Weights"))))
    sub = next(n for n in m.graph.node if n.op_type == "Sub")
    assert inits[sub.input[1]].tolist() == [1] and inits[sub.input[1]].dtype == np.int64
    assert m.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT   # the net's own numbers


def test_out_of_range_indices_as_the_runtime_reads_them():
    """The core refuses indices outside 1..n; the exported graph does not check: 0 becomes -1, which Gather reads
    as the last row, and n + 1 is onnxruntime's error (docs/onnx.md)."""
    net = _net(4)
    m = ox.to_onnx(net.to_core_net(), 13)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    w = np.asarray(wl.NetExtract(net, (1, "Weights")))
    got = sess.run(None, {"Input": np.array([[0, 1, 2, NUM]], np.float32)})[0]
    np.testing.assert_allclose(got[0, :, :, 0], w[[NUM - 1, 0, 1, NUM - 1]], rtol=1e-6)
    with pytest.raises(Exception, match="out of bounds|out of range|indices"):
        sess.run(None, {"Input": np.array([[1, 2, 3, NUM + 1]], np.float32)})
    with pytest.raises(Exception, match="not an integer between 1 and 10"):
        net(np.array([[0, 1, 2, 3]], np.float32))


# -- PyTorch's nn.Embedding --------------------------------------------------------------------------------------
class _Emb(torch.nn.Module):
    def __init__(self, rnn=None):
        super().__init__()
        self.e, self.rnn = torch.nn.Embedding(NUM, DIM), rnn

    def forward(self, x):
        y = self.e(x)
        return y if self.rnn is None else self.rnn(y)[0]


TORCH = {   # name -> (module, index shape, dynamic axes)
    "one index": (lambda: _Emb(), (N,), {0: "N"}),
    "four indices": (lambda: _Emb(), (N, 4), {0: "N"}),
    "sequence + lstm batch_first": (lambda: _Emb(torch.nn.LSTM(DIM, 4, batch_first=True)), (N, T), {0: "N", 1: "T"}),
    "sequence + gru time first": (lambda: _Emb(torch.nn.GRU(DIM, 4)), (T, N), {0: "T", 1: "N"}),
}


def _torch_onnx(case):
    build, shape, dyn = TORCH[case]
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randint(0, NUM, shape)
    f = io.BytesIO()
    torch.onnx.export(model, (x,), f, input_names=["x"], output_names=["y"], dynamic_axes={"x": dyn},
                      opset_version=13, dynamo=False)
    with torch.no_grad():
        return f.getvalue(), x.numpy(), model(x).numpy()


@pytest.mark.parametrize("case", list(TORCH))
def test_torch_embedding_imports_as_an_embedding_layer(case, tmp_path):
    data, x, ref = _torch_onnx(case)
    got = LayergraphBackend.prepare(data).run([x])[0]   # the file's 0-based int64 indices
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    imp = import_model(onnx.load_from_string(data))
    layers = analyze(imp.net.graph).layers
    emb = [la for la in layers.values() if la.family == "embedding"]
    assert len(emb) == 1 and emb[0].NumWords == NUM and emb[0].Dimension == DIM
    assert imp.input_forms["x"].startswith("I")
    # Wolfram's Import: the net takes Wolfram's 1-based indices
    path = tmp_path / "t.onnx"
    path.write_bytes(data)
    net = wl.Import(str(path))
    if case == "one index":
        # [N] indices: the Wolfram view has a port of one index ({1}) and, as Wolfram's EmbeddingLayer of a
        # vector of one index does, gives 1 x Dimension per example (the core layer gives Dimension)
        y = net((x + 1).astype(np.float32)[:, None])
        assert np.shape(y) == (N, 1, DIM)
        y = np.asarray(y)[:, 0]
    elif case.startswith("sequence"):
        seqs = x if "batch_first" in case else x.T   # N x T
        y = np.stack(net([(s + 1).astype(np.float32)[:, None] for s in seqs]))   # {"Varying", 1}: T x 1 each
        ref = ref if "batch_first" in case else ref.transpose(1, 0, 2)
    else:
        y = net((x + 1).astype(np.float32))
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5, atol=1e-6)


def _gather_model(indices_nodes, x_type=TensorProto.FLOAT, w=None, axis=0, idx="idx"):
    w = np.arange(NUM * DIM, dtype=np.float32).reshape(NUM, DIM) if w is None else w
    g = helper.make_graph([*indices_nodes, helper.make_node("Gather", ["W", idx], ["y"], name="emb", axis=axis)],
                          "g", [helper.make_tensor_value_info("x", x_type, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[numpy_helper.from_array(w, "W")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_refusals_name_the_node_and_the_reason():
    cast = helper.make_node("Cast", ["x"], ["idx"], to=TensorProto.INT64)
    with pytest.raises(OnnxImportError, match=r"node 'emb' \(Gather\).*the input \+ 0; an embedding layer takes "
                                              "1-based indices"):
        import_model(_gather_model([cast]))   # 0-based numbers: no layer takes them
    with pytest.raises(OnnxImportError, match="Gather along axis 1"):
        import_model(_gather_model([], x_type=TensorProto.INT64, axis=1, idx="x"))
    with pytest.raises(OnnxImportError, match="an embedding gathers rows"):
        import_model(_gather_model([], x_type=TensorProto.INT64, w=np.zeros((NUM, 2, 2), np.float32), idx="x"))
    relu = helper.make_node("Relu", ["x"], ["r"])
    cast2 = helper.make_node("Cast", ["r"], ["c"], to=TensorProto.INT64)
    mul = helper.make_node("Mul", ["c", "two"], ["idx"])
    m = _gather_model([relu, cast2, mul])
    m.graph.initializer.append(numpy_helper.from_array(np.array(2, np.int64), "two"))
    with pytest.raises(OnnxImportError, match="Mul of integer indices"):
        import_model(m)
