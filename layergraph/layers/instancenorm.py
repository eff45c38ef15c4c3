"""instanceNormalizationLayer (MATLAB) / NormalizationLayer[] (Wolfram): each example's
channels normalized over their spatial positions, then Scale and Offset per channel."""
from __future__ import annotations

from typing import ClassVar

from ..core.layer import AUTO, SizeError
from .norm import _ChannelNorm


class InstanceNormalizationLayer(_ChannelNorm):
    """Instance normalization: each example's channels normalized over their spatial
    positions (biased variance), then Scale and Offset per channel. MATLAB's
    instanceNormalizationLayer; the Wolfram dialect builds it for NormalizationLayer[]."""

    class_name: ClassVar[str] = "InstanceNormalizationLayer"
    Type: ClassVar[str] = "Instance Normalization"
    DefaultName: ClassVar[str] = "instancenorm"
    family: ClassVar[str] = "instancenorm"
    general: ClassVar = ("Name", "NumChannels")
    hyperparameters: ClassVar = ("Epsilon",)

    def description(self):
        if self.NumChannels == AUTO:
            return "Instance normalization"
        return f"Instance normalization with {self.NumChannels} channels"

    def infer(self, inputs):
        if not inputs[0].is_image:
            raise SizeError("in", f"Instance normalization needs spatial dimensions; the input has size {inputs[0]}.")
        return super().infer(inputs)


__all__ = ["InstanceNormalizationLayer"]
