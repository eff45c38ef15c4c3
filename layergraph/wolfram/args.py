"""Argument checking in Wolfram's words: a wrong number of arguments or an unknown option
is a LayerGraphError (``Head::argx``, ``Head::optx``), not Python's TypeError."""
from __future__ import annotations

import functools
import inspect

from ..core.errors import LayerGraphError


def _check(head: str, sig: inspect.Signature, args, kwargs, skip_self: bool):
    try:
        sig.bind(*(((None,) if skip_self else ()) + tuple(args)), **kwargs)
    except TypeError:
        params = [p for p in sig.parameters.values() if p.name != "self"]
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                      and p.default is p.empty]
        optional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and p.default is not p.empty]
        names = {p.name for p in params}
        accepts_any = any(p.kind == p.VAR_KEYWORD for p in params)
        unknown = [k for k in kwargs if k not in names] if not accepts_any else []
        if unknown:
            options = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
            raise LayerGraphError(f"{unknown[0]} is not a known option for {head}. Options: "
                                  f"{', '.join(options) or 'none'}.", f"{head}::optx") from None
        most = len(positional) + len(optional)
        want = f"{len(positional)}" if not optional else f"between {len(positional)} and {most}"
        raise LayerGraphError(f"{head} called with {len(args)} positional argument{'s' * (len(args) != 1)}; "
                              f"{want} expected.", f"{head}::argrx") from None


def checked(func):
    """Wrap a function so that a call that does not fit its signature says so in Wolfram's words."""
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check(func.__name__, sig, args, kwargs, False)
        return func(*args, **kwargs)
    return wrapper


def checked_init(cls):
    """The same for a class's constructor (the class name is the head)."""
    init = cls.__init__
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if type(self) is cls:
            _check(cls.__name__, sig, args, kwargs, True)
        init(self, *args, **kwargs)
    cls.__init__ = __init__
    return cls


def same(value, option) -> bool:
    """``value`` is the option: the same object, or an equal str / int of the same type
    (never an elementwise array comparison)."""
    if value is option:
        return True
    if isinstance(option, (str, int)) and type(value) is type(option):
        return value == option
    return False


def one_of(value, *options) -> bool:
    return any(same(value, o) for o in options)
