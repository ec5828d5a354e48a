"""Checks a loaded suite without calling anything: metrics build, templates render."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..metrics.base import Metric
from ..metrics.factory import build_metric
from ..schema import Suite
from ..slicing import check_slice_keys
from .loader import field_line, metric_line
from .templating import render_messages

__all__ = ["check_suite"]


def check_suite(suite: Suite) -> list[tuple[str, Metric]]:
    """Raise ConfigError (with file:line) for an unknown/misconfigured metric, a prompt that fails or a
    `slice_by` key no sample has.

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
    for i, key in enumerate(suite.slice_by):
        try:
            check_slice_keys([key], ((s.tags, s.metadata) for s in suite.samples), file=suite.path,
                             field=f"slice_by[{i}]")
        except ConfigError as exc:
            exc.line = field_line(suite.path, ("slice_by", i))
            exc.args = (exc.format(),)
            raise
    return built
