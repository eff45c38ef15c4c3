"""MATLAB's minibatchqueue: the mini-batches of a datastore for a custom training loop.

``mbq = minibatchqueue(ds, numOutputs, MiniBatchSize=128, PartialMiniBatch="return",
MiniBatchFcn="collate", PreprocessingEnvironment="serial", OutputCast="single",
OutputAsDlarray=true, MiniBatchFormat="", OutputEnvironment="auto")``; ``next(mbq)`` (Python's
``next``: one value per output, a tuple for several), ``hasdata``, ``shuffle`` (in place: a new
random order, from the start), ``reset``, ``partition``.

A mini-batch is read from the datastore's observations (one row each: its variables), handed
to ``MiniBatchFcn`` as one list per variable (MATLAB's cell arrays), or collated; each output is
then cast (``OutputCast``) and wrapped in a dlarray with its ``MiniBatchFormat``.

"collate" (the default) concatenates a variable held in cells (images, arrays) along the
dimension after its last non-singleton one (28 x 28 grey images give 28 x 28 x N, hence the
doc's ``'SSBC'``; a C x 1 column gives C x N; scalars N x 1), and stacks a table's plain
variables (an augmentedImageDatastore's categorical ``response``) as rows (N x 1). Categorical values become
their category indices (1-based) under a numeric ``OutputCast``.

Determinism: where the datastore draws random numbers (augmentation), each pass (construction,
``reset``, ``shuffle``) draws one seed from ``rng`` and mini-batch b is read with a generator
seeded by (seed, b); so "serial" reading and the background readers ("background": a thread,
"parallel": the worker processes of ``layergraph.data.sources``) give the same mini-batches.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError
from ..core.initializers import rng as global_rng
from ..data import sources
from ..display.matlab_format import format_value
from .args import parse
from .categorical import Categorical
from .datastore import (ArrayDatastore, AugmentedImageDatastore, CombinedDatastore, ImageDatastore, Label,
                        TransformedDatastore, _columns_of, _Datastore)
from .dlarray import dlarray
from .table import Table

_NAMES = ["MiniBatchSize", "PartialMiniBatch", "MiniBatchFcn", "PreprocessingEnvironment", "OutputCast",
          "OutputAsDlarray", "MiniBatchFormat", "OutputEnvironment", "DispatchInBackground"]
_CASTS = {"single": np.float32, "double": np.float64, "int8": np.int8, "int16": np.int16, "int32": np.int32,
          "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
          "logical": np.bool_}
_END = ("Unable to provide a mini-batch because end of data reached. Use reset or shuffle to continue generating "
        "mini-batches from the data set.")

# how a variable is collated: CELL (concatenated after its last non-singleton dimension), ROWS
# (a table's plain variable: stacked as rows), ("same", dim) (arrayDatastore OutputType 'same':
# along its IterationDimension)
CELL, ROWS = "cell", "rows"


def _err(msg, ident="MATLAB:InputParser:ArgumentFailedValidation"):
    return LayerGraphError(msg, ident)


# -- one observation's variables -----------------------------------------------------------------------------
def _table_var(value):
    if isinstance(value, Label):
        return Categorical([value.text]), ROWS
    a = np.asarray(value)
    return (value, ROWS) if a.ndim == 0 or a.size == 1 else (value, CELL)


def _loose(value):
    """A value from a transform or a table: a Label as a one-element categorical."""
    return Categorical([value.text]) if isinstance(value, Label) else value


def cells(ds, i: int, rng) -> list[tuple]:
    """Observation i of ``ds`` as [(value, how it is collated)], one per variable of ``read``."""
    if isinstance(ds, ImageDatastore):
        return [(ds._native(i, rng), CELL)]
    if isinstance(ds, AugmentedImageDatastore):
        row = ds._row(i, rng)
        out = [(row[0], CELL)]
        if len(row) > 1:
            r = ds._responses_value
            out.append((r[i:i + 1], ROWS) if isinstance(r, Categorical) else _table_var(row[1]))
        return out
    if isinstance(ds, ArrayDatastore):
        s = ds._slice(i)
        return [(s, CELL)] if ds.OutputType == "cell" else [(s, ("same", ds.IterationDimension))]
    if isinstance(ds, CombinedDatastore):
        return [c for s in ds.UnderlyingDatastores for c in cells(s, i, rng)]
    if isinstance(ds, TransformedDatastore):
        out = ds._native(i, rng)
        if isinstance(out, Table):
            return [_table_var(v) for v in _columns_of(out)]
        return [(_loose(v), CELL) for v in _columns_of(out)]
    if isinstance(ds, _Datastore):
        return [(_loose(v), CELL) for v in ds._columns(ds._native(i, rng))]
    raise _err(f"Invalid datastore: minibatchqueue takes a datastore, not a {type(ds).__name__}.",
               "MATLAB:minibatchqueue:InvalidDatastore")


# -- MATLAB's cat and the default "collate" ------------------------------------------------------------------
def _matlab_shape(a) -> tuple:
    s = tuple(np.shape(a))
    return s + (1,) * (2 - len(s)) if len(s) < 2 else s


def cat(dim, *arrays):
    """MATLAB's ``cat(dim, A1, A2, ...)``: numeric arrays joined along dimension ``dim`` (1-based,
    missing trailing dimensions are 1); categorical values joined into one categorical vector."""
    if not arrays:
        return np.zeros((0, 0))
    if all(isinstance(a, Categorical) for a in arrays):
        first = arrays[0].categories
        if any(a.categories != first for a in arrays[1:]):
            names = sorted(set().union(*[a.categories for a in arrays]))
            return Categorical(np.concatenate([a.labels for a in arrays]), names)
        new = Categorical.__new__(Categorical)
        new.categories, new.codes = list(first), np.concatenate([np.atleast_1d(a.codes) for a in arrays])
        return new
    if any(isinstance(a, Categorical) for a in arrays):
        raise _err("Unable to concatenate a categorical array with a numeric one.",
                   "MATLAB:categorical:cat:TypeMismatch")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise _err(f"Dimension argument must be a positive integer scalar; it is {dim!r}.",
                   "MATLAB:catenate:invalidDimension")
    parts = [np.asarray(a) for a in arrays]
    nd = max(dim, *(len(_matlab_shape(p)) for p in parts))
    parts = [p.reshape(_matlab_shape(p) + (1,) * (nd - len(_matlab_shape(p)))) for p in parts]
    shapes = {p.shape[:dim - 1] + p.shape[dim:] for p in parts}
    if len(shapes) > 1:
        raise _err("Dimensions of arrays being concatenated are not consistent.", "MATLAB:catenate:dimensionMismatch")
    out = np.concatenate(parts, axis=dim - 1)
    while out.ndim > 2 and out.shape[-1] == 1:   # MATLAB drops trailing singleton dimensions
        out = out.reshape(out.shape[:-1])
    return out


def _after_last(a) -> int:
    """The dimension (1-based) after ``a``'s last non-singleton one: 3 for an H x W image, 4 for
    H x W x 3, 2 for a column vector, 1 for a scalar."""
    nonsingleton = [k for k, d in enumerate(_matlab_shape(a), 1) if d != 1]
    return nonsingleton[-1] + 1 if nonsingleton else 1


def _collate(values: list, how):
    if all(isinstance(v, Categorical) for v in values):
        return cat(1, *values)
    if how == ROWS:
        return np.concatenate([np.asarray(v).reshape(1, -1) for v in values], axis=0)
    if isinstance(how, tuple):
        return cat(how[1], *values)
    dims = {_after_last(v) for v in values}
    shapes = {_matlab_shape(v) for v in values}
    if len(shapes) > 1:
        raise _err("Unable to concatenate the observations of a mini-batch with \"collate\": they have different "
                   f"sizes ({', '.join('x'.join(map(str, s)) for s in sorted(shapes))}). Use MiniBatchFcn to make "
                   "them agree.", "MATLAB:minibatchqueue:CollateFailed")
    return cat(max(dims), *values)


# -- the options -------------------------------------------------------------------------------------------
def _positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)) \
            or value != int(value) or value < 1:
        raise _err(f"Invalid value for '{name}': {value!r}. Expected a positive integer scalar.")
    return int(value)


def _choice(value, name, allowed):
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise _err(f"Invalid value for '{name}': {value!r}. Expected one of: {', '.join(repr(a) for a in allowed)}.")


def _per_output(value, name, n, check):
    """A value for each output: one given for all, or one per output."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise _err(f"Invalid value for '{name}': it has {len(values)} elements, but the minibatchqueue has {n} "
                   f"output{'s' if n != 1 else ''}. Give one value for all outputs or one per output.")
    return [check(v) for v in values]


def _check_cast(v):
    if isinstance(v, str) and v.lower() in _CASTS:
        return v.lower()
    raise _err(f"Invalid value for 'OutputCast': {v!r}. Expected one of: {', '.join(repr(c) for c in _CASTS)}.")


def _check_logical(v):
    if isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, np.integer)) and v in (0, 1)):
        return bool(v)
    raise _err(f"Invalid value for 'OutputAsDlarray': {v!r}. Expected true or false.")


def _check_format(v):
    if not isinstance(v, str) or any(c not in "SCBTU" for c in v.upper()):
        raise _err(f"Invalid value for 'MiniBatchFormat': {v!r}. Expected a format of the letters S, C, B, T and U "
                   "(such as \"SSCB\"), or \"\" for an unformatted output.")
    return v.upper()


def _check_environment(v):
    v = _choice(v, "OutputEnvironment", ("auto", "gpu", "cpu"))
    if v == "gpu":
        raise _err("Invalid value for 'OutputEnvironment': 'gpu'. layergraph computes on the CPU; use 'auto' or "
                   "'cpu'.", "MATLAB:minibatchqueue:NoGPU")
    return v


class _Reads(sources.Source):
    """The mini-batches of a queue as a source the background readers run: read(indices, rng) gives
    {"outputs": the outputs before they become dlarrays}."""

    def __init__(self, mbq):
        self.mbq, self.n = mbq, mbq._ds._n()
        self.random = mbq._ds.random

    def read(self, indices, rng):
        return {"outputs": self.mbq._make(indices, rng)}


class MiniBatchQueue:
    """A minibatchqueue (see the module's description)."""

    def __init__(self, ds, num_outputs, opts):
        if not isinstance(ds, _Datastore):
            raise _err(f"Invalid datastore: minibatchqueue takes a datastore, not a {type(ds).__name__}.",
                       "MATLAB:minibatchqueue:InvalidDatastore")
        fcn = opts.get("MiniBatchFcn", "collate")
        if isinstance(fcn, str):
            if fcn.lower() != "collate":
                raise _err(f"Invalid value for 'MiniBatchFcn': {fcn!r}. Expected \"collate\" or a function handle.")
            fcn = "collate"
        elif not callable(fcn):
            raise _err(f"Invalid value for 'MiniBatchFcn': {fcn!r}. Expected \"collate\" or a function handle.")
        variables = len(cells(ds, 0, np.random.default_rng(0))) if ds._n() else 1
        if num_outputs is None:
            num_outputs = variables
        num_outputs = _positive_int(num_outputs, "numOutputs")
        if fcn == "collate" and num_outputs != variables:
            raise _err(f"The datastore's read gives {variables} variable{'s' if variables != 1 else ''}, but "
                       f"numOutputs is {num_outputs}. With MiniBatchFcn \"collate\" they must agree; give a "
                       "MiniBatchFcn that returns numOutputs outputs.", "MATLAB:minibatchqueue:NumOutputsMismatch")
        env = opts.get("PreprocessingEnvironment")
        if env is None and "DispatchInBackground" in opts:
            env = "background" if _check_logical(opts["DispatchInBackground"]) else "serial"
        d = self.__dict__
        d["_ds"], d["_n_out"] = ds, num_outputs
        d["MiniBatchSize"] = _positive_int(opts.get("MiniBatchSize", 128), "MiniBatchSize")
        d["PartialMiniBatch"] = _choice(opts.get("PartialMiniBatch", "return"), "PartialMiniBatch",
                                        ("return", "discard"))
        d["MiniBatchFcn"] = fcn
        d["PreprocessingEnvironment"] = _choice(env or "serial", "PreprocessingEnvironment",
                                                ("serial", "background", "parallel"))
        d["OutputCast"] = _per_output(opts.get("OutputCast", "single"), "OutputCast", num_outputs, _check_cast)
        d["OutputAsDlarray"] = _per_output(opts.get("OutputAsDlarray", True), "OutputAsDlarray", num_outputs,
                                           _check_logical)
        fmt = opts.get("MiniBatchFormat", "")
        d["MiniBatchFormat"] = _per_output(fmt, "MiniBatchFormat", num_outputs, _check_format) \
            if not (isinstance(fmt, str) and fmt == "") else [""] * num_outputs
        d["OutputEnvironment"] = _per_output(opts.get("OutputEnvironment", "auto"), "OutputEnvironment",
                                             num_outputs, _check_environment)
        d["_order"] = np.arange(ds._n())
        d["_reader"] = None
        self.reset()

    def __setattr__(self, name, value):
        if name in _NAMES or name == "NumOutputs":
            raise LayerGraphError(f"Unable to set the '{name}' property of minibatchqueue because it is read-only.",
                                  "MATLAB:class:SetProhibited")
        raise LayerGraphError(f"Unrecognized property '{name}' for class 'minibatchqueue'.",
                              "MATLAB:noPublicFieldForClass")

    @property
    def NumOutputs(self) -> int:
        return self._n_out

    # -- the plan of a pass ------------------------------------------------------------------------------
    def _plan(self) -> list:
        bs, n = self.MiniBatchSize, len(self._order)
        count = -(-n // bs) if self.PartialMiniBatch == "return" else n // bs
        return [self._order[b * bs:(b + 1) * bs] for b in range(count)]

    def _close_reader(self):
        reader = self._reader
        self.__dict__["_reader"] = None
        if reader is not None:
            reader.close()

    def _start(self, order):
        self._close_reader()
        d = self.__dict__
        d["_order"] = order
        d["_batches"] = self._plan()
        d["_pos"] = 0
        d["_seed"] = int(global_rng().integers(2 ** 63)) if self._ds.random else 0

    def reset(self) -> None:
        """Back to the first mini-batch, in the same order."""
        self._start(self._order)

    def shuffle(self) -> None:
        """A new random order of the observations (``rng``), from the first mini-batch."""
        self._start(global_rng().permutation(self._ds._n()))

    def hasdata(self) -> bool:
        return self._pos < len(self._batches)

    def partition(self, numParts, indx) -> "MiniBatchQueue":
        """Part ``indx`` (1-based) of ``numParts`` contiguous parts of nearly equal size of the
        observations, in the queue's current order, with the same properties."""
        numParts = _positive_int(numParts, "numParts")
        indx = _positive_int(indx, "indx")
        if indx > numParts:
            raise _err(f"Invalid value for 'indx': {indx}. Expected an integer from 1 to numParts = {numParts}.")
        new = object.__new__(MiniBatchQueue)
        new.__dict__.update(self.__dict__)
        new.__dict__["_reader"] = None
        new._start(np.array_split(np.asarray(self._order), numParts)[indx - 1])
        return new

    # -- reading ------------------------------------------------------------------------------------------
    def _make(self, indices, rng) -> tuple:
        """The outputs of the mini-batch of ``indices`` (numpy arrays, before dlarray)."""
        rows = [cells(self._ds, int(i), rng) for i in indices]
        nvar = len(rows[0])
        if self.MiniBatchFcn == "collate":
            outs = [_collate([r[k][0] for r in rows], rows[0][k][1]) for k in range(nvar)]
        else:
            fcn = self.MiniBatchFcn
            args = [[r[k][0] for r in rows] for k in range(nvar)]
            try:
                result = fcn(*args)
            except LayerGraphError:
                raise
            except Exception as err:
                raise LayerGraphError(f"Error in the mini-batch function @{getattr(fcn, '__name__', 'fcn')}: {err}",
                                      "MATLAB:minibatchqueue:MiniBatchFcnError") from None
            outs = list(result) if isinstance(result, tuple) else [result]
            if len(outs) < self._n_out:
                raise _err(f"The mini-batch function @{getattr(fcn, '__name__', 'fcn')} returned {len(outs)} "
                           f"output{'s' if len(outs) != 1 else ''}, but the minibatchqueue has {self._n_out}.",
                           "MATLAB:minibatchqueue:TooFewOutputs")
            outs = outs[:self._n_out]
        return tuple(self._cast(o, k) for k, o in enumerate(outs))

    def _cast(self, value, k):
        if isinstance(value, Categorical):
            value = (value.codes + 1).reshape(-1, 1)
        if isinstance(value, dlarray):   # the MiniBatchFcn made it: its format stands
            return value
        return np.asarray(value).astype(_CASTS[self.OutputCast[k]], copy=False)

    def _wrap(self, value, k):
        if isinstance(value, dlarray) or not self.OutputAsDlarray[k]:
            return value
        fmt = self.MiniBatchFormat[k]
        if fmt and len(fmt) < len(_matlab_shape(value)):
            raise _err(f"Invalid MiniBatchFormat '{fmt}' for output {k + 1}: the mini-batch has "
                       f"{len(_matlab_shape(value))} dimensions (size {'x'.join(map(str, _matlab_shape(value)))}), "
                       "more than the format labels.", "MATLAB:minibatchqueue:InvalidFormat")
        return dlarray(value, fmt) if fmt else dlarray(value)

    def _read_next(self, b) -> tuple:
        idx = self._batches[b]
        if self.PreprocessingEnvironment == "serial":
            rng = np.random.default_rng([self._seed, b]) if self._ds.random else None
            return self._make(idx, rng)
        if self._reader is None:
            self.__dict__["_reader"] = _Reader(self, b)
        return self._reader.get()

    def next(self):
        """The next mini-batch: one value per output (a tuple for several outputs)."""
        if not self.hasdata():
            raise LayerGraphError(_END, "MATLAB:minibatchqueue:EndOfData")
        b = self._pos
        outs = self._read_next(b)
        self.__dict__["_pos"] = b + 1
        if not self.hasdata():
            self._close_reader()      # the pass is read: its reader thread or processes end now
        outs = tuple(self._wrap(o, k) for k, o in enumerate(outs))
        return outs[0] if len(outs) == 1 else outs

    __next__ = next

    def __iter__(self):
        """The remaining mini-batches of this pass (``for X, T in mbq``)."""
        while self.hasdata():
            yield self.next()

    def __del__(self):
        try:
            self._close_reader()
        except Exception:
            pass

    # -- display -----------------------------------------------------------------------------------------
    def __str__(self):
        n = self._n_out
        cellrow = lambda vals: "{" + "  ".join(f"'{v}'" for v in vals) + "}"   # noqa: E731
        flags = [("1" if v else "0") for v in self.OutputAsDlarray]
        fcn = "'collate'" if self.MiniBatchFcn == "collate" else format_value(self.MiniBatchFcn)
        return "\n".join([
            f"minibatchqueue with {n} output{'s' if n != 1 else ''} and properties:", "",
            "   Mini-batch creation:",
            f"               MiniBatchSize: {self.MiniBatchSize}",
            f"            PartialMiniBatch: '{self.PartialMiniBatch}'",
            f"                MiniBatchFcn: {fcn}",
            f"    PreprocessingEnvironment: '{self.PreprocessingEnvironment}'", "",
            "   Outputs:",
            f"                  OutputCast: {cellrow(self.OutputCast)}",
            f"             OutputAsDlarray: {flags[0] if n == 1 else '[' + ' '.join(flags) + ']'}",
            f"             MiniBatchFormat: {cellrow(self.MiniBatchFormat)}",
            f"           OutputEnvironment: {cellrow(self.OutputEnvironment)}", ""])

    __repr__ = __str__


class _Reader:
    """The mini-batches of a pass from batch ``first`` on, read ahead by a thread ("background") or
    by worker processes ("parallel", where the machine can fork; else a thread)."""

    def __init__(self, mbq, first):
        source = _Reads(mbq)
        plan = mbq._batches[first:]
        self._pool = sources._Pool.of(source, sources._workers()) \
            if mbq.PreprocessingEnvironment == "parallel" else None
        if self._pool is not None:
            self._stream = self._pool.stream(plan, mbq._seed, first, sources.DEPTH)
            self._prefetch = None
        else:
            self._prefetch = sources._Prefetch(source, plan, mbq._seed, sources.DEPTH, first)
            self._stream = None

    def get(self):
        try:
            out = next(self._stream) if self._stream is not None else self._prefetch.get()
        except sources.SourceError as err:
            raise LayerGraphError(str(err), err.identifier) from None
        return out["outputs"]

    def close(self):
        if self._prefetch is not None:
            self._prefetch.close()
        if self._stream is not None:
            self._stream.close()
        if self._pool is not None:
            self._pool.close()


def minibatchqueue(ds, *args, **kwargs) -> MiniBatchQueue:
    """``minibatchqueue(ds)``, ``minibatchqueue(ds, numOutputs)``, with the name-value options
    MiniBatchSize, PartialMiniBatch, MiniBatchFcn, PreprocessingEnvironment, OutputCast,
    OutputAsDlarray, MiniBatchFormat and OutputEnvironment."""
    opts = parse("minibatchqueue", args, kwargs, ("numOutputs",), 0, _NAMES)
    return MiniBatchQueue(ds, opts.pop("numOutputs", None), opts)


__all__ = ["minibatchqueue", "cat"]
