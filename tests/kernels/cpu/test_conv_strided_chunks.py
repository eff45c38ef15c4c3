"""conv._grads_rows_strided (the pixel-major backward of strided convolutions: ResNet's stride-2
3x3 convolutions and 1x1 shortcuts) in chunks of about conv._STRIDED_PIX pixels: uneven batches
over several threads against torch in float64 and against the channel-major route; dW the same
array with and without dx, and the same whatever the thread count."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu import conv as cv

CASES = [  # n, C, F, H = W, filter, stride, padding
    (37, 16, 32, 16, 3, 2, 1),   # 64 observations a chunk at 16 x 16: one chunk per thread
    (37, 16, 32, 32, 1, 2, 0),   # 16 a chunk: three chunks, the last short
    (19, 8, 16, 9, 3, 2, 0),
    (5, 32, 64, 16, 3, 3, 1),
]


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("case", CASES)
def test_strided_backward_in_chunks(case, threads):
    n, c, f, hw, k, st, pd = case
    g = np.random.default_rng(n + c + f)
    x = g.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (g.standard_normal((f, c, k, k)) * 0.2).astype(np.float32)
    oh = (hw + 2 * pd - k) // st + 1
    dy = g.standard_normal((n, f, oh, oh)).astype(np.float32)
    args = (st, st, 1, 1, pd, pd, pd, pd)
    dx, dW, db = cv.conv_backward(_nhwc(dy), _nhwc(x), w, *args, x_layout="nhwc", y_layout="nhwc")
    _, dW2, db2 = cv.conv_backward(_nhwc(dy), _nhwc(x), w, *args, x_layout="nhwc", y_layout="nhwc", need_dx=False)
    np.testing.assert_array_equal(dW, dW2)
    np.testing.assert_array_equal(db, db2)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, wt, stride=st, padding=pd).backward(torch.tensor(dy, dtype=torch.float64))
    rdx, rdw = xt.grad.numpy().transpose(0, 2, 3, 1), wt.grad.numpy()
    np.testing.assert_allclose(dx, rdx, rtol=0, atol=2e-5 * np.abs(rdx).max())
    np.testing.assert_allclose(dW, rdw, rtol=0, atol=2e-5 * np.abs(rdw).max())
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-4)
    dx0, dw0, _ = cv.conv_backward(dy, x, w, *args)
    np.testing.assert_allclose(dx, _nhwc(dx0), rtol=0, atol=2e-5 * np.abs(dx0).max())
    np.testing.assert_allclose(dW, dw0, rtol=0, atol=2e-5 * np.abs(dw0).max())


def test_the_chunks_do_not_depend_on_the_threads(monkeypatch):
    """At most one chunk per thread when the batch is small: with one thread the chunks are of
    _STRIDED_PIX pixels, and dW is summed in chunk order; the numbers are the same as with
    another thread count whenever the chunks are."""
    g = np.random.default_rng(1)
    x = g.standard_normal((64, 16, 32, 32)).astype(np.float32)
    w = g.standard_normal((32, 16, 1, 1)).astype(np.float32)
    dy = g.standard_normal((64, 32, 16, 16)).astype(np.float32)
    args = (2, 2, 1, 1, 0, 0, 0, 0)
    outs = []
    for t in (1, 2, 4):
        monkeypatch.setattr(cv, "_threads", lambda t=t: t)
        outs.append(cv.conv_backward(_nhwc(dy), _nhwc(x), w, *args, x_layout="nhwc", y_layout="nhwc"))
    for o in outs[1:]:   # 64 observations of 1024 pixels: 16 a chunk at every one of these counts
        for a, b in zip(o, outs[0]):
            np.testing.assert_array_equal(a, b)
