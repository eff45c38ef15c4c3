"""The basic recurrent layer to ONNX's RNN (issue 13), a bidirectional GRU out and back (Wolfram's
NetBidirectionalOperator[GatedRecurrentLayer] -> GRU + reversed GRU -> import), and ``sequence_lens`` on export
(``to_onnx(..., sequence_lengths=True)``: a padded batch of sequences of different lengths gives in onnxruntime
what predict gives each sequence alone). Each model passes the full check and strict shape inference; values
against predict / net(x) at 1e-5 relative (float32); round trips export -> import equal."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import layergraph.matlab as ml
import layergraph.wolfram as wl
from layergraph import layers as L
from layergraph.core.infer import analyze
from layergraph.onnx import export as ox
from layergraph.onnx.importer import import_model

C, N, T = 3, 4, 6
LENGTHS = [6, 2, 5, 1]


def _close(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert np.abs(got - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max())), np.abs(got - ref).max()


def _checked(model):
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _wolfram(layers):
    return wl.NetInitialize(wl.NetChain(layers, Input=("Varying", C)), RandomSeeding=5)


def _x(n=N, t=T, seed=0):
    return np.random.default_rng(seed).standard_normal((n, t, C)).astype(np.float32)   # Wolfram's N x T x d


def _seq_out(y):
    """A Wolfram output (N x T x c sequences or N x c) in ONNX's form (T x N x c, or N x c)."""
    y = np.asarray(np.stack(y) if isinstance(y, list) else y)
    return y.transpose(1, 0, 2) if y.ndim == 3 else y


WOLFRAM = {
    "basic sequence": lambda: [wl.BasicRecurrentLayer(4), wl.SoftmaxLayer()],
    "basic last": lambda: [wl.BasicRecurrentLayer(5), wl.SequenceLastLayer(), wl.LinearLayer(2)],
    "bidirectional gru": lambda: [wl.NetBidirectionalOperator(wl.GatedRecurrentLayer(4)), wl.SequenceLastLayer()],
    "bidirectional basic, Total": lambda: [wl.NetBidirectionalOperator(wl.BasicRecurrentLayer(3), wl.Total)],
}


@pytest.mark.parametrize("opset", (10, 13, 18))
@pytest.mark.parametrize("case", list(WOLFRAM))
def test_wolfram_recurrent_nets_match_in_onnxruntime_and_come_back(case, opset, tmp_path):
    net = _wolfram(WOLFRAM[case]())
    path = str(tmp_path / "r.onnx")
    wl.Export(path, net, "ONNX", OperatorSetVersion=opset)
    m = onnx.load(path)
    sess = _checked(m)
    ops = {n.op_type for n in m.graph.node}
    assert ("RNN" in ops) == ("basic" in case) and ("GRU" in ops) == ("gru" in case)
    x = _x()
    _close(sess.run(None, {"Input": np.ascontiguousarray(x.transpose(1, 0, 2))})[0], _seq_out(net(x)))
    back = wl.Import(path)
    fams = {la.family for la in analyze(back.to_core_net().graph).layers.values()}
    assert ("rnn" in fams) == ("basic" in case)
    x2 = _x(n=2, t=3, seed=1)
    _close(_seq_out(back(x2)), _seq_out(net(x2)))


def test_rnn_node_holds_the_arrays_and_the_activation():
    core = L.RecurrentLayer(Name="rnn", NumHiddenUnits=4, StateActivationFunction="softsign", OutputMode="last")
    layers = ml.dlnetwork([ml.sequenceInputLayer(C), core]).Layers
    r = np.random.default_rng(2)
    layers[1].Bias = r.standard_normal((4, 1)).astype(np.float32)
    layers[1].HiddenState = r.standard_normal((4, 1)).astype(np.float32)
    net = ml.dlnetwork(layers)
    m = ox.to_onnx(ml.onnx_export._core_net(net), 13)
    node = next(n for n in m.graph.node if n.op_type == "RNN")
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    lay = net.Layers[1]
    np.testing.assert_array_equal(inits[node.input[1]][0], np.asarray(lay.InputWeights))
    np.testing.assert_array_equal(inits[node.input[2]][0], np.asarray(lay.RecurrentWeights))
    np.testing.assert_array_equal(inits[node.input[3]][0], np.concatenate([np.ravel(lay.Bias), np.zeros(4)]))
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["activations"] == [b"Softsign"] and attrs["hidden_size"] == 4 and attrs["direction"] == b"forward"
    assert node.input[5]   # the stored HiddenState as initial_h
    sess = _checked(m)
    X = [np.random.default_rng(3).standard_normal((C, T)).astype(np.float32) for _ in range(N)]
    _close(sess.run(None, {"sequenceinput": np.ascontiguousarray(np.stack(X).transpose(2, 0, 1))})[0],
           net.predict(X))
    back = import_model(m)   # the round trip: the layer as it was
    rl = next(la for la in analyze(back.net.graph).layers.values() if la.family == "rnn")
    assert rl.StateActivationFunction == "softsign" and rl.OutputMode == "last"
    np.testing.assert_allclose(np.ravel(rl.internal("HiddenState")), np.ravel(lay.HiddenState), rtol=1e-7)


# -- sequence_lens on export ------------------------------------------------------------------------------------------
def _padded(seqs):
    """MATLAB's C x T_n sequences -> a T x N x C batch padded at the end with zeros, and the lengths (int32)."""
    t = max(s.shape[1] for s in seqs)
    x = np.zeros((t, len(seqs), C), np.float32)
    for i, s in enumerate(seqs):
        x[:s.shape[1], i] = s.T
    return x, np.array([s.shape[1] for s in seqs], np.int32)


MATLAB_LENS = {
    "lstm last": lambda: [ml.lstmLayer(4, OutputMode="last"), ml.fullyConnectedLayer(2), ml.softmaxLayer()],
    "bilstm last": lambda: [ml.bilstmLayer(3, OutputMode="last"), ml.fullyConnectedLayer(2)],
    "gru sequence": lambda: [ml.gruLayer(4, ResetGateMode="recurrent-bias-after-multiplication",
                                         BiasInitializer="narrow-normal"), ml.fullyConnectedLayer(2)],
    "lstm states": lambda: [ml.lstmLayer(4, HasStateOutputs=True)],
    "basic last": lambda: [L.RecurrentLayer(NumHiddenUnits=4, OutputMode="last"), ml.fullyConnectedLayer(2)],
}


@pytest.mark.parametrize("opset", (11, 13, ox.max_opset()))
@pytest.mark.parametrize("case", list(MATLAB_LENS))
def test_sequence_lens_gives_each_sequence_its_own_length(case, opset, tmp_path):
    r = np.random.default_rng(4)
    net = ml.dlnetwork([ml.sequenceInputLayer(C), *MATLAB_LENS[case]()])
    for layer in net.Layers[1:2]:
        layer.HiddenState = (0.5 * r.standard_normal(np.shape(layer.HiddenState))).astype(np.float32)
    net = ml.dlnetwork(net.Layers)
    m = ox.to_onnx(ml.onnx_export._core_net(net), opset, sequence_lengths=True)
    assert [i.name for i in m.graph.input] == ["sequenceinput", "sequence_lens"]
    assert all(n.input[4] == "sequence_lens" for n in m.graph.node if n.op_type in ("LSTM", "GRU", "RNN"))
    sess = _checked(m)
    X = [r.standard_normal((C, t)).astype(np.float32) for t in LENGTHS]
    x, lens = _padded(X)
    got = sess.run(None, {"sequenceinput": x, "sequence_lens": lens})
    outs = net.OutputNames
    for k, port in enumerate(outs):
        for i, s in enumerate(X):   # each sequence alone
            ref = net.predict([s], Outputs=port) if len(outs) > 1 else net.predict([s])
            ref = np.asarray(ref[0] if isinstance(ref, list) else ref)
            g = got[k]
            if g.ndim == 3:   # T x N x c: the sequence's own steps (ONNX zeros the padded ones)
                _close(g[:s.shape[1], i], ref.T)
                assert not np.any(g[s.shape[1]:, i]) or "gru sequence" in case   # fc after the GRU adds its bias
            else:
                _close(g[i], np.ravel(ref))
    # without sequence_lens a padded batch is wrong for the short sequences (the graph runs all T steps)
    plain = _checked(ox.to_onnx(ml.onnx_export._core_net(net), opset))
    if "last" in case:
        y = plain.run(None, {"sequenceinput": x})[0]
        ref = np.asarray(net.predict([X[1]]))
        assert np.abs(y[1] - np.ravel(ref)).max() > 1e-4


def test_wolfram_sequence_layers_with_sequence_lens():
    """SequenceLastLayer takes each observation's own last step (GatherElements), SequenceReverseLayer reverses each
    observation's own steps (ReverseSequence); the same file imports back (sequence_lens is the data's lengths)."""
    net = _wolfram([wl.SequenceReverseLayer(), wl.BasicRecurrentLayer(4), wl.SequenceReverseLayer(),
                    wl.GatedRecurrentLayer(3), wl.SequenceLastLayer()])
    m = ox.to_onnx(net.to_core_net(), 13, sequence_lengths=True)
    ops = [n.op_type for n in m.graph.node]
    assert "ReverseSequence" in ops and "GatherElements" in ops
    sess = _checked(m)
    r = np.random.default_rng(6)
    seqs = [r.standard_normal((t, C)).astype(np.float32) for t in LENGTHS]   # Wolfram's T x d each
    x, lens = _padded([s.T for s in seqs])
    got = sess.run(None, {"Input": x, "sequence_lens": lens})[0]
    ref = np.asarray(net(seqs))
    _close(got, ref)
    back = import_model(m)
    assert set(back.net.inputs) == {"Input"}   # sequence_lens: the data's own lengths
    from layergraph.core.network import Network
    run = Network.build(back.net.graph, initialize=False)
    (port, layer), = back.net.inputs.items()
    out = run.run({layer: [s.T for s in seqs]}, list(back.net.outputs.values()), batch_size=len(seqs))
    _close(out[next(iter(back.net.outputs.values()))], ref)


def test_sequence_lens_refusals():
    most = _wolfram([wl.LongShortTermMemoryLayer(3), wl.SequenceMostLayer()])
    with pytest.raises(ox.UnsupportedLayers, match="SequenceMostLayer changes each sequence's length"):
        ox.to_onnx(most.to_core_net(), 13, sequence_lengths=True)
    last = _wolfram([wl.LongShortTermMemoryLayer(3), wl.SequenceLastLayer()])
    with pytest.raises(ox.UnsupportedLayers, match="GatherElements, which is opset 11"):
        ox.to_onnx(last.to_core_net(), 10, sequence_lengths=True)
    ox.to_onnx(last.to_core_net(), 10)   # without sequence_lens opset 10 writes it
    plain = wl.NetInitialize(wl.NetChain([wl.LinearLayer(2)], Input=3))
    with pytest.raises(ValueError, match="no sequence input"):
        ox.to_onnx(plain.to_core_net(), 13, sequence_lengths=True)
