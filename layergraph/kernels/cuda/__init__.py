"""numba.cuda kernel set: the CPU set's names and signatures, run on a GPU.

Functions take numpy arrays or numba device arrays (internal layout: N x C x H x W images,
N x C features; float32 or float64) and return the kind they were given: numpy in, numpy out
(copied through the device); any device array in, device arrays out.

Importing this package needs no GPU: numba.cuda is imported, and kernels compiled, on the
first call. Without a GPU that call raises CudaUnavailableError unless numba's simulator is
on (NUMBA_ENABLE_CUDASIM=1 before numba is imported; the test suite sets it in
tests/conftest.py).

``KERNELS`` comes from the registry: a row's kernel family is here when this package defines
its functions (by the naming rule of ``layergraph.kernels``), and every row with scalar math
has its activation kernels compiled for the GPU (activations.py).
"""
from ...core import registry
from .. import family_kernels
from . import activations, batchnorm, conv, dense, pooling, recurrent
from ._runtime import CudaUnavailableError, is_device_array, to_device, to_host
from .batchnorm import bn_backward, bn_forward_infer, bn_forward_train
from .conv import conv_backward, conv_forward
from .dense import (
    addition_backward,
    addition_forward,
    fc_backward,
    fc_forward,
    softmax_backward,
    softmax_forward,
)
from .recurrent import (
    gru_backward,
    gru_forward_infer,
    gru_forward_train,
    lstm_backward,
    lstm_forward_infer,
    lstm_forward_train,
)
from .pooling import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward_infer,
    maxpool_forward_train,
)

_MODULES = (activations, batchnorm, conv, dense, pooling, recurrent)


# (family, operation) -> function, for the families whose functions this package has; one
# forward for training and inference is registered under both operations.
KERNELS = {(family, op): fn for family, prefix in registry.kernel_prefixes().items()
           for op, fn in (family_kernels(prefix, _MODULES) or {}).items()}


def _on_registry(entry, added):
    # activations.py has made (or dropped) the row's functions already: it subscribed first
    if entry.elementwise is None:
        return
    names = (f"{entry.family}_forward", f"{entry.family}_backward")
    if added:
        globals().update({n: getattr(activations, n) for n in names})
        KERNELS.update({(entry.family, op): fn for op, fn in family_kernels(entry.family, _MODULES).items()})
    else:
        for n in names:
            globals().pop(n, None)
        for op in ("forward_train", "forward_infer", "backward"):
            KERNELS.pop((entry.family, op), None)


for _family in activations.NAMES:
    globals().update({n: getattr(activations, n) for n in (f"{_family}_forward", f"{_family}_backward")})
del _family
registry.subscribe(_on_registry)

__all__ = [
    "KERNELS", "CudaUnavailableError", "is_device_array", "to_device", "to_host",
    "bn_forward_train", "bn_forward_infer", "bn_backward",
    "maxpool_forward_train", "maxpool_forward_infer", "maxpool_backward",
    "avgpool_forward", "avgpool_backward", "conv_forward", "conv_backward", "fc_forward", "fc_backward",
    "softmax_forward", "softmax_backward", "addition_forward", "addition_backward",
    "lstm_forward_train", "lstm_forward_infer", "lstm_backward", "gru_forward_train", "gru_forward_infer",
    "gru_backward",
] + [f"{f}_{op}" for f in activations.NAMES for op in ("forward", "backward")]
