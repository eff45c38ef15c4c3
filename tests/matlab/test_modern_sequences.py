"""forward / predict of a dlnetwork with recurrent layers on 'CBT' dlarrays inside dlfeval: one
tape node whose backward is the executor's; gradients with respect to the learnables and the
data against float64 finite differences and torch autograd (an LSTM regression), the State
output (HiddenState / CellState, H x N) and a next call starting from it, and bad input."""
import numpy as np
import pytest
import torch

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, bilstmLayer, dims, dlarray, dlfeval, dlgradient, dlnetwork, extractdata,
                               fullyConnectedLayer, gruLayer, lstmLayer, mse, sequenceInputLayer)

R = np.random.default_rng(11)
C, H, K, N, T = 3, 4, 2, 3, 5


def net_of(rec, zscore=False):
    norm = ("Normalization", "zscore", "Mean", R.standard_normal((C, 1)), "StandardDeviation",
            R.random((C, 1)) + 0.5) if zscore else ()
    return dlnetwork(LayerArray([sequenceInputLayer(C, *norm, "Name", "in"), rec,
                                 fullyConnectedLayer(K, "Name", "fc")]))


def data(t=T):
    return dlarray(R.standard_normal((C, N, t)), "CBT")


def target_like(Y):
    return dlarray(np.asarray(R.standard_normal(Y.shape)), dims(Y))


def grads(net, X, Tgt, call="forward"):
    def model(net, X):
        out = getattr(net, call)(X)
        Y = out[0] if call == "forward" else out
        loss = mse(Y, Tgt)
        gl, gx = dlgradient(loss, net.Learnables, X)
        return loss, gl, gx
    return dlfeval(model, net, X)


def value(net, X, Tgt, call="forward"):
    out = getattr(net, call)(X)
    Y = out[0] if call == "forward" else out
    return float(extractdata(mse(Y, Tgt)).reshape(-1)[0])


def fd_check(net, X, Tgt, call="forward", h=1e-6):
    _, gl, gx = grads(net, X, Tgt, call)
    assert all(extractdata(r.Value).dtype == np.float64 for r in gl)
    for row, grow in zip(net.Learnables, gl):
        w = np.asarray(row.Value, np.float64)
        g = extractdata(grow.Value)
        assert g.shape == w.shape
        for j in R.choice(w.size, size=min(5, w.size), replace=False):
            idx = np.unravel_index(j, w.shape)
            vals = []
            for s in (h, -h):
                w2 = w.copy()
                w2[idx] += s
                vals.append(value(net._with_arrays({(row.Layer, row.Parameter): w2}), X, Tgt, call))
            num = (vals[0] - vals[1]) / (2 * h)
            assert abs(g[idx] - num) <= 1e-7 + 1e-5 * abs(num), (row.Layer, row.Parameter, g[idx], num)
    x = extractdata(X)
    gxd = extractdata(gx)
    assert gxd.shape == x.shape and dims(gx) == dims(X)
    for j in R.choice(x.size, size=6, replace=False):
        idx = np.unravel_index(j, x.shape)
        vals = []
        for s in (h, -h):
            x2 = x.copy()
            x2[idx] += s
            vals.append(value(net, dlarray(x2, dims(X)), Tgt, call))
        num = (vals[0] - vals[1]) / (2 * h)
        assert abs(gxd[idx] - num) <= 1e-7 + 1e-5 * abs(num), (idx, gxd[idx], num)


def double_net(net):
    """The network with float64 learnables (so finite differences see exact perturbations)."""
    return net._with_arrays({(r.Layer, r.Parameter): np.asarray(r.Value, np.float64) for r in net.Learnables})


@pytest.mark.parametrize("mode", ["sequence", "last"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "bilstm"])
def test_finite_differences(kind, mode):
    rec = {"lstm": lstmLayer, "gru": gruLayer, "bilstm": bilstmLayer}[kind](H, "OutputMode", mode, "Name", "rec")
    net = double_net(net_of(rec, zscore=kind == "lstm"))
    X = data()
    Y = net.predict(X)
    assert dims(Y) == ("CBT" if mode == "sequence" else "CB")
    assert Y.shape == ((K, N, T) if mode == "sequence" else (K, N))
    Tgt = target_like(Y)
    fd_check(net, X, Tgt, "forward")
    fd_check(net, X, Tgt, "predict")


def torch_lstm(net):
    lstm = net.Layers[1]
    fc = net.Layers[2]
    m = torch.nn.LSTM(C, H).double()
    lin = torch.nn.Linear(H, K).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(np.asarray(lstm.InputWeights, np.float64)))   # gates i f g o, as MATLAB
        m.weight_hh_l0.copy_(torch.from_numpy(np.asarray(lstm.RecurrentWeights, np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(np.asarray(lstm.Bias, np.float64).ravel()))
        m.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(np.asarray(fc.Weights, np.float64)))
        lin.bias.copy_(torch.from_numpy(np.asarray(fc.Bias, np.float64).ravel()))
    return m, lin


def test_lstm_regression_against_torch():
    net = net_of(lstmLayer(H, "Name", "rec"))
    X = data()
    Y = net.predict(X)
    Tgt = target_like(Y)
    loss, gl, gx = grads(net, X, Tgt)
    m, lin = torch_lstm(net)
    xt = torch.tensor(extractdata(X).transpose(2, 1, 0), requires_grad=True)   # T x N x C
    yt, (hn, cn) = m(xt)
    out = lin(yt)                                                                 # T x N x K
    tt = torch.from_numpy(extractdata(Tgt).transpose(2, 1, 0))
    lt = ((out - tt) ** 2).sum() / 2 / N   # mse: half the squared error over N
    lt.backward()
    assert abs(float(extractdata(loss).reshape(-1)[0]) - lt.item()) <= 1e-6 * abs(lt.item())
    ref = {("rec", "InputWeights"): m.weight_ih_l0.grad, ("rec", "RecurrentWeights"): m.weight_hh_l0.grad,
           ("rec", "Bias"): m.bias_ih_l0.grad[:, None], ("fc", "Weights"): lin.weight.grad,
           ("fc", "Bias"): lin.bias.grad[:, None]}
    for row in gl:
        g = extractdata(row.Value)
        assert g.dtype == np.float32   # a gradient has its variable's type
        np.testing.assert_allclose(g, ref[(row.Layer, row.Parameter)].numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(extractdata(gx), xt.grad.numpy().transpose(2, 1, 0), rtol=1e-6, atol=1e-9)


def test_state_output_and_the_next_call():
    net = net_of(lstmLayer(H, "Name", "rec"))
    X1, X2 = data(), data(4)
    _, state = net.forward(X1)
    assert [(r.Layer, r.Parameter) for r in state] == [("rec", "HiddenState"), ("rec", "CellState")]
    m, lin = torch_lstm(net)
    with torch.no_grad():
        _, (h1, c1) = m(torch.from_numpy(extractdata(X1).transpose(2, 1, 0)))
    hs, cs = (np.asarray(r.Value) for r in state)
    assert hs.shape == (H, N) and cs.shape == (H, N)
    np.testing.assert_allclose(hs, h1[0].numpy().T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cs, c1[0].numpy().T, rtol=1e-5, atol=1e-6)
    net.State = state
    Tgt = dlarray(R.standard_normal((K, N, 4)), "CBT")
    loss, gl, gx = grads(net, X2, Tgt)   # starts from the state (held fixed: not a learnable)
    xt = torch.tensor(extractdata(X2).transpose(2, 1, 0), requires_grad=True)
    yt, _ = m(xt, (h1.clone(), c1.clone()))
    lt = ((lin(yt) - torch.from_numpy(extractdata(Tgt).transpose(2, 1, 0))) ** 2).sum() / 2 / N
    lt.backward()
    assert abs(float(extractdata(loss).reshape(-1)[0]) - lt.item()) <= 1e-5 * abs(lt.item())
    np.testing.assert_allclose(extractdata(gx), xt.grad.numpy().transpose(2, 1, 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(extractdata(list(gl)[0].Value), m.weight_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ctb_is_cbt():
    net = net_of(lstmLayer(H, "Name", "rec"))
    x = R.standard_normal((C, T, N))
    a = net.predict(dlarray(x, "CTB"))
    b = net.predict(dlarray(x.transpose(0, 2, 1), "CBT"))
    assert dims(a) == "CBT"
    np.testing.assert_array_equal(extractdata(a), extractdata(b))
    # an unformatted array is read as 'CBT'
    np.testing.assert_array_equal(extractdata(net.predict(dlarray(x.transpose(0, 2, 1)))), extractdata(b))


def test_bad_input():
    net = net_of(lstmLayer(H, "Name", "rec"))
    with pytest.raises(LayerGraphError, match=r"layer 'in'. The layer expects data with format 'CBT', but the data "
                                               r"has format 'CB'"):
        net.predict(dlarray(R.standard_normal((C, N)), "CB"))
    with pytest.raises(LayerGraphError, match=r"Layer expects input data with 3 channels, but the input data has 2 "
                                               r"channels"):
        net.forward(dlarray(R.standard_normal((2, N, T)), "CBT"))
    with pytest.raises(LayerGraphError, match=r"the unformatted data has 2 dimensions \(size \[3 5\]\). Give a "
                                               r"formatted dlarray, e.g. dlarray\(X, 'CBT'\)"):
        net.predict(dlarray(R.standard_normal((C, T))))


def test_image_sequences_sscbt():
    from layergraph.matlab import convolution2dLayer, flattenLayer, reluLayer
    net = double_net(dlnetwork(LayerArray([
        sequenceInputLayer([4, 4, 2], "Name", "in"), convolution2dLayer(3, 2, "Padding", "same", "Name", "conv"),
        reluLayer("Name", "relu"), flattenLayer("Name", "flat"), lstmLayer(3, "OutputMode", "last", "Name", "rec"),
        fullyConnectedLayer(K, "Name", "fc")])))
    X = dlarray(R.standard_normal((4, 4, 2, N, T)), "SSCBT")
    Y = net.predict(X)
    assert dims(Y) == "CB" and Y.shape == (K, N)
    # the conv output keeps its time: 'SSCBT', H x W x C x N x T
    Yc = net.predict(X, Outputs="relu")
    assert dims(Yc) == "SSCBT" and Yc.shape == (4, 4, 2, N, T)
    fd_check(net, X, target_like(Y), "forward")
