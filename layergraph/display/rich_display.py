"""Rich renderables for the same views as the plain-text displays."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .matlab_display import layer_array_rows
from .matlab_format import format_value


def layer_renderable(layer):
    heading = f"{layer.class_name} with properties"
    # at least as wide as its title: a layer with only a Name would wrap the title otherwise
    table = Table(title=heading, show_header=False, box=None, pad_edge=False, min_width=len(heading))
    table.add_column(justify="right", style="bold")
    table.add_column()
    for title, names in layer.property_groups():
        if title:
            table.add_row(Text(title, style="italic cyan"), "")
        for n in names:
            table.add_row(n, format_value(getattr(layer, n)))
    return table


def layer_array_renderable(layers):
    table = Table(title=f"{len(layers)}x1 Layer array with layers")
    for col, justify in (("#", "right"), ("Name", "left"), ("Type", "left"), ("Description", "left")):
        table.add_column(col, justify=justify)
    for i, name, typ, desc in layer_array_rows(layers):
        table.add_row(str(i), name, typ, desc)
    return table


def report_renderable(report):
    """analyzeNetwork's table: layer and type, activations, learnables, states, then the issues."""
    table = Table(title="Network analysis")
    # as MATLAB's analyzer: the layer's Type under its Name
    for col in ("#", "Name / Type", "Activations", "Learnables", "States"):
        table.add_column(col, no_wrap=col != "States", min_width=len(col) if col != "States" else None)
    for row in report.LayerInfo:
        name = Text(row.Name)
        name.append("\n" + row.Type, style="dim")
        table.add_row(str(row.Index), name, row.activations_text(), row.learnables_text("\n"),
                      row.states_text("\n"))
    parts = [table, Text(f"Total learnables: {report.TotalLearnables}")]
    if report.Issues:
        issues = Table(title="Issues", style="red")
        for col in ("Severity", "Layer", "Port", "Message"):
            issues.add_column(col)
        for issue in report.Issues:
            issues.add_row(issue.Severity, issue.LayerName, issue.Port, issue.Message)
        parts.append(issues)
    return Group(*parts)
