"""The model card as data: a pydantic model dumped as `MODEL_CARD.json`, rendered as `MODEL_CARD.md`.

Sections follow Google's Model Card Toolkit (model details, considerations / intended use, datasets,
quantitative analysis with slices, limitations) and the Hugging Face model card template (Model
Details, Uses, Evaluation: Testing Data, Factors, Metrics, Results; Bias, Risks, and Limitations).
Every number is read from run folders (manifest, summary, samples); nothing is estimated or invented.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ..schema import MetricRef, RunSettings
from ..schema.compare import Comparison

__all__ = [
    "MODEL_CARD_SCHEMA_VERSION", "EvaluationData", "FailedMetric", "FailureCase", "IntendedUse",
    "JudgeCalibration", "MetricRow", "ModelCard", "ModelDetails", "RunCard", "SampleSourceInfo", "Slice",
    "SliceMetric", "ThresholdCheck", "UsageReport",
]

MODEL_CARD_SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelDetails(_Model):
    """What answered: the backend as the run recorded it."""

    run_id: str
    source: str
    """The run folder (or baseline file) the card was built from."""
    backend: str
    """Backend spec, e.g. `litellm:openai/gpt-4o-mini`."""
    backend_options: dict[str, JsonValue] = Field(default_factory=dict)
    """Backend options as stored in the manifest (secrets already shown as `***`)."""
    models: dict[str, int] = Field(default_factory=dict)
    """Model names as the backend reported them in the traces -> number of answers."""
    agenteval_version: str
    git_sha: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    started_at: str
    finished_at: str | None = None
    settings: RunSettings


class IntendedUse(_Model):
    """What the evaluation was meant to establish, from the suite file."""

    description: str | None = None
    """The suite's `description`; None when the suite file is not readable."""
    task: str | None = None
    """The suite's `task` (generation, classification, tool_use, ...)."""
    note: str | None = None
    """Why the above may be missing or out of date (suite file not found, changed since the run)."""


class SampleSourceInfo(_Model):
    """Where a group of the evaluated samples came from."""

    source: str
    """A data file or dataset, or the suite file itself for inline samples."""
    n_samples: int


class EvaluationData(_Model):
    """The suite the model was evaluated on (Model Card Toolkit: datasets; Hugging Face: testing data)."""

    suite: str
    version: str
    path: str
    content_hash: str
    n_samples: int
    """Samples in the suite when it ran."""
    n_evaluated: int
    """Distinct samples with results in this run (fewer with --limit or --shard)."""
    n_results: int
    """Result lines: samples x repeats."""
    sources: list[SampleSourceInfo] = Field(default_factory=list)
    """Where the samples came from; empty when the suite file is not readable."""
    tags: dict[str, int] = Field(default_factory=dict)
    """Tag -> evaluated samples carrying it."""
    suite_file_matches: bool | None = None
    """Whether the suite file now on disk has the run's content hash (None: file not readable)."""


class ThresholdCheck(_Model):
    kind: str
    """`min` or `max`."""
    bound: float
    passed: bool


class MetricRow(_Model):
    """One metric over the whole run, as in `summary.json`."""

    metric: str
    """Metric id (the summary key)."""
    name: str
    version: str
    args: dict[str, JsonValue] = Field(default_factory=dict)
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    n: int
    n_unmeasured: int
    pass_rate: float | None = None
    thresholds: list[ThresholdCheck] = Field(default_factory=list)
    passed: bool | None = None
    """All thresholds on this metric met; None when it has none."""


class SliceMetric(_Model):
    """One metric over the samples of one slice (repeats averaged per sample first)."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    """Samples measured in this slice."""
    n_unmeasured: int
    """Unmeasured result lines in this slice."""


class Slice(_Model):
    """The samples sharing one tag, or one value of a metadata key (fairness / robustness factor)."""

    key: str = "tags"
    """`tags`, or the metadata key the run was sliced by (`--slice-by`)."""
    tag: str
    """The tag (`(untagged)` for samples without tags), or the key's value (`(missing)` when absent)."""
    n_samples: int
    metrics: dict[str, SliceMetric] = Field(default_factory=dict)


class UsageReport(_Model):
    """Tokens, cost and latency from `summary.json` (non-cached answers only)."""

    n_results: int
    n_errors: int
    n_cached: int
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    """None when any answer's cost was unknown."""
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_n: int = 0


class JudgeCalibration(_Model):
    """Judges used by the run. Calibration against human labels is not recorded in runs yet."""

    judges: list[MetricRef] = Field(default_factory=list)
    note: str


class FailedMetric(_Model):
    metric: str
    value: float | None
    reason: str


class FailureCase(_Model):
    """A result that failed a metric or whose backend call failed."""

    sample_id: str
    repeat: int
    input: str
    answer: str | None
    expected: str | None
    """The expected answer(s), as JSON text when not a string (truncated)."""
    error: str | None = None
    """The backend error, when the call failed."""
    failing: list[FailedMetric] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class RunCard(_Model):
    """Everything the card says about one run."""

    model_details: ModelDetails
    intended_use: IntendedUse
    evaluation_data: EvaluationData
    metrics: list[MetricRow] = Field(default_factory=list)
    passed: bool
    """Every threshold met (and not every sample errored), as in `summary.json`."""
    slices: list[Slice] = Field(default_factory=list)
    usage: UsageReport
    judge_calibration: JudgeCalibration
    failure_cases: list[FailureCase] = Field(default_factory=list)
    """The first failing results in run order (at most `max_failures`)."""
    n_failing: int = 0
    """All failing results, shown or not."""
    comparison: Comparison | None = None
    """This run against the baseline, when one was given."""


class ModelCard(_Model):
    """A model card for one or more runs (e.g. one model on several suites)."""

    schema_version: str = MODEL_CARD_SCHEMA_VERSION
    title: str
    generator: str
    """`agenteval <version>` that wrote the card."""
    baseline: str | None = None
    """Where the baseline was read from, when one was given."""
    runs: list[RunCard]
