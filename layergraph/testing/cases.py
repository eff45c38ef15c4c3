"""What the conformance harness needs to know about each registry row beyond the row
itself: the inputs it runs on, the layers it needs before it, hyperparameter variants,
non-differentiable points, how its learnables read in Wolfram's layout, the bad values
it must refuse, and MATLAB's documented defaults. ``CASES[entry.layer]`` is the case of a
registry row; tests/conformance fails on a row without one.

MATLAB values come from /work/shared/reference/matlab_api.md (sections 0, 1, 7) and the
batchNormalizationLayer seed page; where that reference marks a value as remembered
rather than seen, the comment says UNCONFIRMED or [mem].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import layers as L
from ..core import conventions as cv
from ..core.layer import AUTO
from ..core.size import Size
from .harness import FEATURE, IMAGE, IMAGE_SEQUENCE, INTEGER, SEQUENCE

IMAGE4 = ("image", (6, 5, 4))   # four channels: two groups of two


@dataclass(frozen=True)
class Case:
    # MATLAB input specs the layer runs on (input layers run on their own size instead)
    inputs: tuple = (IMAGE,)
    # constructor arguments of each variant run through the forward and gradient checks;
    # None: the row's example. Core rows without a MATLAB constructor: keyword dicts
    variants: tuple = (None,)
    core: dict = field(default_factory=dict)   # required properties of a row with no MATLAB constructor
    before: tuple = ()                          # (constructor name, args) between the input and the layer
    after: tuple = ()                           # (constructor name, args) after the layer (a folding's unfolding)
    kinks: tuple = ()                           # inputs where the layer is not differentiable
    # the twin: MATLAB arguments (or core properties) matching the registry's wolfram_example
    # (None: the example), and each learnable or state as a Wolfram array:
    # {MATLAB name: (Wolfram array, function(value, layer, input spec))}
    twin: object = None
    twin_arrays: dict = field(default_factory=dict)
    # states the Wolfram layer holds at zero (a recurrent layer's initial state): zero in the twin
    wolfram_zero_states: tuple = ()
    # bad values: (constructor arguments or core properties, fragments the error has; the
    # first names the property)
    bad: tuple = ()
    wolfram_bad: tuple = ()                     # (arguments of the Wolfram layer, fragment)
    # MATLAB's tables: required positional arguments in order, every property of the
    # example layer with MATLAB's value ([] is None, 'auto' AUTO, vectors tuples), and
    # (Type, DefaultName): the pre-R2022 Types that the seed page prints
    required: tuple = ()
    defaults: dict | None = None
    type_name: tuple | None = None


def _flat(v, layer, spec):
    return np.asarray(v).reshape(-1, order="F")


def _as_is(v, layer, spec):
    return np.asarray(v)


def _gates(kind, head):
    """A stacked recurrent learnable (kH x ...) as the Wolfram layer ``head``'s per-gate arrays
    "<gate><kind>" (the gate order is the Wolfram layer's: wolfram/recurrent.py)."""
    def cut(v, layer, spec):
        from ..wolfram import recurrent as R   # the dialect's own table of its gates
        gates = {"LongShortTermMemoryLayer": R.GATES, "GatedRecurrentLayer": R.GRU_GATES}[head]
        h = layer.NumHiddenUnits
        v = np.asarray(v).reshape(len(gates) * h, -1)
        return {f"{g}{kind}": (v[i * h:(i + 1) * h] if v.shape[1] > 1 else v[i * h:(i + 1) * h, 0])
                for i, g in enumerate(gates)}
    return cut


def _recurrent_twin(head):
    return {"InputWeights": (None, _gates("InputWeights", head)),
            "RecurrentWeights": (None, _gates("StateWeights", head)), "Bias": (None, _gates("Biases", head))}


_CONV_LEARNING = {
    "Weights": None, "Bias": None, "WeightsInitializer": "glorot", "BiasInitializer": "zeros",
    "WeightLearnRateFactor": 1, "BiasLearnRateFactor": 1, "WeightL2Factor": 1, "BiasL2Factor": 0,
}
_NORM_LEARNING = {
    "Scale": None, "Offset": None, "ScaleInitializer": "ones", "OffsetInitializer": "zeros",
    "ScaleLearnRateFactor": 1, "OffsetLearnRateFactor": 1, "ScaleL2Factor": 1, "OffsetL2Factor": 1,
}
_INPUT_STATS = {"Mean": None, "StandardDeviation": None, "Min": None, "Max": None,
                "NormalizationDimension": "auto", "SplitComplexInputs": False}
_LSTM_DEFAULTS = {
    "OutputMode": "sequence", "StateActivationFunction": "tanh", "GateActivationFunction": "sigmoid",
    "HasStateInputs": False, "HasStateOutputs": False, "InputWeights": None, "RecurrentWeights": None, "Bias": None,
    "HiddenState": None, "CellState": None, "InputWeightsInitializer": "glorot",
    "RecurrentWeightsInitializer": "orthogonal", "BiasInitializer": "unit-forget-gate",
    "InputWeightsLearnRateFactor": 1, "RecurrentWeightsLearnRateFactor": 1, "BiasLearnRateFactor": 1,
    "InputWeightsL2Factor": 1, "RecurrentWeightsL2Factor": 1, "BiasL2Factor": 0,
}
_GRU_DEFAULTS = {**{k: v for k, v in _LSTM_DEFAULTS.items() if k != "CellState"}, "BiasInitializer": "zeros",
                 "ResetGateMode": "after-multiplication"}
_MANUAL_PADDING = {"Stride": (1, 1), "PaddingMode": "manual", "PaddingSize": (0, 0, 0, 0)}
_NORM_TWIN = {"Scale": ("Scaling", _flat), "Offset": ("Biases", _flat)}
_BIASED = {"Weights": ("Weights", lambda w, layer, spec: cv.conv_weights_to_internal(w)), "Bias": ("Biases", _flat)}
_ACT = (IMAGE, FEATURE)   # the activation kernels on N x C x H x W and on N x C
_NAME = (("Name", 3), ["'Name'", "3", "character vector or string scalar"])


CASES: dict[type, Case] = {
    L.ImageInputLayer: Case(
        variants=(([5, 4, 3], "Normalization", "none"),),
        bad=((([28, 28, 3], "Normalization", "center"),
             ["'Normalization'", "'center'", "'zerocenter'", "'zscore'", "'rescale-symmetric'", "'rescale-zero-one'",
              "'none'", "function handle"]),
             # a prefix of two allowed values is ambiguous
             (([28, 28, 3], "Normalization", "rescale"), ["'Normalization'", "'rescale'"]),
             (([28, 28, 3, 2],), ["'InputSize'", "[h w] or [h w c]"]),
             (([28, 28, 3], "Mean", np.zeros((28, 28, 2))), ["'Mean'", "28x28x2", "28x28x3 or 1x1x3"])),
        required=("InputSize",),
        defaults={"Name": "", "InputSize": (28, 28, 3), "Normalization": "zerocenter", "DataAugmentation": "none",
                  **_INPUT_STATS},
        type_name=("Image Input", "imageinput")),
    L.FeatureInputLayer: Case(
        bad=(((0,), ["'InputSize'", "0", ">= 1"]), ((2.5,), ["'InputSize'", "2.5", "integer"])),
        required=("InputSize",),
        # Normalization 'none' [out]; the other defaults [mem]
        defaults={"Name": "", "InputSize": 10, "Normalization": "none", **_INPUT_STATS},
        type_name=("Feature Input", "featureinput")),                   # DefaultName UNCONFIRMED
    L.SequenceInputLayer: Case(
        bad=(((0,), ["'InputSize'", "0", "positive integer"]),
             ((12, "MinLength", 0), ["'MinLength'", "0", ">= 1"]),
             ((12, "Normalization", "center"), ["'Normalization'", "'center'", "'zscore'"])),
        required=("InputSize",),
        defaults={"Name": "", "InputSize": 12, "MinLength": 1, "Normalization": "none", **_INPUT_STATS},
        type_name=("Sequence Input", "sequenceinput")),                  # DefaultName UNCONFIRMED
    L.LSTMLayer: Case(
        inputs=(SEQUENCE,),
        variants=((5,), (4, "OutputMode", "last", "GateActivationFunction", "hard-sigmoid",
                         "StateActivationFunction", "softsign")),
        bad=(((0,), ["'NumHiddenUnits'", "0", ">= 1"]),
             ((10, "OutputMode", "first"), ["'OutputMode'", "'first'", "'sequence'", "'last'"]),
             ((10, "GateActivationFunction", "relu"), ["'GateActivationFunction'", "'sigmoid'", "'hard-sigmoid'"]),
             ((10, "StateActivationFunction", "relu"), ["'StateActivationFunction'", "'tanh'", "'softsign'"]),
             ((10, "BiasLearnRateFactor", [1, 2, 3]), ["'BiasLearnRateFactor'", "1-by-4"]),
             ((10, "InputWeights", np.zeros((8, 3))), ["'InputWeights'", "8x3", "40x3"]),
             ((10, "RecurrentWeights", np.zeros((40, 3))), ["'RecurrentWeights'", "40x3", "40x10"])),
        twin=(4,), twin_arrays=_recurrent_twin("LongShortTermMemoryLayer"),
        wolfram_zero_states=("HiddenState", "CellState"),
        wolfram_bad=(("0", "output size"), ('4, Dropout={"Bogus": 0.1}', "allowed methods")),
        required=("NumHiddenUnits",),
        defaults={"Name": "", "NumHiddenUnits": 100, "InputSize": AUTO, **_LSTM_DEFAULTS},
        type_name=("LSTM", "lstm")),
    L.BiLSTMLayer: Case(
        inputs=(SEQUENCE,),
        variants=((3,), (2, "OutputMode", "last", "GateActivationFunction", "hard-sigmoid")),
        bad=(((0,), ["'NumHiddenUnits'", "0", ">= 1"]),
             ((10, "BiasL2Factor", [1, 2, 3, 4]), ["'BiasL2Factor'", "1-by-8"])),
        required=("NumHiddenUnits",),
        defaults={"Name": "", "NumHiddenUnits": 100, "InputSize": AUTO, **_LSTM_DEFAULTS},
        type_name=("BiLSTM", "bilstm")),                                 # DefaultName UNCONFIRMED
    L.GRULayer: Case(
        inputs=(SEQUENCE,),
        variants=((5,), (4, "OutputMode", "last", "GateActivationFunction", "hard-sigmoid",
                         "StateActivationFunction", "softsign"),
                  (3, "ResetGateMode", "before-multiplication"),
                  (3, "ResetGateMode", "recurrent-bias-after-multiplication", "OutputMode", "last")),
        bad=(((0,), ["'NumHiddenUnits'", "0", ">= 1"]),
             ((10, "ResetGateMode", "middle"), ["'ResetGateMode'", "'middle'", "'after-multiplication'",
                                               "'before-multiplication'", "'recurrent-bias-after-multiplication'"]),
             ((10, "GateActivationFunction", "relu"), ["'GateActivationFunction'", "'sigmoid'", "'hard-sigmoid'"]),
             ((10, "BiasInitializer", "unit-forget-gate"), ["'BiasInitializer'", "'unit-forget-gate'", "'zeros'"]),
             ((10, "BiasLearnRateFactor", [1, 2, 3, 4]), ["'BiasLearnRateFactor'", "1-by-3"]),
             ((10, "Bias", np.zeros((30, 1)), "ResetGateMode", "recurrent-bias-after-multiplication"),
              ["'Bias'", "30x1", "60x1"]),
             ((10, "RecurrentWeights", np.zeros((40, 10))), ["'RecurrentWeights'", "40x10", "30x10"])),
        twin=(4,), twin_arrays=_recurrent_twin("GatedRecurrentLayer"), wolfram_zero_states=("HiddenState",),
        wolfram_bad=(("0", "output size"), ("4, Dropout=-1", "Dropout probabilities")),
        required=("NumHiddenUnits",),
        defaults={"Name": "", "NumHiddenUnits": 100, "InputSize": AUTO, **_GRU_DEFAULTS},
        type_name=("GRU", "gru")),                                       # Type, DefaultName UNCONFIRMED
    L.Convolution2DLayer: Case(
        inputs=(IMAGE, IMAGE_SEQUENCE),   # image sequences: each time step alone (core/ops_folding.py)
        twin_arrays=_BIASED,
        bad=(((3.5, 16), ["'FilterSize'", "3.5", "positive integers"]),
             ((3, 0), ["'NumFilters'", "0", ">= 1"]),
             (([3, 3, 3], 16), ["'FilterSize'", "[3, 3, 3]", "vector of 2"]),
             ((3, 16, "Stride", [1, 2, 3]), ["'Stride'", "vector of 2 positive integers"]),
             ((3, 16, "DilationFactor", 0), ["'DilationFactor'", "0"]),
             ((3, 16, "NumChannels", "three"), ["'NumChannels'", "'three'", "'auto'"]),
             ((3, 16, "PaddingValue", "zzz"),
              ["'PaddingValue'", "'zzz'", "'symmetric-include-edge'", "'symmetric-exclude-edge'", "'replicate'",
               "numeric scalar"]),
             ((3, 16, "WeightLearnRateFactor", -1), ["'WeightLearnRateFactor'", "-1", ">= 0"])),
        wolfram_bad=(("0, 5", "number of output channels"), ("20, 5, Stride=0", "Stride")),
        required=("FilterSize", "NumFilters"),
        defaults={"Name": "", "FilterSize": (5, 5), "NumFilters": 20, "NumChannels": AUTO, "DilationFactor": (1, 1),
                  "PaddingValue": 0, **_MANUAL_PADDING, **_CONV_LEARNING},
        type_name=("Convolution", "conv")),
    L.GroupedConvolution2DLayer: Case(
        inputs=(IMAGE4,),
        twin_arrays={"Weights": ("Weights", lambda w, layer, spec: cv.grouped_weights_to_internal(w, layer.NumGroups)),
                     "Bias": ("Biases", _flat)},
        bad=(((3, 8, "chan"), ["'NumGroups'", "'chan'", "'channel-wise'"]),),
        wolfram_bad=(("16, 3, ChannelGroups=3", "ChannelGroups"),),
        required=("FilterSize", "NumFiltersPerGroup", "NumGroups"),
        defaults={"Name": "", "FilterSize": (3, 3), "NumFiltersPerGroup": 8, "NumGroups": 2,
                  "NumChannelsPerGroup": AUTO, "DilationFactor": (1, 1), "PaddingValue": 0, **_MANUAL_PADDING,
                  **_CONV_LEARNING},
        type_name=("Grouped Convolution", "groupedconv")),              # DefaultName UNCONFIRMED
    L.TransposedConvolution2DLayer: Case(
        twin_arrays={"Weights": ("Weights", lambda w, layer, spec: cv.transposed_weights_to_internal(w)),
                     "Bias": ("Biases", _flat)},
        bad=(((3, 16, "Cropping", [1, 2, 3]), ["'Cropping'"]), ((3, 16, "Stride", 0), ["'Stride'", "0"])),
        wolfram_bad=(("16, 3, PaddingSize=\"Same\"", "PaddingSize"),),
        required=("FilterSize", "NumFilters"),
        defaults={"Name": "", "FilterSize": (3, 3), "NumFilters": 16, "NumChannels": AUTO, "Stride": (1, 1),
                  "CroppingMode": "manual", "CroppingSize": (0, 0, 0, 0), **_CONV_LEARNING},
        type_name=("Transposed Convolution", "transposed-conv")),
    L.BatchNormalizationLayer: Case(
        inputs=(IMAGE, FEATURE, IMAGE_SEQUENCE),
        twin=("Epsilon", 1e-3),        # Wolfram's default epsilon
        twin_arrays={**_NORM_TWIN, "TrainedMean": ("MovingMean", _flat), "TrainedVariance": ("MovingVariance", _flat)},
        bad=((("Epsilon", 1e-7), ["'Epsilon'", "BatchNormalizationLayer", "1e-07", ">= 1e-05"]),
             (("MeanDecay", 2), ["'MeanDecay'", "2", ">= 0", "<= 1"]),
             (("VarianceDecay", -0.1), ["'VarianceDecay'", "-0.1", ">= 0"]),
             (("ScaleL2Factor", -1), ["'ScaleL2Factor'", "-1", ">= 0"])),
        wolfram_bad=(("Momentum=2", "Momentum"), ("Epsilon=-1", "Epsilon")),
        # the decays and the BN factors are [mem] in the reference; the seed page confirms 0.1000 decays
        defaults={"Name": "", "NumChannels": AUTO, "Epsilon": 1e-5, "MeanDecay": 0.1, "VarianceDecay": 0.1,
                  "TrainedMean": None, "TrainedVariance": None, **_NORM_LEARNING},
        type_name=("Batch Normalization", "batchnorm")),
    L.LayerNormalizationLayer: Case(
        inputs=(IMAGE, FEATURE),
        twin=("Epsilon", 1e-3),
        twin_arrays=_NORM_TWIN,
        bad=((("OperationDimension", "bogus"),
              ["'OperationDimension'", "'bogus'", "'channel-only'", "'spatial-channel'", "'batch-excluded'"]),
             (("Epsilon", 0), ["'Epsilon'", "0"])),
        wolfram_bad=(("Span(1, All), 1, Epsilon=0", "Epsilon"),),
        defaults={"Name": "", "NumChannels": AUTO, "Epsilon": 1e-5, "OperationDimension": "auto", **_NORM_LEARNING},
        type_name=("Layer Normalization", "layernorm")),                # UNCONFIRMED
    L.GroupNormalizationLayer: Case(
        inputs=(IMAGE4,),
        twin=(2, "Epsilon", 1e-3),
        twin_arrays=_NORM_TWIN,
        bad=(((0,), ["'NumGroups'", "0"]), ((2, "Epsilon", -1), ["'Epsilon'", "-1"])),
        wolfram_bad=(("Span(1, All), 1, GroupNumber=0", "GroupNumber"),),
        required=("NumGroups",),
        # groupNormalizationLayer / instanceNormalizationLayer: matlab_api.md 1c [mem]
        defaults={"Name": "", "NumGroups": 2, "NumChannels": AUTO, "Epsilon": 1e-5, **_NORM_LEARNING},
        type_name=("Group Normalization", "groupnorm")),                # UNCONFIRMED
    L.ReLULayer: Case(
        inputs=_ACT, kinks=(0.0,),
        bad=((("Name", 3), ["'Name'", "ReLULayer", "3", "character vector or string scalar"]),),
        wolfram_bad=(("3", "function"),),
        defaults={"Name": ""}, type_name=("ReLU", "relu")),
    L.LeakyReLULayer: Case(
        inputs=_ACT, variants=(None, (0.1,)), kinks=(0.0,),
        bad=((("a",), ["'Scale'", "'a'", "numeric scalar"]),),
        defaults={"Name": "", "Scale": 0.01}, type_name=("Leaky ReLU", "leakyrelu")),
    L.ClippedReLULayer: Case(
        inputs=_ACT, variants=(None, (0.8,)), kinks=(0.0, 0.8, 10.0),
        bad=(((0,), ["'Ceiling'", "0", "> 0"]),),
        required=("Ceiling",),
        defaults={"Name": "", "Ceiling": 10}, type_name=("Clipped ReLU", "clippedrelu")),  # DefaultName UNCONFIRMED
    L.ELULayer: Case(
        inputs=_ACT, variants=(None, (0.7,)), kinks=(0.0,),
        bad=(((-1,), ["'Alpha'", "-1", "> 0"]),),
        wolfram_bad=(("\"ELLU\"", "ELLU"),),
        defaults={"Name": "", "Alpha": 1}, type_name=("ELU", "elu")),   # DefaultName UNCONFIRMED
    L.TanhLayer: Case(inputs=_ACT, bad=(_NAME,), wolfram_bad=(("\"tanh\"", "tanh"),),
                      defaults={"Name": ""}, type_name=("Tanh", "tanh")),  # DefaultName UNCONFIRMED
    L.SigmoidLayer: Case(inputs=_ACT, bad=(_NAME,), wolfram_bad=(("Plus", "Plus"),),
                         defaults={"Name": ""}, type_name=("Sigmoid", "sigmoid")),  # UNCONFIRMED
    L.SwishLayer: Case(inputs=_ACT, bad=(_NAME,), wolfram_bad=(("\"swish\"", "swish"),),
                       defaults={"Name": ""}, type_name=("Swish", "swish")),  # UNCONFIRMED
    L.GELULayer: Case(
        inputs=_ACT, variants=(None, ("Approximation", "tanh")),
        bad=((("Approximation", "erf"), ["'Approximation'", "'erf'", "'none'", "'tanh'"]),),
        wolfram_bad=(("\"gelu\"", "gelu"),),
        defaults={"Name": "", "Approximation": "none"}, type_name=("GELU", "gelu")),  # UNCONFIRMED
    L.SoftmaxLayer: Case(
        inputs=(FEATURE, IMAGE),     # Wolfram's SoftmaxLayer[] normalizes the last level: the twin runs on features
        bad=(_NAME,), wolfram_bad=(("0", "level"),),
        defaults={"Name": ""}, type_name=("Softmax", "softmax")),
    L.MaxPooling2DLayer: Case(
        inputs=(IMAGE, IMAGE_SEQUENCE),
        bad=(((2, "Stride", 0), ["'Stride'", "0"]),
             ((2, "Padding", 2), ["'PaddingSize'", "[2  2  2  2]", "smaller than the pool size 2x2"]),
             ((2, "HasUnpoolingOutputs", "yes"), ["'HasUnpoolingOutputs'", "'yes'", "logical"])),
        wolfram_bad=(("2, PaddingSize=2", "padding size"),),
        required=("PoolSize",),
        # Stride [1 1], not the pool size (MATLAB's default; [mem] in the reference)
        defaults={"Name": "", "PoolSize": (2, 2), "HasUnpoolingOutputs": False, "NumOutputs": 1,
                  "OutputNames": ["out"], **_MANUAL_PADDING},
        type_name=("Max Pooling", "maxpool")),
    L.AveragePooling2DLayer: Case(
        inputs=(IMAGE, IMAGE_SEQUENCE),
        bad=(((2, "PaddingValue", 3), ["'PaddingValue'", "3", "0 or 'mean'"]),),
        wolfram_bad=(("2, Function=Plus", "Function"),),
        required=("PoolSize",),
        defaults={"Name": "", "PoolSize": (2, 2), "PaddingValue": 0, **_MANUAL_PADDING},
        type_name=("Average Pooling", "avgpool")),                      # UNCONFIRMED
    L.GlobalAveragePooling2DLayer: Case(inputs=(IMAGE, IMAGE_SEQUENCE), bad=(_NAME,), defaults={"Name": ""},
                                        type_name=("Global Average Pooling", "gapool")),  # DefaultName UNCONFIRMED
    L.GlobalMaxPooling2DLayer: Case(bad=(_NAME,), defaults={"Name": ""},
                                    type_name=("Global Max Pooling", "gmpool")),        # UNCONFIRMED
    L.FullyConnectedLayer: Case(
        inputs=(IMAGE, FEATURE),
        twin_arrays={"Weights": ("Weights", lambda w, layer, spec: cv.fc_weights_to_internal(w, spec[1])),
                     "Bias": ("Biases", _flat)},
        bad=(((-10,), ["'OutputSize'", "-10", ">= 1"]),
             ((10, "InputSize", 0), ["'InputSize'", "0", "'auto' or a positive integer"])),
        wolfram_bad=(("0", "output size"),),
        required=("OutputSize",),
        defaults={"Name": "", "InputSize": AUTO, "OutputSize": 10, **_CONV_LEARNING},
        type_name=("Fully Connected", "fc")),
    L.DropoutLayer: Case(
        inputs=(IMAGE, FEATURE),
        bad=(((1,), ["'Probability'", "DropoutLayer", ": 1.", "< 1"]),
             (("half",), ["'Probability'", "'half'", "numeric scalar"])),
        wolfram_bad=(("1.5", "dropout probability"),),
        defaults={"Name": "", "Probability": 0.5}, type_name=("Dropout", "dropout")),
    L.FlattenLayer: Case(inputs=(IMAGE, IMAGE_SEQUENCE), bad=(_NAME,), defaults={"Name": ""},
                         type_name=("Flatten", "flatten")),  # UNCONFIRMED
    # sequenceFoldingLayer / sequenceUnfoldingLayer: run as the pair MATLAB requires (the folding's
    # 'miniBatchSize' output into the unfolding's 'miniBatchSize' input); Type and DefaultName UNCONFIRMED
    L.SequenceFoldingLayer: Case(inputs=(IMAGE_SEQUENCE,), after=(("sequenceUnfoldingLayer", ()),), bad=(_NAME,),
                                 defaults={"Name": "", "NumInputs": 1, "InputNames": ["in"], "NumOutputs": 2,
                                           "OutputNames": ["out", "miniBatchSize"]},
                                 type_name=("Sequence Folding", "seqfold")),
    L.SequenceUnfoldingLayer: Case(inputs=(IMAGE_SEQUENCE,), before=(("sequenceFoldingLayer", ()),), bad=(_NAME,),
                                   defaults={"Name": "", "NumInputs": 2, "InputNames": ["in", "miniBatchSize"],
                                             "NumOutputs": 1, "OutputNames": ["out"]},
                                   type_name=("Sequence Unfolding", "sequnfold")),
    L.AdditionLayer: Case(
        bad=(((1,), ["'NumInputs'", "AdditionLayer", ": 1.", ">= 2"]),),
        wolfram_bad=(("InputPorts=0", "InputPorts"),),
        required=("NumInputs",),
        defaults={"Name": "", "NumInputs": 2, "InputNames": ["in1", "in2"], "OutputNames": ["out"]},
        type_name=("Addition", "addition")),
    L.ConcatenationLayer: Case(
        twin=(1, 2),                  # Dim 1 (height) is Wolfram's level 2
        bad=(((0, 2), ["'Dim'", "0", "positive integer"]), ((3, "a"), ["'NumInputs'", "'a'"])),
        wolfram_bad=(("0", "level"),),
        required=("Dim", "NumInputs"),
        defaults={"Name": "", "Dim": 3, "NumInputs": 2, "InputNames": ["in1", "in2"]},
        type_name=("Concatenation", "concat")),                         # UNCONFIRMED
    # core layers without a MATLAB constructor, for the Wolfram dialect
    L.ElementwiseFunctionLayer: Case(
        inputs=_ACT, core={"Function": "Tanh"}, twin={"Function": "Sin"},
        bad=(({"Function": "Tan"}, ["Function", "'Tan'"]), ({"Function": 3}, ["Function", "3"]))),
    L.ThreadingFunctionLayer: Case(
        core={"Function": "Plus"}, twin={"Function": "Times"},
        bad=(({"Function": "Sin"}, ["Function", "'Sin'"]),),
        wolfram_bad=(("Sin", "function"),)),
    L.ArrayReshapeLayer: Case(
        core={"OutputSize": Size((5, 3), 6)}, twin={"OutputSize": Size((5, 3), 6)},
        bad=(({"OutputSize": 3}, ["OutputSize", "3"]),),
        wolfram_bad=(("(0, 3)", "dimensions"),)),
    L.RecurrentLayer: Case(
        inputs=(SEQUENCE,), core={"NumHiddenUnits": 4},
        twin_arrays={"InputWeights": ("InputWeights", _as_is), "RecurrentWeights": ("StateWeights", _as_is),
                     "Bias": ("Biases", _flat)},
        wolfram_zero_states=("HiddenState",),
        wolfram_bad=(("0", "output size"), ("4, Dropout=2", "Dropout probabilities")),
        variants=({"NumHiddenUnits": 4},
                  {"NumHiddenUnits": 3, "OutputMode": "last", "StateActivationFunction": "softsign"}),
        bad=(({"NumHiddenUnits": 0}, ["NumHiddenUnits", "0"]),
             ({"NumHiddenUnits": 3, "StateActivationFunction": "relu"}, ["StateActivationFunction", "'relu'",
                                                                         "'tanh'", "'softsign'"]),
             ({"NumHiddenUnits": 3, "BiasLearnRateFactor": [1, 2]}, ["BiasLearnRateFactor", "1-by-1"]),
             ({"NumHiddenUnits": 3, "RecurrentWeights": np.zeros((4, 3))}, ["RecurrentWeights", "4x3", "3x3"]))),
    L.ArrayTransposeLayer: Case(
        core={"Perm": (0, 2, 1)},
        bad=(({"Perm": (0, 0, 1)}, ["Perm"]),)),
    L.DepthConcatenationLayer: Case(
        bad=(((1.5,), ["'NumInputs'", "1.5", ">= 2"]),),
        wolfram_bad=(("0", "level"),),
        required=("NumInputs",),
        defaults={"Name": "", "NumInputs": 2, "InputNames": ["in1", "in2"]},
        type_name=("Depth concatenation", "depthcat")),
    L.InstanceNormalizationLayer: Case(
        twin=("Epsilon", 1e-3),
        twin_arrays=_NORM_TWIN,
        bad=((("Epsilon", "small"), ["'Epsilon'", "'small'"]),),
        wolfram_bad=(("Epsilon=0", "Epsilon"),),
        defaults={"Name": "", "NumChannels": AUTO, "Epsilon": 1e-5, **_NORM_LEARNING},
        type_name=("Instance Normalization", "instancenorm")),          # UNCONFIRMED
    L.SumPooling2DLayer: Case(
        core={"PoolSize": (2, 3), "Stride": (2, 1), "PaddingSize": (1, 0, 0, 2)},
        twin={"PoolSize": (2, 2), "Stride": (1, 1)},
        bad=(({"PoolSize": (2, 0)}, ["PoolSize", "0"]),),
        wolfram_bad=(("2, Function=Plus", "Function"),)),
    L.EmbeddingLayer: Case(
        inputs=(INTEGER,), core={"Dimension": 3, "NumWords": 10},
        twin_arrays={"Weights": ("Weights", lambda w, layer, spec: np.asarray(w).T)},   # MATLAB's view: size x n
        bad=(({"Dimension": 0, "NumWords": 10}, ["Dimension", "0"]),
             ({"Dimension": 3, "NumWords": 10, "Weights": np.zeros((3, 9))}, ["Weights", "3x9", "3x10"])),
        wolfram_bad=(("0, 10", "embedding size"), ("3, 1.5", "number of indices"))),
    # the ONNX importer's layers (issue 12)
    L.MultiplicationLayer: Case(
        inputs=(IMAGE, IMAGE), variants=(None, (3,)),
        bad=(((1,), ["'NumInputs'", "MultiplicationLayer", ": 1.", ">= 2"]),),
        required=("NumInputs",),
        defaults={"Name": "", "NumInputs": 2, "InputNames": ["in1", "in2"], "OutputNames": ["out"]},
        type_name=("Multiplication", "multiplication")),
    L.ScalingLayer: Case(
        inputs=_ACT, variants=(None, ("Scale", -2.5, "Bias", 0.5)),
        bad=((("Scale", "a"), ["'Scale'", "'a'"]), (("Bias", np.inf), ["'Bias'", "finite"])),
        defaults={"Name": "", "Scale": np.array(1.0), "Bias": np.array(0.0)},
        type_name=("Scaling", "scaling")),
    L.Resize2DLayer: Case(
        variants=(("Scale", 2), ("OutputSize", [3, 7], "Method", "bilinear"),
                  ("Scale", [1.5, 0.5], "Method", "bilinear", "GeometricTransformMode", "align-corners"),
                  ("OutputSize", [9, 4], "NearestRoundingMode", "floor", "GeometricTransformMode", "asymmetric")),
        bad=((("Scale", 0), ["'Scale'", "0"]), (("Method", "cubic"), ["'Method'", "'cubic'"])),
        defaults={"Name": "", "Scale": None, "OutputSize": None, "Method": "nearest",
                  "GeometricTransformMode": "half-pixel", "NearestRoundingMode": "round"},
        type_name=("Resize", "resize")),
    L.HardSigmoidLayer: Case(inputs=_ACT, core={}, variants=({}, {"Alpha": 0.5, "Beta": 0.6}),
                             kinks=(-2.5, 2.5, -1.2, 0.8), bad=(({"Alpha": 0}, ["Alpha", "0"]),)),
    L.HardSwishLayer: Case(inputs=_ACT, core={}, variants=({},), kinks=(-3.0, 3.0),
                           bad=(({"Alpha": 1}, ["'Alpha'", "not a recognized parameter"]),)),
    L.ClassificationOutputLayer: Case(
        inputs=(("feature", 4),), before=(("softmaxLayer", ("Name", "sm")),),
        variants=(("Classes", ["a", "b", "c", "d"], "ClassWeights", [1, 2, 3, 4]),),
        bad=((("Classes", ["a", "a"]), ["'Classes'", "unique class names"]),
             (("ClassWeights", [-1, 1]), ["'ClassWeights'", "nonnegative"])),
        defaults={"Name": "", "Classes": "auto", "ClassWeights": "none", "OutputSize": AUTO,
                  "LossFunction": "crossentropyex"},
        type_name=("Classification Output", "classoutput")),
    L.RegressionOutputLayer: Case(
        inputs=(("feature", 1),),
        variants=(("ResponseNames", ["r"]),),
        bad=((("ResponseNames", 3), ["'ResponseNames'", "3", "list of strings"]),),
        defaults={"Name": "", "ResponseNames": [], "LossFunction": "mean-squared-error"},
        type_name=("Regression Output", "regressionoutput")),
}
