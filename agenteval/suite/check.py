"""Checks a loaded suite without calling anything: metrics build, templates render."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..metrics.base import Metric
from ..metrics.factory import build_metric
from ..schema import Suite
from .loader import metric_line
from .templating import render_messages

__all__ = ["check_suite"]


def check_suite(suite: Suite) -> list[tuple[str, Metric]]:
    """Raise ConfigError (with file:line) for an unknown/misconfigured metric or a prompt that fails.

    Returns the suite's metrics, built as a run uses them: (summary key, metric)."""
    built: list[tuple[str, Metric]] = []
    for i, spec in enumerate(suite.metrics):
        try:
            built.append((spec.id, build_metric(spec, suite_dir=str(Path(suite.path).parent))))
        except ConfigError as exc:
            if exc.file is None:  # errors from elsewhere (a rubric file) keep their own location
                exc.file, exc.line = suite.path, metric_line(suite.path, i)
                exc.args = (exc.format(),)
            raise
    for sample in suite.samples:
        render_messages(suite, sample)
    return built
