"""The Metric protocol and what a metric sees.

A metric is a small pydantic model whose fields are its configuration (so it serialises as a spec and
the suite's arguments are validated with clear errors) and whose `score(ctx)` returns a `Score`.
Return `value` (a number, 1.0/0.0 for checks) and `passed`; return `unmeasured(...)` when the metric
cannot judge (no expected answer, unparsable output). An exception raised by `score` is caught by the
runner and recorded as an unmeasured score with its reason: it never crashes a run and never counts 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, JsonValue

from ..schema import ResolvedSample, Score, Suite, Trace

__all__ = ["AsyncMetric", "Metric", "MetricBase", "MetricEnv", "ScoreContext", "unmeasured", "check", "expected_texts"]


@dataclass(frozen=True)
class ScoreContext:
    """Everything a metric may look at for one answer."""

    sample: ResolvedSample
    trace: Trace
    suite: Suite
    repeat: int = 0

    @property
    def output(self) -> str:
        return self.trace.output

    @property
    def acceptable(self) -> list[JsonValue]:
        """Acceptable answers (`expected`, or each item when it is a list)."""
        return self.sample.acceptable


@dataclass(frozen=True)
class MetricEnv:
    """What the runner lends to metrics that call out (judges) or hold resources (embedding models).

    `retry(call)` runs an async call under the run's retry policy and returns (result, attempts).
    """

    results_root: Path
    use_cache: bool
    retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[tuple[Any, int]]]
    judge_model: str | None = None
    """`--judge-model`: overrides every judge's model for this run."""
    judge_options: dict[str, JsonValue] = field(default_factory=dict)


@runtime_checkable
class AsyncMetric(Protocol):
    """A metric that awaits something (a judge model, a batched encoder).

    The runner calls `await start(env)` once before the run, `await ascore(ctx)` per answer (inside
    the run's concurrency limit) and `await stop()` after the run. Like `score`, a raising `ascore`
    makes the score unmeasured, never a crash.
    """

    name: ClassVar[str]

    async def start(self, env: MetricEnv) -> None: ...

    async def ascore(self, ctx: ScoreContext) -> Score: ...

    async def stop(self) -> None: ...


@runtime_checkable
class Metric(Protocol):
    """What the runner needs from a metric."""

    name: ClassVar[str]
    version: ClassVar[str]

    def score(self, ctx: ScoreContext) -> Score: ...


class MetricBase(BaseModel):
    """Convenience base: config fields are pydantic fields; unknown arguments are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    warmup_imports: ClassVar[tuple[str, ...]] = ()
    """Modules the metric imports lazily; `warmup()` imports them before a run starts, so the first
    score does not stall the event loop (and inflate the latency of answers in flight)."""

    def warmup(self) -> None:
        import importlib

        for module in self.warmup_imports:
            importlib.import_module(module)

    def score(self, ctx: ScoreContext) -> Score:  # pragma: no cover - abstract
        raise NotImplementedError


def unmeasured(reason: str) -> Score:
    """A score that could not be computed, with its reason (never a 0, never NaN)."""
    return Score(value=None, passed=None, reason=reason, error=reason)


def check(ok: bool, reason: str = "") -> Score:
    """A pass/fail score: 1.0 and passed, or 0.0 and failed."""
    return Score(value=1.0 if ok else 0.0, passed=ok, reason=reason)


def expected_texts(ctx: ScoreContext) -> list[str]:
    """Acceptable answers as strings (non-strings are JSON-encoded)."""
    import json

    out: list[str] = []
    for a in ctx.acceptable:
        out.append(a if isinstance(a, str) else json.dumps(a, ensure_ascii=False))
    return out
