"""The Wolfram dialect: ``from layergraph.wolfram import *`` gives NetChain, NetGraph,
NetPort, the layers (LinearLayer, ConvolutionLayer, BatchNormalizationLayer, ...),
NetInitialize, NetTrain, the net operations (NetExtract, NetTake, ...), Information, and
the symbols Automatic, All, Scaled, Span, Ramp, Tanh, LogisticSigmoid, ... (Wolfram's None
is Python's None).

Names, options, defaults, array layouts (channels first) and printouts are Wolfram's;
the computation is the core's (see docs/porting_from_mathematica.md).

The modules import in one direction (tests/test_import_graph.py holds it), bottom to top:
symbols, args, messages, types (with ``_wl``, a value as Wolfram writes it) -> display (pure
formatting; it asks layers and nets for their sizes) and netarray (NetArray and the rules of
shared arrays) -> coders, losses, layers -> recurrent (LongShortTermMemoryLayer, GatedRecurrentLayer,
BasicRecurrentLayer, the sequence layers and sequence data, recurrent states by key) -> net (the containers) ->
states (NetStateObject; it registers the call of a lone layer, ``layers.register_lone_call``) -> initialize, information
-> shared (NetExtract / NetReplacePart / NetInsertSharedArrays of shared arrays) -> ops ->
train. Where a lower object needs a higher one, the higher module registers itself at
import: net.py the chain a lone layer evaluates as (``layers.register_lone_chain``), ops.py
the NetExtract that ``net[spec]`` is (``net.register_extract``)."""
from ..core.errors import LayerGraphError
from .embedding import EmbeddingLayer
from .coders import File, NetDecoder, NetEncoder
from .export import Export
from .information import Information, Quantity
from .initialize import NetInitialize
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .losses import CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer
from .net import NetChain, NetGraph, NetPort
from .function_layer import FunctionLayer
from .onnx_import import Import
from .recurrent import (BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer, SequenceLastLayer,
                        SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer)
from .operators import NetBidirectionalOperator, NetMapOperator
from .states import NetStateObject
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops
from .symbols import *  # noqa: F401,F403
from .symbols import __all__ as _symbols
from .train import NetTrain, NetTrainResultsObject

__all__ = (["NetChain", "NetGraph", "NetPort", "FunctionLayer"] + [n for n in _layers if n != "NetLayer"]
           + ["LongShortTermMemoryLayer", "GatedRecurrentLayer", "BasicRecurrentLayer", "SequenceLastLayer",
              "SequenceMostLayer", "SequenceRestLayer", "SequenceReverseLayer", "EmbeddingLayer"]
           + ["NetMapOperator", "NetBidirectionalOperator", "NetStateObject"]
           + ["CrossEntropyLossLayer", "MeanAbsoluteLossLayer", "MeanSquaredLossLayer"]
           + ["Export", "File", "Import", "NetDecoder", "NetEncoder", "NetInitialize", "NetTrain",
              "NetTrainResultsObject", "Information", "Quantity", "LayerGraphError"]
           + list(_ops) + [n for n in _symbols if n != "Symbol"])


def __getattr__(name):
    # the symbol of a registry row registered after this import (symbols.py adds it to its names)
    from . import symbols
    if name in symbols.__all__:
        return getattr(symbols, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
