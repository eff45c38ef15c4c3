"""CPU kernels: numba ``@njit(cache=True)`` functions (parallel where it pays) behind thin
Python wrappers, plus numpy BLAS for the matrix products. Signatures are listed in
``layergraph.kernels``' docstring; each family's module documents its own.

``KERNELS`` maps (family, operation) -> function, operation one of "forward_train",
"forward_infer", "backward". It is built from the registry (core/registry.py): each row's
kernel prefix names its family's functions here (``layergraph.kernels.family_kernels``), and
each row with scalar math gets its activation kernels compiled by activation.py, also a row
registered later. Importing this package imports numba but compiles nothing: each kernel
compiles (or loads from numba's on-disk cache) on its first call.
"""
from __future__ import annotations

from . import _blas_check  # noqa: F401, I001 -- first, before any kernel dispatches (numba's BLAS check)
from ...core import registry
from .. import family_kernels
from . import (
    activation,
    broadcast,
    combine,
    conv,
    dense,
    dropout,
    elementwise,
    embedding,
    flatten,
    groupnorm,
    instancenorm,
    loss,
    norm,
    pool,
    recurrent,
    recurrent_masked,
    resize,
    rnn,
    softmax,
)

_MODULES = (activation, broadcast, combine, conv, dense, dropout, elementwise, embedding, flatten, groupnorm,
            instancenorm, loss, norm, pool, recurrent, recurrent_masked, resize, rnn, softmax)
# A kernel family that no layer runs on (DepthConcatenationLayer runs on "concatenation" along the
# channels), kept for callers of the kernels themselves.
# "maskedrecurrent": the recurrent layers' training path with dropout masks inside the recurrence
# (recurrent_masked.py), which the recurrent ops call themselves.
_KERNEL_ONLY = {"depthconcatenation": "depthconcat", "maskedrecurrent": "masked_recurrent"}


def _on_registry(entry, added):
    # an elementwise row: compile its activation kernels, and let ElementwiseFunctionLayer's
    # table run its Wolfram name on them
    if entry.elementwise is None:
        return
    name = entry.wolfram_function
    if added:
        fwd, bwd = activation.add(entry.family, *entry.elementwise)
        if name:
            elementwise.use_activation(name, fwd, bwd)
    else:
        activation.remove(entry.family)
        if name:
            elementwise.drop_activation(name)
    if "KERNELS" in globals():
        for op in ("forward_train", "forward_infer", "backward"):
            if added:
                KERNELS[(entry.family, op)] = activation.KERNELS[(entry.family, op)]
            else:
                KERNELS.pop((entry.family, op), None)


def _table():
    table = {}
    for family, prefix in {**registry.kernel_prefixes(), **_KERNEL_ONLY}.items():
        ops = family_kernels(prefix, _MODULES)
        if ops is None:  # the CPU set is complete: a row naming a prefix it lacks is a bug
            raise ImportError(f"layergraph.kernels.cpu has no {prefix}_forward / {prefix}_backward for the "
                              f"kernel family {family!r} of the registry.")
        table.update({(family, op): fn for op, fn in ops.items()})
    return table


for _entry in list(registry.REGISTRY):
    _on_registry(_entry, True)
del _entry
KERNELS = _table()
registry.subscribe(_on_registry)

__all__ = ["KERNELS"]
