"""Fixtures shared by the CPU kernel tests."""
import pytest


@pytest.fixture(params=[None, 3], ids=["numba-threads", "3-threads"])
def threads(request, monkeypatch):
    """Run a test as it is (numba's thread count) and with the batch, planes or channels split over
    3 workers (more than the cores here, so that work that does not divide evenly gives each
    worker a different count), small work handed to the pool too (SERIAL_BELOW 0)."""
    if request.param is not None:
        from layergraph.kernels.cpu import _parallel
        monkeypatch.setattr(_parallel, "threads", lambda: request.param)
        monkeypatch.setattr(_parallel, "SERIAL_BELOW", 0)
    return request.param


@pytest.fixture
def spy(monkeypatch):
    """spy(module, name, record) replaces module.name by a wrapper that still calls it and returns
    the list to which each call appends record(*args, **kwargs) (by default the arguments)."""
    def install(module, name, record=lambda *a, **k: a):
        calls = []
        real = getattr(module, name)

        def wrapper(*a, **k):
            calls.append(record(*a, **k))
            return real(*a, **k)
        monkeypatch.setattr(module, name, wrapper)
        return calls
    return install
