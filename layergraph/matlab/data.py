"""MATLAB-layout data at the boundary: images H x W x C x N (one image may be
H x W x C), features N x C, converted to the internal layout and back; ``run``
forwards such data through the core's batched ``run`` (``core/network.py``)."""
from __future__ import annotations

import math

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.network import SequencePadding
from ..core.network import run as run_internal
from ..core.network import run_stateful as run_stateful_internal
from ..core.size import Size


def _check_minibatch(value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LayerGraphError(f"Invalid value for 'MiniBatchSize': {value!r}. Expected a positive integer.",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    return int(value)


def _all_finite(a) -> bool:
    """np.all(np.isfinite(a)) for one observation. A float array's sum of squares (np.vdot, one BLAS
    pass) is finite when every value is finite and nothing overflowed, NaN or Inf otherwise: only
    then the elementwise check (a 40 x 100 sequence: 1.5 against 5.2 us; 128 of them were 0.7 ms of
    a prediction). Below 8192 values, where OpenBLAS's dot runs on one thread."""
    if a.dtype.kind == "f" and a.size <= 8192 and math.isfinite(np.vdot(a, a)):
        return True
    return bool(np.isfinite(a).all())


def _sequences(x, size: Size, layer_name: str, dtype, min_length: int = 1) -> list[np.ndarray]:
    """MATLAB's sequence data: an N-by-1 cell (a list) of C x S sequences (h x w x c x S for
    image sequences), or one such array, as internal C x (H x W) x S arrays."""
    seqs = list(x) if isinstance(x, (list, tuple)) else [x]
    want = size.dims
    shape_text = "x".join(map(str, want)) + "xS"
    out = []
    for i, s in enumerate(seqs, 1):
        try:
            a = np.asarray(s, dtype=dtype)
        except (TypeError, ValueError):
            raise LayerGraphError(f"Invalid input data for layer '{layer_name}': observation {i} is not a numeric "
                                  "array.", "nnet_cnn:internal:cnn:validator:InvalidInputSize") from None
        if a.ndim == len(want) and len(want) > 1 and a.shape == want:   # one step of an image sequence
            a = a[..., None]
        elif a.ndim == 1 and len(want) == 1 and size.channels == 1:   # a row of one-feature steps
            a = a[None, :]
        if a.ndim != len(want) + 1 or tuple(a.shape[:-1]) != want:
            raise LayerGraphError(
                f"Invalid input data for layer '{layer_name}'. Observation {i} has size "
                f"{'x'.join(map(str, a.shape))}, but the layer expects sequences of size {shape_text} (InputSize "
                f"{'x'.join(map(str, want))}, S time steps).", "nnet_cnn:internal:cnn:validator:InvalidInputSize")
        if a.shape[-1] < min_length:
            what = "an empty sequence" if a.shape[-1] == 0 else f"a sequence of {a.shape[-1]} time steps"
            raise LayerGraphError(
                f"Invalid input data for layer '{layer_name}'. Observation {i} is {what} "
                f"({'x'.join(map(str, a.shape))}); sequences must have at least MinLength = {min_length} time "
                "steps.", "nnet_cnn:internal:cnn:validator:SequenceTooShort")
        if not _all_finite(a):
            raise LayerGraphError(f"Invalid input data for layer '{layer_name}': observation {i} contains NaN or "
                                  "Inf values.")
        if a.ndim == 4:   # h x w x c x S -> c x h x w x S
            a = a.transpose(2, 0, 1, 3)
        out.append(np.ascontiguousarray(a))
    return out


def to_internal(x, size: Size, layer_name: str, dtype, min_length: int = 1):
    """Validate MATLAB-layout data against an input layer's size and convert it (sequences: a
    list of internal C x S arrays, padded per mini-batch later)."""
    if size.is_sequence:
        return _sequences(x, size, layer_name, dtype, min_length)
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
    if not np.isfinite(data).all():   # the method: 6 against 8.4 us (np.all's wrapper) at 32 x 784
        raise LayerGraphError(f"Invalid input data for layer '{layer_name}': the data contains NaN or Inf values.")
    return data


def to_matlab(y, size: Size, squeeze_spatial: bool = True):
    """Internal activation -> MATLAB layout: N x C when there is no spatial extent
    left (features, or 1 x 1 images with ``squeeze_spatial``), else H x W x C x N; sequences
    (a list of each observation's own steps) as a list of C x S arrays."""
    if isinstance(y, list):
        return [a if a.ndim == 2 else np.ascontiguousarray(np.moveaxis(a, 0, -2)) for a in y]
    if y.ndim == 2:
        return y
    if squeeze_spatial and size.spatial == (1, 1):
        return np.ascontiguousarray(y.reshape(y.shape[0], y.shape[1]))
    return cv.internal_images_to_matlab(y)


def _check_sequence_options(length, value, direction) -> SequencePadding:
    if not (isinstance(length, str) and length.lower() in ("longest", "shortest")):
        if isinstance(length, (bool, np.bool_)) or not isinstance(length, (int, np.integer)) or length < 1:
            raise LayerGraphError(f"Invalid value for 'SequenceLength': {length!r}. Expected 'longest', 'shortest' "
                                  "or a positive integer.", "MATLAB:InputParser:ArgumentFailedValidation")
        return SequencePadding(int(length), float(value), str(direction).lower())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise LayerGraphError(f"Invalid value for 'SequencePaddingValue': {value!r}. Expected a numeric scalar.",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    if not (isinstance(direction, str) and direction.lower() in ("right", "left")):
        raise LayerGraphError(f"Invalid value for 'SequencePaddingDirection': {direction!r}. Expected 'right' or "
                              "'left'.", "MATLAB:InputParser:ArgumentFailedValidation")
    return SequencePadding(length.lower(), float(value), direction.lower())


def run(executor, analysis, X, refs, MiniBatchSize=128, training=False, SequenceLength="longest",
        SequencePaddingValue=0, SequencePaddingDirection="right"):
    """Forward MATLAB-layout data in mini-batches; returns the internal activations at ``refs``
    (for sequence outputs, a list of each observation's own steps)."""
    bs = _check_minibatch(MiniBatchSize)
    padding = _check_sequence_options(SequenceLength, SequencePaddingValue, SequencePaddingDirection)
    names = executor.input_names
    xs = list(X) if isinstance(X, (tuple, list)) and len(names) > 1 else [X]
    if len(xs) != len(names):
        raise LayerGraphError(f"The network has {len(names)} inputs ({', '.join(names)}) but {len(xs)} data "
                              "arrays were given.")
    data = {}
    for n, x in zip(names, xs):
        size = analysis.info(n).ActivationSizes["out"]
        # MinLength only for sequences: a missing attribute of a pydantic layer raises inside
        # pydantic (about 5 us of every predict call)
        data[n] = to_internal(x, size, n, executor.dtype,
                              getattr(analysis.layers[n], "MinLength", 1) if size.is_sequence else 1)
    if len({len(d) for d in data.values()}) != 1:
        raise LayerGraphError("All network inputs must have the same number of observations.")
    return run_internal(executor, data, refs, bs, training, padding=padding)


def run_stateful(executor, analysis, X, refs, MiniBatchSize=128, SequenceLength="longest", SequencePaddingValue=0,
                 SequencePaddingDirection="right"):
    """``run`` from the recurrent layers' current states (core ``run_stateful``): (activations,
    {layer: (h, c) or (h,)} after X, N x dH)."""
    bs = _check_minibatch(MiniBatchSize)
    padding = _check_sequence_options(SequenceLength, SequencePaddingValue, SequencePaddingDirection)
    names = executor.input_names
    if len(names) != 1:
        raise LayerGraphError("Stateful prediction takes networks with one input layer.")
    n0 = names[0]
    x = to_internal(X, analysis.info(n0).ActivationSizes["out"], n0, executor.dtype,
                    getattr(analysis.layers[n0], "MinLength", 1))
    n = len(x)
    states = {}
    for step in executor.steps:
        layer = step.op.layer
        if not hasattr(step.op, "initial_state") or layer.HasStateInputs:
            continue
        values = [executor.params[step.name][name] for name in layer.states]
        h = values[0]
        if h.ndim == 2 and h.shape[0] != n:
            raise LayerGraphError(f"Layer '{step.name}': the network state holds {h.shape[0]} observations but X "
                                  f"has {n}. Use as many observations, or resetState first.",
                                  "nnet_cnn:layer:LSTMLayer:StateSize")
        states[step.name] = tuple(np.broadcast_to(v, (n, v.shape[-1])) for v in values)
    return run_stateful_internal(executor, {n0: x}, refs, bs, states, padding)
