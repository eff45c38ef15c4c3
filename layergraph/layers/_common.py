"""Pieces shared by the layer families: factor and initializer fields, padding
rules and the learnable-size check."""
from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.layer import AUTO, ArrayLayout, Choice, Scalar, SizeError, Vector, matlab_size_equal
from ..core.size import Size

Factor = Annotated[Any, Scalar(0)]                    # learn-rate and L2 factors: nonnegative
PosInt = Annotated[Any, Scalar(1, integer=True)]
Pad4 = Annotated[Any, Vector(4, lo=0, what="a vector of 4 nonnegative integers [t b l r]")]
PaddingMode = Annotated[Any, Choice("manual", "same")]


class ManualPaddingOnly:
    """Mixin: PaddingSize may only be assigned while PaddingMode is 'manual'."""

    def _check_assignment(self, name, value):
        if name == "PaddingSize" and self.PaddingMode == "same":
            raise LayerGraphError(
                f"Invalid value for 'PaddingSize' of {self.class_name}: PaddingSize can only be set "
                "when PaddingMode is 'manual'; PaddingMode is 'same'.",
                "nnet_cnn:layer:Layer:PaddingSizeCanOnlyBeSetInManualMode")


def per_step(cls):
    """Class decorator: on an image sequence (H x W x C per step, time ``T``) the layer acts on
    each time step alone, as on a batch of images (MATLAB's 'SSCBT' input, or the images
    between a sequence folding and unfolding). Its ``infer`` sizes one step and gives the
    outputs the input's time; ``per_step`` tells the executor to fold time into the batch
    (core/ops_folding.py). Vector sequences and data without time keep the layer's own rule."""
    own = cls.infer

    def infer(self, inputs):
        x = inputs[0]
        if not (x.is_sequence and x.is_image):
            return own(self, inputs)
        sized, outs = own(self, [s.without_time() for s in inputs])
        return sized, [o.with_time(x.time) for o in outs]

    infer.__doc__ = own.__doc__
    cls.infer = infer
    cls.per_step = True
    return cls


def padding_args(value, field="Padding"):
    """MATLAB's Padding argument -> (PaddingMode, PaddingSize [t b l r]).

    ``p`` pads every side, ``[a b]`` pads top/bottom by a and left/right by b,
    ``[t b l r]`` is explicit, ``'same'`` keeps ceil(in/stride)."""
    if isinstance(value, str):
        if value.lower() == "same":
            return "same", (0, 0, 0, 0)
        raise LayerGraphError(
            f"Invalid value for '{field}': '{value}'. Expected {field} to be 'same', a nonnegative "
            "integer, a vector [a b] or a vector [t b l r] of nonnegative integers.",
            "MATLAB:InputParser:ArgumentFailedValidation")
    try:
        arr = np.asarray(value, dtype=float)
        if arr.ndim > 2 or (arr.ndim == 2 and min(arr.shape) != 1):  # a matrix is not a vector
            arr = np.array([-1.0])
        arr = arr.ravel()
    except (TypeError, ValueError):
        arr = np.array([-1.0])
    if arr.size not in (1, 2, 4) or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise LayerGraphError(
            f"Invalid value for '{field}': {value!r}. Expected {field} to be 'same', a nonnegative "
            "integer, a vector [a b] or a vector [t b l r] of nonnegative integers.",
            "MATLAB:InputParser:ArgumentFailedValidation")
    v = [int(x) for x in arr]
    if len(v) == 1:
        v = v * 4
    elif len(v) == 2:
        v = [v[0], v[0], v[1], v[1]]
    return "manual", tuple(v)


def same_padding(in_hw, filt_hw, stride, dilation=(1, 1)):
    """'same' padding: output ceil(in/stride); the odd extra pixel goes bottom/right."""
    pads = []
    for n, k, s, d in zip(in_hw, filt_hw, stride, dilation):
        out = math.ceil(n / s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    (t, b), (l, r) = pads
    return (t, b, l, r)


def window_output(in_hw, filt_hw, stride, pads, dilation=(1, 1)):
    t, b, l, r = pads
    out = []
    for n, k, s, d, p in zip(in_hw, filt_hw, stride, dilation, (t + b, l + r)):
        out.append((n + p - ((k - 1) * d + 1)) // s + 1)
    return tuple(out)


def require_image(size: Size, what: str) -> Size:
    if not size.is_image or len(size.spatial) != 2:
        raise SizeError("in", f"{what} expects 2-D image input (H x W x C); the input has size {size}.")
    return size


def require_fit(in_hw, filt_hw, pads, dilation, what):
    t, b, l, r = pads
    eff = [(k - 1) * d + 1 for k, d in zip(filt_hw, dilation)]
    padded = (in_hw[0] + t + b, in_hw[1] + l + r)
    if padded[0] < eff[0] or padded[1] < eff[1]:
        raise SizeError(
            "in",
            f"The input size {in_hw[0]}x{in_hw[1]} (padded {padded[0]}x{padded[1]}) is smaller than "
            f"the {what} size {eff[0]}x{eff[1]}.")


def check_channels(declared, actual: int, prop: str = "NumChannels"):
    if declared != AUTO and declared != actual:
        raise SizeError("in", f"The layer expects {declared} channels ({prop}) but the input has {actual} channels.")


def check_given_arrays(layer, sizes: dict[str, tuple[int, ...]]):
    """Learnables given by the user must match the sizes the layer implies."""
    for name, expected in sizes.items():
        value = getattr(layer, name)
        if value is None:
            continue
        # 'auto' dimensions match anything; trailing singleton dimensions do not count
        shape = tuple(value.shape) + (1,) * max(0, len(expected) - value.ndim)
        known = tuple(s if e == AUTO else e for s, e in zip(shape, expected)) + tuple(expected[len(shape):])
        if not matlab_size_equal(shape, known):
            got = "x".join(map(str, value.shape)) if value.ndim > 1 else f"{value.shape[0]}x1"
            want = "x".join("C" if e == AUTO else str(e) for e in expected)
            raise ValueError(
                f"Invalid value for '{name}' of {layer.class_name}: array of size {got}. "
                f"Expected {name} to be of size {want}.")


# -- the MATLAB layouts of the stored arrays (core/layer.py ArrayLayout; conventions.py) ---------
def _ndim(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with n dimensions: trailing singletons added or dropped (MATLAB does not count them)."""
    if a.ndim < n:
        return a.reshape(a.shape + (1,) * (n - a.ndim))
    if a.ndim > n:
        return a.reshape(a.shape[:n - 1] + (-1,))
    return a


def _groups(layer) -> int:
    """The number of groups a grouped convolution's stored arrays have: the 5th dimension of
    the MATLAB weights they were given as, else NumGroups (1 while 'channel-wise')."""
    given = layer._shapes.get("Weights")
    if given is not None and len(given.shape) >= 5:
        return int(given.shape[4])
    g = layer.NumGroups
    return g if isinstance(g, int) else 1


CONV_WEIGHTS = ArrayLayout(lambda layer, w: cv.conv_weights_to_internal(_ndim(w, 4)),
                           lambda layer, w: cv.conv_weights_to_matlab(w))
GROUPED_WEIGHTS = ArrayLayout(lambda layer, w: cv.grouped_weights_to_internal(_ndim(w, 5), _ndim(w, 5).shape[4]),
                              lambda layer, w: cv.grouped_weights_to_matlab(w, _groups(layer)))
TRANSPOSED_WEIGHTS = ArrayLayout(lambda layer, w: cv.transposed_weights_to_internal(_ndim(w, 4)),
                                 lambda layer, w: cv.transposed_weights_to_matlab(w))
# 1 x 1 x C (images; C x 1 for features, kept as given) <-> (C,)
CHANNELS = ArrayLayout(lambda layer, v: cv.channel_vector(v), lambda layer, v: v.reshape(1, 1, -1))
# grouped bias 1 x 1 x F/G x G: channel g*F/G + f is MATLAB's column-major order
GROUPED_BIAS = ArrayLayout(lambda layer, v: v.reshape(-1, order="F"),
                           lambda layer, v: v.reshape((1, 1, -1, _groups(layer)), order="F"))
# fully connected Bias Out x 1 <-> (Out,) (its Weights: dense.py)
COLUMN = ArrayLayout(lambda layer, v: cv.channel_vector(v), lambda layer, v: v.reshape(-1, 1))
