"""One pool of threads for the kernels that split a batch themselves (convolution, fully
connected), per-thread scratch buffers, and the BLAS thread count held at 1 while they run.

On a small machine OpenBLAS's own threads and ours slow each other down, and OpenBLAS's
workers keep spinning for a while after every multi-threaded product, taking a core from the
next numba kernel. So a kernel that calls BLAS during a training step splits the work over
this pool and calls a single-threaded BLAS in each thread (docs/performance.md)."""
from __future__ import annotations

import itertools
import math
import os
import threading

import numpy as np

# Scratch buffers (im2col columns and the like) live only inside one call. A fresh allocation
# each call costs page faults comparable to the work itself, so each thread keeps one
# grow-only buffer per slot and dtype. Results never alias them.
_scratch = threading.local()


def workspace(shape, dtype, slot="cols"):
    size = math.prod(int(s) for s in shape)   # np.prod made a ufunc reduction: 15-30 us, a few hundred times a step
    key = slot + np.dtype(dtype).char
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        setattr(_scratch, key, buf)
    return buf[:size].reshape(shape)


_PREFIX = "layergraph-kernels"


def threads() -> int:
    import numba
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _spin_us(text) -> float:
    try:
        value = float(text or 0)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise ValueError(f"LAYERGRAPH_POOL_SPIN_US must be a number of microseconds >= 0, got {text!r}.")
    return value


# LAYERGRAPH_POOL_SPIN_US (microseconds, default 0: off): a worker spins that long for its next
# job after each one, and the caller that long for a worker's result, before they sleep on the
# locks (_spin.py; the locks still carry every hand-off, the spin only saves a sleeping thread's
# wake-up). Off by default: with other processes on both cores a spinning team made the MLP's calls
# 1.1-1.9x slower (docs/performance.md, h_mlp2); on a quiet machine it may pay (threads_ab.py).
SPIN_US = _spin_us(os.environ.get("LAYERGRAPH_POOL_SPIN_US"))


class _Worker:
    """One pool thread, handed its work through two locks (``go`` released by the caller,
    ``done`` by the worker): a hand-off of about 15 us where concurrent.futures' queue, futures
    and conditions took 45-65 us of CPU time per call (docs/performance.md, session 14), and a
    training step makes a few hundred of them."""

    def __init__(self, i):
        self.go = threading.Lock()
        self.go.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job = None
        self.result = None
        self.sp = None
        if SPIN_US > 0:   # flags: [0, 0] jobs posted, [0, 1] jobs done (atomic, _spin.py)
            from . import _spin
            self.sp, self.spins = _spin, _spin.spin_count(SPIN_US)
            self.flags, self.posted = np.zeros((1, 8), np.int64), 0
        threading.Thread(target=self._run, name=f"{_PREFIX}-{i}", daemon=True).start()

    def _run(self):
        sp, seq = self.sp, 0
        while True:
            self.go.acquire()
            seq += 1
            fn, arg = self.job
            try:
                self.result = (True, fn(arg))
            except BaseException as err:   # handed to the caller, raised there
                self.result = (False, err)
            self.job = None
            self.done.release()
            if sp is not None:   # report done without the GIL, then spin for the next job's post
                sp.store_then_spin(self.flags, 0, 1, seq, 0, seq + 1, self.spins)

    def submit(self, fn, arg):
        self.job = (fn, arg)
        self.go.release()
        if self.sp is not None:   # after the release: a spinning worker's acquire then does not sleep
            self.posted += 1
            self.sp.store(self.flags, 0, 0, self.posted)

    def wait(self):
        if self.sp is not None:
            self.sp.spin_until(self.flags, 0, 1, self.posted, self.spins)
        self.done.acquire()
        ok, value = self.result
        self.result = None
        return ok, value


_workers: list = []
_workers_pid = None
# one caller at a time hands work to the pool; a second one meanwhile (another thread of the
# user's) runs its work in its own thread
_busy = threading.Lock()


def _pool_workers(k):
    """k pool threads (started on first use; again in a forked child, which has none)."""
    global _workers, _workers_pid
    if _workers_pid != os.getpid():
        _workers, _workers_pid = [], os.getpid()
    while len(_workers) < k:
        _workers.append(_Worker(len(_workers)))
    return _workers[:k]


def batch_parallel(work, n, chunk=None):
    """Split range(n) over the pool (as many threads as numba uses; the calling thread is one
    of them) with BLAS held at 1 thread. Each thread runs ``work(chunks)``, where ``chunks``
    yields (lo, hi) slices of at most ``chunk`` items handed out on demand, so a thread that
    the OS sets aside on a busy machine does not hold the others back (without ``chunk``, one
    slice per thread). Returns the threads' results (their order is arbitrary). With one thread
    (numba's count at 1) BLAS is held at 1 too; a single chunk on more threads leaves BLAS alone.
    A call while another thread of the process holds the pool runs in the calling thread alone."""
    nt = threads()
    if chunk is None:
        chunk = max(1, -(-n // nt))
    t = min(nt, -(-n // chunk))
    counter = itertools.count()

    def chunks():
        while True:
            lo = next(counter) * chunk  # atomic under the GIL: each slice goes to one thread
            if lo >= n:
                return
            yield lo, min(lo + chunk, n)

    if t <= 1 or not _busy.acquire(blocking=False):
        if nt == 1:   # one thread asked for (NUMBA_NUM_THREADS=1): BLAS's own threads too
            with blas_threads(1):
                return [work(chunks())]
        return [work(chunks())]
    try:
        with blas_threads(1):
            helpers = _pool_workers(t - 1)
            for w in helpers:
                w.submit(work, chunks())
            try:
                out = [work(chunks())]
            finally:
                done = [w.wait() for w in helpers]   # every helper has finished before anything is raised
        for ok, value in done:
            if not ok:
                raise value
            out.append(value)
        return out
    finally:
        _busy.release()


class _Direct:
    """An OpenBLAS of pthreads (or no) threading: its thread count read and set by a direct
    ctypes call into openblas_get/set_num_threads (with the build's affixes: numpy's wheel
    exports scipy_openblas_set_num_threads64_), about 0.2 us a call where threadpoolctl's
    controller took 1-2 us (its property, its symbol lookup, its controlling-thread check)."""

    __slots__ = ("get", "set", "depth", "n", "saved", "name")

    def __init__(self, get, set_, name):
        self.get, self.set, self.name = get, set_, name
        self.depth, self.n, self.saved = 0, None, None


_AFFIXES = [(p, s) for p in ("", "scipy_") for s in ("", "64_", "_64")]


def _handle(lib):
    """The hold's handle of one threadpoolctl controller: direct calls for an OpenBLAS whose
    thread count is process-wide (pthreads or no threading layer) and that exports both symbols,
    else the controller's own get / set (MKL, BLIS, an OpenMP OpenBLAS: threadpoolctl's rules)."""
    path = str(getattr(lib, "filepath", ""))
    if getattr(lib, "internal_api", None) == "openblas" and getattr(lib, "threading_layer", None) != "openmp":
        try:
            import ctypes
            # PyDLL: the calls keep the GIL (they only read or store OpenBLAS's count; 0.1 us less a call)
            dll = ctypes.PyDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
            for pre, suf in _AFFIXES:
                get = getattr(dll, f"{pre}openblas_get_num_threads{suf}", None)
                set_ = getattr(dll, f"{pre}openblas_set_num_threads{suf}", None)
                if get is not None and set_ is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    set_.restype, set_.argtypes = None, [ctypes.c_int]
                    return _Direct(get, set_, path)
        except (OSError, AttributeError):
            pass
    return _Direct(lambda: lib.num_threads, lib.set_num_threads, path)


# the holds' state (each handle's depth, held count and the count before) changes under this
# lock: OpenBLAS's count is one for the process, so two threads' holds share it (below)
_hold_lock = threading.Lock()


def _after_fork():
    global _hold_lock
    _hold_lock = threading.Lock()
    for h in blas_threads._libs[0] if blas_threads._libs is not None else ():
        h.depth, h.n, h.saved = 0, None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class blas_threads:
    """Temporarily set the BLAS thread count (the libraries found once through threadpoolctl).
    By default only numpy's BLAS, the one the kernels' products outside compiled code call;
    ``every=True`` also holds the others loaded when they were looked up (SciPy's, which numba's
    ``np.dot`` calls inside compiled code: the recurrent kernels; ``rescan`` after loading a new
    one). The default is what the other kernels had before the recurrent kernels needed SciPy's
    held: each set is a call into OpenBLAS, and only the recurrent kernels' compiled loops call
    SciPy's.

    An OpenBLAS's count is set by direct calls (_Direct: 1 us a hold where threadpoolctl's
    controllers took 4-5 us, a few holds a training step). That count is one for the process,
    so holds are counted per library: the first one saves the count and sets it, later ones of
    the same count (nested, or in another thread meanwhile) only count, and the last one out
    restores it; a hold of another count inside one sets it and restores what it found. (Through
    threadpoolctl, a second thread's set was ignored: its products ran at whatever the first
    thread held, and interleaved holds could leave the count changed.)"""

    __slots__ = ("n", "every", "libs", "rec")
    _libs = None

    def __init__(self, n, every: bool = False):
        self.n = n
        self.every = every

    @classmethod
    def rescan(cls):
        cls._libs = None

    @classmethod
    def _lookup(cls):
        if cls._libs is None:
            try:
                from threadpoolctl import ThreadpoolController
                libs = list(ThreadpoolController().select(user_api="blas").lib_controllers)
            except Exception:  # no threadpoolctl or an unknown BLAS: leave it alone
                libs = []
            handles = []
            for lib in libs:
                try:
                    handles.append(_handle(lib))
                except Exception:
                    pass
            numpys = [h for h in handles if "numpy" in h.name]
            cls._libs = (handles, numpys or handles[:1])
        return cls._libs

    def __enter__(self):
        libs = blas_threads._libs or blas_threads._lookup()
        libs = self.libs = libs[0] if self.every else libs[1]
        n = self.n
        rec = []   # per library: None, a counted hold; else (the count it found,), a hold of another count
        lock = _hold_lock
        lock.acquire()
        try:
            for h in libs:
                if h.depth == 0:
                    old = h.get()
                    h.depth, h.n, h.saved = 1, n, old
                    if old != n:
                        h.set(n)
                    rec.append(None)
                elif h.n == n:
                    h.depth += 1
                    rec.append(None)
                else:   # inside a hold of another count: set, and restore what was found
                    old = h.get()
                    if old != n:
                        h.set(n)
                    rec.append((old,))
        finally:
            lock.release()
        self.rec = rec
        return self

    def __exit__(self, *exc):
        lock = _hold_lock
        lock.acquire()
        try:
            for h, r in zip(self.libs, self.rec):
                if r is None:
                    h.depth -= 1
                    if h.depth == 0 and h.saved != h.n:
                        h.set(h.saved)
                elif r[0] != self.n:
                    h.set(r[0])
        finally:
            lock.release()


# Small work is not worth a hand-off to the pool (about 20-50 us): below this many elements the
# calling thread does it all.
SERIAL_BELOW = 1 << 15


def parallel_range(kernel, n, *args, size=None, grain=1):
    """``kernel(lo, hi, *args)`` over slices of range(n), split over the pool as batch_parallel
    splits a batch (slices of at least ``grain`` items handed out on demand, about four per
    thread). ``kernel`` is a serial ``nogil`` numba function, so the threads run it at once.
    This takes the place of ``parallel=True`` / ``prange`` in the kernels that training runs
    first: a parfor kernel costs about 3x the compile time of the same loop compiled serially
    (0.7-3 s each; docs/performance.md), and each slice computes exactly what the prange
    iteration did, so the results do not change. ``size`` (the elements touched; default n)
    below SERIAL_BELOW runs in the calling thread, and so does a call from one of the pool's own
    threads (waiting there for the pool could leave no thread to do the work)."""
    if n <= 0:
        return
    nt = threads()
    if (nt <= 1 or (n if size is None else size) < SERIAL_BELOW or n <= grain
            or threading.current_thread().name.startswith(_PREFIX)):
        kernel(0, n, *args)
        return
    chunk = max(grain, -(-n // (4 * nt)))

    def work(chunks):
        for lo, hi in chunks:
            kernel(lo, hi, *args)

    batch_parallel(work, n, chunk)
