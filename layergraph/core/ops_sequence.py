"""The ops of layers/sequence_ops.py: elements of each sequence of a padded batch.

The batch is N x C x (spatial) x T with the padding ``self.seq`` (core/sequence.py; None: no
padding). Most and Rest are the batch's columns 0..T-2 and 1..T-1 for either padding side (a
sequence's own steps stay a prefix with right padding and a suffix with left padding), each
sequence one step shorter (``seq_out``); Last gathers and Reverse permutes within each
sequence's own steps, so their backward passes scatter through the same indices.
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError
from .op import Op
from .ops_folding import fold, unfold
from .sequence import SeqInfo


class _SequenceOp(Op):
    host_only = True   # numpy indexing

    def _lengths(self, x):
        n, t = x.shape[0], x.shape[-1]
        seq = self.seq
        if seq is None:
            return np.full(n, t, dtype=np.int64), False
        if seq.steps != t or len(seq.lengths) != n:
            raise LayerGraphError(f"Layer '{self.layer.Name}': the sequence lengths ({len(seq.lengths)} sequences of "
                                  f"at most {seq.steps} steps) do not fit the batch {x.shape}.")
        return np.asarray(seq.lengths, dtype=np.int64), seq.left

    def _check(self, lengths, need):
        short = np.nonzero(lengths < need)[0]
        if short.size:
            i = int(short[0])
            raise LayerGraphError(f"Layer '{self.layer.Name}' ({self.layer.class_name}) needs sequences of at least "
                                  f"{need} elements; sequence {i + 1} has {int(lengths[i])}.", "General::seqlen")


class SequenceLastOp(_SequenceOp):
    def seq_out(self, seq):
        return None

    def forward(self, k, xs, P, training):
        x = xs[0]
        lengths, left = self._lengths(x)
        self._check(lengths, 1)
        t = x.shape[-1]
        idx = np.full(len(lengths), t - 1) if left else lengths - 1
        y = np.ascontiguousarray(x[np.arange(x.shape[0]), ..., idx])
        return [y], (idx, x.shape)

    def backward(self, k, dys, ctx, P):
        idx, shape = ctx
        dx = np.zeros(shape, dtype=dys[0].dtype)
        dx[np.arange(shape[0]), ..., idx] = dys[0]
        return [dx], {}


class _DropOneOp(_SequenceOp):
    keep: slice = slice(None)
    pad_grad: tuple = (0, 0)

    def seq_out(self, seq):
        if seq is None:
            return None
        return SeqInfo(np.maximum(seq.lengths - 1, 0), seq.steps - 1, seq.left)

    def forward(self, k, xs, P, training):
        x = xs[0]
        lengths, left = self._lengths(x)
        self._check(lengths, 2)
        y = np.ascontiguousarray(x[..., self.keep])
        return [y], None

    def backward(self, k, dys, ctx, P):
        dy = dys[0]
        pad = [(0, 0)] * (dy.ndim - 1) + [self.pad_grad]
        return [np.pad(dy, pad)], {}


class SequenceMostOp(_DropOneOp):
    keep = slice(None, -1)
    pad_grad = (0, 1)


class SequenceRestOp(_DropOneOp):
    keep = slice(1, None)
    pad_grad = (1, 0)


class SequenceReverseOp(_SequenceOp):
    def _index(self, x):
        lengths, left = self._lengths(x)
        t = x.shape[-1]
        steps = np.arange(t)[None, :]
        n = lengths[:, None]
        if left:   # own steps t0 .. T-1, t0 = T - len: t -> t0 + T - 1 - t
            idx = np.where(steps >= t - n, 2 * t - n - 1 - steps, steps)
        else:      # own steps 0 .. len-1: t -> len - 1 - t
            idx = np.where(steps < n, n - 1 - steps, steps)
        return idx

    def _apply(self, x, idx):
        rows = np.arange(x.shape[0])[:, None]
        moved = np.moveaxis(x, -1, 1)          # N x T x C x ...
        return np.ascontiguousarray(np.moveaxis(moved[rows, idx], 1, -1))

    def forward(self, k, xs, P, training):
        idx = self._index(xs[0])
        return [self._apply(xs[0], idx)], idx

    def backward(self, k, dys, ctx, P):
        return [self._apply(dys[0], ctx)], {}   # a permutation that is its own inverse


def _own_steps(op, x):
    """(N, T) bool mask of each sequence's own steps of the batch ``x``."""
    lengths, left = op._lengths(x)
    return SeqInfo(lengths, x.shape[-1], left).mask()


class SequenceFoldOp(_SequenceOp):
    """N x C x ... x T -> M x C x ...: the own steps, sequence by sequence (one gather)."""

    def forward(self, k, xs, P, training):
        x = xs[0]
        if not self.in_sizes[0].is_sequence:   # a fixed-length sequence {T, ...}: a reshape (row-major)
            e = self.out_sizes[0]
            return [np.ascontiguousarray(x).reshape((-1, e.channels, *e.spatial))], (None, x.shape)
        mask = _own_steps(self, x)
        return [fold(x, mask)], (mask, x.shape)

    def backward(self, k, dys, ctx, P):
        mask, shape = ctx
        if mask is None:
            return [np.ascontiguousarray(dys[0]).reshape(shape)], {}
        return [unfold(dys[0], shape[0], shape[-1], mask)], {}


class SequenceUnfoldOp(_SequenceOp):
    """(the folded sequence batch, M x C' x ... per-step results) -> N x C' x ... x T, zeros on
    padded steps (one scatter); the sequence input only gives the lengths: no gradient."""

    def forward(self, k, xs, P, training):
        x, y = xs
        if not self.in_sizes[0].is_sequence:   # a fixed-length sequence {T, ...}: a reshape (row-major)
            o = self.out_sizes[0]
            return [np.ascontiguousarray(y).reshape((x.shape[0], o.channels, *o.spatial))], (None, (x.shape, y.shape))
        mask = _own_steps(self, x)
        if int(mask.sum()) != y.shape[0]:
            raise LayerGraphError(f"Layer '{self.layer.Name}': {y.shape[0]} per-element results for "
                                  f"{int(mask.sum())} sequence elements.")
        return [unfold(y, x.shape[0], x.shape[-1], mask)], (mask, x.shape)

    def backward(self, k, dys, ctx, P):
        mask, shape = ctx
        need = self.need_dx is None or self.need_dx[0]
        if mask is None:
            xshape, yshape = shape
            return [np.zeros(xshape, dtype=dys[0].dtype) if need else None,
                    np.ascontiguousarray(dys[0]).reshape(yshape)], {}
        return [np.zeros(shape, dtype=dys[0].dtype) if need else None, fold(dys[0], mask)], {}


SEQUENCE_OPS = {"sequence_last": SequenceLastOp, "sequence_most": SequenceMostOp, "sequence_rest": SequenceRestOp,
                "sequence_reverse": SequenceReverseOp, "sequence_fold": SequenceFoldOp,
                "sequence_unfold": SequenceUnfoldOp}
