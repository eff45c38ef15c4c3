"""trainingOptions(solverName, ...): TrainingOptionsSGDM, TrainingOptionsADAM and
TrainingOptionsRMSProp with the R2021 option set, defaults and display, plus the options of
the trainnet era (Metrics, ObjectiveMetricName, InputDataFormats, TargetDataFormats,
Acceleration, PreprocessingEnvironment; OutputNetwork 'best-validation' and 'auto',
BatchNormalizationStatistics 'auto'), listed after the R2021 ones when one of them is set.

Options that only matter for sequence data, parallel training or background
dispatch (SequenceLength, SequencePaddingValue, SequencePaddingDirection,
WorkerLoad, DispatchInBackground) are accepted, validated and shown, and have no
effect: layergraph has no sequence layers and trains on one CPU.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, ConfigDict, ValidationInfo

from ..core.errors import LayerGraphError
from ..core.layer import Choice, Logical, Scalar, Validated
from ..display.matlab_format import format_value
from .args import match_name


def _validation_data(value, info: ValidationInfo):
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    if callable(getattr(value, "hasdata", None)):  # a datastore (matlab/datastore.py)
        return value
    raise ValueError("Expected ValidationData to be [], a datastore, or a two-element cell array {X, Y} of "
                     "predictors and responses (a Python tuple or list).")


def _output_fcn(value, info: ValidationInfo):
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return None
    fns = list(value) if isinstance(value, (list, tuple)) else [value]
    if all(callable(f) for f in fns):
        return value if callable(value) else fns
    raise ValueError("Expected OutputFcn to be [], a function handle or a cell array of function handles.")


def _folder(value, info: ValidationInfo):
    if isinstance(value, (str, np.str_)):
        return str(value)
    if hasattr(value, "__fspath__"):
        return str(value.__fspath__())
    raise ValueError("Expected CheckpointPath to be a character vector or string scalar (a folder).")


def _worker_load(value, info: ValidationInfo):
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return None
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        arr = None
    if arr is None or np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError("Expected WorkerLoad to be [] or a vector of nonnegative numbers.")
    return arr


METRICS = ("accuracy", "rmse")   # the Metrics names layergraph computes (trainnet, testnet)
MATLAB_METRICS = ("accuracy", "auc", "fscore", "precision", "recall", "rmse")   # the names MATLAB takes


def _metrics(value, info: ValidationInfo):
    """[] / a name / a list of names -> a tuple of lower-case names."""
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        return ()
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if names is None or not all(isinstance(n, str) for n in names):
        raise ValueError('Expected Metrics to be [], a metric name or a list of metric names. Supported values are '
                         '"accuracy", "auc", "fscore", "precision", "recall", and "rmse" (metric objects and '
                         'function handles are not supported by layergraph).')
    out = []
    for n in names:
        low = n.lower()
        if low not in MATLAB_METRICS:
            raise ValueError(f'Invalid metric "{n}". Supported values are "accuracy", "auc", "fscore", "precision", '
                             '"recall", and "rmse".')
        if low not in METRICS:
            raise ValueError(f'Metric "{n}" is not supported by layergraph; it computes "accuracy" and "rmse".')
        out.append(low)
    return tuple(out)


def _objective(value, info: ValidationInfo):
    if not isinstance(value, str):
        raise ValueError('Expected ObjectiveMetricName to be "loss" or the name of a metric in Metrics.')
    return value.lower()


def _formats(value, info: ValidationInfo):
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    raise ValueError('Only "auto" is supported: layergraph reads data in the layouts trainnet expects by default '
                     '(H x W x C x N images, N x C features).')


def _sequence_length(value, info: ValidationInfo):
    if isinstance(value, str):
        return Choice("longest", "shortest").func(value, info)
    return Scalar(1, integer=True).func(value, info)


PosInt = Scalar(1, integer=True, what="a positive integer")


class TrainingOptions(Validated):
    """Options common to the solvers, in the order of MATLAB's R2021 display."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid", arbitrary_types_allowed=True)

    class_name: ClassVar[str] = "TrainingOptions"
    solver_name: ClassVar[str] = ""
    solver_fields: ClassVar[tuple[str, ...]] = ()

    InitialLearnRate: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 0.01
    LearnRateSchedule: Annotated[Any, Choice("none", "piecewise")] = "none"
    LearnRateDropFactor: Annotated[Any, Scalar(0, 1, what="a scalar from 0 through 1")] = 0.1
    LearnRateDropPeriod: Annotated[Any, PosInt] = 10
    L2Regularization: Annotated[Any, Scalar(0, what="a nonnegative scalar")] = 1e-4
    GradientThresholdMethod: Annotated[Any, Choice("l2norm", "global-l2norm", "absolute-value")] = "l2norm"
    GradientThreshold: Annotated[Any, Scalar(0, lo_open=True, allow_inf=True, what="a positive scalar or Inf")] \
        = math.inf
    MaxEpochs: Annotated[Any, PosInt] = 30
    MiniBatchSize: Annotated[Any, PosInt] = 128
    Verbose: Annotated[Any, Logical] = True
    VerboseFrequency: Annotated[Any, PosInt] = 50
    ValidationData: Annotated[Any, BeforeValidator(_validation_data)] = None
    ValidationFrequency: Annotated[Any, PosInt] = 50
    ValidationPatience: Annotated[Any, Scalar(1, integer=True, allow_inf=True, what="a positive integer or Inf")] \
        = math.inf
    Shuffle: Annotated[Any, Choice("once", "never", "every-epoch")] = "once"
    CheckpointPath: Annotated[Any, BeforeValidator(_folder)] = ""
    CheckpointFrequency: Annotated[Any, PosInt] = 1
    CheckpointFrequencyUnit: Annotated[Any, Choice("epoch", "iteration")] = "epoch"
    ExecutionEnvironment: Annotated[Any, Choice("auto", "cpu", "gpu", "multi-gpu", "parallel")] = "auto"
    WorkerLoad: Annotated[Any, BeforeValidator(_worker_load)] = None
    OutputFcn: Annotated[Any, BeforeValidator(_output_fcn)] = None
    Plots: Annotated[Any, Choice("none", "training-progress")] = "none"
    SequenceLength: Annotated[Any, BeforeValidator(_sequence_length)] = "longest"
    SequencePaddingValue: Annotated[Any, Scalar()] = 0
    SequencePaddingDirection: Annotated[Any, Choice("right", "left")] = "right"
    DispatchInBackground: Annotated[Any, Logical] = False
    ResetInputNormalization: Annotated[Any, Logical] = True
    BatchNormalizationStatistics: Annotated[Any, Choice("population", "moving", "auto")] = "population"
    OutputNetwork: Annotated[Any, Choice("last-iteration", "best-validation-loss", "best-validation", "auto")] \
        = "last-iteration"
    # the trainnet era's options (R2023b+); shown after the R2021 ones when one of them is set
    Metrics: Annotated[Any, BeforeValidator(_metrics)] = ()
    ObjectiveMetricName: Annotated[Any, BeforeValidator(_objective)] = "loss"
    InputDataFormats: Annotated[Any, BeforeValidator(_formats)] = "auto"
    TargetDataFormats: Annotated[Any, BeforeValidator(_formats)] = "auto"
    Acceleration: Annotated[Any, Choice("auto", "none")] = "auto"
    PreprocessingEnvironment: Annotated[Any, Choice("serial", "background", "parallel")] = "serial"

    def __setattr__(self, name, value):
        if name not in type(self).model_fields:
            raise LayerGraphError(f"Unrecognized property '{name}' for class '{type(self).class_name}'.",
                                  "MATLAB:noPublicFieldForClass")
        self._assign(name, value)

    @classmethod
    def display_order(cls) -> list[str]:
        common = [n for n in TrainingOptions.model_fields if n not in NEW_ERA]
        return list(cls.solver_fields) + common

    def __str__(self):
        names = self.display_order()
        if any(getattr(self, n) != TrainingOptions.model_fields[n].default for n in NEW_ERA):
            names += list(NEW_ERA)
        width = 4 + max(map(len, names))
        lines = [f"  {self.class_name} with properties:", ""]
        for n in names:
            lines.append(f"{n.rjust(width)}: {_format_option(getattr(self, n))}")
        return "\n".join(lines) + "\n"

    __repr__ = __str__


NEW_ERA = ("Metrics", "ObjectiveMetricName", "InputDataFormats", "TargetDataFormats", "Acceleration",
           "PreprocessingEnvironment")


def _format_option(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):   # Metrics
        return "[]" if not value else "[" + " ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, tuple):  # ValidationData {X, Y}
        parts = []
        for v in value:
            if hasattr(v, "categories"):
                parts.append(f"[{len(v)}x1 categorical]")
            else:
                parts.append(format_value(np.asarray(v)))
        return "{" + "  ".join(parts) + "}"
    if isinstance(value, list) and value and callable(value[0]):
        return "{" + "  ".join(format_value(f) for f in value) + "}"
    if callable(getattr(value, "hasdata", None)):  # a datastore
        return f"[1x1 {type(value).class_name}]"
    return format_value(value)


class TrainingOptionsSGDM(TrainingOptions):
    class_name: ClassVar[str] = "TrainingOptionsSGDM"
    solver_name: ClassVar[str] = "sgdm"
    solver_fields: ClassVar[tuple[str, ...]] = ("Momentum",)
    Momentum: Annotated[Any, Scalar(0, 1, what="a scalar from 0 through 1")] = 0.9


class TrainingOptionsADAM(TrainingOptions):
    class_name: ClassVar[str] = "TrainingOptionsADAM"
    solver_name: ClassVar[str] = "adam"
    solver_fields: ClassVar[tuple[str, ...]] = ("GradientDecayFactor", "SquaredGradientDecayFactor", "Epsilon")
    InitialLearnRate: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 0.001
    GradientDecayFactor: Annotated[Any, Scalar(0, 1, hi_open=True, what="a scalar from 0 to less than 1")] = 0.9
    SquaredGradientDecayFactor: Annotated[Any, Scalar(0, 1, hi_open=True,
                                                      what="a scalar from 0 to less than 1")] = 0.999
    Epsilon: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 1e-8


class TrainingOptionsRMSProp(TrainingOptions):
    class_name: ClassVar[str] = "TrainingOptionsRMSProp"
    solver_name: ClassVar[str] = "rmsprop"
    solver_fields: ClassVar[tuple[str, ...]] = ("SquaredGradientDecayFactor", "Epsilon")
    InitialLearnRate: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 0.001
    SquaredGradientDecayFactor: Annotated[Any, Scalar(0, 1, hi_open=True,
                                                      what="a scalar from 0 to less than 1")] = 0.9
    Epsilon: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 1e-8


class TrainingOptionsLBFGS(TrainingOptions):
    """trainingOptions("lbfgs") (R2023b, trainnet only): the full-batch L-BFGS solver
    (layergraph/train/lbfgs.py). Its options are the L-BFGS block, then the validation,
    monitoring, data format, normalization and hardware options; the stochastic solvers'
    options (learning rate, mini-batches, epochs, L2, gradient threshold, shuffling,
    checkpoints, sequences) are not options of this solver. Defaults: MaxIterations 1000,
    LineSearchMethod "weak-wolfe", HistorySize 10, InitialInverseHessianFactor 1,
    MaxNumLineSearchIterations 20 [doc]; GradientTolerance and StepTolerance 1e-5
    (UNCONFIRMED); the display order is UNCONFIRMED (docs/modern_api.md)."""

    class_name: ClassVar[str] = "TrainingOptionsLBFGS"
    solver_name: ClassVar[str] = "lbfgs"
    solver_fields: ClassVar[tuple[str, ...]] = ("MaxIterations", "LineSearchMethod", "MaxNumLineSearchIterations",
                                                "HistorySize", "InitialInverseHessianFactor", "GradientTolerance",
                                                "StepTolerance")
    common_fields: ClassVar[tuple[str, ...]] = (
        "ValidationData", "ValidationFrequency", "ValidationPatience", "Verbose", "VerboseFrequency", "Plots",
        "OutputFcn", "ExecutionEnvironment", "ResetInputNormalization", "BatchNormalizationStatistics",
        "OutputNetwork")
    MaxIterations: Annotated[Any, PosInt] = 1000
    LineSearchMethod: Annotated[Any, Choice("weak-wolfe", "strong-wolfe", "backtracking")] = "weak-wolfe"
    MaxNumLineSearchIterations: Annotated[Any, PosInt] = 20
    HistorySize: Annotated[Any, PosInt] = 10
    InitialInverseHessianFactor: Annotated[Any, Scalar(0, lo_open=True, what="a positive scalar")] = 1
    GradientTolerance: Annotated[Any, Scalar(0, what="a nonnegative scalar")] = 1e-5
    StepTolerance: Annotated[Any, Scalar(0, what="a nonnegative scalar")] = 1e-5

    @classmethod
    def own_fields(cls) -> list[str]:
        return list(cls.solver_fields) + list(cls.common_fields) + list(NEW_ERA)

    @classmethod
    def display_order(cls) -> list[str]:
        return list(cls.solver_fields) + list(cls.common_fields)

    def __setattr__(self, name, value):
        if name in type(self).model_fields and name not in self.own_fields():
            raise LayerGraphError(f"Unrecognized property '{name}' for class '{self.class_name}'.",
                                  "MATLAB:noPublicFieldForClass")
        super().__setattr__(name, value)


SOLVERS = {"sgdm": TrainingOptionsSGDM, "adam": TrainingOptionsADAM, "rmsprop": TrainingOptionsRMSProp,
           "lbfgs": TrainingOptionsLBFGS}


def trainingOptions(solverName, *args, **kwargs) -> TrainingOptions:
    """trainingOptions(solverName, 'Name', value, ...) or with keywords:
    trainingOptions('sgdm', InitialLearnRate=0.01, MaxEpochs=20)."""
    if not isinstance(solverName, str):
        raise LayerGraphError(f"Expected solverName to be one of 'sgdm', 'adam', 'rmsprop', 'lbfgs', but it is "
                              f"{solverName!r}.", "MATLAB:trainingOptions:InvalidSolverName")
    low = solverName.lower()
    if low not in SOLVERS:
        raise LayerGraphError(f"Expected solverName to match one of these values: 'sgdm', 'adam', 'rmsprop', "
                              f"'lbfgs'. The input, '{solverName}', did not match any of the valid values.",
                              "MATLAB:trainingOptions:InvalidSolverName")
    cls = SOLVERS[low]
    if len(args) % 2:
        raise LayerGraphError("Name-value arguments must come in pairs.", "MATLAB:InputParser:ParamMissingValue")
    pairs = list(zip(args[::2], args[1::2])) + list(kwargs.items())
    all_names = sorted({n for c in SOLVERS.values() for n in c.model_fields})
    own = cls.own_fields() if hasattr(cls, "own_fields") else list(cls.model_fields)
    values = {}
    for name, value in pairs:
        if not isinstance(name, str):
            raise LayerGraphError(f"Expected a parameter name, but found {name!r}.",
                                  "MATLAB:InputParser:ParamMustBeChar")
        full = match_name(name, all_names, "trainingOptions")
        if full not in own:
            owners = [s for s, c in SOLVERS.items()
                      if full in (c.own_fields() if hasattr(c, "own_fields") else c.model_fields)]
            raise LayerGraphError(f"'{full}' is not an option for solver '{cls.solver_name}'. It is an option "
                                  f"of the solvers {', '.join(repr(o) for o in owners)}.",
                                  "nnet_cnn:TrainingOptions:InvalidOptionForSolver")
        values[full] = value
    return cls(**values)
