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
