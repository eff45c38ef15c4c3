"""Image sequences: time folded into the batch and back.

An image sequence is N x C x H x W x T inside (core/size.py). A layer that acts on each time
step alone (a spec decorated with ``layers._common.per_step``: convolutions, batch
normalization, pooling, flatten) runs on an image sequence as its own op on a batch of
images: ``fold`` moves time next to the batch and keeps each sequence's own steps only
(M = the number of valid steps, N*T without padding), the op runs once on those M images (one
kernel call, no loop over steps), and ``unfold`` puts the results back at their steps, with
zeros at the padded ones. Batch normalization therefore takes its statistics over the valid
steps only, and a padded step's output is 0 in every such layer.

``sequenceFoldingLayer`` / ``sequenceUnfoldingLayer`` (layers/sequence_folding.py) are the
same two moves as layers: the folding op's 'out' is the batch of M images, its
'miniBatchSize' output the mini-batch size N, and the sequence padding travels from the
folding's input to the unfolding (the executor's ``seq_ports`` / ``seq_input``), which puts
every image back at its sequence and step.

These ops reshape numpy arrays on the host (``host_only``): CPU only for now.
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError
from .op import Op


def fold(x: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """N x C x (spatial) x T -> the images of the valid steps (M, C, *spatial), sequence by
    sequence and step by step (all N*T steps when ``valid`` is None)."""
    xt = np.moveaxis(x, -1, 1)   # N x T x C x ...
    if valid is None:
        return np.ascontiguousarray(xt).reshape(x.shape[0] * x.shape[-1], *x.shape[1:-1])
    return np.ascontiguousarray(xt[valid])


def unfold(y: np.ndarray, n: int, t: int, valid: np.ndarray | None) -> np.ndarray:
    """``fold``'s inverse: (M, C', *spatial') -> N x C' x (spatial') x T, zeros at the steps
    that ``valid`` leaves out."""
    if valid is None:
        out = y.reshape(n, t, *y.shape[1:])
    else:
        out = np.zeros((n, t, *y.shape[1:]), y.dtype)
        out[valid] = y
    return np.ascontiguousarray(np.moveaxis(out, 1, -1))


def valid_steps(seq) -> np.ndarray | None:
    """The (N, T) mask of a padded batch, None when nothing is padded."""
    return None if seq is None or seq.full else seq.mask()


class _FoldCtx(tuple):
    """The inner op's context (as a tuple where it is one, so that the executor reads a batch
    normalization's statistics at [1] and [2] as usual) with the fold's (N, T, valid)."""

    inner = None
    fold = None


def _wrap_ctx(inner, folding) -> _FoldCtx:
    ctx = _FoldCtx(inner if isinstance(inner, tuple) else ())
    ctx.inner, ctx.fold = inner, folding
    return ctx


class FoldedStepsOp(Op):
    """A per-step layer's op on an image sequence: fold, the layer's own op on the images
    (sized for one step), unfold."""

    host_only = True
    folds_valid_steps = True   # padding never reaches the inner op: the executor may fuse it with padding

    def __init__(self, inner: Op, in_sizes, out_sizes):
        super().__init__(inner.layer, in_sizes, out_sizes, inner.dtype)
        self.inner = inner
        self.learnable_names = inner.learnable_names
        self.state_names = inner.state_names

    def __getattr__(self, name):   # the inner op's hyperparameters (``_hp``, used by the fusions)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def prepare(self):
        return self.inner.prepare()

    def stored(self, name, value):
        return self.inner.stored(name, value)

    def _fold(self, x):
        valid = valid_steps(self.seq)
        return fold(x, valid), (x.shape[0], x.shape[-1], valid)

    def forward(self, k, xs, P, training):
        xf, folding = self._fold(xs[0])
        ys, ctx = self.inner.forward(k, [xf, *xs[1:]], P, training)
        return [unfold(y, *folding) for y in ys], _wrap_ctx(ctx, folding)

    def backward(self, k, dys, ctx, P):
        n, t, valid = ctx.fold
        self.inner.need_dx = self.need_dx
        dxs, grads = self.inner.backward(k, [fold(d, valid) for d in dys], ctx.inner, P)
        return [None if d is None else unfold(d, n, t, valid) for d in dxs], grads

    def forward_fused(self, k, x, P, bn=None, relu=False, pool=None, ceiling=float("inf")):
        """The prediction chain conv -> [bn] -> [relu] -> [maxpool] on the folded images."""
        xf, folding = self._fold(x)
        return unfold(self.inner.forward_fused(k, xf, P, bn, relu, pool, ceiling), *folding)

    def forward_train_fused(self, k, x, P, pool=None, ceiling=float("inf")):
        """Batch normalization with its ReLU (and max pooling) on the folded images."""
        xf, folding = self._fold(x)
        y, ctx = self.inner.forward_train_fused(k, xf, P, pool, ceiling)
        return unfold(y, *folding), _wrap_ctx(ctx, folding)


class SequenceFoldingOp(Op):
    """sequenceFoldingLayer: 'out' the images of the valid steps, 'miniBatchSize' N."""

    host_only = True
    seq_ports = ("miniBatchSize",)   # the padding goes on to the unfolding through this output

    def prepare(self):
        return {}

    def forward(self, k, xs, P, training):
        x = xs[0]
        valid = valid_steps(self.seq)
        n, t = x.shape[0], x.shape[-1]
        return [fold(x, valid), np.array([n], dtype=self.dtype)], (n, t, valid)

    def backward(self, k, dys, ctx, P):
        return [unfold(dys[0], *ctx)], {}


class SequenceUnfoldingOp(Op):
    """sequenceUnfoldingLayer: the images back at their sequences and steps (the padding from
    the folding's input, read through the 'miniBatchSize' input)."""

    host_only = True
    seq_input = 1   # the input whose sequence metadata this op reads: 'miniBatchSize'

    def prepare(self):
        return {}

    def forward(self, k, xs, P, training):
        y, n = xs[0], int(np.asarray(xs[1]).ravel()[0])
        valid = valid_steps(self.seq)
        if valid is not None:
            t, m = valid.shape[1], int(valid.sum())
        else:
            t = self.seq.steps if self.seq is not None else (y.shape[0] // n if n else 0)
            m = n * t
        if y.shape[0] != m:
            raise LayerGraphError(
                f"Layer '{self.layer.Name}': the input has {y.shape[0]} images, but the sequence folding "
                f"gave {m} ({n} sequences of {t} time steps). Connect the 'miniBatchSize' output of the "
                f"sequence folding layer whose images reach this layer.")
        return [unfold(y, n, t, valid)], valid

    def backward(self, k, dys, ctx, P):
        return [fold(dys[0], ctx), None], {}


FOLDING_OPS = {"sequencefolding": SequenceFoldingOp, "sequenceunfolding": SequenceUnfoldingOp}
