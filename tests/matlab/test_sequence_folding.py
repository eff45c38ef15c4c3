"""sequenceFoldingLayer / sequenceUnfoldingLayer: properties and printouts, the layer graph of
MATLAB's video classification example (connectLayers(lgraph,'fold/miniBatchSize',
'unfold/miniBatchSize')), analyzeNetwork sizes and formats, folding -> layers -> unfolding
equal to the direct form on image sequences (values, padded batches, gradients), trainNetwork,
and the errors of a folding without its unfolding."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.sequence import pad
from layergraph.matlab import (
    addLayers,
    analyzeNetwork,
    batchNormalizationLayer,
    categorical,
    classificationLayer,
    classify,
    connectLayers,
    convolution2dLayer,
    dlnetwork,
    flattenLayer,
    fullyConnectedLayer,
    layerGraph,
    lstmLayer,
    maxPooling2dLayer,
    predict,
    reluLayer,
    sequenceFoldingLayer,
    sequenceInputLayer,
    sequenceUnfoldingLayer,
    softmaxLayer,
    trainingOptions,
    trainNetwork,
)
from layergraph.display.matlab_display import layer_array_display
from layergraph.matlab.layer_array import LayerArray

H, W, C = 6, 5, 2


def _seqs(lengths, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((H, W, C, k)) for k in lengths]


def _middle(seed=0):
    """conv -> BN -> ReLU -> max pooling with random learnables and statistics."""
    r = np.random.default_rng(seed)
    conv = convolution2dLayer(3, 4, "Padding", "same", "Name", "conv",
                              "Weights", r.standard_normal((3, 3, C, 4)), "Bias", r.standard_normal((1, 1, 4)))
    bn = batchNormalizationLayer("Name", "bn", "Scale", r.standard_normal((1, 1, 4)),
                                 "Offset", r.standard_normal((1, 1, 4)),
                                 "TrainedMean", r.standard_normal((1, 1, 4)),
                                 "TrainedVariance", r.uniform(0.5, 1.5, (1, 1, 4)))
    return [conv, bn, reluLayer("Name", "relu"), maxPooling2dLayer(2, "Stride", 2, "Name", "pool")]


def _tail(seed=1):
    r = np.random.default_rng(seed)
    feats = 3 * 2 * 4
    return [flattenLayer("Name", "flatten"),
            lstmLayer(3, "Name", "lstm", "InputWeights", r.standard_normal((12, feats)),
                      "RecurrentWeights", r.standard_normal((12, 3)), "Bias", r.standard_normal((12, 1)))]


def folded_graph(middle=None, tail=None):
    """MATLAB's video classification layout: input -> fold, fold/out -> the per-image layers ->
    unfold/in, fold/miniBatchSize -> unfold/miniBatchSize, unfold -> flatten -> LSTM."""
    middle = _middle() if middle is None else middle
    lg = layerGraph([sequenceInputLayer([H, W, C], "Name", "input"), sequenceFoldingLayer("Name", "fold")])
    lg = addLayers(lg, middle)
    lg = connectLayers(lg, "fold/out", middle[0].Name)
    lg = addLayers(lg, [sequenceUnfoldingLayer("Name", "unfold"), *(_tail() if tail is None else tail)])
    lg = connectLayers(lg, middle[-1].Name, "unfold/in")
    return connectLayers(lg, "fold/miniBatchSize", "unfold/miniBatchSize")


def direct_layers():
    return [sequenceInputLayer([H, W, C], "Name", "input"), *_middle(), *_tail()]


# -- the layers ----------------------------------------------------------------------------------
def test_properties_and_defaults():
    fold = sequenceFoldingLayer("Name", "fold1")
    assert (fold.Name, fold.NumInputs, fold.InputNames) == ("fold1", 1, ["in"])
    assert (fold.NumOutputs, fold.OutputNames) == (2, ["out", "miniBatchSize"])
    unfold = sequenceUnfoldingLayer()
    assert (unfold.Name, unfold.NumInputs, unfold.InputNames) == ("", 2, ["in", "miniBatchSize"])
    assert (unfold.NumOutputs, unfold.OutputNames) == (1, ["out"])
    assert fold.Type == "Sequence Folding" and unfold.Type == "Sequence Unfolding"


def test_printouts():
    text = str(sequenceFoldingLayer("Name", "fold"))
    assert text.splitlines()[0] == "  SequenceFoldingLayer with properties:"
    assert "Name: 'fold'" in text and "OutputNames: {'out'  'miniBatchSize'}" in text
    text = str(sequenceUnfoldingLayer("Name", "unfold"))
    assert "InputNames: {'in'  'miniBatchSize'}" in text and "NumInputs: 2" in text
    rows = layer_array_display(LayerArray([sequenceFoldingLayer("Name", "fold"),
                                           sequenceUnfoldingLayer("Name", "unfold")])).splitlines()
    assert rows[2].split() == ["1", "'fold'", "Sequence", "Folding", "Sequence", "folding"]
    assert rows[3].split() == ["2", "'unfold'", "Sequence", "Unfolding", "Sequence", "unfolding"]


def test_analyze_network_sizes_and_formats():
    a = analyzeNetwork(folded_graph())
    assert not a.errors
    fold = a.info("fold")
    assert {p: str(s) for p, s in fold.ActivationSizes.items()} == {"out": f"{H}x{W}x{C}", "miniBatchSize": "1"}
    assert fold.ActivationFormats == {"out": "SSCB", "miniBatchSize": "CB"}
    assert a.info("conv").ActivationFormats == {"out": "SSCB"}
    assert a.info("pool").ActivationFormats == {"out": "SSCB"}
    assert str(a.info("unfold").ActivationSizes["out"]) == "3x2x4"
    assert a.info("unfold").ActivationFormats == {"out": "SSCBT"}
    assert a.info("flatten").ActivationFormats == {"out": "CBT"}
    assert a.TotalLearnables == analyzeNetwork(direct_layers()).TotalLearnables
    text = str(a)
    assert "Sequence Folding" in text and "Sequence Unfolding" in text


# -- folding equals the direct form ----------------------------------------------------------------
@pytest.mark.parametrize("direction", ["right", "left"])
def test_folding_equals_the_direct_form_in_prediction(direction):
    folded, direct = dlnetwork(folded_graph()), dlnetwork(direct_layers())
    X = _seqs([3, 1, 5, 2], seed=2)
    a = predict(folded, X, "SequencePaddingDirection", direction)
    b = predict(direct, X, "SequencePaddingDirection", direction)
    for ya, yb, x in zip(a, b, X):
        assert ya.shape == (3, x.shape[-1])
        np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6)
    for i, x in enumerate(X):   # and each sequence alone
        np.testing.assert_allclose(a[i], predict(folded, [x])[0], rtol=1e-5, atol=1e-6)


def _grads(net, batch, info, seeds):
    ex = net.executor("cpu", np.float64)
    ys = ex.forward({"input": batch}, training=True, seq={"input": info})
    grads = ex.backward({ref: seeds for ref in ex.output_refs()}, input_grads=True)
    (ref,) = ex.output_refs()
    return ys[ref], grads, ex.input_grads[("input", "out")], ex.batch_stats["bn"], dict(ex._fused_into)


@pytest.mark.parametrize("lengths, left", [([2, 4, 3], False), ([2, 4, 3], True), ([3, 3, 3], False)])
def test_folding_equals_the_direct_form_in_training_with_padding(lengths, left):
    """Training mode (batch statistics over the valid steps in both forms), float64: the outputs,
    the batch statistics, the gradients of every learnable and of the input. The executor fuses
    BN -> ReLU -> max pooling in both forms (the direct form on the folded images of the valid steps)."""
    batch, info = pad([np.moveaxis(s, 2, 0) for s in _seqs(lengths, seed=3)], left=left, value=3.0,
                      dtype=np.float64)
    seeds = np.random.default_rng(4).standard_normal((3, 3, batch.shape[-1])) * info.mask()[:, None, :]
    ya, ga, dxa, sa, fa = _grads(dlnetwork(folded_graph()), batch, info, seeds)
    yb, gb, dxb, sb, fb = _grads(dlnetwork(direct_layers()), batch, info, seeds)
    assert fa == fb == {"relu": "bn", "pool": "bn"}
    np.testing.assert_allclose(ya, yb, rtol=1e-10, atol=1e-12)
    for u, v in zip(sa, sb):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
    assert set(ga) == set(gb) == {"conv", "bn", "lstm"}
    for name in ga:
        for p in ga[name]:
            np.testing.assert_allclose(ga[name][p], gb[name][p], rtol=1e-9, atol=1e-11, err_msg=f"{name}.{p}")
    np.testing.assert_allclose(dxa, dxb, rtol=1e-9, atol=1e-11)
    assert np.all(dxa[~info.mask()[:, None, None, None, :].repeat(C, 1).repeat(H, 2).repeat(W, 3)] == 0)


def test_finite_differences_through_fold_and_unfold():
    net = dlnetwork(folded_graph())
    batch, info = pad([np.moveaxis(s, 2, 0) for s in _seqs([3, 1, 2], seed=5)], dtype=np.float64)
    seq = {"input": info}
    ex = net.executor("cpu", np.float64)
    r = np.random.default_rng(6)
    ex.forward({"input": batch}, training=True, seq=seq)
    (ref,) = ex.output_refs()
    seeds = r.standard_normal((3, 3, batch.shape[-1])) * info.mask()[:, None, :]
    grads = ex.backward({ref: seeds}, input_grads=True)

    def loss():
        return float(np.sum(ex.forward({"input": batch}, training=True, seq=seq)[ref] * seeds))

    h = 1e-6
    targets = [(batch, ex.input_grads[("input", "out")])] + \
              [(ex.params[n][p], g) for n in grads for p, g in grads[n].items()]
    for array, g in targets:
        d = r.standard_normal(array.shape)
        a0 = array.copy()
        array[...] = a0 + h * d
        lp = loss()
        array[...] = a0 - h * d
        lm = loss()
        array[...] = a0
        np.testing.assert_allclose((lp - lm) / (2 * h), np.sum(g * d), rtol=1e-6, atol=1e-9)


def test_layers_between_fold_and_unfold_see_only_valid_steps():
    """The folded batch holds the images of each sequence's own steps (N*T without padding)."""
    net = dlnetwork(folded_graph())
    batch, info = pad([np.moveaxis(s, 2, 0) for s in _seqs([2, 4], seed=7)], dtype=np.float64)
    ex = net.executor("cpu", np.float64)
    acts = ex.forward({"input": batch}, seq={"input": info}, keep={("fold", "out"), ("fold", "miniBatchSize")})
    assert acts[("fold", "out")].shape == (6, C, H, W)
    assert acts[("fold", "miniBatchSize")].tolist() == [2]
    np.testing.assert_array_equal(acts[("fold", "out")][2:], np.moveaxis(batch[1], -1, 0))
    full = np.stack([np.moveaxis(s, 2, 0) for s in _seqs([3, 3], seed=8)])
    acts = ex.forward({"input": full}, keep={("fold", "out")})
    assert acts[("fold", "out")].shape == (6, C, H, W)


def test_trainnetwork_with_folding_layers():
    r = np.random.default_rng(9)
    X, labels = [], []
    for i in range(120):   # class 1: a bright square moving right; class 0: moving down
        k = int(r.integers(2, 5))
        frames = 0.1 * r.standard_normal((H, W, C, k))
        cls = i % 2
        for t in range(k):
            y0, x0 = (1, t) if cls else (t, 1)
            frames[y0:y0 + 2, x0:x0 + 2, :, t] += 1.0
        X.append(frames)
        labels.append(str(cls))
    lg = folded_graph(middle=[convolution2dLayer(3, 4, "Padding", "same", "Name", "conv"),
                              batchNormalizationLayer("Name", "bn"), reluLayer("Name", "relu"),
                              maxPooling2dLayer(2, "Stride", 2, "Name", "pool")],
                      tail=[flattenLayer("Name", "flatten"), lstmLayer(8, "OutputMode", "last", "Name", "lstm"),
                            fullyConnectedLayer(2, "Name", "fc"), softmaxLayer("Name", "sm"),
                            classificationLayer("Name", "out")])
    opts = trainingOptions("adam", "MaxEpochs", 15, "MiniBatchSize", 16, "InitialLearnRate", 0.01, "Verbose", False)
    net = trainNetwork(X[:80], categorical(labels[:80]), lg, opts)
    pred, _ = classify(net, X[80:])
    assert np.mean(np.asarray(pred) == np.asarray(labels[80:])) >= 0.9


# -- errors --------------------------------------------------------------------------------------
def test_a_folding_without_its_unfolding_is_refused():
    lg = layerGraph([sequenceInputLayer([H, W, C], "Name", "input"), sequenceFoldingLayer("Name", "fold"),
                     convolution2dLayer(3, 4, "Name", "conv")])
    a = analyzeNetwork(lg)
    assert [(i.LayerName, i.Port) for i in a.errors] == [("fold", "miniBatchSize")]
    assert "Missing sequence unfolding layer" in a.errors[0].Message
    with pytest.raises(LayerGraphError) as err:
        dlnetwork(lg)
    assert "'fold'" in str(err.value) and "miniBatchSize" in str(err.value)


def test_an_unfolding_needs_the_folding_minibatchsize():
    lg = folded_graph()
    from layergraph.matlab import disconnectLayers
    lg = disconnectLayers(lg, "fold/miniBatchSize", "unfold/miniBatchSize")
    a = analyzeNetwork(lg)
    assert {(i.LayerName, i.Port) for i in a.errors} == {("fold", "miniBatchSize"), ("unfold", "miniBatchSize")}
    lg = connectLayers(lg, "pool", "unfold/miniBatchSize")   # some other output into 'miniBatchSize'
    messages = " ".join(i.Message for i in analyzeNetwork(lg).errors)
    assert "'miniBatchSize' output of a sequence folding layer" in messages and "pool" in messages


def test_folding_takes_image_sequences_only():
    with pytest.raises(LayerGraphError) as err:
        dlnetwork(layerGraph([sequenceInputLayer(4, "Name", "in"), sequenceFoldingLayer("Name", "fold")]))
    assert "'fold'" in str(err.value) and "image sequences" in str(err.value) and "4 features" in str(err.value)
