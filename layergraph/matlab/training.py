"""trainNetwork(X, Y, layers, options): MATLAB's legacy training function on the
shared trainer (layergraph/train).

X is in MATLAB's layout (H x W x C x N images, N x numFeatures features), Y holds
labels (a sequence of strings or integers, or a ``categorical``) for a
classification layer, or numeric responses (N x R, or H x W x C x N) for a
regression layer. ``trainNetwork(ds, layers, options)`` trains from a datastore
(``datastore.py``: an imageDatastore with Labels, an augmentedImageDatastore, or one whose
reads give {predictors, responses}), streamed from disk with the reads run ahead of the
kernels; ValidationData may be a datastore too. Everything about the data that can be known
without decoding every image (labels, classes, each file's image size) is checked before the
first iteration; a file that cannot be read during training stops it with the file's name and
the network trained so far (a warning says so). Returns ``(net, info)``: a SeriesNetwork (layer array given) or
DAGNetwork (layer graph given), and MATLAB's info struct.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import warnings

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.infer import require_valid
from ..core.network import SequencePadding
from ..core.sequence import SequenceData
from ..display.training import ProgressView, VerboseTable
from ..train import CrossEntropy, HalfMeanSquared, TrainConfig, solvers, train
from ..train.checkpoint import read_checkpoint, write_checkpoint
from ..train.compiling import announce_compiling
from ..data.sources import Column
from ..display.reading import ReadProgress
from ..train.frontend import as_core, input_statistics
from ..train.normalization import needs_statistics
from ..train.schedules import piecewise
from .analysis import analyze
from .categorical import Categorical
from .data import to_internal
from .datastore import AugmentedImageDatastore, ImageDatastore, _is_datastore, _Source, check_files
from .layer_graph import LayerGraph
from .network import DAGNetwork, DLNetwork, SeriesNetwork
from .table import Struct
from .training_options import TrainingOptions


def with_info(net, info):
    """The trained network, holding ``info``: it is the network for every purpose (``net =
    trainNetwork(...)``, MATLAB's one-output form) and unpacks as ``net, info = trainNetwork(...)``
    (the networks' __iter__, matlab/network.py); trainnet's too."""
    net._train_info = info
    return net


# -- data ----------------------------------------------------------------------------
def _graph_of(layers):
    if isinstance(layers, (DAGNetwork, DLNetwork)):
        return layers.layer_graph, not isinstance(layers, SeriesNetwork) and isinstance(layers, DAGNetwork)
    if isinstance(layers, LayerGraph):
        return layers, True
    return layers, False


def _labels(Y, n, classes, layer_name):
    try:
        cat = Y if isinstance(Y, Categorical) and classes is None else Categorical(Y, classes)
    except LayerGraphError as err:
        if classes is not None:
            raise LayerGraphError(f"Invalid training data. The responses contain classes that are not in the "
                                  f"Classes of layer '{layer_name}': {err}") from None
        raise LayerGraphError(f"Invalid training data. Responses must be a vector of categorical labels (strings "
                              f"or integers), one per observation: {err}") from None
    if len(cat) != n:
        raise LayerGraphError(f"Invalid training data. The number of observations in X ({n}) and Y ({len(cat)}) "
                              "must be the same.", "nnet_cnn:internal:cnn:util:TrainNetworkDataValidator")
    return cat


def _responses(Y, n, size, layer_name, dtype):
    try:
        y = np.asarray(Y, dtype=dtype)
    except (TypeError, ValueError):
        raise LayerGraphError("Invalid training data. Responses for a regression layer must be numeric.") from None
    if size.is_image and size.spatial != (1, 1):
        if y.ndim == 3:
            y = y[..., None]
        expected = (*size.spatial, size.channels)
        if y.ndim != 4 or y.shape[:3] != expected:
            raise LayerGraphError(f"Invalid training data. Responses must be of size "
                                  f"{'x'.join(map(str, expected))}xN, but they have size "
                                  f"{'x'.join(map(str, y.shape))}.")
        if y.shape[3] != n:
            raise LayerGraphError(f"Invalid training data. The number of observations in X ({n}) and Y "
                                  f"({y.shape[3]}) must be the same.")
        t = cv.matlab_images_to_internal(y)
    else:
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2:
            raise LayerGraphError("Invalid training data. Responses must be an N x R matrix of numbers.")
        if y.shape[0] != n:
            raise LayerGraphError(f"Invalid training data. The number of observations in X ({n}) and Y "
                                  f"({y.shape[0]}) must be the same.")
        if y.shape[1] != size.channels:
            raise LayerGraphError(f"Invalid training data. The output size ({size.channels}) of the last layer "
                                  f"does not match the number of responses ({y.shape[1]}).")
        t = as_core(y, size, dtype)
    if not np.all(np.isfinite(t)):
        raise LayerGraphError("Invalid training data. The responses contain NaN or Inf values.")
    return np.ascontiguousarray(t)


def _step_targets(Y, x, out_layer, out_name, act, classes, padding, dtype):
    """Targets per time step (sequence-to-sequence): Y a list of 1 x S categorical labels (or
    R x S responses), one per sequence, each as long as its sequence -> (SequenceData of
    K x S one-hot or R x S arrays, padded with zeros; the categorical labels or None)."""
    ys = list(Y) if isinstance(Y, (list, tuple)) else None
    if ys is None or len(ys) != len(x):
        got = f"{len(ys)} sequences of labels" if ys is not None else f"a {type(Y).__name__}"
        raise LayerGraphError(f"Invalid training data. For a sequence-to-sequence network (layer '{out_name}' gets "
                              f"one output per time step), Y must be a cell array (list) of {len(x)} sequences of "
                              f"responses, one per observation, each as long as its sequence; got {got}.",
                              "nnet_cnn:internal:cnn:util:TrainNetworkDataValidator")
    steps = []
    cat = None
    if out_layer.family == "crossentropyex":
        flat = [np.asarray(y.labels if isinstance(y, Categorical) else ([y] if isinstance(y, str) else y)).ravel()
                for y in ys]
        if classes is None and all(isinstance(y, Categorical) for y in ys):   # their categories, in their order
            classes = list(dict.fromkeys(c for y in ys for c in y.categories))
        cat = _labels(np.concatenate(flat), sum(f.size for f in flat), classes, out_name)   # MATLAB's categories
        steps = [Categorical(f, cat.categories).onehot(dtype).T for f in flat]               # K x S each
    else:
        for i, y in enumerate(ys, 1):
            a = np.asarray(y, dtype=dtype)
            a = a[None, :] if a.ndim == 1 else a
            if a.ndim != 2 or a.shape[0] != act.channels:
                raise LayerGraphError(f"Invalid training data. Observation {i}: responses per time step must be "
                                      f"{act.channels} x S, but they have size {'x'.join(map(str, a.shape))}.")
            steps.append(np.ascontiguousarray(a))
    for i, (xi, t) in enumerate(zip(x, steps), 1):
        if t.shape[-1] != xi.shape[-1]:
            raise LayerGraphError(f"Invalid training data. Observation {i} has {xi.shape[-1]} time steps, but its "
                                  f"responses have {t.shape[-1]}; per-step labels must be as long as their "
                                  "sequence.", "nnet_cnn:internal:cnn:util:TrainNetworkDataValidator")
    return SequenceData(steps, padding, 0.0, dtype), cat


def _prepare(X, Y, analysis, input_name, out_name, out_ref, dtype, classes=None, padding=None, out_layer=None):
    """X, Y (MATLAB layout) -> internal inputs, targets and the categorical labels. The targets
    are those of the output layer ``out_name`` (or ``out_layer``, trainnet's stand-in for its
    loss): labels for a classification layer, numeric responses for a regression layer.
    Sequence data (a list of C x S arrays) becomes SequenceData, padded per mini-batch as
    ``padding`` (trainingOptions' Sequence* options) says."""
    size_in = analysis.info(input_name).ActivationSizes["out"]
    x = to_internal(X, size_in, input_name, dtype, getattr(analysis.layers[input_name], "MinLength", 1))
    if size_in.is_sequence:
        if not x:
            raise LayerGraphError("Invalid training data. X contains no observations.")
        out_layer = analysis.layers[out_name] if out_layer is None else out_layer
        act = analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]
        if act.is_sequence:
            t, cat = _step_targets(Y, x, out_layer, out_name, act, classes, padding, dtype)
            if cat is not None:
                _check_classes(cat, act, out_layer, out_name)
            return SequenceData(x, padding, dtype=dtype), t, cat
        x = SequenceData(x, padding, dtype=dtype)
    n = x.shape[0]
    if n == 0:
        raise LayerGraphError("Invalid training data. X contains no observations.")
    out_layer = analysis.layers[out_name] if out_layer is None else out_layer   # trainnet: its loss's stand-in
    act = analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]
    if out_layer.family == "crossentropyex":
        if isinstance(Y, np.ndarray) and Y.dtype.kind == "f" and Y.ndim == 2 and Y.shape[1] > 1:
            raise LayerGraphError("Invalid training data. For a classification layer, Y must be a vector of class "
                                  "labels (categorical, strings or integers), not a numeric matrix.")
        cat = _labels(Y, n, classes, out_name)
        _check_classes(cat, act, out_layer, out_name)
        return x, as_core(cat.onehot(dtype), act, dtype), cat
    return x, _responses(Y, n, act, out_name, dtype), None


def _check_classes(cat, act, out_layer, out_name):
    k = len(cat.categories)
    if act.channels != k:
        raise LayerGraphError(f"Invalid training data. The output size ({act.channels}) of the last layer does "
                              f"not match the number of classes ({k}).",
                              "nnet_cnn:trainNetwork:InvalidResponse")
    weights = out_layer.ClassWeights
    if not isinstance(weights, str) and np.size(weights) != k:
        raise LayerGraphError(f"Invalid training data. Layer '{out_name}' has {np.size(weights)} ClassWeights, "
                              f"but there are {k} classes: give one weight per class, in the order of Classes.",
                              "nnet_cnn:trainNetwork:InvalidResponse")


def _label_text(value) -> str:
    if isinstance(value, Categorical):
        return str(value.labels[0])
    return str(Categorical([str(value)] if not isinstance(value, (int, np.integer)) else [value]).labels[0])


def _prepare_datastore(ds, analysis, input_name, out_name, out_ref, dtype, classes=None, out_layer=None):
    """A datastore -> (predictors as a source's Column, targets (an array when the datastore
    knows its labels, else a Column), the categorical labels or None). Nothing is decoded here
    but, for a datastore whose reads carry the responses, the first observation."""
    size_in = analysis.info(input_name).ActivationSizes["out"]
    n = ds._n()
    if n == 0:
        raise LayerGraphError("Invalid training data. The datastore contains no observations.")
    check_files(ds, size_in, input_name)
    out_layer = analysis.layers[out_name] if out_layer is None else out_layer   # trainnet: its loss's stand-in
    act = analysis.info(out_ref[0]).ActivationSizes[out_ref[1]]
    classify = out_layer.family == "crossentropyex"
    if isinstance(ds, (ImageDatastore, AugmentedImageDatastore)):
        known = ds._responses()
        if known is None or len(known) == 0:
            raise LayerGraphError("Invalid training data. The datastore has no responses: its Labels are empty. "
                                  "Create it with 'LabelSource', 'foldernames', or set Labels.",
                                  "nnet_cnn:trainNetwork:InvalidResponse")
        x = _Source(ds, input_name, size_in, dtype).column(input_name)
        if classify:
            cat = _labels(known, n, classes, out_name)
            _check_classes(cat, act, out_layer, out_name)
            return x, as_core(cat.onehot(dtype), act, dtype), cat
        return x, _responses(np.asarray(known), n, act, out_name, dtype), None
    first = ds._columns(ds._native(0, np.random.default_rng(0)))
    if len(first) < 2:
        raise LayerGraphError(f"Invalid training data. Each read of the {type(ds).__name__} must give the "
                              "predictors and the responses ({X, Y}, e.g. combine(dsX, dsY)); its reads give "
                              f"{len(first)} column.", "nnet_cnn:trainNetwork:InvalidResponse")
    if classify:
        cats = classes
        if cats is None:
            if not isinstance(first[1], Categorical):
                raise LayerGraphError("Invalid training data. The responses that the datastore reads must be "
                                      "categorical (their categories are the classes), or set the Classes of "
                                      f"layer '{out_name}'.", "nnet_cnn:trainNetwork:InvalidResponse")
            cats = list(first[1].categories)
        cat = Categorical([], cats)
        _check_classes(cat, act, out_layer, out_name)

        def encode(rows, indices):
            texts = [_label_text(r[1]) for r in rows]
            try:
                return as_core(Categorical(texts, cats).onehot(dtype), act, dtype)
            except LayerGraphError as err:
                raise LayerGraphError(f"Invalid training data at observation {int(indices[0]) + 1} and on: {err}") \
                    from None
    else:
        cat = None

        def encode(rows, indices):
            y = np.stack([np.asarray(r[1], dtype=dtype) for r in rows])
            if act.is_image and act.spatial != (1, 1):
                return np.ascontiguousarray(cv.matlab_images_to_internal(np.moveaxis(y, 0, -1)), dtype=dtype)
            return as_core(y.reshape(y.shape[0], -1), act, dtype)
    source = _Source(ds, input_name, size_in, dtype, {"ref": out_ref, "size": act, "encode": encode})
    return source.column(input_name), source.column(out_ref), cat


def _device(options):
    env = options.ExecutionEnvironment
    if env in ("auto", "cpu"):
        return "cpu"
    if env == "gpu":
        raise LayerGraphError("ExecutionEnvironment 'gpu': layergraph trains on the CPU only. Its CUDA kernels "
                              "run prediction (predict, classify and activations take ExecutionEnvironment "
                              "'gpu'), not the training step. Use 'cpu' or 'auto'.",
                              "nnet_cnn:trainNetwork:GPUNotSupported")
    raise LayerGraphError(f"ExecutionEnvironment '{env}' (parallel training) is not supported by layergraph. Use "
                          "'cpu' or 'auto'.", "nnet_cnn:trainNetwork:ParallelNotSupported")


def _solver(options):
    name = options.solver_name
    if name == "sgdm":
        return solvers.SGDM(options.Momentum)
    if name == "adam":
        return solvers.Adam(options.GradientDecayFactor, options.SquaredGradientDecayFactor, options.Epsilon)
    if name == "lbfgs":
        return None   # not a per-step rule: trainnet runs train/lbfgs.py
    return solvers.RMSProp(options.SquaredGradientDecayFactor, options.Epsilon)


def normalized_input(options, in_layer, x):
    """The input layer with its normalization statistics computed from the training
    predictors ``x`` where trainingOptions asks for it (ResetInputNormalization, or statistics
    not set yet), and the lines the verbose output announces."""
    if not (options.ResetInputNormalization or needs_statistics(in_layer)):
        return in_layer, []
    reading = ReadProgress("Reading the training data for input normalization") \
        if options.Verbose and isinstance(x, Column) else None
    stats = input_statistics(in_layer, x, int(options.MiniBatchSize), reading)
    if not stats:
        return in_layer, []
    return in_layer._resolved_copy(**stats), ["Initializing input data normalization."]


def train_config(options, validation, x, **fields) -> TrainConfig:
    """trainingOptions -> the trainer's TrainConfig (trainNetwork and trainnet): the solver, the
    schedule, the limits; ``validation`` as the trainer takes it, ``x`` the training predictors
    (a streamed Column gets a progress line for its statistics pass); ``fields`` the rest."""
    best = options.OutputNetwork in ("best-validation-loss", "best-validation") or (
        options.OutputNetwork == "auto" and validation is not None)
    return TrainConfig(
        solver=_solver(options), learn_rate=float(options.InitialLearnRate),
        schedule=piecewise(options.LearnRateDropFactor, options.LearnRateDropPeriod)
        if options.LearnRateSchedule == "piecewise" else None,
        l2=float(options.L2Regularization), gradient_threshold_method=options.GradientThresholdMethod,
        gradient_threshold=float(options.GradientThreshold), max_epochs=int(options.MaxEpochs),
        minibatch_size=int(options.MiniBatchSize), shuffle=options.Shuffle, validation=validation,
        validation_frequency=int(options.ValidationFrequency), validation_patience=options.ValidationPatience,
        output_network="best-validation-loss" if best else "last-iteration",
        bn_statistics="population" if options.BatchNormalizationStatistics == "auto"
        else options.BatchNormalizationStatistics,
        checkpoint_frequency=int(options.CheckpointFrequency), checkpoint_unit=options.CheckpointFrequencyUnit,
        on_read=ReadProgress("Reading the training data for batch normalization statistics")
        if options.Verbose and isinstance(x, Column) else None, **fields)


def _output_fcn_adapter(fns, metric):
    fns = fns if isinstance(fns, list) else [fns]
    m_train = "TrainingAccuracy" if metric == "Accuracy" else "TrainingRMSE"
    m_val = "ValidationAccuracy" if metric == "Accuracy" else "ValidationRMSE"

    def call(info):
        def val(key):
            v = info.get(key)
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        s = Struct(Epoch=info["Epoch"], Iteration=info["Iteration"], TimeSinceStart=info["TimeSinceStart"],
                   TrainingLoss=val("TrainingLoss"), ValidationLoss=val("ValidationLoss"),
                   BaseLearnRate=val("BaseLearnRate"), TrainingAccuracy=None, TrainingRMSE=None,
                   ValidationAccuracy=None, ValidationRMSE=None, State=info["State"])
        s[m_train] = val("TrainingMetric")
        s[m_val] = val("ValidationMetric")
        return any(bool(f(s)) for f in fns)
    return call


# -- trainNetwork ----------------------------------------------------------------------------
def _sequence_padding(options) -> SequencePadding:
    """trainingOptions' Sequence* options; SequenceLength = k pads each mini-batch to its longest
    sequence and trains it k steps at a time (TrainConfig.sequence_chunk)."""
    return SequencePadding(options.SequenceLength, float(options.SequencePaddingValue),
                           options.SequencePaddingDirection)


def trainNetwork(*args):
    """[net, info] = trainNetwork(X, Y, layers, options) or trainNetwork(ds, layers, options)."""
    if len(args) == 3 and _is_datastore(args[0]):
        (X, layers, options), Y = args, None
    elif len(args) == 4:
        X, Y, layers, options = args
    else:
        raise LayerGraphError("trainNetwork takes (X, Y, layers, options) or (ds, layers, options) with ds a "
                              f"datastore; received {len(args)} arguments"
                              f"{' and no datastore first' if len(args) == 3 else ''}.",
                              "nnet_cnn:trainNetwork:InvalidArguments")
    if not isinstance(options, TrainingOptions):
        raise LayerGraphError("Expected options to be a training options object created by trainingOptions, "
                              f"not {type(options).__name__}.", "nnet_cnn:trainNetwork:InvalidTrainingOptions")
    if options.solver_name == "lbfgs":
        raise LayerGraphError("The L-BFGS solver is not supported by trainNetwork. To train with the \"lbfgs\" "
                              "solver, use the trainnet function.", "nnet_cnn:trainNetwork:LBFGSNotSupported")
    resume = None
    if isinstance(layers, (str, os.PathLike)):
        layers, resume = read_checkpoint(layers)
    device = _device(options)
    obj, dag = _graph_of(layers)
    analysis = analyze(obj)
    require_valid(analysis)
    graph = analysis.graph
    inputs = graph.InputNames
    outputs = graph.OutputNames
    if len(inputs) != 1 or len(outputs) != 1:
        raise LayerGraphError(f"trainNetwork(X, Y, ...) trains networks with one input layer and one output layer; "
                              f"this network has {len(inputs)} inputs and {len(outputs)} outputs.")
    in_name, out_name = inputs[0], outputs[0]
    out_layer = analysis.layers[out_name]
    if not out_layer.is_output or out_layer.family not in ("crossentropyex", "mse"):
        raise LayerGraphError(f"Layer '{out_name}' is not a classification or regression output layer.")
    in_layer = analysis.layers[in_name]
    if getattr(in_layer, "DataAugmentation", "none") != "none":
        raise LayerGraphError(f"Layer '{in_name}': DataAugmentation '{in_layer.DataAugmentation}' is not supported "
                              "by layergraph's trainNetwork. Use 'none' and augment the data beforehand.")
    src, port, _, _ = next(c for c in graph.connections() if c[2] == out_name)
    out_ref = (src, port)
    dtype = np.float32
    classes = out_layer.Classes if out_layer.family == "crossentropyex" and isinstance(out_layer.Classes, list) \
        else None
    padding = _sequence_padding(options)
    x, t, cat = _prepare_datastore(X, analysis, in_name, out_name, out_ref, dtype, classes) if _is_datastore(X) \
        else _prepare(X, Y, analysis, in_name, out_name, out_ref, dtype, classes, padding)
    classes = cat.categories if cat is not None else None
    validation = None
    if options.OutputNetwork in ("best-validation-loss", "best-validation") and options.ValidationData is None:
        raise LayerGraphError("OutputNetwork 'best-validation-loss' needs validation data. Set ValidationData in "
                              "trainingOptions, or use OutputNetwork 'last-iteration'.",
                              "nnet_cnn:TrainingOptions:BestValidationRequiresValidationData")
    if _is_datastore(options.ValidationData):
        xv, tv, _ = _prepare_datastore(options.ValidationData, analysis, in_name, out_name, out_ref, dtype, classes)
        validation = ({in_name: xv}, {out_ref: tv})
    elif options.ValidationData is not None:
        Xv, Yv = options.ValidationData
        xv, tv, _ = _prepare(Xv, Yv, analysis, in_name, out_name, out_ref, dtype, classes, padding)
        validation = ({in_name: xv}, {out_ref: tv})

    announce = []
    if resume is None:
        in_layer, announce = normalized_input(options, in_layer, x)
    body = graph._copy()
    body._g.nodes[in_name]["layer"] = in_layer
    body = body.removeLayers(out_name)
    net = DLNetwork.build(body, Initialize=True)

    metric = "Accuracy" if cat is not None else "RMSE"
    loss = CrossEntropy(None if isinstance(out_layer.ClassWeights, str) else out_layer.ClassWeights) \
        if cat is not None else HalfMeanSquared()
    if hasattr(out_layer, "custom_loss"):   # a custom output layer's forwardLoss (matlab/custom.py)
        loss = out_layer.custom_loss()
    callbacks = []
    if options.Verbose:
        print("Training on single CPU.")
        for line in announce:
            print(line)
        callbacks.append(VerboseTable(metric, validation is not None, options.VerboseFrequency))
    view = None
    if options.Plots == "training-progress":
        # the figure is written only where the user asked for files: the checkpoint folder
        path = os.path.join(options.CheckpointPath, "training-progress.png") if options.CheckpointPath else None
        view = ProgressView(metric, path)
        callbacks.append(view)
    if options.OutputFcn is not None:
        callbacks.append(_output_fcn_adapter(options.OutputFcn, metric))

    def finish(trained: DLNetwork):
        """The trained layers with the output layer (Classes set) as a Series/DAG network."""
        g = graph._copy()
        for name in trained.layer_graph._g.nodes:
            g._g.nodes[name]["layer"] = trained.layer_graph.layer(name)
        final_out = out_layer._resolved_copy(Classes=list(classes)) if classes is not None else out_layer
        g._g.nodes[out_name]["layer"] = final_out
        assembled = DAGNetwork.assemble(g)
        return assembled if dag else SeriesNetwork(assembled.layer_graph, assembled.analysis)

    checkpoint = None
    if options.CheckpointPath:
        folder = options.CheckpointPath
        if not os.path.isdir(folder):
            raise LayerGraphError(f"Invalid value for 'CheckpointPath': the folder '{folder}' does not exist.",
                                  "nnet_cnn:TrainingOptions:InvalidCheckpointPath")

        def checkpoint(state, partial):
            stamp = _dt.datetime.now().strftime("%Y_%m_%d__%H_%M_%S")
            path = os.path.join(folder, f"net_checkpoint__{state.iteration}__{stamp}.lgnet")
            write_checkpoint(path, finish(partial.net), state)

    config = train_config(options, validation, x, callbacks=callbacks, checkpoint=checkpoint, device=device,
                          dtype=dtype, sequence_chunk=padding.chunk,
                          on_compile=announce_compiling if options.Verbose or view is not None else None)
    result = train(net, {in_name: x}, {out_ref: t}, {out_ref: loss}, config, resume=resume)
    if (result.non_finite or result.read_error) and not options.Verbose:
        warnings.warn(result.stop_reason, RuntimeWarning, stacklevel=2)  # the verbose table prints it
    trained = finish(result.net)

    hist = result.history
    col = lambda key: np.array([r[key] if r[key] is not None else np.nan for r in hist], dtype=float)  # noqa: E731
    info = Struct(TrainingLoss=col("TrainingLoss"))
    info[f"Training{metric}"] = col("TrainingMetric")
    info["ValidationLoss"] = col("ValidationLoss")
    info[f"Validation{metric}"] = col("ValidationMetric")
    info["BaseLearnRate"] = col("BaseLearnRate")
    fv = result.final_validation
    info["FinalValidationLoss"] = fv["Loss"] if fv else None
    info[f"FinalValidation{metric}"] = fv["Metric"] if fv else None
    info["OutputNetworkIteration"] = result.output_iteration
    info["StopReason"] = result.stop_reason
    if view is not None:
        info["ProgressFigure"] = view.figure            # a matplotlib Figure (None without matplotlib)
        info["ProgressFigureFile"] = view.figure_path   # the PNG in CheckpointPath, or None
    return with_info(trained, info)

