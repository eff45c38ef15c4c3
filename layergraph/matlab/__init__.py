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
from .onnx_export import exportONNXNetwork  # noqa: F401
from .onnx_import import importNetworkFromONNX, importONNXLayers, importONNXNetwork  # noqa: F401
from .training import trainNetwork  # noqa: F401
from .dlarray import *  # noqa: F401,F403
from .dlarray import __all__ as _dlarray
from .autodiff import *  # noqa: F401,F403
from .autodiff import __all__ as _autodiff
from .custom import *  # noqa: F401,F403
from .custom import __all__ as _custom
from .checklayer import checkLayer  # noqa: F401
from .trainnet import TrainingInfo, minibatchpredict, scores2label, testnet, trainnet  # noqa: F401
from .training_options import trainingOptions  # noqa: F401
from .minibatchqueue import cat, minibatchqueue  # noqa: F401
from .network import summary  # noqa: F401
from .lbfgs_update import lbfgsState, lbfgsupdate  # noqa: F401

__all__ = list(CONSTRUCTORS) + list(_functions) + ["LayerGraphError", "categorical", "categories",
                                                   "exportONNXNetwork", "importNetworkFromONNX", "importONNXLayers",
                                                   "importONNXNetwork", "rng", "trainNetwork", "trainingOptions",
                                                   "trainnet", "testnet", "minibatchpredict", "scores2label",
                                                   "TrainingInfo"] \
    + list(_datastores) + list(_dlarray) + list(_autodiff) + list(_custom) \
    + ["checkLayer", "minibatchqueue", "cat", "summary", "lbfgsState", "lbfgsupdate"]


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
