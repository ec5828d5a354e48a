"""The tolerant verdict parser: JSON, fenced JSON, JSON inside prose, plain-text forms, and precise
reasons when an answer is unusable."""

from __future__ import annotations

import pytest

from agenteval.judging import ParseFailure, Verdict, load_rubric, parse_verdict
from agenteval.judging.parse import FailureKind
from agenteval.schema.rubric import Rubric


@pytest.fixture(scope="module")
def scale() -> Rubric:
    return load_rubric("correctness")[0]


@pytest.fixture(scope="module")
def labels() -> Rubric:
    return load_rubric("safety")[0]


@pytest.fixture(scope="module")
def pairwise() -> Rubric:
    return load_rubric("pairwise_preference")[0]


@pytest.mark.parametrize("text", [
    '{"reasoning": "Right.", "score": 4}',
    '  {"score": "4", "reasoning": "Right."}\n',
    'Here is my verdict:\n```json\n{"reasoning": "Right.", "score": 4}\n```\nThanks.',
    'Sure! {"reasoning": "Right.", "score": 4.0} Hope this helps.',
    '{"rating": 4, "explanation": "Right."}',
])
def test_json_forms(scale: Rubric, text: str) -> None:
    v = parse_verdict(text, scale)
    assert v == Verdict(raw=4, value=0.75, reasoning="Right.")


def test_balanced_object_with_braces_in_strings(scale: Rubric) -> None:
    text = 'Notes {not json} then {"reasoning": "uses {x} and \\"}\\" inside", "score": 2}'
    v = parse_verdict(text, scale)
    assert isinstance(v, Verdict) and v.raw == 2 and v.value == 0.25
    assert v.reasoning == 'uses {x} and "}" inside'


@pytest.mark.parametrize(("text", "raw"), [
    ("The answer is correct.\nScore: 5/5", 5),
    ("**Rating:** 3", 3),
    ("Final score - 2 out of 5", 2),
    ("Verdict: [[4]]", 4),
])
def test_plain_text_scores(scale: Rubric, text: str, raw: int) -> None:
    v = parse_verdict(text, scale)
    assert isinstance(v, Verdict) and v.raw == raw and v.reasoning == text.strip()


OFF = "is not on the scale 1..5 (whole numbers only)"


@pytest.mark.parametrize(("text", "kind", "reason"), [
    ('{"reasoning": "Great", "score": 7}', "out_of_scale", f"the score 7 {OFF}"),
    ('{"reasoning": "Hmm", "score": 3.5}', "out_of_scale", f"the score 3.5 {OFF}"),
    ("Score: 8/10", "out_of_scale", "the score was given out of 10; the scale is 1..5"),
    ('{"reasoning": "x", "score": "high"}', "malformed", "the score 'high' is not a number"),
])
def test_out_of_scale(scale: Rubric, text: str, kind: FailureKind, reason: str) -> None:
    assert parse_verdict(text, scale) == ParseFailure(kind, reason)


def test_json_verdict_wins_over_prose(scale: Rubric) -> None:
    # An invalid JSON verdict is the judge's answer; a number elsewhere in the prose does not rescue it.
    f = parse_verdict('Score: 4\n{"reasoning": "x", "score": 9}', scale)
    assert f == ParseFailure("out_of_scale", "the score 9 is not on the scale 1..5 (whole numbers only)")


def test_empty_malformed_truncated(scale: Rubric) -> None:
    assert parse_verdict("   \n", scale) == ParseFailure("empty", "the judge answered nothing")
    assert parse_verdict("I like it.", scale) == ParseFailure(
        "malformed", "no JSON verdict and no score found in the answer")
    assert parse_verdict('{"reasoning": "The answer names Par', scale, "length") == ParseFailure(
        "truncated", "the judge's answer was cut off (finish_reason=length)")
    # Cut off but complete enough: the verdict counts.
    assert isinstance(parse_verdict('{"reasoning": "ok", "score": 5}', scale, "length"), Verdict)


def test_labels(labels: Rubric) -> None:
    assert parse_verdict('{"reasoning": "Refuses.", "label": "Safe"}', labels) == Verdict("safe", 1.0, "Refuses.")
    assert parse_verdict('{"verdict": "over_refusal", "reason": "Benign."}', labels) == Verdict(
        "over_refusal", 0.5, "Benign.")
    v = parse_verdict("This is unsafe: it gives instructions.", labels)
    assert isinstance(v, Verdict) and v.raw == "unsafe" and v.value == 0.0
    assert parse_verdict('{"reasoning": "x", "label": "fine"}', labels) == ParseFailure(
        "out_of_scale", "the label 'fine' is not one of safe, over_refusal, unsafe")
    assert parse_verdict("Could be safe, could be unsafe.", labels) == ParseFailure(
        "malformed", "no JSON verdict and no label found in the answer")


@pytest.mark.parametrize(("text", "raw", "value"), [
    ('{"reasoning": "A is right.", "winner": "A"}', "A", 1.0),
    ('{"reasoning": "B.", "winner": "Response B"}', "B", 0.0),
    ('{"reasoning": "Same.", "winner": "tie"}', "tie", 0.5),
    ("After comparing both: [[A]]", "A", 1.0),
    ("[[C]]", "tie", 0.5),
    ("The better response is B.", "B", 0.0),
    ("Winner: tie", "tie", 0.5),
])
def test_pairwise(pairwise: Rubric, text: str, raw: str, value: float) -> None:
    v = parse_verdict(text, pairwise)
    assert isinstance(v, Verdict) and (v.raw, v.value) == (raw, value)


def test_pairwise_rejects_unknown_winner(pairwise: Rubric) -> None:
    assert parse_verdict('{"reasoning": "x", "winner": "C++"}', pairwise) == ParseFailure(
        "out_of_scale", "the winner 'C++' is not A, B or tie")
    strict = pairwise.model_copy(update={"allow_tie": False})
    assert parse_verdict('{"reasoning": "x", "winner": "tie"}', strict) == ParseFailure(
        "out_of_scale", "the judge answered tie, which this rubric does not allow")
