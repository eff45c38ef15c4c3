"""Wolfram array types <-> core sizes, and the type text of summaries and messages.

A Wolfram example of dimensions ``dims`` is the core's one-example size:

  a real             Size((), 1)          internal N x 1
  rank 1  {n}        Size((), n)          internal N x n
  rank 2  {m, n}     Size((n, 1), m)      internal N x m x n x 1  (channels m)
  rank 3  {c, h, w}  Size((h, w), c)      internal N x c x h x w

so a batch moves between Wolfram's layout (batch first, channels first) and the
internal one by a reshape, never a copy. Unknown dimensions are ``None``; an unknown
rank is ``None`` instead of a tuple.

A sequence of vectors of size d is ``("Varying", d)`` (Wolfram's {"Varying", d}; each example
a T x d matrix, time first), the core's ``Size((), d, time=VARYING)``, internal C x T per
example (wolfram/recurrent.py converts the data); its type prints ``matrix (size: n×d)``.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError, brief
from ..core.size import VARYING, Size
from . import symbols as S

VARYING_DIM = "Varying"   # the first dimension of a sequence's dims: its length varies

TIMES = "\u00d7"       # Wolfram writes 3x32x32 with the multiplication sign
DOTTED_SQUARE = "\u25fb"  # an unknown size


def is_varying(dims) -> bool:
    """Dims of a sequence whose length varies: ("Varying", d)."""
    return dims is not None and len(dims) >= 1 and isinstance(dims[0], str) and dims[0] == VARYING_DIM


def dims_to_size(dims: tuple[int, ...]) -> Size:
    if is_varying(dims):
        if len(dims) == 1:   # "Varying": a variable-length vector (of indices, for EmbeddingLayer)
            return Size((), 1, VARYING)
        if len(dims) != 2:
            raise LayerGraphError(f"Sequences of arrays of rank {len(dims) - 1} are not supported; ports take "
                                  "sequences of vectors {\"Varying\", d}.", "General::unsupported")
        return Size((), dims[1], VARYING)
    if len(dims) == 0:      # a real: one feature
        return Size((), 1)
    if len(dims) == 1:
        return Size((), dims[0])
    if len(dims) == 2:
        return Size((dims[1], 1), dims[0])
    if len(dims) == 3:
        return Size((dims[1], dims[2]), dims[0])
    raise LayerGraphError(f"Arrays of rank {len(dims)} are not supported; ports take vectors, matrices and "
                          "rank-3 arrays (channels x height x width).", "General::unsupported")


def size_to_dims(size: Size, rank: int) -> tuple[int, ...]:
    """The Wolfram dims of a core size, given the rank the Wolfram layer produces."""
    flat = (size.channels, *size.spatial)
    if size.is_sequence:
        length = VARYING_DIM if size.time == VARYING else size.time
        return (length,) if rank == 1 and size.channels == 1 else (length, size.channels)
    if rank == 0:
        return ()
    if rank == 1:
        if size.numel != size.channels:
            return (size.numel,)
        return (size.channels,)
    if rank == 2:
        return (size.channels, size.spatial[0] if size.spatial else 1)
    return flat


def internal_shape(dims) -> tuple[int, ...]:
    """One example's internal shape for Wolfram dims."""
    s = dims_to_size(tuple(dims))
    return (s.channels, *s.spatial)


def type_text(dims) -> str:
    """``vector (size: 10)``, ``matrix (size: 3×4)``, ``array (size: 16×32×32)``; ``array``
    when the rank is unknown; unknown sizes print as a dotted square."""
    if dims is None:
        return "array"
    if len(dims) == 0:
        return "real"
    parts = TIMES.join(DOTTED_SQUARE if d is None else ("n" if d == VARYING_DIM else str(d)) for d in dims)
    if len(dims) == 1:
        return f"vector (size: {parts})"
    if len(dims) == 2:
        return f"matrix (size: {parts})"
    return f"array (size: {parts})"


def phrase(dims) -> str:
    """Type phrases of messages: ``a length-5 vector``, ``a 3×4 matrix``, ``a 3×32×32 array``."""
    if dims is None:
        return "an array"
    if len(dims) == 0:
        return "a real"
    if is_varying(dims) and len(dims) == 1:
        return "a variable-length vector"
    if len(dims) == 1:
        return f"a length-{dims[0]} vector"
    if is_varying(dims):
        return f"a sequence of length-{dims[1]} vectors (an n{TIMES}{dims[1]} matrix)"
    if len(dims) == 2:
        return f"a {dims[0]}{TIMES}{dims[1]} matrix"
    return "a " + TIMES.join(map(str, dims)) + " array"


def wl_list(dims) -> str:
    """``{3, 32, 32}``: dims as Wolfram writes a list."""
    return "{" + ", ".join("Automatic" if d is None else (f'"{d}"' if isinstance(d, str) else str(d))
                           for d in dims) + "}"


def _wl(value) -> str:
    """A value as Wolfram writes it (for messages). Every module's messages use it, so it
    lives here, below the layers and the nets."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_wl(v) for v in value) + "}"
    if isinstance(value, np.ndarray):
        return f"<array {'x'.join(map(str, value.shape))}>"
    if isinstance(getattr(value, "head", None), str) and not isinstance(value, S.Symbol):
        return brief(value, str(value))   # a net or a layer: its printout when short, else its head
    if callable(value) and not isinstance(value, S.Symbol):
        return getattr(value, "__name__", "function")
    return brief(value, str(value))


def port_spec(value, what: str):
    """A port specification: "Real" (a scalar), an integer n (a vector), a tuple/list of
    dims, ``("Varying", d)`` (a sequence of length-d vectors) or ``None``/``Automatic``."""
    if value is None or value is S.Automatic:
        return None
    if isinstance(value, str):
        if value == "Real":
            return ()
        if value == VARYING_DIM:   # a variable-length vector
            return (VARYING_DIM,)
        raise LayerGraphError(f"{what}: {value!r} is not a valid port specification. Use an integer n, a list of "
                              "dimensions {n1, n2, ...} or Automatic.", "General::invspec")
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise LayerGraphError(f"{what}: {value!r} is not a valid port specification. Use an integer n, a list of "
                              "dimensions {n1, n2, ...} or Automatic.", "General::invspec") from None
    out = []
    for i, d in enumerate(dims):
        if i == 0 and isinstance(d, str) and d == VARYING_DIM:
            if len(dims) > 2:
                raise LayerGraphError(f"{what}: {value!r}: only sequences of vectors {{\"Varying\", d}} are "
                                      "supported.", "General::unsupported")
            out.append(VARYING_DIM)
        elif d is S.Automatic or d is None:
            out.append(None)
        elif isinstance(d, int) and not isinstance(d, bool) and d >= 1:
            out.append(int(d))
        else:
            raise LayerGraphError(f"{what}: {value!r} is not a valid port specification; dimensions must be "
                                  "positive integers or Automatic.", "General::invspec")
    if len(out) > 3:
        raise LayerGraphError(f"{what}: arrays of rank {len(out)} are not supported; ports take vectors, matrices "
                              "and rank-3 arrays.", "General::unsupported")
    return tuple(out)


def known(dims) -> bool:
    return dims is not None and all(d is not None for d in dims)
