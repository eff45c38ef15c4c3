"""One table: core layer class <-> MATLAB constructor <-> Wolfram name <-> ONNX op <-> kernels.

Each row (``Entry``) is one layer family. The code reads it rather than keeping lists of its
own: the MATLAB constructors and ``CONSTRUCTORS`` (matlab/constructors.py), the names that
Wolfram's ElementwiseLayer takes (wolfram/layers.py, wolfram/symbols.py), the core's adapter
for activations (core/ops.py) and the kernel tables of both devices (kernels/cpu,
kernels/cuda; an activation's kernels are compiled from the row's scalar math). Tests
parametrize over it, so a new layer is one spec, its kernels and one row here; an activation
is one spec, two scalar functions (kernels/activation_math.py) and one row
(docs/adding_a_layer.md).

``register(entry)`` adds a row at run time and ``unregister(entry)`` takes it out again; the
rows below go through ``register`` too, so a row added later reaches every table the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import layers as L
from ..kernels import activation_math as M


@dataclass(frozen=True)
class Entry:
    layer: type            # core spec class
    matlab: str | None     # MATLAB constructor name
    wolfram: str | None    # Wolfram layer whose build gives this core layer (layergraph/wolfram/layers.py)
    onnx: str | None       # ONNX operator
    example: tuple = ()    # required MATLAB arguments of a typical call (docs, tests, golden printouts)
    # -- the MATLAB constructor (matlab/constructors.py)
    positional: tuple[str, ...] = ()  # MATLAB's positional arguments in order; the first len(example) are required
    hook: str | None = None           # arguments that are not properties (matlab/constructors.py HOOKS): 'padding', ...
    hidden: tuple[str, ...] = ()      # properties the constructor does not take
    doc: str = ""                     # the title of MATLAB's documentation page
    # -- Wolfram's ElementwiseLayer[f] (wolfram/layers.py): a symbol (Ramp) and names ("ReLU") it takes for this layer
    wolfram_symbol: str | None = None
    wolfram_names: tuple[str, ...] = ()
    # -- kernels: ``kernel`` is the prefix of the family's functions in each device package
    # (<kernel>_forward[_train|_infer], <kernel>_backward); the family is ``layer.family``.
    # ``elementwise`` is (forward, gradient) scalar math from which both devices compile them.
    kernel: str | None = None
    elementwise: tuple[Callable, Callable] | None = None
    # -- the arguments of a typical call of the Wolfram layer, as Python source in the names of
    # layergraph.wolfram (symbols such as Mean, Span, All): "20, 5" is ConvolutionLayer(20, 5).
    # Text, because core/ imports no dialect; the conformance tests evaluate it.
    wolfram_example: str | None = None
    # -- inference: the output has the input's size (sizes from outputs pass through it, core/infer.py)
    shape_keeping: bool = False

    @property
    def keeps_shape(self) -> bool:
        return self.shape_keeping or self.elementwise is not None

    @property
    def required(self) -> int:
        """How many of ``positional`` MATLAB requires."""
        return len(self.example)

    @property
    def family(self) -> str:
        return self.layer.family

    @property
    def wolfram_function(self) -> str | None:
        """The name ElementwiseLayer prints for this layer: its symbol (Ramp), else its first name."""
        return self.wolfram_symbol or (self.wolfram_names[0] if self.wolfram_names else None)


REGISTRY: list[Entry] = []
BY_CLASS: dict[type, Entry] = {}
BY_MATLAB: dict[str, Entry] = {}
BY_WOLFRAM: dict[str, list[Entry]] = {}
WOLFRAM_FUNCTIONS: dict[str, Entry] = {}   # ElementwiseLayer's symbol names and names -> row
ELEMENTWISE: dict[str, Entry] = {}          # kernel family -> row with scalar math
_listeners: list[Callable[[Entry, bool], None]] = []


def subscribe(listener: Callable[[Entry, bool], None]) -> None:
    """Call ``listener(entry, added)`` for every row registered or unregistered from now on
    (tables built from REGISTRY at import use it to stay current)."""
    _listeners.append(listener)


def _check(e: Entry) -> None:
    # A broken row is the library's bug (or a plugin author's), found at registration.
    problems = []
    if e.layer in BY_CLASS:
        problems.append(f"{e.layer.__name__} is registered already")
    if e.matlab and e.matlab in BY_MATLAB:
        problems.append(f"the MATLAB name {e.matlab} is taken")
    for name in (e.wolfram_symbol, *e.wolfram_names):
        if name and name in WOLFRAM_FUNCTIONS:
            problems.append(f"the Wolfram function name {name} is taken")
    if e.elementwise is not None:
        if e.family in ELEMENTWISE or any(x.kernel and x.family == e.family for x in REGISTRY):
            problems.append(f"the kernel family {e.family!r} has kernels already")
        if e.kernel not in (None, e.family):
            problems.append("an elementwise row's kernels are named after its family")
    if len(e.example) > len(e.positional) and e.matlab:
        problems.append("example has more values than positional names")
    if problems:
        raise ValueError(f"registry row for {e.layer.__name__}: {'; '.join(problems)}.")


def register(entry: Entry) -> Entry:
    _check(entry)
    REGISTRY.append(entry)
    BY_CLASS[entry.layer] = entry
    if entry.matlab:
        BY_MATLAB[entry.matlab] = entry
    if entry.wolfram:
        BY_WOLFRAM.setdefault(entry.wolfram, []).append(entry)
    for name in (entry.wolfram_symbol, *entry.wolfram_names):
        if name:
            WOLFRAM_FUNCTIONS[name] = entry
    if entry.elementwise is not None:
        ELEMENTWISE[entry.family] = entry
    for listener in _listeners:
        listener(entry, True)
    return entry


def unregister(entry: Entry) -> None:
    REGISTRY.remove(entry)
    del BY_CLASS[entry.layer]
    if entry.matlab:
        del BY_MATLAB[entry.matlab]
    if entry.wolfram:
        BY_WOLFRAM[entry.wolfram].remove(entry)
        if not BY_WOLFRAM[entry.wolfram]:
            del BY_WOLFRAM[entry.wolfram]
    for name in (entry.wolfram_symbol, *entry.wolfram_names):
        WOLFRAM_FUNCTIONS.pop(name, None)
    if entry.elementwise is not None:
        del ELEMENTWISE[entry.family]
    for listener in _listeners:
        listener(entry, False)


def kernel_prefixes() -> dict[str, str]:
    """{kernel family: function prefix} of every row with kernels (elementwise rows included)."""
    out: dict[str, str] = {}
    for e in REGISTRY:
        prefix = e.family if e.elementwise is not None else e.kernel
        if prefix and out.setdefault(e.family, prefix) != prefix:
            raise ValueError(f"kernel family {e.family!r}: two rows name two prefixes, {out[e.family]!r} and "
                             f"{prefix!r}.")
    return out


_PAD = dict(hook="padding")
_INPUTS = dict(hook="num_inputs")

for _e in (
    Entry(L.ImageInputLayer, "imageInputLayer", None, None, ([28, 28, 3],), ("InputSize",), doc="Image input layer"),
    Entry(L.FeatureInputLayer, "featureInputLayer", None, None, (10,), ("InputSize",), doc="Feature input layer"),
    Entry(L.SequenceInputLayer, "sequenceInputLayer", None, None, (12,), ("InputSize",), doc="Sequence input layer"),
    Entry(L.Convolution2DLayer, "convolution2dLayer", "ConvolutionLayer", "Conv", (5, 20), ("FilterSize", "NumFilters"),
          **_PAD, doc="2-D convolutional layer", kernel="conv", wolfram_example="20, 5"),
    Entry(L.GroupedConvolution2DLayer, "groupedConvolution2dLayer", "ConvolutionLayer", "Conv", (3, 8, 2),
          ("FilterSize", "NumFiltersPerGroup", "NumGroups"), **_PAD,
          doc="2-D grouped convolutional layer; numGroups may be 'channel-wise'", kernel="conv",
          wolfram_example="16, 3, ChannelGroups=2"),
    Entry(L.TransposedConvolution2DLayer, "transposedConv2dLayer", "DeconvolutionLayer", "ConvTranspose", (3, 16),
          ("FilterSize", "NumFilters"), hook="cropping", doc="Transposed 2-D convolution layer",
          kernel="transposed_conv", wolfram_example="16, 3"),
    Entry(L.BatchNormalizationLayer, "batchNormalizationLayer", "BatchNormalizationLayer", "BatchNormalization",
          doc="Batch normalization layer", kernel="bn", wolfram_example="", shape_keeping=True),
    Entry(L.LayerNormalizationLayer, "layerNormalizationLayer", "NormalizationLayer", "LayerNormalization",
          doc="Layer normalization layer", kernel="ln", wolfram_example="Span(1, All), 1", shape_keeping=True),
    Entry(L.GroupNormalizationLayer, "groupNormalizationLayer", "NormalizationLayer", "GroupNormalization", (2,),
          ("NumGroups",), doc="Group normalization layer; numGroups a positive integer, 'all-channels' or "
                              "'channel-wise'", kernel="gn",
          wolfram_example="Span(1, All), 1, GroupNumber=(2, None, None)", shape_keeping=True),
    Entry(L.ReLULayer, "reluLayer", "ElementwiseLayer", "Relu", doc="Rectified Linear Unit (ReLU) layer",
          wolfram_symbol="Ramp", wolfram_names=("ReLU", "RectifiedLinearUnit"), elementwise=(M.relu, M.relu_grad),
          wolfram_example="Ramp"),
    Entry(L.LeakyReLULayer, "leakyReluLayer", None, "LeakyRelu", (), ("Scale",),
          doc="Leaky Rectified Linear Unit (ReLU) layer", elementwise=(M.leakyrelu, M.leakyrelu_grad)),
    Entry(L.ClippedReLULayer, "clippedReluLayer", None, "Clip", (10,), ("Ceiling",),
          doc="Clipped Rectified Linear Unit (ReLU) layer", elementwise=(M.clippedrelu, M.clippedrelu_grad)),
    Entry(L.ELULayer, "eluLayer", "ElementwiseLayer", "Elu", (), ("Alpha",), doc="Exponential linear unit (ELU) layer",
          wolfram_names=("ELU",), elementwise=(M.elu, M.elu_grad), wolfram_example='"ELU"'),
    Entry(L.TanhLayer, "tanhLayer", "ElementwiseLayer", "Tanh", doc="Hyperbolic tangent (tanh) layer",
          wolfram_symbol="Tanh", elementwise=(M.tanh, M.tanh_grad), wolfram_example="Tanh"),
    Entry(L.SigmoidLayer, "sigmoidLayer", "ElementwiseLayer", "Sigmoid", doc="Sigmoid layer",
          wolfram_symbol="LogisticSigmoid", wolfram_names=("Sigmoid",), elementwise=(M.sigmoid, M.sigmoid_grad),
          wolfram_example="LogisticSigmoid"),
    Entry(L.SwishLayer, "swishLayer", "ElementwiseLayer", None, doc="Swish layer",
          wolfram_names=("Swish",), elementwise=(M.swish, M.swish_grad), wolfram_example='"Swish"'),
    Entry(L.GELULayer, "geluLayer", "ElementwiseLayer", "Gelu", doc="Gaussian error linear unit (GELU) layer",
          wolfram_names=("GELU",), elementwise=(M.gelu, M.gelu_grad), wolfram_example='"GELU"'),
    Entry(L.SoftmaxLayer, "softmaxLayer", "SoftmaxLayer", "Softmax", doc="Softmax layer", kernel="softmax",
          wolfram_example="", shape_keeping=True),
    Entry(L.MaxPooling2DLayer, "maxPooling2dLayer", "PoolingLayer", "MaxPool", (2,), ("PoolSize",), **_PAD,
          doc="Max pooling layer", kernel="maxpool", wolfram_example="2"),
    Entry(L.AveragePooling2DLayer, "averagePooling2dLayer", "PoolingLayer", "AveragePool", (2,), ("PoolSize",),
          **_PAD, doc="Average pooling layer", kernel="avgpool", wolfram_example="2, Function=Mean"),
    Entry(L.GlobalAveragePooling2DLayer, "globalAveragePooling2dLayer", None, "GlobalAveragePool",
          doc="2-D global average pooling layer", kernel="globalavgpool"),
    Entry(L.GlobalMaxPooling2DLayer, "globalMaxPooling2dLayer", None, "GlobalMaxPool",
          doc="2-D global max pooling layer", kernel="globalmaxpool"),
    Entry(L.FullyConnectedLayer, "fullyConnectedLayer", "LinearLayer", "Gemm", (10,), ("OutputSize",),
          doc="Fully connected layer", kernel="fc", wolfram_example="10"),
    Entry(L.LSTMLayer, "lstmLayer", "LongShortTermMemoryLayer", "LSTM", (100,), ("NumHiddenUnits",),
          doc="Long short-term memory (LSTM) layer for recurrent neural network (RNN)", kernel="lstm",
          wolfram_example="4"),
    Entry(L.BiLSTMLayer, "bilstmLayer", None, "LSTM", (100,), ("NumHiddenUnits",),
          doc="Bidirectional long short-term memory (BiLSTM) layer for recurrent neural network (RNN)",
          kernel="lstm"),
    Entry(L.GRULayer, "gruLayer", "GatedRecurrentLayer", "GRU", (100,), ("NumHiddenUnits",),   # 'after-multiplication'
          doc="Gated recurrent unit (GRU) layer for recurrent neural network (RNN)", kernel="gru",
          wolfram_example="4"),
    # no MATLAB constructor (Deep Learning Toolbox has lstmLayer, bilstmLayer, gruLayer only)
    Entry(L.RecurrentLayer, None, "BasicRecurrentLayer", "RNN", kernel="rnn", wolfram_example="4"),
    Entry(L.DropoutLayer, "dropoutLayer", "DropoutLayer", "Dropout", (), ("Probability",), doc="Dropout layer",
          kernel="dropout", wolfram_example="", shape_keeping=True),
    Entry(L.FlattenLayer, "flattenLayer", None, "Flatten",  # column-major; Wolfram's is ArrayReshapeLayer
          doc="Flatten layer", kernel="flatten"),
    Entry(L.SequenceFoldingLayer, "sequenceFoldingLayer", None, None, doc="Sequence folding layer"),
    Entry(L.SequenceUnfoldingLayer, "sequenceUnfoldingLayer", None, None, doc="Sequence unfolding layer"),
    Entry(L.AdditionLayer, "additionLayer", "TotalLayer", "Add", (2,), ("NumInputs",), **_INPUTS,
          doc="Addition layer", kernel="addition", wolfram_example=""),
    Entry(L.ConcatenationLayer, "concatenationLayer", "CatenateLayer", "Concat", (3, 2), ("Dim", "NumInputs"),
          **_INPUTS, doc="Concatenation layer", kernel="concat", wolfram_example="2"),
    # core layers without a MATLAB constructor, for the Wolfram dialect
    Entry(L.ElementwiseFunctionLayer, None, "ElementwiseLayer", None, kernel="elementwise", wolfram_example="Sin",
          shape_keeping=True),
    Entry(L.ThreadingFunctionLayer, None, "ThreadingLayer", None, kernel="threading", wolfram_example="Times"),
    Entry(L.ArrayReshapeLayer, None, "ReshapeLayer", "Reshape", wolfram_example="(6, 5, 3)"),   # also FlattenLayer
    Entry(L.ArrayTransposeLayer, None, None, "Transpose"),         # Interleaving, SoftmaxLayer levels
    Entry(L.DepthConcatenationLayer, "depthConcatenationLayer", "CatenateLayer", "Concat", (2,), ("NumInputs",),
          **_INPUTS, doc="Depth concatenation layer", kernel="concat", wolfram_example=""),
    Entry(L.InstanceNormalizationLayer, "instanceNormalizationLayer", "NormalizationLayer",
          "InstanceNormalization", doc="Instance normalization layer", kernel="in",
          wolfram_example="", shape_keeping=True),   # NormalizationLayer[]
    Entry(L.SumPooling2DLayer, None, "PoolingLayer", None, wolfram_example="2, Function=Total"),  # "Function" -> Total
    # Wolfram's EmbeddingLayer (wolfram/embedding.py); no MATLAB constructor (docs/recurrent_plan.md 6g)
    Entry(L.EmbeddingLayer, None, "EmbeddingLayer", "Gather", kernel="embedding", wolfram_example="3, 10"),
    # layers the ONNX importer needs (issue 12); MATLAB's names, Wolfram's kept as core layers
    Entry(L.MultiplicationLayer, "multiplicationLayer", None, "Mul", (2,), ("NumInputs",), **_INPUTS,
          doc="Multiplication layer", kernel="multiplication"),
    Entry(L.ScalingLayer, "scalingLayer", None, "Mul", doc="Scaling layer", kernel="scaling", shape_keeping=True),
    Entry(L.Resize2DLayer, "resize2dLayer", None, "Resize", doc="2-D resize layer", kernel="resize"),
    Entry(L.HardSigmoidLayer, None, None, "HardSigmoid", elementwise=(M.hardsigmoid, M.hardsigmoid_grad)),
    Entry(L.HardSwishLayer, None, None, "HardSwish", elementwise=(M.hardswish, M.hardswish_grad)),
    Entry(L.ClassificationOutputLayer, "classificationLayer", None, None, hidden=("OutputSize",),
          doc="Classification output layer", kernel="crossentropyex"),
    Entry(L.RegressionOutputLayer, "regressionLayer", None, None, doc="Regression output layer", kernel="mse"),
):
    register(_e)
del _e
