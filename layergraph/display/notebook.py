"""Rich output in Jupyter and other IPython front ends, for the objects of both dialects.

A notebook asks an object for ``_repr_mimebundle_`` before anything else. The bundle holds
the plain-text printout (``repr``: MATLAB's or Wolfram's, as a REPL shows it) and an HTML
rendering of the object's ``__rich__`` renderable through rich's own HTML export, or that
printout in a ``<pre>`` block where there is no renderable. IPython is not needed to build it.
"""
from __future__ import annotations

import html
import io

# Rich's width for a console in a notebook (rich.console.JUPYTER_DEFAULT_COLUMNS).
HTML_WIDTH = 115

# The <pre> block rich itself writes into notebooks (rich.jupyter); {code} is the styled text.
_PRE = ('<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
        "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>")


def repr_mimebundle(obj, include=None, exclude=None) -> dict[str, str]:
    """``{"text/plain": ..., "text/html": ...}`` for ``obj``, limited to IPython's include/exclude.

    Written to be a method: a class takes it with one line in its body,
    ``from ..display.notebook import repr_mimebundle as _repr_mimebundle_``.
    """
    def wanted(mime):
        return (include is None or mime in include) and (exclude is None or mime not in exclude)

    bundle = {}
    if wanted("text/plain"):
        bundle["text/plain"] = repr(obj)
    if wanted("text/html"):
        bundle["text/html"] = rich_html(obj)
    return bundle


def rich_html(obj) -> str:
    """``obj.__rich__()`` as an HTML fragment with inline styles; ``repr(obj)`` escaped otherwise."""
    rich_method = getattr(obj, "__rich__", None)
    if rich_method is None:
        return _PRE.format(code=html.escape(repr(obj)))
    from rich.console import Console
    console = Console(record=True, file=io.StringIO(), width=HTML_WIDTH, color_system="truecolor",
                      force_terminal=True, force_jupyter=False)
    console.print(rich_method())
    return console.export_html(inline_styles=True, code_format=_PRE)

