"""lstmLayer, bilstmLayer, gruLayer and the basic recurrent layer fed image sequences ('SSCBT') with no
flattenLayer (issue 13): each step's h x w x c image is read as its h*w*c values, column-major (H fastest), as
flattenLayer gives them (docs/recurrent_plan.md 6j). The reference is the same network with a flattenLayer
(values and every gradient, float64, padded batches), plus float64 finite differences through the layer."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.core.sequence import pad
from layergraph.matlab import (
    analyzeNetwork,
    bilstmLayer,
    convolution2dLayer,
    dlnetwork,
    flattenLayer,
    fullyConnectedLayer,
    gruLayer,
    lstmLayer,
    predict,
    reluLayer,
    sequenceInputLayer,
)

H, W, C = 5, 4, 2
RECURRENT = {
    "lstm last": lambda: lstmLayer(4, "OutputMode", "last"),
    "lstm sequence": lambda: lstmLayer(3),
    "bilstm": lambda: bilstmLayer(3),
    "gru": lambda: gruLayer(3, "ResetGateMode", "recurrent-bias-after-multiplication"),
    "basic": lambda: L.RecurrentLayer(NumHiddenUnits=3, OutputMode="last"),
}


def _pair(case, seed=0):
    """(network without flattenLayer, the same layers and arrays with one), random arrays."""
    r = np.random.default_rng(seed)
    direct = dlnetwork([sequenceInputLayer([H, W, C]), convolution2dLayer(3, 3, "Padding", "same"), reluLayer(),
                        RECURRENT[case](), fullyConnectedLayer(2)])
    layers = [layer.model_copy(deep=True) for layer in direct.Layers]
    for layer in layers:
        for prop in [s.name for s in layer.learnables] + list(layer.states):
            value = getattr(layer, prop)
            if value is not None:
                setattr(layer, prop, (0.5 * r.standard_normal(value.shape)).astype(value.dtype))
    direct = dlnetwork(layers)
    flat = dlnetwork([*layers[:3], flattenLayer(), *layers[3:]])
    return direct, flat


def _seqs(lengths, seed=1):
    r = np.random.default_rng(seed)
    return [r.standard_normal((H, W, C, k)) for k in lengths]


@pytest.mark.parametrize("case", list(RECURRENT))
def test_recurrent_layers_flatten_image_sequences_as_flattenlayer_does(case):
    direct, flat = _pair(case)
    a = analyzeNetwork(direct)
    rec = direct.Layers[3]
    assert not a.errors and rec.InputSize == H * W * 3
    assert a.info(rec.Name).LearnableSizes["InputWeights"][1] == H * W * 3
    X = _seqs([3, 5, 1])
    y0, y1 = predict(direct, X), predict(flat, X)
    for u, v in zip(y0 if isinstance(y0, list) else [y0], y1 if isinstance(y1, list) else [y1]):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


def _grads(net, batch, info, seeds):
    ex = net.executor("cpu", np.float64)
    ys = ex.forward({"sequenceinput": batch}, training=True, seq={"sequenceinput": info})
    (ref,) = ex.output_refs()
    grads = ex.backward({ref: seeds}, input_grads=True)
    return ys[ref], grads, ex.input_grads[("sequenceinput", "out")], ex


@pytest.mark.parametrize("case", list(RECURRENT))
def test_gradients_equal_the_flattened_network_and_finite_differences(case):
    direct, flat = _pair(case, seed=2)
    batch, info = pad([np.moveaxis(s, 2, 0) for s in _seqs([2, 4, 3], seed=3)], dtype=np.float64)
    out_t = None if "last" in case or case == "basic" else info.mask()[:, None, :]
    ex = direct.executor("cpu", np.float64)
    y0 = ex.forward({"sequenceinput": batch}, training=True, seq={"sequenceinput": info})[ex.output_refs()[0]]
    r = np.random.default_rng(4)
    seeds = r.standard_normal(y0.shape) * (1 if out_t is None else out_t)
    y0, g0, dx0, ex = _grads(direct, batch, info, seeds)
    y1, g1, dx1, _ = _grads(flat, batch, info, seeds)
    np.testing.assert_allclose(y0, y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx0, dx1, rtol=1e-10, atol=1e-12)
    name = direct.Layers[3].Name
    for p in g0[name]:
        np.testing.assert_allclose(g0[name][p], g1[name][p], rtol=1e-10, atol=1e-12, err_msg=p)
    # central finite differences along a random direction of the input (its padded steps are never read)
    mask = info.mask()[:, None, None, None, :] * np.ones_like(batch)
    d = r.standard_normal(batch.shape) * mask
    (ref,) = ex.output_refs()

    def loss(x):
        return float(np.sum(ex.forward({"sequenceinput": x}, training=True, seq={"sequenceinput": info})[ref]
                            * seeds))
    h = 1e-6
    np.testing.assert_allclose((loss(batch + h * d) - loss(batch - h * d)) / (2 * h), np.sum(dx0 * d), rtol=1e-6,
                               atol=1e-9)
    assert np.all(dx0[mask == 0] == 0)


def test_input_size_that_does_not_fit_the_flattened_images_is_refused():
    with pytest.raises(LayerGraphError) as err:
        dlnetwork([sequenceInputLayer([H, W, C]), lstmLayer(3, "InputSize", 7)])
    assert "input size 7" in str(err.value) and f"{H * W * C} channels" in str(err.value)
    assert "flattened" in str(err.value)
