"""Kernel compilation seen from the training clock.

The CPU kernels are numba functions compiled on their first call and cached on disk
(``cache=True``), so the first run on a machine spends seconds compiling on its first
iterations, and later runs load the cache. numba announces each real compilation (not a
cache load) with a "numba:compile" event; ``CompileClock`` listens for it while a run
trains, so that the run can say once that kernels are compiling and can leave that time
out of its clock (MATLAB's "Time Elapsed", NetTrain's TimeGoal and TotalTrainingTime).
The kernels and their numbers are untouched: this only watches.

A first run compiles its kernels one after another as the first iteration reaches them
(numba holds one compiler lock per process), the forward's kernels first, then the backward's
from the loss down. So when a run on the CPU starts with a cold cache (or else at its first real
compilation), ``CompileClock`` starts one helper process (``background_compile``, once per
process, where at least 2 cores are usable; where ``import layergraph`` found the cache known cold,
the helper it started, already past its imports, is told the dtype instead: layergraph/_prestart.py)
that compiles the common backward kernels of the run's dtype into the same on-disk cache,
from the bottom of a CNN's backward up, while this
process compiles the forward: when the iteration reaches a backward kernel the helper has
finished, it loads from the cache (a cache load, not a compilation), and the two meet at one
kernel at most, whatever the machine's load. For the seed CNN the helper takes most of the
backward's kernels, about half the CPU time a cold first trainNetwork compiles, off its
critical path on two free cores (docs/performance.md). The helper runs the kernels' own
wrappers on tiny arrays, so it compiles exactly the signatures that a run's calls compile; it
computes nothing a run uses, and a kernel it has not finished is compiled here as before,
except one that the helper is compiling at that moment: the helper writes the kernels it starts
and finishes to a status file, and this process, missing such a kernel in the cache, waits for
the helper to finish it and loads it (``_wait_for_helper``; compiling it here too cost the run
0.4-0.8 s at a seed CNN's cold start). ``LAYERGRAPH_BACKGROUND_COMPILE=0`` turns it off.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from .. import _prestart

COMPILING = "Compiling kernels for this network (first run on this machine)..."


def announce_compiling(file=None) -> None:
    """The line a dialect shows when kernels start compiling (to stderr, so that the
    progress a run prints on stdout, MATLAB's verbose table, stays as it is)."""
    print(COMPILING, file=file or sys.stderr, flush=True)


_STATUS_ENV = _prestart.STATUS_ENV   # the helper's status file: "+name" / "-name" lines (_announce)
_WAIT_MAX = 30.0   # seconds this process waits at most for one kernel the helper is compiling
_status = None     # this process's helper's status file
_background = None   # the helper process, started at most once per process


def background_compile(dtype="float32"):
    """Have the helper process compile the common backward kernels for ``dtype`` into numba's
    on-disk cache (see the module docstring): the one ``import layergraph`` started where the cache
    was known cold (layergraph/_prestart.py), else a fresh one; at most once per process, never
    when LAYERGRAPH_BACKGROUND_COMPILE is 0 or fewer than 2 cores are usable. Returns the process,
    or None when none was started.
    It inherits the environment (NUMBA_CACHE_DIR, the thread settings) and imports the
    layergraph that this process imported."""
    global _background, _status
    if _background is not None or not _prestart.enabled():
        return None
    line = str(dtype)
    helper = _prestart.take()
    if helper is None or not _prestart.send(helper[0], line):
        helper = _prestart.spawn()
        if helper is None or not _prestart.send(helper[0], line):
            # no subprocess here (a frozen or embedded interpreter): compile in-process
            _background = False
            return None
    _background, _status = helper
    from ..kernels.cpu import conv, direct, loss, norm, softmax, update  # noqa: F401  (the helper's; watched)
    _watch_kernels()
    return _background


def _helper_compiling() -> set:
    """The kernels ("module.qualname") the helper has started and not finished, from its status
    file; empty once it has exited (or when there is no helper)."""
    if not _background or _background.poll() is not None:
        return set()
    try:
        with open(_status) as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    busy = set()
    for ln in lines:
        name = ln[1:].split("\t", 1)[0]
        if ln[:1] == "+":
            busy.add(name)
        elif ln[:1] == "-":
            busy.discard(name)
    return busy


def _wait_for_helper(name) -> bool:
    """Wait while the helper is compiling the kernel ``name`` (at most _WAIT_MAX seconds); whether
    it was (then the cache may hold it now)."""
    if name not in _helper_compiling():
        return False
    end = time.monotonic() + _WAIT_MAX
    while time.monotonic() < end and name in _helper_compiling():
        time.sleep(0.005)
    return True


def _kernel_caches():
    """(numba's cache object, "module.qualname") of each kernel of the CPU kernel modules imported
    so far that has an on-disk cache and is not yet watched (the dispatcher's _cache: a private
    interface; a kernel without one is left out)."""
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:
        return
    for mname, mod in list(sys.modules.items()):
        if not (mname.startswith("layergraph.kernels.cpu.") and mod is not None):
            continue
        for obj in list(vars(mod).values()):
            cache = getattr(obj, "_cache", None) if isinstance(obj, Dispatcher) else None
            if (cache is None or getattr(cache, "_layergraph_watched", False)
                    or not (hasattr(cache, "load_overload") and hasattr(cache, "save_overload"))):
                continue
            cache._layergraph_watched = True
            yield cache, f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"


def _watch_kernels():
    """In this process: each kernel's cache look-up, missing a kernel that the helper is compiling,
    waits for the helper (_wait_for_helper) and looks again."""
    for cache, name in _kernel_caches():
        def load_overload(sig, target_context, load=cache.load_overload, name=name):
            cres = load(sig, target_context)
            if cres is None and _wait_for_helper(name):
                cres = load(sig, target_context)
            return cres

        cache.load_overload = load_overload


def _announce(path):
    """In the helper: "+module.qualname" to the file ``path`` when a kernel's cache look-up misses
    (numba then compiles it), "-module.qualname" when numba has written it to the cache (each
    line followed by a tab and the time, for a reader's timeline)."""
    f = open(path, "a", buffering=1)
    for cache, name in _kernel_caches():
        def load_overload(sig, target_context, load=cache.load_overload, name=name):
            cres = load(sig, target_context)
            if cres is None:
                f.write(f"+{name}\t{time.time():.3f}\n")
            return cres

        def save_overload(sig, cres, save=cache.save_overload, name=name):
            try:
                save(sig, cres)
            finally:
                f.write(f"-{name}\t{time.time():.3f}\n")

        cache.load_overload = load_overload
        cache.save_overload = save_overload


def cache_looks_cold() -> bool:
    """Whether numba's on-disk cache holds no compiled batch-normalization backward (the one
    fused with ReLU and max pooling, which the helper compiles second) for the current source:
    then a run is about to compile, and the helper can start at once instead of at the first
    compilation. Reads numba's cache index (a private interface; any surprise answers False,
    and the first compilation starts the helper as before)."""
    try:
        from ..kernels.cpu import norm
        return not norm._bn_back_pooled._cache._cache_file._load_index()
    except Exception:
        return False


def _helper_main():
    """The helper process (started by layergraph/_prestart.py with its packages bare): import the
    kernel modules and warm numba's compiler up (its first dispatch loads its registries: 0.2 s),
    then wait for the dtype on standard input (at most _prestart.IDLE seconds, or
    LAYERGRAPH_COMPILE_IDLE) and compile (_compile_backward); an empty line or end of file, and
    nothing is compiled."""
    import threading

    import numba
    import numpy as np

    from ..kernels.cpu import conv, direct, loss, norm, softmax, update  # noqa: F401  (_announce)
    if os.environ.get(_STATUS_ENV):
        _announce(os.environ[_STATUS_ENV])
    numba.njit(lambda a: a[0] + a.shape[0])(np.zeros(1, np.float32))   # not cached, not a kernel
    try:
        idle = float(os.environ.get(_prestart.IDLE_ENV, _prestart.IDLE))
    except ValueError:
        idle = _prestart.IDLE
    timer = threading.Timer(idle, os._exit, (0,))   # nobody came: leave
    timer.daemon = True
    timer.start()
    line = sys.stdin.readline().strip()
    timer.cancel()
    if line:
        _compile_backward(line)


def _compile_backward(dtype):
    """In the helper process: the kernels of a CNN's backward, each called once on tiny arrays of
    ``dtype``. First direct.py's micro-kernel and padding copy of channel-major data (_row,
    _pad_planes: a run's first convolution compiles its own kernel first and then loads those two
    from what this process wrote), batch normalization's statistics (a callee of the run's first
    BN kernel), then SGDM's update (a run reaches
    it last), then the backward in the reverse of the order a first iteration reaches its kernels
    (the first convolution's dW, 16 filters on direct.py's micro-kernel; batch normalization fused
    with ReLU and max pooling; an inner convolution's pixel-major path, dx through _im2row and dW
    on the same micro-kernel; batch normalization fused with ReLU; softmax; cross-entropy), then the
    end of a CNN's forward (softmax, batch normalization fused with ReLU, a pixel-major result
    transposed back), so that the run, compiling its forward and then its backward from the loss
    down, and this process, going up, meet at one kernel at most instead of compiling the same ones
    side by side; then the less common ones (plain batch normalization, the im2col path's dW and
    dx, the depthwise convolution). Imported with its packages bare (background_compile): only
    the kernel modules."""
    import numpy as np

    from ..kernels.cpu import conv, direct, loss, norm, softmax, update
    dt = np.dtype(dtype)
    if dt == np.float32:   # direct.py's micro-kernel and its copy of channel-major images (a CNN's input)
        direct.row_address()
        direct.address(direct._pad_planes, direct.PAD_SIG)
    x = np.linspace(-1.0, 1.0, 2 * 2 * 4 * 4).astype(dt).reshape(2, 2, 4, 4)
    # batch normalization's statistics, which the run's first fused BN + ReLU + pooling compiles
    # as a callee (its own compile then loads them): the two processes' shares come out closer
    norm._channel_stats(x.reshape(2, 2, 16), 0)
    c = np.ones(2, dt)
    p = np.full((2, 2), 0.5, dt)  # stands for the softmax forward's output (also this process's)
    update.sgdm_update(np.ones(4, dt), np.ones(4, dt), np.zeros(4, dt), 0.01, 0.9)  # after the backward: the solver
    y = np.ones((2, 2, 2, 2), dt)  # stands for a fused forward's pooled output (the forward is this process's)
    w = np.ones((2, 2, 3, 3), dt)
    # a first convolution of 16 filters: dW on direct.py's micro-kernel (float32; im2col otherwise)
    conv.conv_backward(np.ones((2, 16, 4, 4), dt), x, np.ones((16, 2, 3, 3), dt), 1, 1, 1, 1, 1, 1, 1, 1,
                       need_dx=False)
    norm.bn_backward(y, x, c, c, c, 1e-5, pool_out=(y, np.zeros(y.shape, np.int64)))
    x8 = np.linspace(-1.0, 1.0, 2 * 8 * 4 * 4).astype(dt).reshape(2, 8, 4, 4)
    # an inner convolution of 32 filters: the pixel-major path, dx through _im2row
    conv.conv_backward(np.ones((2, 32, 4, 4), dt), x8, np.ones((32, 8, 3, 3), dt), 1, 1, 1, 1, 1, 1, 1, 1)
    norm.bn_backward(x, x, c, c, c, 1e-5, relu_out=x)
    softmax.softmax_backward(np.ones_like(p), x[:, :, 0, 0], p)
    loss.crossentropyex_backward(p, np.eye(2, dtype=dt))
    # the end of the forward, after its convolutions
    softmax.softmax_forward(p)
    norm.bn_forward_train(x, c, c, 1e-5, relu=True)
    conv.nhwc_to_nchw(np.ones((2, 4, 4, 2), dt))
    norm.bn_backward(x, x, c, c, c, 1e-5)
    conv.conv_backward(np.ones_like(x), x, w, 1, 1, 1, 1, 1, 1, 1, 1, need_dx=False)  # im2col: dW, db
    conv.conv_backward(np.ones((2, 2, 4, 4), dt), x8, np.ones((2, 8, 3, 3), dt), 1, 1, 1, 1, 1, 1, 1, 1)  # rows
    conv.conv_backward(np.ones_like(x), x, w, 1, 1, 1, 1, 1, 1, 1, 1)  # im2col: dx too
    conv.conv_backward(np.ones_like(x), x, w[:, :1], 1, 1, 1, 1, 1, 1, 1, 1, groups=2)  # depthwise


class CompileClock:
    """A clock that does not run while numba compiles. ``start()`` marks a moment;
    ``since(mark)`` is the time from it less the compilation in between.

    The time is that of numba's compiler lock ("numba:compiler_lock"), which a dispatcher
    holds while it compiles, loads a cached overload or writes one to the cache (the
    writing happens after the "numba:compile" event has ended); the lock is re-entrant,
    so nested holds count once. ``on_compile`` is called at the first real compilation
    ("numba:compile", which a cache load does not raise); there too, with ``background`` (a
    dtype), the helper process of background_compile starts. Used as a context manager; numba
    is imported on entering, with the first run, not when layergraph is imported."""

    KINDS = ("numba:compile", "numba:compiler_lock")

    def __init__(self, on_compile: Callable[[], None] | None = None, background: str | None = None):
        self.on_compile = on_compile
        self.background = background  # a dtype: start background_compile(dtype) at the first compilation
        self.total = 0.0          # seconds spent in the compiler, finished holds
        self._depth = 0
        self._began = 0.0
        self._said = False

    # -- numba's listener interface --
    def on_start(self, ev):
        if ev.kind == "numba:compile":
            if not self._said:
                self._said = True
                if self.background is not None:
                    background_compile(self.background)
                if self.on_compile is not None:
                    self.on_compile()
            return
        if self._depth == 0:
            self._began = time.perf_counter()
        self._depth += 1

    def on_end(self, ev):
        if ev.kind == "numba:compile":
            return
        self._depth -= 1
        if self._depth == 0:
            self.total += time.perf_counter() - self._began

    # -- the clock --
    def _compiled(self) -> float:
        running = time.perf_counter() - self._began if self._depth else 0.0
        return self.total + running

    def start(self) -> tuple[float, float]:
        return time.perf_counter(), self._compiled()

    def since(self, mark: tuple[float, float]) -> float:
        t, compiled = mark
        return max(0.0, (time.perf_counter() - t) - (self._compiled() - compiled))

    def __enter__(self):
        from numba.core import event
        clock = self
        # start the helper before the first compilation: the one import started on a cold cache
        # (no need to look at the cache again), or a fresh one where the cache looks cold
        if self.background is not None and (_prestart.waiting() or cache_looks_cold()):
            background_compile(self.background)

        class Forward(event.Listener):   # numba takes instances of its Listener only
            def on_start(self, ev):
                clock.on_start(ev)

            def on_end(self, ev):
                clock.on_end(ev)

        self._listener = Forward()
        for kind in self.KINDS:
            event.register(kind, self._listener)
        return self

    def __exit__(self, *exc):
        from numba.core import event
        for kind in self.KINDS:
            event.unregister(kind, self._listener)
        return False
