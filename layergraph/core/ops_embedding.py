"""The op of layers/embedding.py: integer indices 1..NumWords -> rows of the stored weights
(NumWords x Dimension), through the kernels' gather and scatter-add (kernels/cpu/embedding.py).

Indices arrive as numbers in the activation dtype; each own element must be an integer in
1..NumWords, else the error names the layer and the first value that is not. On a padded
sequence batch the padded steps are not indices: they are left out of the check, read row 0
and give zero vectors, and their gradient is dropped, so the padding value never matters.
"""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError
from .op import Op


class EmbeddingOp(Op):
    learnable_names = ("Weights",)
    host_only = True   # the index check and layout moves are numpy

    def _indices(self, x):
        """(0-based int64 indices in the output's element order, (N, T) mask of own steps or None)."""
        n = self.layer.NumWords
        seq = self.in_sizes[0].is_sequence
        if seq:   # N x 1 x T -> (N, T)
            v = x.reshape(x.shape[0], x.shape[-1])
            mask = None if self.seq is None or self.seq.full else self.seq.mask()
        else:
            v = x.reshape(x.shape[0], -1)
            mask = None
        own = v if mask is None else v[mask]
        bad = ~((own == np.round(own)) & (own >= 1) & (own <= n))
        if bad.any():
            value = own[bad][0]
            shown = int(value) if np.isfinite(value) and value == np.round(value) else float(value)
            raise LayerGraphError(f"Layer '{self.layer.Name}' (EmbeddingLayer): the input {shown} is not an integer "
                                  f"between 1 and {n} (the number of indices it embeds).", "General::netinvinput")
        idx = v.astype(np.int64) - 1
        if mask is not None:
            idx = np.where(mask, idx, 0)
        return idx, mask

    def forward(self, k, xs, P, training):
        x = xs[0]
        idx, mask = self._indices(x)
        d = self.layer.Dimension
        y = k("embedding", "forward_infer")(idx.reshape(-1), P["Weights"])
        if self.in_sizes[0].is_sequence:
            y = y.reshape(x.shape[0], x.shape[-1], d)
            if mask is not None:
                y[~mask] = 0
            y = np.ascontiguousarray(y.transpose(0, 2, 1))   # N x d x T
        else:
            size = self.out_sizes[0]
            y = y.reshape((x.shape[0], size.channels, *size.spatial))
        return [y], (idx, mask, x.shape)

    def backward(self, k, dys, ctx, P):
        idx, mask, shape = ctx
        dy = dys[0]
        d = self.layer.Dimension
        if self.in_sizes[0].is_sequence:
            dy = dy.transpose(0, 2, 1)   # N x T x d
            if mask is not None:
                dy = np.where(mask[:, :, None], dy, 0)
        dw = k("embedding", "backward")(np.ascontiguousarray(dy).reshape(-1, d), idx.reshape(-1),
                                         self.layer.NumWords)
        need = self.need_dx is None or self.need_dx[0]
        return [np.zeros(shape, dtype=dys[0].dtype) if need else None], {"Weights": dw}


EMBEDDING_OPS = {"embedding": EmbeddingOp}
