"""MATLAB-named layer constructors: ``convolution2dLayer(3, 16, 'Padding', 1)`` and
``convolution2dLayer(3, 16, Padding=1)`` build the same layer.

Every constructor is made from its registry row (core/registry.py: name, positional
arguments, argument hook, documentation title), here and for rows registered later.
"""
from __future__ import annotations

import inspect

from ..core import registry
from ..core.errors import LayerGraphError
from ..layers._common import padding_args
from .args import parse
from .limits import check_matlab_limits, matlab_limits


def _padding(props):
    if "Padding" in props:
        props["PaddingMode"], props["PaddingSize"] = padding_args(props.pop("Padding"))
    return props


def _cropping(props):
    if "Cropping" in props:
        props["CroppingMode"], props["CroppingSize"] = padding_args(props.pop("Cropping"), "Cropping")
    return props


def _num_inputs(props):
    if "NumInputs" in props:
        props["num_inputs"] = props.pop("NumInputs")
    return props


class _Hook:
    """A MATLAB argument that is not a property: ``extra`` (name, default) stands for the
    properties ``exclude``; ``translate`` maps the parsed arguments onto them; ``renamed`` maps
    an internal field that ``translate`` fills to the MATLAB argument it came from, so that an
    error names the argument the user typed."""

    def __init__(self, exclude, extra, translate, renamed=None):
        self.exclude, self.extra, self.translate, self.renamed = exclude, extra, translate, renamed or {}


HOOKS = {
    "padding": _Hook(("PaddingMode", "PaddingSize"), ("Padding", 0), _padding),
    "cropping": _Hook(("CroppingMode", "CroppingSize"), ("Cropping", 0), _cropping),
    "num_inputs": _Hook((), ("NumInputs", 2), _num_inputs, {"num_inputs": "NumInputs"}),
}


def _default(cls, name, hook):
    if hook is not None and name == hook.extra[0]:
        return hook.extra[1]
    field = cls.model_fields[name]
    return inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)


def make_constructor(entry: registry.Entry):
    """The constructor that a registry row describes."""
    function, cls = entry.matlab, entry.layer
    positional, required = entry.positional, entry.required
    hook = HOOKS[entry.hook] if entry.hook else None
    exclude = set(entry.hidden) | set(hook.exclude if hook else ())
    names = [n for n in cls.model_fields if n not in exclude and not n.islower()]
    if hook is not None and hook.extra[0] not in names:
        names.append(hook.extra[0])

    def constructor(*args, **kwargs):
        props = parse(function, args, kwargs, positional, required, names)
        if hook is not None:
            props = hook.translate(props)
        try:
            check_matlab_limits(cls, props)
            return matlab_limits(cls(**props))
        except LayerGraphError as exc:
            if hook is None or not hook.renamed:
                raise
            text = str(exc)
            for internal, public in hook.renamed.items():
                text = text.replace(f"'{internal}'", f"'{public}'").replace(f"Expected {internal} ",
                                                                              f"Expected {public} ")
            raise LayerGraphError(text, exc.identifier) from None

    P = inspect.Parameter
    params = [P(n, P.POSITIONAL_ONLY) for n in positional[:required]]
    params += [P(n, P.POSITIONAL_OR_KEYWORD, default=_default(cls, n, hook)) for n in positional[required:]]
    params.append(P("name_value", P.VAR_POSITIONAL))
    params += [P(n, P.KEYWORD_ONLY, default=_default(cls, n, hook)) for n in names if n not in positional]
    constructor.__signature__ = inspect.Signature(params)
    constructor.__name__ = constructor.__qualname__ = function
    call = ", ".join([p[0].lower() + p[1:] for p in positional[:required]] + ["Name=Value"])
    options = ", ".join(n for n in names if n not in positional[:required])
    constructor.__doc__ = (
        f"{function}({call}): {entry.doc or function} (MATLAB's {function}). Returns a {cls.class_name}.\n\n"
        f"Positional arguments, in MATLAB's order: {', '.join(positional) or 'none'}"
        f"{_required(positional, required)}.\n"
        f"Name-value arguments, as 'Name', value pairs or Name=value keywords (names are case-insensitive and "
        f"may be abbreviated to a unique prefix, as in MATLAB's inputParser): {options}.")
    constructor.layer_class = cls
    constructor.parameter_names = tuple(names)
    return constructor


def _required(positional, required):
    if not required:
        return " (optional)" if positional else ""
    return " (required)" if required == len(positional) else f" (the first {required} required)"


CONSTRUCTORS: dict = {}


def _on_registry(entry, added):
    # a row registered after import gets its constructor here and as a module attribute
    if not entry.matlab:
        return
    if added:
        CONSTRUCTORS[entry.matlab] = globals()[entry.matlab] = make_constructor(entry)
    else:
        CONSTRUCTORS.pop(entry.matlab, None)
        globals().pop(entry.matlab, None)


for _entry in registry.REGISTRY:
    _on_registry(_entry, True)
registry.subscribe(_on_registry)
del _entry

__all__ = list(CONSTRUCTORS) + ["LayerGraphError"]
