"""What `agenteval compare` produces (also the `--json` output)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .results import SCHEMA_VERSION

Verdict = Literal["improved", "regressed", "no significant change", "not comparable"]
CaseStatus = Literal["pass", "fail", "flaky", "unmeasured"]


class RunRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    source: str
    """Where the run was read from: a run folder or a baseline file."""
    backend: str
    suite: str
    suite_version: str
    labels: dict[str, str] = Field(default_factory=dict)


class MetricComparison(BaseModel):
    """One metric, baseline vs candidate, over the cases present and measured in both."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    n_pairs: int
    """Cases measured on both sides (a case's repeats are averaged first)."""
    n_unpaired: int = 0
    """Paired cases left out because one side was unmeasured."""
    baseline_mean: float | None
    candidate_mean: float | None
    delta: float | None
    """candidate_mean - baseline_mean over the paired cases."""
    delta_ci_low: float | None
    delta_ci_high: float | None
    """95 % paired bootstrap CI of the delta (2,000 resamples of cases, fixed seed)."""
    test: str
    """`mcnemar_exact` (pass/fail, no repeats), `wilcoxon` (scores), or `none`."""
    p_value: float | None
    mde: float | None
    """Minimum detectable effect at this n (two-sided alpha 0.05, power 0.8)."""
    verdict: Verdict
    baseline_pass_at_k: dict[int, float] = Field(default_factory=dict)
    candidate_pass_at_k: dict[int, float] = Field(default_factory=dict)
    baseline_pass_hat_k: dict[int, float] = Field(default_factory=dict)
    """pass^k (tau-bench): the chance that k repeats all pass."""
    candidate_pass_hat_k: dict[int, float] = Field(default_factory=dict)


class CaseChange(BaseModel):
    """A case whose pass/fail status on some metric is worth a look."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str
    metric: str
    kind: Literal["newly failing", "newly passing", "still failing", "flaky"]
    baseline: CaseStatus
    candidate: CaseStatus
    baseline_value: float | None
    candidate_value: float | None
    baseline_output: str | None
    candidate_output: str | None
    diff: str = ""
    """A short unified diff of the two answers."""


class GateResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate: str
    """e.g. `fail_on: regression` or `max_drop exact_match=0.02`."""
    metric: str | None = None
    passed: bool
    reason: str


class Comparison(BaseModel):
    """A whole comparison of a candidate run against a baseline."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    baseline: RunRef
    candidate: RunRef
    n_paired_cases: int
    cases_added: list[str] = Field(default_factory=list)
    """Case ids only in the candidate."""
    cases_removed: list[str] = Field(default_factory=list)
    """Case ids only in the baseline."""
    warnings: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    """Reasons the runs are not comparable (changed case hashes, metric versions...)."""
    metrics: list[MetricComparison] = Field(default_factory=list)
    cases: list[CaseChange] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)
    passed: bool = True
    """False when a gate failed."""
