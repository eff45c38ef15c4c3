"""The training loop both dialects share.

``train(net, inputs, targets, losses, config)`` trains an initialized core ``Network``
(``core/network.py``, or a dialect's network built on it; no output layers: the losses are
attached to output ports) on data in the internal layout (observations first). Per
iteration, in MATLAB's order:

  1. forward in training mode (batch statistics in batch normalization, dropout on);
  2. the losses and their gradients; backward;
  3. for every learnable whose learn-rate factor is not 0: g += l2 * L2Factor * w;
  4. gradient thresholding (per array, global, or elementwise);
  5. the solver step with the rate  base rate * learn-rate factor  (factor 0: skipped);
  6. the moving batch-normalization statistics, s <- d * batch + (1 - d) * s with the
     layer's MeanDecay / VarianceDecay (layers in ``frozen_state`` keep theirs).

A shared learnable (``core/shared.py``) is one array: its members' gradients are summed
before step 3, and steps 3 to 5 see it once (one L2 term, one solver state, one update).

Each epoch visits floor(N / MiniBatchSize) mini-batches (the incomplete last one is
dropped). Training stops at MaxEpochs, when a callback returns True, when the
validation loss has not improved ``validation_patience`` times in a row, on
KeyboardInterrupt, or when the loss or a gradient is not finite; in every case the
network trained so far comes back (for a non-finite loss, the weights before that
iteration, which are finite; an update that would make a weight NaN or Inf is undone).

The clock (TimeSinceStart, the elapsed time in the state) leaves out the time numba
spends compiling kernels: a first run on a machine compiles them (seconds) on its
first iterations, which is neither training time nor a reason to stop at a time goal.
``on_compile`` is called once, when the first compilation of the run starts, so that
a dialect can say why nothing moves.

Nothing here knows a dialect's option names: the MATLAB dialect (trainingOptions,
trainNetwork) and the Wolfram dialect (NetTrain) translate theirs into TrainConfig.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core import conventions as cv
from ..core import shared
from ..core.errors import LayerGraphError
from ..core.executor import Executor
from ..core.initializers import rng as global_rng
from ..core.sequence import Padded, SequenceData
from ..data.sources import Column, Feed, SourceError, batches, streamed
from .compiling import CompileClock
from .frontend import count as _count
from .solvers import SGDM, threshold

Ref = tuple[str, str]


@dataclass
class TrainConfig:
    solver: Any = field(default_factory=SGDM)
    learn_rate: float = 0.01
    # learning rate for an iteration: schedule(base_rate, iteration, epoch) (1-based; the
    # epoch is the one the iteration belongs to). None: the base rate throughout.
    schedule: Callable[[float, int, int], float] | None = None
    l2: float = 1e-4
    gradient_threshold_method: str = "l2norm"
    gradient_threshold: float = math.inf
    max_epochs: int = 30
    minibatch_size: int = 128
    shuffle: str = "once"                   # 'once', 'never', 'every-epoch'
    validation: tuple[dict, dict] | None = None   # (inputs, targets) like the training data
    validation_frequency: int = 50
    validation_patience: float = math.inf
    output_network: str = "last-iteration"  # or 'best-validation-loss'
    # what 'best-validation-loss' and validation_patience compare (lower is better):
    # objective(loss, metric) of a validation; None: the loss
    objective: Callable[[float, Any], float] | None = None
    validation_start: int = 1               # the first validation: after iteration 1, or 0 (before training)
    bn_statistics: str = "population"       # or 'moving'
    frozen_state: frozenset = frozenset()   # BN layers whose moving statistics stay as they are
    callbacks: list = field(default_factory=list)  # f(info) -> True to stop
    checkpoint: Callable[["TrainState", "TrainResult"], None] | None = None
    checkpoint_frequency: int = 1
    checkpoint_unit: str = "epoch"          # or 'iteration'
    seed: int | None = None                 # None: draw from layergraph.rng()
    device: str = "cpu"
    dtype: Any = np.float32
    on_compile: Callable[[], None] | None = None  # called when kernels start compiling (once a run)
    # progress(done, total) of the pass over streamed data for the population statistics
    on_read: Callable[[int, int], None] | None = None
    # sequences: train each padded mini-batch in chunks of this many steps (truncated
    # backpropagation through time), one update per chunk, the recurrent state carried between
    # the chunks of a mini-batch (detached) and reset at the next; None: the whole sequences
    sequence_chunk: int | None = None


@dataclass
class TrainState:
    """Everything needed to continue a run exactly: weights and batch-normalization
    statistics (internal layout), solver state, counters, the epoch's order and the
    random generator."""
    params: dict                 # {layer: {name: array}}
    solver_state: dict           # {(layer, name): {slot: array}}
    iteration: int = 0           # iterations completed
    epoch: int = 1               # the epoch being run
    position: int = 0            # mini-batches of this epoch completed
    order: np.ndarray | None = None
    rng_state: dict | None = None
    history: list = field(default_factory=list)
    best_loss: float = math.inf
    best_params: dict | None = None
    best_iteration: int = 0
    bad_validations: int = 0
    elapsed: float = 0.0


@dataclass
class TrainResult:
    net: Any                     # the trained network (the kind given to train)
    history: list                # one dict per iteration (MATLAB's info fields)
    stop_reason: str
    final_validation: dict | None = None
    output_iteration: int = 0
    state: TrainState | None = None
    non_finite: bool = False     # stopped because the loss, a gradient or an update was not finite
    compile_seconds: float = 0.0  # time spent compiling kernels, left out of the clock
    read_error: str | None = None  # stopped because a data source could not read an observation


class _Run:
    def __init__(self, net, inputs, targets, losses, cfg: TrainConfig, resume: TrainState | None,
                 clock: CompileClock):
        self.clock = clock
        self.net, self.inputs, self.targets, self.losses, self.cfg = net, inputs, targets, losses, cfg
        self.n = _count({**inputs, **{str(k): v for k, v in targets.items()}})
        self.bs = min(cfg.minibatch_size, self.n)
        self.per_epoch = self.n // self.bs
        self.ex = Executor(net._graph, net._analysis, cfg.device, cfg.dtype)
        ex = self.ex
        # copies: training must not write into the arrays of the caller's network
        ex.params = {name: {k: np.array(v, copy=True) for k, v in p.items()} for name, p in ex.params.items()}
        # a shared learnable is one array: its first member holds it and stands for the group
        # (one gradient, the sum; one L2 term; one solver state; one update)
        shared.retie(ex.params, ex.shared)
        shared.check_factors({s.name: s.op.layer for s in ex.steps}, ex.shared)
        alias = shared.aliases(ex.shared)
        self.learnables = []  # (layer, name, learn-rate factor, L2 factor)
        for step in ex.steps:
            layer = step.op.layer
            for spec in layer.learnables:
                if (step.name, spec.name) in alias:
                    continue
                w = ex.params[step.name][spec.name]
                block = layer.factor_block(spec.name) if hasattr(layer, "factor_block") else None
                self.learnables.append((step.name, spec.name, _factor(getattr(layer, spec.learn_rate), w, block),
                                        _factor(getattr(layer, spec.l2), w, block)))
        self.bn = [(s.name, s.op.layer) for s in ex.steps if s.op.layer.family == "batchnorm"]
        # layers whose own code updates their state (custom layers' State): their values after the step
        self.coded_state = [(s.name, s.op) for s in ex.steps if getattr(s.op, "updated_state", False) is not False
                            and s.op.state_names]
        self.single_metric = next(iter(losses.values())) if len(losses) == 1 else None
        self._backup = {}  # the weights before the current step, to undo a step that overflows
        if resume is not None:
            self.state = resume
            for name, p in resume.params.items():
                if name not in ex.params:
                    raise LayerGraphError(f"The checkpoint does not match the network: it has no layer '{name}'.")
                ex.params[name] = {k: np.array(v, copy=True) for k, v in p.items()}
            shared.retie(ex.params, ex.shared)
            self.state.params = ex.params
            self.gen = np.random.default_rng()
            self.gen.bit_generator.state = resume.rng_state
        else:
            seed = cfg.seed if cfg.seed is not None else int(global_rng().integers(2 ** 63))
            self.gen = np.random.default_rng(seed)
            self.state = TrainState(params=ex.params, solver_state={})

    # -- pieces ------------------------------------------------------------------------
    def _order(self, epoch):
        shuffle = self.cfg.shuffle
        if shuffle == "never":
            return np.arange(self.n)
        if shuffle == "once" and epoch > 1 and self.state.order is not None:
            return self.state.order
        return self.gen.permutation(self.n)

    def _rate(self, iteration, epoch):
        cfg = self.cfg
        return cfg.learn_rate if cfg.schedule is None else float(cfg.schedule(cfg.learn_rate, iteration, epoch))

    def _chunks(self, data):
        """(inputs, targets, padding, last) per forward of a mini-batch: the whole batch, or with
        ``sequence_chunk`` k its padded sequences k steps at a time (targets with time cut the
        same way; targets without time belong to the last chunk only)."""
        inputs = {k: data[k] for k in self.inputs}
        targets = {k: data[k] for k in self.targets}
        seq = _padding(data, self.inputs)
        k = self.cfg.sequence_chunk
        if k is None or seq is None:
            return [(inputs, targets, seq, True)]
        steps = max(info.steps for info in seq.values())
        out = []
        for s0 in range(0, steps, k):
            cut = {name: (a[..., s0:s0 + k] if name in seq else a) for name, a in inputs.items()}
            cut_t = {ref: (t[..., s0:s0 + k] if isinstance(t, Padded) else t) for ref, t in targets.items()}
            out.append((cut, cut_t, {name: info.window(s0, k) for name, info in seq.items()}, s0 + k >= steps))
        return out

    def _carry_state(self, reset: bool):
        """Between the chunks of a mini-batch the recurrent layers start from the state the last
        chunk left (a copy: no gradient flows back into it); ``reset``: from their own again."""
        for step in self.ex.steps:
            if hasattr(step.op, "initial_state"):
                final = getattr(step.op, "final_state", None)
                step.op.initial_state = None if reset or final is None else tuple(a.copy() for a in final)

    def _losses(self, acts, targets, timeless: bool = True):
        total, seeds, metric = 0.0, {}, None
        for ref, loss in self.losses.items():
            if not timeless and self.ex.seq_meta.get(ref) is None:   # its target is the whole sequence's
                continue
            y, t = acts[ref], targets[ref]
            meta = self.ex.seq_meta.get(ref)
            mask = None
            if meta is not None and not meta.full:
                # padded steps: the target there (zeros, core/sequence.py) as the output, so that
                # they add nothing to the loss nor to its gradient
                mask = meta.mask()[:, None, :]
                y = np.where(mask, y, t).astype(y.dtype, copy=False)
            value, dy = loss(y, t)
            if mask is not None:
                dy = np.where(mask, dy, 0).astype(dy.dtype, copy=False)
            total += value
            seeds[ref] = dy
            if loss is self.single_metric:
                metric = loss.metric(y, t, value) if mask is None else loss.metric(y, t, value, mask=mask)
        return total, seeds, metric

    def evaluate(self, data) -> tuple[float, float | None]:
        """Loss and metric of the current network in prediction mode, over all observations."""
        inputs, targets = data
        refs = set(self.losses)
        if any(isinstance(v, SequenceData) for v in {**inputs, **targets}.values()):
            return self._evaluate_batches(inputs, targets, refs)
        outs = {ref: [] for ref in refs}
        streamed_targets = {k: [] for k, v in targets.items() if isinstance(v, Column)}
        for batch in batches({**inputs, **targets}, None, self.bs, partial=True):
            acts = self.ex.forward({k: batch[k] for k in inputs}, training=False, keep=refs)
            for ref in refs:
                outs[ref].append(acts[ref])
            for k, parts in streamed_targets.items():
                parts.append(batch[k])
        ys = {ref: np.concatenate(v) for ref, v in outs.items()}
        targets = {**targets, **{k: np.concatenate(v) for k, v in streamed_targets.items()}}
        total, _, metric = self._losses(ys, targets)
        return total, metric

    def _evaluate_batches(self, inputs, targets, refs):
        """``evaluate`` over sequence data: mini-batches differ in length, so the loss and the
        metric are averaged over the batches (by observations; the metric by the steps it counted)."""
        n = total = 0.0
        metric_sum = metric_weight = 0.0
        for batch in batches({**inputs, **targets}, None, self.bs, partial=True):
            acts = self.ex.forward({k: batch[k] for k in inputs}, training=False, keep=refs,
                                   seq=_padding(batch, inputs))
            m = next(iter(batch.values())).shape[0]
            value, _, metric = self._losses(acts, {k: batch[k] for k in targets})
            total += value * m
            n += m
            if metric is not None:
                meta = next((self.ex.seq_meta.get(r) for r in refs if self.ex.seq_meta.get(r) is not None), None)
                w = float(np.sum(meta.lengths)) if meta is not None else m
                metric_sum += metric * w
                metric_weight += w
        return total / n, (metric_sum / metric_weight if metric_weight else None)

    def _update(self, grads, rate, t) -> bool:
        """L2, thresholding and the solver step. False (and the weights as they were) when
        the step would make a weight NaN or Inf."""
        cfg, P, st = self.cfg, self.ex.params, self.state.solver_state
        grads = shared.sum_gradients(grads, self.ex.shared)
        live = []
        for layer, name, lrf, l2f in self.learnables:
            if np.all(lrf == 0):
                continue
            g = grads.get(layer, {}).get(name)
            if g is None:
                continue
            w = P[layer][name]
            if cfg.l2 and np.any(l2f):
                g += (cfg.l2 * l2f) * w
            live.append((layer, name, lrf, w, g))
        threshold([g for *_, g in live], cfg.gradient_threshold_method, cfg.gradient_threshold)
        for layer, name, lrf, w, g in live:
            keep = self._backup.get((layer, name))
            if keep is None or keep.shape != w.shape:
                keep = self._backup[(layer, name)] = np.empty_like(w)
            np.copyto(keep, w)
            cfg.solver.step(w, g, rate * lrf, st.setdefault((layer, name), {}), t)
        if all(np.isfinite(w).all() for _, _, _, w, _ in live):
            return True
        for layer, name, _, w, _ in live:
            np.copyto(w, self._backup[(layer, name)])
        return False

    def _update_moving(self):
        for name, layer in self.bn:
            if name in self.cfg.frozen_state:
                continue
            mean, var = self.ex.batch_stats[name]
            P = self.ex.params[name]
            P["TrainedMean"][...] = cv.update_running(P["TrainedMean"], mean, layer.MeanDecay)
            P["TrainedVariance"][...] = cv.update_running(P["TrainedVariance"], var, layer.VarianceDecay)
        for name, op in self.coded_state:   # the values the layer's forward returned (MATLAB: net.State = state)
            if name in self.cfg.frozen_state or op.updated_state is None:
                continue
            for key, value in op.updated_state.items():
                self.ex.params[name][key][...] = value

    def population_statistics(self):
        """One pass over the training data (batch statistics per mini-batch, dropout off),
        merged with exact pooled formulas: TrainedMean and TrainedVariance become the mean
        and the (biased) variance over every observation."""
        todo = [(name, layer) for name, layer in self.bn if name not in self.cfg.frozen_state]
        if not todo:
            return
        acc = {name: (0, 0.0, 0.0) for name, _ in todo}  # count, mean, E[x^2]
        done = 0
        for batch in batches(self.inputs, None, self.bs, partial=True):
            self.ex.forward(batch, training=True, dropout=False)
            m = next(iter(batch.values())).shape[0]
            done += m
            if self.cfg.on_read is not None and streamed(self.inputs):
                self.cfg.on_read(done, self.n)
            for name, _ in todo:
                mean, var = (a.astype(np.float64) for a in self.ex.batch_stats[name])
                count, mu, sq = acc[name]
                r = m / (count + m)
                acc[name] = (count + m, (1 - r) * mu + r * mean, (1 - r) * sq + r * (var + mean * mean))
        self.ex._ctx = None
        for name, _ in todo:
            _, mu, sq = acc[name]
            P = self.ex.params[name]
            P["TrainedMean"][...] = mu
            P["TrainedVariance"][...] = np.maximum(sq - mu * mu, 0.0)

    def network(self, params=None):
        """The network (of the kind given) with the given (default: current) internal
        learnables, state and input statistics stored on its layers (which store the
        internal layout)."""
        params = params or self.ex.params
        graph = self.net.layer_graph
        return self.net.with_layers({
            step.name: graph.layer(step.name)._resolved_copy(
                **{k: step.op.stored(k, v.copy()) for k, v in params[step.name].items()})
            for step in self.ex.steps if params.get(step.name)})

    def _info(self, stage, **fields):
        info = {"State": stage, "Epoch": self.state.epoch, "Iteration": self.state.iteration,
                "TimeSinceStart": self._elapsed()}
        info.update(fields)
        return info

    def _elapsed(self) -> float:
        """Training time so far: this run's time since its clock started, less compilation."""
        return self.state.elapsed + self.clock.since(self.t0)

    def _notify(self, info) -> bool:
        stop = False
        for f in self.cfg.callbacks:
            stop = bool(f(info)) or stop
        return stop

    def _finite_grads(self, grads) -> bool:
        return all(np.all(np.isfinite(g)) for per in grads.values() for g in per.values())

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> TrainResult:
        # a diverging run overflows inside the kernels; the loop checks the loss, the
        # gradients and the weights itself and says so, so numpy's warnings add nothing
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._run()

    def _run(self) -> TrainResult:
        cfg, st = self.cfg, self.state
        self.t0 = self.clock.start()
        total_iters = cfg.max_epochs * self.per_epoch
        reason = "Max epochs completed"
        finite_stop = False
        interrupted = False
        last = None
        read_error = None
        # mini-batches read ahead where the data is a source's (data/sources.py); arrays as before
        feed = Feed({**self.inputs, **self.targets}, self.bs, self.gen)
        self._notify(self._info("start"))
        if cfg.validation is not None and cfg.validation_start == 0 and st.iteration == 0:
            self._initial_validation()
        try:
            while st.epoch <= cfg.max_epochs:
                if st.position == 0:
                    st.order = self._order(st.epoch)
                while st.position < self.per_epoch:
                    data = feed.batch(st.order, st.position)
                    iteration = st.iteration + 1
                    rate = self._rate(iteration, st.epoch)
                    failure = None
                    losses, metric = [], None
                    for chunk_in, chunk_t, seq, final_chunk in self._chunks(data):
                        acts = self.ex.forward(chunk_in, training=True, keep=set(self.losses), rng=self.gen,
                                               seq=seq)
                        self._carry_state(final_chunk)
                        loss, seeds, chunk_metric = self._losses(acts, chunk_t, timeless=final_chunk)
                        if not seeds:   # an earlier chunk of a sequence-to-one network: the state only
                            continue
                        losses.append(loss)
                        metric = chunk_metric if metric is None or chunk_metric is None else \
                            (metric * (len(losses) - 1) + chunk_metric) / len(losses)
                        grads = self.ex.backward(seeds, release=True) if math.isfinite(loss) else {}
                        if not math.isfinite(loss) or not self._finite_grads(grads):
                            what = "training loss is NaN" if math.isnan(loss) else (
                                "training loss is Inf" if not math.isfinite(loss) else "a gradient is not finite")
                            failure = (f"Training stopped at iteration {iteration} because {what}. The network "
                                       f"returned is the one after iteration {st.iteration}, whose weights are "
                                       "finite.")
                            break
                        if not self._update(grads, rate, iteration):
                            failure = (f"Training stopped at iteration {iteration} because the update made weights "
                                       f"NaN or Inf. The network returned is the one after iteration "
                                       f"{st.iteration}, whose weights are finite.")
                            break
                    self._carry_state(True)
                    if failure is not None:
                        reason, finite_stop = failure, True
                        break
                    loss = float(np.mean(losses))
                    self._update_moving()
                    st.iteration = iteration
                    st.position += 1
                    record = {"Iteration": iteration, "Epoch": st.epoch, "TrainingLoss": loss,
                              "TrainingMetric": metric, "ValidationLoss": math.nan,
                              "ValidationMetric": math.nan, "BaseLearnRate": rate}
                    final = iteration == total_iters
                    stop_val = False
                    if cfg.validation is not None and ((iteration == 1 and cfg.validation_start == 1)
                                                       or iteration % cfg.validation_frequency == 0 or final):
                        vloss, vmetric = self.evaluate(cfg.validation)
                        record["ValidationLoss"], record["ValidationMetric"] = vloss, vmetric
                        score = vloss if cfg.objective is None else cfg.objective(vloss, vmetric)
                        if score < st.best_loss:
                            st.best_loss, st.bad_validations, st.best_iteration = score, 0, iteration
                            if cfg.output_network == "best-validation-loss":
                                st.best_params = {n: {k: v.copy() for k, v in p.items()}
                                                  for n, p in self.ex.params.items()}
                        else:
                            st.bad_validations += 1
                            stop_val = st.bad_validations >= cfg.validation_patience
                    record["TimeSinceStart"] = self._elapsed()
                    st.history.append(record)
                    last = record
                    if cfg.checkpoint is not None and cfg.checkpoint_unit == "iteration" \
                            and iteration % cfg.checkpoint_frequency == 0:
                        self._checkpoint()
                    if self._notify(self._info("iteration", **record, Final=final)):
                        reason = "Stopped by OutputFcn"
                        break
                    if stop_val:
                        reason = "Met validation criterion"
                        break
                else:
                    st.position = 0
                    st.epoch += 1
                    if cfg.checkpoint is not None and cfg.checkpoint_unit == "epoch" \
                            and (st.epoch - 1) % cfg.checkpoint_frequency == 0:
                        self._checkpoint()
                    continue
                break
        except KeyboardInterrupt:
            reason = "Training stopped manually (KeyboardInterrupt)"
            interrupted = True
        except SourceError as err:  # a corrupt file met during training: the network so far comes back
            read_error = str(err)
            reason = (f"Training stopped at iteration {st.iteration + 1} because the data could not be read: "
                      f"{read_error} The network returned is the one after iteration {st.iteration}.")
            interrupted = True
        finally:
            feed.close()
        return self.finish(reason, last, interrupted, finite_stop, read_error)

    def finish(self, reason, last, interrupted: bool, non_finite: bool, read_error) -> TrainResult:
        """The end of a run (this loop's or train/lbfgs.py's): the clock stopped, the best
        validation network restored where asked, population statistics, the final validation,
        the result and the 'done' report."""
        cfg, st = self.cfg, self.state
        self.ex._ctx = None
        st.elapsed = self._elapsed()
        self.t0 = self.clock.start()
        output_iteration = st.iteration
        if cfg.output_network == "best-validation-loss" and st.best_params is not None:
            for name, p in st.best_params.items():
                for k, v in p.items():
                    self.ex.params[name][k][...] = v
            output_iteration = st.best_iteration
        if cfg.bn_statistics == "population" and not interrupted and st.iteration > 0:
            self.population_statistics()
        final_val = None
        if cfg.validation is not None and st.iteration > 0 and read_error is None:
            vloss, vmetric = self.evaluate(cfg.validation)
            final_val = {"Loss": vloss, "Metric": vmetric}
        result = TrainResult(self.network(), st.history, reason, final_val, output_iteration, st,
                             non_finite=non_finite, compile_seconds=self.clock.total, read_error=read_error)
        self._notify(self._info("done", StopReason=reason, Final=True, Last=last, FinalValidation=final_val,
                                NonFinite=non_finite, ReadError=read_error))
        return result

    def _initial_validation(self):
        """The validation before the first iteration (iteration 0, epoch 0): a row of the
        history, reported like an iteration; it counts for the best network (the initial one)."""
        st, cfg = self.state, self.cfg
        vloss, vmetric = self.evaluate(cfg.validation)
        score = vloss if cfg.objective is None else cfg.objective(vloss, vmetric)
        st.best_loss, st.best_iteration = score, 0
        if cfg.output_network == "best-validation-loss":
            st.best_params = {n: {k: v.copy() for k, v in p.items()} for n, p in self.ex.params.items()}
        record = {"Iteration": 0, "Epoch": 0, "TrainingLoss": math.nan, "TrainingMetric": None,
                  "ValidationLoss": vloss, "ValidationMetric": vmetric, "BaseLearnRate": self._rate(1, 1),
                  "TimeSinceStart": self._elapsed()}
        self._notify(self._info("iteration", **record, Final=False))

    def _checkpoint(self):
        st = self.state
        st.rng_state = self.gen.bit_generator.state
        elapsed = self._elapsed()
        saved = TrainState(**{**st.__dict__, "elapsed": elapsed})
        self.cfg.checkpoint(saved, TrainResult(self.network(), list(st.history), "checkpoint", None,
                                               st.iteration, saved))


def _factor(value, w, block=None):
    """A learn-rate or L2 factor as it multiplies the array ``w``: a number, or one value per
    block of rows (an LSTM's 1-by-4 factors: one per gate) repeated over the block's rows;
    ``block`` rows per value if the layer says (a GRU's 6H Bias: the three values twice)."""
    if isinstance(value, tuple):
        per = block or w.shape[0] // len(value)
        rows = np.repeat(np.asarray(value, dtype=np.float64), per)
        return np.tile(rows, w.shape[0] // rows.size).reshape(-1, *([1] * (w.ndim - 1)))
    return float(value)


def _padding(batch: dict, names) -> dict | None:
    """{input: SeqInfo} of the inputs of a mini-batch that are padded sequence batches."""
    seq = {k: batch[k].seq for k in names if isinstance(batch[k], Padded)}
    return seq or None


def train(net, inputs: dict, targets: dict, losses: dict, config: TrainConfig | None = None,
          resume: TrainState | None = None) -> TrainResult:
    """Train ``net`` (an initialized core Network, or a dialect network built on it) and return a
    TrainResult; see the module docstring. ``resume`` continues a run from a checkpoint's TrainState."""
    cfg = config or TrainConfig()
    if cfg.max_epochs < 1 or cfg.minibatch_size < 1:
        raise LayerGraphError("MaxEpochs and MiniBatchSize must be positive integers.")
    # on the CPU, a first run compiles the backward's kernels in a helper process (train/compiling.py)
    background = np.dtype(cfg.dtype).name if cfg.device == "cpu" else None
    with CompileClock(cfg.on_compile, background) as clock:
        return _Run(net, inputs, targets, losses, cfg, resume, clock).run()
