"""Classify scikit-learn's handwritten digits as sequences, as MATLAB code would: each 8x8
digit is read row by row, 8 time steps of 8 features, by an LSTM.

    pip install -e ".[examples]" && python examples/sequence_digits.py

MATLAB's sequence data is an N-by-1 cell array of C x S sequences (here a list of 8 x 8
arrays: feature c of step t is pixel (t, c)); sequenceInputLayer, lstmLayer with OutputMode
'last', then the usual classification layers; trainingOptions('adam', ...) and trainNetwork.
Prints the layers, the verbose training table, the accuracy on held-out digits, and shows
stateful prediction: the first half of the rows, then the second half with the state carried,
gives the scores of the whole digit.
"""
import numpy as np
from sklearn.datasets import load_digits

from layergraph import *  # noqa: F403

rng(0)

digits = load_digits()
X = [(image / 16.0).astype(np.float32).T for image in digits.images]   # 8 features x 8 time steps
Y = categorical(digits.target)
order = np.random.default_rng(0).permutation(len(X))
test, train = order[:360], order[360:]
XTrain, YTrain = [X[i] for i in train], Y[train]
XTest, YTest = [X[i] for i in test], Y[test]

layers = LayerArray([
    sequenceInputLayer(8),
    lstmLayer(64, 'OutputMode', 'last'),
    fullyConnectedLayer(10),
    softmaxLayer,
    classificationLayer,
])
print(layers)

options = trainingOptions('adam',
    'InitialLearnRate', 0.01,
    'MaxEpochs', 15,
    'MiniBatchSize', 64,
    'Shuffle', 'every-epoch',
    'ValidationData', (XTest, YTest),
    'ValidationFrequency', 50,
    'VerboseFrequency', 50)

net, info = trainNetwork(XTrain, YTrain, layers, options)
print()
print(net.Layers)

YPred, scores = classify(net, XTest)
accuracy = np.mean(YPred == YTest)
print(f"Held-out accuracy: {accuracy:.4f} ({np.sum(YPred == YTest)} of {len(YTest)} digits)")

# stateful prediction: rows 1-4, then rows 5-8 from the state the first half left
first = [x[:, :4] for x in XTest[:5]]
second = [x[:, 4:] for x in XTest[:5]]
stateful, _ = predictAndUpdateState(net, first)
stateful, halves = predictAndUpdateState(stateful, second)
print(f"Two halves with the state carried give the whole digits' scores: "
      f"{np.allclose(halves, scores[:5], atol=1e-5)}")
print(f"After resetState the state is zero again: {not np.any(resetState(stateful).Layers[1].HiddenState)}")
