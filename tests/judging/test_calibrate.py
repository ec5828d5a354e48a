"""`agenteval judge calibrate`: agreement statistics of a judge against the shipped human labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import cohen_kappa_score

from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "judges" / "labels" / "correctness.jsonl"
EXAMPLES = [json.loads(x) for x in LABELS.read_text().splitlines()]
# The scripted judge agrees with people except on three examples.
JUDGE = {ex["id"]: ex["human"] for ex in EXAMPLES} | {"c05": 4, "c16": 1, "c20": 3}


def responder(body: dict[str, Any]) -> str:
    prompt = " ".join(str(m.get("content")) for m in body["messages"])
    for ex in EXAMPLES:
        if ex["response"] in prompt:
            return json.dumps({"reasoning": f"judged {ex['id']}", "score": JUDGE[ex["id"]]})
    return "no idea"


def calibrate(srv: FakeOpenAIServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenteval", "judge", "calibrate", "correctness", "--labels", str(LABELS),
         "--judge-model", "litellm:openai/gpt-4o-mini", "-J", f"api_base={srv.base_url}", "-J", "api_key=x",
         "--out", str(tmp_path / "report.json"), "--results", str(tmp_path), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=180, env=dict(os.environ))


@pytest.fixture
def judge_server() -> Any:
    with FakeOpenAIServer(responder=responder) as srv:
        yield srv


def test_calibration_report_numbers(judge_server: FakeOpenAIServer, tmp_path: Path) -> None:
    p = calibrate(judge_server, tmp_path)
    assert p.returncode == 0, p.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    human = [str(ex["human"]) for ex in EXAMPLES]
    judge = [str(JUDGE[ex["id"]]) for ex in EXAMPLES]
    assert report["n"] == 20 and report["n_unmeasured"] == 0
    assert report["exact_agreement"] == pytest.approx(17 / 20)
    assert report["cohen_kappa"] == pytest.approx(cohen_kappa_score(human, judge, labels=["1", "2", "3", "4", "5"],
                                                                    weights="quadratic"))
    assert 0.8 < report["cohen_kappa"] < 1 and report["kappa_weights"] == "quadratic"
    assert report["spearman_rho"] > 0.8
    m = report["confusion_matrix"]
    assert m[2][3] == 1 and m[1][0] == 1 and m[1][2] == 1  # human 3 -> judge 4, human 2 -> judge 1 and 3
    assert sum(map(sum, m)) == 20
    assert report["rubric_hash"] and report["rubric_version"] == "1"
    assert "exact agreement" in p.stdout and "0.850" in p.stdout


def test_unusable_judge_answers_are_unmeasured(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=lambda body: "I cannot decide.") as srv:
        p = calibrate(srv, tmp_path)
    assert p.returncode == 0, p.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_unmeasured"] == 20 and report["exact_agreement"] is None


def test_bad_labels_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"response": "x", "human": 3}\n{"response": "y", "human": 9}\n')
    p = subprocess.run([sys.executable, "-m", "agenteval", "judge", "calibrate", "correctness", "--labels", str(bad),
                        "--judge-model", "stub:echo"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "labels.jsonl:2" in p.stderr and "human" in p.stderr
