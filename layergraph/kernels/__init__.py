"""Kernel table: (family, operation, device) -> pure function over arrays.

    from layergraph.kernels import get_kernel
    y, mean, var = get_kernel("batchnorm", "forward_train", "cpu")(x, scale, offset, 1e-5)

Operations are "forward_train", "forward_infer" and "backward" for every family (where
training and prediction coincide the same function is registered twice). Each device's table
is built from the registry (core/registry.py) by one naming rule (``family_kernels``): a row's
``kernel`` prefix p names p_forward_train and p_forward_infer, or one p_forward for both, and
p_backward. Devices load
lazily on first use: "cpu" from ``layergraph.kernels.cpu``, "cuda" from
``layergraph.kernels.cuda``; each exposes ``KERNELS = {(family, op): fn}``. Importing this
module imports neither numba nor a device package.

Internal layout (the only one kernels see): images N x C x H x W, C-contiguous; feature
data N x C. dtype float32 by default, float64 on request (results keep the input's dtype;
other input dtypes become float32). Hyperparameters are plain ints / floats / bools /
strings, tuples passed as separate ints. Kernels never modify their inputs.

Signatures (the CUDA set uses the same ones). The 'cuda' set has conv, batchnorm, the
elementwise activations (relu ... gelu), maxpool, avgpool, fc, softmax and addition, every
operation: predict / classify with ExecutionEnvironment 'gpu' run on it; training runs on the
CPU (the trainer is not wired to 'cuda'). Its functions take numpy or device arrays and return
the kind they were given. ``get_transfers(device)`` gives the executor its two copies per batch
(input to the device, outputs back). The 'cuda' conv_forward refuses the CPU executor's
fusion arguments (relu=, pool=).

conv        conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False) -> y
            conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, need_dx=True)
                -> (dx, dw, db)   dx None when need_dx is False (the executor's call for the network input)
            w F x C/G x FH x FW; b (F,) or None; padding_value a number or
            'symmetric-include-edge' | 'symmetric-exclude-edge' | 'replicate'
transposed_conv
            transposed_conv_forward(x, w, b, sh, sw, dh, dw, ct, cb, cl, cr, groups=1) -> y
            transposed_conv_backward(dy, x, w, sh, sw, dh, dw, ct, cb, cl, cr, groups=1)
                -> (dx, dw, db)
            w C x F/G x FH x FW; cropping [ct cb cl cr] (negative = extra zero rows/cols)
batchnorm   bn_forward_train(x, scale, offset, epsilon) -> (y, mean, var)   var biased
            bn_forward_infer(x, scale, offset, mean, var, epsilon) -> y
            bn_backward(dy, x, scale, mean, var, epsilon) -> (dx, dscale, doffset)
            'cpu' only, the executor's training fusion with a following ReLU (and max pooling):
            bn_forward_train(..., relu=True[, pool=(ph, pw, sh, sw, pt, pb, pl, pr)])
                -> (y, mean, var[, argmax]);  bn_backward(..., relu_out=y | pool_out=(y, argmax))
layernorm   ln_forward_train(x, scale, offset, epsilon, channel_only=False) -> (y, mean, var)
            ln_forward_infer(x, scale, offset, epsilon, channel_only=False) -> y
            ln_backward(dy, x, scale, mean, var, epsilon, channel_only=False)
                -> (dx, dscale, doffset)
groupnorm   gn_forward(x, scale, offset, groups, epsilon, unbiased=False, rms=False) -> (y, mean, var)
            gn_backward(dy, x, scale, mean, var, groups, epsilon, unbiased=False, rms=False)
                -> (dx, dscale, doffset)
            per example, groups of C/G consecutive channels normalized over their channels and
            positions; mean, var N x G; unbiased: variance over n - 1; rms: no mean subtraction
instancenorm  in_forward(x, scale, offset, epsilon) -> (y, mean, var); in_backward(dy, x, scale,
            mean, var, epsilon) -> (dx, dscale, doffset): group normalization with G = C
maxpool     maxpool_forward_train(x, ph, pw, sh, sw, pt, pb, pl, pr) -> (y, argmax)
            maxpool_forward_infer(x, ph, pw, sh, sw, pt, pb, pl, pr) -> y
            maxpool_backward(dy, argmax, H, W) -> dx
            argmax: int64 flat index into the input's H x W plane; padding never wins
avgpool     avgpool_forward(x, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad) -> y
            avgpool_backward(dy, H, W, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad) -> dx
globalavgpool  globalavgpool_forward(x, x_layout='nchw') -> y (N x C x 1 x 1; on the CPU also x N x H x W x C,
            x_layout='nhwc'); globalavgpool_backward(dy, H, W) -> dx
globalmaxpool  globalmaxpool_forward_train(x) -> (y, argmax); globalmaxpool_forward_infer(x) -> y
            globalmaxpool_backward(dy, argmax, H, W) -> dx
fc          fc_forward(x, w, b) -> y; fc_backward(dy, x, w, need_dx=True) -> (dx, dw, db), dx None without need_dx
            x N x In (or N x C x H x W, read row-major); w Out x In; b (Out,) or None
relu, tanh, sigmoid, swish
            <name>_forward(x) -> y; <name>_backward(dy, x, y) -> dx
            (these and the four below are compiled for both devices from the scalar math of
            their registry rows, kernels/activation_math.py; y may be None, and hyperparameters
            may be passed by keyword)
leakyrelu   leakyrelu_forward(x, scale); leakyrelu_backward(dy, x, y, scale)
clippedrelu clippedrelu_forward(x, ceiling); clippedrelu_backward(dy, x, y, ceiling)
elu         elu_forward(x, alpha); elu_backward(dy, x, y, alpha)
gelu        gelu_forward(x, tanh_approx=False); gelu_backward(dy, x, y, tanh_approx=False)
softmax     softmax_forward(x) -> y (over axis 1); softmax_backward(dy, x, y) -> dx
dropout     dropout_forward_train(x, p, seed) -> (y, mask)   seed: int or numpy Generator
            dropout_forward_infer(x, p) -> y (a copy of x); dropout_backward(dy, mask, p) -> dx
addition    addition_forward(inputs) -> y; addition_backward(dy, k) -> tuple of k arrays
concatenation  concat_forward(inputs, axis) -> y; concat_backward(dy, sizes, axis) -> tuple
embedding   embedding_forward(idx, w) -> y; embedding_backward(dy, idx, n) -> dw
            idx int64 (M,) 0-based rows of w (n x d); y M x d; repeated indices add in dw
depthconcatenation  depthconcat_forward(inputs) -> y; depthconcat_backward(dy, sizes) -> tuple
lstm        lstm_forward_train(x, w, r, b, h0, c0, mask, gate, state, reverse, sequence=True) -> (y, hT, cT, ctx)
            lstm_forward_infer(...) -> (y, hT, cT); lstm_backward(dy, dhT, dcT, ctx, w, r, gate, state, reverse)
                -> (dx, dw, dr, db, dh0, dc0)   x N x C x T; w 4H x C, r 4H x H (gates i, f, g, o); mask
            N x T (None: every step); sequence=False: y None (only the final state); dy may be None
            (no gradient at the outputs); 'cpu' also takes chunks= (the batch's split over threads)
gru         gru_forward_train(x, w, r, b, rb, h0, mask, mode, gate, state, reverse, sequence=True) -> (y, hT, ctx)
            gru_forward_infer(...) -> (y, hT); gru_backward(dy, dhT, ctx, w, r, mode, gate, state, reverse)
                -> (dx, dw, dr, db, drb, dh0)   w 3H x C, r 3H x H (gates r, z, candidate); mode
            'after-multiplication' | 'before-multiplication' | 'recurrent-bias-after-multiplication' (rb,
            drb: the recurrent bias, that mode only); sequence and dy None as the LSTM's
maskedrecurrent  masked_recurrent_forward(x, w, r, b, rb, h0, c0, mask, ms, mu, cell, gate, state, reverse,
            sequence=True) -> (y, hT, cT, ctx); masked_recurrent_backward(dy, dhT, dcT, ctx, w, r, gate, state,
            reverse) -> (dx, dw, dr, db, drb, dh0, dc0)   cell 'lstm' | 'gru' | 'rnn'; ms G x N x H state masks
            per gate, mu T x N x H update masks per step (None: ones); 'cpu' only (recurrent dropout in training)
flatten     flatten_forward(x, column_major=True) -> y (N x C*H*W)
            flatten_backward(dy, C, H, W, column_major=True) -> dx
            column_major: MATLAB order h + H*(w + W*c); False: row-major (c, h, w), Wolfram
crossentropyex  crossentropyex_forward(y, t, class_weights=None) -> loss (float)
            crossentropyex_backward(y, t, class_weights=None) -> dY
mse         mse_forward(y, t) -> loss = sum((Y-T)^2)/2/N; mse_backward(y, t) -> (Y-T)/N
"""
from __future__ import annotations

import importlib

__all__ = ["DEVICES", "OPERATIONS", "KernelNotFoundError", "available", "family_kernels", "get_kernel",
           "get_transfers"]

DEVICES = ("cpu", "cuda")
OPERATIONS = ("forward_train", "forward_infer", "backward")

_loaded: dict[str, dict] = {}


class KernelNotFoundError(KeyError):
    """No kernel for (family, operation, device). The message lists what exists."""

    def __str__(self):  # KeyError would repr() the message and show the quotes
        return str(self.args[0]) if self.args else ""


def _table(device: str) -> dict:
    if device not in _loaded:
        if device not in DEVICES:
            raise KernelNotFoundError(f"Unknown device {device!r}; devices are {', '.join(DEVICES)}.")
        try:
            module = importlib.import_module(f"{__name__}.{device}")
        except ImportError as err:
            raise KernelNotFoundError(f"The {device!r} kernels could not be loaded: {err}") from err
        kernels = getattr(module, "KERNELS", None)
        if not isinstance(kernels, dict):
            raise KernelNotFoundError(f"{module.__name__} defines no KERNELS table.")
        _loaded[device] = kernels
    return _loaded[device]


def available(device: str = "cpu") -> list[tuple[str, str]]:
    """Sorted (family, operation) pairs registered for device."""
    return sorted(_table(device))


def get_kernel(family: str, operation: str, device: str = "cpu"):
    """The kernel function for (family, operation, device)."""
    table = _table(device)
    fn = table.get((family, operation))
    if fn is not None:
        return fn
    families = sorted({f for f, _ in table})
    if family in families:
        ops = sorted(op for f, op in table if f == family)
        msg = (f"No {operation!r} kernel for family {family!r} on {device!r}; "
               f"operations for {family!r}: {', '.join(ops)}.")
    else:
        msg = (f"No kernel family {family!r} on {device!r}; families on {device!r}: "
               f"{', '.join(families)}.")
    raise KernelNotFoundError(msg)


def family_kernels(prefix: str, modules) -> dict | None:
    """{operation: function} of one kernel family in a device package's ``modules``, by the
    naming rule the device tables are built with: <prefix>_forward_train and
    <prefix>_forward_infer, or one <prefix>_forward for both; <prefix>_backward. None unless
    every operation is found."""
    def find(name):
        return next((getattr(m, name) for m in modules if getattr(m, name, None) is not None), None)

    fwd = find(f"{prefix}_forward")
    ops = {"forward_train": find(f"{prefix}_forward_train") or fwd,
           "forward_infer": find(f"{prefix}_forward_infer") or fwd,
           "backward": find(f"{prefix}_backward")}
    return ops if all(ops.values()) else None


def get_transfers(device: str):
    """None for 'cpu' (host arrays throughout); else (to_device, to_host): copy one host array
    into the device's memory, and one device array back to a numpy array (the executor's two
    copies per batch in prediction)."""
    if device == "cpu":
        return None
    _table(device)  # loads the device package, with the table's errors
    module = importlib.import_module(f"{__name__}.{device}")
    return module.to_device, module.to_host
