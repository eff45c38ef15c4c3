"""trainnet, testnet, minibatchpredict, scores2label and the trainnet-era options: the same
training as trainNetwork for the same loss, the losses against torch, the verbose table,
TrainingInfo, the one- and two-output forms, and bad input."""
import io
import math
import os
from contextlib import redirect_stdout

import numpy as np
import pytest

from layergraph import (LayerGraphError, batchNormalizationLayer, categorical, categories,
                        classificationLayer, convolution2dLayer, featureInputLayer, fullyConnectedLayer,
                        imageDatastore, imageInputLayer, maxPooling2dLayer, minibatchpredict, reluLayer, rng,
                        scores2label, sigmoidLayer, softmaxLayer, testnet, trainNetwork, trainingOptions, trainnet)
from layergraph.train import BinaryCrossEntropy, Huber, MeanAbsolute, MeanSquared
from layergraph.matlab.network import DLNetwork
from layergraph.matlab.trainnet import TrainingInfo
from test_training import _images  # the two-class images of trainNetwork's tests


def _body():
    return [imageInputLayer([6, 6, 1]), convolution2dLayer(3, 4, Padding=1), batchNormalizationLayer(), reluLayer(),
            maxPooling2dLayer(2, Stride=2), fullyConnectedLayer(2), softmaxLayer()]


def _quiet(**kw):
    base = dict(MaxEpochs=3, MiniBatchSize=16, Verbose=False)
    base.update(kw)
    return trainingOptions("sgdm", **base)


def _features(n=80, seed=1):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 3)).astype(np.float32)
    y = np.stack([x[:, 0] - 2 * x[:, 1], 0.5 * x[:, 2] + 1], axis=1).astype(np.float32)
    return x, y


def _regressor():
    return [featureInputLayer(3), fullyConnectedLayer(8), reluLayer(), fullyConnectedLayer(2)]


def test_crossentropy_trains_as_trainnetwork_does_step_for_step():
    x, y = _images(80)
    rng(3)
    net_a, info_a = trainNetwork(x, y, _body() + [classificationLayer()], _quiet())
    rng(3)
    net_b, info_b = trainnet(x, categorical(y), _body(), "crossentropy", _quiet())
    assert isinstance(net_b, DLNetwork) and isinstance(info_b, TrainingInfo)
    np.testing.assert_allclose(info_b.TrainingHistory.Loss, info_a.TrainingLoss, rtol=1e-6)
    for la, lb in zip(net_a.Layers, net_b.Layers):
        for spec in lb.learnables:
            np.testing.assert_allclose(getattr(lb, spec.name), getattr(la, spec.name), rtol=1e-6, atol=1e-7)
    assert info_b.StopReason == "Max epochs completed" and info_b.OutputNetworkIteration == 15
    assert info_b.TrainingHistory.columns == ("Iteration", "Epoch", "LearnRate", "Loss")
    assert info_b.TrainingHistory.Iteration == list(range(1, 16)) and info_b.TrainingHistory.Epoch[-1] == 3


def test_one_and_two_output_forms():
    x, y = _images(48)
    rng(0)
    net = trainnet(x, categorical(y), _body(), "crossentropy", _quiet(MaxEpochs=1))
    assert isinstance(net, DLNetwork) and net.predict(x).shape == (48, 2)
    rng(0)
    net2, info = trainnet(x, categorical(y), _body(), "crossentropy", _quiet(MaxEpochs=1))
    assert type(net2) is DLNetwork and isinstance(info, TrainingInfo)
    np.testing.assert_array_equal(net2.predict(x), net.predict(x))
    assert "TrainingInfo with properties" in repr(info) and '"Max epochs completed"' in repr(info)


def test_index_crossentropy_equals_crossentropy():
    x, y = _images(64)
    idx = np.where(y == "down", 1, 2)
    rng(1)
    _, a = trainnet(x, categorical(y), _body(), "crossentropy", _quiet(MaxEpochs=2))
    rng(1)
    _, b = trainnet(x, idx, _body(), "index-crossentropy", _quiet(MaxEpochs=2))
    np.testing.assert_allclose(b.TrainingHistory.Loss, a.TrainingHistory.Loss, rtol=1e-6)
    with pytest.raises(LayerGraphError):
        trainnet(x, idx + 1, _body(), "index-crossentropy", _quiet())   # class 3 of a 2-class output


@pytest.mark.parametrize("name,ours,ref", [
    ("mse", MeanSquared(), lambda F, y, t: F.mse_loss(y, t)),
    ("mae", MeanAbsolute(), lambda F, y, t: F.l1_loss(y, t)),
    ("huber", Huber(), lambda F, y, t: F.huber_loss(y, t, delta=1.0)),
    ("binary-crossentropy", BinaryCrossEntropy(), lambda F, y, t: F.binary_cross_entropy(y, t)),
])
def test_losses_match_torch_and_finite_differences(name, ours, ref):
    """The trainnet losses (normalized by the number of elements): value and gradient against
    torch's mean-reduced losses, and the gradient against float64 central differences."""
    import torch
    g = np.random.default_rng(4)
    y = g.uniform(0.05, 0.95, size=(5, 3, 2, 2)) if name == "binary-crossentropy" else g.normal(size=(5, 3, 2, 2)) * 2
    t = (g.random(size=y.shape) > 0.5).astype(float) if name == "binary-crossentropy" else g.normal(size=y.shape)
    value, grad = ours(y, t)
    yt = torch.tensor(y, requires_grad=True)
    r = ref(torch.nn.functional, yt, torch.tensor(t))
    r.backward()
    assert value == pytest.approx(float(r.detach()), rel=1e-12)
    np.testing.assert_allclose(grad, yt.grad.numpy(), rtol=1e-10, atol=1e-14)
    fd = np.zeros_like(y)
    h = 1e-6
    for i in np.ndindex(y.shape):
        up, dn = y.copy(), y.copy()
        up[i] += h
        dn[i] -= h
        fd[i] = (ours(up, t)[0] - ours(dn, t)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)


def test_regression_losses_train_and_testnet_reports_them():
    x, y = _features()
    for loss in ("mse", "mean-squared-error", "l2loss", "mae", "l1loss", "huber"):
        rng(2)
        net, info = trainnet(x, y, _regressor(), loss, _quiet(MaxEpochs=20, Metrics="rmse"))
        h = info.TrainingHistory
        assert h.columns[-1] == "RMSE" and h.Loss[-1] < h.Loss[0]
        pred = minibatchpredict(net, x)
        assert pred.shape == (80, 2)
        rmse, value = testnet(net, x, y, ["rmse", loss])
        assert rmse == pytest.approx(float(np.sqrt(np.mean((pred - y) ** 2))), rel=1e-5)
        expected = {"mse": np.mean((pred - y) ** 2), "mae": np.mean(np.abs(pred - y))}
        key = {"mean-squared-error": "mse", "l2loss": "mse", "l1loss": "mae"}.get(loss, loss)
        if key in expected:
            assert value == pytest.approx(float(expected[key]), rel=1e-5)


def test_binary_crossentropy_with_sigmoid_outputs():
    x, y = _images(64)
    t = (y == "up").astype(np.float32)[:, None]
    layers = _body()[:-2] + [fullyConnectedLayer(1), sigmoidLayer()]
    rng(0)
    net, info = trainnet(x, t, layers, "binary-crossentropy", _quiet(MaxEpochs=6, Metrics="accuracy"))
    assert info.TrainingHistory.Accuracy[-1] >= 75
    p = minibatchpredict(net, x)
    assert testnet(net, x, t, "accuracy")[0] == pytest.approx(100 * np.mean((p >= 0.5) == (t >= 0.5)))


def test_verbose_table_with_validation_and_metrics():
    x, y = _images(96)
    rng(0)
    opts = trainingOptions("sgdm", MaxEpochs=2, MiniBatchSize=16, Metrics="accuracy", ValidationFrequency=4,
                           VerboseFrequency=4, ValidationData=(x[..., 64:], categorical(y[64:])))
    buf = io.StringIO()
    with redirect_stdout(buf):
        _, info = trainnet(x[..., :64], categorical(y[:64]), _body(), "crossentropy", opts)
    lines = buf.getvalue().splitlines()
    head = ("    Iteration    Epoch    TimeElapsed    LearnRate    TrainingLoss    ValidationLoss    TrainingAccuracy"
            "    ValidationAccuracy")
    assert lines[0] == head
    assert lines[1] == "    " + "    ".join("_" * len(c) for c in head.split())
    row0 = lines[2]   # iteration 0: the validation only
    assert row0.split() == ["0", "0", "00:00:00", "0.01", row0.split()[4], row0.split()[5]]
    assert len(row0) == len(head) and row0[len(head) - len("ValidationAccuracy") - 40:len(head) - 60].strip() == ""
    its = [int(ln.split()[0]) for ln in lines[2:-1]]
    assert its == [0, 1, 4, 8]
    assert lines[-1] == "Training stopped: Max epochs completed"
    v = info.ValidationHistory
    assert v.columns == ("Iteration", "Loss", "Accuracy") and v.Iteration == [0, 4, 8]
    # OutputNetwork "auto" with validation data: the best validation loss (trainnet's default)
    assert info.OutputNetworkIteration == v.Iteration[int(np.argmin(v.Loss))]


def test_objective_metric_picks_the_output_network():
    x, y = _images(96, seed=5)
    rng(4)
    opts = _quiet(MaxEpochs=3, Metrics="accuracy", ObjectiveMetricName="accuracy", OutputNetwork="best-validation",
                  ValidationFrequency=2, ValidationData=(x[..., 64:], categorical(y[64:])), InitialLearnRate=0.05)
    net, info = trainnet(x[..., :64], categorical(y[:64]), _body(), "crossentropy", opts)
    v = info.ValidationHistory
    best = v.Iteration[int(np.argmax(v.Accuracy))]
    assert info.OutputNetworkIteration == best
    assert testnet(net, x[..., 64:], categorical(y[64:]), "accuracy")[0] == pytest.approx(max(v.Accuracy))


def test_options_of_the_trainnet_era():
    o = trainingOptions("adam", Metrics=["accuracy", "rmse"], OutputNetwork="auto")
    assert o.Metrics == ("accuracy", "rmse") and o.OutputNetwork == "auto"
    text = str(o)
    assert 'Metrics: ["accuracy" "rmse"]' in text and "PreprocessingEnvironment: 'serial'" in text
    assert "Metrics" not in str(trainingOptions("adam"))   # the R2021 display, unchanged
    with pytest.raises(LayerGraphError, match='Supported values are "accuracy", "auc"'):
        trainingOptions("sgdm", Metrics="precisionn")
    with pytest.raises(LayerGraphError, match='"fscore" is not supported by layergraph'):
        trainingOptions("sgdm", Metrics="fscore")
    with pytest.raises(LayerGraphError, match="InputDataFormats"):
        trainingOptions("sgdm", InputDataFormats="CB")


def test_scores2label():
    s = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    lab = scores2label(s, ["a", "b", "c"])
    assert list(lab.labels) == ["b", "a"] and categories(lab) == ["a", "b", "c"]
    assert list(scores2label(s.T, ["a", "b", "c"], 1).labels) == ["b", "a"]
    with pytest.raises(LayerGraphError, match="no dimension of the number of classes"):
        scores2label(s, ["a", "b", "c", "d"])
    with pytest.raises(LayerGraphError, match="Dimension 1 of the scores has 2 elements"):
        scores2label(s, ["a", "b", "c"], 1)


def test_trainnet_from_a_datastore_equals_in_memory(tmp_path):
    from PIL import Image
    x, y = _images(48, seed=2)
    u8 = np.clip((x - x.min()) / (x.max() - x.min()) * 255, 0, 255).astype(np.uint8)
    for k in range(48):
        os.makedirs(tmp_path / y[k], exist_ok=True)
        Image.fromarray(u8[:, :, 0, k]).save(tmp_path / y[k] / f"{k:03d}.png")
    imds = imageDatastore(str(tmp_path), IncludeSubfolders=True, LabelSource="foldernames")
    X = np.stack(imds.readall(), axis=2)[:, :, None, :].astype(np.float32)
    rng(6)
    _, a = trainnet(imds, _body(), "crossentropy", _quiet(MaxEpochs=2))
    rng(6)
    _, b = trainnet(X, imds.Labels, _body(), "crossentropy", _quiet(MaxEpochs=2))
    np.testing.assert_allclose(a.TrainingHistory.Loss, b.TrainingHistory.Loss, rtol=1e-6)


@pytest.mark.parametrize("call,fragment", [
    (lambda x, y: trainnet(x, y, _body() + [classificationLayer()], "crossentropy", _quiet()),
     "must not have output layers"),
    (lambda x, y: trainnet(x, y, _body(), "cross-entropy", _quiet()), 'The loss must be one of "crossentropy"'),
    (lambda x, y: trainnet(x, y, _body(), lambda Y, T: 0, _quiet()), "Value to differentiate is not traced"),
    (lambda x, y: trainnet(x, y, _body(), "mse", _quiet(Metrics="accuracy")), "needs a classification loss"),
    (lambda x, y: trainnet(x, y, _body(), "crossentropy", _quiet(ObjectiveMetricName="accuracy")),
     'Invalid ObjectiveMetricName "accuracy"'),
    (lambda x, y: trainnet(x, y, _body(), "crossentropy", _quiet(OutputNetwork="best-validation")),
     "needs validation data"),
    (lambda x, y: trainnet(x, _body(), "crossentropy", _quiet()), "takes a datastore"),
    (lambda x, y: trainnet(x, y, _body(), "crossentropy", {}), "training options object"),
    (lambda x, y: trainnet(x, y[:10], _body(), "crossentropy", _quiet()), "number of observations"),
])
def test_bad_input(call, fragment):
    x, y = _images(32)
    with pytest.raises(LayerGraphError, match=fragment):
        call(x, categorical(y))


def test_a_failed_call_leaves_the_network_as_it_was():
    x, y = _images(32)
    rng(0)
    from layergraph import dlnetwork
    net = dlnetwork(_body())
    before = [np.array(getattr(lay, s.name)) for lay in net.Layers for s in lay.learnables]
    with pytest.raises(LayerGraphError):
        trainnet(x, categorical(y)[:5], net, "crossentropy", _quiet())
    trainnet(x, categorical(y), net, "crossentropy", _quiet(MaxEpochs=1))   # training returns a new network
    after = [np.array(getattr(lay, s.name)) for lay in net.Layers for s in lay.learnables]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert not math.isnan(float(np.sum(after[0])))


def test_the_trained_network_saves_and_loads(tmp_path):
    import layergraph
    x, y = _images(32)
    rng(0)
    net = trainnet(x, categorical(y), _body(), "crossentropy", _quiet(MaxEpochs=1))
    path = tmp_path / "net.lgnet"
    layergraph.save(net, path)
    back = layergraph.load(path)
    assert type(back) is DLNetwork
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
