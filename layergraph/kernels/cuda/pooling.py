"""2-D max and average pooling on the GPU (MATLAB maxPooling2dLayer / averagePooling2dLayer,
Wolfram PoolingLayer with "Max" / "Mean").

x is N x C x H x W. Pool size (ph, pw), stride (sh, sw), padding top/bottom/left/right
(pt, pb, pl, pr); output size floor((H + pt + pb - ph) / sh) + 1 (likewise for W).
count_include_pad=True averages padding as zeros (MATLAB PaddingValue 0); False divides by
the number of real cells in the window (MATLAB PaddingValue 'mean').
"""
from __future__ import annotations

import numpy as np

from ._runtime import Args, flat, launch


def _geometry(name, shape, ph, pw, sh, sw, pt, pb, pl, pr):
    if len(shape) != 4:
        raise ValueError(f"{name}: expected N x C x H x W data, got shape {tuple(shape)}.")
    ph, pw, sh, sw, pt, pb, pl, pr = (int(v) for v in (ph, pw, sh, sw, pt, pb, pl, pr))
    if min(ph, pw, sh, sw) < 1:
        raise ValueError(f"{name}: pool size and stride must be positive, got pool size "
                         f"({ph}, {pw}) and stride ({sh}, {sw}).")
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"{name}: padding must be non-negative, got ({pt}, {pb}, {pl}, {pr}).")
    n, c, h, w = (int(v) for v in shape)
    if h + pt + pb < ph or w + pl + pr < pw:
        raise ValueError(f"{name}: pool size ({ph}, {pw}) exceeds the padded input "
                         f"({h + pt + pb}, {w + pl + pr}).")
    oh = (h + pt + pb - ph) // sh + 1
    ow = (w + pl + pr - pw) // sw + 1
    return n, c, h, w, oh, ow, ph, pw, sh, sw, pt, pl


def _kernels(args, name):
    from . import _pool_kernels
    return _pool_kernels.kernels(args.float_dtype(name).name)


def _maxpool(name, x, geometry, want_argmax):
    args = Args(x)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    n, c, h, w, oh, ow, ph, pw, sh, sw, pt, pl = _geometry(name, xd.shape, *geometry)
    total = n * c * oh * ow
    y = args.empty((total,))
    argmax = args.empty((total if want_argmax else 1,), np.int64)
    launch(k["maxpool_forward"], total, flat(xd), h, w, oh, ow, ph, pw, sh, sw, pt, pl, y, argmax, want_argmax)
    shape = (n, c, oh, ow)
    return args.result(y, shape), (args.result(argmax, shape) if want_argmax else None)


def maxpool_forward_train(x, ph, pw, sh, sw, pt, pb, pl, pr):
    """Returns (y, argmax): argmax is int64, the flat index h * W + w of each window's
    maximum in its input plane (-1 for a window that holds only padding)."""
    return _maxpool("maxpool_forward_train", x, (ph, pw, sh, sw, pt, pb, pl, pr), True)


def maxpool_forward_infer(x, ph, pw, sh, sw, pt, pb, pl, pr):
    return _maxpool("maxpool_forward_infer", x, (ph, pw, sh, sw, pt, pb, pl, pr), False)[0]


def maxpool_backward(dy, argmax, H, W):
    """dx (N x C x H x W): each dy lands on its window's argmax; overlapping windows add.

    The adds are atomic, so in float32 the order, and the last bit, can vary between runs
    where windows overlap.
    """
    name = "maxpool_backward"
    args = Args(dy, argmax)
    k = _kernels(args, name)
    dyd = args.device(dy, "dy")
    if len(dyd.shape) != 4:
        raise ValueError(f"{name}: expected N x C x OH x OW gradients, got shape {tuple(dyd.shape)}.")
    amd = args.device(argmax, "argmax", dtype=np.int64, shape=dyd.shape)
    n, c, oh, ow = (int(v) for v in dyd.shape)
    H, W = int(H), int(W)
    dx = args.empty((n * c * H * W,))
    from . import _dense_kernels
    launch(_dense_kernels.kernels(args.dtype.name)["fill"], dx.size, dx, args.dtype.type(0))
    launch(k["maxpool_backward"], dyd.size, flat(dyd), flat(amd), oh * ow, H * W, dx)
    return args.result(dx, (n, c, H, W))


def avgpool_forward(x, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad=True):
    name = "avgpool_forward"
    args = Args(x)
    k = _kernels(args, name)
    xd = args.device(x, "x")
    n, c, h, w, oh, ow, ph, pw, sh, sw, pt, pl = _geometry(name, xd.shape, ph, pw, sh, sw,
                                                           pt, pb, pl, pr)
    total = n * c * oh * ow
    y = args.empty((total,))
    launch(k["avgpool_forward"], total, flat(xd), h, w, oh, ow, ph, pw, sh, sw, pt, pl,
           bool(count_include_pad), y)
    return args.result(y, (n, c, oh, ow))


def avgpool_backward(dy, H, W, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad=True):
    name = "avgpool_backward"
    args = Args(dy)
    k = _kernels(args, name)
    dyd = args.device(dy, "dy")
    if len(dyd.shape) != 4:
        raise ValueError(f"{name}: expected N x C x OH x OW gradients, got shape {tuple(dyd.shape)}.")
    n, c = int(dyd.shape[0]), int(dyd.shape[1])
    _, _, h, w, oh, ow, ph, pw, sh, sw, pt, pl = _geometry(name, (n, c, H, W), ph, pw, sh, sw,
                                                           pt, pb, pl, pr)
    if (oh, ow) != tuple(dyd.shape[2:]):
        raise ValueError(f"{name}: dy is {tuple(dyd.shape)}, but a {h} x {w} input with this "
                         f"pool size, stride and padding gives {oh} x {ow} outputs.")
    dx = args.empty((n * c * h * w,))
    launch(k["avgpool_backward"], dx.size, flat(dyd), h, w, oh, ow, ph, pw, sh, sw, pt, pl,
           bool(count_include_pad), dx)
    return args.result(dx, (n, c, h, w))
