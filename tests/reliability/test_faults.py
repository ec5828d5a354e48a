"""Faults over real processes and real HTTP on 127.0.0.1: a flaky server, permanent errors, and two
runs writing into one results folder at once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from agenteval.runner import RetryPolicy, RunOptions, run_suite
from agenteval.store.index import RunIndex
from agenteval.suite import load_suite
from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


def _suite(tmp_path: Path, n: int) -> Path:
    rows = "".join(json.dumps({"id": f"q{i:03d}", "input": f"question {i}", "expected": f"echo: question {i}"})
                   + "\n" for i in range(n))
    (tmp_path / "rows.jsonl").write_text(rows)
    (tmp_path / "s.yaml").write_text("name: faults\nmetrics: [exact_match]\nsamples:\n  - file: rows.jsonl\n")
    return tmp_path / "s.yaml"


def test_flaky_server_every_sample_completes_and_retries_are_counted(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, 60))
    with FakeOpenAIServer(fail_rate=0.2, seed=11, fail_kinds=[429, 500, 503, "reset", "hang"], hang_s=3,
                          retry_after="0") as srv:
        out = asyncio.run(run_suite(suite, RunOptions(
            results_root=tmp_path / "res", backend_spec="litellm:openai/gpt-4o-mini", concurrency=8,
            backend_options={"api_base": srv.base_url, "api_key": "x", "timeout_s": 0.5}, use_cache=False,
            progress=False, retry=RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.1))))
        n_requests = len(srv.requests)
    rows = [json.loads(x) for x in out.run_dir.samples_path.read_text().splitlines()]
    ids = [r["sample_id"] for r in rows]
    assert sorted(ids) == [f"q{i:03d}" for i in range(60)] and len(set(ids)) == 60  # no loss, no duplicate
    assert [r["error"] for r in rows if r["error"]] == []
    retries = sum(r["attempts"] - 1 for r in rows)
    assert retries >= 5  # 20 % of ~60+ calls failed and were retried, each retry recorded
    assert n_requests >= 60
    assert out.summary.metrics["exact_match"].mean == 1.0 and out.summary.n_errors == 0


def test_permanent_errors_are_not_retried(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, 4))
    with FakeOpenAIServer() as srv:
        srv.fail_next = [401, 400]
        out = asyncio.run(run_suite(suite, RunOptions(
            results_root=tmp_path / "res", backend_spec="litellm:openai/gpt-4o-mini", concurrency=1,
            backend_options={"api_base": srv.base_url, "api_key": "x"}, use_cache=False, progress=False)))
        assert len(srv.requests) == 4  # 2 failures + 2 successes, nothing retried
    rows = [json.loads(x) for x in out.run_dir.samples_path.read_text().splitlines()]
    assert [r["attempts"] for r in rows] == [1, 1, 1, 1]
    assert ["401" in (r["error"] or "") for r in rows][:1] == [True] and "400" in rows[1]["error"]
    assert out.summary.n_errors == 2 and out.summary.metrics["exact_match"].n_unmeasured == 2


def test_two_runs_into_one_results_folder_at_once(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 80)
    env = {**os.environ, "AGENTEVAL_RESULTS": str(tmp_path / "res")}
    procs = [subprocess.Popen([sys.executable, "-m", "agenteval", "run", str(suite), "--backend", "stub:echo",
                               "-B", "latency_ms=5", "--concurrency", "8"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs  # no thresholds: both runs pass
    runs = sorted((tmp_path / "res" / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        lines = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
        assert len(lines) == 80 and len({x["sample_id"] for x in lines}) == 80
        json.loads((run / "summary.json").read_text())
    assert {r.status for r in RunIndex(tmp_path / "res").query()} == {"passed"}
