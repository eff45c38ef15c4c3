"""Sum pooling (Wolfram's PoolingLayer[..., "Function" -> Total]): the sum over each
window, padding counted as zeros; the average pooling kernels times the window size."""
from __future__ import annotations

from typing import ClassVar

from .pool import _Pooling


class SumPooling2DLayer(_Pooling):
    class_name: ClassVar[str] = "SumPooling2DLayer"
    Type: ClassVar[str] = "Sum Pooling"
    DefaultName: ClassVar[str] = "sumpool"
    family: ClassVar[str] = "sumpool"
    _what: ClassVar[str] = "sum pooling"


__all__ = ["SumPooling2DLayer"]
