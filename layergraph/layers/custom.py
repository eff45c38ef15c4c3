"""Custom layers: a layer whose math is a user's code (MATLAB's ``nnet.layer.Layer``
subclasses and ``functionLayer``, Wolfram's ``FunctionLayer`` / ``ElementwiseLayer`` with a
Python function). Family ``custom``; its op is ``core/ops_custom.py``.

The spec holds the learnables as fields (stored as the user's code sees them: no layout
conversion) with a learn-rate and an L2 factor each (``<name>LearnRateFactor``,
``<name>L2Factor``), and ``impl``: the dialect's object that runs the user's code. ``impl``
provides

  layout                  'matlab' (images H x W x C x N, features C x N) or 'internal'
  input_names, output_names
  infer(spec, sizes)      -> (sized spec, output Sizes)   (runs the user's code on a probe)
  run(spec, xs, fmts, P, training) -> (ys, vjp)           vjp(dys) -> (dxs, {learnable: grad});
                          for a spec with states, ys ends with their updated values (not differentiated)
  loss(spec)              (output layers) -> a train.losses.Loss

One spec class per (user class, Type, learnables) is made by ``custom_class`` (cached), so
that ``learnables`` stays a class attribute as for every other layer.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo

from ..core.layer import Array, Layer, LearnableSpec, Scalar
from .output import ClassificationOutputLayer, RegressionOutputLayer


def _text(value, info: ValidationInfo):
    if isinstance(value, np.str_):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"Expected {info.field_name} to be a character vector or string scalar.")
    return value


Text = BeforeValidator(_text)


class _CustomMixin:
    """What the custom specs share (plain methods: the pydantic bases differ)."""

    @property
    def InputNames(self) -> list[str]:
        if self.is_input:
            return []
        impl = self.__dict__.get("impl")
        return list(impl.input_names) if impl is not None else ["in"]

    @property
    def OutputNames(self) -> list[str]:
        if self.is_output:
            return []
        impl = self.__dict__.get("impl")
        return list(impl.output_names) if impl is not None else ["out"]

    def description(self) -> str:
        return self.Description

    def _matlab_view(self, name, internal):
        return np.array(internal)   # stored as the user's code sees it: no layout to convert

    def learnable_values(self) -> dict:
        return {s.name: self.__dict__.get(s.name) for s in self.learnables}

    def learnable_sizes(self, size=None) -> dict:
        return {n: tuple(v.shape) for n, v in self.learnable_values().items() if v is not None}

    def property_groups(self):
        groups = super().property_groups()
        return groups + [("State Parameters", tuple(self.states))] if self.states else groups

    def state_values(self) -> dict:
        return {n: self.__dict__.get(n) for n in self.states}

    def state_sizes(self, size=None) -> dict:
        return {n: tuple(v.shape) for n, v in self.state_values().items() if v is not None}

    def user(self):
        """The dialect's user object with this spec's learnables (a copy)."""
        return self.impl.user(self)

    def __getattr__(self, name):
        # the user's own properties (hyperparameters) and methods, read from their object
        try:
            return super().__getattr__(name)
        except AttributeError:
            impl = self.__dict__.get("impl")
            if impl is None or name.startswith("_"):
                raise
            return getattr(impl.user(self), name)


class CustomLayer(_CustomMixin, Layer):
    class_name: ClassVar[str] = "Layer"
    Type: ClassVar[str] = ""
    DefaultName: ClassVar[str] = "layer"
    family: ClassVar[str] = "custom"
    general: ClassVar = ("Name", "Description")

    Description: Annotated[Any, Text] = ""
    impl: Any = None

    def infer(self, inputs):
        return self.impl.infer(self, list(inputs))


class CustomClassificationLayer(_CustomMixin, ClassificationOutputLayer):
    """A custom classification output layer (MATLAB's nnet.layer.ClassificationLayer): the
    classes and the scores' checks of classificationLayer, the user's forwardLoss."""
    class_name: ClassVar[str] = "ClassificationLayer"
    Type: ClassVar[str] = "Classification Output"
    general: ClassVar = ("Name", "Description", "Classes")
    hyperparameters: ClassVar = ()
    Description: Annotated[Any, Text] = ""
    impl: Any = None

    def custom_loss(self):
        return self.impl.loss(self)


class CustomRegressionLayer(_CustomMixin, RegressionOutputLayer):
    """A custom regression output layer (MATLAB's nnet.layer.RegressionLayer)."""
    class_name: ClassVar[str] = "RegressionLayer"
    Type: ClassVar[str] = "Regression Output"
    general: ClassVar = ("Name", "Description", "ResponseNames")
    hyperparameters: ClassVar = ()
    Description: Annotated[Any, Text] = ""
    impl: Any = None

    def custom_loss(self):
        return self.impl.loss(self)


_CLASSES: dict = {}


def custom_class(class_name: str, type_name: str, learnables: tuple[str, ...], base: type = CustomLayer,
                 states: tuple[str, ...] = ()) -> type:
    """The spec class of a user's layer class: one field per learnable and two factors each, one
    field per state (MATLAB's properties (State): arrays the layer's code updates)."""
    key = (class_name, type_name, tuple(learnables), base, tuple(states))
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    ann, ns = {}, {}
    for n in learnables:
        ann[n], ns[n] = Annotated[Any, Array], None
        for suffix in ("LearnRateFactor", "L2Factor"):
            ann[n + suffix], ns[n + suffix] = Annotated[Any, Scalar(0)], 1.0
    for n in states:
        ann[n], ns[n] = Annotated[Any, Array], None
    for name in ("class_name", "Type", "learnables", "states"):
        ann[name] = ClassVar
    ns.update(__annotations__=ann, __module__=__name__, class_name=class_name, Type=type_name, states=tuple(states),
              learnables=tuple(LearnableSpec(n, "", n + "LearnRateFactor", n + "L2Factor") for n in learnables))
    cls = type(f"{base.__name__}_{class_name}", (base,), ns)
    _CLASSES[key] = cls
    return cls


__all__ = ["CustomLayer", "CustomClassificationLayer", "CustomRegressionLayer", "custom_class"]
