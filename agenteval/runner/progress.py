"""A rich progress bar (done/total, errors, rate, ETA); silent when stderr is not a terminal.

Counting is a few integer additions per sample; the bar itself is updated at most every
`UPDATE_EVERY_S` (rich redraws ten times a second anyway) and once more when the run ends.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

__all__ = ["RunProgress"]

UPDATE_EVERY_S = 0.1


class RunProgress:
    def __init__(self, total: int, *, description: str, enabled: bool | None = None) -> None:
        self.total = total
        self.errors = 0
        self.done = 0
        self._progress: Any = None
        self._task: Any = None
        self._shown = 0
        self._next_update = 0.0
        if enabled is None:
            import sys

            enabled = sys.stderr.isatty()
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                TextColumn("[red]{task.fields[errors]} errors"), TextColumn("{task.fields[rate]}/s"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )
            self._task = self._progress.add_task(description, total=total, errors=0, rate="0.0")

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            if self.done:  # resuming: what is already on disk counts as done
                self._progress.update(self._task, completed=self.done)
                self._shown = self.done
            self._progress.start()
        return self

    def advance(self, *, error: bool) -> None:
        self.done += 1
        self.errors += int(error)
        if self._progress is not None:
            now = time.monotonic()
            if now >= self._next_update:
                self._next_update = now + UPDATE_EVERY_S
                self._refresh()

    def _refresh(self) -> None:
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{self.done / elapsed:.1f}" if elapsed > 0 else "0.0"
        self._progress.update(self._task, advance=self.done - self._shown, errors=self.errors, rate=rate)
        self._shown = self.done

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._refresh()
            self._progress.stop()
