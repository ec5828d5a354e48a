"""Pairwise judging: both orders are asked; disagreeing orders are a tie and are reported."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from agenteval.judging import swap_inconsistency_rate
from agenteval.runner import RunOptions, run_suite
from agenteval.suite import load_suite

from .conftest import JUDGE, JudgeKit, make_ctx, verdict


def block(body: dict[str, Any], tag: str) -> str:
    m = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", body["messages"][-1]["content"], re.S)
    return m.group(1) if m else ""


def prefers_good(body: dict[str, Any]) -> str:
    """A position-consistent judge: whichever response says GOOD wins."""
    return verdict("A" if "GOOD" in block(body, "response_a") else "B", "GOOD is better.", key="winner")


def always_a(body: dict[str, Any]) -> str:
    """A position-biased judge: always prefers the first response."""
    return verdict("A", "The first one.", key="winner")


def test_consistent_win_and_loss(kit: JudgeKit) -> None:
    kit.srv.responder = prefers_good
    better = make_ctx("GOOD answer", metadata={"baseline": "meh answer"})
    worse = make_ctx("meh answer", metadata={"baseline": "GOOD answer"}, sample_id="s2")
    win, loss = kit.score_all(kit.metric("pairwise_preference"), [better, worse])

    assert (win.value, win.passed, win.details["outcome"], win.reason) == (1.0, True, "win", "GOOD is better.")
    assert win.details["swaps"] == [{"model": JUDGE, "sample": 0, "candidate_first": "A", "baseline_first": "B",
                                     "outcome": "win", "consistent": True}]
    assert win.details["swap_inconsistent"] == 0.0 and win.details["votes"] == ["win"]
    assert (loss.value, loss.passed, loss.details["outcome"]) == (0.0, False, "loss")
    # The candidate is response A first, then response B.
    first, second = kit.srv.requests[:2]
    assert (block(first, "response_a"), block(first, "response_b")) == ("GOOD answer", "meh answer")
    assert (block(second, "response_a"), block(second, "response_b")) == ("meh answer", "GOOD answer")
    # The second case shows the judge the same two texts in the same two orders: both from the cache.
    assert len(kit.srv.requests) == 2 and loss.details["cached"] == 2


def test_position_bias_is_a_tie_and_reported(kit: JudgeKit) -> None:
    kit.srv.responder = always_a
    s = kit.score(kit.metric("pairwise_preference"), make_ctx("GOOD answer", metadata={"baseline": "meh"}))
    assert (s.value, s.passed, s.details["outcome"]) == (0.5, True, "tie")  # pass_value 0.5: not worse
    assert s.details["swaps"] == [{"model": JUDGE, "sample": 0, "candidate_first": "A", "baseline_first": "A",
                                   "outcome": "tie", "consistent": False}]
    assert s.details["swap_inconsistent"] == 1.0


def test_self_consistency_over_pairs(kit: JudgeKit) -> None:
    # Three pairs: consistent win, inconsistent (tie), consistent win.
    kit.srv.script = [verdict(w, key="winner") for w in ("A", "B", "A", "A", "A", "B")]
    s = kit.score(kit.metric("pairwise_preference", samples=3), make_ctx("x", metadata={"baseline": "y"}))
    assert s.details["votes"] == ["win", "tie", "win"]
    assert s.value == pytest.approx(2.5 / 3) and s.details["majority"] == "win"
    assert s.details["swap_inconsistent"] == pytest.approx(1 / 3)
    assert [b["seed"] for b in kit.srv.requests] == [0, 0, 1, 1, 2, 2]


def test_missing_baseline_is_unmeasured(kit: JudgeKit) -> None:
    s = kit.score(kit.metric("pairwise_preference"), make_ctx("x"))
    assert s.value is None and s.error == ("no baseline answer for sample 's1' (give the metric `baseline_run`, "
                                           "or the sample `metadata.baseline`)")
    assert kit.srv.requests == []


PAIRWISE_SUITE = """\
name: pairwise-demo
backend: {{spec: "stub:scripted"}}
prompt: "{{{{ q }}}}"
metrics:
  - judge: {{rubric: pairwise_preference{extra}}}
samples:
  - id: consistent
    vars: {{q: "Capital of France?"}}
    script: {{output: "GOOD: Paris"}}
    metadata: {{baseline: "Lyon"}}
  - id: biased
    vars: {{q: "Capital of Italy?"}}
    script: {{output: "Rome"}}
    metadata: {{baseline: "Rome, the capital"}}
"""


def test_pairwise_run_shows_the_swap_in_results(kit: JudgeKit, tmp_path: Path) -> None:
    kit.srv.responder = lambda body: (prefers_good(body) if "France" in block(body, "input") else always_a(body))
    path = tmp_path / "pairwise.yaml"
    path.write_text(PAIRWISE_SUITE.format(extra=""))
    opts = RunOptions(results_root=kit.root, progress=False, judge_model=JUDGE,
                      judge_options={"api_base": kit.srv.base_url, "api_key": "x"})
    out = asyncio.run(run_suite(load_suite(path), opts))

    results = {r.sample_id: r for r in out.run_dir.iter_results()}
    consistent = results["consistent"].scores["judge/pairwise_preference"]
    biased = results["biased"].scores["judge/pairwise_preference"]
    assert consistent.details["swaps"] == [{"model": JUDGE, "sample": 0, "candidate_first": "A",
                                            "baseline_first": "B", "outcome": "win", "consistent": True}]
    assert biased.details["swaps"] == [{"model": JUDGE, "sample": 0, "candidate_first": "A",
                                        "baseline_first": "A", "outcome": "tie", "consistent": False}]
    assert swap_inconsistency_rate(out.run_dir.iter_results(), "judge/pairwise_preference") == 0.5
    assert out.summary.metrics["judge/pairwise_preference"].mean == 0.75
    (judge_ref,) = out.manifest.judges
    assert judge_ref.id == "judge/pairwise_preference" and judge_ref.version.startswith("1+")


def test_baseline_from_an_earlier_run(kit: JudgeKit, tmp_path: Path) -> None:
    kit.srv.responder = prefers_good
    opts = RunOptions(results_root=kit.root, progress=False, judge_model=JUDGE,
                      judge_options={"api_base": kit.srv.base_url, "api_key": "x"})
    path = tmp_path / "pairwise.yaml"
    # The baseline run: its own answers (GOOD ...) are judged against the metadata baselines.
    path.write_text(PAIRWISE_SUITE.format(extra="").replace('"Rome"', '"GOOD: Rome"'))
    baseline = asyncio.run(run_suite(load_suite(path), opts))
    # The candidate echoes the question; its baseline is the first run's answers, by sample id.
    path.write_text(PAIRWISE_SUITE.format(extra=f", baseline_run: {baseline.manifest.run_id}"))
    candidate = asyncio.run(run_suite(load_suite(path), RunOptions(**{**opts.__dict__, "backend_spec": "stub:echo"})))

    scores = [r.scores["judge/pairwise_preference"] for r in candidate.run_dir.iter_results()]
    assert [s.value for s in scores] == [0.0, 0.0]  # the baseline run's GOOD answers win both orders
    assert [s.details["outcome"] for s in scores] == ["loss", "loss"]
    pairs = [(block(b, "response_a"), block(b, "response_b")) for b in kit.srv.requests]
    assert ("Capital of Italy?", "GOOD: Rome") in pairs and ("GOOD: Rome", "Capital of Italy?") in pairs
