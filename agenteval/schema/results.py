"""What goes into a run folder: per-sample results, the manifest and the summary."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from .hashes import SampleHashes
from .trace import Trace, Usage

SCHEMA_VERSION = "1"


class Score(BaseModel):
    """One metric's verdict on one answer. `value is None` means unmeasured (see `error`)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    """The score, usually in [0, 1]; None when unmeasured."""
    passed: bool | None = None
    """Whether the answer passes this metric; None when the metric has no pass rule or is unmeasured."""
    reason: str = ""
    """A short human explanation."""
    error: str | None = None
    """Why the score is unmeasured (the metric failed or lacked what it needs)."""
    usage: Usage | None = None
    """Tokens and cost a judge spent on this score (None for metrics that call nothing, and for judge
    answers served from the cache). Counted in the summary's `judge_usage`, apart from the system's."""
    details: dict[str, JsonValue] = Field(default_factory=dict)
    """Metric-specific extras, e.g. a judge's raw score, per-sample votes, spread and swap verdicts."""

    @property
    def measured(self) -> bool:
        return self.value is not None


class SampleResult(BaseModel):
    """One line of `samples.jsonl`: one sample x repeat, with its trace and scores."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str
    repeat: int = 0
    sample_hash: str
    input: str
    """The rendered last user message (the whole request is in `trace.messages`)."""
    output: str | None = None
    expected: JsonValue = None
    trace: Trace | None = None
    scores: dict[str, Score] = Field(default_factory=dict)
    error: str | None = None
    """Why the backend call failed; the sample is then unmeasured on every metric."""
    attempts: int = 1
    """Backend calls made (1 + retries)."""
    latency_s: float | None = None
    """Wall time of the backend call(s) in this run, including retries."""
    usage: Usage = Field(default_factory=Usage)
    cached: bool = False
    """True when the answer came from the response cache (its latency is then not model latency)."""
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    """The sample's metadata (what `--slice-by` groups by)."""


class SuiteRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    path: str
    content_hash: str
    n_samples: int
    sample_hashes: SampleHashes
    """sample id -> content hash, for comparing runs case by case."""


class BackendRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str
    options: dict[str, JsonValue] = Field(default_factory=dict)
    """Options with secrets redacted."""


class MetricRef(BaseModel):
    """A metric or judge as a run used it: enough to tell whether two runs scored alike."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    version: str
    """For judges: the rubric's version and content hash, e.g. `2+3f9a0c1b2d4e`."""
    args: dict[str, JsonValue] = Field(default_factory=dict)
    model: str | None = None
    """For judges: the judge model spec."""


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int
    repeat: int
    limit: int | None = None
    shard: str | None = None
    cache: bool = True
    slice_by: list[str] = Field(default_factory=list)
    """Keys the summary breaks metrics down by (the suite's `slice_by` and `--slice-by`)."""


class RunManifest(BaseModel):
    """`manifest.json`: everything needed to know what a run was and to replay it."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run_id: str
    suite: SuiteRef
    backend: BackendRef
    metrics: list[MetricRef]
    judges: list[MetricRef] = Field(default_factory=list)
    settings: RunSettings
    agenteval_version: str
    git_sha: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    started_at: str
    """ISO 8601, UTC."""
    finished_at: str | None = None
    """ISO 8601, UTC; None while the run is unfinished (interrupted runs can be resumed)."""


class MetricSummary(BaseModel):
    """Aggregate of one metric over a run."""

    model_config = ConfigDict(extra="forbid")

    mean: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    """`wilson` for pass/fail (0/1) metrics, `bootstrap` otherwise, `none` when n < 2."""
    n: int
    """Measured values (with repeats: the number of sample means the CI is over)."""
    n_unmeasured: int
    pass_rate: float | None = None
    """Share of measured scores with passed=True, when the metric has a pass rule."""
    corpus: dict[str, JsonValue] | None = None
    """Corpus-level numbers for metrics whose mean is not the whole story (macro/micro F1 and the
    confusion matrix of label_match, corpus RMSE, ...): the metric's own `aggregate()`."""


class ThresholdResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float
    """The bound."""
    kind: str = "min"
    """`min` (mean must be >= threshold) or `max` (mean must be <= threshold)."""
    value: float | None
    passed: bool


class LatencySummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p50: float | None
    p95: float | None
    n: int
    """Samples counted: non-cached answers without a backend error."""


class SliceSummary(BaseModel):
    """The metrics of one slice: the results whose sample has one value of a `--slice-by` key."""

    model_config = ConfigDict(extra="forbid")

    n_samples: int
    """Result lines (samples x repeats) in the slice."""
    n_errors: int
    metrics: dict[str, MetricSummary]
    """Each metric over the slice's samples, with its own CI and n (no corpus aggregates)."""


class SliceBreakdown(BaseModel):
    """The slices of one key, e.g. every `language`."""

    model_config = ConfigDict(extra="forbid")

    slices: dict[str, SliceSummary]
    """Slice value -> its summary, in first-seen order; `(missing)`, `(untagged)` and `(other)` as named
    in agenteval.slicing."""
    n_folded: int = 0
    """Distinct values pooled in `(other)` because the key had more than `MAX_SLICES` values."""


class RunSummary(BaseModel):
    """`summary.json`: the headline numbers of a run."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run_id: str
    n_samples: int
    """Result lines (samples x repeats)."""
    n_errors: int
    n_cached: int = 0
    metrics: dict[str, MetricSummary]
    thresholds: dict[str, ThresholdResult]
    passed: bool
    usage: Usage
    """Tokens and cost of the system under test (non-cached answers)."""
    judge_usage: Usage = Field(default_factory=Usage)
    """Tokens and cost spent by judges, counted apart from the system under test."""
    latency: LatencySummary
    slices: dict[str, SliceBreakdown] = Field(default_factory=dict)
    """Per `--slice-by` key: each metric broken down by the key's values."""


class Baseline(BaseModel):
    """A named baseline: a frozen copy of a run's manifest, summary and per-sample scores.

    Stored as `<baselines>/<name>.json` (default `./baselines`), small enough to commit to git, so CI
    compares against a baseline that lives in the repository. Traces are dropped; answers are kept
    (truncated) for the per-case diffs of `agenteval compare`.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    name: str
    created_at: str
    manifest: RunManifest
    summary: RunSummary
    samples: list[SampleResult]
