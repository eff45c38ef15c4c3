"""Printouts in the style of Wolfram's summary boxes, as plain text (``repr``) and as rich
renderables.

A net: ``Input port: <type>``, ``Output port: <type>`` (``Number of inputs: k`` when there
are several), ``Number of layers: n``, then the expanded view: one row per layer (name,
layer symbol, output type) between the Input and Output rows. A layer: the sections
Parameters, Arrays and Ports. Uninitialized nets and arrays are marked "uninitialized"
(red in the rich view). Types read ``vector (size: 10)``, ``array (size: 16×32×32)``;
an unknown size is a dotted square.

Pure formatting: this module imports neither the layers nor the nets (both print through
it). What it needs of them it asks the object: a layer's sized ports through
``layer.lone_leaf()``, a net's through ``net.compile()``.
"""
from __future__ import annotations

from . import symbols as S
from .types import type_text

UNINIT = "uninitialized"


def _value_text(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, tuple):
        if all(isinstance(x, tuple) for x in v):
            return "{" + ", ".join(_value_text(x) for x in v) + "}"
        return "{" + ", ".join(_value_text(x) for x in v) + "}"
    if isinstance(v, str):
        return v if v in ("same",) else f"\"{v}\"" if not v[:1].isupper() else v
    if isinstance(v, float):
        return f"{v:g}"
    if callable(v) and not isinstance(v, S.Symbol):
        return getattr(v, "__name__", "Function")
    return str(v)


def _param_rows(layer):
    rows = []
    for k, v in layer.params.items():
        if k == "PaddingSize" and isinstance(v, tuple) and len(v) == 4:
            t, b, left, r = v
            v = (t, left) if (t, left) == (b, r) else ((t, b), (left, r))
        if k == "PaddingSize" and v == "same":
            v = "Same"
        rows.append((k, _value_text(v)))
    return rows


def _layer_ports(layer):
    in_dims = layer.input_spec
    out_dims = None
    if in_dims is not None and not layer.multiport:
        try:
            info = layer.lone_leaf()
            if info.in_dims:
                in_dims = info.in_dims[0]
            out_dims = info.out_dims
        except Exception:  # noqa: BLE001 -- a display never fails; the error shows on use
            out_dims = None
    if out_dims is None and layer.output_spec is not None:
        out_dims = layer.output_spec
    return in_dims, out_dims


def layer_sections(layer):
    """[(section, [(key, value, uninitialized?)])] for a layer."""
    in_dims, out_dims = _layer_ports(layer)
    array_dims = {}
    if in_dims is not None and all(d is not None for d in in_dims) and not layer.multiport:
        try:
            info = layer.lone_leaf()
            array_dims = layer.array_dims(info.in_dims) if info.in_dims else {}
        except Exception:  # noqa: BLE001
            array_dims = {}
    arrays = []
    for name in layer.array_names:
        if name in layer.disabled:
            arrays.append((name, "None", False))
            continue
        value = layer.arrays.get(name)
        shared = getattr(layer, "shared", {}).get(name)
        note = f"  (shared as {shared})" if shared is not None else ""
        if value is not None:
            arrays.append((name, type_text(value.shape) + note, False))
        else:
            dims = array_dims.get(name)
            arrays.append((name, (type_text(dims) if dims is not None else "array") + note, True))
    ports = [("Input", type_text(in_dims) if not layer.multiport else "list of arrays", False),
             ("Output", type_text(out_dims), False)]
    sections = [("Parameters", [(k, v, False) for k, v in _param_rows(layer)])]
    if arrays:
        sections.append(("Arrays", arrays))
    sections.append(("Ports", ports))
    states = getattr(layer, "state_ports", None)   # a recurrent layer's "State" (and "CellState"): vectors of size n
    if states is not None:
        n = layer.params.get("OutputSize")
        sections.append(("States", [(p, type_text((n,)), False) for p in states()]))
    return [(title, rows) for title, rows in sections if rows]


def layer_text(layer) -> str:
    head = layer.head + ("  (uninitialized)" if layer.array_names and not layer.initialized else "")
    lines = [head]
    for title, rows in layer_sections(layer):
        lines.append(f"  {title}")
        width = max(len(k) for k, _, _ in rows) + 1
        for k, v, missing in rows:
            lines.append(f"    {(k + ':').ljust(width)} {v}" + (f"  ({UNINIT})" if missing else ""))
    return "\n".join(lines)


def net_summary(net):
    """Collapsed rows: (key, value)."""
    c = net.compile()
    rows = []
    ins, outs = list(c.in_dims), list(c.out_dims)
    if len(ins) == 1:
        rows.append((f"{ins[0]} port", port_type(net, c, ins[0])))
    else:
        rows.append(("Number of inputs", str(len(ins))))
    if len(outs) == 1:
        rows.append((f"{outs[0]} port", port_type(net, c, outs[0])))
    else:
        rows.append(("Number of outputs", str(len(outs))))
    rows.append(("Number of layers", str(len(net._nodes))))
    return rows


def port_type(net, c, port):
    """A port's type; a port with a coder reads the coder's kind (``image``, ``class``)."""
    if port in net._coders:
        return net._coders[port].type_text
    return type_text(c.in_dims[port] if port in c.in_dims else c.out_dims[port])


def node_out_type(net, c, name):
    """The output type of a top-level node (a layer or a nested net)."""
    node = net._nodes[name]
    if not hasattr(node, "_nodes"):   # a layer (a net has nodes)
        info = c.leaves.get((name,))
        return type_text(info.out_dims if info else None)
    leaves, edges, inputs, outs = node._expand((name,))
    types = []
    for port, (path, _) in outs.items():
        info = c.leaves.get(path)
        types.append(type_text(info.out_dims if info else None))
    return types[0] if len(types) == 1 else "; ".join(types)


def net_rows(net):
    """Expanded rows: (name, symbol, type, uninitialized?)."""
    c = net.compile()
    rows = []
    for port, d in c.in_dims.items():   # an encoder's kind, with the array it makes below it
        rows.append(("", port, port_type(net, c, port), False))
        if port in net._coders:
            rows.append(("", "", type_text(d), False))
    for name, node in net._nodes.items():
        symbol = node.head
        rows.append((name, symbol, node_out_type(net, c, name), not node.initialized))
    rows += [("", port, port_type(net, c, port), False) for port in c.out_dims]
    return rows


def _graph_edges(net):
    out = []
    for src, dst in net._edges:
        if dst[0] == "$port" and dst[1].startswith("$muted"):
            out.append((_end(src), "None"))
            continue
        out.append((_end(src), _end(dst)))
    return out


def _end(ref):
    if ref[0] == "$port":
        return f"NetPort[\"{ref[1]}\"]"
    return f"\"{ref[0]}\"" if ref[1] in ("Input", "Output") else f"NetPort[{{\"{ref[0]}\", \"{ref[1]}\"}}]"


def net_text(net) -> str:
    head = net.head + ("  (uninitialized)" if not net.initialized else "")
    lines = [head]
    summary = net_summary(net)
    width = max(len(k) for k, _ in summary) + 1
    lines += [f"  {(k + ':').ljust(width)} {v}" for k, v in summary]
    rows = net_rows(net)
    lines.append("")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for name, symbol, typ, missing in rows:
        lines.append(f"  {name.rjust(w0)}  {symbol.ljust(w1)}  {typ}" + (f"  ({UNINIT})" if missing else ""))
    if net.head == "NetGraph":   # a graph lists its edges; a chain's are its order
        lines.append("")
        lines.append("  Edges:")
        for a, b in _graph_edges(net):
            lines.append(f"    {a} -> {b}")
    return "\n".join(lines)


def layer_renderable(layer):
    from rich.table import Table
    from rich.text import Text
    title = Text(layer.head)
    if layer.array_names and not layer.initialized:
        title.append(f"  {UNINIT}", style="bold red")
    table = Table(title=title, show_header=False, box=None, pad_edge=False, min_width=len(layer.head) + 16)
    table.add_column(justify="right", style="bold")
    table.add_column()
    for section, rows in layer_sections(layer):
        table.add_row(Text(section, style="italic cyan"), "")
        for k, v, missing in rows:
            table.add_row(Text(k, style="dark_red" if missing else ""), v)
    return table


def net_renderable(net):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    title = Text(net.head)
    if not net.initialized:
        title.append(f"  {UNINIT}", style="bold red")
    summary = Table(title=title, show_header=False, box=None, pad_edge=False)
    summary.add_column(justify="right", style="bold")
    summary.add_column()
    for k, v in net_summary(net):
        summary.add_row(f"{k}:", v)
    grid = Table(show_header=False)
    grid.add_column(style="dim", justify="right")
    grid.add_column()
    grid.add_column()
    for name, symbol, typ, missing in net_rows(net):
        grid.add_row(name, Text(symbol, style="red" if missing else ""), typ)
    return Group(summary, grid)


__all__ = ["layer_text", "net_text", "layer_renderable", "net_renderable"]
