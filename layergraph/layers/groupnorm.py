"""groupNormalizationLayer (MATLAB) / NormalizationLayer with "GroupNumber" (Wolfram): each
example's channels split into groups of consecutive channels, each group normalized over
its channels and spatial positions, then Scale and Offset per channel.

The base class also carries instance normalization (one channel per group, instancenorm.py);
both run on the same kernel (kernels/cpu/groupnorm.py)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.layer import AUTO, Logical, Scalar, SizeError
from .norm import _ChannelNorm


class _GroupNorm(_ChannelNorm):
    """Normalization over groups of channels and the spatial positions, per example.

    ``unbiased`` (variance over n - 1) and ``rms`` (x / sqrt(mean(x^2) + Epsilon), no mean
    subtracted) are Wolfram's NormalizationLayer options "Unbiased" -> True and
    Method -> "RMS". MATLAB has neither, so they are internal fields (lower case): not MATLAB
    properties, never shown in MATLAB's displays; the defaults are MATLAB's behaviour."""

    family: ClassVar[str] = "groupnorm"

    unbiased: Annotated[Any, Logical] = False
    rms: Annotated[Any, Logical] = False

    def num_groups(self, channels: int) -> int:
        raise NotImplementedError

    def _variant(self) -> str:
        parts = (["root mean square"] if self.rms else []) + (["unbiased variance"] if self.unbiased else [])
        return "" if not parts else f" ({', '.join(parts)})"

    def infer(self, inputs):
        x = inputs[0]
        g = self.num_groups(x.channels)
        if x.channels % g:
            raise SizeError("in", f"The number of channels of the input ({x.channels}) must be divisible by the "
                                  f"number of groups ({g}).")
        if self.unbiased and x.numel // g < 2:
            raise SizeError("in", f"The unbiased variance needs at least 2 elements in each group; the input of "
                                  f"size {x} has {x.numel // g}.")
        return super().infer(inputs)


def _num_groups(value, info: ValidationInfo):
    what = "a positive integer, 'all-channels' or 'channel-wise'"
    if isinstance(value, str):
        matches = [o for o in ("all-channels", "channel-wise") if o == value.lower()]
        if matches:
            return matches[0]
        raise ValueError(f"Expected NumGroups to be {what}.")
    return Scalar(1, integer=True, what=what).func(value, info)


class GroupNormalizationLayer(_GroupNorm):
    """groupNormalizationLayer(numGroups): NumGroups groups of consecutive channels, each
    normalized per observation over its channels and spatial positions (biased variance,
    Epsilon inside the square root); 'all-channels' is one group, 'channel-wise' one channel
    per group (instance normalization)."""

    class_name: ClassVar[str] = "GroupNormalizationLayer"
    Type: ClassVar[str] = "Group Normalization"
    DefaultName: ClassVar[str] = "groupnorm"
    general: ClassVar = ("Name", "NumGroups", "NumChannels")
    hyperparameters: ClassVar = ("Epsilon",)

    NumGroups: Annotated[Any, BeforeValidator(_num_groups)]

    @model_validator(mode="after")
    def _check_groups(self):
        c, g = self.NumChannels, self.NumGroups
        if c != AUTO and isinstance(g, int) and c % g:
            raise ValueError(f"Invalid value for 'NumGroups' of {self.class_name}: {g}. Expected NumGroups to "
                             f"divide the number of channels ({c}).")
        return self

    def num_groups(self, channels: int) -> int:
        g = self.NumGroups
        return 1 if g == "all-channels" else channels if g == "channel-wise" else int(g)

    def description(self):
        if self.NumChannels == AUTO:
            return "Group normalization" + self._variant()
        g = self.num_groups(self.NumChannels)
        return (f"Group normalization with {self.NumChannels} channels split into {g} "
                f"group{'s' if g != 1 else ''}{self._variant()}")


__all__ = ["GroupNormalizationLayer"]
