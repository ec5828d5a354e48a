"""The `agenteval` command as a user runs it: exit codes, output, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


def agenteval(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_run_golden_prints_table_and_exits_0(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "exact_match" in p.stdout and "1.000" in p.stdout and "PASSED" in p.stdout
    run_id = p.stdout.strip().split("run ")[-1].split()[0]
    assert (tmp_path / "runs" / run_id / "summary.json").is_file()


def test_failed_threshold_exits_1(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:echo", "--out", str(tmp_path))
    assert p.returncode == 1
    assert "FAIL" in p.stdout


@pytest.mark.parametrize("text, where", [
    ("name: t\nsamples:\n  - id: a\n    input: [1]\n", "bad.yaml:4"),             # wrong type
    ("description: no name\nsamples: []\n", "bad.yaml:1"),                      # missing field
    ("name: t\nsamples:\n  - {id: a, input: [x\n", "bad.yaml:"),               # bad YAML
])
def test_malformed_suite_exits_2_with_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    for cmd in (["validate"], ["run", "--out", str(tmp_path)]):
        p = agenteval(*cmd, str(tmp_path / "bad.yaml"))
        assert p.returncode == 2, p.stderr
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and where in lines[0], p.stderr
        assert "Traceback" not in p.stderr


def test_bad_jsonl_line_exits_2(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"input": "a"}\n{"input": "b",}\n')
    (tmp_path / "s.yaml").write_text("name: t\nsamples:\n  - file: rows.jsonl\n")
    p = agenteval("validate", str(tmp_path / "s.yaml"))
    assert p.returncode == 2 and "rows.jsonl:2" in p.stderr


def test_validate_ok_and_list_commands(tmp_path: Path) -> None:
    p = agenteval("validate", "suites/qa.yaml", "suites/structured.yaml", "suites/chat.yaml")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("ok: ") == 3
    p = agenteval("list", "metrics", "--json")
    names = {m["name"] for m in json.loads(p.stdout)}
    assert {"exact_match", "fuzzy_match", "json_schema", "rouge_l", "bleu", "latency_budget"} <= names
    p = agenteval("list", "backends")
    assert "stub" in p.stdout and "litellm" in p.stdout
    agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--out", str(tmp_path))
    p = agenteval("list", "runs", "--results", str(tmp_path), "--json")
    runs = json.loads(p.stdout)
    assert len(runs) == 1 and runs[0]["status"] == "passed" and runs[0]["metrics"]["exact_match"] == 1.0


def test_unknown_backend_is_a_usage_error(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stob:golden", "--out", str(tmp_path))
    assert p.returncode == 2 and "stub" in p.stderr


def test_help_does_not_import_heavy_sdks() -> None:
    code = ("import sys; from agenteval.cli.main import cli; "
            "from click.testing import CliRunner; CliRunner().invoke(cli, ['--help']); "
            "CliRunner().invoke(cli, ['validate', 'suites/qa.yaml']); "
            "heavy = [m for m in ('litellm', 'torch', 'vertexai', 'sentence_transformers', 'datasets') "
            "if m in sys.modules]; print(heavy)")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr


def _count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigkill_mid_run_then_resume_gives_every_sample_once(tmp_path: Path) -> None:
    """A run against a slow local server is SIGKILLed part-way, then resumed."""
    rows = "".join(json.dumps({"id": f"q{i:03d}", "input": f"question {i}", "expected": f"echo: question {i}"})
                   + "\n" for i in range(40))
    (tmp_path / "rows.jsonl").write_text(rows)
    (tmp_path / "s.yaml").write_text("name: killme\nmetrics: [exact_match]\nsamples:\n  - file: rows.jsonl\n")
    with FakeOpenAIServer(latency_ms=150) as srv:
        args = ["run", str(tmp_path / "s.yaml"), "--backend", "litellm:openai/gpt-4o-mini", "-B",
                f"api_base={srv.base_url}", "-B", "api_key=sk-x", "--out", str(tmp_path / "res"),
                "--concurrency", "4", "--no-cache"]
        proc = subprocess.Popen([sys.executable, "-m", "agenteval", *args], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        samples: Path | None = None
        while time.monotonic() < deadline:
            found = list((tmp_path / "res" / "runs").glob("*/samples.jsonl"))
            if found and _count_lines(found[0]) >= 8:
                samples = found[0]
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert samples is not None, "the run never got going"
        before = _count_lines(samples)
        assert 8 <= before < 40
        run_id = samples.parent.name
        man = json.loads((samples.parent / "manifest.json").read_text())
        assert man["finished_at"] is None
        p = agenteval("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "res"), "--resume", run_id,
                      "-B", f"api_base={srv.base_url}", "-B", "api_key=sk-x", "--concurrency", "8")
        assert p.returncode == 0, p.stderr
    results = [json.loads(x) for x in samples.read_text().splitlines()]
    ids = [r["sample_id"] for r in results]
    assert sorted(ids) == [f"q{i:03d}" for i in range(40)]  # every sample exactly once
    assert ids == sorted(ids)  # rewritten in task order
    summary = json.loads((samples.parent / "summary.json").read_text())
    assert summary["n_samples"] == 40 and summary["metrics"]["exact_match"]["mean"] == 1.0


def test_sigint_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"id": f"q{i}", "input": f"q {i}", "expected": "x"}) + "\n" for i in range(200))
    (tmp_path / "rows.jsonl").write_text(rows)
    (tmp_path / "s.yaml").write_text("name: ctrlc\nsamples:\n  - file: rows.jsonl\n")
    proc = subprocess.Popen([sys.executable, "-m", "agenteval", "run", str(tmp_path / "s.yaml"),
                             "--backend", "stub:echo", "-B", "latency_ms=100", "--concurrency", "2",
                             "--out", str(tmp_path / "res")], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list((tmp_path / "res" / "runs").glob("*/samples.jsonl"))
        if found and _count_lines(found[0]) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "resume with: agenteval run" in err and "--resume" in err
    assert "Traceback" not in err
    found = list((tmp_path / "res" / "runs").glob("*/samples.jsonl"))
    assert found[0].read_text().endswith("\n")
