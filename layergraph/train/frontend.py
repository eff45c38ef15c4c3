"""What a dialect's training function does around ``train``, written once.

MATLAB's trainNetwork and Wolfram's NetTrain each read their options and data in their
own words; what they then need is the same and lives here:

  data         ``as_core``: batch-first arrays into the core's layout (observations,
               channels, spatial dimensions), contiguous, in the working precision;
               ``holdout``: a random fraction of the data kept back for validation;
               data read from disk is a ``data.sources`` Column in place of an array (the
               trainer streams it), and ``input_statistics`` reads it for an input layer's
               normalization statistics.
  history      ``EpochMonitor``: a trainer callback that turns the per-iteration info into
               one record per epoch (mean loss of the epoch's batches, last batch loss,
               validation loss, learning rate, training time) and keeps the lists.
  stopping     ``Patience``: stop when the loss has not improved (by an absolute or a
               relative amount) for more than ``patience`` epochs; ``EpochMonitor``'s
               ``time_goal``: stop once the training time reaches it (after ``min_epochs``).
  progress     ``EpochMonitor.hooks``: functions of each epoch's record that may stop the
               run, each with the name that the reason for stopping reports;
               ``EpochMonitor.reporters``: progress displays, fed every iteration and every
               epoch, told which epoch is the last and closed when the run ends;
               ``Throttled``: a reporter that shows an epoch at most every ``interval``
               seconds, plus the first and the last.

The names of records (``epoch``, ``epoch_loss``, ...) are the front end's; a dialect maps
them to its own (Wolfram's "Round", "RoundLoss", ...).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ..core.errors import LayerGraphError
from ..core.sequence import SequenceData
from ..data.sources import Column, batches
from .normalization import statistics, streamed_statistics


# -- data ----------------------------------------------------------------------------------------
def as_core(array, size, dtype) -> np.ndarray:
    """Batch-first data for an activation of ``size`` (a core ActivationSize) in the
    core's layout: observations, channels, then the spatial dimensions. A source's Column
    stays one (each batch converted as it is read)."""
    if isinstance(array, Column):
        return array.converted(size.internal, dtype)
    array = np.asarray(array)
    return np.ascontiguousarray(array.reshape((array.shape[0], *size.internal)), dtype=dtype)


def input_statistics(layer, x, batch_size: int = 128, progress=None) -> dict:
    """The input layer's normalization statistics from its training data: an array, or a
    source's Column (read in mini-batches, ahead of use; ``progress(done, total)`` after each)."""
    if isinstance(x, SequenceData):   # over every time step of every sequence, padding left out
        return statistics(layer, x.steps())
    if not isinstance(x, Column):
        return statistics(layer, x)

    def passes():
        done = 0
        for batch in batches({"x": x}, None, batch_size, partial=True):
            done += batch["x"].shape[0]
            if progress is not None:
                progress(done, x.shape[0])
            yield batch["x"]
    return streamed_statistics(layer, passes, x.ndim)


def count(arrays: dict) -> int:
    """The number of observations of a set of arrays, which must agree."""
    counts = {np.shape(v)[0] if np.ndim(v) else -1 for v in arrays.values()}
    if len(counts) != 1 or -1 in counts:
        raise LayerGraphError("All network inputs and targets must have the same number of observations.")
    return counts.pop()


def take(arrays: dict, idx) -> dict:
    return {k: v.subset(idx) if isinstance(v, (Column, SequenceData)) else v[idx] for k, v in arrays.items()}


def holdout(inputs: dict, targets: dict, fraction: float, seed=None):
    """((train inputs, train targets), (validation inputs, validation targets)): a random
    ``fraction`` of the observations (at least one) kept back, both parts in their
    original order."""
    n = count({**inputs, **{str(k): v for k, v in targets.items()}})
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(fraction * n)))
    val_idx, train_idx = np.sort(order[:k]), np.sort(order[k:])
    return (take(inputs, train_idx), take(targets, train_idx)), (take(inputs, val_idx), take(targets, val_idx))


# -- stopping ------------------------------------------------------------------------------------
class Patience:
    """Stop when the loss has gone more than ``patience`` epochs without improving on the
    best so far (improving: below best - amount, or below best * (1 - amount) for a
    relative change); never within the first ``initial`` epochs."""

    def __init__(self, patience: int = 0, initial: int = 0, relative: bool = False, amount: float = 0.0):
        self.patience, self.initial, self.relative, self.amount = patience, initial, relative, amount

    def __call__(self, losses) -> bool:
        if len(losses) <= max(self.initial, 1):
            return False
        best, bad = losses[0], 0
        for loss in losses[1:]:
            better = loss < best * (1 - self.amount) if self.relative else loss < best - self.amount
            if better:
                best, bad = loss, 0
            else:
                bad += 1
        return bad > self.patience


# -- history and progress ------------------------------------------------------------------------
class Reporter:
    """What ``EpochMonitor`` tells a progress display; every method may be left as it is."""

    def start(self) -> None: ...

    def batch(self, info: dict) -> None: ...

    def epoch(self, record: dict, final: bool) -> None: ...

    def close(self) -> None: ...


class Throttled(Reporter):
    """Shows an epoch's record with ``show(record)`` at most every ``interval`` seconds,
    and always the first and the last epoch."""

    def __init__(self, show: Callable[[dict], None], interval: float = 0.0):
        self.show, self.interval = show, interval
        self._last_shown = None
        self._pending = None

    def epoch(self, record, final):
        now = time.perf_counter()
        if final or self._last_shown is None or now - self._last_shown >= self.interval:
            self.show(record)
            self._last_shown, self._pending = now, None
        else:
            self._pending = record

    def close(self):
        if self._pending is not None:  # the run ended between two shown epochs
            self.show(self._pending)
            self._pending = None


class EpochMonitor:
    """A trainer callback (``TrainConfig.callbacks``): the per-epoch history of a run, the
    rules that stop it at the end of an epoch, and its progress displays.

    ``per_epoch`` iterations make an epoch; ``validation`` says whether the run has
    validation data (the stopping loss is then the validation loss, else the epoch's
    training loss). ``hooks`` are ``(name, f(record, losses) -> bool)``: ``True`` stops the
    run, and ``stopped_by`` then holds the first name that asked (the time goal's name is
    "time goal"); every hook sees every epoch."""

    TIME_GOAL = "time goal"

    def __init__(self, per_epoch: int, max_epochs: int | None = None, validation: bool = False,
                 time_goal: float | None = None, min_epochs: int = 0):
        self.per_epoch, self.max_epochs, self.validation = per_epoch, max_epochs, validation
        self.time_goal, self.min_epochs = time_goal, min_epochs
        self.hooks: list[tuple[str, Callable]] = []
        self.reporters: list[Reporter] = []
        self.batch_losses: list[float] = []
        self.epoch_losses: list[float] = []
        self.validation_losses: list[float] = []
        self.records: list[dict] = []
        self.stopped_by: str | None = None
        self._current: list[float] = []

    def __call__(self, info) -> bool:
        state = info.get("State")
        if state == "start":
            for r in self.reporters:
                r.start()
            return False
        if state == "done":
            for r in self.reporters:
                r.close()
            return False
        if state != "iteration":
            return False
        loss = info["TrainingLoss"]
        self.batch_losses.append(loss)
        self._current.append(loss)
        for r in self.reporters:
            r.batch(info)
        if info["Iteration"] % self.per_epoch:
            return False
        epoch = info["Iteration"] // self.per_epoch
        self.epoch_losses.append(float(np.mean(self._current)))
        self._current.clear()
        v = info.get("ValidationLoss")
        v = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        if v is not None:
            self.validation_losses.append(v)
        record = {"epoch": epoch, "epoch_loss": self.epoch_losses[-1], "batch_loss": loss, "validation_loss": v,
                  "learn_rate": info["BaseLearnRate"], "elapsed": info["TimeSinceStart"]}
        self.records.append(record)
        losses = self.validation_losses if self.validation else self.epoch_losses
        asked = [name for name, hook in self.hooks if hook(record, losses)]
        if (self.time_goal is not None and record["elapsed"] >= self.time_goal
                and epoch >= self.min_epochs):
            asked.append(self.TIME_GOAL)
        if asked and self.stopped_by is None:
            self.stopped_by = asked[0]
        final = bool(asked) or bool(info.get("Final")) or (self.max_epochs is not None and epoch >= self.max_epochs)
        for r in self.reporters:
            r.epoch(record, final)
        return bool(asked)
