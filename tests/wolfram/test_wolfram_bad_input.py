"""Every user mistake in the Wolfram dialect is a LayerGraphError, never a bare numpy,
pydantic, networkx or Python exception."""
import inspect

import numpy as np
import pytest

import layergraph.wolfram as W
from layergraph.wolfram import LayerGraphError

ODD = [None, "a", "Same", -1, 0, 0.5, 3, (1, 2), [1, 2, 3, 4, 5], np.nan, np.inf, [[1, 2], [3]], {"a": 1},
       lambda x: x, True, np.ones((2, 2)), object(), "", [], 1e-9, W.All, W.Automatic, W.Ramp, W.Plus]

LAYERS = {"LinearLayer": (3,), "ConvolutionLayer": (4, 3), "DeconvolutionLayer": (2, 3), "PoolingLayer": (2,),
          "BatchNormalizationLayer": (), "NormalizationLayer": (), "ElementwiseLayer": (W.Ramp,),
          "SoftmaxLayer": (), "DropoutLayer": (), "FlattenLayer": (), "ReshapeLayer": ((2, 2),),
          "CatenateLayer": (), "TotalLayer": (), "ThreadingLayer": (W.Plus,)}


def _only_layergraph_errors(call):
    try:
        call()
    except LayerGraphError:
        pass


def _options(cls):
    names = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "options")]
    return names + ["Input", "Output", "LearningRateMultipliers"] + list(cls.array_names)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_arguments(name):
    cls = getattr(W, name)
    base = LAYERS[name]
    for v in ODD:
        for args in [(v,), (v, v), base + (v,)]:
            _only_layergraph_errors(lambda: cls(*args))
        for opt in _options(cls):
            if opt in ("n", "kernel", "f", "level", "dims", "p", "stride", "bspec", "aggregation", "scaling"):
                continue
            _only_layergraph_errors(lambda: cls(*base, **{opt: v}))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_evaluation_on_odd_data(name):
    cls = getattr(W, name)
    layer = cls(*LAYERS[name])
    dims = {"ConvolutionLayer": (2, 5, 5), "DeconvolutionLayer": (2, 4, 4), "PoolingLayer": (2, 4, 4),
            "NormalizationLayer": (2, 3, 3), "ReshapeLayer": (4,)}.get(name, (4,))
    if layer.multiport:
        return
    try:
        net = W.NetInitialize(W.NetChain([layer], Input=dims))
    except LayerGraphError:
        return
    for v in ODD + [np.ones(dims), np.ones((2,) + dims), np.ones((7, 7, 7, 7))]:
        _only_layergraph_errors(lambda: net(v))
        _only_layergraph_errors(lambda: net(np.ones(dims), NetEvaluationMode=v))


def test_container_arguments():
    for v in ODD:
        _only_layergraph_errors(lambda: W.NetChain(v))
        _only_layergraph_errors(lambda: W.NetChain([W.Ramp], Input=v))
        _only_layergraph_errors(lambda: W.NetChain([W.Ramp, v]))
        _only_layergraph_errors(lambda: W.NetChain([W.LinearLayer(2)], LearningRateMultipliers=v))
        _only_layergraph_errors(lambda: W.NetGraph([W.Ramp, W.Tanh], v))
        _only_layergraph_errors(lambda: W.NetGraph([W.Ramp, W.Tanh], [(1, v)]))
        _only_layergraph_errors(lambda: W.NetGraph([W.Ramp, W.Tanh], [(v, 2)]))
        _only_layergraph_errors(lambda: W.NetGraph([W.Ramp, W.Tanh], [[1, v, 2]]))
        _only_layergraph_errors(lambda: W.NetPort(v))
        _only_layergraph_errors(lambda: W.NetPort(1, v))


def test_function_arguments():
    net = W.NetInitialize(W.NetChain([W.LinearLayer(3), W.Ramp, W.LinearLayer(2)], Input=4))
    X, Y = np.ones((10, 4)), np.ones((10, 2))
    for v in ODD:
        for f in (W.NetExtract, W.NetTake, W.NetDrop, W.NetDelete, W.NetAppend, W.NetPrepend, W.NetRename,
                  W.NetReplacePart, W.Information, W.NetFlatten):
            _only_layergraph_errors(lambda: f(net, v))
            _only_layergraph_errors(lambda: f(v, 1))
        _only_layergraph_errors(lambda: W.NetInsert(net, v, 2))
        _only_layergraph_errors(lambda: W.NetInsert(net, W.Ramp, v))
        _only_layergraph_errors(lambda: W.NetReplacePart(net, {(1, "Weights"): v}))
        _only_layergraph_errors(lambda: W.NetReplacePart(net, {1: v}))
        _only_layergraph_errors(lambda: W.NetInitialize(net, v))
        _only_layergraph_errors(lambda: W.NetInitialize(net, Method=v))
        _only_layergraph_errors(lambda: W.NetInitialize(net, RandomSeeding=v))
        _only_layergraph_errors(lambda: W.NetJoin(net, v))
        _only_layergraph_errors(lambda: W.NetTrain(net, v, TrainingProgressReporting=None, MaxTrainingRounds=1))
        for opt in ("Method", "BatchSize", "MaxTrainingRounds", "ValidationSet", "LearningRate",
                    "LearningRateMultipliers", "TrainingProgressReporting", "TimeGoal", "TargetDevice",
                    "RandomSeeding", "WorkingPrecision", "LossFunction"):
            kw = {"TrainingProgressReporting": None, "MaxTrainingRounds": 1, opt: v}
            _only_layergraph_errors(lambda: W.NetTrain(net, (X, Y), **kw))
