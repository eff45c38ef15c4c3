"""MATLAB's custom layers: ``nnet.layer.Layer`` (and the ``Formattable`` / ``Acceleratable``
mixins), ``nnet.layer.ClassificationLayer`` / ``RegressionLayer`` output layers with
``forwardLoss``, ``functionLayer``, ``networkDataLayout``, the learn-rate / L2 factor
functions, and the loss-function-handle Loss that trainnet uses.

A custom layer is a Python class::

    class preluLayer(nnet.layer.Layer):
        Learnable = ("Alpha",)          # MATLAB's properties (Learnable) block

        def __init__(self, numChannels, name):
            self.Name = name
            self.Description = f"PReLU with {numChannels} channels"
            self.Alpha = np.random.rand(1, 1, numChannels)

        def predict(self, X):
            return max(0, X) + self.Alpha * min(0, X)

In a layer array it becomes a core spec of family ``custom`` (layers/custom.py) whose op
(core/ops_custom.py) calls ``predict`` (``forward`` when training, if the class has one) on
dlarrays in MATLAB's layout (H x W x C x N, C x N; formatted 'SSCB' / 'CB' for a Formattable
layer, unformatted otherwise, as MATLAB gives them), traced on the core tape; the gradient is
the tape's unless the class defines ``backward``. See docs/custom_layers.md.
"""
from __future__ import annotations

import copy
import inspect
from types import SimpleNamespace

import numpy as np

from ..core.errors import LayerGraphError
from ..core.layer import Layer as CoreLayer
from ..core.ops_custom import from_matlab, to_matlab, traced
from ..core.size import Size
from ..layers.custom import CustomClassificationLayer, CustomLayer, CustomRegressionLayer, custom_class
from ..train.losses import CrossEntropy, HalfMeanSquared, Loss
from .dlarray import dlarray


# -- dlarrays on the tape ----------------------------------------------------------------------
def _wrap(fmt):
    def wrap(a, tape, key):
        x = dlarray._new(a, fmt)
        x._key, x._tape = key, tape
        return x
    return wrap


def _unwrap(r):
    if isinstance(r, dlarray):
        return r._data, r._key, r._tape
    return np.asarray(r), None, None


def _data(r) -> np.ndarray:
    return r._data if isinstance(r, dlarray) else np.asarray(r)


# -- networkDataLayout -------------------------------------------------------------------------
class networkDataLayout:  # noqa: N801 -- MATLAB's class name
    """``networkDataLayout(Size, Format)``: the size (NaN for the observations) and the format
    of data a layer gets; ``finddim(layout, "C")`` works on it."""

    def __init__(self, Size, Format=""):
        self.Size = [float(s) if s != s else int(s) for s in np.atleast_1d(np.asarray(Size, dtype=float))]
        self.Format = str(Format)
        if self.Format and len(self.Format) != len(self.Size):
            raise LayerGraphError(f"The format '{self.Format}' must have one label per dimension of the size "
                                  f"({len(self.Size)}).", "deep:networkDataLayout:InvalidFormat")

    @property
    def _fmt(self):
        return self.Format

    def __repr__(self):
        size = "[" + " ".join("NaN" if isinstance(s, float) else str(s) for s in self.Size) + "]"
        return f"  networkDataLayout with properties:\n\n      Size: {size}\n    Format: '{self.Format}'\n"


def _layout_of(size: Size) -> networkDataLayout:
    return networkDataLayout([*size.dims, float("nan")], size.format + "B")


# -- the user's base classes ---------------------------------------------------------------------
class Formattable:
    """``nnet.layer.Formattable``: predict gets formatted dlarrays ('SSCB', 'CB')."""


class Acceleratable:
    """``nnet.layer.Acceleratable``: accepted; layergraph does not cache traces."""


class _Base:
    Learnable: tuple = ()
    State: tuple = ()
    Name = ""
    Description = ""
    Type = ""
    NumInputs = 1
    NumOutputs = 1
    _spec_base = CustomLayer

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for block in ("Learnable", "State"):
            names = getattr(cls, block)
            if isinstance(names, str):
                names = (names,)
            setattr(cls, block, tuple(names))
            for n in getattr(cls, block):
                if not isinstance(n, str) or not n.isidentifier():
                    raise LayerGraphError(f"Invalid {block} declaration in class {cls.__name__}: {n!r} is not a "
                                          "property name.", "MATLAB:class:InvalidProperty")
                if n not in cls.__dict__:
                    setattr(cls, n, None)
        both = set(cls.Learnable) & set(cls.State)
        if both:
            raise LayerGraphError(f"Invalid property declaration in class {cls.__name__}: {', '.join(sorted(both))} "
                                  "cannot be both Learnable and State.", "MATLAB:class:InvalidProperty")

    # MATLAB's inherited properties
    @property
    def InputNames(self):
        names = self.__dict__.get("InputNames")
        if names is not None:
            return list(names)
        n = int(self.NumInputs)
        return ["in"] if n == 1 else [f"in{i + 1}" for i in range(n)]

    @InputNames.setter
    def InputNames(self, names):
        self.__dict__["InputNames"] = [names] if isinstance(names, str) else list(names)
        self.__dict__["NumInputs"] = len(self.__dict__["InputNames"])

    @property
    def OutputNames(self):
        names = self.__dict__.get("OutputNames")
        if names is not None:
            return list(names)
        n = int(self.NumOutputs)
        return ["out"] if n == 1 else [f"out{i + 1}" for i in range(n)]

    @OutputNames.setter
    def OutputNames(self, names):
        self.__dict__["OutputNames"] = [names] if isinstance(names, str) else list(names)
        self.__dict__["NumOutputs"] = len(self.__dict__["OutputNames"])

    # factors (MATLAB's setLearnRateFactor(layer, name, f) on a custom layer)
    def _factor(self, which, name, value=None):
        if name not in type(self).Learnable:
            raise LayerGraphError(f"Layer '{self.Name}' has no learnable parameter '{name}'. Learnable parameters: "
                                  f"{', '.join(type(self).Learnable) or 'none'}.",
                                  "nnet_cnn:layer:Layer:InvalidLearnableParameter")
        factors = dict(self.__dict__.get("_factors", {}))
        if value is None:
            return factors.get((which, name), 1.0)
        v = np.asarray(value, dtype=float)
        if v.size != 1 or not np.isfinite(v) or v < 0:
            raise LayerGraphError(f"Invalid {which} factor for '{name}': expected a nonnegative scalar.",
                                  "MATLAB:validators:mustBeNonnegative")
        new = copy.copy(self)
        factors[(which, name)] = float(v)
        new.__dict__["_factors"] = factors
        return new

    def setLearnRateFactor(self, name, factor):
        return self._factor("LearnRate", name, factor)

    def getLearnRateFactor(self, name):
        return self._factor("LearnRate", name)

    def setL2Factor(self, name, factor):
        return self._factor("L2", name, factor)

    def getL2Factor(self, name):
        return self._factor("L2", name)

    # the core spec
    def core_spec(self):
        cls = type(self)
        type_name = str(self.Type) if self.Type else cls.__name__
        spec_cls = custom_class(cls.__name__, type_name, cls.Learnable, cls._spec_base, cls.State)
        values, fields = {}, {}
        for n in cls.State:
            v = getattr(self, n)
            v = v._data if isinstance(v, dlarray) else v
            values[n] = None if v is None else np.asarray(v)
        for n in cls.Learnable:
            v = getattr(self, n)
            if isinstance(v, dlarray):
                v = v._data
            values[n] = None if v is None else np.asarray(v)
            fields[n + "LearnRateFactor"] = self.getLearnRateFactor(n)
            fields[n + "L2Factor"] = self.getL2Factor(n)
        if "Classes" in spec_cls.model_fields and self.__dict__.get("Classes", "auto") != "auto":
            fields["Classes"] = self.Classes
        template = copy.copy(self)
        for n in cls.Learnable + cls.State:
            template.__dict__[n] = None
        try:
            return spec_cls(Name=str(self.Name), Description=str(self.Description), impl=_Impl(template),
                            **fields, **values)
        except LayerGraphError as err:
            raise LayerGraphError(f"Layer '{self.Name}' ({cls.__name__}): {err}", err.identifier) from None

    def __repr__(self):
        return str(self.core_spec())


class Layer(_Base):
    """``nnet.layer.Layer``: subclass it, declare ``Learnable = ("Alpha", ...)``, define
    ``predict(self, X1, ..., Xn)`` and optionally ``forward`` (returns Z1..Zm, optionally
    followed by a memory value), ``backward(self, X1..Xn, Z1..Zm, dLdZ1..dLdZm, memory)``
    returning dLdX1..dLdXn, dLdW1..dLdWk (learnables in declaration order), and
    ``initialize(self, layout)`` (sets empty learnables from a networkDataLayout)."""


class ClassificationLayer(_Base):
    """``nnet.layer.ClassificationLayer``: define ``forwardLoss(self, Y, T)`` (and optionally
    ``backwardLoss(self, Y, T)``); Y and T are K x N (features) or 1 x 1 x K x N (images)."""
    _spec_base = CustomClassificationLayer
    NumOutputs = 0
    Classes = "auto"


class RegressionLayer(_Base):
    """``nnet.layer.RegressionLayer``: define ``forwardLoss(self, Y, T)``."""
    _spec_base = CustomRegressionLayer
    NumOutputs = 0


nnet = SimpleNamespace(layer=SimpleNamespace(Layer=Layer, Formattable=Formattable, Acceleratable=Acceleratable,
                                             ClassificationLayer=ClassificationLayer,
                                             RegressionLayer=RegressionLayer))


def _defines(obj, name) -> bool:
    for klass in type(obj).__mro__:
        if klass in (_Base, Layer, ClassificationLayer, RegressionLayer, object):
            return False
        if name in klass.__dict__:
            return True
    return False


def _user_error(spec, method, err):
    return LayerGraphError(f"Layer '{spec.Name}': Error using '{method}' in layer {spec.class_name}. The function "
                           f"threw an error and could not be executed: {type(err).__name__}: {err}",
                           "nnet_cnn:internal:cnn:layer:CustomLayer:FunctionError")


class _Impl:
    """The MATLAB dialect's side of a custom spec (layers/custom.py's ``impl``)."""

    layout = "matlab"

    def __init__(self, template):
        self.template = template

    @property
    def input_names(self):
        return self.template.InputNames

    @property
    def output_names(self):
        return self.template.OutputNames

    def user(self, spec):
        obj = copy.copy(self.template)
        for n, v in {**spec.learnable_values(), **spec.state_values()}.items():
            obj.__dict__[n] = v
        obj.__dict__["Name"] = spec.Name
        return obj

    @property
    def formattable(self):
        return isinstance(self.template, Formattable)

    # -- sizes ------------------------------------------------------------------------------
    def infer(self, spec, sizes):
        obj = self.user(spec)
        names = type(obj).Learnable
        states = type(obj).State
        if any(getattr(obj, n) is None for n in names + states) and _defines(obj, "initialize"):
            try:
                got = obj.initialize(*[_layout_of(s) for s in sizes])
            except LayerGraphError:
                raise
            except Exception as err:  # noqa: BLE001 -- the user's code
                raise _user_error(spec, "initialize", err) from None
            obj = got if isinstance(got, _Base) else obj
        values = {}
        for n in names:
            v = getattr(obj, n)
            if v is None or np.size(_data(v)) == 0:
                raise LayerGraphError(
                    f"Layer '{spec.Name}': Learnable parameter '{n}' is empty. Set '{n}' in the layer's constructor, "
                    "or define an initialize function that sets it.",
                    "nnet_cnn:internal:cnn:layer:CustomLayer:EmptyLearnable")
            values[n] = np.asarray(_data(v))
        for n in states:
            v = getattr(obj, n)
            if v is None or np.size(_data(v)) == 0:
                raise LayerGraphError(
                    f"Layer '{spec.Name}': State parameter '{n}' is empty. Set '{n}' in the layer's constructor, "
                    "or define an initialize function that sets it.",
                    "nnet_cnn:internal:cnn:layer:CustomLayer:EmptyState")
            values[n] = np.asarray(_data(v))
        sized = spec._resolved_copy(**values)
        gen = np.random.default_rng(0)
        n_obs = 2
        xs = [gen.standard_normal((*s.dims, n_obs)).astype(np.float32) for s in sizes]
        fmts = ["SSCB" if s.is_image else "CB" for s in sizes]
        ys, _ = self.run(sized, xs, fmts, {k: v.astype(np.float32) for k, v in values.items()}, False, probe=True)
        outs = []
        for i, y in enumerate(ys[:len(ys) - len(states)]):
            shape = np.shape(y)
            if len(shape) == 4 or (len(shape) == 3 and sizes and sizes[0].is_image):
                obs = shape[3] if len(shape) == 4 else 1
                size = Size(tuple(int(d) for d in shape[:2]), int(shape[2]))
            elif len(shape) == 2:
                obs, size = shape[1], Size((), int(shape[0]))
            else:
                obs, size = None, None
            if obs != n_obs:
                dim = "4" if sizes and sizes[0].is_image else "2"
                raise LayerGraphError(
                    f"Layer '{spec.Name}': Invalid output {i + 1} of predict: for input of size "
                    f"{'×'.join(map(str, xs[0].shape))} it returned size {'×'.join(map(str, shape))}. The output must "
                    f"have the same number of observations (dimension {dim}) as the input.",
                    "nnet_cnn:internal:cnn:layer:CustomLayer:PredictOutputSizeMismatch")
            outs.append(size)
        if spec.is_output:
            return sized, []
        return sized, outs

    # -- evaluation ------------------------------------------------------------------------------
    def run(self, spec, xs, fmts, P, training, probe=False):
        names = type(self.template).Learnable
        states = type(self.template).State
        n_in = len(xs)
        obj0 = self.user(spec)
        method = "forward" if training and _defines(obj0, "forward") else "predict"
        n_out = len(self.template.OutputNames)
        hand = _defines(obj0, "backward") and not probe
        fmts = fmts if self.formattable else [""] * n_in
        memory = [None]

        def call(*args):
            obj = copy.copy(obj0)
            for n, a in zip(names, args[n_in:]):
                obj.__dict__[n] = a
            for n in states:   # the stored values, untraced (not differentiated)
                obj.__dict__[n] = dlarray._new(np.asarray(P[n]), "")
            try:
                out = getattr(obj, method)(*args[:n_in])
            except LayerGraphError:
                raise
            except Exception as err:  # noqa: BLE001 -- the user's code
                raise _user_error(spec, method, err) from None
            out = list(out) if isinstance(out, (tuple, list)) else [out]
            if method == "forward" and len(out) == n_out + len(states) + 1:
                memory[0] = out.pop()
            if len(out) != n_out + len(states):
                what = f"{n_out} (NumOutputs)" if not states else \
                    f"{n_out} (NumOutputs) followed by the {len(states)} updated state values ({', '.join(states)})"
                raise LayerGraphError(f"Layer '{spec.Name}': {method} returned {len(out)} outputs; the layer has "
                                      f"{what}.", "nnet_cnn:internal:cnn:layer:CustomLayer:NumOutputs")
            # the updated state: values, not on the tape
            return out[:n_out] + [np.asarray(_data(v)) for v in out[n_out:]]

        params = [np.asarray(P[n]) for n in names]
        wraps = iter([_wrap(f) for f in fmts] + [_wrap("")] * len(names))   # traced wraps the arrays in order
        ys, vjp = traced(call, [np.asarray(x) for x in xs] + params, lambda a, t, k: next(wraps)(a, t, k), _unwrap)
        if hand:
            def vjp(dys):  # noqa: F811 -- the user's backward replaces the tape's
                obj = copy.copy(obj0)   # dlarrays (untraced, formatted as predict's) as MATLAB passes them
                for n, a in zip(names, params):
                    obj.__dict__[n] = dlarray._new(a, "")
                for n in states:
                    obj.__dict__[n] = dlarray._new(np.asarray(P[n]), "")
                zs, dzs = list(ys[:n_out]), list(dys[:n_out])   # the layer's outputs (not the updated state)
                args = [dlarray._new(np.asarray(a), f) for a, f in zip(list(xs) + zs + dzs,
                                                                      list(fmts) + [""] * (2 * n_out))]
                try:
                    got = obj.backward(*args, memory[0])
                except Exception as err:  # noqa: BLE001 -- the user's code
                    raise _user_error(spec, "backward", err) from None
                got = list(got) if isinstance(got, (tuple, list)) else [got]
                if len(got) != n_in + len(names):
                    raise LayerGraphError(f"Layer '{spec.Name}': backward returned {len(got)} values; it must return "
                                          f"{n_in} input derivatives and {len(names)} learnable derivatives.",
                                          "nnet_cnn:internal:cnn:layer:CustomLayer:BackwardOutputs")
                return [np.asarray(_data(g)) for g in got]
        if probe:
            return ys, None

        def split(dys):
            grads = vjp(dys)
            return grads[:n_in], dict(zip(names, grads[n_in:]))
        return ys, split

    # -- output layers ------------------------------------------------------------------------
    def loss(self, spec):
        obj = self.user(spec)
        metric = CrossEntropy() if spec.family == "crossentropyex" else HalfMeanSquared()
        hand = getattr(obj, "backwardLoss", None) if _defines(obj, "backwardLoss") else None
        return FunctionLoss(lambda Y, T: _call_loss(spec, obj.forwardLoss, Y, T), formatted=False, metric_from=metric,
                            backward=None if hand is None else (lambda Y, T: _call_loss(spec, hand, Y, T)))


def _call_loss(spec, fn, Y, T):
    try:
        return fn(Y, T)
    except LayerGraphError:
        raise
    except Exception as err:  # noqa: BLE001 -- the user's code
        raise _user_error(spec, getattr(fn, "__name__", "forwardLoss"), err) from None


class FunctionLoss(Loss):
    """A loss given as a function ``loss = f(Y, T)`` of dlarrays in MATLAB's layout (trainnet's
    function handle; a custom output layer's forwardLoss): the value, and dL/dY from the tape
    (or from ``backward(Y, T)``). ``formatted``: Y and T carry 'CB' / 'SSCB' (trainnet) or not
    (output layers, as MATLAB gives them)."""

    name = "custom"

    def __init__(self, fn, formatted=True, metric_from: Loss | None = None, backward=None):
        self.fn, self.formatted, self.metric_from, self.backward = fn, formatted, metric_from, backward
        self.metric_name = None if metric_from is None else metric_from.metric_name

    def __call__(self, y, t):
        yv, fmt = to_matlab(y)
        tv, _ = to_matlab(np.asarray(t, dtype=y.dtype).reshape(y.shape))
        fmt = fmt if self.formatted else ""
        T = dlarray._new(tv, fmt)
        if self.backward is not None:
            value = self.fn(dlarray._new(yv, fmt), T)
            g = _data(self.backward(dlarray._new(yv, fmt), T))
        else:
            out = []
            (value,), vjp = traced(lambda Y: out.append(self.fn(Y, T)) or out[0], [yv], _wrap(fmt), _unwrap)
            if not isinstance(out[0], dlarray) or out[0]._key is None:
                raise LayerGraphError("Value to differentiate is not traced. The loss function must return a dlarray "
                                      "scalar computed from its inputs (Y, T) with dlarray functions; it returned "
                                      f"{type(out[0]).__name__}.", "deep:dlgradient:NotTraced")
            g = vjp([np.ones_like(value)])[0]
        value = np.asarray(value)
        if value.size != 1:
            raise LayerGraphError(f"The loss function must return a scalar; it returned an array of size "
                                  f"{'×'.join(map(str, value.shape))}.", "nnet_cnn:trainnet:InvalidLossValue")
        grad = from_matlab(np.asarray(g, dtype=y.dtype).reshape(yv.shape), y.ndim == 4).reshape(y.shape)
        return float(value.reshape(-1)[0]), np.ascontiguousarray(grad, dtype=y.dtype)

    def metric(self, y, t, loss):
        return None if self.metric_from is None else self.metric_from.metric(y, t, loss)


# -- functionLayer ---------------------------------------------------------------------------------
class FunctionLayer(Layer):
    """``functionLayer(fun, ...)``: a layer that applies ``fun`` (no learnables)."""

    def predict(self, *X):
        return self.PredictFcn(*X)


def _fcn_text(fun) -> str:
    try:
        src = inspect.getsource(fun).strip()
    except (OSError, TypeError):
        src = ""
    if "lambda" in src and getattr(fun, "__name__", "") == "<lambda>":
        body = src[src.index("lambda"):]
        depth, end = 0, len(body)
        for i, ch in enumerate(body):
            depth += ch in "([{"
            depth -= ch in ")]}"
            if depth < 0 or (depth == 0 and ch == "," and i > 0):
                end = i
                break
        return "@" + body[:end].strip()
    return "@" + getattr(fun, "__name__", "fun")


def functionLayer(fun, *args, **kw):
    """``functionLayer(fun, 'Name', n, 'NumInputs', k, 'NumOutputs', m, 'InputNames', .., 'OutputNames',
    .., 'Description', d, 'Formattable', tf, 'Acceleratable', tf)``."""
    from .args import parse
    names = ["Name", "NumInputs", "NumOutputs", "InputNames", "OutputNames", "Description", "Formattable",
             "Acceleratable"]
    if not callable(fun):
        raise LayerGraphError("Invalid value for 'fun': expected a function handle.",
                              "MATLAB:validators:mustBeA")
    o = parse("functionLayer", args, kw, (), 0, names)
    formattable = bool(o.get("Formattable", False))
    cls = _FormattableFunctionLayer if formattable else FunctionLayer
    layer = cls()
    layer.PredictFcn = fun
    layer.Formattable = formattable
    layer.Acceleratable = bool(o.get("Acceleratable", False))
    layer.Name = str(o.get("Name", ""))
    if "NumInputs" in o:
        layer.NumInputs = int(o["NumInputs"])
    if "NumOutputs" in o:
        layer.NumOutputs = int(o["NumOutputs"])
    if "InputNames" in o:
        layer.InputNames = o["InputNames"]
    if "OutputNames" in o:
        layer.OutputNames = o["OutputNames"]
    layer.Description = str(o.get("Description", _fcn_text(fun)))
    layer.Type = "Function"
    return layer


class _FormattableFunctionLayer(FunctionLayer, Formattable):
    pass


def _function_layer_display(layer) -> str:
    return ("  FunctionLayer with properties:\n\n"
            f"             Name: '{layer.Name}'\n"
            f"       PredictFcn: {_fcn_text(layer.PredictFcn)}\n"
            f"      Formattable: {int(layer.Formattable)}\n"
            f"    Acceleratable: {int(layer.Acceleratable)}\n\n"
            "   Learnable Parameters\n    No properties.\n\n"
            "   State Parameters\n    No properties.\n\n"
            "  Show all properties\n")


FunctionLayer.__repr__ = _function_layer_display
FunctionLayer.__str__ = _function_layer_display


# -- factors on layers -----------------------------------------------------------------------------
def _core_factor(layer: CoreLayer, which, name, value=None):
    spec = next((s for s in layer.learnables if s.name == name), None)
    if spec is None:
        raise LayerGraphError(f"Layer '{layer.Name}' has no learnable parameter '{name}'. Learnable parameters: "
                              f"{', '.join(s.name for s in layer.learnables) or 'none'}.",
                              "nnet_cnn:layer:Layer:InvalidLearnableParameter")
    prop = spec.learn_rate if which == "LearnRate" else spec.l2
    if value is None:
        return getattr(layer, prop)
    new = layer.model_copy()
    setattr(new, prop, value)
    return new


def _factor_fn(which, setter):
    def fn(obj, *args):
        if isinstance(obj, (_Base, CoreLayer)) and len(args) != (2 if setter else 1):
            raise LayerGraphError(f"{'set' if setter else 'get'}{which}Factor(layer, parameterName"
                                  f"{', factor' if setter else ''}).", "MATLAB:narginchk:notEnoughInputs")
        if isinstance(obj, _Base):
            return obj._factor(which, *args)
        if isinstance(obj, CoreLayer):
            return _core_factor(obj, which, *args)
        method = getattr(obj, f"{'set' if setter else 'get'}{which}Factor", None)   # a dlnetwork
        if method is None:
            raise LayerGraphError(f"Invalid first argument: expected a layer or a dlnetwork, not "
                                  f"{type(obj).__name__}.", "MATLAB:validators:mustBeA")
        return method(*args)
    fn.__name__ = f"{'set' if setter else 'get'}{which}Factor"
    fn.__doc__ = f"MATLAB's {fn.__name__} on a layer (built-in or custom) or a dlnetwork."
    return fn


setLearnRateFactor = _factor_fn("LearnRate", True)
getLearnRateFactor = _factor_fn("LearnRate", False)
setL2Factor = _factor_fn("L2", True)
getL2Factor = _factor_fn("L2", False)


__all__ = ["nnet", "functionLayer", "networkDataLayout", "setLearnRateFactor", "getLearnRateFactor", "setL2Factor",
           "getL2Factor"]
