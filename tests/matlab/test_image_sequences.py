"""Image sequences in the MATLAB dialect without folding layers ('SSCBT' input to convolution,
batch normalization, activations, pooling and flatten, then an LSTM): each per-step layer
equals the same layer applied to every time step alone (values against torch, float64 finite
differences), padded batches equal each sequence alone, batch normalization's statistics
leave padding out, analyzeNetwork sizes and formats, a moving-digits classifier through
trainNetwork, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from layergraph.core.errors import LayerGraphError
from layergraph.core.sequence import pad
from layergraph.matlab import (
    analyzeNetwork,
    averagePooling2dLayer,
    batchNormalizationLayer,
    categorical,
    classificationLayer,
    classify,
    convolution2dLayer,
    dlnetwork,
    eluLayer,
    flattenLayer,
    fullyConnectedLayer,
    globalAveragePooling2dLayer,
    globalMaxPooling2dLayer,
    groupedConvolution2dLayer,
    groupNormalizationLayer,
    imageInputLayer,
    instanceNormalizationLayer,
    layerNormalizationLayer,
    lstmLayer,
    maxPooling2dLayer,
    predict,
    reluLayer,
    resize2dLayer,
    sequenceInputLayer,
    sigmoidLayer,
    softmaxLayer,
    trainingOptions,
    trainNetwork,
    transposedConv2dLayer,
)

H, W, C = 6, 5, 2


def _seqs(lengths, seed=0):
    """MATLAB's image sequences: h x w x c x S arrays."""
    r = np.random.default_rng(seed)
    return [r.standard_normal((H, W, C, k)) for k in lengths]


def _internal(seqs):
    return [np.moveaxis(s, 2, 0) for s in seqs]   # C x H x W x S


def _randomize(net, seed=0):
    """Random learnables and positive variances in every layer (no zero bias, no unit scale)."""
    r = np.random.default_rng(seed)
    layers = []
    for layer in net.Layers:
        layer = layer.model_copy(deep=True)
        for prop in [s.name for s in layer.learnables] + list(layer.states):
            value = getattr(layer, prop)
            if value is not None:
                setattr(layer, prop, (r.uniform(0.5, 1.5, value.shape) if "Variance" in prop
                                      else r.standard_normal(value.shape)).astype(value.dtype))
        layers.append(layer)
    return dlnetwork(layers)


def _per_step_layers():
    return [convolution2dLayer(3, 4, "Padding", "same"), batchNormalizationLayer(), reluLayer(),
            maxPooling2dLayer(2, "Stride", 2)]


# -- the plain layer array of the issue ----------------------------------------------------------
def test_the_issue_layer_array_analyzes_with_sscbt_formats():
    layers = [sequenceInputLayer([28, 28, 1]), convolution2dLayer(3, 8), reluLayer(), flattenLayer(),
              lstmLayer(16, "OutputMode", "last"), fullyConnectedLayer(10), softmaxLayer(), classificationLayer()]
    a = analyzeNetwork(layers)
    assert not a.errors
    assert a.info("conv").ActivationFormats == {"out": "SSCBT"}
    assert str(a.info("conv").ActivationSizes["out"]) == "26x26x8"
    assert a.info("relu").ActivationFormats == {"out": "SSCBT"}
    assert a.info("flatten").ActivationFormats == {"out": "CBT"}
    assert a.info("flatten").ActivationSizes["out"].channels == 26 * 26 * 8
    assert a.info("lstm").ActivationFormats == {"out": "CB"}
    assert a.info("lstm").LearnableSizes["InputWeights"] == (64, 26 * 26 * 8)
    text = str(a)
    assert "26x26x8" in text and "5408" in text


def test_the_issue_layer_array_trains():
    """The issue's array as it stands, on 28 x 28 digit frames (8x8 digits scaled by 3) of 2 to 4 steps."""
    X8, y = moving_digits(60, seed=1)
    X = [np.pad(np.kron(x[:, 2:10], np.ones((3, 3, 1, 1))), ((2, 2), (2, 2), (0, 0), (0, 0)))[..., :4] for x in X8]
    layers = [sequenceInputLayer([28, 28, 1]), convolution2dLayer(3, 8), reluLayer(), flattenLayer(),
              lstmLayer(16, "OutputMode", "last"), fullyConnectedLayer(10), softmaxLayer(), classificationLayer()]
    opts = trainingOptions("adam", "MaxEpochs", 2, "MiniBatchSize", 16, "Verbose", False)
    net, info = trainNetwork(X, categorical(y.astype(str)), layers, opts)
    # 3 full mini-batches of 16 per epoch (the last partial one is left out, as in MATLAB)
    assert np.all(np.isfinite(info.TrainingLoss)) and len(info.TrainingLoss) == 6
    scores = predict(net, X[:5])
    assert scores.shape == (5, 10) and np.allclose(scores.sum(axis=1), 1, atol=1e-5)


def test_every_per_step_layer_keeps_time_in_analysis():
    a = analyzeNetwork([sequenceInputLayer([8, 8, 3]), convolution2dLayer(3, 4), batchNormalizationLayer(),
                        sigmoidLayer(), averagePooling2dLayer(2, "Stride", 2), globalAveragePooling2dLayer(),
                        flattenLayer()])
    assert not a.errors
    formats = {row.Name: row.ActivationFormats["out"] for row in a.LayerInfo}
    assert formats == {"sequenceinput": "SSCBT", "conv": "SSCBT", "batchnorm": "SSCBT", "sigmoid": "SSCBT",
                       "avgpool": "SSCBT", "gapool": "SSCBT", "flatten": "CBT"}
    assert a.info("batchnorm").LearnableSizes == {"Offset": (1, 1, 4), "Scale": (1, 1, 4)}
    assert str(a.info("gapool").ActivationSizes["out"]) == "1x1x4"


# -- each time step alone ------------------------------------------------------------------------
def _torch_steps(x, net):
    """conv -> BN (trained statistics) -> ReLU -> max pooling -> flatten on each step's image, in torch."""
    conv, bn = net.Layers[1], net.Layers[2]
    w = torch.tensor(np.transpose(conv.Weights.astype(np.float64), (3, 2, 0, 1)))
    b = torch.tensor(conv.Bias.astype(np.float64).ravel())
    outs = []
    for t in range(x.shape[-1]):
        img = torch.tensor(np.moveaxis(x[..., t], 2, 0)[None])     # 1 x C x H x W
        y = torch.nn.functional.conv2d(img, w, b, padding=1)
        y = torch.nn.functional.batch_norm(y, torch.tensor(bn.TrainedMean.astype(np.float64).ravel()),
                                           torch.tensor(bn.TrainedVariance.astype(np.float64).ravel()),
                                           torch.tensor(bn.Scale.astype(np.float64).ravel()),
                                           torch.tensor(bn.Offset.astype(np.float64).ravel()), False, 0.0, bn.Epsilon)
        y = torch.nn.functional.max_pool2d(torch.relu(y), 2, 2)
        # MATLAB's flatten is column-major over H x W x C: H fastest
        outs.append(y[0].permute(0, 2, 1).reshape(-1).numpy())   # C x W x H, row-major
    return np.stack(outs, axis=-1)   # features x T


def test_per_step_layers_equal_torch_on_each_time_step():
    net = _randomize(dlnetwork([sequenceInputLayer([H, W, C]), *_per_step_layers(), flattenLayer()]))
    X = _seqs([3, 5, 2])
    Y = predict(net, X)
    for x, y in zip(X, Y):
        assert y.shape == (4 * 3 * 2, x.shape[-1])   # (6/2 x 5/2 x 4) features per step
        np.testing.assert_allclose(y, _torch_steps(x, net), rtol=1e-4, atol=1e-5)


OTHER_PER_STEP = {
    "grouped-transposed-resize": lambda: [groupedConvolution2dLayer(3, 2, 2, "Padding", "same"),
                                          transposedConv2dLayer(2, 3, "Stride", 2), resize2dLayer("Scale", 0.5),
                                          eluLayer(), globalMaxPooling2dLayer()],
    "average-softmax": lambda: [averagePooling2dLayer(2, "Padding", "same", "PaddingValue", "mean"),
                                softmaxLayer(), globalAveragePooling2dLayer()],
}


@pytest.mark.parametrize("layers", [_per_step_layers, *OTHER_PER_STEP.values()],
                         ids=["conv-bn-relu-max", *OTHER_PER_STEP])
def test_sequence_network_equals_image_network_per_step_in_float64(layers):
    seq = _randomize(dlnetwork([sequenceInputLayer([H, W, C]), *layers()]), seed=1)
    img = dlnetwork([imageInputLayer([H, W, C], "Normalization", "none"), *seq.Layers[1:]])
    x = np.stack(_internal(_seqs([4, 4])))                           # N x C x H x W x T, no padding
    ys = seq.executor("cpu", np.float64).forward({"sequenceinput": x})
    (y,) = ys.values()
    ex = img.executor("cpu", np.float64)
    for t in range(4):
        (yt,) = ex.forward({"imageinput": np.ascontiguousarray(x[..., t])}).values()
        np.testing.assert_allclose(y[..., t], yt, rtol=1e-12, atol=1e-12)


def _directional_check(ex, name, x, seq, seeds, steps_mask=None, h=1e-6, seed=5):
    """Central finite differences of sum(W * y) along random directions of the input and of every
    learnable, against the executor's backward (float64, training mode)."""
    r = np.random.default_rng(seed)

    def loss():
        ys = ex.forward({name: x}, training=True, seq=seq)
        return sum(float(np.sum(ys[ref] * seeds[ref])) for ref in seeds)

    ex.forward({name: x}, training=True, seq=seq)
    grads = ex.backward(dict(seeds), input_grads=True)
    dx = ex.input_grads[(name, "out")]
    d = r.standard_normal(x.shape)
    if steps_mask is not None:   # padded steps: the data there is never read
        d = d * steps_mask
        assert np.all(dx[steps_mask == 0] == 0)
    x0 = x.copy()
    x[...] = x0 + h * d
    lp = loss()
    x[...] = x0 - h * d
    lm = loss()
    x[...] = x0
    np.testing.assert_allclose((lp - lm) / (2 * h), np.sum(dx * d), rtol=1e-6, atol=1e-9)
    checked = 0
    for step, g in grads.items():
        for pname, gv in g.items():
            p = ex.params[step][pname]
            d = r.standard_normal(p.shape)
            p0 = p.copy()
            p[...] = p0 + h * d
            lp = loss()
            p[...] = p0 - h * d
            lm = loss()
            p[...] = p0
            np.testing.assert_allclose((lp - lm) / (2 * h), np.sum(gv * d), rtol=1e-6, atol=1e-9,
                                       err_msg=f"{step}.{pname}")
            checked += 1
    return checked


@pytest.mark.parametrize("left", [False, True])
def test_finite_differences_through_per_step_layers_on_a_padded_batch(left):
    net = _randomize(dlnetwork([sequenceInputLayer([H, W, C]), *_per_step_layers(), flattenLayer(),
                                lstmLayer(3)]), seed=2)
    batch, info = pad(_internal(_seqs([2, 4, 3], seed=3)), left=left, dtype=np.float64)
    ex = net.executor("cpu", np.float64)
    ys = ex.forward({"sequenceinput": batch}, training=True, seq={"sequenceinput": info})
    (ref,) = ex.output_refs()
    r = np.random.default_rng(4)
    seeds = {ref: r.standard_normal(ys[ref].shape) * info.mask()[:, None, :]}
    mask = info.mask()[:, None, None, None, :].astype(np.float64) * np.ones_like(batch)
    # conv (Weights, Bias), batchnorm (Offset, Scale), lstm (3 arrays)
    assert _directional_check(ex, "sequenceinput", batch, {"sequenceinput": info}, seeds, mask) == 7


# -- padding ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", ["right", "left"])
def test_padded_image_sequences_equal_each_alone(direction):
    net = _randomize(dlnetwork([sequenceInputLayer([H, W, C]), *_per_step_layers(), flattenLayer(),
                                lstmLayer(4, "OutputMode", "last"), fullyConnectedLayer(3)]), seed=6)
    X = _seqs([2, 5, 3, 1], seed=7)
    together = predict(net, X, "SequencePaddingDirection", direction)
    for i, x in enumerate(X):
        alone = predict(net, [x])
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-5, atol=1e-6)


def test_padded_steps_give_zeros_and_batch_statistics_leave_them_out():
    net = _randomize(dlnetwork([sequenceInputLayer([H, W, C]), convolution2dLayer(3, 4, "Padding", "same"),
                                batchNormalizationLayer()]), seed=8)
    seqs = _internal(_seqs([2, 4, 3], seed=9))
    batch, info = pad(seqs, value=5.0, dtype=np.float64)   # a padding value that would move the statistics
    ex = net.executor("cpu", np.float64)
    acts = ex.forward({"sequenceinput": batch}, training=True, seq={"sequenceinput": info},
                      keep={("conv", "out")})
    conv_out, bn_out = acts[("conv", "out")], acts[("batchnorm", "out")]
    valid = info.mask()
    for n, t in zip(*np.nonzero(~valid)):
        assert np.all(conv_out[n, ..., t] == 0) and np.all(bn_out[n, ..., t] == 0)
    steps = np.stack([conv_out[n, ..., t] for n, t in zip(*np.nonzero(valid))])   # M x F x H x W
    mean, var = ex.batch_stats["batchnorm"]
    np.testing.assert_allclose(mean, steps.mean(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, steps.var(axis=(0, 2, 3)), rtol=1e-10, atol=1e-12)
    # the same batch normalization on the valid steps' images alone (an image network, training mode)
    img = dlnetwork([imageInputLayer([H, W, 4], "Normalization", "none"), net.Layers[2]])
    y_img = img.executor("cpu", np.float64).forward({"imageinput": steps}, training=True)[("batchnorm", "out")]
    np.testing.assert_allclose(np.stack([bn_out[n, ..., t] for n, t in zip(*np.nonzero(valid))]), y_img,
                               rtol=1e-12, atol=1e-12)


# -- training ----------------------------------------------------------------------------------------
def moving_digits(n, seed=0):
    """scikit-learn's 8x8 digits moving right one pixel per time step across an 8 x 12 frame, 3 to 5
    steps long (different lengths: padded mini-batches), with a little noise."""
    d = load_digits()
    r = np.random.default_rng(seed)
    idx = r.choice(len(d.images), n, replace=False)
    X = []
    for i in idx:
        steps = int(r.integers(3, 6))
        start = int(r.integers(0, 12 - 8 - steps + 2))
        frames = np.zeros((8, 12, 1, steps))
        for t in range(steps):
            frames[:, start + t:start + t + 8, 0, t] = d.images[i] / 16.0
        X.append(frames + 0.05 * r.standard_normal(frames.shape))
    return X, d.target[idx]


def test_moving_digits_classifier_trains_through_trainnetwork():
    X, y = moving_digits(900, seed=0)
    Xtr, ytr, Xte, yte = X[:700], y[:700], X[700:], y[700:]
    layers = [sequenceInputLayer([8, 12, 1]), convolution2dLayer(3, 8, "Padding", "same"), batchNormalizationLayer(),
              reluLayer(), maxPooling2dLayer(2, "Stride", 2), flattenLayer(), lstmLayer(32, "OutputMode", "last"),
              fullyConnectedLayer(10), softmaxLayer(), classificationLayer()]
    opts = trainingOptions("adam", "MaxEpochs", 12, "MiniBatchSize", 32, "InitialLearnRate", 0.01,
                           "Shuffle", "every-epoch", "Verbose", False)
    net = trainNetwork(Xtr, categorical(ytr.astype(str)), layers, opts)
    pred, _ = classify(net, Xte)
    accuracy = float(np.mean(np.asarray(pred).astype(int) == yte))
    assert accuracy >= 0.85, accuracy


# -- bad input ---------------------------------------------------------------------------------------
def test_image_sequences_of_the_wrong_size_are_refused_naming_the_sizes():
    net = dlnetwork([sequenceInputLayer([H, W, C]), convolution2dLayer(3, 4)])
    with pytest.raises(LayerGraphError) as err:
        predict(net, [np.zeros((H, W, C, 3)), np.zeros((H, W + 1, C, 3))])
    text = str(err.value)
    assert "Observation 2" in text and f"{H}x{W + 1}x{C}x3" in text and f"{H}x{W}x{C}xS" in text


def test_layers_that_take_no_image_sequences_say_so():
    # (lstmLayer takes them, flattened as flattenLayer does: tests/matlab/test_recurrent_image_input.py)
    assert dlnetwork([sequenceInputLayer([H, W, C]), lstmLayer(3)]).Layers[1].InputSize == H * W * C
    with pytest.raises(LayerGraphError) as err:
        dlnetwork([sequenceInputLayer([H, W, C]), maxPooling2dLayer(2, "HasUnpoolingOutputs", True)])
    assert "HasUnpoolingOutputs" in str(err.value) and "sequence" in str(err.value)
    with pytest.raises(LayerGraphError) as err:
        dlnetwork([sequenceInputLayer([H, W, C]), convolution2dLayer(7, 4)])
    assert "smaller than the filter size 7x7" in str(err.value)
    for layer in (layerNormalizationLayer(), groupNormalizationLayer(2), instanceNormalizationLayer()):
        with pytest.raises(LayerGraphError) as err:
            dlnetwork([sequenceInputLayer([H, W, C]), layer])
        assert f"{type(layer).class_name} does not take image sequences" in str(err.value)
    with pytest.raises(LayerGraphError) as err:
        dlnetwork([sequenceInputLayer([H, W, C]), fullyConnectedLayer(3)])
    assert "Flatten them first" in str(err.value)
