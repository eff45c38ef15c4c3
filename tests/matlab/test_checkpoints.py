"""Checkpoints: written atomically, loadable as networks, and a run continued from one
reaches the same weights as the uninterrupted run."""
import os
import zipfile

import numpy as np
import pytest

import layergraph
from layergraph import (LayerGraphError, batchNormalizationLayer, classificationLayer, classify, convolution2dLayer,
                        dropoutLayer, fullyConnectedLayer, imageInputLayer, reluLayer, rng, softmaxLayer,
                        trainingOptions, trainNetwork)


def _data(n=40):
    g = np.random.default_rng(0)
    y = g.integers(0, 3, n)
    x = g.normal(size=(5, 5, 2, n)).astype(np.float32)
    x[:, :, 0, :] += y
    return x, y


def _layers():
    return [imageInputLayer([5, 5, 2]), convolution2dLayer(3, 4, Padding=1), batchNormalizationLayer(), reluLayer(),
            dropoutLayer(0.3), fullyConnectedLayer(3), softmaxLayer(), classificationLayer()]


def _options(**kw):
    base = dict(MaxEpochs=4, MiniBatchSize=8, Verbose=False, Shuffle="every-epoch", InitialLearnRate=0.05)
    base.update(kw)
    return trainingOptions("sgdm", **base)


def _checkpoints(folder):
    files = [f for f in os.listdir(folder) if f.startswith("net_checkpoint__")]
    return sorted(files, key=lambda f: int(f.split("__")[1]))


def _same_weights(a, b):
    for la, lb in zip(a.Layers, b.Layers):
        for name in ("Weights", "Bias", "Scale", "Offset", "TrainedMean", "TrainedVariance", "Mean"):
            va, vb = getattr(la, name, None), getattr(lb, name, None)
            if va is not None or vb is not None:
                np.testing.assert_array_equal(va, vb, err_msg=f"{la.Name}.{name}")


@pytest.mark.parametrize("unit, frequency, pick", [("epoch", 1, 1), ("iteration", 3, 2)])
def test_resume_from_checkpoint_reaches_the_same_weights(tmp_path, unit, frequency, pick):
    x, y = _data()
    rng(0)
    full, info = trainNetwork(x, y, _layers(), _options(CheckpointPath=str(tmp_path), CheckpointFrequency=frequency,
                                                        CheckpointFrequencyUnit=unit, ValidationData=(x, y),
                                                        ValidationFrequency=2))
    files = _checkpoints(tmp_path)
    iters = [int(f.split("__")[1]) for f in files]
    assert iters == ([5, 10, 15, 20] if unit == "epoch" else [3, 6, 9, 12, 15, 18])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]  # no temporary files left
    path = tmp_path / files[pick]
    rng(123)  # a different global state must not matter: the checkpoint has the run's generator
    resumed, info2 = trainNetwork(x, y, str(path), _options(ValidationData=(x, y), ValidationFrequency=2))
    _same_weights(full, resumed)
    np.testing.assert_array_equal(info.TrainingLoss, info2.TrainingLoss)
    np.testing.assert_array_equal(info.ValidationLoss, info2.ValidationLoss)


def test_a_checkpoint_loads_as_a_network(tmp_path):
    x, y = _data()
    trainNetwork(x, y, _layers(), _options(MaxEpochs=2, CheckpointPath=str(tmp_path)))
    net = layergraph.load(tmp_path / _checkpoints(tmp_path)[0])
    assert type(net).__name__ == "SeriesNetwork"
    assert net.Layers[-1].Classes == ["0", "1", "2"]
    labels, _ = classify(net, x)
    assert labels.shape == (40,)


def test_interrupted_checkpoint_write_leaves_nothing(tmp_path, monkeypatch):
    import layergraph.io as lio
    x, y = _data()

    def broken(obj, path):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(lio, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        trainNetwork(x, y, _layers(), _options(MaxEpochs=1, CheckpointPath=str(tmp_path)))
    assert os.listdir(tmp_path) == []


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    x, y = _data()
    trainNetwork(x, y, _layers(), _options(MaxEpochs=1, CheckpointPath=str(tmp_path)))
    path = tmp_path / _checkpoints(tmp_path)[0]
    data = path.read_bytes()
    (tmp_path / "cut.lgnet").write_bytes(data[: len(data) // 2])
    with pytest.raises(LayerGraphError, match="damaged|not a layergraph"):
        trainNetwork(x, y, str(tmp_path / "cut.lgnet"), _options())
    with pytest.raises(LayerGraphError, match="no such file"):
        trainNetwork(x, y, str(tmp_path / "missing.lgnet"), _options())
    with zipfile.ZipFile(tmp_path / "odd.lgnet", "w") as z:
        z.writestr("network", b"x")
        z.writestr("trainer.json", b'{"format": "something else"}')
        z.writestr("trainer.npz", b"")
    with pytest.raises(LayerGraphError, match="known version"):
        trainNetwork(x, y, str(tmp_path / "odd.lgnet"), _options())
