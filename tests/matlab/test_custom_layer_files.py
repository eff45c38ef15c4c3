"""save / load of networks with custom layers: the file holds the layers' properties
(learnables, their factors, states) and the user objects' plain attributes; load needs the
classes (CustomLayers=[...], as MATLAB needs the class files on its path) and runs no code from
the file. Round trips give the same arrays and predictions; missing or wrong classes and
attributes a file cannot hold fail with clear messages."""
import numpy as np
import pytest

import layergraph
from layergraph.core.errors import LayerGraphError
from layergraph.matlab import (LayerArray, dlarray, dlnetwork, extractdata, featureInputLayer, fullyConnectedLayer,
                               max, mean, min, nnet, setLearnRateFactor, sum)

R = np.random.default_rng(9)


class scaledPrelu(nnet.layer.Layer):   # noqa: N801 -- a MATLAB class name
    Learnable = ("Alpha",)

    def __init__(self, channels, name, gain=2.0):
        self.Name = name
        self.Description = f"PReLU x{gain}"
        self.Gain = gain                 # a plain property (hyperparameter)
        self.Tag = "demo"
        self.Alpha = R.random((channels, 1))

    def predict(self, X):
        return self.Gain * (max(0, X) + self.Alpha * min(0, X))


class movingCenter(nnet.layer.Layer):   # noqa: N801
    State = ("RunningMean",)

    def __init__(self, channels, name):
        self.Name = name
        self.RunningMean = np.zeros((channels, 1))

    def predict(self, X):
        return X - self.RunningMean, self.RunningMean

    def forward(self, X):
        mu = mean(X, 2)
        return X - mu, 0.5 * self.RunningMean + 0.5 * mu


class halfSSE(nnet.layer.RegressionLayer):   # noqa: N801
    def __init__(self, name):
        self.Name = name

    def forwardLoss(self, Y, T):
        return sum((Y - T) * (Y - T), "all") / 2 / Y.shape[-1]


def _net():
    net = dlnetwork(LayerArray([featureInputLayer(3, "Name", "in"), scaledPrelu(3, "prelu", 3.0),
                                movingCenter(3, "center"), fullyConnectedLayer(2, "Name", "fc")]))
    net.State = net.forward(dlarray(R.standard_normal((3, 5)).astype(np.float32), "CB"))[1]
    return setLearnRateFactor(net, "prelu", "Alpha", 0.25)


def test_dlnetwork_round_trip(tmp_path):
    net = _net()
    path = tmp_path / "net.npz"
    layergraph.save(net, path)
    back = layergraph.load(path, CustomLayers=[scaledPrelu, movingCenter])
    for a, b in zip(net.Learnables, back.Learnables):
        assert (a.Layer, a.Parameter) == (b.Layer, b.Parameter)
        np.testing.assert_array_equal(np.asarray(a.Value), np.asarray(b.Value))
    for a, b in zip(net.State, back.State):
        np.testing.assert_array_equal(np.asarray(a.Value), np.asarray(b.Value))
    assert back.getLearnRateFactor("prelu", "Alpha") == 0.25
    layer = back.Layers[1]
    assert layer.Gain == 3.0 and layer.Tag == "demo" and layer.Description == "PReLU x3.0"
    X = dlarray(R.standard_normal((3, 7)).astype(np.float32), "CB")
    np.testing.assert_array_equal(extractdata(back.predict(X)), extractdata(net.predict(X)))
    # the loaded network trains its state as the original does
    np.testing.assert_array_equal(np.asarray(list(back.forward(X)[1])[0].Value),
                                  np.asarray(list(net.forward(X)[1])[0].Value))


def test_layer_array_with_a_custom_output_layer(tmp_path):
    layers = LayerArray([featureInputLayer(3), fullyConnectedLayer(2), halfSSE("loss")])
    path = tmp_path / "layers.npz"
    layergraph.save(layers, path)
    back = layergraph.load(path, CustomLayers={"halfSSE": halfSSE})
    assert back[2].Name == "loss" and back[2].class_name == layers[2].class_name == "halfSSE" and back[2].is_output
    assert type(back[2]).__mro__[1].__name__ == "CustomRegressionLayer"


def test_bad_custom_files(tmp_path):
    path = tmp_path / "net.npz"
    layergraph.save(_net(), path)
    with pytest.raises(LayerGraphError, match=r"layer 2 \('prelu'\) is a custom layer of class 'scaledPrelu'. A "
                                              r"layergraph file holds no code: give the class to load, load\(path, "
                                              r"CustomLayers=\[scaledPrelu\]\)"):
        layergraph.load(path)
    with pytest.raises(LayerGraphError, match=r"layer 3 \('center'\) is a custom layer of class 'movingCenter'"):
        layergraph.load(path, CustomLayers=[scaledPrelu])

    class scaledPrelu2(halfSSE):   # noqa: N801 -- the right name, the wrong base
        pass
    scaledPrelu2.__name__ = "scaledPrelu"
    with pytest.raises(LayerGraphError, match=r"the class scaledPrelu given in CustomLayers is not a subclass of "
                                              r"nnet.layer.Layer"):
        layergraph.load(path, CustomLayers=[scaledPrelu2, movingCenter])
    with pytest.raises(LayerGraphError, match="Expected custom layer classes"):
        layergraph.load(path, CustomLayers=["scaledPrelu"])

    class withFunction(scaledPrelu):   # noqa: N801
        def __init__(self, channels, name):
            super().__init__(channels, name)
            self.Activation = np.tanh
    net = dlnetwork(LayerArray([featureInputLayer(3), withFunction(3, "f")]))
    with pytest.raises(LayerGraphError, match=r"property 'Activation' of the custom layer class withFunction holds "
                                              r"the Python function 'tanh'. A layergraph file holds no code"):
        layergraph.save(net, tmp_path / "f.npz")
    assert not (tmp_path / "f.npz").exists()
