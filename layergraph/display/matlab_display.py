"""MATLAB's plain-text displays: one layer's properties and a layer array."""
from __future__ import annotations

from .matlab_format import format_value


def _line(name: str, value, width: int) -> str:
    return f"{name.rjust(width)}: {format_value(value)}"


def layer_display(layer) -> str:
    """``  BatchNormalizationLayer with properties:`` then the property groups."""
    groups = layer.property_groups()
    width = 4 + max(len(n) for _, names in groups for n in names)
    out = [f"  {layer.class_name} with properties:", ""]
    for title, names in groups:
        if title:
            out.append(f"   {title}")
        out.extend(_line(n, getattr(layer, n), width) for n in names)
        out.append("")
    out.append("  Show all properties")
    return "\n".join(out) + "\n"


def all_properties_display(layer) -> str:
    names = layer.properties()
    width = 4 + max(len(n) for n in names)
    out = [f"  {layer.class_name} with properties:", ""]
    out.extend(_line(n, getattr(layer, n), width) for n in names)
    return "\n".join(out) + "\n"


def layer_array_rows(layers) -> list[tuple[int, str, str, str]]:
    return [(i + 1, f"'{layer.Name}'", layer.Type, layer.description()) for i, layer in enumerate(layers)]


def layer_array_display(layers) -> str:
    """MATLAB's ``11x1 Layer array with layers:`` display, character for character:
    ``fprintf('    %2i   %-*s   %-*s   %s\\n', ...)`` after a header and a blank line."""
    n = len(layers)
    if n == 0:
        return "  0x0 empty Layer array.\n"
    rows = layer_array_rows(layers)
    name_w = max(len(r[1]) for r in rows)
    type_w = max(len(r[2]) for r in rows)
    out = [f"  {n}x1 Layer array with layers:", ""]
    out.extend(f"    {i:2d}   {name.ljust(name_w)}   {typ.ljust(type_w)}   {desc}" for i, name, typ, desc in rows)
    return "\n".join(out) + "\n"
