"""Every user mistake is a LayerGraphError, never a bare pydantic, numpy or
networkx exception, and a failed assignment leaves the layer as it was."""
import numpy as np
import pytest

from layergraph import (
    LayerArray,
    LayerGraphError,
    additionLayer,
    addLayers,
    analyzeNetwork,
    connectLayers,
    disconnectLayers,
    dlnetwork,
    imageInputLayer,
    layerGraph,
    reluLayer,
    removeLayers,
    replaceLayer,
)
from layergraph.testing import only_layergraph_errors as _only_layergraph_errors

# The sweeps of every constructor's arguments and assignments over odd values are per
# registry row in tests/conformance/test_conformance.py.


def test_graph_functions():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"), reluLayer("Name", "r"), additionLayer(2, "Name", "add")])
    calls = [
        layerGraph, dlnetwork, lambda v: analyzeNetwork(v, Plots="none"),
        lambda v: connectLayers(lg, v, "add/in2"), lambda v: connectLayers(lg, "in", v),
        lambda v: disconnectLayers(lg, v, "r"), lambda v: removeLayers(lg, v),
        lambda v: replaceLayer(lg, v, reluLayer("Name", "q")), lambda v: replaceLayer(lg, "r", v),
        lambda v: addLayers(lg, v), lambda v: addLayers(v, reluLayer("Name", "z")), LayerArray,
        lambda v: replaceLayer(lg, "r", reluLayer("Name", "q"), ReconnectBy=v),
    ]
    before = lg.Connections
    for call in calls:
        for v in [None, 3, "x", "", [], ["in", 3], np.ones(3), "in/out/x", "r/", "/in", {"a": 1}, reluLayer]:
            _only_layergraph_errors(lambda: call(v))
    assert lg.Connections == before and len(lg.Layers) == 3


def test_error_message_names_property_value_and_allowed():
    with pytest.raises(LayerGraphError) as err:
        reluLayer().Name = 3
    assert "Name" in str(err.value)
    with pytest.raises(LayerGraphError) as err:
        imageInputLayer([8, 8, 3], "Normalization", "center")
    text = str(err.value)
    assert "'Normalization'" in text and "'center'" in text and "'zerocenter'" in text


def test_read_only_and_internal_properties():
    from layergraph import classificationLayer
    add = additionLayer(2)
    with pytest.raises(LayerGraphError, match="Unable to set the 'NumInputs' property of class 'AdditionLayer' "
                                              "because it is read-only"):
        add.NumInputs = 3
    with pytest.raises(LayerGraphError, match="read-only"):
        classificationLayer().LossFunction = "mse"
    with pytest.raises(LayerGraphError) as err:
        add.num_inputs = 3
    assert "num_inputs" not in str(err.value).split("Properties:")[1]
    assert add.NumInputs == 2


def test_a_matrix_is_not_a_vector():
    from layergraph import convolution2dLayer
    with pytest.raises(LayerGraphError, match="'Padding'"):
        convolution2dLayer(3, 4, "Padding", [[1, 1], [1, 1]])
    with pytest.raises(LayerGraphError, match="'Stride'"):
        convolution2dLayer(3, 4, "Stride", np.ones((2, 2)))
    assert convolution2dLayer(3, 4, "Stride", [[1], [2]]).Stride == (1, 2)
