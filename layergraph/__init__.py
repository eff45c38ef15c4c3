"""layergraph: MATLAB Deep Learning Toolbox and Wolfram neural network APIs in
Python, on numba kernels. ``from layergraph import *`` gives the MATLAB names
(lower-case constructors such as ``batchNormalizationLayer``) and the Wolfram names
(``NetChain``, ``BatchNormalizationLayer``, ...); the core's layer specs, some of which
share a Wolfram name, stay in ``layergraph.layers``."""
import os as _os

# numba's OpenMP threads otherwise spin after each parallel region and slow down the
# convolution threads and OpenBLAS that run next (measured: docs/performance.md). Only
# a default: a value the user set wins. It must be set before numba loads OpenMP.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# where numba's cache holds no kernels yet (a first run on this machine), the compile helper of a
# first training run starts now, so that its own start-up overlaps this import (_prestart.py)
from . import _prestart  # noqa: F401

from .core.errors import LayerGraphError, NetworkAnalysisError  # noqa: F401
from .core.initializers import rng  # noqa: F401
from .matlab import *  # noqa: F401,F403
from .matlab import __all__ as _matlab
from .io import load, save  # noqa: F401
from .wolfram import *  # noqa: F401,F403,E402
from .wolfram import __all__ as _wolfram

__version__ = "0.1.0"
__all__ = list(_matlab) + ["NetworkAnalysisError"]
__all__ += [n for n in _wolfram if n not in __all__]
