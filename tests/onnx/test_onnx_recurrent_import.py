"""ONNX import of recurrent networks (issue 13 step 7): ONNX's own LSTM / GRU node tests (expected
outputs from the test cases), nodes built here run against onnxruntime (sequence_lens with shorter
sequences, initial states, layout 1, reverse and bidirectional, HardSigmoid / Softsign,
linear_before_reset with a recurrent bias), PyTorch's nn.LSTM / nn.GRU exported with
torch.onnx.export (dynamo=False) and imported by importNetworkFromONNX / Import, round trips
(export -> import gives the same outputs), and the refusals, each naming the node."""
from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import layergraph.matlab as ml
import layergraph.wolfram as wl
from layergraph.core.errors import LayerGraphError
from layergraph.core.network import Network
from layergraph.onnx import export as ox
from layergraph.onnx._rnn_import import core_array, onnx_array
from layergraph.onnx.backend import LayergraphBackend
from layergraph.onnx.importer import OnnxImportError, import_model


def _node_cases():
    from onnx.backend.test.case import node as N
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = N.collect_testcases()
    return [c for c in cases if len(c.model.graph.node) == 1 and c.model.graph.node[0].op_type in ("LSTM", "GRU")]


CASES = {c.name: c for c in _node_cases()}
REFUSED = {"test_lstm_with_peepholes": "peepholes"}   # test_gru_bidirectional: two gruLayers, one reversed


def test_the_node_tests_are_those_expected():
    assert set(CASES) == {"test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length",
                          "test_gru_batchwise", "test_gru_reverse", "test_gru_bidirectional", "test_lstm_defaults",
                          "test_lstm_with_initial_bias", "test_lstm_with_peepholes", "test_lstm_batchwise",
                          "test_lstm_reverse", "test_lstm_bidirectional"}


@pytest.mark.parametrize("name", sorted(set(CASES) - set(REFUSED)))
def test_onnx_node_tests_import_and_match(name):
    """In float64 at the test's own tolerance, in float32 at 1e-5 relative, 1e-6 absolute (one node test,
    gru_seq_length, has an expected value of -1.2e-7 that float32 gives as 0, beyond its atol of 1e-7)."""
    case = CASES[name]
    rep = LayergraphBackend.prepare(case.model)
    for inputs, outputs in case.data_sets:
        got = rep.run([np.asarray(x, np.float64) for x in inputs])
        assert len(got) == len(outputs)
        for g, e in zip(got, outputs):
            np.testing.assert_allclose(g, np.asarray(e), rtol=case.rtol, atol=case.atol)
        for g, e in zip(rep.run(list(inputs)), outputs):
            np.testing.assert_allclose(g, np.asarray(e), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_node_tests_without_a_layer_are_refused_with_the_reason(name):
    with pytest.raises(OnnxImportError) as err:
        LayergraphBackend.prepare(CASES[name].model).run(list(CASES[name].data_sets[0][0]))
    text = str(err.value)
    assert {"peepholes": "peephole"}[REFUSED[name]] in text
    assert ("LSTM" if "lstm" in name else "GRU") in text


# -- nodes built here, against onnxruntime --------------------------------------------------------------------------
def _rnn_model(op, c, h, *, direction="forward", layout=0, outputs=("Y", "Y_h"), lens=False, initial=False,
               seed=0, opset=14, **attrs):
    r = np.random.default_rng(seed)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    d = 2 if direction == "bidirectional" else 1
    inits = [numpy_helper.from_array((0.5 * r.standard_normal((d, gates * h, c))).astype(np.float32), "W"),
             numpy_helper.from_array((0.5 * r.standard_normal((d, gates * h, h))).astype(np.float32), "R"),
             numpy_helper.from_array((0.3 * r.standard_normal((d, 2 * gates * h))).astype(np.float32), "B")]
    names = ["X", "W", "R", "B", "lens" if lens else ""]
    if initial:
        for state in ("h0", "c0")[:2 if op == "LSTM" else 1]:   # one state for each of the batch's 3 observations
            v = np.repeat((0.5 * r.standard_normal((d, 1, h))).astype(np.float32), 3, axis=1)
            inits.append(numpy_helper.from_array(v if layout == 0 else np.ascontiguousarray(v.transpose(1, 0, 2)),
                                                 state))
            names.append(state)
    while names[-1] == "":
        names.pop()
    node = helper.make_node(op, names, list(outputs), name="rnn1", hidden_size=h, direction=direction,
                            **({"layout": layout} if layout else {}), **attrs)
    x_shape = ["T", "N", c] if layout == 0 else ["N", "T", c]
    ins = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
    if lens:
        ins.append(helper.make_tensor_value_info("lens", TensorProto.INT32, ["N"]))
    shapes = {"Y": ["T", d, "N", h] if layout == 0 else ["N", "T", d, h],
              "Y_h": [d, "N", h] if layout == 0 else ["N", d, h]}
    shapes["Y_c"] = shapes["Y_h"]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outputs if o]
    graph = helper.make_graph([node], "g", ins, outs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _imported(model):
    imp = import_model(model)
    return imp, Network.build(imp.net.graph, initialize=False)


def _run_sequences(imp, net, seqs, dtype=np.float32):
    """Each of ``seqs`` (C x T_n, its own length) through the imported network: {port: its outputs}."""
    (port, layer), = imp.net.inputs.items()
    out = net.run({layer: [np.asarray(s, dtype) for s in seqs]}, list(imp.net.outputs.values()),
                  batch_size=len(seqs), dtype=dtype)
    return {p: out[ref] for p, ref in imp.net.outputs.items()}


CONFIGS = [
    ("LSTM", dict()), ("LSTM", dict(direction="reverse")), ("LSTM", dict(direction="bidirectional")),
    ("LSTM", dict(layout=1, initial=True)), ("LSTM", dict(initial=True, direction="bidirectional")),
    ("LSTM", dict(activations=["HardSigmoid", "Softsign", "Softsign"])),
    ("LSTM", dict(activations=["HardSigmoid", "Tanh", "Tanh"] * 2, direction="bidirectional",
                  activation_alpha=[0.2, 0.2], activation_beta=[0.5, 0.5])),   # consumed by the HardSigmoids
    ("GRU", dict()), ("GRU", dict(linear_before_reset=1)), ("GRU", dict(direction="reverse", initial=True)),
    ("GRU", dict(linear_before_reset=1, activations=["HardSigmoid", "Softsign"])),
    ("GRU", dict(layout=1, linear_before_reset=1, initial=True)),
    # a bidirectional GRU: two gruLayers, the second between two SequenceReverse layers, concatenated
    ("GRU", dict(direction="bidirectional")), ("GRU", dict(direction="bidirectional", linear_before_reset=1,
                                                          initial=True)),
    # ONNX's RNN: the basic recurrent layer (RecurrentLayer, Wolfram's BasicRecurrentLayer)
    ("RNN", dict()), ("RNN", dict(direction="reverse", initial=True)), ("RNN", dict(activations=["Softsign"])),
    ("RNN", dict(direction="bidirectional", initial=True)), ("RNN", dict(layout=1)),
]


@pytest.mark.parametrize("lens", [False, True], ids=["full", "sequence_lens"])
@pytest.mark.parametrize("op,kw", CONFIGS, ids=[f"{op}-{i}" for i, (op, _) in enumerate(CONFIGS)])
def test_built_nodes_match_onnxruntime(op, kw, lens):
    """Y (every step), Y_h (and Y_c): a batch of sequences of lengths 5, 2, 4 (sequence_lens given: the
    importer drops it, each sequence runs at its own length) or a batch of equal lengths. The oracle is
    onnxruntime (ONNX's ReferenceEvaluator for layout 1, which onnxruntime does not run)."""
    c, h = 3, 4
    outputs = ("Y", "Y_h", "Y_c") if op == "LSTM" else ("Y", "Y_h")
    model = _rnn_model(op, c, h, outputs=outputs, lens=lens, **kw)
    onnx.checker.check_model(model, full_check=True)
    layout = kw.get("layout", 0)
    # ONNX's reference (layout 1) ignores sequence_lens: there the lengths given are the full ones
    lengths = [5, 2, 4] if lens and layout == 0 else [5, 5, 5]
    r = np.random.default_rng(1)
    seqs = [r.standard_normal((c, t)).astype(np.float32) for t in lengths]
    pad = np.zeros((len(seqs), max(lengths), c), np.float32)   # N x T x C, zeros after each length
    for i, s in enumerate(seqs):
        pad[i, :s.shape[1]] = s.T
    x = pad if layout == 1 else np.ascontiguousarray(pad.transpose(1, 0, 2))
    feeds = {"X": x, **({"lens": np.array(lengths, np.int32)} if lens else {})}
    if layout == 0:
        ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    else:   # onnxruntime runs no layout 1 ("Batchwise recurrent operations are not supported"): ONNX's reference
        from onnx.reference import ReferenceEvaluator
        ref = ReferenceEvaluator(model).run(None, feeds)
    imp, net = _imported(model)
    got = _run_sequences(imp, net, seqs)
    d = 2 if kw.get("direction") == "bidirectional" else 1
    y_ref = ref[0] if layout == 1 else ref[0].transpose(2, 0, 1, 3)   # N x T x D x H
    for i, t in enumerate(lengths):
        y = got["Y"][i] if isinstance(got["Y"], list) else got["Y"][i]
        np.testing.assert_allclose(y.reshape(d, h, -1).transpose(2, 0, 1), y_ref[i, :t], rtol=1e-5, atol=1e-6)
    for k, port in enumerate(outputs[1:], start=1):
        want = ref[k] if layout == 0 else ref[k].transpose(1, 0, 2)   # D x N x H
        np.testing.assert_allclose(onnx_array(got[port], "DNH", d, h), want, rtol=1e-5, atol=1e-6)


def test_only_y_h_read_is_output_mode_last_and_names_come_from_the_node():
    imp, _ = _imported(_rnn_model("LSTM", 3, 4, outputs=("", "Y_h")))
    layer = imp.net.graph.layer("rnn1")
    assert layer.OutputMode == "last" and not layer.HasStateOutputs
    imp, _ = _imported(_rnn_model("GRU", 3, 4, outputs=("Y", "Y_h"), linear_before_reset=1))
    layer = imp.net.graph.layer("rnn1")
    assert layer.OutputMode == "sequence" and layer.HasStateOutputs
    assert layer.ResetGateMode == "recurrent-bias-after-multiplication"
    assert imp.output_forms == {"Y": ("TDNH", 1, 4), "Y_h": ("DNH", 1, 4)}


BAD = [
    ("LSTM", dict(clip=3.0), "clip=3.0"),
    ("LSTM", dict(input_forget=1), "input_forget=1"),
    ("RNN", dict(activations=["Relu"]), "the basic recurrent layer takes [f] = [Tanh or Softsign]"),
    ("RNN", dict(direction="bidirectional", activations=["Tanh", "Softsign"]), "differ between the directions"),
    ("LSTM", dict(activations=["Relu", "Tanh", "Tanh"]), "activations ['Relu', 'Tanh', 'Tanh']"),
    ("LSTM", dict(activations=["Sigmoid", "Tanh", "Softsign"]), "the same as g"),
    ("LSTM", dict(activations=["HardSigmoid", "Tanh", "Tanh"], activation_alpha=[0.3], activation_beta=[0.5]),
     "HardSigmoid with alpha 0.3"),
]


@pytest.mark.parametrize("op,kw,text", BAD, ids=[t for _, _, t in BAD])
def test_unsupported_attributes_are_refused_naming_the_node(op, kw, text):
    with pytest.raises(OnnxImportError) as err:
        import_model(_rnn_model(op, 3, 4, **kw))
    assert "node 'rnn1' (" + op + ")" in str(err.value) and text in str(err.value)
    assert err.value.nodes and err.value.nodes[0][0] == "rnn1"


def test_a_constant_sequence_lens_and_a_layout_mismatch_are_refused():
    model = _rnn_model("LSTM", 3, 4)
    model.graph.initializer.append(numpy_helper.from_array(np.array([2, 2], np.int32), "lens_c"))
    model.graph.node[0].input.append("lens_c")   # X, W, R, B, sequence_lens
    with pytest.raises(OnnxImportError, match="a constant sequence_lens"):
        import_model(model)
    # a batch-first input read by a layout-0 node: the node would take the batch for the time
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", "T", 3])
    tr = helper.make_node("Transpose", ["X"], ["Xt"], perm=[1, 0, 2], name="t1")
    tr2 = helper.make_node("Transpose", ["Xt"], ["Xtt"], perm=[1, 0, 2], name="t2")
    base = _rnn_model("GRU", 3, 4, layout=1)
    node = base.graph.node[0]
    node.input[0] = "Xtt"
    for a in list(node.attribute):
        if a.name == "layout":
            node.attribute.remove(a)
    g = helper.make_graph([tr, tr2, node], "g", [x], list(base.graph.output), initializer=list(base.graph.initializer))
    imp, _ = _imported(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]))   # two flips: fine
    assert imp.input_forms == {"X": "TNC"}


# -- PyTorch ------------------------------------------------------------------------------------------------------
class _Net(torch.nn.Module):
    def __init__(self, rnn, fc=None, states=True):
        super().__init__()
        self.rnn, self.fc, self.states = rnn, fc, states

    def forward(self, x, *h0):
        y, st = self.rnn(x, *h0)
        if self.fc is not None:
            y = torch.softmax(self.fc(y), dim=-1)
        if not self.states:
            return y
        return (y, *st) if isinstance(st, tuple) else (y, st)


def _torch_onnx(model, args, names, outs, dynamic):
    f = io.BytesIO()
    model.eval()
    torch.onnx.export(model, args, f, input_names=names, output_names=outs, dynamic_axes=dynamic, opset_version=13,
                      dynamo=False)
    return f.getvalue()


TORCH = {
    "lstm": (lambda: _Net(torch.nn.LSTM(3, 4)), False),
    "lstm batch_first bidirectional": (lambda: _Net(torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)), True),
    "lstm two layers + linear + softmax": (lambda: _Net(torch.nn.LSTM(3, 5, num_layers=2), torch.nn.Linear(5, 2),
                                                        states=False), False),
    "gru": (lambda: _Net(torch.nn.GRU(3, 4)), False),
    "gru batch_first": (lambda: _Net(torch.nn.GRU(3, 4, batch_first=True)), True),
    "gru two layers": (lambda: _Net(torch.nn.GRU(3, 4, num_layers=2), states=False), False),
    "gru bidirectional": (lambda: _Net(torch.nn.GRU(3, 4, bidirectional=True), states=False), False),
    "gru batch_first bidirectional + states": (lambda: _Net(torch.nn.GRU(3, 4, batch_first=True,
                                                                         bidirectional=True)), True),
    "rnn": (lambda: _Net(torch.nn.RNN(3, 4), states=False), False),
    "rnn batch_first + state": (lambda: _Net(torch.nn.RNN(3, 4, batch_first=True)), True),
    "rnn two layers bidirectional": (lambda: _Net(torch.nn.RNN(3, 4, num_layers=2, bidirectional=True),
                                                  states=False), False),
}


@pytest.mark.parametrize("case", sorted(TORCH))
def test_torch_rnns_import_and_give_torch_outputs(case):
    torch.manual_seed(0)
    build, batch_first = TORCH[case]
    model = build()
    x = torch.randn(3, 6, 3) if batch_first else torch.randn(6, 3, 3)
    outs = ["y", "h", "c"][:len(model(x)) if isinstance(model(x), tuple) else 1]
    data = _torch_onnx(model, (x,), ["x"], outs, {"x": {0: "N", 1: "T"} if batch_first else {0: "T", 1: "N"}})
    with torch.no_grad():
        ref = model(x)
    ref = [r.numpy() for r in (ref if isinstance(ref, tuple) else (ref,))]
    got = LayergraphBackend.prepare(data).run([x.numpy()])
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    # the dialects: importNetworkFromONNX (C x T sequences) and Import (T x d sequences), the sequence output y
    seqs = [np.ascontiguousarray((x[i] if batch_first else x[:, i]).numpy().T) for i in range(3)]
    y_ref = ref[0] if batch_first else ref[0].transpose(1, 0, 2)   # N x T x C
    dl = _matlab_import(data)
    y = dl.predict(seqs, Outputs=dl.OutputNames[0]) if len(dl.OutputNames) > 1 else dl.predict(seqs)
    for i in range(3):
        np.testing.assert_allclose(y[i].T, y_ref[i], rtol=1e-5, atol=1e-6)
    if len(dl.OutputNames) > 1:   # a Wolfram net's layers have one output port each (no state ports yet)
        with pytest.raises(LayerGraphError, match="a layer of a Wolfram net has one output port"):
            _wolfram_import(data)
        return
    wnet = _wolfram_import(data)
    yw = wnet(np.ascontiguousarray(x.numpy() if batch_first else x.numpy().transpose(1, 0, 2)))   # N x T x d
    yw = yw[next(iter(yw))] if isinstance(yw, dict) else yw
    np.testing.assert_allclose(np.stack(yw), y_ref, rtol=1e-5, atol=1e-6)


def _matlab_import(data):
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".onnx")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        return ml.importNetworkFromONNX(path)
    finally:
        os.unlink(path)


def _wolfram_import(data):
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".onnx")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        return wl.Import(path)
    finally:
        os.unlink(path)


def test_torch_gru_with_an_initial_state_input():
    """h0 as a graph input [1, N, H]: the layer's state input port, fed N x H."""
    torch.manual_seed(1)
    model = _Net(torch.nn.GRU(3, 4))
    x, h0 = torch.randn(6, 2, 3), torch.randn(1, 2, 4)
    data = _torch_onnx(model, (x, h0), ["x", "h0"], ["y", "h"], {"x": {0: "T", 1: "N"}, "h0": {1: "N"}})
    with torch.no_grad():
        y_ref, h_ref = (r.numpy() for r in model(x, h0))
    imp, net = _imported(onnx.load_from_string(data))
    assert imp.input_forms == {"x": "TNC", "h0": "DNH"}
    from layergraph.core.infer import analyze
    assert [x.HasStateInputs for x in analyze(imp.net.graph).layers.values() if x.family == "gru"] == [True]
    feeds = {imp.net.inputs[p]: core_array(v, imp.input_forms[p]) for p, v in (("x", x.numpy()), ("h0", h0.numpy()))}
    out = net.run(feeds, list(imp.net.outputs.values()), batch_size=2)
    got = {p: onnx_array(out[ref], *imp.output_forms[p]) for p, ref in imp.net.outputs.items()}
    np.testing.assert_allclose(got["y"], y_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["h"], h_ref, rtol=1e-5, atol=1e-6)


# -- round trips --------------------------------------------------------------------------------------------------
def _seqs(n=3, t=6, c=5, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((c, t)).astype(np.float32) for _ in range(n)]


ROUND_TRIP = {
    "lstm sequence": lambda: [ml.lstmLayer(4), ml.fullyConnectedLayer(3), ml.softmaxLayer()],
    "lstm last": lambda: [ml.lstmLayer(4, OutputMode="last"), ml.fullyConnectedLayer(2)],
    "bilstm last": lambda: [ml.bilstmLayer(3, OutputMode="last"), ml.fullyConnectedLayer(2), ml.softmaxLayer()],
    "bilstm hard-sigmoid": lambda: [ml.bilstmLayer(3, GateActivationFunction="hard-sigmoid")],
    **{f"gru {m}": (lambda m=m: [ml.gruLayer(4, ResetGateMode=m, BiasInitializer="narrow-normal")])
       for m in ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")},
}


@pytest.mark.parametrize("opset", [9, 13, ox.max_opset()])
@pytest.mark.parametrize("case", sorted(ROUND_TRIP))
def test_matlab_round_trip_gives_the_same_outputs(case, opset, tmp_path):
    r = np.random.default_rng(4)
    net = ml.dlnetwork([ml.sequenceInputLayer(5, Normalization="zscore", Mean=r.standard_normal((5, 1)),
                                              StandardDeviation=1 + r.random((5, 1))), *ROUND_TRIP[case]()])
    for layer in net.Layers[1:2]:
        layer.HiddenState = (0.5 * r.standard_normal(np.shape(layer.HiddenState))).astype(np.float32)
    net = ml.dlnetwork(net.Layers)
    path = str(tmp_path / "rt.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", opset)
    back = ml.importNetworkFromONNX(path)
    assert back.Layers[0].Normalization == "zscore"
    X = _seqs() + _seqs(n=1, t=3, seed=2)   # lengths 6 and 3: the imported network pads and masks
    y0, y1 = net.predict(X), back.predict(X)
    if isinstance(y0, list):
        for a, b in zip(y0, y1):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)


def test_wolfram_round_trip_with_sequence_layers(tmp_path):
    net = wl.NetInitialize(wl.NetChain([wl.SequenceReverseLayer(), wl.LongShortTermMemoryLayer(4),
                                        wl.SequenceRestLayer(), wl.SequenceLastLayer(), wl.LinearLayer(2)],
                                       Input=("Varying", 3)), RandomSeeding=3)
    path = str(tmp_path / "w.onnx")
    wl.Export(path, net, "ONNX", OperatorSetVersion=13)
    back = wl.Import(path)
    x = np.random.default_rng(0).standard_normal((4, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(net(x)), rtol=1e-5, atol=1e-6)
    ml_back = ml.importNetworkFromONNX(path)   # the same file in MATLAB: C x T sequences
    np.testing.assert_allclose(ml_back.predict([s.T for s in x]), np.asarray(net(x)), rtol=1e-5, atol=1e-6)


def test_encoder_decoder_round_trip_keeps_the_state_connections(tmp_path):
    """The encoder's Y_h / Y_c, unsqueezed into the decoder's initial_h / initial_c, come back as the
    encoder's state outputs connected to the decoder's state inputs."""
    lg = ml.layerGraph([ml.sequenceInputLayer(5, Name="x"), ml.lstmLayer(4, Name="enc", HasStateOutputs=True)])
    lg = lg.addLayers([ml.lstmLayer(4, Name="dec", HasStateInputs=True), ml.fullyConnectedLayer(2, Name="fc")])
    lg = ml.connectLayers(lg, "enc/out", "dec/in")
    lg = ml.connectLayers(ml.connectLayers(lg, "enc/hidden", "dec/hidden"), "enc/cell", "dec/cell")
    net = ml.dlnetwork(lg)
    path = str(tmp_path / "ed.onnx")
    ml.exportONNXNetwork(net, path, "OpsetVersion", 13)
    back = ml.importNetworkFromONNX(path)
    dec = next(x for x in back.Layers if x.Name.startswith("dec"))
    assert dec.HasStateInputs and next(x for x in back.Layers if x.Name.startswith("enc")).HasStateOutputs
    X = _seqs(t=6) + _seqs(n=1, t=2, seed=9)
    for a, b in zip(net.predict(X), back.predict(X)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
