"""The values the ONNX importer passes between its op handlers (importer.py, _rnn_import.py)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.size import Size


class _Unsupported(Exception):
    """This node (with this configuration) has no layer: the reason, in words."""


@dataclass
class _Act:
    """An activation computed by layers: (core layer, output port) and its example shape."""
    ref: tuple[str, str]
    shape: tuple[int, ...]
    tensor: str = ""
    seq: str | None = None   # a sequence (core N x C x T): its ONNX layout, "TNC" or "NTC" (_rnn_import.py)


def _size(shape) -> Size:
    if len(shape) == 1:
        return Size((), shape[0])
    if len(shape) == 3:
        return Size((shape[1], shape[2]), shape[0])
    if len(shape) == 2:
        return Size((shape[1], 1), shape[0])
    raise _Unsupported(f"a tensor of shape (N, {', '.join(map(str, shape))}) (rank {len(shape) + 1}); layers take "
                       "rank 2 (N x C), 3 (N x C x L) or 4 (N x C x H x W)")
