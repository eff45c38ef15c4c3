"""MATLAB's side of one network, both dialects (``core/exchange.py``).

Out: MATLAB's layer array, layerGraph and networks are analysed as MATLAB analyses them
when another dialect opens them (``NetGraph(dagnet)``): the array's layers in series with
MATLAB's default names, MATLAB's rules (a classification layer after a softmax layer).

In: a network that another dialect hands over (``CoreNet``: a Wolfram NetChain or
NetGraph) becomes a layerGraph with MATLAB's names and, as asked, MATLAB's output layers.
"""
from __future__ import annotations

import networkx as nx

from .. import layers as L
from ..core.exchange import CoreNet, analysis_of
from ..core.shared import set_shared_learnables, shared_learnables
from .analysis import analyze
from .layer_array import LayerArray
from .layer_graph import LayerGraph, assign_names
from .network import _MatlabNetwork

for _cls in (LayerArray, LayerGraph, _MatlabNetwork):
    analysis_of.register(_cls, analyze)


def matlab_name(name: str) -> str:
    """A valid MATLAB layer name for a core name of another dialect: a Wolfram net's path
    ("block/conv") and the core layers a Wolfram layer computes with ("conv$1") joined by
    "_" ('/' separates a layer from its port in MATLAB's names)."""
    return name.replace("/", "_").replace("$", "_")


def layer_graph_of(net: CoreNet, output_layers: str = "class") -> LayerGraph:
    """The layerGraph of a network handed over by another dialect, with MATLAB names: an
    input layer the network holds keeps its name; one made for an input port is named as
    MATLAB names it for the port "Input" when it is the only one, else by the port; other
    names by ``matlab_name``, made unique as MATLAB's names are. ``output_layers``: "none"
    (dlnetwork), "class" (layerGraph: a classificationLayer after each port that gives
    classes), "all" (assembleNetwork: also a regressionLayer after each other output port)."""
    mapping, taken = {}, set()
    for port, core in net.inputs.items():
        layer = net.graph.layer(core)
        mapping[core] = net.names.get(core) or (layer.DefaultName if port == "Input" and len(net.inputs) == 1
                                                else port)
    for core in net.graph._g.nodes:
        mapping.setdefault(core, matlab_name(core))
    for old, new in list(mapping.items()):
        base, k = new, 0
        while new in taken:
            k += 1
            new = f"{base}_{k}"
        taken.add(new)
        mapping[old] = new
    table = shared_learnables(net.graph)
    g = nx.relabel_nodes(net.graph._g, mapping, copy=True)
    for n in g.nodes:
        g.nodes[n]["layer"] = g.nodes[n]["layer"]._resolved_copy(Name=n)
    lg = LayerGraph()
    lg._g = g
    set_shared_learnables(lg, {k: [(mapping[m[0]], m[1]) for m in members] for k, members in table.items()})
    if output_layers != "none":
        for port, (layer, out) in net.outputs.items():
            if port in net.classes:
                head = L.ClassificationOutputLayer(Classes=[str(label) for label in net.classes[port]])
            elif output_layers == "all":
                head = L.RegressionOutputLayer()
            else:
                continue
            head = assign_names([head], g.nodes)[0]
            g.add_node(head.Name, layer=head)
            lg._connect(mapping[layer], out, head.Name, "in")
    return lg


def runs_in_series(net: CoreNet, lg: LayerGraph) -> bool:
    """Whether assembleNetwork gives a SeriesNetwork: a chain whose layers each feed one."""
    g = lg.graph
    return net.chain and all(g.in_degree(n) <= 1 and g.out_degree(n) <= 1 for n in g)


__all__ = ["layer_graph_of", "matlab_name", "runs_in_series"]
