"""Activation sizes as the core sees them (one example, no batch dimension).

A size is spatial dimensions plus a channel count, in MATLAB's order:
``Size((28, 28), 1)`` is a 28x28x1 image, ``Size((), 10)`` ten features.
Kernels see the internal N x C x H x W layout; conventions.py converts.
"""
from __future__ import annotations

from typing import NamedTuple


class Size(NamedTuple):
    spatial: tuple[int, ...]
    channels: int

    @property
    def is_image(self) -> bool:
        return len(self.spatial) > 0

    @property
    def numel(self) -> int:
        n = self.channels
        for s in self.spatial:
            n *= s
        return n

    @property
    def dims(self) -> tuple[int, ...]:
        """MATLAB's dimensions: H x W x C for images, C for features."""
        return (*self.spatial, self.channels)

    @property
    def internal(self) -> tuple[int, ...]:
        """One example's shape in the internal layout: (C, H, W) for images, (C,) for
        features (and (C, L, 1) for Wolfram's matrices, spatial (L, 1))."""
        return (self.channels, *self.spatial)

    @property
    def format(self) -> str:
        """dlarray format labels without the batch: 'SSC' or 'C'."""
        return "S" * len(self.spatial) + "C"

    def __str__(self) -> str:  # 28x28x1, as MATLAB writes sizes
        return "x".join(str(d) for d in self.dims)
