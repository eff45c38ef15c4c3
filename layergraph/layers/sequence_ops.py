"""Layers that take elements of a sequence, for Wolfram's SequenceLastLayer,
SequenceMostLayer, SequenceRestLayer and SequenceReverseLayer (wolfram/recurrent.py).

A sequence is N x C x (spatial) x T inside (core/size.py ``Size.time``). Each layer acts on
every sequence's own steps (core/sequence.py ``SeqInfo``: the padding of the batch), not on
the padded batch's columns: Last takes each sequence's last own step, Most drops it, Rest
drops the first, Reverse reverses the own steps in place (the padding stays where it is).
The ops are in core/ops_sequence.py.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from ..core.layer import Choice, Layer, SizeError
from ..core.size import VARYING, Size


class _SequenceOpLayer(Layer):
    verb: ClassVar[str] = ""
    min_length: ClassVar[int] = 1
    hyperparameters: ClassVar = ()

    def description(self):
        return self.verb

    def _sequence(self, inputs) -> Size:
        x = inputs[0]
        if not x.is_sequence:
            raise SizeError("in", f"Layer '{self.Name}' ({self.class_name}) expects a sequence, but its input has "
                                  f"size {x} and no time dimension.")
        if x.time != VARYING and x.time < self.min_length:
            raise SizeError("in", f"Layer '{self.Name}' ({self.class_name}) needs sequences of at least "
                                  f"{self.min_length} steps; the input has {x.time}.")
        return x


class SequenceLastLayer(_SequenceOpLayer):
    """The last element of each sequence: N x C x T -> N x C."""

    class_name: ClassVar[str] = "SequenceLastLayer"
    Type: ClassVar[str] = "Sequence Last"
    DefaultName: ClassVar[str] = "sequencelast"
    family: ClassVar[str] = "sequence_last"
    verb: ClassVar[str] = "Last element of each sequence"

    def infer(self, inputs):
        return self, [self._sequence(inputs).without_time()]


class SequenceMostLayer(_SequenceOpLayer):
    """Each sequence without its last element (one step shorter)."""

    class_name: ClassVar[str] = "SequenceMostLayer"
    Type: ClassVar[str] = "Sequence Most"
    DefaultName: ClassVar[str] = "sequencemost"
    family: ClassVar[str] = "sequence_most"
    verb: ClassVar[str] = "Each sequence without its last element"
    min_length: ClassVar[int] = 2

    def infer(self, inputs):
        x = self._sequence(inputs)
        return self, [x if x.time == VARYING else x.with_time(x.time - 1)]


class SequenceRestLayer(SequenceMostLayer):
    """Each sequence without its first element (one step shorter)."""

    class_name: ClassVar[str] = "SequenceRestLayer"
    Type: ClassVar[str] = "Sequence Rest"
    DefaultName: ClassVar[str] = "sequencerest"
    family: ClassVar[str] = "sequence_rest"
    verb: ClassVar[str] = "Each sequence without its first element"


class SequenceReverseLayer(_SequenceOpLayer):
    """Each sequence's elements in reverse order."""

    class_name: ClassVar[str] = "SequenceReverseLayer"
    Type: ClassVar[str] = "Sequence Reverse"
    DefaultName: ClassVar[str] = "sequencereverse"
    family: ClassVar[str] = "sequence_reverse"
    verb: ClassVar[str] = "Each sequence reversed"

    def infer(self, inputs):
        return self, [self._sequence(inputs)]


class SequenceFoldLayer(_SequenceOpLayer):
    """Each sequence's own steps as examples of their own: N x C x (spatial) x T -> M x C x
    (spatial), M the number of own steps of the batch (all N * T without padding), in the order
    sequence by sequence, step by step. With SequenceUnfoldLayer it runs a net on every element
    of a sequence at once (Wolfram's NetMapOperator): time folded into the batch, padded steps
    left out (so a batch normalization inside sees own steps only)."""

    class_name: ClassVar[str] = "SequenceFoldLayer"
    Type: ClassVar[str] = "Sequence Fold"
    DefaultName: ClassVar[str] = "sequencefold"
    family: ClassVar[str] = "sequence_fold"
    verb: ClassVar[str] = "Each sequence's elements as examples"

    def infer(self, inputs):
        x = inputs[0]
        if not x.is_sequence:   # a fixed-length sequence: the first dimension of an array (Wolfram's {T, d})
            return self, [_element(x)]
        return self, [self._sequence(inputs).without_time()]


def _element(x: Size) -> Size:
    """One element of an array whose first dimension (the channels) is a fixed-length sequence:
    {T} -> a real, {T, n} (Size((n, 1), T)) -> {n}, {T, h, w} -> {h, w} (Size((w, 1), h))."""
    if not x.spatial:
        return Size((), 1)
    if len(x.spatial) == 2 and x.spatial[1] == 1:
        return Size((), x.spatial[0])
    if len(x.spatial) == 2:
        return Size((x.spatial[1], 1), x.spatial[0])
    raise SizeError("in", f"SequenceFoldLayer takes arrays of rank 3 at most; the input has size {x}.")


class SequenceUnfoldLayer(_SequenceOpLayer):
    """The inverse of SequenceFoldLayer: input "in" the folded sequence batch (its lengths and
    padding), input "per_step" the M x C' x (spatial') results of its own steps -> N x C' x
    (spatial') x T with zeros on the padded steps."""

    class_name: ClassVar[str] = "SequenceUnfoldLayer"
    Type: ClassVar[str] = "Sequence Unfold"
    DefaultName: ClassVar[str] = "sequenceunfold"
    family: ClassVar[str] = "sequence_unfold"
    verb: ClassVar[str] = "Per-element results as sequences"

    # a fixed-length sequence's results are an array again (first dimension T): whether one
    # element's result of size 1 is a real ({T}) or a vector of one ({T, 1}), which the size does not say
    element: Annotated[Any, Choice("vector", "scalar")] = "vector"

    @property
    def InputNames(self) -> list[str]:
        return ["in", "per_step"]

    def infer(self, inputs):
        x, y = inputs
        if y.is_sequence:
            raise SizeError("per_step", f"Layer '{self.Name}' (SequenceUnfoldLayer) expects one result per element "
                                        f"(no time dimension); the input has size {y}.")
        if not x.is_sequence:   # back to an array whose first dimension is the sequence's T = x.channels
            t = x.channels
            if self.element == "scalar" and not y.spatial and y.channels == 1:
                return self, [Size((), t)]
            if not y.spatial:
                return self, [Size((y.channels, 1), t)]
            if len(y.spatial) == 2 and y.spatial[1] == 1:
                return self, [Size((y.channels, y.spatial[0]), t)]
            raise SizeError("per_step", f"Layer '{self.Name}' (SequenceUnfoldLayer): results of size {y} per element "
                                        "of a fixed-length sequence make an array of rank 4, which is not supported.")
        return self, [Size(y.spatial, y.channels, x.time)]


SEQUENCE_LAYERS = (SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer)
MAP_LAYERS = (SequenceFoldLayer, SequenceUnfoldLayer)   # NetMapOperator's (wolfram/operators.py)

__all__ = [c.__name__ for c in SEQUENCE_LAYERS + MAP_LAYERS]
