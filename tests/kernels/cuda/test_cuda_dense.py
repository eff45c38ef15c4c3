"""numba.cuda fully connected, softmax and addition kernels against the CPU kernels and PyTorch."""
import numpy as np
import pytest
import torch

import layergraph.kernels.cuda as K
from layergraph.kernels import get_kernel

pytestmark = pytest.mark.cuda

DTYPES = [np.float32, np.float64]


def cpu(family, op):
    return get_kernel(family, op, "cpu")


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape", [(3, 5), (2, 2, 1, 2)])
def test_fc_matches_cpu_and_torch(xshape, dtype, rng):
    x = rng.standard_normal(xshape).astype(dtype)
    fan_in = int(np.prod(xshape[1:]))
    w = rng.standard_normal((3, fan_in)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    y = K.fc_forward(x, w, b)
    assert y.dtype == dtype and y.shape == (xshape[0], 3)
    np.testing.assert_allclose(y, cpu("fc", "forward_infer")(x, w, b), **_tol(dtype))
    tx = torch.tensor(x.reshape(xshape[0], -1), requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = torch.nn.functional.linear(tx, tw, tb)
    np.testing.assert_allclose(y, ty.detach().numpy(), **_tol(dtype))
    np.testing.assert_allclose(K.fc_forward(x, w, None), cpu("fc", "forward_infer")(x, w, None), **_tol(dtype))
    dy = rng.standard_normal(y.shape).astype(dtype)
    ty.backward(torch.from_numpy(dy))
    dx, dw, db = K.fc_backward(dy, x, w)
    assert dx.shape == xshape and dw.shape == w.shape and db.shape == (3,)
    for ours, theirs, ref in zip((dx, dw, db), cpu("fc", "backward")(dy, x, w), (tx.grad, tw.grad, tb.grad)):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, **_tol(dtype))
        np.testing.assert_allclose(ours.reshape(ref.shape), ref.numpy(), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fc_backward_without_dx(dtype, rng):
    # a layer on the network input: no dy W; dW and db as with it, and as the CPU kernel's
    x = rng.standard_normal((4, 6)).astype(dtype)
    w = rng.standard_normal((3, 6)).astype(dtype)
    dy = rng.standard_normal((4, 3)).astype(dtype)
    dx, dw, db = K.fc_backward(dy, x, w, need_dx=False)
    assert dx is None
    _, dw_all, db_all = K.fc_backward(dy, x, w)
    np.testing.assert_array_equal(dw, dw_all)
    np.testing.assert_array_equal(db, db_all)
    none, cdw, cdb = cpu("fc", "backward")(dy, x, w, need_dx=False)
    assert none is None
    np.testing.assert_allclose(dw, cdw, **_tol(dtype))
    np.testing.assert_allclose(db, cdb, **_tol(dtype))


def test_fc_long_reduction_is_accurate(rng):
    # k much longer than a block: each thread sums a strided part, the block's tree the rest.
    x = rng.standard_normal((2, 300)).astype(np.float32)
    w = rng.standard_normal((3, 300)).astype(np.float32)
    np.testing.assert_allclose(K.fc_forward(x, w, None), x.astype(np.float64) @ w.T.astype(np.float64),
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (2, 4, 2, 3)])
def test_softmax_matches_cpu_and_torch(shape, dtype, rng):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    x.flat[0] = 80  # large values: the maximum is subtracted first
    y = K.softmax_forward(x)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, cpu("softmax", "forward_infer")(x), **_tol(dtype))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.softmax(tx, dim=1)
    np.testing.assert_allclose(y, ty.detach().numpy(), **_tol(dtype))
    dy = rng.standard_normal(shape).astype(dtype)
    ty.backward(torch.from_numpy(dy))
    dx = K.softmax_backward(dy, x, y)
    np.testing.assert_allclose(dx, cpu("softmax", "backward")(dy, x, y), **_tol(dtype))
    np.testing.assert_allclose(dx, tx.grad.numpy(), **_tol(dtype))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the simulator's numpy scalars
def test_softmax_inf_and_nan_like_cpu():
    x = np.array([[1.0, np.inf, 0.0], [np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]], np.float32)
    np.testing.assert_array_equal(K.softmax_forward(x), cpu("softmax", "forward_infer")(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_addition_matches_cpu(dtype, rng):
    xs = [rng.standard_normal((2, 3, 2, 2)).astype(dtype) for _ in range(3)]
    for k in (1, 2, 3):
        np.testing.assert_array_equal(K.addition_forward(xs[:k]), cpu("addition", "forward_infer")(xs[:k]))
    dy = xs[0]
    outs = K.addition_backward(dy, 2)
    assert len(outs) == 2 and outs[0] is not outs[1]
    for o in outs:
        np.testing.assert_array_equal(o, dy)


def test_device_arrays_round_trip(cuda, rng):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    w = rng.standard_normal((2, 6)).astype(np.float32)
    yd = K.fc_forward(cuda.to_device(x), cuda.to_device(w), None)
    assert K.is_device_array(yd)
    np.testing.assert_array_equal(yd.copy_to_host(), K.fc_forward(x, w, None))
    sd = K.softmax_forward(yd)
    assert K.is_device_array(sd)
    np.testing.assert_array_equal(sd.copy_to_host(), K.softmax_forward(K.fc_forward(x, w, None)))
    ad = K.addition_forward([cuda.to_device(x), x])
    assert K.is_device_array(ad)
    np.testing.assert_array_equal(ad.copy_to_host(), x + x)
    grads = K.fc_backward(cuda.to_device(np.ones((3, 2), np.float32)), cuda.to_device(x), w)
    assert all(K.is_device_array(g) for g in grads)
    assert K.is_device_array(K.to_device(x)) and K.to_device(yd) is yd
    np.testing.assert_array_equal(K.to_host(K.to_device(x)), x)


def test_bad_input_is_a_clear_error(rng):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    with pytest.raises(ValueError, match=r"fc_forward: weights \(2, 5\) do not fit input size 6"):
        K.fc_forward(x, np.zeros((2, 5)), None)
    with pytest.raises(ValueError, match=r"b: expected shape \(2,\)"):
        K.fc_forward(x, np.zeros((2, 6)), np.zeros(3))
    with pytest.raises(ValueError, match=r"dy: expected shape \(3, 2\)"):
        K.fc_backward(np.zeros((3, 3)), x, np.zeros((2, 6)))
    with pytest.raises(ValueError, match="softmax_forward: expected N x C"):
        K.softmax_forward(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="addition_forward: input 2 has shape"):
        K.addition_forward([x, x[:2]])
    with pytest.raises(ValueError, match="at least one input"):
        K.addition_forward([])
