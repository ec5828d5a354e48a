"""Helpers for metric tests: build the ScoreContext a metric sees."""

from __future__ import annotations

from typing import Protocol

import pytest
from pydantic import JsonValue

from agenteval import registry
from agenteval.metrics import ScoreContext, classification, extraction, forecasting, length, rag, ranking
from agenteval.schema import ResolvedSample, Suite, Trace, Usage


class MakeCtx(Protocol):
    def __call__(
        self,
        output: str = "",
        expected: JsonValue = None,
        *,
        latency_s: float | None = None,
        cost_usd: float | None = None,
        output_schema: dict[str, JsonValue] | None = None,
    ) -> ScoreContext: ...


def _make_ctx(
    output: str = "",
    expected: JsonValue = None,
    *,
    latency_s: float | None = None,
    cost_usd: float | None = None,
    output_schema: dict[str, JsonValue] | None = None,
) -> ScoreContext:
    sample = ResolvedSample(id="s1", hash="h", origin="f:1", input="q", expected=expected)
    trace = Trace(output=output, latency_s=latency_s, usage=Usage(cost_usd=cost_usd))
    suite = Suite(
        path="s.yaml", name="s", version="1", metrics=[], samples=[sample], content_hash="x",
        output_schema=output_schema,
    )
    return ScoreContext(sample=sample, trace=trace, suite=suite)


@pytest.fixture
def make_ctx() -> MakeCtx:
    """`make_ctx(output, expected, latency_s=, cost_usd=, output_schema=)` -> ScoreContext."""
    return _make_ctx


def register_task_metrics() -> None:
    """Register the task-preset metrics by name (until pyproject lists them as entry points)."""
    for cls in (classification.LabelMatch, ranking.NdcgAtK, ranking.Mrr, ranking.RecallAtK, ranking.MapAtK,
                ranking.HitRateAtK, extraction.FieldF1, extraction.RecordExactMatch, forecasting.Mae,
                forecasting.Rmse, forecasting.Smape, forecasting.Mase, rag.ContextPrecision, rag.ContextRecall,
                length.LengthBudget):
        if cls.name not in registry.metrics:
            registry.metrics.register(cls.name, cls)


register_task_metrics()


def task_ctx(output: str = "", expected: JsonValue = None, *, metadata: dict[str, JsonValue] | None = None,
             events: list[JsonValue] | None = None, labels: list[str] | None = None) -> ScoreContext:
    """A ScoreContext with sample metadata, trace events and suite labels (for the task-preset metrics)."""
    sample = ResolvedSample(id="s1", hash="h", origin="f:1", input="q", expected=expected,
                            metadata=metadata or {})
    trace = Trace(output=output, events=events or [])
    suite = Suite(path="s.yaml", name="s", version="1", metrics=[], samples=[sample], content_hash="x",
                  labels=labels)
    return ScoreContext(sample=sample, trace=trace, suite=suite)
