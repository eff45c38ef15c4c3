"""numba.cuda kernel set: the CPU set's names and signatures, run on a GPU.

Functions take numpy arrays or numba device arrays (internal layout: N x C x H x W images,
N x C features; float32 or float64) and return the kind they were given: numpy in, numpy out
(copied through the device); any device array in, device arrays out.

Importing this package needs no GPU: numba.cuda is imported, and kernels compiled, on the
first call. Without a GPU that call raises CudaUnavailableError unless numba's simulator is
on (NUMBA_ENABLE_CUDASIM=1 before numba is imported; the test suite sets it in
tests/conftest.py).
"""
from ._runtime import CudaUnavailableError, is_device_array, to_device, to_host
from .activations import (
    clippedrelu_backward,
    clippedrelu_forward,
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    leakyrelu_backward,
    leakyrelu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    swish_backward,
    swish_forward,
    tanh_backward,
    tanh_forward,
)
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
from .pooling import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward_infer,
    maxpool_forward_train,
)

_ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "leakyrelu": (leakyrelu_forward, leakyrelu_backward),
    "clippedrelu": (clippedrelu_forward, clippedrelu_backward),
    "elu": (elu_forward, elu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "swish": (swish_forward, swish_backward),
    "gelu": (gelu_forward, gelu_backward),
}

# (family, operation) -> function; activations and average pooling have one forward for
# training and inference, registered under both operations.
KERNELS = {
    ("conv", "forward_train"): conv_forward,
    ("conv", "forward_infer"): conv_forward,
    ("conv", "backward"): conv_backward,
    ("fc", "forward_train"): fc_forward,
    ("fc", "forward_infer"): fc_forward,
    ("fc", "backward"): fc_backward,
    ("softmax", "forward_train"): softmax_forward,
    ("softmax", "forward_infer"): softmax_forward,
    ("softmax", "backward"): softmax_backward,
    ("addition", "forward_train"): addition_forward,
    ("addition", "forward_infer"): addition_forward,
    ("addition", "backward"): addition_backward,
    ("batchnorm", "forward_train"): bn_forward_train,
    ("batchnorm", "forward_infer"): bn_forward_infer,
    ("batchnorm", "backward"): bn_backward,
    ("maxpool", "forward_train"): maxpool_forward_train,
    ("maxpool", "forward_infer"): maxpool_forward_infer,
    ("maxpool", "backward"): maxpool_backward,
    ("avgpool", "forward_train"): avgpool_forward,
    ("avgpool", "forward_infer"): avgpool_forward,
    ("avgpool", "backward"): avgpool_backward,
}
for _family, (_forward, _backward) in _ACTIVATIONS.items():
    KERNELS[(_family, "forward_train")] = _forward
    KERNELS[(_family, "forward_infer")] = _forward
    KERNELS[(_family, "backward")] = _backward
del _family, _forward, _backward

__all__ = [
    "KERNELS", "CudaUnavailableError", "is_device_array", "to_device", "to_host",
    "bn_forward_train", "bn_forward_infer", "bn_backward",
    "maxpool_forward_train", "maxpool_forward_infer", "maxpool_backward",
    "avgpool_forward", "avgpool_backward", "conv_forward", "conv_backward", "fc_forward", "fc_backward",
    "softmax_forward", "softmax_backward", "addition_forward", "addition_backward",
] + [f.__name__ for pair in _ACTIVATIONS.values() for f in pair]
