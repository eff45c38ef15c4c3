"""2-D convolution on the GPU (MATLAB convolution2dLayer, groupedConvolution2dLayer; Wolfram
ConvolutionLayer): the CPU set's conv_forward and conv_backward signatures and results.

x N x C x H x W; w F x C/G x FH x FW (groups outermost in F); b (F,) or None. Stride (sh, sw),
dilation (dh, dw), padding [pt pb pl pr]; padding_value a number (MATLAB PaddingValue scalar)
or 'symmetric-include-edge' | 'symmetric-exclude-edge' | 'replicate'. Output size
floor((H + pt + pb - ((FH - 1) * dh + 1)) / sh) + 1, likewise for W.
"""
from __future__ import annotations

import numpy as np

from ..cpu.conv import PADDING_MODES, _check_padding_value, _conv_geometry, _ints
from ._runtime import Args, flat, launch
from .dense import _dot_rows


def _args(name, args, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value):
    """Checked arguments shared by the forward and the backward: (p, padding value, border
    mode code, x and w on the device, geometry)."""
    p = _ints(name, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, groups=groups)
    try:
        pv = _check_padding_value(padding_value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: PaddingValue (padding_value) must be a number or one of "
                         f"{PADDING_MODES}, got {padding_value!r}.") from None
    xd = args.device(x, "x")
    wd = args.device(w, "w")
    geometry = _conv_geometry(xd, wd, p, name)
    mode = 0 if not isinstance(pv, str) else 1 + PADDING_MODES.index(pv)
    return p, args.dtype.type(0.0 if isinstance(pv, str) else pv), mode, xd, wd, geometry


def conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False, pool=None):
    """``relu`` and ``pool`` are the CPU executor's fusion arguments (fusion is CPU-only);
    here they must be left at False / None."""
    name = "conv_forward"
    if relu or pool is not None:
        raise ValueError(f"{name}: the relu= and pool= fusion arguments are CPU-only (the executor "
                         "fuses on 'cpu'); run the ReLU and pooling kernels after the convolution.")
    args = Args(x, w, b)
    dt = args.float_dtype(name)
    p, pv, mode, xd, wd, (n, c, h, wid, f, cg, kh, kw, oh, ow) = _args(
        name, args, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value)
    bd = args.device(b if b is not None else np.zeros(1, dt), "b", shape=(f,) if b is not None else None)
    y = args.empty((n * f * oh * ow,))
    from . import _conv_kernels
    fb, pb_ = _conv_kernels.FB, _conv_kernels.PB
    g = p["groups"]
    work = n * g * -(-(f // g) // fb) * oh * -(-ow // pb_)   # one tile of fb filters x pb columns each
    launch(_conv_kernels.kernels(dt.name)["conv_forward"], work, flat(xd), flat(wd), bd, b is not None,
            c, h, wid, f, oh, ow, kh, kw, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], g, mode, pv, y)
    return args.result(y, (n, f, oh, ow))


def conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, need_dx=True):
    """(dx, dW, db); dx is None when ``need_dx`` is False. dW and db are products over the
    im2col columns (one N*OH*OW-long sum per element, by _dense_kernels.dot_rows: no atomics,
    so the results do not vary between runs); dx is gathered per input element. With the
    mirrored or replicated borders, dx of the padded input is folded back onto the input."""
    name = "conv_backward"
    args = Args(x, dy, w)
    dt = args.float_dtype(name)
    p, pv, mode, xd, wd, (n, c, h, wid, f, cg, kh, kw, oh, ow) = _args(
        name, args, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups, padding_value)
    dyd = flat(args.device(dy, "dy", shape=(n, f, oh, ow)))
    from . import _conv_kernels, _dense_kernels
    ck, dk = _conv_kernels.kernels(dt.name), _dense_kernels.kernels(dt.name)
    g = p["groups"]
    fg, kg, npos = f // g, cg * kh * kw, n * oh * ow
    hp = (p["sh"], p["sw"], p["dh"], p["dw"])
    dyt = args.empty((f * npos,))                          # F x (N*OH*OW)
    launch(ck["swap_leading"], dyt.size, dyd, n, f, oh * ow, dyt)
    cols = args.empty((c * kh * kw * npos,))               # (C*KH*KW) x (N*OH*OW)
    launch(ck["im2col"], cols.size, flat(xd), n, c, h, wid, oh, ow, kh, kw, *hp, p["pt"], p["pl"], mode, pv, cols)
    dW = args.empty((f * kg,))
    for gi in range(g):
        _dot_rows(dk, dyt[gi * fg * npos:(gi + 1) * fg * npos], (npos, 1), cols[gi * kg * npos:(gi + 1) * kg * npos],
                  (npos, 1), npos, fg, kg, None, dW[gi * fg * kg:(gi + 1) * fg * kg])
    ones = args.empty((max(npos, 1),))
    launch(dk["fill"], npos, ones, dt.type(1))
    db = args.empty((f,))
    _dot_rows(dk, ones, (0, 1), dyt, (npos, 1), npos, 1, f, None, db)
    dx = None
    if need_dx:
        dx = args.empty((n * c * h * wid,))
        if mode == 0:
            launch(ck["conv_grad_input"], dx.size, dyd, flat(wd), c, h, wid, f, oh, ow, kh, kw, *hp,
                    p["pt"], p["pl"], g, dx)
        else:  # the padded input's gradient, then each border folded back (rows, then columns)
            hpad, wpad = h + p["pt"] + p["pb"], wid + p["pl"] + p["pr"]
            dxp = args.empty((n * c * hpad * wpad,))
            launch(ck["conv_grad_input"], dxp.size, dyd, flat(wd), c, hpad, wpad, f, oh, ow, kh, kw, *hp,
                    0, 0, g, dxp)
            rows = args.empty((n * c * h * wpad,))
            launch(ck["fold_border"], rows.size, dxp, hpad, wpad, h, p["pt"], mode, rows)
            launch(ck["fold_border"], dx.size, rows, wpad, 1, wid, p["pl"], mode, dx)
        dx = args.result(dx, (n, c, h, wid))
    return dx, args.result(dW, tuple(wd.shape)), args.result(db)
