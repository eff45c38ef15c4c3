"""Sequence input and recurrent layers: sequenceInputLayer, lstmLayer, bilstmLayer, gruLayer, and the
basic recurrent layer (RecurrentLayer: Wolfram's BasicRecurrentLayer, ONNX's RNN; no MATLAB constructor).

Sequences are N x C x T in the internal layout (core/size.py: ``Size.time``). An LSTM's
arrays are MATLAB's, stored as they are: InputWeights 4H x C, RecurrentWeights 4H x H and
Bias 4H (x 1 in MATLAB), gates stacked i, f, g (cell candidate), o; a BiLSTM stacks the
forward gates on top of the backward ones (8H rows) and its HiddenState / CellState (2H)
and output (2H channels) hold the forward half first. The kernels (kernels/cpu/recurrent.py)
read these arrays directly; Wolfram's LongShortTermMemoryLayer stacks its 12 arrays into the
same spec (docs/recurrent_plan.md, part 4). A GRU's are InputWeights 3H x C, RecurrentWeights
3H x H, gates r (reset), z (update), h (candidate), and Bias 3H, or 6H (the input biases, then
the recurrent ones) with ResetGateMode 'recurrent-bias-after-multiplication'. A basic recurrent
layer's are InputWeights H x C, RecurrentWeights H x H and Bias H.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ValidationInfo, model_validator

from ..core.errors import LayerGraphError
from ..core.layer import AUTO, ArrayLayout, AutoOr, Choice, Layer, LearnableSpec, Logical, Scalar, SizeError, Stored
from ..core.size import VARYING, Size
from ..display.matlab_format import format_size
from ._common import COLUMN, PosInt, check_given_arrays
from .input import FEATURE_STATISTIC, IMAGE_STATISTIC, NORMALIZATIONS, STATISTICS, _InputLayer


# -- sequenceInputLayer ----------------------------------------------------------------------------------------
def _sequence_size(value, info: ValidationInfo):
    text = "a positive integer (vector sequences) or a vector [h w c] of positive integers (image sequences)"
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"Expected InputSize to be {text}.") from None
    if arr.size not in (1, 3) or not np.all(np.isfinite(arr)) or np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise ValueError(f"Expected InputSize to be {text}.")
    dims = [int(v) for v in arr]
    return dims[0] if len(dims) == 1 else tuple(dims)


def _by_kind(layer):
    return FEATURE_STATISTIC if isinstance(layer.InputSize, int) else IMAGE_STATISTIC


SEQUENCE_STATISTIC = ArrayLayout(lambda layer, v: _by_kind(layer).to_internal(layer, v),
                                             lambda layer, v: _by_kind(layer).to_matlab(layer, v))


class SequenceInputLayer(_InputLayer):
    """sequenceInputLayer: sequences of vectors (InputSize C; data C x S per sequence) or of
    images (InputSize [h w c]; data h x w x c x S). Statistics as for featureInputLayer
    (C x 1) or imageInputLayer (h x w x c or 1 x 1 x c), over every time step."""

    class_name: ClassVar[str] = "SequenceInputLayer"
    Type: ClassVar[str] = "Sequence Input"
    DefaultName: ClassVar[str] = "sequenceinput"
    general: ClassVar[tuple[str, ...]] = ("Name", "InputSize", "MinLength", "SplitComplexInputs")
    array_layouts: ClassVar = {n: SEQUENCE_STATISTIC for n in STATISTICS}

    InputSize: Annotated[Any, BeforeValidator(_sequence_size)]
    MinLength: Annotated[Any, Scalar(1, integer=True)] = 1
    Normalization: Annotated[Any, Choice(*NORMALIZATIONS, allow_callable=True)] = "none"

    def _statistic_sizes(self):
        if isinstance(self.InputSize, int):
            return [(self.InputSize, 1), (1, 1)]
        h, w, c = self.InputSize
        return [(h, w, c), (1, 1, c), (1, 1)]

    def property_groups(self):
        hyper = ("Normalization", "NormalizationDimension") + self._statistics_shown()
        return [("", self.general), ("Hyperparameters", hyper)]

    def description(self) -> str:
        dims = self.InputSize if isinstance(self.InputSize, int) else format_size(self.InputSize)
        return f"Sequence input with {dims} dimensions{self._normalization_text()}"

    def infer(self, inputs):
        if isinstance(self.InputSize, int):
            return self, [Size((), self.InputSize, VARYING)]
        h, w, c = self.InputSize
        return self, [Size((h, w), c, VARYING)]


# -- lstmLayer / bilstmLayer -------------------------------------------------------------------------------------
def _factor(n_gates):
    """A learn-rate or L2 factor: a nonnegative scalar, or one per gate (a 1-by-n vector)."""
    text = f"a nonnegative scalar or a 1-by-{n_gates} vector of nonnegative numbers"

    def check(value, info: ValidationInfo):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"Expected {info.field_name} to be {text}.") from None
        if isinstance(value, (str, bool, np.bool_)) or arr.ndim > 2 or (arr.ndim == 2 and min(arr.shape) != 1):
            raise ValueError(f"Expected {info.field_name} to be {text}.")
        arr = arr.ravel()
        if arr.size not in (1, n_gates) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"Expected {info.field_name} to be {text}.")
        return float(arr[0]) if arr.size == 1 else tuple(float(v) for v in arr)

    return BeforeValidator(check)


# recurrent dropout methods (Wolfram's names; core/ops_recurrent.py DropoutMasks says what each
# drops): the first two around the kernel calls, the other two inside the recurrence (the kernel
# family "maskedrecurrent")
DROPOUT_METHODS = ("VariationalInput", "VariationalWeights", "VariationalState", "StateUpdate")
DROPOUT_DONE = DROPOUT_METHODS
INNER_DROPOUT = ("VariationalState", "StateUpdate")


def _check_dropout(cls, value):
    if not isinstance(value, dict) or any(m not in DROPOUT_METHODS for m in value):
        raise ValueError(f"{cls}: dropout should be a dict {{method: probability}} with methods "
                         f"{', '.join(DROPOUT_METHODS)}; got {value!r}.")
    for m, p in value.items():
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
            raise ValueError(f"{cls}: the dropout probability of {m} should be a number between 0 and 1; got {p!r}.")
        if p > 0 and m not in DROPOUT_DONE:
            raise ValueError(f"{cls}: {m} dropout is not supported yet (only {' and '.join(DROPOUT_DONE)}).")


AS_GIVEN = ArrayLayout(lambda layer, v: v.reshape(v.shape[0], -1), lambda layer, v: v)
# HiddenState / CellState: MATLAB's H x 1 (or, after stateful prediction of N observations,
# H x N) <-> (H,) or N x H, the form the op reads
STATE = ArrayLayout(lambda layer, v: v.reshape(-1) if v.ndim == 1 or v.shape[1] == 1 else np.ascontiguousarray(v.T),
                    lambda layer, v: v.reshape(-1, 1) if v.ndim == 1 else np.ascontiguousarray(v.T))
_WEIGHT_INITS = ("glorot", "he", "orthogonal", "narrow-normal", "zeros", "ones")
_LEARNABLES = (
    LearnableSpec("InputWeights", "InputWeightsInitializer", "InputWeightsLearnRateFactor", "InputWeightsL2Factor"),
    LearnableSpec("RecurrentWeights", "RecurrentWeightsInitializer", "RecurrentWeightsLearnRateFactor",
                  "RecurrentWeightsL2Factor"),
    LearnableSpec("Bias", "BiasInitializer", "BiasLearnRateFactor", "BiasL2Factor"),
)


class _RecurrentBase(Layer):
    """What lstmLayer, bilstmLayer and gruLayer share: ``gates`` blocks of H rows per direction
    (``directions`` 1 or 2), the states ``states`` (each an input / output port when
    HasStateInputs / HasStateOutputs, named by ``state_ports``)."""

    gates: ClassVar[int] = 4
    directions: ClassVar[int] = 1
    learnables: ClassVar = _LEARNABLES
    states: ClassVar = ("HiddenState", "CellState")
    state_ports: ClassVar = ("hidden", "cell")
    general: ClassVar = ("Name", "InputNames", "OutputNames", "NumInputs", "NumOutputs", "HasStateInputs",
                         "HasStateOutputs")
    hyperparameters: ClassVar = ("InputSize", "NumHiddenUnits", "OutputMode", "StateActivationFunction",
                                 "GateActivationFunction")
    # the weights are stored as MATLAB has them (kH x C, kH x H); vectors as (kH,) and (H,)
    array_layouts: ClassVar = {"InputWeights": AS_GIVEN, "RecurrentWeights": AS_GIVEN, "Bias": COLUMN,
                               "HiddenState": STATE, "CellState": STATE}

    NumHiddenUnits: PosInt
    InputSize: Annotated[Any, AutoOr(Scalar(1, integer=True), "a positive integer")] = AUTO
    OutputMode: Annotated[Any, Choice("sequence", "last")] = "sequence"
    StateActivationFunction: Annotated[Any, Choice("tanh", "softsign")] = "tanh"
    GateActivationFunction: Annotated[Any, Choice("sigmoid", "hard-sigmoid")] = "sigmoid"
    HasStateInputs: Annotated[Any, Logical] = False
    HasStateOutputs: Annotated[Any, Logical] = False
    InputWeights: Annotated[Any, Stored] = None
    RecurrentWeights: Annotated[Any, Stored] = None
    Bias: Annotated[Any, Stored] = None
    HiddenState: Annotated[Any, Stored] = None
    InputWeightsInitializer: Annotated[Any, Choice(*_WEIGHT_INITS, allow_callable=True)] = "glorot"
    RecurrentWeightsInitializer: Annotated[Any, Choice(*_WEIGHT_INITS, allow_callable=True)] = "orthogonal"
    # the states before the first stateful prediction, which resetState restores (internal:
    # MATLAB keeps them as InitialHiddenState / InitialCellState); None: not updated yet
    initial_states: Any = None
    # recurrent dropout in training (internal: Wolfram's "Dropout"; MATLAB's layers have none):
    # {method: p}, methods DROPOUT_METHODS (core/ops_recurrent.py says what each drops); None: none
    dropout: Any = None
    # with HasStateInputs, the states that come from inputs (internal; None: all of ``states``, as
    # MATLAB has it): Wolfram's NetGraph connects a layer's "State" and "CellState" one by one, the
    # other starting from its HiddenState / CellState (zero)
    state_inputs: Any = None

    @property
    def input_states(self) -> tuple[str, ...]:
        """The states that come from inputs (in the order of ``states``)."""
        if not self.HasStateInputs:
            return ()
        return tuple(self.states) if self.state_inputs is None else tuple(s for s in self.states
                                                                           if s in self.state_inputs)

    @property
    def kept_states(self) -> tuple[str, ...]:
        """The states the layer holds (HiddenState, CellState) rather than takes as inputs."""
        return tuple(s for s in self.states if s not in self.input_states)

    @property
    def InputNames(self) -> list[str]:
        return ["in", *(p for s, p in zip(self.states, self.state_ports) if s in self.input_states)]

    @property
    def OutputNames(self) -> list[str]:
        return ["out", *self.state_ports] if self.HasStateOutputs else ["out"]

    def property_groups(self):
        return [("", self.general), ("Hyperparameters", self.hyperparameters),
                ("Learnable Parameters", ("InputWeights", "RecurrentWeights", "Bias")),
                ("State Parameters", self.states)]

    @property
    def _rows(self) -> int:
        return self.gates * self.directions * self.NumHiddenUnits

    @property
    def _bias_rows(self) -> int:
        return self._rows

    @property
    def _state_rows(self) -> int:
        return self.directions * self.NumHiddenUnits

    @model_validator(mode="after")
    def _check(self):
        if self.dropout is not None:
            _check_dropout(self.class_name, self.dropout)
            inner = [m for m in INNER_DROPOUT if self.dropout.get(m, 0) > 0]
            if inner and getattr(self, "ResetGateMode", None) == "before-multiplication":
                raise ValueError(f"{self.class_name}: {inner[0]} dropout is not supported with ResetGateMode "
                                 "'before-multiplication'.")
            if self.dropout.get("StateUpdate", 0) > 0 and self.gates == 1:
                raise ValueError(f"{self.class_name}: StateUpdate dropout needs a state update (a gated layer).")
        if self.InputWeights is not None and self.InputSize == AUTO and self.InputWeights.ndim == 2:
            object.__setattr__(self, "InputSize", int(self.InputWeights.shape[1]))
        check_given_arrays(self, self.learnable_sizes())
        for name in self.states:   # H x 1, or H x N after stateful prediction of N observations
            value = getattr(self, name)
            if value is not None and (value.ndim > 2 or value.shape[0] != self._state_rows):
                raise ValueError(f"Invalid value for '{name}' of {self.class_name}: array of size "
                                 f"{'x'.join(map(str, value.shape))}. Expected {name} to be of size "
                                 f"{self._state_rows}x1 (or {self._state_rows}xN, one column per observation).")
        if self.state_inputs is not None and (not self.HasStateInputs or not self.input_states or
                                              any(v not in self.states for v in self.state_inputs)):
            raise ValueError(f"{self.class_name}: state_inputs should name some of {', '.join(self.states)} "
                             f"(with HasStateInputs); got {self.state_inputs!r}.")
        if self.HasStateInputs and any(getattr(self, name) is not None for name in self.input_states):
            names = " and ".join(self.input_states)
            raise ValueError(f"{self.class_name}: {names} cannot be set when HasStateInputs is true; the "
                             f"states come from the {' and '.join(repr(p) for p in self.state_ports)} inputs.")
        return self

    def _check_assignment(self, name, value):
        if name == "NumHiddenUnits":
            raise LayerGraphError(f"Unable to set the 'NumHiddenUnits' property of class '{self.class_name}' "
                                  "because it is read-only.", "MATLAB:class:SetProhibited")
        if name in self.input_states and value is not None:
            raise LayerGraphError(f"Unable to set {name} of layer '{self.Name}': the layer has state inputs "
                                  "(HasStateInputs is true).", "nnet_cnn:layer:LSTMLayer:SettingStateWithStateInputs")

    def learnable_sizes(self, size=None):
        return {"InputWeights": (self._rows, self.InputSize), "RecurrentWeights": (self._rows, self.NumHiddenUnits),
                "Bias": (self._bias_rows, 1)}

    def state_sizes(self, size=None):
        return {name: (self._state_rows, 1) for name in self.kept_states}

    def fans(self, name):
        # glorot / he over one direction's gates: numIn the input (or hidden) size, numOut kH
        n_in = self.InputSize if name == "InputWeights" else self.NumHiddenUnits
        return n_in, self.gates * self.NumHiddenUnits

    def infer(self, inputs):
        x = inputs[0]
        if not x.is_sequence:
            raise SizeError("in", f"Invalid input data for layer '{self.Name}' ({self.class_name}): the layer "
                                  f"expects sequence input (a vector sequence of C x S), but the input has size "
                                  f"{x} and no time dimension.")
        channels = x.channels
        if x.is_image:   # 'SSCBT': each step's h x w x c image read as its h*w*c values, column-major (H fastest)
            if len(x.spatial) != 2:
                raise SizeError("in", f"Invalid input data for layer '{self.Name}' ({self.class_name}): the layer "
                                      f"takes vector sequences or sequences of 2-D images; the input is a sequence "
                                      f"of {x} arrays.")
            channels = x.channels * x.spatial[0] * x.spatial[1]
        if self.InputSize != AUTO and self.InputSize != channels:
            raise SizeError("in", f"The layer expects input size {self.InputSize} (InputSize) but the input has "
                                  f"{channels} channels" + (f" ({x} images, flattened)." if x.is_image else "."))
        h = self._state_rows
        for port, s in zip(self.InputNames[1:], inputs[1:]):
            if s.is_sequence or s.is_image or s.channels != h:
                raise SizeError(port, f"The '{port}' input must be a {h}-by-N state (NumHiddenUnits "
                                      f"{self.NumHiddenUnits}{' per direction' if self.directions == 2 else ''}); "
                                      f"the input has size {s}.")
        out = Size((), h, x.time) if self.OutputMode == "sequence" else Size((), h)
        states = [Size((), h)] * len(self.state_ports) if self.HasStateOutputs else []
        return self._resolved_copy(InputSize=channels), [out, *states]


class _LSTMBase(_RecurrentBase):
    """What lstmLayer and bilstmLayer share."""

    family: ClassVar[str] = "lstm"

    CellState: Annotated[Any, Stored] = None
    BiasInitializer: Annotated[Any, Choice("unit-forget-gate", "narrow-normal", "ones", "zeros",
                                           allow_callable=True)] = "unit-forget-gate"

    def initial_value(self, name, initializer, sz, dtype):
        """'unit-forget-gate': forget-gate biases 1, the others 0 (each direction); None: the
        core's initializers."""
        if initializer != "unit-forget-gate":
            return None
        h = self.NumHiddenUnits
        value = np.zeros(sz, dtype=dtype)
        for d in range(self.directions):
            value[4 * h * d + h:4 * h * d + 2 * h] = 1
        return value


class LSTMLayer(_LSTMBase):
    """lstmLayer(numHiddenUnits): long short-term memory."""

    class_name: ClassVar[str] = "LSTMLayer"
    Type: ClassVar[str] = "LSTM"
    DefaultName: ClassVar[str] = "lstm"

    InputWeightsLearnRateFactor: Annotated[Any, _factor(4)] = 1.0
    RecurrentWeightsLearnRateFactor: Annotated[Any, _factor(4)] = 1.0
    BiasLearnRateFactor: Annotated[Any, _factor(4)] = 1.0
    InputWeightsL2Factor: Annotated[Any, _factor(4)] = 1.0
    RecurrentWeightsL2Factor: Annotated[Any, _factor(4)] = 1.0
    BiasL2Factor: Annotated[Any, _factor(4)] = 0.0

    def description(self):
        return f"LSTM with {self.NumHiddenUnits} hidden units"


class BiLSTMLayer(_LSTMBase):
    """bilstmLayer(numHiddenUnits): an LSTM over the sequence and one over its reverse, outputs
    concatenated (forward first)."""

    class_name: ClassVar[str] = "BiLSTMLayer"
    Type: ClassVar[str] = "BiLSTM"
    DefaultName: ClassVar[str] = "bilstm"
    directions: ClassVar[int] = 2

    InputWeightsLearnRateFactor: Annotated[Any, _factor(8)] = 1.0
    RecurrentWeightsLearnRateFactor: Annotated[Any, _factor(8)] = 1.0
    BiasLearnRateFactor: Annotated[Any, _factor(8)] = 1.0
    InputWeightsL2Factor: Annotated[Any, _factor(8)] = 1.0
    RecurrentWeightsL2Factor: Annotated[Any, _factor(8)] = 1.0
    BiasL2Factor: Annotated[Any, _factor(8)] = 0.0

    def description(self):
        return f"BiLSTM with {self.NumHiddenUnits} hidden units"


class GRULayer(_RecurrentBase):
    """gruLayer(numHiddenUnits): gated recurrent unit. ResetGateMode (docs/recurrent_plan.md 1.4):

    * 'after-multiplication': h~ = state(W_h x + b_h + r .* (R_h h))
    * 'before-multiplication': h~ = state(W_h x + R_h (r .* h) + b_h)
    * 'recurrent-bias-after-multiplication': h~ = state(W_h x + b_h + r .* (R_h h + b_Rh)), the
      reset and update gates also adding their recurrent biases; Bias is 6H x 1 then

    with r, z = gate(W x + R h + b) and h_t = (1 - z) .* h~ + z .* h_{t-1}."""

    class_name: ClassVar[str] = "GRULayer"
    Type: ClassVar[str] = "GRU"
    DefaultName: ClassVar[str] = "gru"
    family: ClassVar[str] = "gru"
    gates: ClassVar[int] = 3
    states: ClassVar = ("HiddenState",)
    state_ports: ClassVar = ("hidden",)
    hyperparameters: ClassVar = _RecurrentBase.hyperparameters + ("ResetGateMode",)
    array_layouts: ClassVar = {"InputWeights": AS_GIVEN, "RecurrentWeights": AS_GIVEN, "Bias": COLUMN,
                               "HiddenState": STATE}

    ResetGateMode: Annotated[Any, Choice("after-multiplication", "before-multiplication",
                                         "recurrent-bias-after-multiplication")] = "after-multiplication"
    BiasInitializer: Annotated[Any, Choice("zeros", "narrow-normal", "ones", allow_callable=True)] = "zeros"
    InputWeightsLearnRateFactor: Annotated[Any, _factor(3)] = 1.0
    RecurrentWeightsLearnRateFactor: Annotated[Any, _factor(3)] = 1.0
    BiasLearnRateFactor: Annotated[Any, _factor(3)] = 1.0
    InputWeightsL2Factor: Annotated[Any, _factor(3)] = 1.0
    RecurrentWeightsL2Factor: Annotated[Any, _factor(3)] = 1.0
    BiasL2Factor: Annotated[Any, _factor(3)] = 0.0

    @property
    def _bias_rows(self) -> int:
        return 2 * self._rows if self.ResetGateMode == "recurrent-bias-after-multiplication" else self._rows

    def factor_block(self, name) -> int:
        """Rows per value of a 1-by-3 factor: H (a 6H Bias takes each gate's value for its input
        and its recurrent bias)."""
        return self.NumHiddenUnits

    def description(self):
        return f"GRU with {self.NumHiddenUnits} hidden units"


class RecurrentLayer(_RecurrentBase):
    """The basic recurrent layer: h_t = state(W x_t + R h_{t-1} + b), state tanh (Wolfram's
    BasicRecurrentLayer, ONNX's RNN with its default activation) or softsign. One block of H rows;
    one state, 'hidden'. MATLAB has no constructor for it (docs/recurrent_plan.md 6f); the
    property names, defaults and checks are those of the other recurrent layers, and
    GateActivationFunction (inherited) is not used and not shown."""

    class_name: ClassVar[str] = "RecurrentLayer"
    Type: ClassVar[str] = "RNN"
    DefaultName: ClassVar[str] = "rnn"
    family: ClassVar[str] = "rnn"
    gates: ClassVar[int] = 1
    states: ClassVar = ("HiddenState",)
    state_ports: ClassVar = ("hidden",)
    hyperparameters: ClassVar = ("InputSize", "NumHiddenUnits", "OutputMode", "StateActivationFunction")
    array_layouts: ClassVar = {"InputWeights": AS_GIVEN, "RecurrentWeights": AS_GIVEN, "Bias": COLUMN,
                               "HiddenState": STATE}

    BiasInitializer: Annotated[Any, Choice("zeros", "narrow-normal", "ones", allow_callable=True)] = "zeros"
    InputWeightsLearnRateFactor: Annotated[Any, _factor(1)] = 1.0
    RecurrentWeightsLearnRateFactor: Annotated[Any, _factor(1)] = 1.0
    BiasLearnRateFactor: Annotated[Any, _factor(1)] = 1.0
    InputWeightsL2Factor: Annotated[Any, _factor(1)] = 1.0
    RecurrentWeightsL2Factor: Annotated[Any, _factor(1)] = 1.0
    BiasL2Factor: Annotated[Any, _factor(1)] = 0.0

    def description(self):
        return f"RNN with {self.NumHiddenUnits} hidden units"


__all__ = ["SequenceInputLayer", "LSTMLayer", "BiLSTMLayer", "GRULayer", "RecurrentLayer"]
