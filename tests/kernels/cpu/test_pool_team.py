"""The kernels' thread pool (kernels/cpu/_parallel.py _Worker, under batch_parallel; its lock
hand-off, and the optional spin of LAYERGRAPH_POOL_SPIN_US): every slice done once, the threads'
results, a job's exception raised in the caller (and the pool still
working after it), calls from two Python threads at once, a call from a pool thread, a forked
child."""
import os
import threading

import numpy as np
import pytest

from layergraph.kernels.cpu import _parallel
from layergraph.kernels.cpu._parallel import batch_parallel


@pytest.fixture(params=[0, 30], ids=["locks", "spinning"])
def two_threads(monkeypatch, request):
    """Two threads, on fresh workers: the lock hand-off, and with LAYERGRAPH_POOL_SPIN_US's spin."""
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    monkeypatch.setattr(_parallel, "SPIN_US", float(request.param))
    monkeypatch.setattr(_parallel, "_workers", [])
    monkeypatch.setattr(_parallel, "_workers_pid", os.getpid())


def _slices(chunks):
    return [(threading.current_thread().name, lo, hi) for lo, hi in chunks]


def test_every_slice_once(two_threads):
    for n, chunk in ((10, 1), (7, 3), (512, 256), (2, None)):
        done = [s for part in batch_parallel(_slices, n, chunk) for s in part]
        covered = sorted(i for _, lo, hi in done for i in range(lo, hi))
        assert covered == list(range(n))


def test_a_jobs_exception_reaches_the_caller_and_the_pool_goes_on(two_threads):
    def work(chunks):
        for lo, _ in chunks:
            if lo == 1:
                raise ValueError("slice one")
        return "ok"
    for _ in range(5):
        with pytest.raises(ValueError, match="slice one"):
            batch_parallel(work, 2, 1)
        assert batch_parallel(lambda c: sum(1 for _ in c), 4, 1) in ([2, 2], [1, 3], [3, 1], [4, 0], [0, 4])


def test_two_callers_at_once(two_threads):
    errors, sums = [], []

    def caller(seed):
        try:
            x = np.random.default_rng(seed).standard_normal((64, 50))
            for _ in range(50):
                parts = batch_parallel(lambda ch: [(lo, x[lo:hi].sum()) for lo, hi in ch], 64, 8)
                got = sum(v for part in parts for _, v in part)
                assert np.isclose(got, x.sum())
            sums.append(seed)
        except BaseException as err:   # reported below
            errors.append(err)
    threads = [threading.Thread(target=caller, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(sums) == [0, 1, 2]


def test_a_call_from_a_pool_thread_runs_there(two_threads):
    def outer(chunks):
        return [batch_parallel(_slices, 4, 1) for _ in chunks]
    for part in batch_parallel(outer, 2, 1):
        for inner in part:
            names = {name for piece in inner for name, _, _ in piece}
            assert len(names) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_gets_its_own_pool(two_threads):
    batch_parallel(_slices, 4, 1)   # the parent's pool exists
    pid = os.fork()
    if pid == 0:   # the child: the parent's threads are not here
        try:
            done = [s for part in batch_parallel(_slices, 4, 1) for s in part]
            os._exit(0 if sorted(lo for _, lo, _ in done) == [0, 1, 2, 3] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0



@pytest.mark.parametrize("text", ["fast", "-5", "nan"])
def test_spin_setting_is_checked(text):
    with pytest.raises(ValueError, match="LAYERGRAPH_POOL_SPIN_US must be a number of microseconds >= 0"):
        _parallel._spin_us(text)
    assert _parallel._spin_us(None) == 0 and _parallel._spin_us("50") == 50
