"""One pool of threads for the kernels that split a batch themselves (convolution, fully
connected), per-thread scratch buffers, and the BLAS thread count held at 1 while they run.

On a small machine OpenBLAS's own threads and ours slow each other down, and OpenBLAS's
workers keep spinning for a while after every multi-threaded product, taking a core from the
next numba kernel. So a kernel that calls BLAS during a training step splits the work over
this pool and calls a single-threaded BLAS in each thread (docs/performance.md)."""
from __future__ import annotations

import atexit
import itertools
import os
import threading
import time

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


_pool = None
_team = None
_PREFIX = "layergraph-kernels"

# The pool hands work to its threads through a spinning team (_Team: each worker waits for a task
# in a compiled nogil loop for IDLE_SPIN_US after its last one, then sleeps on an Event), not a
# ThreadPoolExecutor, whose condition-variable hand-off cost 50-60 us a call on the 2-core VM
# (a 784 -> 512 product at batch 32, split by columns, is 190 us a half; docs/performance.md,
# h_mlp2). LAYERGRAPH_SPIN=0 in the environment: the ThreadPoolExecutor, as before.
SPIN = os.environ.get("LAYERGRAPH_SPIN", "1") != "0"
IDLE_SPIN_US = 300      # how long an idle worker spins before it sleeps
WAIT_SPIN_US = 1000     # the caller's spin while it waits, between two os.sched_yield()


def threads() -> int:
    import numba
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


class _Team:
    """nt - 1 daemon threads; ``run(jobs)`` runs jobs[0] on the calling thread and job i on
    worker i - 1, and returns their results (an exception of any job is raised, after all have
    finished). Per worker, an int64 row of flags: [0] the task count posted, [1] the count done,
    [2] 1 while it sleeps. Accessed atomically (_spin.py); a worker's task and result travel in
    Python lists, under the GIL."""

    def __init__(self, nt):
        from . import _spin
        self.sp = _spin
        self.n = nt - 1
        self.flags = np.zeros((max(self.n, 1), 8), np.int64)
        self.tasks: list = [None] * self.n
        self.out: list = [None] * self.n
        self.posted = [0] * self.n
        self.wake = [threading.Event() for _ in range(self.n)]
        self.lock = threading.Lock()
        probe = np.zeros((1, 8), np.int64)
        _spin.spin_until(probe, 0, 0, 1, 16)   # compiled (or loaded) before the timing
        t0 = time.perf_counter()
        _spin.spin_until(probe, 0, 0, 1, 20000)
        per_us = 20000 / max((time.perf_counter() - t0) * 1e6, 1.0)
        self.idle_spins = max(1000, int(IDLE_SPIN_US * per_us))
        self.wait_spins = max(1000, int(WAIT_SPIN_US * per_us))
        self.threads = [threading.Thread(target=self._loop, args=(i,), name=f"{_PREFIX}_{i}", daemon=True)
                        for i in range(self.n)]
        for t in self.threads:
            t.start()

    def _loop(self, i):
        sp, flags, seq = self.sp, self.flags, 0
        while True:
            # report the last task done (flags[i, 1] = seq) and spin for the next, in one nogil call
            if not sp.store_then_spin(flags, i, 1, seq, 0, seq + 1, self.idle_spins):
                sp.store(flags, i, 2, 1)
                if sp.load(flags, i, 0) != seq + 1:   # nothing posted since the spin: sleep
                    self.wake[i].wait()
                    self.wake[i].clear()
                sp.store(flags, i, 2, 0)
                continue
            seq += 1
            fn, self.tasks[i] = self.tasks[i], None
            if fn is None:   # stop()
                sp.store(flags, i, 1, seq)
                return
            try:
                self.out[i] = (True, fn())
            except BaseException as err:   # handed to the caller
                self.out[i] = (False, err)

    def _post(self, i, fn):
        self.tasks[i] = fn
        self.posted[i] += 1
        self.sp.store(self.flags, i, 0, self.posted[i])
        if self.sp.load(self.flags, i, 2):
            self.wake[i].set()

    def _wait(self, i):
        while not self.sp.spin_until(self.flags, i, 1, self.posted[i], self.wait_spins):
            os.sched_yield()

    def run(self, jobs):
        k = len(jobs) - 1
        for i in range(k):
            self._post(i, jobs[i + 1])
        try:
            first = (True, jobs[0]())
        except BaseException as err:
            first = (False, err)
        finally:
            for i in range(k):
                self._wait(i)
        outs = [first] + self.out[:k]
        self.out[:k] = [None] * k
        for ok, value in outs:
            if not ok:
                raise value
        return [value for _, value in outs]

    def stop(self):
        with self.lock:
            for i in range(self.n):
                self._post(i, None)
            for i in range(self.n):
                self._wait(i)
        for t in self.threads:
            t.join(1.0)


def _stop_team():
    global _team
    team, _team = _team, None
    if team is not None:
        team.stop()


def _forget_team():   # a forked child has none of the parent's threads
    global _team, _pool
    _team = _pool = None


atexit.register(_stop_team)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_team)


def batch_parallel(work, n, chunk=None):
    """Split range(n) over the pool (as many threads as numba uses; the calling thread is one
    of them) with BLAS held at 1 thread. Each thread runs ``work(chunks)``, where ``chunks``
    yields (lo, hi) slices of at most ``chunk`` items handed out on demand, so a thread that
    the OS sets aside on a busy machine does not hold the others back (without ``chunk``, one
    slice per thread). Returns the threads' results (their order is arbitrary). With one thread
    (numba's count at 1) BLAS is held at 1 too; a single chunk on more threads leaves BLAS alone.
    A call from one of the pool's threads, or while another thread's call has the team, runs
    all of it on the calling thread."""
    global _pool, _team
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
    if SPIN:
        if threading.current_thread().name.startswith(_PREFIX):
            with blas_threads(1):
                return [work(chunks())]
        team = _team
        if team is None or team.n != nt - 1:
            if team is not None:
                _stop_team()
            team = _team = _Team(nt)
        if not team.lock.acquire(blocking=False):   # another thread's call has it
            with blas_threads(1):
                return [work(chunks())]
        try:
            with blas_threads(1):
                return team.run([lambda: work(chunks())] * t)
        finally:
            team.lock.release()
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(nt, thread_name_prefix=_PREFIX)
    with blas_threads(1):
        futures = [_pool.submit(work, chunks()) for _ in range(t - 1)]
        out = [work(chunks())]
        return out + [fut.result() for fut in futures]


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
