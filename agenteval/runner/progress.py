"""A rich progress bar (done/total, errors, rate, ETA); silent when stderr is not a terminal."""

from __future__ import annotations

from types import TracebackType
from typing import Any

__all__ = ["RunProgress"]


class RunProgress:
    def __init__(self, total: int, *, description: str, enabled: bool | None = None) -> None:
        self.total = total
        self.errors = 0
        self.done = 0
        self._progress: Any = None
        self._task: Any = None
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
            self._progress.start()
        return self

    def advance(self, *, error: bool) -> None:
        self.done += 1
        self.errors += int(error)
        if self._progress is not None:
            task = self._progress.tasks[0]
            elapsed = task.elapsed or 0.0
            rate = f"{self.done / elapsed:.1f}" if elapsed > 0 else "0.0"
            self._progress.update(self._task, advance=1, errors=self.errors, rate=rate)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
