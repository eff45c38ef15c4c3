"""MATLAB's "Train Network Using Custom Training Loop" on scikit-learn's handwritten digits.

    pip install -e ".[examples]" && python examples/custom_training_loop.py

The doc example's network (three convolution / batch normalization / ReLU blocks, a fully
connected layer and a softmax) as a dlnetwork, trained by a loop of dlfeval, dlgradient and
sgdmupdate with the doc's time-based learning rate decay, on mini-batches from a
minibatchqueue over a combined arrayDatastore (images, labels), then the same layers trained by
trainNetwork with a constant rate, for comparison. The digits are 8 x 8 (the doc's are 28 x 28),
so the first convolution is 3 x 3 instead of 5 x 5.
"""
import time

import numpy as np
from sklearn.datasets import load_digits

from layergraph import *  # noqa: F403

rng(0)

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32).transpose(1, 2, 0)[:, :, np.newaxis, :]   # 8 x 8 x 1 x N
labels = categorical(digits.target)
classes = categories(labels)
order = np.random.default_rng(0).permutation(len(digits.target))
test, train = order[:360], order[360:]
XTrain, TTrain = X[..., train], labels[train]
XTest, TTest = X[..., test], labels[test]

layers = LayerArray([
    imageInputLayer([8, 8, 1], 'Normalization', 'none'),
    convolution2dLayer(3, 20, 'Padding', 'same'),
    batchNormalizationLayer,
    reluLayer,
    convolution2dLayer(3, 20, 'Padding', 'same'),
    batchNormalizationLayer,
    reluLayer,
    convolution2dLayer(3, 20, 'Padding', 'same'),
    batchNormalizationLayer,
    reluLayer,
    fullyConnectedLayer(len(classes)),
    softmaxLayer,
])
net = dlnetwork(layers)
net0 = net

numEpochs = 10
miniBatchSize = 128
initialLearnRate = 0.01
decay = 0.01
momentum = 0.9


def modelLoss(net, X, T):
    Y, state = forward(net, X)
    loss = crossentropy(Y, T)
    gradients = dlgradient(loss, net.Learnables)
    return loss, gradients, state


dsTrain = combine(arrayDatastore(XTrain, IterationDimension=4), arrayDatastore(TTrain))
dsTest = arrayDatastore(XTest, IterationDimension=4)


def preprocessMiniBatchPredictors(dataX):
    return cat(4, *dataX)


def preprocessMiniBatch(dataX, dataT):
    X = preprocessMiniBatchPredictors(dataX)
    T = cat(2, *dataT)
    T = onehotencode(T, 1)
    return X, T


# The doc keeps the last, partial mini-batch (PartialMiniBatch "return"); on 1437 images it
# would hold 29, so here it is discarded, as trainNetwork does below.
mbq = minibatchqueue(dsTrain, MiniBatchSize=miniBatchSize, MiniBatchFcn=preprocessMiniBatch,
                     MiniBatchFormat=["SSCB", ""], PartialMiniBatch="discard")
print(mbq)

velocity = []
numObservationsTrain = XTrain.shape[3]
numIterationsPerEpoch = numObservationsTrain // miniBatchSize
numIterations = numEpochs * numIterationsPerEpoch

epoch = 0
iteration = 0
start = time.perf_counter()
while epoch < numEpochs:
    epoch += 1
    shuffle(mbq)
    while hasdata(mbq):
        iteration += 1
        X, T = next(mbq)
        loss, gradients, state = dlfeval(modelLoss, net, X, T)
        net.State = state
        learnRate = initialLearnRate / (1 + decay * iteration)
        net, velocity = sgdmupdate(net, gradients, velocity, learnRate, momentum)
    print(f"Epoch {epoch:2d}, iteration {iteration:3d}, loss {float(loss):.4f}, learn rate {learnRate:.5f}")
print(f"Custom loop: {iteration} iterations in {time.perf_counter() - start:.1f} s")
print()
print("The last mini-batch's first targets:")
print(dlarray(T[:, :6], "CB"))


def modelPredictions(net, mbq, classes):
    Y = []
    while hasdata(mbq):
        X = next(mbq)
        scores = predict(net, X)
        Y.extend(np.array(classes)[np.argmax(extractdata(scores), axis=0)])
    return np.array(Y)


numOutputs = 1
mbqTest = minibatchqueue(dsTest, numOutputs, MiniBatchSize=miniBatchSize,
                         MiniBatchFcn=preprocessMiniBatchPredictors, MiniBatchFormat="SSCB")
YTest = modelPredictions(net, mbqTest, classes)
accuracy = np.mean(YTest == TTest.labels)
print(f"Custom loop accuracy: {accuracy:.4f}")

options = trainingOptions('sgdm', 'InitialLearnRate', initialLearnRate, 'Momentum', momentum,
                          'MaxEpochs', numEpochs, 'MiniBatchSize', miniBatchSize, 'Shuffle', 'every-epoch',
                          'L2Regularization', 0, 'Verbose', False)
trainedNet, info = trainNetwork(XTrain, TTrain, LayerArray(list(net0.Layers) + [classificationLayer]), options)
YPred, _ = classify(trainedNet, XTest)
print(f"trainNetwork accuracy: {np.mean(YPred == TTest):.4f}")
