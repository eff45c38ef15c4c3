"""Sequences in a mini-batch: padding to one length, and which steps are padding.

A batch of sequences is N x C x (spatial) x T in the internal layout, T the longest (or the
chosen) length of the batch. ``SeqInfo`` says, per sequence, how many of the T steps are its
own and on which side the padding sits; the executor carries it from the input layer to
every layer that reads time (recurrent layers freeze their state on padded steps, losses and
metrics count valid steps only). It is per mini-batch, never part of a ``Size``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SeqInfo:
    lengths: np.ndarray        # int64 (N,): each sequence's own steps
    steps: int                 # T, the batch's padded length
    left: bool = False         # padding before the data ('left') rather than after it

    def mask(self) -> np.ndarray:
        """(N, T) bool: True on a sequence's own steps."""
        t = np.arange(self.steps)[None, :]
        n = self.lengths[:, None]
        return t >= self.steps - n if self.left else t < n

    @property
    def full(self) -> bool:
        """No padding at all (every sequence is T steps long)."""
        return bool(np.all(self.lengths == self.steps))

    def window(self, start: int, k: int) -> "SeqInfo":
        """The padding of steps start .. start + k - 1 (a chunk): each sequence's own steps there
        are a prefix (padding on the right) or a suffix (on the left) of the chunk."""
        width = min(k, self.steps - start)
        if self.left:
            first = self.steps - self.lengths   # a sequence's first own step
            own = np.clip(start + width - first, 0, width)
        else:
            own = np.clip(self.lengths - start, 0, width)
        return SeqInfo(own.astype(np.int64), width, self.left)

    def take(self, idx) -> "SeqInfo":
        return SeqInfo(self.lengths[idx], self.steps, self.left)


def pad(sequences, length: int | None = None, value: float = 0.0, left: bool = False, dtype=np.float32):
    """Internal-layout sequences (each C x (spatial) x S_n, time last) -> (batch, SeqInfo).

    ``length``: the batch's T (None: the longest); a longer sequence is cut to its first
    ``length`` steps when padding is on the right and to its last ones when it is on the left
    (MATLAB's truncation follows the padding direction)."""
    lengths = np.array([s.shape[-1] for s in sequences], dtype=np.int64)
    steps = int(lengths.max()) if length is None else int(length)
    first = sequences[0]
    kept = np.minimum(lengths, steps)
    shape = (len(sequences), *first.shape[:-1], steps)
    if (lengths == steps).all() and all(a.shape == first.shape for a in sequences):
        # every sequence exactly the batch's steps: one copy, no fill pass (a 2 MB batch of 128
        # sequences of 40 x 100: 320 -> 180 us)
        return np.array(sequences, dtype=dtype), SeqInfo(kept, steps, left)
    out = np.empty(shape, dtype) if kept.min() == steps else np.full(shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        k = int(kept[i])
        if k == 0:
            continue
        src = s[..., -k:] if left else s[..., :k]
        if left:
            out[i, ..., steps - k:] = src
        else:
            out[i, ..., :k] = src
    return out, SeqInfo(kept, steps, left)


def unpad(batch: np.ndarray, info: SeqInfo | None) -> list[np.ndarray]:
    """A padded N x ... x T batch -> each sequence's own steps (copies)."""
    if info is None:
        return [np.array(b) for b in batch]
    out = []
    for i, k in enumerate(info.lengths):
        k = int(k)
        out.append(np.array(batch[i, ..., info.steps - k:] if info.left else batch[i, ..., :k]))
    return out


def valid_steps(info: SeqInfo | None, n: int, steps: int) -> np.ndarray:
    """(N, T) float mask of the valid steps (all ones without SeqInfo)."""
    if info is None:
        return np.ones((n, steps))
    return info.mask().astype(np.float64)


class Padded(np.ndarray):
    """A padded batch (an ndarray) that knows its padding (``seq``)."""

    seq: SeqInfo | None = None


class SequenceData:
    """N sequences (internal C x (spatial) x S_n arrays) standing where the trainer expects an
    array: indexing with observations gives their padded batch (a ``Padded`` array) as
    ``padding`` (core/network.py SequencePadding) says. Targets per time step are a
    SequenceData too, padded with zeros the same way (a zero target adds nothing to a loss)."""

    def __init__(self, sequences, padding, value: float | None = None, dtype=np.float32):
        self.sequences = list(sequences)
        self.padding, self.dtype = padding, dtype
        self.value = padding.value if value is None else float(value)

    @property
    def shape(self) -> tuple[int]:
        return (len(self.sequences),)

    @property
    def ndim(self) -> int:
        return 1

    def __len__(self) -> int:
        return len(self.sequences)

    def subset(self, idx) -> "SequenceData":
        return SequenceData(self._take(idx), self.padding, self.value, self.dtype)

    def _take(self, idx):
        if isinstance(idx, slice):
            return self.sequences[idx]
        return [self.sequences[int(i)] for i in np.asarray(idx).ravel()]

    def __getitem__(self, idx) -> Padded:
        part = self._take(idx)
        steps = self.padding.steps([p.shape[-1] for p in part])
        batch, info = pad(part, steps, self.value, self.padding.left, self.dtype)
        out = batch.view(Padded)
        out.seq = info
        return out

    def steps(self) -> np.ndarray:
        """Every time step of every sequence, as observations (N' x C x ...): what the input
        normalization statistics are computed over (padding left out)."""
        return np.ascontiguousarray(np.moveaxis(np.concatenate(self.sequences, axis=-1), -1, 0))
