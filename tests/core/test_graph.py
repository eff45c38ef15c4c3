"""layerGraph and its editing functions: naming, ports, errors, value semantics."""
import pytest
import networkx as nx

from layergraph import (
    LayerArray, LayerGraphError, additionLayer, addLayers, batchNormalizationLayer, classificationLayer,
    connectLayers, convolution2dLayer, depthConcatenationLayer, disconnectLayers, fullyConnectedLayer,
    imageInputLayer, layerGraph, maxPooling2dLayer, reluLayer, removeLayers, replaceLayer, softmaxLayer,
)


def series():
    return [imageInputLayer([8, 8, 1]), convolution2dLayer(3, 4, "Padding", "same"), reluLayer,
            convolution2dLayer(3, 4, "Padding", "same"), reluLayer, fullyConnectedLayer(2), softmaxLayer,
            classificationLayer]


def test_auto_names_follow_matlab_rule():
    lg = layerGraph(series())
    assert [layer.Name for layer in lg.Layers] == [
        "imageinput", "conv_1", "relu_1", "conv_2", "relu_2", "fc", "softmax", "classoutput"]


def test_single_default_name_has_no_suffix_and_user_names_are_kept():
    lg = layerGraph([imageInputLayer([8, 8, 1], "Name", "conv_1"), convolution2dLayer(3, 4), reluLayer])
    assert [layer.Name for layer in lg.Layers] == ["conv_1", "conv", "relu"]
    lg = layerGraph([imageInputLayer([8, 8, 1], "Name", "conv"), convolution2dLayer(3, 4), reluLayer])
    assert [layer.Name for layer in lg.Layers] == ["conv", "conv_1", "relu"]


def test_duplicate_user_names_are_an_error():
    with pytest.raises(LayerGraphError, match=r"layers 1, 2 are all named 'a'"):
        layerGraph([reluLayer("Name", "a"), reluLayer("Name", "a")])


def test_layers_are_copied_into_the_graph():
    relu = reluLayer("Name", "r")
    lg = layerGraph([imageInputLayer([4, 4, 1]), relu])
    relu.Name = "changed"
    assert lg.Layers[1].Name == "r"


def test_connections_inputs_outputs_and_networkx():
    lg = layerGraph(series())
    conns = lg.Connections
    assert conns.Source[0] == "imageinput" and conns.Destination[0] == "conv_1"
    assert len(conns) == 7
    assert lg.InputNames == ["imageinput"] and lg.OutputNames == ["classoutput"]
    assert isinstance(lg.graph, nx.DiGraph)
    assert list(nx.topological_sort(lg.graph))[0] == "imageinput"


def residual():
    lg = layerGraph([imageInputLayer([8, 8, 3], "Name", "in"),
                     convolution2dLayer(3, 3, "Padding", "same", "Name", "c1"),
                     reluLayer("Name", "r1"), additionLayer(2, "Name", "add"), reluLayer("Name", "r2")])
    return connectLayers(lg, "in", "add/in2")


def test_connect_named_port_and_connections_table():
    lg = residual()
    assert ("in", "add/in2") in list(zip(lg.Connections.Source, lg.Connections.Destination))
    assert ("r1", "add/in1") in list(zip(lg.Connections.Source, lg.Connections.Destination))
    assert lg.graph.edges["in", "add"]["ports"] == [("out", "in2")]


@pytest.mark.parametrize("src,dst,message", [
    ("nope", "add/in2", r"Layer 'nope' does not exist"),
    ("in", "add", r"Layer 'add' has several inputs \(in1, in2\)"),
    ("in", "add/in3", r"Layer 'add' has no input named 'in3'"),
    ("r1", "add/in1", r"connection from 'r1' to 'add/in1' already exists"),
    ("c1", "add/in1", r"Input 'add/in1' is already connected to 'r1/out'"),
    ("r2", "in", r"Layer 'in' is an input layer"),
    ("r1", "r1", r"Cannot connect layer 'r1' to itself"),
    ("a/b/c", "r1", r"at most one '/'"),
    ("r1/bad", "r2", r"Layer 'r1' has no output named 'bad'"),
])
def test_connect_errors_leave_graph_unchanged(src, dst, message):
    lg = residual()
    before = list(zip(lg.Connections.Source, lg.Connections.Destination))
    with pytest.raises(LayerGraphError, match=message):
        connectLayers(lg, src, dst)
    assert list(zip(lg.Connections.Source, lg.Connections.Destination)) == before


def test_output_layer_cannot_be_a_source():
    lg = layerGraph(series())
    with pytest.raises(LayerGraphError, match="'classoutput' is an output layer"):
        connectLayers(lg, "classoutput", "fc")


def test_disconnect_and_missing_connection_is_noop():
    lg = residual()
    lg2 = disconnectLayers(lg, "in", "add/in2")
    assert "add/in2" not in lg2.Connections.Destination
    assert "add/in2" in lg.Connections.Destination  # the original is untouched
    lg3 = disconnectLayers(lg2, "in", "add/in2")
    assert lg3.Connections == lg2.Connections


def test_add_layers_connects_only_among_themselves():
    lg = layerGraph([imageInputLayer([4, 4, 1])])
    lg2 = addLayers(lg, [reluLayer, reluLayer])
    assert [layer.Name for layer in lg2.Layers] == ["imageinput", "relu_1", "relu_2"]
    assert list(zip(lg2.Connections.Source, lg2.Connections.Destination)) == [("relu_1", "relu_2")]
    assert len(lg.Layers) == 1
    with pytest.raises(LayerGraphError, match="'imageinput' is already in the layer graph"):
        addLayers(lg, imageInputLayer([4, 4, 1], "Name", "imageinput"))


def test_add_layers_numbers_around_existing_names():
    lg = layerGraph([imageInputLayer([4, 4, 1]), reluLayer])
    lg2 = addLayers(lg, reluLayer)
    assert [layer.Name for layer in lg2.Layers] == ["imageinput", "relu", "relu_1"]


def test_remove_layers():
    lg = residual()
    lg2 = removeLayers(lg, ["r1", "r1"])
    assert "r1" not in [layer.Name for layer in lg2.Layers]
    assert not [s for s in lg2.Connections.Source if s == "r1"]
    with pytest.raises(LayerGraphError, match="Layer 'zz' does not exist"):
        removeLayers(lg, "zz")
    assert len(lg.Layers) == 5


def test_replace_layer_by_name_and_order():
    lg = residual()
    lg2 = replaceLayer(lg, "r1", [batchNormalizationLayer("Name", "bn"), reluLayer("Name", "rr")])
    pairs = list(zip(lg2.Connections.Source, lg2.Connections.Destination))
    assert ("c1", "bn") in pairs and ("bn", "rr") in pairs and ("rr", "add/in1") in pairs
    lg3 = replaceLayer(lg, "add", depthConcatenationLayer(2, "Name", "cat"), ReconnectBy="order")
    pairs = list(zip(lg3.Connections.Source, lg3.Connections.Destination))
    assert ("r1", "cat/in1") in pairs and ("in", "cat/in2") in pairs and ("cat", "r2") in pairs
    with pytest.raises(LayerGraphError, match="Cannot reconnect the input 'in2' of 'add' by name"):
        replaceLayer(lg, "add", reluLayer("Name", "x"))
    with pytest.raises(LayerGraphError, match="'ReconnectBy'"):
        replaceLayer(lg, "add", reluLayer("Name", "x"), ReconnectBy="size")


def test_multi_output_layer_needs_port():
    lg = layerGraph([imageInputLayer([4, 4, 1]), maxPooling2dLayer(2, "HasUnpoolingOutputs", True, "Name", "mp")])
    lg = addLayers(lg, reluLayer("Name", "r"))
    with pytest.raises(LayerGraphError, match=r"Layer 'mp' has several outputs \(out, indices, size\)"):
        connectLayers(lg, "mp", "r")
    lg2 = disconnectLayers(lg, "imageinput", "mp")
    assert len(lg2.Connections) == 0


def test_layer_array_display_and_name_index():
    layers = LayerArray([imageInputLayer([4, 4, 1], "Name", "in"), reluLayer])
    assert layers["in"].Type == "Image Input"
    assert isinstance(layers[0:1], LayerArray)
    with pytest.raises(LayerGraphError, match="No layer named 'x'"):
        layers["x"]
    with pytest.raises(LayerGraphError, match="Element 2 of the layer array is int"):
        LayerArray([reluLayer(), 3])


def test_layer_graph_display():
    text = str(layerGraph(series()))
    assert "LayerGraph with properties:" in text
    assert "Layers: [8x1 nnet.cnn.layer.Layer]" in text
    assert "InputNames: {'imageinput'}" in text


def test_plot_draws_every_layer(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    ax = residual().plot()
    labels = {t.get_text() for t in ax.texts}
    assert {"in", "c1", "r1", "add", "r2"} <= labels
    ax.figure.savefig(tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_layers_property_returns_copies():
    lg = layerGraph([imageInputLayer([4, 4, 1], "Name", "in"), reluLayer("Name", "r")])
    lg.Layers[1].Name = "renamed"
    assert [layer.Name for layer in lg.Layers] == ["in", "r"]
