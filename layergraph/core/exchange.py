"""One network, both dialects: how a network of one dialect reaches the other through the
core, so that neither dialect imports the other.

* **Into a dialect.** ``analysis_of(obj)`` is the core analysis of a network object that
  another dialect may open (``NetGraph(dagnet)``, ``NetChain(layer_array)``): a core
  ``Network`` (its graph with its current learnables and state) or a core ``Graph``,
  analysed by the core. A dialect registers its own types with ``analysis_of.register``
  (functools.singledispatch) so that they are analysed as that dialect analyses them:
  MATLAB's layer array is its layers in series with MATLAB's names, and MATLAB's rules
  apply (``matlab/exchange.py``). Anything else gives None: a plain list of layers is no
  network.
* **Out of a dialect.** A dialect's network that another dialect may take
  (``dlnetwork(netchain)``) has a method ``to_core_net()`` returning a ``CoreNet``: its
  core graph, sized and with its arrays, and its ports. ``as_core_net(obj)`` calls it
  (None for an object without one); the taking dialect names the layers and adds what it
  needs (MATLAB's output layers) from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import singledispatch

from .graph import Graph
from .infer import Analysis, analyze
from .network import Network


@singledispatch
def analysis_of(obj) -> Analysis | None:
    """The core analysis of the network ``obj`` stands for; None when it is no network."""
    return None


@analysis_of.register
def _(obj: Graph) -> Analysis:
    return analyze(obj)


@analysis_of.register
def _(obj: Network) -> Analysis:
    return analyze(obj.layer_graph)


@dataclass(frozen=True)
class CoreNet:
    """A network in the core's terms, as one dialect hands it to another.

    ``graph``: the core graph, every size known and the arrays the network has set (empty
    ones stay empty), with its shared-learnables table; it may be the source's own (a
    cached compile), so a taker copies before changing it. Its layer names are the
    source's core names (a Wolfram net's paths, ``"block/conv"``), which the taker renames
    as its dialect requires. ``inputs``: input port -> its core input layer, in the
    network's order of inputs. ``outputs``: output port -> the (core layer, output) that
    gives it. ``names``: core layer -> the name the network itself gives that layer, where
    the two differ (an input layer a Wolfram net holds). ``classes``: output port -> its
    class labels, for a port whose values are classes (a "Class" decoder). ``chain``: the
    network is a chain by construction (a NetChain), each layer feeding the next."""

    graph: Graph
    inputs: dict[str, str]
    outputs: dict[str, tuple[str, str]]
    names: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list] = field(default_factory=dict)
    chain: bool = False


def as_core_net(obj) -> CoreNet | None:
    """``obj.to_core_net()`` for a network of a dialect that hands its networks over, else None."""
    method = getattr(type(obj), "to_core_net", None)
    return obj.to_core_net() if callable(method) else None


__all__ = ["CoreNet", "analysis_of", "as_core_net"]
