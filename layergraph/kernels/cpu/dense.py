"""Fully connected layer (MATLAB fullyConnectedLayer), numpy BLAS products.

x is N x In (or N x C x H x W, read as its row-major (C, H, W) flatten, which is the order
conventions.fc_weights_to_internal prepares the weights for); w Out x In; b (Out,) or None.
  fc_forward(x, w, b, relu=False, ceiling=inf) -> y (N x Out); relu: max(y, 0) (min(., ceiling)), fused
  fc_backward(dy, x, w, need_dx=True, relu_out=None, ceiling=inf) -> (dx (shape of x), dw (Out x In),
      db (Out,)); dx None when need_dx is False (the executor's call for a layer on the network
      input); relu_out: the fused forward's y, dy given at the ReLU's output (its mask applied
      first: dy where 0 < y < ceiling, else 0; the executor's fc -> ReLU training fusion)

A chain's float32 forward of at most 128 observations runs as y^T = W x^T on direct.py's
register-blocked kernel instead of BLAS (_wx_rows; see "small batches" below).

The batch is split over the kernels' thread pool with a single-threaded BLAS in each thread
(_parallel.py): a multi-threaded OpenBLAS product here left OpenBLAS's threads spinning into
the next kernels of a training step, which made the whole step up to 1.7x slower on the
2-core benchmark machine when anything else was running.
"""
from __future__ import annotations

import contextlib
import itertools
import threading
import time

import numpy as np
from numba import njit

from . import _parallel
from ._parallel import batch_parallel, blas_threads
from .direct import _taps
from ._util import as_float, like, out_empty, relu_ceiling, relu_mask_top
from .combine import masked_copies

# fewer rows per thread than this: one thread does it all. Two threads on 16 rows each (batch 32)
# cost 2-3x the CPU time of one thread on all 32 (two single-threaded OpenBLAS products at once,
# and the hand-off; measured 2026-12-04 on the 784-512-512-10 MLP's layers, docs/performance.md)
_MIN_ROWS = 64


@njit(cache=True, nogil=True)
def _bias_act_rows(y, b, relu, hi):
    """y (N x Out) += b (when it has Out entries), then max(y, 0) when relu (ReLU's rule: NaN
    gives 0), and min(., hi) (a clipped ReLU's ceiling; inf for ReLU): the fused epilogue, in
    place, on a block of rows while it is in cache."""
    m, f = y.shape
    has_b = b.shape[0] == f
    z = y.dtype.type(0)
    for i in range(m):
        row = y[i]
        if has_b:
            for k in range(f):
                row[k] = row[k] + b[k]
        if relu:
            for k in range(f):
                t = row[k]
                t = t if t > z else z
                row[k] = t if t < hi else hi


@njit(cache=True, nogil=True)
def _relu_mask_sums(dy, yr, top, d, db):
    """d = dy where 0 < yr <= top, else 0 (the fused ReLU's backward, as combine._masked_copies),
    and db = d's column sums, row after row as numpy's ``d.sum(axis=0)`` adds them (from 0, so a
    column of -0.0 sums to 0.0 as there), in one pass over N x Out rows."""
    m, f = dy.shape
    z = dy.dtype.type(0)
    db[:] = z
    for i in range(m):
        sg, sy, sd = dy[i], yr[i], d[i]
        for k in range(f):
            v = sg[k] if (sy[k] > z and sy[k] <= top) else z
            sd[k] = v
            db[k] = db[k] + v


def _epilogue(y, bias, relu, hi):
    """The bias (and the ReLU, clipped at hi): numpy's addition without a ReLU, as before the
    fusion, so that a network without fc -> relu compiles nothing more on its first run."""
    if relu:
        _bias_act_rows(y, bias, True, hi)
    elif bias.size:
        y += bias


def _x2(x, w, name):
    x = as_float(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected N x In data, got shape {x.shape}.")
    x2 = x.reshape(x.shape[0], -1)
    w = like(w, x, "w")
    if w.ndim != 2 or w.shape[1] != x2.shape[1]:
        raise ValueError(f"{name}: weights {w.shape} do not fit input size {x2.shape[1]} (expected Out x In).")
    return x, x2, w


# -- small batches: the products on direct.py's register-blocked kernel (_taps) -----------------------
# At batch 32, OpenBLAS's single-threaded sgemm of x W^T ran at 55-72 GFLOP/s on the 2-core VM (it
# packs W, the large operand, in every call); direct.py's kernel, given y^T = W x^T (W's rows as its
# "pixels", 6 of them broadcast against 16 columns of x^T per step, 12 accumulators in registers),
# ran the 784 -> 512 and 512 -> 512 layers at 72-99 GFLOP/s on one thread, W read as it is stored:
# nothing packed or kept (docs/performance.md, session 19). The batch goes through in blocks of 16
# observations, each block's x^T (K x 16) and y^T (Out x 16) contiguous: the MLP's chain ran faster
# than OpenBLAS's up to batch 128 (1.29 against 1.59 ms there, split over 2 threads) and level at
# 256 and 512, so float32 batches of at most _WX_MAX_ROWS rows into at least _WX_MIN_OUT outputs
# take this route (_wx_ok; WX = False: BLAS). Every output element is one sum over the inputs in
# their order, whoever computes it, so the result does not depend on the split. A chain of layers
# stays transposed between its layers (each layer's y^T the next one's x^T); split over the pool by
# blocks, each thread its blocks through every layer. Only a chain (lists of weights, the
# executor's prediction program; a list of one too) takes it: one layer at a time, as training's
# forward calls it, paid a transpose in and out and a hand-off per layer and made the MLP's
# training step 1.09-1.21x slower (ab.py, session 19).
WX = True
_WX_MAX_ROWS = 128
_WX_MIN_OUT = 128
_WX_BLOCK = 16   # observations a block: _taps's vector of 16 float32


@njit(cache=True, nogil=True)
def _wx_rows(w, xt, bias, relu, hi, yt):
    """yt = act(w @ xt + bias[:, None]): w Out x K, xt K x Np, yt Out x Np (float32, C-contiguous,
    Np a multiple of 16; the chain's blocks: Np = 16), bias (Out,) or empty; act: ReLU (NaN gives
    0) clipped at hi when relu, else none. Blocks of 6, 4, 2, 1 rows of w, each against 16 columns
    at a time (_taps: the block's accumulators in registers through the K inputs), each block's
    bias and ReLU while it is in cache."""
    out, k = w.shape
    npad = xt.shape[1]
    wf = w.reshape(-1)
    xf = xt.reshape(-1)
    yf = yt.reshape(-1)
    has_b = bias.shape[0] > 0
    z = yt.dtype.type(0)
    r = 0
    while r < out:
        left = out - r
        # 7 or 8 rows left as 4 + 2 + 1 or 4 + 4 (a block of 1 or 2 runs at a fraction of the speed)
        m = 6 if (left >= 9 or left == 6) else (4 if left >= 4 else (2 if left >= 2 else 1))
        for n0 in range(0, npad, 16):
            if m == 6:
                _taps(6, yf, r * npad + n0, npad, wf, r * k, k, k, 1, 1, 0, 0, xf, n0, npad)
            elif m == 4:
                _taps(4, yf, r * npad + n0, npad, wf, r * k, k, k, 1, 1, 0, 0, xf, n0, npad)
            elif m == 2:
                _taps(2, yf, r * npad + n0, npad, wf, r * k, k, k, 1, 1, 0, 0, xf, n0, npad)
            else:
                _taps(1, yf, r * npad + n0, npad, wf, r * k, k, k, 1, 1, 0, 0, xf, n0, npad)
        for i in range(r, r + m):
            row = yt[i]
            if has_b:
                b = bias[i]
                for q in range(npad):
                    row[q] = row[q] + b
            if relu:
                for q in range(npad):
                    t = row[q]
                    t = t if t > z else z
                    row[q] = t if t < hi else hi
        r += m


@njit(cache=True, nogil=True)
def _transpose(a, out, r0, r1, c0, c1):
    """out[i, j] = a[j, i] for r0 <= i < r1, c0 <= j < c1 (the rest of out untouched), in blocks of
    16 rows of out: each of a's rows read a cache line at a time, the block's rows of out in L1.
    (Reading a's column for each row of out ran into cache-set conflicts when a's rows are a
    multiple of 4 KB apart: 250 us for the seed CNN's 32 x 2048 input, 16 this way.)"""
    for i0 in range(r0, r1, 16):
        i1 = min(i0 + 16, r1)
        for j in range(c0, c1):
            src = a[j]
            for i in range(i0, i1):
                out[i, j] = src[i]


def _wx_ok(x2, out):
    """Whether a forward of x2 whose first layer has ``out`` outputs takes the transposed route:
    float32, 1 to _WX_MAX_ROWS rows, and at least _WX_MIN_OUT outputs, so that the product, not
    the transposes of x in and y out, is the cost (a classifier head of 10 outputs on 2048
    features: 50 us through BLAS, 85-250 us for x^T alone, its rows 8 KB apart)."""
    return WX and x2.dtype == np.float32 and 0 < x2.shape[0] <= _WX_MAX_ROWS and out >= _WX_MIN_OUT


def _wx_buffer(shape):
    """A float32 array of ``shape`` starting on a 64-byte boundary, so that a row of 16 values is
    one cache line (numpy's 16-byte alignment split them over two: 5-8 % slower)."""
    size = int(np.prod(shape))
    buf = np.empty(size + 16, np.float32)
    a = (-buf.ctypes.data // 4) % 16
    return buf[a:a + size].reshape(shape)


def _split(n):
    # one thread in the pool: 1, so that the product runs under blas_threads(1) (batch_parallel on
    # one thread does not hold BLAS: OpenBLAS's own threads then ran, and spun, at NUMBA_NUM_THREADS=1)
    return max(1, min(n, n // _MIN_ROWS, _parallel.threads()))


# Below _MIN_ROWS rows per thread, a forward product of at least this many multiply-adds is split
# over the output columns instead (each thread one single-threaded product of all the rows with
# its share of W's rows), and so is the backward's at any batch (_backward_columns): batch 32 of a
# 784 -> 512 layer is 12.8 M; a 512 -> 10 layer (82 k at batch 16) is not worth a hand-off.
_MIN_COLUMN_WORK = 1 << 22


# OpenBLAS runs a product of at most this many multiply-adds (m n k) on one thread whatever its
# thread count (interface/gemm.c: SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4), so
# holding it at one thread there only costs the hold: two set_num_threads calls through
# threadpoolctl, 10-20 us (a 512 -> 10 layer at batch 32 is an 11 us product).
_BLAS_SERIAL_WORK = 1 << 18


_UNHELD = contextlib.nullcontext()


def _hold(work):
    """blas_threads(1) for a product of ``work`` multiply-adds, nothing below _BLAS_SERIAL_WORK."""
    return _UNHELD if work <= _BLAS_SERIAL_WORK else blas_threads(1)


def _split_columns(n, out, k):
    return _parallel.threads() > 1 and out >= 64 and n * out * k >= _MIN_COLUMN_WORK


def fc_forward(x, w, b, relu=False, ceiling=np.inf, softmax=False):
    """``relu=True``: max(x W^T + b, 0) in the same pass (the executor's prediction fusion of a
    following reluLayer), the bias and the ReLU applied to each block of rows while it is in
    cache (_bias_act_rows); a ``ceiling`` (> 0) clips it there too (a clippedReluLayer's).
    ``w`` a list (or tuple) of weights: layers one after another (``b``, ``relu``, ``ceiling``
    lists of as many), each layer's y the next one's x (_chain_forward); -> the last one's y, or
    with ``softmax`` (a chain only) the softmax of it over its columns (softmax.py's kernel on
    each thread's rows: softmax_forward's numbers)."""
    if isinstance(w, (list, tuple)):
        return _chain_forward(x, w, b, relu, ceiling, softmax)
    if softmax:
        raise ValueError("fc_forward: softmax=True takes a chain (lists of weights, biases, relu flags and ceilings).")
    x, x2, w = _x2(x, w, "fc_forward")
    n = x2.shape[0]
    y = np.empty((n, w.shape[0]), x.dtype)
    bias = np.zeros(0, x.dtype) if b is None else like(b, x, "b", (w.shape[0],))
    relu = bool(relu)
    top = x.dtype.type(relu_ceiling("fc_forward", ceiling))

    def work(chunks):
        for lo, hi in chunks:
            np.matmul(x2[lo:hi], w.T, out=y[lo:hi])
            _epilogue(y[lo:hi], bias, relu, top)

    def cols(chunks):   # output columns lo:hi of every row
        for lo, hi in chunks:
            np.matmul(x2, w[lo:hi].T, out=y[:, lo:hi])

    if _split(n) > 1:
        batch_parallel(work, n)
    elif _split_columns(n, w.shape[0], x2.shape[1]):
        batch_parallel(cols, w.shape[0], -(-w.shape[0] // _parallel.threads()))
        _epilogue(y, bias, relu, top)   # on the whole of y: a few microseconds, and one compiled signature
    else:
        with _hold(n * w.shape[0] * x2.shape[1]):   # a multi-threaded OpenBLAS here spins against the next kernels
            work([(0, n)])
    return y


# A chain of layers whose batch is split by rows takes each thread's rows through every layer:
# one hand-off for the chain instead of one per layer (and no Python of one layer between the
# threads' products). At batch 32 of the 784-512-512-10 MLP, 16 rows a thread, where the
# per-layer split is by columns: 513 against 595 us for the three layers on a quiet machine
# (docs/performance.md, h_pred2), though a 16-row product costs 0.6 of a 32-row one.
_CHAIN_MIN_ROWS = 8
# The row split pays only where the pool's worker runs at once beside the caller (an idle core).
# On a busy machine it started late or not at all (then the caller ran both halves as 16-row
# products: 1.12x the CPU time of one thread on all 32 rows, load 2.4-3.0), so a BLAS split of
# fewer than _MIN_ROWS rows a thread whose worker began its rows more than _CHAIN_LATE seconds
# after the hand-off (about 20 us on the idle 2-core Zen 2 VM), or any split whose worker took
# none, sends the chains of the next _CHAIN_BACKOFF seconds to one thread (whole batch, one
# product a layer); then the split is tried again. (Lateness counted at any size, session 19's
# Zen 3 VM, whose worker woke 64-150 us after the hand-off, ran batch 128's split, 64 rows a
# thread, on one thread most of the time: 2.4 ms against 1.6 with the split.) Each failed try in
# a row doubles that time, up to _CHAIN_BACKOFF_MAX (a machine that stays busy pays for fewer
# tries); one that succeeds sets it back. A worker that has slept longer than _CHAIN_COLD seconds
# (after a back-off, or between a user's calls) may wake late on an idle machine too (a halted
# vCPU): its try is not counted, so that the back-off does not keep itself going on a quiet machine.
_CHAIN_LATE = 100e-6
_CHAIN_BACKOFF = 0.1
_CHAIN_BACKOFF_MAX = 1.6
_CHAIN_COLD = 2e-3
_chain_serial_until = [0.0]
_chain_backoff = [_CHAIN_BACKOFF]
_chain_last_split = [0.0]   # when the last split chain ended


def _chain_tried(ok, began=None):
    """After a split chain that began at ``began`` (perf_counter): back to one thread for a while
    when it did not pay, unless the pool had been idle (see above)."""
    now = time.perf_counter()
    cold = began is not None and began - _chain_last_split[0] > _CHAIN_COLD
    _chain_last_split[0] = now
    if ok:
        _chain_backoff[0] = _CHAIN_BACKOFF
        return
    if cold:
        return
    _chain_serial_until[0] = now + _chain_backoff[0]
    _chain_backoff[0] = min(2 * _chain_backoff[0], _CHAIN_BACKOFF_MAX)


def _chain_forward(x, ws, bs, relus, ceilings, softmax=False):
    """fc_forward of layers one after another (see fc_forward). A chain of at least
    _MIN_COLUMN_WORK multiply-adds is split over the pool in one hand-off: by rows (each thread
    its rows through all the layers, at least _CHAIN_MIN_ROWS of them), or with CHAIN_COLUMNS by
    output columns, the threads waiting for each layer's columns (_chain_columns); after a
    late worker the next _CHAIN_BACKOFF seconds of chains run on one thread, BLAS held at one
    thread once for the chain, as a small one always does. ``softmax``: the last layer's rows go
    through softmax.py's kernel too, in the thread that made them (by rows; after the split by
    columns, in the caller), into a new array that is returned (the executor's prediction program,
    a network's softmaxLayer after its fully connected layers: one op call and its checks less).
    A float32 batch of at most _WX_MAX_ROWS rows into a first layer of _WX_MIN_OUT outputs or more
    runs transposed (_wx_rows), 16 observations a block, the blocks split over the pool, no BLAS."""
    k = len(ws)
    if not (k and len(bs) == k and len(relus) == k and len(ceilings) == k):
        raise ValueError(f"fc_forward: a chain takes as many biases, relu flags and ceilings as weights "
                         f"({k}); got {len(bs)}, {len(relus)}, {len(ceilings)}.")
    x, x2, w0 = _x2(x, ws[0], "fc_forward")
    n = x2.shape[0]
    wx = _wx_ok(x2, w0.shape[0])   # the layers transposed (y^T = W x^T on _wx_rows), 16 observations a block
    specs, width, work_total = [], x2.shape[1], 0
    for w, b, r, c in zip(ws, bs, relus, ceilings):
        w = like(w, x, "w")
        if w.ndim != 2 or w.shape[1] != width:
            raise ValueError(f"fc_forward: weights {w.shape} do not fit input size {width} (expected Out x In).")
        bias = np.zeros(0, x.dtype) if b is None else like(b, x, "b", (w.shape[0],))
        specs.append((w, bias, bool(r), x.dtype.type(relu_ceiling("fc_forward", c))))
        work_total += n * w.shape[0] * width
        width = w.shape[0]
    if wx:   # x^T and every layer's y^T in one aligned buffer, _WX_BLOCK observations a block: block
        # b's x^T (K x 16) and each layer's y^T (Out x 16) contiguous, at row offsets ``outs`` (one x^T
        # of all columns read 16 at a time used a fraction of L1's sets: rows 512 B apart at batch 128)
        blocks = -(-n // _WX_BLOCK)
        buf = _wx_buffer((blocks, x2.shape[1] + sum(sp[0].shape[0] for sp in specs), _WX_BLOCK))
        outs, at = [], x2.shape[1]
        for sp in specs:
            outs.append(at)
            at += sp[0].shape[0]
    else:
        outs = [np.empty((n, sp[0].shape[0]), x.dtype) for sp in specs]
    layers = [sp + (o,) for sp, o in zip(specs, outs)]
    y = np.empty((n, width), x.dtype) if wx else layers[-1][-1]
    sm = None
    if softmax:
        from .softmax import _softmax_f
        sm = np.empty_like(y)
        y3, sm3 = y.reshape(n, width, 1), sm.reshape(n, width, 1)   # softmax_forward's N x C x 1

    def work(chunks):
        start = None
        for lo, hi in chunks:
            if start is None:
                start = time.perf_counter()
            if wx:   # observations lo:hi (one block's, lo a multiple of _WX_BLOCK) through every layer
                blk, m = buf[lo // _WX_BLOCK], hi - lo
                h = blk[:x2.shape[1]]
                if m < _WX_BLOCK:
                    h[:, m:] = 0
                _transpose(x2[lo:hi], h, 0, h.shape[0], 0, m)
                for w, bias, relu, top, at in layers:
                    yt = blk[at:at + w.shape[0]]
                    _wx_rows(w, h, bias, relu, top, yt)
                    h = yt
                _transpose(h, y[lo:hi], 0, m, 0, width)
            else:
                h = x2[lo:hi]
                for w, bias, relu, top, yl in layers:
                    out = yl[lo:hi]
                    np.matmul(h, w.T, out=out)
                    _epilogue(out, bias, relu, top)
                    h = out
            if sm is not None and hi > lo:
                _softmax_f(lo, hi, y3, sm3)
        return threading.get_ident(), start

    nt = _parallel.threads()
    # the transposed chain splits by its blocks (at least two), BLAS's by _CHAIN_MIN_ROWS rows a thread
    if CHAIN_COLUMNS and not wx and nt > 1 and work_total >= _MIN_COLUMN_WORK \
            and time.perf_counter() >= _chain_serial_until[0]:
        _chain_columns(x2, layers, nt)
        if sm is not None and n:
            _softmax_f(0, n, y3, sm3)
    elif (nt > 1 and (blocks > 1 if wx else n >= 2 * _CHAIN_MIN_ROWS) and work_total >= _MIN_COLUMN_WORK
            and time.perf_counter() >= _chain_serial_until[0]):
        t = min(nt, blocks) if wx else min(nt, n // _CHAIN_MIN_ROWS)
        chunk = _WX_BLOCK if wx else -(-n // t)
        me, posted = threading.get_ident(), time.perf_counter()
        starts = [s for who, s in batch_parallel(work, n, chunk) if who != me]
        # a late worker counts against a BLAS split of small slices (the caller's two 16-row products
        # then cost 1.2x one 32-row product); on the transposed route a block costs half of two, and a
        # BLAS slice of _MIN_ROWS rows or more about half of twice as many, so there only a worker that
        # took nothing does (the hand-off was all it cost; a late one still took its slice off the caller)
        late = not wx and chunk < _MIN_ROWS
        _chain_tried(len(starts) >= t - 1 and all(s is not None and (not late or s - posted <= _CHAIN_LATE)
                                                  for s in starts), posted)
    elif wx:
        work([(lo, min(lo + _WX_BLOCK, n)) for lo in range(0, n, _WX_BLOCK)])
    else:
        with _hold(work_total):
            work([(0, n)])
    return y if sm is None else sm


CHAIN_COLUMNS = False   # the row split: faster on an idle machine (docs/performance.md, h_pred2, 14:49)
_CHAIN_WAIT_US = 200.0     # a thread spins this long for another's columns before it yields


def _chain_columns(x2, layers, nt):
    """_chain_forward's split by output columns: each layer's columns in nt slices (one, the
    whole layer, for a small one), taken on demand by the pool's threads, every thread waiting for
    all of a layer's columns before it reads them in the next layer (a spin on per-slice flags in
    compiled code, without the GIL, yielding after _CHAIN_WAIT_US). Each product keeps every row,
    which a 16-row split of batch 32 did not (0.6 of a 32-row product's time for half the work).
    A worker that took no slice of the first layer, or a wait that had to yield (a thread the OS
    set aside), sends the next chains to one thread for a while (_chain_tried)."""
    from . import _spin   # compiled (or loaded from numba's cache) on the first split chain only
    spins = _spin.spin_count(_CHAIN_WAIT_US)
    n = x2.shape[0]
    plan, base = [], 0
    for w, bias, relu, top, y in layers:
        out, k = w.shape
        parts = nt if out >= 64 and n * out * k >= _MIN_COLUMN_WORK // 4 else 1
        plan.append((w, bias, relu, top, y, parts, -(-out // parts), base, itertools.count()))
        base += parts
    flags = np.zeros((1, base + 1), np.int64)   # a slice done; the last: a thread failed
    last = len(plan) - 1
    me = threading.get_ident()

    def work(_):
        h, first, waited = x2, 0, False
        try:
            for i, (w, bias, relu, top, y, parts, size, b0, claims) in enumerate(plan):
                while True:
                    c = next(claims)   # atomic under the GIL: each slice to one thread
                    if c >= parts:
                        break
                    first += i == 0
                    lo, hi = c * size, min(w.shape[0], (c + 1) * size)
                    out = y if parts == 1 else y[:, lo:hi]
                    np.matmul(h, w[lo:hi].T, out=out)
                    _epilogue(out, bias[lo:hi] if bias.size else bias, relu, top)
                    _spin.store(flags, 0, b0 + c, 1)
                if i == last:
                    break
                for c in range(parts):
                    while not _spin.spin_until(flags, 0, b0 + c, 1, spins):
                        waited = True
                        if _spin.load(flags, 0, base):
                            raise RuntimeError("fc_forward: another thread of the chain failed.")
                        time.sleep(0)
                h = y
        except BaseException:   # the others stop waiting for this thread's slices (Ctrl-C too)
            _spin.store(flags, 0, base, 1)
            raise
        return threading.get_ident(), first, waited

    began = time.perf_counter()
    done = batch_parallel(work, nt, 1)
    _chain_tried(len(done) == nt and not any(waited or (who != me and first == 0) for who, first, waited in done),
                 began)


def fc_backward(dy, x, w, need_dx=True, relu_out=None, ceiling=np.inf):
    x, x2, w = _x2(x, w, "fc_backward")
    n = x2.shape[0]
    dy = like(dy, x, "dy", (n, w.shape[0]))
    db = None
    if relu_out is not None:   # the ReLU's backward, read from its output (in (0, ceiling) where its input is)
        top = relu_mask_top("fc_backward", ceiling, dy.dtype)
        yr = like(relu_out, dy, "relu_out", dy.shape)
        if 0 < n and dy.size < _parallel.SERIAL_BELOW:   # where masked_copies runs in this thread too: db in its pass
            d, db = np.empty_like(dy), np.empty(dy.shape[1], dy.dtype)
            _relu_mask_sums(dy, yr, top, d, db)
            dy = d
        else:
            dy = masked_copies(dy, 1, yr, top, "fc_backward")[0]
    dx = out_empty(x2.shape, x.dtype) if need_dx else None
    if db is None:
        db = dy.sum(axis=0)

    def work(chunks):
        parts = []
        for lo, hi in chunks:
            if dx is not None:
                np.matmul(dy[lo:hi], w, out=dx[lo:hi])
            parts.append((lo, dy[lo:hi].T @ x2[lo:hi]))
        return parts

    if _split_columns(n, w.shape[0], x2.shape[1]):   # any batch: no partial dW to allocate and add up
        dw = _backward_columns(dy, x2, w, dx)
        return (None if dx is None else dx.reshape(x.shape)), dw, db
    if _split(n) > 1:
        done = batch_parallel(work, n)
    else:
        with _hold(n * w.shape[0] * x2.shape[1]):
            done = [work([(0, n)])]
    parts = sorted((p for ps in done for p in ps), key=lambda q: q[0])  # a fixed order: reproducible sums
    dw = parts[0][1]
    for _, p in parts[1:]:
        dw += p
    return (None if dx is None else dx.reshape(x.shape)), dw, db


def _backward_columns(dy, x2, w, dx):
    """fc_backward's two products of a large layer, at any batch size, split by their output
    columns over the pool (a split by rows would leave each thread a partial dW to allocate and
    then add up, serially: 20 % of the 784 -> 512 layer's backward CPU time at batch 128):
    dx[:, a:b] = dy W[:, a:b] (written into dx; none when dx is None) and dW[a:b] =
    dy[:, a:b]^T x (returned), each element computed whole by one thread, so the result does not
    depend on which thread takes which slice."""
    out, k = w.shape
    dw = np.empty((out, k), dy.dtype)
    nt = _parallel.threads()
    sk, so = -(-k // nt), -(-out // nt)
    tasks = [] if dx is None else [(0, a, min(a + sk, k)) for a in range(0, k, sk)]
    tasks += [(1, a, min(a + so, out)) for a in range(0, out, so)]

    def work(chunks):
        for lo, hi in chunks:
            for which, a, b in tasks[lo:hi]:
                if which == 0:
                    np.matmul(dy, w[:, a:b], out=dx[:, a:b])
                else:
                    np.matmul(dy[:, a:b].T, x2, out=dw[a:b])

    batch_parallel(work, len(tasks), 1)
    return dw
