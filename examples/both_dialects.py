"""One network, both dialects: a CNN trained with MATLAB's trainNetwork opens as a Wolfram
NetChain with the same weights and outputs, is fine-tuned with NetTrain, saved and loaded,
and goes back to a MATLAB dlnetwork.

    pip install -e ".[examples]" && python examples/both_dialects.py

Each side prints in its own dialect: the MATLAB layer array in MATLAB's layout (H x W x C
images, FH x FW x C x F weights), the Wolfram net channel-first ({1, 8, 8} inputs,
{16, 1, 3, 3} weights).
"""
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import layergraph
from layergraph import *  # noqa: F403

digits = load_digits()
images = (digits.images / 16.0).astype(np.float32)
labels = digits.target
order = np.random.default_rng(0).permutation(len(labels))
test, train = order[:360], order[360:]
X_matlab = np.transpose(images, (1, 2, 0))[:, :, np.newaxis, :]   # H x W x C x N
X_wolfram = images[:, np.newaxis, :, :]                           # N x C x H x W

rng(0)
layers = LayerArray([
    imageInputLayer([8, 8, 1], 'Normalization', 'none'),
    convolution2dLayer(3, 16, 'Padding', 1), batchNormalizationLayer, reluLayer,
    maxPooling2dLayer(2, 'Stride', 2),
    fullyConnectedLayer(10), softmaxLayer, classificationLayer,
])
options = trainingOptions('sgdm', 'MaxEpochs', 4, 'MiniBatchSize', 64, 'InitialLearnRate', 0.05,
                          'Verbose', False)
net, _ = trainNetwork(X_matlab[..., train], categorical([str(d) for d in labels[train]]), layers, options)

# MATLAB -> Wolfram: the same weights, the classes as a Class decoder on the output port
chain = NetChain(net)
print(chain)
matlab_scores = predict(net, X_matlab[..., test])
wolfram_scores = chain(X_wolfram[test], None)          # None: the raw output, not the decoded class
print("same scores:", np.allclose(matlab_scores, wolfram_scores, atol=1e-5))
matlab_labels, _ = classify(net, X_matlab[..., test])
print(f"Held-out accuracy (MATLAB classify): {np.mean(matlab_labels == labels[test].astype(str)):.4f}")

# Fine-tune in the Wolfram dialect, save and load it
tuned = NetTrain(chain, (X_wolfram[train], [str(d) for d in labels[train]]), MaxTrainingRounds=2,
                 RandomSeeding=1, TrainingProgressReporting=None)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "tuned.lgnet"
    layergraph.save(tuned, path)
    back = layergraph.load(path)
print("loaded back the same:", repr(back) == repr(tuned)
      and np.array_equal(back(X_wolfram[test], None), tuned(X_wolfram[test], None)))
wolfram_labels = np.array(tuned(X_wolfram[test]))
print(f"Held-out accuracy (Wolfram, fine-tuned): {np.mean(wolfram_labels == labels[test].astype(str)):.4f}")

# Wolfram -> MATLAB: a dlnetwork with the fine-tuned weights, printed as MATLAB prints it
dlnet = dlnetwork(tuned)
print(dlnet.Layers)
print("dlnetwork gives the Wolfram net's scores:",
      np.allclose(predict(dlnet, X_matlab[..., test]), tuned(X_wolfram[test], None), atol=1e-5))
