"""Losses the trainer attaches to network outputs. Each works on internal-layout
arrays with the observations on axis 0 and returns the mean loss of the batch and
its gradient with respect to the network output.

  CrossEntropy(class_weights=None): MATLAB classificationLayer 'crossentropyex' and
      Wolfram CrossEntropyLossLayer["Probabilities"]: -sum_k w_k t_k log y_k / N.
  HalfMeanSquared(): MATLAB regressionLayer 'mean-squared-error': sum (y - t)^2 / 2 / N.
  MeanSquared(): Wolfram MeanSquaredLossLayer: the mean over the elements of one
      example of (y - t)^2, averaged over the batch.
  MeanAbsolute(): Wolfram MeanAbsoluteLossLayer: the mean over the elements of one
      example of |y - t|, averaged over the batch; gradient sign(y - t) / elements / N
      (the subgradient 0 where y == t).
  BinaryCrossEntropy(): Wolfram CrossEntropyLossLayer["Binary"]:
      -(t log y + (1 - t) log(1 - y)), averaged over the elements of an example and over
      the batch (y is clipped to [eps, 1 - eps] of its dtype first, so 0 and 1 give a large
      finite loss; the gradient is the formula's at the clipped value).
  Huber(delta=1): MATLAB trainnet "huber": 0.5 d^2 where |d| <= delta, else
      delta (|d| - delta / 2), averaged over the elements of the batch.
  ScaledLoss(loss, r): r times ``loss`` and its gradient (Wolfram's LossFunction ->
      {..., lspec -> Scaled[r], ...}).
"""
from __future__ import annotations

import numpy as np

from ..kernels import get_kernel


class Loss:
    name = ""
    metric_name: str | None = None  # 'Accuracy' (percent) or 'RMSE'

    def __call__(self, y, t) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def metric(self, y, t, loss: float, mask=None) -> float | None:
        """``mask`` (N x 1 x T, sequences): the steps that count."""
        return None


class CrossEntropy(Loss):
    name = "crossentropyex"
    metric_name = "Accuracy"

    def __init__(self, class_weights=None):
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype=float)

    def __call__(self, y, t):
        w = None if self.class_weights is None else self.class_weights.astype(y.dtype)
        fwd, bwd = get_kernel("crossentropyex", "forward_train", "cpu"), get_kernel("crossentropyex", "backward", "cpu")
        from ..kernels.cpu import loss as cpu_loss
        if fwd is cpu_loss.crossentropyex_forward and bwd is cpu_loss.crossentropyex_backward:
            return cpu_loss.crossentropyex_loss_and_grad(y, t, w)   # each of the two computes both
        return fwd(y, t, w), bwd(y, t, w)

    def metric(self, y, t, loss, mask=None):
        """Percentage of observations (of time steps, for sequences: only each sequence's own,
        ``mask`` N x 1 x T) whose largest score is the true class."""
        n = y.shape[0]
        hit = np.argmax(y.reshape(n, y.shape[1], -1), axis=1) == np.argmax(t.reshape(n, t.shape[1], -1), axis=1)
        if mask is not None:
            m = mask.reshape(n, -1)
            return 100.0 * float(np.sum(hit & m) / max(np.sum(m), 1))
        return 100.0 * float(np.mean(hit))


class HalfMeanSquared(Loss):
    name = "mean-squared-error"
    metric_name = "RMSE"

    def __call__(self, y, t):
        return get_kernel("mse", "forward_train", "cpu")(y, t), get_kernel("mse", "backward", "cpu")(y, t)

    def metric(self, y, t, loss, mask=None):
        """sqrt(sum (y - t)^2 / N), i.e. sqrt(2 * loss): the RMSE of one response per
        observation (with several responses, their squared errors are summed)."""
        return float(np.sqrt(2.0 * loss))


class MeanSquared(Loss):
    name = "MeanSquared"

    def __call__(self, y, t):
        d = (y - t).astype(np.float64)
        m = y.size
        return float(np.sum(d * d) / m), (2.0 * (y - t) / y.dtype.type(m)).astype(y.dtype)


class MeanAbsolute(Loss):
    name = "MeanAbsolute"

    def __call__(self, y, t):
        d = y - t
        m = y.size
        return float(np.sum(np.abs(d.astype(np.float64))) / m), (np.sign(d) / y.dtype.type(m)).astype(y.dtype)


class BinaryCrossEntropy(Loss):
    name = "BinaryCrossEntropy"

    def __call__(self, y, t):
        eps = float(np.finfo(y.dtype).eps)
        yc = np.clip(y.astype(np.float64), eps, 1 - eps)
        t64 = t.astype(np.float64)
        m = y.size
        loss = -np.sum(t64 * np.log(yc) + (1 - t64) * np.log1p(-yc)) / m
        grad = ((1 - t64) / (1 - yc) - t64 / yc) / m
        return float(loss), grad.astype(y.dtype)


class Huber(Loss):
    """Huber loss with transition point ``delta``: 0.5 d^2 where |d| <= delta, else
    delta (|d| - 0.5 delta), d = y - t, averaged over all elements (MATLAB trainnet "huber")."""
    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta = float(delta)

    def __call__(self, y, t):
        d = (y - t).astype(np.float64)
        a, k = np.abs(d), self.delta
        m = y.size
        loss = np.sum(np.where(a <= k, 0.5 * d * d, k * (a - 0.5 * k))) / m
        return float(loss), (np.clip(d, -k, k) / m).astype(y.dtype)


class ScaledLoss(Loss):
    def __init__(self, loss: Loss, factor: float):
        self.loss, self.factor = loss, float(factor)
        self.name = loss.name
        self.metric_name = loss.metric_name

    def __call__(self, y, t):
        value, grad = self.loss(y, t)
        return self.factor * value, grad * grad.dtype.type(self.factor)

    def metric(self, y, t, loss, mask=None):
        value = loss / self.factor if self.factor else 0.0
        return self.loss.metric(y, t, value) if mask is None else self.loss.metric(y, t, value, mask=mask)
