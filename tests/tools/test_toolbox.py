"""Stateful Python tools: the example support agent, model tool loops, and the end state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agenteval.errors import ConfigError
from agenteval.metrics.base import ScoreContext
from agenteval.metrics.end_state import EndStateMatch, state_differences
from agenteval.runner import RunOptions, RunOutcome, run_suite
from agenteval.schema import ResolvedSample, Suite, Trace
from agenteval.suite import load_suite
from agenteval.testing import FakeOpenAIServer
from agenteval.tools import ToolboxFactory, ToolError

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "suites" / "support_agent.yaml"


def run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, **kw)))  # type: ignore[arg-type]


def rows(out: RunOutcome) -> dict[str, dict[str, object]]:
    return {r["sample_id"]: r for r in map(json.loads, out.run_dir.samples_path.read_text().splitlines())}


def test_support_agent_runs_real_tools_against_fresh_state(tmp_path: Path) -> None:
    out = run(load_suite(SUPPORT), tmp_path)
    assert out.summary.n_errors == 0
    assert out.summary.metrics["end_state_match"].mean == 1.0
    r = rows(out)
    cancel = r["cancel-1002"]["trace"]
    assert isinstance(cancel, dict)
    assert [(c["tool"], c["result"]) for c in cancel["tool_calls"]][1] == (
        "cancel_order", {"ok": True, "status": "cancelled"})
    assert cancel["state"]["orders"]["1002"]["status"] == "cancelled"
    # every sample starts from its own database: the cancellation above did not leak elsewhere
    other = r["where-is-1001"]["trace"]
    assert isinstance(other, dict) and other["state"]["orders"]["1002"]["status"] == "processing"
    refund = r["refund-over-two-turns"]["trace"]
    assert isinstance(refund, dict)
    assert [c["turn"] for c in refund["tool_calls"]] == [0, 1, 1]
    assert refund["state"]["refunds"] == [{"order_id": "1004", "amount": 120.0}]


def test_model_tool_calls_are_executed_and_fed_back(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    """A plain model (litellm over HTTP) asks for a tool; the runner runs it against the environment."""
    fake_openai.tool_rules = {"cancel order 1002": ("cancel_order", {"order_id": "1002", "reason": "asked"})}
    suite = load_suite(SUPPORT)
    one = suite.model_copy(update={"samples": [s for s in suite.samples if s.id == "cancel-1002"]})
    out = run(one, tmp_path, backend_spec="litellm:openai/gpt-4o-mini",
              backend_options={"api_base": fake_openai.base_url, "api_key": "x"})
    trace = rows(out)["cancel-1002"]["trace"]
    assert isinstance(trace, dict)
    assert [c["tool"] for c in trace["tool_calls"]] == ["cancel_order"]
    assert trace["tool_calls"][0]["result"] == {"ok": True, "status": "cancelled"}
    assert trace["state"]["orders"]["1002"]["status"] == "cancelled"
    assert trace["output"].startswith("tool said: ")
    # the second request carried the assistant's tool call and the tool's answer, OpenAI-style
    second = fake_openai.requests[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "cancel_order"
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == second[-2]["tool_calls"][0]["id"]
    assert trace["usage"]["input_tokens"] > 0  # both calls' usage summed


def test_scripted_stub_plays_tool_calls_through_the_environment(tmp_path: Path) -> None:
    (tmp_path / "env.py").write_text(
        "class Counter:\n"
        "    def __init__(self, initial_state, step=1):\n"
        "        self.state = {'n': initial_state.get('n', 0)}\n        self.step = step\n"
        "    def bump(self, times):\n"
        "        self.state['n'] += self.step * times\n        return self.state['n']\n")
    (tmp_path / "s.yaml").write_text("""
name: counter
environment: {factory: "python:env:Counter", args: {step: 10}}
tools:
  - {name: bump, parameters: {type: object, properties: {times: {type: integer}}, required: [times]}}
metrics: [end_state_match]
samples:
  - id: a
    input: bump twice
    initial_state: {n: 1}
    expected_state: {n: 21}
    script: {output: done, tool_calls: [{tool: bump, args: {times: 2}}]}
  - id: b
    input: bump with a bad argument
    expected_state: {n: 0}
    script: {output: done, tool_calls: [{tool: bump, args: {twice: true}}]}
""")
    out = run(load_suite(tmp_path / "s.yaml"), tmp_path, backend_spec="stub:scripted")
    r = rows(out)
    a, b = r["a"]["trace"], r["b"]["trace"]
    assert isinstance(a, dict) and isinstance(b, dict)
    assert a["tool_calls"][0]["result"] == 21 and a["state"] == {"n": 21}
    assert "bad arguments" in b["tool_calls"][0]["error"]
    assert out.summary.metrics["end_state_match"].mean == 1.0


def test_tools_without_implementation_are_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "env2.py").write_text("class E:\n    def __init__(self, initial_state):\n        pass\n")
    (tmp_path / "s.yaml").write_text(
        "name: x\nenvironment: {factory: 'python:env2:E'}\ntools: [{name: missing_tool}]\n"
        "samples: [{input: hi}]\n")
    with pytest.raises(ConfigError, match="missing_tool"):
        ToolboxFactory(load_suite(tmp_path / "s.yaml"))


def test_toolbox_records_failures_and_unknown_tools() -> None:
    suite = load_suite(SUPPORT)
    box = ToolboxFactory(suite).new(suite.samples[0])
    with pytest.raises(ToolError, match="unknown tool"):
        box.call("drop_database", {})
    with pytest.raises(ToolError, match="KeyError"):
        box.call("lookup_order", {"order_id": "9999"})
    assert [c.error is not None for c in box.calls] == [True, True]
    assert box.call("lookup_order", order_id="1001")["status"] == "shipped"  # type: ignore[index]


@pytest.mark.parametrize("expected, actual, exact, diffs", [
    ({"a": 1}, {"a": 1, "b": 2}, False, []),
    ({"a": 1}, {"a": 1, "b": 2}, True, ["b: unexpected"]),
    ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}, False, ["a.b[1]: expected 2, got 3"]),
    ({"a": 1.0}, {"a": 1}, False, []),
    ({"a": True}, {"a": 1}, False, ["a: expected True, got 1"]),
    ({"a": 1}, {}, False, ["a: missing"]),
])
def test_state_differences(expected: dict[str, object], actual: dict[str, object], exact: bool,
                           diffs: list[str]) -> None:
    assert state_differences(expected, actual, exact=exact) == diffs  # type: ignore[arg-type]


def test_end_state_unmeasured_without_state_or_expectation() -> None:
    suite = load_suite(SUPPORT)
    sample = suite.samples[0]
    m = EndStateMatch()
    assert m.score(ScoreContext(sample=sample, trace=Trace(output="x"), suite=suite)).value is None
    bare = ResolvedSample(id="z", hash="h", origin="f:1", input="x")
    assert m.score(ScoreContext(sample=bare, trace=Trace(state={"a": 1}), suite=suite)).value is None
    bad = m.score(ScoreContext(sample=sample, trace=Trace(state={"orders": {"1001": {"status": "lost"}}}),
                               suite=suite))
    assert bad.value == 0.0 and "orders.1001.status" in bad.reason
