"""The core network: a graph with every size inferred, its learnables and state (set
or still empty), and the compiled plans that run it.

Dialects wrap it: MATLAB's dlnetwork / DAGNetwork / SeriesNetwork
(``matlab/network.py``) add MATLAB's data layouts, properties and printouts; the
Wolfram containers build one when they compile (``wolfram/net.py``). ``run`` takes and
returns arrays in the internal layout (images N x C x H x W, features N x C); each
dialect converts at its boundary.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph
from .infer import Analysis, analyze, require_valid
from .initializers import initialize as init_values
from .layer import Layer
from .sequence import pad, unpad
from .size import Size


def initialize_layer(layer: Layer, input_size, dtype=np.float32) -> Layer:
    """Fill the empty learnables (with the layer's initializers) and state; values
    that are already set stay as they are. The initializers draw in MATLAB's layout and
    sizes (a function initializer gets MATLAB's size, and a seed gives MATLAB-layout values
    that do not depend on the storage), which the layer stores in the internal layout."""
    updates = {}
    for spec in layer.learnables:
        if getattr(layer, spec.name) is None:
            sz = layer.learnable_sizes(input_size)[spec.name]
            fan_in, fan_out = layer.fans(spec.name)
            # a layer's own initializers first (an LSTM's 'unit-forget-gate'), then the core's
            own = getattr(layer, "initial_value", None)
            value = None if own is None else own(spec.name, getattr(layer, spec.initializer), sz, dtype)
            updates[spec.name] = value if value is not None else init_values(
                getattr(layer, spec.initializer), sz, fan_in, fan_out, layer_name=layer.Name, param=spec.name,
                dtype=dtype)
    for name, sz in layer.state_sizes(input_size).items():
        if getattr(layer, name) is None:
            fill = np.ones if name == "TrainedVariance" else np.zeros
            updates[name] = fill(sz, dtype=dtype)
    return layer.with_matlab_arrays(**updates) if updates else layer


def sized_graph(analysis: Analysis, initialize: bool) -> Graph:
    """A copy of the analysed graph holding the sized layers (initialized when asked;
    a shared learnable then starts with one value)."""
    g = analysis.graph._copy()
    for name in g._g.nodes:
        layer = analysis.layers[name]
        if initialize:
            layer = initialize_layer(layer, next(iter(analysis.info(name).InputSizes.values()), None))
        g._set_layer(name, layer)
    if initialize:
        from .shared import fill_members
        fill_members(g, analysis.layers)
    return g


def run(executor, feeds: dict, refs, batch_size: int, training: bool = False, rng=None, padding=None) -> dict:
    """Forward internal-layout data (``feeds``: input layer name -> N x ... array, or a list of
    N sequences, each C x (spatial) x S_n) in mini-batches of ``batch_size`` observations;
    returns the internal activations at ``refs`` ((layer, output) pairs), each N x ... , or for
    an output with time from a list of sequences, the list of each sequence's own steps.
    ``padding`` (``SequencePadding``) says how a batch of sequences is padded. No observations
    give empty results of the activations' sizes (the kernels never see N = 0)."""
    refs = list(refs)
    padding = padding or SequencePadding()
    n = len(next(iter(feeds.values()))) if feeds else 0
    if n == 0:
        analysis = executor.analysis
        return {ref: [] if analysis.info(ref[0]).ActivationSizes[ref[1]].is_sequence else
                np.zeros((0, *analysis.info(ref[0]).ActivationSizes[ref[1]].internal), executor.dtype)
                for ref in refs}
    chunks = {ref: [] for ref in refs}
    listed = set()
    for start in range(0, n, batch_size):
        batch, seq = padding.batch(feeds, slice(start, start + batch_size), executor.dtype)
        if padding.chunk is not None and seq:
            acts, metas = _forward_chunks(executor, batch, seq, refs, padding.chunk, training, rng)
        else:
            acts = executor.forward(batch, training=training, keep=set(refs), rng=rng, seq=seq or None)
            metas = executor.seq_meta
        for ref in refs:
            meta = metas.get(ref)
            if meta is not None:
                chunks[ref].extend(unpad(acts[ref], meta))
                listed.add(ref)
            else:
                chunks[ref].append(acts[ref])
    # always a copy: a result may be one of the executor's pooled buffers
    return {ref: parts if ref in listed else np.concatenate(parts, axis=0) for ref, parts in chunks.items()}


def _forward_chunks(executor, batch, seq, refs, k, training, rng):
    """A padded batch of sequences in chunks of ``k`` steps, each recurrent layer starting a
    chunk from the state the previous chunk left (MATLAB's SequenceLength = k in prediction):
    outputs with time are the chunks' outputs joined, the others the last chunk's."""
    steps = max(info.steps for info in seq.values())
    recurrent = [s for s in executor.steps if hasattr(s.op, "initial_state") and not s.op.layer.HasStateInputs]
    parts = {ref: [] for ref in refs}
    metas = {}
    try:
        for s0 in range(0, steps, k):
            chunk = {name: (a[..., s0:s0 + k] if name in seq else a) for name, a in batch.items()}
            acts = executor.forward(chunk, training=training, keep=set(refs), rng=rng,
                                    seq={name: info.window(s0, k) for name, info in seq.items()})
            for s in recurrent:
                s.op.initial_state = s.op.final_state
            for ref in refs:
                parts[ref].append(acts[ref])
            metas = executor.seq_meta
    finally:
        for s in recurrent:
            s.op.initial_state = None
    full = next(iter(seq.values()))
    out, out_meta = {}, {}
    for ref in refs:
        if metas.get(ref) is not None:
            out[ref] = np.concatenate(parts[ref], axis=-1)
            out_meta[ref] = full
        else:
            out[ref] = parts[ref][-1]
    return out, out_meta


def run_stateful(executor, feeds: dict, refs, batch_size: int, states: dict, padding=None, training: bool = False,
                 rng=None) -> tuple[dict, dict]:
    """``run`` with the recurrent layers starting from ``states`` ({layer: (h, c)} for an LSTM,
    (h,) for a GRU: the layer's ``states``, each N x dH, one row per observation) instead of
    their HiddenState / CellState; returns the activations and the states after each
    observation's data (the same form): stateful prediction (MATLAB's predictAndUpdateState)."""
    steps = [s for s in executor.steps if s.name in states]
    n = len(next(iter(feeds.values()))) if feeds else 0
    parts = {ref: [] for ref in refs}
    finals = {s.name: [[] for _ in states[s.name]] for s in steps}
    try:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            for s in steps:
                s.op.initial_state = tuple(a[start:stop] for a in states[s.name])
            acts = run(executor, {k: v[start:stop] for k, v in feeds.items()}, refs, batch_size, training, rng,
                       padding=padding)
            for ref in refs:
                parts[ref].append(acts[ref])
            for s in steps:
                for acc, a in zip(finals[s.name], s.op.final_state):
                    acc.append(a)
    finally:
        for s in steps:
            s.op.initial_state = None
    out = {ref: [a for p in ps for a in p] if isinstance(ps[0], list) else np.concatenate(ps) for ref, ps in
           parts.items()} if n else run(executor, feeds, refs, batch_size, padding=padding)
    return out, {k: tuple(np.concatenate(a) for a in f) for k, f in finals.items() if f and f[0]}


class SequencePadding:
    """How ``run`` (and the trainer) pads a mini-batch of sequences: ``length`` 'longest',
    'shortest' or a number of steps (a longer sequence is cut, keeping its first steps with
    padding on the right, its last with padding on the left), the padding ``value`` and
    ``direction`` 'right' or 'left' (MATLAB's SequenceLength, SequencePaddingValue and
    SequencePaddingDirection)."""

    def __init__(self, length="longest", value: float = 0.0, direction: str = "right"):
        self.length, self.value, self.left = length, float(value), direction == "left"
        # a number of steps: the longest sequence's length, run in chunks of that many steps
        self.chunk = None if isinstance(length, str) else int(length)

    def steps(self, lengths) -> int | None:
        if self.length == "shortest":
            return int(min(lengths))
        return None

    def batch(self, feeds: dict, idx, dtype) -> tuple[dict, dict]:
        """(arrays, {input name: SeqInfo}) of the observations ``idx`` of each feed."""
        arrays, seq = {}, {}
        for name, v in feeds.items():
            if isinstance(v, list):
                part = v[idx] if isinstance(idx, slice) else [v[i] for i in idx]
                arrays[name], seq[name] = pad(part, self.steps([p.shape[-1] for p in part]), self.value,
                                              self.left, dtype)
            else:
                arrays[name] = v[idx]
        return arrays, seq


_DTYPE_NAMES: dict = {}   # a dtype argument (np.float32, 'float64', ...) -> its name


class Network:
    """A sized graph and its executors (one per device and dtype, built on first use)."""

    def __init__(self, graph: Graph, analysis: Analysis, initialized: bool = True):
        self._graph = graph
        self._analysis = analysis
        self.Initialized = initialized
        self._executors = {}

    @classmethod
    def build(cls, graph: Graph, initialize: bool = True) -> "Network":
        """Infer every size of ``graph`` (one error listing every problem) and, with
        ``initialize``, fill the empty learnables and state."""
        analysis = analyze(graph)
        require_valid(analysis)
        return cls(sized_graph(analysis, initialize), analysis, bool(initialize))

    def executor(self, device: str = "cpu", dtype=np.float32):
        """The compiled plan for a device and dtype (built once, then reused)."""
        try:
            name = _DTYPE_NAMES[dtype]
        except (KeyError, TypeError):   # np.dtype(...).name costs a few microseconds of every predict
            name = np.dtype(dtype).name
            if isinstance(dtype, (type, str, np.dtype)) and len(_DTYPE_NAMES) < 64:
                _DTYPE_NAMES[dtype] = name
        key = (device, name)
        if key not in self._executors:
            from .executor import Executor
            self._executors[key] = Executor(self._graph, self._analysis, device, dtype)
        return self._executors[key]

    def run(self, feeds: dict, refs, batch_size: int, training: bool = False, rng=None, device: str = "cpu",
            dtype=np.float32) -> dict:
        """``run`` on this network's executor for (device, dtype)."""
        return run(self.executor(device, dtype), feeds, refs, batch_size, training, rng)

    def with_layers(self, layers: dict[str, Layer]) -> "Network":
        """The same network with some layers replaced by new versions of themselves
        (new learnable values, same sizes), e.g. after training."""
        g = self._graph._copy()
        for name, layer in layers.items():
            g._set_layer(name, layer)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._graph, new._executors = g, {}
        return new

    def size(self, ref) -> Size:
        """One observation's activation size at (layer, output)."""
        return self._analysis.info(ref[0]).ActivationSizes[ref[1]]

    @property
    def layer_graph(self) -> Graph:
        return self._graph

    @property
    def analysis(self) -> Analysis:
        return self._analysis
