"""Rich output in notebooks: every displayable object of both dialects answers Jupyter's
``_repr_mimebundle_`` with its plain printout and an HTML rendering (IPython not needed)."""
import functools
import html
import re

import pytest

import layergraph.wolfram as W
from layergraph import (
    assembleNetwork, classificationLayer, convolution2dLayer, dlnetwork, fullyConnectedLayer, imageInputLayer,
    layerGraph, reluLayer, rng, softmaxLayer,
)
from layergraph.matlab.layer_array import LayerArray
from layergraph.display.notebook import repr_mimebundle


def _layers():
    return [imageInputLayer([8, 8, 1], "Normalization", "none", "Name", "in"),
            convolution2dLayer(3, 4, "Name", "conv"), reluLayer("Name", "relu"),
            fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")]


@functools.cache  # built on first use, not at collection, where rng(0) would touch other tests
def _objects():
    rng(0)
    net = dlnetwork(_layers())
    series = assembleNetwork(list(net.Layers) + [classificationLayer("Classes", ["a", "b", "c"], "Name", "out")])
    chain = W.NetChain([W.LinearLayer(3), W.Ramp, W.LinearLayer(2)], Input=4)
    return {
        "layer": convolution2dLayer(3, 16, "Name", "c1"),
        "layer array": LayerArray(_layers()),
        "layer graph": layerGraph(_layers()),
        "dlnetwork": net,
        "SeriesNetwork": series,
        "Wolfram layer": W.ConvolutionLayer(16, 3),
        "Wolfram loss layer": W.MeanSquaredLossLayer(),
        "NetChain": chain,
        "initialized NetChain": W.NetInitialize(chain),
        "NetGraph": W.NetGraph({"a": W.LinearLayer(3), "b": W.Ramp, "c": W.LinearLayer(2)},
                               [("a", "b"), ("b", "c")], Input=4),
    }


NAMES = ["layer", "layer array", "layer graph", "dlnetwork", "SeriesNetwork", "Wolfram layer", "Wolfram loss layer",
         "NetChain", "initialized NetChain", "NetGraph"]


def _text(fragment):
    """The visible text of an HTML fragment: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.mark.parametrize("what", NAMES)
def test_bundle_has_the_printout_and_html(what):
    obj = _objects()[what]
    bundle = obj._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == repr(obj)  # what a REPL prints, in the object's dialect
    page = bundle["text/html"]
    assert page.startswith("<pre") and page.rstrip().endswith("</pre>")
    assert "<html" not in page and "<body" not in page  # a fragment for a notebook cell, not a page
    assert _text(page).strip()


def test_html_is_the_rich_rendering_with_styles():
    layer = _objects()["layer"]
    page = layer._repr_mimebundle_()["text/html"]
    visible = _text(page)
    assert "Convolution2DLayer with properties" in visible
    assert "'c1'" in visible and "NumFilters" in visible
    assert "font-weight: bold" in page  # rich's styles, inlined


def test_html_escapes_a_plain_printout():
    # An object without __rich__ (the Wolfram loss layer) gets its printout in a <pre> block.
    loss = _objects()["Wolfram loss layer"]
    assert not hasattr(loss, "__rich__")
    assert _text(loss._repr_mimebundle_()["text/html"]) == repr(loss)
    assert repr_mimebundle("<a & b>")["text/html"].count("&lt;a &amp; b&gt;") == 1


def test_include_and_exclude_are_honoured():
    layer = _objects()["layer"]
    assert set(layer._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(layer._repr_mimebundle_(exclude={"text/html"})) == {"text/plain"}
    assert layer._repr_mimebundle_(include={"image/png"}) == {}


def test_one_implementation_for_both_dialects():
    assert sorted(_objects()) == sorted(NAMES)
    owners = {type(obj).__name__: getattr(type(obj), "_repr_mimebundle_") for obj in _objects().values()}
    assert {f.__qualname__ for f in owners.values()} == {"repr_mimebundle"}
