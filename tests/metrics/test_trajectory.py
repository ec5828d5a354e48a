"""Trajectory metrics as a suite uses them: values, pass rules, reasons and unmeasured cases."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import JsonValue

from agenteval.metrics import ScoreContext
from agenteval.metrics.trajectory import (
    ToolArgsMatch,
    ToolCallValid,
    ToolNameMatch,
    TrajectoryAnyOrderMatch,
    TrajectoryExactMatch,
    TrajectoryInOrderMatch,
    TrajectoryPrecision,
    TrajectoryRecall,
    TrajectorySingleToolUse,
)
from agenteval.schema import ResolvedSample, Suite, ToolCall, ToolSpec, Trace

_WEATHER = ToolSpec(name="weather", parameters={
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
})


def ctx(expected: list[dict[str, Any]] | None, calls: list[ToolCall],
        tools: list[ToolSpec] | None = None) -> ScoreContext:
    sample = ResolvedSample.model_validate(
        {"id": "s1", "hash": "h", "origin": "f:1", "input": "q", "expected_trajectory": expected})
    suite = Suite(path="s.yaml", name="s", version="1", metrics=[], samples=[sample], content_hash="x",
                  tools=tools or [])
    return ScoreContext(sample=sample, trace=Trace(output="", tool_calls=calls), suite=suite)


def call(tool: str, error: str | None = None, **args: JsonValue) -> ToolCall:
    return ToolCall(tool=tool, args=args, error=error)


_MATCHERS = [TrajectoryExactMatch(), TrajectoryInOrderMatch(), TrajectoryAnyOrderMatch(),
             TrajectoryPrecision(), TrajectoryRecall()]


@pytest.mark.parametrize("metric", [*_MATCHERS, ToolNameMatch(), ToolArgsMatch()],
                         ids=lambda m: m.name)
def test_no_expected_trajectory_is_unmeasured(metric: Any) -> None:
    score = metric.score(ctx(None, [call("a")]))
    assert score.value is None and score.error == "sample has no expected_trajectory"


@pytest.mark.parametrize(("expected", "calls", "values"), [
    ([], [], [1.0, 1.0, 1.0, 1.0, 1.0]),
    ([{"tool": "a"}], [], [0.0, 0.0, 0.0, 0.0, 0.0]),
    ([], [call("a")], [0.0, 1.0, 1.0, 0.0, 1.0]),
], ids=["both-empty", "no-calls", "no-reference"])
def test_empty_cases(expected: list[dict[str, Any]], calls: list[ToolCall], values: list[float]) -> None:
    assert [m.score(ctx(expected, calls)).value for m in _MATCHERS] == values


def test_a_worked_example_across_the_matchers() -> None:
    expected = [{"tool": "search", "args": {"q": "flights to Paris"}},
                {"tool": "book", "args": {"flight": "AF1"}},
                {"tool": "email", "optional": True}]
    calls = [call("book", flight="af1"), call("search", q="Flights to paris"), call("search", q="hotels")]
    scores = [m.score(ctx(expected, calls)) for m in _MATCHERS]
    # Out of order -> exact and in-order fail; both required steps matched -> any-order passes;
    # 2 of 3 calls matched -> precision 2/3; 2 of 2 required steps (email unmatched) -> recall 1.0.
    assert [s.value for s in scores] == [0.0, 0.0, 1.0, pytest.approx(2 / 3), 1.0]
    assert scores[0].passed is False and scores[2].passed is True
    assert scores[3].passed is None  # graded metrics pass only against a threshold
    assert "out of order" in scores[1].reason


def test_threshold_gives_graded_metrics_a_pass_rule() -> None:
    score = TrajectoryPrecision(threshold=0.5).score(ctx([{"tool": "a"}], [call("a"), call("a")]))
    assert (score.value, score.passed) == (0.5, True)
    score = TrajectoryRecall(threshold=0.75).score(ctx([{"tool": "a"}, {"tool": "b"}], [call("a")]))
    assert (score.value, score.passed) == (0.5, False)


def test_single_tool_use_looks_only_at_the_calls() -> None:
    metric = TrajectorySingleToolUse(tool_name="search")
    assert metric.score(ctx(None, [call("x"), call("search")])).value == 1.0
    missing = metric.score(ctx(None, [call("x")]))
    assert missing.value == 0.0 and "not called (called: x)" in missing.reason
    broken = metric.score(ctx(None, [call("search", error="invalid JSON")]))
    assert broken.value == 0.0 and "unparsable" in broken.reason


def test_tool_name_match_is_a_multiset_share() -> None:
    metric = ToolNameMatch()
    assert metric.score(ctx([{"tool": "a"}, {"tool": "a"}], [call("a", q=1)])).value == 0.5
    assert metric.score(ctx([{"tool": "a"}], [call("a", q=1), call("a")])).value == 1.0
    assert metric.score(ctx([{"tool": "a"}, {"tool": "b"}], [call("b"), call("c")])).value == 0.5
    assert metric.score(ctx([], [call("a")])).value == 1.0


def test_tool_args_match_averages_argument_f1_over_paired_calls() -> None:
    expected = [{"tool": "w", "args": {"city": "Paris", "days": 3}}, {"tool": "s", "args": {"q": "x"}}]
    calls = [call("s", q="x"), call("w", city="Paris", days=5, units="C")]
    # s: F1 1.0. w: correct {city}; P = 1/3 (city, days, units), R = 1/2 -> F1 = 0.4. Mean 0.7.
    score = ToolArgsMatch().score(ctx(expected, calls))
    assert score.value == pytest.approx(0.7)
    assert "lowest: call 2 `w` 0.40" in score.reason


def test_tool_args_match_empty_and_unmatched() -> None:
    assert ToolArgsMatch().score(ctx([], [])).value == 1.0
    unmatched = ToolArgsMatch().score(ctx([{"tool": "a"}], [call("b")]))
    assert unmatched.value is None and "no call shares a tool name" in (unmatched.error or "")
    assert ToolArgsMatch().score(ctx([{"tool": "a"}], [])).value is None


def test_tool_call_valid_checks_name_and_json_schema() -> None:
    calls = [call("weather", city="Paris", days=2), call("weather", days=0), call("wether", city="x"),
             call("weather", error="invalid JSON")]
    score = ToolCallValid().score(ctx(None, calls, [_WEATHER]))
    assert score.value == 0.25
    assert "first invalid: call 2 `weather`: 'city' is a required property" in score.reason
    unknown = ToolCallValid().score(ctx(None, [call("wether", city="x")], [_WEATHER]))
    assert "unknown tool (did you mean 'weather'?)" in unknown.reason
    nested = ToolCallValid().score(ctx(None, [call("weather", city="x", days="two")], [_WEATHER]))
    assert nested.value == 0.0 and "days: 'two' is not of type 'integer'" in nested.reason


def test_tool_call_valid_edge_cases() -> None:
    assert ToolCallValid().score(ctx(None, [], [_WEATHER])).reason == "no tool calls"
    assert ToolCallValid().score(ctx(None, [], [_WEATHER])).value == 1.0
    no_tools = ToolCallValid().score(ctx(None, [call("weather", city="x")]))
    assert no_tools.value is None and "declares no `tools`" in (no_tools.error or "")
    bad_schema = ToolSpec(name="t", parameters={"type": "not-a-type"})
    broken = ToolCallValid().score(ctx(None, [call("t")], [bad_schema]))
    assert broken.value is None and "invalid parameters schema" in (broken.error or "")


def test_metric_configuration_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TrajectorySingleToolUse()  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TrajectoryPrecision(threshold=1.5)
