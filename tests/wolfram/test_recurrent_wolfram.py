"""Wolfram's sequences: {"Varying", d} ports and their printouts, LongShortTermMemoryLayer on
the core LSTM (against torch nn.LSTM with the weights mapped from Wolfram's arrays: values and
gradients through the executor NetTrain uses; against MATLAB's lstmLayer with the same
weights), SequenceLast/Most/Rest/Reverse (values per sequence, padding on either side,
float64 finite differences), NetTrain on sequences of different lengths, the messages for bad
sequence data, and MATLAB LSTM networks opened as nets and back."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.sequence import SeqInfo
from layergraph.wolfram import (
    All,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetTrain,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    SoftmaxLayer,
    Tanh,
)
from layergraph.wolfram.recurrent import GATES, core_arrays, lstm_arrays
from layergraph.wolfram.types import port_spec, type_text


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _lstm(n=4, k=3, seed=1):
    return NetInitialize(LongShortTermMemoryLayer(n, Input=("Varying", k)), RandomSeeding=seed)


def _torch_lstm(torch, layer):
    """nn.LSTM with the weights of Wolfram's arrays: torch's gates are i, f, g, o, stacked."""
    w = core_arrays(layer.arrays)
    n, k = layer.arrays["InputGateInputWeights"].shape
    m = torch.nn.LSTM(k, n, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(w["InputWeights"].astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(w["RecurrentWeights"].astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(w["Bias"].astype(np.float64)))
        m.bias_hh_l0.zero_()
    return m


# -- ports, printouts, sizes --------------------------------------------------------------------------
def test_varying_port_specs_and_printouts():
    assert port_spec(("Varying", 3), "x") == ("Varying", 3)
    assert type_text(("Varying", 3)) == "matrix (size: n\u00d73)"
    net = NetChain([LongShortTermMemoryLayer(5), SequenceLastLayer(), LinearLayer(2)], Input=("Varying", 3))
    text = repr(net)
    assert "Input port:       matrix (size: n\u00d73)" in text
    assert "LongShortTermMemoryLayer  matrix (size: n\u00d75)" in text
    assert "SequenceLastLayer         vector (size: 5)" in text
    c = net.compile()
    assert c.in_dims["Input"] == ("Varying", 3) and c.out_dims["Output"] == (2,)
    layer_text = repr(LongShortTermMemoryLayer(5, Input=("Varying", 3)))
    assert "OutputSize: 5" in layer_text and "Dropout:    None" in layer_text
    assert "InputGateInputWeights:  matrix (size: 5\u00d73)" in layer_text
    assert "MemoryGateBiases:       vector (size: 5)" in layer_text
    assert "Output: matrix (size: n\u00d75)" in layer_text
    # the input size is inferred from the net, "Input" -> k reads as a sequence of length-k vectors
    assert NetChain([LongShortTermMemoryLayer(2, Input=4)]).compile().in_dims["Input"] == ("Varying", 4)
    # a NetGraph sizes sequences the same way
    g = NetGraph([LongShortTermMemoryLayer(3), SequenceReverseLayer(), SequenceMostLayer()], [(1, 2), (2, 3)],
                 Input=("Varying", 2))
    assert g.compile().out_dims["Output"] == ("Varying", 3)


def test_arrays_information_and_initialization():
    layer = _lstm(4, 3)
    assert set(layer.arrays) == {f"{g}{kind}" for g in GATES for kind in ("InputWeights", "StateWeights", "Biases")}
    assert layer.arrays["ForgetGateBiases"].tolist() == [1, 1, 1, 1]          # Wolfram: forget biases start at 1
    for g in ("InputGate", "OutputGate", "MemoryGate"):
        assert not np.any(layer.arrays[f"{g}Biases"])
    assert layer.arrays["InputGateInputWeights"].shape == (4, 3)
    assert layer.arrays["OutputGateStateWeights"].shape == (4, 4)
    net = NetChain([layer])
    assert Information(net, "ArraysTotalElementCount") == 4 * (4 * 3 + 4 * 4 + 4)
    assert np.array_equal(np.asarray(NetExtract(net, (1, "MemoryGateStateWeights"))),
                          layer.arrays["MemoryGateStateWeights"])


def test_weights_map_to_the_core_in_one_place_and_back():
    layer = _lstm(3, 2)
    spec = layer.core_spec("lstm")
    assert spec.NumHiddenUnits == 3 and spec.InputSize == 2
    n = 3
    for i, g in enumerate(GATES):   # MATLAB's gate order i, f, g (memory), o
        np.testing.assert_array_equal(spec.InputWeights[i * n:(i + 1) * n], layer.arrays[f"{g}InputWeights"])
        np.testing.assert_array_equal(spec.RecurrentWeights[i * n:(i + 1) * n], layer.arrays[f"{g}StateWeights"])
        np.testing.assert_array_equal(spec.Bias[i * n:(i + 1) * n].ravel(), layer.arrays[f"{g}Biases"])
    back = lstm_arrays(spec)
    assert all(np.array_equal(back[k], layer.arrays[k]) for k in layer.arrays)
    again = LongShortTermMemoryLayer.from_core(spec)
    assert again == layer


# -- values and gradients -----------------------------------------------------------------------------
def test_values_match_torch_for_sequences_of_different_lengths():
    torch = pytest.importorskip("torch")
    layer = _lstm(4, 3)
    m = _torch_lstm(torch, layer)
    X = _seqs([5, 1, 7, 3])
    got = layer(X, WorkingPrecision="Real64")
    assert [g.shape for g in got] == [(5, 4), (1, 4), (7, 4), (3, 4)]
    for x, g in zip(X, got):
        want, _ = m(torch.from_numpy(x[None]))
        np.testing.assert_allclose(g, want[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    one = layer(X[0], WorkingPrecision="Real64")   # one example: one T x n matrix
    np.testing.assert_allclose(one, got[0], rtol=1e-12)
    # float32, as a net computes by default
    np.testing.assert_allclose(layer(X)[2], got[2], rtol=1e-4, atol=1e-5)


def test_gradients_through_the_training_executor_match_torch():
    """The core network NetTrain trains (the net's _for_training view), float64: the LSTM's
    gradients with respect to the stacked arrays and the input, on a padded batch of sequences
    of different lengths, equal torch's summed over each sequence alone."""
    torch = pytest.importorskip("torch")
    layer = _lstm(4, 3, seed=5)
    net = NetChain([layer, SequenceLastLayer(), LinearLayer(2)], Input=("Varying", 3))
    net = NetInitialize(net, RandomSeeding=2)
    X = _seqs([6, 2, 4], seed=3)
    from layergraph.wolfram.recurrent import Sequences
    view = net._for_training({"Input": Sequences(X, 3)}, lambda w: w, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    data = Sequences(X, 3).core_data(np.float64)[np.arange(3)]
    acts = ex.forward({"$in:Input": np.asarray(data)}, training=True, seq={"$in:Input": data.seq})
    out_ref = view.output_ref("Output")
    y = acts[out_ref]
    dy = np.random.default_rng(0).standard_normal(y.shape)
    grads = ex.backward({out_ref: dy}, input_grads=True)
    lstm_name = view._compiled.leaves[("1",)].core_names[0]
    g = grads[lstm_name]
    m = _torch_lstm(torch, net._nodes["1"])
    lin = net._nodes["3"]
    W = torch.from_numpy(lin.arrays["Weights"].astype(np.float64))
    b = torch.from_numpy(lin.arrays["Biases"].astype(np.float64))
    total = 0
    xs = []
    for i, x in enumerate(X):
        xt = torch.from_numpy(x[None].copy()).requires_grad_(True)
        out, _ = m(xt)
        z = out[0, -1] @ W.T + b
        np.testing.assert_allclose(y[i], z.detach().numpy(), rtol=1e-10, atol=1e-12)
        total = total + (z * torch.from_numpy(dy[i])).sum()
        xs.append(xt)
    total.backward()
    np.testing.assert_allclose(g["InputWeights"], m.weight_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(g["RecurrentWeights"], m.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(g["Bias"].ravel(), m.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
    dx = next(v for (name, _), v in ex.input_grads.items() if name == "$in:Input")
    for i, (x, xt) in enumerate(zip(X, xs)):   # padded batch N x C x T: each sequence's own steps
        np.testing.assert_allclose(dx[i][:, :len(x)].T, xt.grad[0].numpy(), rtol=1e-9, atol=1e-11)
        assert not np.any(dx[i][:, len(x):])


def test_same_outputs_as_matlab_lstm_layer_with_the_same_weights():
    from layergraph.matlab import dlnetwork, lstmLayer, predict, sequenceInputLayer
    layer = _lstm(4, 3, seed=7)
    w = core_arrays(layer.arrays)
    mnet = dlnetwork([sequenceInputLayer(3), lstmLayer(4, "InputWeights", w["InputWeights"], "RecurrentWeights",
                                                       w["RecurrentWeights"], "Bias", w["Bias"].reshape(-1, 1))])
    X = _seqs([4, 6, 2], seed=8)
    got = layer(X, WorkingPrecision="Real64")
    want = predict(mnet, [x.T for x in X], dtype=np.float64)   # MATLAB: C x S per sequence
    for g, wv in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(wv).T, rtol=1e-10, atol=1e-12)


def test_matlab_lstm_network_opens_as_a_net_and_back():
    from layergraph.matlab import dlnetwork, fullyConnectedLayer, lstmLayer, predict, sequenceInputLayer
    mnet = dlnetwork([sequenceInputLayer(5), lstmLayer(4, "Name", "rnn"), fullyConnectedLayer(2)])
    X = _seqs([3, 6], d=5, seed=4)
    want = predict(mnet, [x.T for x in X])
    for wnet in (NetChain(mnet), NetGraph(mnet)):
        assert wnet.compile().in_dims["Input"] == ("Varying", 5)
        got = wnet(X)
        for g, wv in zip(got, want):
            np.testing.assert_allclose(g, np.asarray(wv).T, rtol=1e-5, atol=1e-6)
    back = dlnetwork(NetChain(mnet))
    for g, wv in zip(predict(back, [x.T for x in X]), want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(wv), rtol=1e-5, atol=1e-6)
    # a Wolfram LSTM net as a MATLAB network: the same outputs
    wnet = NetInitialize(NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer(), LinearLayer(2)],
                                  Input=("Varying", 5)), RandomSeeding=3)
    np.testing.assert_allclose(np.asarray(predict(dlnetwork(wnet), [x.T for x in X])), wnet(X), rtol=1e-5,
                               atol=1e-6)


# -- the sequence layers ------------------------------------------------------------------------------
def _alone(head, x):
    return {"SequenceLastLayer": x[-1], "SequenceMostLayer": x[:-1], "SequenceRestLayer": x[1:],
            "SequenceReverseLayer": x[::-1]}[head]


@pytest.mark.parametrize("cls", [SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer])
def test_sequence_layers_act_on_each_sequences_own_elements(cls):
    X = _seqs([5, 2, 7, 3])
    net = NetChain([cls()], Input=("Varying", 3))
    got = net(X, WorkingPrecision="Real64")
    for g, x in zip(got, X):
        np.testing.assert_array_equal(np.asarray(g), _alone(cls.head, x))
    np.testing.assert_array_equal(np.asarray(net(X[2], WorkingPrecision="Real64")), _alone(cls.head, X[2]))
    # after an LSTM too (the padding of the batch is each sequence's own)
    chain = NetInitialize(NetChain([LongShortTermMemoryLayer(2), cls()], Input=("Varying", 3)), RandomSeeding=1)
    lstm = NetChain([chain._nodes["1"]])
    for g, x in zip(chain(X, WorkingPrecision="Real64"), X):
        np.testing.assert_allclose(np.asarray(g), _alone(cls.head, lstm(x, WorkingPrecision="Real64")), rtol=1e-12)


@pytest.mark.parametrize("family", ["sequence_last", "sequence_most", "sequence_rest", "sequence_reverse"])
@pytest.mark.parametrize("left", [False, True])
def test_sequence_ops_gradients_by_finite_differences(family, left):
    from layergraph.core.ops_sequence import SEQUENCE_OPS
    from layergraph.layers import sequence_ops as SQ
    cls = {c.family: c for c in SQ.SEQUENCE_LAYERS}[family]
    op = SEQUENCE_OPS[family](cls(Name="s"), [], [], np.float64)
    r = np.random.default_rng(1)
    x = r.standard_normal((3, 2, 5))
    op.seq = SeqInfo(np.array([5, 2, 4]), 5, left)
    y, ctx = op.forward(None, [x], {}, True)
    dy = r.standard_normal(y[0].shape)
    # padded outputs of a shortened sequence are not read downstream: leave them out of the loss
    out_seq = op.seq_out(op.seq)
    if out_seq is not None:
        dy = dy * out_seq.mask()[:, None, :]
    (dx,), _ = op.backward(None, [dy], ctx, {})
    num = np.zeros_like(x)
    eps = 1e-6
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (np.sum(op.forward(None, [xp], {}, True)[0][0] * dy)
                    - np.sum(op.forward(None, [xm], {}, True)[0][0] * dy)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-7, atol=1e-9)


def test_left_padding_keeps_each_sequences_own_elements():
    from layergraph.core.ops_sequence import SEQUENCE_OPS
    from layergraph.layers import sequence_ops as SQ
    r = np.random.default_rng(2)
    X = [r.standard_normal((2, t)) for t in (4, 1, 3)]
    from layergraph.core.sequence import pad, unpad
    batch, info = pad(X, left=True, dtype=np.float64)
    for cls in SQ.SEQUENCE_LAYERS:
        op = SEQUENCE_OPS[cls.family](cls(Name="s"), [], [], np.float64)
        op.seq = info
        if cls.min_length > 1:
            with pytest.raises(LayerGraphError, match="sequence 2 has 1"):
                op.forward(None, [batch], {}, False)
            continue
        (y,), _ = op.forward(None, [batch], {}, False)
        out = op.seq_out(info)
        parts = unpad(y, out) if out is not None else list(y)
        for p, x in zip(parts, X):
            np.testing.assert_array_equal(p, _alone(cls.__name__, x.T).T)


# -- training -----------------------------------------------------------------------------------------
def test_nettrain_on_sequences_of_different_lengths():
    """Which of two classes: the sign of the first feature at a sequence's last element, with
    lengths 2 to 9; the padded mini-batches must not leak into the last element."""
    r = np.random.default_rng(0)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(2, 10, 240)]
    y = ["pos" if x[-1, 0] > 0 else "neg" for x in X]
    net = NetChain([LongShortTermMemoryLayer(8), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
                   Input=("Varying", 2), Output=NetDecoder(("Class", ["neg", "pos"])))
    results = NetTrain(net, (X[:200], y[:200]), All, MaxTrainingRounds=12, BatchSize=16, LearningRate=0.02,
                       RandomSeeding=1, TrainingProgressReporting=None)
    trained = results["TrainedNet"]
    losses = results["RoundLossList"]
    assert losses[-1] < 0.5 * losses[0]
    predicted = trained(X[200:])
    assert np.mean(np.array(predicted) == np.array(y[200:])) >= 0.9
    # a batch of two sequences of different lengths, and one alone, agree
    two = trained([X[200], X[201]], None)
    np.testing.assert_allclose(two[1], trained(X[201], None), rtol=1e-5, atol=1e-6)
    # the trained arrays went back into Wolfram's 12 arrays
    before, after = NetInitialize(net, RandomSeeding=1), trained
    assert not np.array_equal(np.asarray(NetExtract(before, (1, "ForgetGateStateWeights"))),
                              np.asarray(NetExtract(after, (1, "ForgetGateStateWeights"))))


def test_nettrain_with_a_validation_set_of_sequences():
    r = np.random.default_rng(3)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(1, 6, 60)]
    y = [float(x[:, 1].sum()) for x in X]
    net = NetChain([LongShortTermMemoryLayer(6), SequenceLastLayer(), LinearLayer(1)], Input=("Varying", 2))
    from layergraph.wolfram import Scaled
    results = NetTrain(net, (X, [[v] for v in y]), All, MaxTrainingRounds=3, ValidationSet=Scaled(0.2),
                       RandomSeeding=2, TrainingProgressReporting=None)
    assert np.isfinite(results["ValidationLoss"])
    assert results["TrainingExamples"] == 48


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_sequence_data_names_the_port_and_sizes():
    net = _lstm(4, 3)
    with pytest.raises(LayerGraphError, match=r'port "Input" should be a sequence of length-3 vectors; received a '
                                              r"sequence of length-2 vectors \(\{5, 2\}\)"):
        net(np.zeros((5, 2)))
    with pytest.raises(LayerGraphError, match='port "Input": an empty sequence'):
        net([np.zeros((0, 3)), np.zeros((2, 3))])
    with pytest.raises(LayerGraphError, match=r'port "Input" mixes arrays of ranks \[1, 2\]'):
        net([np.zeros((4, 3)), np.zeros(3)])
    with pytest.raises(LayerGraphError, match=r'port "Input" should be a sequence of length-3 vectors \(a matrix'):
        net(np.zeros((2, 3, 3, 3)))
    with pytest.raises(LayerGraphError, match="no sequences"):
        net([])
    chain = NetChain([net, SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()])
    with pytest.raises(LayerGraphError, match='port "Input" should be a sequence of length-3 vectors'):
        NetTrain(chain, ([np.zeros((4, 3)), np.zeros((2, 4))], [1, 2]), MaxTrainingRounds=1,
                 TrainingProgressReporting=None)


def test_bad_layers_and_options_are_refused_in_wolframs_words():
    with pytest.raises(LayerGraphError, match=r"LinearLayer does not take sequences.*SequenceLastLayer"):
        NetChain([LinearLayer(3)], Input=("Varying", 2))
    with pytest.raises(LayerGraphError, match=r'should be a sequence of vectors \{"Varying", k\}, but received '
                                              r"\{4\}"):
        NetChain([LongShortTermMemoryLayer(3)], Input=4)
    with pytest.raises(LayerGraphError, match=r"sequence of vectors.*received \{4\}"):
        NetChain([SequenceLastLayer()], Input=4)
    with pytest.raises(LayerGraphError, match="Dropout probabilities should be numeric values between 0 and 1"):
        LongShortTermMemoryLayer(3, Dropout=1.5)
    with pytest.raises(LayerGraphError, match='allowed methods are "VariationalWeights", "VariationalInput"'):
        LongShortTermMemoryLayer(3, Dropout={"Bogus": 0.1})
    with pytest.raises(LayerGraphError, match="Dropout probabilities should be numeric values between 0 and 1"):
        LongShortTermMemoryLayer(3, Dropout=[("StateUpdate", "a")])
    with pytest.raises(LayerGraphError, match="the output size"):
        LongShortTermMemoryLayer(0)
    with pytest.raises(LayerGraphError, match=r'"InputGateBiases" has dimensions \{3\}, but dimensions \{4\}'):
        LongShortTermMemoryLayer(4, InputGateBiases=np.zeros(3))
    with pytest.raises(LayerGraphError, match="needs sequences of at least 2 elements; sequence 2 has 1"):
        NetChain([SequenceRestLayer()], Input=("Varying", 2))([np.zeros((3, 2)), np.zeros((1, 2))])
    # per-step layers that take sequences: an ElementwiseLayer
    y = NetChain([Tanh], Input=("Varying", 2))([np.ones((3, 2)), np.ones((1, 2))])
    assert [np.asarray(v).shape for v in y] == [(3, 2), (1, 2)]


def test_learning_rate_multipliers_of_single_gates():
    """LearningRateMultipliers of one gate's array become that gate's core factor (a 1-by-4
    vector i, f, g, o); NetTrain leaves a frozen array as it was and trains the others."""
    layer = LongShortTermMemoryLayer(3, LearningRateMultipliers={"ForgetGateBiases": 0, "MemoryGateStateWeights": 0})
    spec = NetChain([layer], Input=("Varying", 2)).compile().leaves[("1",)].built.specs[0]
    assert spec.BiasLearnRateFactor == (1.0, 0.0, 1.0, 1.0)
    assert spec.RecurrentWeightsLearnRateFactor == (1.0, 1.0, 0.0, 1.0)
    assert spec.InputWeightsLearnRateFactor == 1.0
    r = np.random.default_rng(4)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(1, 5, 32)]
    net = NetInitialize(NetChain([layer, SequenceLastLayer(), LinearLayer(1)], Input=("Varying", 2)),
                        RandomSeeding=3)
    trained = NetTrain(net, (X, [[float(x.sum())] for x in X]), MaxTrainingRounds=2, RandomSeeding=1,
                       TrainingProgressReporting=None)
    a, b = net._nodes["1"].arrays, trained._nodes["1"].arrays
    for name in ("ForgetGateBiases", "MemoryGateStateWeights"):
        np.testing.assert_array_equal(a[name], b[name])
    for name in ("InputGateBiases", "ForgetGateStateWeights", "MemoryGateInputWeights"):
        assert not np.array_equal(a[name], b[name]), name


def test_softmax_per_element_and_batch_size_on_sequences():
    net = NetInitialize(NetChain([LongShortTermMemoryLayer(3), SoftmaxLayer()], Input=("Varying", 2)),
                        RandomSeeding=2)
    X = _seqs([4, 1, 6, 2], d=2)
    y = net(X)
    assert [v.shape for v in y] == [(4, 3), (1, 3), (6, 3), (2, 3)]
    for v in y:
        np.testing.assert_allclose(v.sum(axis=1), 1, rtol=1e-6)
    lstm = NetChain([net._nodes["1"]])
    for v, x in zip(y, X):   # softmax of each element of the LSTM's output
        z = np.exp(lstm(x))
        np.testing.assert_allclose(v, z / z.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    for v, w in zip(net(X, BatchSize=3), y):   # mini-batches padded on their own
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-6)
    with pytest.raises(LayerGraphError, match="only the last level"):
        NetChain([SoftmaxLayer(1)], Input=("Varying", 2))


def test_the_input_size_comes_from_the_data():
    """NetChain[{LongShortTermMemoryLayer[n], ...}] without "Input": NetTrain sizes it from the
    sequences, as Wolfram does; so does "Input" -> {"Varying", Automatic}."""
    r = np.random.default_rng(5)
    X = [r.standard_normal((int(t), 3)) for t in r.integers(1, 6, 20)]
    for spec in (None, ("Varying", None)):
        net = NetChain([LongShortTermMemoryLayer(4), SequenceLastLayer(), LinearLayer(1)], Input=spec)
        assert net.compile().in_dims["Input"] is None
        trained = NetTrain(net, (X, [[float(x[-1, 0])] for x in X]), MaxTrainingRounds=1, RandomSeeding=1,
                           TrainingProgressReporting=None)
        assert trained.compile().in_dims["Input"] == ("Varying", 3)
        assert trained(X).shape == (20, 1)
    with pytest.raises(LayerGraphError, match="should be a sequence of length-3 vectors; received a sequence of "
                                              "length-2"):
        NetTrain(net, ([X[0], X[1][:, :2]], [[0.0], [1.0]]), MaxTrainingRounds=1, TrainingProgressReporting=None)
