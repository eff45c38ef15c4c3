"""A small column table printed as MATLAB prints tables (Connections, Learnables), and MATLAB's struct."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..display.matlab_format import format_size


def _cell(value) -> str:
    if isinstance(value, str):
        return f"{{'{value}'}}"
    if type(value).__name__ == "dlarray":   # matlab/dlarray.py (a Learnables or gradients table)
        return f"{{{format_size(value.shape)} dlarray}}"
    if isinstance(value, np.ndarray):
        kind = value.dtype.name.replace("float32", "single").replace("float64", "double")
        return f"{{{format_size(value.shape if value.ndim > 1 else (value.shape[0], 1))} {kind}}}"
    if isinstance(value, (float, np.floating)):   # format short g, as a table shows a double
        return f"{float(value):.5g}"
    return str(value)


_ROW_TYPES: dict[tuple[str, ...], type] = {}   # one row class per column set (namedtuple() is slow)


def _row_type(columns: tuple[str, ...]) -> type:
    row = _ROW_TYPES.get(columns)
    if row is None:
        row = _ROW_TYPES[columns] = namedtuple("Row", columns)
    return row


class Table:
    """Rows of named columns; ``t.Source`` gives a column, ``t[i]`` a row."""

    def __init__(self, columns: tuple[str, ...], rows=()):
        self._columns = tuple(columns)
        self._row = _row_type(self._columns)
        self._rows = [self._row(*r) for r in rows]

    @property
    def columns(self):
        return self._columns

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._columns:
            i = self._columns.index(name)
            return [r[i] for r in self._rows]
        raise AttributeError(f"Unrecognized table variable name '{name}'. Variables: {', '.join(self._columns)}.")

    def __len__(self):
        return len(self._rows)

    def __iter__(self):
        return iter(self._rows)

    def __getitem__(self, i):
        return self._rows[i]

    def __eq__(self, other):
        return isinstance(other, Table) and self._columns == other._columns and \
            [tuple(map(str, r)) for r in self._rows] == [tuple(map(str, r)) for r in other._rows]

    def __str__(self):
        cells = [[_cell(v) for v in r] for r in self._rows]
        widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(self._columns)]
        out = [f"  {len(self._rows)}x{len(self._columns)} table", ""]
        out.append("    " + "    ".join(c.center(w) for c, w in zip(self._columns, widths)).rstrip())
        out.append("    " + "    ".join("_" * w for w in widths))
        out.append("")
        for row in cells:
            out.append("    " + "    ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        return "\n".join(out) + "\n"

    __repr__ = __str__


class Struct(dict):
    """A MATLAB struct: fields by attribute (info.TrainingLoss) or by key."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"Reference to non-existent field '{name}'.") from None

    def __repr__(self):
        width = max(map(len, self), default=0) + 4
        lines = []
        for k, v in self.items():
            if isinstance(v, np.ndarray) and v.size > 1:
                shown = f"[1x{v.size} double]"
            elif v is None or (isinstance(v, np.ndarray) and v.size == 0):
                shown = "[]"
            elif isinstance(v, float):
                from ..display.matlab_format import format_scalar
                shown = format_scalar(v)
            else:
                shown = repr(v) if not isinstance(v, str) else f"'{v}'"
            lines.append(f"{k.rjust(width)}: {shown}")
        return "\n".join(lines) + "\n"
