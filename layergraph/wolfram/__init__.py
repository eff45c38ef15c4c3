"""The Wolfram dialect: ``from layergraph.wolfram import *`` gives NetChain, NetGraph,
NetPort, the layers (LinearLayer, ConvolutionLayer, BatchNormalizationLayer, ...),
NetInitialize, NetTrain, the net operations (NetExtract, NetTake, ...), Information, and
the symbols Automatic, All, None (Python's), Scaled, Ramp, Tanh, LogisticSigmoid, ...

Names, options, defaults, array layouts (channels first) and printouts are Wolfram's;
the computation is the core's (see docs/porting_from_mathematica.md)."""
from ..core.errors import LayerGraphError  # noqa: F401
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .net import NetChain, NetGraph, NetPort  # noqa: F401
from .symbols import *  # noqa: F401,F403
from .symbols import __all__ as _symbols

__all__ = [n for n in _layers if n != "NetLayer"] + ["NetChain", "NetGraph", "NetPort"] + \
    [n for n in _symbols if n != "Symbol"]
from .initialize import NetInitialize  # noqa: F401,E402

__all__ += ["NetInitialize"]
from .ops import *  # noqa: F401,F403,E402
from .ops import __all__ as _ops  # noqa: E402

__all__ += list(_ops)
from .information import Information, Quantity  # noqa: F401,E402

__all__ += ["Information", "Quantity"]
from .train import NetTrain, NetTrainResultsObject  # noqa: F401,E402

__all__ += ["NetTrain", "NetTrainResultsObject"]
