"""NetTrain: Wolfram's defaults mapped onto the core trainer, the automatic losses,
LearningRateMultipliers, batch-normalization statistics, validation and results."""
import math

import matplotlib
import numpy as np
import pytest

import layergraph.wolfram.train as wtrain
from layergraph.wolfram.messages import WolframMessage
from layergraph.train import SGDM, Adam, BinaryCrossEntropy, CrossEntropy, MeanSquared
from layergraph.wolfram import (
    All,
    BatchNormalizationLayer,
    ElementwiseLayer,
    LayerGraphError,
    LinearLayer,
    LogisticSigmoid,
    NetChain,
    NetExtract,
    NetInitialize,
    NetTrain,
    Ramp,
    Scaled,
    SoftmaxLayer,
)

matplotlib.use("Agg")
R = np.random.default_rng(21)
X = R.standard_normal((100, 3))
Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.25


@pytest.fixture
def captured(monkeypatch):
    seen = {}
    real = wtrain.train

    def spy(net, inputs, targets, losses, cfg):
        seen.update(net=net, inputs=inputs, targets=targets, losses=losses, cfg=cfg)
        return real(net, inputs, targets, losses, cfg)
    monkeypatch.setattr(wtrain, "train", spy)
    return seen


def quiet(**kw):
    return dict(TrainingProgressReporting=None, RandomSeeding=1, **kw)


def test_defaults(captured):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), **quiet(MaxTrainingRounds=1))
    cfg = captured["cfg"]
    assert cfg.solver == Adam(gradient_decay=0.9, squared_gradient_decay=0.999, epsilon=1e-5)
    assert cfg.learn_rate == 0.001
    assert cfg.minibatch_size == 64            # BatchSize -> Automatic: at most 64
    assert cfg.validation is None and cfg.l2 == 0
    assert cfg.bn_statistics == "moving"
    assert isinstance(next(iter(captured["losses"].values())), MeanSquared)


def test_batch_size_automatic_small_data(captured):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X[:10], Y[:10]), **quiet(MaxTrainingRounds=1))
    assert captured["cfg"].minibatch_size == 10


def test_sgd_method_and_suboptions(captured):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y),
             **quiet(MaxTrainingRounds=2, Method=("SGD", {"Momentum": 0.5}), BatchSize=10))
    cfg = captured["cfg"]
    assert cfg.solver == SGDM(momentum=0.5) and cfg.learn_rate == 0.01 and cfg.minibatch_size == 10
    # "LearningRateSchedule" -> "Polynomial" is SGD's default: sqrt(1 - min(i, max)/(max + 1))
    total = 2 * 10
    assert cfg.schedule(0.01, 5, 1) == pytest.approx(0.01 * math.sqrt(1 - 5 / (total + 1)))


def test_adam_suboptions_and_learning_rate(captured):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y),
             **quiet(MaxTrainingRounds=1, Method=("ADAM", {"Beta1": 0.8, "Epsilon": 1e-7}), LearningRate=0.01))
    assert captured["cfg"].solver == Adam(0.8, 0.999, 1e-7) and captured["cfg"].learn_rate == 0.01


def test_gradient_clipping_and_l2(captured):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y),
             **quiet(MaxTrainingRounds=1, Method=("ADAM", {"GradientClipping": 0.5, "L2Regularization": 0.01})))
    cfg = captured["cfg"]
    assert (cfg.gradient_threshold_method, cfg.gradient_threshold, cfg.l2) == ("absolute-value", 0.5, 0.01)


def test_regression_converges():
    net = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y),
                   **quiet(MaxTrainingRounds=60, BatchSize=10, Method=("ADAM", {"LearningRate": 0.05})))
    np.testing.assert_allclose(NetExtract(net, (1, "Weights")), [[1.0, -2.0, 0.5]], atol=0.05)
    np.testing.assert_allclose(NetExtract(net, (1, "Biases")), [0.25], atol=0.05)


def test_cross_entropy_after_softmax_with_index_targets(captured):
    labels = (X[:, 0] > 0).astype(int) + 1       # 1-based class indices
    net = NetChain([LinearLayer(2), SoftmaxLayer()], Input=3)
    trained = NetTrain(net, list(zip(X, labels)), **quiet(MaxTrainingRounds=40, LearningRate=0.05))
    assert isinstance(next(iter(captured["losses"].values())), CrossEntropy)
    t = next(iter(captured["targets"].values()))
    np.testing.assert_array_equal(t[np.arange(100), labels - 1], 1)
    assert np.mean(np.argmax(trained(X), axis=1) + 1 == labels) > 0.9


def test_binary_cross_entropy_after_logistic_sigmoid(captured):
    y = (X[:, :1] > 0).astype(float)
    NetTrain(NetChain([LinearLayer(1), ElementwiseLayer(LogisticSigmoid)], Input=3), (X, y),
             **quiet(MaxTrainingRounds=1))
    assert isinstance(next(iter(captured["losses"].values())), BinaryCrossEntropy)


def test_learning_rate_multipliers_freeze():
    net = NetInitialize(NetChain([LinearLayer(4), Ramp, LinearLayer(1)], Input=3), RandomSeeding=5)
    trained = NetTrain(net, (X, Y), **quiet(MaxTrainingRounds=3, LearningRateMultipliers={1: None}))
    np.testing.assert_array_equal(NetExtract(trained, (1, "Weights")), NetExtract(net, (1, "Weights")))
    assert np.any(NetExtract(trained, (3, "Weights")) != NetExtract(net, (3, "Weights")))
    # the multipliers given to NetTrain do not stay on the net
    assert trained._lrm is None


def test_layer_multiplier_zero_freezes_that_layer():
    net = NetInitialize(NetChain([LinearLayer(4, LearningRateMultipliers=0), LinearLayer(1)], Input=3))
    trained = NetTrain(net, (X, Y), **quiet(MaxTrainingRounds=2))
    np.testing.assert_array_equal(NetExtract(trained, (1, "Weights")), NetExtract(net, (1, "Weights")))


def test_all_frozen_returns_net_unchanged():
    net = NetInitialize(NetChain([LinearLayer(1)], Input=3))
    with pytest.warns(WolframMessage, match="NetTrain::netfrozen"):
        out = NetTrain(net, (X, Y), **quiet(MaxTrainingRounds=2, LearningRateMultipliers=None))
    np.testing.assert_array_equal(NetExtract(out, (1, "Weights")), NetExtract(net, (1, "Weights")))


def _bn_net(**options):
    return NetChain([BatchNormalizationLayer(**options), LinearLayer(1)], Input=3)


def test_moving_statistics_update_with_momentum():
    xs = R.standard_normal((8, 3)) * 2 + 3
    ys = R.standard_normal((8, 1))
    net = NetInitialize(_bn_net(Momentum=0.9))
    trained = NetTrain(net, (xs, ys), **quiet(MaxTrainingRounds=1, BatchSize=8))
    # one iteration on the whole batch: moving = 0.9 moving + 0.1 batch, from 0 and 1
    np.testing.assert_allclose(NetExtract(trained, (1, "MovingMean")), 0.1 * xs.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(NetExtract(trained, (1, "MovingVariance")), 0.9 + 0.1 * xs.var(axis=0), rtol=1e-5)


@pytest.mark.parametrize("options", [dict(Momentum=1.0), dict(LearningRateMultipliers=0)])
def test_moving_statistics_frozen(options):
    xs = R.standard_normal((8, 3)) * 2 + 3
    ys = R.standard_normal((8, 1))
    net = NetInitialize(_bn_net(**options))
    trained = NetTrain(net, (xs, ys), **quiet(MaxTrainingRounds=2, BatchSize=4))
    np.testing.assert_array_equal(NetExtract(trained, (1, "MovingMean")), np.zeros(3))
    np.testing.assert_array_equal(NetExtract(trained, (1, "MovingVariance")), np.ones(3))


def test_validation_set_scaled_and_results():
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All,
                   **quiet(MaxTrainingRounds=5, ValidationSet=Scaled(0.1)))
    assert res["TrainingExamples"] == 90 and res["ValidationExamples"] == 10
    assert len(res["RoundLossList"]) == 5 and res["RoundLoss"] == res["RoundLossList"][-1]
    assert len(res["ValidationLossList"]) == 5 and res["ValidationLoss"] is not None
    assert 1 <= res["BestValidationRound"] <= 5
    assert res["TotalRounds"] == 5 and res["BatchesPerRound"] == 1 and res["BatchSize"] == 64
    assert res["ReasonTrainingStopped"] == "MaxTrainingRounds"
    assert isinstance(res["LossPlot"], matplotlib.figure.Figure)
    assert "RoundLoss" in res["Properties"]
    assert res[["TotalRounds", "BatchSize"]] == [5, 64]
    assert NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), "RoundLossList", **quiet(MaxTrainingRounds=2))
    with pytest.raises(LayerGraphError):
        res["Nope"]


def test_validation_set_data():
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X[:80], Y[:80]), All,
                   **quiet(MaxTrainingRounds=2, ValidationSet=(X[80:], Y[80:])))
    assert res["ValidationExamples"] == 20


def test_input_dimensions_from_data():
    net = NetTrain(NetChain([LinearLayer(1)]), (X, Y), **quiet(MaxTrainingRounds=1))
    assert net.compile().in_dims == {"Input": (3,)}


def test_dict_data_and_progress_function():
    rounds = []
    NetTrain(NetChain([LinearLayer(1)], Input=3), {"Input": X, "Output": Y},
             **quiet(MaxTrainingRounds=3, TrainingProgressFunction=lambda r: rounds.append(r["Round"])))
    assert rounds == [1, 2, 3]


def test_progress_printed(capsys):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=2, RandomSeeding=1)
    out = capsys.readouterr().out
    assert "Round 1/2" in out and "Round 2/2" in out


def test_time_goal_stops():
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All, **quiet(TimeGoal=0.3, MaxTrainingRounds=100000))
    assert res["ReasonTrainingStopped"] == "TimeGoal" and res["TotalRounds"] < 100000


@pytest.mark.parametrize("call,tag", [
    (lambda: NetTrain("net", (X, Y)), "NetTrain::invnet"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), []), "NetTrain::nodata"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), "data"), "NetTrain::invtdata"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), (X[:, :2], Y)), "NetTrain::invindim"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y[:50])), "NetTrain::invtdata"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), Method="Nope"), "NetTrain::invmethod"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), BatchSize=0), "General::optpi"),
    (lambda: NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), TargetDevice="GPU"), "NetTrain::invdevice"),
    (lambda: NetTrain(NetChain([LinearLayer(2), SoftmaxLayer()], Input=3), (X, np.full(100, 3))),
     "NetTrain::invindim"),
])
def test_bad_input(call, tag):
    with pytest.raises(LayerGraphError) as e:
        call()
    assert e.value.identifier == tag


def test_graph_with_two_inputs_and_two_losses(captured):
    from layergraph.wolfram import NetGraph, NetPort, TotalLayer
    g = NetGraph({"a": LinearLayer(4), "b": LinearLayer(4), "sum": TotalLayer(), "out": LinearLayer(2),
                  "sm": SoftmaxLayer(), "reg": LinearLayer(())},
                 [(NetPort("x"), "a"), (NetPort("y"), "b"), (("a", "b"), "sum"), ["sum", "out", "sm"], ("sum", "reg"),
                  ("sm", NetPort("cls")), ("reg", NetPort("val"))], x=3, y=2)
    x2 = R.standard_normal((100, 2))
    cls = (X[:, 0] > 0).astype(int) + 1
    res = NetTrain(g, {"x": X, "y": x2, "cls": cls, "val": X.sum(axis=1)}, All,
                   **quiet(MaxTrainingRounds=30, LearningRate=0.01))
    assert {p: repr(v) for p, v in res["LossFunction"].items()} == {"cls": 'CrossEntropyLossLayer["Index"]',
                                                                    "val": "MeanSquaredLossLayer[]"}
    kinds = sorted(type(v).__name__ for v in captured["losses"].values())
    assert kinds == ["CrossEntropy", "MeanSquared"]
    assert res["RoundLoss"] < res["RoundLossList"][0]
    out = res["TrainedNet"]({"x": X, "y": x2})
    assert out["cls"].shape == (100, 2) and out["val"].shape == (100,)


def test_training_stopping_criterion():
    # a learning rate of 0 never improves: the criterion stops after Patience + 1 rounds without improvement
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All,
                   **quiet(MaxTrainingRounds=50, LearningRate=0.0, BatchSize=100,
                           TrainingStoppingCriterion={"Patience": 2}))
    assert res["ReasonTrainingStopped"] == "TrainingStoppingCriterion" and res["TotalRounds"] == 4
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All,
                   **quiet(MaxTrainingRounds=5, TrainingStoppingCriterion="Loss", ValidationSet=Scaled(0.2),
                           LearningRate=0.01))
    assert res["TotalRounds"] == 5
    stop_at_3 = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All,
                         **quiet(MaxTrainingRounds=50, TrainingStoppingCriterion=lambda r: r["Round"] >= 3))
    assert stop_at_3["TotalRounds"] == 3
    for bad in ({"Criterion": "ErrorRate"}, {"Patience": -1}, {"Nope": 1}, "Accuracy"):
        with pytest.raises(LayerGraphError):
            NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), **quiet(TrainingStoppingCriterion=bad))


# -- reporting --------------------------------------------------------------------------------------
def test_print_reports_at_most_every_interval(capsys):
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=300, RandomSeeding=1,
             TrainingProgressReporting="Print")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Round 1/300: loss ") and lines[-1].startswith("Round 300/300: loss ")
    assert len(lines) < 30   # every 2 s (Wolfram's default Interval), not one line a round
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=3, RandomSeeding=1,
             TrainingProgressReporting=["Print", ("Interval", 0)])
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == ["Round 1/3", "Round 2/3",
                                                                                     "Round 3/3"]


def test_reporting_function_and_bad_suboptions(capsys):
    seen = []
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=2, RandomSeeding=1,
             TrainingProgressReporting=seen.append)
    assert [r["Round"] for r in seen] == [1, 2] and set(seen[0]) >= {"RoundLoss", "BatchLoss", "TimeElapsed"}
    assert capsys.readouterr().out == ""
    for bad in (["Print", ("Nope", 1)], ("Print", {"Interval": -1}), "Nope", 3):
        with pytest.raises(LayerGraphError) as e:
            NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=1, TrainingProgressReporting=bad)
        assert e.value.identifier == "NetTrain::invrep"


def test_automatic_reporting_in_a_terminal_is_a_live_display(capsys, monkeypatch):
    """Where a live display can be shown, Automatic shows rich's progress display (cleared
    at the end, one summary line left), not a line a round."""
    import io

    from rich.console import Console

    import layergraph.display.training as dtraining
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(dtraining, "_live_console", lambda: console)
    monkeypatch.setattr(wtrain, "live_display_available", lambda: True)
    NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), MaxTrainingRounds=50, RandomSeeding=1)
    assert capsys.readouterr().out == ""
    text = screen.getvalue()
    assert "Round 50: loss " in text and text.count("Round 50: loss ") == 1


def test_training_time_is_the_trainers_clock():
    t0 = __import__("time").perf_counter()
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, Y), All, **quiet(MaxTrainingRounds=5))
    assert 0 < res["TotalTrainingTime"] <= __import__("time").perf_counter() - t0


def test_input_statistics_from_the_training_part_only():
    """featureInputLayer 'zscore' in a net opened from MATLAB: NetTrain fills Mean and
    StandardDeviation (a column, MATLAB's layout) from the examples it trains on; with
    ValidationSet -> Scaled[r] the held-back examples are left out; constant data is
    refused with the layer named as the net names it."""
    from layergraph import LayerArray, dlnetwork, featureInputLayer, fullyConnectedLayer, regressionLayer
    from layergraph.train.frontend import holdout

    def chain():
        return NetChain(LayerArray([featureInputLayer(3, 'Normalization', 'zscore'), fullyConnectedLayer(1),
                                    regressionLayer]))
    xs = X * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]
    trained = NetTrain(chain(), (xs, Y), MaxTrainingRounds=1, TrainingProgressReporting=None, RandomSeeding=3)
    layer = dlnetwork(trained).Layers[0]
    assert layer.Mean.shape == (3, 1) and layer.StandardDeviation.shape == (3, 1)
    x32 = xs.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(layer.Mean[:, 0], x32.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.StandardDeviation[:, 0], x32.std(axis=0), rtol=1e-6)
    held = NetTrain(chain(), (xs, Y), MaxTrainingRounds=1, TrainingProgressReporting=None, RandomSeeding=3,
                    ValidationSet=Scaled(0.25))
    part = holdout({"Input": x32}, {}, 0.25, 3)[0][0]["Input"]
    assert part.shape[0] == 75 and not np.allclose(part.mean(axis=0), x32.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(dlnetwork(held).Layers[0].Mean[:, 0], part.mean(axis=0), rtol=1e-6)
    constant = xs.copy()
    constant[:, 1] = 4.0
    with pytest.raises(LayerGraphError, match=r'Cannot train net: nnet.cnn.layer.FeatureInputLayer \(layer '
                                              r'"featureinput"\): the training data is constant') as err:
        NetTrain(chain(), (constant, Y), MaxTrainingRounds=1, TrainingProgressReporting=None)
    assert err.value.identifier == "NetTrain::invindim"
