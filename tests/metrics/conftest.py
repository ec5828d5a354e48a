"""Helpers for metric tests: build the ScoreContext a metric sees."""

from __future__ import annotations

from typing import Protocol

import pytest
from pydantic import JsonValue

from agenteval.metrics import ScoreContext
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
