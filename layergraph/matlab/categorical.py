"""A small categorical array, MATLAB's ``categorical`` for class labels.

``categorical(values)`` takes strings or integers; the categories are the sorted
unique values (numbers sorted as numbers, then shown as text, as MATLAB's
categorical(double) does). ``categorical(values, categories)`` fixes them and their
order; a value outside them is an error here (MATLAB would make it <undefined>,
which training could not use anyway), and so is a missing value ('', None or NaN,
which MATLAB's categorical also makes <undefined>): it never becomes a class.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError


def _text(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return isinstance(v, (str, np.str_)) and v == ""


class Categorical:
    def __init__(self, values, categories=None):
        if isinstance(values, Categorical):
            values = values.labels
        if isinstance(values, str):
            values = [values]
        try:
            arr = np.asarray(values)
        except (TypeError, ValueError):
            raise LayerGraphError("Expected categorical values to be a list of strings or integers.") from None
        if arr.ndim > 1 and sum(d > 1 for d in arr.shape) <= 1:
            arr = arr.ravel()
        if arr.ndim != 1 or arr.dtype.kind not in "UiubfO":
            raise LayerGraphError("Expected categorical values to be a vector of strings or integers, not an "
                                  f"array of size {'x'.join(map(str, arr.shape))}.")
        missing = [i for i, v in enumerate(arr.tolist()) if _is_missing(v)]
        if missing:
            shown = ", ".join(str(i + 1) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise LayerGraphError(f"{len(missing)} of the {arr.size} labels {'is' if len(missing) == 1 else 'are'} "
                                  "missing ('', None or NaN; MATLAB's "
                                  f"categorical makes them <undefined>, which training cannot use), at positions "
                                  f"{shown}.")
        if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
            raise LayerGraphError("Expected numeric class labels to be integers.")
        if categories is None:
            if arr.dtype.kind in "iubf":
                uniq = np.unique(arr)
                categories = [_text(v) for v in uniq]
            else:
                categories = sorted({_text(v) for v in arr})
        self.categories = [_text(c) for c in categories]
        if len(set(self.categories)) != len(self.categories):
            raise LayerGraphError("Categories must be unique.")
        index = {c: i for i, c in enumerate(self.categories)}
        texts = [_text(v) for v in arr]
        missing = sorted({t for t in texts if t not in index})
        if missing:
            raise LayerGraphError(f"Labels {missing[:5]} are not among the categories "
                                  f"{self.categories[:10]}.")
        self.codes = np.array([index[t] for t in texts], dtype=np.int64)

    @property
    def labels(self) -> np.ndarray:
        return np.array(self.categories, dtype=object)[self.codes].astype(str)

    def onehot(self, dtype=np.float32) -> np.ndarray:
        """N x K indicator matrix in the order of the categories."""
        out = np.zeros((len(self.codes), len(self.categories)), dtype=dtype)
        out[np.arange(len(self.codes)), self.codes] = 1
        return out

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, item):
        picked = self.codes[item]
        if np.ndim(picked) == 0:
            return self.categories[int(picked)]
        new = Categorical.__new__(Categorical)
        new.categories, new.codes = list(self.categories), np.asarray(picked)
        return new

    def __iter__(self):
        return iter(self.labels)

    def __eq__(self, other):
        if isinstance(other, Categorical):
            other = other.labels
        return self.labels == (np.asarray(other).astype(str) if not isinstance(other, str) else other)

    def __ne__(self, other):
        return ~self.__eq__(other)

    def __array__(self, dtype=None, copy=None):
        return self.labels if dtype is None else self.labels.astype(dtype)

    def __repr__(self):
        n = len(self.codes)
        shown = "  ".join(self.labels[:20]) + ("  ..." if n > 20 else "")
        return f"  {n}x1 categorical array\n\n     {shown}\n"


def categorical(values, categories=None) -> Categorical:
    """MATLAB's categorical(values) / categorical(values, valueset)."""
    return Categorical(values, categories)


def categories(c: Categorical) -> list[str]:
    return list(c.categories)
