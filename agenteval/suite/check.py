"""Checks a loaded suite without calling anything: metrics build, templates render."""

from __future__ import annotations

import weakref
from pathlib import Path

from ..errors import ConfigError
from ..metrics.base import Metric
from ..metrics.factory import build_metric
from ..schema import Suite
from ..slicing import check_slice_keys
from .loader import field_line, metric_line
from .templating import render_messages

__all__ = ["check_samples", "check_suite", "mark_checked", "samples_checked"]


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
    if not samples_checked(suite):
        check_samples(suite)
    return built


_CHECKED: dict[int, tuple[weakref.ref[Suite], tuple[object, ...]]] = {}
"""id(suite) -> (the suite, its samples, system, prompt and slice_by as they were when `check_samples`
passed). Kept beside the suites, not in them, so a checked suite still equals an unchecked one."""


def _checked_key(suite: Suite) -> tuple[object, ...]:
    return (suite.samples, suite.system, suite.prompt, tuple(suite.slice_by))


def samples_checked(suite: Suite) -> bool:
    """Whether `check_samples` passed for this very suite with its samples, templates and slice keys as
    they are now (the suite cache records it, so a cached suite is not rendered again)."""
    mark = _CHECKED.get(id(suite))
    if mark is None or mark[0]() is not suite:
        return False
    then, now = mark[1], _checked_key(suite)
    return then[0] is now[0] and then[1:] == now[1:]


def mark_checked(suite: Suite) -> None:
    """Record that `check_samples` passes for the suite as it is now."""
    key = id(suite)
    _CHECKED[key] = (weakref.ref(suite, lambda _: _CHECKED.pop(key, None)), _checked_key(suite))


def check_samples(suite: Suite) -> None:
    """Raise ConfigError (file:line) for a sample whose templates fail to render or a `slice_by` key no
    sample has; on success the suite is marked checked."""
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
    mark_checked(suite)
