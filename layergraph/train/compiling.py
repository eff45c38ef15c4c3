"""Kernel compilation seen from the training clock.

The CPU kernels are numba functions compiled on their first call and cached on disk
(``cache=True``), so the first run on a machine spends seconds compiling on its first
iterations, and later runs load the cache. numba announces each real compilation (not a
cache load) with a "numba:compile" event; ``CompileClock`` listens for it while a run
trains, so that the run can say once that kernels are compiling and can leave that time
out of its clock (MATLAB's "Time Elapsed", NetTrain's TimeGoal and TotalTrainingTime).
The kernels and their numbers are untouched: this only watches.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable

COMPILING = "Compiling kernels for this network (first run on this machine)..."


def announce_compiling(file=None) -> None:
    """The line a dialect shows when kernels start compiling (to stderr, so that the
    progress a run prints on stdout, MATLAB's verbose table, stays as it is)."""
    print(COMPILING, file=file or sys.stderr, flush=True)


class CompileClock:
    """A clock that does not run while numba compiles. ``start()`` marks a moment;
    ``since(mark)`` is the time from it less the compilation in between.

    The time is that of numba's compiler lock ("numba:compiler_lock"), which a dispatcher
    holds while it compiles, loads a cached overload or writes one to the cache (the
    writing happens after the "numba:compile" event has ended); the lock is re-entrant,
    so nested holds count once. ``on_compile`` is called at the first real compilation
    ("numba:compile", which a cache load does not raise). Used as a context manager; numba
    is imported on entering, with the first run, not when layergraph is imported."""

    KINDS = ("numba:compile", "numba:compiler_lock")

    def __init__(self, on_compile: Callable[[], None] | None = None):
        self.on_compile = on_compile
        self.total = 0.0          # seconds spent in the compiler, finished holds
        self._depth = 0
        self._began = 0.0
        self._said = False

    # -- numba's listener interface --
    def on_start(self, ev):
        if ev.kind == "numba:compile":
            if not self._said and self.on_compile is not None:
                self._said = True
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
