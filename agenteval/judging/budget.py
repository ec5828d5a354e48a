"""The judge budget: what a run's judges have spent, shared by every judge metric of the run.

The runner lends one `MetricEnv` to all metrics of a run, so the ledger is keyed by that env: judge
metrics of the same run charge the same ledger, and each stops when the run's judge spend reaches its
own `max_cost_usd`. The check happens before each judge call, so calls already in flight when the
limit is crossed still finish (and are counted). Calls whose price litellm does not know cost 0 here.
"""

from __future__ import annotations

import weakref

from ..metrics.base import MetricEnv
from ..schema import Usage

__all__ = ["BudgetExhausted", "JudgeBudget", "run_budget"]


class BudgetExhausted(Exception):
    """Raised before a judge call when the run's judge spend has reached the metric's limit."""


class JudgeBudget:
    def __init__(self) -> None:
        self.spent_usd = 0.0
        self.calls = 0
        self.unpriced_calls = 0

    def ensure(self, limit_usd: float | None) -> None:
        if limit_usd is not None and self.spent_usd >= limit_usd:
            raise BudgetExhausted(f"judge budget exhausted (spent ${self.spent_usd:.6f} of ${limit_usd:g})")

    def charge(self, usage: Usage) -> None:
        self.calls += 1
        if usage.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.spent_usd += usage.cost_usd


_LEDGERS: dict[int, JudgeBudget] = {}


def run_budget(env: MetricEnv) -> JudgeBudget:
    """The ledger of the run that lent `env` (created on first use, dropped with the env)."""
    key = id(env)
    ledger = _LEDGERS.get(key)
    if ledger is None:
        ledger = _LEDGERS[key] = JudgeBudget()
        weakref.finalize(env, _LEDGERS.pop, key, None)
    return ledger
