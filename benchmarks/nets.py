"""The benchmarks' networks, each built twice with the same shapes: with layergraph's MATLAB
dialect and as a torch ``nn.Module``; their data; and one training step on each side.

    seed       the seed page's CNN: 32x32x3, conv 3x3x16 pad 1, BN, ReLU, max pool 2/2,
               conv 3x3x32 pad 1, BN, ReLU, FC 10, softmax
    resnet20   CIFAR ResNet-20: conv 3x3x16, BN, ReLU; 3 stages x 3 basic blocks of 16/32/64
               channels (conv 3x3, BN, ReLU, conv 3x3, BN, add, ReLU; the first block of stages
               2 and 3 has stride 2 and a 1x1 stride-2 convolution + BN on the shortcut, as
               MATLAB's resnet examples do); global average pooling, FC 10, softmax
    mobilenet  MobileNet-style: conv 3x3x32, BN, ReLU6, then depthwise-separable blocks
               (depthwise 3x3 = groupedConvolution2dLayer(3, 1, 'channel-wise'), BN, ReLU6,
               pointwise 1x1, BN, ReLU6) to 64, 128 (stride 2), 128, 256 (stride 2), 256
               channels; global average pooling, FC 10, softmax. ReLU6 is clippedReluLayer(6);
               MobileNetV3's hard-swish has no layergraph layer yet, so it is not measured.
    vgg        VGG-style: three stages of two conv 3x3 + BN + ReLU (64, 128, 256 channels at
               32x32, 16x16, 8x8) each ended by a max pool 2/2; FC 10, softmax
    mlp        784 features, FC 512, ReLU, FC 512, ReLU, FC 10, softmax
    lstm       an LSTM sequence classifier: sequenceInputLayer(40), lstmLayer(128, 'OutputMode',
               'last'), FC 10, softmax; sequences of 100 steps (a speech-feature-like shape);
               torch: nn.LSTM(40, 128, batch_first=True), the last step's h, nn.Linear(128, 10)

The layergraph networks are ``dlnetwork`` objects of layer arrays or layer graphs. Their
training step is trainNetwork's per-iteration work written out with the trainer's own pieces
(the executor, the cross-entropy kernels, train/solvers.py's SGDM, conventions.update_running);
the trainer exposes only its whole loop, which adds a backup copy of the weights and a
finiteness check per iteration. torch trains with nn.CrossEntropyLoss (which includes the
softmax) and torch.optim.SGD; both sides use momentum 0.9 and learning rate 0.01, no weight
decay, and update the batch normalization running statistics.
"""
from __future__ import annotations

import inspect
import os

import numpy as np

LR, MOMENTUM = 0.01, 0.9
NAMES = ("seed", "resnet20", "mobilenet", "vgg", "mlp", "lstm")
DESCRIPTIONS = {"seed": "seed CNN", "resnet20": "ResNet-20", "mobilenet": "MobileNet-style",
                "vgg": "VGG-style 64-128-256", "mlp": "MLP 784-512-512-10",
                "lstm": "LSTM 40-128, 100 steps"}
MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))  # (output channels, stride)
MLP_WIDTHS = (512, 512)
LSTM_FEATURES, LSTM_HIDDEN, LSTM_STEPS = 40, 128, 100
CLASSES = 10


def is_image(name):
    return name not in ("mlp", "lstm")


def unit(name):
    """What one observation of the network is called in the tables."""
    return "sequences" if name == "lstm" else "images" if is_image(name) else "observations"


# -- layergraph (MATLAB dialect) -------------------------------------------------------------------
def matlab_layers(name):
    """The network's layers in the MATLAB dialect (a layer list, or a layerGraph), ending in
    softmaxLayer (no output layer)."""
    import layergraph as L
    if name == "seed":
        return [L.imageInputLayer([32, 32, 3], "Normalization", "none"),
                L.convolution2dLayer(3, 16, "Padding", 1), L.batchNormalizationLayer, L.reluLayer,
                L.maxPooling2dLayer(2, "Stride", 2),
                L.convolution2dLayer(3, 32, "Padding", 1), L.batchNormalizationLayer, L.reluLayer,
                L.fullyConnectedLayer(10), L.softmaxLayer]
    if name == "resnet20":
        return _resnet20()
    if name == "mobilenet":
        layers = [L.imageInputLayer([32, 32, 3], "Normalization", "none"),
                  L.convolution2dLayer(3, 32, "Padding", 1), L.batchNormalizationLayer, L.clippedReluLayer(6)]
        for out, stride in MOBILENET_BLOCKS:
            layers += [L.groupedConvolution2dLayer(3, 1, "channel-wise", "Stride", stride, "Padding", 1),
                       L.batchNormalizationLayer, L.clippedReluLayer(6),
                       L.convolution2dLayer(1, out), L.batchNormalizationLayer, L.clippedReluLayer(6)]
        return layers + [L.globalAveragePooling2dLayer, L.fullyConnectedLayer(CLASSES), L.softmaxLayer]
    if name == "vgg":
        layers = [L.imageInputLayer([32, 32, 3], "Normalization", "none")]
        for width in (64, 128, 256):
            for _ in range(2):
                layers += [L.convolution2dLayer(3, width, "Padding", 1), L.batchNormalizationLayer, L.reluLayer]
            layers.append(L.maxPooling2dLayer(2, "Stride", 2))
        return layers + [L.fullyConnectedLayer(CLASSES), L.softmaxLayer]
    if name == "mlp":
        layers = [L.featureInputLayer(784, "Normalization", "none")]
        for width in MLP_WIDTHS:
            layers += [L.fullyConnectedLayer(width), L.reluLayer]
        return layers + [L.fullyConnectedLayer(CLASSES), L.softmaxLayer]
    if name == "lstm":
        return [L.sequenceInputLayer(LSTM_FEATURES), L.lstmLayer(LSTM_HIDDEN, "OutputMode", "last"),
                L.fullyConnectedLayer(CLASSES), L.softmaxLayer]
    raise KeyError(name)


def _resnet20():
    import layergraph as L
    lg = L.layerGraph([L.imageInputLayer([32, 32, 3], "Normalization", "none", "Name", "input"),
                       L.convolution2dLayer(3, 16, "Padding", 1, "Name", "conv0"),
                       L.batchNormalizationLayer("Name", "bn0"), L.reluLayer("Name", "relu0")])
    last, channels = "relu0", 16
    for stage, width in enumerate((16, 32, 64), 1):
        for block in range(1, 4):
            stride = 2 if stage > 1 and block == 1 else 1
            p = f"s{stage}b{block}"
            lg = L.addLayers(lg, [
                L.convolution2dLayer(3, width, "Stride", stride, "Padding", 1, "Name", f"{p}_conv1"),
                L.batchNormalizationLayer("Name", f"{p}_bn1"), L.reluLayer("Name", f"{p}_relu1"),
                L.convolution2dLayer(3, width, "Padding", 1, "Name", f"{p}_conv2"),
                L.batchNormalizationLayer("Name", f"{p}_bn2"),
                L.additionLayer(2, "Name", f"{p}_add"), L.reluLayer("Name", f"{p}_relu2")])
            lg = L.connectLayers(lg, last, f"{p}_conv1")
            if stride != 1 or width != channels:
                lg = L.addLayers(lg, [L.convolution2dLayer(1, width, "Stride", stride, "Name", f"{p}_skipconv"),
                                      L.batchNormalizationLayer("Name", f"{p}_skipbn")])
                lg = L.connectLayers(lg, last, f"{p}_skipconv")
                lg = L.connectLayers(lg, f"{p}_skipbn", f"{p}_add/in2")
            else:
                lg = L.connectLayers(lg, last, f"{p}_add/in2")
            last, channels = f"{p}_relu2", width
    lg = L.addLayers(lg, [L.globalAveragePooling2dLayer("Name", "gap"), L.fullyConnectedLayer(CLASSES, "Name", "fc"),
                          L.softmaxLayer("Name", "softmax")])
    return L.connectLayers(lg, last, "gap")


def dlnet(name):
    """The network as an initialized dlnetwork (the same weights in every process)."""
    from layergraph import dlnetwork, rng
    rng(0)
    return dlnetwork(matlab_layers(name))


def classifier_layers(name):
    """The layers with a classificationLayer, for trainNetwork."""
    from layergraph import classificationLayer
    layers = matlab_layers(name)
    if not isinstance(layers, list):
        raise ValueError(f"{name}: classifier_layers takes a layer list")
    return layers + [classificationLayer]


# -- data ------------------------------------------------------------------------------------------
def internal_data(name, n):
    """n observations first (N x C x H x W, N x 784, or N x C x T sequences, float32) and their
    class indices."""
    r = np.random.default_rng(0)
    shape = (n, 3, 32, 32) if is_image(name) else (n, LSTM_FEATURES, LSTM_STEPS) if name == "lstm" else (n, 784)
    return r.standard_normal(shape).astype(np.float32), r.integers(0, CLASSES, n)


def matlab_data(name, n):
    """The same observations in MATLAB's layout: H x W x C x N images, N x 784 features, and
    sequences as MATLAB's N-by-1 cell array (a list) of C x T arrays."""
    x, labels = internal_data(name, n)
    if name == "lstm":
        return [np.ascontiguousarray(s) for s in x], labels
    return (np.ascontiguousarray(x.transpose(2, 3, 1, 0)) if is_image(name) else x), labels


class TrainStep:
    """One training step of a dlnetwork on the executor, on x (observations first) (see the module docstring).
    ``forward``, ``loss``, ``backward`` and ``update`` are the parts (profile_train_step.py
    times them one by one); calling the object runs all four."""

    def __init__(self, net, x, labels, input_grads=False):
        from layergraph.core.conventions import update_running
        from layergraph.kernels.cpu import loss as cpu_loss
        from layergraph.kernels.cpu.loss import crossentropyex_backward, crossentropyex_forward
        from layergraph.train.solvers import SGDM
        self._update_running, self._ce = update_running, (crossentropyex_forward, crossentropyex_backward)
        # the loss and its gradient from one kernel call, as the trainer's CrossEntropy takes them
        # (not in trees older than it, which benchmarks/ab.py may run this file against)
        self._ce_both = getattr(cpu_loss, "crossentropyex_loss_and_grad", None)
        self.ex = ex = net.executor("cpu", np.float32)
        self.x, n = x, x.shape[0]
        self.t = np.zeros((n, CLASSES), np.float32)
        self.t[np.arange(n), labels] = 1.0
        self.inp = ex.input_names[0]
        [self.out] = ex.output_refs()
        self.input_grads = input_grads
        self.solver, self.state = SGDM(momentum=MOMENTUM), {}
        self.bns = {s.name: s.op.layer for s in ex.steps if s.op.layer.family == "batchnorm"}
        # release: the contexts freed as backward goes, as the trainer does (not in trees older than
        # that option, which benchmarks/ab.py may run this file against); looked up once, not per
        # step (inspect.signature: 25 us, 1 % of the MLP's step at batch 32, counted as ours)
        self._backward_extra = {"release": True} if "release" in inspect.signature(ex.backward).parameters else {}

    def forward(self):
        return self.ex.forward({self.inp: self.x}, training=True)[self.out]

    def loss(self, y):
        if self._ce_both is not None:
            return self._ce_both(y, self.t)[1]
        fwd, bwd = self._ce
        fwd(y, self.t)
        return bwd(y, self.t)

    def backward(self, seed):
        return self.ex.backward({self.out: seed}, input_grads=self.input_grads, **self._backward_extra)

    def update(self, grads):
        ex = self.ex
        for layer, gs in grads.items():
            for name, g in gs.items():
                self.solver.step(ex.params[layer][name], g, LR, self.state.setdefault((layer, name), {}), 1)
        for layer, (mean, var) in ex.batch_stats.items():  # running statistics, as torch does
            P, L = ex.params[layer], self.bns[layer]
            P["TrainedMean"][...] = self._update_running(P["TrainedMean"], mean, L.MeanDecay)
            P["TrainedVariance"][...] = self._update_running(P["TrainedVariance"], var, L.VarianceDecay)

    def __call__(self):
        self.update(self.backward(self.loss(self.forward())))


def train_step(name, n):
    """The layergraph training step of network ``name`` at batch n, and its dlnetwork."""
    net = dlnet(name)
    x, labels = internal_data(name, n)
    return TrainStep(net, x, labels), net


# -- torch -----------------------------------------------------------------------------------------
def torch_module(name):
    """The network as a torch module that ends in the logits (no softmax)."""
    import torch.nn as nn
    torch_threads()

    def cbr(cin, cout, k=3, stride=1, act=nn.ReLU):
        return [nn.Conv2d(cin, cout, k, stride, k // 2), nn.BatchNorm2d(cout), act()]

    if name == "seed":
        return nn.Sequential(*cbr(3, 16), nn.MaxPool2d(2, 2), *cbr(16, 32), nn.Flatten(),
                             nn.Linear(32 * 16 * 16, CLASSES))
    if name == "resnet20":
        return _TorchResNet20()
    if name == "mobilenet":
        layers, c = cbr(3, 32, act=nn.ReLU6), 32
        for out, stride in MOBILENET_BLOCKS:
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c), nn.BatchNorm2d(c), nn.ReLU6(),
                       *cbr(c, out, 1, act=nn.ReLU6)]
            c = out
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, CLASSES))
    if name == "vgg":
        layers, c = [], 3
        for width in (64, 128, 256):
            layers += cbr(c, width) + cbr(width, width) + [nn.MaxPool2d(2, 2)]
            c = width
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(256 * 4 * 4, CLASSES))
    if name == "mlp":
        layers, c = [], 784
        for width in MLP_WIDTHS:
            layers += [nn.Linear(c, width), nn.ReLU()]
            c = width
        return nn.Sequential(*layers, nn.Linear(c, CLASSES))
    if name == "lstm":
        return _TorchLSTMClassifier()
    raise KeyError(name)


def _TorchLSTMClassifier():
    import torch.nn as nn

    class LSTMClassifier(nn.Module):
        """nn.LSTM over N x T x C (batch first), its last step's hidden state, nn.Linear."""
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(LSTM_FEATURES, LSTM_HIDDEN, batch_first=True)
            self.fc = nn.Linear(LSTM_HIDDEN, CLASSES)

        def forward(self, x):            # x: N x T x C (torch_input)
            _, (h, _) = self.lstm(x)
            return self.fc(h[0])
    return LSTMClassifier()


def torch_threads():
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)


def _torch_block(cin, cout, stride):
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU(),
                                      nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout))
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout)) \
                if stride != 1 or cin != cout else nn.Identity()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.skip(x))
    return Block()


def _TorchResNet20():
    import torch.nn as nn
    blocks, c = [nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, width in enumerate((16, 32, 64), 1):
        for block in range(1, 4):
            blocks.append(_torch_block(c, width, 2 if stage > 1 and block == 1 else 1))
            c = width
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, CLASSES))


def torch_train_step(name, n):
    """A torch training step of network ``name`` at batch n, and the module."""
    import torch
    import torch.nn as nn
    net = torch_module(name).train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    x, labels = torch_input(name, n), torch.from_numpy(internal_data(name, n)[1])

    def step():
        opt.zero_grad()
        loss_fn(net(x), labels).backward()
        opt.step()
    return step, net


def torch_input(name, n):
    """internal_data's observations as the torch module takes them: the same arrays, sequences
    batch-first as N x T x C (contiguous, as a torch user's data would be)."""
    import torch
    x = internal_data(name, n)[0]
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)) if name == "lstm" else x)


def torch_predictor(net, name, n):
    """Prediction with torch: eval mode, inference mode, softmax scores of n observations."""
    import torch
    x = torch_input(name, n)
    net.eval()

    def predict():
        with torch.inference_mode():
            torch.softmax(net(x), dim=1)
    return predict


# -- the seed CNN in both dialects' training entry points -------------------------------------------
def matlab_options(epochs=1, batch=128):
    """trainingOptions for trainNetwork: SGDM as in the training step, no L2, no output, the
    moving batch-normalization statistics (NetTrain's rule, so both dialects do the same work)."""
    from layergraph import trainingOptions
    return trainingOptions("sgdm", "Momentum", MOMENTUM, "InitialLearnRate", LR, "L2Regularization", 0,
                           "MaxEpochs", epochs, "MiniBatchSize", batch, "Shuffle", "every-epoch",
                           "Verbose", False, "BatchNormalizationStatistics", "moving")


def wolfram_seed():
    """The seed CNN as a Wolfram NetChain (channels first: 3 x 32 x 32), not initialized."""
    from layergraph.wolfram import (BatchNormalizationLayer, ConvolutionLayer, FlattenLayer, LinearLayer,
                                    NetChain, PoolingLayer, Ramp, SoftmaxLayer)
    return NetChain([ConvolutionLayer(16, 3, PaddingSize=1), BatchNormalizationLayer(), Ramp, PoolingLayer(2, 2),
                     ConvolutionLayer(32, 3, PaddingSize=1), BatchNormalizationLayer(), Ramp, FlattenLayer(),
                     LinearLayer(CLASSES), SoftmaxLayer()], Input=(3, 32, 32))


def wolfram_train_options(batch=128):
    """NetTrain's options matching matlab_options: SGD with momentum 0.9 at a constant rate 0.01."""
    return dict(MaxTrainingRounds=1, BatchSize=batch, LearningRate=LR,
                Method=("SGD", {"Momentum": MOMENTUM, "LearningRateSchedule": None, "L2Regularization": 0}),
                TrainingProgressReporting=None, RandomSeeding=0)
