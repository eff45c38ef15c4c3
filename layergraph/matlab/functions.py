"""MATLAB's network functions: layerGraph and its editing functions, analyzeNetwork,
dlnetwork. Each takes a layer array, a plain list of layers or a layer graph."""
from __future__ import annotations

from ..core.errors import LayerGraphError
from ..core.exchange import as_core_net
from .analysis import analyze
from .args import parse
from .exchange import layer_graph_of, runs_in_series
from .layer_array import LayerArray
from .layer_graph import LayerGraph
from .network import DAGNetwork, DLNetwork, SeriesNetwork


def layerGraph(layers=None) -> LayerGraph:
    """layerGraph(layers): the layers connected in series; unnamed layers get
    MATLAB's default names (conv, or conv_1, conv_2 when repeated). A Wolfram net gives
    its layers, with a classificationLayer where an output has a Class decoder."""
    net = as_core_net(layers)
    if net is not None:
        return layer_graph_of(net, "class")
    if layers is not None and hasattr(layers, "layer_graph"):
        return layers.layer_graph
    return LayerGraph(layers)


def _edited(original, lgraph: LayerGraph):
    """An edit of a dlnetwork is an (uninitialized) dlnetwork, as in MATLAB; of a layer graph a layer graph."""
    return DLNetwork.build(lgraph, Initialize=False) if isinstance(original, DLNetwork) else lgraph


def addLayers(lgraph, layers) -> LayerGraph:
    return _edited(lgraph, layerGraph(lgraph).addLayers(layers))


def removeLayers(lgraph, layerNames) -> LayerGraph:
    return _edited(lgraph, layerGraph(lgraph).removeLayers(layerNames))


def replaceLayer(lgraph, layerName, larray, ReconnectBy="name") -> LayerGraph:
    return _edited(lgraph, layerGraph(lgraph).replaceLayer(layerName, larray, ReconnectBy=ReconnectBy))


def connectLayers(lgraph, s, d) -> LayerGraph:
    return _edited(lgraph, layerGraph(lgraph).connectLayers(s, d))


def disconnectLayers(lgraph, s, d) -> LayerGraph:
    return _edited(lgraph, layerGraph(lgraph).disconnectLayers(s, d))


def plot(lgraph, ax=None):
    return layerGraph(lgraph).plot(ax)


def analyzeNetwork(net, Plots="analyzer"):
    """Infer every size and report problems. Prints the report as a rich table
    (MATLAB opens its Network Analyzer app); ``Plots='none'`` only returns it."""
    report = analyze(net.layer_graph if hasattr(net, "layer_graph") else net)
    if str(Plots).lower() != "none":
        from rich.console import Console
        Console().print(report)
    return report


def dlnetwork(layers=None, Initialize=True) -> DLNetwork:
    """dlnetwork(layers_or_lgraph): sizes inferred and learnables initialized.
    Output layers (classificationLayer, regressionLayer) are not allowed; a Wolfram net
    (NetChain, NetGraph) gives its layers without any. ``dlnetwork()`` is an empty,
    uninitialized network to build with addLayers and connectLayers; with ``Initialize=False``
    the network may lack input layers (``initialize(net, X)`` sizes it)."""
    if layers is None:
        return DLNetwork.build(LayerGraph(), Initialize=False)
    net = as_core_net(layers)
    if net is not None:
        layers = layer_graph_of(net, "none")
    return DLNetwork.build(layers, Initialize=Initialize)


def assembleNetwork(layers):
    """assembleNetwork(layers_or_lgraph): a network from layers whose learnables,
    state and classes are all set, without training. A Wolfram net gets output layers: a
    classificationLayer for a Class decoder, a regressionLayer for any other output; a
    NetChain whose layers run in series gives a SeriesNetwork."""
    net = as_core_net(layers)
    if net is not None:
        lg = layer_graph_of(net, "all")
        assembled = DAGNetwork.assemble(lg)
        if runs_in_series(net, lg):
            return SeriesNetwork(assembled.layer_graph, assembled.analysis)
        return assembled
    return DAGNetwork.assemble(layers)


def predict(net, X, *args, **kwargs):
    """Scores (classification) or responses (regression) for X in MATLAB's layout:
    images H x W x C x N, features N x C. Options as 'Name', value pairs or keywords:
    MiniBatchSize, Outputs, ExecutionEnvironment ('auto', 'cpu', 'gpu'), Acceleration."""
    return net.predict(X, **parse("predict", args, kwargs, ("MiniBatchSize",), 0,
                                  ["MiniBatchSize", "Outputs", "ExecutionEnvironment", "Acceleration", "dtype",
                                   *_SEQUENCE_OPTIONS]))


def classify(net, X, *args, **kwargs):
    """(labels, scores) of a classification network. Options: MiniBatchSize,
    ExecutionEnvironment."""
    if not hasattr(net, "classify"):
        raise LayerGraphError("classify needs a network with a classification output layer (assembleNetwork or "
                        "trainNetwork); a dlnetwork has none: use predict.")
    return net.classify(X, **parse("classify", args, kwargs, ("MiniBatchSize",), 0,
                                   ["MiniBatchSize", "ExecutionEnvironment", "dtype", *_SEQUENCE_OPTIONS]))


_SEQUENCE_OPTIONS = ("SequenceLength", "SequencePaddingValue", "SequencePaddingDirection")


def predictAndUpdateState(net, X, *args, **kwargs):
    """``[updatedNet, Y] = predictAndUpdateState(net, X)``: predict X from the network's state
    (the recurrent layers' HiddenState / CellState, one per observation after an earlier call)
    and return the network holding the state after X. Options as predict's."""
    _stateful(net, "predictAndUpdateState")
    return net.predictAndUpdateState(X, **parse("predictAndUpdateState", args, kwargs, ("MiniBatchSize",), 0,
                                                ["MiniBatchSize", "ExecutionEnvironment", "dtype",
                                                 *_SEQUENCE_OPTIONS]))


def classifyAndUpdateState(net, X, *args, **kwargs):
    """``[updatedNet, labels, scores] = classifyAndUpdateState(net, X)`` (MATLAB: not recommended;
    use predict with the state). Options as classify's."""
    _stateful(net, "classifyAndUpdateState")
    return net.classifyAndUpdateState(X, **parse("classifyAndUpdateState", args, kwargs, ("MiniBatchSize",), 0,
                                                 ["MiniBatchSize", "ExecutionEnvironment", "dtype",
                                                  *_SEQUENCE_OPTIONS]))


def resetState(net):
    """The network with the recurrent layers' states as they were before stateful prediction."""
    _stateful(net, "resetState")
    return net.resetState()


def _stateful(net, name):
    if not hasattr(net, "resetState"):
        raise LayerGraphError(f"{name} needs a network (SeriesNetwork, DAGNetwork or dlnetwork); got "
                              f"{type(net).__name__}.", "MATLAB:UndefinedFunction")


def activations(net, X, layer, *args, **kwargs):
    """Activations of ``layer`` ('name' or 'name/port') for X. Options: OutputAs
    ('channels', 'rows', 'columns'), MiniBatchSize, ExecutionEnvironment."""
    return net.activations(X, layer, **parse("activations", args, kwargs, ("OutputAs", "MiniBatchSize"), 0,
                                             ["OutputAs", "MiniBatchSize", "ExecutionEnvironment", "dtype"]))


def forward(net, X, Outputs=None):
    """dlnetwork forward in training mode: ``Y, state = forward(net, X)``."""
    return net.forward(X, Outputs=Outputs)


__all__ = ["assembleNetwork", "predict", "classify", "predictAndUpdateState", "classifyAndUpdateState", "resetState",
           "activations", "forward", "layerGraph", "addLayers",
           "removeLayers", "replaceLayer", "connectLayers", "disconnectLayers", "plot", "analyzeNetwork", "dlnetwork",
           "LayerArray"]
