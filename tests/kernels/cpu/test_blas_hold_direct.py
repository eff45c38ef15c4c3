"""_parallel.blas_threads with OpenBLAS's count set by direct calls (_Direct), counted per library
so that holds of two threads share it (docs/performance.md, h_small5)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from layergraph.kernels.cpu import _parallel
from layergraph.kernels.cpu._parallel import _Direct, _handle, blas_threads


def _numpy_controller():
    from threadpoolctl import ThreadpoolController
    libs = [lib for lib in ThreadpoolController().select(user_api="blas").lib_controllers
            if "numpy" in str(lib.filepath)]
    if not libs:
        pytest.skip("numpy's BLAS is not visible to threadpoolctl")
    return libs[0]


def _count():
    return _numpy_controller().num_threads


@pytest.fixture
def two():
    """numpy's BLAS at 2 threads for the test (then back to what it was)."""
    lib = _numpy_controller()
    old = lib.num_threads
    lib.set_num_threads(2)
    if lib.num_threads != 2:
        pytest.skip("this BLAS's thread count cannot be set to 2 here")
    yield lib
    lib.set_num_threads(old)


def test_numpy_openblas_is_set_directly():
    lib = _numpy_controller()
    if lib.internal_api != "openblas" or lib.threading_layer == "openmp":
        pytest.skip("not an OpenBLAS with a process-wide count")
    h = _handle(lib)
    assert isinstance(h, _Direct) and h.get() == lib.num_threads
    # the handle the hold uses for numpy's BLAS is one of these
    _, numpys = blas_threads._lookup()
    assert numpys and all("numpy" in h.name for h in numpys)
    assert type(numpys[0].get).__name__ != "function"   # a ctypes function, not the controller's property


def test_hold_sets_and_restores(two):
    with blas_threads(1):
        assert _count() == 1
        with blas_threads(1):   # nested, the same count: counted
            assert _count() == 1
        assert _count() == 1
        with blas_threads(2):   # nested, another count: set, then back
            assert _count() == 2
        assert _count() == 1
    assert _count() == 2
    with pytest.raises(KeyError):
        with blas_threads(1):
            raise KeyError("x")
    assert _count() == 2
    assert all(h.depth == 0 for h in blas_threads._lookup()[0])


def test_two_threads_interleaved(two):
    """A enters, B enters, A leaves (B's products still at 1), B leaves: the count is back to 2
    (taking turns through one count: the old per-hold restore would have left it at 1)."""
    steps = [threading.Event() for _ in range(4)]
    seen = {}

    def b():
        steps[0].wait()
        with blas_threads(1):
            steps[1].set()
            steps[2].wait()
            seen["b after a left"] = _count()
        steps[3].set()

    t = threading.Thread(target=b)
    t.start()
    with blas_threads(1):
        steps[0].set()
        steps[1].wait()
    seen["a left"] = _count()
    steps[2].set()
    steps[3].wait()
    t.join()
    assert seen == {"a left": 1, "b after a left": 1}
    assert _count() == 2


def test_many_threads_hold_at_once(two):
    errors = []

    def run():
        try:
            for _ in range(200):
                with blas_threads(1):
                    if _count() != 1:
                        errors.append(_count())
        except Exception as err:   # pragma: no cover - reported below
            errors.append(err)

    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    assert _count() == 2


class _FakeController:
    """A BLAS threadpoolctl knows but that is not a process-wide OpenBLAS (MKL, BLIS, an OpenMP
    OpenBLAS): the hold uses the controller's own num_threads / set_num_threads."""

    def __init__(self, api="mkl", layer="intel"):
        self.internal_api, self.threading_layer, self.filepath = api, layer, "/nowhere/libfake.so"
        self.num_threads, self.calls = 4, []

    def set_num_threads(self, n):
        self.calls.append(n)
        self.num_threads = n


@pytest.mark.parametrize("api, layer", [("mkl", "intel"), ("openblas", "openmp"), ("openblas", "pthreads"),
                                        ("blis", "pthreads")])
def test_fallback_to_the_controller(monkeypatch, api, layer):
    fake = _FakeController(api, layer)
    h = _handle(fake)   # an OpenBLAS path that cannot be opened falls back too
    assert h.get() == 4
    monkeypatch.setattr(blas_threads, "_libs", ([h], [h]))
    with blas_threads(1):
        assert fake.num_threads == 1
        with blas_threads(1):
            pass
        assert fake.num_threads == 1
    assert fake.num_threads == 4 and fake.calls == [1, 4]
    with blas_threads(4):   # already at that count: no call
        pass
    assert fake.calls == [1, 4]


def test_products_inside_run_at_one_thread(two):
    from layergraph.kernels.cpu import dense
    g = np.random.default_rng(0)
    x, w = g.standard_normal((300, 64)).astype(np.float32), g.standard_normal((512, 64)).astype(np.float32)
    seen = []
    real = np.matmul

    def spy(*a, **k):
        seen.append(_count())
        return real(*a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dense.np, "matmul", spy)
        mp.setattr(_parallel, "threads", lambda: 1)
        y = dense.fc_forward(x, w, None)
    assert seen and set(seen) == {1}
    assert _count() == 2
    with blas_threads(1):
        ref = np.matmul(x, w.T)
    np.testing.assert_array_equal(y, ref)
