"""The executor: a plan in topological order over the layer graph, run forward
(training or prediction) and backward, on one device's kernels.

Parameters live here in the internal layout: copies of what the layers store (in that
layout already), in the executor's dtype. Gradients of a layer output that feeds several layers are
summed. In prediction, an activation is dropped as soon as its last consumer
has run.

On a device other than 'cpu' ('cuda') activations stay in the device's memory between
layers: the input layers run on the host (their normalization is numpy), their outputs
are copied to the device once, the parameters are uploaded once (on the first forward),
and the activations the caller gets back are copied to the host once. Fusion is CPU-only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..kernels import KernelNotFoundError, get_kernel, get_transfers  # imports no numba: devices load on first use
from .errors import LayerGraphError
from .initializers import rng as global_rng
from .op import Op
from .ops import FullyConnectedOp, make_op, relu_context
from .registry import ELEMENTWISE
from .shared import tie_params

# Prediction on 'cpu' keeps activations pixel-major (N x H x W x C) between the convolutions that
# compute faster that way (ConvOp.pixel_major_ok) and the elementwise layers and additions
# between them; False turns the plan off (the tests compare both).
PIXEL_MAJOR = True

# Prediction on 'cpu' without padded sequences and without pixel-major steps runs a program worked
# out once per set of kept activations (Executor._program); False: the loop (the tests compare both).
PROGRAM = True

# In that program, a softmaxLayer that alone reads a run of fully connected layers (_fc_chains) is
# computed in the run's kernel call (each thread its rows); False: its own op (the tests compare
# both: the same numbers).
FC_SOFTMAX = True

# Training on 'cpu' without padded sequences and without pixel-major steps (an empty
# _train_layout_plan) runs a program worked out once per set of kept activations, predicting and
# dropout flags (Executor._train_program), and its backward one per input_grads
# (_backward_program); False: the loops (the tests compare both: the same arrays, contexts and
# gradients).
TRAIN_PROGRAM = True

# Training on 'cpu' keeps activations pixel-major between the convolutions the plan picks
# (_train_layout_plan) and the batch normalizations, elementwise layers, additions and global
# average pooling between them; False turns it off (the tests compare both).
PIXEL_MAJOR_TRAINING = True

# In that plan, a residual block's addition (and the ReLU after it) computed in the affine pass of
# the batch normalization that gives its later input (Executor._train_residual_bns); False: the
# layers one by one (the tests compare both: the same numbers).
RESIDUAL_BN_TRAINING = True

# backward outside the training program (the pixel-major plan, padded sequences, other devices)
# runs its steps as _backward_entries works them out once per pass's fusions, layouts and
# converted inputs (the loop's per-step decisions: about 0.45 ms of ResNet-20's step at batch 32,
# docs/performance.md, h_res6); False: the loop (the tests compare both: the same gradients).
BACKWARD_PLAN = True

# The activations prediction fuses into a convolution's or fully connected layer's epilogue (and
# a residual addition's): ReLU, and the clipped ReLU (ReLU6), min(max(x, 0), Ceiling).
FUSED_RELUS = ("relu", "clippedrelu")


def _fc_link(entry):
    """(step, relu, ceiling) of a prediction program's entry that is a fully connected layer on
    non-sequence data, alone (kind 2) or with its fused ReLU (kind 1, no BN, no pooling); else None."""
    kind, step, ins, outs, _, args = entry
    if kind not in (1, 2) or len(ins) != 1 or len(outs) != 1 or type(step.op) is not FullyConnectedOp \
            or step.op.in_sizes[0].is_sequence:
        return None
    if kind == 2:
        return step, False, float("inf")
    bn, relu, pool, ceiling = args
    return (step, relu, ceiling) if bn is None and pool is None else None


def _softmax_after(e, last) -> bool:
    """Whether program entry ``e`` is a softmaxLayer (no hyperparameters, not on sequences) that
    reads the entry ``last``'s one output as its only reader (dropped at ``e``, so not kept)."""
    op = e[1].op
    return (e[0] == 2 and op.layer.family == "softmax" and type(op).__name__ == "ActivationOp"
            and len(e[2]) == 1 and len(e[3]) == 1 and e[2] == last[3] and e[2][0] in e[4]
            and not op.in_sizes[0].is_sequence and op._hp() == ())


def _fc_chains(entries, softmax=False):
    """The program's entries with each run of fully connected layers (their fused ReLUs with
    them) in which every layer's output is read by the next one only, and not kept, as one
    entry of kind 3: (3, first step, its inputs, the last one's outputs, the first one's drops,
    [(step, relu, ceiling)]); one kernel call for the run (FullyConnectedOp.forward_chain).
    ``softmax`` (the 'cpu' table's softmax kernel is softmax.py's): a run that a softmaxLayer
    alone reads (_softmax_after) takes it in, as kind 4 with the softmax's outputs."""
    out, run = [], []

    def flush(sm=None):
        if len(run) > 1:
            first, last = run[0][0], run[-1][0]
            out.append((3 if sm is None else 4, first[1], first[2], last[3] if sm is None else sm[3], first[4],
                        [link for _, link in run]))
        else:
            out.extend(e for e, _ in run)
        run.clear()

    for e in entries:
        link = _fc_link(e)
        if link is not None and run and e[2] == run[-1][0][3] and e[2][0] in e[4]:
            run.append((e, link))   # reads the run's last output, its only reader (dropped here)
            continue
        if link is None and softmax and len(run) > 1 and _softmax_after(e, run[-1][0]):
            flush(e)   # the chain's call gives the softmax's output
            continue
        flush()
        if link is not None:
            run.append((e, link))
        else:
            out.append(e)
    flush()
    return out


def _ceiling(step) -> float:
    """The ceiling a fused ReLU step clips at: its Ceiling (clippedReluLayer), inf for reluLayer."""
    return float(step.op.layer.Ceiling) if step is not None and step.op.layer.family == "clippedrelu" \
        else float("inf")


@dataclass
class _TrainProgram:
    """Executor._train_program's pass: entries (kind, step, input refs, output refs, args), kind 0
    an input layer, 1 a training fusion ((pooling's hyperparameters or None, ceiling, addition?,
    batch normalization?)), 2 an op's forward ((training mode, has rng, batch statistics?)); the
    steps' sequence metadata, the ops whose x_nhwc the loop resets, {fused step: its layer} (read
    only: a backward program runs only while it is the executor's _fused_into), the refs the pass
    returns, and the backward programs per input_grads (_backward_program)."""
    entries: tuple
    seq_in: dict
    resets: list
    fused_into: object
    returned: tuple
    predicting: bool
    backward: dict = field(default_factory=dict)


@dataclass
class Step:
    name: str
    op: Op
    inputs: list[tuple[str, str]]   # (source layer, output port) per input port
    outputs: list[str]              # output port names


class Executor:
    def __init__(self, graph, analysis, device: str = "cpu", dtype=np.float32):
        self.device = device
        self.dtype = np.dtype(dtype)
        self.analysis = analysis
        feeds = {(dst, inp): (src, out) for src, out, dst, inp in graph.connections()}
        self.steps: list[Step] = []
        self.params: dict[str, dict[str, np.ndarray]] = {}
        for name in analysis.order:
            layer = graph.layer(name)
            info = analysis.info(name)
            op = make_op(layer, list(info.InputSizes.values()), list(info.ActivationSizes.values()), self.dtype)
            self.params[name] = op.prepare()
            self.steps.append(Step(name, op, [feeds[(name, p)] for p in layer.InputNames], list(layer.OutputNames)))
        # shared learnables (core/shared.py): one internal array per group, read by every member
        self.shared = tie_params(graph, self.params)
        self.input_names = [s.name for s in self.steps if s.op.layer.is_input]
        self._plan()

    def _plan(self):
        """What depends on the steps: last uses, fusion chains, and the per-run state (reset)."""
        self.batch_stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._ctx: dict[str, object] | None = None
        self._out_shapes: dict[str, list] = {}   # per step of several outputs: (shape, dtype) of each
        self._last_use = {}
        consumers: dict[tuple[str, str], list[Step]] = {}
        for i, step in enumerate(self.steps):
            for ref in step.inputs:
                self._last_use[ref] = i
                consumers.setdefault(ref, []).append(step)
        self._chains = self._fusable_chains(self.steps, consumers) if self.device == "cpu" else {}
        self._pixel_major = self._pixel_major_plan(self.steps, consumers, self._chains) if self.device == "cpu" \
            else set()
        self._residuals = self._residual_fusions(self.steps, consumers, self._chains, self._pixel_major)
        self._index = {s.name: i for i, s in enumerate(self.steps)}
        self._device_params: dict[str, dict] | None = None  # non-'cpu': self.params on the device
        self.__dict__.pop("_train_fusions_cache", None)
        self.__dict__.pop("_train_layout_cache", None)
        self.__dict__.pop("_train_residual_cache", None)
        self.__dict__.pop("_grad_refs_cache", None)
        self.__dict__.pop("_no_seq_metas", None)
        self.__dict__.pop("_program_cache", None)
        self.__dict__.pop("_train_program_cache", None)
        self._train_prog = None

    def with_values(self, graph, names) -> "Executor":
        """The plan of ``graph``, a graph that differs from this executor's only in the values
        (learnables, state) the layers ``names`` hold, same sizes and hyperparameters: those
        steps get new ops and parameters, the others' ops and parameter arrays are shared with
        this executor (which is not changed; a network's executor never writes its parameters)."""
        new = object.__new__(Executor)
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params)
        new.steps = []
        for step in self.steps:
            if step.name in names:
                info = self.analysis.info(step.name)
                op = make_op(graph.layer(step.name), list(info.InputSizes.values()),
                             list(info.ActivationSizes.values()), self.dtype)
                new.params[step.name] = op.prepare()
                step = Step(step.name, op, step.inputs, step.outputs)
            new.steps.append(step)
        new.shared = tie_params(graph, new.params)
        new._replan()
        return new

    def _replan(self):
        """``_plan`` after ``with_values``: the steps have the same names, families and
        connections, so the plan is the old one with its Step objects replaced by the new ones
        (last uses, the pixel-major set and the gradient and sequence caches are by name)."""
        by = {s.name: s for s in self.steps}
        self.batch_stats, self._ctx, self._device_params = {}, None, None

        def new(step):
            return None if step is None else by[step.name]
        self._chains = {k: (*(new(s) for s in v[:-1]), v[-1]) for k, v in self._chains.items()}
        fusions = self.__dict__.get("_train_fusions_cache")
        if fusions is not None:
            self._train_fusions_cache = {k: (new(r), new(p)) for k, (r, p) in fusions.items()}
        self.__dict__.pop("_program_cache", None)   # its entries hold the old steps and parameters
        self.__dict__.pop("_train_program_cache", None)
        self._train_prog = None

    @staticmethod
    def _fusable_chains(steps, consumers):
        """conv -> [batchnorm] -> [relu] -> [maxpool] runs, each link the only reader of the
        one before, that prediction computes in one convolution pass, and fc -> relu (images or
        features, not sequences), one fully connected pass; "relu" is a reluLayer or a
        clippedReluLayer (FUSED_RELUS; _ceiling).
        {conv name: (bn step, relu step, maxpool step, refs of the chain)}."""
        chains = {}

        def only(ref, families):
            readers = consumers.get(ref, [])
            ok = len(readers) == 1 and readers[0].op.layer.family in families
            return readers[0] if ok and readers[0].op.layer.NumOutputs == 1 else None

        for step in steps:
            if step.op.layer.family == "fc" and not step.op.in_sizes[0].is_sequence:
                relu = only((step.name, "out"), FUSED_RELUS)   # fc -> relu: the bias and ReLU in the product's pass
                if relu is not None:
                    chains[step.name] = (None, relu, None, [(step.name, "out"), (relu.name, "out")])
                continue
            if step.op.layer.family != "conv":
                continue
            links, ref = [], (step.name, "out")
            refs = [ref]
            for families in (("batchnorm",), FUSED_RELUS, ("maxpool",)):
                nxt = only(ref, families)
                links.append(nxt)
                if nxt is not None:
                    ref = (nxt.name, "out")
                    refs.append(ref)
            if len(refs) > 1:
                chains[step.name] = (*links, refs)
        return chains

    @staticmethod
    def _pixel_major_plan(steps, consumers, chains) -> set:
        """The convolutions whose prediction output (after their fused chain) is pixel-major:
        those with ``pixel_major_ok`` and no pooling in their chain whose output is worth keeping
        pixel-major: every reader takes that layout (another such convolution, an elementwise
        layer, an addition, an op that ``reads_pixel_major``: global average pooling) and at least
        one leads to such a convolution or such an op, directly or through elementwise layers and
        additions (so a convolution read by an activation and then a layer that needs channel-major
        input stays channel-major). Other layers get a pixel-major input transposed back first
        (forward's ``_layouts_for``)."""
        cands = {s.name for s in steps if s.op.layer.family == "conv" and s.op.pixel_major_ok()
                 and (s.name not in chains or chains[s.name][2] is None)}
        worth = _worth_pixel_major(consumers, cands, _layout_blind)
        return {name for name in cands if worth(chains[name][-1][-1] if name in chains else (name, "out"))}

    @staticmethod
    def _residual_fusions(steps, consumers, chains, planned) -> dict:
        """{planned convolution: (addition step, relu step or None, the addition's other input)}
        where the convolution's chain output is the only reader-facing input of a two-input
        addition (a ResNet block's second convolution and its BN), and the addition's output
        is read by a ReLU or clipped ReLU alone (fused too) or by anything: prediction then computes
        relu(conv(x) + other) in the convolution's epilogue, when ``other`` is already computed
        (forward checks; otherwise the layers run one by one)."""
        out = {}
        for name in planned:
            ref = chains[name][-1][-1] if name in chains else (name, "out")
            if name in chains and chains[name][1] is not None:
                continue   # a ReLU already follows the convolution: nothing to add to
            readers = consumers.get(ref, [])
            if len(readers) != 1:
                continue
            add = readers[0]
            if (add.op.layer.family != "addition" or len(add.inputs) != 2 or add.inputs.count(ref) != 1
                    or len(add.outputs) != 1 or add.op.layer.is_output):
                continue
            other = add.inputs[1] if add.inputs[0] == ref else add.inputs[0]
            nxt = consumers.get((add.name, add.outputs[0]), [])
            relu = nxt[0] if (len(nxt) == 1 and nxt[0].op.layer.family in FUSED_RELUS and len(nxt[0].outputs) == 1
                              and not nxt[0].op.layer.is_output) else None
            out[name] = (add, relu, other)
        return out

    def _train_fusions(self) -> dict:
        """{batchnorm name: (relu step, maxpool step or None)} where the ReLU (or clipped ReLU)
        is the BN output's only reader (and the max pooling a plain ReLU's); {addition name:
        (relu step, None)} where a ReLU (or clipped ReLU) is the addition's only reader (a ResNet
        block's end); and {fully connected name: (relu step, None)} where a ReLU (or clipped ReLU)
        is the only reader of a fully connected layer on images or features (not sequences): the
        bias and the ReLU in the product's epilogue, the ReLU's mask applied to dy in the layer's
        backward. Training computes each in one pass each way ('cpu' kernels, as prediction's
        chains)."""
        fusions = self.__dict__.get("_train_fusions_cache")
        if fusions is None:
            fusions = {}
            if self.device == "cpu":
                readers = self._readers()
                for step in self.steps:
                    if isinstance(step.op, FullyConnectedOp) and not step.op.in_sizes[0].is_sequence:
                        r = readers.get((step.name, "out"), [])
                        if len(r) == 1 and r[0].op.layer.family in FUSED_RELUS and len(r[0].outputs) == 1:
                            fusions[step.name] = (r[0], None)
                        continue
                    if step.op.layer.family not in ("batchnorm", "addition") or len(step.outputs) != 1:
                        continue
                    r = readers.get((step.name, step.outputs[0]), [])
                    if step.op.layer.family == "addition":
                        if (len(r) == 1 and r[0].op.layer.family in FUSED_RELUS and len(r[0].outputs) == 1
                                and not step.op.layer.is_output):
                            fusions[step.name] = (r[0], None)
                        continue
                    if len(r) == 1 and r[0].op.layer.family in FUSED_RELUS and len(r[0].outputs) == 1:
                        q = readers.get((r[0].name, r[0].outputs[0]), [])
                        pool = q[0] if len(q) == 1 and q[0].op.layer.family == "maxpool" \
                            and len(q[0].outputs) == 1 and r[0].op.layer.family == "relu" else None
                        fusions[step.name] = (r[0], pool)
            self._train_fusions_cache = fusions
        return fusions

    def _train_residual_bns(self) -> dict:
        """{batch normalization: (addition, ReLU or None, the addition's other input)}, by name,
        where a two-input addition (not the network's output) reads the BN's output alone, the BN
        is the later of its inputs' layers in the plan (the other input is computed first) and
        takes the pixel-major plan's layouts (_train_follows): the training pass then computes the
        addition, and the ReLU fused with it (_train_fusions), in the BN's affine pass
        (BatchNormOp.forward_train_residual; 'cpu'; forward checks RESIDUAL_BN_TRAINING and the
        layouts)."""
        plan = self.__dict__.get("_train_residual_cache")
        if plan is None:
            plan = {}
            if self.device == "cpu":
                readers, fusions = self._readers(), self._train_fusions()
                producer = {(s.name, p): s for s in self.steps for p in s.outputs}
                for add in self.steps:
                    if (add.op.layer.family != "addition" or len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]
                            or len(add.outputs) != 1 or add.op.layer.is_output):
                        continue
                    srcs = [producer.get(ref) for ref in add.inputs]
                    cands = [j for j, b in enumerate(srcs) if b is not None and b.op.layer.family == "batchnorm"
                             and _train_follows(b, fusions) and len(readers.get(add.inputs[j], [])) == 1]
                    if not cands:
                        continue
                    j = max(cands, key=lambda i: self._index[srcs[i].name])
                    other = srcs[1 - j]
                    if other is not None and self._index[other.name] > self._index[srcs[j].name]:
                        continue
                    relu = fusions.get(add.name, (None, None))[0]
                    plan[srcs[j].name] = (add.name, None if relu is None else relu.name, add.inputs[1 - j])
            self._train_residual_cache = plan
        return plan

    def _readers(self) -> dict:
        """{(layer, port): the steps that read it}, in plan order."""
        readers: dict[tuple[str, str], list[Step]] = {}
        for step in self.steps:
            for ref in step.inputs:
                readers.setdefault(ref, []).append(step)
        return readers

    def _train_layout_plan(self) -> set:
        """The convolutions whose training output is pixel-major ('cpu'; PIXEL_MAJOR_TRAINING):
        those with ``pixel_major_train_ok`` whose output is worth keeping
        pixel-major as prediction's plan judges it, with a batch normalization (not fused with
        max pooling) reading either layout as an elementwise layer does. In a pass, a batch
        normalization, elementwise layer or addition with a pixel-major input gives a pixel-major
        output, and global average pooling reads it; any other layer gets its input channel-major
        (forward's _train_inputs), and its gradient there goes back to the input's layout."""
        plan = self.__dict__.get("_train_layout_cache")
        if plan is None:
            plan = set()
            if self.device == "cpu":
                fusions = self._train_fusions()
                cands = {s.name for s in self.steps if s.op.layer.family == "conv" and s.op.pixel_major_train_ok()}
                worth = _worth_pixel_major(self._readers(), cands, lambda r: _train_follows(r, fusions),
                                           lambda r: _reads_pm(r) and r.op.takes_pixel_major())
                plan = {name for name in cands if worth((name, "out"))}
            self._train_layout_cache = plan
        return plan

    def k(self, family, op):
        """The kernel for this executor's device (ops call it; they never name a device)."""
        try:
            return get_kernel(family, op, self.device)
        except KernelNotFoundError as err:
            if self.device == "cpu":
                raise
            raise KernelNotFoundError(_no_device_kernel(self.device, family, err)) from None

    def _params_on_device(self, upload) -> dict[str, dict]:
        """The parameters of every non-input layer on the device, uploaded once; an array that
        layers share (core/shared.py) stays one device array. Input layers normalize on the host."""
        if self._device_params is None:
            done: dict[int, object] = {}
            self._device_params = {
                s.name: self.params[s.name] if s.op.layer.is_input else
                {k: done[id(v)] if id(v) in done else done.setdefault(id(v), upload(v))
                 for k, v in self.params[s.name].items()}
                for s in self.steps}
        return self._device_params

    def step(self, name) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise LayerGraphError(f"Layer '{name}' does not exist in the network.")

    # -- forward -----------------------------------------------------------------------------
    def _seq_metas(self, seq: dict | None) -> tuple[dict, dict]:
        """The sequence metadata (core/sequence.py SeqInfo or None) at every step's input and
        every output, from the input layers' (``seq``): an op passes its first input's on to
        its outputs with time unless its ``seq_out`` changes it. Without padding (no ``seq``)
        they are computed once and kept (a walk over every step: about 0.1 ms per call on
        ResNet-20)."""
        if not seq and self.__dict__.get("_no_seq_metas") is not None:
            return self._no_seq_metas
        outs: dict[tuple[str, str], object] = {}
        ins: dict[str, object] = {}
        for step in self.steps:
            # an op reads its first input's metadata, or that of its ``seq_input`` (a sequence
            # unfolding reads the folding's through 'miniBatchSize')
            m = (seq or {}).get(step.name) if step.op.layer.is_input else \
                (outs.get(step.inputs[getattr(step.op, "seq_input", 0)]) if step.inputs else None)
            ins[step.name] = m
            out = step.op.seq_out(m)
            sizes = step.op.out_sizes
            carry = getattr(step.op, "seq_ports", ())
            for j, port in enumerate(step.outputs):   # only an output with time (or a seq_port) has padding
                outs[(step.name, port)] = out if (j < len(sizes) and sizes[j].is_sequence) or port in carry else None
        if not seq:
            self._no_seq_metas = (ins, outs)
        return ins, outs

    def forward(self, inputs: dict[str, np.ndarray], training: bool = False, keep: set | None = None,
                rng=None, dropout: bool | None = None, seq: dict | None = None,
                predicting: bool = False) -> dict[tuple[str, str], np.ndarray]:
        """Run every layer. ``inputs`` maps input layer names to internal-layout
        batches. Returns the activations of the network outputs (unconnected output
        ports) and of the (layer, port) pairs in ``keep``. With ``training`` the
        contexts for ``backward`` are kept and BN batch statistics recorded;
        ``dropout=False`` turns dropout off in a training pass (the trainer's pass for
        population statistics). ``seq`` maps input layer names to the padding of their
        sequence batches (core/sequence.py ``SeqInfo``; None: no padding); each op reads its
        input's as ``op.seq``, and ``self.seq_meta`` holds the metadata of every output.
        ``predicting`` with ``training``: the contexts for ``backward`` of a pass that computes
        prediction's numbers (``Op.predicting``; no fusion, no batch statistics)."""
        keep = set(keep or ())
        # the last pass's contexts go first: kept through this pass, they would hold two passes'
        # activations at once (the peak memory of a training loop; autodiff keeps its own reference)
        self._ctx = None
        self._train_prog = None
        if PROGRAM and not training and not seq and self.device == "cpu" and not (PIXEL_MAJOR and self._pixel_major):
            return self._run_program(self._program(keep), inputs, rng, predicting)
        if (TRAIN_PROGRAM and training and not seq and self.device == "cpu"
                and not (PIXEL_MAJOR_TRAINING and not predicting and self._train_layout_plan())):
            return self._run_train_program(self._train_program(keep, predicting, dropout), inputs, rng)
        acts: dict[tuple[str, str], np.ndarray] = {}
        ctxs = {} if training else None
        self.batch_stats = {}
        gen = rng if rng is not None else global_rng()
        transfers = get_transfers(self.device)  # None on 'cpu'
        params = self.params if transfers is None else self._params_on_device(transfers[0])
        fused_away = set()
        self._fused_into = {}  # relu (and maxpool) name -> batchnorm name, fused in this training pass
        train_fusions = self._train_fusions() if training and not predicting else {}
        seq_in, self.seq_meta = self._seq_metas(seq)
        plan = self._pixel_major if PIXEL_MAJOR and not training and transfers is None else ()
        pm: set = set()   # refs whose array in acts is pixel-major (N x H x W x C)
        tplan = self._train_layout_plan() if (PIXEL_MAJOR_TRAINING and training and not predicting and not seq
                                              and transfers is None) else ()
        # this training pass's layouts: {step: (x_nhwc, y_nhwc)}, {step: [(input index, to
        # pixel-major)] converted for it}, the refs that are pixel-major and their converted copies
        self._train_layout, self._train_converted, self._train_pm = {}, {}, set()
        residual_bns = self._train_residual_bns() if tplan and RESIDUAL_BN_TRAINING else {}
        copies: dict = {}
        for i, step in enumerate(self.steps):
            op = step.op
            op.seq = seq_in[step.name]
            op.predicting = predicting
            op.y_nhwc = False
            if not op.reads_pixel_major:
                op.x_nhwc = False
            if step.name in fused_away:
                continue
            xs_t = self._train_inputs(step, acts, tplan, train_fusions, copies) if tplan else None
            chain = None if training else self._chains.get(step.name)
            unfused = chain is None or any(ref in keep for ref in chain[-1][:-1])
            planned = step.name in plan and (chain is None or not unfused)
            if pm:
                self._layouts_for(step, acts, pm, planned)
            if op.reads_pixel_major and not tplan:
                op.x_nhwc = bool(pm) and step.inputs[0] in pm
            fusion = train_fusions.get(step.name)
            # BN over padded vector sequences: its own masked path (an image sequence's op folds the
            # valid steps itself, fused or not: core/ops_folding.py)
            padded = op.seq is not None and not op.seq.full and not getattr(op, "folds_valid_steps", False)
            if step.name in residual_bns and self._bn_residual(step, xs_t, acts, keep, residual_bns[step.name], ctxs,
                                                               fused_away, copies):
                continue
            # a kept BN output: unfused
            if fusion is not None and not padded and (step.name, step.outputs[0]) not in keep:
                relu, pool = fusion
                last = (relu.name, relu.outputs[0])
                if pool is not None and last in keep:  # a kept ReLU output: no pooling in the pass
                    pool = None
                xs_f = [acts[ref] for ref in step.inputs] if xs_t is None else xs_t
                y, ctx = op.forward_train_fused(self.k, xs_f if op.layer.family == "addition" else xs_f[0],
                                                self.params[step.name], pool.op._hp() if pool is not None else None,
                                                _ceiling(relu))
                ctxs[step.name] = ctx
                if op.layer.family == "batchnorm":
                    self.batch_stats[step.name] = (ctx[1], ctx[2])
                for s in (relu, pool):
                    if s is not None:
                        fused_away.add(s.name)
                        self._fused_into[s.name] = step.name
                        last = (s.name, s.outputs[0])
                acts[last] = y
                if op.y_nhwc:
                    self._train_pm.add(last)
                continue
            if planned:
                bn, relu, _, refs = chain if chain is not None else (None, None, None, [(step.name, "out")])
                ref = step.inputs[0]
                res = self._residual_for(step, acts, pm, keep, refs[-1])
                if res is not None:
                    add, relu, other = res
                y = op.forward_pixel_major(self.k, acts[ref], ref in pm, self.params[step.name],
                                           (bn.op, self.params[bn.name]) if bn is not None else None,
                                           relu is not None, residual=None if res is None else acts[other],
                                           ceiling=_ceiling(relu))
                last = refs[-1] if res is None else ((relu or add).name, (relu or add).outputs[0])
                acts[last] = y
                pm.add(last)
                fused_away.update(s.name for s in (bn, relu) if s is not None)
                self._drop(acts, step, i, keep)
                if res is not None:
                    fused_away.add(add.name)
                    self._drop(acts, add, self._index[add.name], keep)
                continue
            if chain is not None and not unfused:
                bn, relu, pool, refs = chain
                y = op.forward_fused(self.k, acts[step.inputs[0]], self.params[step.name],
                                     (bn.op, self.params[bn.name]) if bn is not None else None, relu is not None,
                                     pool.op._hp() if pool is not None else None, _ceiling(relu))
                acts[refs[-1]] = y
                fused_away.update(s.name for s in (bn, relu, pool) if s is not None)
                self._drop(acts, step, i, keep)
                continue
            if op.layer.is_input:
                try:
                    xs = [np.ascontiguousarray(inputs[step.name], dtype=self.dtype)]
                except KeyError:
                    raise LayerGraphError(f"No data for input layer '{step.name}'.") from None
            else:
                xs = [acts[ref] for ref in step.inputs] if xs_t is None else xs_t
            if hasattr(op, "rng"):
                op.rng = gen
            if transfers is not None and op.host_only:
                raise KernelNotFoundError(_no_device_kernel(
                    self.device, f"layer '{step.name}' (family {op.layer.family!r}, {op.layer.Type})"))
            drops = op.layer.family == "dropout" or getattr(op, "drops_out", False)   # recurrent dropout too
            mode = training if dropout is None or not drops else training and dropout
            ys, ctx = op.forward(self.k, xs, params[step.name], mode)
            if transfers is not None and op.layer.is_input:
                ys = [transfers[0](y) for y in ys]  # once per batch, after the host-side normalization
            if training:
                ctxs[step.name] = ctx
                if len(ys) > 1:   # a missing output gradient is zeros of that output's shape (backward)
                    self._out_shapes[step.name] = [(y.shape, y.dtype) for y in ys]
                if op.layer.family == "batchnorm" and not predicting:
                    self.batch_stats[step.name] = (ctx[1], ctx[2])
            for port, y in zip(step.outputs, ys):
                acts[(step.name, port)] = y
            if op.y_nhwc:
                self._train_pm.update((step.name, port) for port in step.outputs)
            if not training:
                if pm and not op.reads_pixel_major and any(ref in pm for ref in step.inputs):
                    pm.update((step.name, port) for port in step.outputs)   # an addition or elementwise layer
                self._drop(acts, step, i, keep)
        for ref in pm:   # what is returned is channel-major
            if ref in acts:
                acts[ref] = _channel_major(acts[ref])
        if training:   # the outputs and kept activations only: the contexts hold what backward needs
            acts = {ref: a for ref, a in acts.items() if ref in keep or ref not in self._last_use}
            for ref in self._train_pm:   # what is returned is channel-major
                if ref in acts:
                    acts[ref] = _channel_major(acts[ref])
        self._ctx = ctxs
        if transfers is not None:  # only the outputs and kept activations are left: one copy each
            acts = {ref: transfers[1](a) for ref, a in acts.items()}
        return acts

    def _program(self, keep: set) -> tuple:
        """The prediction pass of ``forward`` on 'cpu' without padding and without pixel-major
        steps, worked out once per ``keep`` (the same decisions as the loop: the fused chains, a
        kept link unfusing its chain, the activations dropped after their last reader): a tuple of
        (kind, step, input refs, output refs, refs to drop after it, a chain's (bn step, relu,
        pooling, ceiling)), kind 0 an input layer, 1 a fused chain, 2 an op's forward, 3 fully connected
        layers one after another in one kernel call (_fc_chains), 4 the same with the softmaxLayer
        that reads them (its outputs; FC_SOFTMAX). About 30 us of a batch-32 MLP
        prediction was this loop's bookkeeping (docs/performance.md, h_mlp2)."""
        cache = self.__dict__.setdefault("_program_cache", {})
        key = frozenset(keep)
        prog = cache.get(key)
        if prog is not None:
            return prog
        entries, fused_away = [], set()
        for i, step in enumerate(self.steps):
            if step.name in fused_away:
                continue
            chain = self._chains.get(step.name)
            unfused = chain is None or any(ref in keep for ref in chain[-1][:-1])
            drops = tuple(ref for ref in step.inputs if self._last_use.get(ref) == i and ref not in keep)
            if chain is not None and not unfused:
                bn, relu, pool, refs = chain
                fused_away.update(s.name for s in (bn, relu, pool) if s is not None)
                args = (bn, relu is not None, pool.op._hp() if pool is not None else None, _ceiling(relu))
                entries.append((1, step, tuple(step.inputs), (refs[-1],), drops, args))
            else:
                kind = 0 if step.op.layer.is_input else 2
                outs = tuple((step.name, port) for port in step.outputs)
                entries.append((kind, step, tuple(step.inputs), outs, drops, None))
        seq_in, _ = self._seq_metas(None)
        prog = cache[key] = (tuple(_fc_chains(entries, FC_SOFTMAX and self._cpu_softmax())), seq_in,
                             [s.op for s in self.steps if hasattr(s.op, "rng")])
        return prog

    def _cpu_softmax(self) -> bool:
        """Whether this executor's softmax kernel is the CPU one (kernels/cpu/softmax.py), which a
        fully connected chain may run itself (dense._chain_forward's softmax)."""
        if self.device != "cpu":
            return False
        try:
            from ..kernels.cpu.softmax import softmax_forward
            return self.k("softmax", "forward_infer") is softmax_forward
        except (ImportError, KernelNotFoundError):
            return False

    def _run_program(self, prog, inputs, rng, predicting) -> dict:
        """``forward``'s prediction pass on a ``_program``."""
        entries, seq_in, with_rng = prog
        self.batch_stats = {}
        self._fused_into = {}
        _, self.seq_meta = self._seq_metas(None)
        if with_rng:
            gen = rng if rng is not None else global_rng()
            for op in with_rng:
                op.rng = gen
        self._train_layout, self._train_converted, self._train_pm = {}, {}, set()
        for s in self.steps:   # what the loop sets on every op (no pixel-major activations here)
            op = s.op
            op.seq = seq_in[s.name]
            op.predicting = predicting
            op.x_nhwc = op.y_nhwc = False
        acts: dict[tuple[str, str], np.ndarray] = {}
        params, k, dtype = self.params, self.k, self.dtype
        for kind, step, ins, outs, drops, args in entries:
            if kind == 1:
                bn, relu, pool, ceiling = args
                acts[outs[0]] = step.op.forward_fused(k, acts[ins[0]], params[step.name],
                                                      (bn.op, params[bn.name]) if bn is not None else None,
                                                      relu, pool, ceiling)
            elif kind >= 3:
                acts[outs[0]] = step.op.forward_chain(k, acts[ins[0]], [(params[s.name], relu, ceiling)
                                                                        for s, relu, ceiling in args], kind == 4)
            else:
                if kind == 0:
                    try:
                        xs = [np.ascontiguousarray(inputs[step.name], dtype=dtype)]
                    except KeyError:
                        raise LayerGraphError(f"No data for input layer '{step.name}'.") from None
                else:
                    xs = [acts[ref] for ref in ins]
                ys, _ = step.op.forward(k, xs, params[step.name], False)
                for ref, y in zip(outs, ys):
                    acts[ref] = y
            for ref in drops:
                acts.pop(ref, None)
        return acts

    def _train_program(self, keep: set, predicting: bool, dropout) -> "_TrainProgram":
        """The training pass of ``forward`` on 'cpu' without padding and without pixel-major steps
        (an empty _train_layout_plan, so no residual BN either), worked out once per ``keep``,
        ``predicting`` and ``dropout`` (the same decisions as the loop: the training fusions, a
        kept output unfusing them, a kept ReLU output keeping the pooling out, each op's training
        mode). About 30 us of the MLP's step at batch 32 was the loop's per-step decisions, and as
        much again in backward's (docs/performance.md, h_small5)."""
        cache = self.__dict__.setdefault("_train_program_cache", {})
        key = (frozenset(keep), bool(predicting), None if dropout is None else bool(dropout))
        prog = cache.get(key)
        if prog is not None:
            return prog
        seq_in, _ = self._seq_metas(None)
        fusions = self._train_fusions() if not predicting else {}
        entries, fused_away, fused_into, assigned = [], set(), {}, []
        for step in self.steps:
            if step.name in fused_away:
                continue
            op = step.op
            fusion = fusions.get(step.name)
            padded = (seq_in[step.name] is not None and not seq_in[step.name].full
                      and not getattr(op, "folds_valid_steps", False))
            if fusion is not None and not padded and (step.name, step.outputs[0]) not in keep:
                relu, pool = fusion
                last = (relu.name, relu.outputs[0])
                if pool is not None and last in keep:   # a kept ReLU output: no pooling in the pass
                    pool = None
                for s_ in (relu, pool):
                    if s_ is not None:
                        fused_away.add(s_.name)
                        fused_into[s_.name] = step.name
                        last = (s_.name, s_.outputs[0])
                entries.append((1, step, tuple(step.inputs), (last,),
                                (pool.op._hp() if pool is not None else None, _ceiling(relu),
                                 op.layer.family == "addition", op.layer.family == "batchnorm")))
                assigned.append(last)
                continue
            drops = op.layer.family == "dropout" or getattr(op, "drops_out", False)
            mode = True if dropout is None or not drops else bool(dropout)
            outs = tuple((step.name, port) for port in step.outputs)
            entries.append((0 if op.layer.is_input else 2, step, tuple(step.inputs), outs,
                            (mode, hasattr(op, "rng"), op.layer.family == "batchnorm" and not predicting)))
            assigned.extend(outs)
        returned = tuple(ref for ref in assigned if ref in keep or ref not in self._last_use)
        resets = [s.op for s in self.steps if not (s.name in fused_away and s.op.reads_pixel_major)]
        prog = cache[key] = _TrainProgram(tuple(entries), seq_in, resets, MappingProxyType(fused_into), returned,
                                          bool(predicting))
        return prog

    def _run_train_program(self, prog: "_TrainProgram", inputs, rng) -> dict:
        """``forward``'s training pass on a ``_train_program``."""
        self.batch_stats = stats = {}
        self._fused_into = prog.fused_into
        _, self.seq_meta = self._seq_metas(None)
        self._train_layout, self._train_converted, self._train_pm = {}, {}, set()
        seq_in, predicting = prog.seq_in, prog.predicting
        for s in self.steps:   # what the loop sets on every op (no pixel-major activations here)
            op = s.op
            op.seq = seq_in[s.name]
            op.predicting = predicting
            op.y_nhwc = False
        for op in prog.resets:
            op.x_nhwc = False
        acts: dict[tuple[str, str], np.ndarray] = {}
        ctxs: dict = {}
        params, k, gen = self.params, self.k, None
        for kind, step, ins, outs, args in prog.entries:
            op, name = step.op, step.name
            if kind == 1:
                pool, ceiling, addition, bn = args
                y, ctx = op.forward_train_fused(k, [acts[r] for r in ins] if addition else acts[ins[0]],
                                                params[name], pool, ceiling)
                ctxs[name] = ctx
                if bn:
                    stats[name] = (ctx[1], ctx[2])
                acts[outs[0]] = y
                continue
            mode, has_rng, bn = args
            if kind == 0:
                try:
                    xs = [np.ascontiguousarray(inputs[name], dtype=self.dtype)]
                except KeyError:
                    raise LayerGraphError(f"No data for input layer '{name}'.") from None
            else:
                xs = [acts[r] for r in ins]
            if has_rng:
                if gen is None:
                    gen = rng if rng is not None else global_rng()
                op.rng = gen
            ys, ctx = op.forward(k, xs, params[name], mode)
            ctxs[name] = ctx
            if len(ys) > 1:   # a missing output gradient is zeros of that output's shape (backward)
                self._out_shapes[name] = [(y.shape, y.dtype) for y in ys]
            if bn:
                stats[name] = (ctx[1], ctx[2])
            for ref, y in zip(outs, ys):
                acts[ref] = y
        self._ctx = ctxs
        self._train_prog = prog
        return {ref: acts[ref] for ref in prog.returned}

    def _backward_program(self, prog: "_TrainProgram", input_grads: bool) -> tuple:
        """``backward``'s steps after a ``_train_program`` pass, worked out once per
        ``input_grads`` (_backward_entries with the program's fusions, no layouts, nothing
        converted)."""
        got = prog.backward.get(input_grads)
        if got is None:
            got = prog.backward[input_grads] = self._backward_entries(input_grads, prog.fused_into, {}, {})
        return got

    def _backward_entries(self, input_grads: bool, fused_into, layouts, converted) -> tuple:
        """``backward``'s steps for a training pass with these fusions ({fused step: its layer}),
        layouts ({step: (x_nhwc, y_nhwc)}) and converted inputs ({step: [(input index, to
        pixel-major)]}): per step in reverse (input layers left out) its output refs, and (kind 0)
        nothing more where neither an input nor a learnable needs a gradient (its output
        gradients are only taken away, as the loop does), (kind 1) the input its fused ReLU's
        layer takes the gradient at, (kind 2) its inputs, which need a gradient, which may go as
        dx_add (_addable; None where none may), its layouts and its converted inputs (None: none)."""
        need = self._grad_refs(input_grads)
        entries = []
        for step in reversed(self.steps):
            if step.op.layer.is_input:
                continue
            outs = tuple((step.name, p) for p in step.outputs)
            needs = tuple(ref in need for ref in step.inputs)
            if not any(needs) and not step.op.learnable_names:
                entries.append((0, step, outs, None))
            elif step.name in fused_into:
                entries.append((1, step, outs, step.inputs[0]))
            else:
                conv = tuple(converted.get(step.name, ())) or None
                entries.append((2, step, outs, (needs, self._addable(step, needs, converted),
                                                layouts.get(step.name, (False, False)), conv)))
        return tuple(entries)

    def _run_backward_program(self, entries, ctxs, grads_act, release) -> dict:
        """``backward`` on a ``_backward_program``."""
        return self._run_backward_entries(entries, ctxs, grads_act, release)

    def _run_backward_entries(self, entries, ctxs, grads_act, release) -> dict:
        """``backward`` on a ``_backward_entries`` (the loop's steps)."""
        grads: dict[str, dict[str, np.ndarray]] = {}
        params, k, pop = self.params, self.k, grads_act.pop
        for kind, step, outs, args in entries:
            if len(outs) == 1:
                d = pop(outs[0], None)
                if d is None:
                    continue
                dys = [d]
            else:
                dys = [pop(ref, None) for ref in outs]
                if all(d is None for d in dys):
                    continue
            if kind == 0:
                continue
            if kind == 1:   # its fused layer applies the mask (and scatter)
                grads_act[args] = dys[0]
                continue
            needs, addable, layout, conv = args
            op, name = step.op, step.name
            if len(dys) > 1:
                shapes = self._out_shapes.get(name)
                dys = [d if d is not None else np.zeros(*shapes[j]) if shapes is not None else
                       np.zeros_like(next(x for x in dys if x is not None)) for j, d in enumerate(dys)]
            op.need_dx = needs
            op.x_nhwc, op.y_nhwc = layout
            adds = _adds(addable, step.inputs, grads_act)   # _dx_adds
            op.dx_add = adds
            try:
                dxs, g = op.backward(k, dys, ctxs.pop(name) if release else ctxs[name], params[name])
            finally:
                op.dx_add = None
            if conv is not None:   # an input given in the other layout: its gradient goes back
                dxs = _turned_back(dxs, conv, needs)
            if g:
                grads[name] = g
            _gather_dxs(step.inputs, dxs, needs, adds, grads_act)
        self.input_grads = grads_act  # what is left: gradients at the input layers' outputs
        return grads

    def _bn_residual(self, step, xs, acts, keep, fusion, ctxs, fused_away, copies) -> bool:
        """The residual fusion of batch normalization ``step`` in this training pass
        (_train_residual_bns), if its output is pixel-major (``op.y_nhwc``), the addition's other
        input is computed and 4-D (a channel-major one goes as the pixel-major copy the addition
        would read, its gradient turned back: _train_converted), and no output in between is kept:
        the addition's (and its ReLU's) output from the BN's pass, the contexts each backward
        expects (the BN's plain one, the addition's with the ReLU's mask). True where it ran."""
        add_name, relu_name, other = fusion
        add = self.steps[self._index[add_name]]
        relu = self.steps[self._index[relu_name]] if relu_name is not None else None
        if (not step.op.y_nhwc or other not in acts or np.ndim(acts[other]) != 4
                or (step.name, step.outputs[0]) in keep or (relu is not None and (add.name, add.outputs[0]) in keep)):
            return False
        r, turned = self._in_layout(other, True, acts, copies)
        if turned:
            self._train_converted[add.name] = [(add.inputs.index(other), True)]
        y, ctx = step.op.forward_train_residual(self.k, xs[0], self.params[step.name], r, relu is not None,
                                                _ceiling(relu))
        ctxs[step.name] = ctx
        self.batch_stats[step.name] = (ctx[1], ctx[2])
        ctxs[add.name] = relu_context(y, _ceiling(relu)) if relu is not None else None
        fused_away.add(add.name)
        last = (add.name, add.outputs[0])
        if relu is not None:
            fused_away.add(relu.name)
            self._fused_into[relu.name] = add.name
            last = (relu.name, relu.outputs[0])
        acts[last] = y
        self._train_pm.add(last)
        return True

    def _train_inputs(self, step, acts, tplan, fusions, copies) -> list:
        """The inputs of ``step`` in a training pass with the pixel-major plan ``tplan``
        (_train_layout_plan), and its op's ``x_nhwc`` and ``y_nhwc``: a planned convolution reads
        either layout and gives pixel-major; a batch normalization, elementwise layer or addition
        with a pixel-major input gets its (4-D) inputs pixel-major and gives pixel-major; global
        average pooling reads pixel-major as it is; any other layer gets them channel-major. An
        input given in the other layout is a copy (one per ref and layout in ``copies``),
        recorded so that backward turns its gradient back (_train_converted)."""
        refs = step.inputs
        tpm = self._train_pm
        anypm = any(ref in tpm for ref in refs)
        x_nhwc = y_nhwc = False
        want = [False] * len(refs)
        if step.name in tplan:
            x_nhwc = refs[0] in tpm
            want, y_nhwc = [x_nhwc], True
        elif anypm and _train_follows(step, fusions) and all(acts[ref].ndim == 4 for ref in refs):
            want, x_nhwc, y_nhwc = [True] * len(refs), True, True
        elif anypm and _reads_pm(step) and step.op.takes_pixel_major(acts[refs[0]]):
            want, x_nhwc = [True], True
        xs, converted = [], []
        for j, (ref, to_pm) in enumerate(zip(refs, want)):
            a, turned = self._in_layout(ref, to_pm, acts, copies)
            if turned:
                converted.append((j, to_pm))
            xs.append(a)
        step.op.x_nhwc, step.op.y_nhwc = x_nhwc, y_nhwc
        if x_nhwc or y_nhwc:
            self._train_layout[step.name] = (x_nhwc, y_nhwc)
        if converted:
            self._train_converted[step.name] = converted
        return xs

    def _in_layout(self, ref, to_pm, acts, copies):
        """(ref's activation in this training pass in the layout ``to_pm``, whether that is a copy:
        one per ref and layout in ``copies``, its reader's gradient to be turned back)."""
        a = acts[ref]
        if to_pm == (ref in self._train_pm):
            return a, False
        key = (ref, to_pm)
        if key not in copies:
            copies[key] = _pixel_major(a) if to_pm else _channel_major(a)
        return copies[key], True

    def _residual_for(self, step, acts, pm, keep, ref):
        """The residual fusion of planned convolution ``step`` in this pass (_residual_fusions),
        or None: its addition's other input is computed, 4-D, and no output in between is kept
        (``keep``). A channel-major other input is transposed to pixel-major in ``acts`` first."""
        fusion = self._residuals.get(step.name)
        if fusion is None:
            return None
        add, relu, other = fusion
        if other not in acts or acts[other].ndim != 4 or ref in keep or (
                relu is not None and (add.name, add.outputs[0]) in keep):
            return None
        if other not in pm:
            acts[other] = _pixel_major(acts[other])
            pm.add(other)
        return fusion

    @staticmethod
    def _layouts_for(step, acts, pm, planned):
        """Before ``step`` runs in a prediction with pixel-major activations (``pm``): a planned
        convolution reads either layout; an addition or elementwise layer with a pixel-major input
        gets all its inputs pixel-major; an op that ``reads_pixel_major`` takes its input as it
        is; any other layer gets them channel-major (transposed once, in place in ``acts``)."""
        refs = [ref for ref in step.inputs if ref in acts]
        if planned or step.op.reads_pixel_major or not any(ref in pm for ref in refs):
            return
        if _layout_blind(step):
            for ref in refs:
                if ref not in pm and acts[ref].ndim == 4:
                    acts[ref] = _pixel_major(acts[ref])
                    pm.add(ref)
            return
        for ref in refs:
            if ref in pm:
                acts[ref] = _channel_major(acts[ref])
                pm.discard(ref)

    def _drop(self, acts, step, i, keep):
        """In prediction, free the activations that no later layer reads."""
        for ref in step.inputs:
            if self._last_use.get(ref) == i and ref not in keep and ref in acts:
                del acts[ref]

    def output_refs(self) -> list[tuple[str, str]]:
        return [(s.name, p) for s in self.steps for p in s.outputs if (s.name, p) not in self._last_use]

    # -- backward ------------------------------------------------------------------------
    def _grad_refs(self, input_grads: bool) -> set:
        """The activations whose gradient backward computes: those at or downstream of a layer
        with learnables, and with ``input_grads`` everything downstream of an input layer."""
        cache = self.__dict__.setdefault("_grad_refs_cache", {})
        if input_grads not in cache:
            need: set = set()
            for step in self.steps:
                if (step.op.learnable_names or (input_grads and step.op.layer.is_input)
                        or any(ref in need for ref in step.inputs)):
                    need.update((step.name, p) for p in step.outputs)
            cache[input_grads] = need
        return cache[input_grads]

    def backward(self, seeds: dict[tuple[str, str], np.ndarray],
                 input_grads: bool = False, release: bool = False) -> dict[str, dict[str, np.ndarray]]:
        """Gradients of the learnables, given the loss gradients at some activations
        (after a ``forward(training=True)``). Returns {layer: {parameter: gradient}}.
        An activation's gradient is computed only where some layer at or upstream of it has
        learnables (an op learns which of its inputs need one from ``op.need_dx`` and may
        skip the others: the first convolution's dx); ``input_grads=True`` also computes the
        gradients at the input layers' outputs, left in ``self.input_grads``. ``release``: each
        layer's context is let go once its backward has run (the trainer's loop: the saved
        activations are freed as the gradients are made, a lower peak; no second backward of
        the pass)."""
        if self._ctx is None:
            raise LayerGraphError("backward needs a forward pass with training=True first.")
        ctxs = self._ctx
        if release:
            self._ctx = None
        prog = self.__dict__.get("_train_prog")
        if (prog is not None and self._fused_into is prog.fused_into and not self._train_layout
                and not self._train_converted and not self._train_pm):
            return self._run_backward_program(self._backward_program(prog, bool(input_grads)), ctxs, dict(seeds),
                                              release)
        grads_act = dict(seeds)
        layouts = self.__dict__.get("_train_layout") or {}
        converted = self.__dict__.get("_train_converted") or {}
        for ref in self.__dict__.get("_train_pm") or ():   # seeds come channel-major, as forward returned
            if ref in grads_act and np.ndim(grads_act[ref]) == 4:
                grads_act[ref] = _pixel_major(grads_act[ref])
        if BACKWARD_PLAN:
            cache = self.__dict__.setdefault("_backward_cache", {})
            key = (bool(input_grads), frozenset(self._fused_into.items()), frozenset(layouts.items()),
                   frozenset((name, tuple(v)) for name, v in converted.items()))
            entries = cache.get(key)
            if entries is None:
                entries = cache[key] = self._backward_entries(bool(input_grads), self._fused_into, layouts,
                                                              converted)
            return self._run_backward_entries(entries, ctxs, grads_act, release)
        need = self._grad_refs(bool(input_grads))
        grads: dict[str, dict[str, np.ndarray]] = {}
        for step in reversed(self.steps):
            if step.op.layer.is_input:
                continue
            dys = [grads_act.pop((step.name, p), None) for p in step.outputs]
            if all(d is None for d in dys):
                continue
            needs = tuple(ref in need for ref in step.inputs)
            if not any(needs) and not step.op.learnable_names:
                continue
            if step.name in self._fused_into:  # its batch normalization applies the mask (and scatter)
                grads_act[step.inputs[0]] = dys[0]
                continue
            shapes = self._out_shapes.get(step.name)
            dys = [d if d is not None else np.zeros(*shapes[j]) if shapes is not None else
                   np.zeros_like(next(x for x in dys if x is not None)) for j, d in enumerate(dys)]
            step.op.need_dx = needs
            step.op.x_nhwc, step.op.y_nhwc = layouts.get(step.name, (False, False))
            adds = self._dx_adds(step, needs, grads_act, converted)
            step.op.dx_add = adds
            try:
                dxs, g = step.op.backward(self.k, dys, ctxs.pop(step.name) if release else ctxs[step.name],
                                          self.params[step.name])
            finally:
                step.op.dx_add = None
            if step.name in converted:   # an input given in the other layout: its gradient goes back
                dxs = _turned_back(dxs, converted[step.name], needs)
            if g:
                grads[step.name] = g
            _gather_dxs(step.inputs, dxs, needs, adds, grads_act)
        self.input_grads = grads_act  # what is left: gradients at the input layers' outputs
        return grads


    def _addable(self, step, needs, converted):
        """Which of the step's inputs may take Op.dx_add (CPU, an op that ``adds_dx``): those
        that need a gradient, whose dx comes in its layout (not an input the pixel-major training
        plan converted) and that the step reads once; None where none may."""
        if self.device != "cpu" or not step.op.adds_dx:
            return None
        turned = {j for j, _ in converted.get(step.name, ())}
        ok = tuple(needs[j] and j not in turned and step.inputs.count(ref) == 1 for j, ref in enumerate(step.inputs))
        return ok if any(ok) else None

    def _dx_adds(self, step, needs, grads_act, converted):
        """Op.dx_add for this backward: per input that may take one (_addable), the gradient
        already gathered at it, where one is; None where there is none."""
        return _adds(self._addable(step, needs, converted), step.inputs, grads_act)


def _worth_pixel_major(readers, cands, passes, reads=None):
    """worth(ref) of the pixel-major plans (prediction's and training's): every reader of ref
    takes that layout (a convolution in ``cands``, a step that ``passes`` it on, global average
    pooling or a fully connected layer on images: _reads_pm) and at least one leads to such a
    convolution or such a reader, directly or through steps that pass it on. ``reads``: which
    of those readers count (default: all)."""
    memo: dict = {}
    reads = reads or _reads_pm

    def worth(ref):
        if ref not in memo:
            memo[ref] = False   # a cycle cannot occur (topological order); this only guards
            rs = readers.get(ref, [])
            memo[ref] = bool(rs) and all(r.name in cands or passes(r) or reads(r) for r in rs) and any(
                r.name in cands or reads(r) or worth((r.name, r.outputs[0])) for r in rs)
        return memo[ref]
    return worth


def _layout_blind(step) -> bool:
    """An addition or elementwise layer of one output that is not the network's: it computes the
    same in either layout and gives its inputs' layout."""
    fam = step.op.layer.family
    return (fam == "addition" or fam in ELEMENTWISE) and len(step.outputs) == 1 and not step.op.layer.is_output


def _train_follows(step, fusions) -> bool:
    """Whether a training step takes a pixel-major input and gives a pixel-major output: a batch
    normalization of images (not fused with max pooling: that kernel is channel-major) with one
    output that is not the network's, or a layout-blind step (_layout_blind)."""
    if step.op.layer.family == "batchnorm":
        size = step.op.in_sizes[0]
        fused = fusions.get(step.name)
        return (len(step.outputs) == 1 and not step.op.layer.is_output and not size.is_sequence
                and len(size.spatial) == 2 and (fused is None or fused[1] is None))
    return _layout_blind(step)


def _reads_pm(step) -> bool:
    """An op that ``reads_pixel_major`` (global average pooling, a fully connected layer on
    images) of one input."""
    return step.op.reads_pixel_major and len(step.inputs) == 1


def _adds(addable, inputs, grads_act):
    """Op.dx_add: per input that may take one (``addable``, Executor._addable; None: none may),
    the gradient already gathered at it in grads_act, where one is; None where there is none."""
    if addable is None:
        return None
    adds = tuple(grads_act.get(ref) if ok else None for ref, ok in zip(inputs, addable))
    return adds if any(a is not None for a in adds) else None


def _turned_back(dxs, conv, needs):
    """A step's input gradients with those of inputs it was given in the other layout (``conv``:
    [(input index, converted to pixel-major)]) turned back to their activations' layouts."""
    dxs = list(dxs)
    for j, to_pm in conv:
        if dxs[j] is not None and needs[j]:
            dxs[j] = _channel_major(dxs[j]) if to_pm else _pixel_major(dxs[j])
    return dxs


def _gather_dxs(inputs, dxs, needs, adds, grads_act):
    """A step's input gradients into grads_act (a backward pass's gradients by ref): each wanted
    dx is the gradient at its ref, or is added to the one already there, except where the op added
    that already itself (adds[j], its dx_add)."""
    for j, (ref, dx, wanted) in enumerate(zip(inputs, dxs, needs)):
        if not wanted or dx is None:
            continue
        if adds is not None and adds[j] is not None:   # the op added what was gathered there
            grads_act[ref] = dx
        elif ref in grads_act:
            grads_act[ref] = _accumulate(grads_act[ref], dx)
        else:
            grads_act[ref] = dx


def _accumulate(a, b):
    """a + b, a new array: for two same-shape float CPU arrays the CPU kernels' addition (split
    over the pool's threads; a residual block's input gradient in training), else numpy's."""
    if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype == b.dtype and a.dtype in (np.float32, np.float64)):
        from ..kernels.cpu.combine import addition_forward
        return addition_forward([a, b])
    return a + b


def _cpu_transposable(a) -> bool:
    return isinstance(a, np.ndarray) and a.ndim == 4 and a.dtype in (np.float32, np.float64)


def _channel_major(a):
    """A pixel-major N x H x W x C activation as N x C x H x W (the CPU kernels' blocked transpose,
    split over the pool's threads: numpy's is serial)."""
    if _cpu_transposable(a):
        from ..kernels.cpu.conv import nhwc_to_nchw
        return nhwc_to_nchw(a)
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _pixel_major(a):
    """A channel-major N x C x H x W activation as N x H x W x C (as _channel_major)."""
    if _cpu_transposable(a):
        from ..kernels.cpu.conv import nchw_to_nhwc
        return nchw_to_nhwc(a)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _no_device_kernel(device, what, err=None) -> str:
    """KernelNotFoundError's message off the CPU: what is missing, and the way out."""
    first = f"{err}" if err is not None else f"No {device!r} kernel for {what}."
    return (f"{first} Layers without {device!r} kernels cannot run with ExecutionEnvironment 'gpu'; "
            f"use ExecutionEnvironment 'cpu' for this network.")
