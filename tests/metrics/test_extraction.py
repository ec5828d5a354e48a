"""Extraction metrics: field_f1 and record_exact_match, with per-field normalisers."""

from __future__ import annotations

import json

import pytest
from pydantic import JsonValue, ValidationError

from agenteval.metrics.extraction import FieldF1, Normalizer, RecordExactMatch, normalize_value

from .conftest import task_ctx

INVOICE: dict[str, JsonValue] = {"vendor": "Acme Corp", "date": "2024-03-05", "total": 1234.5, "currency": "EUR",
                                 "po_number": None}
NORMALIZERS: dict[str, Normalizer] = {"date": "date", "total": "number"}


# --- normalisers -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2024-03-05", "2024/03/05", "05.03.2024", "3/5/2024", "March 5, 2024",
                                  "Mar 5 2024", "5 March 2024", "March 5th, 2024", "2024-03-05T10:30:00Z",
                                  " 2024-03-05 "])
def test_date_normaliser(text: str) -> None:
    assert normalize_value(text, "date") == "2024-03-05"


def test_date_normaliser_reads_day_first_when_the_month_cannot_be_first() -> None:
    assert normalize_value("25/03/2024", "date") == "2024-03-25"
    assert normalize_value("sometime in spring", "date") == "sometime in spring"  # falls back to casefold


@pytest.mark.parametrize(("value", "number"), [("$1,234.50", 1234.5), ("1234.5 EUR", 1234.5), (1234.5, 1234.5),
                                               (12, 12.0), ("12%", 12.0), ("-3", -3.0)])
def test_number_normaliser(value: JsonValue, number: float) -> None:
    assert normalize_value(value, "number") == number


def test_number_normaliser_falls_back_to_text() -> None:
    assert normalize_value("between 3 and 4", "number") == "between 3 and 4"
    assert normalize_value(True, "number") == "true"


def test_text_normalisers() -> None:
    assert normalize_value("  Ada   Lovelace ", "text") == "Ada Lovelace"
    assert normalize_value("  Ada   Lovelace ", "casefold") == "ada lovelace"
    assert normalize_value("+1 (555) 010-9999", "alphanumeric") == "15550109999"
    assert normalize_value(34, "casefold") == normalize_value("34", "casefold") == "34"
    assert normalize_value(" A ", "exact") == " A " and normalize_value(1, "exact") == normalize_value(1.0, "exact")
    assert normalize_value(["b", "A"], "casefold") == ["a", "b"]  # lists compare as multisets


# --- field_f1 ----------------------------------------------------------------------------------


def test_field_f1_by_hand() -> None:
    answer = {"vendor": "ACME corp", "date": "March 5, 2024", "total": "1,234.50", "currency": "USD",
              "notes": "paid", "po_number": None}
    s = FieldF1(normalizers=NORMALIZERS).score(task_ctx(json.dumps(answer), INVOICE))
    # match: vendor, date, total; mismatch: currency; extra: notes; po_number null in both: not a field
    assert s.details["fields"] == {"currency": "mismatch", "date": "match", "notes": "extra", "total": "match",
                                   "vendor": "match"}
    precision, recall = 3 / 5, 3 / 4
    assert s.details["precision"] == pytest.approx(precision)
    assert s.details["recall"] == pytest.approx(recall)
    assert s.value == pytest.approx(2 * precision * recall / (precision + recall))
    assert s.passed is None and "currency mismatch" in s.reason


def test_without_normalisers_dates_and_amounts_differ() -> None:
    answer = {"vendor": "Acme Corp", "date": "March 5, 2024", "total": "1,234.50", "currency": "EUR"}
    s = FieldF1().score(task_ctx(json.dumps(answer), INVOICE))
    assert s.value == pytest.approx(0.5)


def test_normaliser_by_path_then_by_last_key() -> None:
    expected: dict[str, JsonValue] = {"buyer": {"name": "Ada", "since": "2020-01-02"},
                                      "seller": {"since": "2019-05-06"}}
    answer = {"buyer": {"name": "ada", "since": "Jan 2 2020"}, "seller": {"since": "May 6 2019"}}
    by_key = FieldF1(normalizers={"since": "date"}).score(task_ctx(json.dumps(answer), expected))
    assert by_key.value == 1.0
    by_path = FieldF1(normalizers={"buyer.since": "date", "buyer.name": "exact"})
    s = by_path.score(task_ctx(json.dumps(answer), expected))
    assert s.details["fields"] == {"buyer.name": "mismatch", "buyer.since": "match", "seller.since": "mismatch"}


def test_selected_fields_and_threshold() -> None:
    answer = {"vendor": "Acme Corp", "currency": "USD", "extra": 1}
    metric = FieldF1(fields=["vendor", "currency"], threshold=0.5)
    s = metric.score(task_ctx(json.dumps(answer), INVOICE))
    assert s.value == 0.5 and s.passed is True
    assert s.details["fields"] == {"currency": "mismatch", "vendor": "match"}


def test_missing_fields_and_a_json_answer_in_prose() -> None:
    s = FieldF1().score(task_ctx('Here it is: ```json\n{"vendor": "Acme Corp"}\n```', INVOICE))
    assert s.details["precision"] == 1.0 and s.details["recall"] == 0.25


def test_not_a_json_object_scores_zero() -> None:
    for output in ("no idea", "[1, 2]"):
        s = FieldF1().score(task_ctx(output, INVOICE))
        assert (s.value, s.error) == (0.0, None) and "not a JSON object" in s.reason


def test_both_records_empty_is_perfect() -> None:
    assert FieldF1().score(task_ctx('{"a": null}', {"a": None})).value == 1.0


def test_best_acceptable_record_counts() -> None:
    expected: JsonValue = [{"city": "Paris"}, {"city": "Lyon"}]
    assert FieldF1().score(task_ctx('{"city": "lyon"}', expected)).value == 1.0


@pytest.mark.parametrize(("expected", "why"), [(None, "no expected record"), ("plain text", "not a JSON object")])
def test_unmeasured(expected: JsonValue, why: str) -> None:
    s = FieldF1().score(task_ctx("{}", expected))
    assert s.value is None and s.error is not None and why in s.error


def test_expected_record_as_a_json_string() -> None:
    assert FieldF1().score(task_ctx('{"a": 1}', '{"a": 1}')).value == 1.0


@pytest.mark.parametrize("args", [{"normalizers": {"date": "iso"}}, {"fields": []}, {"fields": ["a..b"]},
                                  {"threshold": 2}, {"default_normalizer": "upper"}])
def test_bad_arguments(args: dict[str, JsonValue]) -> None:
    with pytest.raises(ValidationError):
        FieldF1.model_validate(args)


# --- aggregate ---------------------------------------------------------------------------------


def test_aggregate_pools_fields_over_records() -> None:
    details: list[dict[str, JsonValue]] = [
        {"fields": {"vendor": "match", "date": "match", "total": "mismatch"}},
        {"fields": {"vendor": "match", "date": "missing", "notes": "extra"}},
        {"fields": {"vendor": "mismatch"}},
        {},  # an unmeasured score has no details
    ]
    out = FieldF1().aggregate(details)
    # TP 3; FP = 2 mismatches + 1 extra = 3; FN = 2 mismatches + 1 missing = 3
    assert out["n_records"] == 3
    assert out["micro_precision"] == pytest.approx(0.5) and out["micro_recall"] == pytest.approx(0.5)
    assert out["micro_f1"] == pytest.approx(0.5)
    per_field = out["per_field"]
    assert isinstance(per_field, dict)
    assert per_field["vendor"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3,
                                                 "match": 2, "mismatch": 1, "missing": 0, "extra": 0})
    assert per_field["date"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2,
                                               "match": 1, "mismatch": 0, "missing": 1, "extra": 0})
    notes = per_field["notes"]
    assert isinstance(notes, dict) and notes["support"] == 0 and notes["precision"] == 0.0


def test_aggregate_of_scored_records() -> None:
    metric = FieldF1(normalizers=NORMALIZERS)
    scores = [metric.score(task_ctx(json.dumps(a), INVOICE)) for a in
              ({"vendor": "Acme Corp", "date": "5 March 2024", "total": 1234.5, "currency": "EUR"},
               {"vendor": "Acme", "total": 99})]
    out = metric.aggregate([s.details for s in scores])
    # fields: 4 match; then vendor/total mismatch, date/currency missing -> TP 4, FP 2, FN 4
    assert out["micro_precision"] == pytest.approx(4 / 6) and out["micro_recall"] == pytest.approx(4 / 8)


# --- record_exact_match ------------------------------------------------------------------------


def test_record_exact_match() -> None:
    metric = RecordExactMatch(normalizers=NORMALIZERS)
    good = {"vendor": "acme corp", "date": "05.03.2024", "total": "1234.50", "currency": "eur"}
    assert metric.score(task_ctx(json.dumps(good), INVOICE)).passed is True
    extra = {**good, "notes": "x"}
    s = metric.score(task_ctx(json.dumps(extra), INVOICE))
    assert (s.value, s.passed) == (0.0, False) and "notes extra" in s.reason
    lenient = RecordExactMatch(normalizers=NORMALIZERS, ignore_extra=True)
    assert lenient.score(task_ctx(json.dumps(extra), INVOICE)).passed is True
    missing = {k: v for k, v in good.items() if k != "date"}
    assert lenient.score(task_ctx(json.dumps(missing), INVOICE)).passed is False
    assert metric.score(task_ctx("not json", INVOICE)).value == 0.0
