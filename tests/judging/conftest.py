"""Helpers for judge tests: a judge metric wired to the FakeOpenAIServer over real HTTP (litellm), and
the ScoreContext it scores."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from agenteval.judging import JudgeMetric
from agenteval.metrics.base import MetricEnv, ScoreContext
from agenteval.runner.retry import RetryPolicy, with_retries
from agenteval.schema import Message, ResolvedSample, Score, Suite, ToolCall, ToolSpec, Trace
from agenteval.testing import FakeOpenAIServer

JUDGE = "litellm:openai/gpt-4o-mini"
IN_PRICE, OUT_PRICE = 0.15e-6, 0.6e-6  # gpt-4o-mini in litellm's local cost map, per token


def verdict(score: int | str, reasoning: str = "Looks right.", key: str = "score") -> str:
    import json

    return json.dumps({"reasoning": reasoning, key: score})


def words(body: dict[str, Any]) -> int:
    """Prompt tokens as the fake server counts them: words of every message."""
    return sum(len(str(m.get("content") or "").split()) for m in body["messages"])


def make_ctx(output: str, expected: JsonValue = None, *, question: str = "What is the capital of France?",
             sample_id: str = "s1", metadata: dict[str, JsonValue] | None = None,
             tool_calls: list[ToolCall] | None = None, tools: list[ToolSpec] | None = None,
             repeat: int = 0) -> ScoreContext:
    sample = ResolvedSample(id=sample_id, hash="h", origin="f:1", input=question, expected=expected,
                            metadata=metadata or {})
    trace = Trace(output=output, tool_calls=tool_calls or [],
                  messages=[Message(role="user", content=question), Message(role="assistant", content=output)])
    suite = Suite(path="s.yaml", name="s", version="1", metrics=[], samples=[sample], content_hash="x",
                  tools=tools or [])
    return ScoreContext(sample=sample, trace=trace, suite=suite, repeat=repeat)


@dataclass
class JudgeKit:
    srv: FakeOpenAIServer
    root: Path

    def env(self, *, use_cache: bool = True, judge_model: str | None = None,
            judge_options: dict[str, JsonValue] | None = None) -> MetricEnv:
        policy = RetryPolicy(max_attempts=2, base_delay_s=0.0)
        return MetricEnv(results_root=self.root, use_cache=use_cache,
                         retry=lambda call: with_retries(call, policy, random.Random(0)),
                         judge_model=judge_model, judge_options=dict(judge_options or {}))

    def metric(self, rubric: str = "correctness", **kw: Any) -> JudgeMetric:
        options = {"api_base": self.srv.base_url, "api_key": "x", **kw.pop("options", {})}
        if "models" not in kw:
            kw.setdefault("model", JUDGE)
        return JudgeMetric(rubric=rubric, options=options, **kw)

    def score_all(self, metric: JudgeMetric, ctxs: list[ScoreContext], env: MetricEnv | None = None) -> list[Score]:
        async def go() -> list[Score]:
            await metric.start(env or self.env())
            try:
                return [await metric.ascore(c) for c in ctxs]
            finally:
                await metric.stop()

        return asyncio.run(go())

    def score(self, metric: JudgeMetric, ctx: ScoreContext, env: MetricEnv | None = None) -> Score:
        return self.score_all(metric, [ctx], env)[0]


@pytest.fixture
def kit(fake_openai: FakeOpenAIServer, tmp_path: Path) -> Iterator[JudgeKit]:
    yield JudgeKit(fake_openai, tmp_path / "results")
