"""Adapters from a sized layer spec to the kernel table.

One Op per layer family. ``prepare`` takes the layer's learnables and state (stored in
the internal layout) in the executor's dtype once (the fully connected layer's
column-major weights are permuted there); ``forward`` and ``backward`` call the
kernels through ``k(family, operation)``, which the executor binds to a device,
so no layer code branches on the device.

forward(k, xs, P, training) -> (ys, ctx)
backward(k, dys, ctx, P)    -> (dxs, grads)   grads: {learnable name: internal array}
"""
from __future__ import annotations

import numpy as np

from . import conventions as cv
from .errors import LayerGraphError
from .op import Op, _get
from .ops_array import ARRAY_OPS
from .ops_custom import OPS_CUSTOM
from .ops_embedding import EMBEDDING_OPS
from .ops_extra import EXTRA_OPS
from .ops_folding import FOLDING_OPS, FoldedStepsOp
from .ops_recurrent import RECURRENT_OPS
from .ops_sequence import SEQUENCE_OPS
from .registry import ELEMENTWISE


class InputOp(Op):
    """Input normalization: 'zerocenter', 'zscore', 'rescale-symmetric', 'rescale-zero-one',
    'none' or a function of the MATLAB-layout batch."""

    def _stat(self, name):
        value = self.layer.internal(name)   # stored as the op reads it: C x H x W, C x 1 x 1, 1 x 1 x 1 or (C,)
        if value is None:
            raise LayerGraphError(
                f"Layer '{self.layer.Name}': Normalization '{self.layer.Normalization}' needs {name}, which is "
                f"empty. Set {name} (or train the network, which computes it) or use Normalization 'none'.",
                "nnet_cnn:layer:ImageInputLayer:EmptyNormalizationStatistics")
        return np.array(value, dtype=self.dtype, order="C")

    def prepare(self):
        mode = self.layer.Normalization
        if callable(mode):
            return {}
        needs = {"zerocenter": ("Mean",), "zscore": ("Mean", "StandardDeviation"),
                 "rescale-symmetric": ("Min", "Max"), "rescale-zero-one": ("Min", "Max")}.get(mode, ())
        stats = {name: self._stat(name) for name in needs}
        if self.out_sizes and self.out_sizes[0].is_sequence:   # N x C x (H x W) x T: the same for every step
            stats = {name: v[..., None] for name, v in stats.items()}
        return stats

    def forward(self, k, xs, P, training):
        x = xs[0]
        mode = self.layer.Normalization
        if callable(mode):
            matlab = cv.internal_images_to_matlab(x) if x.ndim == 4 else x
            y = np.asarray(mode(matlab), dtype=self.dtype)
            return [cv.matlab_images_to_internal(y) if x.ndim == 4 else self._arr(y)], None
        if mode == "zerocenter":
            y = x - P["Mean"]
        elif mode == "zscore":
            y = (x - P["Mean"]) / P["StandardDeviation"]
        elif mode == "rescale-zero-one":
            y = (x - P["Min"]) / (P["Max"] - P["Min"])
        elif mode == "rescale-symmetric":
            y = 2 * (x - P["Min"]) / (P["Max"] - P["Min"]) - 1
        else:
            y = x
        return [self._arr(y)], None

    def backward(self, k, dys, ctx, P):
        return [], {}


_same_bytes = None   # kernels/cpu/_same.same_bytes, imported on first use (core imports no numba)


def relu_context(y, ceiling):
    """What a layer's backward needs of the (clipped) ReLU fused after it: its output (the mask's
    source) and a finite ceiling (the backward kernels' relu_out / ceiling arguments)."""
    return {"relu_out": y} if ceiling == np.inf else {"relu_out": y, "ceiling": ceiling}


def _kept(owner, attr, key, src, make):
    """make()'s result, kept on ``owner`` (as ``attr``) and reused while ``key`` is equal and the
    arrays ``src`` are the same objects holding the same values: a trainer updates parameters in
    place, so identity alone would not do; comparing their bytes with copies (one compiled pass,
    _unchanged) costs a pass over them, a fraction of what is kept (ConvOp's folded weights and
    their transforms, FullyConnectedOp's weights for a pixel-major input)."""
    c = getattr(owner, attr, None)
    if (c is not None and c[0] == key and len(c[1]) == len(src)
            and all(a is s0 for a, s0 in zip(src, c[1])) and _unchanged(src, c[2])):
        return c[3]
    out = make()
    copies = tuple(np.array(a, copy=True) for a in src)
    from ..kernels.cpu._same import byte_view, padded   # the plans are the CPU's: its kernels load anyway
    views = padded(byte_view(a) for a in src)
    if views is None or any(v is None for v in views):
        check = ("values", copies)
    else:
        check = ("bytes", views, padded(byte_view(a) for a in copies))
    setattr(owner, attr, (key, src, check, out))
    return out


def _unchanged(src, check):
    """Whether the arrays _kept keeps an eye on (``src``) hold what it copied: ("bytes", their
    uint8 views, the copies' views), compared in one compiled pass (kernels/cpu/_same.py), or
    ("values", the copies), by np.array_equal (an array that was not C-contiguous)."""
    if check[0] == "bytes":
        global _same_bytes
        if _same_bytes is None:
            from ..kernels.cpu._same import same_bytes as _same_bytes   # the plan is the CPU's
        return _same_bytes(check[1], check[2])
    return all(np.array_equal(a, copy) for a, copy in zip(src, check[1]))


class ConvOp(Op):
    adds_dx = True   # conv_backward's dx_add (core/op.py)
    learnable_names = ("Weights", "Bias")

    def _groups(self):
        return getattr(self.layer, "NumGroups", 1)

    def _hp(self):
        L = self.layer
        pv = L.PaddingValue if isinstance(L.PaddingValue, str) else float(L.PaddingValue)
        return (*L.Stride, *L.DilationFactor, *L.PaddingSize), dict(groups=self._groups(), padding_value=pv)

    def _layouts(self, kw):
        """The keyword arguments with the pixel-major training plan's layouts (x_nhwc, y_nhwc)."""
        if self.x_nhwc or self.y_nhwc:
            return dict(kw, x_layout=_layout(self.x_nhwc), y_layout=_layout(self.y_nhwc))
        return kw

    def forward(self, k, xs, P, training):
        args, kw = self._hp()
        return [k("conv", "forward_infer")(xs[0], P["Weights"], P["Bias"], *args, **self._layouts(kw))], xs[0]

    def forward_fused(self, k, x, P, bn=None, relu=False, pool=None, ceiling=np.inf):
        """Prediction with a following batch normalization folded into the weights
        (W * s / sqrt(v + eps), (b - m) * s / sqrt(v + eps) + o), and a following ReLU (a
        clipped ReLU: ``ceiling``, inf for a plain one) and max pooling applied in the same
        pass. Equal to the unfused layers up to rounding."""
        w, b = self._folded(P, bn)
        args, kw = self._hp()
        return k("conv", "forward_infer")(x, w, b, *args, relu=relu, pool=pool, ceiling=ceiling, **kw)

    def pixel_major_ok(self) -> bool:
        """Whether prediction may keep this convolution's input and output pixel-major (N x H x W
        x C; the executor's pixel-major plan): images without time, and kernels/cpu/conv.py's
        pixel_major_eligible (the one rule), where the product runs fastest that way
        (docs/performance.md): one group with 8 to 64 input channels and a constant padding
        value, a pointwise convolution (1x1, stride 1, no padding) of 8 or more channels, a 3x3
        stride-1 undilated one of fewer than 8 (a network's first), or a depthwise one."""
        from ..kernels.cpu.conv import pixel_major_eligible   # the plan is the CPU's: its kernels load anyway
        return self._layout_rule(pixel_major_eligible)

    def pixel_major_train_ok(self) -> bool:
        """Whether the pixel-major training plan may keep this convolution's output pixel-major
        (core/executor.py _train_layout_plan): images without time, and kernels/cpu/conv.py's
        pixel_major_training_eligible (one group; 8 to 64 input channels at any stride, or a
        first convolution with 16 filters: where the backward reads the rows as they are)."""
        from ..kernels.cpu.conv import pixel_major_training_eligible
        return self._layout_rule(pixel_major_training_eligible)

    def _layout_rule(self, rule) -> bool:
        """rule(channels, groups, padding value, filters, size, stride, padding, dilation) for
        images without time; False otherwise."""
        size = self.in_sizes[0]
        L = self.layer
        g = self._groups()
        if size.is_sequence or len(size.spatial) != 2 or not isinstance(g, (int, np.integer)):
            return False
        return rule(size.channels, int(g), L.PaddingValue, self.out_sizes[0].channels, L.FilterSize, L.Stride,
                    L.PaddingSize, L.DilationFactor)

    def forward_pixel_major(self, k, x, x_nhwc, P, bn=None, relu=False, residual=None, ceiling=np.inf):
        """forward_fused (no pooling) with a pixel-major output, N x OH x OW x F, from x N x C x H x
        W or (``x_nhwc``) N x H x W x C; ``residual`` (pixel-major, N x OH x OW x F) added before
        the ReLU. The folded weights and their Winograd transform are kept between calls while
        the parameters they come from hold the same values (_pixel_major_weights)."""
        w, b, u = self._pixel_major_weights(P, bn)
        args, kw = self._hp()
        extra = {} if residual is None else {"residual": residual}
        return k("conv", "forward_infer")(x, w, b, *args, relu=relu, x_layout="nhwc" if x_nhwc else "nchw",
                                          y_layout="nhwc", winograd=u, ceiling=ceiling, **extra, **kw)

    def _pixel_major_weights(self, P, bn):
        """(_folded's weights and bias, a dict where the kernel keeps its transform of them: Winograd's,
        filled on first use), kept while the source arrays (the weights, bias and BN's four) hold
        the same values (_kept)."""
        src = (P["Weights"], P["Bias"]) + (tuple(bn[1][n] for n in ("Scale", "Offset", "TrainedMean",
                                                                     "TrainedVariance")) if bn is not None else ())
        eps = bn[0].layer.Epsilon if bn is not None else None
        return _kept(self, "_pm_cache", eps, src, lambda: (*self._folded(P, bn), {}))

    def _folded(self, P, bn):
        """The weights and bias with a following batch normalization folded in (``bn``: its op
        and parameters, or None)."""
        w, b = P["Weights"], P["Bias"]
        if bn is not None:
            bn_op, bnP = bn
            f = bnP["Scale"].astype(np.float64) / np.sqrt(bnP["TrainedVariance"].astype(np.float64)
                                                          + bn_op.layer.Epsilon)
            w = (w * f[:, None, None, None]).astype(self.dtype)
            b = ((b - bnP["TrainedMean"]) * f + bnP["Offset"]).astype(self.dtype)
        return w, b

    def backward(self, k, dys, ctx, P):
        args, kw = self._hp()
        need_dx = self.need_dx is None or self.need_dx[0]  # no dx for the network input: no W^T dy, no col2im
        kw = self._layouts(kw)
        if self.dx_add is not None and self.dx_add[0] is not None:
            kw = dict(kw, dx_add=self.dx_add[0])
        dx, dw, db = k("conv", "backward")(dys[0], ctx, P["Weights"], *args, need_dx=need_dx, **kw)
        return [dx], {"Weights": dw, "Bias": db}


def _layout(nhwc) -> str:
    return "nhwc" if nhwc else "nchw"



class TransposedConvOp(Op):
    learnable_names = ("Weights", "Bias")

    def _hp(self):
        return (*self.layer.Stride, 1, 1, *self.layer.CroppingSize)

    def forward(self, k, xs, P, training):
        return [k("transposed_conv", "forward_infer")(xs[0], P["Weights"], P["Bias"], *self._hp())], xs[0]

    def backward(self, k, dys, ctx, P):
        dx, dw, db = k("transposed_conv", "backward")(dys[0], ctx, P["Weights"], *self._hp())
        return [dx], {"Weights": dw, "Bias": db}



class BatchNormOp(Op):
    """Training normalizes with the batch statistics (biased variance) and reports them
    in ``ctx`` so that the trainer updates TrainedMean / TrainedVariance by its dialect's
    rule; prediction uses TrainedMean and TrainedVariance."""

    learnable_names = ("Offset", "Scale")
    state_names = ("TrainedMean", "TrainedVariance")

    def forward(self, k, xs, P, training):
        eps = self.layer.Epsilon
        if training and self.predicting:   # differentiated prediction: the trained statistics, held fixed
            y = k("batchnorm", "forward_infer")(xs[0], P["Scale"], P["Offset"], P["TrainedMean"],
                                                P["TrainedVariance"], eps)
            return [y], ("population", xs[0])
        if training and self.seq is not None and not self.seq.full and xs[0].ndim == 3:
            return self._forward_valid_steps(k, xs[0], P, eps)
        if training:
            y, mean, var = k("batchnorm", "forward_train")(xs[0], P["Scale"], P["Offset"], eps, **self._layout_kw())
            return [y], (xs[0], mean, var)
        return [k("batchnorm", "forward_infer")(xs[0], P["Scale"], P["Offset"], P["TrainedMean"],
                                                P["TrainedVariance"], eps)], None

    def forward_train_fused(self, k, x, P, pool=None, ceiling=np.inf):
        """Training forward with a following ReLU (a clipped ReLU: ``ceiling``, without pooling;
        and max pooling: ``pool`` its hyperparameters) in the same pass: (relu(bn(x)) or its
        pooling, ctx). The executor's fusion ('cpu'
        kernels) when each link is the only reader of the one before; backward then takes the
        gradient at the last link's output and applies the ReLU's mask (and the pooling's
        scatter) in the BN passes."""
        eps = self.layer.Epsilon
        if pool is None:
            y, mean, var = k("batchnorm", "forward_train")(x, P["Scale"], P["Offset"], eps, relu=True,
                                                           ceiling=ceiling, **self._layout_kw())
            return y, (x, mean, var, relu_context(y, ceiling))
        y, mean, var, arg = k("batchnorm", "forward_train")(x, P["Scale"], P["Offset"], eps, relu=True, pool=pool)
        return y, (x, mean, var, {"pool_out": (y, arg)})

    def forward_train_residual(self, k, x, P, residual, relu, ceiling=np.inf):
        """Training forward of the BN, a residual block's addition of ``residual`` to its output and
        (``relu``) the ReLU after it (clipped at ``ceiling``) in one pass (pixel-major x, the
        executor's residual fusion): (y, the BN's own context: its backward takes the gradient at
        its output, which the addition's backward gives as before)."""
        y, mean, var = k("batchnorm", "forward_train")(x, P["Scale"], P["Offset"], self.layer.Epsilon, relu=relu,
                                                       ceiling=ceiling, x_layout="nhwc", residual=residual)
        return y, (x, mean, var)

    def _forward_valid_steps(self, k, x, P, eps):
        """A padded batch of vector sequences (N x C x T): the batch statistics over each
        sequence's own steps only, as the feature batch of those steps (padding gives 0)."""
        valid = self.seq.mask()                                    # N x T
        steps = np.ascontiguousarray(x.transpose(0, 2, 1)[valid])   # M x C
        y2, mean, var = k("batchnorm", "forward_train")(steps, P["Scale"], P["Offset"], eps)
        y = np.zeros((x.shape[0], x.shape[2], x.shape[1]), x.dtype)
        y[valid] = y2
        return [np.ascontiguousarray(y.transpose(0, 2, 1))], (steps, mean, var, {"valid": valid})

    def backward(self, k, dys, ctx, P):
        if isinstance(ctx[0], str):   # the trained statistics: an affine map per channel
            from .autodiff import batchnorm_fixed_vjp
            dx, dscale, doffset = batchnorm_fixed_vjp(ctx[1], P["Scale"], P["TrainedMean"], P["TrainedVariance"],
                                                      self.layer.Epsilon)(dys[0])
            return [dx], {"Scale": dscale.reshape(P["Scale"].shape), "Offset": doffset.reshape(P["Offset"].shape)}
        if len(ctx) > 3 and "valid" in ctx[3]:
            steps, mean, var, extra = ctx
            valid = extra["valid"]
            dy2 = np.ascontiguousarray(dys[0].transpose(0, 2, 1)[valid])
            dx2, dscale, doffset = k("batchnorm", "backward")(dy2, steps, P["Scale"], mean, var, self.layer.Epsilon)
            n, c, t = dys[0].shape
            dx = np.zeros((n, t, c), dx2.dtype)
            dx[valid] = dx2
            return [np.ascontiguousarray(dx.transpose(0, 2, 1))], {"Scale": dscale, "Offset": doffset}
        x, mean, var = ctx[:3]
        fused = ctx[3] if len(ctx) > 3 else {}  # fused: dys[0] is at the ReLU's (or the pooling's) output
        dx, dscale, doffset = k("batchnorm", "backward")(dys[0], x, P["Scale"], mean, var, self.layer.Epsilon,
                                                         **fused, **self._layout_kw())
        return [dx], {"Scale": dscale, "Offset": doffset}

    def _layout_kw(self) -> dict:
        """x_layout='nhwc' in the pixel-major training plan (``x_nhwc``), else nothing."""
        return {"x_layout": "nhwc"} if self.x_nhwc else {}


class LayerNormOp(Op):
    learnable_names = ("Offset", "Scale")

    def _channel_only(self):
        return self.layer.OperationDimension == "channel-only"

    def forward(self, k, xs, P, training):
        y, mean, var = k("layernorm", "forward_train")(xs[0], P["Scale"], P["Offset"], self.layer.Epsilon,
                                                        self._channel_only())
        return [y], (xs[0], mean, var)

    def backward(self, k, dys, ctx, P):
        x, mean, var = ctx
        dx, dscale, doffset = k("layernorm", "backward")(dys[0], x, P["Scale"], mean, var, self.layer.Epsilon,
                                                         self._channel_only())
        return [dx], {"Scale": dscale, "Offset": doffset}


class ActivationOp(Op):
    """Elementwise activations (every registry row with scalar math) and softmax:
    forward(x, *hp), backward(dy, x, y, *hp), hp the spec's kernel_args()."""

    def _hp(self):
        return self.layer.kernel_args()

    def forward(self, k, xs, P, training):
        y = k(self.layer.family, "forward_infer")(xs[0], *self._hp())
        return [y], (xs[0], y)

    def backward(self, k, dys, ctx, P):
        x, y = ctx
        return [k(self.layer.family, "backward")(dys[0], x, y, *self._hp())], {}


class PoolOp(Op):
    def _hp(self):
        L = self.layer
        return (*L.PoolSize, *L.Stride, *L.PaddingSize)

    def forward(self, k, xs, P, training):
        x = xs[0]
        if self.layer.family == "maxpool":
            if training:
                y, arg = k("maxpool", "forward_train")(x, *self._hp())
                return [y] * self.layer.NumOutputs, (x.shape, arg)
            return [k("maxpool", "forward_infer")(x, *self._hp())] * self.layer.NumOutputs, None
        incl = self.layer.PaddingValue != "mean"
        return [k("avgpool", "forward_infer")(x, *self._hp(), incl)], x.shape

    def backward(self, k, dys, ctx, P):
        if self.layer.family == "maxpool":
            shape, arg = ctx
            return [k("maxpool", "backward")(dys[0], arg, shape[2], shape[3])], {}
        shape = ctx
        incl = self.layer.PaddingValue != "mean"
        return [k("avgpool", "backward")(dys[0], shape[2], shape[3], *self._hp(), incl)], {}


class GlobalPoolOp(Op):
    @property
    def reads_pixel_major(self) -> bool:
        """Global average pooling reads a pixel-major input as it is in the pixel-major plans of
        prediction and training (core/executor.py sets ``x_nhwc``); its output is channel-major."""
        return self.layer.family == "globalavgpool"

    def forward(self, k, xs, P, training):
        x = xs[0]
        fam = self.layer.family
        if fam == "globalmaxpool":
            y, arg = k(fam, "forward_train")(x)
            return [y], (x.shape, arg)
        if self.x_nhwc:   # the pixel-major plans (prediction's and training's): x N x H x W x C
            n, h, w, c = x.shape
            return [k(fam, "forward_infer")(x, x_layout="nhwc")], ((n, c, h, w), None)
        return [k(fam, "forward_infer")(x)], (x.shape, None)

    def backward(self, k, dys, ctx, P):
        shape, arg = ctx
        fam = self.layer.family
        if fam == "globalmaxpool":
            return [k(fam, "backward")(dys[0], arg, shape[2], shape[3])], {}
        if self.x_nhwc:
            return [k(fam, "backward")(dys[0], shape[2], shape[3], x_layout="nhwc")], {}
        return [k(fam, "backward")(dys[0], shape[2], shape[3])], {}


class FullyConnectedOp(Op):
    """Column-major weights (MATLAB's) are permuted once so that the kernel reads the
    row-major (C, H, W) flatten of the internal activation and still gives MATLAB's numbers;
    row-major weights (Wolfram's) are read as they are."""

    learnable_names = ("Weights", "Bias")

    @property
    def reads_pixel_major(self):
        """Images (no time): the CPU's pixel-major plans may give it its input N x H x W x C as it
        is (``x_nhwc``), read through the weights' columns in (h, w, c) order (_weights_for)."""
        size = self.in_sizes[0]
        return not size.is_sequence and len(size.spatial) == 2

    # whether training reads a pixel-major input too (prediction always may: the weights' copy is
    # kept). Off: on the seed CNN at batch 32 the pixel-major BN and the weights' copies cost what
    # the transposes saved (1.02 of the CPU time; 0.92 at 128), and a cold start would compile the
    # pixel-major BN kernels instead (docs/performance.md, session 15)
    TRAIN_PIXEL_MAJOR = False

    def takes_pixel_major(self, x=None) -> bool:
        """In training (TRAIN_PIXEL_MAJOR), whether this pass's pixel-major input x is read as it
        is: the weights go to (h, w, c) order and dW back on each pass (3 F x K copies), so where
        they cost less than the two transposes of x they save (2 N x K): F <= 2N / 3 (a
        classifier's last layer). Without x: whether the training plan may count on it."""
        return self.TRAIN_PIXEL_MAJOR and (x is None or 3 * self.out_sizes[0].channels <= 2 * x.shape[0])

    def _weights_for(self, P, x, keep=False):
        """P's weights for this pass's x: as they are, or for a pixel-major x (``x_nhwc``, N x H x W
        x C) their columns in (h, w, c) order, kept while the weights hold the same values
        (``keep``: prediction)."""
        W = P["Weights"]
        if not self.x_nhwc:
            return W
        h, w, c = x.shape[1:]

        def make():
            return np.ascontiguousarray(W.reshape(W.shape[0], c, h, w).transpose(0, 2, 3, 1).reshape(W.shape[0], -1))
        return _kept(self, "_pm_cache", x.shape[1:], (W,), make) if keep else make()

    def _dw_in_order(self, dw, x):
        """dW of a pixel-major x's columns back in the weights' (c, h, w) order."""
        if not self.x_nhwc:
            return dw
        h, w, c = x.shape[1:]
        return np.ascontiguousarray(dw.reshape(dw.shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(dw.shape[0], -1))

    def prepare(self):
        w = cv.fc_weights_row_major(_get(self.layer, "Weights"), self.layer.input_order, self.in_sizes[0].dims)
        return {"Weights": np.array(w, dtype=self.dtype, order="C"),
                "Bias": np.array(_get(self.layer, "Bias"), dtype=self.dtype, order="C")}

    def forward(self, k, xs, P, training):
        x = xs[0]
        if self.in_sizes[0].is_sequence:   # N x C x T: the same product at every step (Z_t = W X_t + b)
            n, c, t = x.shape
            y = k("fc", "forward_infer")(x.transpose(0, 2, 1).reshape(n * t, c), P["Weights"], P["Bias"])
            return [np.ascontiguousarray(y.reshape(n, t, -1).transpose(0, 2, 1))], x
        x2 = x.reshape(x.shape[0], -1)
        y = k("fc", "forward_infer")(x2, self._weights_for(P, x, keep=not training), P["Bias"])
        if x.ndim == 4:
            y = y.reshape(y.shape[0], y.shape[1], 1, 1)
        return [y], x

    def forward_fused(self, k, x, P, bn=None, relu=False, pool=None, ceiling=np.inf):
        """Prediction of the layer and a following ReLU (clipped at ``ceiling``) in one pass (the
        executor's fc -> relu chain; never a sequence input, never bn or pool)."""
        return self._fused(k, x, self._weights_for(P, x, keep=True), P, relu, ceiling)

    def _fused(self, k, x, W, P, relu, ceiling):
        y = k("fc", "forward_infer")(x.reshape(x.shape[0], -1), W, P["Bias"], relu=relu, ceiling=ceiling)
        return y.reshape(y.shape[0], y.shape[1], 1, 1) if x.ndim == 4 else y

    @staticmethod
    def forward_chain(k, x, layers, softmax=False):
        """Prediction of fully connected layers one after another, each (with its fused ReLU) the
        only reader of the one before (the executor's prediction program; never a sequence input):
        ``layers`` [(P, relu, ceiling)]; one kernel call for the chain (kernels/cpu/dense.py
        ``_chain_forward``); the last layer's y, shaped as forward gives it; with ``softmax`` (the
        'cpu' kernels only) a following softmaxLayer's output, computed in the same call."""
        kw = {"softmax": True} if softmax else {}
        y = k("fc", "forward_infer")(x.reshape(x.shape[0], -1), [P["Weights"] for P, _, _ in layers],
                                     [P["Bias"] for P, _, _ in layers], relu=[r for _, r, _ in layers],
                                     ceiling=[c for _, _, c in layers], **kw)
        return y.reshape(y.shape[0], y.shape[1], 1, 1) if x.ndim == 4 else y

    def forward_train_fused(self, k, x, P, pool=None, ceiling=np.inf):
        """Training forward of the layer and a following ReLU (clipped at ``ceiling``) in one
        pass (the executor's training fusion; never a sequence input, never a pooling): (y, ctx);
        backward then takes the gradient at the ReLU's output and applies its mask."""
        y = self._fused(k, x, self._weights_for(P, x), P, True, ceiling)
        return y, (x, relu_context(y, ceiling))

    def backward(self, k, dys, ctx, P):
        fused = {}
        if isinstance(ctx, tuple):   # forward_train_fused: dys[0] is at the ReLU's output
            ctx, fused = ctx
            fused = {key: (v.reshape(v.shape[0], -1) if key == "relu_out" else v) for key, v in fused.items()}
        x = ctx
        if self.in_sizes[0].is_sequence:
            n, c, t = x.shape
            dy = dys[0].transpose(0, 2, 1).reshape(n * t, -1)
            dx, dw, db = k("fc", "backward")(dy, x.transpose(0, 2, 1).reshape(n * t, c), P["Weights"])
            return [np.ascontiguousarray(dx.reshape(n, t, c).transpose(0, 2, 1))], {"Weights": dw, "Bias": db}
        dy = dys[0].reshape(dys[0].shape[0], -1)
        W = self._weights_for(P, x)
        if self.need_dx is not None and not self.need_dx[0]:   # on the network input: no dy W
            _, dw, db = k("fc", "backward")(dy, x.reshape(x.shape[0], -1), W, need_dx=False, **fused)
            return [None], {"Weights": self._dw_in_order(dw, x), "Bias": db}
        dx, dw, db = k("fc", "backward")(dy, x.reshape(x.shape[0], -1), W, **fused)
        return [dx.reshape(x.shape)], {"Weights": self._dw_in_order(dw, x), "Bias": db}

    def stored(self, name, value):
        if name == "Weights":   # back in the layer's own order
            return cv.fc_weights_in_order(value, self.layer.input_order, self.in_sizes[0].dims)
        return super().stored(name, value)


class DropoutOp(Op):
    rng = None  # set by the executor: a numpy Generator

    def forward(self, k, xs, P, training):
        p = self.layer.Probability
        if not training or p == 0 or self.predicting:
            return [xs[0]], None
        y, mask = k("dropout", "forward_train")(xs[0], p, self.rng)
        return [y], mask

    def backward(self, k, dys, ctx, P):
        if ctx is None:
            return [dys[0]], {}
        return [k("dropout", "backward")(dys[0], ctx, self.layer.Probability)], {}


class AdditionOp(Op):
    def forward(self, k, xs, P, training):
        return [k("addition", "forward_infer")(xs)], None

    def forward_train_fused(self, k, xs, P, pool=None, ceiling=np.inf):
        """Training forward with the following ReLU (a clipped one: ``ceiling``) in the same pass:
        (relu(sum of xs), ctx); backward then takes the gradient at the ReLU's output and applies
        its mask as it copies it to the inputs (the executor's fusion, 'cpu' kernels)."""
        y = k("addition", "forward_infer")(xs, relu=True, ceiling=ceiling)
        return y, relu_context(y, ceiling)

    def backward(self, k, dys, ctx, P):
        """Every input's gradient is dy (with a fused ReLU: dy where its output counts), one
        array handed to all of them, as torch's autograd does: no backward writes into a
        gradient it is given (a convolution's dx_add is read into its own dx), so k copies
        were k - 1 passes of memory for nothing (a ResNet block's end; docs/performance.md,
        h_res6). A plain addition hands on dy itself where it is already a C-contiguous
        array of the executor's dtype, as the kernel's copy would be."""
        n = int(self.layer.NumInputs)
        dy = dys[0]
        if isinstance(ctx, dict):   # the fused ReLU's mask: one masked copy
            dx = k("addition", "backward")(dy, 1, **ctx)[0]
        elif type(dy) is np.ndarray and dy.dtype == self.dtype and dy.flags.c_contiguous:
            dx = dy
        else:
            dx = k("addition", "backward")(dy, 1)[0]
        return [dx] * n, {}


class ConcatOp(Op):
    """concatenationLayer(dim) and depthConcatenationLayer; MATLAB's dims H=1, W=2, C=3
    (C=1 for feature data) map to the internal axes 2, 3, 1."""

    def _axis(self):
        dim = getattr(self.layer, "Dim", None)
        if dim is None or not self.in_sizes[0].is_image:
            return 1
        return {1: 2, 2: 3, 3: 1}[dim]

    def forward(self, k, xs, P, training):
        axis = self._axis()
        return [k("concatenation", "forward_infer")(xs, axis)], [x.shape[axis] for x in xs]

    def backward(self, k, dys, ctx, P):
        return list(k("concatenation", "backward")(dys[0], ctx, self._axis())), {}


class FlattenOp(Op):
    """MATLAB's column-major flatten (H fastest) of H x W x C."""

    def forward(self, k, xs, P, training):
        x = xs[0]
        if x.ndim == 2:
            return [x], None
        return [k("flatten", "forward_infer")(x, True)], x.shape

    def backward(self, k, dys, ctx, P):
        if ctx is None:
            return [dys[0]], {}
        _, c, h, w = ctx
        return [k("flatten", "backward")(dys[0], c, h, w, True)], {}


class OutputOp(Op):
    """Output layers pass their input through; the loss lives in the trainer."""

    def forward(self, k, xs, P, training):
        return [xs[0]], None

    def backward(self, k, dys, ctx, P):
        return [dys[0]], {}


OPS = {
    "input": InputOp, "conv": ConvOp, "transposed_conv": TransposedConvOp, "batchnorm": BatchNormOp,
    "layernorm": LayerNormOp, "softmax": ActivationOp, "maxpool": PoolOp, "avgpool": PoolOp,
    "globalavgpool": GlobalPoolOp, "globalmaxpool": GlobalPoolOp, "fc": FullyConnectedOp,
    "dropout": DropoutOp, "addition": AdditionOp, "concatenation": ConcatOp, "flatten": FlattenOp,
    "crossentropyex": OutputOp, "mse": OutputOp,
}

OPS.update(EXTRA_OPS)   # the ONNX importer's layers: multiplication, scaling, resize
OPS.update(ARRAY_OPS)   # the array layers (elementwise functions, threading, reshape), sum pooling, group norm
OPS.update(OPS_CUSTOM)  # custom layers: the user's code (layers/custom.py)
OPS.update(RECURRENT_OPS)   # lstmLayer, bilstmLayer
OPS.update(SEQUENCE_OPS)    # Wolfram's SequenceLast/Most/Rest/ReverseLayer, NetMapOperator's fold/unfold
OPS.update(EMBEDDING_OPS)   # Wolfram's EmbeddingLayer
OPS.update(FOLDING_OPS)     # sequenceFoldingLayer, sequenceUnfoldingLayer


def make_op(layer, in_sizes, out_sizes, dtype) -> Op:
    # the activations: every registry row with scalar math, also one registered at run time
    cls = OPS.get(layer.family) or (ActivationOp if layer.family in ELEMENTWISE else None)
    if cls is None:
        raise LayerGraphError(f"Layer '{layer.Name}' ({layer.Type}) has no kernels yet.")
    if getattr(layer, "per_step", False) and in_sizes and in_sizes[0].is_sequence and in_sizes[0].is_image:
        # an image sequence: the layer's op on the images of every step at once (core/ops_folding.py)
        steps = cls(layer, [s.without_time() for s in in_sizes], [s.without_time() for s in out_sizes], dtype)
        return FoldedStepsOp(steps, in_sizes, out_sizes)
    return cls(layer, in_sizes, out_sizes, dtype)
