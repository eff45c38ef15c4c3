"""The trainer both dialects share: solvers, losses and the training loop.
MATLAB's trainingOptions / trainNetwork and Wolfram's NetTrain translate their
options into a TrainConfig and call ``train``."""
from .losses import (BinaryCrossEntropy, CrossEntropy, HalfMeanSquared, Huber, Loss, MeanAbsolute, MeanSquared,
                     ScaledLoss)
from .solvers import SGDM, Adam, RMSProp, RMSPropCentered, Signum, WeightClipped, threshold
from .trainer import TrainConfig, TrainResult, TrainState, train

__all__ = ["Adam", "BinaryCrossEntropy", "CrossEntropy", "HalfMeanSquared", "Huber", "Loss", "MeanAbsolute",
           "MeanSquared", "RMSProp", "RMSPropCentered", "SGDM", "ScaledLoss", "Signum", "TrainConfig", "TrainResult",
           "TrainState", "WeightClipped", "threshold", "train"]
