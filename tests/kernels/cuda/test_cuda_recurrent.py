"""numba.cuda LSTM and GRU kernels (kernels/cuda/recurrent.py) against the CPU kernels (values and
every gradient; float32 and float64; masks on both sides, both directions, every gate/state
activation and GRU mode), a float64 directional finite difference through time, and device
arrays in, device arrays out. Small sizes: the simulator runs one Python thread per GPU thread."""
import numpy as np
import pytest

import layergraph.kernels.cuda as K
from layergraph.kernels.cpu import recurrent as cpu

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _fewer_threads(monkeypatch):
    # Fewer simulated threads per launch (a step is 2 to 4 launches); the grid-stride loops
    # still cover every element, as conftest's small_launch makes them do.
    from layergraph.kernels.cuda import _runtime
    monkeypatch.setattr(_runtime, "MAX_THREADS", 8)
    monkeypatch.setattr(_runtime, "MAX_BLOCKS", 1)
    monkeypatch.setattr(_runtime, "REDUCE_THREADS", 4)


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def _data(k, dtype, n=3, c=2, t=3, hid=3, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, c, t)).astype(dtype)
    w = (0.6 * g.standard_normal((k * hid, c))).astype(dtype)
    r = (0.6 * g.standard_normal((k * hid, hid))).astype(dtype)
    b = (0.3 * g.standard_normal(k * hid)).astype(dtype)
    h0 = (0.5 * g.standard_normal((n, hid))).astype(dtype)
    dy = g.standard_normal((n, hid, t)).astype(dtype)
    dh = g.standard_normal((n, hid)).astype(dtype)
    return x, w, r, b, h0, dy, dh


def _mask(n, t, left):
    lengths = np.array([t, 1, t - 1])[:n]
    ar = np.arange(t)[None, :]
    return ar >= t - lengths[:, None] if left else ar < lengths[:, None]


def _close(ours, ref, dtype):
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        if b is None:
            assert a is None
            continue
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **_tol(dtype))


@pytest.mark.parametrize("dtype, gate, state, reverse, left", [
    (np.float32, "sigmoid", "tanh", False, False),
    (np.float64, "hard-sigmoid", "softsign", True, True),
    (np.float64, "sigmoid", "tanh", True, False),
])
def test_lstm_matches_cpu(dtype, gate, state, reverse, left):
    x, w, r, b, h0, dy, dh = _data(4, dtype)
    c0 = (0.7 * h0).astype(dtype)
    mask = _mask(3, 3, left)
    kw = dict(mask=mask, gate=gate, state=state, reverse=reverse)
    ours = K.lstm_forward_train(x, w, r, b, h0, c0, **kw)
    ref = cpu.lstm_forward_train(x, w, r, b, h0, c0, **kw)
    _close(ours[:3], ref[:3], dtype)
    _close(K.lstm_forward_infer(x, w, r, b, h0, c0, sequence=left, **kw)[int(not left):], ref[int(not left):3], dtype)
    bk = dict(gate=gate, state=state, reverse=reverse)
    _close(K.lstm_backward(dy, dh, -dh, ours[3], w, r, **bk), cpu.lstm_backward(dy, dh, -dh, ref[3], w, r, **bk),
           dtype)
    _close(K.lstm_backward(None, dh, None, ours[3], w, r, **bk), cpu.lstm_backward(None, dh, None, ref[3], w, r, **bk),
           dtype)


@pytest.mark.parametrize("mode, gate, state, reverse, left", [
    ("after-multiplication", "sigmoid", "tanh", False, False),
    ("before-multiplication", "hard-sigmoid", "softsign", True, True),
    ("recurrent-bias-after-multiplication", "sigmoid", "tanh", True, False),
])
def test_gru_matches_cpu(mode, gate, state, reverse, left):
    dtype = np.float64
    x, w, r, b, h0, dy, dh = _data(3, dtype, seed=1)
    rb = 0.5 * b if mode == "recurrent-bias-after-multiplication" else None
    kw = dict(mask=_mask(3, 3, left), mode=mode, gate=gate, state=state, reverse=reverse)
    ours = K.gru_forward_train(x, w, r, b, rb, h0, **kw)
    ref = cpu.gru_forward_train(x, w, r, b, rb, h0, **kw)
    _close(ours[:2], ref[:2], dtype)
    _close(K.gru_forward_infer(x, w, r, b, rb, h0, **kw), ref[:2], dtype)
    bk = dict(mode=mode, gate=gate, state=state, reverse=reverse)
    _close(K.gru_backward(dy, dh, ours[2], w, r, **bk), cpu.gru_backward(dy, dh, ref[2], w, r, **bk), dtype)
    _close(K.gru_backward(None, dh, ours[2], w, r, **bk), cpu.gru_backward(None, dh, ref[2], w, r, **bk), dtype)


def test_gru_float32_matches_cpu():
    x, w, r, b, h0, dy, dh = _data(3, np.float32, seed=2)
    kw = dict(mask=_mask(3, 3, False), mode="before-multiplication")
    ours = K.gru_forward_train(x, w, r, b, None, h0, **kw)
    ref = cpu.gru_forward_train(x, w, r, b, None, h0, **kw)
    _close(ours[:2], ref[:2], np.float32)
    mode = kw["mode"]
    _close(K.gru_backward(dy, dh, ours[2], w, r, mode=mode), cpu.gru_backward(dy, dh, ref[2], w, r, mode=mode),
           np.float32)


def test_lstm_gradients_match_finite_differences(directional_check):
    x, w, r, b, h0, dy, _ = _data(4, np.float64, n=2, t=3, hid=2, seed=3)
    mask = _mask(2, 3, False)

    def loss(x, w, r, b, h0):
        y, hT, cT, _ = K.lstm_forward_train(x, w, r, b, h0, None, mask=mask)
        return float(np.sum(y * dy) + np.sum(hT) + 2 * np.sum(cT))

    y, hT, cT, ctx = K.lstm_forward_train(x, w, r, b, h0, None, mask=mask)
    dx, dw, dr, db, dh0, _ = K.lstm_backward(dy, np.ones_like(hT), 2 * np.ones_like(cT), ctx, w, r)
    directional_check(loss, [x, w, r, b, h0], [dx, dw, dr, db, dh0])


def test_gru_gradients_match_finite_differences(directional_check):
    x, w, r, b, h0, dy, _ = _data(3, np.float64, n=2, t=3, hid=2, seed=4)
    mode = "recurrent-bias-after-multiplication"
    mask = _mask(2, 3, True)

    def loss(x, w, r, b, rb, h0):
        y, hT, _ = K.gru_forward_train(x, w, r, b, rb, h0, mask=mask, mode=mode, reverse=True)
        return float(np.sum(y * dy) + np.sum(hT))

    rb = 0.5 * b
    y, hT, ctx = K.gru_forward_train(x, w, r, b, rb, h0, mask=mask, mode=mode, reverse=True)
    dx, dw, dr, db, drb, dh0 = K.gru_backward(dy, np.ones_like(hT), ctx, w, r, mode=mode, reverse=True)
    directional_check(loss, [x, w, r, b, rb, h0], [dx, dw, dr, db, drb, dh0])


def test_device_arrays_stay_on_device(cuda):
    x, w, r, b, h0, dy, dh = _data(4, np.float32, n=2, t=2, hid=2)
    dev = [cuda.to_device(a) for a in (x, w, r, b, h0)]
    y, hT, cT, ctx = K.lstm_forward_train(*dev, None)
    assert K.is_device_array(y) and K.is_device_array(hT) and y.shape == (2, 2, 2)
    ref = cpu.lstm_forward_train(x, w, r, b, h0)
    _close([y.copy_to_host(), hT.copy_to_host(), cT.copy_to_host()], ref[:3], np.float32)
    grads = K.lstm_backward(cuda.to_device(dy), None, None, ctx, dev[1], dev[2])
    assert all(K.is_device_array(g) for g in grads)
    _close([g.copy_to_host() for g in grads], cpu.lstm_backward(dy, None, None, ref[3], w, r), np.float32)


def test_bad_arguments_are_refused():
    x, w, r, b, h0, dy, dh = _data(4, np.float32, n=2, t=2, hid=2)
    with pytest.raises(ValueError, match="gate must be one of"):
        K.lstm_forward_train(x, w, r, b, gate="relu")
    with pytest.raises(ValueError, match="input weights"):
        K.lstm_forward_train(x, w[:, :1], r, b)
    with pytest.raises(ValueError, match="mask"):
        K.lstm_forward_train(x, w, r, b, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="mode must be one of"):
        K.gru_forward_train(x, w[:6], r[:6], b[:6], mode="sideways")


@pytest.mark.parametrize("layer", ["lstm", "bilstm", "gru"])
def test_sequence_classifier_predicts_on_the_gpu_as_on_the_cpu(layer):
    """A network with a recurrent layer (OutputMode 'last', ragged sequences, so padded and
    masked) through the executor on the 'cuda' kernels (ExecutionEnvironment 'gpu')."""
    from layergraph import (
        bilstmLayer, dlnetwork, fullyConnectedLayer, gruLayer, lstmLayer, sequenceInputLayer, softmaxLayer,
    )
    rec = {"lstm": lambda: lstmLayer(3, "OutputMode", "last"), "bilstm": lambda: bilstmLayer(2, "OutputMode", "last"),
           "gru": lambda: gruLayer(3, "OutputMode", "last")}[layer]()
    net = dlnetwork([sequenceInputLayer(2), rec, fullyConnectedLayer(3), softmaxLayer()])
    g = np.random.default_rng(5)
    X = [g.standard_normal((2, k)) for k in (3, 1, 2)]
    cpu_y = net.predict(X, dtype=np.float64)
    gpu_y = net.predict(X, ExecutionEnvironment="gpu", dtype=np.float64)
    assert isinstance(gpu_y, np.ndarray) and gpu_y.shape == cpu_y.shape
    np.testing.assert_allclose(gpu_y, cpu_y, rtol=1e-10, atol=1e-12)
