"""A Wolfram net and a MATLAB net with the same weights give the same outputs, after the
layout conversions (channels first <-> H x W x C x N; F x C x FH x FW <-> FH x FW x C x F;
row-major <-> column-major flatten before the fully connected layer)."""
import numpy as np

from layergraph import (
    batchNormalizationLayer,
    convolution2dLayer,
    dlnetwork,
    fullyConnectedLayer,
    imageInputLayer,
    maxPooling2dLayer,
    predict,
    reluLayer,
    softmaxLayer,
)
from layergraph.core import conventions as cv
from layergraph.wolfram import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetExtract,
    NetInitialize,
    PoolingLayer,
    Ramp,
    SoftmaxLayer,
)


def test_same_weights_same_outputs():
    wnet = NetInitialize(NetChain([
        ConvolutionLayer(6, (3, 2), Stride=(1, 2), PaddingSize=1), BatchNormalizationLayer(), Ramp,
        PoolingLayer(2, 2), FlattenLayer(), LinearLayer(5), SoftmaxLayer()], Input=(3, 9, 8)), RandomSeeding=4)
    r = np.random.default_rng(0)
    # give the BN layer nontrivial statistics so that the test sees them
    bn = {k: r.uniform(0.5, 1.5, 6) for k in ("Scaling", "Biases", "MovingMean", "MovingVariance")}
    from layergraph.wolfram import NetReplacePart
    wnet = NetReplacePart(wnet, {(2, k): v for k, v in bn.items()})
    w1, b1 = NetExtract(wnet, (1, "Weights")), NetExtract(wnet, (1, "Biases"))
    w6, b6 = NetExtract(wnet, (6, "Weights")), NetExtract(wnet, (6, "Biases"))
    pooled = wnet.compile().leaves[("4",)].out_dims  # (6, h, w)
    c, h, w = pooled

    layers = [
        imageInputLayer([9, 8, 3], Normalization="none"),
        convolution2dLayer([3, 2], 6, Stride=[1, 2], Padding=1, Weights=cv.conv_weights_to_matlab(w1),
                           Bias=b1.reshape(1, 1, 6)),
        batchNormalizationLayer(Epsilon=1e-3, Scale=bn["Scaling"].reshape(1, 1, 6),
                                Offset=bn["Biases"].reshape(1, 1, 6), TrainedMean=bn["MovingMean"].reshape(1, 1, 6),
                                TrainedVariance=bn["MovingVariance"].reshape(1, 1, 6)),
        reluLayer(),
        maxPooling2dLayer(2, Stride=2),
        fullyConnectedLayer(5, Weights=cv.fc_weights_to_matlab(w6, (h, w, c)), Bias=b6.reshape(5, 1)),
        softmaxLayer(),
    ]
    mnet = dlnetwork(layers)
    x = r.standard_normal((4, 3, 9, 8)).astype(np.float32)   # Wolfram: batch, channels, height, width
    y_w = wnet(x)
    y_m = predict(mnet, cv.internal_images_to_matlab(x))   # MATLAB: H x W x C x N -> N x 5
    np.testing.assert_allclose(y_w, y_m, rtol=1e-5, atol=1e-6)
