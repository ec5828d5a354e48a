"""The `Preset` model: the metrics, default thresholds and aggregation of one task type."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..schema import MetricSpec, TaskKind, Threshold

__all__ = ["Preset", "metric", "threshold_text"]


def metric(spec: str | dict[str, Any]) -> MetricSpec:
    """A MetricSpec from the suite-file short forms (`"mrr"`, `{"ndcg_at_k": {"k": 10, "id": "ndcg@10"}}`)."""
    return MetricSpec.model_validate(spec)


def threshold_text(th: Threshold) -> str:
    """`>= 0.8`, `<= 1`, or `>= 0.2 and <= 0.9`."""
    parts = ([f">= {th.min:g}"] if th.min is not None else []) + ([f"<= {th.max:g}"] if th.max is not None else [])
    return " and ".join(parts)


class Preset(BaseModel):
    """What a suite's `task:` selects: metrics, default thresholds and how each metric is aggregated.

    Metrics are named, not imported: a metric that is not installed is reported when the suite runs,
    so every preset loads (and `agenteval list presets` works) whatever plugins are installed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TaskKind
    """The `task:` value."""
    aliases: tuple[str, ...] = ()
    """Other names accepted for it (`recommendation` for `ranking`)."""
    description: str
    """One line: what the task is."""
    needs: str
    """What the suite and its samples must carry for the metrics to be measured."""
    metrics: tuple[MetricSpec, ...]
    """The metrics, with their arguments and summary ids."""
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    """Default bounds on metric means, by metric id (`{max: ...}` for errors, where lower is better)."""
    aggregation: dict[str, str]
    """Metric id -> how the run aggregates it (mean of per-sample scores, macro/micro, corpus-level)."""

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        ids = [m.id for m in self.metrics]
        if len(set(ids)) != len(ids):
            raise ValueError(f"preset {self.name}: a metric id is used twice ({', '.join(ids)})")
        for what, keys in (("threshold", self.thresholds), ("aggregation", self.aggregation)):
            unknown = sorted(set(keys) - set(ids))
            if unknown:
                raise ValueError(f"preset {self.name}: {what} for unknown metric id {unknown[0]!r}")
        undocumented = [i for i in ids if i not in self.aggregation]
        if undocumented:
            raise ValueError(f"preset {self.name}: no aggregation text for {undocumented[0]!r}")
        return self

    def metric_specs(self) -> list[MetricSpec]:
        """Fresh copies of the metrics (safe to edit: add, remove, re-argument)."""
        return [m.model_copy(deep=True) for m in self.metrics]

    def default_thresholds(self) -> dict[str, Threshold]:
        """Fresh copies of the default thresholds."""
        return {k: v.model_copy() for k, v in self.thresholds.items()}
