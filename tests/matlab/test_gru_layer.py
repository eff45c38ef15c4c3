"""MATLAB's gruLayer: analysis sizes, the three ResetGateMode forms through a network against
torch nn.GRU / the numpy reference, padded mini-batches, the 'hidden' state ports, initializers,
1-by-3 factors (also on the 6H bias), trainNetwork on sequences, stateful prediction and
SequenceLength chunks with the state carried."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (
    analyzeNetwork,
    categorical,
    classificationLayer,
    connectLayers,
    dlnetwork,
    fullyConnectedLayer,
    gruLayer,
    layerGraph,
    predictAndUpdateState,
    resetState,
    sequenceInputLayer,
    softmaxLayer,
    trainingOptions,
    trainNetwork,
)

MODES = ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")


def _seqs(lengths, c=5, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((c, k)) for k in lengths]


def _net(*layers):
    return dlnetwork([sequenceInputLayer(5), *layers])


def test_analysis_sizes_formats_and_bias_rows():
    a = analyzeNetwork([sequenceInputLayer(5), gruLayer(7),
                        gruLayer(3, "OutputMode", "last", "ResetGateMode", "recurrent-bias-after-multiplication"),
                        fullyConnectedLayer(4), softmaxLayer(), classificationLayer()])
    assert a.info("gru_1").ActivationFormats == {"out": "CBT"}
    assert a.info("gru_2").ActivationFormats == {"out": "CB"}
    assert a.info("gru_1").LearnableSizes == {"InputWeights": (21, 5), "RecurrentWeights": (21, 7), "Bias": (21, 1)}
    assert a.info("gru_2").LearnableSizes == {"InputWeights": (9, 7), "RecurrentWeights": (9, 3), "Bias": (18, 1)}
    assert a.info("gru_1").StateSizes == {"HiddenState": (7, 1)}
    layer = gruLayer(10)
    assert layer.ResetGateMode == "after-multiplication" and layer.BiasInitializer == "zeros"
    assert layer.InputNames == ["in"] and gruLayer(4, "HasStateInputs", True).InputNames == ["in", "hidden"]
    assert gruLayer(4, "HasStateOutputs", True).OutputNames == ["out", "hidden"]


def _torch_gru(layer, x, recurrent_bias):
    torch = pytest.importorskip("torch")
    hid = layer.NumHiddenUnits
    m = torch.nn.GRU(x.shape[0], hid, batch_first=True).double()
    bias = layer.Bias.astype(np.float64).ravel()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(layer.InputWeights.astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(layer.RecurrentWeights.astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(bias[:3 * hid]))
        m.bias_hh_l0.copy_(torch.from_numpy(bias[3 * hid:])) if recurrent_bias else m.bias_hh_l0.zero_()
        y, _ = m(torch.from_numpy(x.T[None].copy()))
    return y[0].numpy().T


@pytest.mark.parametrize("mode", MODES)
def test_sequence_outputs_match_torch_or_the_reference(mode):
    from tests.kernels.cpu.test_gru import reference
    net = _net(gruLayer(6, "Name", "gru", "ResetGateMode", mode, "BiasInitializer", "narrow-normal"))
    layer = net.Layers[1]
    X = _seqs([7])
    got = net.predict(X, dtype=np.float64)[0]
    if mode == "before-multiplication":     # no torch form: the numpy step reference
        p = [a.astype(np.float64) for a in (layer.InputWeights, layer.RecurrentWeights, layer.Bias.ravel())]
        want = reference(X[0][None], *p, None, np.zeros((1, 6)), np.ones((1, 7), bool), mode, "sigmoid", "tanh",
                         False)[0][0]
    else:
        want = _torch_gru(layer, X[0], mode != "after-multiplication")
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_padded_mini_batches_give_each_sequence_alone():
    X = _seqs([6, 2, 9, 4, 1])
    for last in ("sequence", "last"):
        net = _net(gruLayer(6, "ResetGateMode", "before-multiplication"), gruLayer(4, "OutputMode", last),
                   fullyConnectedLayer(3), softmaxLayer())
        alone = [net.predict([x]) for x in X]
        for direction in ("right", "left"):
            Y = net.predict(X, MiniBatchSize=3, SequencePaddingDirection=direction, SequencePaddingValue=5)
            if last == "last":
                np.testing.assert_allclose(Y, np.concatenate(alone), rtol=1e-5, atol=1e-6)
            else:
                for y, a in zip(Y, alone):
                    np.testing.assert_allclose(y, a[0], rtol=1e-5, atol=1e-6)


def test_state_ports_forward():
    lg = layerGraph([sequenceInputLayer(5, "Name", "x"), gruLayer(4, "Name", "enc", "HasStateOutputs", True)])
    lg = lg.addLayers([gruLayer(4, "Name", "dec", "HasStateInputs", True), fullyConnectedLayer(2, "Name", "fc")])
    lg = connectLayers(connectLayers(lg, "enc/out", "dec/in"), "enc/hidden", "dec/hidden")
    net = dlnetwork(lg)
    X = _seqs([4, 6])
    assert [y.shape for y in net.predict(X)] == [(2, 4), (2, 6)]
    hidden = net.predict(X, Outputs="enc/hidden")
    enc_out = net.predict(X, Outputs="enc/out")
    np.testing.assert_allclose(hidden, np.stack([e[:, -1] for e in enc_out]), rtol=1e-6, atol=1e-7)
    with pytest.raises(LayerGraphError, match="HasStateInputs"):
        gruLayer(4, "HasStateInputs", True, "HiddenState", np.zeros((4, 1)))
    with pytest.raises(LayerGraphError, match="4x1 \\(or 4xN"):
        gruLayer(4, "HiddenState", np.zeros((3, 1)))


def test_initializers_factors_and_read_only_hidden_units():
    from layergraph import rng
    rng(0)
    net = _net(gruLayer(8), gruLayer(3, "ResetGateMode", "recurrent-bias-after-multiplication",
                                     "BiasInitializer", "ones"))
    gru, rb = net.Layers[1], net.Layers[2]
    assert not gru.Bias.any() and gru.Bias.shape == (24, 1)
    np.testing.assert_array_equal(rb.Bias, np.ones((18, 1)))
    r = gru.RecurrentWeights.astype(np.float64)                   # 'orthogonal': orthonormal columns
    np.testing.assert_allclose(r.T @ r, np.eye(8), atol=1e-5)
    bound = np.sqrt(6 / (5 + 24))                                  # 'glorot': numIn 5, numOut 3H
    assert bound * 0.8 < np.abs(gru.InputWeights).max() <= bound
    assert gru.HiddenState.shape == (8, 1) and not gru.HiddenState.any()
    layer = gruLayer(10, "InputWeightsLearnRateFactor", [1, 0, 2], "BiasL2Factor", 0.5)
    assert layer.InputWeightsLearnRateFactor == (1.0, 0.0, 2.0) and layer.BiasL2Factor == 0.5
    with pytest.raises(LayerGraphError, match="read-only"):
        layer.NumHiddenUnits = 5


def _toy(n=60, seed=0):
    """Sequences of random length whose class is the sign of their mean (2 features)."""
    r = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        k = int(r.integers(2, 9))
        label = int(r.integers(0, 2))
        X.append((r.standard_normal((2, k)) * 0.5 + (1 if label else -1)).astype(np.float32))
        y.append(label)
    return X, np.array(y)


def _opts(**kw):
    base = dict(MaxEpochs=8, MiniBatchSize=8, InitialLearnRate=0.02, Verbose=False, Shuffle="every-epoch")
    return trainingOptions("adam", **{**base, **kw})


@pytest.mark.parametrize("mode", MODES)
def test_sequence_classifier_learns(mode):
    X, y = _toy()
    layers = [sequenceInputLayer(2), gruLayer(8, "OutputMode", "last", "ResetGateMode", mode),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net, info = trainNetwork(X, categorical(y), layers, _opts(SequencePaddingDirection="left"))
    labels, _ = net.classify(X)
    assert np.mean(np.asarray(labels).astype(int) == y) > 0.9
    assert info.TrainingLoss[-1] < info.TrainingLoss[0]


def test_gate_factor_zero_freezes_that_gate_in_both_bias_halves():
    X, y = _toy(24)
    layers = [sequenceInputLayer(2), gruLayer(4, "OutputMode", "last", "ResetGateMode",
                                              "recurrent-bias-after-multiplication", "BiasLearnRateFactor", [0, 1, 1],
                                              "InputWeightsLearnRateFactor", [1, 0, 1]),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    from layergraph import rng
    rng(3)
    start = dlnetwork(layers[:-1]).Layers[1]
    rng(3)
    net, _ = trainNetwork(X, categorical(y), layers, _opts(MaxEpochs=2))
    b, w = net.Layers[1].Bias.ravel(), net.Layers[1].InputWeights
    b0 = start.Bias.ravel()
    np.testing.assert_array_equal(b[np.r_[0:4, 12:16]], b0[np.r_[0:4, 12:16]])   # the reset gate's (factor 0)
    assert not np.allclose(b[4:12], b0[4:12]) and not np.allclose(b[16:], b0[16:])
    np.testing.assert_array_equal(w[4:8], start.InputWeights[4:8])               # the update gate's
    assert not np.allclose(w[:4], start.InputWeights[:4])


def test_predict_and_update_state_and_chunks_carry_the_state():
    net = _net(gruLayer(5, "ResetGateMode", "before-multiplication"), fullyConnectedLayer(2))
    full = np.random.default_rng(0).standard_normal((5, 9)).astype(np.float32)
    whole = net.predict([full])[0]
    net1, first = predictAndUpdateState(net, [full[:, :4]])
    net2, second = predictAndUpdateState(net1, [full[:, 4:]])
    np.testing.assert_allclose(np.concatenate([first[0], second[0]], axis=1), whole, rtol=1e-5, atol=1e-6)
    assert net1.Layers[1].HiddenState.shape == (5, 1) and np.any(net1.Layers[1].HiddenState != 0)
    assert not np.any(net.Layers[1].HiddenState)
    back = resetState(net2)
    np.testing.assert_array_equal(back.Layers[1].HiddenState, net.Layers[1].HiddenState)
    n3, _ = predictAndUpdateState(net, [full[:, :3], full[:, 2:8]])
    assert n3.Layers[1].HiddenState.shape == (5, 2)
    with pytest.raises(LayerGraphError, match="holds 2 observations"):
        predictAndUpdateState(n3, [full])
    X = _seqs([7, 3, 10, 5])
    last = _net(gruLayer(4), gruLayer(3, "OutputMode", "last"), fullyConnectedLayer(2))
    for k in (1, 3, 20):
        np.testing.assert_allclose(last.predict(X, SequenceLength=k, MiniBatchSize=3), last.predict(X), rtol=1e-5,
                                   atol=1e-6)


def test_trains_in_chunks_with_the_state_carried():
    X, y = _toy(24, seed=6)
    Y = [categorical(np.where(x[0] > 0, "up", "down"), ["down", "up"]) for x in X]
    layers = [sequenceInputLayer(2), gruLayer(6), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net, info = trainNetwork(X, Y, layers, _opts(MaxEpochs=8, SequenceLength=3))
    assert info.TrainingLoss[-1] < info.TrainingLoss[0]
    labels, _ = net.classify(X)
    hits = np.concatenate([lab.ravel() == np.where(x[0] > 0, "up", "down") for lab, x in zip(labels, X)])
    assert hits.mean() > 0.8


def test_dlnetwork_forward_reports_the_hidden_state():
    net = _net(gruLayer(4, "Name", "g"), fullyConnectedLayer(2))
    X = _seqs([3, 5])
    _, state = net.forward(X)
    rows = [tuple(r) for r in state]
    assert [(r[0], r[1]) for r in rows] == [("g", "HiddenState")]
    whole = net.predict(X, Outputs="g/out")
    np.testing.assert_allclose(rows[0][2], np.stack([w[:, -1] for w in whole], axis=1), rtol=1e-5, atol=1e-6)


def test_onnx_export_writes_a_gru_node(tmp_path):
    """ONNX GRU export (step 7, docs/onnx.md "Sequences"; its checks against onnxruntime are in
    tests/onnx/test_onnx_recurrent_export.py): the file holds one GRU node named after the layer."""
    import onnx

    from layergraph.matlab import exportONNXNetwork
    net = _net(gruLayer(4, "Name", "rnn"), fullyConnectedLayer(2))
    exportONNXNetwork(net, str(tmp_path / "net.onnx"))
    nodes = [n for n in onnx.load(str(tmp_path / "net.onnx")).graph.node if n.op_type == "GRU"]
    assert [n.name for n in nodes] == ["rnn:GRU"]
