"""Train the seed's example CNN on scikit-learn's handwritten digits, as MATLAB code would.

    pip install -e ".[examples]" && python examples/train_digits.py

The CNN from MATLAB's batchNormalizationLayer page, with the input layer sized for
the 8x8 grayscale digits of sklearn.datasets.load_digits, trained with
trainingOptions('sgdm', ...) and trainNetwork. Prints the verbose training table,
the trained layers with their learned sizes and the accuracy on held-out digits,
then saves the network and loads it back.
"""
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import layergraph
from layergraph import *  # noqa: F403

rng(0)

# 1797 digits as an 8 x 8 x 1 x N array (MATLAB's H x W x C x N), labels 0..9
digits = load_digits()
X = (digits.images / 16.0).astype(np.float32).transpose(1, 2, 0)[:, :, np.newaxis, :]
Y = categorical(digits.target)
order = np.random.default_rng(0).permutation(len(digits.target))
test, train = order[:360], order[360:]
XTrain, YTrain = X[..., train], Y[train]
XTest, YTest = X[..., test], Y[test]

layers = LayerArray([
    imageInputLayer([8, 8, 1]),

    convolution2dLayer(3, 16, 'Padding', 1),
    batchNormalizationLayer,
    reluLayer,

    maxPooling2dLayer(2, 'Stride', 2),

    convolution2dLayer(3, 32, 'Padding', 1),
    batchNormalizationLayer,
    reluLayer,

    fullyConnectedLayer(10),
    softmaxLayer,
    classificationLayer,
])

options = trainingOptions('sgdm',
    'InitialLearnRate', 0.01,
    'MaxEpochs', 12,
    'MiniBatchSize', 64,
    'Shuffle', 'every-epoch',
    'ValidationData', (XTest, YTest),
    'ValidationFrequency', 30,
    'VerboseFrequency', 30)

net, info = trainNetwork(XTrain, YTrain, layers, options)
print()
print(net.Layers)

YPred, scores = classify(net, XTest)
accuracy = np.mean(YPred == YTest)
print(f"Held-out accuracy: {accuracy:.4f} ({np.sum(YPred == YTest)} of {len(YTest)} digits)")

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "digits.lgnet")
    layergraph.save(net, path)
    again = layergraph.load(path)
    same = np.array_equal(predict(again, XTest), scores)
    print(f"Saved to and loaded from {os.path.basename(path)}: same scores {same}")
