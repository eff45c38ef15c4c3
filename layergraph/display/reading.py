"""A progress bar for a pass over data read from disk before or after training (the input
normalization statistics, the population batch-normalization statistics), where a datastore
of many files can take a while and nothing else moves. ``ReadProgress(description)`` is a
``progress(done, total)`` function; it shows a transient rich bar when someone can watch it
(a terminal or a notebook, as NetTrain's display) and stays silent otherwise."""
from __future__ import annotations


class ReadProgress:
    def __init__(self, description: str, console=None):
        from .training import _live_console
        self.description = description
        self.console = console if console is not None else _live_console()
        self._bar = self._task = None

    def __call__(self, done: int, total: int) -> None:
        if self.console is None:
            return
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total)
        self._bar.update(self._task, completed=done)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
