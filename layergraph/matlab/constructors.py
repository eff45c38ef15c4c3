"""MATLAB-named layer constructors: ``convolution2dLayer(3, 16, 'Padding', 1)`` and
``convolution2dLayer(3, 16, Padding=1)`` build the same layer."""
from __future__ import annotations

from .. import layers as L
from ..core.errors import LayerGraphError
from ..layers._common import padding_args
from .args import parse
from .limits import matlab_limits


def _settable(cls, exclude=(), extra=()):
    return [n for n in cls.model_fields if n not in exclude and not n.islower()] + list(extra)


def _make(function, cls, positional=(), required=0, exclude=(), extra=(), translate=None, doc="", renamed=None):
    """``renamed`` maps an internal field that ``translate`` fills to the MATLAB
    argument it came from, so that an error names the argument the user typed."""
    names = _settable(cls, exclude, extra)

    def constructor(*args, **kwargs):
        props = parse(function, args, kwargs, positional, required, names)
        if translate:
            props = translate(props)
        try:
            return matlab_limits(cls(**props))
        except LayerGraphError as exc:
            if not renamed:
                raise
            text = str(exc)
            for internal, public in renamed.items():
                text = text.replace(f"'{internal}'", f"'{public}'").replace(f"Expected {internal} ",
                                                                              f"Expected {public} ")
            raise LayerGraphError(text, exc.identifier) from None

    constructor.__name__ = constructor.__qualname__ = function
    constructor.__doc__ = doc or f"MATLAB's {function}: returns a {cls.class_name}."
    constructor.layer_class = cls
    constructor.parameter_names = tuple(names)
    return constructor


def _padding(props):
    if "Padding" in props:
        props["PaddingMode"], props["PaddingSize"] = padding_args(props.pop("Padding"))
    return props


def _cropping(props):
    if "Cropping" in props:
        props["CroppingMode"], props["CroppingSize"] = padding_args(props.pop("Cropping"), "Cropping")
    return props


_NUM_INPUTS = {"num_inputs": "NumInputs"}


def _num_inputs(props):
    if "NumInputs" in props:
        props["num_inputs"] = props.pop("NumInputs")
    return props


imageInputLayer = _make("imageInputLayer", L.ImageInputLayer, ("InputSize",), 1,
                        doc="imageInputLayer(inputSize): 2-D image input, inputSize [h w c] or [h w].")
featureInputLayer = _make("featureInputLayer", L.FeatureInputLayer, ("InputSize",), 1,
                          doc="featureInputLayer(numFeatures): feature vector input.")
convolution2dLayer = _make(
    "convolution2dLayer", L.Convolution2DLayer, ("FilterSize", "NumFilters"), 2,
    exclude=("PaddingMode", "PaddingSize"), extra=("Padding",), translate=_padding,
    doc="convolution2dLayer(filterSize, numFilters, ...): 2-D convolution.")
groupedConvolution2dLayer = _make(
    "groupedConvolution2dLayer", L.GroupedConvolution2DLayer,
    ("FilterSize", "NumFiltersPerGroup", "NumGroups"), 3,
    exclude=("PaddingMode", "PaddingSize"), extra=("Padding",), translate=_padding,
    doc="groupedConvolution2dLayer(filterSize, numFiltersPerGroup, numGroups): numGroups may be 'channel-wise'.")
transposedConv2dLayer = _make(
    "transposedConv2dLayer", L.TransposedConvolution2DLayer, ("FilterSize", "NumFilters"), 2,
    exclude=("CroppingMode", "CroppingSize"), extra=("Cropping",), translate=_cropping,
    doc="transposedConv2dLayer(filterSize, numFilters, ...): transposed 2-D convolution.")
batchNormalizationLayer = _make("batchNormalizationLayer", L.BatchNormalizationLayer,
                                doc="batchNormalizationLayer(...): batch normalization.")
layerNormalizationLayer = _make("layerNormalizationLayer", L.LayerNormalizationLayer,
                                doc="layerNormalizationLayer(...): layer normalization.")
groupNormalizationLayer = _make(
    "groupNormalizationLayer", L.GroupNormalizationLayer, ("NumGroups",), 1,
    doc="groupNormalizationLayer(numGroups, ...): group normalization; numGroups a positive integer, "
        "'all-channels' or 'channel-wise'.")
instanceNormalizationLayer = _make("instanceNormalizationLayer", L.InstanceNormalizationLayer,
                                   doc="instanceNormalizationLayer(...): instance normalization.")
reluLayer = _make("reluLayer", L.ReLULayer)
leakyReluLayer = _make("leakyReluLayer", L.LeakyReLULayer, ("Scale",), 0,
                       doc="leakyReluLayer(scale=0.01): leaky ReLU.")
clippedReluLayer = _make("clippedReluLayer", L.ClippedReLULayer, ("Ceiling",), 1,
                         doc="clippedReluLayer(ceiling): ReLU clipped at ceiling.")
eluLayer = _make("eluLayer", L.ELULayer, ("Alpha",), 0, doc="eluLayer(alpha=1): ELU.")
tanhLayer = _make("tanhLayer", L.TanhLayer)
sigmoidLayer = _make("sigmoidLayer", L.SigmoidLayer)
swishLayer = _make("swishLayer", L.SwishLayer)
geluLayer = _make("geluLayer", L.GELULayer)
softmaxLayer = _make("softmaxLayer", L.SoftmaxLayer)
maxPooling2dLayer = _make(
    "maxPooling2dLayer", L.MaxPooling2DLayer, ("PoolSize",), 1,
    exclude=("PaddingMode", "PaddingSize"), extra=("Padding",), translate=_padding,
    doc="maxPooling2dLayer(poolSize, ...): max pooling; Stride defaults to [1 1].")
averagePooling2dLayer = _make(
    "averagePooling2dLayer", L.AveragePooling2DLayer, ("PoolSize",), 1,
    exclude=("PaddingMode", "PaddingSize"), extra=("Padding",), translate=_padding,
    doc="averagePooling2dLayer(poolSize, ...): average pooling; Stride defaults to [1 1].")
globalAveragePooling2dLayer = _make("globalAveragePooling2dLayer", L.GlobalAveragePooling2DLayer)
globalMaxPooling2dLayer = _make("globalMaxPooling2dLayer", L.GlobalMaxPooling2DLayer)
fullyConnectedLayer = _make("fullyConnectedLayer", L.FullyConnectedLayer, ("OutputSize",), 1,
                            doc="fullyConnectedLayer(outputSize, ...): fully connected layer.")
dropoutLayer = _make("dropoutLayer", L.DropoutLayer, ("Probability",), 0,
                     doc="dropoutLayer(probability=0.5): inverted dropout.")
flattenLayer = _make("flattenLayer", L.FlattenLayer)
additionLayer = _make("additionLayer", L.AdditionLayer, ("NumInputs",), 1, extra=("NumInputs",),
                      translate=_num_inputs, renamed=_NUM_INPUTS,
                      doc="additionLayer(numInputs): element-wise addition.")
concatenationLayer = _make("concatenationLayer", L.ConcatenationLayer, ("Dim", "NumInputs"), 2,
                           extra=("NumInputs",), translate=_num_inputs, renamed=_NUM_INPUTS,
                           doc="concatenationLayer(dim, numInputs): concatenation along dimension dim.")
depthConcatenationLayer = _make("depthConcatenationLayer", L.DepthConcatenationLayer, ("NumInputs",), 1,
                                extra=("NumInputs",), translate=_num_inputs, renamed=_NUM_INPUTS,
                                doc="depthConcatenationLayer(numInputs): concatenation along channels.")
classificationLayer = _make("classificationLayer", L.ClassificationOutputLayer, exclude=("OutputSize",),
                            doc="classificationLayer(...): cross-entropy output for classification.")
regressionLayer = _make("regressionLayer", L.RegressionOutputLayer,
                        doc="regressionLayer(...): half-mean-squared-error output for regression.")

CONSTRUCTORS = {f.__name__: f for f in (
    imageInputLayer, featureInputLayer, convolution2dLayer, groupedConvolution2dLayer, transposedConv2dLayer,
    batchNormalizationLayer, layerNormalizationLayer, groupNormalizationLayer, instanceNormalizationLayer,
    reluLayer, leakyReluLayer, clippedReluLayer, eluLayer, tanhLayer, sigmoidLayer, swishLayer, geluLayer,
    maxPooling2dLayer, averagePooling2dLayer,
    globalAveragePooling2dLayer, globalMaxPooling2dLayer, fullyConnectedLayer, dropoutLayer, softmaxLayer,
    classificationLayer, regressionLayer, additionLayer, concatenationLayer, depthConcatenationLayer,
    flattenLayer)}

__all__ = list(CONSTRUCTORS) + ["LayerGraphError"]
