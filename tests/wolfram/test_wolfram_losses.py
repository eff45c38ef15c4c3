"""Wolfram's loss layers and NetTrain's LossFunction. Each loss is pinned to its formula,
written out in numpy from Wolfram's definition: applied to data, and as the loss NetTrain
reports (learning rate 0 and one batch of all examples, so the batch loss is the formula
over the data for the initial net)."""
import numpy as np
import pytest

from layergraph.train import BinaryCrossEntropy, CrossEntropy, MeanAbsolute, MeanSquared
from layergraph.wolfram import (
    All,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LayerGraphError,
    LinearLayer,
    LogisticSigmoid,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTrain,
    Scaled,
    SoftmaxLayer,
)

R = np.random.default_rng(5)
N = 20
X = R.standard_normal((N, 3))

# per-example formulas (Wolfram's definitions); NetTrain's loss is their batch mean
FORMULAS = {
    "MeanSquared": lambda x, t: np.mean((x - t) ** 2, axis=tuple(range(1, x.ndim))),
    "MeanAbsolute": lambda x, t: np.mean(np.abs(x - t), axis=tuple(range(1, x.ndim))),
    "Index": lambda p, k: -np.log(p[np.arange(len(k)), k - 1]),
    "Probabilities": lambda p, t: -np.sum(t * np.log(p), axis=1),
    "Binary": lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=tuple(range(1, p.ndim))),
}


def quiet(**kw):
    return dict(TrainingProgressReporting=None, RandomSeeding=1, WorkingPrecision="Real64", **kw)


def batch_loss(net, data, loss, **kw):
    res = NetTrain(net, data, All, LossFunction=loss, **quiet(LearningRate=0.0, BatchSize=N, MaxTrainingRounds=1,
                                                              **kw))
    return res, res["BatchLossList"][0]


def out(net, x):
    return net(x, WorkingPrecision="Real64")


def probabilities(k=4):
    return NetInitialize(NetChain([LinearLayer(k), SoftmaxLayer()], Input=3), RandomSeeding=2)


# -- the layers ------------------------------------------------------------------------------------

def test_layers_print_and_compare_as_in_wolfram():
    assert repr(CrossEntropyLossLayer("Index")) == 'CrossEntropyLossLayer["Index"]'
    assert repr(MeanSquaredLossLayer()) == "MeanSquaredLossLayer[]"
    assert repr(MeanAbsoluteLossLayer()) == "MeanAbsoluteLossLayer[]"
    assert CrossEntropyLossLayer("Binary") == CrossEntropyLossLayer("Binary")
    assert CrossEntropyLossLayer("Binary") != CrossEntropyLossLayer("Index")
    assert type(CrossEntropyLossLayer("Probabilities").core_loss()) is CrossEntropy
    assert type(CrossEntropyLossLayer("Binary").core_loss()) is BinaryCrossEntropy
    assert type(MeanSquaredLossLayer().core_loss()) is MeanSquared
    assert type(MeanAbsoluteLossLayer().core_loss()) is MeanAbsolute


def test_layers_applied_to_one_example():
    x, t = np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, 1.0])
    assert MeanSquaredLossLayer()({"Input": x, "Target": t}) == pytest.approx((0.25 + 4 + 1) / 3)
    assert MeanAbsoluteLossLayer()({"Input": x, "Target": t}) == pytest.approx((0.5 + 2 + 1) / 3)
    p = np.array([0.2, 0.5, 0.3])
    assert CrossEntropyLossLayer("Index")({"Input": p, "Target": 2}) == pytest.approx(-np.log(0.5))
    q = np.array([0.1, 0.6, 0.3])
    assert CrossEntropyLossLayer("Probabilities")({"Input": p, "Target": q}) == pytest.approx(-np.sum(q * np.log(p)))
    b, s = np.array([0.9, 0.2]), np.array([1.0, 0.0])
    assert CrossEntropyLossLayer("Binary")({"Input": b, "Target": s}) == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2)
    m = np.arange(6.0).reshape(2, 3)
    assert MeanSquaredLossLayer()({"Input": m, "Target": np.zeros((2, 3))}) == pytest.approx(np.mean(m ** 2))


def test_layers_applied_to_a_batch_with_an_input_shape():
    xs, ts = R.standard_normal((5, 3)), R.standard_normal((5, 3))
    np.testing.assert_allclose(MeanSquaredLossLayer(Input=3)({"Input": xs, "Target": ts}),
                               FORMULAS["MeanSquared"](xs, ts))
    p = R.uniform(0.1, 1, (5, 4))
    p /= p.sum(axis=1, keepdims=True)
    k = np.array([1, 4, 2, 2, 3])
    np.testing.assert_allclose(CrossEntropyLossLayer("Index", Input=4)({"Input": p, "Target": k}),
                               FORMULAS["Index"](p, k))


@pytest.mark.parametrize("call,tag", [
    (lambda: CrossEntropyLossLayer("Foo"), "General::cstfail"),
    (lambda: CrossEntropyLossLayer(), "CrossEntropyLossLayer::argrx"),
    (lambda: MeanSquaredLossLayer(Reduction="sum"), "MeanSquaredLossLayer::optx"),
    (lambda: MeanSquaredLossLayer()([1, 2]), "MeanSquaredLossLayer::invargs"),
    (lambda: CrossEntropyLossLayer("Index")({"Input": [0.5, 0.5], "Target": 3}), "NetTrain::invindim"),
    (lambda: NetChain([LinearLayer(2), MeanSquaredLossLayer()]), "General::invnetarg"),
])
def test_layer_errors(call, tag):
    with pytest.raises(LayerGraphError) as e:
        call()
    assert e.value.identifier == tag


# -- NetTrain: each formula --------------------------------------------------------------------------

def test_mean_squared_loss_function():
    net = NetInitialize(NetChain([LinearLayer(2)], Input=3), RandomSeeding=2)
    y = R.standard_normal((N, 2))
    res, loss = batch_loss(net, (X, y), MeanSquaredLossLayer())
    assert loss == pytest.approx(np.mean(FORMULAS["MeanSquared"](out(net, X), y)), rel=1e-12)
    assert repr(res["LossFunction"]["Output"]) == "MeanSquaredLossLayer[]"


def test_mean_absolute_loss_function():
    net = NetInitialize(NetChain([LinearLayer((2, 2))], Input=3), RandomSeeding=2)   # a matrix output
    y = R.standard_normal((N, 2, 2))
    _, loss = batch_loss(net, (X, y), MeanAbsoluteLossLayer())
    assert loss == pytest.approx(np.mean(FORMULAS["MeanAbsolute"](out(net, X), y)), rel=1e-12)


def test_cross_entropy_index_is_one_based():
    net = probabilities()
    k = R.integers(1, 5, N)
    _, loss = batch_loss(net, (X, k), CrossEntropyLossLayer("Index"))
    assert loss == pytest.approx(np.mean(FORMULAS["Index"](out(net, X), k)), rel=1e-12)
    with pytest.raises(LayerGraphError) as e:                      # 0 is not a class index
        batch_loss(net, (X, k - 1), CrossEntropyLossLayer("Index"))
    assert e.value.identifier == "NetTrain::invindim"
    with pytest.raises(LayerGraphError) as e:                      # nor is a probability vector
        batch_loss(net, (X, np.eye(4)[k - 1]), CrossEntropyLossLayer("Index"))
    assert e.value.identifier == "NetTrain::invindim"


def test_cross_entropy_probabilities():
    net = probabilities()
    t = R.uniform(size=(N, 4))
    t /= t.sum(axis=1, keepdims=True)
    _, loss = batch_loss(net, (X, t), CrossEntropyLossLayer("Probabilities"))
    assert loss == pytest.approx(np.mean(FORMULAS["Probabilities"](out(net, X), t)), rel=1e-12)
    with pytest.raises(LayerGraphError) as e:                      # indices are not probabilities
        batch_loss(net, (X, R.integers(1, 5, N)), CrossEntropyLossLayer("Probabilities"))
    assert e.value.identifier == "NetTrain::invindim"


def test_cross_entropy_binary():
    net = NetInitialize(NetChain([LinearLayer(3), ElementwiseLayer(LogisticSigmoid)], Input=3), RandomSeeding=2)
    t = R.uniform(size=(N, 3))
    _, loss = batch_loss(net, (X, t), CrossEntropyLossLayer("Binary"))
    assert loss == pytest.approx(np.mean(FORMULAS["Binary"](out(net, X), t)), rel=1e-12)
    with pytest.raises(LayerGraphError) as e:
        batch_loss(net, (X, t + 1), CrossEntropyLossLayer("Binary"))
    assert e.value.identifier == "NetTrain::invindim"


def test_explicit_loss_overrides_the_automatic_one_and_reaches_validation():
    # after a SoftmaxLayer the automatic loss is the cross-entropy; MeanSquared on the probabilities instead
    net = probabilities(2)
    t = np.eye(2)[(X[:, 0] > 0).astype(int)]
    res, loss = batch_loss(net, (X, t), MeanSquaredLossLayer(), ValidationSet=(X[:5], t[:5]))
    assert loss == pytest.approx(np.mean(FORMULAS["MeanSquared"](out(net, X), t)), rel=1e-12)
    assert res["ValidationLoss"] == pytest.approx(np.mean(FORMULAS["MeanSquared"](out(net, X[:5]), t[:5])), rel=1e-12)


def test_mean_absolute_training_learns():
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.25
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, y), All, LossFunction=MeanAbsoluteLossLayer(),
                   **quiet(Method=("ADAM", {"LearningRate": 0.05}), BatchSize=5, MaxTrainingRounds=100))
    assert res["RoundLoss"] < 0.1 * res["RoundLossList"][0]


# -- NetTrain: forms of LossFunction ------------------------------------------------------------------

def two_outputs():
    return NetGraph({"a": LinearLayer(2), "sm": SoftmaxLayer(), "reg": LinearLayer(())},
                    [(NetPort("x"), "a"), ["a", "sm"], ("a", "reg"), ("sm", NetPort("cls")),
                     ("reg", NetPort("val"))], x=3)


def test_loss_for_one_port_of_two_needs_only_that_ports_targets():
    res = NetTrain(two_outputs(), {"x": X, "val": X.sum(axis=1)}, All,
                   LossFunction={"val": MeanAbsoluteLossLayer()}, **quiet(MaxTrainingRounds=2))
    assert list(res["LossFunction"]) == ["val"]
    res = NetTrain(two_outputs(), {"x": X, "val": X.sum(axis=1), "cls": (X[:, 0] > 0) + 1}, All,
                   LossFunction=[("cls", CrossEntropyLossLayer("Index")), ("val", MeanSquaredLossLayer())],
                   **quiet(MaxTrainingRounds=2))
    assert [repr(v) for v in res["LossFunction"].values()] == ['CrossEntropyLossLayer["Index"]',
                                                                "MeanSquaredLossLayer[]"]


def test_automatic_inside_a_dict():
    from layergraph.wolfram import Automatic
    res = NetTrain(two_outputs(), {"x": X, "cls": (X[:, 0] > 0) + 1}, All, LossFunction={"cls": Automatic},
                   **quiet(MaxTrainingRounds=1))
    assert repr(res["LossFunction"]["cls"]) == 'CrossEntropyLossLayer["Index"]'


@pytest.mark.parametrize("loss,data,tag", [
    (MeanSquaredLossLayer(), {"x": X, "val": X.sum(axis=1), "cls": (X[:, 0] > 0) + 1}, "NetTrain::invloss"),
    ({"nope": MeanSquaredLossLayer()}, {"x": X}, "NetTrain::invloss"),
    ({"val": "MeanSquared"}, {"x": X, "val": X.sum(axis=1)}, "NetTrain::invloss"),
    ("nope", {"x": X}, "NetTrain::invloss"),
    (["val", "val"], {"x": X}, "NetTrain::invloss"),
    ("val", {"x": X, "val": X.sum(axis=1)}, "General::inpunk"),     # an output used as the loss takes no target
    ({}, {"x": X}, "NetTrain::invloss"),
    (3, {"x": X}, "NetTrain::invloss"),
    ({"val": MeanSquaredLossLayer()}, {"x": X, "val": X.sum(axis=1), "cls": (X[:, 0] > 0) + 1},
     "General::inpunk"),                                  # targets for an output without a loss
])
def test_loss_function_errors(loss, data, tag):
    with pytest.raises(LayerGraphError) as e:
        NetTrain(two_outputs(), data, LossFunction=loss, **quiet(MaxTrainingRounds=1))
    assert e.value.identifier == tag


def test_cross_entropy_on_a_matrix_output_is_refused():
    net = NetChain([LinearLayer((2, 3)), SoftmaxLayer()], Input=3)
    with pytest.raises(LayerGraphError) as e:
        NetTrain(net, (X, R.uniform(size=(N, 2, 3))), LossFunction=CrossEntropyLossLayer("Probabilities"),
                 **quiet(MaxTrainingRounds=1))
    assert e.value.identifier == "NetTrain::invloss"


def test_scaled_validation_split_uses_the_explicit_loss():
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    res = NetTrain(NetChain([LinearLayer(1)], Input=3), (X, y), All, LossFunction=MeanAbsoluteLossLayer(),
                   **quiet(MaxTrainingRounds=3, ValidationSet=Scaled(0.25)))
    assert res["ValidationLoss"] is not None and len(res["ValidationLossList"]) == 3


# -- NetTrain: an output used as the loss ---------------------------------------------------------------

def test_output_loss_is_the_sum_over_elements_averaged_over_the_batch():
    from layergraph.wolfram.losses import OutputLoss
    y = R.normal(size=(4, 3))
    value, dy = OutputLoss()(y, None)
    assert value == pytest.approx(y.sum() / 4)
    h = 1e-6
    for idx in [(0, 0), (3, 2)]:
        yp, ym = y.copy(), y.copy()
        yp[idx] += h
        ym[idx] -= h
        assert dy[idx] == pytest.approx((OutputLoss()(yp, None)[0] - OutputLoss()(ym, None)[0]) / (2 * h))


def self_loss_graph(w, b):
    """A net that computes its own squared error: its target is an input port."""
    from layergraph.wolfram import Subtract, ThreadingLayer, Times
    return NetGraph({"lin": LinearLayer(1, Weights=w, Biases=b), "d": ThreadingLayer(Subtract),
                     "sq": ThreadingLayer(Times)},
                    [(NetPort("Input"), "lin"), (("lin", NetPort("Target")), "d"), (("d", "d"), "sq"),
                     ("sq", NetPort("Loss"))], Input=3, Target=1)


def test_output_as_the_loss_trains_like_the_loss_layer():
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    w, b = R.standard_normal((1, 3)).astype(np.float32).astype(float), np.zeros(1)   # layers keep float32 arrays
    kw = quiet(BatchSize=5, MaxTrainingRounds=3, Method=("ADAM", {"LearningRate": 0.05}))
    own = NetTrain(self_loss_graph(w, b), {"Input": X, "Target": y}, All, LossFunction="Loss", **kw)
    ref = NetTrain(NetChain([LinearLayer(1, Weights=w, Biases=b)], Input=3), (X, y), All,
                   LossFunction=MeanSquaredLossLayer(), **kw)
    np.testing.assert_allclose(own["BatchLossList"], ref["BatchLossList"], rtol=1e-10)
    np.testing.assert_allclose(NetExtract(own["TrainedNet"], ("lin", "Weights")),
                               NetExtract(ref["TrainedNet"], (1, "Weights")), rtol=1e-6)
    assert own["LossFunction"] == {"Loss": "Loss"}
    val = NetTrain(self_loss_graph(w, b), {"Input": X, "Target": y}, All, LossFunction=["Loss"],
                   **quiet(BatchSize=N, MaxTrainingRounds=1, LearningRate=0.0,
                           ValidationSet={"Input": X[:5], "Target": y[:5]}))
    pred = X[:5] @ w.T + b
    assert val["ValidationLoss"] == pytest.approx(np.mean((pred - y[:5]) ** 2), rel=1e-10)


# -- NetTrain: LossFunction -> {..., lspec -> Scaled[r], ...} -------------------------------------------

def test_scaled_loss_layer_multiplies_the_loss_and_its_gradient():
    from layergraph.train import ScaledLoss
    y, t = R.normal(size=(4, 3)), R.normal(size=(4, 3))
    value, grad = MeanSquared()(y, t)
    sv, sg = ScaledLoss(MeanSquared(), 2.5)(y, t)
    assert sv == pytest.approx(2.5 * value) and np.allclose(sg, 2.5 * grad)


def test_scaled_loss_reports_and_trains_as_r_times_the_loss():
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    net = NetInitialize(NetChain([LinearLayer(1)], Input=3), RandomSeeding=4)
    f = FORMULAS["MeanSquared"](out(net, X).reshape(N, 1), y).mean()
    for spec in [{"Output": (MeanSquaredLossLayer(), Scaled(3))}, [("Output", (MeanSquaredLossLayer(), Scaled(3)))]]:
        _, loss = batch_loss(net, (X, y), spec)
        assert loss == pytest.approx(3 * f, rel=1e-10)
    # plain SGD without momentum: Scaled[2] on the loss is the same step as twice the learning rate
    sgd = ("SGD", {"Momentum": None, "LearningRateSchedule": None})
    kw = quiet(BatchSize=5, MaxTrainingRounds=3, Method=sgd)
    a = NetTrain(net, (X, y), LossFunction={"Output": (MeanSquaredLossLayer(), Scaled(2))}, LearningRate=0.01, **kw)
    b = NetTrain(net, (X, y), LossFunction=MeanSquaredLossLayer(), LearningRate=0.02, **kw)
    np.testing.assert_allclose(NetExtract(a, (1, "Weights")), NetExtract(b, (1, "Weights")), rtol=1e-6)
    from layergraph.wolfram import Automatic
    _, loss = batch_loss(net, (X, y), {"Output": (Automatic, Scaled(0.5))})
    assert loss == pytest.approx(0.5 * f, rel=1e-10)


def test_scaled_losses_on_two_outputs_and_an_output_used_as_the_loss():
    net = NetInitialize(two_outputs(), RandomSeeding=6)
    cls, val = (X[:, 0] > 0).astype(int) + 1, X.sum(axis=1)
    o = net(X, WorkingPrecision="Real64")
    ce = FORMULAS["Index"](o["cls"], cls).mean()
    ms = np.mean((o["val"] - val) ** 2)
    _, loss = batch_loss(net, {"x": X, "cls": cls, "val": val},
                         {"cls": (CrossEntropyLossLayer("Index"), Scaled(0.25)), "val": (MeanSquaredLossLayer(),
                                                                                     Scaled(4))})
    assert loss == pytest.approx(0.25 * ce + 4 * ms, rel=1e-10)
    w, b = R.standard_normal((1, 3)), np.zeros(1)
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    _, plain = batch_loss(self_loss_graph(w, b), {"Input": X, "Target": y}, "Loss")
    _, scaled = batch_loss(self_loss_graph(w, b), {"Input": X, "Target": y}, {"Loss": Scaled(10)})
    _, listed = batch_loss(self_loss_graph(w, b), {"Input": X, "Target": y}, [("Loss", Scaled(10))])
    assert scaled == pytest.approx(10 * plain, rel=1e-10) and listed == scaled


@pytest.mark.parametrize("loss", [{"val": (MeanSquaredLossLayer(), 2)}, {"val": (MeanSquaredLossLayer(),
                                                                                  Scaled(float("inf")))},
                                  {"val": ("MeanSquared", Scaled(2))}])
def test_scaled_loss_errors(loss):
    with pytest.raises(LayerGraphError) as e:
        NetTrain(two_outputs(), {"x": X, "val": X.sum(axis=1)}, LossFunction=loss, **quiet(MaxTrainingRounds=1))
    assert e.value.identifier == "NetTrain::invloss"
