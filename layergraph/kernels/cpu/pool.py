"""Pooling (MATLAB maxPooling2dLayer, averagePooling2dLayer, globalAveragePooling2dLayer,
globalMaxPooling2dLayer). x is N x C x H x W; pool ph x pw, stride sh x sw, padding
pt, pb, pl, pr. Output size floor((H + pt + pb - ph) / sh) + 1 (likewise for W).

  maxpool_forward_train(x, ph, pw, sh, sw, pt, pb, pl, pr) -> (y, argmax)
      argmax: int64 flat index h * W + w into the input's H x W plane. Padding never
      wins; a window lying wholly in the padding gives -inf and argmax -1.
  maxpool_forward_infer(x, ph, pw, sh, sw, pt, pb, pl, pr) -> y
  maxpool_backward(dy, argmax, H, W) -> dx
  avgpool_forward(x, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad) -> y
  avgpool_backward(dy, H, W, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad) -> dx
      count_include_pad=True: padding counts as zeros in the mean (MATLAB PaddingValue 0);
      False: the mean is over the window's elements inside the input ('mean').
  globalavgpool_forward(x, x_layout='nchw') -> y (N x C x 1 x 1; x N x H x W x C with 'nhwc');
  globalavgpool_backward(dy, H, W, x_layout='nchw') -> dx (N x H x W x C with 'nhwc')
  globalmaxpool_forward_train(x) -> (y, argmax);  globalmaxpool_forward_infer(x) -> y
  globalmaxpool_backward(dy, argmax, H, W) -> dx
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import as_float, out_empty


def _out(h, w, ph, pw, sh, sw, pt, pb, pl, pr, name):
    if min(ph, pw, sh, sw) < 1 or min(pt, pb, pl, pr) < 0:
        raise ValueError(f"{name}: pool size and stride must be >= 1 and padding >= 0.")
    oh = (h + pt + pb - ph) // sh + 1
    ow = (w + pl + pr - pw) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: pool size {ph}x{pw} exceeds the padded input {h + pt + pb}x{w + pl + pr}.")
    return oh, ow


def _prep(x, name, hp, alloc=out_empty):
    """(x3 = x as N*C planes, y = a new N x C x OH x OW array, the pooling's 8 ints)."""
    x = as_float(x)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected N x C x H x W data, got shape {x.shape}.")
    hp = tuple(int(v) for v in hp)
    n, c, h, w = x.shape
    oh, ow = _out(h, w, *hp, name)
    return x.reshape(n * c, h, w), alloc((n, c, oh, ow), x.dtype), hp


def _planes(a):
    """N x C x H x W -> (N*C) x H x W (a view)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2], a.shape[3])


@njit(inline="always")
def _span(i, stride, pad, size, n):
    """The input rows [lo, hi) that window i covers (padding excluded)."""
    start = i * stride - pad
    return max(start, 0), min(start + size, n)


@njit(inline="always")
def _is_2x2(ph, pw, sh, sw, pt, pl, src, dst):
    """A 2 x 2 pool with stride 2 and no top / left padding whose windows all lie inside src:
    the most common pooling, which gets a loop with its constants spelled out."""
    return (ph == 2 and pw == 2 and sh == 2 and sw == 2 and pt == 0 and pl == 0
            and 2 * dst.shape[0] <= src.shape[0] and 2 * dst.shape[1] <= src.shape[1])


@njit(inline="always")
def _avg_count(ph, pw, incl, ha, hb, wa, wb):
    """The divisor of an average: the whole window (padding counted as zeros) or its cells
    inside the input."""
    return ph * pw if incl else (hb - ha) * (wb - wa)


@njit(cache=True, nogil=True)
def _max_plane_arg(src, ph, pw, sh, sw, pt, pl, dst, arg):
    """Max pooling of one H x W plane with the argmax (first maximum in scan order; the
    window's first element wins when all are NaN; padding never wins)."""
    h, w = src.shape
    oh, ow = dst.shape
    if _is_2x2(ph, pw, sh, sw, pt, pl, src, dst):
        for i in range(oh):  # the most common pooling: branch-free, so it vectorizes
            r0, r1, orow, arow = src[2 * i], src[2 * i + 1], dst[i], arg[i]
            b0 = 2 * i * w
            b1 = b0 + w
            for j in range(ow):
                m = r0[2 * j]
                k = b0 + 2 * j
                v = r0[2 * j + 1]
                t = v > m
                m = v if t else m
                k = b0 + 2 * j + 1 if t else k
                v = r1[2 * j]
                t = v > m
                m = v if t else m
                k = b1 + 2 * j if t else k
                v = r1[2 * j + 1]
                t = v > m
                m = v if t else m
                k = b1 + 2 * j + 1 if t else k
                orow[j] = m
                arow[j] = k
        return
    for i in range(oh):
        ha, hb = _span(i, sh, pt, ph, h)
        for j in range(ow):
            wa, wb = _span(j, sw, pl, pw, w)
            best = -np.inf
            bi = -1
            for a in range(ha, hb):
                for b in range(wa, wb):
                    v = src[a, b]
                    if v > best or bi < 0:
                        best = v
                        bi = a * w + b
            dst[i, j] = best
            arg[i, j] = bi


@njit(cache=True, parallel=True)
def _max_f(x, ph, pw, sh, sw, pt, pl, y, arg):
    for q in prange(x.shape[0]):
        _max_plane_arg(x[q], ph, pw, sh, sw, pt, pl, y[q], arg[q])


# 'nnan' lets max() compile to a vector max; inputs are checked for NaN before prediction
@njit(cache=True, nogil=True, fastmath={"nnan"})
def max_plane(src, ph, pw, sh, sw, pt, pl, dst):
    """Max pooling of one H x W plane into an OH x OW plane (padding never wins). Works on
    1-D row views with the valid column range worked out per window column, so the inner
    loop has no bounds tests and vectorizes."""
    h, w = src.shape
    oh, ow = dst.shape
    if _is_2x2(ph, pw, sh, sw, pt, pl, src, dst):
        for i in range(oh):
            r0, r1, orow = src[2 * i], src[2 * i + 1], dst[i]
            for j in range(ow):
                orow[j] = max(max(r0[2 * j], r0[2 * j + 1]), max(r1[2 * j], r1[2 * j + 1]))
        return
    for i in range(oh):
        orow = dst[i]
        for j in range(ow):
            orow[j] = -np.inf
        h0 = i * sh - pt
        for a in range(max(h0, 0), min(h0 + ph, h)):
            srow = src[a]
            for b in range(pw):
                off = b - pl                       # column j reads srow[j * sw + off]
                jlo = 0 if off >= 0 else (-off + sw - 1) // sw
                jhi = min(ow, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
                # max() rather than a branch, and literal strides for the common cases,
                # let LLVM vectorize the loop
                if sw == 2:
                    for j in range(jlo, jhi):
                        orow[j] = max(orow[j], srow[2 * j + off])
                elif sw == 1:
                    for j in range(jlo, jhi):
                        orow[j] = max(orow[j], srow[j + off])
                else:
                    for j in range(jlo, jhi):
                        orow[j] = max(orow[j], srow[j * sw + off])


@njit(cache=True, parallel=True)
def _max_f_infer(x, ph, pw, sh, sw, pt, pl, y):
    """Prediction needs no argmax."""
    for q in prange(x.shape[0]):
        max_plane(x[q], ph, pw, sh, sw, pt, pl, y[q])


@njit(cache=True, nogil=True)
def _max_planes_any(x, ph, pw, sh, sw, pt, pl, y):
    for q in range(x.shape[0]):
        max_plane(x[q], ph, pw, sh, sw, pt, pl, y[q])


@njit(cache=True, nogil=True, fastmath={"nnan"})
def _max_planes_2x2(x, y):
    """max_plane's 2 x 2 stride-2 case over (N*C) planes, alone: a first run compiles this small
    kernel (about a tenth of max_plane's compile time, whose other strides it does not need)."""
    for q in range(x.shape[0]):
        src = x[q]
        dst = y[q]
        for i in range(dst.shape[0]):
            r0, r1, orow = src[2 * i], src[2 * i + 1], dst[i]
            for j in range(dst.shape[1]):
                orow[j] = max(max(r0[2 * j], r0[2 * j + 1]), max(r1[2 * j], r1[2 * j + 1]))


def is_2x2(ph, pw, sh, sw, pt, pl, h, w, oh, ow):
    """_is_2x2 in Python, on the shapes: the wrappers pick the 2 x 2 kernels before the call, so
    that a run compiles only the pooling it uses."""
    return ph == pw == sh == sw == 2 and pt == pl == 0 and 2 * oh <= h and 2 * ow <= w


def max_planes(x, ph, pw, sh, sw, pt, pl, y):
    """_max_f_infer on one thread, for callers that run their own threads (the fused conv):
    x (N*C) x H x W, y (N*C) x OH x OW."""
    if is_2x2(ph, pw, sh, sw, pt, pl, x.shape[1], x.shape[2], y.shape[1], y.shape[2]):
        _max_planes_2x2(x, y)
    else:
        _max_planes_any(x, ph, pw, sh, sw, pt, pl, y)


@njit(cache=True, parallel=True)
def _max_b(dy, arg, dx):
    """dx (overwritten) = dy scattered to the argmax positions; each plane is zeroed by the
    thread that fills it."""
    p, oh, ow = dy.shape
    h, w = dx.shape[1], dx.shape[2]
    for q in prange(p):
        plane = dx[q]
        for a in range(h):
            row = plane[a]
            for b in range(w):
                row[b] = 0.0
        flat = plane.reshape(h * w)
        for i in range(oh):
            g = dy[q, i]
            ar = arg[q, i]
            for j in range(ow):
                k = ar[j]
                if k >= 0:
                    flat[k] += g[j]


@njit(cache=True, parallel=True)
def _avg_f(x, ph, pw, sh, sw, pt, pl, incl, oh, ow, y):
    p, h, w = x.shape
    for q in prange(p):
        for i in range(oh):
            ha, hb = _span(i, sh, pt, ph, h)
            for j in range(ow):
                wa, wb = _span(j, sw, pl, pw, w)
                acc = 0.0
                for a in range(ha, hb):
                    for b in range(wa, wb):
                        acc += x[q, a, b]
                cnt = _avg_count(ph, pw, incl, ha, hb, wa, wb)
                y[q, i, j] = acc / cnt if cnt > 0 else 0.0


@njit(cache=True, parallel=True)
def _avg_b(dy, ph, pw, sh, sw, pt, pl, incl, dx):
    p, oh, ow = dy.shape
    h, w = dx.shape[1], dx.shape[2]
    for q in prange(p):
        for i in range(oh):
            ha, hb = _span(i, sh, pt, ph, h)
            for j in range(ow):
                wa, wb = _span(j, sw, pl, pw, w)
                cnt = _avg_count(ph, pw, incl, ha, hb, wa, wb)
                if cnt == 0:
                    continue
                g = dy[q, i, j] / cnt
                for a in range(ha, hb):
                    for b in range(wa, wb):
                        dx[q, a, b] += g


def maxpool_forward_train(x, ph, pw, sh, sw, pt, pb, pl, pr):
    x3, y, (ph, pw, sh, sw, pt, pb, pl, pr) = _prep(x, "maxpool_forward_train", (ph, pw, sh, sw, pt, pb, pl, pr))
    arg = out_empty(y.shape, np.int64)
    _max_f(x3, ph, pw, sh, sw, pt, pl, _planes(y), _planes(arg))
    return y, arg


def maxpool_forward_infer(x, ph, pw, sh, sw, pt, pb, pl, pr):
    x3, y, (ph, pw, sh, sw, pt, pb, pl, pr) = _prep(x, "maxpool_forward_infer", (ph, pw, sh, sw, pt, pb, pl, pr))
    _max_f_infer(x3, ph, pw, sh, sw, pt, pl, _planes(y))
    return y


def maxpool_backward(dy, argmax, H, W):
    dy = as_float(dy)
    if dy.ndim != 4:
        raise ValueError(f"maxpool_backward: expected N x C x OH x OW gradient, got shape {dy.shape}.")
    arg = np.ascontiguousarray(argmax, dtype=np.int64)
    if arg.shape != dy.shape:
        raise ValueError(f"maxpool_backward: argmax shape {arg.shape} differs from dy shape {dy.shape}.")
    dx = out_empty(dy.shape[:2] + (int(H), int(W)), dy.dtype)
    if dx.size:
        _max_b(_planes(dy), _planes(arg), _planes(dx))
    return dx


def avgpool_forward(x, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad):
    x3, y, (ph, pw, sh, sw, pt, pb, pl, pr) = _prep(x, "avgpool_forward", (ph, pw, sh, sw, pt, pb, pl, pr), np.empty)
    _avg_f(x3, ph, pw, sh, sw, pt, pl, bool(count_include_pad), y.shape[2], y.shape[3], _planes(y))
    return y


def avgpool_backward(dy, H, W, ph, pw, sh, sw, pt, pb, pl, pr, count_include_pad):
    dy = as_float(dy)
    h, w = int(H), int(W)
    ph, pw, sh, sw, pt, pb, pl, pr = (int(v) for v in (ph, pw, sh, sw, pt, pb, pl, pr))
    oh, ow = _out(h, w, ph, pw, sh, sw, pt, pb, pl, pr, "avgpool_backward")
    if dy.ndim != 4 or dy.shape[2:] != (oh, ow):
        raise ValueError(f"avgpool_backward: expected N x C x {oh} x {ow} gradient, got shape {dy.shape}.")
    dx = np.zeros(dy.shape[:2] + (h, w), dy.dtype)
    if dy.size:
        _avg_b(_planes(dy), ph, pw, sh, sw, pt, pl, bool(count_include_pad), _planes(dx))
    return dx


def globalavgpool_forward(x, x_layout="nchw"):
    """The mean over each plane, N x C x 1 x 1, summed in float64. ``x_layout='nhwc'``: x is
    pixel-major, N x H x W x C (the executor's prediction plan), the same means read along the
    rows of C values (one vectorized pass, where the channel-major planes' float64 reduction ran
    at a fraction of memory speed)."""
    x = as_float(x)
    if x.ndim != 4:
        raise ValueError(f"globalavgpool_forward: expected N x C x H x W data, got shape {x.shape}.")
    if x_layout == "nhwc":
        n, h, w, c = x.shape
        return x.reshape(n, h * w, c).mean(axis=1, dtype=np.float64).astype(x.dtype).reshape(n, c, 1, 1)
    if x_layout != "nchw":
        raise ValueError(f"globalavgpool_forward: x_layout must be 'nchw' or 'nhwc', got {x_layout!r}.")
    return x.mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(x.dtype)


def globalavgpool_backward(dy, H, W, x_layout="nchw"):
    """dx = dy / (H*W) at every pixel; ``x_layout='nhwc'``: dx pixel-major, N x H x W x C (the
    forward's x_layout)."""
    dy = as_float(dy)
    h, w = int(H), int(W)
    n, c = dy.shape[:2]
    if x_layout == "nhwc":
        return np.ascontiguousarray(np.broadcast_to(dy.reshape(n, 1, 1, c) / (h * w), (n, h, w, c)))
    if x_layout != "nchw":
        raise ValueError(f"globalavgpool_backward: x_layout must be 'nchw' or 'nhwc', got {x_layout!r}.")
    return np.ascontiguousarray(np.broadcast_to(dy.reshape(n, c, 1, 1) / (h * w), (n, c, h, w)))


def globalmaxpool_forward_train(x):
    x = as_float(x)
    if x.ndim != 4:
        raise ValueError(f"globalmaxpool_forward_train: expected N x C x H x W data, got shape {x.shape}.")
    n, c, h, w = x.shape
    return maxpool_forward_train(x, h, w, 1, 1, 0, 0, 0, 0)


def globalmaxpool_forward_infer(x):
    return globalmaxpool_forward_train(x)[0]


def globalmaxpool_backward(dy, argmax, H, W):
    return maxpool_backward(dy, argmax, H, W)
