"""Wolfram's recurrent and sequence layers on the core's specs, and sequence data.

``GatedRecurrentLayer[n]`` builds into the core GRU (``GRULayer``, MATLAB's gruLayer) in
ResetGateMode 'after-multiplication' (Wolfram's memory gate m = Tanh(Wmx.x + r*(Wms.s) + bm)),
its 9 arrays "InputGate*", "ResetGate*", "MemoryGate*" stacked r, z (= Wolfram's InputGate), h
(``GRU_GATES``); ``BasicRecurrentLayer[n]`` into the core's basic recurrent layer
(``RecurrentLayer``: s = Tanh(wi.x + ws.s + b)), "InputWeights", "StateWeights", "Biases" as
they are. All three share ``_RecurrentLayer``.

``LongShortTermMemoryLayer[n]`` builds into the core's one LSTM spec (layers/recurrent.py
``LSTMLayer``, the kernels of kernels/cpu/recurrent.py), the same that MATLAB's lstmLayer is.
Its 12 arrays ("InputGateInputWeights" n x k, "InputGateStateWeights" n x n,
"InputGateBiases" n, the same for "OutputGate", "ForgetGate", "MemoryGate") are the core's
stacked InputWeights (4n x k), RecurrentWeights (4n x n) and Bias (4n) in MATLAB's gate order
input, forget, memory (cell candidate), output: ``GATES`` below is the one place that says so.
The state starts at zero (Wolfram's default initial "State" and "CellState").

``SequenceLastLayer[]``, ``SequenceMostLayer[]``, ``SequenceRestLayer[]`` and
``SequenceReverseLayer[]`` build into the core's sequence layers (layers/sequence_ops.py),
which act on each sequence's own elements of a padded batch.

Data of a port ``{"Varying", d}``: one example is a T x d matrix (time first, as Wolfram has
it), a batch a list of them of different lengths (``Sequences``); inside, each is d x T and a
mini-batch is padded (core/sequence.py) with the padding masked out.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import layers as L
from ..core.errors import LayerGraphError
from ..core.layer import Internal
from ..core.sequence import SequenceData
from ..core.network import SequencePadding
from ..layers import sequence_ops as SQ
from . import layers as WL
from .args import checked_init
from .layers import Built, NetLayer, NoCounterpart, _at_default, _err, _pos_int, _single
from .types import TIMES, VARYING_DIM, _wl, is_varying, wl_list

# Wolfram's gate names in the core's (MATLAB's) stacking order i, f, g (memory), o
GATES = ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")
# the GRU's in the core's (MATLAB's) order r (reset), z (update: Wolfram's InputGate), h (memory)
GRU_GATES = ("ResetGate", "InputGate", "MemoryGate")
# Wolfram's order of the arrays (its documentation lists them so)
_LSTM_ARRAYS = tuple(f"{g}{kind}" for g in ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")
                     for kind in ("InputWeights", "StateWeights", "Biases"))
_CORE = {"InputWeights": "InputWeights", "StateWeights": "RecurrentWeights", "Biases": "Bias"}
DROPOUT_METHODS = ("VariationalWeights", "VariationalInput", "VariationalState", "StateUpdate")


# -- sequence data ---------------------------------------------------------------------------
class Sequences:
    """A batch of sequences for a ``{"Varying", d}`` port: T_i x d arrays (time first). It
    stands where a batch array stands (``shape[0]`` the examples, ``shape[1:]`` the port's
    dims, indexing takes examples)."""

    def __init__(self, items: list[np.ndarray], d: int):
        self.items, self.d = items, d

    @property
    def shape(self):
        return (len(self.items), VARYING_DIM, self.d)

    @property
    def ndim(self):
        return 3

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequences(self.items[idx], self.d)
        return Sequences([self.items[int(i)] for i in np.asarray(idx).ravel()], self.d)

    def internal(self, dtype) -> list[np.ndarray]:
        """Each sequence in the core's layout: d x T."""
        return [np.ascontiguousarray(s.T, dtype=dtype) for s in self.items]

    def core_data(self, dtype) -> SequenceData:
        """The trainer's form: padded per mini-batch on the right with zeros, masked."""
        return SequenceData(self.internal(dtype), SequencePadding(), dtype=dtype)


def _as_sequence(port, value, d, what):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise LayerGraphError(f"{what} for port \"{port}\" should be a sequence of numeric vectors (a T{TIMES}{d} "
                              "matrix) or a list of them.", "General::netinvinput") from None
    if arr.ndim != 2:
        raise LayerGraphError(f"{what} for port \"{port}\" should be a sequence of length-{d} vectors (a matrix, "
                              f"time first); received an array of dimensions {wl_list(arr.shape)} (rank "
                              f"{arr.ndim}).", "General::netinvinput")
    if arr.shape[0] == 0:
        raise LayerGraphError(f"{what} for port \"{port}\": an empty sequence was given; sequences need at least one "
                              "element.", "General::netinvinput")
    if d is not None and arr.shape[1] != d:
        raise LayerGraphError(f"{what} for port \"{port}\" should be a sequence of length-{d} vectors; received a "
                              f"sequence of length-{arr.shape[1]} vectors ({wl_list(arr.shape)}).",
                              "General::netinvinput")
    if not np.all(np.isfinite(arr)):
        raise LayerGraphError(f"{what} for port \"{port}\" should be numeric and finite.", "General::netinvinput")
    return arr


def sequence_input(port, value, dims, what="Data") -> tuple[Sequences, bool]:
    """(Sequences, whether ``value`` was one example) for a port of dims ``("Varying", d)``:
    one T x d matrix, a list of them (lengths may differ) or an N x T x d array."""
    d = dims[1]
    if isinstance(value, np.ndarray) and value.ndim == 3:
        value = list(value)
    if d is None:   # {"Varying", Automatic}: the vectors' size is the first sequence's
        first = value if not isinstance(value, (list, tuple)) or not value else \
            next((v for v in value if np.ndim(v) == 2), value)
        d = int(np.shape(first)[-1]) if np.ndim(first) == 2 else None
    if isinstance(value, (list, tuple)) and len(value) == 0:
        raise LayerGraphError(f"{what} for port \"{port}\": no sequences were given.", "General::netinvinput")
    one = not isinstance(value, (list, tuple)) or not any(isinstance(v, (list, tuple, np.ndarray)) and
                                                          np.ndim(v) == 2 for v in value)
    if one:
        if isinstance(value, (list, tuple)) and all(isinstance(v, (list, tuple, np.ndarray)) for v in value) \
                and any(np.ndim(v) != 1 for v in value):
            ranks = sorted({int(np.ndim(v)) for v in value})
            raise LayerGraphError(f"{what} for port \"{port}\" mixes arrays of ranks {ranks}; give sequences (matrices "
                                  f"T{TIMES}{d}) only.", "General::netinvinput")
        return Sequences([_as_sequence(port, value, d, what)], d), True
    ranks = sorted({int(np.ndim(v)) for v in value})
    if ranks != [2]:
        raise LayerGraphError(f"{what} for port \"{port}\" mixes arrays of ranks {ranks}; each example should be a "
                              f"sequence of length-{d} vectors (a T{TIMES}{d} matrix).", "General::netinvinput")
    return Sequences([_as_sequence(port, v, d, what) for v in value], d), False


def sequence_output(values, single):
    """The core's per-sequence outputs (each C x T) as Wolfram's T x C matrices."""
    out = [np.ascontiguousarray(v.T) for v in values]
    return out[0] if single else out


# -- recurrent states by Wolfram's keys (NetPort[All, "States"], NetStateObject: states.py) ---------
# the core spec's state names -> Wolfram's state ports
STATE_PORTS = {"HiddenState": "State", "CellState": "CellState"}


def _key_part(name: str):
    return int(name) if name.isdigit() else name


def state_table(c) -> dict:
    """{Wolfram key: (core step name, index in the core layer's ``states``, size)} of a compiled,
    sized net (``Compiled``), in the net's order. A recurrent layer whose states come from its
    state inputs has none to keep."""
    table = {}
    for path in c.order:
        info = c.leaves[path]
        for name, spec in zip(info.core_names, info.built.specs):
            states = getattr(spec, "states", None)
            if not states or getattr(spec, "HasStateInputs", False) or not hasattr(spec, "NumHiddenUnits"):
                continue
            size = spec.directions * spec.NumHiddenUnits
            prefix = tuple(_key_part(p) for p in path)
            if len(info.built.specs) > 1:   # a leaf of several core layers: the core layer's name as well
                prefix += (name.rsplit("/", 1)[-1],)
            for i, s in enumerate(states):
                table[prefix + (STATE_PORTS.get(s, s),)] = (name, i, size)
    return table


def _key_text(key) -> str:
    return "{" + ", ".join(f'"{k}"' if isinstance(k, str) else str(k) for k in key) + "}"


def _as_key(key):
    if isinstance(key, list):
        key = tuple(key)
    if isinstance(key, str):
        key = (key,)
    return key


def initial_states(table: dict, given, n: int, dtype) -> dict:
    """{core step: tuple of N x size arrays}: ``given`` ({key: vector or N x size}, None: none)
    over zeros."""
    if given is not None and not isinstance(given, dict):
        raise LayerGraphError(f"The value of NetPort[All, \"States\"] should be an association of states "
                              f"{{key: vector}}; received {_wl(given)}.", "General::invstates")
    values = {}
    for raw, value in (given or {}).items():
        key = _as_key(raw)
        if key not in table:
            known = ", ".join(_key_text(k) for k in table) or "none"
            raise LayerGraphError(f"{_key_text(key) if isinstance(key, tuple) else _wl(raw)} is not a recurrent state "
                                  f"of the net. Its states: {known}.", "General::invstates")
        size = table[key][2]
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or not (arr.shape == (size,) or arr.shape == (n, size)) or not np.all(np.isfinite(arr)):
            shape = wl_list(arr.shape) if arr is not None else _wl(value)
            raise LayerGraphError(f"The state {_key_text(key)} should be a vector of size {size} (or a {n}{chr(215)}"
                                  f"{size} matrix, one per example); received {shape}.", "General::invstates")
        values[key] = np.ascontiguousarray(np.broadcast_to(arr, (n, size)), dtype=dtype)
    out: dict[str, list] = {}
    for key, (step, i, size) in table.items():
        out.setdefault(step, []).append(values.get(key, np.zeros((n, size), dtype)))
    return {step: tuple(v) for step, v in out.items()}


def final_states(table: dict, finals: dict, single: bool) -> dict:
    """{key: final state} (a vector for one example, N x size for a batch)."""
    out = {}
    for key, (step, i, _) in table.items():
        value = np.asarray(finals[step][i])
        out[key] = value[0].copy() if single else value.copy()
    return out


# -- the layers ------------------------------------------------------------------------------
def _sequence_dims(head, dims, port="Input"):
    if not is_varying(dims):
        raise LayerGraphError(f"Validation failed for {head}: the port \"{port}\" should be a sequence of vectors "
                              f"{{\"Varying\", k}}, but received {wl_list(dims)}. Give the net's input "
                              "\"Input\" -> {\"Varying\", k}.", "General::valfail")
    return dims


def _dropout_param(value):
    """The "Dropout" parameter as the layer keeps it (and NetExtract gives it): None, a
    probability, or the rules as a dict."""
    if value is None or isinstance(value, (int, float, np.integer, np.floating)):
        return value if value is None else float(value)
    return {m: float(p) for m, p in (value.items() if isinstance(value, dict) else value)}


def _dropout(head, value):
    """The core's ``dropout`` ({method: p}) of a "Dropout" spec, checked as Wolfram checks it
    (a bare p is {"VariationalWeights" -> p}); None for None."""
    if value is None:
        return None
    allowed = ", ".join(f'"{m}"' for m in DROPOUT_METHODS)
    rules = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        rules = {"VariationalWeights": value}
    elif isinstance(value, dict):
        rules = dict(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(r, tuple) and len(r) == 2 for r in value):
        rules = dict(value)
    if rules is None or any(m not in DROPOUT_METHODS for m in rules):
        raise LayerGraphError(f"{head}: Specification for \"Dropout\" should be either None, a numeric probability, "
                              f"or a list of rules mapping methods to probabilities, where the allowed methods are "
                              f"{allowed}.", "General::invdrpspc")
    for p in rules.values():
        if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise LayerGraphError(f"{head}: Dropout probabilities should be numeric values between 0 and 1.",
                                  "General::invdrppval")
    if head == "BasicRecurrentLayer" and rules.get("StateUpdate", 0) > 0:   # its one update is the state
        raise LayerGraphError(f"{head}: \"UpdateVector\" dropout method is not applicable to BasicRecurrentLayer.",
                              "General::valfail")
    return {m: float(p) for m, p in rules.items()}


class _RecurrentLayer(NetLayer):
    """What LongShortTermMemoryLayer, GatedRecurrentLayer and BasicRecurrentLayer share: a
    sequence of length-k vectors -> a sequence of length-n vectors (the state s_t at each step),
    starting from zero state. ``gates`` are Wolfram's gate names in the core spec's stacking
    order (the one place each layer says so); each gate has "<gate>InputWeights" n x k,
    "<gate>StateWeights" n x n and "<gate>Biases" n, stacked into the core's InputWeights,
    RecurrentWeights and Bias by ``_stacked`` and cut back by ``recurrent_arrays``."""

    head = "Layer"
    gates: tuple[str, ...] = ()
    core_class: type = None
    takes_sequences = True
    requires_sequences = True   # its input port's data are sequences even before the net is sized

    def __init__(self, n=None, *, Dropout=None, **options):
        if isinstance(options.get("Input"), (int, np.integer)) and not isinstance(options.get("Input"), bool):
            options["Input"] = (VARYING_DIM, int(options["Input"]))   # "Input" -> k: vectors of size k
        super().__init__(**options)
        first_bias = f"{self.gates[0]}Biases"
        if n is None and self.arrays.get(first_bias) is not None:
            n = self.arrays[first_bias].shape[0]
        if n is None:
            raise LayerGraphError(f"{self.head}: the output size n is not specified; give "
                                  f"{self.head}(n).", "General::nfspec")
        n = _pos_int(self.head, "the output size", n)
        self._drop = _dropout(self.head, Dropout)
        self.params = {"OutputSize": n, "Dropout": _dropout_param(Dropout)}
        if self.input_spec is not None:
            _sequence_dims(self.head, self.input_spec)
        k = next((a.shape[1] for name, a in self.arrays.items() if a is not None and name.endswith("InputWeights")
                  and a.ndim == 2), None)
        if k is not None and self.input_spec is None:
            self.input_spec = (VARYING_DIM, int(k))
        self._check_arrays([self.input_spec] if self.input_spec is not None else None)

    def with_arrays(self, arrays):
        """A copy with these arrays; input weights of k columns make the "Input" a sequence of
        length-k vectors, as a layer constructed with them has."""
        new = super().with_arrays(arrays)
        w = new.arrays.get(f"{self.gates[0]}InputWeights")
        if new.input_spec is None and w is not None and w.ndim == 2:
            new.input_spec = (VARYING_DIM, int(w.shape[1]))
        return new

    def array_dims(self, in_dims):
        n = self.params["OutputSize"]
        k = in_dims[0][1] if in_dims and in_dims[0] is not None else None
        out = {}
        for g in self.gates:
            if k is not None:
                out[f"{g}InputWeights"] = (n, k)
            out[f"{g}StateWeights"] = (n, n)
            out[f"{g}Biases"] = (n,)
        return {name: out[name] for name in self.array_names if name in out}

    def _check_arrays(self, in_dims):
        dims = self.array_dims(in_dims)
        for name, value in self.arrays.items():
            want = dims.get(name)
            if value is None:
                continue
            if want is None:   # the input size is not known yet: the weights are n x something
                want = (self.params["OutputSize"], value.shape[1] if value.ndim == 2 else None)
            if tuple(value.shape) != tuple(want):
                raise _err(self.head, f"the array \"{name}\" has dimensions {wl_list(value.shape)}, but dimensions "
                                      f"{wl_list(want)} were expected.")

    def _probe_dims(self):
        return [self.input_spec] if self.input_spec is not None else None

    def _stacked(self):
        """{core learnable: the gates' arrays stacked in the core's order}; a learnable stays
        out while any of its gates' arrays is unset (NetInitialize fills those)."""
        kw = {}
        for kind, core in _CORE.items():
            parts = [self.arrays.get(f"{g}{kind}") for g in self.gates]
            if all(p is not None for p in parts):
                kw[core] = Internal(np.concatenate(parts, axis=0).astype(np.float32))
        return kw

    def _factors(self) -> dict:
        """LearningRateMultipliers of the arrays as the core's per-gate learn-rate factors
        (one number when the gates agree, else a 1-by-(number of gates) vector in the core's
        order)."""
        out = {}
        for kind, core in _CORE.items():
            rates = tuple(float(self.factor(f"{g}{kind}")) for g in self.gates)
            out[f"{core}LearnRateFactor"] = rates[0] if len(set(rates)) == 1 else rates
        return out

    def _spec_options(self, zero) -> dict:
        """The core spec's properties beyond the common ones (the LSTM's zero CellState, the
        GRU's ResetGateMode)."""
        return {}

    def state_ports(self) -> tuple[str, ...]:
        """Its state ports (Wolfram's "State", "CellState"): in a NetGraph, ``src -> NetPort[layer,
        "State"]`` gives the initial state, ``NetPort[layer, "State"] -> dst`` the final one."""
        return tuple(STATE_PORTS[s] for s in self.core_class.states)

    def build(self, name, in_dims, state_in=(), state_out=False):
        """The core spec; ``state_in``: the state ports connected in a NetGraph (their states are
        the core layer's state inputs, the others start at zero), ``state_out``: its final states
        are outputs too (the core layer's 'hidden' and 'cell')."""
        dims = _sequence_dims(self.head, _single(self.head, in_dims))
        self._check_arrays(in_dims)
        n = self.params["OutputSize"]
        zero = Internal(np.zeros(n, np.float32))
        names = dict(zip(self.state_ports(), self.core_class.states))
        fed = tuple(names[p] for p in state_in)
        states = {"HiddenState": zero, **self._spec_options(zero)}
        states = {k: v for k, v in states.items() if k not in fed}
        ports = dict(HasStateInputs=bool(fed), HasStateOutputs=bool(state_out),
                     state_inputs=fed if fed and len(fed) < len(names) else None)
        spec = self.core_class(Name=name, NumHiddenUnits=n, InputSize=int(dims[1]), OutputMode="sequence",
                               **states, **ports, **self._stacked(), **self._factors(), dropout=self._drop)
        return Built([spec], 0, 2, functools.partial(recurrent_arrays, gates=self.gates))

    @classmethod
    def _check_core(cls, spec):
        """Raise NoCounterpart where the core spec computes what this layer cannot say."""

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        """The Wolfram layer of a core spec (MATLAB's lstmLayer / gruLayer) that it computes
        exactly: one direction, OutputMode 'sequence', Wolfram's activations, zero state, no
        state ports, factors at their defaults."""
        if type(spec) is not cls.core_class or spec.directions != 1:
            raise NoCounterpart(f"not a one-direction {cls.core_class.__name__}")
        if spec.OutputMode != "sequence" or spec.HasStateInputs or spec.HasStateOutputs:
            raise NoCounterpart("OutputMode 'last' or state ports")
        if spec.StateActivationFunction != "tanh" or (cls.core_class is not L.RecurrentLayer and
                                                      spec.GateActivationFunction != "sigmoid"):
            raise NoCounterpart(f"{cls.head} has sigmoid gates and tanh states only")
        for s in spec.states:
            v = spec.internal(s)
            if v is not None and np.any(v):
                raise NoCounterpart(f"{s} is not zero")
        cls._check_core(spec)
        _at_default(spec, "InputWeightsLearnRateFactor", "RecurrentWeightsLearnRateFactor", "BiasLearnRateFactor")
        arrays = recurrent_arrays(spec, cls.gates) if spec.InputWeights is not None else {}
        if in_sizes:
            arrays["Input"] = (VARYING_DIM, int(in_sizes[0].channels))
        return cls(spec.NumHiddenUnits, Dropout=dict(spec.dropout) if spec.dropout else None, **arrays)


def _array_names(order):
    """Wolfram's arrays in the order its documentation lists them."""
    return tuple(f"{g}{kind}" for g in order for kind in ("InputWeights", "StateWeights", "Biases"))


class LongShortTermMemoryLayer(_RecurrentLayer):
    """``LongShortTermMemoryLayer[n]``: the core LSTM (MATLAB's lstmLayer), forget-gate biases
    initialized to 1."""

    head = "LongShortTermMemoryLayer"
    gates = GATES
    core_class = L.LSTMLayer
    array_names = _LSTM_ARRAYS

    def _spec_options(self, zero):
        return {"CellState": zero}


class GatedRecurrentLayer(_RecurrentLayer):
    """``GatedRecurrentLayer[n]``: Wolfram's equations (docs/recurrent_plan.md 2.1)
    i = σ(Wix.x + Wis.s + bi), r = σ(Wrx.x + Wrs.s + br), m = Tanh(Wmx.x + r*(Wms.s) + bm),
    s = (1 - i)*m + i*s_prev: the core GRU (MATLAB's gruLayer) in ResetGateMode
    'after-multiplication', Wolfram's InputGate being MATLAB's update gate z."""

    head = "GatedRecurrentLayer"
    gates = GRU_GATES
    core_class = L.GRULayer
    array_names = _array_names(("InputGate", "ResetGate", "MemoryGate"))

    def _spec_options(self, zero):
        return {"ResetGateMode": "after-multiplication"}

    @classmethod
    def _check_core(cls, spec):
        if spec.ResetGateMode != "after-multiplication":
            raise NoCounterpart(f"ResetGateMode {spec.ResetGateMode!r}: Wolfram's GRU is 'after-multiplication'")


class BasicRecurrentLayer(_RecurrentLayer):
    """``BasicRecurrentLayer[n]``: s_t = Tanh(wi.x_t + ws.s_{t-1} + b), the core's basic
    recurrent layer (layers/recurrent.py RecurrentLayer); arrays "InputWeights" n x k,
    "StateWeights" n x n, "Biases" n."""

    head = "BasicRecurrentLayer"
    gates = ("",)
    core_class = L.RecurrentLayer
    array_names = _array_names(("",))


def recurrent_arrays(core, gates) -> dict[str, np.ndarray]:
    """Wolfram's arrays of a core recurrent spec (the stacked arrays cut at each gate)."""
    out = {}
    h = core.NumHiddenUnits
    for kind, name in _CORE.items():
        value = core.internal(name)
        if value is None:
            continue
        for i, g in enumerate(gates):
            out[f"{g}{kind}"] = np.ascontiguousarray(value[i * h:(i + 1) * h])
    return out


def lstm_arrays(core) -> dict[str, np.ndarray]:
    """Wolfram's 12 arrays of a core LSTM spec."""
    return recurrent_arrays(core, GATES)


def core_arrays(arrays: dict, gates=GATES) -> dict[str, np.ndarray]:
    """The core spec's InputWeights, RecurrentWeights, Bias (MATLAB's layout) of Wolfram's
    arrays (``gates`` in the core's order; the LSTM's by default): what ``build`` stacks, for
    tests and other dialects."""
    return {core: np.concatenate([np.asarray(arrays[f"{g}{kind}"]) for g in gates], axis=0)
            for kind, core in _CORE.items()}


class _SequenceLayer(NetLayer):
    core_class = None
    takes_sequences = True
    requires_sequences = True

    def __init__(self, **options):
        super().__init__(**options)
        if self.input_spec is not None:
            _sequence_dims(self.head, self.input_spec)

    def _probe_dims(self):
        return [self.input_spec] if self.input_spec is not None else [(VARYING_DIM, 1)]

    @classmethod
    def from_core(cls, spec, in_sizes=None):
        return cls()

    def build(self, name, in_dims):
        dims = _sequence_dims(self.head, _single(self.head, in_dims))
        rank = 1 if self.core_class is SQ.SequenceLastLayer else len(dims)
        return Built([self.core_class(Name=name)], 0, rank, None)


class SequenceLastLayer(_SequenceLayer):
    """``SequenceLastLayer[]``: the last element of each sequence."""
    head = "SequenceLastLayer"
    core_class = SQ.SequenceLastLayer


class SequenceMostLayer(_SequenceLayer):
    """``SequenceMostLayer[]``: each sequence without its last element (sequences of at least 2)."""
    head = "SequenceMostLayer"
    core_class = SQ.SequenceMostLayer


class SequenceRestLayer(_SequenceLayer):
    """``SequenceRestLayer[]``: each sequence without its first element (sequences of at least 2)."""
    head = "SequenceRestLayer"
    core_class = SQ.SequenceRestLayer


class SequenceReverseLayer(_SequenceLayer):
    """``SequenceReverseLayer[]``: each sequence's elements in reverse order."""
    head = "SequenceReverseLayer"
    core_class = SQ.SequenceReverseLayer


RECURRENT_CLASSES = (LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer, SequenceLastLayer,
                     SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer)
for _cls in RECURRENT_CLASSES:
    checked_init(_cls)
    WL._recorded(_cls)
    WL._BY_HEAD[_cls.head] = _cls   # from_core finds them by the registry's Wolfram name
del _cls

__all__ = [c.__name__ for c in RECURRENT_CLASSES]
