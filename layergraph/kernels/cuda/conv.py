"""2-D convolution on the GPU (MATLAB convolution2dLayer, groupedConvolution2dLayer; Wolfram
ConvolutionLayer), prediction only: the CPU set's conv_forward signature and results.

x N x C x H x W; w F x C/G x FH x FW (groups outermost in F); b (F,) or None. Stride (sh, sw),
dilation (dh, dw), padding [pt pb pl pr]; padding_value a number (MATLAB PaddingValue scalar)
or 'symmetric-include-edge' | 'symmetric-exclude-edge' | 'replicate'. Output size
floor((H + pt + pb - ((FH - 1) * dh + 1)) / sh) + 1, likewise for W.
"""
from __future__ import annotations

import numpy as np

from ..cpu.conv import PADDING_MODES, _check_padding_value, _conv_geometry, _ints
from . import _runtime
from ._runtime import Args, flat


def conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False, pool=None):
    """``relu`` and ``pool`` are the CPU executor's fusion arguments (fusion is CPU-only);
    here they must be left at False / None."""
    name = "conv_forward"
    if relu or pool is not None:
        raise ValueError(f"{name}: the relu= and pool= fusion arguments are CPU-only (the executor "
                         "fuses on 'cpu'); run the ReLU and pooling kernels after the convolution.")
    args = Args(x, w, b)
    dt = args.float_dtype(name)
    p = _ints(name, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, groups=groups)
    try:
        pv = _check_padding_value(padding_value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: PaddingValue (padding_value) must be a number or one of "
                         f"{PADDING_MODES}, got {padding_value!r}.") from None
    xd = args.device(x, "x")
    wd = args.device(w, "w")
    n, c, h, wid, f, cg, kh, kw, oh, ow = _conv_geometry(xd, wd, p, name)
    bd = args.device(b if b is not None else np.zeros(1, dt), "b", shape=(f,) if b is not None else None)
    mode = 0 if not isinstance(pv, str) else 1 + PADDING_MODES.index(pv)
    total = n * f * oh * ow
    y = args.empty((total,))
    if total:
        from . import _conv_kernels
        kernel = _conv_kernels.kernels(dt.name)["conv_forward"]
        g = p["groups"]
        fb, pb = _conv_kernels.FB, _conv_kernels.PB
        work = n * g * -(-(f // g) // fb) * oh * -(-ow // pb)   # one tile of fb filters x pb columns each
        blocks, threads = _runtime.elementwise_config(work)
        kernel[blocks, threads](flat(xd), flat(wd), bd, b is not None, c, h, wid, f, oh, ow, kh, kw,
                                p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], p["groups"],
                                mode, dt.type(0.0 if isinstance(pv, str) else pv), y)
    return args.result(y, (n, f, oh, ow))
