"""Training and stateful prediction of MATLAB sequence networks: trainNetwork on sequences with
labels per sequence and per time step (padding masked out of the loss), per-gate factors,
input normalization over time steps, predictAndUpdateState / classifyAndUpdateState /
resetState, and the messages for labels that do not fit."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (
    categorical,
    classificationLayer,
    classifyAndUpdateState,
    dlnetwork,
    fullyConnectedLayer,
    lstmLayer,
    predictAndUpdateState,
    regressionLayer,
    resetState,
    sequenceInputLayer,
    softmaxLayer,
    trainingOptions,
    trainNetwork,
)


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


def test_sequence_to_label_learns_with_either_padding():
    X, y = _toy()
    for direction in ("right", "left"):
        layers = [sequenceInputLayer(2), lstmLayer(8, "OutputMode", "last"), fullyConnectedLayer(2), softmaxLayer(),
                  classificationLayer()]
        net, info = trainNetwork(X, categorical(y), layers, _opts(SequencePaddingDirection=direction))
        labels, _ = net.classify(X)
        assert np.mean(np.asarray(labels).astype(int) == y) > 0.9
        assert info.TrainingLoss[-1] < info.TrainingLoss[0]


def test_sequence_to_sequence_per_step_labels():
    X, _ = _toy(40, seed=1)
    Y = [categorical(np.where(x[0] > 0, "up", "down"), ["down", "up"]) for x in X]   # per step: sign of feature 1
    layers = [sequenceInputLayer(2), lstmLayer(8), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net, info = trainNetwork(X, Y, layers, _opts(MaxEpochs=10))
    labels, scores = net.classify(X)
    assert [lab.shape[1] for lab in labels] == [x.shape[1] for x in X]
    hits = np.concatenate([lab.ravel() == np.where(x[0] > 0, "up", "down") for lab, x in zip(labels, X)])
    assert hits.mean() > 0.9
    assert np.nanmax(info.TrainingAccuracy) > 80


def test_padding_is_masked_out_of_the_loss():
    """One training step on a padded mini-batch moves the weights as the same step on the
    sequences' own steps would: the loss (and so the update) does not see the padding value."""
    X, _ = _toy(8, seed=2)
    Y = [categorical(np.where(x[0] > 0, "up", "down"), ["down", "up"]) for x in X]
    layers = [sequenceInputLayer(2), lstmLayer(4), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    from layergraph import rng
    nets = []
    for value in (0.0, 123.0):
        rng(5)
        net, info = trainNetwork(X, Y, layers, _opts(MaxEpochs=1, MiniBatchSize=8, Shuffle="never",
                                                     SequencePaddingValue=value))
        nets.append((net, info))
    (a, ia), (b, ib) = nets
    np.testing.assert_allclose(ia.TrainingLoss, ib.TrainingLoss, rtol=1e-6)
    np.testing.assert_allclose(a.Layers[1].InputWeights, b.Layers[1].InputWeights, rtol=1e-5, atol=1e-7)


def test_batch_normalization_on_sequences_uses_each_sequences_own_steps():
    """Batch statistics over the valid steps only: the padding value changes nothing, in a
    training pass (BN followed by ReLU, which training would otherwise fuse) or in training."""
    from layergraph.matlab import batchNormalizationLayer, reluLayer
    X, y = _toy(8, seed=3)
    layers = [sequenceInputLayer(2), batchNormalizationLayer(), reluLayer(), lstmLayer(4, "OutputMode", "last"),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net = dlnetwork(layers[:-1])
    steps = np.concatenate(X, axis=1)
    ex = net.executor("cpu", np.float64)
    from layergraph.core.network import SequencePadding
    batch, seq = SequencePadding(value=50.0).batch({"sequenceinput": [x.astype(np.float64) for x in X]},
                                                   slice(0, 8), np.float64)
    acts = ex.forward(batch, training=True, keep={("batchnorm", "out")}, seq=seq)
    mean, var = ex.batch_stats["batchnorm"]
    np.testing.assert_allclose(mean, steps.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(var, steps.var(axis=1), rtol=1e-6)
    assert acts[("batchnorm", "out")].shape == batch["sequenceinput"].shape
    from layergraph import rng
    weights = []
    for value in (0.0, -40.0):
        rng(2)
        trained, _ = trainNetwork(X, categorical(y), layers, _opts(MaxEpochs=2, Shuffle="never",
                                                                   SequencePaddingValue=value))
        weights.append(trained.Layers[3].InputWeights)
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-5, atol=1e-6)


def test_per_step_labels_that_do_not_fit_are_refused():
    X, _ = _toy(4)
    layers = [sequenceInputLayer(2), lstmLayer(4), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    Y = [categorical(["a"] * x.shape[1], ["a", "b"]) for x in X]
    Y[2] = categorical(["a"] * (X[2].shape[1] + 1), ["a", "b"])
    with pytest.raises(LayerGraphError) as err:
        trainNetwork(X, Y, layers, _opts())
    assert f"Observation 3 has {X[2].shape[1]} time steps" in str(err.value)
    with pytest.raises(LayerGraphError, match="cell array"):
        trainNetwork(X, categorical(["a", "b", "a", "b"]), layers, _opts())


def test_gate_learn_rate_factor_zero_freezes_that_gate():
    X, y = _toy(24)
    layers = [sequenceInputLayer(2), lstmLayer(4, "OutputMode", "last", "InputWeightsLearnRateFactor", [1, 0, 1, 1],
                                              "InputWeightsL2Factor", [1, 1, 1, 0]),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    from layergraph import rng
    rng(3)
    start = dlnetwork(layers[:-1]).Layers[1].InputWeights
    rng(3)
    net, _ = trainNetwork(X, categorical(y), layers, _opts(MaxEpochs=2))
    w = net.Layers[1].InputWeights
    np.testing.assert_array_equal(w[4:8], start[4:8])        # the forget gate's rows (factor 0)
    assert not np.allclose(w[:4], start[:4])


def test_input_normalization_over_time_steps():
    X, y = _toy(20)
    layers = [sequenceInputLayer(2, "Normalization", "zscore"), lstmLayer(4, "OutputMode", "last"),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net, _ = trainNetwork(X, categorical(y), layers, _opts(MaxEpochs=1))
    steps = np.concatenate(X, axis=1)
    np.testing.assert_allclose(net.Layers[0].Mean.ravel(), steps.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(net.Layers[0].StandardDeviation.ravel(), steps.std(axis=1), rtol=1e-4)
    assert net.Layers[0].Mean.shape == (2, 1)


def test_regression_per_step():
    X, _ = _toy(30, seed=4)
    Y = [np.cumsum(x[:1], axis=1) * 0.1 for x in X]
    layers = [sequenceInputLayer(2), lstmLayer(8), fullyConnectedLayer(1), regressionLayer()]
    net, info = trainNetwork(X, Y, layers, _opts(MaxEpochs=15))
    assert info.TrainingLoss[-1] < 0.5 * info.TrainingLoss[0]
    out = net.predict(X)
    assert [o.shape for o in out] == [(1, x.shape[1]) for x in X]


def test_predict_and_update_state_carries_the_state():
    X, y = _toy(6)
    layers = [sequenceInputLayer(2), lstmLayer(5), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    net, _ = trainNetwork(X, [categorical(["a"] * x.shape[1], ["a", "b"]) for x in X], layers, _opts(MaxEpochs=1))
    full = np.random.default_rng(0).standard_normal((2, 9)).astype(np.float32)
    whole = net.predict([full])[0]
    net1, first = predictAndUpdateState(net, [full[:, :4]])
    net2, second = predictAndUpdateState(net1, [full[:, 4:]])
    np.testing.assert_allclose(np.concatenate([first[0], second[0]], axis=1), whole, rtol=1e-5, atol=1e-6)
    assert net1.Layers[1].HiddenState.shape == (5, 1) and np.any(net1.Layers[1].HiddenState != 0)
    assert not np.any(net.Layers[1].HiddenState)                           # the network given is unchanged
    back = resetState(net2)
    np.testing.assert_array_equal(back.Layers[1].HiddenState, net.Layers[1].HiddenState)
    np.testing.assert_allclose(back.predict([full])[0], whole, rtol=1e-6)
    # several observations: one state column each, as classifyAndUpdateState reports
    seqs = [full[:, :3], full[:, 2:8]]
    n3, labels, scores = classifyAndUpdateState(net, seqs)
    assert n3.Layers[1].HiddenState.shape == (5, 2) and [lab.shape for lab in labels] == [(1, 3), (1, 6)]
    n4, later = predictAndUpdateState(n3, [full[:, 3:5], full[:, 8:]])
    np.testing.assert_allclose(later[0], net.predict([full[:, :5]])[0][:, 3:], rtol=1e-5, atol=1e-6)
    with pytest.raises(LayerGraphError, match="holds 2 observations"):
        predictAndUpdateState(n3, [full])


def test_carried_state_saves_and_loads(tmp_path):
    import layergraph
    X, _ = _toy(4)
    net = dlnetwork([sequenceInputLayer(2), lstmLayer(3), fullyConnectedLayer(2)])
    carried, _ = predictAndUpdateState(net, X[:2])
    layergraph.save(carried, tmp_path / "net.lgnet")
    back = layergraph.load(tmp_path / "net.lgnet")
    np.testing.assert_array_equal(back.Layers[1].HiddenState, carried.Layers[1].HiddenState)
    assert back.Layers[1].HiddenState.shape == (3, 2)
    for a, b in zip(predictAndUpdateState(back, X[2:])[1], predictAndUpdateState(carried, X[2:])[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resetState(back).Layers[1].CellState, net.Layers[1].CellState)
    with pytest.raises(LayerGraphError, match="4x1 \\(or 4xN"):
        lstmLayer(4, "HiddenState", np.zeros((3, 1)))


def test_integer_sequence_length_trains_in_chunks():
    """SequenceLength = k: k steps at a time, one update per chunk, the state carried through a
    mini-batch. With k at least the longest sequence it is the whole-sequence training; shorter
    chunks train too (sequence-to-sequence and sequence-to-label)."""
    from layergraph import rng
    X, y = _toy(24, seed=6)
    Y = [categorical(np.where(x[0] > 0, "up", "down"), ["down", "up"]) for x in X]
    seq_layers = [sequenceInputLayer(2), lstmLayer(6), fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    runs = {}
    for k in ("longest", 50):
        rng(4)
        runs[k] = trainNetwork(X, Y, seq_layers, _opts(MaxEpochs=2, Shuffle="never", SequenceLength=k))
    np.testing.assert_allclose(runs[50][0].Layers[1].InputWeights, runs["longest"][0].Layers[1].InputWeights,
                               rtol=1e-6, atol=1e-7)
    net, info = trainNetwork(X, Y, seq_layers, _opts(MaxEpochs=8, SequenceLength=3))
    assert info.TrainingLoss[-1] < info.TrainingLoss[0]
    labels, _ = net.classify(X)
    hits = np.concatenate([lab.ravel() == np.where(x[0] > 0, "up", "down") for lab, x in zip(labels, X)])
    assert hits.mean() > 0.8
    last_layers = [sequenceInputLayer(2), lstmLayer(6, "OutputMode", "last"), fullyConnectedLayer(2), softmaxLayer(),
                   classificationLayer()]
    net, info = trainNetwork(X, categorical(y), last_layers, _opts(MaxEpochs=8, SequenceLength=2))
    assert np.all(np.isfinite(info.TrainingLoss)) and info.TrainingLoss[-1] < info.TrainingLoss[0]
    assert len(info.TrainingLoss) == 8 * (24 // 8)           # one iteration per mini-batch, chunks or not
