"""RAG retrieval metrics: context_precision and context_recall against expected context ids."""

from __future__ import annotations

import pytest
from pydantic import JsonValue, ValidationError

from agenteval.metrics.rag import ContextPrecision, ContextRecall

from .conftest import task_ctx


def _meta(retrieved: JsonValue, expected: JsonValue, key: str = "contexts") -> dict[str, JsonValue]:
    return {key: retrieved, "expected_context_ids": expected}


RETRIEVED: list[JsonValue] = [{"id": "kb-1", "text": "..."}, {"id": "kb-7", "text": "..."},
                              {"id": "kb-3", "text": "..."}, {"id": "kb-9", "text": "..."}]


def test_ranked_context_precision_by_hand() -> None:
    s = ContextPrecision().score(task_ctx("answer", metadata=_meta(RETRIEVED, ["kb-1", "kb-3"])))
    # relevant at ranks 1 and 3: (1/1 + 2/3) / 2
    assert s.value == pytest.approx((1 + 2 / 3) / 2)
    assert s.details == {"retrieved": 4, "relevant_retrieved": 2} and s.passed is None


def test_ranked_precision_rewards_relevant_contexts_first() -> None:
    first = ContextPrecision().score(task_ctx(metadata=_meta(["a", "x", "y"], ["a"])))
    last = ContextPrecision().score(task_ctx(metadata=_meta(["x", "y", "a"], ["a"])))
    assert first.value == 1.0 and last.value == pytest.approx(1 / 3)
    plain = ContextPrecision(ranked=False)
    assert plain.score(task_ctx(metadata=_meta(["x", "y", "a"], ["a"]))).value == pytest.approx(1 / 3)
    assert plain.score(task_ctx(metadata=_meta(RETRIEVED, ["kb-1", "kb-3"]))).value == 0.5


def test_context_recall_by_hand() -> None:
    s = ContextRecall(threshold=0.5).score(task_ctx(metadata=_meta(RETRIEVED, ["kb-1", "kb-3", "kb-4"])))
    assert s.value == pytest.approx(2 / 3) and s.passed is True
    assert s.details == {"found": 2, "expected": 3, "missed": ["kb-4"]} and "missed kb-4" in s.reason


def test_nothing_relevant_retrieved() -> None:
    meta = _meta(["x", "y"], ["a"])
    assert ContextPrecision().score(task_ctx(metadata=meta)).value == 0.0
    assert ContextRecall().score(task_ctx(metadata=meta)).value == 0.0
    assert ContextPrecision().score(task_ctx(metadata=_meta(["x"], []))).value == 0.0  # nothing was wanted


def test_bare_and_integer_ids_and_duplicates() -> None:
    s = ContextPrecision().score(task_ctx(metadata=_meta([3, "3", 5], ["3"])))
    assert s.value == 1.0 and s.details["retrieved"] == 2  # "3" repeats 3


def test_trace_retrieval_event_comes_before_metadata() -> None:
    events: list[JsonValue] = [{"type": "retrieval", "contexts": [{"id": "x"}]},
                               {"type": "retrieval", "contexts": [{"id": "a"}, {"id": "b"}]}]
    ctx = task_ctx(metadata=_meta(["z"], ["a", "b"]), events=events)
    assert ContextRecall().score(ctx).value == 1.0


def test_metadata_context_is_the_fallback() -> None:
    ctx = task_ctx(metadata=_meta([{"id": "a", "text": "..."}], ["a"], key="context"))
    assert ContextRecall().score(ctx).value == 1.0


@pytest.mark.parametrize(("metadata", "why"), [
    ({"contexts": ["a"]}, "no metadata.expected_context_ids"),
    ({"expected_context_ids": ["a"]}, "no retrieved contexts"),
    ({"contexts": "a, b", "expected_context_ids": ["a"]}, "metadata.contexts is not a list"),
    ({"contexts": [{"text": "no id"}], "expected_context_ids": ["a"]}, "without an id"),
    ({"contexts": ["a"], "expected_context_ids": "a"}, "expected_context_ids is not a list"),
])
@pytest.mark.parametrize("metric", [ContextPrecision(), ContextRecall()], ids=lambda m: m.name)
def test_unmeasured(metric: ContextPrecision, metadata: dict[str, JsonValue], why: str) -> None:
    s = metric.score(task_ctx(metadata=metadata))
    assert s.value is None and s.error is not None and why in s.error


def test_undefined_cases_are_unmeasured() -> None:
    empty = ContextPrecision().score(task_ctx(metadata=_meta([], ["a"])))
    assert empty.value is None and empty.error is not None and "no context was retrieved" in empty.error
    none_expected = ContextRecall().score(task_ctx(metadata=_meta(["a"], [])))
    assert none_expected.value is None


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError):
        ContextRecall(threshold=2)
    with pytest.raises(ValidationError):
        ContextPrecision.model_validate({"k": 3})


def test_vars_context_is_the_last_fallback() -> None:
    from agenteval.metrics.base import ScoreContext
    from agenteval.schema import ResolvedSample, Suite, Trace

    sample = ResolvedSample(id="s", hash="h", origin="f:1", vars={"context": [{"id": "a"}, {"id": "b"}]},
                            metadata={"expected_context_ids": ["b"]})
    suite = Suite(path="s.yaml", name="s", version="1", metrics=[], samples=[sample], content_hash="x")
    ctx = ScoreContext(sample=sample, trace=Trace(output="x"), suite=suite)
    assert ContextPrecision().score(ctx).value == 0.5
