"""Budget metrics: did one answer stay within a latency or cost limit."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..schema import Score
from .base import MetricBase, ScoreContext, check, unmeasured

__all__ = ["CostBudget", "LatencyBudget"]


class LatencyBudget(MetricBase):
    """The answer took at most `max_s` seconds.

    Uses the model latency the backend measured for this answer (`trace.latency_s`). Value 1.0 and
    passed when latency <= max_s, else 0.0; the reason states the measured seconds. Unmeasured when
    the backend did not report a latency.
    """

    name: ClassVar[str] = "latency_budget"
    version: ClassVar[str] = "1"

    max_s: float = Field(gt=0)
    """The latency budget in seconds (> 0)."""

    def score(self, ctx: ScoreContext) -> Score:
        latency = ctx.trace.latency_s
        if latency is None:
            return unmeasured("latency unknown (the backend did not report it)")
        ok = latency <= self.max_s
        return check(ok, f"{latency:.3f} s {'<=' if ok else '>'} {self.max_s:g} s budget")


class CostBudget(MetricBase):
    """The answer cost at most `max_usd` US dollars.

    Uses the cost of this answer's call(s) (`trace.usage.cost_usd`, from litellm's local cost map).
    Value 1.0 and passed when cost <= max_usd, else 0.0; the reason states the cost. Unmeasured when
    the cost is unknown.
    """

    name: ClassVar[str] = "cost_budget"
    version: ClassVar[str] = "1"

    max_usd: float = Field(ge=0)
    """The cost budget in US dollars (>= 0)."""

    def score(self, ctx: ScoreContext) -> Score:
        cost = ctx.trace.usage.cost_usd
        if cost is None:
            return unmeasured("cost unknown (model not in the cost map)")
        ok = cost <= self.max_usd
        return check(ok, f"${cost:.6g} {'<=' if ok else '>'} ${self.max_usd:g} budget")
