"""Shared (tied) learnables: several (layer, learnable) pairs that are one array.

A LayerGraph may name groups of learnables, ``{name: ((layer, learnable), ...)}``
(``share_learnables``). The table lives in the networkx graph's attribute dict, so
every copy of the graph (each edit, each network built from it, the network that
training returns) carries it. For a group, everywhere in the core:

* one value: the executor holds ONE internal-layout array that every member layer
  reads. The members' own values (stored in the internal layout on the layers) must be
  equal when the executor is built; a dialect sets them all to the one value.
  Network initialization gives the members one value (the first member's, or the value
  a member already has);
* one gradient: the sum of the members' gradients;
* one solver state, one update, one L2 term; gradient thresholding sees the array once
  (so "global-l2norm" counts it once);
* one learn-rate factor and one L2 factor: the members must agree, otherwise training
  refuses with an error that names them (Wolfram's rule for disagreeing multipliers of a
  shared array is not documented, so no combination rule is guessed);
* state (batch normalization's TrainedMean / TrainedVariance) is not learnable and is
  never shared: ``share_learnables`` refuses it.

Nothing here knows a dialect; the executor and the trainer call these functions
without branching on one.
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError

KEY = "shared_learnables"

Member = tuple[str, str]


def shared_learnables(graph) -> dict[str, tuple[Member, ...]]:
    """{name: ((layer, learnable), ...)} of a LayerGraph (empty when nothing is shared)."""
    return dict(graph._g.graph.get(KEY, {}))


def _check_member(graph, name: str, member) -> Member:
    if not (isinstance(member, (tuple, list)) and len(member) == 2 and all(isinstance(m, str) for m in member)):
        raise LayerGraphError(f"Shared array '{name}': {member!r} is not a (layer name, learnable name) pair.")
    layer_name, param = member
    if layer_name not in graph._g:
        raise LayerGraphError(f"Shared array '{name}': layer '{layer_name}' does not exist in the layer graph.")
    layer = graph._g.nodes[layer_name]["layer"]
    if param in layer.states:
        raise LayerGraphError(f"Shared array '{name}': {param} of layer '{layer_name}' is state, not a learnable "
                              "parameter; state is updated by each layer from its own data and cannot be shared.",
                              "layergraph:shared:StateNotShareable")
    names = [spec.name for spec in layer.learnables]
    if param not in names:
        raise LayerGraphError(f"Shared array '{name}': layer '{layer_name}' has no learnable parameter '{param}'. "
                              f"Learnables: {', '.join(names) or 'none'}.")
    return (layer_name, param)


def share_learnables(graph, name: str, members) -> "LayerGraph":  # noqa: F821
    """A copy of ``graph`` in which the (layer, learnable) pairs ``members`` are one
    array called ``name`` (added to an existing group of that name)."""
    if not isinstance(name, str) or not name:
        raise LayerGraphError(f"The name of a shared array must be a nonempty string, not {name!r}.")
    table = shared_learnables(graph)
    group = list(table.get(name, ()))
    taken = {m: n for n, g in table.items() for m in g}
    for member in members:
        m = _check_member(graph, name, member)
        if m in taken and taken[m] != name:
            raise LayerGraphError(f"{m[1]} of layer '{m[0]}' is already part of the shared array '{taken[m]}'; it "
                                  f"cannot also be part of '{name}'.")
        if m not in group:
            group.append(m)
    if not group:
        raise LayerGraphError(f"Shared array '{name}' needs at least one (layer, learnable) pair.")
    new = graph._copy()
    new._g.graph[KEY] = {**table, name: tuple(group)}
    return new


def set_shared_learnables(graph, table: dict) -> None:
    """Set the whole table on a graph being built (the dialects' compilers, io's loader):
    every member is checked like ``share_learnables`` checks it."""
    clean = {}
    seen = {}
    for name, members in table.items():
        group = []
        for member in members:
            m = _check_member(graph, name, tuple(member))
            if m in seen and seen[m] != name:
                raise LayerGraphError(f"{m[1]} of layer '{m[0]}' is part of the shared arrays '{seen[m]}' and "
                                      f"'{name}'.")
            seen[m] = name
            if m not in group:
                group.append(m)
        if group:
            clean[name] = tuple(group)
    if clean:
        graph._g.graph[KEY] = clean
    else:
        graph._g.graph.pop(KEY, None)


def fill_members(graph, before: dict) -> None:
    """After network initialization: a member that was empty (``before``: the layers as
    they were) takes the value of the first member that was set, or of the first member;
    so a group starts with one value. Writes the layers of ``graph`` in place."""
    g = graph._g
    for name, members in shared_learnables(graph).items():
        for layer_name, param in members:
            if layer_name not in before:
                raise LayerGraphError(f"Shared array '{name}': layer '{layer_name}' does not exist in the network.")
        source = next((m for m in members if before[m[0]].internal(m[1]) is not None), members[0])
        holder = g.nodes[source[0]]["layer"]
        value = holder.internal(source[1])
        for layer_name, param in members:
            if (layer_name, param) == source or before[layer_name].internal(param) is not None:
                continue
            layer = g.nodes[layer_name]["layer"]
            own = layer.internal(param)
            if own is not None and np.shape(own) != np.shape(value):   # sizes in the words users see
                raise LayerGraphError(f"Shared array '{name}': {param} of layer '{layer_name}' has size "
                                      f"{'x'.join(map(str, np.shape(getattr(layer, param))))} but {source[1]} of "
                                      f"layer '{source[0]}' has size "
                                      f"{'x'.join(map(str, np.shape(getattr(holder, source[1]))))}.",
                                      "layergraph:shared:InconsistentSize")
            g.nodes[layer_name]["layer"] = layer._resolved_copy(**{param: np.array(value, copy=True)})


def tie_params(graph, params: dict) -> list[tuple[str, tuple[Member, ...]]]:
    """Make the executor's internal arrays of each group one array (the first member's);
    [(name, members)], the first member being the one that holds it."""
    groups = []
    for name, members in shared_learnables(graph).items():
        for layer_name, param in members:
            if layer_name not in params or param not in params[layer_name]:
                raise LayerGraphError(f"Shared array '{name}': the network has no learnable {param} in layer "
                                      f"'{layer_name}'.")
        first = params[members[0][0]][members[0][1]]
        for layer_name, param in members[1:]:
            own = params[layer_name][param]
            if own.shape != first.shape:
                raise LayerGraphError(
                    f"Shared array '{name}': {param} of layer '{layer_name}' has internal size "
                    f"{'x'.join(map(str, own.shape))} but {members[0][1]} of layer '{members[0][0]}' has "
                    f"{'x'.join(map(str, first.shape))}; the layers cannot share it.",
                    "layergraph:shared:InconsistentSize")
            if not np.array_equal(own, first):
                raise LayerGraphError(
                    f"Shared array '{name}': {param} of layer '{layer_name}' and {members[0][1]} of layer "
                    f"'{members[0][0]}' hold different values (or read the array in different layouts); the members "
                    "of a shared array must hold one value.", "layergraph:shared:DifferentValues")
        groups.append((name, tuple(members)))
    retie(params, groups)
    return groups


def retie(params: dict, groups) -> None:
    """Point every member at the first member's array again (after params were copied
    or loaded from a checkpoint)."""
    for _, members in groups:
        first = params[members[0][0]][members[0][1]]
        for layer_name, param in members[1:]:
            params[layer_name][param] = first


def aliases(groups) -> dict[Member, Member]:
    """{member: the member that holds the array} for every member but the holder."""
    return {m: members[0] for _, members in groups for m in members[1:]}


def sum_gradients(grads: dict, groups) -> dict:
    """The gradients with each group's summed into its holder's entry (the other members'
    entries removed); ``grads`` is {layer: {learnable: gradient}}."""
    if not groups:
        return grads
    out = {layer: dict(per) for layer, per in grads.items()}
    for _, members in groups:
        parts = [out.get(layer, {}).pop(param, None) for layer, param in members]
        parts = [p for p in parts if p is not None]
        if not parts:
            continue
        total = parts[0].copy() if len(parts) == 1 else np.add.reduce(parts)
        out.setdefault(members[0][0], {})[members[0][1]] = total
    return out


def check_factors(layers: dict, groups) -> None:
    """The members of a group must have one learn-rate factor and one L2 factor."""
    for name, members in groups:
        seen = []
        for layer_name, param in members:
            layer = layers[layer_name]
            spec = next(s for s in layer.learnables if s.name == param)
            seen.append((layer_name, param, float(getattr(layer, spec.learn_rate)), float(getattr(layer, spec.l2))))
        for what, i in (("learn-rate factor", 2), ("L2 factor", 3)):
            values = {s[i] for s in seen}
            if len(values) > 1:
                listing = ", ".join(f"{s[1]} of '{s[0]}': {s[i]:g}" for s in seen)
                raise LayerGraphError(f"Shared array '{name}' is one array, so its members must have one {what}; "
                                      f"they have {listing}.", "layergraph:shared:DifferentFactors")


__all__ = ["shared_learnables", "share_learnables", "set_shared_learnables", "fill_members", "tie_params", "retie",
           "aliases", "sum_gradients", "check_factors"]
