"""The batch-split prediction path of conv_forward: uneven batches over threads,
groups, strides, padding values and the fused ReLU, against PyTorch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.kernels.cpu.conv import conv_forward


@pytest.mark.parametrize("n", [1, 3, 9])
@pytest.mark.parametrize("relu", [False, True])
def test_batch_split_matches_torch(n, relu):
    g = np.random.default_rng(n)
    x = g.standard_normal((n, 4, 7, 6))
    w = g.standard_normal((6, 2, 3, 2))
    b = g.standard_normal(6)
    y = conv_forward(x, w, b, 2, 1, 1, 2, 1, 2, 0, 1, groups=2, padding_value=0.5, relu=relu)
    xp = F.pad(torch.tensor(x), (0, 1, 1, 2), value=0.5)
    ref = F.conv2d(xp, torch.tensor(w), torch.tensor(b), stride=(2, 1), dilation=(1, 2), groups=2)
    if relu:
        ref = F.relu(ref)
    assert np.allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)


def test_blas_threads_restored():
    from threadpoolctl import ThreadpoolController
    before = [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    conv_forward(np.ones((5, 1, 4, 4), np.float32), np.ones((1, 1, 2, 2), np.float32), None, 1, 1, 1, 1, 0, 0, 0, 0)
    after = [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    assert before == after


@pytest.mark.parametrize("pool", [(2, 2, 2, 2, 0, 0, 0, 0), (3, 2, 2, 1, 1, 1, 0, 1)])
def test_fused_max_pooling_matches_torch(pool):
    g = np.random.default_rng(7)
    x = g.standard_normal((6, 3, 8, 7))
    w = g.standard_normal((5, 3, 3, 3))
    b = g.standard_normal(5)
    y = conv_forward(x, w, b, 1, 1, 1, 1, 1, 1, 1, 1, relu=True, pool=pool)
    ph, pw, sh, sw, pt, pb, pl, pr = pool
    ref = F.relu(F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1))
    ref = F.max_pool2d(F.pad(ref, (pl, pr, pt, pb), value=-np.inf), (ph, pw), (sh, sw))
    assert np.allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
