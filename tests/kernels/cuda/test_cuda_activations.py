"""numba.cuda elementwise activations against numpy references (and PyTorch for GELU)."""
import math

import numpy as np
import pytest
import torch

import layergraph.kernels.cuda as K

pytestmark = pytest.mark.cuda

DTYPES = [np.float32, np.float64]
_erf = np.vectorize(math.erf)


def _sig(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


_K0 = math.sqrt(2 / math.pi)


def _gelu_tanh_grad(x):
    t = np.tanh(_K0 * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K0 * (1 + 3 * 0.044715 * x * x)


# name -> (hyperparameters, forward reference, derivative reference dy/dx)
CASES = {
    "relu": ((), lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leakyrelu": ((0.2,), lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
    "clippedrelu": ((1.5,), lambda x: np.clip(x, 0, 1.5), lambda x: ((x > 0) & (x < 1.5)).astype(float)),
    "elu": ((0.7,), lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, 0.7 * np.exp(np.minimum(x, 0)))),
    "tanh": ((), np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": ((), _sig, lambda x: _sig(x) * (1 - _sig(x))),
    "swish": ((), lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "gelu": ((False,), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "gelu-tanh": ((True,), lambda x: 0.5 * x * (1 + np.tanh(_K0 * (x + 0.044715 * x ** 3))), _gelu_tanh_grad),
}


def _fns(case):
    family = case.split("-")[0]
    return K.KERNELS[(family, "forward_train")], K.KERNELS[(family, "backward")]


def _x(rng, dtype, shape=(2, 3, 4), special=True):
    x = rng.standard_normal(shape) * 2
    x = np.where(np.abs(x) < 0.05, 0.3, x)        # keep clear of the kinks at 0 and the ceiling
    x = np.where(np.abs(x - 1.5) < 0.05, 1.2, x)
    if special:
        x.flat[:4] = [-30.0, 30.0, 0.0, 1.5]       # overflow guards and the kinks themselves
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_forward_backward_match_numpy(case, dtype, rng, tol):
    hp, f_ref, df_ref = CASES[case]
    forward, backward = _fns(case)
    x = _x(rng, dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    y = forward(x, *hp)
    assert isinstance(y, np.ndarray) and y.dtype == dtype and y.shape == x.shape
    x64 = x.astype(np.float64)
    t = tol(dtype)
    np.testing.assert_allclose(y, f_ref(x64), rtol=t["rtol"] * 5, atol=t["atol"] * 5)
    dx = backward(dy, x, y, *hp)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, dy.astype(np.float64) * df_ref(x64), rtol=t["rtol"] * 5, atol=t["atol"] * 5)


@pytest.mark.parametrize("case", CASES)
def test_backward_finite_difference(case, rng, directional_check):
    hp, _, _ = CASES[case]
    forward, backward = _fns(case)
    x = _x(rng, np.float64, special=False)  # no kinks: central differences need smoothness
    dy = rng.standard_normal(x.shape)

    def loss(x):
        return float(np.sum(dy * forward(x, *hp)))

    directional_check(loss, [x], [backward(dy, x, forward(x, *hp), *hp)], h=1e-7)


F = torch.nn.functional
TORCH = {
    "relu": F.relu,
    "leakyrelu": lambda t: F.leaky_relu(t, 0.2),
    "clippedrelu": lambda t: F.hardtanh(t, 0.0, 1.5),
    "elu": lambda t: F.elu(t, 0.7),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "swish": F.silu,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TORCH)
def test_matches_torch(case, dtype, rng):
    hp = CASES[case][0]
    forward, backward = _fns(case)
    x = _x(rng, dtype, special=False)
    dy = rng.standard_normal(x.shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = TORCH[case](tx)
    ty.backward(torch.tensor(dy))
    y = forward(x, *hp)
    t = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y, ty.detach().numpy(), **t)
    np.testing.assert_allclose(backward(dy, x, y, *hp), tx.grad.numpy(), **t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tanh_approx", [False, True])
def test_gelu_matches_torch(tanh_approx, dtype, rng):
    x = _x(rng, dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate="tanh" if tanh_approx else "none")
    ty.backward(torch.tensor(dy))
    y = K.gelu_forward(x, tanh_approx)
    dx = K.gelu_backward(dy, x, y, tanh_approx)
    t = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y, ty.detach().numpy(), **t)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **t)


def test_any_shape_and_nan(rng):
    for shape in [(7,), (2, 1, 3, 2, 2), ()]:
        x = rng.standard_normal(shape).astype(np.float32)
        y = K.elu_forward(x, 1.0)
        assert y.shape == x.shape
        np.testing.assert_allclose(y, np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    assert K.relu_forward(np.zeros((0, 3), np.float32)).shape == (0, 3)
    y = K.relu_forward(np.array([np.nan, -1.0, 2.0]))
    # MATLAB's relu is max(X, 0), and MATLAB's max omits NaN: max(NaN, 0) is 0. The CPU kernel agrees.
    assert list(y) == [0.0, 0.0, 2.0]
    from layergraph.kernels import get_kernel
    assert list(get_kernel("relu", "forward_infer", "cpu")(np.array([np.nan, -1.0, 2.0]))) == [0.0, 0.0, 2.0]


def test_y_optional_for_tanh_and_sigmoid(rng):
    x = _x(rng, np.float64)
    dy = rng.standard_normal(x.shape)
    for family in ("tanh", "sigmoid"):
        forward, backward = K.KERNELS[(family, "forward_train")], K.KERNELS[(family, "backward")]
        np.testing.assert_array_equal(backward(dy, x, None), backward(dy, x, forward(x)))


def test_device_arrays_round_trip(cuda, rng):
    x = _x(rng, np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    xd, dyd = cuda.to_device(x), cuda.to_device(dy)
    yd = K.swish_forward(xd)
    assert K.is_device_array(yd) and tuple(yd.shape) == x.shape
    np.testing.assert_array_equal(yd.copy_to_host(), K.swish_forward(x))
    dxd = K.swish_backward(dyd, xd, yd)
    assert K.is_device_array(dxd)
    np.testing.assert_array_equal(dxd.copy_to_host(), K.swish_backward(dy, x, None))
    # A device array anywhere in the call gives device results.
    assert K.is_device_array(K.tanh_backward(dy, x, cuda.to_device(np.tanh(x))))


def test_dtype_errors(cuda):
    with pytest.raises(TypeError, match="float32 or float64"):
        K.relu_forward(np.arange(4))
    with pytest.raises(TypeError, match="dtype float64, expected float32"):
        K.relu_backward(np.ones(4, np.float32), cuda.to_device(np.ones(4)), None)
    with pytest.raises(ValueError, match="shape"):
        K.relu_backward(np.ones(4), np.ones(5), None)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the simulator's threads compute inf * 0 in numpy scalars
@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_and_inf_as_the_cpu_kernels(name):
    """NaN and +-Inf give what the CPU kernels give, forward and backward, for every activation
    (finite values to rounding: the two sides' exp/erf differ in the last bit)."""
    family = name.split("-")[0]
    hyper = CASES[name][0]
    x = np.array([np.nan, -np.inf, -1.0, 0.0, 0.5, np.inf], np.float64)
    dy = np.ones_like(x)
    from layergraph.kernels import get_kernel
    cpu_f, cuda_f = get_kernel(family, "forward_infer", "cpu"), get_kernel(family, "forward_infer", "cuda")
    np.testing.assert_allclose(np.asarray(cuda_f(x, *hyper)), np.asarray(cpu_f(x, *hyper)), rtol=1e-12)
    y = cpu_f(x, *hyper)
    cpu_b, cuda_b = get_kernel(family, "backward", "cpu"), get_kernel(family, "backward", "cuda")
    np.testing.assert_allclose(np.asarray(cuda_b(dy, x, y, *hyper)), np.asarray(cpu_b(dy, x, y, *hyper)), rtol=1e-12)
