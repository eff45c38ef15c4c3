"""A custom training loop (dlfeval, dlgradient, sgdmupdate / adamupdate / rmspropupdate) equals
trainNetwork step for step on a small CNN: the same data order, the same loss at every
iteration and the same weights; the solver functions' signatures, state and errors.

The network's initial weights come from a generator of their own (start_net's seed), not from
the global one (rng): that one's state depends on which tests ran before, and after
test_autodiff_modern's rng('shuffle') it was the operating system's entropy, so each suite run
trained a different network (docs/design.md, testing notes)."""
import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.initializers import drawing_from
from layergraph.core.initializers import rng as core_rng
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


def start_net(seed=0):
    """The CNN, initialized from its own generator (seed): the same weights whatever the global
    generator's state, which is left as it was."""
    with drawing_from(np.random.default_rng(seed)):
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
    assert_trains(losses, X.shape[3] // 16)


def assert_trains(losses, per_epoch):
    """The last epoch's loss, summed over its mini-batches, is below the first epoch's: the same
    mini-batches (Shuffle 'never'). The last mini-batch against the first compared two different
    batches; this data's third is harder, and from about 1.6 % of random initializations (rmsprop
    14 and adam 2 in 1000) it stayed above the first after three epochs."""
    first, last = sum(losses[:per_epoch]), sum(losses[-per_epoch:])
    assert last < first, (first, last, losses)


# Initial weights (start_net's seed; the global rng(seed) draws the same) from which the last
# mini-batch's loss was still above the first one's after three epochs: the old check failed there.
@pytest.mark.parametrize("solver,lr,seed", [("rmsprop", 0.005, 1), ("rmsprop", 0.005, 26), ("adam", 0.01, 706)])
def test_training_lowers_the_loss_of_the_same_mini_batches(solver, lr, seed):
    X, labels = data()
    _, losses = custom_loop(start_net(seed), X, labels, solver, 3, 16, lr)
    assert_trains(losses, 3)


def test_start_net_does_not_read_or_change_the_global_generator():
    """The regression test of the flaky failure: the initial network is the same whatever state an
    earlier test left the global generator in (rng('shuffle'), a seed), and drawing it leaves that
    state as it was."""
    core_rng("shuffle")
    state = core_rng().bit_generator.state
    a = learnables(start_net())
    assert core_rng().bit_generator.state == state
    core_rng(123)
    b = learnables(start_net())
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=str(k))
    assert any(np.any(learnables(start_net(1))[k] != a[k]) for k in a)


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
