"""2-D convolution and transposed convolution (MATLAB convolution2dLayer,
groupedConvolution2dLayer, transposedConv2dLayer), as im2col / col2im numba kernels plus
numpy BLAS matrix products.

Convolution: x N x C x H x W; w F x C/G x FH x FW (groups outermost in F); b (F,) or None.
Padding [pt pb pl pr]; padding_value is a number (MATLAB PaddingValue scalar) or one of
'symmetric-include-edge', 'symmetric-exclude-edge', 'replicate'.
Output size floor((H + pt + pb - ((FH - 1) * dh + 1)) / sh) + 1.
  conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False) -> y
  conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0)
      -> (dx, dw, db)

Transposed convolution: x N x C x H x W; w C x F/G x FH x FW (input channels first, as
conventions.py stores it); b (F,) or None. Cropping [ct cb cl cr] is removed from the full
output of size (H - 1) * sh + (FH - 1) * dh + 1 (a negative value adds zero rows/columns
instead, which is how ONNX output_padding maps onto it).
  transposed_conv_forward(x, w, b, sh, sw, dh, dw, ct, cb, cl, cr, groups=1) -> y
  transposed_conv_backward(dy, x, w, sh, sw, dh, dw, ct, cb, cl, cr, groups=1) -> (dx, dw, db)
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from ._util import as_float, like
from .pool import max_planes

PADDING_MODES = ("symmetric-include-edge", "symmetric-exclude-edge", "replicate")


# -- numba kernels -------------------------------------------------------------------------
# The column matrix is 2-D, K x (N*P) with K = C*FH*FW and P = OH*OW, so that each layer
# needs one large BLAS product per group instead of N small ones.
def _im2col(xp, kh, kw, sh, sw, dh, dw, oh, ow, cols):
    """cols[(c*kh + a)*kw + b, n*P + i*ow + j] = xp[n, c, i*sh + a*dh, j*sw + b*dw]."""
    n, c = xp.shape[0], xp.shape[1]
    p = oh * ow
    for q in range(n * c):
        i0 = q // c
        ch = q - i0 * c
        for a in range(kh):
            for b in range(kw):
                dst = cols[(ch * kh + a) * kw + b, i0 * p:(i0 + 1) * p]
                off = b * dw
                for i in range(oh):
                    src = xp[i0, ch, i * sh + a * dh]
                    base = i * ow
                    if sw == 1:  # contiguous copy, vectorizes
                        for j in range(ow):
                            dst[base + j] = src[j + off]
                    else:
                        for j in range(ow):
                            dst[base + j] = src[j * sw + off]


def _col2im(cols, kh, kw, sh, sw, dh, dw, oh, ow, xp):
    """Adjoint of _im2col: xp (zeroed by the caller) += scattered cols."""
    n, c = xp.shape[0], xp.shape[1]
    p = oh * ow
    for q in range(n * c):
        i0 = q // c
        ch = q - i0 * c
        for a in range(kh):
            for b in range(kw):
                src = cols[(ch * kh + a) * kw + b, i0 * p:(i0 + 1) * p]
                off = b * dw
                for i in range(oh):
                    dst = xp[i0, ch, i * sh + a * dh]
                    base = i * ow
                    if sw == 1:
                        for j in range(ow):
                            dst[j + off] += src[base + j]
                    else:
                        for j in range(ow):
                            dst[j * sw + off] += src[base + j]


# Serial on purpose: these run between OpenBLAS calls, and on a small machine numba's
# OpenMP threads and OpenBLAS's spinning threads slow each other down. Measured on the
# 2-core benchmark machine: serial im2col/col2im made conv forward+backward about 1.5x faster
# than the prange versions (docs/performance.md).
_im2col = njit(cache=True)(_im2col)
_col2im = njit(cache=True)(_col2im)


@njit(cache=True, nogil=True)
def _im2col_batch(x, kh, kw, sh, sw, dh, dw, pt, pl, pv, oh, ow, cols):
    """cols[n, (c*kh + a)*kw + b, i*ow + j] = x[n, c, i*sh + a*dh - pt, j*sw + b*dw - pl],
    or the constant pv outside x: padding is applied on the fly, no padded copy."""
    n, c, h, w = x.shape
    for i0 in range(n):
        for ch in range(c):
            for a in range(kh):
                for b in range(kw):
                    row = (ch * kh + a) * kw + b
                    for i in range(oh):
                        hi = i * sh + a * dh - pt
                        base = i * ow
                        if hi < 0 or hi >= h:
                            for j in range(ow):
                                cols[i0, row, base + j] = pv
                            continue
                        for j in range(ow):
                            wi = j * sw + b * dw - pl
                            cols[i0, row, base + j] = x[i0, ch, hi, wi] if 0 <= wi < w else pv


@njit(cache=True, nogil=True)
def _bias_act(y, b, relu):
    """y (n x F x P) += b per filter, then max(y, 0) when relu (a fused epilogue).
    Row views keep the inner loop free of index arithmetic, so it vectorizes."""
    n, f, p = y.shape
    for i in range(n):
        for k in range(f):
            row = y[i, k]
            bk = b[k]
            if relu:
                for j in range(p):
                    row[j] = max(row[j] + bk, 0.0)
            else:
                for j in range(p):
                    row[j] = row[j] + bk


# -- padding ----------------------------------------------------------------------------------
def _pad_index(n, before, after, mode):
    """Source index along one axis for each padded position; -1 where a constant goes."""
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "symmetric-include-edge":  # ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} ...
        m = np.mod(i, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    if mode == "symmetric-exclude-edge":  # ... x2 x1 | x0 x1 ... x_{n-1} | x_{n-2} ...
        if n == 1:
            return np.zeros_like(i)
        m = np.mod(i, 2 * n - 2)
        return np.where(m >= n, 2 * n - 2 - m, m)
    return np.where((i >= 0) & (i < n), i, -1)


def _check_padding_value(pv):
    if isinstance(pv, str):
        if pv not in PADDING_MODES:
            raise ValueError(f"padding_value must be a number or one of {PADDING_MODES}, got {pv!r}.")
        return pv
    return float(pv)


def _pad(x, pt, pb, pl, pr, pv):
    if pt == pb == pl == pr == 0:
        return x
    if not isinstance(pv, str):
        return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pv)
    h, w = x.shape[2], x.shape[3]
    return np.ascontiguousarray(x[:, :, _pad_index(h, pt, pb, pv)][:, :, :, _pad_index(w, pl, pr, pv)])


def _onehot(n, before, after, mode):
    idx = _pad_index(n, before, after, mode)
    m = np.zeros((idx.size, n))
    ok = idx >= 0
    m[np.nonzero(ok)[0], idx[ok]] = 1.0
    return m


def _unpad(dxp, h, w, pt, pb, pl, pr, pv):
    """Adjoint of _pad (the constant contributes no gradient)."""
    if pt == pb == pl == pr == 0:
        return dxp
    if not isinstance(pv, str):
        return np.ascontiguousarray(dxp[:, :, pt:pt + h, pl:pl + w])
    rows = _onehot(h, pt, pb, pv).astype(dxp.dtype)
    cols = _onehot(w, pl, pr, pv).astype(dxp.dtype)
    return np.ascontiguousarray(rows.T @ dxp @ cols)


def _crop(full, ct, cb, cl, cr):
    """full[:, :, ct:H-cb, cl:W-cr]; a negative crop adds zeros on that side."""
    if min(ct, cb, cl, cr) < 0:
        full = np.pad(full, ((0, 0), (0, 0), (max(-ct, 0), max(-cb, 0)), (max(-cl, 0), max(-cr, 0))))
        ct, cb, cl, cr = max(ct, 0), max(cb, 0), max(cl, 0), max(cr, 0)
    h, w = full.shape[2], full.shape[3]
    return np.ascontiguousarray(full[:, :, ct:h - cb, cl:w - cr])


def _uncrop(dy, ct, cb, cl, cr):
    """Adjoint of _crop."""
    dy = np.pad(dy, ((0, 0), (0, 0), (max(ct, 0), max(cb, 0)), (max(cl, 0), max(cr, 0))))
    h, w = dy.shape[2], dy.shape[3]
    t, b, l, r = max(-ct, 0), max(-cb, 0), max(-cl, 0), max(-cr, 0)
    return np.ascontiguousarray(dy[:, :, t:h - b, l:w - r])


# -- shared argument handling -------------------------------------------------------------
def _ints(name, **kw):
    out = {k: int(v) for k, v in kw.items()}
    for k in ("sh", "sw", "dh", "dw", "groups"):
        if k in out and out[k] < 1:
            raise ValueError(f"{name}: {k} must be >= 1, got {out[k]}.")
    return out


def _conv_geometry(x, w, p, name):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{name}: expected x N x C x H x W and w F x C/G x FH x FW, got {x.shape} and {w.shape}.")
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    g = p["groups"]
    if c != cg * g or f % g:
        raise ValueError(f"{name}: {c} input channels and weights {w.shape} do not fit {g} group(s).")
    for k in ("pt", "pb", "pl", "pr"):
        if p[k] < 0:
            raise ValueError(f"{name}: padding must be >= 0, got {k}={p[k]}.")
    hp, wp = h + p["pt"] + p["pb"], wd + p["pl"] + p["pr"]
    ekh, ekw = (kh - 1) * p["dh"] + 1, (kw - 1) * p["dw"] + 1
    oh, ow = (hp - ekh) // p["sh"] + 1, (wp - ekw) // p["sw"] + 1
    if hp < ekh or wp < ekw:
        raise ValueError(f"{name}: the dilated filter {ekh}x{ekw} exceeds the padded input {hp}x{wp}.")
    return n, c, h, wd, f, cg, kh, kw, oh, ow


# The column matrix is large (FH*FW times the input) and lives only inside one call. A fresh
# allocation each call costs page faults comparable to the im2col itself, so each thread
# keeps one grow-only scratch buffer per dtype. Results never alias it.
_scratch = threading.local()


def _workspace(shape, dtype, slot="cols"):
    size = int(np.prod(shape))
    key = slot + np.dtype(dtype).char
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        setattr(_scratch, key, buf)
    return buf[:size].reshape(shape)


# Prediction splits the batch over threads, each doing im2col and a single-threaded BLAS
# product for a few observations at a time (_SUB; the columns stay in cache). One pool of
# threads does all the work: OpenBLAS's own threads are held at 1 meanwhile, because on a
# small machine its spinning threads and ours slow each other down.
_SUB = 4
_pool = None


def _threads() -> int:
    import numba
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _batch_parallel(work, n):
    global _pool
    t = min(_threads(), n)
    if t <= 1:
        work(0, n)
        return
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(_threads(), thread_name_prefix="layergraph-conv")
    bounds = np.linspace(0, n, t + 1).astype(int)
    with _blas_threads(1):
        futures = [_pool.submit(work, int(a), int(z)) for a, z in zip(bounds[:-1], bounds[1:])]
        for fut in futures:
            fut.result()


class _blas_threads:
    """Temporarily set the BLAS thread count (threadpoolctl's handle, found once)."""

    _lib = False

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        if _blas_threads._lib is False:
            try:
                from threadpoolctl import ThreadpoolController
                libs = ThreadpoolController().select(user_api="blas").lib_controllers
                _blas_threads._lib = libs[0] if libs else None
            except Exception:  # no threadpoolctl or an unknown BLAS: leave it alone
                _blas_threads._lib = None
        lib = _blas_threads._lib
        self.old = lib.num_threads if lib is not None else None
        if lib is not None:
            lib.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            _blas_threads._lib.set_num_threads(self.old)


def _cols(xp, kh, kw, p, oh, ow):
    n, c = xp.shape[:2]
    cols = _workspace((c * kh * kw, n * oh * ow), xp.dtype)
    _im2col(xp, kh, kw, p["sh"], p["sw"], p["dh"], p["dw"], oh, ow, cols)
    return cols


def _to_channel_major(a, slot):
    """N x C x ... -> C x (N*...) in a scratch buffer."""
    n, c = a.shape[:2]
    out = _workspace((c, n, a[0, 0].size), a.dtype, slot)
    out[...] = a.reshape(n, c, -1).transpose(1, 0, 2)
    return out.reshape(c, -1)


def _from_channel_major(a2, n, b=None):
    """C x (N*P) -> N x C x P (new array), adding a per-channel bias on the way."""
    c = a2.shape[0]
    src = a2.reshape(c, n, -1).transpose(1, 0, 2)
    out = np.empty((n, c, src.shape[2]), a2.dtype)
    if b is None:
        out[...] = src
    else:
        np.add(src, b[None, :, None], out=out)
    return out


# -- convolution -------------------------------------------------------------------------------
def conv_forward(x, w, b, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0, relu=False, pool=None):
    """``relu=True`` applies max(y, 0) in the same pass, and ``pool=(ph, pw, sh, sw, pt,
    pb, pl, pr)`` max-pools the result while it is still in cache: the executor fuses a
    following ReLU and max pooling this way at prediction time."""
    x = as_float(x)
    w = like(w, x, "w")
    p = _ints("conv_forward", sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, groups=groups)
    pv = _check_padding_value(padding_value)
    n, c, h, wd, f, cg, kh, kw, oh, ow = _conv_geometry(x, w, p, "conv_forward")
    if isinstance(pv, str):  # mirrored or replicated borders: pad first, then no padding
        x = _pad(x, p["pt"], p["pb"], p["pl"], p["pr"], pv)
        p = dict(p, pt=0, pb=0, pl=0, pr=0)
        pv = 0.0
    g = p["groups"]
    fg, kg = f // g, cg * kh * kw
    w2 = w.reshape(f, kg)
    bias = np.zeros(f, x.dtype) if b is None else like(b, x, "b", (f,))
    if pool is not None:
        qh, qw, qsh, qsw, qt, qb, ql, qr = (int(v) for v in pool)
        poh, pow_ = (oh + qt + qb - qh) // qsh + 1, (ow + ql + qr - qw) // qsw + 1
        if min(qh, qw, qsh, qsw) < 1 or min(qt, qb, ql, qr) < 0 or poh < 1 or pow_ < 1:
            raise ValueError(f"conv_forward: pool {tuple(pool)} does not fit the {oh}x{ow} output.")
        out = np.empty((n, f, poh, pow_), x.dtype)
        y = None
    else:
        y = out = np.empty((n, f, oh * ow), x.dtype)

    def work(lo, hi):
        cols = _workspace((_SUB, c * kh * kw, oh * ow), x.dtype)
        ybuf = None if pool is None else _workspace((_SUB, f, oh * ow), x.dtype, "pre-pool")
        for s0 in range(lo, hi, _SUB):
            s1 = min(s0 + _SUB, hi)
            cc = cols[:s1 - s0]
            yc = y[s0:s1] if pool is None else ybuf[:s1 - s0]
            _im2col_batch(x[s0:s1], kh, kw, p["sh"], p["sw"], p["dh"], p["dw"], p["pt"], p["pl"], pv, oh, ow, cc)
            for gi in range(g):
                np.matmul(w2[gi * fg:(gi + 1) * fg], cc[:, gi * kg:(gi + 1) * kg], out=yc[:, gi * fg:(gi + 1) * fg])
            _bias_act(yc, bias, bool(relu))
            if pool is not None:
                max_planes(yc.reshape(-1, oh, ow), qh, qw, qsh, qsw, qt, ql, out[s0:s1].reshape(-1, poh, pow_))

    _batch_parallel(work, n)
    return out if pool is not None else out.reshape(n, f, oh, ow)


def conv_backward(dy, x, w, sh, sw, dh, dw, pt, pb, pl, pr, groups=1, padding_value=0.0):
    x = as_float(x)
    w = like(w, x, "w")
    p = _ints("conv_backward", sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, groups=groups)
    pv = _check_padding_value(padding_value)
    n, c, h, wd, f, cg, kh, kw, oh, ow = _conv_geometry(x, w, p, "conv_backward")
    dy = like(dy, x, "dy", (n, f, oh, ow))
    xp = _pad(x, p["pt"], p["pb"], p["pl"], p["pr"], pv)
    cols = _cols(xp, kh, kw, p, oh, ow)
    g = p["groups"]
    fg, kg = f // g, cg * kh * kw
    w2 = w.reshape(f, kg)
    dy2 = _to_channel_major(dy, "aux")
    dw2 = np.empty((f, kg), x.dtype)
    for gi in range(g):
        fs, ks = slice(gi * fg, (gi + 1) * fg), slice(gi * kg, (gi + 1) * kg)
        np.matmul(dy2[fs], cols[ks].T, out=dw2[fs])
        # this group's columns are spent: their gradient overwrites them
        np.matmul(w2[fs].T, dy2[fs], out=cols[ks])
    dxp = np.zeros(xp.shape, x.dtype)
    _col2im(cols, kh, kw, p["sh"], p["sw"], p["dh"], p["dw"], oh, ow, dxp)
    dx = _unpad(dxp, h, wd, p["pt"], p["pb"], p["pl"], p["pr"], pv)
    db = dy2.sum(axis=1, dtype=np.float64).astype(x.dtype)
    return dx, dw2.reshape(w.shape), db


# -- transposed convolution ---------------------------------------------------------------------
def _tconv_geometry(x, w, p, name):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{name}: expected x N x C x H x W and w C x F/G x FH x FW, got {x.shape} and {w.shape}.")
    n, c, h, wd = x.shape
    cw, fg, kh, kw = w.shape
    g = p["groups"]
    if c != cw or c % g:
        raise ValueError(f"{name}: {c} input channels and weights {w.shape} do not fit {g} group(s).")
    hf, wf = (h - 1) * p["sh"] + (kh - 1) * p["dh"] + 1, (wd - 1) * p["sw"] + (kw - 1) * p["dw"] + 1
    oh, ow = hf - p["ct"] - p["cb"], wf - p["cl"] - p["cr"]
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: cropping leaves no output ({oh}x{ow}).")
    return n, c, h, wd, fg * g, fg, kh, kw, hf, wf, oh, ow


def transposed_conv_forward(x, w, b, sh, sw, dh, dw, ct, cb, cl, cr, groups=1):
    x = as_float(x)
    w = like(w, x, "w")
    p = _ints("transposed_conv_forward", sh=sh, sw=sw, dh=dh, dw=dw, ct=ct, cb=cb, cl=cl, cr=cr, groups=groups)
    n, c, h, wd, f, fg, kh, kw, hf, wf, oh, ow = _tconv_geometry(x, w, p, "transposed_conv_forward")
    g = p["groups"]
    cg, kg = c // g, fg * kh * kw
    w2 = w.reshape(c, kg)
    x2 = _to_channel_major(x, "aux")
    cols = _workspace((f * kh * kw, n * h * wd), x.dtype)
    for gi in range(g):
        cs = slice(gi * cg, (gi + 1) * cg)
        np.matmul(w2[cs].T, x2[cs], out=cols[gi * kg:(gi + 1) * kg])
    full = np.zeros((n, f, hf, wf), x.dtype)
    _col2im(cols, kh, kw, p["sh"], p["sw"], p["dh"], p["dw"], h, wd, full)
    y = _crop(full, p["ct"], p["cb"], p["cl"], p["cr"])
    if b is not None:
        y += like(b, x, "b", (f,))[None, :, None, None]
    return y


def transposed_conv_backward(dy, x, w, sh, sw, dh, dw, ct, cb, cl, cr, groups=1):
    x = as_float(x)
    w = like(w, x, "w")
    p = _ints("transposed_conv_backward", sh=sh, sw=sw, dh=dh, dw=dw, ct=ct, cb=cb, cl=cl, cr=cr, groups=groups)
    n, c, h, wd, f, fg, kh, kw, hf, wf, oh, ow = _tconv_geometry(x, w, p, "transposed_conv_backward")
    dy = like(dy, x, "dy", (n, f, oh, ow))
    g = p["groups"]
    cg, kg = c // g, fg * kh * kw
    w2 = w.reshape(c, kg)
    x2 = _to_channel_major(x, "aux")
    cols = _cols(_uncrop(dy, p["ct"], p["cb"], p["cl"], p["cr"]), kh, kw, p, h, wd)
    dx2 = np.empty((c, n * h * wd), x.dtype)
    dw2 = np.empty((c, kg), x.dtype)
    for gi in range(g):
        cs, ks = slice(gi * cg, (gi + 1) * cg), slice(gi * kg, (gi + 1) * kg)
        np.matmul(w2[cs], cols[ks], out=dx2[cs])
        np.matmul(x2[cs], cols[ks].T, out=dw2[cs])
    db = dy.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype)
    return _from_channel_major(dx2, n).reshape(x.shape), dw2.reshape(w.shape), db
