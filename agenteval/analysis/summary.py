"""A run's summary, computed in one streaming pass over its results.

Per metric: the mean over samples (with repeats, each sample's repeats are averaged first, so the CI is
over independent cases, not over correlated repeats), its standard error, a 95 % CI (Wilson for 0/1
scores, percentile bootstrap otherwise), n and the count of unmeasured scores. Unmeasured scores are
never averaged in as 0 and never produce NaN.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence

from pydantic import JsonValue

from ..schema import (
    LatencySummary,
    MetricSummary,
    RunSummary,
    SampleResult,
    SliceBreakdown,
    SliceSummary,
    Threshold,
    ThresholdResult,
    Usage,
)
from ..slicing import MAX_SLICES, OTHER, merge_slice_keys, slice_values
from .stats import mean_ci, percentile

__all__ = ["Summarizer", "summarize", "check_thresholds"]


class _MetricAcc:
    """Per-sample sums and counts in flat arrays (16 bytes per sample), in first-measured order.

    `grouped`: the results come with each sample's repeats next to each other (a finished run's file),
    so a sample's slot is the last one and no dict of every sample id is kept."""

    def __init__(self, grouped: bool = False) -> None:
        self.slot: dict[str, int] | None = None if grouped else {}
        self.last_id: str | None = None
        self.sums = array("d")
        self.counts = array("q")
        self.unmeasured = 0
        self.passed = 0
        self.with_pass = 0

    def add(self, sample_id: str, value: float | None, passed: bool | None) -> None:
        if value is None:
            self.unmeasured += 1
            return
        if self.slot is None:
            i = len(self.sums) - 1 if sample_id == self.last_id else len(self.sums)
            self.last_id = sample_id
        else:
            i = self.slot.setdefault(sample_id, len(self.sums))
        if i == len(self.sums):
            self.sums.append(0.0 + value)  # `sum([v])` is 0 + v
            self.counts.append(1)
        else:
            self.sums[i] += value
            self.counts[i] += 1
        if passed is not None:
            self.with_pass += 1
            self.passed += int(passed)

    def summary(self) -> MetricSummary:
        # each sample's mean, as sum(values) / len(values) in the order the values came
        means = array("d", (total / count for total, count in zip(self.sums, self.counts, strict=True)))
        pass_rate = self.passed / self.with_pass if self.with_pass else None
        if not means:
            return MetricSummary(mean=None, stderr=None, ci_low=None, ci_high=None, ci_method="none", n=0,
                                 n_unmeasured=self.unmeasured, pass_rate=pass_rate)
        mean, stderr, low, high, method = mean_ci(means)
        return MetricSummary(mean=mean, stderr=stderr, ci_low=low, ci_high=high, ci_method=method,
                             n=len(means), n_unmeasured=self.unmeasured, pass_rate=pass_rate)


def _add_scores(accs: dict[str, _MetricAcc], r: SampleResult) -> None:
    for m, acc in accs.items():
        s = r.scores.get(m)
        if s is None:
            acc.unmeasured += 1
        else:
            acc.add(r.sample_id, s.value, s.passed)


class _SliceAcc:
    def __init__(self, metric_ids: list[str], grouped: bool) -> None:
        self.n = 0
        self.errors = 0
        self.accs = {m: _MetricAcc(grouped) for m in metric_ids}

    def add(self, r: SampleResult) -> None:
        self.n += 1
        self.errors += r.error is not None
        _add_scores(self.accs, r)

    def summary(self) -> SliceSummary:
        return SliceSummary(n_samples=self.n, n_errors=self.errors,
                            metrics={m: acc.summary() for m, acc in self.accs.items()})


class _KeyAcc:
    """The slices of one key; past MAX_SLICES distinct values, new ones are pooled in OTHER."""

    def __init__(self, key: str, metric_ids: list[str], grouped: bool) -> None:
        self.key = key
        self.metric_ids = metric_ids
        self.grouped = grouped
        self.slices: dict[str, _SliceAcc] = {}
        self.folded: set[str] = set()

    def add(self, r: SampleResult) -> None:
        targets: dict[str, None] = {}
        for v in slice_values(self.key, r.tags, r.metadata):
            if v not in self.slices and v != OTHER:
                if len(self.slices) - (OTHER in self.slices) >= MAX_SLICES:
                    self.folded.add(v)
                    v = OTHER
            targets[v] = None
        for v in targets:
            acc = self.slices.get(v)
            if acc is None:
                acc = self.slices[v] = _SliceAcc(self.metric_ids, self.grouped)
            acc.add(r)

    def summary(self) -> SliceBreakdown:
        return SliceBreakdown(slices={v: acc.summary() for v, acc in self.slices.items()},
                              n_folded=len(self.folded))


def check_thresholds(metrics: dict[str, MetricSummary],
                     thresholds: dict[str, Threshold]) -> dict[str, ThresholdResult]:
    out: dict[str, ThresholdResult] = {}
    for key, th in thresholds.items():
        value = metrics[key].mean if key in metrics else None
        if th.min is not None:
            out[key] = ThresholdResult(threshold=th.min, kind="min", value=value,
                                       passed=value is not None and value >= th.min)
        if th.max is not None:
            k = key if th.min is None else f"{key}:max"
            out[k] = ThresholdResult(threshold=th.max, kind="max", value=value,
                                     passed=value is not None and value <= th.max)
    return out


class Summarizer:
    """`summarize`, fed one result at a time: `add(result)` as results come, `summary(run_id)` at the end.

    The runner feeds it each result as it appends it, so a run whose results came in task order needs
    no second pass over its file. Arguments as for `summarize`."""

    def __init__(self, metric_ids: list[str], thresholds: dict[str, Threshold],
                 aggregators: Mapping[str, Callable[[list[dict[str, JsonValue]]], dict[str, JsonValue] | None]]
                 | None = None, slice_by: Sequence[str] = (), grouped: bool = False) -> None:
        self.thresholds = thresholds
        self.accs = {m: _MetricAcc(grouped) for m in metric_ids}
        self.key_accs = [_KeyAcc(k, metric_ids, grouped) for k in merge_slice_keys(slice_by)]
        self.n = self.errors = self.cached = 0
        self.input_tokens = self.output_tokens = 0
        self.cost_usd = 0.0
        self.cost_known = True
        self.latencies = array("d")
        self.judge_usage = Usage()
        self.aggregators = aggregators or {}
        self.corpus_details: dict[str, list[dict[str, JsonValue]]] = {
            m: [] for m in self.aggregators if m in metric_ids}

    def add(self, r: SampleResult) -> None:
        for m, bucket in self.corpus_details.items():
            cs = r.scores.get(m)
            if cs is not None and cs.value is not None:
                bucket.append(cs.details)
        for score in r.scores.values():
            if score.usage is not None:
                self.judge_usage = self.judge_usage.add(score.usage)
        self.n += 1
        self.errors += r.error is not None
        self.cached += r.cached
        _add_scores(self.accs, r)
        for ka in self.key_accs:
            ka.add(r)
        if not r.cached:
            u = r.usage
            self.input_tokens += u.input_tokens or 0
            self.output_tokens += u.output_tokens or 0
            self.cost_usd += u.cost_usd or 0.0
            if r.error is None and u.cost_usd is None:
                self.cost_known = False
            if r.error is None and r.trace is not None and r.trace.latency_s is not None:
                self.latencies.append(r.trace.latency_s)

    def summary(self, run_id: str) -> RunSummary:
        usage = Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens,
                      cost_usd=self.cost_usd if self.cost_known else None)
        metrics = {m: acc.summary() for m, acc in self.accs.items()}
        for m, bucket in self.corpus_details.items():
            if bucket:  # corpus-level numbers (macro F1, confusion matrix, corpus RMSE...) from the metric itself
                metrics[m] = metrics[m].model_copy(update={"corpus": self.aggregators[m](bucket)})
        th = check_thresholds(metrics, self.thresholds)
        ordered = sorted(self.latencies)
        lat = LatencySummary(p50=percentile(ordered, 50) if ordered else None,
                             p95=percentile(ordered, 95) if ordered else None, n=len(ordered))
        # A sample that ended in a backend error is unmeasured; a run with any of them has not passed.
        passed = all(t.passed for t in th.values()) and self.errors == 0
        return RunSummary(run_id=run_id, n_samples=self.n, n_errors=self.errors, n_cached=self.cached,
                          metrics=metrics, thresholds=th, passed=passed, usage=usage,
                          judge_usage=self.judge_usage, latency=lat,
                          slices={ka.key: ka.summary() for ka in self.key_accs})


def summarize(run_id: str, results: Iterable[SampleResult], metric_ids: list[str],
              thresholds: dict[str, Threshold],
              aggregators: Mapping[str, Callable[[list[dict[str, JsonValue]]], dict[str, JsonValue] | None]]
              | None = None, slice_by: Sequence[str] = (), grouped: bool = False) -> RunSummary:
    """The summary of `results`, consumed as a stream: per sample it keeps a few numbers, never the
    results (feed it `RunDir.iter_results()` and a run of any size summarises in small memory).

    `slice_by` keys (see agenteval.slicing) add each metric per slice, with its CI and n. `grouped`
    says each sample's results are next to each other (a finished run's file, in suite order): then
    not even a dict of sample ids is kept. Given results that are not grouped, it would count a
    sample's scattered repeats as separate cases; leave it False when unsure."""
    acc = Summarizer(metric_ids, thresholds, aggregators, slice_by, grouped)
    for r in results:
        acc.add(r)
    return acc.summary(run_id)
