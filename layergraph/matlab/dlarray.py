"""MATLAB's dlarray: data in MATLAB's layout with an optional data format, traced on the
core tape (``core/autodiff.py``) inside dlfeval.

``dlarray(X, 'SSCB')`` labels the dimensions of X (S spatial, C channel, B batch, T time,
U unspecified; C, B and T at most once) and permutes them to MATLAB's order S, C, B, T, U, as
MATLAB does (``dlarray(randn(3,4), 'TS')`` has format 'ST' and size 4 x 3). The data is a numpy
array in that (MATLAB) order; ``extractdata`` returns it. Arithmetic (``+ - * / **``, ``*``
elementwise like MATLAB's ``.*``, ``@`` MATLAB's matrix ``*``) expands singleton dimensions as
MATLAB does, aligning dimensions from the first (a trailing singleton is implied), and between
two formatted arrays by label. Indexing is numpy's (0-based) but never drops a dimension (an
integer index keeps a singleton, as MATLAB's ``X(1,:)``); one index into a vector is linear.

Each operation on a traced dlarray records one node on the current tape; the node's vjp works
on the numpy arrays. See docs/modern_api.md.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..core import autodiff as ad
from ..core.errors import LayerGraphError
from ..core.operators import TapeOperators

ORDER = "SCBTU"


def _bad_format(msg):
    return LayerGraphError(msg, "deep:dlarray:InvalidFormat")


def _canonical(fmt: str, ndim: int):
    """(canonical format, permutation) for labels ``fmt`` of an array of ``ndim`` dimensions."""
    if not isinstance(fmt, str) or any(c not in ORDER for c in fmt.upper()):
        raise _bad_format(f"Invalid data format {fmt!r}. The format must be a character vector or string scalar "
                          "of the dimension labels 'S', 'C', 'B', 'T' and 'U'.")
    fmt = fmt.upper()
    for c in "CBT":
        if fmt.count(c) > 1:
            raise _bad_format(f"Invalid data format '{fmt}'. The format must contain at most one '{c}' dimension.")
    if len(fmt) < ndim:
        raise _bad_format(f"Invalid data format '{fmt}'. The number of dimension labels ({len(fmt)}) must be "
                          f"greater than or equal to the number of dimensions in the input array ({ndim}).")
    perm = sorted(range(len(fmt)), key=lambda i: (ORDER.index(fmt[i]), i))
    return "".join(fmt[i] for i in perm), perm


def _as_data(X):
    if isinstance(X, dlarray):
        return X._data
    a = np.asarray(X)
    if a.dtype == np.bool_:
        return a
    if a.dtype not in (np.float32, np.float64):
        if a.dtype.kind not in "iuf":
            raise LayerGraphError("Invalid input data. dlarray data must be a numeric or logical array.",
                                  "deep:dlarray:InvalidInputType")
        a = a.astype(np.float64)
    return a


class dlarray(TapeOperators):  # noqa: N801 -- MATLAB's class name
    """``dlarray(X)``, ``dlarray(X, fmt)``, ``dlarray(v, dim)`` (a vector as a column labelled
    ``dim``, the second dimension 'U')."""

    __slots__ = ("_data", "_fmt", "_key", "_tape")
    __array_priority__ = 1000

    def __init__(self, X, fmt=None):
        data = _as_data(X)
        if not isinstance(X, dlarray) and isinstance(X, np.ndarray) and np.shares_memory(data, X):
            data = np.array(data, copy=True)   # value semantics: a later edit of X does not change the dlarray
        self._key = None
        self._tape = None
        if fmt is None:
            if isinstance(X, dlarray):
                self._data, self._fmt = data, X._fmt
                self._key, self._tape = X._key, X._tape
                return
            self._data, self._fmt = _matlab_2d(data), ""
            return
        fmt = str(fmt)
        if data.ndim <= 1 and len(fmt) == 1:   # dlarray(v, dim): a column, second dimension 'U'
            data, fmt = data.reshape(-1, 1), fmt + "U"
        data = _matlab_2d(data)
        canon, perm = _canonical(fmt, data.ndim)
        source_shape = data.shape
        if data.ndim < len(canon):
            data = data.reshape(data.shape + (1,) * (len(canon) - data.ndim))
        identity = perm == list(range(len(perm)))
        data = data if identity else np.transpose(data, perm)
        permuted_shape = data.shape
        # trailing singleton 'U' dimensions after the second are ignored
        while len(canon) > 2 and canon[-1] == "U" and data.shape[-1] == 1:
            canon, data = canon[:-1], data.reshape(data.shape[:-1])
        self._data, self._fmt = np.ascontiguousarray(data), canon
        if isinstance(X, dlarray) and X._traced():
            if identity:
                self._key, self._tape = X._key, X._tape
            else:   # relabelled with a permutation: a traced transpose
                inv = np.argsort(perm)
                self._link([X], lambda dys, need: (
                    np.transpose(dys[0].reshape(permuted_shape), inv).reshape(source_shape),))

    # -- tracing ---------------------------------------------------------------------------
    def _traced(self) -> bool:
        return self._tape is not None and self._tape.active

    def _link(self, parents, vjp):
        tapes = [p._tape for p in parents if isinstance(p, dlarray) and p._traced()]
        if not tapes:
            return self
        tape = tapes[0]
        keys = [p._key if isinstance(p, dlarray) and p._tape is tape else None for p in parents]
        self._key = tape.record(keys, 1, vjp)[0]
        self._tape = tape
        return self

    @classmethod
    def _new(cls, data, fmt, parents=(), vjp=None):
        out = object.__new__(cls)
        out._data, out._fmt, out._key, out._tape = data, fmt, None, None
        if vjp is not None:
            out._link(list(parents), vjp)
        return out

    # -- properties --------------------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def size(self):
        return self._data.size

    def __len__(self):
        return self._data.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self):
        return float(self._data.reshape(-1)[0]) if self._data.size == 1 else float(self._data)

    def __bool__(self):
        return bool(np.all(self._data))

    # -- display -----------------------------------------------------------------------------
    def _header(self):
        if self._fmt:
            dims = " × ".join(f"{n}({c})" for n, c in zip(self.shape, self._fmt))
        else:
            dims = "×".join(map(str, self.shape))
        kind = {"float32": "single ", "bool": "logical "}.get(self.dtype.name, "")
        return f"  {dims} {kind}dlarray"

    def __repr__(self):
        from ..display.matlab_format import format_value
        body = _pages(self._data, format_value)
        return self._header() + "\n\n" + body

    __str__ = __repr__

    # -- arithmetic ------------------------------------------------------------------------
    def _binary(self, other, name, reverse=False):
        a, b = (other, self) if reverse else (self, other)
        (da, db), fmt = _align(a, b)
        y, vjp = ad.binary(name, da, db)
        sa, sb, full = _shape_of(a), _shape_of(b), y.shape
        while len(fmt) > 2 and fmt[-1] == "U" and y.shape[-1] == 1:   # as dlarray() drops them
            fmt, y = fmt[:-1], y.reshape(y.shape[:-1])
        return dlarray._new(y, fmt, [a, b], lambda dys, need: _pair(vjp(dys[0].reshape(full)), sa, sb))

    def __pos__(self):
        return self

    def _unary_op(self, name):
        return _unary(name, self)

    @staticmethod
    def _matmul_op(a, b):
        return _matmul(a, b)

    def _compare(self, o, op):
        (da, db), fmt = _align(self, o)
        return dlarray._new(op(da, db), fmt)

    def __eq__(self, o):
        return self._compare(o, np.equal)

    def __ne__(self, o):
        return self._compare(o, np.not_equal)

    __hash__ = object.__hash__

    # -- indexing ----------------------------------------------------------------------------
    def __getitem__(self, idx):
        data = self._data
        if not isinstance(idx, tuple):
            if np.ndim(idx) == 0 and not isinstance(idx, slice) and data.ndim >= 1 and \
                    builtins.sum(s != 1 for s in data.shape) <= 1 and idx is not Ellipsis:
                # one index into a vector: linear, as MATLAB's v(k)
                flat = data.reshape(-1)
                k = int(idx)
                shape = data.shape
                y = flat[k:k + 1 if k != -1 else None].reshape((1,) * data.ndim)

                def vjp_lin(dys, need):
                    g = np.zeros(flat.shape, dys[0].dtype)
                    g[k] += dys[0].reshape(-1)[0]
                    return (g.reshape(shape),)
                return dlarray._new(y, self._fmt, [self], vjp_lin)
            idx = (idx,)
        fixed = []
        for i in idx:   # an integer keeps its dimension (MATLAB never drops one)
            if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
                fixed.append(slice(int(i), int(i) + 1 if int(i) != -1 else None))
            else:
                fixed.append(i)
        fixed = tuple(fixed)
        y = data[fixed]
        fmt = self._fmt if y.ndim == data.ndim else ""

        def vjp(dys, need):
            g = np.zeros_like(data, dtype=dys[0].dtype)
            np.add.at(g, fixed, dys[0])
            return (g,)
        return dlarray._new(np.array(y), fmt, [self], vjp)

    def __iter__(self):
        raise TypeError("A dlarray is not iterable; index it (X[i, :]) or use extractdata.")

    # -- methods that mirror the functions ----------------------------------------------------
    def sum(self, dim=None):
        return sum(self, dim)

    def mean(self, dim=None):
        return mean(self, dim)

    def extractdata(self):
        return extractdata(self)


def _matlab_2d(a: np.ndarray) -> np.ndarray:
    """MATLAB has no arrays of fewer than two dimensions: a scalar is 1 x 1, a vector a row."""
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a


def _pages(data, fmt_value) -> str:
    def matrix(m):
        if m.dtype == np.bool_:
            cells = [[str(int(v)) for v in row] for row in m]
        elif m.size and np.all(np.isfinite(m)) and np.all(m == np.round(m)) and np.max(np.abs(m)) < 1e9:
            cells = [[str(int(v)) for v in row] for row in m]
        else:
            scale = float(np.max(np.abs(m[np.isfinite(m)]))) if np.any(np.isfinite(m)) else 1.0
            if scale >= 1e5 or (0 < scale < 1e-3):
                cells = [[f"{v:.4e}" for v in row] for row in m]
            else:
                cells = [[f"{v:.4f}" for v in row] for row in m]
        width = builtins.max([len(c) for row in cells for c in row] + [1])
        return "\n".join("".join(c.rjust(width + 3) for c in row) for row in cells) + "\n"
    if data.ndim <= 2:
        return matrix(data.reshape(data.shape[0], -1))
    out = []
    for idx in np.ndindex(*data.shape[:1:-1]):
        page = idx[::-1]
        out.append(f"({':,:,' + ','.join(str(i + 1) for i in page)}) =\n\n" + matrix(data[(slice(None),
                                                                                         slice(None)) + page]))
    return "\n".join(out)


def _shape_of(x):
    return x._data.shape if isinstance(x, dlarray) else np.shape(x)


def _pair(grads, sa, sb):
    ga, gb = grads
    return ga.reshape(sa) if ga is not None else None, gb.reshape(sb) if gb is not None else None


def _aligned_to(x: dlarray, union: str) -> np.ndarray:
    """x's data with singleton dimensions inserted for the labels of ``union`` it lacks."""
    shape, j = [], 0
    fmt = x._fmt
    for c in union:
        if j < len(fmt) and fmt[j] == c:
            shape.append(x._data.shape[j])
            j += 1
        else:
            shape.append(1)
    return x._data.reshape(shape)


def _union(f1: str, f2: str) -> str:
    return "".join(c * builtins.max(f1.count(c), f2.count(c)) for c in ORDER)


def _align(a, b):
    """The two operands' numpy data, aligned for MATLAB's implicit expansion, and the result's
    format."""
    fa = a._fmt if isinstance(a, dlarray) else ""
    fb = b._fmt if isinstance(b, dlarray) else ""
    da, db = _as_data(a), _as_data(b)
    if da.dtype == np.float32 and db.dtype == np.float64:   # single wins, as in MATLAB
        db = db.astype(np.float32)
    elif db.dtype == np.float32 and da.dtype == np.float64:
        da = da.astype(np.float32)
    if fa and fb and fa != fb:
        fmt = _union(fa, fb)
        return (_aligned_to(a, fmt), _aligned_to(b, fmt)), fmt
    fmt = fa or fb
    if da.ndim and db.ndim and da.ndim != db.ndim:   # trailing singletons, not numpy's leading ones
        n = builtins.max(da.ndim, db.ndim)
        da = da.reshape(da.shape + (1,) * (n - da.ndim))
        db = db.reshape(db.shape + (1,) * (n - db.ndim))
    if fmt and builtins.max(da.ndim, db.ndim) > len(fmt):
        raise _bad_format(f"The data has more dimensions ({builtins.max(da.ndim, db.ndim)}) than the format "
                          f"'{fmt}' labels.")
    try:
        np.broadcast_shapes(da.shape, db.shape)
    except ValueError:
        raise LayerGraphError(f"Arrays have incompatible sizes for this operation: {_sz(da.shape)} and "
                              f"{_sz(db.shape)}.", "MATLAB:sizeDimensionsMustMatch") from None
    return (da, db), fmt


def _sz(shape):
    return "×".join(map(str, shape)) if len(shape) > 1 else f"1×{shape[0] if shape else 1}"


def _unary(name, X):
    X = X if isinstance(X, dlarray) else dlarray(X)
    y, vjp = ad.unary(name, X._data)
    return dlarray._new(y, X._fmt, [X], lambda dys, need: (vjp(dys[0]),))


def _matmul(a, b):
    a = a if isinstance(a, dlarray) else dlarray(a)
    b = b if isinstance(b, dlarray) else dlarray(b)
    if a._fmt or b._fmt:
        raise LayerGraphError("Matrix multiplication needs unformatted dlarrays; use stripdims first, or "
                              "fullyconnect for a formatted input.", "deep:dlarray:MtimesFormatted")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise LayerGraphError(f"Incorrect dimensions for matrix multiplication: {_sz(a.shape)} and {_sz(b.shape)}.",
                              "MATLAB:innerdim")
    da, db = a._data, b._data
    if da.dtype != db.dtype:
        da, db = da.astype(np.float32), db.astype(np.float32)
    y, vjp = ad.matmul(da, db)
    return dlarray._new(y, "", [a, b], lambda dys, need: vjp(dys[0]))


# -- the functions users call -------------------------------------------------------------------
def dims(X) -> str:
    """The data format ('' when unformatted); a networkDataLayout's Format."""
    return X._fmt if isinstance(X, dlarray) else str(getattr(X, "Format", "") or "")


def finddim(X, label) -> list[int]:
    """The 1-based dimensions of X labelled ``label`` (a list, empty when none)."""
    label = str(label).upper()
    return [i + 1 for i, c in enumerate(dims(X)) if c == label]


def stripdims(X, fmt=None):
    """X without its format (traced like X); with ``fmt``, its dimensions first ordered as ``fmt``."""
    X = X if isinstance(X, dlarray) else dlarray(X)
    if fmt is None:
        out = dlarray._new(X._data, "")
        out._key, out._tape = X._key, X._tape
        return out
    fmt = str(fmt).upper()
    if sorted(fmt) != sorted(X._fmt):
        raise _bad_format(f"The format '{fmt}' must contain the labels of the input's format '{X._fmt}'.")
    used, perm = set(), []
    for c in fmt:
        i = next(i for i, d in enumerate(X._fmt) if d == c and i not in used)
        used.add(i)
        perm.append(i)
    inv = np.argsort(perm)
    return dlarray._new(np.transpose(X._data, perm), "", [X], lambda dys, need: (np.transpose(dys[0], inv),))


def extractdata(X) -> np.ndarray:
    """The data (untraced), in the dlarray's dimension order: a copy, as MATLAB's values are."""
    return np.array(X._data, copy=True) if isinstance(X, dlarray) else np.array(X, copy=True)


def _dims_arg(X, dim):
    """0-based axes from MATLAB's dim (1-based int, list, 'all'); None: the first non-singleton."""
    if dim is None:
        return (next((i for i, s in enumerate(X.shape) if s != 1), 0),)
    if isinstance(dim, str):
        if dim.lower() == "all":
            return tuple(range(X.ndim))
        axes = tuple(i for i, c in enumerate(X._fmt) if c in dim.upper())
        if not axes:
            raise LayerGraphError(f"The input has no dimension labelled '{dim}'. Its format is '{X._fmt}'.")
        return axes
    dims_ = [int(d) for d in np.atleast_1d(dim)]
    if any(d < 1 for d in dims_):
        raise LayerGraphError("Dimension argument must be a positive integer scalar or a vector of positive "
                              "integers.", "MATLAB:getdimarg:invalidDim")
    return tuple(d - 1 for d in dims_ if d - 1 < X.ndim)


def _reduce(X, dim, fn):
    X = X if isinstance(X, dlarray) else dlarray(X)
    axes = _dims_arg(X, dim)
    y, vjp = fn(X._data, axes)
    return dlarray._new(y, X._fmt, [X], lambda dys, need: (vjp(dys[0]),))


def sum(X, dim=None, *args, **kw):  # noqa: A001 -- MATLAB's name; other arguments go to Python's sum
    """MATLAB's sum over dimension ``dim`` (1-based; 'all'; default the first non-singleton)."""
    if not isinstance(X, dlarray):   # anything else: Python's sum, as if the name were not imported
        return builtins.sum(X, *(() if dim is None else (dim,)), *args, **kw)
    return _reduce(X, dim, ad.reduce_sum)


def mean(X, dim=None):
    """MATLAB's mean over dimension ``dim``."""
    if not isinstance(X, dlarray):
        return np.mean(X) if dim is None else np.mean(X, axis=dim - 1 if isinstance(dim, int) else dim)
    return _reduce(X, dim, ad.reduce_mean)


def _extreme(largest, builtin, X, *args, **kw):
    if not isinstance(X, dlarray) and not (args and isinstance(args[0], dlarray)):
        return builtin(X, *args, **kw)
    if len(args) == 1 or (args and not _is_empty(args[0])):   # max(X, Y): elementwise
        return X._binary(args[0], "max" if largest else "min") if isinstance(X, dlarray) else \
            dlarray(X)._binary(args[0], "max" if largest else "min")
    dim = args[1] if len(args) > 1 else None
    X = X if isinstance(X, dlarray) else dlarray(X)
    axes = _dims_arg(X, dim)
    if len(axes) != 1:
        raise LayerGraphError("max and min reduce one dimension at a time here.")
    y, idx, vjp = ad.reduce_extreme(X._data, axes[0], largest)
    out = dlarray._new(y, X._fmt, [X], lambda dys, need: (vjp(dys[0]),))
    return out, idx + 1   # MATLAB's 1-based indices


def _is_empty(a):
    return a is None or (hasattr(a, "__len__") and len(a) == 0)


def max(X, *args, **kw):  # noqa: A001
    """``max(X, [], dim)`` -> (values, 1-based indices); ``max(X, Y)`` elementwise; Python's max otherwise."""
    return _extreme(True, builtins.max, X, *args, **kw)


def min(X, *args, **kw):  # noqa: A001
    """``min(X, [], dim)`` -> (values, 1-based indices); ``min(X, Y)`` elementwise; Python's min otherwise."""
    return _extreme(False, builtins.min, X, *args, **kw)


def _elementwise(name):
    def f(X):
        return _unary(name, X)
    f.__name__ = name
    f.__doc__ = f"MATLAB's {name}, elementwise (traced)."
    return f


exp = _elementwise("exp")
log = _elementwise("log")
sqrt = _elementwise("sqrt")
tanh = _elementwise("tanh")


def abs(X):  # noqa: A001
    return _unary("abs", X) if isinstance(X, dlarray) else builtins.abs(X)


__all__ = ["dlarray", "dims", "finddim", "stripdims", "extractdata", "sum", "mean", "max", "min", "exp", "log",
           "sqrt", "tanh", "abs"]
