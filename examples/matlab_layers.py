"""The seed example from MATLAB's batchNormalizationLayer page, in Python.

    python examples/matlab_layers.py

Defines the 11-layer CNN exactly as MATLAB code does (commas added), prints it
as MATLAB prints it, builds a layer graph, infers every size, initializes a
dlnetwork and runs it.
"""
import numpy as np

from layergraph import *  # noqa: F403

layers = LayerArray([
    imageInputLayer([32, 32, 3]),

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
print("layers = ")
print(layers)

print("layer = ")
print(batchNormalizationLayer('Name', 'BN1'))

lgraph = layerGraph(layers)
print("lgraph = ")
print(lgraph)

report = analyzeNetwork(layers)

rng(0)
X = np.random.default_rng(0).random((32, 32, 3, 16), dtype=np.float32)  # H x W x C x N
layers[0].Mean = X.mean(axis=3)          # 'zerocenter' needs the mean image
net = dlnetwork(layers[:-1])             # dlnetwork takes no output layer
print("net = ")
print(net)
print(net.Layers)
print(net.Learnables)

scores = predict(net, X)                 # N x 10, rows sum to 1
print("scores(1:3, :) =")
print(np.round(scores[:3], 4))
print("size(activations(net, X, 'relu_2')) =", activations(net, X, 'relu_2').shape)
