"""Layers with several inputs (MATLAB additionLayer, concatenationLayer,
depthConcatenationLayer). Elementwise sums and block copies are memory-bound; numpy runs them at
one thread's memory speed, with no compile cost. The addition of large arrays (ResNet's blocks in
training) runs as a small numba loop split over the pool's threads into a pooled output instead:
numpy's serial sum and copies were ~30 ms of one thread per ResNet-20 training step at batch 128
while the other core waited (docs/performance.md, h_rpar).

  addition_forward(inputs) -> y                     sum of k same-shape arrays
  addition_backward(dy, k) -> (dx1, ..., dxk)       independent copies of dy
  addition_forward(inputs, relu=True, ceiling=c) and addition_backward(dy, k, relu_out=y,
      ceiling=c): the addition followed by a ReLU (clipped at c; inf: a plain one) in one pass
      each way (the executor's training fusion of a ResNet block's addition and ReLU, 'cpu');
      dy is then the gradient at the ReLU's output and counts where 0 < y (< c)
  add_into(y, a) -> y                               y += a in place (y a kernel's own output):
                                                    a gradient already gathered, added where
                                                    the next one is made (conv_backward's dx_add)
  concat_forward(inputs, axis) -> y                 axis in the internal layout
                                                    (N x C x H x W: 1 = channels, 2 = H, 3 = W)
  concat_backward(dy, sizes, axis) -> (dx1, ...)    sizes: each input's extent along axis
  depthconcat_forward(inputs) / depthconcat_backward(dy, sizes): axis 1
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import SERIAL_BELOW, parallel_range
from ._util import as_float, out_empty, relu_ceiling, relu_mask_top

# elements per slice of the parallel sum and copy
_BLOCK = 1 << 14


@njit(cache=True, nogil=True)
def _sum_blocks(lo, hi, a, b, y):
    """y[i] = a[i] + b[i] over blocks lo:hi of _BLOCK elements (flat arrays)."""
    n = y.shape[0]
    for i in range(lo * _BLOCK, min(hi * _BLOCK, n)):
        y[i] = a[i] + b[i]


@njit(cache=True, nogil=True)
def _copy_blocks(lo, hi, a, y):
    """y[i] = a[i] over blocks lo:hi of _BLOCK elements (flat arrays)."""
    n = y.shape[0]
    for i in range(lo * _BLOCK, min(hi * _BLOCK, n)):
        y[i] = a[i]


@njit(cache=True, nogil=True)
def _sum_relu_blocks(lo, hi, a, b, top, y):
    """y[i] = min(max(a[i] + b[i], 0), top) over blocks lo:hi of _BLOCK elements (ReLU's test:
    NaN gives 0). Each block through slices, so that the loop vectorizes."""
    n = y.shape[0]
    z = y.dtype.type(0)
    for blk in range(lo, hi):
        i0 = blk * _BLOCK
        i1 = min(i0 + _BLOCK, n)
        sa, sb, sy = a[i0:i1], b[i0:i1], y[i0:i1]
        for j in range(i1 - i0):
            t = sa[j] + sb[j]
            t = t if t > z else z
            sy[j] = t if t < top else top


@njit(cache=True, nogil=True)
def _masked_copies(lo, hi, dy, yr, top, d1, d2):
    """d1[i] = d2[i] = dy[i] where 0 < yr[i] <= top, else 0 (the ReLU's backward, written to
    both inputs of the addition before it), over blocks lo:hi; d2 without elements: d1 only.
    Through slices and a select, so that the loop vectorizes (an index loop with the branch
    took 4x the unfused kernels' time)."""
    n = dy.shape[0]
    z = dy.dtype.type(0)
    two = d2.shape[0] > 0
    for blk in range(lo, hi):
        i0 = blk * _BLOCK
        i1 = min(i0 + _BLOCK, n)
        sg, sy, s1 = dy[i0:i1], yr[i0:i1], d1[i0:i1]
        for j in range(i1 - i0):
            s1[j] = sg[j] if (sy[j] > z and sy[j] <= top) else z
        if two:
            s2 = d2[i0:i1]
            for j in range(i1 - i0):
                s2[j] = s1[j]


def _blocks(size):
    return -(-size // _BLOCK)


def addition_forward(inputs, relu=False, ceiling=np.inf):
    inputs = [as_float(a) for a in inputs]
    if not inputs:
        raise ValueError("addition_forward: needs at least one input.")
    if relu:
        return _add_relu(inputs, relu_ceiling("addition_forward", ceiling))
    dtype = np.result_type(*inputs)
    if len(inputs) >= 2 and inputs[0].size >= SERIAL_BELOW and all(
            a.dtype == dtype and a.shape == inputs[0].shape for a in inputs):
        y = out_empty(inputs[0].shape, dtype)
        yf = y.reshape(-1)
        nb = _blocks(yf.size)
        parallel_range(_sum_blocks, nb, inputs[0].reshape(-1), inputs[1].reshape(-1), yf, size=yf.size)
        for a in inputs[2:]:
            parallel_range(_sum_blocks, nb, yf, a.reshape(-1), yf, size=yf.size)
        return y
    y = inputs[0].astype(dtype, copy=True)
    for i, a in enumerate(inputs[1:], start=2):
        if a.shape != y.shape:
            raise ValueError(f"addition_forward: input {i} has shape {a.shape}, input 1 has {y.shape}.")
        y += a
    return y


def add_into(y, a):
    """y += a in place (y a kernel's own output, a of y's shape and dtype; a + y and y + a are the
    same numbers), split over the pool's threads as addition_forward's sum."""
    yf, af = y.reshape(-1), a.reshape(-1)
    if yf.size >= SERIAL_BELOW:
        parallel_range(_sum_blocks, _blocks(yf.size), yf, af, yf, size=yf.size)
    else:
        np.add(yf, af, out=yf)
    return y


def _add_relu(inputs, top):
    """min(max(sum of inputs, 0), top): two same-shape inputs in one pass (split over the pool),
    others summed first."""
    y = addition_forward(inputs[:-1]) if len(inputs) > 2 else inputs[0]
    b = inputs[-1] if len(inputs) > 1 else np.zeros_like(y)
    if b.shape != y.shape or b.dtype != y.dtype:
        y = addition_forward([y, b])
        b = np.zeros_like(y)
    out = out_empty(y.shape, y.dtype)
    of = out.reshape(-1)
    parallel_range(_sum_relu_blocks, _blocks(of.size), np.ascontiguousarray(y).reshape(-1), b.reshape(-1),
                   y.dtype.type(top), of, size=of.size)
    return out


def addition_backward(dy, k, relu_out=None, ceiling=np.inf):
    if relu_out is not None:
        dy = as_float(dy)
        return masked_copies(dy, int(k), relu_out, relu_mask_top("addition_backward", ceiling, dy.dtype),
                             "addition_backward")
    dy = as_float(dy)
    if dy.size < SERIAL_BELOW:
        return tuple(dy.copy() for _ in range(int(k)))
    src = dy.reshape(-1)
    out = []
    for _ in range(int(k)):
        y = out_empty(dy.shape, dy.dtype)
        parallel_range(_copy_blocks, _blocks(src.size), src, y.reshape(-1), size=src.size)
        out.append(y)
    return tuple(out)


def masked_copies(dy, k, relu_out, top, name):
    """k arrays of dy where 0 < relu_out <= top (_util.relu_mask_top), else 0: the backward of a
    fused ReLU given dy at its output, the gradients at the k inputs of addition + ReLU (the
    first two written in one pass, any others copied), or fc_backward's one (dense.py). ``name``:
    the kernel named in the error for a relu_out of another shape."""
    yr = np.ascontiguousarray(relu_out, dtype=dy.dtype)
    if yr.shape != dy.shape:
        raise ValueError(f"{name}: relu_out {yr.shape} does not fit dy {dy.shape}.")
    outs = [out_empty(dy.shape, dy.dtype) for _ in range(min(k, 2))]
    d2 = outs[1].reshape(-1) if k > 1 else np.zeros(0, dy.dtype)
    parallel_range(_masked_copies, _blocks(dy.size), dy.reshape(-1), yr.reshape(-1), top, outs[0].reshape(-1), d2,
                   size=dy.size)
    for _ in range(k - 2):
        outs.append(addition_backward(outs[0], 1)[0])
    return tuple(outs)


def concat_forward(inputs, axis):
    inputs = [as_float(a) for a in inputs]
    return np.concatenate(inputs, axis=int(axis))


def concat_backward(dy, sizes, axis):
    dy = as_float(dy)
    axis = int(axis)
    sizes = [int(s) for s in sizes]
    if sum(sizes) != dy.shape[axis]:
        raise ValueError(f"concat_backward: sizes {sizes} do not add up to {dy.shape[axis]} along axis {axis}.")
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.ascontiguousarray(p) for p in np.split(dy, cuts, axis=axis))


def depthconcat_forward(inputs):
    return concat_forward(inputs, 1)


def depthconcat_backward(dy, sizes):
    return concat_backward(dy, sizes, 1)
