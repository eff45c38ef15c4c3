"""Training progress: MATLAB's verbose table (trainNetwork era) and the
'training-progress' view (a live rich panel in a terminal, and a matplotlib figure
of loss and metric written as a PNG that a notebook shows inline).

Both are trainer callbacks: they receive the trainer's info dicts (State 'start',
'iteration', 'done') and never stop training.
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

    def __call__(self, info):
        state = info["State"]
        if state == "start":
            for line in self.header():
                self._print(line)
        elif state == "iteration":
            it = info["Iteration"]
            if it == 1 or it % self.frequency == 0 or info.get("Final"):
                self._print(self.row(info))
                self._printed = it
        elif state == "done":
            last = info.get("Last")
            if last is not None and getattr(self, "_printed", None) != last["Iteration"]:
                self._print(self.row({**last, "TimeSinceStart": last["TimeSinceStart"]}))
            self._print(self.rule())
            reason = info.get("StopReason", "")
            if reason.startswith("Training stopped at iteration"):
                self._print(reason)
            else:
                self._print(f"Training finished: {reason}.")
        return False


class ProgressView:
    """Plots='training-progress': a live rich panel when stdout is a terminal, and a
    PNG figure of loss (and accuracy or RMSE) per iteration with the validation
    points, written when training ends and shown inline in a notebook."""

    def __init__(self, metric: str | None, path: str = "training-progress.png"):
        self.metric, self.path = metric, path
        self.rows = []
        self.live = None

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
            self.figure_path = save_progress_figure(self.rows, self.metric, self.path)
            _show_inline(self.figure_path)
        return False


def _spark(values, width=40) -> str:
    bars = "▁▂▃▄▅▆▇█"
    vals = [v for v in values if math.isfinite(v)][-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(bars[min(7, int((v - lo) / span * 7.999))] for v in vals)


def save_progress_figure(rows, metric, path):
    """Loss (and metric) against iteration, validation points as markers; returns the
    path, or None when matplotlib is not installed (pip install 'layergraph[plot]')."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        print("Plots='training-progress' needs matplotlib for the figure: pip install 'layergraph[plot]'.",
              file=sys.stderr)
        return None
    panels = 2 if metric else 1
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3.2 * panels), sharex=True, squeeze=False)
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
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _show_inline(path):
    if path is None:
        return
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        display(Image(filename=path))
