"""MATLAB's trainingOptions and trainNetwork: options, display, data checks, input
normalization, the verbose table, OutputFcn and the returned network and info."""
import math

import numpy as np
import pytest

from layergraph import (LayerGraphError, additionLayer, batchNormalizationLayer, categorical, classificationLayer,
                        classify, connectLayers, convolution2dLayer, featureInputLayer, fullyConnectedLayer,
                        imageInputLayer, layerGraph, maxPooling2dLayer, predict, regressionLayer, reluLayer, rng,
                        softmaxLayer, trainingOptions, trainNetwork)
from layergraph.matlab.network import DAGNetwork, SeriesNetwork
from layergraph.display.training import VerboseTable, format_loss

# -- trainingOptions --------------------------------------------------------------------------
COMMON = dict(LearnRateSchedule="none", LearnRateDropFactor=0.1, LearnRateDropPeriod=10, L2Regularization=1e-4,
              GradientThresholdMethod="l2norm", GradientThreshold=math.inf, MaxEpochs=30, MiniBatchSize=128,
              Verbose=True, VerboseFrequency=50, ValidationData=None, ValidationFrequency=50,
              ValidationPatience=math.inf, Shuffle="once", CheckpointPath="", CheckpointFrequency=1,
              CheckpointFrequencyUnit="epoch", ExecutionEnvironment="auto", WorkerLoad=None, OutputFcn=None,
              Plots="none", SequenceLength="longest", SequencePaddingValue=0, SequencePaddingDirection="right",
              DispatchInBackground=False, ResetInputNormalization=True, BatchNormalizationStatistics="population",
              OutputNetwork="last-iteration")
SOLVER = {"sgdm": dict(Momentum=0.9, InitialLearnRate=0.01),
          "adam": dict(GradientDecayFactor=0.9, SquaredGradientDecayFactor=0.999, Epsilon=1e-8,
                       InitialLearnRate=0.001),
          "rmsprop": dict(SquaredGradientDecayFactor=0.9, Epsilon=1e-8, InitialLearnRate=0.001)}


@pytest.mark.parametrize("solver", ["sgdm", "adam", "rmsprop"])
def test_training_options_defaults(solver):
    opts = trainingOptions(solver)
    assert type(opts).__name__ == {"sgdm": "TrainingOptionsSGDM", "adam": "TrainingOptionsADAM",
                                   "rmsprop": "TrainingOptionsRMSProp"}[solver]
    for name, value in {**COMMON, **SOLVER[solver]}.items():
        assert getattr(opts, name) == value, name


ADAM_DISPLAY = """\
  TrainingOptionsADAM with properties:

             GradientDecayFactor: 0.9000
      SquaredGradientDecayFactor: 0.9990
                         Epsilon: 1.0000e-08
                InitialLearnRate: 0.0050
               LearnRateSchedule: 'none'
             LearnRateDropFactor: 0.1000
             LearnRateDropPeriod: 10
                L2Regularization: 1.0000e-04
         GradientThresholdMethod: 'l2norm'
               GradientThreshold: Inf
                       MaxEpochs: 8000
                   MiniBatchSize: 128
                         Verbose: 0
                VerboseFrequency: 50
                  ValidationData: []
             ValidationFrequency: 50
              ValidationPatience: Inf
                         Shuffle: 'once'
                  CheckpointPath: ''
             CheckpointFrequency: 1
         CheckpointFrequencyUnit: 'epoch'
            ExecutionEnvironment: 'cpu'
                      WorkerLoad: []
                       OutputFcn: []
                           Plots: 'training-progress'
                  SequenceLength: 'shortest'
            SequencePaddingValue: 0
        SequencePaddingDirection: 'right'
            DispatchInBackground: 0
         ResetInputNormalization: 1
    BatchNormalizationStatistics: 'population'
                   OutputNetwork: 'last-iteration'
"""


def test_adam_display_matches_matlab():
    """The R2021 printout from the reference notes, character for character."""
    opts = trainingOptions("adam", "InitialLearnRate", 0.005, "MaxEpochs", 8000, "Verbose", 0,
                           "ExecutionEnvironment", "cpu", "Plots", "training-progress", "SequenceLength", "shortest")
    assert str(opts) == ADAM_DISPLAY


def test_sgdm_display_starts_with_momentum():
    lines = str(trainingOptions("sgdm")).splitlines()
    assert lines[0] == "  TrainingOptionsSGDM with properties:"
    assert lines[2] == "                        Momentum: 0.9000"
    assert lines[3] == "                InitialLearnRate: 0.0100"


@pytest.mark.parametrize("call, fragment", [
    (lambda: trainingOptions("sgdm", GradientDecayFactor=0.9), "'GradientDecayFactor' is not an option for solver "
                                                                "'sgdm'"),
    (lambda: trainingOptions("adam", Momentum=0.9), "'Momentum' is not an option for solver 'adam'"),
    (lambda: trainingOptions("sgdm", BatchSize=10), "'BatchSize' is not a recognized parameter"),
    (lambda: trainingOptions("sgd"), "'sgd', did not match"),
    (lambda: trainingOptions("lbfgs", MaxEpochs=3), "'MaxEpochs' is not an option for solver 'lbfgs'"),
    (lambda: trainingOptions("sgdm", MaxEpochs=0), "Expected MaxEpochs to be a positive integer"),
    (lambda: trainingOptions("sgdm", Momentum=1.5), "Momentum"),
    (lambda: trainingOptions("adam", GradientDecayFactor=1), "GradientDecayFactor"),
    (lambda: trainingOptions("sgdm", Shuffle="sometimes"), "'once', 'never', 'every-epoch'"),
    (lambda: trainingOptions("sgdm", ValidationData=[1, 2, 3]), "ValidationData"),
    (lambda: trainingOptions("sgdm", OutputFcn=3), "OutputFcn"),
    (lambda: trainingOptions("sgdm", "MaxEpochs"), "pairs"),
])
def test_training_options_errors(call, fragment):
    with pytest.raises(LayerGraphError) as err:
        call()
    assert fragment in str(err.value)


def test_validation_patience_takes_any_numeric_scalar_or_inf():
    """A positive integer or Inf, given as any numeric scalar (Inf used to overflow int())."""
    assert trainingOptions("sgdm", ValidationPatience=np.array([3])).ValidationPatience == 3
    assert trainingOptions("sgdm", ValidationPatience=np.float32("inf")).ValidationPatience == math.inf
    for bad in (-math.inf, 0, 2.5, math.nan):
        with pytest.raises(LayerGraphError, match="Expected ValidationPatience to be a positive integer or Inf"):
            trainingOptions("sgdm", ValidationPatience=bad)


def test_display_of_validation_labels_and_an_output_function():
    x = np.zeros((6, 6, 1, 4), np.float32)
    opts = trainingOptions("sgdm", ValidationData=(x, ["a", "b", "a", "b"]), OutputFcn=lambda info: False)
    lines = str(opts).splitlines()
    assert "                  ValidationData: {[6x6x1x4 single]  [4x1 string]}" in lines
    assert "                       OutputFcn: @(info)..." in lines


def test_training_options_prefix_names_and_assignment():
    opts = trainingOptions("sgdm", "maxep", 3, "initiallearn", 0.1)
    assert opts.MaxEpochs == 3 and opts.InitialLearnRate == 0.1
    opts.MiniBatchSize = 16
    with pytest.raises(LayerGraphError, match="MiniBatchSize"):
        opts.MiniBatchSize = 2.5
    assert opts.MiniBatchSize == 16
    with pytest.raises(LayerGraphError, match="Unrecognized property"):
        opts.Foo = 1


# -- data and networks -----------------------------------------------------------------------
def _images(n=64, seed=0):
    """Two-class 6x6x1 images: the class is which half is brighter."""
    g = np.random.default_rng(seed)
    y = g.integers(0, 2, n)
    x = g.normal(size=(6, 6, 1, n)).astype(np.float32)
    x[:3, :, 0, y == 1] += 1.5
    x[3:, :, 0, y == 0] += 1.5
    return x, np.array(["down", "up"])[y]


def _cnn(**input_kw):
    return [imageInputLayer([6, 6, 1], **input_kw), convolution2dLayer(3, 4, Padding=1), batchNormalizationLayer(),
            reluLayer(), maxPooling2dLayer(2, Stride=2), fullyConnectedLayer(2), softmaxLayer(),
            classificationLayer()]


def _quiet(solver="sgdm", **kw):
    base = dict(MaxEpochs=3, MiniBatchSize=16, Verbose=False)
    base.update(kw)
    return trainingOptions(solver, **base)


def test_train_classification_network():
    rng(0)
    x, y = _images(96)
    net, info = trainNetwork(x, y, _cnn(), _quiet(MaxEpochs=8, InitialLearnRate=0.05))
    assert isinstance(net, SeriesNetwork)
    out = net.Layers[-1]
    assert out.Classes == ["down", "up"] and out.OutputSize == 2
    assert net.Layers[2].description() == "Batch normalization with 4 channels"
    assert net.Layers[1].description().startswith("4 3x3x1 convolutions")
    labels, scores = classify(net, x)
    assert np.mean(labels == y) > 0.9
    assert scores.shape == (96, 2)
    np.testing.assert_allclose(predict(net, x), scores)
    n_iter = 8 * (96 // 16)
    for field in ("TrainingLoss", "TrainingAccuracy", "ValidationLoss", "ValidationAccuracy", "BaseLearnRate"):
        assert info[field].shape == (n_iter,)
    assert np.all(np.isnan(info.ValidationLoss))
    assert info.FinalValidationLoss is None and info.OutputNetworkIteration == n_iter
    assert info.StopReason == "Max epochs completed"


def test_best_validation_loss_network():
    rng(4)
    x, y = _images(64)
    xv, yv = _images(32, seed=9)
    net, info = trainNetwork(x, y, _cnn(), _quiet(MaxEpochs=4, ValidationData=(xv, yv), ValidationFrequency=1,
                                                  OutputNetwork="best-validation-loss", InitialLearnRate=0.2))
    best = int(np.nanargmin(info.ValidationLoss)) + 1
    assert info.OutputNetworkIteration == best


def test_train_with_validation_data_and_layer_graph():
    rng(1)
    x, y = _images(64)
    xv, yv = _images(32, seed=5)
    lgraph = layerGraph(_cnn())
    net, info = trainNetwork(x, y, lgraph, _quiet(ValidationData=(xv, yv), ValidationFrequency=2))
    assert isinstance(net, DAGNetwork) and not isinstance(net, SeriesNetwork)
    validated = np.flatnonzero(~np.isnan(info.ValidationLoss)) + 1
    assert list(validated) == [1, 2, 4, 6, 8, 10, 12]
    labels, scores = classify(net, xv)
    expected_acc = 100 * np.mean(labels == yv)
    assert info.FinalValidationAccuracy == pytest.approx(expected_acc)


def test_train_residual_dag():
    rng(2)
    x, y = _images(48)
    layers = [imageInputLayer([6, 6, 1], Name="in"), convolution2dLayer(3, 4, Padding=1, Name="c1"),
              reluLayer(Name="r1"), convolution2dLayer(3, 4, Padding=1, Name="c2"), additionLayer(2, Name="add"),
              fullyConnectedLayer(2, Name="fc"), softmaxLayer(Name="sm"), classificationLayer(Name="out")]
    lgraph = connectLayers(layerGraph(layers), "r1", "add/in2")
    net, info = trainNetwork(x, y, lgraph, _quiet())
    assert np.all(np.isfinite(info.TrainingLoss))
    assert net.Layers[1].Weights.shape == (3, 3, 1, 4)


def test_train_regression_reports_rmse():
    rng(3)
    g = np.random.default_rng(0)
    x = g.normal(size=(80, 3)).astype(np.float32)
    y = np.stack([x @ [1.0, -2.0, 0.5], x[:, 0] * 0.3], axis=1)
    layers = [featureInputLayer(3), fullyConnectedLayer(2), regressionLayer()]
    net, info = trainNetwork(x, y, layers, _quiet(MaxEpochs=40, InitialLearnRate=0.05, L2Regularization=0))
    assert "TrainingRMSE" in info and "TrainingAccuracy" not in info
    np.testing.assert_allclose(info.TrainingRMSE, np.sqrt(2 * info.TrainingLoss), rtol=1e-6)
    assert info.TrainingLoss[-1] < 0.01
    pred = predict(net, x)
    assert pred.shape == (80, 2) and np.sqrt(np.mean(np.sum((pred - y) ** 2, axis=1))) < 0.1


def test_piecewise_schedule_in_info():
    x, y = _images(32)
    _, info = trainNetwork(x, y, _cnn(), _quiet(MaxEpochs=5, MiniBatchSize=16, InitialLearnRate=0.1,
                                                 LearnRateSchedule="piecewise", LearnRateDropPeriod=2,
                                                 LearnRateDropFactor=0.5))
    np.testing.assert_allclose(info.BaseLearnRate, [0.1] * 4 + [0.05] * 4 + [0.025] * 2)


@pytest.mark.parametrize("solver", ["sgdm", "adam", "rmsprop"])
@pytest.mark.parametrize("method", ["l2norm", "global-l2norm", "absolute-value"])
def test_train_network_follows_matlab_update_order(solver, method):
    """trainingOptions -> trainNetwork end to end against the reference's per-iteration
    order, in float64 numpy: gradient, g += L2Regularization * L2Factor * w (BiasL2Factor 0),
    thresholding, the solver step at InitialLearnRate * LearnRateFactor, 'piecewise' drops
    at epoch ends, the incomplete last mini-batch dropped (N = 12, MiniBatchSize 5)."""
    n, c, k = 12, 5, 3
    g = np.random.default_rng(0)
    x, labels = g.normal(size=(n, c)), g.integers(0, k, n)
    t = np.eye(k)[labels]
    w, b = g.normal(size=(k, c)) * 0.5, g.normal(size=(k, 1)) * 0.1
    layers = [featureInputLayer(c), fullyConnectedLayer(k, Weights=w, Bias=b, BiasLearnRateFactor=2,
                                                         WeightL2Factor=1.5), softmaxLayer(), classificationLayer()]
    opts = trainingOptions(solver, MaxEpochs=5, MiniBatchSize=5, Shuffle="never", Verbose=False,
                           L2Regularization=0.01, GradientThreshold=0.3, GradientThresholdMethod=method,
                           LearnRateSchedule="piecewise", LearnRateDropPeriod=2, LearnRateDropFactor=0.5,
                           InitialLearnRate=0.1)
    net, info = trainNetwork(x.astype(np.float32), labels, layers, opts)
    state, rates = ({}, {}), []
    for it in range(1, 11):
        lr = 0.1 * 0.5 ** ((it - 1) // 2 // 2)  # two iterations per epoch, a drop every two epochs
        rates.append(lr)
        i = (it - 1) % 2
        xb, tb = x[i * 5:(i + 1) * 5], t[i * 5:(i + 1) * 5]
        z = xb @ w.T + b.ravel()
        y = np.exp(z - z.max(axis=1, keepdims=True))
        d = (y / y.sum(axis=1, keepdims=True) - tb) / 5
        gw, gb = d.T @ xb + 0.01 * 1.5 * w, d.sum(axis=0).reshape(-1, 1)
        if method == "l2norm":
            gw, gb = (q * min(1, 0.3 / np.linalg.norm(q)) for q in (gw, gb))
        elif method == "global-l2norm":
            f = min(1, 0.3 / np.sqrt(np.sum(gw ** 2) + np.sum(gb ** 2)))
            gw, gb = gw * f, gb * f
        else:
            gw, gb = np.clip(gw, -0.3, 0.3), np.clip(gb, -0.3, 0.3)
        new = []
        for p, q, factor, s in ((w, gw, 1, state[0]), (b, gb, 2, state[1])):
            a = lr * factor
            if solver == "sgdm":
                s["v"] = 0.9 * s.get("v", 0) - a * q
                p = p + s["v"]
            elif solver == "adam":
                s["m"] = 0.9 * s.get("m", 0) + 0.1 * q
                s["v"] = 0.999 * s.get("v", 0) + 0.001 * q * q
                p = p - a * math.sqrt(1 - 0.999 ** it) / (1 - 0.9 ** it) * s["m"] / (np.sqrt(s["v"]) + 1e-8)
            else:
                s["v"] = 0.9 * s.get("v", 0) + 0.1 * q * q
                p = p - a * q / (np.sqrt(s["v"]) + 1e-8)
            new.append(p)
        w, b = new
    np.testing.assert_allclose(info.BaseLearnRate, rates)
    np.testing.assert_allclose(net.Layers[1].Weights, w, atol=1e-6)
    np.testing.assert_allclose(net.Layers[1].Bias, b, atol=1e-6)


# -- input normalization -----------------------------------------------------------------------
@pytest.mark.parametrize("mode, dim", [("zerocenter", "auto"), ("zerocenter", "element"), ("zerocenter", "all"),
                                       ("zscore", "channel"), ("rescale-symmetric", "auto"),
                                       ("rescale-zero-one", "all")])
def test_input_normalization_is_computed_from_the_training_data(mode, dim):
    x, y = _images(32)
    x = x + 3.0
    net, _ = trainNetwork(x, y, _cnn(Normalization=mode, NormalizationDimension=dim), _quiet(MaxEpochs=1))
    layer = net.Layers[0]
    axes = {"auto": (0, 1, 3), "channel": (0, 1, 3), "element": (3,), "all": (0, 1, 2, 3)}[dim]
    xd = x.astype(np.float64)
    if mode in ("zerocenter", "zscore"):
        np.testing.assert_allclose(layer.Mean.ravel(), xd.mean(axis=axes).ravel(), rtol=1e-6)
    if mode == "zscore":
        np.testing.assert_allclose(layer.StandardDeviation.ravel(), xd.std(axis=axes).ravel(), rtol=1e-6)
    if mode.startswith("rescale"):
        np.testing.assert_allclose(layer.Min.ravel(), xd.min(axis=axes).ravel(), rtol=1e-6)
        np.testing.assert_allclose(layer.Max.ravel(), xd.max(axis=axes).ravel(), rtol=1e-6)


def test_reset_input_normalization_false_keeps_given_statistics():
    x, y = _images(32)
    net, _ = trainNetwork(x, y, _cnn(Mean=np.array([[[0.25]]])), _quiet(MaxEpochs=1, ResetInputNormalization=False))
    assert net.Layers[0].Mean.ravel().tolist() == [0.25]
    net, _ = trainNetwork(x, y, _cnn(Mean=np.array([[[0.25]]])), _quiet(MaxEpochs=1))
    assert net.Layers[0].Mean.ravel()[0] == pytest.approx(float(x.mean()), rel=1e-5)


def test_zscore_with_a_constant_element_is_a_clear_error():
    x, y = _images(32)
    x[0, 0] = 1.0
    with pytest.raises(LayerGraphError, match="zero StandardDeviation"):
        trainNetwork(x, y, _cnn(Normalization="zscore", NormalizationDimension="element"), _quiet())


# -- bad data: clear errors before the first iteration -------------------------------------------------
@pytest.mark.parametrize("make, fragment", [
    (lambda x, y: (x[:5], y), "Expected images of size 6x6x1xN"),
    (lambda x, y: (x, y[:-1]), "number of observations in X (32) and Y (31)"),
    (lambda x, y: (np.where(np.arange(32) == 3, np.nan, x), y), "NaN"),
    (lambda x, y: (x, np.array(["a", "b", "c", "d"] * 8)), "output size (2) of the last layer does not match the "
                                                           "number of classes (4)"),
    (lambda x, y: (x, np.ones((32, 2))), "vector of class labels"),
    (lambda x, y: (x, [[1, 2], [3, 4]]), "vector of strings or integers"),
    (lambda x, y: (x[..., :0], y[:0]), "X contains no observations"),
])
def test_bad_training_data(make, fragment):
    x, y = _images(32)
    calls = []
    X, Y = make(x, y)
    with pytest.raises(LayerGraphError) as err:
        trainNetwork(X, Y, _cnn(), _quiet(OutputFcn=lambda info: calls.append(info) and False))
    assert fragment in str(err.value)
    assert calls == []


@pytest.mark.parametrize("missing", [None, "", math.nan])
def test_missing_labels_are_an_error_not_a_class(missing):
    """'', None and NaN are <undefined> in MATLAB's categorical; they used to become a class
    of their own ('None', '')."""
    x, y = _images(32)
    labels = list(y) if isinstance(missing, (str, type(None))) else list((y == "up").astype(float))
    labels[3] = missing
    layers = _cnn()
    layers[-3] = fullyConnectedLayer(3)  # room for a third class: the labels alone must be refused
    with pytest.raises(LayerGraphError, match=r"1 of the 32 labels is missing .*at positions 4\."):
        trainNetwork(x, labels, layers, _quiet())


def test_class_weights_must_match_the_number_of_classes():
    x, y = _images(32)
    layers = _cnn()
    layers[-1] = classificationLayer(Classes=["down", "up"], ClassWeights=[1, 2, 3])
    with pytest.raises(LayerGraphError, match="Layer 'classoutput' has 3 ClassWeights, but there are 2 classes"):
        trainNetwork(x, y, layers, _quiet())


def test_labels_outside_the_given_classes():
    x, y = _images(32)
    layers = _cnn()
    layers[-1] = classificationLayer(Classes=["down", "sideways"])
    with pytest.raises(LayerGraphError, match="not in the Classes of layer"):
        trainNetwork(x, y, layers, _quiet())


def test_bad_options_and_environment():
    x, y = _images(32)
    with pytest.raises(LayerGraphError, match="trainingOptions"):
        trainNetwork(x, y, _cnn(), {"MaxEpochs": 1})
    with pytest.raises(LayerGraphError, match="'gpu'"):
        trainNetwork(x, y, _cnn(), _quiet(ExecutionEnvironment="gpu"))
    with pytest.raises(LayerGraphError, match="does not exist"):
        trainNetwork(x, y, _cnn(), _quiet(CheckpointPath="/nonexistent/folder"))
    with pytest.raises(LayerGraphError, match="needs validation data"):
        trainNetwork(x, y, _cnn(), _quiet(OutputNetwork="best-validation-loss"))


# -- progress -------------------------------------------------------------------------------------------
def test_verbose_table(capsys):
    x, y = _images(64)
    trainNetwork(x, y, _cnn(), trainingOptions("sgdm", MaxEpochs=3, MiniBatchSize=16, VerboseFrequency=5))
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "Training on single CPU.",
        "Initializing input data normalization.",
        "|" + "=" * 88 + "|",
        "|  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Mini-batch  |  Base Learning  |",
        "|         |             |   (hh:mm:ss)   |   Accuracy   |     Loss     |      Rate       |",
        "|" + "=" * 88 + "|"]
    rows = [line for line in lines[6:] if line.startswith("|") and "=" not in line]
    assert [int(r.split("|")[2]) for r in rows] == [1, 5, 10, 12]
    assert rows[0].startswith("|       1 |           1 |       00:00:0")
    assert rows[0].endswith("|          0.0100 |")
    assert lines[-2] == "|" + "=" * 88 + "|"
    assert lines[-1] == "Training finished: Max epochs completed."


def test_verbose_formats():
    assert format_loss(1.96684) == "1.9668" and format_loss(561.2) == "561.2" and format_loss(1848.94) == "1848.9"
    table = VerboseTable("RMSE", True)
    header = table.header()
    assert len(header[0]) == 120
    assert "|     RMSE     |" in header[2]
    row = table.row(dict(Epoch=2, Iteration=50, TimeSinceStart=3725.0, TrainingMetric=33.5, ValidationMetric=None,
                         TrainingLoss=561.2, ValidationLoss=math.nan, BaseLearnRate=1e-4))
    assert row == ("|       2 |          50 |       01:02:05 |        33.50 |              |        561.2 |"
                   "              |      1.0000e-04 |")


def test_output_fcn_info_and_stop():
    x, y = _images(64)
    seen = []

    def fcn(info):
        seen.append(dict(info))
        return info.State == "iteration" and info.Iteration == 3
    net, info = trainNetwork(x, y, _cnn(), _quiet(OutputFcn=fcn))
    assert [s["State"] for s in seen] == ["start", "iteration", "iteration", "iteration", "done"]
    it = seen[1]
    assert set(it) >= {"Epoch", "Iteration", "TimeSinceStart", "TrainingLoss", "ValidationLoss", "BaseLearnRate",
                       "TrainingAccuracy", "TrainingRMSE", "ValidationAccuracy", "ValidationRMSE", "State"}
    assert it["ValidationLoss"] is None and it["TrainingRMSE"] is None and 0 <= it["TrainingAccuracy"] <= 100
    assert info.StopReason == "Stopped by OutputFcn" and len(info.TrainingLoss) == 3
    classify(net, x)


def test_training_progress_plot_writes_a_png(tmp_path, monkeypatch):
    """The figure is a Figure on the Agg canvas: the user's backend stays as it was and
    nothing is written to the current folder; the PNG goes to CheckpointPath when one is given."""
    import matplotlib
    from matplotlib.figure import Figure
    monkeypatch.chdir(tmp_path)
    backend = dict.__getitem__(matplotlib.rcParams, "backend")
    x, y = _images(32)
    _, info = trainNetwork(x, y, _cnn(), _quiet(Plots="training-progress"))
    assert list(tmp_path.iterdir()) == []
    assert isinstance(info.ProgressFigure, Figure) and info.ProgressFigureFile is None
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend
    folder = tmp_path / "run"
    folder.mkdir()
    _, info = trainNetwork(x, y, _cnn(), _quiet(Plots="training-progress", CheckpointPath=str(folder)))
    path = folder / "training-progress.png"
    assert info.ProgressFigureFile == str(path) and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# -- categorical ------------------------------------------------------------------------------------
def test_categorical():
    c = categorical([3, 1, 2, 3])
    assert c.categories == ["1", "2", "3"] and c.codes.tolist() == [2, 0, 1, 2]
    assert c.onehot().tolist()[0] == [0, 0, 1]
    assert list(c == "3") == [True, False, False, True]
    s = categorical(["b", "a", "b"], ["b", "a"])
    assert s.categories == ["b", "a"] and s[1] == "a"
    with pytest.raises(LayerGraphError):
        categorical(["x"], ["a", "b"])


def test_categorical_labels_train():
    x, y = _images(32)
    net, _ = trainNetwork(x, categorical(y), _cnn(), _quiet())
    assert net.Layers[-1].Classes == ["down", "up"]


def test_progress_view_live_panel_renders():
    """The live panel a terminal shows (rendered here into a string)."""
    from rich.console import Console

    from layergraph.display.training import ProgressView
    view = ProgressView("Accuracy")
    for i in range(1, 4):
        view.rows.append(dict(Iteration=i, Epoch=1, TrainingLoss=2.0 / i, TrainingMetric=30.0 * i,
                              ValidationLoss=1.5 if i == 3 else math.nan, ValidationMetric=math.nan,
                              BaseLearnRate=0.01))
    console = Console(record=True, width=80, force_terminal=False)
    console.print(view._panel(dict(Epoch=1, Iteration=3, TimeSinceStart=65.0)))
    text = console.export_text()
    assert "Training Progress" in text and "00:01:05" in text and "Mini-batch accuracy" in text
    assert "90.00%" in text and "1.5000" in text and "0.6667" in text


def test_diverging_loss_stops_with_the_last_finite_network(capsys):
    g = np.random.default_rng(0)
    x = g.normal(size=(64, 2)).astype(np.float32)
    y = x @ [3.0, -1.0]
    layers = [featureInputLayer(2), fullyConnectedLayer(1), regressionLayer()]
    with pytest.warns(RuntimeWarning, match=r"Training stopped at iteration \d+ because"):
        net, info = trainNetwork(x, y, layers, _quiet(InitialLearnRate=1e6, MaxEpochs=50))
    assert np.all(np.isfinite(net.Layers[1].Weights)) and np.all(np.isfinite(info.TrainingLoss))
    assert len(info.TrainingLoss) < 50 * 4
    net, info = trainNetwork(x, y, layers, trainingOptions("sgdm", InitialLearnRate=1e6, MaxEpochs=50,
                                                           MiniBatchSize=16))
    out = capsys.readouterr().out
    assert f"Training stopped at iteration {len(info.TrainingLoss) + 1} because" in out
