"""NetTrain and net evaluation on image files: File["..."] inputs and {File -> class} rules
through the "Image" encoder, streamed from disk and equal to training on the same images in
memory."""
import os

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from layergraph import LayerGraphError
from layergraph.wolfram import (All, ConvolutionLayer, File, FlattenLayer, LinearLayer, NetChain, NetDecoder,
                                NetEncoder, NetTrain, Ramp, Scaled, SoftmaxLayer)

DIGITS = load_digits()
LABELS = list(range(10))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    paths = []
    for k in range(120):
        p = os.path.join(root, f"d{k}_{DIGITS.target[k]}.png")
        Image.fromarray((DIGITS.images[k] * 15).astype(np.uint8)).save(p)
        paths.append(p)
    return paths


def net():
    return NetChain([ConvolutionLayer(4, 3), Ramp, FlattenLayer(), LinearLayer(10), SoftmaxLayer()],
                    Input=NetEncoder(("Image", (8, 8), "Grayscale")), Output=NetDecoder(("Class", LABELS)))



def test_training_on_files_equals_training_in_memory(files):
    labels = [int(DIGITS.target[k]) for k in range(len(files))]
    pixels = [np.asarray(Image.open(p)) for p in files]
    options = dict(MaxTrainingRounds=3, BatchSize=16, LearningRate=0.01, TrainingProgressReporting=None,
                   RandomSeeding=7)
    from_files = NetTrain(net(), [(File(p), y) for p, y in zip(files, labels)], All,
                          ValidationSet=Scaled(0.25), **options)
    in_memory = NetTrain(net(), list(zip(pixels, labels)), All, ValidationSet=Scaled(0.25), **options)
    assert from_files["BatchLossList"] == in_memory["BatchLossList"]
    assert from_files["ValidationLossList"] == in_memory["ValidationLossList"]
    a, b = from_files["TrainedNet"], in_memory["TrainedNet"]
    np.testing.assert_array_equal(a(files[:20], None), b(pixels[:20], None))
    # evaluation on a File, on a list of them and on paths
    assert a(File(files[0])) == b(pixels[0])
    assert a([File(p) for p in files[:5]]) == b(pixels[:5])
    # a validation set of file rules
    val = NetTrain(net(), (files[:90], labels[:90]), All,
                   ValidationSet=[(File(p), y) for p, y in zip(files[90:], labels[90:])], **options)
    assert val["ValidationExamples"] == 30 and len(val["ValidationLossList"]) == 3


def test_bad_files_stop_before_training(files, tmp_path):
    missing = str(tmp_path / "gone.png")
    with pytest.raises(LayerGraphError, match="gone.png"):
        NetTrain(net(), [(File(files[0]), 1), (File(missing), 2)], TrainingProgressReporting=None)
    text = tmp_path / "note.png"
    text.write_text("not an image")
    with pytest.raises(LayerGraphError, match="note.png"):
        NetTrain(net(), [(File(files[0]), 1), (File(str(text)), 2)], TrainingProgressReporting=None)
    assert repr(File("a.png")) == 'File["a.png"]'


def test_evaluation_on_files_is_streamed(files, monkeypatch):
    """net(files) reads the files a batch at a time (never the whole list at once) and gives
    what the same images in memory give; a missing file stops the evaluation with its name."""
    import layergraph.wolfram.net as wnet
    from layergraph.data import sources
    from layergraph.wolfram import coders
    monkeypatch.setattr(sources, "WORKERS", 0)   # reads counted in this process (a thread), not in workers
    trained = NetTrain(net(), [(File(p), int(DIGITS.target[k])) for k, p in enumerate(files)], MaxTrainingRounds=1,
                       BatchSize=16, TrainingProgressReporting=None, RandomSeeding=3)
    pixels = [np.asarray(Image.open(p)) for p in files]
    expected = trained(pixels, None)
    largest = []
    read = coders._EncodedFiles.read

    def counting(self, indices, rng):
        largest.append(len(indices))
        return read(self, indices, rng)
    monkeypatch.setattr(coders._EncodedFiles, "read", counting)
    monkeypatch.setattr(wnet, "STREAM_BATCH", 32)
    np.testing.assert_allclose(trained(files, None), expected, rtol=1e-6)
    assert max(largest) == 32 and sum(largest) == len(files)
    assert trained([File(p) for p in files[:40]]) == trained(pixels[:40])
    largest.clear()
    probs = trained(files, "Probabilities", BatchSize=50)
    assert len(probs) == len(files) and max(largest) == 50
    with pytest.raises(LayerGraphError, match="gone.png"):
        trained([files[0], os.path.join(os.path.dirname(files[0]), "gone.png")])
