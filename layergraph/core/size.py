"""Activation sizes as the core sees them (one example, no batch dimension).

A size is spatial dimensions plus a channel count, in MATLAB's order:
``Size((28, 28), 1)`` is a 28x28x1 image, ``Size((), 10)`` ten features.
Kernels see the internal N x C x H x W layout; conventions.py converts.

A sequence has a time dimension as well (``time``): ``VARYING`` for sequences whose length
varies between observations (MATLAB's sequenceInputLayer, Wolfram's "Varying"), an integer
for a fixed length, None (the default) for data without time. Sequences are N x C x T in the
internal layout (time last, channels on axis 1 as for every other activation); the length
of a batch and of each sequence is per mini-batch (core/sequence.py), not part of the size.
"""
from __future__ import annotations

from typing import NamedTuple


VARYING = -1   # a time dimension whose length varies between observations


class Size(NamedTuple):
    spatial: tuple[int, ...]
    channels: int
    time: int | None = None

    @property
    def is_sequence(self) -> bool:
        return self.time is not None

    def with_time(self, time: int | None = VARYING) -> "Size":
        return Size(self.spatial, self.channels, time)

    def without_time(self) -> "Size":
        return Size(self.spatial, self.channels)

    @property
    def is_image(self) -> bool:
        return len(self.spatial) > 0

    @property
    def numel(self) -> int:  # one time step's elements
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
        """dlarray format labels without the batch and time: 'SSC' or 'C'."""
        return "S" * len(self.spatial) + "C"

    @property
    def batch_format(self) -> str:
        """dlarray format with the batch (and time): 'SSCB', 'CB', 'CBT'."""
        return self.format + ("BT" if self.is_sequence else "B")

    def __str__(self) -> str:  # 28x28x1, as MATLAB writes sizes
        return "x".join(str(d) for d in self.dims)
