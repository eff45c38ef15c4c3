"""Observations read on demand and streamed in mini-batches, for training and prediction.

A ``Source`` holds ``n`` observations of named arrays (keys) that it reads when asked:
``read(indices, rng)`` -> {key: array with the observations first}, already in the core's
layout. A dialect's datastore becomes a Source (images decoded, resized, augmented); the
trainer's data dicts then hold a source's ``Column`` where they would hold an array, and
``batches`` gives the mini-batches of an epoch: plain arrays are indexed as before, the
columns of a source are read by readers that run ahead of the kernels (worker processes or a
thread, below), through a bounded queue (``depth`` mini-batches), so that decoding overlaps
training.

Determinism: a batch's contents depend only on its indices and, for a source that draws
random numbers (augmentation: ``random = True``), on a generator seeded from
``(seed, batch number)``, where ``seed`` is drawn once per pass from the caller's generator.
The readers never touch the caller's generator, so the order of the epochs and
every other draw are those of the same data in memory.

A read that fails (a corrupt file) raises ``SourceError`` in the consumer, with the
message of the source (which names the file).

Who reads: decoding images is mostly Python in Pillow, which holds the GIL, and so do the
numba kernels that are not compiled ``nogil``; a reader thread then waits for the kernels
and the kernels for it. So a training run (``Feed``) reads with a pool of worker processes
when the machine has more than one core (``WORKERS``) and can fork (Linux): the workers are
forked from the training process, so they have the source as it is (a ReadFcn or transform
that is a lambda included) and only the batches travel back, as PyTorch's DataLoader does.
A run's pool is started once and reused every epoch; a one-off pass (statistics,
validation, prediction) forks its own. The workers only decode and never call the kernels.
On one core, or where a process cannot fork, one background thread reads.
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
import warnings
from collections import deque

import numpy as np

from ..core.errors import LayerGraphError

DEPTH = 4   # mini-batches read ahead
# reader processes of a training run: None picks min(4, cores - 1) on a machine with at least 2
# cores and 0 (a thread) on one core; 0: always a thread. On 2 cores one worker process beats the
# thread (which waits for the GIL the kernels hold): docs/performance.md, data from a folder
WORKERS = None


def _workers() -> int:
    if WORKERS is not None:
        return int(WORKERS)
    cores = os.cpu_count() or 1
    return min(4, cores - 1) if cores >= 2 else 0


class SourceError(LayerGraphError):
    """A source could not read an observation; the message names it (the file)."""


class Source:
    """``n`` observations; ``read(indices, rng)`` -> {key: array}; ``shapes``: {key: (one
    observation's shape, dtype)}; ``random``: whether reading draws from ``rng``."""

    n: int = 0
    random: bool = False
    shapes: dict = {}

    def read(self, indices: np.ndarray, rng: np.random.Generator | None) -> dict:
        raise NotImplementedError

    def column(self, key) -> "Column":
        shape, dtype = self.shapes[key]
        return Column(self, key, shape, dtype)


class Column:
    """One key of a Source where the trainer expects an array: ``shape`` (observations first)
    and indexing by positions (a read, without prefetch)."""

    def __init__(self, source: Source, key, shape, dtype):
        self.source, self.key = source, key
        self.shape = (source.n, *shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(dtype)

    def __len__(self):
        return self.source.n

    def __getitem__(self, idx):
        indices = np.arange(self.source.n)[idx]
        return _read(self.source, np.atleast_1d(indices), np.random.default_rng(0))[self.key]

    def __array__(self, dtype=None, copy=None):
        """Every observation, read (in memory: for what needs the whole data at once)."""
        parts = [b[self.key] for b in batches({self.key: self}, None, 256, partial=True)]
        out = np.concatenate(parts) if parts else np.zeros(self.shape, self.dtype)
        return out if dtype is None else out.astype(dtype)

    def subset(self, idx) -> "Column":
        """The observations at ``idx`` (positions), still read on demand."""
        return _Subset(self.source, np.arange(self.source.n)[idx]).column(self.key)

    def converted(self, shape, dtype) -> "Column":
        """The same observations, each reshaped to ``shape`` and cast to ``dtype`` when read."""
        return _Converted(self, tuple(shape), dtype).column(self.key)


class _Subset(Source):
    def __init__(self, source, positions):
        self.base, self.positions = source, np.asarray(positions)
        self.n, self.random, self.shapes = len(self.positions), source.random, source.shapes

    def read(self, indices, rng):
        return self.base.read(self.positions[np.asarray(indices)], rng)


class _Converted(Source):
    def __init__(self, column, shape, dtype):
        self.base, self.key = column.source, column.key
        self.n, self.random = column.source.n, column.source.random
        self.shapes = {**self.base.shapes, column.key: (shape, dtype)}
        self.shape, self.dtype = shape, dtype

    def read(self, indices, rng):
        out = dict(self.base.read(indices, rng))
        x = out[self.key]
        out[self.key] = np.ascontiguousarray(x.reshape((x.shape[0], *self.shape)), dtype=self.dtype)
        return out


def _read(source, indices, rng):
    try:
        return source.read(np.asarray(indices), rng)
    except SourceError:
        raise
    except LayerGraphError as err:
        raise SourceError(str(err), getattr(err, "identifier", "")) from None


class _Prefetch:
    """A thread that reads ``plan`` (a list of index arrays) from ``source`` in order into a
    bounded queue."""

    _END = object()

    def __init__(self, source, plan, seed, depth, first=0):
        self.source, self.plan, self.seed, self.first = source, plan, seed, first
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._work, name="layergraph-prefetch", daemon=True)
        self.thread.start()

    def _rng(self, b):
        # seeded by the batch's number in the pass (not in this reader), so that a reader
        # started in the middle of a pass draws what a reader from its start would have
        return np.random.default_rng([self.seed, self.first + b]) if self.source.random else None

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self):
        for b, idx in enumerate(self.plan):
            if self.stop.is_set():
                return
            try:
                item = _read(self.source, idx, self._rng(b))
            except BaseException as err:  # handed to the consumer, which raises it
                self._put(err)
                return
            if not self._put(item):
                return
        self._put(self._END)

    def get(self):
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self):
        self.stop.set()
        while True:  # unblock a worker waiting on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.thread.join()


_SOURCES: dict = {}        # the sources of the running pools, inherited by the forked workers
_KEYS = itertools.count()
_WORKER_SOURCE = None      # in a reader process: the source it reads


def _start_worker(key):
    global _WORKER_SOURCE
    import signal
    # Ctrl-C is the training process's to handle (it stops the run and keeps the network)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_SOURCE = _SOURCES[key]


def _worker_read(indices, seed, b):
    source = _WORKER_SOURCE
    return _read(source, indices, np.random.default_rng([seed, b]) if source.random else None)


class _Pool:
    """Reader processes for one source, forked once and reused for every pass of a run."""

    def __init__(self, source, workers):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.key = next(_KEYS)
        _SOURCES[self.key] = source
        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_start_worker, initargs=(self.key,))

    @staticmethod
    def of(source, workers):
        """A pool for ``source``, or None (a thread reads) without spare cores or fork."""
        import multiprocessing
        if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        return _Pool(source, workers)

    def stream(self, plan, seed, first, depth):
        """The reads of ``plan`` in order, ``depth`` batches in flight."""
        pending = deque()
        batches_ = iter(enumerate(plan))

        def submit():
            for b, idx in batches_:
                pending.append(self.executor.submit(_worker_read, idx, seed, first + b))
                return

        try:
            with warnings.catch_warnings():
                # Python 3.12 warns on any fork beside threads; the workers only decode (above)
                warnings.simplefilter("ignore", DeprecationWarning)
                for _ in range(depth):
                    submit()
            while pending:
                result = pending.popleft().result()
                submit()
                yield result
        finally:
            for f in pending:
                f.cancel()

    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)
        _SOURCES.pop(self.key, None)


def streamed(arrays: dict) -> bool:
    """Whether any value of ``arrays`` is a source's column."""
    return any(isinstance(v, Column) for v in arrays.values())


def batches(arrays: dict, order, batch_size: int, start: int = 0, partial: bool = False, gen=None,
            depth: int = DEPTH, pools: dict | None = None):
    """The mini-batches of ``arrays`` ({key: array or Column}) taken in ``order`` (None: in
    their own order): batch b holds ``order[b * batch_size:(b + 1) * batch_size]``, from batch
    ``start`` on; the incomplete last batch only with ``partial``. A generator of {key: array};
    close it (or run it out) to stop its reader threads. ``gen`` draws the pass's augmentation
    seed (only when a random source is read; None: seed 0). ``pools``: {id(source): reader
    process pool or None}, kept by the caller across passes (``Feed``); without it, the pass
    starts and ends its own."""
    sequential = order is None
    n = next(iter(arrays.values())).shape[0] if sequential else len(order)
    count = -(-n // batch_size) if partial else n // batch_size
    sources = {}
    for v in arrays.values():
        if isinstance(v, Column):
            sources.setdefault(id(v.source), v.source)
    if not sources:
        for b in range(start, count):
            idx = slice(b * batch_size, (b + 1) * batch_size) if sequential else \
                order[b * batch_size:(b + 1) * batch_size]
            yield {k: v[idx] for k, v in arrays.items()}
        return
    order = np.arange(n) if sequential else np.asarray(order)
    plan = [order[b * batch_size:(b + 1) * batch_size] for b in range(start, count)]
    seed = 0
    if gen is not None and any(s.random for s in sources.values()):
        seed = int(gen.integers(2 ** 63))
    own = pools is None
    pools = {} if own else pools
    readers, streams = {}, {}
    for sid, s in sources.items():
        if pools is not None and sid not in pools:
            pools[sid] = _Pool.of(s, _workers())
        pool = pools.get(sid)
        if pool is not None:
            streams[sid] = pool.stream(plan, seed, start, depth)
        else:
            readers[sid] = _Prefetch(s, plan, seed, depth, start)
    try:
        for idx in plan:
            read = {sid: r.get() for sid, r in readers.items()}
            read.update({sid: next(st) for sid, st in streams.items()})
            yield {k: read[id(v.source)][v.key] if isinstance(v, Column) else v[idx] for k, v in arrays.items()}
    finally:
        for r in readers.values():
            r.close()
        for st in streams.values():
            st.close()
        if own:
            for pool in pools.values():
                if pool is not None:
                    pool.close()


class Feed:
    """The trainer's mini-batches, read ahead: ``batch(order, position)`` is the batch at
    ``position`` of ``order``. Asked for the next position of the same order, it takes the
    next batch of the running reader; otherwise (a new epoch, a resumed run) it starts one."""

    def __init__(self, arrays: dict, batch_size: int, gen=None):
        self.arrays, self.bs, self.gen = arrays, batch_size, gen
        self._stream, self._order, self._next = None, None, None
        self._pools: dict = {}    # reader processes, kept for every epoch of the run

    def batch(self, order, position: int) -> dict:
        if self._stream is None or order is not self._order or position != self._next:
            self._end_stream()
            self._stream = batches(self.arrays, order, self.bs, position, gen=self.gen, pools=self._pools)
            self._order = order
        self._next = position + 1
        return next(self._stream)

    def _end_stream(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self):
        self._end_stream()
        for pool in self._pools.values():
            if pool is not None:
                pool.close()
        self._pools = {}


def run(executor, feeds: dict, refs, batch_size: int, progress=None, training: bool = False, rng=None) -> dict:
    """A forward pass over ``feeds`` ({input name: array or Column}) in order, ``batch_size``
    observations at a time, reading ahead; {ref: activations} like ``core.network.run``
    (``training``, ``rng``: its training-mode pass). ``progress(done, total)`` is called
    after each batch."""
    from ..core.network import run as run_arrays
    refs = list(refs)
    n = next(iter(feeds.values())).shape[0] if feeds else 0
    if n == 0 or not streamed(feeds):
        return run_arrays(executor, {k: v if not isinstance(v, Column) else v[:] for k, v in feeds.items()},
                          refs, batch_size, training, rng)
    chunks = {ref: [] for ref in refs}
    done = 0
    for batch in batches(feeds, np.arange(n), batch_size, partial=True):
        acts = run_arrays(executor, batch, refs, batch_size, training, rng)
        for ref in refs:
            chunks[ref].append(acts[ref])
        done += next(iter(batch.values())).shape[0]
        if progress is not None:
            progress(done, n)
    return {ref: np.concatenate(parts, axis=0) for ref, parts in chunks.items()}
