"""ONNX export of sequence networks (issue 13 step 7): sequenceInputLayer / Wolfram "Varying"
ports as T x N x C graph inputs, lstmLayer, bilstmLayer, gruLayer (each ResetGateMode), their
state ports and stored states, per-step fully connected / softmax layers and Wolfram's sequence
layers; each exported at several opsets, checked (full check, strict shape inference), run in
onnxruntime and compared with predict / net(x) (float32, 1e-5 relative to the output's scale)."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import layergraph.matlab as ml
import layergraph.wolfram as wl
from layergraph.core.errors import LayerGraphError
from layergraph.onnx import export as ox

C, T, N = 5, 6, 3
OPSETS = (9, 13, ox.max_opset())
# the families whose export is tested here rather than in test_export.py's tables
SEQUENCE_FAMILIES = {"lstm", "gru", "sequence_last", "sequence_most", "sequence_rest", "sequence_reverse"}


def _seqs(n=N, t=T, c=C, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((c, t)).astype(np.float32) for _ in range(n)]


def _close(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(got - ref).max() <= 1e-5 * scale, np.abs(got - ref).max()


def _session(path):
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    return m, ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])


def _tnc(X):
    """MATLAB's N sequences C x T -> ONNX's T x N x C."""
    return np.ascontiguousarray(np.stack(X).transpose(2, 0, 1))


def _as_tnc(y):
    return _tnc(y) if isinstance(y, list) else np.asarray(y)


def _randomize(net):
    """Nonzero biases and states, so that every array's place in the ONNX node is checked."""
    r = np.random.default_rng(7)
    layers = []
    for layer in net.Layers:
        kw = {}
        for name in ("Bias", "HiddenState", "CellState"):
            v = getattr(layer, name, None)
            if v is not None and not getattr(layer, "HasStateInputs", False):
                kw[name] = (0.5 * r.standard_normal(np.shape(v))).astype(np.float32)
        for k, v in kw.items():
            setattr(layer, k, v)
        layers.append(layer)
    return layers


MATLAB_CASES = {
    "lstm sequence": lambda: [ml.lstmLayer(4), ml.fullyConnectedLayer(3), ml.softmaxLayer()],
    "lstm last": lambda: [ml.lstmLayer(4, OutputMode="last"), ml.fullyConnectedLayer(3), ml.softmaxLayer()],
    "lstm hard-sigmoid softsign": lambda: [ml.lstmLayer(4, GateActivationFunction="hard-sigmoid",
                                                        StateActivationFunction="softsign")],
    "two lstms": lambda: [ml.lstmLayer(4), ml.reluLayer(), ml.dropoutLayer(0.3), ml.lstmLayer(3, OutputMode="last")],
    "bilstm sequence": lambda: [ml.bilstmLayer(4), ml.fullyConnectedLayer(3)],
    "bilstm last": lambda: [ml.bilstmLayer(4, OutputMode="last"), ml.fullyConnectedLayer(3), ml.softmaxLayer()],
    **{f"gru {mode} {out}": (lambda mode=mode, out=out: [ml.gruLayer(4, ResetGateMode=mode, OutputMode=out),
                                                          ml.fullyConnectedLayer(2)])
       for mode in ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")
       for out in ("sequence", "last")},
    "gru hard-sigmoid softsign": lambda: [ml.gruLayer(3, GateActivationFunction="hard-sigmoid",
                                                      StateActivationFunction="softsign")],
}


def _matlab_net(layers):
    net = ml.dlnetwork([ml.sequenceInputLayer(C, Normalization="zscore", Mean=np.linspace(-1, 1, C).reshape(C, 1),
                                              StandardDeviation=np.linspace(1, 2, C).reshape(C, 1)), *layers])
    return ml.dlnetwork(_randomize(net))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", sorted(MATLAB_CASES))
def test_matlab_sequence_networks_match_predict_in_onnxruntime(case, opset, tmp_path):
    net = _matlab_net(MATLAB_CASES[case]())
    path = tmp_path / "seq.onnx"
    ml.exportONNXNetwork(net, str(path), "OpsetVersion", opset)
    m, sess = _session(path)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["T", "N", C]   # MathWorks' [seqLen, batch, inputDim]
    X = _seqs()
    _close(sess.run(None, {"sequenceinput": _tnc(X)})[0], _as_tnc(net.predict(X)))
    one = _seqs(n=1, t=2, seed=3)   # another length and batch size: both dimensions are symbolic
    _close(sess.run(None, {"sequenceinput": _tnc(one)})[0], _as_tnc(net.predict(one)))


def test_lstm_node_holds_matlab_arrays_in_onnx_gate_order():
    """MATLAB's i, f, g, o blocks are ONNX's i, o, f, c; B is [Bias(iofc), 0] as MathWorks writes it;
    activations [gate, state, state]."""
    net = _matlab_net([ml.lstmLayer(2, GateActivationFunction="hard-sigmoid")])
    layer = net.Layers[1]
    model = ox.to_onnx(ml.onnx_export._core_net(net), 13)
    node = next(n for n in model.graph.node if n.op_type == "LSTM")
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    w, b = init[node.input[1]], init[node.input[3]]
    i, f, g, o = np.split(np.asarray(layer.InputWeights), 4)
    np.testing.assert_array_equal(w[0], np.concatenate([i, o, f, g]))
    bi, bf, bg, bo = np.split(np.asarray(layer.Bias).ravel(), 4)
    np.testing.assert_array_equal(b[0], np.concatenate([bi, bo, bf, bg, np.zeros(8)]))
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    assert a["activations"] == [b"HardSigmoid", b"Tanh", b"Tanh"] and a["direction"] == b"forward"
    assert a["hidden_size"] == 2 and node.input[5] and node.input[6]   # the stored states as initial_h / initial_c


def test_gru_reset_modes_write_linear_before_reset_and_the_biases():
    for mode, lbr in (("before-multiplication", 0), ("after-multiplication", 1),
                      ("recurrent-bias-after-multiplication", 1)):
        net = _matlab_net([ml.gruLayer(2, ResetGateMode=mode)])
        layer = net.Layers[1]
        model = ox.to_onnx(ml.onnx_export._core_net(net), 13)
        node = next(n for n in model.graph.node if n.op_type == "GRU")
        a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
        assert a["linear_before_reset"] == lbr
        b = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}[node.input[3]][0]
        bias = np.asarray(layer.Bias).ravel()
        r, z, h = np.split(bias[:6], 3)
        np.testing.assert_array_equal(b[:6], np.concatenate([z, r, h]))
        if bias.size == 12:   # the recurrent biases r, z, h -> z, r, h
            rr, rz, rh = np.split(bias[6:], 3)
            rec = np.concatenate([rz, rr, rh])
        else:
            rec = np.zeros(6)
        np.testing.assert_array_equal(b[6:], rec)


def test_state_outputs_and_state_inputs(tmp_path):
    """An encoder's hidden and cell outputs (Y_h, Y_c as N x H) feed a decoder's state inputs
    (initial_h, initial_c); a BiLSTM's states are N x 2H, forward first; the outputs of a
    network whose unconnected ports are states are those states."""
    X = _seqs()
    for rnn in (ml.lstmLayer, ml.bilstmLayer):   # a bilstm's N x 2H states -> [2, N, H] by Reshape + Transpose
        lg = ml.layerGraph([ml.sequenceInputLayer(C, Name="x"), rnn(4, Name="enc", HasStateOutputs=True)])
        lg = lg.addLayers([rnn(4, Name="dec", HasStateInputs=True), ml.fullyConnectedLayer(2, Name="fc")])
        lg = ml.connectLayers(lg, "enc/out", "dec/in")
        lg = ml.connectLayers(ml.connectLayers(lg, "enc/hidden", "dec/hidden"), "enc/cell", "dec/cell")
        net = ml.dlnetwork(lg)
        for opset in OPSETS:
            path = tmp_path / f"encdec{opset}.onnx"
            ml.exportONNXNetwork(net, str(path), "OpsetVersion", opset)
            _, sess = _session(path)
            _close(sess.run(None, {"x": _tnc(X)})[0], _tnc(net.predict(X)))
    for layer in (ml.lstmLayer(3, Name="r", HasStateOutputs=True), ml.bilstmLayer(3, Name="r", HasStateOutputs=True),
                  ml.gruLayer(3, Name="r", HasStateOutputs=True, OutputMode="last"),
                  ml.bilstmLayer(3, Name="r", HasStateOutputs=True, OutputMode="last")):
        net = ml.dlnetwork(_randomize(ml.dlnetwork([ml.sequenceInputLayer(C, Name="x"), layer])))
        path = tmp_path / "states.onnx"
        ml.exportONNXNetwork(net, str(path), "OpsetVersion", 13)
        _, sess = _session(path)
        names = [o.name for o in sess.get_outputs()]
        assert names == ["r/out", "r/hidden"] + (["r/cell"] if layer.Type != "GRU" else [])
        got = sess.run(None, {"x": _tnc(X)})
        for name, y in zip(names, got):
            _close(y, _as_tnc(net.predict(X, Outputs=name)))


def test_state_per_observation_after_stateful_prediction(tmp_path):
    """After predictAndUpdateState over N observations the states are H x N: written as the
    initial state of a batch of N."""
    net = _matlab_net([ml.lstmLayer(4, OutputMode="last")])
    X = _seqs()
    net, _ = net.predictAndUpdateState(X) if hasattr(net, "predictAndUpdateState") else ml.predictAndUpdateState(net,
                                                                                                                  X)
    assert np.asarray(net.Layers[1].HiddenState).shape == (4, N)
    path = tmp_path / "stateful.onnx"
    ml.exportONNXNetwork(net, str(path), "OpsetVersion", 13)
    _, sess = _session(path)
    X2 = _seqs(seed=5)
    _close(sess.run(None, {"sequenceinput": _tnc(X2)})[0], net.predict(X2))


def test_a_trained_sequence_classifier_exports(tmp_path):
    ml.rng(0)
    g = np.random.default_rng(0)
    X = [g.standard_normal((3, int(t))).astype(np.float32) for t in (5, 7, 4, 6)]
    layers = ml.LayerArray([ml.sequenceInputLayer(3), ml.lstmLayer(4, OutputMode="last"), ml.fullyConnectedLayer(2),
                            ml.softmaxLayer(), ml.classificationLayer()])
    net, _ = ml.trainNetwork(X, ["a", "b", "a", "b"], layers, ml.trainingOptions("sgdm", MaxEpochs=1, Verbose=False))
    path = tmp_path / "seq.onnx"
    ml.exportONNXNetwork(net, str(path), "BatchSize", 1)
    m, sess = _session(path)
    assert m.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 1
    for x in X:   # each sequence alone: the graph takes one length per batch
        _close(sess.run(None, {"sequenceinput": _tnc([x])})[0], net.predict([x]))


# -- Wolfram ----------------------------------------------------------------------------------------------------
def _wolfram(layers, k=3):
    return wl.NetInitialize(wl.NetChain(layers, Input=("Varying", k)), RandomSeeding=2)


WOLFRAM_CASES = {
    "lstm last": lambda: [wl.LongShortTermMemoryLayer(5), wl.SequenceLastLayer(), wl.LinearLayer(2),
                          wl.SoftmaxLayer()],
    "lstm sequence softmax": lambda: [wl.LongShortTermMemoryLayer(4), wl.SoftmaxLayer()],
    "most rest": lambda: [wl.LongShortTermMemoryLayer(4), wl.SequenceMostLayer(), wl.SequenceRestLayer(),
                          wl.ElementwiseLayer(wl.Tanh)],
    "reverse": lambda: [wl.SequenceReverseLayer(), wl.LongShortTermMemoryLayer(4), wl.SequenceReverseLayer(),
                        wl.SequenceLastLayer()],
}


@pytest.mark.parametrize("opset", (10, 13, 18))
@pytest.mark.parametrize("case", sorted(WOLFRAM_CASES))
def test_wolfram_sequence_nets_match_in_onnxruntime(case, opset, tmp_path):
    net = _wolfram(WOLFRAM_CASES[case]())
    path = tmp_path / "w.onnx"
    wl.Export(str(path), net, "ONNX", OperatorSetVersion=opset)
    m, sess = _session(path)
    r = np.random.default_rng(1)
    x = r.standard_normal((N, T, 3)).astype(np.float32)   # Wolfram's N x T x d
    ref = net(x)
    ref = np.stack(ref).transpose(1, 0, 2) if isinstance(ref, list) or np.ndim(ref) == 3 else np.asarray(ref)
    _close(sess.run(None, {"Input": np.ascontiguousarray(x.transpose(1, 0, 2))})[0], ref)


def test_sequence_reverse_needs_opset_10(tmp_path):
    net = _wolfram(WOLFRAM_CASES["reverse"]())
    with pytest.raises(LayerGraphError) as err:
        wl.Export(str(tmp_path / "r.onnx"), net, "ONNX", OperatorSetVersion=9)
    assert "step of -1" in str(err.value) and "opset 10" in str(err.value)
    assert not (tmp_path / "r.onnx").exists()


def test_image_sequences_are_refused_with_the_layer_named(tmp_path):
    net = ml.dlnetwork([ml.sequenceInputLayer([4, 4, 2], Name="frames"), ml.reluLayer(Name="r")])
    with pytest.raises(LayerGraphError) as err:
        ml.exportONNXNetwork(net, str(tmp_path / "img.onnx"))
    assert "'frames'" in str(err.value) and "image sequences" in str(err.value)
    assert not (tmp_path / "img.onnx").exists()


def test_every_sequence_family_has_an_exporter_and_a_case():
    assert SEQUENCE_FAMILIES <= set(ox.EXPORTERS) and not SEQUENCE_FAMILIES & set(ox.NOT_EXPORTABLE)
    from layergraph.core.infer import analyze
    seen = set()
    for build in MATLAB_CASES.values():
        seen |= {x.family for x in analyze(ml.onnx_export._core_net(_matlab_net(build())).graph).layers.values()}
    for build in WOLFRAM_CASES.values():
        seen |= {x.family for x in analyze(_wolfram(build()).to_core_net().graph).layers.values()}
    assert SEQUENCE_FAMILIES <= seen, SEQUENCE_FAMILIES - seen
