"""The same CNN in the Wolfram dialect: NetChain, NetTrain, evaluation.

    pip install -e ".[examples]" && python examples/wolfram_digits.py

Mathematica code it mirrors:
    net = NetChain[{ConvolutionLayer[16, {3, 3}, PaddingSize -> 1], BatchNormalizationLayer[], Ramp,
                    PoolingLayer[{2, 2}, "Stride" -> 2], ConvolutionLayer[32, {3, 3}, PaddingSize -> 1],
                    BatchNormalizationLayer[], Ramp, LinearLayer[10], SoftmaxLayer[]},
                   "Input" -> {1, 8, 8}, "Output" -> NetDecoder[{"Class", Range[0, 9]}]];
    trained = NetTrain[net, trainData, MaxTrainingRounds -> 10, RandomSeeding -> 1234];
Data is channel-first (1 x 8 x 8 per digit), batch first, as in Mathematica.
"""
import numpy as np
from sklearn.datasets import load_digits

from layergraph.wolfram import *  # noqa: F403

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, np.newaxis, :, :]   # N x 1 x 8 x 8
labels = digits.target
order = np.random.default_rng(0).permutation(len(labels))
test, train = order[:360], order[360:]

net = NetChain([
    ConvolutionLayer(16, (3, 3), PaddingSize=1), BatchNormalizationLayer(), Ramp,
    PoolingLayer((2, 2), Stride=2),
    ConvolutionLayer(32, (3, 3), PaddingSize=1), BatchNormalizationLayer(), Ramp,
    LinearLayer(10), SoftmaxLayer(),
], Input=(1, 8, 8), Output=NetDecoder(("Class", list(range(10)))))
print(net)

trained = NetTrain(net, (X[train], list(labels[train])), MaxTrainingRounds=10, RandomSeeding=1234,
                   TrainingProgressReporting=None)
predicted = np.array(trained(X[test]))
print(f"Held-out accuracy: {np.mean(predicted == labels[test]):.4f}")
print(Information(trained, "ArraysTotalElementCount"), "trained array elements")
