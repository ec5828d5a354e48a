"""label_match: parsing answers to a closed label set, confidences, and the corpus-level aggregate."""

from __future__ import annotations

import math

import pytest
from pydantic import JsonValue, ValidationError
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from agenteval.metrics.classification import UNPARSEABLE, LabelMatch, expected_calibration_error, parse_label
from agenteval.metrics.corpus import corpus_aggregate

from .conftest import task_ctx

SENTIMENT = ["positive", "negative", "neutral"]


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "label"), [
    ("positive", "positive"),
    ("  Positive.\n", "positive"),
    ("**NEGATIVE**", "negative"),
    ('"neutral"', "neutral"),
    ("The sentiment of this review is negative.", "negative"),
    ("Label: Neutral", "neutral"),
])
def test_parse_label_reads_the_label(answer: str, label: str) -> None:
    assert parse_label(answer, SENTIMENT) == label


@pytest.mark.parametrize("answer", [
    "",
    "I cannot tell.",
    "positive or negative, hard to say",  # two labels
    "positively glowing",  # not a whole word
    "neutrality",
])
def test_parse_label_unparseable(answer: str) -> None:
    assert parse_label(answer, SENTIMENT) == UNPARSEABLE


def test_a_label_inside_a_longer_label_is_not_a_second_mention() -> None:
    labels = ["spam", "not spam"]
    assert parse_label("This message is not spam.", labels) == "not spam"
    assert parse_label("NOT   SPAM", labels) == "not spam"
    assert parse_label("Clearly spam", labels) == "spam"
    assert parse_label("spam, not spam", labels) == UNPARSEABLE  # both mentioned on their own


def test_emoji_labels() -> None:
    assert parse_label(" 👍. ", ["👍", "👎"]) == "👍"
    assert parse_label("I'd say 👎", ["👍", "👎"]) == "👎"


def test_labels_keep_their_written_form() -> None:
    labels = ["Billing issue", "Technical problem", "Other"]
    assert parse_label("this is a billing   ISSUE", labels) == "Billing issue"


# --- scoring -----------------------------------------------------------------------------------


def test_correct_wrong_and_unparseable_answers() -> None:
    metric = LabelMatch()
    right = metric.score(task_ctx("Negative", "negative", labels=SENTIMENT))
    assert (right.value, right.passed) == (1.0, True)
    assert right.details == {"predicted": "negative", "gold": "negative"}
    wrong = metric.score(task_ctx("positive", "negative", labels=SENTIMENT))
    assert (wrong.value, wrong.passed) == (0.0, False)
    assert wrong.details == {"predicted": "positive", "gold": "negative"}
    assert "predicted 'positive', expected 'negative'" in wrong.reason
    vague = metric.score(task_ctx("hard to say", "negative", labels=SENTIMENT))
    assert (vague.value, vague.passed, vague.error) == (0.0, False, None)  # a wrong answer, measured
    assert vague.details["predicted"] == UNPARSEABLE


def test_gold_label_is_matched_to_the_label_set() -> None:
    s = LabelMatch().score(task_ctx("Positive", "POSITIVE", labels=SENTIMENT))
    assert s.passed is True and s.details["gold"] == "positive"


def test_metric_labels_override_the_suite_labels() -> None:
    metric = LabelMatch(labels=["yes", "no"])
    s = metric.score(task_ctx("Yes.", "yes", labels=SENTIMENT))
    assert s.passed is True and s.details["predicted"] == "yes"


@pytest.mark.parametrize(("expected", "labels", "why"), [
    ("positive", None, "no label set"),
    (None, SENTIMENT, "no expected label"),
    (["positive", "neutral"], SENTIMENT, "exactly one expected label"),
    ("happy", SENTIMENT, "not one of the labels"),
    ("a", ["a", "A."], "same after normalisation"),
])
def test_unmeasured(expected: JsonValue, labels: list[str] | None, why: str) -> None:
    s = LabelMatch().score(task_ctx("positive", expected, labels=labels))
    assert s.value is None and s.passed is None
    assert s.error is not None and why in s.error


@pytest.mark.parametrize(("labels", "why"), [
    ([], "empty"),
    (["yes", "Yes!"], "same after normalisation"),
    (["yes", "..."], "blank"),
    (["yes", "unparseable"], "reserved"),
])
def test_bad_label_argument_is_a_config_error(labels: list[str], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        LabelMatch(labels=labels)


def test_ece_bins_are_validated() -> None:
    with pytest.raises(ValidationError):
        LabelMatch(ece_bins=0)


# --- confidence --------------------------------------------------------------------------------


def test_confidence_from_label_probabilities() -> None:
    events: list[JsonValue] = [{"label_probs": {"Positive": 0.6, "negative": 0.3, "neutral": 0.1}}]
    s = LabelMatch().score(task_ctx("positive", "positive", events=events, labels=SENTIMENT))
    assert s.details["confidence"] == pytest.approx(0.6)
    unnormalised: list[JsonValue] = [{"label_probs": {"positive": 2, "negative": 6}}]
    s = LabelMatch().score(task_ctx("negative", "positive", events=unnormalised, labels=SENTIMENT))
    assert s.details["confidence"] == pytest.approx(0.75)  # share of the total


def test_confidence_from_a_confidence_event_and_the_last_event_counts() -> None:
    events: list[JsonValue] = [{"confidence": 0.2}, {"other": 1}, {"confidence": 0.9}]
    s = LabelMatch().score(task_ctx("neutral", "neutral", events=events, labels=SENTIMENT))
    assert s.details["confidence"] == 0.9


def test_confidence_from_openai_logprobs() -> None:
    tokens: list[JsonValue] = [{"token": "neg", "logprob": -0.1}, {"token": "ative", "logprob": -0.05}]
    events: list[JsonValue] = [{"logprobs": {"content": tokens}}, {"logprobs": tokens},
                               {"choices": [{"logprobs": {"content": tokens}}]}]
    for event in events:
        s = LabelMatch().score(task_ctx("negative", "negative", events=[event], labels=SENTIMENT))
        assert s.details["confidence"] == pytest.approx(math.exp(-0.15))


@pytest.mark.parametrize("event", [
    {"confidence": 1.5},
    {"confidence": "high"},
    {"label_probs": {"happy": 1.0}},
    {"logprobs": {"content": [{"token": "x", "logprob": 0.3}]}},
    {"logprobs": None},
])
def test_malformed_confidence_is_ignored(event: JsonValue) -> None:
    s = LabelMatch().score(task_ctx("positive", "positive", events=[event], labels=SENTIMENT))
    assert s.passed is True and "confidence" not in s.details


def test_no_confidence_for_an_unparseable_answer_with_label_probs() -> None:
    events: list[JsonValue] = [{"label_probs": {"positive": 0.5, "negative": 0.5}}]
    s = LabelMatch().score(task_ctx("no idea", "positive", events=events, labels=SENTIMENT))
    assert "confidence" not in s.details


# --- aggregate ---------------------------------------------------------------------------------

GOLD = ["cat", "cat", "cat", "dog", "dog", "bird", "bird", "bird", "bird", "dog"]
PRED = ["cat", "dog", "cat", "dog", "cat", "bird", "bird", "unparseable", "dog", "dog"]


def _details(gold: list[str], pred: list[str]) -> list[dict[str, JsonValue]]:
    return [{"predicted": p, "gold": g} for g, p in zip(gold, pred, strict=True)]


def test_aggregate_matches_scikit_learn() -> None:
    out = LabelMatch(labels=["cat", "dog", "bird"]).aggregate(_details(GOLD, PRED))
    labels = ["cat", "dog", "bird"]
    assert out["n"] == 10 and out["n_unparseable"] == 1
    assert out["accuracy"] == pytest.approx(6 / 10)
    for avg in ("macro", "micro", "weighted"):
        assert out[f"{avg}_f1"] == pytest.approx(f1_score(GOLD, PRED, labels=labels, average=avg, zero_division=0))
    p, r, f, support = precision_recall_fscore_support(GOLD, PRED, labels=labels, zero_division=0)
    per_class = out["per_class"]
    assert isinstance(per_class, dict)
    for i, label in enumerate(labels):
        assert per_class[label] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i],
                                                  "support": int(support[i])})
    cm = out["confusion_matrix"]
    assert isinstance(cm, dict) and cm["labels"] == [*labels, UNPARSEABLE]
    assert cm["matrix"] == confusion_matrix(GOLD, PRED, labels=[*labels, UNPARSEABLE]).tolist()
    assert "ece" not in out


def test_aggregate_by_hand() -> None:
    out = LabelMatch().aggregate(_details(["a", "a", "b", "b"], ["a", "unparseable", "b", "a"]))
    # a: TP 1, FP 1 (gold b), FN 1 (unparseable) -> P 1/2, R 1/2; b: TP 1, FP 0, FN 1 -> P 1, R 1/2
    per_class = out["per_class"]
    assert isinstance(per_class, dict)
    assert per_class["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert per_class["b"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert out["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    # pooled: TP 2, FP 1, FN 2 -> P 2/3, R 1/2, F1 4/7; not the accuracy (1/2): unparseable is no FP
    assert out["micro_f1"] == pytest.approx(4 / 7)
    assert out["accuracy"] == 0.5
    assert out["confusion_matrix"] == {"labels": ["a", "b", "unparseable"],
                                       "matrix": [[1, 0, 1], [1, 1, 0], [0, 0, 0]]}


def test_micro_f1_is_accuracy_without_unparseable_answers() -> None:
    gold, pred = ["x", "y", "z", "x", "y"], ["x", "z", "z", "x", "x"]
    out = LabelMatch().aggregate(_details(gold, pred))
    assert out["micro_f1"] == pytest.approx(out["accuracy"]) and out["accuracy"] == pytest.approx(3 / 5)
    cm = out["confusion_matrix"]
    assert isinstance(cm, dict) and cm["labels"] == ["x", "y", "z"]


def test_aggregate_ece_by_hand() -> None:
    details: list[dict[str, JsonValue]] = [
        {"predicted": "a", "gold": "a", "confidence": 0.9},
        {"predicted": "b", "gold": "a", "confidence": 0.9},
        {"predicted": "a", "gold": "a", "confidence": 0.6},
        {"predicted": "b", "gold": "b", "confidence": 0.6},
        {"predicted": "b", "gold": "b"},  # no confidence: not in the ECE
    ]
    out = LabelMatch().aggregate(details)
    # bin (0.8, 0.9]: accuracy 1/2, confidence 0.9; bin (0.5, 0.6]: accuracy 1, confidence 0.6
    assert out["ece"] == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert out["n_confidence"] == 4
    bins = out["calibration"]
    assert isinstance(bins, list) and len(bins) == 2
    assert bins[0] == pytest.approx({"lo": 0.5, "hi": 0.6, "n": 2, "accuracy": 1.0, "confidence": 0.6})
    assert bins[1] == pytest.approx({"lo": 0.8, "hi": 0.9, "n": 2, "accuracy": 0.5, "confidence": 0.9})


def test_expected_calibration_error_of_a_calibrated_model_is_zero() -> None:
    ece, bins = expected_calibration_error([0.0, 1.0, 1.0], [False, True, True], n_bins=5)
    assert ece == 0.0 and len(bins) == 2


def test_aggregate_skips_unmeasured_and_handles_nothing() -> None:
    assert LabelMatch().aggregate([]) == {"n": 0}
    assert LabelMatch().aggregate([{}, {"raw": 1}]) == {"n": 0}


def test_corpus_aggregate_calls_the_method_only_when_there_is_one() -> None:
    from agenteval.judging import JudgeMetric
    from agenteval.metrics.text import ExactMatch

    details = _details(["a"], ["a"])
    assert corpus_aggregate(LabelMatch(), details) == LabelMatch().aggregate(details)
    assert corpus_aggregate(ExactMatch(), details) is None
    assert corpus_aggregate(JudgeMetric(rubric="correctness"), details) is None  # `aggregate` is a field there
