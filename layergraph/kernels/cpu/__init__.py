"""CPU kernels: numba ``@njit(cache=True)`` functions (parallel where it pays) behind thin
Python wrappers, plus numpy BLAS for the matrix products. Signatures are listed in
``layergraph.kernels``' docstring; each family's module documents its own.

``KERNELS`` maps (family, operation) -> function, operation one of "forward_train",
"forward_infer", "backward". Importing this package imports numba but compiles nothing:
each kernel compiles (or loads from numba's on-disk cache) on its first call.
"""
from __future__ import annotations

from . import (
    activation,
    combine,
    conv,
    dense,
    dropout,
    elementwise,
    flatten,
    groupnorm,
    instancenorm,
    loss,
    norm,
    pool,
    softmax,
)


def _same(fwd, bwd):
    return {"forward_train": fwd, "forward_infer": fwd, "backward": bwd}


_TABLE = {
    "conv": _same(conv.conv_forward, conv.conv_backward),
    "transposed_conv": _same(conv.transposed_conv_forward, conv.transposed_conv_backward),
    "batchnorm": {"forward_train": norm.bn_forward_train, "forward_infer": norm.bn_forward_infer,
                  "backward": norm.bn_backward},
    "layernorm": {"forward_train": norm.ln_forward_train, "forward_infer": norm.ln_forward_infer,
                  "backward": norm.ln_backward},
    "maxpool": {"forward_train": pool.maxpool_forward_train, "forward_infer": pool.maxpool_forward_infer,
                "backward": pool.maxpool_backward},
    "avgpool": _same(pool.avgpool_forward, pool.avgpool_backward),
    "globalavgpool": _same(pool.globalavgpool_forward, pool.globalavgpool_backward),
    "globalmaxpool": {"forward_train": pool.globalmaxpool_forward_train,
                      "forward_infer": pool.globalmaxpool_forward_infer,
                      "backward": pool.globalmaxpool_backward},
    "fc": _same(dense.fc_forward, dense.fc_backward),
    "softmax": _same(softmax.softmax_forward, softmax.softmax_backward),
    "dropout": {"forward_train": dropout.dropout_forward_train, "forward_infer": dropout.dropout_forward_infer,
                "backward": dropout.dropout_backward},
    "addition": _same(combine.addition_forward, combine.addition_backward),
    "concatenation": _same(combine.concat_forward, combine.concat_backward),
    "depthconcatenation": _same(combine.depthconcat_forward, combine.depthconcat_backward),
    "flatten": _same(flatten.flatten_forward, flatten.flatten_backward),
    "crossentropyex": _same(loss.crossentropyex_forward, loss.crossentropyex_backward),
    "mse": _same(loss.mse_forward, loss.mse_backward),
    "elementwise": _same(elementwise.elementwise_forward, elementwise.elementwise_backward),
    "threading": _same(elementwise.threading_forward, elementwise.threading_backward),
    "instancenorm": _same(instancenorm.in_forward, instancenorm.in_backward),
    "groupnorm": _same(groupnorm.gn_forward, groupnorm.gn_backward),
}
for _name in activation.NAMES:
    _TABLE[_name] = _same(getattr(activation, f"{_name}_forward"), getattr(activation, f"{_name}_backward"))

KERNELS = {(family, op): fn for family, ops in _TABLE.items() for op, fn in ops.items()}

__all__ = ["KERNELS"]
