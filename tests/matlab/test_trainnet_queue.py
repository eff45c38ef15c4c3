"""trainnet(mbq, net, lossFcn, options): the queue's mini-batches (its MiniBatchSize, its
MiniBatchFcn, its MiniBatchFormat; the options' MiniBatchSize has no effect), in the order of
the options' Shuffle. Checked against trainnet on the same data in memory (the same trainer),
step for step, and bad input."""
import numpy as np
import pytest

from layergraph import (LayerGraphError, arrayDatastore, categorical, combine, featureInputLayer,
                        fullyConnectedLayer, minibatchqueue, reluLayer, rng, softmaxLayer, trainingOptions, trainnet)
from layergraph.matlab.autodiff import onehotencode
from layergraph.matlab.minibatchqueue import cat


def _features(n=70, seed=1):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 3)).astype(np.float32)
    y = np.stack([x[:, 0] - 2 * x[:, 1], 0.5 * x[:, 2] + 1], axis=1).astype(np.float32)
    return x, y


def _regressor():
    return [featureInputLayer(3), fullyConnectedLayer(8), reluLayer(), fullyConnectedLayer(2)]


def _options(**kw):
    base = dict(MaxEpochs=3, MiniBatchSize=16, Verbose=False, Shuffle="every-epoch")
    base.update(kw)
    return trainingOptions("sgdm", **base)


def _queue(x, y, scale=1.0, **kw):
    ds = combine(arrayDatastore(x), arrayDatastore(y))

    def fcn(xs, ys):   # rows 1 x C -> C x N
        return cat(1, *xs).T * scale, cat(1, *ys).T
    return minibatchqueue(ds, MiniBatchFcn=fcn, MiniBatchFormat=["CB", "CB"], **kw)


def _same(net_a, net_b, rtol=1e-6):
    for la, lb in zip(net_a.Layers, net_b.Layers):
        for spec in lb.learnables:
            np.testing.assert_allclose(getattr(lb, spec.name), getattr(la, spec.name), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("shuffle", ["never", "once", "every-epoch"])
def test_queue_trains_as_the_arrays_with_its_minibatch_size(shuffle):
    x, y = _features()
    rng(5)
    net_a, info_a = trainnet(x, y, _regressor(), "mse", _options(MiniBatchSize=10, Shuffle=shuffle))
    rng(5)
    # the options' MiniBatchSize (16) has no effect: the queue's (10) makes the mini-batches
    net_b, info_b = trainnet(_queue(x, y, MiniBatchSize=10), _regressor(), "mse",
                             _options(MiniBatchSize=16, Shuffle=shuffle))
    assert len(info_b.TrainingHistory) == 3 * 7   # 70 observations, 7 mini-batches of 10 per epoch
    np.testing.assert_allclose(info_b.TrainingHistory.Loss, info_a.TrainingHistory.Loss, rtol=1e-6)
    _same(net_a, net_b)


def test_minibatch_fcn_is_applied():
    x, y = _features()
    rng(2)
    net_a, _ = trainnet(2 * x, y, _regressor(), "mse", _options(MiniBatchSize=14))
    rng(2)
    net_b, _ = trainnet(_queue(x, y, scale=2.0, MiniBatchSize=14), _regressor(), "mse", _options())
    _same(net_a, net_b)


def test_classification_with_onehot_targets_and_queue_validation():
    x, _ = _features()
    labels = categorical(np.where(x[:, 0] > 0, "a", "b"))
    ds = combine(arrayDatastore(x), arrayDatastore(labels))

    def fcn(xs, ts):
        return cat(1, *xs).T, onehotencode(cat(1, *ts), 1)
    layers = [featureInputLayer(3), fullyConnectedLayer(2), softmaxLayer()]
    rng(1)
    net_a, info_a = trainnet(x, labels, layers, "crossentropy",
                             _options(MiniBatchSize=20, ValidationData=(x, labels), ValidationFrequency=2))
    rng(1)
    mbq = minibatchqueue(ds, MiniBatchSize=20, MiniBatchFcn=fcn, MiniBatchFormat=["CB", "CB"])
    val = minibatchqueue(ds, MiniBatchSize=20, MiniBatchFcn=fcn, MiniBatchFormat=["CB", "CB"])
    net_b, info_b = trainnet(mbq, layers, "crossentropy", _options(ValidationData=val, ValidationFrequency=2))
    np.testing.assert_allclose(info_b.TrainingHistory.Loss, info_a.TrainingHistory.Loss, rtol=1e-6)
    np.testing.assert_allclose(info_b.ValidationHistory.Loss, info_a.ValidationHistory.Loss, rtol=1e-6)
    _same(net_a, net_b)


def test_bad_queues():
    x, y = _features()
    one = minibatchqueue(arrayDatastore(x), MiniBatchFcn=lambda xs: cat(1, *xs).T, MiniBatchFormat="CB")
    with pytest.raises(LayerGraphError, match="The minibatchqueue has 1 output; trainnet needs 2"):
        trainnet(one, _regressor(), "mse", _options())
    ds = combine(arrayDatastore(x), arrayDatastore(y))
    wrong = minibatchqueue(ds, MiniBatchFcn=lambda xs, ys: (cat(1, *xs), cat(1, *ys).T),   # N x C, not C x N
                           MiniBatchFormat=["CB", "CB"])
    with pytest.raises(LayerGraphError, match=r"Output 1 of the minibatchqueue \(the predictors\) has size 1x3 for a "
                                              r"mini-batch of 1 observations; the network expects 3 per observation"):
        trainnet(wrong, _regressor(), "mse", _options())
    fmt = minibatchqueue(ds, MiniBatchFcn=lambda xs, ys: (cat(1, *xs).T, cat(1, *ys).T),
                         MiniBatchFormat=["SSCB", "CB"])
    with pytest.raises(LayerGraphError, match=r"has format 'SSCB'; the network expects 'CB'. Set MiniBatchFormat"):
        trainnet(fmt, _regressor(), "mse", _options())
