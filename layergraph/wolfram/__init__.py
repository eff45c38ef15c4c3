"""The Wolfram dialect: ``from layergraph.wolfram import *`` gives NetChain, NetGraph,
NetPort, the layers (LinearLayer, ConvolutionLayer, BatchNormalizationLayer, ...),
NetInitialize, NetTrain, the net operations (NetExtract, NetTake, ...), Information, and
the symbols Automatic, All, Scaled, Span, Ramp, Tanh, LogisticSigmoid, ... (Wolfram's None
is Python's None).

Names, options, defaults, array layouts (channels first) and printouts are Wolfram's;
the computation is the core's (see docs/porting_from_mathematica.md)."""
from ..core.errors import LayerGraphError
from .coders import NetDecoder, NetEncoder
from .information import Information, Quantity
from .initialize import NetInitialize
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .losses import CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer
from .net import NetChain, NetGraph, NetPort
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops
from .symbols import *  # noqa: F401,F403
from .symbols import __all__ as _symbols
from .train import NetTrain, NetTrainResultsObject

__all__ = (["NetChain", "NetGraph", "NetPort"] + [n for n in _layers if n != "NetLayer"]
           + ["CrossEntropyLossLayer", "MeanAbsoluteLossLayer", "MeanSquaredLossLayer"]
           + ["NetDecoder", "NetEncoder", "NetInitialize", "NetTrain", "NetTrainResultsObject", "Information", "Quantity",
              "LayerGraphError"]
           + list(_ops) + [n for n in _symbols if n != "Symbol"])
