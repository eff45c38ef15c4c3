"""Wolfram's EmbeddingLayer (wolfram/embedding.py) on the core embedding layer: each input form
("Integer", d, {d1, d2}, "Varying") gives the rows of "Weights"; printouts, NetInitialize,
NetExtract, Information, save / load, the MATLAB network it converts to, messages for bad
indices and bad arguments, and NetTrain of an EmbeddingLayer -> LSTM -> SequenceLast ->
LinearLayer -> SoftmaxLayer chain on sequences of indices of different lengths."""
from __future__ import annotations

import numpy as np
import pytest

import layergraph as lg
from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (
    EmbeddingLayer,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetInitialize,
    NetReplacePart,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
)

W = np.arange(1.0, 31.0).reshape(10, 3) / 10   # n = 10 indices, size 3: row i is index i's vector


def _layer(**options):
    return EmbeddingLayer(3, 10, Weights=W, **options)


def test_each_input_form_gives_the_rows_of_the_weights():
    one = NetChain([_layer(Input="Integer")])
    assert one.compile().out_dims["Output"] == (3,)
    np.testing.assert_allclose(one(7), W[6], rtol=1e-6)
    np.testing.assert_allclose(one([7, 1]), W[[6, 0]], rtol=1e-6)
    vec = NetChain([_layer(Input=4)])
    assert vec.compile().out_dims["Output"] == (4, 3)
    np.testing.assert_allclose(vec([1, 10, 3, 3]), W[[0, 9, 2, 2]], rtol=1e-6)
    single = NetChain([_layer(Input=1)])   # a vector of one index: a 1 x size matrix
    assert single.compile().out_dims["Output"] == (1, 3)
    mat = NetChain([_layer(Input=(2, 3))])
    assert mat.compile().out_dims["Output"] == (2, 3, 3)
    idx = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(mat(idx), W[idx - 1], rtol=1e-6)
    seq = NetChain([_layer()], Input="Varying")
    assert seq.compile().in_dims["Input"] == ("Varying",)
    out = seq([[1, 2, 3], [10], [4, 4]])
    assert [o.shape for o in out] == [(3, 3), (1, 3), (2, 3)]
    for o, s in zip(out, ([1, 2, 3], [10], [4, 4])):
        np.testing.assert_allclose(o, W[np.array(s) - 1], rtol=1e-6)
    np.testing.assert_allclose(seq([2, 5]), W[[1, 4]], rtol=1e-6)   # one sequence


def test_printout_arrays_extract_information_and_initialize():
    layer = EmbeddingLayer(4, 20)
    text = repr(layer)
    assert text.startswith("EmbeddingLayer  (uninitialized)")
    assert "OutputSize: 4" in text and "InputSize:  20" in text and "Weights:" in text
    net = NetInitialize(NetChain([layer], Input="Varying"), RandomSeeding=3)
    assert "Input port:       vector (size: n)" in repr(net)
    assert "EmbeddingLayer  matrix (size: n\u00d74)" in repr(net)
    w = np.asarray(NetExtract(net, (1, "Weights")))
    assert w.shape == (20, 4) and np.all(np.isfinite(w)) and w.std() > 0
    assert Information(net, "ArraysTotalElementCount") == 80
    again = NetInitialize(NetChain([layer], Input="Varying"), RandomSeeding=3)
    np.testing.assert_array_equal(np.asarray(NetExtract(again, (1, "Weights"))), w)
    # n from the weights: EmbeddingLayer[size] with "Weights" n x size
    assert EmbeddingLayer(3, Weights=W).params["InputSize"] == 10
    replaced = NetReplacePart(net, {(1, "Weights"): np.ones((20, 4))})
    np.testing.assert_array_equal(replaced([[3]])[0], np.ones((1, 4)))


def test_save_load_and_the_matlab_network():
    net = NetChain([_layer(), LongShortTermMemoryLayer(2), SequenceLastLayer()], Input="Varying")
    net = NetInitialize(net, RandomSeeding=1)
    import tempfile
    import os
    path = os.path.join(tempfile.mkdtemp(), "emb.lgnet")
    lg.save(net, path)
    back = lg.load(path)
    assert repr(back) == repr(net)
    x = [[1, 2, 3], [9, 9]]
    np.testing.assert_array_equal(back(x), net(x))
    # the core spec: MATLAB's view of "Weights" is size x n (wordEmbeddingLayer's layout)
    spec = _layer().core_spec("emb")
    assert spec.Dimension == 3 and spec.NumWords == 10
    np.testing.assert_array_equal(spec.Weights, W.T.astype(np.float32))
    from layergraph.matlab import dlnetwork, predict
    m = dlnetwork(NetChain([_layer(Input=4)]))
    got = np.asarray(predict(m, np.array([[1.0, 2, 3, 4]])))   # MATLAB's H x W x C x N: size x 1 x 4 x 1
    assert got.shape[:3] == (3, 1, 4)
    np.testing.assert_allclose(got[:, 0, :, 0], W[:4].T, rtol=1e-6)


@pytest.mark.parametrize("bad, shown", [(11, "11"), (0, "0"), (2.5, "2.5"), (-3, "-3")])
def test_indices_out_of_range_or_not_integers(bad, shown):
    net = NetChain([_layer(Input=3)])
    with pytest.raises(LayerGraphError) as e:
        net([1, bad, 2])
    assert f"the input {shown} is not an integer between 1 and 10" in str(e.value)
    assert "EmbeddingLayer" in str(e.value)
    seq = NetChain([_layer()], Input="Varying")
    with pytest.raises(LayerGraphError) as e:
        seq([[1, 2], [3, bad]])
    assert f"the input {shown} is not" in str(e.value)


def test_bad_arguments():
    with pytest.raises(LayerGraphError, match="embedding size"):
        EmbeddingLayer(0, 10)
    with pytest.raises(LayerGraphError, match="number of indices"):
        EmbeddingLayer(3, 2.5)
    with pytest.raises(LayerGraphError, match="not specified"):
        EmbeddingLayer()
    with pytest.raises(LayerGraphError, match=r'"Weights" has dimensions \{10, 3\}, but dimensions \{5, 3\}'):
        EmbeddingLayer(3, 5, Weights=W)
    with pytest.raises(LayerGraphError, match="number of indices n is not specified"):
        NetInitialize(NetChain([EmbeddingLayer(3)], Input=4))
    with pytest.raises(LayerGraphError, match="not supported yet"):
        EmbeddingLayer(3, 10, Input=("Varying", 2))
    with pytest.raises(LayerGraphError, match="rank 3"):
        NetChain([_layer(Input=(2, 2, 2))]).compile()


def test_nettrain_embedding_lstm_classifier_on_index_sequences():
    """Does the sequence contain the index 3? Sequences of 2..7 indices in 1..5."""
    r = np.random.default_rng(0)
    X = [list(r.integers(1, 6, r.integers(2, 8))) for _ in range(600)]
    Y = ["yes" if 3 in s else "no" for s in X]
    net = NetChain([EmbeddingLayer(4, 5), LongShortTermMemoryLayer(8), SequenceLastLayer(), LinearLayer(2),
                    SoftmaxLayer()], Input="Varying", Output=NetDecoder(("Class", ["no", "yes"])))
    trained = NetTrain(net, list(zip(X[:500], Y[:500])), MaxTrainingRounds=20, LearningRate=0.01, RandomSeeding=1,
                       TrainingProgressReporting=None)
    got = trained(X[500:])
    assert np.mean([a == b for a, b in zip(got, Y[500:])]) >= 0.9
    w0 = np.asarray(NetExtract(NetInitialize(net, RandomSeeding=1), (1, "Weights")))
    assert not np.allclose(np.asarray(NetExtract(trained, (1, "Weights"))), w0)   # the embedding learned
