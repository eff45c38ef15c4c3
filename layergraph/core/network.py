"""dlnetwork: a layer graph with every size inferred and every learnable set.

Learnables and state are kept in MATLAB's layout on the layers themselves
(``net.Layers[1].Weights`` is FH x FW x C x F); the executor converts them to
the internal layout when it runs.
"""
from __future__ import annotations

import numpy as np

from ..display.matlab_format import format_value
from .errors import LayerGraphError
from .graph import LayerGraph
from .infer import analyze, require_valid
from .initializers import initialize as init_values
from .layer import Layer
from .layer_array import LayerArray
from .table import Table


def initialize_layer(layer: Layer, input_size, dtype=np.float32) -> Layer:
    """Fill the empty learnables (with the layer's initializers) and state; values
    that are already set stay as they are."""
    updates = {}
    for spec in layer.learnables:
        if getattr(layer, spec.name) is None:
            sz = layer.learnable_sizes(input_size)[spec.name]
            fan_in, fan_out = layer.fans(spec.name)
            updates[spec.name] = init_values(getattr(layer, spec.initializer), sz, fan_in, fan_out,
                                             layer_name=layer.Name, param=spec.name, dtype=dtype)
    for name, sz in layer.state_sizes(input_size).items():
        if getattr(layer, name) is None:
            fill = np.ones if name == "TrainedVariance" else np.zeros
            updates[name] = fill(sz, dtype=dtype)
    return layer._resolved_copy(**updates) if updates else layer


class _Network:
    """What dlnetwork and the assembled networks share: a sized graph and executors."""
    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output

    def __init__(self, graph: LayerGraph, analysis):
        self._graph = graph
        self._analysis = analysis
        self._executors = {}

    def executor(self, device: str = "cpu", dtype=np.float32):
        """The compiled plan for a device and dtype (built once, then reused)."""
        key = (device, np.dtype(dtype).name)
        if key not in self._executors:
            from .executor import Executor
            self._executors[key] = Executor(self._graph, self._analysis, device, dtype)
        return self._executors[key]

    def _output_refs(self):
        raise NotImplementedError

    def _resolve_layer_output(self, name: str):
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

    def _size(self, ref):
        return self._analysis.info(ref[0]).ActivationSizes[ref[1]]

    def predict(self, X, MiniBatchSize=128, Outputs=None, ExecutionEnvironment="cpu", Acceleration="auto",
                dtype=np.float32):
        """Scores or responses for the data X (MATLAB layout). With several outputs, a
        tuple in the order of ``Outputs`` (default: the network's outputs)."""
        from .predict import run, to_matlab
        refs = self._output_refs() if Outputs is None else [
            self._resolve_layer_output(o) for o in ([Outputs] if isinstance(Outputs, str) else Outputs)]
        acts = run(self.executor(_device(ExecutionEnvironment), dtype), self._analysis, X, refs, MiniBatchSize)
        out = [to_matlab(acts[r], self._size(r)) for r in refs]
        return out[0] if len(out) == 1 else tuple(out)

    def activations(self, X, layer, OutputAs="channels", MiniBatchSize=128, ExecutionEnvironment="cpu",
                    dtype=np.float32):
        """Activations of one layer: 'channels' gives H x W x C x N (N x C for feature
        data), 'rows' N x numel and 'columns' numel x N, flattened column-major."""
        from .predict import run
        ref = self._resolve_layer_output(layer)
        mode = str(OutputAs).lower()
        if mode not in ("channels", "rows", "columns"):
            raise LayerGraphError(f"Invalid value for 'OutputAs': {OutputAs!r}. Expected 'channels', 'rows' or "
                                  "'columns'.", "MATLAB:InputParser:ArgumentFailedValidation")
        y = run(self.executor(_device(ExecutionEnvironment), dtype), self._analysis, X, [ref], MiniBatchSize)[ref]
        if y.ndim == 2:
            return {"channels": y, "rows": y, "columns": np.ascontiguousarray(y.T)}[mode]
        from . import conventions as cv
        m = cv.internal_images_to_matlab(y)
        if mode == "channels":
            return m
        flat = m.reshape(int(np.prod(m.shape[:-1])), m.shape[-1], order="F")  # column-major over H x W x C
        return np.ascontiguousarray(flat.T) if mode == "rows" else flat

    @property
    def layer_graph(self) -> LayerGraph:
        return self._graph

    @property
    def Layers(self) -> LayerArray:
        return self._graph.Layers

    @property
    def InputNames(self) -> list[str]:
        return self._graph.InputNames

    @property
    def analysis(self):
        return self._analysis


def _device(env) -> str:
    env = str(env).lower()
    if env in ("cpu", "auto"):
        return "cpu"
    if env == "gpu":
        return "cuda"
    raise LayerGraphError(f"Invalid value for 'ExecutionEnvironment': {env!r}. Expected 'auto', 'cpu' or 'gpu'.",
                          "MATLAB:InputParser:ArgumentFailedValidation")


class DLNetwork(_Network):
    """MATLAB's dlnetwork. Build it with ``dlnetwork(layers_or_lgraph)``."""

    def __init__(self, graph: LayerGraph, analysis, initialized: bool):
        super().__init__(graph, analysis)
        self.Initialized = initialized

    def _output_refs(self):
        return self._graph.unconnected_outputs()

    def forward(self, X, Outputs=None, dtype=np.float32):
        """Training-mode outputs (batch statistics in batch normalization, dropout
        active) and the updated State: ``Y, state = net.forward(X)``."""
        from . import conventions as cv
        from .predict import run, to_matlab
        refs = self._output_refs() if Outputs is None else [
            self._resolve_layer_output(o) for o in ([Outputs] if isinstance(Outputs, str) else Outputs)]
        ex = self.executor("cpu", dtype)
        acts = run(ex, self._analysis, X, refs, MiniBatchSize=2 ** 62, training=True)
        rows = []
        for layer in self.Layers:
            for name in layer.states:
                mean, var = ex.batch_stats[layer.Name]
                batch = mean if name == "TrainedMean" else var
                decay = layer.MeanDecay if name == "TrainedMean" else layer.VarianceDecay
                current = cv.channel_vector(getattr(layer, name))
                rows.append((layer.Name, name, cv.update_running(current, batch, decay)
                             .astype(current.dtype).reshape(getattr(layer, name).shape)))
        out = [to_matlab(acts[r], self._size(r)) for r in refs]
        return (out[0] if len(out) == 1 else tuple(out)), Table(("Layer", "Parameter", "Value"), rows)

    @classmethod
    def build(cls, obj, Initialize: bool = True) -> "DLNetwork":
        analysis = analyze(obj)
        for name, layer in analysis.layers.items():
            if layer.is_output:
                raise LayerGraphError(f"Layer '{name}': Detected output layer. The network must not have output "
                                      "layers.", "nnet_cnn:dlnetwork:OutputLayersNotSupported")
        require_valid(analysis)
        g = analysis.graph._copy()
        for name in g._g.nodes:
            layer = analysis.layers[name]
            if Initialize:
                first = next(iter(analysis.info(name).InputSizes.values()), None)
                layer = initialize_layer(layer, first)
            g._g.nodes[name]["layer"] = layer
        if Initialize:
            from .shared import fill_members
            fill_members(g, analysis.layers)  # a shared learnable starts with one value
        return cls(g, analysis, bool(Initialize))

    def initialize(self) -> "DLNetwork":
        """Initialize the learnables and state that are still empty."""
        return DLNetwork.build(self._graph, Initialize=True)

    # -- MATLAB properties --------------------------------------------------------
    @property
    def Connections(self) -> Table:
        return self._graph.Connections

    @property
    def OutputNames(self) -> list[str]:
        outs = self._graph.unconnected_outputs()
        return [n if len(self._graph.layer(n).OutputNames) == 1 else f"{n}/{p}" for n, p in outs]

    @property
    def Learnables(self) -> Table:
        rows = [(layer.Name, spec.name, getattr(layer, spec.name))
                for layer in self.Layers for spec in layer.learnables]
        return Table(("Layer", "Parameter", "Value"), rows)

    @property
    def State(self) -> Table:
        rows = [(layer.Name, name, getattr(layer, name)) for layer in self.Layers for name in layer.states]
        return Table(("Layer", "Parameter", "Value"), rows)

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
        g._g.nodes[layer_name]["layer"] = updated
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
                f"    Initialized: {int(self.Initialized)}\n")

    __repr__ = __str__


class DAGNetwork(_Network):
    """MATLAB's DAGNetwork (SeriesNetwork for a layer array): a network with output
    layers, ready for predict and classify. Built by ``assembleNetwork`` (and by
    training)."""

    class_name = "DAGNetwork"

    @classmethod
    def assemble(cls, obj) -> "DAGNetwork":
        analysis = analyze(obj)
        require_valid(analysis)
        if not analysis.graph.OutputNames:
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
        g = analysis.graph._copy()
        for name in g._g.nodes:
            g._g.nodes[name]["layer"] = analysis.layers[name]
        series = not isinstance(obj, LayerGraph) and not hasattr(obj, "layer_graph")
        return (SeriesNetwork if series else DAGNetwork)(g, analysis)

    def _output_refs(self):
        refs = []
        for src, out, dst, inp in self._graph.connections():
            if self._graph.layer(dst).is_output:
                refs.append((src, out))
        return refs

    @property
    def OutputNames(self) -> list[str]:
        return self._graph.OutputNames

    @property
    def Connections(self) -> Table:
        return self._graph.Connections

    def classify(self, X, MiniBatchSize=128, ExecutionEnvironment="cpu", dtype=np.float32):
        """(labels, scores): the class of the highest score per observation and the
        N x K scores of the classification output layer."""
        outputs = [self._graph.layer(n) for n in self.OutputNames]
        classifiers = [layer for layer in outputs if layer.family == "crossentropyex"]
        if len(classifiers) != 1:
            raise LayerGraphError("classify needs a network with one classification output layer; this network "
                                  f"has {len(classifiers)}.", "nnet_cnn:classify:NotAClassificationNetwork")
        scores = self.predict(X, MiniBatchSize=MiniBatchSize, ExecutionEnvironment=ExecutionEnvironment,
                              dtype=dtype)
        if isinstance(scores, tuple):
            scores = scores[[layer.family for layer in outputs].index("crossentropyex")]
        classes = np.asarray(classifiers[0].Classes)
        if scores.shape[0] == 0:
            return classes[:0], scores
        return classes[np.argmax(scores.reshape(scores.shape[0], -1), axis=1)], scores

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
