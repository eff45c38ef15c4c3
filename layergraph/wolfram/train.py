"""NetTrain on the core trainer (``layergraph.train``).

``NetTrain(net, data, ...)`` initializes what is missing (NetInitialize), attaches the
losses (LossFunction: a loss layer of ``losses.py``, {port: loss layer}, or Automatic:
CrossEntropyLossLayer["Index"] after a SoftmaxLayer, CrossEntropyLossLayer["Binary"] after
ElementwiseLayer[LogisticSigmoid], MeanSquaredLossLayer otherwise), translates Wolfram's
options into a ``TrainConfig`` and returns the trained net, or with ``All`` a NetTrainResultsObject.

Data, in Python:
  ``[(x1, y1), (x2, y2), ...]``         Wolfram's {x1 -> y1, x2 -> y2, ...}
  ``(xs, ys)``                          {x1, x2, ...} -> {y1, y2, ...}  (lists or arrays, batch first)
  ``{"Input": xs, "Output": ys}``       <|"Input" -> {...}, "Output" -> {...}|>  (ports by name)
Class targets for CrossEntropy are 1-based indices (Wolfram's "Index"), or probability
vectors of the output's size. An input port with a NetEncoder takes what the encoder
takes (labels, images, ...); an output with a NetDecoder takes targets in the decoder's
terms (class labels, True/False, images), encoded by the decoder's matching encoder.
Image files (``File("a.png")`` or paths, ``[(File(p), label), ...]``) on a port with an
"Image" encoder are streamed: decoded a mini-batch at a time, ahead of the kernels.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from ..core.errors import LayerGraphError
from ..display.training import EpochProgress, live_display_available, loss_plot
from ..train import SGDM, Adam, RMSPropCentered, ScaledLoss, Signum, TrainConfig, WeightClipped, train
from ..train.compiling import announce_compiling
from ..train.frontend import EpochMonitor, Patience, Throttled, as_core, holdout
from ..train.schedules import polynomial
from . import symbols as S
from .args import checked, one_of, same
from .coders import ImageEncoder
from .initialize import NetInitialize
from .layers import ElementwiseLayer, NetLayer, SoftmaxLayer
from .losses import CrossEntropyLossLayer, LossLayer, MeanSquaredLossLayer, OutputLoss
from .messages import message
from .net import NetChain, _Container, _generator, _lrm_option, _positive, numeric_array
from .embedding import index_sequences
from .recurrent import Sequences
from .types import _wl, dims_to_size, is_varying, phrase, wl_list

# Wolfram's optimizer defaults (12.x MXNetLink table; newest versions)
METHODS = {
    "ADAM": {"LearningRate": 0.001, "Beta1": 0.9, "Beta2": 0.999, "Epsilon": 1e-5},
    "SGD": {"LearningRate": 0.01, "Momentum": 0.93, "LearningRateSchedule": "Polynomial"},
    # MXNet's signum_update (signsgd_update with Momentum 0 or None)
    "SignSGD": {"LearningRate": 0.01, "Momentum": 0.93},
    # MXNet's rmspropalex_update (centred, with momentum): Beta is its gamma1, Momentum gamma2
    "RMSProp": {"LearningRate": 0.001, "Beta": 0.95, "Momentum": 0.9, "Epsilon": 1e-6},
}
COMMON = {"LearningRate": S.Automatic, "L2Regularization": 0, "GradientClipping": None, "WeightClipping": None,
          "LearningRateSchedule": None}
MAX_BATCH = 64          # $MaxTrainingBatchSize
AUTO_SECONDS = 20.0     # MaxTrainingRounds -> Automatic: about 20 s of training ...
AUTO_ROUNDS = (10, 10000)  # ... clipped to {10, 10000} rounds


# -- data ------------------------------------------------------------------------------------------
def _as_array(value, what):
    return numeric_array(value, f"Data provided to port \"{what}\"",
                         "a list of numeric arrays of equal dimensions", "NetTrain::invindim")


def _port_array(net, value, port, target=False):
    """Inputs or targets as an array with the batch first. An input port's encoder encodes the
    examples; the targets of an output with a decoder go through the decoder's matching
    encoder (class labels -> 1-based indices, True/False -> 1/0, images -> arrays)."""
    if target:
        decoder = net._decoders.get(port)
        coder = None if decoder is None else decoder.target_encoder(net._output_dims(port))
    else:
        coder = net._encoders.get(port)
        # image files are read as a stream, a mini-batch at a time (coders.py)
        column = coder.file_column(value, port) if isinstance(coder, ImageEncoder) else None
        if column is not None:
            return column
    if coder is None and not target:   # a sequence port {"Varying", d}: a list of T x d matrices
        dims = net._data_dims(port)
        if is_varying(dims):
            return index_sequences(port, value, dims, "Data provided")[0]
    return _as_array(value, port) if coder is None else coder.encode_many(value, port)


def _parse(net, data, outs=None):
    """{input port: array (N first)}, {output port: array (N first)} for the output ports
    ``outs`` that carry a loss (default: all)."""
    ins, every_out = net._input_names(), net._output_names()
    outs = every_out if outs is None else outs
    if data is None or (hasattr(data, "__len__") and len(data) == 0):
        raise LayerGraphError("No training data provided.", "NetTrain::nodata")
    if isinstance(data, dict):
        unknown = [k for k in data if k not in ins and k not in outs]
        if unknown:
            why = (" (an output without a loss in LossFunction takes no targets)" if unknown[0] in every_out
                   else "")
            raise LayerGraphError(f"Unknown input {unknown[0]!r} provided{why}. Ports: {', '.join(ins + outs)}.",
                                  "General::inpunk")
        missing = [k for k in ins + outs if k not in data]
        if missing:
            raise LayerGraphError(f"Required input slot {missing[0]!r} was not provided.", "General::inpmiss")
        xs = {k: _port_array(net, data[k], k) for k in ins}
        ys = {k: _port_array(net, data[k], k, target=True) for k in outs}
    else:
        if len(ins) != 1 or len(outs) != 1:
            raise LayerGraphError("Data rules in -> out require a net with exactly one input and one output (with a "
                                  "loss); give a dict {port: data} instead.", "NetTrain::invtdata")
        if isinstance(data, tuple) and len(data) == 2:
            x, y = data
        elif isinstance(data, list) and all(isinstance(d, tuple) and len(d) == 2 for d in data):
            x, y = [d[0] for d in data], [d[1] for d in data]
        else:
            raise LayerGraphError("Training data should be an association of lists, or a rule from input to output "
                                  "examples.", "NetTrain::invtdata")
        xs, ys = {ins[0]: _port_array(net, x, ins[0])}, {outs[0]: _port_array(net, y, outs[0], target=True)}
    counts = {a.shape[0] if a.ndim else -1 for a in list(xs.values()) + list(ys.values())}
    if len(counts) != 1 or -1 in counts:
        raise LayerGraphError("The inputs and targets should have the same number of examples.",
                              "NetTrain::invtdata")
    return xs, ys


def _loss_function(spec, outs):
    """LossFunction -> ({output port: loss layer, Automatic or OUTPUT_LOSS}, {port: scale}),
    in the order of the net's outputs. Automatic: every output, each with its automatic
    loss; a loss layer: the one output; "port" or ["port1", ...]: those outputs are the loss
    themselves (OUTPUT_LOSS); {port: value} or a list of "port" and (port, value) items, a
    value being a loss layer, Automatic, Scaled(r) (the port is the loss, times r) or
    (loss layer or Automatic, Scaled(r)): those outputs only."""
    if spec is S.Automatic:
        return {p: S.Automatic for p in outs}, {}
    if isinstance(spec, LossLayer):
        if len(outs) != 1:
            raise LayerGraphError(f"LossFunction -> {spec!r} needs a net with one output; this one has "
                                  f"{len(outs)} ({', '.join(outs)}): give {{port: loss layer}}.",
                                  "NetTrain::invloss")
        return {outs[0]: spec}, {}
    items = None
    if isinstance(spec, str):
        items = [(spec, OUTPUT_LOSS)]
    elif isinstance(spec, dict):
        items = list(spec.items())
    elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        items = [spec]
    elif isinstance(spec, list) and spec and all(isinstance(p, str) or (isinstance(p, tuple) and len(p) == 2)
                                                 for p in spec):
        items = [(p, OUTPUT_LOSS) if isinstance(p, str) else p for p in spec]
    if items is None:
        raise LayerGraphError(f"LossFunction -> {_wl(spec)} should be Automatic, a loss layer "
                              "(CrossEntropyLossLayer, MeanSquaredLossLayer, MeanAbsoluteLossLayer), "
                              "{port: loss layer}, a list of (port, loss layer) pairs, or an output port name; "
                              "a loss may be scaled: {port: (loss layer, Scaled(r))} or {port: Scaled(r)}.",
                              "NetTrain::invloss")
    chosen, scales = {}, {}
    for port, value in items:
        if not isinstance(port, str) or port not in outs:
            raise LayerGraphError(f"LossFunction: {_wl(port)} is not an output port of the net (outputs: "
                                  f"{', '.join(outs)}).", "NetTrain::invloss")
        if port in chosen:
            raise LayerGraphError(f"LossFunction: the port \"{port}\" is given more than one loss.",
                                  "NetTrain::invloss")
        layer, scale = value, None
        if isinstance(value, S.Scaled):
            layer, scale = OUTPUT_LOSS, value
        elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], S.Scaled):
            layer, scale = value
        if layer is not S.Automatic and layer is not OUTPUT_LOSS and not isinstance(layer, LossLayer):
            raise LayerGraphError(f"LossFunction: the loss of the port \"{port}\", {_wl(value)}, should be a loss "
                                  "layer, Automatic, Scaled(r) or (loss layer, Scaled(r)).", "NetTrain::invloss")
        if scale is not None:
            if not np.isfinite(scale.r):
                raise LayerGraphError(f"LossFunction: {_wl(scale)} for the port \"{port}\" should scale by a "
                                      "finite number.", "NetTrain::invloss")
            scales[port] = scale.r
        chosen[port] = layer
    if not chosen:
        raise LayerGraphError("LossFunction: no output port is given a loss.", "NetTrain::invloss")
    return {p: chosen[p] for p in outs if p in chosen}, scales


OUTPUT_LOSS = "$output"   # LossFunction -> "port": the output is the loss


def _automatic_loss(leaf):
    """The automatic loss of an output whose last layer is ``leaf``: CrossEntropyLossLayer["Index"]
    after a SoftmaxLayer, ["Binary"] after ElementwiseLayer[LogisticSigmoid], MeanSquaredLossLayer
    otherwise."""
    if isinstance(leaf, SoftmaxLayer):
        return CrossEntropyLossLayer("Index")
    if isinstance(leaf, ElementwiseLayer) and leaf.params["Function"] is S.LogisticSigmoid:
        return CrossEntropyLossLayer("Binary")
    return MeanSquaredLossLayer()


def _examples(xs):
    return next(iter(xs.values())).shape[0]


def _loss_targets(layer, automatic, y, out_dims, port, n):
    """Targets in the output's shape for the port's loss layer (``n`` examples). The automatic
    cross-entropy takes class indices or probability arrays of the output's dimensions."""
    if layer is OUTPUT_LOSS:
        return np.zeros((n, *out_dims))     # a placeholder: the output is the loss, it reads no target
    if automatic and isinstance(layer, CrossEntropyLossLayer) and layer.target == "Index":
        return _targets("CrossEntropy", y, out_dims, port)
    if not automatic:
        layer.check_output(tuple(out_dims), port)
    return layer.targets(y, tuple(out_dims), port)


def _targets(kind, y, out_dims, port):
    n = y.shape[0]
    if kind == "CrossEntropy":
        k = out_dims[-1] if len(out_dims) else 1
        if y.shape[1:] == tuple(out_dims):
            return y  # probability vectors
        if y.ndim == 1 and len(out_dims) == 1:
            if np.any(y != np.round(y)) or np.any(y < 1) or np.any(y > k):
                raise LayerGraphError(f"Targets for port \"{port}\" should be class indices between 1 and {k} "
                                      f"(CrossEntropyLossLayer[\"Index\"]).", "NetTrain::invindim")
            t = np.zeros((n, k))
            t[np.arange(n), y.astype(int) - 1] = 1
            return t
        raise LayerGraphError(f"Targets for port \"{port}\" should be class indices or {phrase(out_dims)}s.",
                              "NetTrain::invindim")
    if y.shape[1:] != tuple(out_dims):
        raise LayerGraphError(f"Data provided to port \"{port}\" should be a list of numeric arrays of dimensions "
                              f"{wl_list(out_dims)}; received {wl_list(y.shape)}.", "NetTrain::invindim")
    return y


# -- options ---------------------------------------------------------------------------------------
def _method(value, learning_rate):
    if value is S.Automatic:
        value = "ADAM"
    name, sub = value, {}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        name = value[0]
        rest = value[1:]
        try:
            sub = dict(rest[0]) if len(rest) == 1 and isinstance(rest[0], dict) else dict(rest)
        except (TypeError, ValueError):
            raise LayerGraphError(f"Method -> {_wl(value)}: suboptions should be a dict or (\"name\", value) pairs.",
                                  "NetTrain::invmethod") from None
    if not isinstance(name, str) or name not in METHODS:
        raise LayerGraphError(f"The value of Method -> {_wl(value)} should be \"ADAM\", \"SGD\", \"SignSGD\" or "
                              "\"RMSProp\" (or Automatic).", "NetTrain::invmethod")
    opts = {**COMMON, **METHODS[name]}
    if "InitialLearningRate" in sub:
        sub["LearningRate"] = sub.pop("InitialLearningRate")
    for k in sub:
        if k not in opts:
            raise LayerGraphError(f"{k!r} is not a suboption of Method \"{name}\". Suboptions: "
                                  f"{', '.join(opts)}.", "NetTrain::invmethod")
    opts.update(sub)
    if learning_rate is not S.Automatic:
        opts["LearningRate"] = learning_rate
    if opts["LearningRate"] is S.Automatic:
        opts["LearningRate"] = METHODS[name]["LearningRate"]
    def number(v):
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)

    below_one = ("Beta1", "Beta2", "Beta")
    clips = ("GradientClipping", "WeightClipping")
    for k in ("LearningRate", "Beta1", "Beta2", "Beta", "Epsilon", "Momentum", "L2Regularization", *clips):
        if k not in opts:
            continue
        v = opts[k]
        if v is None and k in ("Momentum", *clips):
            continue
        if not number(v) or v < 0 or (k in below_one and v >= 1) or (k in clips and v == 0):
            raise LayerGraphError(f"The value of \"{k}\" -> {_wl(v)} should be a nonnegative number"
                                  f"{' below 1' if k in below_one else ''}.", "NetTrain::invmethod")
    return name, opts


def _solver(name, opts):
    if name == "ADAM":
        solver = Adam(gradient_decay=opts["Beta1"], squared_gradient_decay=opts["Beta2"], epsilon=opts["Epsilon"])
    elif name == "RMSProp":
        solver = RMSPropCentered(beta=float(opts["Beta"]), momentum=float(opts["Momentum"] or 0.0),
                                 epsilon=float(opts["Epsilon"]))
    elif name == "SignSGD":
        solver = Signum(momentum=float(opts["Momentum"] or 0.0))
    else:
        solver = SGDM(momentum=opts["Momentum"] or 0.0)
    clip = opts["WeightClipping"]
    return solver if clip is None else WeightClipped(solver, float(clip))


def _schedule(opts, total_iterations):
    s = opts.get("LearningRateSchedule")
    if s is None:
        return None
    if same(s, "Polynomial"):
        return polynomial(total_iterations)
    if callable(s):
        def custom(base, iteration, epoch):
            f = float(s(iteration, total_iterations))
            if not 0 < f <= 1:
                raise LayerGraphError("The learning rate schedule should return a real number between 0 and 1.",
                                      "General::badlrs")
            return base * f
        return custom
    raise LayerGraphError(f"\"LearningRateSchedule\" -> {_wl(s)} should be None, \"Polynomial\" or a function "
                          "f(iteration, maxIterations).", "NetTrain::invmethod")


# -- the results object ----------------------------------------------------------------------------
class NetTrainResultsObject:
    """``NetTrain(net, data, All)``: ``results["TrainedNet"]``, ``results["RoundLoss"]``,
    ``results["LossPlot"]``, ... (``results["Properties"]`` lists them)."""

    def __init__(self, props: dict):
        self._props = props

    def __getitem__(self, prop):
        if isinstance(prop, list):
            return [self[p] for p in prop]
        if not isinstance(prop, str):
            raise LayerGraphError(f"{_wl(prop)} is not a valid property of a NetTrainResultsObject.",
                                  "NetTrain::invntrspec")
        if prop == "Properties":
            return sorted(list(self._props) + ["LossPlot", "Properties"])
        if prop == "LossPlot":
            return self._loss_plot()
        if prop not in self._props:
            raise LayerGraphError(f"{_wl(prop)} is not a valid property of a NetTrainResultsObject. Properties: "
                                  f"{', '.join(self['Properties'])}.", "NetTrain::invntrspec")
        return self._props[prop]

    def _loss_plot(self):
        return loss_plot(self._props["RoundLossList"], self._props.get("ValidationLossList"))

    def __repr__(self):
        p = self._props
        lines = ["NetTrainResultsObject",
                 f"  Final round loss:   {p['RoundLoss']:.6g}" if p["RoundLoss"] is not None else "",
                 f"  Validation loss:    {p['ValidationLoss']:.6g}" if p.get("ValidationLoss") is not None else "",
                 f"  Rounds:             {p['TotalRounds']}",
                 f"  Batches:            {p['TotalBatches']} (batch size {p['BatchSize']})",
                 f"  Training time:      {p['TotalTrainingTime']:.3g} s",
                 f"  Method:             {p['OptimizationMethod']}",
                 f"  Stopped:            {p['ReasonTrainingStopped']}"]
        return "\n".join(line for line in lines if line)


# -- NetTrain --------------------------------------------------------------------------------------
PRINT_INTERVAL = 2.0      # "Print" reports at most every 2 s (Wolfram's default Interval)
LIVE_FORMS = ("Panel", "ProgressIndicator")


def _reporting(kind):
    """TrainingProgressReporting -> (form, interval in seconds): form None, "live" (a rich
    progress display), "Print" or a function of the round's association. Automatic is the
    live display where one can be shown (a terminal, a notebook), else "Print"; a form may
    come with suboptions, ["Print", ("Interval", 5)] (Wolfram's {"Print", "Interval" -> 5})."""
    form, sub = kind, {}
    if isinstance(kind, (list, tuple)) and kind and (isinstance(kind[0], str) or callable(kind[0])):
        form, rest = kind[0], kind[1:]
        try:
            sub = dict(rest[0]) if len(rest) == 1 and isinstance(rest[0], dict) else dict(rest)
        except (TypeError, ValueError):
            sub = None
        if sub is None or set(sub) - {"Interval"} or not (
                isinstance(sub.get("Interval", 0), (int, float)) and not isinstance(sub.get("Interval", 0), bool)
                and sub.get("Interval", 0) >= 0):
            raise LayerGraphError(f"TrainingProgressReporting -> {_wl(kind)}: the only suboption is \"Interval\" -> "
                                  "a nonnegative number of seconds.", "NetTrain::invrep")
    if form is None and not sub:
        return None, 0.0
    if one_of(form, S.Automatic, *LIVE_FORMS):
        live = live_display_available()
        return ("live" if live else "Print"), float(sub.get("Interval", 0.0 if live else PRINT_INTERVAL))
    if same(form, "Print"):
        return "Print", float(sub.get("Interval", PRINT_INTERVAL))
    if callable(form) and not isinstance(form, S.Symbol):
        return form, float(sub.get("Interval", 0.0))
    raise LayerGraphError(f"TrainingProgressReporting -> {_wl(kind)} should be Automatic, \"Print\", \"Panel\", "
                          "\"ProgressIndicator\", None or a function.", "NetTrain::invrep")


def _round(record):
    """The front end's epoch record as NetTrain's round association (the keys of
    TrainingProgressFunction)."""
    return {"Round": record["epoch"], "RoundLoss": record["epoch_loss"], "BatchLoss": record["batch_loss"],
            "ValidationLoss": record["validation_loss"], "LearningRate": record["learn_rate"],
            "TimeElapsed": record["elapsed"]}


def _reporter(form, interval, rounds, per_round, time_goal):
    if form is None:
        return None
    if form == "live":
        return EpochProgress(rounds, per_round, time_goal)
    if form == "Print":
        rounds_text = "" if rounds is None else f"/{rounds}"

        def show(record):
            r = _round(record)
            v = r["ValidationLoss"]
            val = f", validation loss {v:.6g}" if v is not None else ""
            print(f"Round {r['Round']}{rounds_text}: loss {r['RoundLoss']:.6g}{val}, {r['TimeElapsed']:.1f} s")
        return Throttled(show, interval)
    return Throttled(lambda record: form(_round(record)), interval)


@checked
def NetTrain(net, data, prop="TrainedNet", *, LossFunction=S.Automatic, Method=S.Automatic, BatchSize=S.Automatic,
             MaxTrainingRounds=S.Automatic, ValidationSet=None, LearningRate=S.Automatic,
             LearningRateMultipliers=S.Automatic, TrainingProgressReporting=S.Automatic,
             TrainingProgressFunction=None, TrainingStoppingCriterion=None, TimeGoal=S.Automatic,
             TargetDevice="CPU", RandomSeeding=S.Inherited,
             WorkingPrecision=S.Automatic):
    """Train ``net`` on ``data`` and return the trained net, ``prop`` of the results, or with
    ``All`` the NetTrainResultsObject. Options, their defaults and what they map to are in
    docs/porting_from_mathematica.md."""
    if isinstance(net, NetLayer):
        net = NetChain([net])
    if not isinstance(net, _Container):
        raise LayerGraphError("First argument to NetTrain should be a fully specified net.", "NetTrain::invnet")
    loss_spec, loss_scales = _loss_function(LossFunction, net._output_names())
    if not same(TargetDevice, "CPU"):
        raise LayerGraphError(f"TargetDevice -> {_wl(TargetDevice)} is not available; use \"CPU\".",
                              "NetTrain::invdevice")
    dtype = np.float32 if one_of(WorkingPrecision, S.Automatic, "Real32") else (
        np.float64 if same(WorkingPrecision, "Real64") else None)
    if dtype is None:
        raise LayerGraphError(f"WorkingPrecision -> {_wl(WorkingPrecision)} should be \"Real32\" or \"Real64\".",
                              "NetTrain::invwp")
    method_name, opts = _method(Method, LearningRate)
    if TrainingProgressFunction is not None and not callable(TrainingProgressFunction):
        raise LayerGraphError(f"TrainingProgressFunction -> {_wl(TrainingProgressFunction)} should be None or a "
                              "function.", "NetTrain::invtpf")
    report_form, report_interval = _reporting(TrainingProgressReporting)  # checked before any work is done
    stopping = _stopping(TrainingStoppingCriterion)
    seed = None if one_of(RandomSeeding, S.Inherited, S.Automatic) else RandomSeeding
    _generator(seed if seed is not None else S.Automatic)  # validates the value
    if isinstance(seed, str):  # a stable hash: the same string seeds the same run in every process
        seed = zlib.crc32(seed.encode())
    elif seed is not None:
        seed = int(seed) % (2 ** 63)
    target_ports = [p for p, v in loss_spec.items() if v is not OUTPUT_LOSS]
    rules = _lrm_option(LearningRateMultipliers)
    if isinstance(ValidationSet, S.Scaled) and not 0 < ValidationSet.r < 1:
        raise LayerGraphError("ValidationSet -> Scaled[r] needs 0 < r < 1.", "NetTrain::invvset")
    xs, ys = _parse(net, data, target_ports)
    held = None
    if isinstance(ValidationSet, S.Scaled):
        # split before the net reads the examples: input statistics come from those trained on
        (xs, ys), held = holdout(xs, ys, ValidationSet.r, seed)
        if _examples(xs) < 1:
            raise LayerGraphError("No training data provided.", "NetTrain::nodata")
    view = net._for_training(xs, lambda work: NetInitialize(
        work, RandomSeeding=seed if seed is not None else S.Automatic), rules, dtype)
    work, core = view.work, view.core
    if not view.factors:
        message("NetTrain::netnoparams", "Net does not contain any trainable parameters: returning net unchanged.")
        return _result(prop, work, None)
    if all(f == 0 for f in view.factors.values()):
        message("NetTrain::netfrozen", "All trainable parameters have been frozen: returning net unchanged.")
        return _result(prop, work, None)

    # the data in the core's layout: inputs by their Wolfram dimensions, targets by the
    # sizes of the core outputs that the losses read
    def core_inputs(xs_):
        return {f"$in:{p}": x.core_data(dtype) if isinstance(x, Sequences) else
                as_core(x, dims_to_size(tuple(x.shape[1:])), dtype) for p, x in xs_.items()}

    def core_targets(ys_, n_):
        out = {}
        for port in loss_spec:
            ref = view.output_ref(port)
            t = _loss_targets(*kinds[port], ys_.get(port), view.out_dims[port], port, n_)
            out[ref] = as_core(t, view.output_size(port), dtype)
        return out

    losses, kinds = {}, {}
    for port, spec in loss_spec.items():
        ref = view.output_ref(port)
        automatic = spec is S.Automatic
        layer = _automatic_loss(view.output_layer(port)) if automatic else spec
        kinds[port] = (layer, automatic)
        losses[ref] = OutputLoss() if layer is OUTPUT_LOSS else layer.core_loss()
        if port in loss_scales:
            losses[ref] = ScaledLoss(losses[ref], loss_scales[port])
    inputs, targets = core_inputs(xs), core_targets(ys, _examples(xs))

    validation = None
    if held is not None:
        validation = (core_inputs(held[0]), core_targets(held[1], _examples(held[0])))
    elif ValidationSet is not None:
        vx, vy = _parse(view.training, ValidationSet, target_ports)
        validation = (core_inputs(vx), core_targets(vy, _examples(vx)))
    n = next(iter(inputs.values())).shape[0]
    if n < 1:
        raise LayerGraphError("No training data provided.", "NetTrain::nodata")

    bs = min(MAX_BATCH, n) if BatchSize is S.Automatic else _positive(BatchSize, "BatchSize")
    bs = min(bs, n)
    per_round = n // bs
    if MaxTrainingRounds is S.Automatic:
        rounds, timed = AUTO_ROUNDS[1], True
    else:
        rounds, timed = _positive(MaxTrainingRounds, "MaxTrainingRounds"), False
    time_goal = None
    if TimeGoal is not S.Automatic:
        if not isinstance(TimeGoal, (int, float)) or isinstance(TimeGoal, bool) or TimeGoal <= 0:
            raise LayerGraphError(f"TimeGoal -> {_wl(TimeGoal)} should be a positive number of seconds.",
                                  "NetTrain::invtime")
        time_goal = float(TimeGoal)
    elif timed:
        time_goal = AUTO_SECONDS

    # rounds, stopping and reporting: the front end's monitor, with NetTrain's rules as hooks
    monitor = EpochMonitor(per_round, rounds, validation is not None, time_goal,
                           min_epochs=AUTO_ROUNDS[0] if timed else 0)
    if stopping is not None:
        monitor.hooks.append(("TrainingStoppingCriterion", lambda record, losses: stopping(_round(record), losses)))
    if TrainingProgressFunction is not None:
        monitor.hooks.append(("TrainingProgressFunction",
                              lambda record, losses: TrainingProgressFunction(_round(record)) == "StopTraining"))
    reporter = _reporter(report_form, report_interval, None if timed else rounds, per_round, time_goal)
    if reporter is not None:
        monitor.reporters.append(reporter)

    total_iterations = rounds * per_round
    clip = opts["GradientClipping"]
    cfg = TrainConfig(solver=_solver(method_name, opts), learn_rate=float(opts["LearningRate"]),
                      schedule=_schedule(opts, total_iterations), l2=float(opts["L2Regularization"]),
                      gradient_threshold_method="absolute-value",
                      gradient_threshold=math.inf if clip is None else float(clip),
                      max_epochs=rounds, minibatch_size=bs, shuffle="every-epoch", validation=validation,
                      validation_frequency=per_round,
                      output_network="best-validation-loss" if validation is not None else "last-iteration",
                      bn_statistics="moving", frozen_state=view.frozen_state, callbacks=[monitor], seed=seed,
                      dtype=dtype, on_compile=None if report_form is None else announce_compiling)
    result = train(core, inputs, targets, losses, cfg)
    trained = view.read_back(result.net)
    if result.non_finite:
        message("NetTrain::arrdiv", "Training was stopped early because one or more trainable parameters of the "
                "net diverged. To avoid divergence, ensure that the training data has been normalized to have zero "
                "mean and unit variance. You can also try specifying a lower learning rate, or use the "
                "\"GradientClipping\" option to Method.")
    elapsed = result.state.elapsed   # training time: compilation and the setup above left out
    round_losses, batch_losses, val_losses = monitor.epoch_losses, monitor.batch_losses, monitor.validation_losses
    best_round = None
    if validation is not None and val_losses:
        best_round = int(np.argmin(val_losses)) + 1
    props = {
        "TrainedNet": trained, "RoundLoss": round_losses[-1] if round_losses else None,
        "RoundLossList": round_losses, "BatchLossList": batch_losses,
        "ValidationLoss": (result.final_validation or {}).get("Loss"), "ValidationLossList": val_losses,
        "BestValidationRound": best_round, "TotalRounds": len(round_losses), "TotalBatches": len(batch_losses),
        "BatchSize": bs, "BatchesPerRound": per_round, "ExamplesProcessed": len(batch_losses) * bs,
        "TotalTrainingTime": elapsed, "MeanBatchesPerSecond": len(batch_losses) / elapsed if elapsed else 0.0,
        "MeanExamplesPerSecond": len(batch_losses) * bs / elapsed if elapsed else 0.0,
        "ReasonTrainingStopped": _reason(monitor.stopped_by, result.stop_reason),
        "OptimizationMethod": method_name, "InitialLearningRate": float(opts["LearningRate"]),
        "FinalLearningRate": (result.history[-1]["BaseLearnRate"] if result.history else float(opts["LearningRate"])),
        "TargetDevice": TargetDevice, "TrainingExamples": n,
        "ValidationExamples": 0 if validation is None else next(iter(validation[0].values())).shape[0],
        "ArraysLearningRateMultipliers": view.factors,
        "LossFunction": {p: (p if layer is OUTPUT_LOSS else layer) for p, (layer, _) in kinds.items()},
    }
    return _result(prop, trained, NetTrainResultsObject(props))


def _stopping(spec):
    """TrainingStoppingCriterion: None; Automatic or "Loss"; a dict with "Criterion" ("Loss"),
    "Patience" (rounds without improvement allowed, default 0), "InitialPatience" (rounds
    before the criterion applies) and "Improvement" (("AbsoluteChange", a) or
    ("RelativeChange", r)); or a function of the round's record that returns True to stop.
    The loss is the validation loss with a ValidationSet, else the round's training loss."""
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, (dict, S.Symbol)):
        return lambda record, losses: bool(spec(record))
    if one_of(spec, S.Automatic, "Loss"):
        spec = {}
    if not isinstance(spec, dict):
        raise LayerGraphError(f"TrainingStoppingCriterion -> {_wl(spec)} should be None, Automatic, \"Loss\", a dict "
                              "<|\"Criterion\" -> ..., \"Patience\" -> n, ...|> or a function.", "NetTrain::invstop")
    unknown = [k for k in spec if k not in ("Criterion", "Patience", "InitialPatience", "Improvement")]
    if unknown:
        raise LayerGraphError(f"TrainingStoppingCriterion: unknown key {unknown[0]!r}.", "NetTrain::invstop")
    if not one_of(spec.get("Criterion", "Loss"), "Loss", S.Automatic):
        raise LayerGraphError("TrainingStoppingCriterion: only the \"Loss\" criterion is supported.",
                              "NetTrain::invstop")
    patience, initial = spec.get("Patience", 0), spec.get("InitialPatience", 0)
    for name, v in (("Patience", patience), ("InitialPatience", initial)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise LayerGraphError(f"TrainingStoppingCriterion: \"{name}\" should be a nonnegative integer.",
                                  "NetTrain::invstop")
    kind, amount = "AbsoluteChange", 0.0
    imp = spec.get("Improvement")
    if imp is not None:
        if not (isinstance(imp, tuple) and len(imp) == 2 and one_of(imp[0], "AbsoluteChange", "RelativeChange")
                and isinstance(imp[1], (int, float)) and not isinstance(imp[1], bool) and imp[1] >= 0):
            raise LayerGraphError("TrainingStoppingCriterion: \"Improvement\" should be (\"AbsoluteChange\", a) or "
                                  "(\"RelativeChange\", r).", "NetTrain::invstop")
        kind, amount = imp[0], float(imp[1])

    rule = Patience(patience, initial, relative=kind == "RelativeChange", amount=amount)
    return lambda record, losses: rule(losses)


def _reason(stopped_by, stop):
    """ReasonTrainingStopped: the option whose rule stopped the run, else the trainer's reason."""
    if stopped_by is not None:
        return "TimeGoal" if stopped_by == EpochMonitor.TIME_GOAL else stopped_by
    if stop == "Max epochs completed":
        return "MaxTrainingRounds"
    return stop


def _result(prop, net, results):
    if same(prop, "TrainedNet"):
        return net
    if results is None:
        results = NetTrainResultsObject({"TrainedNet": net, "RoundLoss": None, "RoundLossList": [],
                                         "BatchLossList": [], "TotalRounds": 0, "TotalBatches": 0, "BatchSize": 0,
                                         "TotalTrainingTime": 0.0, "OptimizationMethod": None,
                                         "ReasonTrainingStopped": "NoTrainableParameters"})
    if prop is S.All:
        return results
    return results[prop]


__all__ = ["NetTrain", "NetTrainResultsObject"]
