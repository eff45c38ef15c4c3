"""lstm_backward(need_dx=False): no dx, the same weight gradients; the LSTM op on the network input asks for none."""
import numpy as np

from layergraph.kernels.cpu.recurrent import lstm_backward, lstm_forward_train


def test_need_dx_false_same_weight_grads():
    rng = np.random.default_rng(3)
    n, c, t, h = 20, 6, 9, 16
    x = rng.standard_normal((n, c, t)).astype(np.float32)
    w = (rng.standard_normal((4 * h, c)) * 0.3).astype(np.float32)
    r = (rng.standard_normal((4 * h, h)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(4 * h) * 0.1).astype(np.float32)
    dhT = rng.standard_normal((n, h)).astype(np.float32)
    _, _, _, ctx = lstm_forward_train(x, w, r, b, sequence=False)
    full = lstm_backward(None, dhT, None, ctx, w, r)
    part = lstm_backward(None, dhT, None, ctx, w, r, need_dx=False)
    assert part[0] is None and full[0].shape == x.shape
    for a, p in zip(full[1:], part[1:]):
        np.testing.assert_array_equal(a, p)


def test_op_on_network_input_skips_dx(monkeypatch):
    from layergraph.kernels.cpu import recurrent
    from layergraph.matlab import (categorical, classificationLayer, fullyConnectedLayer, lstmLayer,
                                   sequenceInputLayer, softmaxLayer, trainingOptions, trainNetwork)
    seen = []
    orig = recurrent._input_grads

    def spy(dg, xt, w, need_dx=True):
        seen.append(need_dx)
        return orig(dg, xt, w, need_dx)
    monkeypatch.setattr(recurrent, "_input_grads", spy)
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((2, 5)).astype(np.float32) for _ in range(8)]
    y = categorical(np.arange(8) % 2)
    layers = [sequenceInputLayer(2), lstmLayer(4, "OutputMode", "sequence"), lstmLayer(3, "OutputMode", "last"),
              fullyConnectedLayer(2), softmaxLayer(), classificationLayer()]
    opts = trainingOptions("sgdm", MaxEpochs=1, MiniBatchSize=8, Verbose=False, Shuffle="never")
    trainNetwork(X, y, layers, opts)
    assert seen == [True, False]      # the second LSTM passes dx on; the first, on the input, makes none
