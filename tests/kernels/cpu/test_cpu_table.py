"""The kernel table: lookup, errors that list what exists, lazy device loading, dtypes."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from layergraph.kernels import OPERATIONS, KernelNotFoundError, available, get_kernel
from layergraph.kernels.cpu import KERNELS

FAMILIES = ["conv", "transposed_conv", "batchnorm", "layernorm", "maxpool", "avgpool", "globalavgpool",
            "globalmaxpool", "fc", "relu", "leakyrelu", "clippedrelu", "elu", "tanh", "sigmoid", "swish", "gelu",
            "softmax", "dropout", "addition", "concatenation", "depthconcatenation", "flatten",
            "crossentropyex", "mse", "elementwise", "threading", "instancenorm", "groupnorm",
            "multiplication", "scaling", "resize", "hardsigmoid", "hardswish", "lstm", "gru", "rnn", "embedding",
            "maskedrecurrent"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_every_operation(family):
    for op in OPERATIONS:
        fn = get_kernel(family, op, "cpu")
        assert callable(fn) and KERNELS[(family, op)] is fn


def test_table_has_nothing_unexpected():
    assert {f for f, _ in available("cpu")} == set(FAMILIES)
    assert {op for _, op in available("cpu")} == set(OPERATIONS)


def test_named_signatures():
    from layergraph.kernels.cpu import norm, pool
    assert get_kernel("batchnorm", "forward_train") is norm.bn_forward_train
    assert get_kernel("batchnorm", "forward_infer") is norm.bn_forward_infer
    assert get_kernel("batchnorm", "backward") is norm.bn_backward
    assert get_kernel("maxpool", "forward_train") is pool.maxpool_forward_train
    assert get_kernel("avgpool", "forward_train") is get_kernel("avgpool", "forward_infer") is pool.avgpool_forward


def test_unknown_family_lists_families():
    with pytest.raises(KeyError) as err:
        get_kernel("convolution", "forward_train", "cpu")
    assert isinstance(err.value, KernelNotFoundError)
    msg = str(err.value)
    assert "'convolution'" in msg and "batchnorm" in msg and "transposed_conv" in msg


def test_unknown_operation_lists_operations():
    with pytest.raises(KernelNotFoundError) as err:
        get_kernel("batchnorm", "forward", "cpu")
    assert "backward, forward_infer, forward_train" in str(err.value)


def test_unknown_device():
    with pytest.raises(KeyError, match="devices are cpu, cuda"):
        get_kernel("relu", "forward_train", "tpu")


def test_import_is_lazy():
    """Importing the table loads no device package and so compiles nothing."""
    code = ("import sys, layergraph.kernels as k; "
            "assert 'layergraph.kernels.cpu' not in sys.modules; "
            "assert 'layergraph.kernels.cuda' not in sys.modules; "
            "k.get_kernel('relu', 'backward', 'cpu'); "
            "assert 'layergraph.kernels.cpu' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dtypes_and_inputs_untouched():
    r = np.random.default_rng(0)
    x32 = r.standard_normal((2, 3, 4, 4)).astype(np.float32)
    keep = x32.copy()
    y, m, v = get_kernel("batchnorm", "forward_train")(x32, np.ones(3), np.zeros(3), 1e-5)
    assert y.dtype == m.dtype == v.dtype == np.float32
    assert get_kernel("relu", "forward_train")(np.arange(-3, 3)).dtype == np.float32  # ints -> float32
    get_kernel("conv", "backward")(np.ones((2, 2, 4, 4), np.float32), x32, np.ones((2, 3, 3, 3)), 1, 1, 1, 1,
                                   1, 1, 1, 1)
    np.testing.assert_array_equal(x32, keep)
