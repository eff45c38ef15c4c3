"""One pool of threads for the kernels that split a batch themselves (convolution, fully
connected), per-thread scratch buffers, and the BLAS thread count held at 1 while they run.

On a small machine OpenBLAS's own threads and ours slow each other down, and OpenBLAS's
workers keep spinning for a while after every multi-threaded product, taking a core from the
next numba kernel. So a kernel that calls BLAS during a training step splits the work over
this pool and calls a single-threaded BLAS in each thread (docs/performance.md)."""
from __future__ import annotations

import itertools
import os
import threading

import numpy as np

# Scratch buffers (im2col columns and the like) live only inside one call. A fresh allocation
# each call costs page faults comparable to the work itself, so each thread keeps one
# grow-only buffer per slot and dtype. Results never alias them.
_scratch = threading.local()


def workspace(shape, dtype, slot="cols"):
    size = int(np.prod(shape))
    key = slot + np.dtype(dtype).char
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        setattr(_scratch, key, buf)
    return buf[:size].reshape(shape)


_PREFIX = "layergraph-kernels"
_team = None

# LAYERGRAPH_POOL_SPIN_US (microseconds, default 0: off): a worker spins that long for its next
# job after each one, and a caller that long for its workers, before they sleep on their locks
# (_spin.py; the locks still carry the hand-off, the spin only saves the sleeping thread's wake-up).
# Off by default: with other processes on both cores a spinning team made the MLP 1.5-1.9x slower
# (docs/performance.md, h_mlp2); on a quiet machine it may pay (benchmarks/threads_ab.py, ab.py).
def _spin_us(text) -> float:
    try:
        value = float(text or 0)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise ValueError(f"LAYERGRAPH_POOL_SPIN_US must be a number of microseconds >= 0, got {text!r}.")
    return value


SPIN_US = _spin_us(os.environ.get("LAYERGRAPH_POOL_SPIN_US"))


def threads() -> int:
    import numba
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


class _Team:
    """nt - 1 daemon worker threads, each waiting on its own lock: ``run(jobs)`` runs jobs[0] on
    the calling thread and job i on worker i - 1, then returns the results in that order (a
    job's exception is raised once all have finished). A hand-off is one lock release and one
    acquire each way, where concurrent.futures' submit / result (a Future, a work queue and a
    condition per call) cost 40-70 us a call on the 2-core VM against 10-20 us here
    (docs/performance.md, h_mlp2); the threads still sleep while they wait (no spinning)."""

    def __init__(self, nt):
        self.n = nt - 1
        self.go = [threading.Lock() for _ in range(self.n)]
        self.done = [threading.Lock() for _ in range(self.n)]
        for lock in self.go + self.done:
            lock.acquire()
        self.tasks: list = [None] * self.n
        self.out: list = [None] * self.n
        self.busy = threading.Lock()   # one caller at a time
        self.sp, self.spins = None, 0
        if SPIN_US > 0:   # flags per worker: [0] jobs posted, [1] jobs done (atomic, _spin.py)
            import time

            from . import _spin
            self.sp, self.flags, self.posted = _spin, np.zeros((max(self.n, 1), 8), np.int64), [0] * self.n
            probe = np.zeros((1, 8), np.int64)
            _spin.spin_until(probe, 0, 0, 1, 16)   # compiled or loaded before the timing
            t0 = time.perf_counter()
            _spin.spin_until(probe, 0, 0, 1, 20000)
            self.spins = max(1, int(SPIN_US * 20000 / max((time.perf_counter() - t0) * 1e6, 1.0)))
        for i in range(self.n):
            threading.Thread(target=self._loop, args=(i,), name=f"{_PREFIX}_{i}", daemon=True).start()

    def _loop(self, i):
        go, done, sp, seq = self.go[i], self.done[i], self.sp, 0
        while True:
            go.acquire()
            seq += 1
            try:
                self.out[i] = (True, self.tasks[i]())
            except BaseException as err:   # handed to the caller
                self.out[i] = (False, err)
            self.tasks[i] = None
            done.release()
            if sp is not None:   # report done without the GIL, then spin for the next job's post
                sp.store_then_spin(self.flags, i, 1, seq, 0, seq + 1, self.spins)

    def run(self, jobs):
        global _team
        k, sp = len(jobs) - 1, self.sp
        for i in range(k):
            self.tasks[i] = jobs[i + 1]
            self.go[i].release()
            if sp is not None:   # after the release: a spinning worker's acquire then does not sleep
                self.posted[i] += 1
                sp.store(self.flags, i, 0, self.posted[i])
        try:
            first = (True, jobs[0]())
        except BaseException as err:
            first = (False, err)
        try:
            for i in range(k):
                if sp is not None:
                    sp.spin_until(self.flags, i, 1, self.posted[i], self.spins)
                self.done[i].acquire()
        except BaseException:   # interrupted while a worker runs: this team's locks are out of step
            if _team is self:
                _team = None
            raise
        outs = [first] + self.out[:k]
        self.out[:k] = [None] * k
        for ok, value in outs:
            if not ok:
                raise value
        return [value for _, value in outs]


def _forget_team():   # a forked child has none of the parent's threads
    global _team
    _team = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_team)


def batch_parallel(work, n, chunk=None):
    """Split range(n) over the pool (as many threads as numba uses; the calling thread is one
    of them) with BLAS held at 1 thread. Each thread runs ``work(chunks)``, where ``chunks``
    yields (lo, hi) slices of at most ``chunk`` items handed out on demand, so a thread that
    the OS sets aside on a busy machine does not hold the others back (without ``chunk``, one
    slice per thread). Returns the threads' results (their order is arbitrary). With one thread
    (numba's count at 1) BLAS is held at 1 too; a single chunk on more threads leaves BLAS alone.
    A call from one of the pool's threads, or while another thread's call has the pool, runs all
    of it on the calling thread (BLAS held at 1)."""
    global _team
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

    if t <= 1:
        if nt == 1:   # one thread asked for (NUMBA_NUM_THREADS=1): BLAS's own threads too
            with blas_threads(1):
                return [work(chunks())]
        return [work(chunks())]
    team = _team
    if team is None or team.n != nt - 1:
        team = _team = _Team(nt)
    if threading.current_thread().name.startswith(_PREFIX) or not team.busy.acquire(blocking=False):
        with blas_threads(1):
            return [work(chunks())]
    try:
        with blas_threads(1):
            return team.run([lambda: work(chunks())] * t)
    finally:
        team.busy.release()


class blas_threads:
    """Temporarily set the BLAS thread count (threadpoolctl's handles, found once). By default
    only numpy's BLAS, the one the kernels' products outside compiled code call; ``every=True``
    also holds the others loaded when they were looked up (SciPy's, which numba's ``np.dot``
    calls inside compiled code: the recurrent kernels; ``rescan`` after loading a new one).
    The default is what the other kernels had before the recurrent kernels needed SciPy's held:
    each set is a call into OpenBLAS, and only the recurrent kernels' compiled loops call SciPy's."""

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
            numpys = [lib for lib in libs if "numpy" in str(getattr(lib, "filepath", ""))]
            cls._libs = (libs, numpys or libs[:1])
        return cls._libs

    def __enter__(self):
        every, numpys = blas_threads._lookup()
        self.libs = every if self.every else numpys
        self.old = []
        for lib in self.libs:
            old = lib.num_threads
            self.old.append(old)
            if old != self.n:
                lib.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        for lib, old in zip(self.libs, self.old):
            if old != self.n:
                lib.set_num_threads(old)


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
