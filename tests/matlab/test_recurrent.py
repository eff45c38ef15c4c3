"""MATLAB's sequence networks: sequenceInputLayer, lstmLayer, bilstmLayer, the layers after them
on sequences, sequence data in and out of predict / classify (padding, directions), analysis
sizes and formats, state ports, initializers, and the messages for bad sequence data."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError, NetworkAnalysisError
from layergraph.matlab import (
    analyzeNetwork,
    assembleNetwork,
    bilstmLayer,
    classificationLayer,
    connectLayers,
    dlnetwork,
    fullyConnectedLayer,
    imageInputLayer,
    layerGraph,
    lstmLayer,
    sequenceInputLayer,
    softmaxLayer,
)


def _seqs(lengths, c=5, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((c, k)) for k in lengths]


def _net(*layers):
    return dlnetwork([sequenceInputLayer(5), *layers])


def test_analysis_sizes_and_formats():
    a = analyzeNetwork([sequenceInputLayer(5), lstmLayer(7), bilstmLayer(3, "OutputMode", "last"),
                        fullyConnectedLayer(4), softmaxLayer(), classificationLayer()])
    assert a.info("sequenceinput").ActivationFormats == {"out": "CBT"}
    assert a.info("lstm").ActivationFormats == {"out": "CBT"}
    assert a.info("bilstm").ActivationFormats == {"out": "CB"}   # OutputMode 'last': no time any more
    assert a.info("fc").ActivationFormats == {"out": "CB"}
    assert a.info("lstm").LearnableSizes == {"InputWeights": (28, 5), "RecurrentWeights": (28, 7), "Bias": (28, 1)}
    assert a.info("bilstm").LearnableSizes == {"InputWeights": (24, 7), "RecurrentWeights": (24, 3),
                                               "Bias": (24, 1)}
    assert a.info("bilstm").StateSizes == {"HiddenState": (6, 1), "CellState": (6, 1)}
    assert a.info("bilstm").ActivationSizes["out"].channels == 6


def test_padded_mini_batches_give_each_sequence_alone():
    X = _seqs([6, 2, 9, 4, 1])
    for last in ("sequence", "last"):
        net = _net(lstmLayer(6), bilstmLayer(4, "OutputMode", last), fullyConnectedLayer(3), softmaxLayer())
        alone = [net.predict([x]) for x in X]
        for direction in ("right", "left"):
            Y = net.predict(X, MiniBatchSize=3, SequencePaddingDirection=direction, SequencePaddingValue=5)
            if last == "last":
                np.testing.assert_allclose(Y, np.concatenate(alone), rtol=1e-5, atol=1e-6)
            else:
                assert [y.shape for y in Y] == [(3, x.shape[1]) for x in X]
                for y, a in zip(Y, alone):
                    np.testing.assert_allclose(y, a[0], rtol=1e-5, atol=1e-6)


def test_sequence_outputs_match_torch():
    torch = pytest.importorskip("torch")
    net = _net(lstmLayer(6, "Name", "lstm"), fullyConnectedLayer(3, "Name", "fc"))
    lstm, fc = net.Layers[1], net.Layers[2]
    X = _seqs([7])
    m = torch.nn.LSTM(5, 6, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(lstm.InputWeights.astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(lstm.RecurrentWeights.astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(lstm.Bias.astype(np.float64).ravel()))
        m.bias_hh_l0.zero_()
        y, _ = m(torch.from_numpy(X[0].T[None].copy()))
    want = y[0].numpy() @ fc.Weights.T.astype(np.float64) + fc.Bias.ravel()
    got = net.predict(X, dtype=np.float64)[0]
    np.testing.assert_allclose(got, want.T, rtol=1e-10, atol=1e-12)


def test_shortest_truncates_and_integer_length_is_refused():
    X = _seqs([6, 3, 8])
    net = _net(lstmLayer(4), fullyConnectedLayer(2))
    Y = net.predict(X, SequenceLength="shortest")
    assert [y.shape[1] for y in Y] == [3, 3, 3]
    np.testing.assert_allclose(Y[0], net.predict([X[0][:, :3]])[0], rtol=1e-6, atol=1e-6)
    left = net.predict(X, SequenceLength="shortest", SequencePaddingDirection="left")   # keeps the last steps
    np.testing.assert_allclose(left[2], net.predict([X[2][:, -3:]])[0], rtol=1e-6, atol=1e-6)
    with pytest.raises(LayerGraphError, match="'SequenceLength'"):
        net.predict(X, SequenceLength=0)
    with pytest.raises(LayerGraphError, match="'SequencePaddingDirection'"):
        net.predict(X, SequencePaddingDirection="up")


def test_bad_sequence_data_names_the_layer_observation_and_sizes():
    net = _net(lstmLayer(4))
    with pytest.raises(LayerGraphError) as err:
        net.predict([np.zeros((5, 3)), np.zeros((4, 3))])
    assert "'sequenceinput'" in str(err.value) and "Observation 2" in str(err.value) and "4x3" in str(err.value) \
        and "5xS" in str(err.value)
    with pytest.raises(LayerGraphError) as err:
        net.predict([np.zeros((5, 3)), np.zeros((5, 0))])
    assert "Observation 2 is an empty sequence (5x0)" in str(err.value) and "MinLength" in str(err.value)
    net3 = dlnetwork([sequenceInputLayer(5, "MinLength", 3), lstmLayer(4)])
    with pytest.raises(LayerGraphError, match="Observation 1 is a sequence of 2 time steps"):
        net3.predict([np.zeros((5, 2))])


def test_recurrent_layer_fed_image_data_is_an_analysis_error():
    with pytest.raises(NetworkAnalysisError) as err:
        dlnetwork([imageInputLayer([8, 8, 1]), lstmLayer(4, "Name", "rnn")])
    text = str(err.value)
    assert "rnn" in text and "sequence input" in text and "8x8x1" in text
    with pytest.raises(NetworkAnalysisError, match="expects input size 3"):
        dlnetwork([sequenceInputLayer(5), lstmLayer(4, "InputSize", 3)])


def test_initializers():
    from layergraph import rng
    rng(0)
    net = _net(lstmLayer(8), bilstmLayer(3))
    lstm, bi = net.Layers[1], net.Layers[2]
    np.testing.assert_array_equal(lstm.Bias.ravel(), np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    np.testing.assert_array_equal(bi.Bias.ravel(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)] .tolist() * 2)
    r = lstm.RecurrentWeights.astype(np.float64)                  # 'orthogonal': orthonormal columns
    np.testing.assert_allclose(r.T @ r, np.eye(8), atol=1e-5)
    bound = np.sqrt(6 / (5 + 32))                                  # 'glorot': numIn 5, numOut 4H
    assert np.abs(lstm.InputWeights).max() <= bound and np.abs(lstm.InputWeights).max() > 0.8 * bound
    assert lstm.HiddenState.shape == (8, 1) and not lstm.HiddenState.any()
    assert bi.CellState.shape == (6, 1)


def test_gate_factors_and_read_only_hidden_units():
    layer = lstmLayer(10, "InputWeightsLearnRateFactor", [1, 0, 2, 1], "BiasL2Factor", 0.5)
    assert layer.InputWeightsLearnRateFactor == (1.0, 0.0, 2.0, 1.0) and layer.BiasL2Factor == 0.5
    with pytest.raises(LayerGraphError, match="read-only"):
        layer.NumHiddenUnits = 5
    assert layer.NumHiddenUnits == 10


def test_recurrent_layer_fed_a_last_output_is_an_analysis_error():
    lg = layerGraph([sequenceInputLayer(5, "Name", "x"),
                     lstmLayer(4, "Name", "enc", "HasStateOutputs", True, "OutputMode", "last"),
                     lstmLayer(4, "Name", "dec", "HasStateInputs", True),
                     fullyConnectedLayer(2, "Name", "fc")])
    lg = connectLayers(connectLayers(lg, "enc/hidden", "dec/hidden"), "enc/cell", "dec/cell")
    a = analyzeNetwork(lg)
    assert a.info("enc").ActivationFormats == {"out": "CB", "hidden": "CB", "cell": "CB"}
    assert [(i.LayerName, i.Port) for i in a.errors] == [("dec", "in")]
    assert "expects sequence input" in a.errors[0].Message and "size 4" in a.errors[0].Message


def test_state_ports_forward():
    lg = layerGraph([sequenceInputLayer(5, "Name", "x"),
                     lstmLayer(4, "Name", "enc", "HasStateOutputs", True)])
    lg = lg.addLayers([lstmLayer(4, "Name", "dec", "HasStateInputs", True), fullyConnectedLayer(2, "Name", "fc")])
    lg = connectLayers(lg, "enc/out", "dec/in")
    lg = connectLayers(connectLayers(lg, "enc/hidden", "dec/hidden"), "enc/cell", "dec/cell")
    net = dlnetwork(lg)
    X = _seqs([4, 6])
    Y = net.predict(X)
    assert [y.shape for y in Y] == [(2, 4), (2, 6)]
    # the hidden output is the state after each sequence's own last step
    hidden = net.predict(X, Outputs="enc/hidden")
    enc_out = net.predict(X, Outputs="enc/out")
    np.testing.assert_allclose(hidden, np.stack([e[:, -1] for e in enc_out]), rtol=1e-6, atol=1e-7)
    with pytest.raises(LayerGraphError, match="HasStateInputs"):
        lstmLayer(4, "HasStateInputs", True, "HiddenState", np.zeros((4, 1)))


def test_classify_per_step_and_per_sequence():
    X = _seqs([3, 5])
    seq2seq = assembleNetwork(_randomized([sequenceInputLayer(5), lstmLayer(4), fullyConnectedLayer(3),
                                           softmaxLayer(), classificationLayer("Classes", ["a", "b", "c"])]))
    labels, scores = seq2seq.classify(X)
    assert [lab.shape for lab in labels] == [(1, 3), (1, 5)] and [s.shape for s in scores] == [(3, 3), (3, 5)]
    assert all(set(lab.ravel()) <= {"a", "b", "c"} for lab in labels)
    np.testing.assert_array_equal(labels[1].ravel(), np.array(["a", "b", "c"])[np.argmax(scores[1], axis=0)])
    last = assembleNetwork(_randomized([sequenceInputLayer(5), lstmLayer(4, "OutputMode", "last"),
                                        fullyConnectedLayer(3), softmaxLayer(),
                                        classificationLayer("Classes", ["a", "b", "c"])]))
    labels, scores = last.classify(X)
    assert labels.shape == (2,) and scores.shape == (2, 3)


def _randomized(layers):
    """The layers with their learnables set (assembleNetwork takes no empty ones)."""
    net = dlnetwork(layers[:-1])
    return [*net.Layers, layers[-1]]


def test_integer_sequence_length_runs_chunks_with_the_state_carried():
    X = _seqs([7, 3, 10, 5])
    seq = _net(lstmLayer(4), lstmLayer(3), fullyConnectedLayer(2))
    last = _net(lstmLayer(4), lstmLayer(3, "OutputMode", "last"), fullyConnectedLayer(2))
    for direction in ("right", "left"):
        for k in (1, 3, 4, 20):
            kw = dict(SequenceLength=k, SequencePaddingDirection=direction, MiniBatchSize=3)
            for got, want in zip(seq.predict(X, **kw), seq.predict(X)):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(last.predict(X, **kw), last.predict(X), rtol=1e-5, atol=1e-6)


def test_a_sequence_network_opens_in_wolfram():
    """Wolfram's "Varying" ports (docs/recurrent_plan.md 6d): the network opens as a NetGraph with
    a sequence input port and gives the same outputs (tests/wolfram/test_recurrent.py has more)."""
    from layergraph.wolfram import NetGraph
    net = _net(lstmLayer(4, "Name", "rnn"), fullyConnectedLayer(2))
    g = NetGraph(net)
    assert g.compile().in_dims["Input"] == ("Varying", 5)
    X = _seqs([3, 5])
    for got, want in zip(g([x.T for x in X]), net.predict(X)):
        np.testing.assert_allclose(got.T, want, rtol=1e-5, atol=1e-6)
