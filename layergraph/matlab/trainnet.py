"""trainnet, testnet, minibatchpredict and scores2label: MATLAB's training and inference of
the dlnetwork era (R2023b+), on the trainer trainNetwork uses (layergraph/train).

``net = trainnet(X, T, net, lossFcn, options)`` or ``trainnet(ds, net, lossFcn, options)``:
``net`` is a dlnetwork (initialized or not) or a layer array without output layers; the loss is
named (``"crossentropy"``, ``"index-crossentropy"``, ``"binary-crossentropy"``, ``"mse"`` /
``"mean-squared-error"`` / ``"l2loss"``, ``"mae"`` / ``"mean-absolute-error"`` / ``"l1loss"``,
``"huber"``); the result is a dlnetwork, and ``net, info = trainnet(...)`` also gives the
TrainingInfo (the returned network unpacks into both, as trainNetwork's does, so MATLAB's one-
and two-output forms both read as in MATLAB). The data layouts are trainNetwork's (H x W x C x N images, N x C
features); targets are categorical labels (crossentropy), class indices 1..K or labels
(index-crossentropy), or numeric arrays in the output's layout (the other losses).
The losses' normalization, the metrics' formulas and the choices where MATLAB's pages are
silent are listed in docs/porting_from_matlab.md.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..core.errors import LayerGraphError
from ..core.infer import require_valid
from ..display.training import ProgressView, TrainnetTable
from ..train import BinaryCrossEntropy, CrossEntropy, Huber, Loss, MeanAbsolute, MeanSquared, ScaledLoss, train
from ..train.compiling import announce_compiling
from ..train.lbfgs import LBFGSOptions, LBFGSTrainConfig, train_lbfgs
from .args import parse
from .categorical import Categorical
from ..data import sources
from .datastore import _is_datastore
from .dlarray import _as_data, dlarray
from .functions import dlnetwork
from .minibatchqueue import MiniBatchQueue
from .network import DLNetwork
from .table import Table
from .table import Struct
from .training import _device, _prepare, _prepare_datastore, normalized_input, train_config, with_info
from .training_options import METRICS, TrainingOptions, TrainingOptionsLBFGS

# -- losses ---------------------------------------------------------------------------------------
LOSS_NAMES = {"crossentropy": "crossentropy", "index-crossentropy": "index-crossentropy",
              "binary-crossentropy": "binary-crossentropy", "mse": "mse", "mean-squared-error": "mse",
              "l2loss": "mse", "mae": "mae", "mean-absolute-error": "mae", "l1loss": "mae", "huber": "huber"}


@dataclass(frozen=True)
class _Objective:
    """A named loss: whether its targets are class labels, and the trainer's Loss for an
    output of activation size ``act``."""
    name: str

    @property
    def labels(self) -> bool:
        return self.name in ("crossentropy", "index-crossentropy")

    def loss(self, act) -> Loss:
        if self.labels:   # -sum t log y over the channels, divided by the non-channel elements (N x H x W)
            pixels = int(np.prod(act.spatial)) if act.is_image else 1
            return CrossEntropy() if pixels == 1 else ScaledLoss(CrossEntropy(), 1.0 / pixels)
        return {"binary-crossentropy": BinaryCrossEntropy, "mse": MeanSquared, "mae": MeanAbsolute,
                "huber": Huber}[self.name]()

    def stand_in(self):
        """The output layer whose targets are this loss's (for the data checks trainNetwork makes)."""
        from .constructors import CONSTRUCTORS
        return CONSTRUCTORS["classificationLayer" if self.labels else "regressionLayer"]()


@dataclass(frozen=True)
class _HandleObjective(_Objective):
    """A loss function handle ``loss = f(Y, T)``: Y and T formatted dlarrays ('CB', 'SSCB'), T
    one-hot for categorical targets; its gradient comes from the tape (matlab/custom.py)."""
    fn: object = None
    by_labels: bool = False

    @property
    def labels(self) -> bool:
        return self.by_labels

    def loss(self, act) -> Loss:
        from .custom import FunctionLoss
        return FunctionLoss(self.fn, formatted=True)


def _objective(lossFcn, T=None, X=None) -> _Objective:
    if callable(lossFcn) and not isinstance(lossFcn, str):
        labels = isinstance(T, Categorical) or (T is None and getattr(X, "Labels", None) is not None)
        return _HandleObjective("custom", lossFcn, labels)
    if not isinstance(lossFcn, str) or lossFcn.lower() not in LOSS_NAMES:
        raise LayerGraphError(f"Invalid loss function {lossFcn!r}. The loss must be one of " + _names() + ".",
                              "nnet_cnn:trainnet:InvalidLossFunction")
    return _Objective(LOSS_NAMES[lossFcn.lower()])


def _names() -> str:
    return ", ".join(f'"{n}"' for n in LOSS_NAMES)


# -- metrics --------------------------------------------------------------------------------------
COLUMNS = {"accuracy": "Accuracy", "rmse": "RMSE"}


def _accuracy(y, t, objective) -> float:
    """Percent of correct predictions: the largest score is the true class (per observation and
    pixel) for the cross-entropy losses, y >= 0.5 equals t >= 0.5 (per element) otherwise."""
    if objective.labels:
        n, c = y.shape[0], y.shape[1]
        return 100.0 * float(np.mean(np.argmax(y.reshape(n, c, -1), axis=1) == np.argmax(t.reshape(n, c, -1), axis=1)))
    return 100.0 * float(np.mean((y >= 0.5) == (t >= 0.5)))


def _rmse(y, t, objective) -> float:
    """sqrt of the mean over all elements of (y - t)^2."""
    d = (y - t).astype(np.float64)
    return float(np.sqrt(np.mean(d * d)))


METRIC_FUNCTIONS = {"accuracy": _accuracy, "rmse": _rmse}


class _WithMetrics(Loss):
    """The loss, and the metrics of trainingOptions' Metrics as the trainer's metric: {column stem: value}."""

    def __init__(self, loss: Loss, objective: _Objective, metrics):
        self.loss, self.objective, self.metrics = loss, objective, tuple(metrics)
        self.name = loss.name

    def __call__(self, y, t):
        return self.loss(y, t)

    def metric(self, y, t, loss):
        if not self.metrics:
            return None
        return {COLUMNS[m]: METRIC_FUNCTIONS[m](y, t, self.objective) for m in self.metrics}


# -- the result -----------------------------------------------------------------------------------
class TrainingInfo:
    """MATLAB's TrainingInfo: TrainingHistory and ValidationHistory (tables), OutputNetworkIteration,
    StopReason."""

    def __init__(self, training: Table, validation: Table, output_iteration: int, stop_reason: str):
        self.TrainingHistory, self.ValidationHistory = training, validation
        self.OutputNetworkIteration, self.StopReason = output_iteration, stop_reason

    def __repr__(self):
        rows = [("TrainingHistory", f"[{len(self.TrainingHistory)}x{len(self.TrainingHistory.columns)} table]"),
                ("ValidationHistory", f"[{len(self.ValidationHistory)}x{len(self.ValidationHistory.columns)} table]"
                 if len(self.ValidationHistory) else "[0x0 table]"),
                ("OutputNetworkIteration", str(self.OutputNetworkIteration)),
                ("StopReason", f'"{self.StopReason}"')]
        width = 4 + max(len(k) for k, _ in rows)
        return "  TrainingInfo with properties:\n\n" + "\n".join(f"{k.rjust(width)}: {v}" for k, v in rows) + "\n"

    __str__ = __repr__


# -- a minibatchqueue as training data --------------------------------------------------------------
class _QueueSource(sources.Source):
    """The observations of a minibatchqueue for the trainer: ``read(indices)`` is the queue's
    mini-batch of those observations (its datastore's reads, MiniBatchFcn, OutputCast and
    MiniBatchFormat), output k in the internal layout of ``sizes[k]``: the network's input,
    then its output (the targets)."""

    def __init__(self, mbq, keys, sizes, names, dtype):
        if mbq.NumOutputs < len(keys):
            raise LayerGraphError(f"Invalid training data. The minibatchqueue has {mbq.NumOutputs} output"
                                  f"{'s' if mbq.NumOutputs != 1 else ''}; trainnet needs {len(keys)}: the predictors "
                                  "and the targets (in the order of the network's inputs, then its outputs).",
                                  "nnet_cnn:trainnet:InvalidMiniBatchQueue")
        self.mbq, self.keys, self.sizes, self.names, self.dtype = mbq, list(keys), list(sizes), list(names), dtype
        self.n, self.random = mbq._ds._n(), mbq._ds.random
        if self.n == 0:
            raise LayerGraphError("Invalid training data. The minibatchqueue's datastore contains no observations.")
        first = self.read(np.array([0]), np.random.default_rng(0))
        self.shapes = {k: (a.shape[1:], a.dtype) for k, a in first.items()}

    def read(self, indices, rng):
        from .autodiff import _to_layout
        outs = self.mbq._make(np.asarray(indices), rng)
        result = {}
        for k, (key, size, what) in enumerate(zip(self.keys, self.sizes, self.names)):
            if size.is_sequence:
                raise LayerGraphError(f"trainnet on a minibatchqueue takes image ('SSCB') and feature ('CB') data; "
                                      f"the {what} are sequences. Give the sequences to trainnet as a cell array or "
                                      "a datastore.", "nnet_cnn:trainnet:InvalidMiniBatchQueue")
            v = self.mbq._wrap(outs[k], k)
            want = "SSCB" if size.is_image else "CB"
            fmt = v._fmt if isinstance(v, dlarray) else ""
            data = np.asarray(_as_data(v))
            fmt = fmt or want
            if fmt not in (want, want[:-1]) or data.ndim > len(want):
                raise LayerGraphError(f"Invalid training data. Output {k + 1} of the minibatchqueue (the {what}) has "
                                      f"format '{fmt}'; the network expects '{want}'. Set MiniBatchFormat.",
                                      "nnet_cnn:trainnet:InvalidMiniBatchQueue")
            data = data.reshape(data.shape + (1,) * (len(want) - data.ndim))
            x = _to_layout(data, want)
            if x.shape[0] != len(indices) or x.shape[1:] != size.internal:
                shape = "x".join(map(str, data.shape))
                raise LayerGraphError(f"Invalid training data. Output {k + 1} of the minibatchqueue (the {what}) has "
                                      f"size {shape} for a mini-batch of {len(indices)} observations; the network "
                                      f"expects {'x'.join(map(str, size.dims))} per observation ('{want}').",
                                      "nnet_cnn:trainnet:InvalidMiniBatchQueue")
            result[key] = np.ascontiguousarray(x, dtype=self.dtype)
        return result


def _queue_data(mbq, analysis, in_name, out_ref, dtype):
    """(predictors, targets) of a minibatchqueue: two Columns of one source."""
    sizes = [analysis.info(in_name).ActivationSizes["out"], analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]]
    source = _QueueSource(mbq, [in_name, out_ref], sizes, ["predictors", "targets"], dtype)
    return source.column(in_name), source.column(out_ref), None


# -- trainnet -------------------------------------------------------------------------------------
def _as_dlnetwork(net) -> DLNetwork:
    if isinstance(net, DLNetwork):
        return net.initialize() if not net.Initialized else net
    if isinstance(net, (list, tuple)) or type(net).__name__ in ("LayerArray", "LayerGraph"):
        return dlnetwork(net)
    raise LayerGraphError(f"Invalid network: trainnet trains a dlnetwork or a layer array; received "
                          f"{type(net).__name__}.", "nnet_cnn:trainnet:InvalidNetwork")


def trainnet(*args):
    """net = trainnet(X, T, net, lossFcn, options), trainnet(ds, net, lossFcn, options),
    trainnet(mbq, net, lossFcn, options); ``net, info = trainnet(...)``. A minibatchqueue's
    mini-batches are its own (its MiniBatchSize, MiniBatchFcn and MiniBatchFormat; the options'
    MiniBatchSize has no effect) in the order the options' Shuffle gives (docs/modern_api.md)."""
    if len(args) == 5:
        X, T, net, lossFcn, options = args
    elif len(args) == 4:
        (X, net, lossFcn, options), T = args, None
        if not _is_datastore(X) and not isinstance(X, MiniBatchQueue):
            raise LayerGraphError("trainnet(data, net, lossFcn, options) takes a datastore or a minibatchqueue whose "
                                  "reads give the "
                                  "predictors and the targets; for arrays give the targets too: trainnet(X, T, net, "
                                  "lossFcn, options).", "nnet_cnn:trainnet:InvalidData")
    else:
        raise LayerGraphError(f"trainnet takes (X, T, net, lossFcn, options) or (data, net, lossFcn, options); "
                              f"received {len(args)} arguments.", "nnet_cnn:trainnet:InvalidArguments")
    if not isinstance(options, TrainingOptions):
        raise LayerGraphError("Expected options to be a training options object created by trainingOptions, "
                              f"not {type(options).__name__}.", "nnet_cnn:trainnet:InvalidTrainingOptions")
    objective = _objective(lossFcn, T, X)
    for m in options.Metrics:
        if m == "accuracy" and objective.name in ("mse", "mae", "huber"):  # a handle's: by its targets
            raise LayerGraphError(f'Metric "accuracy" needs a classification loss; the loss is "{lossFcn}". Use '
                                  '"rmse".', "nnet_cnn:trainnet:InvalidMetric")
    stems = [COLUMNS[m] for m in options.Metrics]
    if options.ObjectiveMetricName not in ("loss", *options.Metrics):
        raise LayerGraphError(f'Invalid ObjectiveMetricName "{options.ObjectiveMetricName}": it must be "loss" or '
                              "one of the Metrics (" + (", ".join(f'"{m}"' for m in options.Metrics) or "none")
                              + ").", "nnet_cnn:trainnet:InvalidObjectiveMetricName")
    device = _device(options)
    dl = _as_dlnetwork(net)
    analysis = dl._analysis
    require_valid(analysis)
    ins, outs = dl.InputNames, dl._graph.unconnected_outputs()
    if len(ins) != 1 or len(outs) != 1:
        raise LayerGraphError(f"layergraph's trainnet trains networks with one input and one output; this network "
                              f"has {len(ins)} inputs and {len(outs)} outputs.", "nnet_cnn:trainnet:InvalidNetwork")
    in_name, out_ref = ins[0], outs[0]
    out_name = out_ref[0]
    act = analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]
    stand_in = objective.stand_in()
    classes = list(range(1, act.channels + 1)) if objective.name == "index-crossentropy" and not (
        isinstance(T, Categorical)) else None
    dtype = np.float32
    if isinstance(X, MiniBatchQueue) and not isinstance(options, TrainingOptionsLBFGS):
        options = options.model_copy(update={"MiniBatchSize": X.MiniBatchSize})   # the queue's mini-batches

    def prepare(data, labels):
        if isinstance(data, MiniBatchQueue):
            return _queue_data(data, analysis, in_name, out_ref, dtype)
        where = (analysis, in_name, out_name, out_ref, dtype, classes)
        return _prepare_datastore(data, *where, out_layer=stand_in) if _is_datastore(data) \
            else _prepare(data, labels, *where, out_layer=stand_in)
    x, t, _ = prepare(X, T)
    validation = None
    if options.ValidationData is not None:
        vd = options.ValidationData
        xv, tv, _ = prepare(vd, None) if _is_datastore(vd) or isinstance(vd, MiniBatchQueue) else prepare(*vd)
        validation = ({in_name: xv}, {out_ref: tv})
    # trainnet's defaults are the trainnet era's: OutputNetwork and BatchNormalizationStatistics
    # "auto" unless given (the options object shows R2021's defaults, which trainNetwork keeps)
    given = options.model_fields_set
    options = options.model_copy(update={k: "auto" for k in ("OutputNetwork", "BatchNormalizationStatistics")
                                         if k not in given})
    if options.OutputNetwork in ("best-validation", "best-validation-loss") and validation is None:
        raise LayerGraphError('OutputNetwork "best-validation" needs validation data. Set ValidationData in '
                              'trainingOptions, or use OutputNetwork "last-iteration".',
                              "nnet_cnn:trainnet:BestValidationRequiresValidationData")

    in_layer, _ = normalized_input(options, dl._graph.layer(in_name), x)   # trainnet prints no announcement
    if in_layer is not dl._graph.layer(in_name):
        g = dl._graph._copy()
        g._g.nodes[in_name]["layer"] = in_layer
        dl = DLNetwork.build(g, Initialize=True)

    loss = _WithMetrics(objective.loss(act), objective, options.Metrics)
    records = []   # every iteration's info, validations included (the histories)
    lbfgs = isinstance(options, TrainingOptionsLBFGS)
    callbacks = [lambda info: records.append(info) if info["State"] == "iteration" else None]
    if options.Verbose:
        callbacks.append(TrainnetTable(stems, validation is not None, int(options.VerboseFrequency), lbfgs=lbfgs))
    view = None
    if options.Plots == "training-progress":
        view = ProgressView(stems[0] if stems else None)
        callbacks.append(_first_metric(view, stems))
    if options.OutputFcn is not None:
        callbacks.append(_output_fcn(options.OutputFcn, stems))
    objective_fn = None
    if options.ObjectiveMetricName != "loss":
        stem = COLUMNS[options.ObjectiveMetricName]
        sign = -1.0 if options.ObjectiveMetricName == "accuracy" else 1.0   # lower is better for the trainer
        objective_fn = lambda vloss, vmetric: sign * vmetric[stem]  # noqa: E731
    config = train_config(options, validation, x, callbacks=callbacks, device=device, dtype=dtype,
                          objective=objective_fn, validation_start=0,
                          on_compile=announce_compiling if options.Verbose or view is not None else None)
    if lbfgs:
        result = train_lbfgs(dl, {in_name: x}, {out_ref: t}, {out_ref: loss}, _lbfgs_config(options, config))
    else:
        result = train(dl, {in_name: x}, {out_ref: t}, {out_ref: loss}, config)
    if (result.non_finite or result.read_error) and not options.Verbose:
        warnings.warn(result.stop_reason, RuntimeWarning, stacklevel=2)
    return with_info(result.net, _info(records, stems, result, lbfgs))


def _lbfgs_config(options, config) -> LBFGSTrainConfig:
    """TrainingOptionsLBFGS and the TrainConfig trainnet built from it (validation, output network,
    statistics, callbacks) -> the L-BFGS trainer's config."""
    o = LBFGSOptions(max_iterations=int(options.MaxIterations), gradient_tolerance=float(options.GradientTolerance),
                     step_tolerance=float(options.StepTolerance), line_search=options.LineSearchMethod,
                     history_size=int(options.HistorySize),
                     initial_inverse_hessian_factor=float(options.InitialInverseHessianFactor),
                     max_line_search_iterations=int(options.MaxNumLineSearchIterations))
    c = config
    return LBFGSTrainConfig(lbfgs=o, validation=c.validation, validation_frequency=c.validation_frequency,
                            validation_patience=c.validation_patience, output_network=c.output_network,
                            objective=c.objective, validation_start=c.validation_start, bn_statistics=c.bn_statistics,
                            frozen_state=c.frozen_state, callbacks=c.callbacks, seed=c.seed, device=c.device,
                            dtype=c.dtype, on_compile=c.on_compile)


def _info(records, stems, result, lbfgs=False) -> TrainingInfo:
    def num(v):
        return math.nan if v is None else float(v)
    train_rows, val_rows = [], []
    for r in records:
        m, vm = r.get("TrainingMetric") or {}, r.get("ValidationMetric")
        if r["Iteration"] > 0 and lbfgs:
            train_rows.append((r["Iteration"], num(r["TrainingLoss"]), num(r["GradientNorm"]), num(r["StepNorm"]),
                               *[num(m.get(s)) for s in stems]))
        elif r["Iteration"] > 0:
            train_rows.append((r["Iteration"], r["Epoch"], num(r["BaseLearnRate"]), num(r["TrainingLoss"]),
                               *[num(m.get(s)) for s in stems]))
        v = r.get("ValidationLoss")
        if v is not None and not math.isnan(v):
            vm = vm if isinstance(vm, dict) else {}
            val_rows.append((r["Iteration"], float(v), *[num(vm.get(s)) for s in stems]))
    columns = ("Iteration", "Loss", "GradientNorm", "StepNorm") if lbfgs else \
        ("Iteration", "Epoch", "LearnRate", "Loss")
    training = Table((*columns, *stems), train_rows)
    validation = Table(("Iteration", "Loss", *stems), val_rows)
    return TrainingInfo(training, validation, result.output_iteration, result.stop_reason)


def _first_metric(view, stems):
    """The training-progress view plots the first metric (a number, not the {stem: value} dict)."""
    def pick(v):
        return v.get(stems[0]) if isinstance(v, dict) and stems else (None if isinstance(v, dict) else v)

    def call(info):
        if info["State"] == "iteration" and info["Iteration"] == 0:
            return False
        return view({**info, "TrainingMetric": pick(info.get("TrainingMetric")),
                     "ValidationMetric": pick(info.get("ValidationMetric"))})
    return call


def _output_fcn(fns, stems):
    """OutputFcn in trainnet's terms: Epoch, Iteration, TimeElapsed, LearnRate, TrainingLoss,
    ValidationLoss, the metrics (TrainingAccuracy, ValidationAccuracy, ...), State."""
    fns = fns if isinstance(fns, list) else [fns]

    def call(info):
        def val(v):
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        s = Struct(Epoch=info["Epoch"], Iteration=info["Iteration"], TimeElapsed=info["TimeSinceStart"],
                   LearnRate=val(info.get("BaseLearnRate")), TrainingLoss=val(info.get("TrainingLoss")),
                   ValidationLoss=val(info.get("ValidationLoss")), State=info["State"])
        for stem in stems:
            for which in ("Training", "Validation"):
                m = info.get(f"{which}Metric")
                s[f"{which}{stem}"] = val(m.get(stem)) if isinstance(m, dict) else None
        return any(bool(f(s)) for f in fns)
    return call


# -- testnet, minibatchpredict, scores2label ------------------------------------------------------
def testnet(net, *args):
    """metricValues = testnet(net, X, T, metrics) or testnet(net, ds, metrics): one value per
    metric, in order. Metrics: "accuracy" (percent), "rmse", or a loss name (its value)."""
    if len(args) == 3:
        X, T, metrics = args
    elif len(args) == 2 and _is_datastore(args[0]):
        (X, metrics), T = args, None
    else:
        raise LayerGraphError("testnet takes (net, X, T, metrics) or (net, ds, metrics).",
                              "nnet_cnn:testnet:InvalidArguments")
    if not isinstance(net, DLNetwork):
        raise LayerGraphError(f"testnet tests a dlnetwork; received {type(net).__name__}.",
                              "nnet_cnn:testnet:InvalidNetwork")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in names:
        if not isinstance(m, str) or (m.lower() not in METRICS and m.lower() not in LOSS_NAMES):
            raise LayerGraphError(f"Invalid metric {m!r}. Use \"accuracy\", \"rmse\" or a loss name ("
                                  + _names() + ").", "nnet_cnn:testnet:InvalidMetric")
    low = [m.lower() for m in names]
    labels = any(m in ("accuracy", "crossentropy", "index-crossentropy") for m in low) and isinstance(T, Categorical) \
        or (T is None and any(m in ("accuracy", "crossentropy") for m in low))
    objective = _Objective("crossentropy" if labels else "mse")
    ins, outs = net.InputNames, net._graph.unconnected_outputs()
    if len(ins) != 1 or len(outs) != 1:
        raise LayerGraphError("layergraph's testnet tests networks with one input and one output.",
                              "nnet_cnn:testnet:InvalidNetwork")
    analysis, in_name, out_ref = net._analysis, ins[0], outs[0]
    args_ = (analysis, in_name, out_ref[0], out_ref, np.float32, None)
    x, t, _ = _prepare_datastore(X, *args_, out_layer=objective.stand_in()) if _is_datastore(X) \
        else _prepare(X, T, *args_, out_layer=objective.stand_in())
    from ..data.sources import run
    y = run(net.executor("cpu", np.float32), {in_name: x}, [out_ref], 128)[out_ref]
    t = np.asarray(t)
    act = analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]
    out = []
    for m in low:
        if m in METRIC_FUNCTIONS:
            out.append(METRIC_FUNCTIONS[m](y, t, objective))
        else:
            out.append(float(_objective(m).loss(act)(y, t)[0]))
    return np.array(out)


testnet.__test__ = False   # not a test for pytest, in the test files that import it (ours and the users')


def minibatchpredict(net, X, *args, **kwargs):
    """[Y1, ..., YM] = minibatchpredict(net, X, MiniBatchSize=128, Outputs=names): plain arrays in
    MATLAB's layout (N x K scores for features and images classified per observation)."""
    opts = parse("minibatchpredict", args, kwargs, (), 0,
                 ["MiniBatchSize", "Outputs", "ExecutionEnvironment", "Acceleration", "InputDataFormats",
                  "OutputDataFormats", "UniformOutput"])
    for name in ("InputDataFormats", "OutputDataFormats"):
        if name in opts and str(opts[name]).lower() != "auto":
            raise LayerGraphError(f"Only {name} \"auto\" is supported by layergraph's minibatchpredict.",
                                  "nnet_cnn:minibatchpredict:InvalidFormats")
    if not isinstance(net, DLNetwork):
        raise LayerGraphError(f"minibatchpredict predicts with a dlnetwork; received {type(net).__name__}.",
                              "nnet_cnn:minibatchpredict:InvalidNetwork")
    return net.predict(X, MiniBatchSize=opts.get("MiniBatchSize", 128), Outputs=opts.get("Outputs"),
                       ExecutionEnvironment=opts.get("ExecutionEnvironment", "cpu"))


def scores2label(scores, classNames, dim=None):
    """labels = scores2label(scores, classNames[, dim]): the class of the highest score along
    ``dim`` (1-based; default: the dimension as long as classNames, the last one when several
    are), as a categorical with categories classNames. The top scores are
    ``scores.max(axis=dim - 1)``."""
    s = np.asarray(scores, dtype=float)
    names = list(classNames.categories if isinstance(classNames, Categorical) else classNames)
    k = len(names)
    if dim is None:
        fits = [d for d in range(s.ndim) if s.shape[d] == k]
        if not fits:
            raise LayerGraphError(f"The scores ({'x'.join(map(str, s.shape))}) have no dimension of the number of "
                                  f"classes ({k}).", "nnet_cnn:scores2label:InvalidScores")
        axis = fits[-1]
    else:
        if not isinstance(dim, (int, np.integer)) or not 1 <= dim <= max(s.ndim, 1):
            raise LayerGraphError(f"Invalid dim {dim!r}: expected a dimension of the scores, 1 to {s.ndim}.",
                                  "nnet_cnn:scores2label:InvalidDimension")
        axis = int(dim) - 1
        if s.shape[axis] != k:
            raise LayerGraphError(f"Dimension {dim} of the scores has {s.shape[axis]} elements, but there are {k} "
                                  "classes.", "nnet_cnn:scores2label:InvalidScores")
    idx = np.argmax(s, axis=axis).ravel()
    return Categorical([names[i] for i in idx], names)


__all__ = ["TrainingInfo", "minibatchpredict", "scores2label", "testnet", "trainnet"]
