"""NetDecoder[{"Class", labels}] on an output port: decisions, properties, training on labels."""
import numpy as np
import pytest

from layergraph.wolfram import (
    Information,
    LayerGraphError,
    LinearLayer,
    NetAppend,
    NetChain,
    NetDecoder,
    NetDrop,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetReplacePart,
    NetTake,
    NetTrain,
    Ramp,
    SoftmaxLayer,
)

R = np.random.default_rng(2)
LABELS = ["neg", "pos"]


def classifier():
    return NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS))),
                         RandomSeeding=3)


def test_decoder_properties():
    net = classifier()
    x = np.array([1.0, -2.0])
    p = net(x, None)
    assert p.shape == (2,)
    assert net(x) == LABELS[int(np.argmax(p))]
    assert net([x, -x]) == [LABELS[int(np.argmax(p))], LABELS[int(np.argmax(net(-x, None)))]]
    probs = net(x, "Probabilities")
    assert set(probs) == set(LABELS) and probs["neg"] == pytest.approx(p[0])
    top = net(x, ("TopProbabilities", 1))
    assert top == [(LABELS[int(np.argmax(p))], pytest.approx(p.max()))]
    assert net(x, ("Probability", "pos")) == pytest.approx(p[1])
    assert net(x, "Entropy") == pytest.approx(float(-np.sum(p * np.log(p))), rel=1e-5)
    assert net(x, ("TopDecisions", 2))[0] == net(x)
    with pytest.raises(LayerGraphError):
        net(x, "Nope")


def test_printout_and_information():
    net = classifier()
    assert "Output port:      class" in repr(net)
    assert Information(net, "OutputPorts") == {"Output": "class"}
    assert NetExtract(net, "Output") == NetDecoder(("Class", LABELS))
    assert repr(NetDecoder(("Class", LABELS))) == 'NetDecoder[{"Class", {"neg", "pos"}}]'


def test_training_on_labels():
    X = R.standard_normal((200, 2))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    net = NetChain([LinearLayer(2), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS)))
    trained = NetTrain(net, list(zip(X, y)), MaxTrainingRounds=50, LearningRate=0.05,
                       TrainingProgressReporting=None, RandomSeeding=1)
    assert np.mean(np.array(trained(X)) == y) > 0.95
    with pytest.raises(LayerGraphError, match="is not one of the classes"):
        NetTrain(net, (X, ["maybe"] * 200), MaxTrainingRounds=1, TrainingProgressReporting=None)


def test_operations_keep_or_drop_the_decoder():
    net = classifier()
    assert NetDrop(net, 1)._decoders and not NetTake(net, 1)._decoders
    assert not NetAppend(net, Ramp)._decoders     # NetAppend removes an output decoder
    raw = NetReplacePart(net, {"Output": None})
    assert isinstance(raw(np.ones(2)), np.ndarray)
    assert NetGraph(net)._decoders == net._decoders


def test_bad_decoders():
    for spec in ["Class", ("Class", []), ("Image", [1]), ("Class", ["a", "a"]), 3]:
        with pytest.raises(LayerGraphError):
            NetDecoder(spec)
    with pytest.raises(LayerGraphError):
        NetChain([Ramp], Input=NetDecoder(("Class", LABELS)))
    with pytest.raises(LayerGraphError, match="compatible"):
        NetChain([LinearLayer(3), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS)))
    with pytest.raises(LayerGraphError, match="no output decoder"):
        NetInitialize(NetChain([LinearLayer(2)], Input=2))(np.ones(2), "Probabilities")
