"""Reverse-mode automatic differentiation on a tape, dialect-free.

A ``Tape`` records, for every traced computation, one ``Node``: the keys of its inputs (None
for an untraced input), the keys of its outputs and its vector-Jacobian product
``vjp(dys, need) -> dxs`` (``dys`` one gradient per output, None where no gradient reached it;
``need`` one bool per input; a dx may be None where it is not needed). Keys are integers the
tape hands out (``Tape.leaf`` for a variable one differentiates with respect to). A dialect's
array type (MATLAB's dlarray) holds a key and calls ``Tape.record``; the tape never sees the
dialect's objects, only numpy arrays.

``tracing(tape)`` makes a tape the current one (``current()``), as MATLAB's dlfeval does.
``Tape.gradients(out, seed, wrt)`` walks the nodes in reverse order of recording, visiting
only nodes on a path from one of ``wrt`` to ``out``, and sums the gradients of a key read by
several nodes. Without ``retain`` the nodes' closures (and the arrays they hold) are released
after the walk.

The numeric primitives below (elementwise math, reductions, broadcasting, and the layer
kernels through the kernel table) take and return numpy arrays: value and vjp. The kernels
are called with the arguments the core op adapters (core/ops.py) give them, so a functional
op computes the numbers a layer of the same family computes.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import LayerGraphError

_stack: list["Tape"] = []


class ReleasedTapeError(LayerGraphError):
    pass


@dataclass
class Node:
    inputs: tuple      # key or None per input
    outputs: tuple     # keys
    vjp: Callable | None


class Tape:
    def __init__(self):
        self.nodes: list[Node] = []
        self._next = 0
        self.leaves: set[int] = set()
        self.active = True

    def _key(self) -> int:
        self._next += 1
        return self._next

    def leaf(self) -> int:
        """A key for a variable (an input of the traced function)."""
        k = self._key()
        self.leaves.add(k)
        return k

    def record(self, inputs, n_outputs: int, vjp) -> tuple[int, ...]:
        """Record one computation; returns the keys of its outputs."""
        outs = tuple(self._key() for _ in range(n_outputs))
        self.nodes.append(Node(tuple(inputs), outs, vjp))
        return outs

    def gradients(self, out: int, seed: np.ndarray, wrt, retain: bool = False) -> list:
        """d out / d w for every key w of ``wrt``; None where ``out`` does not depend on w."""
        wanted = set(wrt)
        live = set(wanted)     # keys that depend on a wanted key
        path = []
        for i, node in enumerate(self.nodes):
            if any(k in live for k in node.inputs if k is not None):
                live.update(node.outputs)
                path.append(i)
        grads: dict[int, np.ndarray] = {out: seed}
        if out in live:
            for i in reversed(path):
                node = self.nodes[i]
                dys = [grads.pop(k, None) if k not in wanted else grads.get(k) for k in node.outputs]
                if all(d is None for d in dys):
                    continue
                if node.vjp is None:
                    raise ReleasedTapeError(
                        "The trace was released by an earlier dlgradient call. To call dlgradient more than once "
                        "inside one dlfeval, call it with 'RetainData', true.", "deep:dlgradient:TraceReleased")
                need = tuple(k is not None and k in live for k in node.inputs)
                dxs = node.vjp(dys, need)
                for k, dx, n in zip(node.inputs, dxs, need):
                    if not n or dx is None:
                        continue
                    grads[k] = grads[k] + dx if k in grads else dx
        if not retain:
            for node in self.nodes:
                node.vjp = None
        return [grads.get(k) for k in wrt]


def current() -> Tape | None:
    """The tape of the innermost ``tracing`` block, or None."""
    return _stack[-1] if _stack else None


@contextlib.contextmanager
def tracing(tape: Tape):
    _stack.append(tape)
    try:
        yield tape
    finally:
        _stack.pop()
        tape.active = False


# -- broadcasting ----------------------------------------------------------------------------
def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The gradient of an operand of ``shape`` from the gradient of a broadcast result: summed
    over the axes it was expanded along."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, (s, n) in enumerate(zip(shape, g.shape)) if s == 1 and n != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


# -- elementwise math: name -> (f(x), df(x, y) as a function of x and y) --------------------
def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))).astype(
        x.dtype, copy=False)


UNARY = {
    "exp": (np.exp, lambda x, y: y),
    "log": (np.log, lambda x, y: 1 / x),
    "sqrt": (np.sqrt, lambda x, y: 0.5 / y),
    "abs": (np.abs, lambda x, y: np.sign(x)),
    "tanh": (np.tanh, lambda x, y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda x, y: y * (1 - y)),
    "relu": (lambda x: np.maximum(x, 0), lambda x, y: (x > 0).astype(x.dtype)),
    "neg": (np.negative, lambda x, y: -np.ones_like(x)),
    "sin": (np.sin, lambda x, y: np.cos(x)),
    "cos": (np.cos, lambda x, y: -np.sin(x)),
    "square": (np.square, lambda x, y: 2 * x),
}


def unary(name: str, x: np.ndarray):
    f, df = UNARY[name]
    y = f(x)
    return y, lambda dy: dy * df(x, y).astype(dy.dtype, copy=False)


def binary(name: str, a: np.ndarray, b: np.ndarray):
    """a op b with numpy broadcasting; returns (y, vjp(dy) -> (da, db))."""
    if name == "add":
        y = a + b
        return y, lambda dy: (unbroadcast(dy, a.shape), unbroadcast(dy, b.shape))
    if name == "sub":
        y = a - b
        return y, lambda dy: (unbroadcast(dy, a.shape), unbroadcast(-dy, b.shape))
    if name == "mul":
        y = a * b
        return y, lambda dy: (unbroadcast(dy * b, a.shape), unbroadcast(dy * a, b.shape))
    if name == "div":
        y = a / b
        return y, lambda dy: (unbroadcast(dy / b, a.shape), unbroadcast(-dy * y / b, b.shape))
    if name == "pow":
        y = a ** b

        def vjp(dy):
            da = unbroadcast(dy * b * a ** (b - 1), a.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            return da, unbroadcast(dy * y * lg, b.shape)
        return y, vjp
    if name in ("max", "min"):
        pick = (a >= b) if name == "max" else (a <= b)
        y = np.where(pick, a, b)
        return y, lambda dy: (unbroadcast(np.where(pick, dy, 0), a.shape), unbroadcast(np.where(pick, 0, dy), b.shape))
    raise KeyError(name)


def matmul(a: np.ndarray, b: np.ndarray):
    y = a @ b
    return y, lambda dy: (dy @ b.T, a.T @ dy)


# -- reductions ------------------------------------------------------------------------------
def reduce_sum(x: np.ndarray, axes: tuple):
    y = x.sum(axis=axes, keepdims=True)
    return y, lambda dy: np.broadcast_to(dy, x.shape).copy()


def reduce_mean(x: np.ndarray, axes: tuple):
    n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    y = x.mean(axis=axes, keepdims=True)
    return y, lambda dy: np.broadcast_to(dy / x.dtype.type(n), x.shape).copy()


def reduce_extreme(x: np.ndarray, axis: int, largest: bool):
    """max or min along one axis (kept, size 1), the first extreme winning; (y, indices, vjp)."""
    idx = np.argmax(x, axis=axis) if largest else np.argmin(x, axis=axis)
    idx = np.expand_dims(idx, axis)
    y = np.take_along_axis(x, idx, axis=axis)

    def vjp(dy):
        dx = np.zeros_like(x)
        np.put_along_axis(dx, idx, dy, axis=axis)
        return dx
    return y, idx, vjp


# -- layer kernels (internal layout: images N x C x H x W, features N x C) -----------------------
def _k(family, op):
    from ..kernels import get_kernel
    return get_kernel(family, op, "cpu")


def conv2d(x, w, b, stride, dilation, pads, groups=1):
    """x N x C x H x W, w F x C/G x FH x FW, b (F,); pads (top, bottom, left, right)."""
    args = (*stride, *dilation, *pads)
    y = _k("conv", "forward_infer")(x, w, b, *args, groups=groups, padding_value=0.0)

    def vjp(dy, need=(True, True, True)):
        dx, dw, db = _k("conv", "backward")(dy, x, w, *args, groups=groups, padding_value=0.0,
                                              need_dx=bool(need[0]))
        return dx, dw, db
    return y, vjp


def fully_connected(x2, w, b):
    """x2 N x In, w Out x In, b (Out,)."""
    y = _k("fc", "forward_infer")(x2, w, b)

    def vjp(dy):
        return _k("fc", "backward")(np.ascontiguousarray(dy), x2, w)
    return y, vjp


def batchnorm_train(x, scale, offset, eps):
    y, mean, var = _k("batchnorm", "forward_train")(x, scale, offset, eps)

    def vjp(dy):
        return _k("batchnorm", "backward")(np.ascontiguousarray(dy), x, scale, mean, var, eps)
    return y, mean, var, vjp


def batchnorm_infer(x, scale, offset, mean, var, eps):
    """Normalization with given statistics (an affine map per channel of an N x C x ... array)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (1.0 / np.sqrt(var.astype(np.float64) + eps)).astype(x.dtype)
    xhat = (x - mean.reshape(shape)) * inv.reshape(shape)
    y = xhat * scale.reshape(shape) + offset.reshape(shape)
    return y, batchnorm_fixed_vjp(x, scale, mean, var, eps)


def batchnorm_fixed_vjp(x, scale, mean, var, eps):
    """The vjp of y = (x - mean) / sqrt(var + eps) * scale + offset per channel (axis 1) with the
    statistics held fixed: dy -> (dx, dscale, doffset), dscale and doffset (C,). The backward of
    batchnorm with given statistics and of a batch normalization layer in differentiated prediction."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (1.0 / np.sqrt(np.asarray(var, np.float64).reshape(-1) + eps)).astype(x.dtype)
    axes = (0,) + tuple(range(2, x.ndim))

    def vjp(dy):
        xhat = (x - np.asarray(mean).reshape(shape)) * inv.reshape(shape)
        return (dy * (np.asarray(scale).reshape(-1) * inv).reshape(shape), (dy * xhat).sum(axis=axes),
                dy.sum(axis=axes))
    return vjp


def layernorm(x, scale, offset, eps, channel_only=False):
    y, mean, var = _k("layernorm", "forward_train")(x, scale, offset, eps, channel_only)

    def vjp(dy):
        return _k("layernorm", "backward")(np.ascontiguousarray(dy), x, scale, mean, var, eps, channel_only)
    return y, vjp


def activation(family, x, *hp):
    """A registry activation (relu, leakyrelu, sigmoid, tanh, elu, gelu, ...) or softmax (axis 1)."""
    y = _k(family, "forward_infer")(x, *hp)

    def vjp(dy):
        return _k(family, "backward")(np.ascontiguousarray(dy), x, y, *hp)
    return y, vjp


def maxpool(x, pool, stride, pads):
    hp = (*pool, *stride, *pads)
    y, arg = _k("maxpool", "forward_train")(x, *hp)
    return y, lambda dy: _k("maxpool", "backward")(np.ascontiguousarray(dy), arg, x.shape[2], x.shape[3])


def avgpool(x, pool, stride, pads, count_include_pad=True):
    hp = (*pool, *stride, *pads)
    y = _k("avgpool", "forward_infer")(x, *hp, count_include_pad)
    return y, lambda dy: _k("avgpool", "backward")(np.ascontiguousarray(dy), x.shape[2], x.shape[3], *hp,
                                                    count_include_pad)


def crossentropy(y, t):
    """-sum t log y / N over N x C (x H x W) scores, the classification layer's kernel."""
    loss = _k("crossentropyex", "forward_train")(y, t, None)
    g = _k("crossentropyex", "backward")(y, t, None)
    return np.asarray(loss, dtype=y.dtype), lambda dl: g * dl


def half_mse(y, t):
    """sum (y - t)^2 / 2 / N, the regression layer's kernel."""
    loss = _k("mse", "forward_train")(y, t)
    g = _k("mse", "backward")(y, t)
    return np.asarray(loss, dtype=y.dtype), lambda dl: (g * dl, -g * dl)
