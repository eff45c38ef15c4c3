"""Custom layers (matlab/custom.py, layers/custom.py, core/ops_custom.py): MATLAB's PReLU
example trained with trainnet and trainNetwork and checked with checkLayer; a hand-written
backward equals the tape's; a residual dlnetwork with custom layers against float64 finite
differences; values against torch; a custom classification output layer with forwardLoss
equals classificationLayer step for step; trainnet with a loss function handle equals the
named loss; functionLayer; learn-rate factors; printouts; MATLAB's errors naming the layer."""
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, additionLayer, categorical, checkLayer, classificationLayer,
                               convolution2dLayer, crossentropy, dlarray, dlfeval, dlgradient, dlnetwork, dims,
                               extractdata, featureInputLayer, finddim, fullyConnectedLayer, functionLayer,
                               getLearnRateFactor, imageInputLayer, layerGraph, nnet, predict, regressionLayer,
                               rng, setLearnRateFactor, sigmoid, sigmoidLayer, softmaxLayer, trainNetwork,
                               trainingOptions, trainnet)
from layergraph.matlab import max as mmax
from layergraph.matlab import min as mmin
from layergraph.matlab import sum as msum


# -- MATLAB's example layers, in Python -------------------------------------------------------------
class preluLayer(nnet.layer.Layer):
    """Example custom PReLU layer (R2020b-R2022 version of the documentation example)."""
    Learnable = ("Alpha",)

    def __init__(self, numChannels, name):
        self.Name = name
        self.Description = f"PReLU with {numChannels} channels"
        self.Alpha = np.random.default_rng(numChannels).random((1, 1, numChannels))

    def predict(self, X):
        return mmax(0, X) + self.Alpha * mmin(0, X)


class preluLayerWithBackward(preluLayer):
    """The R2018-R2019 version: the same predict and a hand-written backward."""

    def backward(self, X, Z, dLdZ, memory):
        dLdX = self.Alpha * dLdZ
        dLdX = dLdX + (X > 0) * (dLdZ - dLdX)          # MATLAB: dLdX(X>0) = dLdZ(X>0)
        dLdAlpha = mmin(0, X) * dLdZ
        dLdAlpha = msum(msum(dLdAlpha, 1), 2)
        return dLdX, msum(dLdAlpha, 4)                 # sum over the observations of the mini-batch


class preluLayerLazy(nnet.layer.Layer, nnet.layer.Acceleratable):
    """The R2023a+ version: Alpha sized by initialize from the input layout."""
    Learnable = ("Alpha",)

    def __init__(self, Name=""):
        self.Name = Name
        self.Description = "PReLU"

    def initialize(self, layout):
        if self.Alpha is not None:
            return self
        sz = layout.Size
        idx = finddim(layout, "C")[0]
        shape = [1] * len(sz)
        shape[idx - 1] = sz[idx - 1]
        self.Alpha = np.random.default_rng(7).random(shape)
        return self

    def predict(self, X):
        return mmax(X, 0) + self.Alpha * mmin(0, X)


class weightedAdditionLayer(nnet.layer.Layer):
    """Two inputs, one learnable weight per input (MATLAB's multi-input example, shortened)."""
    Learnable = ("Weights",)

    def __init__(self, name):
        self.Name = name
        self.NumInputs = 2
        self.Description = "Weighted addition of 2 inputs"
        self.Weights = np.array([[0.7, -1.3]])

    def predict(self, X1, X2):
        return self.Weights[0, 0] * X1 + self.Weights[0, 1] * X2


def _images(n=40, seed=0, channels=1, size=6):
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n)
    x = g.normal(size=(size, size, channels, n)).astype(np.float32)
    for k in range(3):
        x[k * 2:(k + 1) * 2, :, :, y == k] += 1.5
    return x, categorical(np.array(["a", "b", "c"])[y])


def _body(prelu, size=6):
    return [imageInputLayer([size, size, 1], "Normalization", "none", "Name", "in"),
            convolution2dLayer(3, 4, "Padding", "same", "Name", "conv"), prelu,
            fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")]


def _quiet(fn, *args):
    with redirect_stdout(io.StringIO()) as out:
        result = fn(*args)
    return result, out.getvalue()


# -- the PReLU example --------------------------------------------------------------------------------
def test_prelu_passes_checklayer_with_and_without_observation_dimension():
    for kw in ({}, {"ObservationDimension": 4}):
        results, text = _quiet(lambda: checkLayer(preluLayer(20, "prelu"), [5, 5, 20], **kw))
        assert results.Failed == 0 and results.Passed >= 6, text
        names = [r.Name for r in results]
        assert "gradientsAreNumericallyCorrect" in names and "functionSyntaxesAreCorrect" in names
        assert "Running nnet.checklayer.TestLayerWithoutBackward" in text
        assert "Test Summary:" in text and f"{results.Passed} Passed, 0 Failed, 0 Incomplete" in text
        assert ("Skipping multi-observation tests" in text) == (not kw)
    results, _ = _quiet(lambda: checkLayer(preluLayer(20, "prelu"), [5, 5, 20], ObservationDimension=4))
    assert "gradientsAreNumericallyCorrect(multi-observation)" in [r.Name for r in results]


def test_prelu_trains_with_trainnet_and_learns():
    x, labels = _images()
    rng(0)
    net = dlnetwork(_body(preluLayer(4, "prelu")))
    alpha0 = np.array(net.Layers[2].Alpha)
    opts = trainingOptions("sgdm", "MaxEpochs", 8, "MiniBatchSize", 10, "InitialLearnRate", 0.05, "Verbose", False)
    trained, info = trainnet(x, labels, net, "crossentropy", opts)
    losses = np.array([row[3] for row in info.TrainingHistory])
    assert losses[-4:].mean() < 0.5 * losses[:4].mean()
    alpha = np.array(trained.Layers[2].Alpha)
    assert alpha.shape == alpha0.shape and not np.allclose(alpha, alpha0)
    scores = predict(trained, x)
    acc = np.mean(np.argmax(scores, axis=1) == np.argmax(labels.onehot(np.float32), axis=1))
    assert acc > 0.8


def test_prelu_trains_with_trainnetwork_and_the_lazy_version_initializes():
    x, labels = _images()
    rng(0)
    layers = _body(preluLayerLazy(Name="prelu")) + [classificationLayer("Name", "out")]
    opts = trainingOptions("sgdm", "MaxEpochs", 8, "MiniBatchSize", 10, "InitialLearnRate", 0.05, "Verbose", False)
    net, info = trainNetwork(x, labels, LayerArray(layers), opts)
    assert net.Layers[2].Alpha.shape == (1, 1, 4, 1)   # initialize: ones(1, ndims), C along finddim
    assert info["TrainingLoss"][-1] < info["TrainingLoss"][0]
    assert np.mean(np.asarray(net.classify(x)[0]) == np.asarray(labels)) > 0.8


def test_prelu_values_against_torch():
    layers = [imageInputLayer([5, 5, 3], "Normalization", "none"), preluLayer(3, "prelu")]
    net = dlnetwork(layers)
    x = np.random.default_rng(3).normal(size=(5, 5, 3, 4)).astype(np.float32)
    y = predict(net, x)   # H x W x C x N
    alpha = np.asarray(net.Layers[1].Alpha, dtype=np.float32).reshape(-1)
    ref = torch.nn.functional.prelu(torch.from_numpy(x.transpose(3, 2, 0, 1).copy()), torch.from_numpy(alpha))
    np.testing.assert_allclose(y, ref.numpy().transpose(2, 3, 1, 0), rtol=1e-6, atol=1e-6)


# -- hand-written backward equals the tape's --------------------------------------------------------
def _gradients(layer_cls, dtype=np.float64):
    rng(0)
    net = dlnetwork(_body(layer_cls(4, "prelu")))
    x = np.random.default_rng(5).normal(size=(6, 6, 1, 3)).astype(dtype)
    R = np.random.default_rng(6).normal(size=(3, 3))

    def loss_fn(net, X):
        Y = predict(net, X)
        loss = msum(Y * R, "all")
        return loss, dlgradient(loss, net.Learnables, X)
    loss, (g, gx) = dlfeval(loss_fn, net, dlarray(x, "SSCB"))
    return float(extractdata(loss).ravel()[0]), {(r[0], r[1]): np.asarray(extractdata(r[2])) for r in g}, \
        extractdata(gx)


def test_handwritten_backward_equals_automatic_one():
    la, ga, gxa = _gradients(preluLayer)
    lb, gb, gxb = _gradients(preluLayerWithBackward)
    assert la == pytest.approx(lb, rel=1e-12)
    assert set(ga) == set(gb) and ("prelu", "Alpha") in ga
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gxa, gxb, rtol=1e-10, atol=1e-12)
    results, text = _quiet(lambda: checkLayer(preluLayerWithBackward(20, "prelu"), [5, 5, 20],
                                              ObservationDimension=4))
    assert results.Failed == 0 and "TestLayerWithBackward" in text
    assert "backwardDoesNotError" in [r.Name for r in results]


def test_wrong_handwritten_backward_fails_the_gradient_check():
    class badBackward(preluLayer):
        def backward(self, X, Z, dLdZ, memory):
            return dLdZ, 0 * self.Alpha   # ignores the slope

    results, text = _quiet(lambda: checkLayer(badBackward(4, "bad"), [3, 3, 4]))
    assert results.failures() == ["gradientsAreNumericallyCorrect"]
    assert "Verification failed in nnet.checklayer.TestLayerWithBackward/gradientsAreNumericallyCorrect" in text
    assert "Failure Summary:" in text


# -- a residual dlnetwork with custom layers: gradients against finite differences -------------------
def _residual():
    layers = [imageInputLayer([5, 5, 2], "Normalization", "none", "Name", "in"),
              convolution2dLayer(3, 3, "Padding", "same", "Name", "c1"), preluLayer(3, "p1"),
              convolution2dLayer(3, 3, "Padding", "same", "Name", "c2"), weightedAdditionLayer("wadd"),
              preluLayerLazy(Name="p2"), fullyConnectedLayer(2, "Name", "fc")]
    lg = layerGraph(layers)
    lg = lg.connectLayers("p1", "wadd/in2")   # the skip connection; c2 feeds wadd/in1 in series
    return dlnetwork(lg)


def test_residual_dlnetwork_gradients_against_finite_differences():
    net = _residual()
    g = np.random.default_rng(11)
    x = g.normal(size=(5, 5, 2, 3))
    R = g.normal(size=(2, 3))

    def value(n, xx):
        return float(np.sum(predict(n, dlarray(xx, "SSCB")).extractdata() * R))

    def loss_fn(n, X):
        loss = msum(predict(n, X) * R, "all")
        return dlgradient(loss, n.Learnables, X)
    grads, gx = dlfeval(loss_fn, net, dlarray(x, "SSCB"))
    grads = {(r[0], r[1]): np.asarray(extractdata(r[2]), dtype=np.float64) for r in grads}
    h = 1e-6
    checked = 0
    for (layer, param), gval in grads.items():
        w = np.asarray(net.Layers[[lay.Name for lay in net.Layers].index(layer)].__getattribute__(param),
                       dtype=np.float64)
        for idx in g.choice(w.size, size=min(3, w.size), replace=False):
            up, dn = w.copy().reshape(-1), w.copy().reshape(-1)
            up[idx] += h
            dn[idx] -= h
            fd = (value(net._with_arrays({(layer, param): up.reshape(w.shape)}), x)
                  - value(net._with_arrays({(layer, param): dn.reshape(w.shape)}), x)) / (2 * h)
            assert gval.reshape(-1)[idx] == pytest.approx(fd, rel=1e-5, abs=1e-7), (layer, param, idx)
            checked += 1
    gx = extractdata(gx)
    for idx in g.choice(x.size, size=4, replace=False):
        up, dn = x.copy().reshape(-1), x.copy().reshape(-1)
        up[idx] += h
        dn[idx] -= h
        fd = (value(net, up.reshape(x.shape)) - value(net, dn.reshape(x.shape))) / (2 * h)
        assert gx.reshape(-1)[idx] == pytest.approx(fd, rel=1e-5, abs=1e-7)
    assert {("p1", "Alpha"), ("wadd", "Weights"), ("p2", "Alpha")} <= set(grads) and checked >= 15


def test_forward_is_used_while_training_and_predict_otherwise_with_two_outputs():
    class splitLayer(nnet.layer.Layer):
        """Two outputs; forward (training) scales by 2, predict does not."""
        def __init__(self):
            self.Name = "split"
            self.NumOutputs = 2

        def predict(self, X):
            return X, -X

        def forward(self, X):
            return 2 * X, -2 * X, "memory"

    lg = layerGraph([featureInputLayer(3, "Normalization", "none", "Name", "in"), splitLayer(),
                     additionLayer(2, "Name", "add")])
    lg = lg.connectLayers("split/out2", "add/in2")
    net = dlnetwork(lg)
    assert net.Layers[1].OutputNames == ["out1", "out2"]
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(net, x), 0 * x, atol=1e-7)
    y, _ = net.forward(dlarray(x.T, "CB"))
    np.testing.assert_allclose(extractdata(y), 0 * x.T, atol=1e-7)
    out1, _ = net.forward(dlarray(x.T, "CB"), Outputs="split/out1")
    np.testing.assert_allclose(extractdata(out1), 2 * x.T)
    results, _ = _quiet(lambda: checkLayer(splitLayer(), [3], ObservationDimension=2))
    assert results.Failed == 0 and "forwardPredictAreConsistentInSize" in [r.Name for r in results]


# -- custom output layers and loss function handles --------------------------------------------------
class ceClassificationLayer(nnet.layer.ClassificationLayer):
    """forwardLoss = crossentropy over K x N (features) or 1 x 1 x K x N (images)."""

    def __init__(self, name):
        self.Name = name
        self.Description = "Cross entropy by forwardLoss"

    def forwardLoss(self, Y, T):
        from layergraph.matlab import log
        N = Y.shape[-1]
        return -msum(T * log(Y), "all") / N


def _train_classifier(out, seed=0):
    x, labels = _images(n=30)
    rng(seed)
    opts = trainingOptions("adam", "MaxEpochs", 3, "MiniBatchSize", 10, "InitialLearnRate", 0.01, "Verbose", False,
                           "Shuffle", "every-epoch")
    return trainNetwork(x, labels, LayerArray(_body(preluLayer(4, "prelu")) + [out]), opts)


def test_custom_classification_layer_equals_classification_layer_step_for_step():
    net_a, info_a = _train_classifier(classificationLayer("Name", "out"))
    net_b, info_b = _train_classifier(ceClassificationLayer("out"))
    np.testing.assert_allclose(info_a["TrainingLoss"], info_b["TrainingLoss"], rtol=1e-5)
    np.testing.assert_allclose(info_a["TrainingAccuracy"], info_b["TrainingAccuracy"])
    for la, lb in zip(net_a.Layers, net_b.Layers):
        for spec in la.learnables:
            np.testing.assert_allclose(getattr(la, spec.name), getattr(lb, spec.name), rtol=1e-4, atol=1e-6)
    assert net_b.Layers[-1].Type == "ceClassificationLayer" and list(net_b.Layers[-1].Classes) == ["a", "b", "c"]
    labels, _ = net_b.classify(_images(n=30)[0])
    assert len(labels) == 30


def test_custom_regression_layer_with_backward_loss():
    class maeRegressionLayer(nnet.layer.RegressionLayer):
        def __init__(self, name):
            self.Name = name
            self.Description = "Mean absolute error"

        def forwardLoss(self, Y, T):
            from layergraph.matlab import abs as mabs
            return msum(mabs(Y - T), "all") / Y.shape[-1]

        def backwardLoss(self, Y, T):
            return np.sign(extractdata(Y) - extractdata(T)) / Y.shape[-1]

    g = np.random.default_rng(2)
    x = g.normal(size=(50, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
    rng(0)
    layers = LayerArray([featureInputLayer(3, "Normalization", "none"), fullyConnectedLayer(1),
                         maeRegressionLayer("out")])
    opts = trainingOptions("adam", "MaxEpochs", 30, "MiniBatchSize", 10, "InitialLearnRate", 0.05, "Verbose", False)
    net, info = trainNetwork(x, y, layers, opts)
    assert info["TrainingLoss"][-1] < 0.3 * info["TrainingLoss"][0]
    assert np.mean(np.abs(net.predict(x) - y)) < 0.3


def test_trainnet_loss_handle_equals_named_crossentropy():
    x, labels = _images(n=30)
    opts = trainingOptions("sgdm", "MaxEpochs", 3, "MiniBatchSize", 10, "InitialLearnRate", 0.05, "Verbose", False)
    out = []
    for loss in ("crossentropy", lambda Y, T: crossentropy(Y, T)):
        rng(0)
        net = dlnetwork(_body(preluLayer(4, "prelu")))
        out.append(trainnet(x, labels, net, loss, opts))
    (na, ia), (nb, ib) = out
    np.testing.assert_allclose([r[3] for r in ia.TrainingHistory], [r[3] for r in ib.TrainingHistory], rtol=1e-5)
    np.testing.assert_allclose(na.Layers[2].Alpha, nb.Layers[2].Alpha, rtol=1e-5)


def test_trainnet_loss_handle_sees_formatted_dlarrays_and_regresses():
    seen = []

    def loss_fn(Y, T):
        seen.append((dims(Y), dims(T), Y.shape))
        d = Y - T
        return msum(d * d, "all") / Y.shape[1]

    g = np.random.default_rng(4)
    x = g.normal(size=(40, 2)).astype(np.float32)
    t = (x @ np.array([[2.0], [-1.0]]) + 0.5).astype(np.float32)
    rng(0)
    opts = trainingOptions("adam", "MaxEpochs", 40, "MiniBatchSize", 10, "InitialLearnRate", 0.05, "Verbose", False)
    net, info = trainnet(x, t, [featureInputLayer(2, "Normalization", "none"), fullyConnectedLayer(1)], loss_fn, opts)
    assert seen[0] == ("CB", "CB", (1, 10))
    assert info.TrainingHistory[-1][3] < 0.05 * info.TrainingHistory[0][3]


def test_loss_handle_that_returns_a_vector_is_refused():
    x, labels = _images(n=20)
    opts = trainingOptions("sgdm", "MaxEpochs", 1, "MiniBatchSize", 10, "Verbose", False)
    with pytest.raises(LayerGraphError, match="must return a scalar"):
        trainnet(x, labels, dlnetwork(_body(preluLayer(4, "prelu"))), lambda Y, T: Y * T, opts)


# -- functionLayer -------------------------------------------------------------------------------------
def test_function_layer_equals_the_built_in_layer_and_prints_as_matlab():
    fl = functionLayer(lambda X: sigmoid(X), "Name", "sig", "Description", "sigmoid by a function")
    text = str(fl)
    assert text.startswith("  FunctionLayer with properties:\n\n             Name: 'sig'\n")
    assert "       PredictFcn: @lambda X: sigmoid(X)" in text and "      Formattable: 0\n    Acceleratable: 0" in text
    assert "   Learnable Parameters\n    No properties." in text
    base = [featureInputLayer(4, "Normalization", "none", "Name", "in"), fullyConnectedLayer(3, "Name", "fc")]
    rng(1)
    a = dlnetwork(base + [fl])
    b = a.initialize()   # same weights, the built-in sigmoid in place of the function
    lg = layerGraph(b).replaceLayer("sig", sigmoidLayer("Name", "sig"))
    b = dlnetwork(lg)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    np.testing.assert_allclose(predict(a, x), predict(b, x), rtol=1e-6)
    assert re.search(r"3   'sig'   Function +sigmoid by a function", str(LayerArray(base + [fl])))


def test_formattable_function_layer_gets_formatted_data_and_multiple_inputs():
    seen = []

    def f(X1, X2):
        seen.append((dims(X1), dims(X2)))
        return X1 * X2

    fl = functionLayer(f, "Formattable", True, "NumInputs", 2, "Name", "mul")
    assert fl.InputNames == ["in1", "in2"]
    layers = [featureInputLayer(3, "Normalization", "none", "Name", "in"), fullyConnectedLayer(3, "Name", "fc"), fl]
    lg = layerGraph(layers).connectLayers("in", "mul/in2")
    net = dlnetwork(lg)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    y = predict(net, x)
    w, b = np.asarray(net.Layers[1].Weights), np.asarray(net.Layers[1].Bias)
    np.testing.assert_allclose(y, (x @ w.T + b.T) * x, rtol=1e-5, atol=1e-6)
    assert ("CB", "CB") in seen
    with pytest.raises(LayerGraphError, match="Formattable"):
        checkLayer(fl, {0: [3], 1: [3]})


# -- learn-rate and L2 factors ---------------------------------------------------------------------------
def test_learn_rate_factor_zero_freezes_the_custom_learnable():
    layer = setLearnRateFactor(preluLayer(4, "prelu"), "Alpha", 0)
    assert getLearnRateFactor(layer, "Alpha") == 0 and getLearnRateFactor(preluLayer(4, "p"), "Alpha") == 1
    x, labels = _images()
    net = dlnetwork(_body(layer))
    assert net.getLearnRateFactor("prelu", "Alpha") == 0
    opts = trainingOptions("sgdm", "MaxEpochs", 2, "MiniBatchSize", 10, "Verbose", False)
    trained, _ = trainnet(x, labels, net, "crossentropy", opts)
    np.testing.assert_array_equal(np.asarray(trained.Layers[2].Alpha, dtype=np.float32),
                                  np.asarray(net.Layers[2].Alpha, dtype=np.float32))
    assert not np.allclose(trained.Layers[1].Weights, net.Layers[1].Weights)
    with pytest.raises(LayerGraphError, match="has no learnable parameter 'Beta'"):
        setLearnRateFactor(layer, "Beta", 1)


def test_l2_factor_reaches_the_trainer():
    x, labels = _images(n=20)
    out = []
    for factor in (0, 1000):
        rng(0)
        layer = preluLayer(4, "prelu")
        layer = layer.setL2Factor("Alpha", factor)
        opts = trainingOptions("sgdm", "MaxEpochs", 1, "MiniBatchSize", 10, "Verbose", False,
                               "L2Regularization", 1e-3, "Momentum", 0)
        net, _ = trainnet(x, labels, dlnetwork(_body(layer)), "crossentropy", opts)
        out.append(np.asarray(net.Layers[2].Alpha))
    assert np.all(np.abs(out[1]) < np.abs(out[0]))   # the L2 term shrinks Alpha


# -- printouts -------------------------------------------------------------------------------------------
def test_custom_layers_print_in_layer_arrays():
    class typed(preluLayer):
        def __init__(self):
            super().__init__(2, "")
            self.Type = "Parametric ReLU"

    text = str(LayerArray([imageInputLayer([4, 4, 2]), preluLayer(2, "prelu"), typed(),
                           ceClassificationLayer("out")]))
    assert re.search(r"2   'prelu'   preluLayer +PReLU with 2 channels", text)
    assert re.search(r"3   ''        Parametric ReLU +PReLU with 2 channels", text)
    assert "Parametric ReLU" in text and "Cross entropy by forwardLoss" in text
    spec = LayerArray([preluLayer(3, "p")])[0]
    assert spec.Alpha.shape == (1, 1, 3) and spec.Description == "PReLU with 3 channels"
    shown = str(spec)
    assert "Learnable Parameters" in shown and "Alpha" in shown
    assert "layer" in str(layerGraph([imageInputLayer([4, 4, 2]), typed()]).Layers[1].Name)


# -- bad input ---------------------------------------------------------------------------------------------
def test_predict_that_drops_the_observations_is_an_error_naming_the_layer():
    class sumLayer(nnet.layer.Layer):
        def __init__(self, name):
            self.Name = name

        def predict(self, X):
            return msum(X, 4)

    with pytest.raises(LayerGraphError, match=r"Layer 'bad': Invalid output 1 of predict.*same number of "
                                              r"observations \(dimension 4\)"):
        dlnetwork([imageInputLayer([4, 4, 2], "Normalization", "none"), sumLayer("bad")])
    results, text = _quiet(lambda: checkLayer(sumLayer("bad"), [4, 4, 2], ObservationDimension=4))
    assert "functionSyntaxesAreCorrect" in results.failures() and "Failure Summary" in text


def test_output_size_that_depends_on_the_batch_is_an_error_at_run_time():
    class growLayer(nnet.layer.Layer):
        def predict(self, X):
            n = X.shape[-1]
            return X if n == 2 else X[:, :1]

    net = dlnetwork([featureInputLayer(3, "Normalization", "none"), growLayer()])
    with pytest.raises(LayerGraphError, match=r"Layer 'layer': Invalid output 1 of the layer's function. It has "
                                              r"size 3×1.*3×5"):
        predict(net, np.ones((5, 3), np.float32))


def test_missing_learnable_is_an_error_naming_layer_and_property():
    class noAlpha(preluLayer):
        def __init__(self, name):
            self.Name = name

    with pytest.raises(LayerGraphError, match=r"Layer 'p': Learnable parameter 'Alpha' is empty"):
        dlnetwork([imageInputLayer([4, 4, 2], "Normalization", "none"), noAlpha("p")])
    results, _ = _quiet(lambda: checkLayer(noAlpha("p"), [4, 4, 2]))
    assert results.failures() == ["functionSyntaxesAreCorrect"]


def test_error_in_predict_names_the_layer_and_the_function():
    class broken(nnet.layer.Layer):
        def predict(self, X):
            raise ValueError("oops")

    with pytest.raises(LayerGraphError, match=r"Layer 'b': Error using 'predict' in layer broken.*oops"):
        dlnetwork([featureInputLayer(3), LayerArray([broken()])[0]._resolved_copy(Name="b")])


def test_bad_learnable_declarations_and_values():
    with pytest.raises(LayerGraphError, match="not a property name"):
        type("bad", (nnet.layer.Layer,), {"Learnable": ("not valid",)})

    class textAlpha(preluLayer):
        def __init__(self):
            self.Name = "t"
            self.Alpha = "big"

    with pytest.raises(LayerGraphError, match=r"Layer 't' \(textAlpha\).*Alpha.*numeric array"):
        LayerArray([textAlpha()])
    with pytest.raises(LayerGraphError, match="nonnegative"):
        setLearnRateFactor(preluLayer(2, "p"), "Alpha", -1)
    with pytest.raises(LayerGraphError, match="custom layers"):
        checkLayer(sigmoidLayer(), [3])
    assert regressionLayer().family == "mse"   # the built-in output layers are untouched
