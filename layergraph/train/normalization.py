"""An input layer's normalization statistics from the training data.

The trainer's front end computes them before the first iteration (``zerocenter``:
Mean; ``zscore``: Mean and StandardDeviation; ``rescale-*``: Min and Max), over the
observations and, per NormalizationDimension, over the spatial dimensions
('auto'/'channel': one value per channel; 'element': one per element; 'all': one).
The data come in the internal layout; the statistics are returned in the internal layout
the input layer stores them in (layers/input.py: C x H x W per element, C x 1 x 1 per
channel, 1 x 1 x 1 for all; (C,) or (1,) for features); its properties show MATLAB's.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError

_NEEDS = {"zerocenter": ("Mean",), "zscore": ("Mean", "StandardDeviation"),
          "rescale-symmetric": ("Min", "Max"), "rescale-zero-one": ("Min", "Max")}


def missing_statistics(layer) -> list[str]:
    """The statistics the layer's normalization needs that are not set ("Mean", ...)."""
    mode = layer.Normalization
    return [] if callable(mode) else [s for s in _NEEDS.get(mode, ()) if getattr(layer, s) is None]


def needs_statistics(layer) -> bool:
    """Whether the layer's normalization lacks a statistic that the data must give."""
    return bool(missing_statistics(layer))


def statistics(layer, x) -> dict:
    """{property: value} for the input layer ``layer`` from the internal-layout data ``x``."""
    mode = layer.Normalization
    if callable(mode) or mode == "none":
        return {}
    dim = layer.NormalizationDimension
    image = x.ndim == 4
    if dim in ("auto", "channel"):
        axes = (0, 2, 3) if image else (0,)
    elif dim == "element":
        axes = (0,)
    else:
        axes = tuple(range(x.ndim))
    xd = x.astype(np.float64)

    def shape(v):  # reduction result -> the stored layout
        v = np.asarray(v)
        if not image:
            return v.reshape(-1)
        if dim == "all":
            return v.reshape(1, 1, 1)
        if dim in ("auto", "channel"):
            return v.reshape(-1, 1, 1)
        return np.ascontiguousarray(v)  # C x H x W

    stats = {}
    if mode in ("zerocenter", "zscore"):
        stats["Mean"] = shape(xd.mean(axis=axes))
    if mode == "zscore":
        sd = xd.std(axis=axes)
        if np.any(sd == 0):
            raise LayerGraphError(f"Layer '{layer.Name}': the training data is constant along "
                                  f"{int(np.sum(sd == 0))} of the normalization's {sd.size} "
                                  f"{'elements' if dim == 'element' else 'channels'}, so 'zscore' would divide "
                                  "by a zero StandardDeviation. Use NormalizationDimension 'channel' or 'all', or "
                                  "'zerocenter'.")
        stats["StandardDeviation"] = shape(sd)
    if mode in ("rescale-symmetric", "rescale-zero-one"):
        lo, hi = xd.min(axis=axes), xd.max(axis=axes)
        if np.any(hi == lo):
            raise LayerGraphError(f"Layer '{layer.Name}': the training data is constant along some "
                                  f"{'elements' if dim == 'element' else 'channels'}, so '{mode}' would divide "
                                  "by Max - Min = 0.")
        stats["Min"], stats["Max"] = shape(lo), shape(hi)
    return stats
