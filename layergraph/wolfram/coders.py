"""NetDecoder[{"Class", labels}]: turns a net's class probabilities into class labels.

``NetChain([...,  SoftmaxLayer()], Output=NetDecoder(("Class", ["cat", "dog"])))``: the net
returns a label for one example and a list of labels for a batch; ``net(x, "Probabilities")``
gives a dict label -> probability, ``net(x, ("TopProbabilities", 2))`` the two likeliest,
``net(x, None)`` the raw vector. NetTrain takes the labels themselves as targets. Only the
"Class" decoder exists here (no encoders, no other decoders).
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError
from . import symbols as S

PROPERTIES = ("Decision", "TopDecisions", "Probabilities", "TopProbabilities", "Probability", "Entropy")


def _wl(v):
    return f'"{v}"' if isinstance(v, str) else repr(v)


class NetDecoder:
    """``NetDecoder(("Class", labels))`` is Wolfram's ``NetDecoder[{"Class", labels}]``."""

    def __init__(self, spec):
        if isinstance(spec, str):
            raise LayerGraphError(f"NetDecoder[\"{spec}\"] needs its classes: NetDecoder((\"{spec}\", [labels])).",
                                  "NetDecoder::invspec")
        if not isinstance(spec, (tuple, list)) or len(spec) != 2 or spec[0] != "Class":
            raise LayerGraphError(f"NetDecoder: {spec!r} is not a supported specification; use "
                                  "NetDecoder((\"Class\", [label1, label2, ...])).", "NetDecoder::invspec")
        labels = spec[1]
        if not isinstance(labels, (list, tuple)) or len(labels) < 1:
            raise LayerGraphError("NetDecoder: the classes should be a nonempty list of labels.",
                                  "NetDecoder::invspec")
        try:
            if len(set(labels)) != len(labels):
                raise LayerGraphError("NetDecoder: the class labels should be distinct.", "NetDecoder::invspec")
        except TypeError:
            raise LayerGraphError("NetDecoder: the class labels should be strings, numbers or other hashable "
                                  "values.", "NetDecoder::invspec") from None
        self.kind = "Class"
        self.labels = list(labels)
        self._index = {label: i for i, label in enumerate(self.labels)}

    @property
    def dims(self) -> tuple[int]:
        return (len(self.labels),)

    def __repr__(self):
        return "NetDecoder[{\"Class\", {" + ", ".join(_wl(v) for v in self.labels) + "}}]"

    def __eq__(self, other):
        return isinstance(other, NetDecoder) and self.labels == other.labels

    __hash__ = None

    def indices(self, targets, port) -> np.ndarray:
        """1-based class indices of the target labels (NetTrain)."""
        out = []
        for t in targets:
            key = t.item() if isinstance(t, np.generic) else t
            try:
                out.append(self._index[key] + 1)
            except (KeyError, TypeError):
                raise LayerGraphError(f"Targets for port \"{port}\" should be among the classes "
                                      f"{self.labels!r}; {key!r} is not.", "NetTrain::invindim") from None
        return np.asarray(out, dtype=np.float64)

    def decode(self, p: np.ndarray, prop, single: bool):
        """Apply a decoder property to probabilities ``p`` (N x classes)."""
        if p.shape[-1] != len(self.labels) or p.ndim != 2:
            raise LayerGraphError(f"The Class decoder expects vectors of {len(self.labels)} probabilities.",
                                  "NetDecoder::invdims")
        name, arg = (prop, None)
        if isinstance(prop, tuple) and len(prop) == 2:
            name, arg = prop
        if prop is S.Automatic:
            name = "Decision"
        if not isinstance(name, str) or name not in PROPERTIES:
            raise LayerGraphError(f"{prop!r} is not a property of the Class decoder. Properties: "
                                  f"{', '.join(PROPERTIES)}, or None for the raw output.", "NetDecoder::invprop")
        rows = [self._one(row, name, arg) for row in p]
        return rows[0] if single else rows

    def _one(self, row, name, arg):
        labels = self.labels
        order = np.argsort(-row, kind="stable")
        if name == "Decision":
            return labels[int(order[0])]
        if name == "Probabilities":
            return {labels[i]: float(row[i]) for i in range(len(labels))}
        if name == "Entropy":
            q = row[row > 0].astype(np.float64)
            return float(-np.sum(q * np.log(q)))
        if name == "Probability":
            if arg not in self._index:
                raise LayerGraphError(f"(\"Probability\", c) needs a class c among {labels!r}.",
                                      "NetDecoder::invprop")
            return float(row[self._index[arg]])
        n = 5 if arg is None else arg
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise LayerGraphError(f"(\"{name}\", n) needs a positive integer n.", "NetDecoder::invprop")
        top = order[:n]
        if name == "TopDecisions":
            return [labels[int(i)] for i in top]
        return [(labels[int(i)], float(row[i])) for i in top]


__all__ = ["NetDecoder"]
