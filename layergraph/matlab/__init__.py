"""The MATLAB dialect: ``from layergraph.matlab import *``."""
from ..core import registry as _registry
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
from .onnx_import import importNetworkFromONNX, importONNXLayers, importONNXNetwork  # noqa: F401
from .training import trainNetwork  # noqa: F401
from .training_options import trainingOptions  # noqa: F401

__all__ = list(CONSTRUCTORS) + list(_functions) + ["LayerGraphError", "categorical", "categories", "rng",
                                                   "trainNetwork", "trainingOptions"] + list(_datastores) + [
    "importNetworkFromONNX", "importONNXLayers", "importONNXNetwork"]


def _on_registry(entry, added):
    # A row registered or unregistered after this import: its constructor joins or leaves this
    # namespace too. constructors.py subscribed first, so CONSTRUCTORS is current already.
    name = entry.matlab
    if not name:
        return
    if added:
        globals()[name] = CONSTRUCTORS[name]
        if name not in __all__:
            __all__.append(name)
    else:
        globals().pop(name, None)
        if name in __all__:
            __all__.remove(name)


_registry.subscribe(_on_registry)
