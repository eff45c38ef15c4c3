"""instanceNormalizationLayer (MATLAB) / NormalizationLayer[] (Wolfram): each example's
channels normalized over their spatial positions, then Scale and Offset per channel.
Group normalization with one channel per group (groupnorm.py), on the same kernel."""
from __future__ import annotations

from typing import ClassVar

from ..core.layer import AUTO, SizeError
from .groupnorm import _GroupNorm


class InstanceNormalizationLayer(_GroupNorm):
    """Instance normalization: each example's channels normalized over their spatial
    positions (biased variance), then Scale and Offset per channel. MATLAB's
    instanceNormalizationLayer; the Wolfram dialect builds it for NormalizationLayer[]."""

    class_name: ClassVar[str] = "InstanceNormalizationLayer"
    Type: ClassVar[str] = "Instance Normalization"
    DefaultName: ClassVar[str] = "instancenorm"
    family: ClassVar[str] = "instancenorm"
    general: ClassVar = ("Name", "NumChannels")
    hyperparameters: ClassVar = ("Epsilon",)

    def num_groups(self, channels: int) -> int:
        return channels

    def description(self):
        if self.NumChannels == AUTO:
            return "Instance normalization" + self._variant()
        return f"Instance normalization with {self.NumChannels} channels" + self._variant()

    def infer(self, inputs):
        if not inputs[0].is_image:
            raise SizeError("in", f"Instance normalization needs spatial dimensions; the input has size {inputs[0]}.")
        return super().infer(inputs)


__all__ = ["InstanceNormalizationLayer"]
