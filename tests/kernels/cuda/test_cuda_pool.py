"""The CUDA kernel set's pool of device arrays (_runtime.device_empty): an output or scratch
array is handed out again only when nothing refers to it or to its memory. Runs on the
simulator and, unchanged, on a real GPU (where numba's pointer objects are checked)."""
import numpy as np
import pytest
from numba import cuda

import layergraph.kernels.cuda as K
from layergraph.kernels.cuda import _runtime

pytestmark = pytest.mark.cuda


def _memory(a):
    """Something that identifies the memory under a device array: its pointer on a GPU, the
    simulator's numpy buffer address."""
    owner = _runtime._owner(a)
    return owner.device_pointer_value if hasattr(a, "gpu_data") else owner.__array_interface__["data"][0]


@pytest.fixture
def x():
    return cuda.to_device(np.linspace(-2, 2, 4 * 3 * 5 * 7).reshape(4, 3, 5, 7))


def test_a_released_output_is_reused(x):
    y = K.relu_forward(x)
    first = _memory(y)
    del y
    y = K.relu_forward(x)
    assert _memory(y) == first
    np.testing.assert_array_equal(y.copy_to_host(), np.maximum(x.copy_to_host(), 0))


@pytest.mark.parametrize("hold", ["array", "reshape", "slice"])
def test_held_outputs_are_never_reused(x, hold):
    y = K.relu_forward(x)
    first = _memory(y)
    held = y if hold == "array" else y.reshape(4, 105) if hold == "reshape" else y[1:3]
    del y
    others = [K.tanh_forward(x) for _ in range(3)]  # same shape and dtype: same pool entry
    assert first not in {_memory(o) for o in others}
    np.testing.assert_array_equal(held.copy_to_host().ravel(),
                                  np.maximum(x.copy_to_host(), 0).reshape(4, 105)[
                                      slice(1, 3) if hold == "slice" else slice(None)].ravel())


def test_scratch_arrays_of_batch_norm_come_back_exact(x):
    s, o = np.ones(3), np.zeros(3)
    first = [a.copy_to_host() for a in K.bn_forward_train(x, s, o, 1e-5)]
    for _ in range(3):
        again = [a.copy_to_host() for a in K.bn_forward_train(x, s, o, 1e-5)]
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)


def test_host_calls_reuse_their_device_buffers():
    xh = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    before = sum(len(v) for v in _runtime._device_pool.values())
    for _ in range(5):
        y = K.relu_forward(xh)
        np.testing.assert_array_equal(y, np.maximum(xh, 0))
    assert sum(len(v) for v in _runtime._device_pool.values()) <= before + 1
