"""Conventions that differ between MATLAB, Wolfram, ONNX and PyTorch, in one place.

The internal layout, the only one kernels see and the one layers store their learnables
and state in (core/layer.py ``ArrayLayout``: MATLAB's properties convert with the
functions here on read and on assignment, layers/_common.py names the pairs):
  * images N x C x H x W (C-contiguous); feature data N x C
  * convolution weights F x C x FH x FW (grouped: G*F/G x C/G x FH x FW)
  * transposed convolution weights C x F x FH x FW (input channels first)
  * batch / layer / group normalization arrays and biases (C,)
  * fully connected weights Out x In, where In indexes the row-major (C, H, W)
    flatten of an N x C x H x W activation; a layer stores its weights in its own
    input order (MATLAB's column-major or row-major), permuted once when the executor
    prepares it (``fc_weights_row_major``), the only conversion that needs a size

MATLAB (column-major, channels last): images H x W x C x N, conv weights
FH x FW x C x F, bias 1 x 1 x F, FC weights Out x In with In the column-major
(H fastest) flatten of H x W x C.
"""
from __future__ import annotations

import functools

import numpy as np

# -- batch normalization running statistics --------------------------------------
# MATLAB:  s = d * batch + (1 - d) * s     (MeanDecay / VarianceDecay d, default 0.1)
# Wolfram: s = m * s + (1 - m) * batch     (Momentum m, default 0.9), so d = 1 - m
# Both use the biased batch variance (divide by the count).


def momentum_to_decay(momentum: float) -> float:
    return 1.0 - momentum


def decay_to_momentum(decay: float) -> float:
    return 1.0 - decay


def update_running(running: np.ndarray, batch: np.ndarray, decay: float) -> np.ndarray:
    """MATLAB's moving statistic: ``decay * batch + (1 - decay) * running``."""
    return decay * batch + (1.0 - decay) * running


# -- data ------------------------------------------------------------------------------
def matlab_images_to_internal(x: np.ndarray) -> np.ndarray:
    """H x W x C x N (or H x W x C for one image) -> N x C x H x W."""
    if x.ndim == 3:
        x = x[..., None]
    t = x.transpose(3, 2, 0, 1)
    if t.flags.c_contiguous or x.shape[3] < 8 or x.size < (1 << 18):
        return np.ascontiguousarray(t)
    # Large batches: one image row at a time. The whole-array copy walks the source with a
    # stride of C * N elements, a new page on nearly every read (32 x 32 x 3 x 1024 float32
    # on the 2-core development machine: 23-25 ms; row by row 11-12 ms).
    out = np.empty(t.shape, x.dtype)
    for i in range(x.shape[0]):
        out[:, :, i, :] = x[i].transpose(2, 1, 0)
    return out


def internal_images_to_matlab(x: np.ndarray) -> np.ndarray:
    """N x C x H x W -> H x W x C x N."""
    return np.ascontiguousarray(x.transpose(2, 3, 1, 0))


@functools.lru_cache(maxsize=64)
def matlab_flatten_order(c: int, h: int, w: int) -> np.ndarray:
    """perm such that ``x_internal.reshape(N, -1)[:, k]`` is MATLAB's flat element
    ``perm[k]``: MATLAB flattens H x W x C column-major (H fastest). Computed once per size
    (read-only: every fully connected layer of that input size shares it)."""
    cc, hh, ww = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    perm = (hh + h * ww + h * w * cc).ravel()
    perm.flags.writeable = False
    return perm


# -- weights ---------------------------------------------------------------------------
def conv_weights_to_internal(w: np.ndarray) -> np.ndarray:
    """FH x FW x C x F -> F x C x FH x FW (trailing singleton F restored)."""
    if w.ndim == 3:
        w = w[..., None]
    if w.ndim == 2:
        w = w[..., None, None]
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def conv_weights_to_matlab(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def grouped_weights_to_internal(w: np.ndarray, groups: int) -> np.ndarray:
    """FH x FW x C/G x F/G x G -> (G*F/G) x C/G x FH x FW, groups outermost."""
    w = w.reshape(w.shape[:2] + (-1,) + w.shape[3:4] + (groups,)) if w.ndim < 5 else w
    fh, fw, cg, fg, g = w.shape
    return np.ascontiguousarray(w.transpose(4, 3, 2, 0, 1).reshape(g * fg, cg, fh, fw))


def grouped_weights_to_matlab(w: np.ndarray, groups: int) -> np.ndarray:
    f, cg, fh, fw = w.shape
    return np.ascontiguousarray(w.reshape(groups, f // groups, cg, fh, fw).transpose(3, 4, 2, 1, 0))


def transposed_weights_to_internal(w: np.ndarray) -> np.ndarray:
    """FH x FW x F x C -> C x F x FH x FW."""
    while w.ndim < 4:
        w = w[..., None]
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def transposed_weights_to_matlab(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def fc_weights_to_internal(w: np.ndarray, input_dims: tuple[int, ...]) -> np.ndarray:
    """MATLAB Out x In (In column-major over H x W x C) -> Out x In with In
    row-major over (C, H, W), so the layer needs no transpose of its input."""
    if len(input_dims) != 3:
        return np.ascontiguousarray(w)
    h, wd, c = input_dims
    return np.ascontiguousarray(w[:, matlab_flatten_order(c, h, wd)])


@functools.lru_cache(maxsize=64)
def matlab_unflatten_order(c: int, h: int, w: int) -> np.ndarray:
    """The inverse of ``matlab_flatten_order``: MATLAB's flat element k is internal column
    ``inv[k]`` (a gather, several times faster than the scatter by ``perm``)."""
    inv = np.argsort(matlab_flatten_order(c, h, w))
    inv.flags.writeable = False
    return inv


def fc_weights_to_matlab(w: np.ndarray, input_dims: tuple[int, ...]) -> np.ndarray:
    if len(input_dims) != 3:
        return np.ascontiguousarray(w)
    h, wd, c = input_dims
    return np.ascontiguousarray(np.take(w, matlab_unflatten_order(c, h, wd), axis=1))


def fc_weights_row_major(w: np.ndarray, input_order: str, input_dims: tuple[int, ...]) -> np.ndarray:
    """A fully connected layer's Out x In weights, whose columns read its input in
    ``input_order`` ('column-major': MATLAB's; 'row-major': Wolfram's, ONNX's), as the
    kernel reads them: row-major over (C, H, W). The one size-dependent step of the
    learnables, made once when the executor prepares the layer (and when a dialect that
    only reads row-major, Wolfram's LinearLayer, opens a MATLAB layer)."""
    return fc_weights_to_internal(w, input_dims) if input_order == "column-major" else np.ascontiguousarray(w)


def fc_weights_in_order(w: np.ndarray, input_order: str, input_dims: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``fc_weights_row_major``: row-major weights back in ``input_order``."""
    return fc_weights_to_matlab(w, input_dims) if input_order == "column-major" else w


def channel_vector(v: np.ndarray) -> np.ndarray:
    """1 x 1 x C or C x 1 -> (C,)."""
    return np.ascontiguousarray(np.asarray(v).reshape(-1))

