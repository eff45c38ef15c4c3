"""summary(net) as R2022b+ prints it, the dlnetwork display's closing line, analyzeNetwork's
TotalLearnables."""
import numpy as np
import pytest

from layergraph import (LayerGraphError, addLayers, analyzeNetwork, concatenationLayer, convolution2dLayer,
                        dlnetwork, featureInputLayer, fullyConnectedLayer, imageInputLayer, initialize, layerGraph,
                        reluLayer, softmaxLayer, summary)
from layergraph.matlab.network import _count_text


def _two_inputs():
    lg = layerGraph([featureInputLayer(3, Name="obsInLyr"), concatenationLayer(1, 2, Name="cat"),
                     fullyConnectedLayer(100, Name="fc1"), reluLayer(Name="relu"), fullyConnectedLayer(1, Name="fc2")])
    lg = lg.addLayers(featureInputLayer(1, Name="actInLyr"))
    lg = lg.connectLayers("actInLyr", "cat/in2")
    return dlnetwork(lg)


def test_summary_text_two_inputs(capsys):
    net = _two_inputs()
    # independent count: (3 + 1) * 100 + 100 + 100 * 1 + 1
    assert net.summary() == "\n".join([
        "   Initialized: true", "",
        "   Number of learnables: 601", "",
        "   Inputs:",
        "      1   'obsInLyr'   3 features",
        "      2   'actInLyr'   1 features", ""])
    summary(net)
    assert capsys.readouterr().out == net.summary() + "\n"


def test_summary_images_k_and_total_learnables():
    net = dlnetwork([imageInputLayer([28, 28, 1]), convolution2dLayer(3, 8), reluLayer(), fullyConnectedLayer(10),
                     softmaxLayer()])
    total = sum(np.asarray(row[2]).size for row in net.Learnables)
    assert total == 3 * 3 * 8 + 8 + 26 * 26 * 8 * 10 + 10
    text = net.summary()
    assert f"   Number of learnables: {round(total / 1000, 1):g}k\n" in text
    assert "      1   'imageinput'   28×28×1 images\n" in text
    assert analyzeNetwork(net, Plots="none").TotalLearnables == total


def test_summary_uninitialized_counts_what_is_set():
    net = addLayers(dlnetwork(), [featureInputLayer(3, Name="in"), fullyConnectedLayer(5, Name="fc")])
    text = net.summary()
    assert text.startswith("   Initialized: false\n\n   Number of learnables: 0\n")
    assert initialize(net).summary().startswith("   Initialized: true\n\n   Number of learnables: 20\n")


@pytest.mark.parametrize("n, text", [(0, "0"), (801, "801"), (999, "999"), (1500, "1.5k"), (12000, "12k"),
                                     (84000, "84k"), (125600, "125.6k"), (126170, "126.2k"), (999_949, "999.9k"),
                                     (999_950, "1M"), (2_345_678, "2.3M")])
def test_count_text(n, text):
    assert _count_text(n) == text


def test_display_ends_with_the_summary_hint_and_summary_refuses_others():
    net = _two_inputs()
    assert str(net).endswith("    Initialized: 1\n\n  View summary with summary.\n")
    with pytest.raises(LayerGraphError, match="summary takes a dlnetwork"):
        summary(layerGraph([featureInputLayer(3)]))
