"""The MATLAB dialect: ``from layergraph.matlab import *``."""
from ..core.errors import LayerGraphError  # noqa: F401
from ..core.initializers import rng  # noqa: F401
from .layer_array import LayerArray  # noqa: F401
from .categorical import categorical, categories  # noqa: F401
from .constructors import *  # noqa: F401,F403
from .constructors import CONSTRUCTORS
from .functions import *  # noqa: F401,F403
from .datastore import *  # noqa: F401,F403
from .datastore import __all__ as _datastores
from .functions import __all__ as _functions
from .training import trainNetwork  # noqa: F401
from .training_options import trainingOptions  # noqa: F401

__all__ = list(CONSTRUCTORS) + list(_functions) + ["LayerGraphError", "categorical", "categories", "rng",
                                                   "trainNetwork", "trainingOptions"] + list(_datastores)
