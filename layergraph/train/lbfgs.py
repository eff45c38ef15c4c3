"""The limited-memory BFGS solver (full batch), for both dialects.

``minimize(fg, x0, options)`` is the optimizer alone: ``fg(x) -> (f, g)`` on float64 vectors;
a generator of one ``Step`` per iteration (the loss, the gradient norm, the step norm, the
line search's step size), so that a caller can report and stop between iterations; its
``return`` value (``StopIteration.value``) is why it stopped.

Per iteration k (Nocedal and Wright, *Numerical Optimization*, 2nd ed., algorithms 7.4 and
7.5): the direction ``d = -H g`` from the two-loop recursion over the last ``history_size``
pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``, with ``H_0 = lambda I``, where lambda is
``initial_inverse_hessian_factor`` until the first pair and ``s'y / y'y`` of the newest pair
after it; then a line search from the step size 1 along d:

  "weak-wolfe"    bisection / doubling until the weak Wolfe conditions hold (Lewis and
                  Overton): f(x + a d) <= f + c1 a g'd and g(x + a d)'d >= c2 g'd;
  "strong-wolfe"  the bracketing / zoom search of N&W algorithms 3.5 and 3.6 (the zoom
                  bisects) until f(x + a d) <= f + c1 a g'd and |g(x + a d)'d| <= c2 |g'd|;
  "backtracking"  halving until f(x + a d) <= f + c1 a g'd;

with c1 = 1e-4, c2 = 0.9, at most ``max_line_search_iterations`` evaluations of fg per
iteration. A pair is kept only when s'y > 0 (after a Wolfe search it always is), so H stays
positive definite. A direction that is not a descent direction (possible only through
round-off) is replaced by -g. The run stops after ``max_iterations`` iterations, when the
norm of the gradient falls to ``gradient_tolerance`` or below, when the norm of a step does
to ``step_tolerance``, or when a line search finds no step that satisfies its conditions
(the point is then the best one it evaluated, if any was lower).

``train_lbfgs(net, inputs, targets, losses, config)`` trains a core network with it, as
``trainer.train`` does with the stochastic solvers: the objective is the loss of the whole
training set (one forward and backward pass of the executor over every observation, in
training mode: batch normalization on the batch's statistics; dropout with one mask per
iteration, so that the line search sees one function), the variables are the learnables
whose learn-rate factor is not 0 (shared learnables once), in float64 outside the kernels.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core import shared
from ..data.sources import SourceError, batches
from .compiling import CompileClock
from .trainer import TrainConfig, TrainResult, _Run

C1, C2 = 1e-4, 0.9
LINE_SEARCHES = ("weak-wolfe", "strong-wolfe", "backtracking")

MAX_ITERATIONS = "Max iterations completed"
GRADIENT_TOLERANCE = "Met gradient tolerance"
STEP_TOLERANCE = "Met step tolerance"
LINE_SEARCH_FAILED = "Line search failed"


@dataclass
class LBFGSOptions:
    max_iterations: int = 1000
    gradient_tolerance: float = 1e-5
    step_tolerance: float = 1e-5
    line_search: str = "weak-wolfe"
    history_size: int = 10
    initial_inverse_hessian_factor: float = 1.0
    max_line_search_iterations: int = 20


@dataclass
class Step:
    iteration: int
    loss: float
    gradient_norm: float
    step_norm: float
    step_size: float
    evaluations: int


def two_loop(g, S, Y, gamma) -> np.ndarray:
    """H g for the L-BFGS inverse Hessian of the pairs (S, Y), oldest first, H_0 = gamma I."""
    q = g.copy()
    alphas = []
    for s, y in zip(reversed(S), reversed(Y)):
        rho = 1.0 / float(y @ s)
        a = rho * float(s @ q)
        q -= a * y
        alphas.append((rho, a))
    r = gamma * q
    for (s, y), (rho, a) in zip(zip(S, Y), reversed(alphas)):
        b = rho * float(y @ r)
        r += (a - b) * s
    return r


class _Search:
    """fg along x + a d, at most ``budget`` evaluations; remembers the lowest point."""

    def __init__(self, fg, x, f, g, d, budget):
        self.fg, self.x, self.f0, self.gd0, self.d, self.budget = fg, x, f, float(g @ d), d, budget
        self.count = 0
        self.best = None   # (f, a, g)

    def __call__(self, a):
        self.count += 1
        f, g = self.fg(self.x + a * self.d)
        if math.isfinite(f) and (self.best is None or f < self.best[0]):
            self.best = (f, a, g)
        return f, g, (float(g @ self.d) if math.isfinite(f) else math.nan)

    def left(self) -> bool:
        return self.count < self.budget

    def armijo(self, a, f) -> bool:
        return math.isfinite(f) and f <= self.f0 + C1 * a * self.gd0


def _weak_wolfe(ls: _Search):
    lo, hi, a = 0.0, math.inf, 1.0
    while ls.left():
        f, g, gd = ls(a)
        if not ls.armijo(a, f):
            hi = a
        elif gd < C2 * ls.gd0:
            lo = a
        else:
            return a, f, g
        a = (lo + hi) / 2 if math.isfinite(hi) else 2 * lo
    return None


def _strong_wolfe(ls: _Search):
    def zoom(lo, f_lo, hi):
        while ls.left():
            a = (lo + hi) / 2
            f, g, gd = ls(a)
            if not ls.armijo(a, f) or f >= f_lo:
                hi = a
            else:
                if abs(gd) <= -C2 * ls.gd0:
                    return a, f, g
                if gd * (hi - lo) >= 0:
                    hi = lo
                lo, f_lo = a, f
        return None

    a_prev, f_prev, a = 0.0, ls.f0, 1.0
    first = True
    while ls.left():
        f, g, gd = ls(a)
        if not ls.armijo(a, f) or (not first and f >= f_prev):
            return zoom(a_prev, f_prev, a)
        if abs(gd) <= -C2 * ls.gd0:
            return a, f, g
        if gd >= 0:
            return zoom(a, f, a_prev)
        a_prev, f_prev, a, first = a, f, 2 * a, False
    return None


def _backtracking(ls: _Search):
    a = 1.0
    while ls.left():
        f, g, _ = ls(a)
        if ls.armijo(a, f):
            return a, f, g
        a /= 2
    return None


SEARCHES = {"weak-wolfe": _weak_wolfe, "strong-wolfe": _strong_wolfe, "backtracking": _backtracking}


class Memory:
    """The curvature pairs (s, y), newest last, at most ``history_size``, and the scale gamma of
    H_0 = gamma I (``initial`` until the first pair, s'y / y'y of the newest pair after it)."""

    def __init__(self, history_size: int, initial: float):
        self.S, self.Y = deque(maxlen=int(history_size)), deque(maxlen=int(history_size))
        self.initial = self.gamma = float(initial)

    def direction(self, g) -> np.ndarray:
        d = -two_loop(g, self.S, self.Y, self.gamma)
        if not float(g @ d) < 0:          # round-off made it no descent direction
            self.S.clear(), self.Y.clear()
            self.gamma = self.initial
            d = -self.gamma * g
        return d

    def add(self, s, y):
        """Keep the pair when s'y > 0 (relative to |s||y|), so that H stays positive definite."""
        sy = float(s @ y)
        if sy > 1e-10 * float(np.sqrt(s @ s) * np.sqrt(y @ y)):
            self.S.append(s)
            self.Y.append(y)
            self.gamma = sy / float(y @ y)


def iterate(fg: Callable, x, f, g, memory: Memory, line_search: str, budget: int):
    """One L-BFGS iteration from x (with f, g there): the direction from ``memory``, the line
    search (at most ``budget`` evaluations of fg), the new pair. Returns (x, f, g, step size,
    evaluations), or (None, None, None, None, evaluations) when the line search found no step
    that met its conditions and no lower point. trainnet's solver (``minimize``) and the custom
    loops' lbfgsupdate both step with it."""
    d = memory.direction(g)
    ls = _Search(fg, x, f, g, d, int(budget))
    found = SEARCHES[line_search](ls)
    if found is None:
        if ls.best is None or not ls.best[0] < f:
            return None, None, None, None, ls.count
        found = (ls.best[1], ls.best[0], ls.best[2])   # no step met the conditions; take the lowest
    a, f_new, g_new = found
    s = a * d
    memory.add(s, g_new - g)
    return x + s, f_new, g_new, a, ls.count


def minimize(fg: Callable, x0: np.ndarray, options: LBFGSOptions, state: dict | None = None, first=None):
    """L-BFGS from ``x0`` (see the module's description); yields a Step per iteration and
    returns the stop reason. ``state`` (a dict) holds x, f, g as they are after each step;
    ``first``: (f, g) at x0 when the caller has them."""
    o = options
    x = np.array(x0, dtype=np.float64)
    f, g = fg(x) if first is None else first
    state = {} if state is None else state
    state.update(x=x, f=f, g=g, evaluations=1)
    memory = Memory(o.history_size, o.initial_inverse_hessian_factor)
    for k in range(1, int(o.max_iterations) + 1):
        x_new, f_new, g_new, a, count = iterate(fg, x, f, g, memory, o.line_search, o.max_line_search_iterations)
        if x_new is None:
            state["evaluations"] += count
            return LINE_SEARCH_FAILED
        s = x_new - x
        x, f, g = x_new, f_new, g_new
        state.update(x=x, f=f, g=g, evaluations=state["evaluations"] + count)
        gnorm, snorm = float(np.linalg.norm(g)), float(np.linalg.norm(s))
        yield Step(k, float(f), gnorm, snorm, float(a), count)
        if gnorm <= o.gradient_tolerance:
            return GRADIENT_TOLERANCE
        if snorm <= o.step_tolerance:
            return STEP_TOLERANCE
    return MAX_ITERATIONS


# -- training a network --------------------------------------------------------------------------------------
@dataclass
class LBFGSTrainConfig:
    """What ``train_lbfgs`` needs besides the optimizer's options: the trainer's validation,
    output-network, batch-normalization, callback, device and precision fields (as in TrainConfig)."""
    lbfgs: LBFGSOptions = field(default_factory=LBFGSOptions)
    validation: tuple[dict, dict] | None = None
    validation_frequency: int = 50
    validation_patience: float = math.inf
    output_network: str = "last-iteration"
    objective: Callable[[float, Any], float] | None = None
    validation_start: int = 1
    bn_statistics: str = "population"
    frozen_state: frozenset = frozenset()
    callbacks: list = field(default_factory=list)
    seed: int | None = None
    device: str = "cpu"
    dtype: Any = np.float32
    on_compile: Callable[[], None] | None = None


class _Objective:
    """The network's loss over the whole training set as a function of one float64 vector."""

    def __init__(self, run: _Run, data: dict, seed: int):
        self.run, self.data, self.seed = run, data, seed
        P = run.ex.params
        self.vars = [(layer, name, P[layer][name]) for layer, name, lrf, _ in run.learnables if lrf != 0]
        self.sizes = [w.size for *_, w in self.vars]
        self.iteration = 1
        self.metric = None

    def get(self) -> np.ndarray:
        if not self.vars:
            return np.zeros(0)
        return np.concatenate([w.ravel().astype(np.float64) for *_, w in self.vars])

    def set(self, x):
        i = 0
        for (_, _, w), n in zip(self.vars, self.sizes):
            w[...] = x[i:i + n].reshape(w.shape)
            i += n

    def __call__(self, x):
        run = self.run
        self.set(x)
        inputs = {k: self.data[k] for k in run.inputs}
        acts = run.ex.forward(inputs, training=True, keep=set(run.losses),
                              rng=np.random.default_rng([self.seed, self.iteration]))
        loss, seeds, metric = run._losses(acts, {k: self.data[k] for k in run.targets})
        self.metric = metric
        if not math.isfinite(loss):
            return math.inf, np.zeros_like(x)
        grads = shared.sum_gradients(run.ex.backward(seeds, release=True), run.ex.shared)
        parts = []
        for layer, name, w in self.vars:
            gw = grads.get(layer, {}).get(name)
            parts.append(np.zeros(w.size) if gw is None else gw.ravel().astype(np.float64))
        g = np.concatenate(parts) if parts else np.zeros(0)
        if not np.all(np.isfinite(g)):
            return math.inf, np.zeros_like(x)
        return float(loss), g


def train_lbfgs(net, inputs: dict, targets: dict, losses: dict, config: LBFGSTrainConfig) -> TrainResult:
    """Train ``net`` (an initialized core network) with L-BFGS on the whole training set; the
    TrainResult's history rows have Iteration, TrainingLoss, GradientNorm, StepNorm,
    TrainingMetric, ValidationLoss, ValidationMetric, TimeSinceStart (Epoch 1, no learning rate)."""
    cfg = config
    background = np.dtype(cfg.dtype).name if cfg.device == "cpu" else None
    with CompileClock(cfg.on_compile, background) as clock:
        tc = TrainConfig(l2=0.0, max_epochs=1, minibatch_size=10 ** 12, shuffle="never", validation=cfg.validation,
                         validation_frequency=cfg.validation_frequency, validation_patience=cfg.validation_patience,
                         output_network=cfg.output_network, objective=cfg.objective,
                         validation_start=cfg.validation_start, bn_statistics=cfg.bn_statistics,
                         frozen_state=cfg.frozen_state, callbacks=cfg.callbacks, seed=cfg.seed, device=cfg.device,
                         dtype=cfg.dtype)
        run = _Run(net, inputs, targets, losses, tc, None, clock)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _train(run, cfg)


def _train(run: _Run, cfg: LBFGSTrainConfig) -> TrainResult:
    st = run.state
    run.t0 = run.clock.start()
    run._notify(run._info("start"))
    read_error = None
    try:
        data = next(batches({**run.inputs, **run.targets}, None, run.n, partial=True))
    except SourceError as err:
        read_error = str(err)
        data = None
    if cfg.validation is not None and cfg.validation_start == 0 and data is not None:
        run._initial_validation()
    reason = MAX_ITERATIONS
    last, interrupted, non_finite = None, read_error is not None, False
    if read_error is not None:
        reason = f"Training stopped because the data could not be read: {read_error}"
    else:
        obj = _Objective(run, data, int(run.gen.integers(2 ** 63)))
        x0 = obj.get()
        f0, g0 = obj(x0)
        if not math.isfinite(f0):
            reason = "Training stopped at iteration 1 because the training loss or a gradient is not finite."
            non_finite = True
        else:
            state: dict = {}
            steps = minimize(obj, x0, cfg.lbfgs, state, first=(f0, g0))
            try:
                while True:
                    try:
                        step = next(steps)
                    except StopIteration as done:
                        reason = done.value
                        break
                    obj.set(state["x"])            # the accepted point (the search may have ended elsewhere)
                    if run.bn or run.coded_state:
                        obj(state["x"])            # its batch statistics for the moving averages
                    run._update_moving()
                    obj.iteration = step.iteration + 1
                    st.iteration = step.iteration
                    record = {"Iteration": step.iteration, "Epoch": 1, "TrainingLoss": step.loss,
                              "TrainingMetric": obj.metric, "GradientNorm": step.gradient_norm,
                              "StepNorm": step.step_norm, "ValidationLoss": math.nan, "ValidationMetric": math.nan,
                              "BaseLearnRate": None, "StepSize": step.step_size}
                    final = step.iteration == cfg.lbfgs.max_iterations
                    stop_val = False
                    if cfg.validation is not None and ((step.iteration == 1 and cfg.validation_start == 1)
                                                       or step.iteration % cfg.validation_frequency == 0 or final):
                        vloss, vmetric = run.evaluate(cfg.validation)
                        record["ValidationLoss"], record["ValidationMetric"] = vloss, vmetric
                        score = vloss if cfg.objective is None else cfg.objective(vloss, vmetric)
                        if score < st.best_loss:
                            st.best_loss, st.bad_validations, st.best_iteration = score, 0, step.iteration
                            if cfg.output_network == "best-validation-loss":
                                st.best_params = {n: {k: v.copy() for k, v in p.items()}
                                                  for n, p in run.ex.params.items()}
                        else:
                            st.bad_validations += 1
                            stop_val = st.bad_validations >= cfg.validation_patience
                    record["TimeSinceStart"] = run._elapsed()
                    st.history.append(record)
                    last = record
                    if run._notify(run._info("iteration", **record, Final=final)):
                        reason = "Stopped by OutputFcn"
                        break
                    if stop_val:
                        reason = "Met validation criterion"
                        break
            except KeyboardInterrupt:
                reason = "Training stopped manually (KeyboardInterrupt)"
                interrupted = True
            finally:
                steps.close()
                if "x" in state:
                    obj.set(state["x"])
    return run.finish(reason, last, interrupted, non_finite, read_error)
