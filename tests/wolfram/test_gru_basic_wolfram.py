"""Wolfram's GatedRecurrentLayer (on the core GRU, 'after-multiplication') and BasicRecurrentLayer
(on the core basic recurrent layer): against torch nn.GRU / nn.RNN with the weights mapped from
Wolfram's arrays (values; gradients of the stacked arrays and of the input through the executor of
NetTrain's training view, on a padded batch of three lengths), printouts, NetInitialize,
Information, NetExtract, save/load, LearningRateMultipliers per array, "Dropout" specs, NetTrain
on sequences of different lengths, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import layergraph
from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (
    All,
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    Information,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
)
from layergraph.wolfram.recurrent import GRU_GATES, Sequences, core_arrays, recurrent_arrays

CLASSES = [GatedRecurrentLayer, BasicRecurrentLayer]
GATES_OF = {GatedRecurrentLayer: GRU_GATES, BasicRecurrentLayer: ("",)}


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _layer(cls, n=4, k=3, seed=1):
    layer = NetInitialize(cls(n, Input=("Varying", k)), RandomSeeding=seed)
    # nonzero biases, so that a misplaced bias shows
    r = np.random.default_rng(seed + 100)
    return layer.with_arrays({a: 0.3 * r.standard_normal(v.shape) for a, v in layer.arrays.items()
                              if a.endswith("Biases")})


def _torch(cls, layer):
    """nn.GRU (gates r, z, n = Wolfram's ResetGate, InputGate, MemoryGate; bias_hh 0: Wolfram's
    memory gate has one bias, outside r * (Wms.s)) or nn.RNN (tanh) with Wolfram's arrays."""
    w = core_arrays(layer.arrays, GATES_OF[cls])
    n, k = layer.arrays[f"{GATES_OF[cls][0]}InputWeights"].shape
    m = (torch.nn.GRU(k, n, batch_first=True) if cls is GatedRecurrentLayer else
         torch.nn.RNN(k, n, batch_first=True, nonlinearity="tanh")).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(w["InputWeights"].astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(w["RecurrentWeights"].astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(w["Bias"].astype(np.float64)))
        m.bias_hh_l0.zero_()
    return m


def _wolfram_gru_step(layer, x):
    """Wolfram's documented equations, one step at a time (GatedRecurrentLayer.html)."""
    a = {k: v.astype(np.float64) for k, v in layer.arrays.items()}
    sig = lambda v: 1 / (1 + np.exp(-v))   # noqa: E731
    s = np.zeros(a["InputGateBiases"].shape)
    out = []
    for xt in x:
        i = sig(a["InputGateInputWeights"] @ xt + a["InputGateStateWeights"] @ s + a["InputGateBiases"])
        r = sig(a["ResetGateInputWeights"] @ xt + a["ResetGateStateWeights"] @ s + a["ResetGateBiases"])
        m = np.tanh(a["MemoryGateInputWeights"] @ xt + r * (a["MemoryGateStateWeights"] @ s) + a["MemoryGateBiases"])
        s = (1 - i) * m + i * s
        out.append(s)
    return np.array(out)


# -- printouts, arrays, core mapping ---------------------------------------------------------------------
def test_printouts():
    text = repr(GatedRecurrentLayer(5, Input=("Varying", 3)))
    assert text.startswith("GatedRecurrentLayer  (uninitialized)")
    assert "OutputSize: 5" in text and "Dropout:    None" in text
    names = [line.split(":")[0].strip() for line in text.splitlines() if "Gate" in line and "size" in line]
    assert names == [f"{g}{k}" for g in ("InputGate", "ResetGate", "MemoryGate")
                     for k in ("InputWeights", "StateWeights", "Biases")]   # Wolfram's documented order
    assert "ResetGateStateWeights:  matrix (size: 5\u00d75)" in text
    assert "Output: matrix (size: n\u00d75)" in text
    text = repr(BasicRecurrentLayer(2, Input=("Varying", 3)))
    assert "InputWeights: matrix (size: 2\u00d73)" in text and "StateWeights: matrix (size: 2\u00d72)" in text
    assert "Biases:       vector (size: 2)" in text and "Input:  matrix (size: n\u00d73)" in text
    net = NetChain([GatedRecurrentLayer(4), BasicRecurrentLayer(3), SequenceLastLayer()], Input=("Varying", 2))
    assert "GatedRecurrentLayer  matrix (size: n\u00d74)" in repr(net)
    assert "BasicRecurrentLayer  matrix (size: n\u00d73)" in repr(net)
    assert net.compile().out_dims["Output"] == (3,)


@pytest.mark.parametrize("cls", CLASSES)
def test_initialize_information_extract_and_core_mapping(cls):
    layer = _layer(cls, 4, 3)
    gates = GATES_OF[cls]
    assert set(layer.arrays) == {f"{g}{k}" for g in gates for k in ("InputWeights", "StateWeights", "Biases")}
    fresh = NetInitialize(cls(4, Input=("Varying", 3)), RandomSeeding=1)
    for g in gates:
        assert not np.any(fresh.arrays[f"{g}Biases"])           # biases start at 0
        assert np.std(fresh.arrays[f"{g}InputWeights"]) > 0
        sw = fresh.arrays[f"{g}StateWeights"].astype(np.float64)
        if cls is BasicRecurrentLayer:   # the core's orthogonal recurrent weights
            np.testing.assert_allclose(sw @ sw.T, np.eye(4), atol=1e-5)
    net = NetChain([layer])
    assert Information(net, "ArraysTotalElementCount") == len(gates) * (4 * 3 + 4 * 4 + 4)
    name = f"{gates[-1]}StateWeights"
    assert np.array_equal(np.asarray(NetExtract(net, (1, name))), layer.arrays[name])
    spec = layer.core_spec("r")
    assert type(spec) is cls.core_class and spec.NumHiddenUnits == 4 and spec.InputSize == 3
    if cls is GatedRecurrentLayer:
        assert spec.ResetGateMode == "after-multiplication"
    for i, g in enumerate(gates):   # the core's stacking order
        np.testing.assert_array_equal(spec.InputWeights[i * 4:(i + 1) * 4], layer.arrays[f"{g}InputWeights"])
        np.testing.assert_array_equal(spec.Bias[i * 4:(i + 1) * 4].ravel(), layer.arrays[f"{g}Biases"])
    back = recurrent_arrays(spec, gates)
    assert all(np.array_equal(back[k], layer.arrays[k]) for k in layer.arrays)
    assert cls.from_core(spec) == layer


def test_from_core_refuses_what_wolfram_cannot_say():
    from layergraph.wolfram.layers import NoCounterpart
    for mode in ("before-multiplication", "recurrent-bias-after-multiplication"):
        with pytest.raises(NoCounterpart, match="ResetGateMode"):
            GatedRecurrentLayer.from_core(L.GRULayer(NumHiddenUnits=3, ResetGateMode=mode))
    with pytest.raises(NoCounterpart, match="tanh"):
        BasicRecurrentLayer.from_core(L.RecurrentLayer(NumHiddenUnits=3, StateActivationFunction="softsign"))
    with pytest.raises(NoCounterpart, match="OutputMode"):
        BasicRecurrentLayer.from_core(L.RecurrentLayer(NumHiddenUnits=3, OutputMode="last"))


# -- values and gradients ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_values_match_torch_on_a_list_of_matrices(cls):
    layer = _layer(cls, 4, 3)
    m = _torch(cls, layer)
    X = _seqs([5, 1, 7])
    got = layer(X, WorkingPrecision="Real64")
    assert [g.shape for g in got] == [(5, 4), (1, 4), (7, 4)]
    for x, g in zip(X, got):
        want, _ = m(torch.from_numpy(x[None]))
        np.testing.assert_allclose(g, want[0].detach().numpy(), rtol=1e-10, atol=1e-12)
        if cls is GatedRecurrentLayer:
            np.testing.assert_allclose(g, _wolfram_gru_step(layer, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(X[0], WorkingPrecision="Real64"), got[0], rtol=1e-12)   # one T x d matrix
    np.testing.assert_allclose(layer(X)[2], got[2], rtol=1e-4, atol=1e-5)                    # float32


@pytest.mark.parametrize("cls", CLASSES)
def test_gradients_through_the_training_executor_match_torch(cls):
    """float64 through the core network NetTrain trains: gradients of the stacked arrays and of the
    input on a padded batch of three lengths equal torch's summed over each sequence alone."""
    net = NetInitialize(NetChain([_layer(cls, 4, 3, seed=5), SequenceLastLayer(), LinearLayer(2)],
                                 Input=("Varying", 3)), RandomSeeding=2)
    X = _seqs([6, 2, 4], seed=3)
    view = net._for_training({"Input": Sequences(X, 3)}, lambda w: w, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    data = Sequences(X, 3).core_data(np.float64)[np.arange(3)]
    acts = ex.forward({"$in:Input": np.asarray(data)}, training=True, seq={"$in:Input": data.seq})
    out_ref = view.output_ref("Output")
    y = acts[out_ref]
    dy = np.random.default_rng(0).standard_normal(y.shape)
    grads = ex.backward({out_ref: dy}, input_grads=True)
    g = grads[view._compiled.leaves[("1",)].core_names[0]]
    m = _torch(cls, net._nodes["1"])
    lin = net._nodes["3"]
    W = torch.from_numpy(lin.arrays["Weights"].astype(np.float64))
    b = torch.from_numpy(lin.arrays["Biases"].astype(np.float64))
    total, xs = 0, []
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
    for i, (x, xt) in enumerate(zip(X, xs)):
        np.testing.assert_allclose(dx[i][:, :len(x)].T, xt.grad[0].numpy(), rtol=1e-9, atol=1e-11)
        assert not np.any(dx[i][:, len(x):])


def test_same_outputs_as_matlab_gru_layer_and_a_matlab_gru_network_as_a_net():
    from layergraph.matlab import dlnetwork, gruLayer, predict, sequenceInputLayer
    layer = _layer(GatedRecurrentLayer, 4, 3, seed=7)
    w = core_arrays(layer.arrays, GRU_GATES)
    mnet = dlnetwork([sequenceInputLayer(3), gruLayer(4, "InputWeights", w["InputWeights"], "RecurrentWeights",
                                                      w["RecurrentWeights"], "Bias", w["Bias"].reshape(-1, 1))])
    X = _seqs([4, 6, 2], seed=8)
    got = layer(X, WorkingPrecision="Real64")
    for g, wv in zip(got, predict(mnet, [x.T for x in X], dtype=np.float64)):
        np.testing.assert_allclose(g, np.asarray(wv).T, rtol=1e-10, atol=1e-12)
    # a Wolfram GRU / basic recurrent net as a dlnetwork, and back as a net: the same outputs
    wnet = NetInitialize(NetChain([GatedRecurrentLayer(3), BasicRecurrentLayer(2), SequenceLastLayer()],
                                  Input=("Varying", 3)), RandomSeeding=3)
    d = dlnetwork(wnet)
    np.testing.assert_allclose(np.asarray(predict(d, [x.T for x in X])), wnet(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(NetGraph(d)(X), wnet(X), rtol=1e-5, atol=1e-6)


# -- save / load, multipliers, training ------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_save_and_load(cls, tmp_path):
    net = NetChain([_layer(cls, 3, 2), SequenceLastLayer()], Input=("Varying", 2))
    path = tmp_path / "net.lgnet"
    layergraph.save(net, path)
    back = layergraph.load(path)
    assert type(back) is NetChain and repr(back) == repr(net)
    for name in net._nodes["1"].active_arrays:
        a, b = np.asarray(NetExtract(net, (1, name))), np.asarray(NetExtract(back, (1, name)))
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    X = _seqs([3, 5], d=2)
    assert np.array_equal(net(X), back(X))


@pytest.mark.parametrize("cls", CLASSES)
def test_learning_rate_multipliers_per_array(cls):
    gates = GATES_OF[cls]
    frozen = {f"{gates[-1]}Biases": 0, f"{gates[0]}StateWeights": 0}
    layer = cls(3, LearningRateMultipliers=frozen)
    spec = NetChain([layer], Input=("Varying", 2)).compile().leaves[("1",)].built.specs[0]
    if cls is GatedRecurrentLayer:   # a 1-by-3 vector in the core's order r, z, h
        assert spec.BiasLearnRateFactor == (1.0, 1.0, 0.0)
        assert spec.RecurrentWeightsLearnRateFactor == (0.0, 1.0, 1.0)
    else:
        assert spec.BiasLearnRateFactor == 0.0 and spec.RecurrentWeightsLearnRateFactor == 0.0
    assert spec.InputWeightsLearnRateFactor == 1.0
    r = np.random.default_rng(4)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(1, 5, 32)]
    net = NetInitialize(NetChain([layer, SequenceLastLayer(), LinearLayer(1)], Input=("Varying", 2)),
                        RandomSeeding=3)
    trained = NetTrain(net, (X, [[float(x.sum())] for x in X]), MaxTrainingRounds=2, RandomSeeding=1,
                       TrainingProgressReporting=None)
    a, b = net._nodes["1"].arrays, trained._nodes["1"].arrays
    for name in frozen:
        np.testing.assert_array_equal(a[name], b[name])
    for name in set(a) - set(frozen):
        assert not np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize("cls", CLASSES)
def test_nettrain_on_sequences_of_different_lengths(cls):
    """Which of two classes: the sign of the first feature at a sequence's last element, lengths
    2 to 9; at least 90 % right on 40 held-out sequences."""
    r = np.random.default_rng(0)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(2, 10, 240)]
    y = ["pos" if x[-1, 0] > 0 else "neg" for x in X]
    net = NetChain([cls(8), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
                   Input=("Varying", 2), Output=NetDecoder(("Class", ["neg", "pos"])))
    results = NetTrain(net, (X[:200], y[:200]), All, MaxTrainingRounds=12, BatchSize=16, LearningRate=0.02,
                       RandomSeeding=1, TrainingProgressReporting=None)
    losses = results["RoundLossList"]
    assert losses[-1] < 0.5 * losses[0]
    trained = results["TrainedNet"]
    assert np.mean(np.array(trained(X[200:])) == np.array(y[200:])) >= 0.9
    two = trained([X[200], X[201]], None)   # a padded batch, and one alone, agree
    np.testing.assert_allclose(two[1], trained(X[201], None), rtol=1e-5, atol=1e-6)


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input_is_refused_in_wolframs_words(cls):
    head = cls.head
    with pytest.raises(LayerGraphError, match="Dropout probabilities should be numeric values between 0 and 1"):
        cls(3, Dropout=1.5)
    with pytest.raises(LayerGraphError, match='allowed methods are "VariationalWeights", "VariationalInput"'):
        cls(3, Dropout={"Bogus": 0.1})
    with pytest.raises(LayerGraphError, match="Dropout probabilities should be numeric values between 0 and 1"):
        cls(3, Dropout=[("VariationalState", -0.2)])
    with pytest.raises(LayerGraphError, match="the output size"):
        cls(0)
    with pytest.raises(LayerGraphError, match="the output size n is not specified"):
        cls()
    with pytest.raises(LayerGraphError, match=r"should be a sequence of vectors \{\"Varying\", k\}, but received "
                                              r"\{4\}"):
        NetChain([cls(3)], Input=4)
    bias = f"{GATES_OF[cls][0]}Biases"
    with pytest.raises(LayerGraphError, match=rf'"{bias}" has dimensions \{{3\}}, but dimensions \{{4\}}'):
        cls(4, **{bias: np.zeros(3)})
    with pytest.raises(LayerGraphError, match="is not a known parameter or option for " + head):
        cls(3, GateActivation="Tanh")
    layer = _layer(cls, 4, 3)
    with pytest.raises(LayerGraphError, match=r'port "Input" should be a sequence of length-3 vectors; received a '
                                              r"sequence of length-2 vectors"):
        layer(np.zeros((5, 2)))
    with pytest.raises(LayerGraphError, match='port "Input": an empty sequence'):
        layer([np.zeros((0, 3)), np.zeros((2, 3))])


def test_basic_recurrent_layer_refuses_the_state_update_dropout():
    with pytest.raises(LayerGraphError, match='"UpdateVector" dropout method is not applicable to '
                                              "BasicRecurrentLayer"):
        BasicRecurrentLayer(3, Dropout={"StateUpdate": 0.3})
    assert GatedRecurrentLayer(3, Dropout={"StateUpdate": 0.3}).params["Dropout"] == {"StateUpdate": 0.3}
