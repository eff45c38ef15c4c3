"""A message names a wrong object by its short type, never by its whole multi-line printout
(issue 11: what a Python user notices first), in both dialects."""
import pytest

import layergraph as lg
from layergraph import (
    LayerArray,
    LayerGraphError,
    batchNormalizationLayer,
    convolution2dLayer,
    dlnetwork,
    featureInputLayer,
    fullyConnectedLayer,
    layerGraph,
    reluLayer,
)
from layergraph.core.errors import brief
from layergraph.wolfram import LinearLayer, NetChain, NetInitialize, NetInsertSharedArrays


@pytest.fixture(scope="module")
def objects():
    dl = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)])
    return {"a NetChain": NetChain([LinearLayer(3)], Input=4), "a dlnetwork": dl,   # MATLAB's name of the class
            "a LayerGraph": layerGraph([featureInputLayer(3), reluLayer()])}


def test_brief_keeps_short_text_and_shortens_printouts(objects):
    assert brief("abc") == "'abc'" and brief(3) == "3" and brief([1, 2]) == "[1, 2]"
    assert brief(list(range(100))) == "a list of 100 items"
    for name, obj in objects.items():
        assert "\n" in repr(obj)          # a printout of several lines ...
        assert brief(obj) == name         # ... named by its short type


CALLS = {
    "layer array element": lambda o: LayerArray([reluLayer(), o]),
    "property value": lambda o: batchNormalizationLayer("Epsilon", o),
    "assignment": lambda o: setattr(convolution2dLayer(3, 4), "Stride", o),
    "name-value": lambda o: convolution2dLayer(3, 4, "Name", "c", o),
    "removeLayers": lambda o: layerGraph([featureInputLayer(3), reluLayer()]).removeLayers(o),
    "NetChain element": lambda o: NetChain([o]),
    "NetInitialize": lambda o: NetInitialize(o),
    "NetInsertSharedArrays": lambda o: NetInsertSharedArrays(o),
}
TAKES_A_NET = {"NetChain element", "NetInitialize", "NetInsertSharedArrays"}   # a NetChain is right there
CASES = [pytest.param(call, kind, id=f"{name}-{kind}") for name, call in CALLS.items()
         for kind in ("a NetChain", "a dlnetwork", "a LayerGraph")
         if not (kind == "a NetChain" and name in TAKES_A_NET)]


@pytest.mark.parametrize("call, kind", CASES)
def test_messages_name_objects_briefly(objects, call, kind):
    with pytest.raises(LayerGraphError) as err:
        call(objects[kind])
    text = str(err.value)
    assert "\n" not in text, text
    assert kind in text, text


def test_save_names_the_type(tmp_path):
    with pytest.raises(LayerGraphError, match="got object"):
        lg.save(object(), tmp_path / "x.lgnet")
