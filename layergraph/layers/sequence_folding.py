"""sequenceFoldingLayer and sequenceUnfoldingLayer (MATLAB R2019a, "not recommended" since
convolution layers take image sequences themselves).

The folding layer "converts a batch of image sequences to a batch of images" so that the
layers after it act on every time step alone; its 'miniBatchSize' output must be connected to
the 'miniBatchSize' input of the unfolding layer, which "restores the sequence structure"
(docs/recurrent_plan.md 6i). Inside, the folded batch holds the images of each sequence's
own steps (core/ops_folding.py); the padding goes from the folding's input to the unfolding.
"""
from __future__ import annotations

from typing import ClassVar

from ..core.layer import Layer, SizeError
from ..core.size import VARYING, Size

# what the 'miniBatchSize' port carries per observation: one number (the mini-batch size)
MINI_BATCH_SIZE = Size((), 1)


class SequenceFoldingLayer(Layer):
    """sequenceFoldingLayer: a batch of N image sequences (H x W x C x N x S) -> a batch of images."""

    class_name: ClassVar[str] = "SequenceFoldingLayer"
    Type: ClassVar[str] = "Sequence Folding"          # UNCONFIRMED (recurrent_plan 6i)
    DefaultName: ClassVar[str] = "seqfold"            # UNCONFIRMED
    family: ClassVar[str] = "sequencefolding"
    # the display shows the ports that are not the one default port, as additionLayer's and
    # maxPooling2dLayer's (with HasUnpoolingOutputs) do: UNCONFIRMED for this layer (6i)
    general: ClassVar = ("Name", "NumOutputs", "OutputNames")

    @property
    def OutputNames(self):
        return ["out", "miniBatchSize"]

    def description(self):
        return "Sequence folding"

    def infer(self, inputs):
        x = inputs[0]
        if not (x.is_sequence and x.is_image):
            what = f"a vector sequence of {x.channels} features" if x.is_sequence else f"data of size {x} without time"
            raise SizeError("in", f"Invalid input data for layer '{self.Name}' (SequenceFoldingLayer): the "
                                  f"layer expects image sequences (h x w x c x S), but the input is {what}.")
        return self, [x.without_time(), MINI_BATCH_SIZE]


class SequenceUnfoldingLayer(Layer):
    """sequenceUnfoldingLayer: the batch of images back to a batch of image sequences, with the
    mini-batch size from the matching folding layer's 'miniBatchSize' output."""

    class_name: ClassVar[str] = "SequenceUnfoldingLayer"
    Type: ClassVar[str] = "Sequence Unfolding"        # UNCONFIRMED (recurrent_plan 6i)
    DefaultName: ClassVar[str] = "sequnfold"          # UNCONFIRMED
    family: ClassVar[str] = "sequenceunfolding"
    general: ClassVar = ("Name", "NumInputs", "InputNames")

    @property
    def InputNames(self):
        return ["in", "miniBatchSize"]

    def description(self):
        return "Sequence unfolding"

    def infer(self, inputs):
        x = inputs[0]
        if x.is_sequence:
            raise SizeError("in", f"Invalid input data for layer '{self.Name}' (SequenceUnfoldingLayer): the "
                                  f"layer expects a batch of images from a sequence folding layer, but the input "
                                  f"is a sequence of size {x}.")
        # where the 'miniBatchSize' input comes from is checked by the dialect's rule (matlab/analysis.py)
        return self, [x.with_time(VARYING)]


__all__ = ["SequenceFoldingLayer", "SequenceUnfoldingLayer"]
