"""MATLAB's "Create Simple Deep Learning Network for Classification", on a folder of images.

    pip install -e ".[examples,images]" && python examples/digits_from_folder.py

The doc example reads MATLAB's DigitDataset (one folder of PNG files per digit) with
imageDatastore, splits it with splitEachLabel, trains a small CNN from the datastore with
trainNetwork and classifies the held-out images. Here the folders are written first, from
scikit-learn's 1797 handwritten 8x8 digits, and the script then follows the doc line by line.
What differs: the input size (8x8, not 28x28), 135 training files per digit (not 750: the
smallest digit has 174 images), and more epochs (the doc's 4 epochs of 7500 images are 232
iterations; 1350 images need 24 epochs of 128 for about as many).
"""
import os
import tempfile

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from layergraph import *  # noqa: F403

rng(0)

with tempfile.TemporaryDirectory() as root:
    # -- the data set: DigitDataset's layout, <digit>/image<k>.png, 8-bit grayscale
    digitDatasetPath = os.path.join(root, 'DigitDataset')
    digits = load_digits()
    for k, (pixels, digit) in enumerate(zip(digits.images, digits.target)):
        folder = os.path.join(digitDatasetPath, str(digit))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(np.round(pixels * 255 / 16).astype(np.uint8)).save(os.path.join(folder, f'image{k + 1}.png'))

    # -- the doc example
    imds = imageDatastore(digitDatasetPath,
        'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    print("imds =")
    print(imds)

    labelCount = countEachLabel(imds)
    print("labelCount =")
    print(labelCount)

    img = readimage(imds, 1)
    print(f"size(img) = {img.shape}")

    numTrainFiles = 135
    imdsTrain, imdsValidation = splitEachLabel(imds, numTrainFiles, 'randomize')

    layers = LayerArray([
        imageInputLayer([8, 8, 1]),

        convolution2dLayer(3, 8, 'Padding', 'same'),
        batchNormalizationLayer,
        reluLayer,

        maxPooling2dLayer(2, 'Stride', 2),

        convolution2dLayer(3, 16, 'Padding', 'same'),
        batchNormalizationLayer,
        reluLayer,

        maxPooling2dLayer(2, 'Stride', 2),

        convolution2dLayer(3, 32, 'Padding', 'same'),
        batchNormalizationLayer,
        reluLayer,

        fullyConnectedLayer(10),
        softmaxLayer,
        classificationLayer])

    options = trainingOptions('sgdm',
        'InitialLearnRate', 0.01,
        'MaxEpochs', 24,
        'Shuffle', 'every-epoch',
        'ValidationData', imdsValidation,
        'ValidationFrequency', 30,
        'Verbose', False)

    net, info = trainNetwork(imdsTrain, layers, options)
    print(f"Trained from {len(imdsTrain.Files)} PNG files for {len(info.TrainingLoss)} iterations; "
          f"final validation accuracy {info.FinalValidationAccuracy:.2f}%")

    YPred, scores = classify(net, imdsValidation)
    YValidation = imdsValidation.Labels
    accuracy = np.sum(YPred == YValidation) / len(YValidation)
    print(f"accuracy = {accuracy:.4f}")
