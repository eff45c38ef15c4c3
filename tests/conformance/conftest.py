"""Small CUDA launches for the simulator, as tests/kernels/cuda/conftest.py sets them: the
simulator runs one Python thread per GPU thread, so tiny blocks and grids keep each launch cheap."""
import os
import sys

import pytest


@pytest.fixture(autouse=True)
def small_cuda_launch(request, monkeypatch):
    if "cuda" not in request.keywords:
        yield
        return
    from layergraph.kernels.cuda import _runtime
    monkeypatch.setattr(_runtime, "MAX_THREADS", 16)
    monkeypatch.setattr(_runtime, "MAX_BLOCKS", 2)
    monkeypatch.setattr(_runtime, "REDUCE_THREADS", 8)
    monkeypatch.setattr(_runtime, "REDUCE_ITEMS", 2)
    old = sys.getswitchinterval()
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        sys.setswitchinterval(1e-5)   # the simulator's block manager hands off at every syncthreads
    yield
    sys.setswitchinterval(old)
