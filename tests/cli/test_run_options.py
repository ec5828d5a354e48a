"""`agenteval run` options that reach other parts: judges, Ray shards, data outside the suite."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


def agenteval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def test_judge_model_and_options_from_the_command_line(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=lambda body: '{"reasoning": "matches the reference", "score": 5}') as srv:
        p = agenteval("run", "suites/judged_qa.yaml", "--out", str(tmp_path), "--judge-model",
                      "litellm:openai/gpt-4o-mini", "-J", f"api_base={srv.base_url}", "-J", "api_key=sk-judge")
        assert p.returncode == 0, p.stdout + p.stderr
        assert srv.requests, "the judge was never asked"
    run = next((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["metrics"]["judge/correctness"]["mean"] == 1.0
    assert summary["judge_usage"]["input_tokens"] > 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert {j["model"] for j in manifest["judges"]} == {"litellm:openai/gpt-4o-mini"}
    assert "sk-judge" not in (run / "manifest.json").read_text()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs the [ray] extra (make test installs it)")
def test_executor_ray_gives_the_plain_runs_summary(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path / "ray"),
                  "--executor", "ray", "--shards", "2")
    assert p.returncode == 0, p.stdout + p.stderr
    q = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path / "plain"))
    assert q.returncode == 0
    ray_summary = json.loads(next((tmp_path / "ray" / "runs").glob("*/summary.json")).read_text())
    plain = json.loads(next((tmp_path / "plain" / "runs").glob("*/summary.json")).read_text())
    assert ray_summary["metrics"] == plain["metrics"] and ray_summary["n_samples"] == plain["n_samples"] == 7


def test_shards_need_the_ray_executor(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path), "--shards", "2")
    assert p.returncode == 2 and "--executor ray" in p.stderr
