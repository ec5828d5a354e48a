"""How a team runs agenteval in CI with pytest (see README, "Use in CI").

    pytest examples/ci --agenteval-backend litellm:openai/gpt-4o-mini     # the real model
    pytest examples/ci --agenteval-backend stub:golden                    # offline, as our CI does

Suite files can be collected as tests too (`pytest suites/qa.yaml`, or `agenteval_suites = suites/*.yaml`
in pytest.ini), and `--agenteval-baseline main` fails the session when the run regresses against the
baseline committed in baselines/main.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.pytest_plugin import AgentEvalFixture, assert_score

REPO = Path(__file__).resolve().parents[2]


def test_answers_a_known_question(agenteval: AgentEvalFixture) -> None:
    result = agenteval.run_sample(
        "What is the capital of France? Answer with one word.",
        expected="Paris",
        metrics=["exact_match", {"fuzzy_match": {"threshold": 0.8}}],
    )
    assert_score(result, "exact_match", min=1.0)
    assert_score(result, "fuzzy_match", min=0.8)


@pytest.mark.agenteval(suite=str(REPO / "suites" / "qa.yaml"))
def test_qa_suite_meets_its_thresholds(eval_run) -> None:  # type: ignore[no-untyped-def]
    summary = eval_run.summary
    assert summary.passed, f"thresholds failed: {summary.thresholds}"
    assert summary.n_errors == 0
