"""The seed example from MATLAB's batchNormalizationLayer page, in Python.

    python examples/matlab_layers.py

Defines the 11-layer CNN exactly as MATLAB code does (commas added), prints it
as MATLAB prints it, builds a layer graph, infers every size and initializes a
dlnetwork.
"""
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
net = dlnetwork(layers[:-1])   # dlnetwork takes no output layer
print("net = ")
print(net)
print(net.Layers)
print(net.Learnables)
