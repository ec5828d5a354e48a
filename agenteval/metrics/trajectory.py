"""Trajectory metrics: compare the tool calls an agent made with the sample's `expected_trajectory`.

The matching rules (argument matchers, optional and repeat steps, the optimal any-order assignment,
precision/recall counting, empty cases) live in `agenteval.metrics.trajectory_match`; the user guide
is docs/trajectory.md. A sample without `expected_trajectory` is unmeasured by every metric here
except `trajectory_single_tool_use` and `tool_call_valid`, which look only at the predicted calls.
A call whose arguments could not be parsed (`error` set) never matches anything.
"""

from __future__ import annotations

import difflib
from typing import ClassVar

from pydantic import Field

from ..schema import ExpectedToolCall, Score, ToolCall
from .base import MetricBase, ScoreContext, check, unmeasured
from .trajectory_match import any_order_match, exact_match, in_order_match, name_assignment

__all__ = [
    "ToolArgsMatch", "ToolCallValid", "ToolNameMatch", "TrajectoryAnyOrderMatch", "TrajectoryExactMatch",
    "TrajectoryInOrderMatch", "TrajectoryPrecision", "TrajectoryRecall", "TrajectorySingleToolUse",
]

_NO_REFERENCE = "sample has no expected_trajectory"


def _reference(ctx: ScoreContext) -> list[ExpectedToolCall] | None:
    return ctx.sample.expected_trajectory


def _graded(value: float, threshold: float | None, reason: str) -> Score:
    """A score in [0, 1], passed only when a threshold is set."""
    if threshold is None:
        return Score(value=value, passed=None, reason=reason)
    passed = value >= threshold
    return Score(value=value, passed=passed, reason=f"{reason} ({value:.3f} {'>=' if passed else '<'} "
                                                    f"{threshold:g})")


class _ReferenceMetric(MetricBase):
    """A metric comparing the calls with the sample's `expected_trajectory` (unmeasured without one)."""

    warmup_imports: ClassVar[tuple[str, ...]] = ("numpy", "scipy.optimize", "rapidfuzz")

    def score(self, ctx: ScoreContext) -> Score:
        steps = _reference(ctx)
        if steps is None:
            return unmeasured(_NO_REFERENCE)
        return self.score_steps(steps, ctx)

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:  # pragma: no cover
        raise NotImplementedError


class TrajectoryExactMatch(_ReferenceMetric):
    """The calls are exactly the expected steps, in order: nothing missing, nothing extra.

    Optional steps may be skipped and a repeat step consumes one or more consecutive matching calls.
    Value 1.0 and passed, or 0.0. Both empty passes; calls against an empty reference fail.
    """

    name: ClassVar[str] = "trajectory_exact_match"
    version: ClassVar[str] = "1"

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = exact_match(steps, ctx.trace.tool_calls)
        return check(result.ok, result.reason)


class TrajectoryInOrderMatch(_ReferenceMetric):
    """Every required expected step appears among the calls in order; other calls may come between.

    Value 1.0 and passed, or 0.0. An empty reference passes whatever was called.
    """

    name: ClassVar[str] = "trajectory_in_order_match"
    version: ClassVar[str] = "1"

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = in_order_match(steps, ctx.trace.tool_calls)
        return check(result.ok, result.reason)


class TrajectoryAnyOrderMatch(_ReferenceMetric):
    """Every required expected step is matched by a distinct call, in any order; extra calls allowed.

    Uses an optimal assignment, so the verdict never depends on the order of the calls. Value 1.0
    and passed, or 0.0. An empty reference passes whatever was called.
    """

    name: ClassVar[str] = "trajectory_any_order_match"
    version: ClassVar[str] = "1"

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = any_order_match(steps, ctx.trace.tool_calls)
        return check(result.ok, result.reason)


class TrajectoryPrecision(_ReferenceMetric):
    """Share of the calls that match an expected step, under the optimal any-order assignment.

    Each call a repeat step takes counts as matched; a duplicate a non-repeat step cannot take does
    not ([a, a] against [a] is 0.5). No calls: 1.0 when the reference has no required step, else 0.0;
    calls against an empty reference: 0.0. With `threshold`, passed when value >= threshold.
    """

    name: ClassVar[str] = "trajectory_precision"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = any_order_match(steps, ctx.trace.tool_calls)
        return _graded(result.precision, self.threshold, result.reason)


class TrajectoryRecall(_ReferenceMetric):
    """Share of the expected steps matched by a call, under the optimal any-order assignment.

    A repeat step counts once; an optional step counts only when it is matched. A reference with
    no required step and nothing matched scores 1.0. With `threshold`, passed when value >= threshold.
    """

    name: ClassVar[str] = "trajectory_recall"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = any_order_match(steps, ctx.trace.tool_calls)
        return _graded(result.recall, self.threshold, result.reason)


class TrajectorySingleToolUse(MetricBase):
    """The agent called the tool `tool_name` at least once (with parsable arguments).

    Looks only at the predicted calls; needs no expected trajectory. Value 1.0 and passed, or 0.0.
    """

    name: ClassVar[str] = "trajectory_single_tool_use"
    version: ClassVar[str] = "1"

    tool_name: str
    """The tool that must be called."""

    def score(self, ctx: ScoreContext) -> Score:
        calls = [c for c in ctx.trace.tool_calls if c.tool == self.tool_name]
        good = [c for c in calls if c.error is None]
        if good:
            return check(True, f"{self.tool_name!r} called {len(good)} time{'s' * (len(good) != 1)}")
        if calls:
            return check(False, f"every call to {self.tool_name!r} had unparsable arguments "
                                f"({calls[0].error})")
        made = sorted({c.tool for c in ctx.trace.tool_calls})
        return check(False, f"{self.tool_name!r} not called"
                            + (f" (called: {', '.join(made[:5])})" if made else " (no tool calls)"))


class ToolNameMatch(_ReferenceMetric):
    """Share of expected steps whose tool is called, each by a distinct call (names only).

    An optimal assignment on tool names: [a, a] expected against [a] called is 0.5. Optional steps
    count only when matched, repeat steps once (as `trajectory_recall`); calls with unparsable
    arguments do not count. An empty reference scores 1.0. With `threshold`, passed when >= threshold.
    """

    name: ClassVar[str] = "tool_name_match"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        result = name_assignment(steps, ctx.trace.tool_calls)
        return _graded(result.recall, self.threshold, result.reason)


class ToolArgsMatch(_ReferenceMetric):
    """Mean argument F1 over the calls paired with expected steps by tool name.

    Steps and calls are paired as in `tool_name_match` (ties broken by the higher argument F1);
    for each pair, precision = correct arguments / predicted arguments and recall = correct / expected
    arguments (an argument the step lets be absent counts only when given), where an argument is
    correct when its value matches the step's matcher. Extra arguments lower precision even with
    `ignore_extra_args`. Both trajectories empty: 1.0. Unmeasured when no call shares a tool with an
    expected step (tool_name_match already scores that). With `threshold`, passed when >= threshold.
    """

    name: ClassVar[str] = "tool_args_match"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def score_steps(self, steps: list[ExpectedToolCall], ctx: ScoreContext) -> Score:
        calls = ctx.trace.tool_calls
        result = name_assignment(steps, calls)
        if not result.pairs:
            if not calls and not any(result.required):
                return _graded(1.0, self.threshold, "no calls expected and none made")
            return unmeasured("no call shares a tool name with an expected step, so no arguments to compare")
        value = sum(p.arg_f1 for p in result.pairs) / len(result.pairs)
        worst = min(result.pairs, key=lambda p: p.arg_f1)
        reason = f"mean argument F1 over {len(result.pairs)} paired calls"
        if worst.arg_f1 < 1.0:
            reason += f"; lowest: call {worst.call + 1} `{calls[worst.call].tool}` {worst.arg_f1:.2f}"
        return _graded(value, self.threshold, reason)


class ToolCallValid(MetricBase):
    """Share of calls that name a tool the suite declares, with arguments valid for its JSON Schema.

    A call is valid when its arguments parsed, its tool is in the suite's `tools`, and its arguments
    validate against that tool's `parameters` (jsonschema, the schema's own draft). No calls: 1.0.
    Unmeasured when there are calls but the suite declares no tools, or a tool's schema is invalid.
    With `threshold`, passed when value >= threshold. The reason names the first invalid call.
    """

    warmup_imports: ClassVar[tuple[str, ...]] = ('jsonschema',)

    name: ClassVar[str] = "tool_call_valid"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def score(self, ctx: ScoreContext) -> Score:
        import jsonschema
        from jsonschema.exceptions import SchemaError, best_match

        calls = ctx.trace.tool_calls
        if not calls:
            return _graded(1.0, self.threshold, "no tool calls")
        tools = {t.name: t for t in ctx.suite.tools}
        if not tools:
            return unmeasured("the suite declares no `tools` to validate the calls against")
        problems: list[str] = []
        for j, call in enumerate(calls):
            problem = _call_problem(call, set(tools))
            if problem is None:
                schema = tools[call.tool].parameters
                validator_cls = jsonschema.validators.validator_for(schema)
                try:
                    validator_cls.check_schema(schema)
                except SchemaError as exc:
                    return unmeasured(f"tool {call.tool!r} has an invalid parameters schema: {exc.message}")
                error = best_match(validator_cls(schema).iter_errors(call.args))
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path)
                    problem = f"{where + ': ' if where else ''}{error.message}"
            if problem is not None:
                problems.append(f"call {j + 1} `{call.tool}`: {problem}")
        valid = len(calls) - len(problems)
        reason = f"{valid} of {len(calls)} calls valid"
        if problems:
            reason += f"; first invalid: {problems[0]}"
        return _graded(valid / len(calls), self.threshold, reason)


def _call_problem(call: ToolCall, tools: set[str]) -> str | None:
    """Why `call` is invalid before schema validation (unparsable, unknown tool), or None."""
    if call.error is not None:
        return f"arguments could not be parsed ({call.error})"
    if call.tool not in tools:
        near = difflib.get_close_matches(call.tool, sorted(tools), n=1, cutoff=0.6)
        return "unknown tool" + (f" (did you mean {near[0]!r}?)" if near else "")
    return None
