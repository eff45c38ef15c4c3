"""Layer specification base: a pydantic model that validates on construction and
on assignment, plus the metadata the graph, inference, display and kernels need.

Property names are MATLAB's (``Name``, ``NumChannels``, ``Epsilon``): MATLAB's
property set is the fuller of the two dialects, so it is the core's vocabulary;
the Wolfram dialect maps its options onto these through ``conventions.py``.
"""
from __future__ import annotations

import math

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, PrivateAttr, ValidationError, ValidationInfo

from .errors import LayerGraphError, brief
from .size import Size

AUTO = "auto"


class LearnableSpec(NamedTuple):
    """A learnable parameter and the properties that govern it."""

    name: str          # 'Weights'
    initializer: str   # 'WeightsInitializer'
    learn_rate: str    # 'WeightLearnRateFactor'
    l2: str            # 'WeightL2Factor'


class SizeError(Exception):
    """Raised by ``Layer.infer`` when an input size does not fit; the caller
    turns it into an issue that names the layer and the port."""

    def __init__(self, port: str, message: str):
        super().__init__(message)
        self.port = port
        self.message = message


# ----------------------------------------------------------------------------
# Value validators. Each raises ValueError with the allowed values in MATLAB's
# words; Layer turns the pydantic error into a LayerGraphError that also names
# the property, the class and the value given.

def _describe(value) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, np.ndarray):
        return f"array of size {'x'.join(map(str, value.shape)) or '1x1'}"
    if callable(value) and not hasattr(value, "__len__"):
        return f"function {getattr(value, '__name__', brief(value))!r}"
    return brief(value)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _as_scalar(value, what: str, field: str):
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if not _is_number(value):
        raise ValueError(f"Expected {field} to be {what}.")
    return value


def Scalar(lo=None, hi=None, *, lo_open=False, hi_open=False, integer=False, allow_inf=False, what=None):
    """A numeric scalar in a range (MATLAB validateattributes wording)."""
    parts = []
    if integer:
        parts.append("an integer scalar")
    else:
        parts.append("a numeric scalar")
    if lo is not None:
        parts.append(f"with value {'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(("and value " if lo is not None else "with value ") + f"{'<' if hi_open else '<='} {hi:g}")
    text = what or " ".join(parts)

    def check(value, info: ValidationInfo):
        field = info.field_name
        v = _as_scalar(value, text, field)
        if np.isnan(v) or (np.isinf(v) and not allow_inf):
            raise ValueError(f"Expected {field} to be {text}.")
        if integer and not np.isinf(v) and float(v) != int(v):
            raise ValueError(f"Expected {field} to be {text}.")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise ValueError(f"Expected {field} to be {text}.")
        if hi is not None and (v > hi or (hi_open and v == hi)):
            raise ValueError(f"Expected {field} to be {text}.")
        if integer and not np.isinf(v):
            return int(v)
        return float(v)

    return BeforeValidator(check)


def AutoOr(inner: BeforeValidator, what: str):
    """'auto' or whatever ``inner`` accepts."""

    def check(value, info: ValidationInfo):
        if isinstance(value, str):
            if value.lower() == AUTO:
                return AUTO
            raise ValueError(f"Expected {info.field_name} to be 'auto' or {what}.")
        try:
            return inner.func(value, info)
        except ValueError:
            raise ValueError(f"Expected {info.field_name} to be 'auto' or {what}.") from None

    return BeforeValidator(check)


def Vector(n: int, *, lo=1, integer=True, expand_scalar=True, what=None):
    """A row vector of ``n`` numbers; a scalar expands to ``[v v ...]`` as MATLAB does."""
    kind = "positive integers" if (integer and lo == 1) else ("nonnegative integers" if integer else "numbers")
    text = what or f"a scalar or a vector of {n} {kind}"

    def check(value, info: ValidationInfo):
        field = info.field_name
        arr = value
        if isinstance(value, str) or callable(value) and not isinstance(value, np.ndarray):
            raise ValueError(f"Expected {field} to be {text}.")
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"Expected {field} to be {text}.") from None
        if arr.ndim > 2 or (arr.ndim == 2 and min(arr.shape) != 1):  # a matrix is not a vector
            raise ValueError(f"Expected {field} to be {text}.")
        arr = arr.ravel()
        if arr.size == 1 and expand_scalar:
            arr = np.repeat(arr, n)
        if arr.size != n or not np.all(np.isfinite(arr)) or np.any(arr < lo):
            raise ValueError(f"Expected {field} to be {text}.")
        if integer:
            if np.any(arr != np.round(arr)):
                raise ValueError(f"Expected {field} to be {text}.")
            return tuple(int(v) for v in arr)
        return tuple(float(v) for v in arr)

    return BeforeValidator(check)


def Choice(*options: str, allow_callable: bool = False, allow_number: bool = False):
    """One of a fixed set of strings (case-insensitive, as MATLAB's validatestring),
    optionally a function handle (a Python callable) or a number."""
    listed = ", ".join(f"'{o}'" for o in options)
    extras = []
    if allow_number:
        extras.append("a numeric scalar")
    if allow_callable:
        extras.append("a function handle")
    text = listed + ("" if not extras else ", or " + " or ".join(extras))

    def check(value, info: ValidationInfo):
        field = info.field_name
        if isinstance(value, str):
            matches = [o for o in options if o.lower() == value.lower()]
            if not matches:
                matches = [o for o in options if o.lower().startswith(value.lower())] if value else []
            if len(matches) == 1:
                return matches[0]
            raise ValueError(f"Expected {field} to match one of these values: {text}.")
        if allow_callable and callable(value) and not isinstance(value, np.ndarray):
            return value
        if allow_number:
            try:
                v = _as_scalar(value, text, field)
            except ValueError:
                pass
            else:
                if np.isfinite(v):
                    return float(v)
        raise ValueError(f"Expected {field} to match one of these values: {text}.")

    return BeforeValidator(check)


def _check_name(value, info: ValidationInfo):
    if isinstance(value, np.str_):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("Expected Name to be a character vector or string scalar.")
    return value


NameStr = BeforeValidator(_check_name)


def _check_bool(value, info: ValidationInfo):
    if isinstance(value, (bool, np.bool_)) or (_is_number(value) and value in (0, 1)):
        return bool(value)
    raise ValueError(f"Expected {info.field_name} to be a logical scalar (true or false, 1 or 0).")


Logical = BeforeValidator(_check_bool)


def _check_array(value, info: ValidationInfo):
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return None
    if isinstance(value, str) or (callable(value) and not isinstance(value, np.ndarray)):
        raise ValueError(f"Expected {info.field_name} to be a numeric array.")
    try:
        arr = np.array(value)
    except (TypeError, ValueError):
        raise ValueError(f"Expected {info.field_name} to be a numeric array.") from None
    if arr.size == 0:
        return None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"Expected {info.field_name} to be a numeric array.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Expected {info.field_name} to be a numeric array with finite values.")
    arr = np.atleast_1d(arr)  # a MATLAB scalar is 1x1, never 0-D
    return arr.astype(arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64)


Array = BeforeValidator(_check_array)


# ----------------------------------------------------------------------------
# Arrays stored in the internal layout. A layer stores its learnables and state once, in the
# internal layout the kernels read (conventions.py); the MATLAB property of the same name
# (``layer.Weights``, FH x FW x C x F) converts on read and on assignment. Construction and
# assignment take MATLAB's layout (what MATLAB users give), validated as before; a dialect
# that has the internal array already passes it wrapped in ``Internal``; core code reads and
# writes the stored arrays with ``internal`` and ``_resolved_copy`` (no conversion).

class ArrayLayout(NamedTuple):
    """How a MATLAB array property maps to the stored internal array: ``to_internal(layer,
    matlab)`` and ``to_matlab(layer, internal)`` (MATLAB's full size; the shape the user gave,
    trailing or leading singletons included, is restored on read)."""

    to_internal: Callable
    to_matlab: Callable


class Internal(NamedTuple):
    """An array given in the internal layout (a dialect's build): stored as it is; the layer
    still checks its size (through the MATLAB view)."""

    array: Any


class Given(NamedTuple):
    """The form a MATLAB value was given in, restored on read: its shape (trailing or leading
    singletons: the user's 3x3x1 stays 3x3x1, a feature layer's C x 1 stays C x 1) and its
    memory order (a Fortran-ordered array reads back Fortran-ordered)."""

    shape: tuple
    fortran: bool = False

    @classmethod
    def of(cls, a: np.ndarray) -> "Given":
        return cls(tuple(a.shape), bool(a.flags.f_contiguous and not a.flags.c_contiguous))


class _Pending(NamedTuple):
    """A validated MATLAB-layout value between validation and the conversion that follows it."""

    array: np.ndarray


def _check_stored(value, info: ValidationInfo):
    if isinstance(value, Internal):
        arr = _check_array(value.array, info)
        return None if arr is None else np.ascontiguousarray(arr)
    arr = _check_array(value, info)
    return None if arr is None else _Pending(arr)


Stored = BeforeValidator(_check_stored)
"""A learnable or state: MATLAB's layout in, the internal layout stored (``ArrayLayout``)."""


class _MatlabView:
    """The MATLAB property of an array a layer stores in the internal layout: a data
    descriptor, so it wins over the stored value in the instance dict (pydantic keeps field
    values there and reads them from there)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, cls=None):
        if obj is None:   # pydantic looks for field defaults on the class: there are none here
            raise AttributeError(self.name)
        value = obj.__dict__.get(self.name)
        if value is None or isinstance(value, _Pending):
            return None if value is None else value.array
        return obj._matlab_view(self.name, value)

    def __set__(self, obj, value):
        raise AttributeError(f"{self.name} is assigned through the layer's validation")


def matlab_size_equal(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """Compare sizes as MATLAB does: trailing singleton dimensions do not count."""
    def strip(s):
        s = list(s) + [1, 1]
        while len(s) > 2 and s[-1] == 1:
            s.pop()
        return tuple(s)
    return strip(shape) == strip(expected)


# ----------------------------------------------------------------------------

class Validated(BaseModel):
    """A pydantic model whose errors read as the dialect's messages: construction and
    assignment raise LayerGraphError naming the property, the value given and what is
    allowed (``_translate``), and a failed assignment leaves the object as it was. The
    base of the layer specs and of MATLAB's trainingOptions objects."""

    class_name: ClassVar[str] = ""

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _translate(exc, type(self).class_name, data) from None

    def _assign(self, name, value):
        # pydantic assigns before the model-level checks run: restore on failure
        saved = dict(self.__dict__), set(self.__pydantic_fields_set__)
        try:
            BaseModel.__setattr__(self, name, value)
        except ValidationError as exc:
            object.__setattr__(self, "__dict__", saved[0])
            object.__setattr__(self, "__pydantic_fields_set__", saved[1])
            raise _translate(exc, type(self).class_name, {name: value}) from None
        self._store_pending()

    def _store_pending(self):
        """Subclasses that store arrays in the internal layout convert here (Layer)."""


class Layer(Validated):
    """Base of every layer specification.

    Subclasses declare fields (MATLAB property names and defaults) and the class
    metadata below, and override ``infer`` / ``learnable_sizes`` where they have
    sizes to resolve or learnables to own.
    """

    model_config = ConfigDict(
        validate_assignment=True,
        extra="forbid",
        arbitrary_types_allowed=True,
        revalidate_instances="never",
        protected_namespaces=(),
    )

    Name: Annotated[Any, NameStr] = ""

    # The form each stored array was given in as a MATLAB value ({property: Given}).
    _shapes: dict = PrivateAttr(default_factory=dict)

    # Narrower rules a dialect puts on some properties ({property: validator}, e.g. MATLAB's
    # Epsilon >= 1e-5 where the core allows any positive value): the dialect's constructor
    # attaches them (``add_limits``) and every later assignment checks them too.
    _limits: dict = PrivateAttr(default_factory=dict)

    # -- class metadata -------------------------------------------------------
    class_name: ClassVar[str] = "Layer"          # MATLAB class shown in displays
    Type: ClassVar[str] = ""                      # the Type column of a layer array
    DefaultName: ClassVar[str] = "layer"          # used by auto-naming
    family: ClassVar[str] = ""                    # kernel family
    is_input: ClassVar[bool] = False
    is_output: ClassVar[bool] = False
    learnables: ClassVar[tuple[LearnableSpec, ...]] = ()
    states: ClassVar[tuple[str, ...]] = ()
    general: ClassVar[tuple[str, ...]] = ("Name",)
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    # {property: ArrayLayout} of the arrays stored in the internal layout (fields annotated Stored)
    array_layouts: ClassVar[dict[str, ArrayLayout]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs):
        super().__pydantic_init_subclass__(**kwargs)
        for name in cls.array_layouts:
            if not isinstance(cls.__dict__.get(name), _MatlabView):
                setattr(cls, name, _MatlabView(name))

    def __init__(self, **data):
        super().__init__(**data)
        self._store_pending()

    def _store_pending(self):
        """Convert the MATLAB values validation accepted to the internal layout, keeping
        the shape they were given in."""
        shapes = None
        for name, layout in type(self).array_layouts.items():
            value = self.__dict__.get(name)
            if isinstance(value, _Pending):
                if shapes is None:
                    shapes = dict(self._shapes)
                self.__dict__[name] = np.ascontiguousarray(layout.to_internal(self, value.array))
                shapes[name] = Given.of(value.array)
        if shapes is not None:
            object.__setattr__(self, "_shapes", shapes)

    def _matlab_view(self, name: str, internal: np.ndarray) -> np.ndarray:
        value = np.array(type(self).array_layouts[name].to_matlab(self, internal), order="C")
        given = self._shapes.get(name)
        if given is not None and math.prod(given.shape) == value.size:
            value = value.reshape(given.shape, order="F")   # MATLAB's reshape (a learnable's differ in singletons only)
            value = np.asfortranarray(value) if given.fortran else np.ascontiguousarray(value)
        # a fresh converted copy: an in-place edit (layer.Weights[0] = v) would change the copy and
        # be lost without a word, so the copy is read-only and the edit fails at once; assigning the
        # whole property (layer.Weights = w) is the way, as in MATLAB
        value.flags.writeable = False
        return value

    def internal(self, name: str) -> np.ndarray | None:
        """A stored learnable or state in the internal layout (None while empty)."""
        return self.__dict__.get(name)

    def with_matlab_arrays(self, **arrays) -> "Layer":
        """A copy with arrays given in MATLAB's layout (None: empty) stored, without the checks
        of an assignment (as ``_resolved_copy``): initial values, a dialect's MATLAB-layout view."""
        layouts = type(self).array_layouts
        plain = {k: v for k, v in arrays.items() if k not in layouts}
        new = self._resolved_copy(**plain, **{k: None for k in arrays if k in layouts})
        shapes = dict(new._shapes)
        for name in (k for k in arrays if k in layouts):
            value = arrays[name]
            if value is not None:
                value = np.asarray(value)
                new.__dict__[name] = np.ascontiguousarray(layouts[name].to_internal(new, value))
                shapes[name] = Given.of(value)
            else:
                shapes.pop(name, None)
        object.__setattr__(new, "_shapes", shapes)
        return new

    # -- assignment with clear errors ---------------------------------------------
    def __setattr__(self, name, value):
        if name.startswith("_"):
            return super().__setattr__(name, value)
        if name not in type(self).model_fields or name.islower():
            if isinstance(getattr(type(self), name, None), property):
                raise LayerGraphError(
                    f"Unable to set the '{name}' property of class '{type(self).class_name}' because it is "
                    "read-only.", "MATLAB:class:SetProhibited")
            raise LayerGraphError(
                f"Unrecognized property '{name}' for class '{type(self).class_name}'. "
                f"Properties: {', '.join(self.properties())}.",
                "MATLAB:noPublicFieldForClass",
            )
        self._check_limit(name, value)
        self._check_assignment(name, value)
        self._assign(name, value)

    def _check_assignment(self, name, value):
        """Rules that hold for assignment only (e.g. PaddingSize in 'same' mode)."""

    def _check_limit(self, name, value):
        check = self._limits.get(name)
        if check is not None:
            check_limit(type(self), name, value, check)

    def add_limits(self, limits: dict) -> "Layer":
        """Put this layer (in place) under a dialect's narrower rules: its current values
        are checked against them now, and assignments later. Returns the layer."""
        for name, check in limits.items():
            object.__setattr__(self, "_limits", {**self._limits, name: check})
            self._check_limit(name, getattr(self, name))
        return self

    # -- ports ------------------------------------------------------------------
    @property
    def InputNames(self) -> list[str]:
        return [] if self.is_input else ["in"]

    @property
    def OutputNames(self) -> list[str]:
        return [] if self.is_output else ["out"]

    @property
    def NumInputs(self) -> int:
        return len(self.InputNames)

    @property
    def NumOutputs(self) -> int:
        return len(self.OutputNames)

    def property_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        """MATLAB's display groups: (title, property names); the first is untitled."""
        groups = [("", self.general), ("Hyperparameters", self.hyperparameters),
                  ("Learnable Parameters", tuple(spec.name for spec in self.learnables))]
        return [(title, names) for title, names in groups if names]

    # -- sizes ---------------------------------------------------------------------
    def infer(self, inputs: list[Size]) -> tuple["Layer", list[Size]]:
        """Given the sizes arriving at each input port, return a copy of this layer
        with every 'auto' size resolved, and the size at each output port."""
        return self, list(inputs)

    def learnable_sizes(self, size: Size | None = None) -> dict[str, tuple[int, ...]]:
        """Sizes of the learnables in MATLAB's layout (needs a sized layer); ``size``
        is the input size where the layout depends on it (images or features)."""
        return {}

    def state_sizes(self, size: Size | None = None) -> dict[str, tuple[int, ...]]:
        return {}

    def fans(self, name: str) -> tuple[int, int]:
        """(numIn, numOut) used by the 'glorot' and 'he' initializers."""
        sz = self.learnable_sizes()[name]
        n = int(np.prod(sz))
        return n, n

    # -- display -------------------------------------------------------------------
    def description(self) -> str:
        return self.Type

    def _resolved_copy(self, **updates) -> "Layer":
        """A copy with inferred values set, skipping assignment checks meant for users."""
        return self.model_copy(update=updates)

    def __str__(self) -> str:
        from ..display.matlab_display import layer_display
        return layer_display(self)

    def __repr__(self) -> str:
        return self.__str__()

    def __rich__(self):
        from ..display.rich_display import layer_renderable
        return layer_renderable(self)

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output

    def show_all_properties(self) -> str:
        """What MATLAB's 'Show all properties' link lists: every property in one group."""
        from ..display.matlab_display import all_properties_display
        return all_properties_display(self)

    def properties(self) -> list[str]:
        """The public properties (MATLAB's names; internal fields are lower case)."""
        names = [n for n in type(self).model_fields if not n.islower()]
        extra = [n for n in ("NumInputs", "InputNames", "NumOutputs", "OutputNames") if n not in names]
        return names + extra

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        for f in type(self).model_fields:
            a, b = getattr(self, f), getattr(other, f)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None


def check_limit(cls: type, name: str, value, check) -> None:
    """A dialect's narrower rule ``check`` (a validator such as Scalar(1e-5)) on a value of
    property ``name`` of a ``cls`` layer, with the message a property error has."""
    try:
        check.func(value, _FieldInfo(name))
    except ValueError as err:
        raise LayerGraphError(_invalid(name, cls.class_name, value, str(err)),
                              "MATLAB:InputParser:ArgumentFailedValidation") from None


class _FieldInfo(NamedTuple):
    """What the value validators read of pydantic's ValidationInfo."""

    field_name: str


def _invalid(prop: str, class_name: str, value, message: str) -> str:
    return f"Invalid value for '{prop}' of {class_name}: {_describe(value)}. {message}"


def _translate(exc: ValidationError, class_name: str, data: dict) -> LayerGraphError:
    """Turn a pydantic error into a message in MATLAB's terms."""
    lines = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        original = (err.get("ctx") or {}).get("error")
        msg = str(original) if original is not None else err.get("msg", "")
        if loc:
            prop = str(loc[0])
            given = data.get(prop, err.get("input"))
            if err.get("type") == "extra_forbidden":
                lines.append(f"'{prop}' is not a recognized parameter of {class_name}.")
            else:
                lines.append(_invalid(prop, class_name, given, msg))
        else:
            lines.append(msg)
    return LayerGraphError("\n".join(lines), "MATLAB:InputParser:ArgumentFailedValidation")


Initializer = Callable[..., Any] | str
