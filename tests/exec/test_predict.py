"""MATLAB's assembleNetwork, predict, classify, activations and dlnetwork forward."""
import numpy as np
import pytest

from layergraph import (
    LayerGraphError, activations, assembleNetwork, batchNormalizationLayer, classificationLayer, classify,
    convolution2dLayer, dlnetwork, featureInputLayer, forward, fullyConnectedLayer, imageInputLayer, predict,
    regressionLayer, reluLayer, rng, softmaxLayer,
)


def trained_layers(classes=("cat", "dog", "owl")):
    g = np.random.default_rng(0)
    return [
        imageInputLayer([5, 5, 2], "Mean", g.standard_normal((5, 5, 2))),
        convolution2dLayer(3, 4, "Weights", g.standard_normal((3, 3, 2, 4)), "Bias", g.standard_normal((1, 1, 4))),
        batchNormalizationLayer("TrainedMean", g.standard_normal((1, 1, 4)),
                                "TrainedVariance", g.uniform(0.5, 2, (1, 1, 4)),
                                "Scale", np.ones((1, 1, 4)), "Offset", np.zeros((1, 1, 4))),
        reluLayer,
        fullyConnectedLayer(3, "Weights", g.standard_normal((3, 36)), "Bias", g.standard_normal((3, 1))),
        softmaxLayer,
        classificationLayer("Classes", list(classes)),
    ]


def reference(layers, X):
    """Straight numpy in MATLAB's own layout (H x W x C x N, column-major flatten)."""
    inp, conv, bn, _, fc = layers[:5]
    x = X - inp.Mean[..., None]
    h, w, n = 3, 3, X.shape[3]
    out = np.zeros((h, w, 4, n))
    for i in range(h):
        for j in range(w):
            patch = x[i:i + 3, j:j + 3]                          # 3 x 3 x 2 x N
            out[i, j] = np.einsum("abcn,abcf->fn", patch, conv.Weights) + conv.Bias.reshape(4, 1)
    out = bn.Scale.reshape(1, 1, 4, 1) * (out - bn.TrainedMean.reshape(1, 1, 4, 1)) / np.sqrt(
        bn.TrainedVariance.reshape(1, 1, 4, 1) + bn.Epsilon) + bn.Offset.reshape(1, 1, 4, 1)
    out = np.maximum(out, 0)
    flat = out.reshape(-1, n, order="F")                          # MATLAB's X(:, n)
    z = fc.Weights @ flat + fc.Bias                              # 3 x N
    e = np.exp(z - z.max(0))
    return (e / e.sum(0)).T                                      # N x 3


def test_assemble_predict_classify_match_matlab_semantics():
    layers = trained_layers()
    net = assembleNetwork(layers)
    assert type(net).__name__ == "SeriesNetwork"
    assert "SeriesNetwork with properties:" in str(net)
    X = np.random.default_rng(1).standard_normal((5, 5, 2, 7))
    scores = predict(net, X)
    assert scores.shape == (7, 3)
    assert np.allclose(scores, reference(layers, X), atol=1e-5)
    labels, s2 = classify(net, X, MiniBatchSize=3)
    assert np.allclose(s2, scores, atol=1e-6)
    assert list(labels) == [("cat", "dog", "owl")[i] for i in scores.argmax(1)]
    one = predict(net, X[..., 0])
    assert one.shape == (1, 3) and np.allclose(one, scores[:1], atol=1e-6)


def test_activations_layouts():
    net = assembleNetwork(trained_layers())
    X = np.random.default_rng(1).standard_normal((5, 5, 2, 4))
    a = activations(net, X, "relu")
    assert a.shape == (3, 3, 4, 4)
    rows = activations(net, X, "relu", OutputAs="rows")
    assert rows.shape == (4, 36) and np.allclose(rows[2], a[..., 2].ravel(order="F"))
    cols = activations(net, X, "relu", OutputAs="columns")
    assert np.allclose(cols, rows.T)
    with pytest.raises(LayerGraphError, match="'OutputAs'"):
        activations(net, X, "relu", OutputAs="pixels")
    with pytest.raises(LayerGraphError, match="'classoutput' is an output layer"):
        activations(net, X, "classoutput")


def test_no_observations_give_empty_results_of_the_right_size():
    net = assembleNetwork(trained_layers())
    X = np.zeros((5, 5, 2, 0))
    assert predict(net, X).shape == (0, 3)
    labels, scores = classify(net, X)
    assert len(labels) == 0 and scores.shape == (0, 3)
    assert activations(net, X, "relu").shape == (3, 3, 4, 0)
    assert activations(net, X, "relu", OutputAs="rows").shape == (0, 36)
    features = assembleNetwork([featureInputLayer(3), fullyConnectedLayer(2, "Weights", np.ones((2, 3)),
                                                                          "Bias", np.zeros((2, 1))), regressionLayer])
    assert predict(features, np.zeros((0, 3))).shape == (0, 2)


def test_assemble_refuses_missing_values():
    layers = trained_layers()
    layers[1] = convolution2dLayer(3, 4)
    with pytest.raises(LayerGraphError, match=r"Layer 'conv': Weights is empty"):
        assembleNetwork(layers)
    layers = trained_layers()
    layers[-1] = classificationLayer
    with pytest.raises(LayerGraphError, match="Classes is 'auto'"):
        assembleNetwork(layers)
    with pytest.raises(LayerGraphError, match="Missing output layer"):
        assembleNetwork(trained_layers()[:-1])


def test_bad_data_is_a_clear_error():
    net = assembleNetwork(trained_layers())
    with pytest.raises(LayerGraphError, match=r"Expected images of size 5x5x2xN .* has size 5x5x3x2"):
        predict(net, np.zeros((5, 5, 3, 2)))
    bad = np.zeros((5, 5, 2, 2))
    bad[0, 0, 0, 1] = np.nan
    with pytest.raises(LayerGraphError, match="NaN or Inf"):
        predict(net, bad)
    with pytest.raises(LayerGraphError, match="'MiniBatchSize'"):
        predict(net, np.zeros((5, 5, 2, 2)), MiniBatchSize=0)
    with pytest.raises(LayerGraphError, match="numeric array"):
        predict(net, "images")


def test_missing_normalization_statistics():
    net = dlnetwork([imageInputLayer([4, 4, 1]), convolution2dLayer(3, 2)])
    with pytest.raises(LayerGraphError, match=r"'zerocenter' needs Mean, which is empty"):
        net.predict(np.zeros((4, 4, 1, 1)))


@pytest.mark.parametrize("mode", ["zscore", "rescale-symmetric", "rescale-zero-one"])
def test_input_normalizations(mode):
    g = np.random.default_rng(0)
    stats = {"Mean": g.standard_normal((1, 1, 2)), "StandardDeviation": g.uniform(1, 2, (1, 1, 2)),
             "Min": -np.ones((1, 1, 2)), "Max": 3 * np.ones((1, 1, 2))}
    net = dlnetwork([imageInputLayer([3, 3, 2], "Normalization", mode, **stats, Name="in"), reluLayer])
    X = g.standard_normal((3, 3, 2, 2))
    y = activations(net, X, "in")
    m, s, lo, hi = (stats[k][..., None] for k in ("Mean", "StandardDeviation", "Min", "Max"))
    expected = {"zscore": (X - m) / s, "rescale-zero-one": (X - lo) / (hi - lo),
                "rescale-symmetric": 2 * (X - lo) / (hi - lo) - 1}[mode]
    assert np.allclose(y, expected, atol=1e-6)


def test_function_normalization_gets_matlab_layout():
    seen = {}

    def halve(x):
        seen["shape"] = x.shape
        return x / 2

    net = dlnetwork([imageInputLayer([3, 4, 2], "Normalization", halve, "Name", "in"), reluLayer])
    X = np.ones((3, 4, 2, 5))
    assert np.allclose(activations(net, X, "in"), 0.5) and seen["shape"] == (3, 4, 2, 5)


def test_regression_and_feature_data():
    g = np.random.default_rng(0)
    net = assembleNetwork([featureInputLayer(3), fullyConnectedLayer(2, "Weights", g.standard_normal((2, 3)),
                                                                     "Bias", np.zeros((2, 1))), regressionLayer])
    X = g.standard_normal((4, 3))
    assert np.allclose(predict(net, X), X @ net.Layers[1].Weights.T, atol=1e-6)
    with pytest.raises(LayerGraphError, match=r"Expected N x 3 feature data"):
        predict(net, np.zeros((4, 2)))
    with pytest.raises(LayerGraphError, match="classify needs a network with one classification output"):
        classify(net, X)


def test_dlnetwork_forward_updates_state_with_mean_decay():
    rng(0)
    net = dlnetwork([featureInputLayer(3, "Name", "in"), batchNormalizationLayer("MeanDecay", 0.3, "Name", "bn")])
    X = np.random.default_rng(1).standard_normal((8, 3)) * 2 + 1
    Y, state = forward(net, X)
    assert np.allclose(Y.mean(0), 0, atol=1e-5) and np.allclose(Y.var(0), 1, atol=1e-3)
    rows = {p: v for _, p, v in state}
    assert np.allclose(rows["TrainedMean"].ravel(), 0.3 * X.mean(0), atol=1e-6)
    assert np.allclose(rows["TrainedVariance"].ravel(), 0.1 * X.var(0) + 0.9, atol=1e-5)
    assert rows["TrainedMean"].shape == (3, 1)


def test_options_as_matlab_name_value_pairs():
    """predict(net, X, 'MiniBatchSize', 2, ...) as MATLAB writes it: names case-insensitive,
    unique prefixes, the same results as keywords; an unknown name or a missing value is
    MATLAB's input-parser error."""
    net = assembleNetwork(trained_layers())
    X = np.random.default_rng(1).standard_normal((5, 5, 2, 5))
    scores = predict(net, X)
    close = dict(rtol=1e-5, atol=1e-7)  # other mini-batch sizes round differently in float32
    np.testing.assert_allclose(predict(net, X, "MiniBatchSize", 2, "executionenvironment", "cpu"), scores, **close)
    np.testing.assert_array_equal(predict(net, X, "MiniBatch", 3), predict(net, X, MiniBatchSize=3))
    labels, s2 = classify(net, X, "MiniBatchSize", 2)
    np.testing.assert_allclose(s2, scores, **close)
    np.testing.assert_array_equal(labels, classify(net, X)[0])
    np.testing.assert_allclose(activations(net, X, "relu", "OutputAs", "rows", "MiniBatchSize", 2),
                               activations(net, X, "relu", OutputAs="rows"), **close)
    with pytest.raises(LayerGraphError, match="'Foo' is not a recognized parameter"):
        predict(net, X, "Foo", 1)
    with pytest.raises(LayerGraphError, match="must come in pairs"):
        classify(net, X, "MiniBatchSize")
