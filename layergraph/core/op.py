"""The base of the per-family adapters (``ops.py``, ``ops_array.py``): a sized layer
spec, its input and output sizes, and the calls into the kernel table."""
from __future__ import annotations

import numpy as np

from .errors import LayerGraphError


class Op:
    learnable_names: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()
    # Set by the executor before backward: per input, whether its gradient is needed (None:
    # all). An op may return None (or anything: it is dropped) for an input that needs none.
    need_dx: tuple[bool, ...] | None = None
    # True where forward computes on host (numpy) arrays itself rather than through ``k``: such
    # an op cannot take the device arrays of a 'cuda' executor, which refuses it by name.
    host_only: bool = False
    # The padding of the input sequence batch (core/sequence.py SeqInfo; None: no time or no
    # padding), set by the executor before forward as it sets ``rng``.
    seq = None
    # Set by the executor before forward: a training pass (contexts kept for backward) that
    # computes what prediction computes: batch normalization on its trained statistics, no
    # dropout, a custom layer's predict (the gradient of prediction: MATLAB's predict in dlfeval).
    predicting: bool = False
    # An op that reads a pixel-major (N x H x W x C) input as it is in the CPU prediction plan
    # (core/executor.py keeps the plan's activations pixel-major up to it); the executor sets
    # ``x_nhwc`` before its forward: whether this pass's input is pixel-major.
    reads_pixel_major: bool = False
    x_nhwc: bool = False
    # Set by the executor before forward and backward in the CPU's pixel-major training plan:
    # ``x_nhwc`` (the input) and ``y_nhwc`` (the output, a convolution's) are N x H x W x C.
    # Only the ops the plan puts there read them: a convolution, a batch normalization, global
    # average pooling (core/executor.py _train_layout_plan).
    y_nhwc: bool = False
    # An op whose backward can add a gradient already gathered at an input to that input's dx
    # (``adds_dx``): the CPU executor then sets ``dx_add`` before backward, per input the array to
    # add (or None), and takes the dx returned as the input's whole gradient (one pass instead of
    # the sum afterwards; a convolution: in its dx's epilogue). None outside that call.
    adds_dx: bool = False
    dx_add: tuple | None = None

    def takes_pixel_major(self, x=None) -> bool:
        """In a training pass, whether an op that ``reads_pixel_major`` reads this pixel-major
        input x as it is (else the executor gives it channel-major); without x, whether the
        training plan may count on it reading one."""
        return True

    def seq_out(self, seq):
        """The sequence metadata of this op's outputs given its input's (the same by default)."""
        return seq

    def __init__(self, layer, in_sizes, out_sizes, dtype):
        self.layer = layer
        self.in_sizes = in_sizes
        self.out_sizes = out_sizes
        self.dtype = dtype

    def prepare(self) -> dict:
        """The learnables and state in the executor's dtype ({name: array}): copies (the
        executor updates them in place; the layer's stay as they are) of what the layer stores,
        in the internal layout already (core/layer.py)."""
        return {n: np.array(_get(self.layer, n), dtype=self.dtype, order="C")
                for n in self.learnable_names + self.state_names}

    def forward(self, k, xs, P, training):
        raise NotImplementedError

    def backward(self, k, dys, ctx, P):
        raise NotImplementedError

    def stored(self, name, value):
        """An executor array (``prepare``'s, trained) as the layer stores it: the same array,
        except the permutation a fully connected layer's ``prepare`` made."""
        return value

    def _arr(self, v):
        return np.ascontiguousarray(np.asarray(v, dtype=self.dtype))


def _missing(layer, name):
    raise LayerGraphError(f"Layer '{layer.Name}': {name} is empty. Initialize the network (dlnetwork) or "
                          f"set {name} before using it.", "nnet_cnn:layer:Layer:NotFinalized")


def _get(layer, name):
    """A stored learnable or state (internal layout) that must be set."""
    value = layer.internal(name)
    if value is None:
        _missing(layer, name)
    return value
