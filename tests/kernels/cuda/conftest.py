"""Shared fixtures for the numba.cuda kernel tests (run on the CUDA simulator without a GPU).

The simulator runs one Python thread per GPU thread, so the tests shrink the launch limits:
tiny blocks and grids keep each launch cheap and also make the grid-stride loops and the
multi-block reductions run with arrays of a few dozen elements.
"""
import os
import sys

import numpy as np
import pytest

from layergraph.kernels.cuda import _runtime


@pytest.fixture(scope="session", autouse=True)
def fast_thread_switching():
    # The simulator's block manager busy-polls its GPU threads (Python threads) at every
    # syncthreads; each hand-off waits out the GIL switch interval (5 ms by default).
    # A short interval makes the BN reductions about 5x faster. Restored afterwards.
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        yield
        return
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.fixture(autouse=True)
def small_launch(monkeypatch, request):
    if "default_launch" in request.keywords:
        return
    monkeypatch.setattr(_runtime, "MAX_THREADS", 16)
    monkeypatch.setattr(_runtime, "MAX_BLOCKS", 2)
    monkeypatch.setattr(_runtime, "REDUCE_THREADS", 8)
    monkeypatch.setattr(_runtime, "REDUCE_ITEMS", 2)


def pytest_configure(config):
    config.addinivalue_line("markers", "default_launch: run with the library's own launch sizes")


@pytest.fixture
def cuda():
    return _runtime.cuda_module()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def tol():
    return lambda dtype: TOL[np.dtype(dtype).type]


@pytest.fixture
def directional_check():
    """Check a backward pass against a float64 central difference along a random direction.

    loss(inputs) = sum(w * f(inputs)); the analytic directional derivative sum(grad * v)
    must match (loss(x + h v) - loss(x - h v)) / 2h. Two forward calls per check instead of
    one per element keeps this cheap on the simulator.
    """
    def check(loss, inputs, grads, h=1e-6, rtol=1e-6, seed=7):
        r = np.random.default_rng(seed)
        dirs = [r.standard_normal(np.shape(a)) for a in inputs]
        plus = loss(*[a + h * d for a, d in zip(inputs, dirs)])
        minus = loss(*[a - h * d for a, d in zip(inputs, dirs)])
        numeric = (plus - minus) / (2 * h)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs))
        assert analytic == pytest.approx(numeric, rel=rtol, abs=1e-8)
    return check
