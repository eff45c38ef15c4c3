"""Digits as sequences in the Wolfram dialect: each 8x8 digit read row by row, 8 steps of 8
features, by a LongShortTermMemoryLayer; the last state classifies.

    pip install -e ".[examples]" && python examples/wolfram_sequence_digits.py

Mathematica code it mirrors:
    net = NetChain[{LongShortTermMemoryLayer[64], SequenceLastLayer[], LinearLayer[10], SoftmaxLayer[]},
                   "Input" -> {"Varying", 8}, "Output" -> NetDecoder[{"Class", Range[0, 9]}]];
    trained = NetTrain[net, trainData, MaxTrainingRounds -> 15, LearningRate -> 0.01, RandomSeeding -> 1234];
    trained[{seq1, seq2}]
A sequence is a T x 8 matrix (time first, as in Mathematica); a batch is a list of them, whose
lengths may differ.
"""
import numpy as np
from sklearn.datasets import load_digits

from layergraph.wolfram import *  # noqa: F403

digits = load_digits()
X = [(image / 16.0).astype(np.float32) for image in digits.images]   # 8 steps (rows) x 8 features
labels = digits.target
order = np.random.default_rng(0).permutation(len(labels))
test, train = order[:360], order[360:]

net = NetChain([LongShortTermMemoryLayer(64), SequenceLastLayer(), LinearLayer(10), SoftmaxLayer()],
               Input=("Varying", 8), Output=NetDecoder(("Class", list(range(10)))))
print(net)

trained = NetTrain(net, ([X[i] for i in train], list(labels[train])), MaxTrainingRounds=15, LearningRate=0.01,
                   RandomSeeding=1234, TrainingProgressReporting=None)
predicted = np.array(trained([X[i] for i in test]))
print(f"Held-out accuracy: {np.mean(predicted == labels[test]):.4f}")
print(trained[1])
# sequences of different lengths in one call: the first 6 rows of one digit, all 8 of another
two = trained([X[test[0]][:6], X[test[1]]])
print("Two sequences of lengths 6 and 8:", two, "true:", [int(v) for v in labels[test[:2]]])
