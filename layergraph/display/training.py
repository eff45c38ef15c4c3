"""Training progress: MATLAB's verbose tables (trainNetwork's boxed one and trainnet's), the
'training-progress' view (a live rich panel in a terminal, and a matplotlib figure
of loss and metric that a notebook shows inline), and the rich progress display of
rounds that NetTrain shows by default.

VerboseTable and ProgressView are trainer callbacks: they receive the trainer's info
dicts (State 'start', 'iteration', 'done') and never stop training. EpochProgress is a
reporter of ``train.frontend.EpochMonitor``.

Figures are ``matplotlib.figure.Figure`` objects drawn by the Agg canvas: making one
never selects, switches or starts a matplotlib backend, opens no window and leaves
pyplot's list of figures alone. Nothing is written to disk unless a path is given.
"""
from __future__ import annotations

import math
import sys

from .matlab_format import format_scalar

WIDTHS = (9, 13, 16, 14, 14, 17)


def hhmmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_loss(v: float) -> str:
    """1.9668 below 10, five significant digits above (561.2, 1848.9); the exact
    MATLAB rule is UNCONFIRMED (reference notes 4b)."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")
    return f"{v:.4f}" if abs(v) < 10 else f"{v:.5g}"


def format_metric(v, metric: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.2f}%" if metric == "Accuracy" else f"{v:.2f}"


class VerboseTable:
    """MATLAB's table: a row at iteration 1, every ``frequency`` iterations and at
    the final iteration; validation columns when validation data is given."""

    def __init__(self, metric: str | None, validation: bool, frequency: int = 50, out=None):
        self.metric, self.validation, self.frequency = metric, validation, frequency
        self.out = out or sys.stdout
        metric_word = {"Accuracy": "Accuracy", "RMSE": "RMSE"}.get(metric or "", "")
        cols = [("Epoch", ""), ("Iteration", ""), ("Time Elapsed", "(hh:mm:ss)")]
        if metric_word:
            cols.append(("Mini-batch", metric_word))
            if validation:
                cols.append(("Validation", metric_word))
        cols.append(("Mini-batch", "Loss"))
        if validation:
            cols.append(("Validation", "Loss"))
        cols.append(("Base Learning", "Rate"))
        self.cols = cols
        self.widths = [9, 13, 16] + [14] * (len(cols) - 4) + [17]

    def _print(self, line=""):
        print(line, file=self.out)

    def rule(self) -> str:
        return "|" + "=" * (sum(self.widths) + len(self.widths) - 1) + "|"

    def header(self) -> list[str]:
        lines = []
        for which in (0, 1):
            cells = []
            for words, w in zip(self.cols, self.widths):
                text = words[which]
                left = (w - len(text)) // 2  # odd padding: the extra space goes right ('      Rate       ')
                cells.append(" " * left + text + " " * (w - len(text) - left))
            lines.append("|" + "|".join(cells) + "|")
        return [self.rule(), *lines, self.rule()]

    def row(self, info) -> str:
        cells = [str(info["Epoch"]), str(info["Iteration"]), hhmmss(info["TimeSinceStart"])]
        if self.metric:
            cells.append(format_metric(info.get("TrainingMetric"), self.metric))
            if self.validation:
                cells.append(format_metric(info.get("ValidationMetric"), self.metric))
        cells.append(format_loss(info["TrainingLoss"]))
        if self.validation:
            v = info.get("ValidationLoss")
            cells.append("" if v is None or math.isnan(v) else format_loss(v))
        cells.append(format_scalar(info["BaseLearnRate"]))
        return "|" + "|".join(c.rjust(w - 1) + " " for c, w in zip(cells, self.widths)) + "|"

    def _header_once(self):
        # printed with the first row rather than at 'start', so that a first run's
        # "Compiling kernels ..." line (stderr) comes before the table, not inside it
        if not getattr(self, "_headed", False):
            self._headed = True
            for line in self.header():
                self._print(line)

    def __call__(self, info):
        state = info["State"]
        if state == "iteration":
            it = info["Iteration"]
            if it <= 1 or it % self.frequency == 0 or info.get("Final"):   # 0: a validation before training
                self._header_once()
                self._print(self.row(info))
                self._printed = it
        elif state == "done":
            self._header_once()
            last = info.get("Last")
            if last is not None and getattr(self, "_printed", None) != last["Iteration"]:
                self._print(self.row(last))
            for line in self.closing(info):
                self._print(line)
        return False

    def closing(self, info) -> list[str]:
        """The lines after the last row: the rule and the stop line."""
        reason = info.get("StopReason", "")
        if info.get("NonFinite") or info.get("ReadError"):   # the reason is a sentence of its own
            return [self.rule(), reason]
        return [self.rule(), f"Training finished: {reason}."]


def format_g(v) -> str:
    """A number in the trainnet table: five significant digits (0.48724, 84.375, 100, 6.464e-05)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if not math.isfinite(v):
        return "Inf" if v > 0 else "-Inf"
    return f"{v:.5g}"


class TrainnetTable(VerboseTable):
    """The trainnet era's verbose table (R2023b+): a MATLAB-table-style block, four spaces
    before and between columns as wide as their headers (an underscore rule under each),
    values right-aligned with five significant digits; rows at iteration 1, every
    ``frequency`` iterations and the last; with validation data a first row at iteration 0;
    then ``Training stopped: <reason>``. ``metrics``: the metric column stems ("Accuracy",
    "RMSE"), each a Training and (with validation) a Validation column after the losses.
    ``lbfgs``: the L-BFGS solver's columns, Iteration TimeElapsed TrainingLoss (ValidationLoss)
    GradientNorm StepNorm, then the metrics (where ValidationLoss and the metrics go among
    them is UNCONFIRMED)."""

    def __init__(self, metrics, validation: bool, frequency: int = 50, out=None, lbfgs: bool = False):
        self.metrics, self.validation, self.frequency = list(metrics), validation, frequency
        self.out = out or sys.stdout
        cols = ["Iteration", "TimeElapsed", "TrainingLoss"] if lbfgs else \
            ["Iteration", "Epoch", "TimeElapsed", "LearnRate", "TrainingLoss"]
        if validation:
            cols.append("ValidationLoss")
        if lbfgs:
            cols += ["GradientNorm", "StepNorm"]
        for m in self.metrics:
            cols.append(f"Training{m}")
            if validation:
                cols.append(f"Validation{m}")
        self.cols = cols

    def header(self) -> list[str]:
        return ["    " + "    ".join(self.cols), "    " + "    ".join("_" * len(c) for c in self.cols)]

    def row(self, info) -> str:
        def metric(key):
            value = info.get(key)
            return value if isinstance(value, dict) else {}
        values = {"Iteration": str(info["Iteration"]), "Epoch": str(info["Epoch"]),
                  "TimeElapsed": hhmmss(info["TimeSinceStart"]), "LearnRate": format_g(info.get("BaseLearnRate")),
                  "TrainingLoss": format_g(info.get("TrainingLoss")),
                  "ValidationLoss": format_g(info.get("ValidationLoss")),
                  "GradientNorm": format_g(info.get("GradientNorm")), "StepNorm": format_g(info.get("StepNorm"))}
        for m in self.metrics:
            values[f"Training{m}"] = format_g(metric("TrainingMetric").get(m))
            values[f"Validation{m}"] = format_g(metric("ValidationMetric").get(m))
        return ("    " + "    ".join(values[c].rjust(len(c)) for c in self.cols)).rstrip()

    def closing(self, info) -> list[str]:
        reason = info.get("StopReason", "")
        return [reason] if info.get("NonFinite") or info.get("ReadError") else [f"Training stopped: {reason}"]


class ProgressView:
    """Plots='training-progress': a live rich panel when stdout is a terminal, and a
    figure of loss (and accuracy or RMSE) per iteration with the validation points,
    drawn when training ends (``figure``), shown inline in a notebook, and written as a
    PNG to ``path`` only when a path is given (``figure_path``)."""

    def __init__(self, metric: str | None, path: str | None = None):
        self.metric, self.path = metric, path
        self.rows = []
        self.live = None
        self.figure = None
        self.figure_path = None

    def _panel(self, info):
        from rich.panel import Panel
        from rich.table import Table
        t = Table.grid(padding=(0, 2))
        t.add_column(justify="right")
        t.add_column()
        t.add_row("Epoch", str(info.get("Epoch", "")))
        t.add_row("Iteration", str(info.get("Iteration", "")))
        t.add_row("Time elapsed", hhmmss(info.get("TimeSinceStart", 0.0)))
        if self.rows:
            last = self.rows[-1]
            t.add_row("Mini-batch loss", format_loss(last["TrainingLoss"]))
            if self.metric and last.get("TrainingMetric") is not None:
                t.add_row(f"Mini-batch {self.metric.lower()}", format_metric(last["TrainingMetric"], self.metric))
            vals = [r for r in self.rows if not math.isnan(r.get("ValidationLoss", math.nan))]
            if vals:
                t.add_row("Validation loss", format_loss(vals[-1]["ValidationLoss"]))
            t.add_row("Base learning rate", format_scalar(last["BaseLearnRate"]))
            t.add_row("Loss", _spark([r["TrainingLoss"] for r in self.rows]))
        return Panel(t, title="Training Progress")

    def __call__(self, info):
        state = info["State"]
        if state == "start":
            from rich.console import Console
            console = Console()
            if console.is_terminal:
                from rich.live import Live
                self.live = Live(self._panel(info), console=console, refresh_per_second=4, transient=False)
                self.live.start()
        elif state == "iteration":
            self.rows.append({k: info.get(k) for k in ("Iteration", "Epoch", "TrainingLoss", "TrainingMetric",
                                                      "ValidationLoss", "ValidationMetric", "BaseLearnRate")})
            if self.live is not None:
                self.live.update(self._panel(info))
        elif state == "done":
            if self.live is not None:
                self.live.update(self._panel(info))
                self.live.stop()
            self.figure = progress_figure(self.rows, self.metric)
            if self.figure is not None:
                if self.path is not None:
                    self.figure.savefig(self.path, dpi=100)
                    self.figure_path = self.path
                show_inline(self.figure)
        return False


def _spark(values, width=40) -> str:
    bars = "▁▂▃▄▅▆▇█"
    vals = [v for v in values if math.isfinite(v)][-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(bars[min(7, int((v - lo) / span * 7.999))] for v in vals)


def new_figure(**kw):
    """A Figure on the Agg canvas (no backend, no pyplot), or None when matplotlib is not
    installed (pip install 'layergraph[plot]'), said once on stderr."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("This figure needs matplotlib: pip install 'layergraph[plot]'.", file=sys.stderr)
        return None
    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def progress_figure(rows, metric):
    """Loss (and metric) against iteration, validation points as markers."""
    panels = 2 if metric else 1
    fig = new_figure(figsize=(8, 3.2 * panels))
    if fig is None:
        return None
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)
    its = [r["Iteration"] for r in rows]
    val = [r for r in rows if r.get("ValidationLoss") is not None and not math.isnan(r["ValidationLoss"])]
    ax = axes[-1][0]
    ax.plot(its, [r["TrainingLoss"] for r in rows], lw=1, label="Training")
    if val:
        ax.plot([r["Iteration"] for r in val], [r["ValidationLoss"] for r in val], "k--o", ms=3, label="Validation")
    ax.set_ylabel("Loss")
    ax.set_xlabel("Iteration")
    ax.legend(loc="upper right")
    if metric:
        ax = axes[0][0]
        label = "Accuracy (%)" if metric == "Accuracy" else "RMSE"
        ax.plot(its, [r["TrainingMetric"] for r in rows], lw=1, label="Training")
        if val:
            ax.plot([r["Iteration"] for r in val], [r["ValidationMetric"] for r in val], "k--o", ms=3,
                    label="Validation")
        ax.set_ylabel(label)
        ax.legend(loc="lower right" if metric == "Accuracy" else "upper right")
    fig.suptitle("Training Progress")
    fig.tight_layout()
    return fig


def loss_plot(round_losses, validation_losses=None):
    """NetTrain's "LossPlot": the loss per training round (log scale when positive)."""
    fig = new_figure(figsize=(5, 3))
    if fig is None:
        return None
    ax = fig.subplots()
    ax.plot(range(1, len(round_losses) + 1), round_losses, label="training")
    if validation_losses:
        ax.plot(range(1, len(validation_losses) + 1), validation_losses, label="validation")
        ax.legend()
    ax.set_xlabel("training rounds")
    ax.set_ylabel("loss")
    ax.set_yscale("log" if min(round_losses or [1]) > 0 else "linear")
    return fig


def show_inline(fig):
    """Show a figure in a Jupyter notebook (as PNG bytes); elsewhere do nothing."""
    if fig is None:
        return
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        import io
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        display(Image(data=buf.getvalue()))


# -- NetTrain's progress display ---------------------------------------------------------------
def _live_console():
    """A rich console when there is someone to show a live display to (a terminal or a
    notebook), else None: redirected output gets plain lines instead of a display that
    cannot redraw."""
    import importlib.util

    from rich.console import Console
    console = Console(stderr=False)
    if console.is_terminal:
        return console
    # in a notebook rich redraws through ipywidgets; without them it could not
    if console.is_jupyter and importlib.util.find_spec("ipywidgets") is not None:
        return console
    return None


def live_display_available() -> bool:
    return _live_console() is not None


class EpochProgress:
    """A rich progress display of a run's rounds: round (of the total when it is fixed),
    batch, the round's loss, the validation loss and the time left (from the time goal or
    the pace so far). It is transient: when the run ends it clears itself and leaves one
    summary line, so a finished run does not leave a redrawn screen behind. ``words``
    names the columns in the dialect's terms."""

    def __init__(self, rounds: int | None, per_round: int, time_goal: float | None = None, words=None,
                 console=None):
        self.rounds, self.per_round, self.time_goal = rounds, per_round, time_goal
        self.words = {"round": "round", "batch": "batch", "loss": "loss", "validation": "validation loss",
                      "left": "left", **(words or {})}
        self.console = console
        self.progress = None
        self.task = None
        self.last = None
        self.elapsed = 0.0
        self.iteration = 0

    def _fields(self):
        w, r = self.words, self.last
        loss = "" if r is None else f"{w['loss']} {r['epoch_loss']:.4g}"
        val = "" if r is None or r.get("validation_loss") is None else \
            f"{w['validation']} {r['validation_loss']:.4g}"
        return {"loss": loss, "val": val, "left": self._left()}

    def _left(self) -> str:
        done = self.iteration
        candidates = []
        if self.time_goal is not None:
            candidates.append(max(self.time_goal - self.elapsed, 0.0))
        if self.rounds is not None and done and self.elapsed > 0:
            total = self.rounds * self.per_round
            candidates.append(self.elapsed / done * max(total - done, 0))
        if not candidates:
            return ""
        return f"{hhmmss(min(candidates))} {self.words['left']}"

    def start(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        console = self.console or _live_console()
        if console is None:
            return
        columns = [TextColumn("{task.description}"), BarColumn(bar_width=24),
                   MofNCompleteColumn() if self.rounds is not None else TextColumn("{task.completed:.0f}"),
                   TextColumn("{task.fields[batch]}"), TextColumn("{task.fields[loss]}"),
                   TextColumn("{task.fields[val]}"), TextColumn("{task.fields[left]}")]
        self.progress = Progress(*columns, console=console, transient=True, refresh_per_second=4)
        self.progress.start()
        self.task = self.progress.add_task(self.words["round"], total=self.rounds, batch="", **self._fields())

    def batch(self, info):
        self.iteration, self.elapsed = info["Iteration"], info["TimeSinceStart"]
        if self.progress is not None:
            b = (self.iteration - 1) % self.per_round + 1
            self.progress.update(self.task, batch=f"{self.words['batch']} {b}/{self.per_round}", **self._fields())

    def epoch(self, record, final):
        self.last, self.elapsed = record, record["elapsed"]
        if self.progress is not None:
            self.progress.update(self.task, completed=record["epoch"], **self._fields())

    def close(self):
        if self.progress is None:
            return
        self.progress.stop()
        console = self.progress.console
        self.progress = None
        if self.last is not None:
            r, w = self.last, self.words
            val = "" if r.get("validation_loss") is None else f", {w['validation']} {r['validation_loss']:.6g}"
            console.print(f"{w['round'].capitalize()} {r['epoch']}: {w['loss']} {r['epoch_loss']:.6g}{val}, "
                          f"{r['elapsed']:.1f} s", highlight=False)
