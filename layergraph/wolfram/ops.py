"""Net operations: NetExtract, NetReplacePart, NetTake, NetDrop, NetAppend, NetPrepend,
NetInsert, NetDelete, NetJoin, NetFlatten, NetRename. Each returns a new net and leaves
its argument as it was; a net that would not be consistent is an error, not a result."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..core.errors import LayerGraphError
from . import shared
from . import symbols as S
from .args import checked
from .coders import _Coder, check_sides
from .layers import NetLayer
from .net import NetChain, NetGraph, NetPort, _as_node, _Container, register_extract
from .netarray import NetArray, NetSharedArray
from .states import NetStateObject
from .types import _wl, port_spec


def _require_net(net, fn, layers_too=False):
    if isinstance(net, _Container) or (layers_too and isinstance(net, NetLayer)):
        return
    what = "a net or a layer" if layers_too else "a net (NetChain or NetGraph)"
    got = net.head if hasattr(net, "head") else _wl(net)
    raise LayerGraphError(f"{fn}: the first argument should be {what}; got {got}.", f"{fn}::invnet")


# -- NetExtract ---------------------------------------------------------------------------------
def _extract_one(obj, spec):
    if isinstance(obj, NetLayer):
        if not isinstance(spec, str):
            raise LayerGraphError(f"{_wl(spec)} is not a part of {obj.head}: give an array or parameter name.",
                                  "NetExtract::nopart")
        if spec in obj.array_names:
            if spec in obj.disabled:
                return None
            value = obj.arrays.get(spec)
            return S.Automatic if value is None else value.copy()
        if spec in obj.params:
            return obj.params[spec]
        if spec == "Input":
            return obj.input_spec if obj.input_spec is not None else S.Automatic
        if spec == "Output":
            return obj.output_spec if obj.output_spec is not None else S.Automatic
        raise LayerGraphError(f"\"{spec}\" is not an array or parameter of {obj.head}. Arrays: "
                              f"{', '.join(obj.array_names) or 'none'}; parameters: {', '.join(obj.params)}.",
                              "NetExtract::nopart")
    if isinstance(obj, _Container):
        if spec is S.All:
            return OrderedDict(obj._nodes)
        if isinstance(spec, str) and spec not in obj._nodes and (spec in obj._input_names()
                                                                 or spec in obj._output_names()):
            if spec in obj._coders:
                return obj._coders[spec]
            c = obj.compile()
            dims = c.in_dims.get(spec) if spec in c.in_dims else c.out_dims.get(spec)
            return S.Automatic if dims is None else dims
        name = obj._resolve_node(spec)
        node = obj._nodes[name]
        if isinstance(node, NetLayer) and not node.multiport and node.input_spec is None:
            # a layer taken out of a net keeps the input dimensions the net gave it
            try:
                info = obj.compile().leaves.get((name,))
            except LayerGraphError:
                info = None
            if info is not None and info.in_dims:
                node = node.copy(input_spec=tuple(info.in_dims[0]))
        return node
    raise LayerGraphError(f"NetExtract: {_wl(obj)} is not a net or a layer.", "NetExtract::invnet")


@checked
def NetExtract(net, spec):
    """``NetExtract(layer, "Weights")``, ``NetExtract(net, 2)``, ``NetExtract(net, "name")``,
    ``NetExtract(net, (2, "Weights"))`` (a path: Wolfram's {2, "Weights"}), ``NetExtract(net, All)``
    (a dict of the layers); uninitialized arrays give Automatic. A list of specs gives a list."""
    if isinstance(net, NetStateObject):   # NetExtract[NetStateObject[...], "States"]
        return net[spec]
    _require_net(net, "NetExtract", True)
    if isinstance(spec, list):
        return [NetExtract(net, s) for s in spec]
    if isinstance(spec, NetArray):   # NetExtract[net, NetArray["name"]], NetExtract[net, NetArray[All]]
        return shared.extract(net, spec)
    path = spec if isinstance(spec, tuple) else (spec,)
    obj = net
    for s in path:
        obj = _extract_one(obj, s)
    return obj


register_extract(NetExtract)   # net[spec] is NetExtract[net, spec]; see net.register_extract


@checked
def Normal(net):
    """``Normal[chain]``: the layers, as a list when the names are "1", "2", ..., else a dict."""
    _require_net(net, "Normal")
    nodes = net._nodes
    if list(nodes) == [str(i + 1) for i in range(len(nodes))]:
        return list(nodes.values())
    return OrderedDict(nodes)


# -- NetReplacePart -----------------------------------------------------------------------------
def _rules(rules):
    """A dict, one pair (spec, value) or a list of pairs."""
    if isinstance(rules, dict):
        return list(rules.items())
    if isinstance(rules, tuple) and len(rules) == 2 and not isinstance(rules[0], tuple):
        return [rules]
    if isinstance(rules, (list, tuple)) and all(isinstance(r, tuple) and len(r) == 2 for r in rules):
        return list(rules)
    raise LayerGraphError(f"{_wl(rules)} is not a rule or a list of rules; give a dict {{spec: value}} or pairs "
                          "(spec, value).", "General::rep")


def _replace_path(obj, path, value):
    head, rest = path[0], path[1:]
    if isinstance(obj, NetLayer):
        if rest:
            raise LayerGraphError(f"{_wl(list(path))} is not a part of {obj.head}.", "NetReplacePart::nopart")
        return obj.with_part(head, value)
    if isinstance(head, str) and head not in obj._nodes and not rest and (head in obj._input_names()
                                                                          or head in obj._output_names()):
        new = obj._copy()
        if isinstance(value, _Coder):
            check_sides("NetReplacePart", {head: value}, obj._input_names())
            new._coders[head] = value
            value = value.dims
        elif value is None and head in new._coders:
            del new._coders[head]   # "port" -> None removes the coder
            return new
        dims = port_spec(value, f"{obj.head} port \"{head}\"")
        if dims is None:
            new._port_specs.pop(head, None)
        else:
            new._port_specs[head] = dims
        return new
    name = obj._resolve_node(head)
    new = obj._copy()
    if rest:
        new._nodes[name] = _replace_path(obj._nodes[name], rest, value)
    else:
        replacement = _as_node(value, isinstance(obj, NetGraph))
        old = obj._nodes[name]
        if [p for p in _ports_in(replacement)] != [p for p in _ports_in(old)] or \
                list(_ports_out(replacement)) != list(_ports_out(old)):
            raise LayerGraphError(f"The replacement for layer \"{name}\" should have the ports of the layer it "
                                  "replaces.", "NetReplacePart::ports")
        new._nodes[name] = replacement
    return new


def _ports_in(node):
    return node.input_ports() if isinstance(node, NetLayer) else node._input_names()


def _ports_out(node):
    return node.output_ports() if isinstance(node, NetLayer) else node._output_names()


@checked
def NetReplacePart(net, rules):
    """``NetReplacePart(layer, {"Weights": w})``, ``NetReplacePart(net, {2: layer})``,
    ``NetReplacePart(net, {(2, "Biases"): b})``, ``NetReplacePart(net, {"Input": (3, 32, 32)})``;
    a single rule may be a pair ``(spec, value)``. The result is checked like a new net."""
    _require_net(net, "NetReplacePart", True)
    out = net
    for spec, value in _rules(rules):
        if isinstance(spec, NetArray):   # NetReplacePart[net, NetArray["name"] -> value]: every use of it
            out = shared.replace(out, spec, value)
            continue
        path = spec if isinstance(spec, tuple) else (spec,)
        out = _replace_path(out, path, value)
    if isinstance(out, _Container):
        out._cache = {}
        out.compile()
    return out


# -- chain operations -------------------------------------------------------------------------------
def _chain_nodes(net, fn):
    if not isinstance(net, NetChain):
        raise LayerGraphError(f"{fn} works on a NetChain here; got {type(net).__name__}.", f"{fn}::invnet")
    return list(net._nodes.items())


def _rebuild_chain(items, like: NetChain | None = None, keep_ports=("Input", "Output")):
    names = [n for n, _ in items]
    if not items:
        raise LayerGraphError("NetChain objects must contain at least one layer.", "General::netempty")
    numeric = all(n.isdigit() for n in names)
    layers = [node for _, node in items] if numeric else OrderedDict(items)
    specs = {}
    if like is not None:
        specs = {k: v for k, v in like._port_specs.items() if k in keep_ports}
    lrm = like._lrm if like is not None else None
    coders = {k: v for k, v in (like._coders if like is not None else {}).items() if k in keep_ports}
    chain = NetChain(layers, **{**specs, **coders})
    if lrm is not None:
        chain._lrm = lrm
        chain._cache = {}
    return chain


def _index(net, spec, fn):
    names = list(net._nodes)
    if spec is S.All:
        return len(names)
    name = net._resolve_node(spec)
    return names.index(name) + 1


@checked
def NetTake(net, spec):
    """``NetTake(chain, n)``: layers 1..n (n an index or name; negative counts from the end);
    ``NetTake(chain, (m, n))``: layers m..n. ``NetTake(graph, "name")``: the part of a graph
    that computes layer "name"."""
    _require_net(net, "NetTake")
    if isinstance(net, NetGraph):
        name = net._resolve_node(spec)
        keep = net._core_nesting().upstream(name) | {name}   # a nested net is one node
        nodes = OrderedDict((n, v) for n, v in net._nodes.items() if n in keep)
        new = net._copy()
        new._nodes = nodes
        new._edges = [(s, d) for s, d in net._edges if (s[0] == "$port" or s[0] in keep)
                      and (d[0] != "$port" and d[0] in keep)]
        new._port_specs = {k: v for k, v in net._port_specs.items() if k in net._input_names()}
        new._coders = {k: v for k, v in net._encoders.items() if k in new._port_specs}
        new._cache = {}
        new.compile()
        return new
    items = _chain_nodes(net, "NetTake")
    if isinstance(spec, tuple):
        start, end = (_index(net, s, "NetTake") for s in spec)
    else:
        start, end = 1, _index(net, spec, "NetTake")
    if start > end:
        raise LayerGraphError(f"NetTake: the span {_wl(list(spec))} is empty.", "NetTake::empty")
    keep_ports = ("Input",) if start == 1 else ()
    keep_ports += ("Output",) if end == len(items) else ()
    return _rebuild_chain(items[start - 1:end], net, keep_ports)


@checked
def NetDrop(net, spec):
    """``NetDrop(chain, n)``: without the first n layers (the last -n when n < 0);
    ``NetDrop(chain, (m, n))``: without layers m..n."""
    _require_net(net, "NetDrop")
    items = _chain_nodes(net, "NetDrop")
    k = len(items)
    if isinstance(spec, tuple):
        start, end = (_index(net, s, "NetDrop") for s in spec)
        kept = items[:start - 1] + items[end:]
        ports = (("Input",) if start > 1 else ()) + (("Output",) if end < k else ())
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if abs(spec) > k:
            raise LayerGraphError(f"NetDrop: cannot drop {abs(spec)} of {k} layers.", "NetDrop::take")
        kept = items[spec:] if spec >= 0 else items[:k + spec]
        ports = ("Output",) if spec >= 0 else ("Input",)
    else:
        raise LayerGraphError(f"NetDrop: {_wl(spec)} should be an integer n or a span (m, n).", "NetDrop::invspec")
    return _rebuild_chain(kept, net, ports)


def _new_items(layers, taken):
    if isinstance(layers, dict):
        items = [(k, _as_node(v, False)) for k, v in layers.items()]
    else:
        layers = layers if isinstance(layers, list) else [layers]
        start = len(taken) + 1
        items = [(str(start + i), _as_node(v, False)) for i, v in enumerate(layers)]
    for k, _ in items:
        if k in taken:
            raise LayerGraphError(f"The layer name \"{k}\" is already used in the net.", "NetChain::dupname")
    return items


def _renumber(items):
    """Digit names follow the position, as Wolfram's chains number their layers."""
    if all(n.isdigit() for n, _ in items):
        return [(str(i + 1), node) for i, (_, node) in enumerate(items)]
    return items


@checked
def NetAppend(net, layers):
    """``NetAppend(chain, layer)`` or a list or dict of layers, added at the end."""
    _require_net(net, "NetAppend")
    items = _chain_nodes(net, "NetAppend")
    return _rebuild_chain(_renumber(items + _new_items(layers, [n for n, _ in items])), net, ("Input",))


@checked
def NetPrepend(net, layers):
    """``NetPrepend(chain, layer)`` or a list or dict of layers, added at the start."""
    _require_net(net, "NetPrepend")
    items = _chain_nodes(net, "NetPrepend")
    new = _new_items(layers, [n for n, _ in items])
    if all(n.isdigit() for n, _ in items) and not isinstance(layers, dict):
        return _rebuild_chain([(str(i + 1), v) for i, (_, v) in enumerate(new + items)], net, ("Output",))
    return _rebuild_chain(new + items, net, ("Output",))


@checked
def NetInsert(net, layer, position):
    """``NetInsert(chain, layer, i)`` puts layer at position i; ``NetInsert(chain, ("name", layer), i)``
    names it."""
    _require_net(net, "NetInsert")
    items = _chain_nodes(net, "NetInsert")
    if isinstance(layer, tuple) and len(layer) == 2 and isinstance(layer[0], str):
        name, node = layer
    else:
        name, node = None, layer
    k = len(items)
    if not isinstance(position, (int, np.integer)) or isinstance(position, bool) or not 1 <= abs(position) <= k + 1:
        raise LayerGraphError(f"NetInsert: the position {_wl(position)} should be between 1 and {k + 1}.",
                              "NetInsert::pos")
    i = position - 1 if position > 0 else k + 1 + position
    node = _as_node(node, False)
    if name is None:
        name = f"$new{i}"
    if name in net._nodes:
        raise LayerGraphError(f"The layer name \"{name}\" is already used in the net.", "NetChain::dupname")
    new = items[:i] + [(name, node)] + items[i:]
    if all(n.isdigit() or n.startswith("$new") for n, _ in new):
        new = _renumber([(str(j), v) for j, (_, v) in enumerate(new)])
    return _rebuild_chain(new, net, ("Input", "Output"))


@checked
def NetDelete(net, spec):
    """``NetDelete(chain, n)``, ``NetDelete(chain, "name")`` or a list of them; in a graph, the
    deleted layers' edges go with them and ``NetDelete(graph, NetPort("out"))`` removes an output."""
    _require_net(net, "NetDelete")
    specs = spec if isinstance(spec, list) else [spec]
    if isinstance(net, NetGraph):
        new = net._copy()
        for s in specs:
            if isinstance(s, NetPort) and s.node is None:
                if s.port not in net._output_names():
                    raise LayerGraphError(f"NetDelete: NetPort[\"{s.port}\"] is not an output port of the net.",
                                          "NetDelete::invport")
                new._edges = [(a, b) for a, b in new._edges if b != ("$port", s.port)]
                new._coders.pop(s.port, None)
                ins, outs = net._interface()
                src = outs[s.port]
                # keep the layer's output from reappearing as a dangling port: mute it with a hidden port
                new._edges.append((src, ("$port", f"$muted:{s.port}")))
                continue
            name = new._resolve_node(s)
            del new._nodes[name]
            new._edges = [(a, b) for a, b in new._edges if a[0] != name and b[0] != name]
        new._cache = {}
        new.compile()
        return new
    items = _chain_nodes(net, "NetDelete")
    drop = {net._resolve_node(s) for s in specs}
    kept = [(n, v) for n, v in items if n not in drop]
    first, last = items[0][0], items[-1][0]
    ports = (("Input",) if first not in drop else ()) + (("Output",) if last not in drop else ())
    return _rebuild_chain(_renumber(kept) if all(n.isdigit() for n, _ in items) else kept, net, ports)


@checked
def NetJoin(*nets, **ports):
    """``NetJoin(chain1, chain2, ...)``: one chain, the output of each feeding the next;
    clashing layer names are renamed."""
    if len(nets) < 1:
        raise LayerGraphError("NetJoin needs at least one net.", "NetJoin::argx")
    items = []
    taken = set()
    for net in nets:
        _require_net(net, "NetJoin", True)
        net = net if isinstance(net, NetChain) else NetChain([net])
        for name, node in net._nodes.items():
            new_name = name
            if name.isdigit():
                new_name = str(len(items) + 1)
            k = 1
            while new_name in taken:
                k += 1
                new_name = f"{name}{k}"
            taken.add(new_name)
            items.append((new_name, node))
    out = _rebuild_chain(items)
    first, last = nets[0], nets[-1]
    specs = {}
    if isinstance(first, _Container) and "Input" in first._port_specs:
        specs["Input"] = first._coders.get("Input", first._port_specs["Input"])
    if isinstance(last, _Container) and "Output" in last._port_specs:
        specs["Output"] = last._port_specs["Output"]
    if isinstance(last, _Container) and "Output" in last._decoders:
        specs["Output"] = last._decoders["Output"]
    specs.update(ports)
    if specs:
        out = NetChain(Normal(out), **specs)
    return out


@checked
def NetFlatten(net):
    """Nested chains and graphs become one level; nested layer names are joined with "/"
    (UNCONFIRMED: Wolfram's naming). A chain stays a chain; a graph becomes a flat graph."""
    _require_net(net, "NetFlatten")
    from .operators import _Operator   # an operator is one node, as in Wolfram (it is not a NetChain / NetGraph)
    leaves, edges, inputs, outputs = net._expand(keep=(_Operator,))
    if isinstance(net, NetChain):
        return _rebuild_chain([("/".join(p), leaf) for p, leaf in leaves.items()], net)
    names = {p: "/".join(p) for p in leaves}
    new = NetGraph.__new__(NetGraph)
    _Container.__init__(new)
    new._nodes = OrderedDict((names[p], leaf) for p, leaf in leaves.items())
    new._edges = []
    for port, targets in inputs.items():
        for path, p, idx in targets:
            new._edges.append((("$port", port), (names[path], p, idx)))
    for (spath, sport), (dpath, dport, idx) in edges:
        new._edges.append(((names[spath], sport), (names[dpath], dport, idx)))
    for port, (spath, sport) in outputs.items():
        new._edges.append(((names[spath], sport), ("$port", port)))
    new._port_specs = dict(net._port_specs)
    new._coders = dict(net._coders)
    new._lrm = net._lrm
    new.compile()
    return new


@checked
def NetRename(net, rules):
    """``NetRename(net, {"old": "new"})`` renames layers; ``{NetPort("a"): NetPort("b")}`` renames
    a port of the net."""
    _require_net(net, "NetRename")
    new = net._copy()
    for old, name in _rules(rules):
        if isinstance(old, NetPort):
            if not isinstance(name, NetPort) or old.node is not None or name.node is not None:
                raise LayerGraphError("NetRename: rename a port with NetPort(\"old\") -> NetPort(\"new\").",
                                      "NetRename::invrule")
            if old.port not in net._input_names() and old.port not in net._output_names():
                raise LayerGraphError(f"NetRename: \"{old.port}\" is not a port of the net.", "NetRename::invport")
            if isinstance(new, NetChain):
                raise LayerGraphError("NetRename: the ports of a NetChain are \"Input\" and \"Output\"; make it a "
                                      "NetGraph to rename them.", "NetRename::invport")
            ins, outs = new._interface()
            edges = []
            if old.port in ins and not any(s == ("$port", old.port) for s, _ in new._edges):
                for dst in ins[old.port]:
                    edges.append((("$port", name.port), dst))
            if old.port in outs and not any(d == ("$port", old.port) for _, d in new._edges):
                edges.append((outs[old.port], ("$port", name.port)))
            new._edges = [((("$port", name.port) if s == ("$port", old.port) else s),
                           (("$port", name.port) if d == ("$port", old.port) else d)) for s, d in new._edges] + edges
            if old.port in new._port_specs:
                new._port_specs[name.port] = new._port_specs.pop(old.port)
            if old.port in new._coders:
                new._coders[name.port] = new._coders.pop(old.port)
        else:
            src = new._resolve_node(old)
            if not isinstance(name, str) or not name:
                raise LayerGraphError(f"NetRename: the new name {_wl(name)} should be a nonempty string.",
                                      "NetRename::invrule")
            if name in new._nodes and name != src:
                raise LayerGraphError(f"NetRename: the name \"{name}\" is already used in the net.", "NetRename::dup")
            new._nodes = OrderedDict(((name if k == src else k), v) for k, v in new._nodes.items())
            def ren(e, src=src, name=name):
                return (name,) + tuple(e[1:]) if e[0] == src else e
            new._edges = [(ren(s), ren(d)) for s, d in new._edges]
        new._cache = {}
    new.compile()
    return new


@checked
def NetInsertSharedArrays(net, prefix=None):
    """``NetInsertSharedArrays(net)``: every array of the net (not None, not auxiliary such as
    BatchNormalizationLayer's "MovingMean", not already shared) becomes a NetArray named after
    its position (``"1/Weights"``; ``"Weights"`` in a lone layer); ``NetInsertSharedArrays(net,
    "prefix")`` puts the prefix before each name. Copies of the result used in a larger net
    share their arrays."""
    return shared.insert(net, prefix)


__all__ = ["NetExtract", "NetReplacePart", "NetTake", "NetDrop", "NetAppend", "NetPrepend", "NetInsert",
           "NetDelete", "NetJoin", "NetFlatten", "NetRename", "Normal", "NetArray", "NetSharedArray",
           "NetInsertSharedArrays"]
