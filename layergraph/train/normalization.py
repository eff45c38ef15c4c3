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


def _reduction(layer, ndim):
    """(axes reduced in the internal layout, f(value) -> the layout the layer stores)."""
    dim = layer.NormalizationDimension
    image = ndim == 4
    if dim in ("auto", "channel"):
        axes = (0, 2, 3) if image else (0,)
    elif dim == "element":
        axes = (0,)
    else:
        axes = tuple(range(ndim))

    def shape(v):  # reduction result -> the stored layout
        v = np.asarray(v)
        if not image:
            return v.reshape(-1)
        if dim == "all":
            return v.reshape(1, 1, 1)
        if dim in ("auto", "channel"):
            return v.reshape(-1, 1, 1)
        return np.ascontiguousarray(v)  # C x H x W
    return axes, shape


def _finish(layer, mean, sd, lo, hi, shape) -> dict:
    """The statistics the layer's mode needs, checked, in the layout the layer stores."""
    mode, dim = layer.Normalization, layer.NormalizationDimension
    stats = {}
    if mode in ("zerocenter", "zscore"):
        stats["Mean"] = shape(mean)
    if mode == "zscore":
        if np.any(sd == 0):
            raise LayerGraphError(f"Layer '{layer.Name}': the training data is constant along "
                                  f"{int(np.sum(sd == 0))} of the normalization's {sd.size} "
                                  f"{'elements' if dim == 'element' else 'channels'}, so 'zscore' would divide "
                                  "by a zero StandardDeviation. Use NormalizationDimension 'channel' or 'all', or "
                                  "'zerocenter'.")
        stats["StandardDeviation"] = shape(sd)
    if mode in ("rescale-symmetric", "rescale-zero-one"):
        if np.any(hi == lo):
            raise LayerGraphError(f"Layer '{layer.Name}': the training data is constant along some "
                                  f"{'elements' if dim == 'element' else 'channels'}, so '{mode}' would divide "
                                  "by Max - Min = 0.")
        stats["Min"], stats["Max"] = shape(lo), shape(hi)
    return stats


def statistics(layer, x) -> dict:
    """{property: value} for the input layer ``layer`` from the internal-layout data ``x``."""
    mode = layer.Normalization
    if callable(mode) or mode == "none":
        return {}
    axes, shape = _reduction(layer, x.ndim)
    xd = x.astype(np.float64)
    mean = xd.mean(axis=axes) if mode in ("zerocenter", "zscore") else None
    sd = xd.std(axis=axes) if mode == "zscore" else None
    lo, hi = (xd.min(axis=axes), xd.max(axis=axes)) if mode.startswith("rescale") else (None, None)
    return _finish(layer, mean, sd, lo, hi, shape)


def streamed_statistics(layer, passes, ndim: int) -> dict:
    """``statistics`` for data too large to hold: ``passes()`` gives a new iterator over the
    data's mini-batches (internal layout, ``ndim`` dimensions) each time it is called; one pass
    for Mean, Min and Max, a second for StandardDeviation (the squared deviations from the
    mean, as numpy's std computes them)."""
    mode = layer.Normalization
    if callable(mode) or mode == "none":
        return {}
    axes, shape = _reduction(layer, ndim)
    total, count, lo, hi = 0.0, 0, None, None
    for batch in passes():
        b = batch.astype(np.float64)
        total = total + b.sum(axis=axes)
        count += int(np.prod([b.shape[a] for a in axes]))
        if mode.startswith("rescale"):
            lo = b.min(axis=axes) if lo is None else np.minimum(lo, b.min(axis=axes))
            hi = b.max(axis=axes) if hi is None else np.maximum(hi, b.max(axis=axes))
    if count == 0:
        raise LayerGraphError(f"Layer '{layer.Name}': there is no training data to compute the normalization from.")
    mean = total / count
    sd = None
    if mode == "zscore":
        keep = np.expand_dims(mean, axes) if np.ndim(mean) else mean
        squares = 0.0
        for batch in passes():
            squares = squares + ((batch.astype(np.float64) - keep) ** 2).sum(axis=axes)
        sd = np.sqrt(squares / count)
    return _finish(layer, mean, sd, lo, hi, shape)
