"""Winograd F(2x2, 3x3) for the pixel-major prediction forward (issue 16): a one-group 3x3
convolution at stride 1 and dilation 1, x and y pixel-major (rows of C and F values per pixel).

Each 2x2 block of output pixels (a tile) reads a 4x4 patch of x. With B^T, G, A^T of Lavin and
Gray ("Fast Algorithms for Convolutional Neural Networks", 2016),

    V[k, t, c] = (B^T d_{t,c} B)[k]    the 16 values of tile t's patch in channel c,
    U[k, c, f] = (G g_{f,c} G^T)[k]    the filter, once per set of weights (filter_transform),
    M[k] = V[k] U[k]                   16 products (tiles x C)(C x F),
    y_t = A^T M_t A                    (2x2 output pixels per filter), + bias, ReLU, a residual,

2.25x fewer multiplications than the direct (im2row) product and 4 values per input pixel
written instead of 9. The products run on direct.py's register-blocked kernel in float32 with F
a multiple of 16 (PRODUCTS_DIRECT; 1.3-1.5x faster than numpy's matmul at these shapes, where
OpenBLAS ran K = C = 16 to 64 at 36-68 GFLOP/s: docs/performance.md, h_res), else numpy's matmul.
The transforms are sums and differences only (G's halves are in U), so in float32 the result
differs from the direct product by rounding of the same order: the tests bound the relative
error against a float64 reference (tests/kernels/cpu/test_winograd.py).

  filter_transform(w) -> U (16 x C x F, w's dtype; computed in float64); transformed(w, cache)
  winograd_forward(x, U, bias, pt, pl, pv, oh, ow, relu, x_nhwc, shape, residual=None, ceiling=inf)
      -> y N x OH x OW x F
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._parallel import batch_parallel as _batch_parallel
from ._parallel import blas_threads as _blas_threads
from ._parallel import parallel_range as _parallel_range
from ._parallel import threads as _threads
from ._parallel import workspace as _workspace
from ._util import forward_output
from . import direct as _direct

# tiles per block (block_tiles): V and M of a block (16 x tiles x C, 16 x tiles x F) about L2's
# size (1 MB each in float32), but at least _MIN_TILES tiles. 32768 values until session 16: at
# 16384 two threads ran ResNet-20's and VGG's 3x3 layers in 0.86-1.0 of the wall time (their two
# blocks no longer fought over L3), the 256-channel ones from 64 tiles 5 % slower, hence the floor
_TILE_VALUES = 16384
_MIN_TILES = 128


def block_tiles(c, f):
    """Tiles per product block of a c -> f channel layer (the forward's and dW's, conv._grads_winograd)."""
    return max(_TILE_VALUES // max(c, f), _MIN_TILES)

# the products on direct.products (float32, F % 16 == 0) rather than numpy's matmul
PRODUCTS_DIRECT = True


def _staggered(S, dtype, rows):
    """A C-contiguous rows x stride buffer whose rows hold S values each (a view [:, :S] of it) and
    start 64 bytes apart modulo 4096: filter_transform writes one row per value of a tile along
    the same column, and with rows a multiple of 4 KB apart (S = C x F at 32, 64, 128 ...
    channels) its loads waited on the stores before them to rows at the same page offset (4K
    aliasing): 58 ns a filter at 64 x 64 against 11 at 60 x 60."""
    item = np.dtype(dtype).itemsize
    page, step = 4096 // item, max(1, 64 // item)
    return np.empty((rows, -(-S // page) * page + step), dtype)


def filter_transform(w):
    """U[i*4 + j, c, f] = (G w[f, c] G^T)[i, j] for F x C x 3 x 3 weights, in w's dtype (G's rows
    1, 0, 0 / 1/2, 1/2, 1/2 / 1/2, -1/2, 1/2 / 0, 0, 1 as sums, in float64); a 16 x C x F view
    whose rows are _staggered. One compiled pass, split over the pool by input channels when
    large: for each channel, its 9 taps of all F filters gathered into a 9 x F scratch, then 9
    loads and 16 stores along F. (An einsum's float64 products ran on OpenBLAS's threads and cost
    more than the convolution at 256 channels; before session 16 the pass read each filter's 9
    taps and wrote 16 rows 4 KB apart: 180 us at 64 x 64 where this takes 66, docs/performance.md.)
    Each value is the same sum as before."""
    w = np.ascontiguousarray(w)
    f, c = w.shape[:2]
    S = c * f
    buf = _staggered(S, w.dtype, 16)
    _parallel_range(_filter_transform, c, w, buf, size=16 * S // _FT_PER_VALUE)
    return buf[:, :S].reshape(16, c, f)


@njit(inline="always")
def _g3(a0, a1, a2):
    """G times a column (a0, a1, a2): the four sums, in float64."""
    return a0, 0.5 * (a0 + a1 + a2), 0.5 * (a0 - a1 + a2), a2


# filter_transform's and _dw_output's passes hand their channels to the pool from SERIAL_BELOW x
# this many values (16 x C x F): from 128 x 128 channels; at 64 x 64 (66 and about 100 us) the
# pool's 20-50 us hand-off stays in the calling thread (a choice, not measured against the pool)
_FT_PER_VALUE = 8


@njit(cache=True, nogil=True)
def _filter_transform(c0, c1, w, buf):
    """Input channels c0:c1 of filter_transform (buf's rows: U's, C x F each): G along the
    filter's rows, its three columns, then along the columns, in scalars, for all F filters at
    once."""
    f = w.shape[0]
    g = np.empty((9, f), w.dtype)
    g0, g1, g2, g3, g4, g5, g6, g7, g8 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]
    for ci in range(c0, c1):
        for fi in range(f):
            t = w[fi, ci]
            g0[fi], g1[fi], g2[fi] = t[0, 0], t[0, 1], t[0, 2]
            g3[fi], g4[fi], g5[fi] = t[1, 0], t[1, 1], t[1, 2]
            g6[fi], g7[fi], g8[fi] = t[2, 0], t[2, 1], t[2, 2]
        lo = ci * f
        hi = lo + f
        u0, u1, u2, u3 = buf[0, lo:hi], buf[1, lo:hi], buf[2, lo:hi], buf[3, lo:hi]
        u4, u5, u6, u7 = buf[4, lo:hi], buf[5, lo:hi], buf[6, lo:hi], buf[7, lo:hi]
        u8, u9, u10, u11 = buf[8, lo:hi], buf[9, lo:hi], buf[10, lo:hi], buf[11, lo:hi]
        u12, u13, u14, u15 = buf[12, lo:hi], buf[13, lo:hi], buf[14, lo:hi], buf[15, lo:hi]
        for fi in range(f):
            t00, t10, t20, t30 = _g3(np.float64(g0[fi]), np.float64(g3[fi]), np.float64(g6[fi]))
            t01, t11, t21, t31 = _g3(np.float64(g1[fi]), np.float64(g4[fi]), np.float64(g7[fi]))
            t02, t12, t22, t32 = _g3(np.float64(g2[fi]), np.float64(g5[fi]), np.float64(g8[fi]))
            u0[fi], u1[fi], u2[fi], u3[fi] = _g3(t00, t01, t02)
            u4[fi], u5[fi], u6[fi], u7[fi] = _g3(t10, t11, t12)
            u8[fi], u9[fi], u10[fi], u11[fi] = _g3(t20, t21, t22)
            u12[fi], u13[fi], u14[fi], u15[fi] = _g3(t30, t31, t32)


def transformed(w, cache=None):
    """filter_transform(w), kept in ``cache`` (a dict the caller holds with these weights, or None)
    under the weights' dtype and shape."""
    if cache is None:
        return filter_transform(w)
    key = (w.dtype.str, w.shape)
    u = cache.get(key)
    if u is None:
        u = cache[key] = filter_transform(w)
    return u


def eligible(c, groups, kh, kw, sh, sw, dh, dw):
    """Whether the pixel-major forward runs through winograd_forward."""
    return groups == 1 and kh == kw == 3 and sh == sw == dh == dw == 1


# How the transforms run (the loops are what costs: at 16 channels, loops of C values per tile,
# as a plain tile-by-tile transform has them, run scalar, and cost 10x the arithmetic; measured,
# docs/performance.md). Whole rows of tiles are transformed at once, with every inner loop over
# a full row: B^T's rows (the vertical pass) combine 4 rows of x of W*C values each; B's columns
# (the horizontal pass) are 3 loops over the row of tiles viewed as pairs of pixels (2C values
# per tile), z0[e] = r[e] - r[e + 2C], z1[e] = r[e + C] + r[e + 2C], z2[e] = r[e + 2C] - r[e + C],
# whose first C values per tile are B's columns 0, 1, 2 and whose second C values of z0 are
# column 3 (z1's and z2's second halves are computed and not used). The products read V[k] as
# strided views (tiles x C, row stride 2C). The output transform is the mirror image: A^T's rows
# over rows of tiles, then A's columns as two loops over the pixel pairs of an output row, the
# even pixel and the odd one blended by a 0/1 mask (exact: 1*a + 0*b).


@njit(cache=True, nogil=True)
def _input_rows(xt, h, w, pt, pl, pv, th, tw, r0, r1, pvrow, e, Z):
    """Z[a, z, (R - r0)*tw*2C + ...] for the tile rows r0 <= R < r1 (R = obs*th + ti) of the
    pixel-major rows xt (obs*h*w x C). e (4 x (2tw+2)*C): a padded row of B^T d for one tile row;
    pvrow (w*C): pv."""
    c = xt.shape[1]
    xf = xt.reshape(-1)
    wc = w * c
    L = tw * 2 * c
    width = e.shape[1]
    two_pv = pv + pv
    zero = pv - pv
    for R in range(r0, r1):
        o = R // th
        ti = R - o * th
        hi = 2 * ti - pt
        s0 = xf[((o * h + hi) * w) * c:((o * h + hi) * w) * c + wc] if 0 <= hi < h else pvrow
        s1 = xf[((o * h + hi + 1) * w) * c:((o * h + hi + 1) * w) * c + wc] if 0 <= hi + 1 < h else pvrow
        s2 = xf[((o * h + hi + 2) * w) * c:((o * h + hi + 2) * w) * c + wc] if 0 <= hi + 2 < h else pvrow
        s3 = xf[((o * h + hi + 3) * w) * c:((o * h + hi + 3) * w) * c + wc] if 0 <= hi + 3 < h else pvrow
        off = pl * c
        e0 = e[0, off:off + wc]
        e1 = e[1, off:off + wc]
        e2 = e[2, off:off + wc]
        e3 = e[3, off:off + wc]
        for j in range(wc):
            e0[j] = s0[j] - s2[j]
        for j in range(wc):
            e1[j] = s1[j] + s2[j]
        for j in range(wc):
            e2[j] = s2[j] - s1[j]
        for j in range(wc):
            e3[j] = s1[j] - s3[j]
        for j in range(off):   # the padding columns: pv in all 4 rows
            e[0, j] = zero
            e[1, j] = two_pv
            e[2, j] = zero
            e[3, j] = zero
        for j in range(off + wc, width):
            e[0, j] = zero
            e[1, j] = two_pv
            e[2, j] = zero
            e[3, j] = zero
        q0 = (R - r0) * L
        for a in range(4):
            r = e[a]
            z0 = Z[a, 0, q0:q0 + L]
            z1 = Z[a, 1, q0:q0 + L]
            z2 = Z[a, 2, q0:q0 + L]
            ra = r[:L]
            rb = r[c:c + L]
            rc = r[2 * c:2 * c + L]
            for j in range(L):
                z0[j] = ra[j] - rc[j]
            for j in range(L):
                z1[j] = rb[j] + rc[j]
            for j in range(L):
                z2[j] = rc[j] - rb[j]


@njit(cache=True, nogil=True)
def _output_rows(Mb, r0, r1, th, tw, oh, ow, brow, mask, relu, hi, res, S, ybuf, y):
    """y's rows (obs*oh*ow x F) of the tile rows r0 <= R < r1 from Mb (4 x 2 x tiles*2F: M[a, b]
    at [a, b // 2, :, (b % 2)*F:...]): A^T M A, + brow (the bias repeated per pixel, length
    2tw*F), + res (y's rows; when it has any), then ReLU clipped at hi (inf: plain ReLU). S (2 x 2 x (2tw+2)*F, zero
    at both ends): A^T M for one tile row; mask (2tw*F): 1 at even output pixels."""
    f = y.shape[1]
    yf = y.reshape(-1)
    rf = res.reshape(-1)
    has_r = rf.shape[0] > 0
    L = tw * 2 * f
    owf = ow * f
    for R in range(r0, r1):
        o = R // th
        ti = R - o * th
        q0 = (R - r0) * L
        for pr in range(2):
            m0 = Mb[0, pr, q0:q0 + L]
            m1 = Mb[1, pr, q0:q0 + L]
            m2 = Mb[2, pr, q0:q0 + L]
            m3 = Mb[3, pr, q0:q0 + L]
            sa = S[0, pr, f:f + L]
            sb = S[1, pr, f:f + L]
            for j in range(L):
                sa[j] = m0[j] + m1[j] + m2[j]
            for j in range(L):
                sb[j] = m1[j] - m2[j] - m3[j]
        for i in range(2):
            oi = 2 * ti + i
            if oi >= oh:
                continue
            p0 = S[i, 0, f:f + L]
            p1 = S[i, 0, 2 * f:2 * f + L]
            qm = S[i, 1, 0:L]
            q1 = S[i, 1, f:f + L]
            base = (o * oh + oi) * owf
            out = yf[base:base + L] if owf == L else ybuf
            for j in range(L):
                mk = mask[j]
                out[j] = mk * (p0[j] + p1[j] + q1[j]) + (1 - mk) * (p0[j] - qm[j] - q1[j]) + brow[j]
            if owf != L:
                dst = yf[base:base + owf]
                for j in range(owf):
                    dst[j] = ybuf[j]
                out = dst
            if has_r:
                rr = rf[base:base + owf]
                for j in range(owf):
                    out[j] += rr[j]
            if relu:
                z = out.dtype.type(0)   # in y's dtype (0.0: through float64, the same values, slower)
                for j in range(owf):
                    out[j] = min(max(out[j], z), hi)


# -- the filter gradient: F(3x3, 2x2) -----------------------------------------------------------
# dW[f, c, i, j] = sum over output pixels of x_pad[y + i, x + j, c] * dy[y, x, f]. Over one 2x2
# tile of dy (E, zero beyond OH x OW) and the 4x4 patch D of x the forward's tile reads, this is
# the correlation of D with E, 3x3 values: by the transposition principle the forward's identity
# sum e.y = (A e).((G g) * (B^T d)) read the other way, dW_tile = G^T [(A E A^T) * (B^T D B)] G.
# So V = B^T D B is the forward's input transform (_input_rows, as it is), Ed = A E A^T is 16
# sums and differences of dy (_dy_rows), and the 16 products M[a, b] (C x F) = sum over tiles of
# V[a, b]^T Ed[a, b] are long reductions (every tile of a chunk) on direct.py's micro-kernel;
# G^T M G once per call (dw_from_products). 16 multiply-adds per tile and (c, f) instead of 36.


@njit(inline="always")
def _copy_sum_diff(a, b, n, y0, y1, y2):
    """y0 = a, y1 = a + b, y2 = a - b over n values (three loops, each vectorized)."""
    for j in range(n):
        y0[j] = a[j]
    for j in range(n):
        y1[j] = a[j] + b[j]
    for j in range(n):
        y2[j] = a[j] - b[j]


@njit(cache=True, nogil=True)
def _dy_rows(dy2, oh, ow, th, tw, r0, r1, e2, zrow, Ed):
    """Ed[a, zi, (R - r0)*tw*2F + ...] for the tile rows r0 <= R < r1 (R = obs*th + ti) of the
    pixel-major rows dy2 (obs*oh*ow x F), laid out as _input_rows's Z: A E A^T for E = dy's 2x2
    block at (2ti, 2tj) (zero beyond OH x OW), A's rows 1, 0 / 1, 1 / 1, -1 / 0, -1, with the
    signs of A's last row left out (dw_from_products puts them back: exact). Along the rows, into
    e2 (4 x 2tw*F): d0, d0 + d1, d0 - d1, d1; along the columns, over the row of tiles viewed as
    pairs of pixels (2F values per tile), zi 0: the row itself (its first F values per tile are
    b = 0, its second b = 3 without the sign), 1: r[e] + r[e + F] (b = 1), 2: r[e] - r[e + F]
    (b = 2), whose second F values per tile are computed and not used. Loops over whole rows;
    zrow: OW*F zeros."""
    f = dy2.shape[1]
    gf = dy2.reshape(-1)
    owf = ow * f
    L = 2 * tw * f
    z = dy2.dtype.type(0)
    for R in range(r0, r1):
        o = R // th
        ti = R - o * th
        i0 = 2 * ti
        b0 = (o * oh + i0) * owf
        d0 = gf[b0:b0 + owf]
        d1 = gf[b0 + owf:b0 + 2 * owf] if i0 + 1 < oh else zrow   # an odd OH: the last tile's second row is zero
        _copy_sum_diff(d0, d1, owf, e2[0, :owf], e2[1, :owf], e2[2, :owf])
        v3 = e2[3, :owf]
        for j in range(owf):
            v3[j] = d1[j]
        q0 = (R - r0) * L
        for a in range(4):
            va = e2[a]
            for j in range(owf, L + f):   # zero beyond OW (an odd OW's last column; r[e + F]'s last pixel)
                va[j] = z
            _copy_sum_diff(va[:L], va[f:f + L], L, Ed[a, 0, q0:q0 + L], Ed[a, 1, q0:q0 + L], Ed[a, 2, q0:q0 + L])


def dw_eligible(dtype, c, f, kh, kw, dh, dw, pv):
    """Whether the filter gradient of a stride-1 convolution runs through dw_chunk: 3x3,
    undilated, from WINOGRAD_DW_MIN_C channels, a finite constant padding value (a zero of dy
    meets it in the tiles beyond the output); float32 with F a multiple of 16 (direct.py's
    micro-kernel) or float64 (numpy's products)."""
    dt = np.dtype(dtype)
    return (DW_WINOGRAD and kh == kw == 3 and dh == dw == 1 and c >= WINOGRAD_DW_MIN_C
            and (dt == np.float64 or (dt == np.float32 and f % 16 == 0))
            and not isinstance(pv, str) and bool(np.isfinite(pv)))


DW_WINOGRAD = True
# from 64 channels: dW's CPU time 0.75 (64 at 8x8) to 0.56 (256 at 4x4) of direct.py's _dw_chunk /
# im2col's on one thread; at 32 channels 1.1x (the transforms' share is larger; docs/performance.md)
WINOGRAD_DW_MIN_C = 64


def dw_chunk(xr, dyr, m, h, wd, oh, ow, pt, pl, pv, out):
    """out (16 x C x F) = the products M[a, b] = sum over the tiles of m observations of V[a, b]^T
    Ed[a, b]: xr the observations' pixel-major rows (m*h*wd x C), dyr dy's (m*oh*ow x F); in the
    calling thread (conv._grads_rows splits the batch)."""
    c, f = xr.shape[1], dyr.shape[1]
    dt = xr.dtype
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    T = m * th * tw
    Z = _workspace((4, 3, T, 2 * c), dt, "wz")
    Ed = _workspace((4, 3, T, 2 * f), dt, "wed")
    e = _workspace((4, (2 * tw + 2) * c), dt, "we")
    e2 = _workspace((4, (2 * tw + 1) * f), dt, "we2")
    pvrow = _workspace((wd * c,), dt, "wpv")
    pvrow[:] = pv
    _input_rows(xr, h, wd, pt, pl, dt.type(pv), th, tw, 0, m * th, pvrow, e, Z.reshape(4, 3, -1))
    zrow = _workspace((ow * f,), dt, "wz0")
    zrow[:] = 0
    _dy_rows(dyr, oh, ow, th, tw, 0, m * th, e2, zrow, Ed.reshape(4, 3, -1))
    if dt == np.float32 and f % 16 == 0:
        _direct.dw_products(Z, Ed, out)
        return
    for b, (zi, lo) in enumerate(((0, 0), (1, 0), (2, 0), (0, 1))):   # V[a, b] and Ed[a, b] as products reads them
        for a in range(4):
            np.matmul(Z[a, zi, :, lo * c:(lo + 1) * c].T, Ed[a, zi, :, lo * f:(lo + 1) * f], out=out[4 * a + b])


def dw_from_products(M, f, c):
    """The filter gradient F x C x 3 x 3 (M's dtype) from the 16 products M (16 x C x F, summed
    over the batch; or K x 16 x C x F: K chunks' products, summed in the pass, in chunk order
    and in M's dtype, as ``M.sum(axis=0)`` sums them): G^T M[., ., c, f] G, in float64."""
    Ms = M if M.ndim == 4 else M[None]
    out = np.empty((f, c, 3, 3), M.dtype)
    _parallel_range(_dw_output, c, Ms, out, size=Ms.size // _FT_PER_VALUE)
    return out


@njit(inline="always")
def _gt(m0, m1, m2, m3):
    """G^T S times a column (m0, m1, m2, m3), S = diag(1, 1, 1, -1): the three sums, in float64."""
    h = 0.5 * (m1 + m2)
    return m0 + h, 0.5 * (m1 - m2), h - m3


@njit(cache=True, nogil=True)
def _dw_output(c0, c1, Ms, out):
    """Input channels c0:c1 of dw_from_products: out[f, c] = G^T S M[:, c, f] S G, M the sum of
    Ms's chunks (M[4i + j]; G's rows 1, 0, 0 / 1/2, 1/2, 1/2 / 1/2, -1/2, 1/2 / 0, 0, 1 as sums,
    in float64; S = diag(1, 1, 1, -1): the signs of A's last row that _dy_rows leaves out, put
    back by subtracting instead of adding), along F (Ms's rows) for each input channel."""
    K, f = Ms.shape[0], Ms.shape[3]
    m = np.empty((16, f), Ms.dtype)
    for ci in range(c0, c1):
        for j in range(16):
            mj = m[j]
            mj[:] = Ms[0, j, ci]
            for k in range(1, K):
                mk = Ms[k, j, ci]
                for fi in range(f):
                    mj[fi] += mk[fi]
        for fi in range(f):
            a0, b0, e0 = _gt(np.float64(m[0, fi]), np.float64(m[4, fi]), np.float64(m[8, fi]), np.float64(m[12, fi]))
            a1, b1, e1 = _gt(np.float64(m[1, fi]), np.float64(m[5, fi]), np.float64(m[9, fi]), np.float64(m[13, fi]))
            a2, b2, e2 = _gt(np.float64(m[2, fi]), np.float64(m[6, fi]), np.float64(m[10, fi]), np.float64(m[14, fi]))
            a3, b3, e3 = _gt(np.float64(m[3, fi]), np.float64(m[7, fi]), np.float64(m[11, fi]), np.float64(m[15, fi]))
            o = out[fi, ci]
            o[0, 0], o[0, 1], o[0, 2] = _gt(a0, a1, a2, a3)
            o[1, 0], o[1, 1], o[1, 2] = _gt(b0, b1, b2, b3)
            o[2, 0], o[2, 1], o[2, 2] = _gt(e0, e1, e2, e3)


def winograd_forward(x, U, bias, pt, pl, pv, oh, ow, relu, x_nhwc, shape, residual=None, ceiling=np.inf,
                     to_rows=None, from_rows=None):
    """The 3x3 stride-1 convolution of x (N x C x H x W, or ``x_nhwc``: N x H x W x C; ``shape``
    the N x C x H x W it stands for) with the transformed filters ``U`` (filter_transform), pad
    pt above and pl left with the constant pv: y N x OH x OW x F, + bias, + ``residual`` (N x OH x
    OW x F, added before the activation), then ReLU (``relu``), clipped at ``ceiling`` (6: ReLU6). ``to_rows``:
    conv.py's blocked transpose for a channel-major x (else x is transposed whole first);
    ``from_rows`` (conv._from_rows; no residual): y N x F x OH x OW instead, each chunk's rows
    transposed by it while they are in cache (as direct.direct_forward's)."""
    if not x_nhwc and to_rows is None:   # conv.py passes its blocked transpose, one chunk at a time
        x, x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)), True
    n, c, h, wd = shape
    f = U.shape[2]
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    q, p = h * wd, oh * ow
    dt = x.dtype
    y_nchw = from_rows is not None
    y, y2, y3 = forward_output("winograd_forward", n, f, oh, ow, dt, from_rows, residual)
    x2 = x.reshape(n * q, c) if x_nhwc else None
    x3 = None if x_nhwc else x.reshape(n, c, q)
    brow = np.tile(bias if bias is not None else np.zeros(f, dt), 2 * tw).astype(dt)
    mask = np.tile(np.r_[np.ones(f, dt), np.zeros(f, dt)], tw).astype(dt)
    res2 = residual.reshape(n * p, f) if residual is not None else None
    empty_res = np.zeros((0, f), dt)
    U2 = np.ascontiguousarray(U.reshape(4, 4, c, f).transpose(1, 0, 2, 3))  # [b, a] = U[4a + b]
    rows_per = max(1, block_tiles(c, f) // tw)   # tile rows per product block
    # observations per chunk; at least one chunk per thread
    sub = max(1, min(rows_per // th, -(-n // _threads())))
    rows_blk = max(rows_per, th)
    pvx = dt.type(pv)
    hi = dt.type(ceiling)
    none = np.zeros(0)
    none_y, inf = np.zeros(0, dt), dt.type(np.inf)
    fast = PRODUCTS_DIRECT and dt == np.float32 and f % 16 == 0

    def work(chunks):
        xt = None if x_nhwc else _workspace((sub * q, c), dt, "wx")
        e = np.empty((4, (2 * tw + 2) * c), dt)
        S = np.zeros((2, 2, (2 * tw + 2) * f), dt)
        ybuf = np.empty(2 * tw * f, dt)
        pvrow = np.full(wd * c, pvx, dt)
        yt = _workspace((sub * p, f), dt, "wyt") if y_nchw else None
        for s0, s1 in chunks:
            m = s1 - s0
            if x_nhwc:
                src = x2[s0 * q:s1 * q]
            else:
                src = xt[:m * q]
                to_rows(x3[s0:s1], src, none, False)
            out = yt[:m * p] if y_nchw else y2[s0 * p:s1 * p]
            res = res2[s0 * p:s1 * p] if res2 is not None else empty_res
            nr = m * th
            for r0 in range(0, nr, rows_blk):
                r1 = min(nr, r0 + rows_blk)
                T = (r1 - r0) * tw
                Z = _workspace((4, 3, T, 2 * c), dt, "wz")
                M = _workspace((4, 2, T, 2 * f), dt, "wm")
                _input_rows(src, h, wd, pt, pl, pvx, th, tw, r0, r1, pvrow, e, Z.reshape(4, 3, -1))
                if fast:
                    _direct.products(Z, U2, M)
                else:
                    for b, (zi, lo) in enumerate(((0, 0), (1, 0), (2, 0), (0, c))):
                        np.matmul(Z[:, zi, :, lo:lo + c], U2[b], out=M[:, b // 2, :, (b % 2) * f:(b % 2 + 1) * f])
                _output_rows(M.reshape(4, 2, -1), r0, r1, th, tw, oh, ow, brow, mask, bool(relu), hi, res,
                             S, ybuf, out)
            if y_nchw:
                from_rows(out, none_y, False, inf, y3[s0:s1])

    # BLAS at one thread even when the batch is one chunk (batch_parallel then leaves BLAS alone):
    # these products are small, and OpenBLAS's second thread made them 50-100x slower on a busy
    # machine (docs/performance.md)
    with _blas_threads(1):
        _batch_parallel(work, n, sub)
    return y
