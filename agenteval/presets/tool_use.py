"""The `tool_use` preset (alias `agent`): the agent's tool calls and the state it leaves."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="tool_use",
    aliases=("agent", "function_calling"),
    description="Agents and function calling: which tools were called, with which arguments, and the end state.",
    needs="the suite's `tools`; each sample's `expected_trajectory`; `expected_state` (with an `environment`) "
          "for end_state_match, which is unmeasured without it.",
    metrics=(
        metric("trajectory_in_order_match"),
        metric("trajectory_precision"),
        metric("trajectory_recall"),
        metric("tool_args_match"),
        metric("tool_call_valid"),
        metric("end_state_match"),
    ),
    thresholds={"trajectory_in_order_match": Threshold(min=0.9), "tool_call_valid": Threshold(min=0.95)},
    aggregation={
        "trajectory_in_order_match": "mean of per-sample 0/1: share of tasks whose expected calls happen in order",
        "trajectory_precision": "mean of per-sample precision (macro over tasks, not pooled calls)",
        "trajectory_recall": "mean of per-sample recall (macro over tasks, not pooled steps)",
        "tool_args_match": "mean of per-sample mean argument F1",
        "tool_call_valid": "mean of per-sample share of valid calls",
        "end_state_match": "mean of per-sample 0/1 over samples with an expected_state",
    },
)
