"""The MATLAB dialect: ``from layergraph.matlab import *``."""
from ..core.errors import LayerGraphError
from ..core.initializers import rng
from ..core.layer_array import LayerArray
from .constructors import *  # noqa: F401,F403
from .constructors import CONSTRUCTORS
from .functions import *  # noqa: F401,F403
from .functions import __all__ as _functions

__all__ = list(CONSTRUCTORS) + list(_functions) + ["LayerGraphError", "rng"]
