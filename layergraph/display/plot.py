"""plot(lgraph): the layer graph drawn with matplotlib (an optional extra)."""
from __future__ import annotations

import networkx as nx

from ..core.errors import LayerGraphError


def plot_graph(lgraph, ax=None):
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise LayerGraphError("plot needs matplotlib: pip install 'layergraph[plot]'.") from None
    g = lgraph.graph
    if ax is None:
        _, ax = plt.subplots(figsize=(4, max(3, 0.6 * len(g))))
    if not nx.is_directed_acyclic_graph(g):
        pos = nx.spring_layout(g, seed=0)
    else:
        layers = {n: depth for depth, gen in enumerate(nx.topological_generations(g)) for n in gen}
        pos = {}
        for depth in set(layers.values()):
            row = [n for n in g.nodes if layers[n] == depth]
            for k, n in enumerate(row):
                pos[n] = (k - (len(row) - 1) / 2, -depth)
    nx.draw_networkx(g, pos=pos, ax=ax, node_color="#4c72b0", node_size=120, font_size=8,
                     labels={n: n for n in g.nodes}, arrows=True, verticalalignment="bottom")
    ax.set_axis_off()
    return ax
