"""Budget metrics: latency_budget and cost_budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agenteval.metrics.budget import CostBudget, LatencyBudget

from .conftest import MakeCtx


def test_latency_within_and_over_budget(make_ctx: MakeCtx) -> None:
    ok = LatencyBudget(max_s=1.0).score(make_ctx("a", latency_s=0.25))
    assert (ok.value, ok.passed) == (1.0, True) and "0.250 s" in ok.reason
    over = LatencyBudget(max_s=1.0).score(make_ctx("a", latency_s=1.5))
    assert (over.value, over.passed) == (0.0, False) and "1.500 s" in over.reason


def test_latency_budget_is_inclusive(make_ctx: MakeCtx) -> None:
    assert LatencyBudget(max_s=2).score(make_ctx(latency_s=2.0)).passed is True


def test_latency_unknown_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = LatencyBudget(max_s=1).score(make_ctx("a"))
    assert s.value is None and s.error is not None and "latency unknown" in s.error


def test_latency_needs_positive_max() -> None:
    with pytest.raises(ValidationError):
        LatencyBudget(max_s=0)
    with pytest.raises(ValidationError):
        LatencyBudget.model_validate({})


def test_cost_within_and_over_budget(make_ctx: MakeCtx) -> None:
    ok = CostBudget(max_usd=0.01).score(make_ctx("a", cost_usd=0.002))
    assert (ok.value, ok.passed) == (1.0, True) and "$0.002" in ok.reason
    over = CostBudget(max_usd=0.01).score(make_ctx("a", cost_usd=0.02))
    assert (over.value, over.passed) == (0.0, False)
    assert CostBudget(max_usd=0).score(make_ctx("a", cost_usd=0.0)).passed is True


def test_cost_unknown_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = CostBudget(max_usd=1).score(make_ctx("a"))
    assert (s.value, s.passed) == (None, None)
    assert s.error == "cost unknown (model not in the cost map)"


def test_cost_invalid_config() -> None:
    with pytest.raises(ValidationError):
        CostBudget(max_usd=-1)
    with pytest.raises(ValidationError):
        CostBudget.model_validate({"max_usd": 1, "currency": "EUR"})
