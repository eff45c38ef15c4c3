"""The training front end both dialects share (layergraph/train/frontend.py), the clock
that leaves kernel compilation out (train/compiling.py), and NetTrain's reporting."""
import io
import math
import time

import numba
import numpy as np
from rich.console import Console

from layergraph.core.size import Size
from layergraph.display.training import EpochProgress
from layergraph.train.compiling import COMPILING, CompileClock
from layergraph.train.frontend import EpochMonitor, Patience, Reporter, Throttled, as_core, holdout


def slow_to_compile(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += math.sin(a[i, j]) * math.cos(a[j % a.shape[0], i % a.shape[1]]) + math.exp(-a[i, j])
    return s


def test_as_core_and_holdout():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = as_core(x, Size((4,), 3), np.float32)
    assert t.shape == (2, 3, 4) and t.dtype == np.float32 and t.flags.c_contiguous
    assert as_core(np.ones((5, 6)), Size((), 6), np.float64).shape == (5, 6)
    inputs, targets = {"x": np.arange(10.0)[:, None]}, {("fc", "out"): np.arange(10.0)[:, None] * 2}
    (ti, tt), (vi, vt) = holdout(inputs, targets, 0.3, seed=1)
    assert len(vi["x"]) == 3 and len(ti["x"]) == 7
    assert sorted(np.concatenate([ti["x"], vi["x"]]).ravel().tolist()) == list(range(10))
    np.testing.assert_array_equal(vt[("fc", "out")], vi["x"] * 2)   # inputs and targets stay paired
    assert np.all(np.diff(ti["x"].ravel()) > 0)                       # each part in the original order
    (_, _), (vi2, _) = holdout(inputs, targets, 0.3, seed=1)
    np.testing.assert_array_equal(vi["x"], vi2["x"])


def test_patience():
    assert not Patience(0)([1.0])
    assert not Patience(0)([3.0, 2.0, 1.0])
    assert Patience(0)([3.0, 2.0, 2.5])
    assert not Patience(1)([3.0, 2.0, 2.5])
    assert Patience(1)([3.0, 2.0, 2.5, 2.1])
    assert not Patience(0, initial=3)([3.0, 4.0, 5.0])
    assert Patience(0, amount=0.5)([3.0, 2.8])                    # improved, but not by 0.5
    assert Patience(0, relative=True, amount=0.1)([3.0, 2.8])     # not by 10 %
    assert not Patience(0, relative=True, amount=0.1)([3.0, 2.6])


def _iterations(monitor, n, per_epoch, loss=lambda i: 1.0 / i, elapsed=lambda i: 0.0, val=math.nan):
    stops = []
    monitor({"State": "start"})
    for i in range(1, n + 1):
        stop = monitor({"State": "iteration", "Iteration": i, "Epoch": (i - 1) // per_epoch + 1,
                        "TrainingLoss": loss(i), "ValidationLoss": val, "BaseLearnRate": 0.1,
                        "TimeSinceStart": elapsed(i), "Final": i == n})
        stops.append(stop)
        if stop:
            break
    monitor({"State": "done"})
    return stops


def test_epoch_monitor_history_and_hooks():
    m = EpochMonitor(per_epoch=2, max_epochs=3)
    seen = []
    m.hooks.append(("first", lambda r, losses: seen.append((r["epoch"], list(losses))) or False))
    _iterations(m, 6, 2, loss=lambda i: float(i))
    assert m.batch_losses == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert m.epoch_losses == [1.5, 3.5, 5.5] and m.stopped_by is None
    assert seen == [(1, [1.5]), (2, [1.5, 3.5]), (3, [1.5, 3.5, 5.5])]
    assert m.records[-1] == {"epoch": 3, "epoch_loss": 5.5, "batch_loss": 6.0, "validation_loss": None,
                             "learn_rate": 0.1, "elapsed": 0.0}
    # the first hook that asks gives the reason; every hook still sees the epoch
    m = EpochMonitor(per_epoch=1, max_epochs=10)
    calls = []
    m.hooks.append(("a", lambda r, losses: r["epoch"] == 2))
    m.hooks.append(("b", lambda r, losses: calls.append(r["epoch"]) or r["epoch"] == 2))
    assert _iterations(m, 10, 1)[-1] is True
    assert m.stopped_by == "a" and calls == [1, 2] and len(m.epoch_losses) == 2


def test_epoch_monitor_time_goal_and_validation_losses():
    m = EpochMonitor(per_epoch=1, max_epochs=100, validation=True, time_goal=1.0, min_epochs=5)
    stops = _iterations(m, 100, 1, elapsed=lambda i: 0.5 * i, val=2.0)
    assert len(stops) == 5 and m.stopped_by == EpochMonitor.TIME_GOAL   # 2.5 s at round 5: not before it
    assert m.validation_losses == [2.0] * 5


def test_throttled_reporter_shows_first_last_and_a_pending_one():
    shown = []
    r = Throttled(lambda rec: shown.append(rec["epoch"]), interval=3600)
    m = EpochMonitor(per_epoch=1, max_epochs=5)
    m.reporters.append(r)
    _iterations(m, 5, 1)
    assert shown == [1, 5]
    shown.clear()
    m = EpochMonitor(per_epoch=1, max_epochs=5)
    m.reporters.append(r := Throttled(lambda rec: shown.append(rec["epoch"]), interval=3600))
    m.hooks.append(("stop", lambda rec, losses: False))
    _iterations(m, 3, 1)           # the run ends (say, a diverging loss) before its last epoch
    assert shown[0] == 1 and shown[-1] == 3
    assert isinstance(r, Reporter)


def test_epoch_progress_is_a_transient_display_with_a_summary_line():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    p = EpochProgress(3, 2, console=console)
    m = EpochMonitor(per_epoch=2, max_epochs=3)
    m.reporters.append(p)
    _iterations(m, 6, 2, elapsed=lambda i: 0.1 * i, val=0.5)
    text = out.getvalue()
    assert "Round 3: loss" in text and "validation loss 0.5" in text
    assert text.rstrip().splitlines()[-1].endswith("0.6 s")
    # nothing to show it on: no display, no output
    quiet = EpochProgress(3, 2, console=None)
    quiet.start = lambda: None
    quiet.close()


def test_compile_clock_leaves_compilation_out():
    said = []

    with CompileClock(lambda: said.append(COMPILING)) as clock:
        mark = clock.start()
        t0 = time.perf_counter()
        numba.njit(cache=False)(slow_to_compile)(np.ones((3, 3)))
        numba.njit(cache=False)(lambda x: x + 1)(1.0)
        wall = time.perf_counter() - t0
        assert said == [COMPILING]            # said once, for the first compilation
        assert clock.total > 0 and clock.since(mark) < wall - 0.9 * clock.total
    numba.njit(cache=False)(lambda x: x + 2)(1.0)   # outside the run: not seen
    assert said == [COMPILING]


def test_trainer_clock_and_announcement():
    """A compilation during a run is announced once and is not training time."""
    from layergraph import dlnetwork, featureInputLayer, fullyConnectedLayer
    from layergraph.train import MeanSquared, TrainConfig, train
    net = dlnetwork([featureInputLayer(2, Name="in"), fullyConnectedLayer(1, Name="fc")])
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    said, compile_seconds = [], []

    def compile_at_start(info):
        if info["State"] == "start":
            t = time.perf_counter()
            numba.njit(cache=False)(slow_to_compile)(np.ones((2, 2)))
            compile_seconds.append(time.perf_counter() - t)
        return False
    cfg = TrainConfig(max_epochs=1, minibatch_size=8, callbacks=[compile_at_start],
                      on_compile=lambda: said.append(1))
    result = train(net, {"in": x}, {("fc", "out"): x[:, :1]}, {("fc", "out"): MeanSquared()}, cfg)
    assert said == [1] and result.compile_seconds > 0
    assert result.history[0]["TimeSinceStart"] < compile_seconds[0]
    assert result.state.elapsed < compile_seconds[0]
