"""NetInitialize: fill a net's missing arrays.

Weights come from the core initializers with Wolfram's fans (fanIn = Times @@ Rest[dims],
fanOut = First[dims] of the Wolfram array); biases, scalings and the batch-normalization
statistics are filled by the core's network initialization (0, 1, MovingMean 0,
MovingVariance 1).

Methods: "Kaiming" (default; normal with variance 2/fanIn, UNCONFIRMED for the newest
versions), "Xavier" (normal with variance 2/(fanIn + fanOut), "FactorType" "Mean"),
"Orthogonal" (an orthogonal {fanOut, fanIn} matrix), "Random" (weights N(0, 1)).
Suboption "Distribution" -> "Uniform" draws U(-Sqrt[3] s, Sqrt[3] s) with the same
variance s^2. RandomSeeding defaults to 1234, as the documentation says.
"""
from __future__ import annotations

import numpy as np

from ..core import initializers as core_init
from ..core.errors import LayerGraphError
from ..core.network import Network
from . import symbols as S
from .args import checked, one_of
from .layers import NetLayer
from .net import NetChain, _Container, _generator, _replace_leaves
from .types import _wl

METHODS = ("Kaiming", "Xavier", "Orthogonal", "Random")


def _method(value):
    name, sub = value, {}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        name = value[0]
        rest = value[1:]
        if len(rest) == 1 and isinstance(rest[0], dict):
            sub = dict(rest[0])
        else:
            try:
                sub = dict(rest)
            except (TypeError, ValueError):
                raise LayerGraphError(f"Method -> {_wl(value)}: suboptions should be given as (\"name\", value) "
                                      "pairs or a dict.", "NetInitialize::invmethod") from None
    if name is S.Automatic:
        name = "Kaiming"
    if not isinstance(name, str) or name not in METHODS:
        raise LayerGraphError(f"The value of Method -> {_wl(value)} should be one of "
                              f"{', '.join(repr(m) for m in METHODS)}.", "NetInitialize::invmethod")
    allowed = {"Kaiming": {"Distribution"}, "Xavier": {"Distribution", "FactorType"}, "Orthogonal": set(),
               "Random": {"Weights", "Biases", "Scaling"}}[name]
    for k in sub:
        if not isinstance(k, str) or k not in allowed:
            raise LayerGraphError(f"{k!r} is not a suboption of Method \"{name}\". Suboptions: "
                                  f"{', '.join(sorted(allowed)) or 'none'}.", "NetInitialize::invmethod")
    for k in ("Biases", "Scaling"):   # Method "Random": only None (biases 0, scalings 1) is supported
        if k in sub and sub[k] is not None:
            raise LayerGraphError(f"Method \"Random\": \"{k}\" -> {_wl(sub[k])} is not supported; only None (biases "
                                  "0, scalings 1).", "NetInitialize::invmethod")
    dist = sub.get("Distribution", "Normal")
    if not one_of(dist, "Normal", "Uniform"):
        raise LayerGraphError(f"\"Distribution\" -> {_wl(dist)} should be \"Normal\" or \"Uniform\".",
                              "NetInitialize::invmethod")
    factor = sub.get("FactorType", "Mean")
    if not one_of(factor, "In", "Out", "Mean"):
        raise LayerGraphError(f"\"FactorType\" -> {_wl(factor)} should be \"In\", \"Out\" or \"Mean\".",
                              "NetInitialize::invmethod")
    return name, dist, factor, sub


def _weights(method, dims, gen):
    name, dist, factor, sub = method
    dims = tuple(int(d) for d in dims)
    fan_out = dims[0]
    fan_in = int(np.prod(dims[1:])) if len(dims) > 1 else 1
    if name == "Orthogonal":
        return core_init.INITIALIZERS["orthogonal"]((fan_out, fan_in), fan_in, fan_out, gen).reshape(dims)
    if name == "Random":
        spec = sub.get("Weights", 1.0)
        if not isinstance(spec, (int, float)) or isinstance(spec, bool) or spec <= 0:
            raise LayerGraphError("\"Weights\" -> s of Method \"Random\" should be a positive standard deviation s.",
                                  "NetInitialize::invmethod")
        return gen.normal(0.0, float(spec), size=dims)
    if name == "Kaiming":
        var = 2.0 / fan_in
    else:
        var = {"In": 2.0 / fan_in, "Out": 2.0 / fan_out, "Mean": 2.0 / (fan_in + fan_out)}[factor]
    if dist == "Uniform":
        bound = np.sqrt(3.0 * var)
        return gen.uniform(-bound, bound, size=dims)
    if name == "Kaiming":  # the core's 'he' initializer: normal, variance 2/fanIn
        return core_init.INITIALIZERS["he"](dims, fan_in, fan_out, gen)
    return gen.normal(0.0, np.sqrt(var), size=dims)


@checked
def NetInitialize(net, which=S.Automatic, *, Method="Kaiming", RandomSeeding=1234):
    """``NetInitialize(net)`` fills the missing arrays; ``NetInitialize(net, All)`` replaces
    every array; ``NetInitialize(net, None)`` removes them; a list of nets gives a list."""
    if isinstance(net, list):
        return [NetInitialize(n, which, Method=Method, RandomSeeding=RandomSeeding) for n in net]
    if not (which is S.Automatic or which is S.All or which is None):
        raise LayerGraphError("Second argument should be either All or Automatic.", "NetInitialize::arg2")
    method = _method(Method)
    if isinstance(net, NetLayer):
        return NetInitialize(NetChain([net]), which, Method=Method, RandomSeeding=RandomSeeding)._nodes["1"]
    if not isinstance(net, _Container):
        raise LayerGraphError(f"NetInitialize: {_wl(net)} is not a net or a layer.", "NetInitialize::invnet")
    leaves = net._expand()[0]
    if which is None:
        return _replace_leaves(net, {p: leaf.with_arrays({n: None for n in leaf.active_arrays})
                                     for p, leaf in leaves.items()})
    gen = _generator(RandomSeeding)
    c = net.compile()
    net._require_sized(c, "initialize")
    new_leaves = {}
    drawn = {}   # NetArray name -> weights: the arrays of one name get one value
    for path in c.order:
        info = c.leaves[path]
        leaf = info.layer
        if which is S.All:
            leaf = leaf.with_arrays({n: None for n in leaf.active_arrays})
        # a core layer kept as itself (CoreLayerView) is initialized by its own initializers below
        if "Weights" in leaf.active_arrays and leaf.arrays.get("Weights") is None and not getattr(leaf, "core_view",
                                                                                                  False):
            name = getattr(leaf, "shared", {}).get("Weights")
            if name is None or name not in drawn:
                dims = leaf.array_dims(info.in_dims)["Weights"]
                w = _weights(method, dims, gen)
                if name is not None:
                    drawn[name] = w
            leaf = leaf.with_arrays({"Weights": drawn[name] if name is not None else w})
        new_leaves[path] = leaf
    staged = _replace_leaves(net, new_leaves)
    # the core fills what is still missing (biases 0, scalings 1, moving mean 0, variance 1)
    c2 = staged.compile()
    with core_init.drawing_from(gen):   # the core's initializers (recurrent weights, ...) on the seeded gen too
        core = Network.build(c2.graph, initialize=True)
    final = {}
    for path in c2.order:
        info = c2.leaves[path]
        leaf = info.layer
        if info.built.read_arrays is None:
            final[path] = leaf
            continue
        core_layer = core.layer_graph.layer(info.core_names[info.built.main])
        values = info.built.read_arrays(core_layer)
        final[path] = leaf.with_arrays({n: v for n, v in values.items() if leaf.arrays.get(n) is None})
    return _replace_leaves(net, final)


__all__ = ["NetInitialize"]
