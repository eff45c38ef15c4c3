"""MATLAB's networks on the core network (``core/network.py``): dlnetwork, and the
DAGNetwork / SeriesNetwork that assembleNetwork and trainNetwork return.

Learnables and state are kept on the layers themselves, stored in the internal
layout; their MATLAB properties read and take MATLAB's (``net.Layers[1].Weights`` is
FH x FW x C x F). Data goes in and comes out in MATLAB's layouts
(``matlab/data.py``).
"""
from __future__ import annotations

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.infer import require_valid
from ..core.network import Network, sized_graph
from ..display.matlab_format import format_value
from .analysis import analyze, to_graph
from . import datastore
from .data import run, run_stateful as run_stateful_matlab, to_matlab
from .layer_array import LayerArray
from .layer_graph import LayerGraph
from .table import Table


def _forward(executor, analysis, X, refs, MiniBatchSize, **sequence):
    """MATLAB-layout data (``data.run``; ``sequence``: SequenceLength, SequencePaddingValue,
    SequencePaddingDirection) or a datastore (its predictors, streamed)."""
    if datastore._is_datastore(X):
        return datastore.run(executor, analysis, X, refs, MiniBatchSize)
    return run(executor, analysis, X, refs, MiniBatchSize, **sequence)


def _device(env) -> str:
    env = str(env).lower()
    if env in ("cpu", "auto"):
        return "cpu"
    if env == "gpu":
        return "cuda"
    raise LayerGraphError(f"Invalid value for 'ExecutionEnvironment': {env!r}. Expected 'auto', 'cpu' or 'gpu'.",
                          "MATLAB:InputParser:ArgumentFailedValidation")


# array types whose forward / predict another module gives ({dlarray: f(net, X, training, Outputs)},
# registered by matlab/autodiff.py, which imports this module and not the other way round)
_ARRAY_CALLS: dict = {}


class _MatlabNetwork(Network):
    """What dlnetwork and the assembled networks share: MATLAB-layout predict and
    activations, layer outputs named 'layer' or 'layer/port'."""
    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output

    class_name = "network"
    _train_info = None   # the info of the training that returned this network (trainNetwork, trainnet)

    def __iter__(self):
        """``net, info = trainNetwork(...)`` / ``trainnet(...)``: a trained network unpacks as
        itself and its info (``net = trainNetwork(...)`` is MATLAB's one-output form)."""
        if self._train_info is None:
            raise TypeError(f"A {type(self).class_name} is not iterable; only the network trainNetwork or trainnet "
                            "returns unpacks, as net, info = trainNetwork(...).")
        return iter((self, self._train_info))

    def __getitem__(self, i):
        if self._train_info is None:
            raise TypeError(f"A {type(self).class_name} is not subscriptable; use net.Layers[i] for its layers.")
        return (self, self._train_info)[i]

    def _output_refs(self):
        raise NotImplementedError

    def _resolve_layer_output(self, name):
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):   # activations(net, X, 4)
            layers = self.Layers
            if not 1 <= name <= len(layers):
                raise LayerGraphError(f"Invalid layer index {name}. The network has {len(layers)} layers "
                                      f"(indices 1 to {len(layers)}).")
            name = layers[int(name) - 1].Name
        layer_name, _, port = name.partition("/")
        layer = self._graph.layer(layer_name)
        if not layer.OutputNames:
            raise LayerGraphError(f"Layer '{layer_name}' is an output layer and has no activations; use the "
                                  "layer before it.")
        port = port or layer.OutputNames[0]
        if port not in layer.OutputNames:
            raise LayerGraphError(f"Layer '{layer_name}' has no output named '{port}'. Outputs: "
                                  f"{', '.join(layer.OutputNames)}.")
        return (layer_name, port)

    def _refs(self, Outputs):
        if Outputs is None:
            return self._output_refs()
        return [self._resolve_layer_output(o) for o in ([Outputs] if isinstance(Outputs, str) else Outputs)]

    def predict(self, X, MiniBatchSize=128, Outputs=None, ExecutionEnvironment="cpu", Acceleration="auto",
                dtype=np.float32, SequenceLength="longest", SequencePaddingValue=0, SequencePaddingDirection="right"):
        """Scores or responses for the data X (MATLAB layout; sequences: a list of C x S arrays,
        padded per mini-batch as the Sequence* options say). With several outputs, a tuple in
        the order of ``Outputs`` (default: the network's outputs); a sequence output is a list
        of C x S arrays, one per observation, at its own length."""
        refs = self._refs(Outputs)
        acts = _forward(self.executor(_device(ExecutionEnvironment), dtype), self._analysis, X, refs, MiniBatchSize,
                        SequenceLength=SequenceLength, SequencePaddingValue=SequencePaddingValue,
                        SequencePaddingDirection=SequencePaddingDirection)
        out = [to_matlab(acts[r], self.size(r)) for r in refs]
        return out[0] if len(out) == 1 else tuple(out)

    def predictAndUpdateState(self, X, MiniBatchSize=128, ExecutionEnvironment="cpu", dtype=np.float32,
                              SequenceLength="longest", SequencePaddingValue=0, SequencePaddingDirection="right"):
        """(updated network, Y): ``predict`` from the recurrent layers' current state, and the
        network whose layers hold the state after X (H x N: one column per observation)."""
        refs = self._output_refs()
        ex = self.executor(_device(ExecutionEnvironment), dtype)
        acts, finals = run_stateful_matlab(ex, self._analysis, X, refs, MiniBatchSize, SequenceLength,
                                           SequencePaddingValue, SequencePaddingDirection)
        layers = {}
        for name, values in finals.items():
            layer = self._graph.layer(name)
            kept = layer.initial_states or tuple(layer.internal(s) for s in layer.states)
            layers[name] = layer._resolved_copy(**{s: v[0] if len(v) == 1 else v for s, v in zip(layer.states, values)},
                                                initial_states=kept)
        out = [to_matlab(acts[r], self.size(r)) for r in refs]
        return self.with_layers(layers), (out[0] if len(out) == 1 else tuple(out))

    def resetState(self):
        """The network with every recurrent layer's HiddenState / CellState as before its first
        stateful prediction."""
        layers = {}
        for name in self._graph._g.nodes:
            layer = self._graph.layer(name)
            if getattr(layer, "initial_states", None) is not None:
                layers[name] = layer._resolved_copy(**dict(zip(layer.states, layer.initial_states)),
                                                    initial_states=None)
        return self.with_layers(layers) if layers else self

    def activations(self, X, layer, OutputAs="channels", MiniBatchSize=128, ExecutionEnvironment="cpu",
                    dtype=np.float32):
        """Activations of one layer: 'channels' gives H x W x C x N (N x C for feature
        data), 'rows' N x numel and 'columns' numel x N, flattened column-major."""
        ref = self._resolve_layer_output(layer)
        mode = str(OutputAs).lower()
        if mode not in ("channels", "rows", "columns"):
            raise LayerGraphError(f"Invalid value for 'OutputAs': {OutputAs!r}. Expected 'channels', 'rows' or "
                                  "'columns'.", "MATLAB:InputParser:ArgumentFailedValidation")
        y = _forward(self.executor(_device(ExecutionEnvironment), dtype), self._analysis, X, [ref], MiniBatchSize)[ref]
        if y.ndim == 2:
            return {"channels": y, "rows": y, "columns": np.ascontiguousarray(y.T)}[mode]
        m = cv.internal_images_to_matlab(y)
        if mode == "channels":
            return m
        flat = m.reshape(int(np.prod(m.shape[:-1])), m.shape[-1], order="F")  # column-major over H x W x C
        return np.ascontiguousarray(flat.T) if mode == "rows" else flat

    @property
    def Layers(self) -> LayerArray:
        return self.layer_graph.Layers

    @property
    def InputNames(self) -> list[str]:
        return self._graph.input_layers()

    @property
    def Connections(self) -> Table:
        return self.layer_graph.Connections


class DLNetwork(_MatlabNetwork):
    """MATLAB's dlnetwork. Build it with ``dlnetwork(layers_or_lgraph)``."""

    class_name = "dlnetwork"

    def __init__(self, graph, analysis, initialized: bool):
        super().__init__(graph if isinstance(graph, LayerGraph) else LayerGraph(graph), analysis, initialized)

    def _output_refs(self):
        """The unconnected outputs, found once per graph (as _arrays: a network's graph is never
        changed in place; walking the graph took about 0.1 ms of every predict call)."""
        cached = self.__dict__.get("_cache_outputs")
        if cached is None or cached[0] is not self._graph:
            cached = self.__dict__["_cache_outputs"] = (self._graph, tuple(self._graph.unconnected_outputs()))
        return list(cached[1])

    def forward(self, X, Outputs=None, dtype=np.float32):
        """Training-mode outputs (batch statistics in batch normalization, dropout
        active) and the updated State: ``Y, state = net.forward(X)``."""
        call = _ARRAY_CALLS.get(type(X[0] if isinstance(X, (tuple, list)) and X else X))
        if call is not None:   # a dlarray (matlab/autodiff.py): dlarrays out, traced inside dlfeval
            return call(self, X, True, Outputs)
        refs = self._refs(Outputs)
        ex = self.executor("cpu", dtype)
        acts = run(ex, self._analysis, X, refs, MiniBatchSize=2 ** 62, training=True)
        out = [to_matlab(acts[r], self.size(r)) for r in refs]
        return (out[0] if len(out) == 1 else tuple(out)), self._state_after(ex)

    def _state_after(self, ex) -> Table:
        """The State after a training forward of ``ex``: the moving statistics updated with its batch's."""
        rows = []
        steps = {s.name: s for s in ex.steps}
        for layer_name, name, value in self._arrays("state"):
            op = steps[layer_name].op
            final = getattr(op, "final_state", None)
            if final is not None:   # a recurrent layer: its state after the data, H x N
                rows.append((layer_name, name, np.ascontiguousarray(final[op.layer.states.index(name)].T)))
                continue
            coded = getattr(op, "updated_state", None)
            if coded is not None:   # a custom layer: the values its code returned, as the layer stores them
                rows.append((layer_name, name, op.layer._matlab_view(name, coded[name]).astype(value.dtype)))
                continue
            mean, var = ex.batch_stats[layer_name]
            batch = mean if name == "TrainedMean" else var
            decay = op.layer.MeanDecay if name == "TrainedMean" else op.layer.VarianceDecay
            current = cv.channel_vector(value)
            rows.append((layer_name, name, cv.update_running(current, batch, decay)
                         .astype(current.dtype).reshape(value.shape)))
        return Table(("Layer", "Parameter", "Value"), rows)

    def predict(self, X, *args, **kwargs):
        call = _ARRAY_CALLS.get(type(X[0] if isinstance(X, (tuple, list)) and X else X))
        if call is not None:
            return call(self, X, False, kwargs.get("Outputs"))
        return super().predict(X, *args, **kwargs)

    def _with_arrays(self, values: dict, matlab: dict | None = None) -> "DLNetwork":
        """The network with arrays {(layer, name): MATLAB-layout array} stored on its layers.
        Its executors are this network's with the changed layers' steps rebuilt (the rest
        shared, core/executor.py ``Executor.with_values``); ``matlab`` ({(layer, name): read-only
        MATLAB-layout array}, the values a solver function just computed) fills its Learnables
        without converting them back."""
        per: dict[str, dict] = {}
        for (layer, name), value in values.items():
            per.setdefault(layer, {})[name] = value
        new = self.with_layers({n: self._graph.layer(n).with_matlab_arrays(**a) for n, a in per.items()})
        new._executors = {k: ex.with_values(new._graph, set(per)) for k, ex in self._executors.items()}
        for kind in ("learnables", "state"):   # the tables' arrays that did not change, and the new ones given
            cached = self.__dict__.get("_cache_" + kind)
            if cached is not None and cached[0] is self._graph:
                rows = []
                for layer, name, value in cached[1]:
                    if (layer, name) in values:
                        value = (matlab or {}).get((layer, name))
                        value = getattr(new._graph.layer(layer), name) if value is None else value
                    rows.append((layer, name, value))
                new.__dict__["_cache_" + kind] = (new._graph, tuple(rows))
        for key in ("_cache_factors", "_cache_outputs"):   # new arrays, the same structure and factors
            cached = self.__dict__.get(key)
            if cached is not None and cached[0] is self._graph:
                new.__dict__[key] = (new._graph, cached[1])
        return new

    def _arrays(self, kind: str) -> tuple:
        """((layer, parameter, MATLAB-layout array), ...) of the learnables (``kind``
        'learnables') or the state ('state'), read once per graph (a network's graph is never
        changed in place; the arrays are read-only views, as a layer's properties give them)."""
        key = "_cache_" + kind
        cached = self.__dict__.get(key)
        if cached is None or cached[0] is not self._graph:
            layers = self._graph.layers()
            if kind == "learnables":
                rows = tuple((layer.Name, spec.name, getattr(layer, spec.name))
                             for layer in layers for spec in layer.learnables)
            else:
                rows = tuple((layer.Name, name, getattr(layer, name)) for layer in layers for name in layer.states)
            cached = self.__dict__[key] = (self._graph, rows)
        return cached[1]

    def _learn_rate_factors(self) -> dict:
        """{(layer, parameter): learn-rate factor}, read once per graph."""
        cached = self.__dict__.get("_cache_factors")
        if cached is None or cached[0] is not self._graph:
            cached = self.__dict__["_cache_factors"] = (self._graph, {
                (layer.Name, spec.name): getattr(layer, spec.learn_rate)
                for layer in self._graph.layers() for spec in layer.learnables})
        return cached[1]

    @classmethod
    def build(cls, obj, Initialize: bool = True) -> "DLNetwork":
        analysis = analyze(obj)
        for name, layer in analysis.layers.items():
            if layer.is_output:
                raise LayerGraphError(f"Layer '{name}': Detected output layer. The network must not have output "
                                      "layers.", "nnet_cnn:dlnetwork:OutputLayersNotSupported")
        if not Initialize and analysis.errors and all(_waits_for_inputs(i) for i in analysis.errors):
            # MATLAB's uninitialized dlnetwork may lack input layers: initialize(net, X) sizes it later
            return cls(sized_graph(analysis, False), analysis, False)
        require_valid(analysis)
        return cls(sized_graph(analysis, bool(Initialize)), analysis, bool(Initialize))

    def initialize(self) -> "DLNetwork":
        """Initialize the learnables and state that are still empty."""
        return DLNetwork.build(self._graph, Initialize=True)

    # -- MATLAB properties --------------------------------------------------------
    @property
    def OutputNames(self) -> list[str]:
        outs = self._graph.unconnected_outputs()
        return [n if len(self._graph.layer(n).OutputNames) == 1 else f"{n}/{p}" for n, p in outs]

    @property
    def Learnables(self) -> Table:
        return Table(("Layer", "Parameter", "Value"), self._arrays("learnables"))

    @property
    def State(self) -> Table:
        return Table(("Layer", "Parameter", "Value"), self._arrays("state"))

    @State.setter
    def State(self, state: Table):
        """``net.State = state`` (the state forward returns): every row must name a state of the network."""
        names = {(r[0], r[1]) for r in self._arrays("state")}
        values = {}
        for row in state:
            if (row[0], row[1]) not in names:
                raise LayerGraphError(f"Invalid State: the network has no state parameter '{row[1]}' in layer "
                                      f"'{row[0]}'.", "nnet_cnn:dlnetwork:InvalidState")
            values[(row[0], row[1])] = np.asarray(row[2])
        new = self._with_arrays(values)
        self._graph, self._executors = new._graph, new._executors
        self.__dict__.update({k: v for k, v in new.__dict__.items() if k.startswith("_cache_")})

    def _learnable_spec(self, layer_name, parameter):
        layer = self._graph.layer(layer_name)
        for spec in layer.learnables:
            if spec.name == parameter:
                return layer, spec
        raise LayerGraphError(f"Layer '{layer_name}' has no learnable parameter '{parameter}'. Learnables: "
                              f"{', '.join(s.name for s in layer.learnables) or 'none'}.")

    def getLearnRateFactor(self, layer_name: str, parameter: str) -> float:
        layer, spec = self._learnable_spec(layer_name, parameter)
        return getattr(layer, spec.learn_rate)

    def getL2Factor(self, layer_name: str, parameter: str) -> float:
        layer, spec = self._learnable_spec(layer_name, parameter)
        return getattr(layer, spec.l2)

    def _with_factor(self, layer_name, parameter, which, value) -> "DLNetwork":
        layer, spec = self._learnable_spec(layer_name, parameter)
        updated = layer.model_copy()
        setattr(updated, getattr(spec, which), value)  # validated like any assignment
        g = self._graph._copy()
        g._set_layer(layer_name, updated)
        return DLNetwork(g, self._analysis, self.Initialized)

    def setLearnRateFactor(self, layer_name: str, parameter: str, factor) -> "DLNetwork":
        return self._with_factor(layer_name, parameter, "learn_rate", factor)

    def setL2Factor(self, layer_name: str, parameter: str, factor) -> "DLNetwork":
        return self._with_factor(layer_name, parameter, "l2", factor)

    def __str__(self):
        return ("  dlnetwork with properties:\n\n"
                f"         Layers: [{len(self.Layers)}x1 nnet.cnn.layer.Layer]\n"
                f"    Connections: [{len(self.Connections)}x2 table]\n"
                f"     Learnables: [{len(self.Learnables)}x3 table]\n"
                f"          State: [{len(self.State)}x3 table]\n"
                f"     InputNames: {format_value(self.InputNames)}\n"
                f"    OutputNames: {format_value(self.OutputNames)}\n"
                f"    Initialized: {int(self.Initialized)}\n\n"
                "  View summary with summary.\n")

    __repr__ = __str__

    def summary(self) -> str:
        """MATLAB's ``summary(net)`` (R2022b+) as text: Initialized, the number of learnables
        (elements of every learnable set so far; ``1.5k``, ``125.6k``, ``2.3M``), the inputs
        with their sizes."""
        total = 0
        for layer in self.Layers:
            for spec in layer.learnables:
                value = getattr(layer, spec.name)
                total += 0 if value is None else int(np.asarray(value).size)
        lines = [f"   Initialized: {'true' if self.Initialized else 'false'}", "",
                 f"   Number of learnables: {_count_text(total)}", "", "   Inputs:"]
        names = self.InputNames
        width = max((len(n) for n in names), default=0) + 2
        for i, name in enumerate(names, 1):
            lines.append(f"      {i}   {repr(name).ljust(width)}   {self._input_text(name)}".rstrip())
        return "\n".join(lines) + "\n"

    def _input_text(self, name) -> str:
        try:
            size = self._analysis.info(name).ActivationSizes["out"]
        except (KeyError, AttributeError, LayerGraphError):
            return ""
        if size is None:
            return ""
        if size.is_image:
            return "×".join(str(d) for d in size.dims) + " images"
        return f"{size.channels} features"


def summary(net) -> None:
    """``summary(net)``: prints the dlnetwork's summary (DLNetwork.summary gives the text)."""
    if not isinstance(net, DLNetwork):
        raise LayerGraphError(f"summary takes a dlnetwork; received {type(net).__name__}.",
                              "MATLAB:UndefinedFunction")
    print(net.summary())


def _count_text(n: int) -> str:
    """A count as summary prints it: 801, 1.5k, 12k, 125.6k; millions with M (UNCONFIRMED)."""
    if n < 1000:
        return str(n)
    value, unit = (n / 1e6, "M") if n >= 999_950 else (n / 1e3, "k")
    text = f"{value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + unit


def _waits_for_inputs(issue) -> bool:
    """An analysis issue an uninitialized dlnetwork may have: no input layer, or a layer input
    that nothing feeds yet (a network input in MATLAB's sense)."""
    return issue.Message.startswith(("Missing input layer.", "Unconnected input."))


class ClassifyOutputs(tuple):
    """classify's two outputs (labels, scores). They unpack as ``YPred, scores = classify(net, X)``;
    MATLAB's one-output form ``YPred = classify(net, X)`` would hold both, so using the pair as the
    labels (comparing it, making an array of it, asking it for an attribute) fails at once and says
    how to write it, instead of a wrong number lines later."""

    __slots__ = ()
    _HINT = ("classify returns two outputs, the labels and the scores: write YPred, scores = classify(net, X) "
             "(or YPred, _ = classify(net, X)); MATLAB's YPred = classify(net, X) holds both here.")

    def _refuse(self, *args, **kwargs):
        raise LayerGraphError(self._HINT, "layergraph:classify:TwoOutputs")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __array__ = _refuse
    __hash__ = tuple.__hash__

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise LayerGraphError(f"{self._HINT} (asked for '{name}')", "layergraph:classify:TwoOutputs")


class DAGNetwork(_MatlabNetwork):
    """MATLAB's DAGNetwork (SeriesNetwork for a layer array): a network with output
    layers, ready for predict and classify. Built by ``assembleNetwork`` (and by
    training)."""

    class_name = "DAGNetwork"
    def __init__(self, graph, analysis):
        super().__init__(graph if isinstance(graph, LayerGraph) else LayerGraph(graph), analysis, True)

    @classmethod
    def assemble(cls, obj) -> "DAGNetwork":
        analysis = analyze(obj)
        require_valid(analysis)
        if not analysis.graph.output_layers():
            raise LayerGraphError("Network: Missing output layer. The network must have at least one output "
                                  "layer.", "nnet_cnn:inferParameters:LastLayerMustBeAnOutputLayer")
        missing = []
        for name in analysis.graph._g.nodes:
            layer = analysis.layers[name]
            first = next(iter(analysis.info(name).InputSizes.values()), None)
            for spec in layer.learnables:
                if getattr(layer, spec.name) is None:
                    missing.append(f"Layer '{name}': {spec.name} is empty.")
            for state in layer.state_sizes(first):
                if getattr(layer, state) is None:
                    missing.append(f"Layer '{name}': {state} is empty.")
            if layer.family == "crossentropyex" and layer.Classes == "auto":
                missing.append(f"Layer '{name}': Classes is 'auto'. Set the classes of the classification layer.")
        if missing:
            raise LayerGraphError("Cannot assemble the network; every learnable parameter and state must be "
                                  "set:\n    " + "\n    ".join(missing), "nnet_cnn:assembleNetwork:NotAssemblable")
        series = not isinstance(obj, LayerGraph) and not hasattr(obj, "layer_graph")
        return (SeriesNetwork if series else DAGNetwork)(sized_graph(analysis, False), analysis)

    def _output_refs(self):
        refs = []
        for src, out, dst, inp in self._graph.connections():
            if self._graph.layer(dst).is_output:
                refs.append((src, out))
        return refs

    @property
    def OutputNames(self) -> list[str]:
        return self._graph.output_layers()

    def classify(self, X, MiniBatchSize=128, ExecutionEnvironment="cpu", dtype=np.float32, SequenceLength="longest",
                 SequencePaddingValue=0, SequencePaddingDirection="right"):
        """(labels, scores): the class of the highest score per observation and the
        N x K scores of the classification output layer; for a sequence-to-sequence network,
        per observation the labels of each step (1 x S) and the K x S scores."""
        outputs = [self._graph.layer(n) for n in self.OutputNames]
        classifiers = [layer for layer in outputs if layer.family == "crossentropyex"]
        if len(classifiers) != 1:
            raise LayerGraphError("classify needs a network with one classification output layer; this network "
                                  f"has {len(classifiers)}.", "nnet_cnn:classify:NotAClassificationNetwork")
        scores = self.predict(X, MiniBatchSize=MiniBatchSize, ExecutionEnvironment=ExecutionEnvironment,
                              dtype=dtype, SequenceLength=SequenceLength, SequencePaddingValue=SequencePaddingValue,
                              SequencePaddingDirection=SequencePaddingDirection)
        return ClassifyOutputs(self._labels_of(scores))

    def _labels_of(self, scores):
        outputs = [self._graph.layer(n) for n in self.OutputNames]
        classifiers = [layer for layer in outputs if layer.family == "crossentropyex"]
        if len(classifiers) != 1:
            raise LayerGraphError("classify needs a network with one classification output layer; this network "
                                  f"has {len(classifiers)}.", "nnet_cnn:classify:NotAClassificationNetwork")
        if isinstance(scores, tuple):
            scores = scores[[layer.family for layer in outputs].index("crossentropyex")]
        classes = np.asarray(classifiers[0].Classes)
        if isinstance(scores, list):   # per time step
            return [classes[np.argmax(s, axis=0)][None, :] for s in scores], scores
        if scores.shape[0] == 0:
            return classes[:0], scores
        return classes[np.argmax(scores.reshape(scores.shape[0], -1), axis=1)], scores

    def classifyAndUpdateState(self, X, MiniBatchSize=128, ExecutionEnvironment="cpu", dtype=np.float32,
                               SequenceLength="longest", SequencePaddingValue=0, SequencePaddingDirection="right"):
        """(updated network, labels, scores): ``classify`` with the state carried as
        ``predictAndUpdateState`` carries it."""
        new, scores = self.predictAndUpdateState(X, MiniBatchSize, ExecutionEnvironment, dtype, SequenceLength,
                                                 SequencePaddingValue, SequencePaddingDirection)
        labels, scores = self._labels_of(scores)
        return new, labels, scores

    def __str__(self):
        lines = [f"  {type(self).class_name} with properties:", "",
                 f"         Layers: [{len(self.Layers)}x1 nnet.cnn.layer.Layer]"]
        if type(self) is DAGNetwork:
            lines.append(f"    Connections: [{len(self.Connections)}x2 table]")
        lines += [f"     InputNames: {format_value(self.InputNames)}",
                  f"    OutputNames: {format_value(self.OutputNames)}"]
        return "\n".join(lines) + "\n"

    __repr__ = __str__


class SeriesNetwork(DAGNetwork):
    class_name = "SeriesNetwork"


__all__ = ["DAGNetwork", "DLNetwork", "SeriesNetwork", "summary", "to_graph"]
