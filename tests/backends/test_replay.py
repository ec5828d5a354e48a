"""`replay:` scores recorded traces without calling a model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agenteval.errors import ConfigError
from agenteval.runner import RunOptions, run_suite
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]


def test_replay_agenteval_and_vertex_shapes(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("""
name: replayed
metrics: [exact_match, end_state_match]
samples:
  - {id: a, input: q1, expected: Paris}
  - {id: b, input: q2, expected: Rome}
  - {id: c, input: q3, expected: Oslo}
  - id: d
    turns: [hi, "where?"]
    expected: Lima
""")
    lines = [
        {"sample_id": "a", "output": "Paris", "tool_calls": [{"tool": "search", "args": {"q": "x"}}]},
        {"sample_id": "b", "response": "Milan", "predicted_trajectory": [
            {"tool_name": "lookup", "tool_input": {"city": "Rome"}}]},
        {"sample_id": "d", "output": "Lima", "state": {"k": 1}},
    ]
    rec = tmp_path / "rec.jsonl"
    rec.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = asyncio.run(run_suite(load_suite(tmp_path / "s.yaml"), RunOptions(
        results_root=tmp_path / "res", backend_spec=f"replay:{rec}", progress=False)))
    rows = {r["sample_id"]: r for r in map(json.loads, out.run_dir.samples_path.read_text().splitlines())}
    assert rows["a"]["scores"]["exact_match"]["value"] == 1.0
    assert rows["b"]["scores"]["exact_match"]["value"] == 0.0
    assert rows["b"]["trace"]["tool_calls"] == [{"tool": "lookup", "args": {"city": "Rome"}, "id": None,
                                                 "result": None, "error": None, "latency_s": None, "turn": 0}]
    assert "no recorded trace" in rows["c"]["error"]  # missing → unmeasured, never 0
    assert rows["c"]["scores"]["exact_match"]["value"] is None
    assert rows["d"]["output"] == "Lima"
    assert out.summary.metrics["exact_match"].mean == 2 / 3


def test_replay_of_a_previous_run(tmp_path: Path) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    first = asyncio.run(run_suite(suite, RunOptions(results_root=tmp_path, backend_spec="stub:golden",
                                                    progress=False)))
    again = asyncio.run(run_suite(suite, RunOptions(
        results_root=tmp_path, backend_spec=f"replay:{first.run_dir.samples_path}", progress=False)))
    assert again.summary.metrics == first.summary.metrics


def test_bad_replay_file_names_the_line(tmp_path: Path) -> None:
    from agenteval.backends import make_backend

    p = tmp_path / "bad.jsonl"
    p.write_text('{"sample_id": "a", "output": "x"}\n{"output": "no id"}\n')
    with pytest.raises(ConfigError) as ei:
        make_backend(f"replay:{p}", {})
    assert ei.value.line == 2 and "sample_id" in str(ei.value)
