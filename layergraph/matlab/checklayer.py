"""MATLAB's checkLayer for custom layers (matlab/custom.py) and function layers.

``checkLayer(layer, validInputSize, ObservationDimension=4)`` runs the layer's functions
the way a network runs them (the custom op's ``impl.run``: the same tape, the same
hand-written backward) on generated data of ``validInputSize`` and checks: the declared
learnables (declared names that are set, or an initialize function that sets them), that
predict / forward / backward run, that their outputs are consistent in size and data type
(single in, single out; double in, double out), that forward and predict agree in size, and
that the gradients (the tape's or backward's) match float64 central finite differences of
the projection sum(Z .* R) for a random R, for the inputs and every learnable. With
``ObservationDimension`` the checks run for one and for two observations, and the output
must keep the observations. It prints a summary in MATLAB's form and returns the results.
Test names are MATLAB's where a source shows them (docs/custom_layers.md; others are ours).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import LayerGraphError
from ..core.size import Size
from .args import parse
from .custom import _Base, _defines, _Impl


@dataclass
class TestResult:
    Name: str
    Passed: bool
    Failed: bool
    Incomplete: bool
    Details: str = ""


TestResult.__test__ = False


class CheckLayerResults(list):
    """The results of checkLayer (one TestResult per test run)."""

    @property
    def Passed(self) -> int:
        return sum(r.Passed for r in self)

    @property
    def Failed(self) -> int:
        return sum(r.Failed for r in self)

    def failures(self) -> list[str]:
        return [r.Name for r in self if r.Failed]


def _sizes(validInputSize, n_in):
    sizes = validInputSize if n_in > 1 else [validInputSize]
    if n_in > 1 and (not isinstance(validInputSize, (list, tuple)) or len(validInputSize) != n_in
                     or not all(isinstance(s, (list, tuple, np.ndarray)) for s in validInputSize)):
        raise LayerGraphError(f"validInputSize must be a cell array (list) of {n_in} sizes, one per layer input.",
                              "nnet_cnn:checkLayer:InvalidInputSize")
    out = []
    for s in sizes:
        s = [int(v) for v in np.atleast_1d(np.asarray(s))]
        if not s or any(v < 1 for v in s):
            raise LayerGraphError(f"Invalid validInputSize {s}: expected a vector of positive integers.",
                                  "nnet_cnn:checkLayer:InvalidInputSize")
        out.append(s)
    return out


def checkLayer(layer, validInputSize, *args, **kw):
    """checkLayer(layer, validInputSize, 'ObservationDimension', dim): see the module docstring."""
    o = parse("checkLayer", args, kw, (), 0, ["ObservationDimension", "CheckCodegenCompatibility"])
    if not isinstance(layer, _Base):
        raise LayerGraphError("checkLayer checks custom layers (subclasses of nnet.layer.Layer) and function layers; "
                              f"received {type(layer).__name__}.", "nnet_cnn:checkLayer:InvalidLayer")
    from .custom import Formattable
    if isinstance(layer, Formattable):
        raise LayerGraphError("The validInputSize syntax of checkLayer does not support layers that inherit from the "
                              "nnet.layer.Formattable class.", "nnet_cnn:checkLayer:FormattableNotSupported")
    t0 = time.perf_counter()
    spec = layer.core_spec()
    impl: _Impl = spec.impl
    n_in = len(layer.InputNames)
    sizes = _sizes(validInputSize, n_in)
    obs_dim = o.get("ObservationDimension")
    lines = []
    if obs_dim is None:
        lines += ["Skipping multi-observation tests. To enable tests with multiple observations, specify the "
                  "'ObservationDimension' option.",
                  "For 2-D image data, set 'ObservationDimension' to 4.",
                  "For 3-D image data, set 'ObservationDimension' to 5.",
                  "For sequence data, set 'ObservationDimension' to 2.", " "]
    else:
        obs_dim = int(obs_dim)
        if obs_dim != len(sizes[0]) + 1:
            raise LayerGraphError(f"ObservationDimension {obs_dim} is not supported for inputs of size "
                                  f"{sizes[0]}: layergraph's layers take observations after the data dimensions "
                                  f"(ObservationDimension {len(sizes[0]) + 1}).",
                                  "nnet_cnn:checkLayer:InvalidObservationDimension")
    if not _defines(layer, "initialize"):
        lines += ["Skipping initialization tests. The layer does not have an initialize function.", " "]
    lines += ["Skipping GPU tests. No compatible GPU device found.", " ",
              "Skipping code generation compatibility tests. To check validity of the layer for code generation, "
              "specify the 'CheckCodegenCompatibility' and 'ObservationDimension' options.", " "]
    hand = _defines(layer, "backward")
    suite = "nnet.checklayer.TestLayerWithBackward" if hand else "nnet.checklayer.TestLayerWithoutBackward"
    results = CheckLayerResults()
    failures = []
    skipped = 2 + (obs_dim is None) * 8   # GPU and code generation (and the multi-observation variants)

    def record(name, fn):
        try:
            fn()
        except AssertionError as err:
            results.append(TestResult(name, False, True, False, str(err)))
            failures.append((name, str(err)))
        except Exception as err:  # noqa: BLE001 -- the user's code failing is a failed test
            results.append(TestResult(name, False, True, False, f"{type(err).__name__}: {err}"))
            failures.append((name, f"{type(err).__name__}: {err}"))
        else:
            results.append(TestResult(name, True, False, False))

    # -- the declared learnables, the sizes ---------------------------------------------------
    state = {}

    def syntaxes():
        for fn in ("predict",) + (("forward",) if _defines(layer, "forward") else ()) + \
                (("backward",) if hand else ()):
            if not callable(getattr(layer, fn, None)):
                raise AssertionError(f"The layer's {fn} is not a method.")
        for n in type(layer).Learnable:
            if getattr(layer, n, None) is None and not _defines(layer, "initialize"):
                raise AssertionError(f"Learnable parameter '{n}' is declared but empty, and the layer has no "
                                     "initialize function to set it.")
        sized, outs = impl.infer(spec, [Size(tuple(s[:-1]), s[-1]) for s in sizes])
        state["spec"], state["outs"] = sized, outs

    record("functionSyntaxesAreCorrect", syntaxes)
    if "spec" not in state:
        return _finish(lines, suite, results, failures, skipped, t0)
    sized = state["spec"]
    names = [s.name for s in sized.learnables]
    gen = np.random.default_rng(0)
    counts = [1] if obs_dim is None else [1, 2]
    for n_obs in counts:
        tag = "" if n_obs == 1 else "(multi-observation)"

        def data(dtype, n_obs=n_obs):
            return [gen.standard_normal(tuple(s) + ((n_obs,) if obs_dim is not None else ())).astype(dtype)
                    for s in sizes]
        fmts = ["SSCB"[-(len(s) + 1):] if len(s) == 3 else "CB" for s in sizes]

        def params(dtype):
            values = {**sized.learnable_values(), **sized.state_values()}
            return {n: np.asarray(values[n], dtype=dtype) for n in names + list(sized.states)}

        def run(training, dtype, xs=None, P=None):
            """(xs, (the layer's outputs, vjp)): a layer with State returns the updated values after
            its outputs (core/ops_custom.py takes them off; so does this check)."""
            xs = data(dtype) if xs is None else xs
            ys, vjp = impl.run(sized, xs, fmts, params(dtype) if P is None else P, training)
            return xs, (ys[:len(ys) - len(sized.states)], vjp)

        def predict_ok():
            run(False, np.float32)

        def obs_kept(ys, xs):
            if obs_dim is None:
                return
            for y in ys:
                got = np.shape(y)[obs_dim - 1] if np.ndim(y) >= obs_dim else 1
                if got != n_obs:
                    raise AssertionError(f"The output has size {'×'.join(map(str, np.shape(y)))}: {got} "
                                         f"observations (dimension {obs_dim}) for an input of {n_obs}.")

        def predict_size():
            xs, (ys, _) = run(False, np.float32)
            obs_kept(ys, xs)

        def types(training):
            def check():
                for dtype in (np.float32, np.float64):
                    _, (ys, _) = run(training, dtype)
                    for y in ys:
                        if np.asarray(y).dtype != dtype:
                            raise AssertionError(f"Input of type {np.dtype(dtype).name} gave an output of type "
                                                 f"{np.asarray(y).dtype.name}.")
            return check

        def consistent():
            xs = data(np.float32)
            _, (yp, _) = run(False, np.float32, xs)
            _, (yf, _) = run(True, np.float32, xs)
            for a, b in zip(yp, yf):
                if np.shape(a) != np.shape(b):
                    raise AssertionError(f"forward's output has size {np.shape(b)}, predict's {np.shape(a)}.")

        def backward_runs():
            xs, (ys, vjp) = run(True, np.float32)
            dxs, dps = vjp([np.ones_like(np.asarray(y)) for y in ys])
            for x, g in zip(xs, dxs):
                if np.shape(g) != x.shape and np.size(g) != x.size:
                    raise AssertionError(f"A derivative with respect to an input has size {np.shape(g)}; the input "
                                         f"has size {x.shape}.")
            for n in names:
                if np.size(dps[n]) != np.size(sized.learnable_values()[n]):
                    raise AssertionError(f"The derivative with respect to '{n}' has size {np.shape(dps[n])}; '{n}' "
                                         f"has size {np.shape(sized.learnable_values()[n])}.")

        def backward_types():
            for dtype in (np.float32, np.float64):
                _, (ys, vjp) = run(True, dtype)
                dxs, dps = vjp([np.ones_like(np.asarray(y)) for y in ys])
                for what, g in [(f"input {i + 1}", g) for i, g in enumerate(dxs)] + list(dps.items()):
                    if np.asarray(g).dtype != dtype:
                        raise AssertionError(f"For data of type {np.dtype(dtype).name}, the derivative with respect "
                                             f"to {what} has type {np.asarray(g).dtype.name}.")

        def gradients():
            xs = data(np.float64)
            P = params(np.float64)
            _, (ys, vjp) = run(True, np.float64, xs, P)
            R = [gen.standard_normal(np.shape(y)) for y in ys]
            dxs, dps = vjp(R)
            arrays = [(f"input {i + 1}", x, dxs[i]) for i, x in enumerate(xs)] + \
                [(f"learnable '{n}'", P[n], dps[n]) for n in names]
            h = 1e-6
            for what, a, g in arrays:
                g = np.asarray(g).reshape(a.shape)
                for idx in gen.choice(a.size, size=min(a.size, 12), replace=False):
                    flat = a.reshape(-1)
                    keep = flat[idx]
                    flat[idx] = keep + h
                    up = sum(float(np.sum(np.asarray(y) * r)) for y, r in zip(impl.run(sized, xs, fmts, P, True)[0],
                                                                                R))
                    flat[idx] = keep - h
                    dn = sum(float(np.sum(np.asarray(y) * r)) for y, r in zip(impl.run(sized, xs, fmts, P, True)[0],
                                                                                R))
                    flat[idx] = keep
                    fd = (up - dn) / (2 * h)
                    got = float(g.reshape(-1)[idx])
                    if abs(fd - got) > 1e-6 + 1e-4 * max(abs(fd), abs(got)):
                        raise AssertionError(f"The derivative with respect to {what} at element {idx + 1} is "
                                             f"{got:.6g}; finite differences give {fd:.6g}.")

        record("predictDoesNotError" + tag, predict_ok)
        record("predictReturnsValidSize" + tag, predict_size)
        record("predictIsConsistentInType" + tag, types(False))
        if _defines(layer, "forward"):
            record("forwardDoesNotError" + tag, lambda: run(True, np.float32))
            record("forwardPredictAreConsistentInSize" + tag, consistent)
            record("forwardIsConsistentInType" + tag, types(True))
        else:
            skipped += 3
        record("backwardDoesNotError" + tag if hand else "backwardPropagationDoesNotError" + tag, backward_runs)
        record("backwardIsConsistentInDataType" + tag, backward_types)
        record("gradientsAreNumericallyCorrect" + tag, gradients)
    return _finish(lines, suite, results, failures, skipped, t0)


def _finish(lines, suite, results, failures, skipped, t0):
    lines.append(f"Running {suite}")
    dots = "".join("." if r.Passed else "F" for r in results)
    lines.append(" ".join(dots[i:i + 10] for i in range(0, len(dots), 10)))
    for name, detail in failures:
        lines += ["=" * 80, f"Verification failed in {suite}/{name}.", "    " + detail, "=" * 80]
    lines += [f"Done {suite}", "__________", ""]
    if failures:
        lines += ["Failure Summary:", "",
                  "     Name" + " " * 60 + "Failed  Incomplete  Reason(s)",
                  "    " + "=" * 100]
        for name, _ in failures:
            lines.append(f"     {suite}/{name}".ljust(70) + "  X                 Failed by verification.")
        lines.append("")
    lines += ["Test Summary:",
              f"\t {results.Passed} Passed, {results.Failed} Failed, 0 Incomplete, {skipped} Skipped.",
              f"\t Time elapsed: {time.perf_counter() - t0:.5g} seconds."]
    print("\n".join(lines))
    return results


checkLayer.__test__ = False
