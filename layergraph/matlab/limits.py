"""MATLAB's narrower rules on core properties. The core's layer specs take the widest
values any dialect allows (an Epsilon of any positive size, as Wolfram's layers do);
MATLAB's constructors put their layers under these limits, which every later assignment
checks too (``Layer.add_limits``), with MATLAB's messages."""
from __future__ import annotations

from .. import layers as L
from ..core.layer import Layer, Scalar, check_limit

_EPSILON = {"Epsilon": Scalar(1e-5)}   # MATLAB: "numeric scalar with value >= 1e-05"

LIMITS: dict[type, dict] = {
    L.BatchNormalizationLayer: _EPSILON,
    L.LayerNormalizationLayer: _EPSILON,
    L.GroupNormalizationLayer: _EPSILON,
    L.InstanceNormalizationLayer: _EPSILON,
}


def check_matlab_limits(cls: type, props: dict) -> None:
    """MATLAB's limits on the properties given to a constructor, checked before the core's
    own rules so that a wrong value gets MATLAB's words (">= 1e-05", not the core's "> 0")."""
    for name, check in LIMITS.get(cls, {}).items():
        if name in props:
            check_limit(cls, name, props[name], check)


def matlab_limits(layer: Layer) -> Layer:
    """The layer (in place) under MATLAB's limits for its class, if it has any."""
    limits = LIMITS.get(type(layer))
    return layer.add_limits(limits) if limits else layer
