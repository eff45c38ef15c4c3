"""Wolfram symbols as Python objects: ``Automatic``, ``All``, ``Inherited``,
``Infinity``, ``Scaled(r)``, and the named functions that ElementwiseLayer,
ThreadingLayer and PoolingLayer take (``Ramp``, ``Tanh``, ``LogisticSigmoid``, ``Plus``,
``Max``, ``Mean``, ...). Wolfram's ``None`` is Python's ``None``."""
from __future__ import annotations

from ..core import registry


class Symbol:
    """A Wolfram symbol: prints as its name, compares by identity."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __reduce__(self):  # one object per name, also after copying
        return (_symbol, (self.name,))


_SYMBOLS: dict[str, Symbol] = {}


def _symbol(name: str) -> Symbol:
    if name not in _SYMBOLS:
        _SYMBOLS[name] = Symbol(name)
    return _SYMBOLS[name]


class Scaled:
    """``Scaled[r]``: a fraction, e.g. ``ValidationSet -> Scaled[0.1]``."""

    def __init__(self, r):
        self.r = float(r)

    def __repr__(self):
        return f"Scaled[{self.r:g}]"

    def __eq__(self, other):
        return isinstance(other, Scaled) and other.r == self.r

    __hash__ = None


class Span:
    """``Span(a, b)`` is Wolfram's ``a;;b`` (levels a through b; b may be All)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __repr__(self):
        return f"{self.a};;{self.b}"

    def __eq__(self, other):
        return isinstance(other, Span) and (self.a, self.b) == (other.a, other.b)

    __hash__ = None


Automatic = _symbol("Automatic")
All = _symbol("All")
Inherited = _symbol("Inherited")
Infinity = _symbol("Infinity")

# elementwise functions (ElementwiseLayer[f]): Ramp, Tanh and LogisticSigmoid run on the kernels of
# the registry rows that name them (core/registry.py, Entry.wolfram_symbol), as does the symbol of
# a row registered at run time; the others on the numpy table of kernels/cpu/elementwise.py
Ramp = _symbol("Ramp")
Tanh = _symbol("Tanh")
LogisticSigmoid = _symbol("LogisticSigmoid")
Exp = _symbol("Exp")
Log = _symbol("Log")
Sqrt = _symbol("Sqrt")
Sin = _symbol("Sin")
Cos = _symbol("Cos")
Abs = _symbol("Abs")
ArcTan = _symbol("ArcTan")
Erf = _symbol("Erf")
# functions of several arguments (ThreadingLayer[f]); Max also names max pooling
Plus = _symbol("Plus")
Subtract = _symbol("Subtract")
Times = _symbol("Times")
Divide = _symbol("Divide")
Power = _symbol("Power")
Max = _symbol("Max")
Min = _symbol("Min")
# pooling functions
Mean = _symbol("Mean")
Total = _symbol("Total")
# NetBidirectionalOperator's default aggregation (Mean and Total are the others)
Catenate = _symbol("Catenate")

NUMPY_SYMBOLS = (Exp, Log, Sqrt, Sin, Cos, Abs, ArcTan, Erf)
BINARY_SYMBOLS = (Plus, Subtract, Times, Divide, Power, Max, Min)


class _UnarySymbols:
    """The symbols ElementwiseLayer takes: those of the registry rows that name one
    (core/registry.py, Entry.wolfram_symbol), read from the registry at each use so that a row
    registered at run time counts, then the numpy table's."""

    def __iter__(self):
        for e in list(registry.REGISTRY):
            if e.wolfram_symbol:
                yield _symbol(e.wolfram_symbol)
        yield from NUMPY_SYMBOLS

    def __contains__(self, f):
        if not isinstance(f, Symbol):
            return False
        entry = registry.WOLFRAM_FUNCTIONS.get(f.name)
        return f in NUMPY_SYMBOLS or (entry is not None and entry.wolfram_symbol == f.name)

    def __repr__(self):
        return f"UNARY_SYMBOLS({', '.join(map(repr, self))})"


UNARY_SYMBOLS = _UnarySymbols()


def is_elementwise(f) -> bool:
    """Whether ElementwiseLayer takes the symbol f."""
    return f in UNARY_SYMBOLS


__all__ = ["Symbol", "Scaled", "Span", "Automatic", "All", "Inherited", "Infinity", "Ramp", "Tanh", "LogisticSigmoid",
           "Exp", "Log", "Sqrt", "Sin", "Cos", "Abs", "ArcTan", "Erf", "Plus", "Subtract", "Times", "Divide",
           "Power", "Max", "Min", "Mean", "Total", "Catenate"]

# The symbol of a row registered after import becomes a name of this module (and so of
# layergraph.wolfram, whose __getattr__ looks here) until the row is unregistered.
_ADDED: set[str] = set()


def _on_registry(entry, added):
    name = entry.wolfram_symbol
    if not name:
        return
    if added and name not in globals():
        globals()[name] = _symbol(name)
        __all__.append(name)
        _ADDED.add(name)
    elif not added and name in _ADDED:
        del globals()[name]
        __all__.remove(name)
        _ADDED.discard(name)


registry.subscribe(_on_registry)
