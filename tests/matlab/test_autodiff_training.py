"""A custom training loop (dlfeval, dlgradient, sgdmupdate / adamupdate / rmspropupdate) equals
trainNetwork step for step on a small CNN: the same data order, the same loss at every
iteration and the same weights; the solver functions' signatures, state and errors."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, adamupdate, batchNormalizationLayer, categorical, classificationLayer,
                               convolution2dLayer, crossentropy, dlarray, dlfeval, dlgradient, dlnetwork, dlupdate,
                               extractdata, forward, fullyConnectedLayer, imageInputLayer, maxPooling2dLayer,
                               reluLayer, rmspropupdate, sgdmupdate, softmaxLayer, trainingOptions, trainNetwork)


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    X = rng.standard_normal((8, 8, 1, n)).astype(np.float32)
    X[2:5, 2:5, 0, :] += labels.astype(np.float32)        # learnable: the centre's level is the class
    return X, labels


def start_net():
    return dlnetwork(LayerArray([imageInputLayer([8, 8, 1], "Normalization", "none"),
                                 convolution2dLayer(3, 4, "Padding", 1), batchNormalizationLayer, reluLayer,
                                 maxPooling2dLayer(2, "Stride", 2), fullyConnectedLayer(3), softmaxLayer]))


def model_loss(net, X, T):
    Y, state = forward(net, X)
    loss = crossentropy(Y, T)
    gradients = dlgradient(loss, net.Learnables)
    return loss, gradients, state


def custom_loop(net, X, labels, solver, epochs, batch, lr):
    T_all = np.eye(3, dtype=np.float32)[labels].T        # C x N, the classes in categories' order
    state, losses, iteration = ([], []), [], 0
    for _ in range(epochs):
        for i in range(X.shape[3] // batch):
            idx = slice(i * batch, (i + 1) * batch)
            iteration += 1
            loss, grads, st = dlfeval(model_loss, net, dlarray(X[..., idx], "SSCB"), dlarray(T_all[:, idx], "CB"))
            net.State = st
            if solver == "sgdm":
                net, v = sgdmupdate(net, grads, state[0], lr, 0.9)
                state = (v, None)
            elif solver == "adam":
                net, m, v = adamupdate(net, grads, state[0], state[1], iteration, lr)
                state = (m, v)
            else:
                net, v = rmspropupdate(net, grads, state[0], lr)
                state = (v, None)
            losses.append(float(loss))
    return net, losses


def trained(net0, X, labels, solver, epochs, batch, lr):
    layers = LayerArray(list(net0.Layers) + [classificationLayer])
    opts = trainingOptions(solver, "InitialLearnRate", lr, "MaxEpochs", epochs, "MiniBatchSize", batch,
                           "Shuffle", "never", "L2Regularization", 0, "Verbose", False)
    return trainNetwork(X, categorical(labels), layers, opts)


def learnables(net):
    return {(layer.Name, spec.name): np.asarray(getattr(layer, spec.name))
            for layer in net.Layers for spec in layer.learnables}


@pytest.mark.parametrize("solver,lr", [("sgdm", 0.05), ("adam", 0.01), ("rmsprop", 0.005)])
def test_custom_loop_equals_trainNetwork(solver, lr):
    X, labels = data()
    net0 = start_net()
    for epochs in (1, 3):
        ours, losses = custom_loop(net0, X, labels, solver, epochs, 16, lr)
        theirs, info = trained(net0, X, labels, solver, epochs, 16, lr)
        np.testing.assert_allclose(losses, info.TrainingLoss, rtol=1e-6)      # step for step
        a, b = learnables(ours), learnables(theirs)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-7 * np.abs(b[k]).max(), err_msg=str(k))
    assert losses[-1] < losses[0]


def test_full_batch_step_by_step():
    X, labels = data(24, seed=3)
    net0 = start_net()
    for steps in (1, 2, 3):
        ours, _ = custom_loop(net0, X, labels, "sgdm", steps, 24, 0.1)
        theirs, _ = trained(net0, X, labels, "sgdm", steps, 24, 0.1)
        for k, v in learnables(ours).items():
            np.testing.assert_allclose(v, learnables(theirs)[k], rtol=1e-6, atol=1e-8, err_msg=str(k))


def test_solver_state_and_structures():
    w = {"w": dlarray(np.ones((2, 3), np.float32)), "b": [dlarray(np.zeros((3, 1), np.float32))]}
    g = {"w": dlarray(np.full((2, 3), 0.5, np.float32)), "b": [dlarray(np.ones((3, 1), np.float32))]}
    w1, v1 = sgdmupdate(w, g, [], 0.1, 0.9)
    np.testing.assert_allclose(extractdata(v1["w"]), -0.05)
    np.testing.assert_allclose(extractdata(w1["w"]), 0.95)
    np.testing.assert_allclose(extractdata(w1["b"][0]), -0.1)
    w2, v2 = sgdmupdate(w1, g, v1, 0.1, 0.9)
    np.testing.assert_allclose(extractdata(v2["w"]), 0.9 * -0.05 - 0.05)
    x = dlarray(np.array([[1.0, -2.0]]))
    x1, m, s = adamupdate(x, dlarray(np.array([[0.5, 0.5]])), [], [], 1)
    # the first Adam step moves every weight by learnRate (m / sqrt(v) = sign(g) after bias correction)
    np.testing.assert_allclose(extractdata(x1), [[1 - 0.001, -2 - 0.001]], rtol=1e-6)
    x2, s2 = rmspropupdate(x, dlarray(np.array([[1.0, 0.0]])), None)
    np.testing.assert_allclose(extractdata(x2), [[1 - 0.001 / np.sqrt(0.1), -2.0]], rtol=1e-6)
    net = start_net()
    l2 = dlupdate(lambda g, w: g + 0.01 * w, net.Learnables, net.Learnables)
    np.testing.assert_allclose(np.asarray(l2.Value[0]), 1.01 * np.asarray(net.Learnables.Value[0]), rtol=1e-6)


def test_learn_rate_factor_zero_freezes():
    X, labels = data(16)
    net = start_net().setLearnRateFactor("conv", "Weights", 0)
    loss, grads, _ = dlfeval(model_loss, net, dlarray(X, "SSCB"), dlarray(np.eye(3, dtype=np.float32)[labels].T,
                                                                           "CB"))
    new, _ = sgdmupdate(net, grads, [], 0.1)
    before, after = learnables(net), learnables(new)
    np.testing.assert_array_equal(before["conv", "Weights"], after["conv", "Weights"])
    assert not np.array_equal(before["fc", "Weights"], after["fc", "Weights"])


def test_solver_errors():
    net = start_net()
    with pytest.raises(LayerGraphError, match="the gradients have no value"):
        sgdmupdate(net, {"x": np.ones(2)}, [])
    with pytest.raises(LayerGraphError, match="iteration"):
        adamupdate(net, net.Learnables, [], [], 0)
    with pytest.raises(LayerGraphError, match="Invalid State"):
        net.State = net.Learnables
