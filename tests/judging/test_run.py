"""Judges inside whole runs: `- judge: correctness` end to end, judge usage apart from the system's,
the manifest's judge record, the judge cache across runs, and the shipped judged suite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from agenteval.judging import load_rubric
from agenteval.runner import RunOptions, run_suite
from agenteval.suite import load_suite

from .conftest import JUDGE, JudgeKit, verdict, words

REPO = Path(__file__).resolve().parents[2]

SUITE = """\
name: judged
backend: {{spec: "litellm:openai/my-sut", api_base: "{base}", api_key: x}}
prompt: "{{{{ q }}}}"
metrics:
  - exact_match
  - judge: correctness
thresholds:
  judge/correctness: 0.75
samples:
  - id: france
    vars: {{q: "Capital of France?"}}
    expected: Paris
  - id: italy
    vars: {{q: "Capital of Italy?"}}
    expected: Rome
"""


def is_judge(body: dict[str, Any]) -> bool:
    return str(body["messages"][0]["content"]).startswith("You are an impartial")


def judge_or_sut(body: dict[str, Any]) -> str | None:
    if not is_judge(body):
        return None  # the system under test: the `answers` rules
    response = body["messages"][-1]["content"].split("<response>\n")[1]
    return verdict(5, "Matches.") if response.startswith("The capital is Paris") else verdict(1, "Wrong city.")


def test_run_suite_with_a_judge(kit: JudgeKit, tmp_path: Path) -> None:
    kit.srv.answers = {"france": "The capital is Paris.", "italy": "The capital is Milan."}
    kit.srv.responder = judge_or_sut
    path = tmp_path / "judged.yaml"
    path.write_text(SUITE.format(base=kit.srv.base_url))
    opts = RunOptions(results_root=kit.root, progress=False, judge_model=JUDGE,
                      judge_options={"api_base": kit.srv.base_url, "api_key": "x"})

    out = asyncio.run(run_suite(load_suite(path), opts))

    summary = out.summary
    judged = summary.metrics["judge/correctness"]
    assert (judged.mean, judged.n, judged.n_unmeasured, judged.pass_rate) == (0.5, 2, 0, 0.5)
    assert summary.thresholds["judge/correctness"].passed is False
    (ref,) = out.manifest.judges
    rubric = load_rubric("correctness")[0]
    assert (ref.id, ref.name, ref.version, ref.model) == ("judge/correctness", "judge",
                                                          f"1+{rubric.content_hash[:12]}", JUDGE)
    assert [m.id for m in out.manifest.metrics] == ["exact_match"]

    judge_calls = [b for b in kit.srv.requests if is_judge(b)]
    sut_calls = [b for b in kit.srv.requests if not is_judge(b)]
    assert len(judge_calls) == 2 and len(sut_calls) == 2
    # Judge tokens and cost are counted apart from the system under test's.
    assert summary.usage.input_tokens == sum(words(b) for b in sut_calls) == 6
    assert summary.usage.cost_usd is None  # my-sut has no price
    assert summary.judge_usage.input_tokens == sum(words(b) for b in judge_calls)
    assert summary.judge_usage.cost_usd is not None and summary.judge_usage.cost_usd > 0

    lines = [json.loads(line) for line in (out.run_dir.path / "samples.jsonl").read_text().splitlines()]
    france = lines[0]["scores"]["judge/correctness"]
    assert (france["value"], france["passed"], france["reason"]) == (1.0, True, "Matches.")
    assert france["details"]["score"] == 5.0 and france["usage"]["input_tokens"] > 0
    italy = lines[1]["scores"]["judge/correctness"]
    assert (italy["value"], italy["passed"], italy["reason"]) == (0.0, False, "Wrong city.")

    # A second run over the same results root: answers and verdicts come from the caches.
    again = asyncio.run(run_suite(load_suite(path), opts))
    assert len(kit.srv.requests) == 4
    assert again.summary.metrics["judge/correctness"].mean == 0.5
    assert again.summary.judge_usage.input_tokens is None and again.summary.judge_usage.cost_usd is None


def test_unusable_judge_is_unmeasured_in_the_summary(kit: JudgeKit, tmp_path: Path) -> None:
    kit.srv.answers = {"france": "The capital is Paris.", "italy": "Rome."}
    kit.srv.responder = lambda body: (None if not is_judge(body) else
                                      verdict(4) if "Paris" in body["messages"][-1]["content"] else "no idea")
    path = tmp_path / "judged.yaml"
    path.write_text(SUITE.format(base=kit.srv.base_url))
    opts = RunOptions(results_root=kit.root, progress=False, judge_model=JUDGE,
                      judge_options={"api_base": kit.srv.base_url, "api_key": "x"})
    out = asyncio.run(run_suite(load_suite(path), opts))
    judged = out.summary.metrics["judge/correctness"]
    assert (judged.mean, judged.n, judged.n_unmeasured) == (0.75, 1, 1)  # not averaged in as 0, no NaN
    italy = list(out.run_dir.iter_results())[1].scores["judge/correctness"]
    assert italy.value is None and italy.details["raw"] == "no idea"


def test_shipped_judged_suite_runs_with_a_judge_model(kit: JudgeKit) -> None:
    kit.srv.responder = lambda body: verdict(5, "Matches the reference.")
    suite = load_suite(REPO / "suites" / "judged_qa.yaml")
    assert [m.id for m in suite.metrics] == ["judge/correctness", "judge/helpfulness"]
    opts = RunOptions(results_root=kit.root, progress=False, judge_model=JUDGE,
                      judge_options={"api_base": kit.srv.base_url, "api_key": "x"})
    out = asyncio.run(run_suite(suite, opts))
    assert out.summary.passed
    assert {k: (m.mean, m.n) for k, m in out.summary.metrics.items()} == {
        "judge/correctness": (1.0, 4), "judge/helpfulness": (1.0, 4)}
    assert len(kit.srv.requests) == 8
    assert [j.id for j in out.manifest.judges] == ["judge/correctness", "judge/helpfulness"]


def test_a_run_finds_rubrics_in_the_suites_own_judges_folder(tmp_path: Path) -> None:
    from agenteval.runner import RunOptions as _RunOptions
    from agenteval.runner import run_suite as _run_suite
    from agenteval.suite import load_suite as _load_suite
    from agenteval.testing import FakeOpenAIServer as _Server

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "judges").mkdir()
    rubric = (repo / "judges" / "correctness.yaml").read_text().replace("name: correctness", "name: house_style")
    (tmp_path / "judges" / "house_style.yaml").write_text(rubric)
    (tmp_path / "s.yaml").write_text("name: local\nmetrics: [{judge: house_style}]\n"
                                     "samples:\n  - {id: a, input: q, expected: Paris}\n")
    with _Server(responder=lambda body: '{"reasoning": "fine", "score": 4}') as srv:
        out = asyncio.run(_run_suite(_load_suite(tmp_path / "s.yaml"), _RunOptions(
            results_root=tmp_path / "res", backend_spec="stub:golden", progress=False,
            judge_model="litellm:openai/gpt-4o-mini",
            judge_options={"api_base": srv.base_url, "api_key": "x"})))
    assert out.summary.metrics["judge/house_style"].mean == 0.75
