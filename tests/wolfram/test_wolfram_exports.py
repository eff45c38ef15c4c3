"""Names: ``from layergraph.wolfram import *`` and ``from layergraph import *``; the registry's
Wolfram column agrees with what each Wolfram layer builds."""
import numpy as np
import pytest

import layergraph
import layergraph.wolfram as W
from layergraph.core.registry import BY_WOLFRAM

ISSUE_NAMES = ["NetChain", "NetGraph", "NetPort", "LinearLayer", "ConvolutionLayer", "DeconvolutionLayer",
               "BatchNormalizationLayer", "NormalizationLayer", "ElementwiseLayer", "PoolingLayer", "SoftmaxLayer",
               "DropoutLayer", "FlattenLayer", "ReshapeLayer", "CatenateLayer", "TotalLayer", "ThreadingLayer",
               "NetInitialize", "NetExtract", "NetReplacePart", "NetTake", "NetDrop", "NetAppend", "NetPrepend",
               "NetFlatten", "NetRename", "NetInsert", "NetDelete", "NetJoin", "Information", "Automatic", "All",
               "Scaled", "Ramp", "Tanh", "LogisticSigmoid"]


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_names_exported(name):
    assert name in W.__all__ and name in layergraph.__all__
    assert getattr(layergraph, name) is getattr(W, name)


def test_star_import_gives_both_dialects():
    ns = {}
    exec("from layergraph import *", ns)
    # Wolfram's BatchNormalizationLayer and MATLAB's batchNormalizationLayer side by side; the
    # core spec class of the same name stays in layergraph.layers
    assert ns["BatchNormalizationLayer"] is W.BatchNormalizationLayer
    assert type(ns["batchNormalizationLayer"]()) is layergraph.layers.BatchNormalizationLayer
    assert ns["SoftmaxLayer"] is W.SoftmaxLayer and "softmaxLayer" in ns
    assert set(layergraph.matlab.__all__) & set(W.__all__) == {"LayerGraphError"}  # the same class


EXAMPLES = {
    "LinearLayer": (W.LinearLayer(3), 4), "ConvolutionLayer": (W.ConvolutionLayer(4, 3), (2, 5, 5)),
    "DeconvolutionLayer": (W.DeconvolutionLayer(2, 3), (2, 4, 4)), "BatchNormalizationLayer":
    (W.BatchNormalizationLayer(), 3), "ElementwiseLayer": (W.ElementwiseLayer("SELU"), 3),
    "SoftmaxLayer": (W.SoftmaxLayer(), 3), "PoolingLayer": (W.PoolingLayer(2), (1, 3, 3)),
    "DropoutLayer": (W.DropoutLayer(), 3), "ReshapeLayer": (W.ReshapeLayer((2, 2)), 4),
    "NormalizationLayer": (W.NormalizationLayer(), (2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_registry_wolfram_column(name):
    layer, dims = EXAMPLES[name]
    info = W.NetChain([layer], Input=dims).compile().leaves[("1",)]
    main = info.built.specs[info.built.main]
    assert type(main) in [e.layer for e in BY_WOLFRAM[name]]
    assert np.isfinite(len(BY_WOLFRAM[name]))


@pytest.mark.parametrize("layer,core", [
    (W.NormalizationLayer(), "InstanceNormalizationLayer"),
    (W.PoolingLayer(2, Function=W.Total), "SumPooling2DLayer"),
])
def test_registry_rows_of_the_core_specs_the_wolfram_layers_build(layer, core):
    info = W.NetChain([layer], Input=(2, 4, 4)).compile().leaves[("1",)]
    main = info.built.specs[info.built.main]
    assert type(main).__name__ == core
    assert type(main) in [e.layer for e in BY_WOLFRAM[layer.head]]
