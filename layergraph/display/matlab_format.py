"""Numbers and values formatted the way MATLAB prints them (``format short``).

MATLAB prints ``0.1000``, ``1.0000e-05``, ``10``, ``Inf``, ``[1 1]``, ``'auto'``,
``[]`` and ``[1x1x16 single]`` in property displays, and ``int2str`` vectors such
as ``[1  1]`` (two spaces) in layer descriptions.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np

SIZE_SEPARATOR = "x"  # the R2017b-R2021b era that the seed printouts come from


def format_scalar(x) -> str:
    """One number as MATLAB's ``format short`` shows it."""
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == int(x) and abs(x) < 1e9:
        return str(int(x))
    # 0.0050 is fixed-point but 0.001 prints as 1.0000e-03 (TrainingOptionsADAM's
    # InitialLearnRate in MathWorks' own display), so the lower bound is exclusive
    if 1e-3 < abs(x) < 1e3:
        return f"{x:.4f}"
    mantissa, exponent = f"{x:.4e}".split("e")
    return f"{mantissa}e{int(exponent):+03d}"


def format_size(dims) -> str:
    return SIZE_SEPARATOR.join(str(int(d)) for d in dims)


def _round_half_away(v: float) -> float:
    """MATLAB's ``round``: halves go away from zero (Python's ``round`` goes to even)."""
    return math.copysign(math.floor(abs(v) + 0.5), v) + 0.0  # + 0.0 drops a negative zero


def int2str(values) -> str:
    """MATLAB's ``int2str`` of a row vector inside brackets: ``[1  1]``, ``[0   0  10  10]``.

    As in MathWorks' int2str.m: every element is right-aligned in a field of
    ``floor(log10(max|x|)) + 3`` characters (3 when all are zero; Inf and NaN count
    as 314), then the leading blanks are trimmed. Elements of equal width are thus
    two spaces apart."""
    xs = [_round_half_away(float(v)) if math.isfinite(float(v)) else float(v) for v in values]
    widths = [314.0 if not math.isfinite(v) else abs(v) for v in xs]
    biggest = max(widths, default=0.0)
    width = 3 if biggest == 0 else math.floor(math.log10(biggest)) + 3
    text = "".join(_int_text(v).rjust(width) for v in xs)
    return "[" + text.strip() + "]"


def _int_text(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return str(int(v))


def format_value(value) -> str:
    """A property value as MATLAB's object display shows it."""
    if value is None:
        return "[]"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Callable) and not isinstance(value, np.ndarray):
        name = getattr(value, "__name__", None) or type(value).__name__
        return f"@{name}" if name != "<lambda>" else f"@({_arguments(value)})..."
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return "{" + "  ".join(f"'{v}'" for v in value) + "}"
    if isinstance(value, (list, tuple)) and not value:
        return "{}" if isinstance(value, list) else "[]"
    arr = np.asarray(value)
    if arr.size == 0:
        return "[]"
    if arr.ndim == 0:
        return format_scalar(arr.item())
    if arr.ndim == 1 and arr.size <= 8 and arr.dtype.kind in "biuf":
        return "[" + " ".join(format_scalar(v) for v in arr) + "]"
    kind = {"float32": "single", "float64": "double", "bool": "logical"}.get(
        arr.dtype.name, {"U": "string", "S": "char", "O": "cell"}.get(arr.dtype.kind, arr.dtype.name))
    dims = arr.shape if arr.ndim > 1 else (arr.shape[0], 1)
    return f"[{format_size(dims)} {kind}]"


def _arguments(fn) -> str:
    """An anonymous function's argument names, as MATLAB shows ``@(info)...``."""
    try:
        return ",".join(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return "varargin"
