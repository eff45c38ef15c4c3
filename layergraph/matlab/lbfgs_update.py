"""MATLAB's L-BFGS for custom training loops: ``solverState = lbfgsState(HistorySize=10,
InitialInverseHessianFactor=1)`` and ``[net, solverState] = lbfgsupdate(net, lossFcn,
solverState)`` (``net`` a dlnetwork, or parameters: a dlarray, a table, a dict or list of
dlarrays). ``lossFcn(net)`` returns the loss and the gradients (typically
``lambda net: dlfeval(modelLoss, net, X, T)``). Each call is one iteration of the solver
trainnet's "lbfgs" uses (``train/lbfgs.py`` ``iterate``: the two-loop direction, the line
search, the curvature pair), so the same function and starting point give the same iterates.
The choices where MathWorks' pages are silent are listed in docs/modern_api.md.
"""
from __future__ import annotations

import copy

import numpy as np

from ..core.errors import LayerGraphError
from ..train.lbfgs import SEARCHES, Memory, iterate
from .autodiff import _in_order, _items, _options, _updated
from .dlarray import _as_data
from .network import DLNetwork

_STATE_OPTIONS = ("HistorySize", "InitialInverseHessianFactor")
_UPDATE_OPTIONS = ("LineSearchMethod", "MaxNumLineSearchIterations")


def _positive(value, name, integer):
    try:
        v = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else None
    except (TypeError, ValueError):
        v = None
    if v is None or not np.isfinite(v) or v <= 0 or (integer and v != int(v)) or isinstance(value, bool):
        what = "a positive integer" if integer else "a positive scalar"
        raise LayerGraphError(f"Invalid value for '{name}': {value!r}. Expected {what}.",
                              "MATLAB:validators:mustBePositive")
    return int(v) if integer else v


class lbfgsState:  # noqa: N801 -- MATLAB's function and class name
    """The state of the L-BFGS solver between lbfgsupdate calls (a value: each call returns a
    new one). HistorySize and InitialInverseHessianFactor are set at creation; Loss,
    Gradients and LineSearchStatus describe the point after the last update."""

    def __init__(self, *args, **kwargs):
        rest, o = _options(args, kwargs, _STATE_OPTIONS)
        if rest:
            raise LayerGraphError("lbfgsState takes only the name-value arguments HistorySize and "
                                  "InitialInverseHessianFactor.", "MATLAB:TooManyInputs")
        d = self.__dict__
        d["HistorySize"] = _positive(o.get("HistorySize", 10), "HistorySize", True)
        d["InitialInverseHessianFactor"] = _positive(o.get("InitialInverseHessianFactor", 1),
                                                     "InitialInverseHessianFactor", False)
        d["_memory"] = Memory(d["HistorySize"], d["InitialInverseHessianFactor"])
        d["_point"] = None    # (x, f, g) where the last update ended, float64
        d["Loss"], d["Gradients"], d["LineSearchStatus"] = [], [], ""

    def __setattr__(self, name, value):
        raise LayerGraphError(f"Unable to set the '{name}' property of class 'lbfgsState' because it is read-only.",
                              "MATLAB:class:SetProhibited")

    def _next(self, point, loss, grads, status) -> "lbfgsState":
        new = object.__new__(lbfgsState)
        new.__dict__.update(self.__dict__)
        d = new.__dict__
        d["_memory"] = copy.copy(self._memory)
        d["_memory"].S, d["_memory"].Y = copy.copy(self._memory.S), copy.copy(self._memory.Y)
        d["_point"], d["Loss"], d["Gradients"], d["LineSearchStatus"] = point, loss, grads, status
        return new

    def __repr__(self):
        return ("  LBFGSState with properties:\n\n"
                f"                    HistorySize: {self.HistorySize}\n"
                f"    InitialInverseHessianFactor: {self.InitialInverseHessianFactor:g}\n"
                f"                           Loss: {_text(self.Loss)}\n"
                f"               LineSearchStatus: \"{self.LineSearchStatus}\"\n")

    __str__ = __repr__


def _text(v):
    if isinstance(v, list) and not v:
        return "[]"
    return f"{float(np.asarray(_as_data(v)).reshape(-1)[0]):.4g}"


def _keys(params):
    """(keys of the learnables lbfgsupdate changes, their arrays): a dlnetwork's learnables with a
    learn-rate factor other than 0, every array of other parameters."""
    items = _items(params)
    if isinstance(params, DLNetwork):
        items = [(k, a, f) for k, a, f in items if f != 0]
    return [k for k, _, _ in items], [np.asarray(a) for _, a, _ in items]


def lbfgsupdate(net, lossFcn, solverState, *args, **kwargs):
    """``net, solverState = lbfgsupdate(net, lossFcn, solverState)``: one L-BFGS iteration.
    ``lossFcn(net)`` returns ``(loss, gradients)`` (the gradients in the structure of the
    parameters: ``dlgradient(loss, net.Learnables)``). Options LineSearchMethod ("weak-wolfe",
    "strong-wolfe", "backtracking") and MaxNumLineSearchIterations (20). When the line search
    fails, the parameters come back unchanged and ``solverState.LineSearchStatus`` is "failed"."""
    if not callable(lossFcn):
        raise LayerGraphError("Invalid value for 'lossFcn': expected a function handle that returns the loss and the "
                              "gradients.", "MATLAB:lbfgsupdate:InvalidLossFcn")
    if not isinstance(solverState, lbfgsState):
        raise LayerGraphError(f"Invalid value for 'solverState': expected an lbfgsState object (solverState = "
                              f"lbfgsState), not {type(solverState).__name__}.", "MATLAB:lbfgsupdate:InvalidState")
    rest, o = _options(args, kwargs, _UPDATE_OPTIONS)
    if rest:
        raise LayerGraphError("lbfgsupdate takes (net, lossFcn, solverState) and the name-value arguments "
                              "LineSearchMethod and MaxNumLineSearchIterations.", "MATLAB:TooManyInputs")
    method = str(o.get("LineSearchMethod", "weak-wolfe")).lower()
    if method not in SEARCHES:
        raise LayerGraphError(f"Invalid value for 'LineSearchMethod': {o.get('LineSearchMethod')!r}. Expected "
                              "\"weak-wolfe\", \"strong-wolfe\" or \"backtracking\".",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    budget = _positive(o.get("MaxNumLineSearchIterations", 20), "MaxNumLineSearchIterations", True)
    keys, arrays = _keys(net)
    if not keys:
        raise LayerGraphError("lbfgsupdate: the parameters have no learnable values to update.",
                              "MATLAB:lbfgsupdate:NoParameters")
    sizes = [a.size for a in arrays]
    bounds = np.cumsum([0] + sizes)
    x0 = np.concatenate([a.astype(np.float64).reshape(-1) for a in arrays])
    last = {}

    def build(x):
        return _updated(net, {k: x[b0:b1].reshape(a.shape).astype(a.dtype)
                              for k, a, b0, b1 in zip(keys, arrays, bounds[:-1], bounds[1:])})

    def fg(x):
        out = lossFcn(build(x))
        if not isinstance(out, (tuple, list)) or len(out) < 2:
            raise LayerGraphError("The loss function must return the loss and the gradients: [loss, gradients] = "
                                  "lossFcn(net).", "MATLAB:lbfgsupdate:InvalidLossFcnOutputs")
        loss, grads = out[0], out[1]
        value = np.asarray(_as_data(loss), dtype=np.float64)
        if value.size != 1:
            raise LayerGraphError(f"The loss function returned a loss of {value.size} elements; it must be a scalar.",
                                  "MATLAB:lbfgsupdate:InvalidLoss")
        if isinstance(net, DLNetwork):
            gs = _in_order(grads, keys, "lbfgsupdate", "grad")
        else:
            found = {k: a for k, a, _ in _items(grads)}
            missing = [k for k in keys if k not in found]
            if missing:
                raise LayerGraphError(f"lbfgsupdate: the gradients have no value for the learnable {missing[0]!r}. "
                                      "They must have the structure of the parameters.",
                                      "deep:solvers:GradientMismatch")
            gs = [found[k] for k in keys]
        g = np.concatenate([np.asarray(_as_data(v), dtype=np.float64).reshape(-1) for v in gs])
        if g.size != x.size:
            raise LayerGraphError(f"lbfgsupdate: the gradients have {g.size} elements; the parameters have {x.size}.",
                                  "deep:solvers:GradientMismatch")
        last[x.tobytes()] = (loss, grads)
        return float(value.reshape(-1)[0]), g

    point = solverState._point
    if point is not None and point[0].shape == x0.shape and np.array_equal(point[0], x0):
        f, g = point[1], point[2]   # the loss and gradients the last update ended with
        at_x0 = (solverState.Loss, solverState.Gradients)
    else:
        f, g = fg(x0)
        at_x0 = last[x0.tobytes()]
    memory = copy.copy(solverState._memory)
    memory.S, memory.Y = copy.copy(memory.S), copy.copy(memory.Y)
    x, f_new, g_new, _, _ = iterate(fg, x0, f, g, memory, method, budget)
    if x is None:   # no step: the parameters as they were
        return net, solverState._next((x0, f, g), *at_x0, "failed")
    new = build(x)
    loss, grads = last[x.tobytes()] if x.tobytes() in last else lossFcn(new)[:2]
    # the point as the parameters hold it (their type rounds x), where the loss and gradients are
    _, held = _keys(new)
    x_held = np.concatenate([a.astype(np.float64).reshape(-1) for a in held])
    state = solverState._next((x_held, f_new, g_new), loss, grads, "completed")
    state.__dict__["_memory"] = memory
    return new, state


__all__ = ["lbfgsState", "lbfgsupdate"]
