"""The leaderboard JSON that dashboards read (`agenteval leaderboard`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .results import SCHEMA_VERSION, MetricRef


class LeaderboardMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_unmeasured: int
    pass_rate: float | None = None


class LeaderboardSlice(BaseModel):
    """One slice of a `--slice-by` key (e.g. language=de): its result count and metrics."""

    model_config = ConfigDict(extra="forbid")

    n_samples: int
    n_errors: int
    metrics: dict[str, LeaderboardMetric]


class LeaderboardEntry(BaseModel):
    """One suite x backend: the headline numbers of its latest finished run."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    suite_version: str
    suite_hash: str
    backend: str
    run_id: str
    run_group: str | None = None
    """Runs started together by one `agenteval run --backend A --backend B` share a group."""
    finished_at: str
    n_samples: int
    n_errors: int
    passed: bool
    """Whether the run met the suite's thresholds."""
    sample_pass_rate: float | None
    """Share of results on which every metric with a pass rule passed (unmeasured results excluded)."""
    metrics: dict[str, LeaderboardMetric]
    cost_usd: float | None
    cost_per_1k_samples_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    judges: list[MetricRef] = Field(default_factory=list)
    metric_versions: dict[str, str] = Field(default_factory=dict)
    agenteval_version: str
    git_sha: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    slices: dict[str, dict[str, LeaderboardSlice]] = Field(default_factory=dict)
    """Slice key -> slice value -> its numbers, for the keys the run was sliced by (`--slice-by`)."""


class Leaderboard(BaseModel):
    """`schema_version` first; entries sorted by suite, then backend."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    generated_at: str
    entries: list[LeaderboardEntry]
