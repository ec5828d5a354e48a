"""Leaderboard JSON (validated against the shipped schema), matrix runs, the run index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

from agenteval.schema.leaderboard import Leaderboard
from agenteval.store.index import RunIndex

REPO = Path(__file__).resolve().parents[2]


def agenteval(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTEVAL_RESULTS": str(results)}
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_shipped_schema_is_the_models_schema() -> None:
    shipped = json.loads((REPO / "agenteval" / "schema" / "leaderboard.schema.json").read_text())
    assert shipped == Leaderboard.model_json_schema(), "regenerate agenteval/schema/leaderboard.schema.json"


def test_matrix_run_then_leaderboard_validates(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--backend", "stub:echo",
                  "--label", "model=v3", results=tmp_path)
    assert p.returncode == 1  # stub:echo misses the threshold
    assert "run group" in p.stdout and "stub:golden" in p.stdout and "stub:echo" in p.stdout
    agenteval("run", "suites/structured.yaml", "--backend", "stub:golden", results=tmp_path)
    p = agenteval("leaderboard", "--out", str(tmp_path / "lb.json"), results=tmp_path)
    assert p.returncode == 0, p.stderr
    data = json.loads((tmp_path / "lb.json").read_text())
    schema = json.loads(agenteval("schema", "leaderboard", results=tmp_path).stdout)
    jsonschema.validate(data, schema)
    assert next(iter(data)) == "schema_version"
    entries = {(e["suite"], e["backend"]): e for e in data["entries"]}
    assert set(entries) == {("qa-basics", "stub:golden"), ("qa-basics", "stub:echo"),
                            ("structured-extraction", "stub:golden")}
    golden, echo = entries[("qa-basics", "stub:golden")], entries[("qa-basics", "stub:echo")]
    assert golden["metrics"]["exact_match"]["mean"] == 1.0 and echo["metrics"]["exact_match"]["mean"] == 0.0
    assert golden["run_group"] == echo["run_group"] is not None
    assert golden["labels"]["model"] == "v3" and golden["sample_pass_rate"] == 1.0
    assert golden["cost_per_1k_samples_usd"] == 0.0 and golden["n_samples"] == 7


def test_index_filters_and_rebuilds(tmp_path: Path) -> None:
    agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--label", "model=a", results=tmp_path)
    agenteval("run", "suites/chat.yaml", "--label", "model=b", results=tmp_path)
    idx = RunIndex(tmp_path)
    assert {r.suite for r in idx.query()} == {"qa-basics", "chat-memory"}
    assert [r.suite for r in idx.query(tag="geography")] == ["qa-basics"]
    assert [r.suite for r in idx.query(label={"model": "b"})] == ["chat-memory"]
    assert [r.status for r in idx.query(suite="qa-basics")] == ["passed"]
    assert idx.query(since="2999-01-01") == []
    (tmp_path / "index.sqlite").write_bytes(b"garbage, not a database")  # a corrupt index is rebuilt
    assert len(RunIndex(tmp_path).query()) == 2
    p = agenteval("list", "runs", "--suite", "chat-memory", "--json", results=tmp_path)
    assert [r["suite"] for r in json.loads(p.stdout)] == ["chat-memory"]
