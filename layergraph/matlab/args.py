"""MATLAB's input parser: positional arguments, then 'Name', value pairs (names
case-insensitive, unique prefixes accepted) or Name=value keywords."""
from __future__ import annotations

from ..core.errors import LayerGraphError, brief


def match_name(given: str, names: list[str], function: str) -> str:
    """Resolve a parameter name as inputParser does: exact (case-insensitive)
    match first, then a unique prefix."""
    low = given.lower()
    for n in names:
        if n.lower() == low:
            return n
    hits = [n for n in names if n.lower().startswith(low)] if low else []
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise LayerGraphError(
            f"'{given}' matches multiple parameter names: {', '.join(repr(h) for h in hits)}. To avoid "
            "ambiguity, specify the complete name of the parameter.",
            "MATLAB:InputParser:AmbiguousParamName")
    raise LayerGraphError(
        f"'{given}' is not a recognized parameter. For a list of valid name-value pair arguments, see the "
        f"documentation for this function. Valid names for {function}: {', '.join(names)}.",
        "MATLAB:InputParser:UnmatchedParameter")


def parse(function: str, args: tuple, kwargs: dict, positional: tuple[str, ...], required: int,
          names: list[str]) -> dict:
    """Return {property: value}. ``positional`` names the positional arguments in
    order (the first ``required`` of them must be given)."""
    values = {}
    i = 0
    while i < len(args) and i < len(positional):
        a = args[i]
        if isinstance(a, str) and _is_param(a, names):
            break
        # An optional positional followed by name-value pairs leaves an odd count; with an
        # even count a string here starts the pairs (leakyReluLayer('BatchSize', 1) is an
        # unknown name, not a Scale of 'BatchSize'), as inputParser does when an optional
        # argument's validator rejects the string. Required positionals still take strings.
        if isinstance(a, str) and i >= required and (len(args) - i) % 2 == 0:
            break
        values[positional[i]] = a
        i += 1
    if i < required:
        missing = ", ".join(positional[i:required])
        raise LayerGraphError(f"Not enough input arguments. {function} requires {missing}.",
                              "MATLAB:minrhs")
    rest = args[i:]
    if len(rest) % 2:
        last = rest[-1]
        if not isinstance(last, str):
            raise LayerGraphError(f"Too many input arguments to {function}: {brief(last)} is not a parameter name.",
                                  "MATLAB:TooManyInputs")
        raise LayerGraphError(f"No value given for the name-value argument '{last}' of {function}. "
                              "Name-value arguments must come in pairs.", "MATLAB:InputParser:ParamMissingValue")
    for name, value in zip(rest[::2], rest[1::2]):
        if not isinstance(name, str):
            raise LayerGraphError(f"Expected a parameter name for {function}, but found {name!r}. Parameter "
                                  "names must be character vectors or strings.", "MATLAB:InputParser:ParamMustBeChar")
        values[match_name(name, names, function)] = value
    for name, value in kwargs.items():
        values[match_name(name, names, function)] = value
    return values


def _is_param(text: str, names: list[str]) -> bool:
    low = text.lower()
    return any(n.lower().startswith(low) for n in names) and bool(low)
