"""What the HTML report embeds as JSON: one row per result line, with its trajectory and scores.

These view models are the contract between the Python side (which builds them from a run) and the
page's script (which renders the drill-down table from them with `textContent` only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ..errors import ConfigError
from ..schema import ExpectedToolCall, SampleResult, Suite, ToolCall
from ..schema.compare import Comparison
from ..store.loaded import LoadedRun

__all__ = ["ReportData", "SampleView", "ScoreView", "StepView", "SuiteLookup", "build_report_data",
           "find_suite", "TEXT_LIMIT"]

TEXT_LIMIT = 20_000
"""Characters kept of each answer, input or reason; the rest is cut with a note (the run folder keeps all)."""


class StepView(BaseModel):
    """One tool call, predicted or expected."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, JsonValue] = Field(default_factory=dict)
    error: str | None = None
    optional: bool = False
    repeat: bool = False


class ScoreView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    value: float | None
    passed: bool | None
    reason: str
    error: str | None = None
    judge: bool = False
    """The score comes from an LLM judge: its reason is the judge's reasoning."""


class SampleView(BaseModel):
    """One row of the drill-down table (one sample x repeat)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    repeat: int
    tags: list[str]
    input: str
    output: str | None
    expected: JsonValue
    error: str | None
    trajectory: list[StepView] | None
    """The tool calls made; None when the run kept no trace (a baseline file)."""
    expected_trajectory: list[StepView] | None
    """From the suite file, when it is still there and the sample is unchanged."""
    scores: list[ScoreView]
    failed: bool
    """A backend error, or a measured score that did not pass."""
    latency_s: float | None
    cost_usd: float | None
    cached: bool
    changes: list[str] = Field(default_factory=list)
    """Comparison notes for this case, e.g. `exact_match: newly failing`."""


class ReportData(BaseModel):
    """The JSON block of the page."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    metrics: list[str]
    tags: list[str]
    show_repeat: bool
    samples: list[SampleView]


@dataclass
class SuiteLookup:
    """The suite file of a run, if it can still be read, and what the report should say about it."""

    suite: Suite | None
    notes: list[str] = field(default_factory=list)


def find_suite(run: LoadedRun) -> SuiteLookup:
    """Read the run's suite file (for expected trajectories and thresholds); never raises."""
    from ..suite import load_suite

    ref = run.manifest.suite
    path = Path(ref.path)
    if not path.is_file():
        return SuiteLookup(None, [f"suite file {ref.path} not found (relative paths are read from the "
                                  "working folder): expected trajectories are not shown"])
    try:
        suite = load_suite(path)
    except ConfigError as exc:
        return SuiteLookup(None, [f"suite file could not be read ({exc}): expected trajectories are not shown"])
    notes = []
    if suite.content_hash != ref.content_hash:
        notes.append(f"suite file {ref.path} changed since the run: expected trajectories are shown only "
                     "for samples whose content is unchanged")
    return SuiteLookup(suite, notes)


def _cut(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return text
    return f"{text[:TEXT_LIMIT]}… [{len(text) - TEXT_LIMIT} more characters in samples.jsonl]"


def _step(call: ToolCall) -> StepView:
    return StepView(tool=call.tool, args=call.args, error=call.error)


def _expected_step(step: ExpectedToolCall) -> StepView:
    return StepView(tool=step.tool, args=step.args, optional=step.optional, repeat=step.repeat)


def _expected_trajectories(suite: Suite | None) -> dict[tuple[str, str], list[StepView]]:
    """(sample id, content hash) -> expected steps, so a changed sample never shows a stale trajectory."""
    if suite is None:
        return {}
    return {(s.id, s.hash): [_expected_step(t) for t in s.expected_trajectory]
            for s in suite.samples if s.expected_trajectory is not None}


def _changes(comparison: Comparison | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if comparison is not None:
        for c in comparison.cases:
            out.setdefault(c.sample_id, []).append(f"{c.metric}: {c.kind}")
    return out


def _view(r: SampleResult, judges: set[str], expected: dict[tuple[str, str], list[StepView]],
          changes: dict[str, list[str]]) -> SampleView:
    scores = [ScoreView(metric=k, value=s.value, passed=s.passed, reason=_cut(s.reason), error=s.error,
                        judge=k in judges) for k, s in r.scores.items()]
    failed = r.error is not None or any(s.passed is False for s in scores)
    return SampleView(
        id=r.sample_id, repeat=r.repeat, tags=r.tags, input=_cut(r.input),
        output=None if r.output is None else _cut(r.output), expected=r.expected,
        error=r.error, trajectory=None if r.trace is None else [_step(c) for c in r.trace.tool_calls],
        expected_trajectory=expected.get((r.sample_id, r.sample_hash)), scores=scores, failed=failed,
        latency_s=r.latency_s, cost_usd=r.usage.cost_usd, cached=r.cached,
        changes=changes.get(r.sample_id, []),
    )


def build_report_data(run: LoadedRun, comparison: Comparison | None = None,
                      suite: Suite | None = None) -> ReportData:
    """The drill-down rows of `run`, with expected trajectories from `suite` when given."""
    man = run.manifest
    judges = {j.id for j in man.judges}
    metrics = [m.id for m in man.metrics + man.judges]
    for r in run.results:  # scores the manifest does not list (older runs) still get a filter entry
        metrics.extend(k for k in r.scores if k not in metrics)
    tags = sorted({t for r in run.results for t in r.tags})
    expected = _expected_trajectories(suite)
    changes = _changes(comparison)
    return ReportData(run_id=man.run_id, metrics=metrics, tags=tags,
                      show_repeat=man.settings.repeat > 1 or any(r.repeat for r in run.results),
                      samples=[_view(r, judges, expected, changes) for r in run.results])
