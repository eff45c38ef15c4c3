"""dlfeval / dlgradient: every functional op against float64 finite differences and against
torch autograd on the same computation; a residual dlnetwork's forward node against finite
differences; MATLAB's errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, additionLayer, avgpool, batchnorm, batchNormalizationLayer,
                               convolution2dLayer, crossentropy, dlarray, dlconv, dlfeval,
                               dlgradient, dlnetwork, exp, extractdata, fullyConnectedLayer, fullyconnect, huber,
                               imageInputLayer, l1loss, l2loss, layerGraph, layernorm, leakyrelu, log, maxpool,
                               mse, relu, reluLayer, sigmoid, softmax, softmaxLayer, sqrt, tanh)
from layergraph.matlab import max as mmax
from layergraph.matlab import mean as mmean
from layergraph.matlab import sum as msum

R = np.random.default_rng(1)


def grads_of(fn, inputs):
    """(loss value, gradients) of ``fn(*dlarrays)`` through dlfeval."""
    def model(*xs):
        loss = fn(*xs)
        return loss, dlgradient(loss, *xs)
    loss, g = dlfeval(model, *inputs)
    return float(extractdata(loss).reshape(-1)[0]), (g if isinstance(g, tuple) else (g,))


def fd_check(fn, inputs, entries=12, h=1e-6, rtol=1e-5, atol=1e-7):
    """Central differences on a few entries of every input (float64)."""
    _, grads = grads_of(fn, inputs)
    for k, (x, g) in enumerate(zip(inputs, grads)):
        data = extractdata(x)
        gd = extractdata(g)
        assert gd.shape == data.shape
        flat = R.choice(data.size, size=min(entries, data.size), replace=False)
        for j in flat:
            idx = np.unravel_index(j, data.shape)
            plus, minus = data.copy(), data.copy()
            plus[idx] += h
            minus[idx] -= h
            args_p = list(inputs)
            args_m = list(inputs)
            args_p[k] = dlarray(plus, x.__class__ and _fmt(x))
            args_m[k] = dlarray(minus, _fmt(x))
            fp = float(extractdata(fn(*args_p)).reshape(-1)[0])
            fm = float(extractdata(fn(*args_m)).reshape(-1)[0])
            num = (fp - fm) / (2 * h)
            assert abs(gd[idx] - num) <= atol + rtol * max(abs(num), 1.0), (k, idx, gd[idx], num)
    return grads


def _fmt(x):
    from layergraph.matlab import dims
    return dims(x) or None


def weighted(op, shape_like=None):
    """sum(op(...) .* W) for a fixed random W: a scalar whose gradient is W's pullback."""
    cache = {}

    def fn(*xs):
        y = op(*xs)
        if "w" not in cache:
            cache["w"] = R.standard_normal(y.shape)
        return msum(y * cache["w"], "all")
    return fn


def d64(shape, fmt=None, positive=False):
    x = R.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.5
    return dlarray(x, fmt)


# -- torch twins -------------------------------------------------------------------------------
def t(x):
    return torch.tensor(np.array(extractdata(x)), dtype=torch.float64, requires_grad=True)


def sscb_to_nchw(a):
    return a.permute(3, 2, 0, 1)


def nchw_to_sscb(a):
    return a.permute(2, 3, 1, 0)


def torch_grads(fn, inputs):
    ts = [t(x) for x in inputs]
    loss = fn(*ts)
    loss.backward()
    return float(loss.detach()), [x.grad.numpy() for x in ts]


def same_as_torch(ours, theirs, inputs):
    lo, go = grads_of(ours, inputs)
    lt, gt = torch_grads(theirs, inputs)
    np.testing.assert_allclose(lo, lt, rtol=1e-10, atol=1e-12)
    for a, b in zip(go, gt):
        np.testing.assert_allclose(extractdata(a), b, rtol=1e-9, atol=1e-11)


# -- the ops -----------------------------------------------------------------------------------
def test_rosenbrock_doc_example():
    def rosenbrock(x):
        y = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        return y, dlgradient(y, x)
    fval, g = dlfeval(rosenbrock, dlarray([-1, 2]))
    assert float(fval) == 104
    np.testing.assert_array_equal(extractdata(g), [[396, 200]])


def test_dlconv():
    X, W, b = d64((6, 5, 3, 2), "SSCB"), d64((3, 2, 3, 4)), d64((4, 1))
    Wt = R.standard_normal((6, 5, 4, 2))
    for kw in ({}, {"Padding": "same"}, {"Stride": 2, "Padding": 1}, {"DilationFactor": [2, 1], "Padding": [1, 0]}):
        def ours(X, W, b, kw=kw):
            return msum(dlconv(X, W, b, **kw) * dlarray(Wt[:dlconv(X, W, b, **kw).shape[0],
                                                          :dlconv(X, W, b, **kw).shape[1]], "SSCB"), "all")
        fd_check(ours, [X, W, b])

    def ours2(X, W, b):
        return msum(dlconv(X, W, b, "Stride", 2, "Padding", 1) ** 2, "all")

    def theirs(X, W, b):
        y = F.conv2d(sscb_to_nchw(X), W.permute(3, 2, 0, 1), b.reshape(-1), stride=2, padding=1)
        return (y ** 2).sum()
    same_as_torch(ours2, theirs, [X, W, b])


def test_fullyconnect():
    X, W, b = d64((3, 2, 4, 5), "SSCB"), d64((6, 24)), d64((6, 1))
    op = weighted(lambda X, W, b: fullyconnect(X, W, b))
    fd_check(op, [X, W, b])

    def ours(X, W, b):
        return msum(tanh(fullyconnect(X, W, b)), "all")

    def theirs(X, W, b):   # MATLAB flattens H x W x C column-major: h fastest, then w, then c
        flat = X.permute(3, 2, 1, 0).reshape(X.shape[3], -1)
        return torch.tanh(flat @ W.T + b.reshape(-1)).sum()
    same_as_torch(ours, theirs, [X, W, b])
    Y = fullyconnect(X, W, b)
    assert Y.shape == (6, 5) and _fmt(Y) == "CB"
    S = d64((4, 3, 7), "CBT")
    assert _fmt(fullyconnect(S, W[:, :4], b)) == "CBT"
    fd_check(weighted(lambda S, W: fullyconnect(S, W, 0)), [S, d64((6, 4))])


def test_batchnorm_and_layernorm():
    X, off, sc = d64((3, 4, 5, 6), "SSCB"), d64((5, 1)), d64((5, 1))
    fd_check(weighted(lambda X, o, s: batchnorm(X, o, s)[0]), [X, off, sc])
    m, v = np.abs(R.standard_normal((5, 1))), np.abs(R.standard_normal((5, 1))) + 0.5
    fd_check(weighted(lambda X, o, s: batchnorm(X, o, s, m, v)), [X, off, sc])
    fd_check(weighted(lambda X, o, s: layernorm(X, o, s)), [X, off, sc])

    def ours(X, o, s):
        return msum(batchnorm(X, o, s)[0] ** 3, "all") + msum(layernorm(X, o, s) ** 3, "all")

    def theirs(X, o, s):
        x = sscb_to_nchw(X)
        y1 = F.batch_norm(x, None, None, s.reshape(-1), o.reshape(-1), training=True, eps=1e-5)
        y2 = F.layer_norm(x, x.shape[1:], eps=1e-5) * s.reshape(1, -1, 1, 1) + o.reshape(1, -1, 1, 1)
        return (y1 ** 3).sum() + (y2 ** 3).sum()
    same_as_torch(ours, theirs, [X, off, sc])
    Y, mu, var = batchnorm(X, off, sc)
    x = extractdata(X)
    np.testing.assert_allclose(mu.reshape(-1), x.mean(axis=(0, 1, 3)))
    np.testing.assert_allclose(var.reshape(-1), x.var(axis=(0, 1, 3)))   # biased
    _, rm, rv = batchnorm(X, off, sc, m, v, Training=True)
    np.testing.assert_allclose(rm, 0.1 * x.mean(axis=(0, 1, 3))[:, None] + 0.9 * m)


def test_activations():
    X = d64((4, 3, 2, 5), "SSCB")
    for op in (relu, sigmoid, tanh, lambda x: leakyrelu(x, 0.2), exp, softmax):
        fd_check(weighted(op), [X])
    fd_check(weighted(lambda x: log(x) + sqrt(x)), [d64((3, 4), "CB", positive=True)])

    def ours(X):
        return msum(relu(X) * sigmoid(X) + leakyrelu(X) * softmax(X), "all")

    def theirs(X):
        return (F.relu(X) * torch.sigmoid(X) + F.leaky_relu(X, 0.01) * torch.softmax(X, dim=2)).sum()
    same_as_torch(ours, theirs, [X])


def test_pooling():
    X = d64((6, 7, 3, 2), "SSCB")
    fd_check(weighted(lambda x: maxpool(x, 2, "Stride", 2)), [X])
    fd_check(weighted(lambda x: avgpool(x, [3, 2], "Stride", [2, 1], "Padding", 1)), [X])

    def ours(X):
        return msum(maxpool(X, 3, "Stride", 2) ** 2, "all") + msum(avgpool(X, 2, "Stride", 2) ** 2, "all")

    def theirs(X):
        x = sscb_to_nchw(X)
        return (F.max_pool2d(x, 3, 2) ** 2).sum() + (F.avg_pool2d(x, 2, 2) ** 2).sum()
    same_as_torch(ours, theirs, [X])


def test_losses():
    Z = d64((5, 7), "CB")
    T = np.eye(5)[R.integers(0, 5, 7)].T
    fd_check(lambda z: crossentropy(softmax(z), T), [Z])
    Y = d64((3, 7), "CB")
    Tr = R.standard_normal((3, 7))
    for f in (mse, l1loss, l2loss, huber, lambda y, t: huber(y, t, "TransitionPoint", 0.5)):
        fd_check(lambda y, f=f: f(y, Tr), [Y])

    def ours(z, y):
        return crossentropy(softmax(z), T) + mse(y, Tr) + l1loss(y, Tr) + l2loss(y, Tr) + huber(y, Tr) \
            + msum(mmean(y, 2), "all") + msum(mmax(y, [], 1)[0], "all")

    tt, tr = torch.tensor(T), torch.tensor(Tr)

    def theirs(z, y):
        n = 7
        p = torch.softmax(z, dim=0)
        return (-(tt * torch.log(p)).sum() / n + ((y - tr) ** 2).sum() / 2 / n + (y - tr).abs().sum() / n
                + ((y - tr) ** 2).sum() / n + F.huber_loss(y, tr, reduction="sum", delta=1.0) / n
                + y.mean(dim=1).sum() + y.max(dim=0).values.sum())
    same_as_torch(ours, theirs, [Z, Y])


def test_gradient_structures_and_untouched_inputs():
    a, b = d64((2, 3)), d64((2, 3))

    def f(p):
        loss = msum(p["a"] * p["a"], "all")
        return dlgradient(loss, p, "RetainData", True), dlgradient(loss, [p["a"], p["b"]])
    g, lst = dlfeval(lambda p: f(p), {"a": a, "b": b})
    np.testing.assert_allclose(extractdata(g["a"]), 2 * extractdata(a))
    assert isinstance(lst, list) and np.array_equal(extractdata(lst[0]), extractdata(g["a"]))
    np.testing.assert_array_equal(extractdata(g["b"]), 0)    # traced, not reached: zeros


# -- a residual dlnetwork: the forward node against finite differences and the functional twin ----
def residual_net():
    layers = LayerArray([imageInputLayer([6, 6, 2], "Normalization", "none", "Name", "in"),
                         convolution2dLayer(3, 4, "Padding", "same", "Name", "c1"),
                         batchNormalizationLayer("Name", "bn1"), reluLayer("Name", "r1"),
                         convolution2dLayer(3, 4, "Padding", "same", "Name", "c2"),
                         additionLayer(2, "Name", "add"), reluLayer("Name", "r2"),
                         fullyConnectedLayer(3, "Name", "fc"), softmaxLayer("Name", "sm")])
    lg = layerGraph(layers)
    lg = lg.disconnectLayers("c2", "add/in1").connectLayers("c2", "add/in1").connectLayers("r1", "add/in2")
    return dlnetwork(lg)


def net_loss(T):
    def loss(net, X):
        Y, _ = net.forward(X)
        return crossentropy(Y, T)
    return loss


def test_forward_node_matches_finite_differences():
    net = residual_net()
    X = d64((6, 6, 2, 4), "SSCB")
    T = np.eye(3)[[0, 2, 1, 1]].T

    def model(net, X):
        loss = net_loss(T)(net, X)
        gl, gx = dlgradient(loss, net.Learnables, X)
        return loss, gl, gx
    loss, gl, gx = dlfeval(model, net, X)
    assert gl.Layer == net.Learnables.Layer
    h = 1e-6
    for row, grow in zip(net.Learnables, gl):
        w = np.asarray(row.Value, dtype=np.float64)
        g = extractdata(grow.Value)
        assert g.shape == w.shape
        for j in R.choice(w.size, size=min(4, w.size), replace=False):
            idx = np.unravel_index(j, w.shape)
            vals = []
            for s in (h, -h):
                w2 = w.copy()
                w2[idx] += s
                net2 = net._with_arrays({(row.Layer, row.Parameter): w2})
                vals.append(float(extractdata(net_loss(T)(net2, X)).reshape(-1)[0]))
            num = (vals[0] - vals[1]) / (2 * h)
            assert abs(g[idx] - num) <= 1e-7 + 1e-5 * abs(num), (row.Layer, row.Parameter, g[idx], num)
    fd_check(lambda X: net_loss(T)(net, X), [X])


def test_forward_node_matches_functional_twin():
    """The network's gradients equal the same computation written with the functional ops."""
    net = residual_net()
    X = d64((6, 6, 2, 4), "SSCB")
    T = np.eye(3)[[0, 2, 1, 1]].T
    L = {(r.Layer, r.Parameter): np.asarray(r.Value, np.float64) for r in net.Learnables}
    names = list(L)

    def functional(X, *ps):
        p = dict(zip(names, ps))
        y1 = dlconv(X, p["c1", "Weights"], p["c1", "Bias"], "Padding", "same")
        y1 = relu(batchnorm(y1, p["bn1", "Offset"], p["bn1", "Scale"])[0])
        y2 = dlconv(y1, p["c2", "Weights"], p["c2", "Bias"], "Padding", "same")
        z = relu(y2 + y1)
        return crossentropy(softmax(fullyconnect(z, p["fc", "Weights"], p["fc", "Bias"])), T)
    params = [dlarray(L[n]) for n in names]
    lf, gf = grads_of(functional, [X] + params)

    def model(net, X):
        loss = net_loss(T)(net, X)
        return loss, dlgradient(loss, net.Learnables, X)
    loss, (gl, gx) = dlfeval(model, net, X)
    np.testing.assert_allclose(float(loss), lf, rtol=1e-12)
    np.testing.assert_allclose(extractdata(gx), extractdata(gf[0]), rtol=1e-9, atol=1e-12)
    for row, g in zip(gl, gf[1:]):   # the learnables are single: so are their gradients (computed in double)
        assert extractdata(row.Value).dtype == np.float32
        np.testing.assert_allclose(extractdata(row.Value), extractdata(g), rtol=1e-6, atol=1e-7)


def test_predict_node_without_batchnorm():
    layers = LayerArray([imageInputLayer([5, 5, 1], "Normalization", "none"), convolution2dLayer(3, 2),
                         reluLayer, fullyConnectedLayer(2), softmaxLayer])
    net = dlnetwork(layers)
    X = d64((5, 5, 1, 3), "SSCB")
    fd_check(lambda X: msum(net.predict(X) ** 2, "all"), [X])
    Y = net.predict(dlarray(np.asarray(extractdata(X), np.float32), "SSCB"))
    np.testing.assert_allclose(extractdata(Y).T, net.predict(np.asarray(extractdata(X), np.float32)), rtol=1e-5)


# -- errors ------------------------------------------------------------------------------------
def test_errors():
    x = dlarray([1.0, 2.0])
    with pytest.raises(LayerGraphError, match="Value to differentiate is not traced"):
        dlgradient(msum(x, "all"), x)
    with pytest.raises(LayerGraphError, match="Value to differentiate is non-scalar. It must be a traced real "
                                              "dlarray scalar."):
        dlfeval(lambda x: dlgradient(x * 2, x), x)
    with pytest.raises(LayerGraphError, match="RetainData"):
        dlfeval(lambda x: (lambda l_: (dlgradient(l_, x), dlgradient(l_, x)))(msum(exp(x), "all")), x)
    with pytest.raises(LayerGraphError, match="EnableHigherDerivatives"):
        dlfeval(lambda x: dlgradient(msum(x, "all"), x, "EnableHigherDerivatives", True), x)
    net = residual_net()
    with pytest.raises(LayerGraphError, match="format 'SSCB', but the data has format 'CB'"):
        net.forward(dlarray(np.ones((72, 2)), "CB"))
    with pytest.raises(LayerGraphError, match=r"size \[6 6 2\], but the input data has size \[5 6 2\]"):
        net.forward(dlarray(np.ones((5, 6, 2, 1)), "SSCB"))
    with pytest.raises(LayerGraphError, match="formatted dlarray, or DataFormat"):
        softmax(dlarray(np.ones((3, 2))))
    with pytest.raises(LayerGraphError, match="Size of predictions and target values"):
        mse(dlarray(np.ones((3, 2)), "CB"), np.ones((2, 2)))


def test_forward_node_matches_torch():
    """The residual dlnetwork's loss and gradients (learnables and input) equal torch autograd on
    the same computation with the same weights (float64)."""
    net = residual_net()
    X = d64((6, 6, 2, 4), "SSCB")
    labels = [0, 2, 1, 1]
    T = np.eye(3)[labels].T

    def model(net, X):
        loss = net_loss(T)(net, X)
        return loss, dlgradient(loss, net.Learnables, X)
    loss, (gl, gx) = dlfeval(model, net, X)
    W = {(r.Layer, r.Parameter): torch.tensor(np.asarray(r.Value, np.float64), requires_grad=True)
         for r in net.Learnables}
    x = t(X)
    xn = sscb_to_nchw(x)

    def conv(z, name):
        w, b = W[name, "Weights"], W[name, "Bias"]
        return F.conv2d(z, w.permute(3, 2, 0, 1), b.reshape(-1), padding=1)
    y1 = conv(xn, "c1")
    y1 = F.relu(F.batch_norm(y1, None, None, W["bn1", "Scale"].reshape(-1), W["bn1", "Offset"].reshape(-1),
                             training=True, eps=1e-5))
    z = F.relu(conv(y1, "c2") + y1)
    flat = z.permute(0, 1, 3, 2).reshape(z.shape[0], -1)      # MATLAB's column-major flatten of H x W x C
    logits = flat @ W["fc", "Weights"].T + W["fc", "Bias"].reshape(-1)
    ref = F.cross_entropy(logits, torch.tensor(labels))
    ref.backward()
    np.testing.assert_allclose(float(loss), float(ref.detach()), rtol=1e-10)
    np.testing.assert_allclose(extractdata(gx), x.grad.numpy(), rtol=1e-8, atol=1e-11)
    for row in gl:
        np.testing.assert_allclose(extractdata(row.Value), W[row.Layer, row.Parameter].grad.numpy(), rtol=1e-6,
                                   atol=1e-7)


@pytest.mark.parametrize("fmt,shape", [("CB", (5, 6)), ("CBT", (4, 3, 5)), ("SCB", (7, 3, 4))])
def test_ops_on_feature_and_sequence_formats(fmt, shape):
    X = d64(shape, fmt)
    c = shape[0] if fmt[0] == "C" else shape[1]
    off, sc = d64((c, 1)), d64((c, 1))
    fd_check(weighted(lambda X, o, s: batchnorm(X, o, s)[0]), [X, off, sc])
    fd_check(weighted(lambda X, o, s: layernorm(X, o, s)), [X, off, sc])
    fd_check(weighted(softmax), [X])
    T = np.abs(R.standard_normal(shape))
    fd_check(lambda X: crossentropy(softmax(X), T), [X])
    y = extractdata(softmax(X))
    cax = fmt.index("C")
    np.testing.assert_allclose(y.sum(axis=cax), 1.0)
    n = X.shape[fmt.index("B")]
    ref = -(T * np.log(y)).sum() / n
    np.testing.assert_allclose(float(crossentropy(softmax(X), T)), ref, rtol=1e-12)
