"""Wolfram's messages (``NetTrain::netnoparams: ...``) as Python warnings.

Where the Wolfram Language prints a message and carries on, the dialect issues a
``WolframMessage`` warning whose text is the message as Mathematica shows it. Users
filter them like any warning, by category or by tag:

    import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from layergraph.wolfram.messages import WolframMessage
    warnings.simplefilter("ignore", WolframMessage)                      # all of them
    warnings.filterwarnings("ignore", message="NetTrain::netfrozen")    # one tag

(Mathematica's Quiet and Off.) Errors, where Mathematica returns $Failed, stay
LayerGraphError with the tag as ``identifier``.
"""
from __future__ import annotations

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WolframMessage(UserWarning):
    """A Wolfram Language message; ``tag`` is ``symbol::name`` (``NetTrain::netfrozen``)."""

    def __init__(self, tag: str, text: str):
        super().__init__(f"{tag}: {text}")
        self.tag, self.text = tag, text


def message(tag: str, text: str) -> None:
    """Issue the message ``tag: text``, attributed to the user's line that called into
    layergraph (the first frame outside the package), as a warning should be."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1
    warnings.warn(WolframMessage(tag, text), stacklevel=level)


__all__ = ["WolframMessage", "message"]
