"""Building a model card from loaded runs: every field read or computed from the run data."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import JsonValue

from ..analysis.summary import summarize
from ..errors import ConfigError
from ..schema import RunSummary, SampleResult, Suite
from ..schema.compare import Comparison
from ..slicing import MISSING, OTHER, UNTAGGED, merge_slice_keys, slice_values
from ..store.loaded import LoadedRun
from .schema import (
    EvaluationData,
    FailedMetric,
    FailureCase,
    IntendedUse,
    JudgeCalibration,
    MetricRow,
    ModelCard,
    ModelDetails,
    RunCard,
    SampleSourceInfo,
    Slice,
    SliceMetric,
    ThresholdCheck,
    UsageReport,
)

__all__ = ["Comparer", "build_model_card", "build_run_card", "compute_slices", "failure_cases", "MAX_FAILURES",
           "TEXT_CHARS"]

MAX_FAILURES = 10
TEXT_CHARS = 300

Comparer = Callable[[LoadedRun, LoadedRun], Comparison]
"""`(baseline, candidate) -> Comparison`; by default `agenteval.analysis.compare.compare_runs`."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agenteval")
    except PackageNotFoundError:
        return "0+unknown"


def _clip(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_text(value: JsonValue) -> str | None:
    if value is None:
        return None
    return _clip(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _summary_of(run: LoadedRun) -> RunSummary:
    if run.summary is None or run.manifest.finished_at is None:
        raise ConfigError(f"run {run.manifest.run_id} is unfinished: it has no final summary", file=run.source,
                          hint="finish it with `agenteval run SUITE --resume RUN_ID` first")
    return run.summary


def _read_suite(path: str) -> tuple[Suite | None, str | None]:
    """The suite file as it is now, or None and why not."""
    from ..suite import load_suite

    if not Path(path).is_file():
        return None, f"suite file {path} not found from {Path.cwd()}; description, task and sample sources " \
                     "are unavailable"
    try:
        return load_suite(path), None
    except ConfigError as exc:
        return None, f"suite file {path} no longer loads ({exc}); description, task and sources unavailable"


def _model_details(run: LoadedRun) -> ModelDetails:
    m = run.manifest
    models = Counter(r.trace.model for r in run.results if r.trace is not None and r.trace.model)
    return ModelDetails(run_id=m.run_id, source=run.source, backend=m.backend.spec,
                        backend_options=dict(m.backend.options), models=dict(models.most_common()),
                        agenteval_version=m.agenteval_version, git_sha=m.git_sha, labels=dict(m.labels),
                        started_at=m.started_at, finished_at=m.finished_at, settings=m.settings)


def _intended_use(suite: Suite | None, note: str | None) -> IntendedUse:
    if suite is None:
        return IntendedUse(note=note)
    return IntendedUse(description=suite.description or None, task=suite.task, note=note)


def _evaluation_data(run: LoadedRun, suite: Suite | None) -> EvaluationData:
    ref = run.manifest.suite
    evaluated = list(dict.fromkeys(r.sample_id for r in run.results))
    tags: Counter[str] = Counter()
    seen: set[str] = set()
    for r in run.results:
        if r.sample_id not in seen:
            seen.add(r.sample_id)
            tags.update(dict.fromkeys(r.tags, 1))
    sources: list[SampleSourceInfo] = []
    if suite is not None:
        ids = set(evaluated)
        per_source = Counter(s.origin.rpartition(":")[0] or s.origin for s in suite.samples if s.id in ids)
        for src, n in per_source.items():
            label = f"inline in {src}" if src == suite.path else src
            sources.append(SampleSourceInfo(source=label, n_samples=n))
    return EvaluationData(suite=ref.name, version=ref.version, path=ref.path, content_hash=ref.content_hash,
                          n_samples=ref.n_samples, n_evaluated=len(evaluated), n_results=len(run.results),
                          sources=sources, tags=dict(sorted(tags.items())),
                          suite_file_matches=None if suite is None else suite.content_hash == ref.content_hash)


def _metric_rows(run: LoadedRun, summary: RunSummary) -> list[MetricRow]:
    refs = {m.id: m for m in run.manifest.metrics + run.manifest.judges}
    rows: list[MetricRow] = []
    for key, ms in summary.metrics.items():
        checks = [ThresholdCheck(kind=t.kind, bound=t.threshold, passed=t.passed)
                  for k, t in summary.thresholds.items() if k in (key, f"{key}:max")]
        ref = refs.get(key)
        rows.append(MetricRow(metric=key, name=ref.name if ref else key, version=ref.version if ref else "?",
                              args=dict(ref.args) if ref else {}, mean=ms.mean, ci_low=ms.ci_low,
                              ci_high=ms.ci_high, ci_method=ms.ci_method, n=ms.n, n_unmeasured=ms.n_unmeasured,
                              pass_rate=ms.pass_rate, thresholds=checks,
                              passed=all(c.passed for c in checks) if checks else None))
    return rows


def compute_slices(results: Sequence[SampleResult], metrics: Sequence[str],
                   keys: Sequence[str] = ("tags",)) -> list[Slice]:
    """Per slice key (`tags` first, then e.g. `language`) and value: each metric's mean with its 95 % CI
    over the slice's samples, as the run summary's slices compute them (agenteval.slicing)."""
    keys = merge_slice_keys(["tags"], keys)
    summary = summarize("card", results, list(metrics), {}, slice_by=keys)
    samples: dict[tuple[str, str], set[str]] = {}
    for r in results:
        for key in keys:
            for value in slice_values(key, r.tags, r.metadata):
                samples.setdefault((key, value), set()).add(r.sample_id)
    out: list[Slice] = []
    for key in keys:
        found = summary.slices[key].slices
        tail = [v for v in (UNTAGGED, MISSING, OTHER) if v in found]
        for value in sorted(v for v in found if v not in tail) + tail:
            out.append(Slice(key=key, tag=value, n_samples=len(samples.get((key, value), ())),
                             metrics={m: SliceMetric(mean=ms.mean, ci_low=ms.ci_low, ci_high=ms.ci_high, n=ms.n,
                                                     n_unmeasured=ms.n_unmeasured)
                                      for m, ms in found[value].metrics.items()}))
    return out


def _usage(summary: RunSummary) -> UsageReport:
    return UsageReport(n_results=summary.n_samples, n_errors=summary.n_errors, n_cached=summary.n_cached,
                       input_tokens=summary.usage.input_tokens, output_tokens=summary.usage.output_tokens,
                       cost_usd=summary.usage.cost_usd, latency_p50_s=summary.latency.p50,
                       latency_p95_s=summary.latency.p95, latency_n=summary.latency.n)


def _judges(run: LoadedRun) -> JudgeCalibration:
    judges = list(run.manifest.judges)
    if not judges:
        return JudgeCalibration(judges=[], note="No judges were used in this run: every metric is computed, "
                                                "none is a model's opinion.")
    return JudgeCalibration(judges=judges, note="This run used model judges. Their agreement with human "
                                                "labels is not recorded in the run; calibrate them before "
                                                "trusting their scores.")


def failure_cases(results: Sequence[SampleResult], limit: int = MAX_FAILURES) -> tuple[list[FailureCase], int]:
    """The first `limit` failing results in run order, and how many fail in all."""
    shown: list[FailureCase] = []
    total = 0
    for r in results:
        failing = [FailedMetric(metric=k, value=s.value, reason=_clip(s.reason or s.error or ""))
                   for k, s in r.scores.items() if s.passed is False]
        if r.error is None and not failing:
            continue
        total += 1
        if len(shown) < limit:
            shown.append(FailureCase(sample_id=r.sample_id, repeat=r.repeat, input=_clip(r.input),
                                     answer=None if r.output is None else _clip(r.output),
                                     expected=_as_text(r.expected),
                                     error=None if r.error is None else _clip(r.error), failing=failing,
                                     tags=list(r.tags)))
    return shown, total


def build_run_card(run: LoadedRun, *, comparison: Comparison | None = None,
                   max_failures: int = MAX_FAILURES) -> RunCard:
    """The card section of one finished run. Raises ConfigError for an unfinished run."""
    summary = _summary_of(run)
    suite, note = _read_suite(run.manifest.suite.path)
    if suite is not None and suite.content_hash != run.manifest.suite.content_hash:
        note = (f"the suite file {suite.path} has changed since this run (content hash "
                f"{suite.content_hash[:12]}, run {run.manifest.suite.content_hash[:12]}); description, task "
                "and sources are from the current file")
    cases, n_failing = failure_cases(run.results, max_failures)
    return RunCard(model_details=_model_details(run), intended_use=_intended_use(suite, note),
                   evaluation_data=_evaluation_data(run, suite), metrics=_metric_rows(run, summary),
                   passed=summary.passed,
                   slices=compute_slices(run.results, list(summary.metrics), run.manifest.settings.slice_by),
                   usage=_usage(summary), judge_calibration=_judges(run), failure_cases=cases,
                   n_failing=n_failing, comparison=comparison)


def _default_comparer() -> Comparer:
    from ..analysis.compare import compare_runs

    return compare_runs


def build_model_card(runs: Sequence[LoadedRun], *, baseline: LoadedRun | None = None,
                     compare: Comparer | None = None, max_failures: int = MAX_FAILURES) -> ModelCard:
    """One card for `runs` (a section each); each run is compared with `baseline` when given."""
    if not runs:
        raise ConfigError("no run given", field="RUN", hint="agenteval modelcard RUN [RUN...]")
    comparer = (compare or _default_comparer()) if baseline is not None else None
    cards = [build_run_card(r, comparison=comparer(baseline, r) if comparer and baseline else None,
                            max_failures=max_failures) for r in runs]
    backends = list(dict.fromkeys(c.model_details.backend for c in cards))
    return ModelCard(title="Model card: " + ", ".join(backends), generator=f"agenteval {_version()}",
                     baseline=baseline.source if baseline is not None else None, runs=cards)
