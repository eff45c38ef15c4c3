"""Wolfram's loss layers, for NetTrain's ``LossFunction`` option, on the core losses
(``layergraph.train``):

  CrossEntropyLossLayer("Index")          -log p[target], the target a 1-based class index
                                          (core CrossEntropy on the one-hot target)
  CrossEntropyLossLayer("Probabilities")  -Total[t log p], the target a probability vector
                                          (core CrossEntropy)
  CrossEntropyLossLayer("Binary")         -Mean[t log p + (1 - t) log(1 - p)] over the elements
                                          (core BinaryCrossEntropy)
  MeanSquaredLossLayer()                  Mean[(x - t)^2] over the elements (core MeanSquared)
  MeanAbsoluteLossLayer()                 Mean[Abs[x - t]] over the elements (core MeanAbsolute)

NetTrain's loss is each of these per example, averaged over the batch. A loss layer can
also be applied to data: ``layer({"Input": x, "Target": t})`` is the loss of one example,
and with ``Input=dims`` given (as ``MeanSquaredLossLayer["Input" -> 3]``) an array with one
more dimension than ``dims`` is a batch, which gives one loss per example.

Loss layers are not layers of a NetChain or NetGraph here (Wolfram's NetGraph with a
"Loss" port is not implemented); they are only values of LossFunction. A net can compute
its own loss instead (its targets as input ports) and name that output:
``LossFunction="port"``, which trains on ``OutputLoss``.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError
from ..train import BinaryCrossEntropy, CrossEntropy, Loss, MeanAbsolute, MeanSquared
from .args import checked_init
from .types import port_spec, wl_list

CROSS_ENTROPY_TARGETS = ("Index", "Probabilities", "Binary")


class LossLayer:
    """Base of Wolfram's loss layers: ports "Input", "Target" and "Loss"."""

    head = "LossLayer"
    core: type[Loss]  # the core loss (layergraph.train) a layer computes

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.head = cls.__name__  # what Wolfram prints: the class's name

    def __init__(self, *, Input=None, Target=None):
        self.input_spec = port_spec(Input, f"{self.head} option \"Input\"")
        self.target_spec = port_spec(Target, f"{self.head} option \"Target\"")

    # -- what NetTrain needs ---------------------------------------------------------------------
    def core_loss(self) -> Loss:
        return self.core()

    def targets(self, y: np.ndarray, out_dims: tuple, port: str, automatic: bool = False) -> np.ndarray:
        """The targets for the output ``port`` of dimensions ``out_dims`` as an array of the
        output's shape (batch first); ``y`` is the data given for the port."""
        if y.shape[1:] != tuple(out_dims):
            raise LayerGraphError(f"Data provided to port \"{port}\" should be a list of numeric arrays of "
                                  f"dimensions {wl_list(out_dims)} (the target of {self!r}); received "
                                  f"{wl_list(y.shape)}.", "NetTrain::invindim")
        return y

    def check_output(self, out_dims: tuple, port: str) -> None:
        """Raise if this loss cannot take the output ``port`` of dimensions ``out_dims``."""

    # -- evaluation --------------------------------------------------------------------------------
    def __call__(self, data):
        if not isinstance(data, dict) or set(data) != {"Input", "Target"}:
            raise LayerGraphError(f"{self!r} should be applied to a dict {{\"Input\": x, \"Target\": t}}.",
                                  f"{self.head}::invargs")
        try:
            x = np.asarray(data["Input"], dtype=np.float64)
            t = np.asarray(data["Target"], dtype=np.float64)
        except (TypeError, ValueError):
            raise LayerGraphError(f"The \"Input\" and \"Target\" of {self!r} should be numeric arrays.",
                                  f"{self.head}::invargs") from None
        batch = self.input_spec is not None and None not in self.input_spec \
            and x.ndim == len(self.input_spec) + 1 and x.shape[1:] == tuple(self.input_spec)
        xs = x if batch else x[None]
        ts = t if batch else t[None]
        dims = tuple(xs.shape[1:])
        if self.input_spec is not None and None not in self.input_spec and dims != tuple(self.input_spec):
            raise LayerGraphError(f"The \"Input\" of {self!r} should have dimensions {wl_list(self.input_spec)}; "
                                  f"received {wl_list(dims)}.", f"{self.head}::invargs")
        if xs.shape[0] != ts.shape[0]:
            raise LayerGraphError(f"The \"Input\" and \"Target\" of {self!r} should have the same number of "
                                  "examples.", f"{self.head}::invargs")
        self.check_output(dims, "Input")
        tt = self.targets(ts, dims, "Target")
        loss = self.core_loss()
        out = np.array([loss(xs[i:i + 1].reshape(1, -1), tt[i:i + 1].reshape(1, -1))[0]
                        for i in range(xs.shape[0])])
        return out if batch else float(out[0])

    # -- display ---------------------------------------------------------------------------------
    def _args(self) -> str:
        return ""

    def __repr__(self):
        return f"{self.head}[{self._args()}]"

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output

    def __eq__(self, other):
        return type(self) is type(other) and self._args() == other._args() \
            and (self.input_spec, self.target_spec) == (other.input_spec, other.target_spec)

    __hash__ = None


@checked_init
class MeanSquaredLossLayer(LossLayer):
    """``MeanSquaredLossLayer[]``: the mean of (input - target)^2 over the elements of an
    example."""

    core = MeanSquared


@checked_init
class MeanAbsoluteLossLayer(LossLayer):
    """``MeanAbsoluteLossLayer[]``: the mean of Abs[input - target] over the elements of an
    example."""

    core = MeanAbsolute


@checked_init
class CrossEntropyLossLayer(LossLayer):
    """``CrossEntropyLossLayer["Index"]`` (targets are class indices 1..n),
    ``CrossEntropyLossLayer["Probabilities"]`` (targets are probability vectors) and
    ``CrossEntropyLossLayer["Binary"]`` (input and target are probabilities of one event,
    elementwise)."""

    def __init__(self, target, **options):
        if not isinstance(target, str) or target not in CROSS_ENTROPY_TARGETS:
            shown = f'"{target}"' if isinstance(target, str) else repr(target)
            raise LayerGraphError(f"Invalid argument for CrossEntropyLossLayer: {shown} should be \"Index\", "
                                  "\"Probabilities\" or \"Binary\".", "General::cstfail")
        super().__init__(**options)
        self.target = target

    def _args(self):
        return f'"{self.target}"'

    def core_loss(self):
        return BinaryCrossEntropy() if self.target == "Binary" else CrossEntropy()

    def check_output(self, out_dims, port):
        if self.target != "Binary" and len(out_dims) != 1:
            raise LayerGraphError(f"{self!r} on the port \"{port}\" of dimensions {wl_list(out_dims)}: only "
                                  "vectors of class probabilities are supported (not the higher-rank forms that "
                                  "average over extra dimensions).", "NetTrain::invloss")

    def targets(self, y, out_dims, port, automatic=False):
        n = y.shape[0]
        if self.target == "Binary":
            y = super().targets(y, out_dims, port)
            if np.any(y < 0) or np.any(y > 1):
                raise LayerGraphError(f"Targets for port \"{port}\" of {self!r} should be probabilities between 0 "
                                      "and 1.", "NetTrain::invindim")
            return y
        k = out_dims[-1]
        if self.target == "Probabilities" or (automatic and y.shape[1:] == tuple(out_dims)):
            y = super().targets(y, out_dims, port)
            if np.any(y < 0):
                raise LayerGraphError(f"Targets for port \"{port}\" of {self!r} should be probability vectors "
                                      "(nonnegative).", "NetTrain::invindim")
            return y
        if y.ndim != 1 or np.any(y != np.round(y)) or np.any(y < 1) or np.any(y > k):
            raise LayerGraphError(f"Targets for port \"{port}\" should be class indices between 1 and {k} "
                                  f"({self!r}).", "NetTrain::invindim")
        t = np.zeros((n, k))
        t[np.arange(n), y.astype(int) - 1] = 1
        return t


class OutputLoss(Loss):
    """LossFunction -> "port": the output itself is the loss, summed over its elements and
    averaged over the batch; it takes no target (the trainer passes a placeholder)."""

    name = "OutputLoss"

    def __call__(self, y, t):
        n = y.shape[0]
        return float(np.sum(y.astype(np.float64)) / n), np.full_like(y, 1.0 / n)


LOSS_LAYERS = (CrossEntropyLossLayer, MeanSquaredLossLayer, MeanAbsoluteLossLayer)

__all__ = ["CrossEntropyLossLayer", "LossLayer", "MeanAbsoluteLossLayer", "MeanSquaredLossLayer"]
