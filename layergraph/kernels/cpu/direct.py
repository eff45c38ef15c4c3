"""A direct pixel-major convolution for the prediction forward (issue 16): one group, float32,
x and y pixel-major (rows of C and F values per pixel), any filter size, stride and dilation
(conv.py sends it the 3x3 stride-1 convolutions of at most 16 input channels, where it measured
faster than the im2row product through OpenBLAS and than Winograd; docs/performance.md, h_res).

Per block of up to 6 output pixels of one output row and 16 filters, the accumulators (2 AVX2
vectors per pixel) stay in registers while the loops run over the taps (a, b) and the input
channels c:

    acc[p, :] += x[i*sh + a*dh, (j0 + p)*sw + b*dw, c] * w[a, b, c, f0:f0 + 16]

one broadcast of x and one FMA per pixel and vector of filters (12 accumulators, 2 weight
vectors, 1 broadcast: 15 of the 16 ymm registers). numba's own loops did not give this: the
16-wide loop over f ran scalar (4-10 GFLOP/s; numba's negative-index handling adds integer work
to every load), and a stack buffer of accumulators was kept in registers or spilled on every
step depending on the loops around it. So _taps writes the three loops in LLVM IR, one <16 x
float> value per pixel and llvm.fma, and stores the block once at the end.

The input is copied per observation into a padded workspace (the padding value pv around it),
which for a channel-major x is also the transpose. F is padded to a multiple of 16 in the
weights (zeros); only the F real outputs are stored. The epilogue (bias, a residual, ReLU or
ReLU6) runs over each finished output row.

  weights(w, cache) -> the F x C x FH x FW weights as (FH*FW*C) x Fp float32, Fp = 16 * ceil(F / 16)
  direct_forward(x, wt, f, kh, kw, bias, sh, sw, dh, dw, pt, pb, pl, pr, pv, oh, ow, relu, x_nhwc,
                 shape, residual=None, ceiling=inf) -> y N x OH x OW x F (float32)
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._parallel import batch_parallel as _batch_parallel
from ._parallel import threads as _threads
from ._parallel import workspace as _workspace
from ._util import forward_output

_ACC = 16   # one pixel x 16 filters, for the blocks whose last filters are padding
_V16 = ir.VectorType(ir.FloatType(), 16)


@intrinsic(prefer_literal=True)
def _taps(typingctx, npx, acc, do, ds, xa, x0, pstep, c, kh, kw, rstep, cstep, wa, w0, fp):
    """acc.flat[do + p*ds:do + p*ds + 16] = sum over a < kh, b < kw, ch < c of
    xa.flat[x0 + a*rstep + b*cstep + p*pstep + ch] * wa.flat[w0 + ((a*kw + b)*c + ch)*fp : ... + 16]
    for p < npx (an int literal), float32, offsets unchecked. Written in LLVM IR: one <16 x float>
    value per pixel, kept in registers through the three loops (numba's own loops left the
    16-wide multiply-add scalar, and a stack buffer of accumulators was kept in registers or not
    depending on the loops around it)."""
    if not isinstance(npx, types.IntegerLiteral):
        return None
    if not (isinstance(acc, types.Array) and isinstance(xa, types.Array) and isinstance(wa, types.Array)
            and acc.dtype == xa.dtype == wa.dtype == types.float32 and acc.layout == xa.layout == wa.layout == "C"):
        return None
    n = npx.literal_value
    ints = (do, ds, x0, pstep, c, kh, kw, rstep, cstep, w0, fp)

    def codegen(context, builder, signature, args):
        _, acca, dov, dsv, xarr, *rest = args
        iv = [context.cast(builder, v, t, types.intp) for v, t in zip([dov, dsv] + rest[:7] + rest[8:], ints)]
        dov, dsv, x0v, pst, cv, khv, kwv, rst, cst, w0v, fpv = iv
        warr = rest[7]
        adata = context.make_array(signature.args[1])(context, builder, acca).data
        xdata = context.make_array(signature.args[4])(context, builder, xarr).data
        wdata = context.make_array(signature.args[12])(context, builder, warr).data
        vp = _V16.as_pointer()
        accs = [cgutils.alloca_once(builder, _V16) for _ in range(n)]
        for v in accs:
            builder.store(ir.Constant(_V16, None), v)
        i32 = ir.IntType(32)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V16, [_V16] * 3), "llvm.fma.v16f32")
        with cgutils.for_range(builder, khv) as la:
            with cgutils.for_range(builder, kwv) as lb:
                xo = builder.add(x0v, builder.add(builder.mul(la.index, rst), builder.mul(lb.index, cst)))
                tap = builder.add(builder.mul(la.index, kwv), lb.index)
                wo = builder.add(w0v, builder.mul(builder.mul(tap, cv), fpv))
                with cgutils.for_range(builder, cv) as lc:
                    ch = lc.index
                    wv = builder.load(builder.bitcast(builder.gep(wdata, [builder.add(wo, builder.mul(ch, fpv))]), vp),
                                      align=4)
                    xc = builder.add(xo, ch)
                    for p, v in enumerate(accs):
                        xi = builder.add(xc, builder.mul(ir.Constant(xc.type, p), pst))
                        x = builder.load(builder.gep(xdata, [xi]), align=4)
                        xb = builder.insert_element(ir.Constant(_V16, ir.Undefined), x, ir.Constant(i32, 0))
                        xb = builder.shuffle_vector(xb, ir.Constant(_V16, ir.Undefined),
                                                    ir.Constant(ir.VectorType(i32, 16), [0] * 16))
                        builder.store(builder.call(fma, [xb, wv, builder.load(v)]), v)
        for p, v in enumerate(accs):
            off = builder.add(dov, builder.mul(ir.Constant(dov.type, p), dsv))
            dst = builder.bitcast(builder.gep(adata, [off]), vp)
            builder.store(builder.load(v), dst, align=4)
        return context.get_dummy_value()

    sig = types.void(npx, acc, do, ds, xa, x0, pstep, c, kh, kw, rstep, cstep, wa, w0, fp)
    return sig, codegen


# _row's caller _chunk (a network's convolution forward and the small-filter dx), and its padding
# copies, call them through
# their addresses, run-time arguments (address()), not as jitted callees: numba links a callee's
# LLVM module into each caller's and optimizes and compiles it again there (about 0.4 s of LLVM
# time per caller of _row at a cold start), and an inlined one is compiled in every caller
# (_chunk with both padding copies inlined: 0.7 s more); through the address each is compiled
# once per process (or loaded from the cache), only where it is used (a network whose
# convolutions read channel-major data compiles no _pad_rows), and the callers' code holds no
# copy of it (nor the address, an argument, in their cached code). The same loops, so the same
# numbers (docs/performance.md, h_cold3). _dw_chunk and Winograd's products (products,
# dw_products) keep _row as a jitted callee: inlined there with its loops of one trip (kw = 1;
# kh = kw = 1 in products, and c = 1 in dw_products) known, they ran 2-25 % faster than through
# the address.
_F32V = types.Array(types.float32, 1, "C")
_I64 = types.int64
ROW_SIG = (_F32V, _F32V) + (_I64,) * 9 + (_F32V,) + (_I64,) * 4 + (_F32V,)
PAD_SIG = (types.Array(types.float32, 2, "C"), _I64, _I64, _I64, _I64, types.float32,
           types.Array(types.float32, 3, "C"))


def _caller(sig, name):
    """An intrinsic ``name(addr, *args)``: the numba function compiled for ``sig`` (a tuple of
    types, returning nothing and raising nothing) called through its native entry point at addr
    (address()). Integers are cast to sig's; arrays must have sig's dtype, dimensions and C
    layout (read-only ones too: the same native value)."""
    def check(given):
        for t, want in zip(given, sig):
            if isinstance(want, types.Array):
                if not (isinstance(t, types.Array) and t.dtype == want.dtype and t.ndim == want.ndim
                        and t.layout == "C"):
                    return False
            elif not (isinstance(t, types.Integer) if isinstance(want, types.Integer) else t == want):
                return False
        return True

    def typer(typingctx, addr, given):
        if not (isinstance(addr, types.Integer) and check(given)):
            return None

        def codegen(context, builder, signature, args):
            vals = [a if isinstance(w, types.Array) else context.cast(builder, a, t, w)
                    for a, t, w in zip(args[1:], signature.args[1:], sig)]
            fnty = context.call_conv.get_function_type(types.none, sig)
            fn = builder.inttoptr(context.cast(builder, args[0], signature.args[0], types.intp), fnty.as_pointer())
            context.call_conv.call_function(builder, fn, types.none, sig, vals)  # the callee raises nothing
            return context.get_dummy_value()

        return types.void(addr, *given), codegen

    # numba's intrinsics take named parameters (not *args): one per argument of sig
    params = ", ".join(f"a{i}" for i in range(len(sig)))
    space = {"typer": typer}
    exec(f"def {name}(typingctx, addr, {params}):\n    return typer(typingctx, addr, ({params},))\n", space)
    return intrinsic(space[name])


_row_at = _caller(ROW_SIG, "_row_at")
_pad_at = _caller(PAD_SIG, "_pad_at")
_addresses = {}


def address(kernel, sig):
    """The address of ``kernel``'s native entry point for ``sig`` in this process (compiled, or
    loaded from numba's cache, at the first call)."""
    key = (id(kernel), id(sig))   # by identity: hashing numba's types took 5-10 us a call
    if key not in _addresses:
        kernel.compile(sig)
        cres = kernel.overloads[sig]
        _addresses[key] = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
    return _addresses[key]


def row_address():
    """address(_row, ROW_SIG)."""
    return address(_row, ROW_SIG)


@njit(cache=True, nogil=True)
def _row(acc, xf, xrow, yb, ds, pstep, c, kh, kw, rstep, cstep, wf, wb, fp, f, ow, yf):
    """One output row of ow pixels, pixel j's filter k at yf[yb + j*ds + k] (k < f), its input
    from xrow + j*pstep, the weights from wf[wb:]: blocks of 6, 4, 2, 1 pixels, for each 16 filters
    (a last partial 16 pixel by pixel through acc; F = 16k needs no copy, and the few compiled
    variants of _taps keep the compile time down). A function of its own, called through its
    address (_row_at) from _chunk, as a jitted callee from _dw_chunk and Winograd's products
    (inlined, each caller compiled its four _taps variants again: 0.6 s; as a jitted callee, each
    caller's module optimizes and compiles a copy of it again, which those keep for their speed)."""
    for f0 in range(0, f, 16):   # as many blocks as fp's; fp may be larger still (dw_products' step)
        if f0 + 16 > f:   # the last filters are padding
            for j in range(ow):
                _taps(1, acc, 0, 16, xf, xrow + j * pstep, pstep, c, kh, kw, rstep, cstep, wf, wb + f0, fp)
                for k in range(f - f0):
                    yf[yb + j * ds + f0 + k] = acc[k]
            continue
        j0 = 0
        while j0 < ow:
            left = ow - j0
            x0 = xrow + j0 * pstep
            y0 = yb + j0 * ds + f0
            # 6 pixels at a time; 7 or 8 left as 4 + 2 + 1 or 4 + 4 (a block of 1 or 2 runs at a
            # fraction of the speed: 12 accumulators hide the FMA latency, 2 or 4 do not). Blocks
            # of 5 and 3 would make the odd widths faster, at a seventh more compile time each.
            if left >= 9 or left == 6:
                _taps(6, yf, y0, ds, xf, x0, pstep, c, kh, kw, rstep, cstep, wf, wb + f0, fp)
                j0 += 6
            elif left >= 4:
                _taps(4, yf, y0, ds, xf, x0, pstep, c, kh, kw, rstep, cstep, wf, wb + f0, fp)
                j0 += 4
            elif left >= 2:
                _taps(2, yf, y0, ds, xf, x0, pstep, c, kh, kw, rstep, cstep, wf, wb + f0, fp)
                j0 += 2
            else:
                _taps(1, yf, y0, ds, xf, x0, pstep, c, kh, kw, rstep, cstep, wf, wb + f0, fp)
                j0 += 1


@njit(inline="always")
def _epilogue(yrow, brow, rrow, has_r, act, hi):
    """yrow = act(yrow + brow (+ rrow)) over one output row (contiguous; brow the bias repeated
    per pixel; act 1: ReLU, 2: a ReLU clipped at hi): loops without branches inside, which LLVM
    vectorizes."""
    n = yrow.shape[0]
    z = yrow.dtype.type(0)   # the clamp in y's dtype: 0.0 would take it through float64 (the same values, slower)
    if has_r:
        for q in range(n):
            yrow[q] = yrow[q] + brow[q] + rrow[q]
    else:
        for q in range(n):
            yrow[q] = yrow[q] + brow[q]
    if act == 1:
        for q in range(n):
            yrow[q] = max(yrow[q], z)
    elif act == 2:
        for q in range(n):
            yrow[q] = min(max(yrow[q], z), hi)


@njit(cache=True, nogil=True)
def _pad_rows(x2, h, w, pt, pl, pv, xp):
    """xp (hp x wp x C) = pv, with the pixel-major rows x2 (h*w x C) at [pt:pt + h, pl:pl + w]."""
    hp, wp, c = xp.shape
    for i in range(hp):
        hi = i - pt
        row = xp[i]
        if hi < 0 or hi >= h:
            for j in range(wp):
                for ch in range(c):
                    row[j, ch] = pv
            continue
        for j in range(wp):
            wi = j - pl
            if 0 <= wi < w:
                src = x2[hi * w + wi]
                for ch in range(c):
                    row[j, ch] = src[ch]
            else:
                for ch in range(c):
                    row[j, ch] = pv


@njit(cache=True, nogil=True)
def _pad_planes(x3, h, w, pt, pl, pv, xp):
    """_pad_rows from one channel-major observation x3 (C x h*w): the transpose and the padding."""
    hp, wp, c = xp.shape
    for i in range(hp):
        hi = i - pt
        row = xp[i]
        if hi < 0 or hi >= h:
            for j in range(wp):
                for ch in range(c):
                    row[j, ch] = pv
            continue
        for j in range(pl):
            for ch in range(c):
                row[j, ch] = pv
        for j in range(pl + w, wp):
            for ch in range(c):
                row[j, ch] = pv
        j0, j1 = max(0, -pl), min(w, wp - pl)
        for ch in range(c):
            src = x3[ch, hi * w:(hi + 1) * w]
            for j in range(j0, j1):
                row[j + pl, ch] = src[j]


@njit(cache=True, nogil=True)
def _chunk(rowp, padp, acc, xs, h, w, pt, pl, pv, xp, wt, kh, kw, sh, sw, dh, dw, oh, ow, brow, res, act, hi, y):
    """For each observation of xs (m x h*w x C pixel-major, or m x C x h*w): pad it into xp
    (hp x wp x C, a workspace; _pad_rows or _pad_planes at the address padp), then y's rows
    (m*oh*ow x F) from it and wt (kh*kw*C x Fp), one output row at a time (_row at the address
    rowp; acc a float32 workspace of 16), + brow (the bias repeated ow times), + res (y's shape,
    when it has rows), ReLU (act 1) or a ReLU clipped at hi (act 2)."""
    m = xs.shape[0]
    hp, wp, c = xp.shape
    fp = wt.shape[1]
    f = y.shape[1]
    xf = xp.reshape(-1)
    wf = wt.reshape(-1)
    yf = y.reshape(-1)
    rf = res.reshape(-1)
    has_r = res.shape[0] > 0
    pstep = sw * c
    rstep = dh * wp * c
    cstep = dw * c
    # without dilation along the width a filter row's taps (b, ch) are kw*C contiguous values, in
    # the weights' row order too: one loop of kw*C multiply-adds per filter row instead of kw loops
    # of C (the same sums in the same order; a first convolution's 3 channels ran loop-bound)
    cr, kr = (kw * c, 1) if dw == 1 else (c, kw)
    owf = ow * f
    for i0 in range(m):
        _pad_at(padp, xs[i0], h, w, pt, pl, pv, xp)
        for i in range(oh):
            r = (i0 * oh + i) * ow
            _row_at(rowp, acc, xf, i * sh * wp * c, r * f, f, pstep, cr, kh, kr, rstep, cstep, wf, 0, fp, f, ow, yf)
            _epilogue(yf[r * f:r * f + owf], brow, rf[r * f:r * f + owf] if has_r else rf, has_r, act, hi)


@njit(cache=True, nogil=True)
def products(Z, U2, M):
    """Winograd F(2x2, 3x3)'s 16 products (winograd.py) with _taps: M[a, b // 2, t, (b % 2)*F + k]
    = sum over ch of V[a, b][t, ch] U2[b, a][ch, k], where V[a, b] is Z[a, zi, :, lo:lo + C]
    ((zi, lo) = (0, 0), (1, 0), (2, 0), (0, C) for b = 0..3). Z 4 x 3 x T x 2C, U2 4 x 4 x C x F,
    M 4 x 2 x T x 2F, float32, F a multiple of 16. It calls _row as a jitted callee, as dw_products
    does, not through its address: inlined with its tap loops of one (kh = kw = 1) known, VGG-style
    training's Winograd dx and forward ran 4-9 % faster (docs/performance.md, h_cold3)."""
    t = Z.shape[2]
    c = U2.shape[2]
    f = U2.shape[3]
    zf = Z.reshape(-1)
    uf = U2.reshape(-1)
    mf = M.reshape(-1)
    acc = np.empty(_ACC, np.float32)
    zero, one = f - f, f - f + 1   # integer variables, not literals: _row's callers type it alike (one compile)
    for b in range(4):
        zi = b if b < 3 else 0
        lo = c if b == 3 else 0
        for a in range(4):
            _row(acc, zf, (a * 3 + zi) * t * 2 * c + lo, (a * 2 + b // 2) * t * 2 * f + (b % 2) * f, 2 * f, 2 * c, c,
                 one, one, zero, zero, uf, (b * 4 + a) * c * f, f, f, t, mf)


@njit(cache=True, nogil=True)
def dw_products(Z, Ed, out):
    """Winograd's filter-gradient products (winograd.py, F(3x3, 2x2)) with _taps: out[4a + b, ch,
    k] = sum over tiles t of V[a, b][t, ch] Ed[a, b][t, k], V[a, b] = Z[a, zi, :, lo:lo + C] as
    products reads it and Ed[a, b] = Ed[a, zi, :, lo':lo' + F] likewise (Ed 4 x 3 x T x 2F). Its
    "pixels" are 6 (4, 2, 1) channels of one tile (pstep 1), its reduction runs over the tiles
    (kh = T, rstep = Z's 2C per tile; kw = c = 1, the weights' step 2F), its 16 filters are Ed's.
    Z 4 x 3 x T x 2C, out 16 x C x F, float32, F a multiple of 16. It calls _row as a jitted callee,
    not through its address like the others: inlined, with its channel and column loops of one
    (kw = c = 1) known constants, the products ran 15-25 % faster than through the address (one
    thread, 64-256 channels; docs/performance.md, h_cold3), worth its own compile of _row's code
    (only networks with Winograd's filter gradient, from 64 channels, compile it)."""
    t = Z.shape[2]
    c = Z.shape[3] // 2
    f = Ed.shape[3] // 2
    zf = Z.reshape(-1)
    ef = Ed.reshape(-1)
    of = out.reshape(-1)
    acc = np.empty(_ACC, np.float32)
    zero, one = f - f, f - f + 1   # integer variables, not literals (one compile of _row)
    for b in range(4):
        zi = b if b < 3 else 0
        half = 1 if b == 3 else 0
        for a in range(4):
            k = a * 4 + b
            _row(acc, zf, (a * 3 + zi) * t * 2 * c + half * c, k * c * f, f, one, one, t, one, 2 * c, zero, ef,
                 (a * 3 + zi) * t * 2 * f + half * f, 2 * f, f, c, of)


def weights(w, cache=None):
    """The F x C x FH x FW weights as (FH*FW*C) x Fp float32 (rows tap-major, channel-minor; F
    padded with zero columns to Fp, a multiple of 16); kept in ``cache`` (a dict held with these
    weights, or None) under the key ("direct", shape)."""
    key = ("direct", w.shape)
    if cache is not None and key in cache:
        return cache[key]
    f, c, kh, kw = w.shape
    fp = -(-f // 16) * 16
    wt = np.zeros((kh * kw * c, fp), np.float32)
    wt[:, :f] = w.transpose(2, 3, 1, 0).reshape(kh * kw * c, f)
    if cache is not None:
        cache[key] = wt
    return wt


def eligible(dtype, groups):
    """Whether direct_forward computes this pixel-major forward (float32, one group)."""
    return groups == 1 and np.dtype(dtype) == np.float32


def direct_forward(x, wt, f, kh, kw, bias, sh, sw, dh, dw, pt, pb, pl, pr, pv, oh, ow, relu, x_nhwc, shape,
                   residual=None, ceiling=np.inf, from_rows=None):
    """The convolution of x (N x C x H x W, or ``x_nhwc``: N x H x W x C; ``shape`` the N x C x H x
    W it stands for; float32) with the weights ``wt`` (weights(w)) of ``f`` filters kh x kw,
    padded pt, pb, pl, pr with the constant pv: y N x OH x OW x F, + bias, + ``residual`` (N x OH
    x OW x F, added before the activation), then ReLU (``relu``), clipped at ``ceiling`` (6: ReLU6).
    ``from_rows`` (conv._from_rows, as winograd_forward's to_rows; no residual): y N x F x OH x OW
    instead, each chunk's rows transposed by it while they are in cache (a transpose of the whole
    y afterwards read y back from memory: 1.96 ms against 0.71 ms warm at batch 128, 16 -> 32
    channels at 16 x 16)."""
    n, c, h, wd = shape
    dt = np.dtype(np.float32)
    hp, wp = h + pt + pb, wd + pl + pr
    p = oh * ow
    y_nchw = from_rows is not None
    y, y2, y3 = forward_output("direct_forward", n, f, oh, ow, dt, from_rows, residual)
    xs = np.ascontiguousarray(x.reshape(n, h * wd, c) if x_nhwc else x.reshape(n, c, h * wd))
    brow = np.tile(np.zeros(f, dt) if bias is None else bias.astype(dt), ow)
    res2 = residual.reshape(n * p, f) if residual is not None else np.zeros((0, f), dt)
    act = 0 if not relu else 1 if ceiling == np.inf else 2
    hi = dt.type(min(ceiling, np.finfo(dt).max))
    pvx = dt.type(pv)
    sub = max(1, min(8, -(-n // _threads())))
    res0 = res2[:0] if residual is not None else res2
    pad = _pad_rows if x_nhwc else _pad_planes
    if (id(_row), id(ROW_SIG)) not in _addresses:
        # this process's first call: _chunk compiles (or loads) before _row (no observations: it
        # runs nothing and calls no _row), so that a cold start's compile helper process
        # (train/compiling.py, which compiles _row first) takes _row's compile meanwhile
        _chunk(0, 0, np.empty(_ACC, dt), xs[:0], h, wd, pt, pl, pvx, np.empty((hp, wp, c), dt), wt, kh, kw, sh, sw,
               dh, dw, oh, ow, brow, res0, act, hi, np.empty((0, f), dt))
    rowp, padp = row_address(), address(pad, PAD_SIG)
    none, inf = np.zeros(0, dt), dt.type(np.inf)

    def work(chunks):
        xp = _workspace((hp, wp, c), dt, "dxp")
        acc = np.empty(_ACC, dt)
        rows = _workspace((sub * p, f), dt, "dyr") if y_nchw else None
        for s0, s1 in chunks:
            yr = rows[:(s1 - s0) * p] if y_nchw else y2[s0 * p:s1 * p]
            _chunk(rowp, padp, acc, xs[s0:s1], h, wd, pt, pl, pvx, xp, wt, kh, kw, sh, sw, dh, dw, oh, ow, brow,
                   res2[s0 * p:s1 * p] if residual is not None else res2, act, hi, yr)
            if y_nchw:
                from_rows(yr, none, False, inf, y3[s0:s1])

    _batch_parallel(work, n, sub)
    return y


# -- the filter gradient on the same micro-kernel ----------------------------------------------
# dW[a, b, c, f] = sum over observations and output pixels (i, j) of x[c, i + a*dh - pt,
# j + b*dw - pl] * dy[i, j, f] (stride 1) is _row's product with the roles renamed: its "pixels"
# are 6 (4, 2, 1) input channels (pstep = one padded plane), its reduction runs over the output
# rows (kh = OH, rstep = a padded row) and columns (c = OW, unit stride in the channel-major
# plane), and its 16 filters are dy's pixel-major rows (fp = F, a multiple of 16).
@njit(cache=True, nogil=True)
def _tap_planes(x3, h, w, kh, kw, dh, dw, pt, pl, pv, xp):
    """xp (C*kh*kw x hp x wp): plane (ch*kh + a)*kw + b = one channel-major observation x3's
    channel ch (C x h*w) read at [i + a*dh - pt, j + b*dw - pl], pv outside x (padding of either
    sign). kh = kw = 1: the padded copy of each channel. Each row in three loops (the padding on
    either side, the copied run between), which vectorize: one loop with the bounds test per value
    took 2.7x as long for 27 planes of 32 x 32."""
    _, hp, wp = xp.shape
    c = x3.shape[0]
    for ch in range(c):
        for a in range(kh):
            for b in range(kw):
                plane = xp[(ch * kh + a) * kw + b]
                top = pt - a * dh
                lft = pl - b * dw
                j0 = min(max(lft, 0), wp)        # the first column read from x
                j1 = min(max(lft + w, j0), wp)   # one past the last
                for i in range(hp):
                    hi = i - top
                    row = plane[i]
                    if hi < 0 or hi >= h:
                        for j in range(wp):
                            row[j] = pv
                        continue
                    for j in range(j0):
                        row[j] = pv
                    src = x3[ch, hi * w + j0 - lft:hi * w + j1 - lft]
                    dst = row[j0:j1]
                    for j in range(j1 - j0):
                        dst[j] = src[j]
                    for j in range(j1, wp):
                        row[j] = pv


@njit(cache=True, nogil=True)
def _dw_chunk(xs, h, w, pt, pl, pv, xp, dyr, kh, kw, dh, dw, oh, ow, fold, tmp, out):
    """out (kh*kw x C x F) += the filter gradient of the observations xs (m x C x h*w,
    channel-major) against dyr (m*oh*ow x F, pixel-major rows of dy), stride 1; xp (C x hp x wp)
    and tmp (C x F) are workspaces. ``fold`` (few channels: a network's first convolution): the
    taps are folded into the planes instead, xp (C*kh*kw x oh x ow) one plane per (channel, tap),
    tmp (C*kh*kw x F) and out (1 x C*kh*kw x F), rows (c, a, b): one run of _row over all of them,
    whose pixel blocks (6 at a time) then stay full (per tap, 3 channels ran as 2 + 1 at a
    fraction of the speed). It calls _row (and _tap_planes) as jitted callees, not through their
    addresses: inlined with kw = 1 known, conv_backward's dW ran 2-5 % faster at batch 32
    (docs/performance.md, h_cold3), worth the compile of its own copy (about 0.3 s)."""
    m = xs.shape[0]
    npl, hp, wp = xp.shape
    f = dyr.shape[1]
    p = oh * ow
    xf = xp.reshape(-1)
    dyf = dyr.reshape(-1)
    tf = tmp.reshape(-1)
    acc = np.empty(_ACC, np.float32)
    zero, one = f - f, f - f + 1   # integer variables, not literals: _row's callers type it alike (one compile)
    taps = 1 if fold else kh * kw
    for i0 in range(m):
        if fold:
            _tap_planes(xs[i0], h, w, kh, kw, dh, dw, pt, pl, pv, xp)
        else:
            _tap_planes(xs[i0], h, w, one, one, one, one, pt, pl, pv, xp)
        for t in range(taps):
            a = t // kw
            b = t - a * kw
            _row(acc, xf, a * dh * wp + b * dw, zero, f, hp * wp, ow, oh, one, wp, zero, dyf, i0 * p * f, f, f, npl,
                 tf)
            o = out[t]
            for ch in range(npl):
                orow = o[ch]
                trow = tmp[ch]
                for k in range(f):
                    orow[k] += trow[k]


def dw_eligible(dtype, f, sh, sw):
    """Whether direct_dw computes this filter gradient: float32, stride 1, F a multiple of 16."""
    return np.dtype(dtype) == np.float32 and f % 16 == 0 and sh == sw == 1
