"""MATLAB-layout data at the boundary: images H x W x C x N (one image may be
H x W x C), features N x C, converted to the internal layout and back; ``run``
forwards such data through the core's batched ``run`` (``core/network.py``)."""
from __future__ import annotations

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.network import run as run_internal
from ..core.size import Size


def _check_minibatch(value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LayerGraphError(f"Invalid value for 'MiniBatchSize': {value!r}. Expected a positive integer.",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    return int(value)


def to_internal(x, size: Size, layer_name: str, dtype) -> np.ndarray:
    """Validate MATLAB-layout data against an input layer's size and convert it."""
    try:
        x = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise LayerGraphError(f"Invalid input data for layer '{layer_name}': expected a numeric array.") from None
    if size.is_image:
        expected = size.dims
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[:3] != expected:
            raise LayerGraphError(
                f"Invalid input data for layer '{layer_name}'. Expected images of size "
                f"{'x'.join(map(str, expected))}xN (H x W x C x N), but the data has size "
                f"{'x'.join(map(str, x.shape))}.", "nnet_cnn:internal:cnn:validator:InvalidInputSize")
        data = cv.matlab_images_to_internal(x)
    else:
        if x.ndim == 1 and x.shape[0] == size.channels:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != size.channels:
            raise LayerGraphError(
                f"Invalid input data for layer '{layer_name}'. Expected N x {size.channels} feature data "
                f"(observations in rows), but the data has size {'x'.join(map(str, x.shape))}.",
                "nnet_cnn:internal:cnn:validator:InvalidInputSize")
        data = np.ascontiguousarray(x)
    if not np.all(np.isfinite(data)):
        raise LayerGraphError(f"Invalid input data for layer '{layer_name}': the data contains NaN or Inf values.")
    return data


def to_matlab(y: np.ndarray, size: Size, squeeze_spatial: bool = True) -> np.ndarray:
    """Internal activation -> MATLAB layout: N x C when there is no spatial extent
    left (features, or 1 x 1 images with ``squeeze_spatial``), else H x W x C x N."""
    if y.ndim == 2:
        return y
    if squeeze_spatial and size.spatial == (1, 1):
        return np.ascontiguousarray(y.reshape(y.shape[0], y.shape[1]))
    return cv.internal_images_to_matlab(y)


def run(executor, analysis, X, refs, MiniBatchSize=128, training=False):
    """Forward MATLAB-layout data in mini-batches; returns the internal activations at ``refs``."""
    bs = _check_minibatch(MiniBatchSize)
    names = executor.input_names
    xs = list(X) if isinstance(X, (tuple, list)) and len(names) > 1 else [X]
    if len(xs) != len(names):
        raise LayerGraphError(f"The network has {len(names)} inputs ({', '.join(names)}) but {len(xs)} data "
                              "arrays were given.")
    data = {n: to_internal(x, analysis.info(n).ActivationSizes["out"], n, executor.dtype)
            for n, x in zip(names, xs)}
    if len({d.shape[0] for d in data.values()}) != 1:
        raise LayerGraphError("All network inputs must have the same number of observations.")
    return run_internal(executor, data, refs, bs, training)
