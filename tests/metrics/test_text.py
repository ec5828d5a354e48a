"""Text metrics: exact_match, includes, regex, fuzzy_match, numeric_match."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agenteval.metrics.text import ExactMatch, FuzzyMatch, Includes, NumericMatch, RegexMatch

from .conftest import MakeCtx

# --- exact_match -------------------------------------------------------------------------------


def test_exact_match_defaults_ignore_case_and_whitespace(make_ctx: MakeCtx) -> None:
    s = ExactMatch().score(make_ctx("  New   YORK \n", "new york"))
    assert (s.value, s.passed) == (1.0, True)


def test_exact_match_miss_is_zero_and_says_what_was_expected(make_ctx: MakeCtx) -> None:
    s = ExactMatch().score(make_ctx("Lyon", "Paris"))
    assert (s.value, s.passed) == (0.0, False)
    assert "'Paris'" in s.reason and "'Lyon'" in s.reason


def test_exact_match_case_and_whitespace_can_be_kept(make_ctx: MakeCtx) -> None:
    assert ExactMatch(ignore_case=False).score(make_ctx("paris", "Paris")).passed is False
    assert ExactMatch(ignore_whitespace=False).score(make_ctx("Paris ", "Paris")).passed is False


def test_exact_match_punctuation_only_ignored_when_asked(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("Paris!", "paris")
    assert ExactMatch().score(ctx).passed is False
    assert ExactMatch(ignore_punctuation=True).score(ctx).passed is True
    assert ExactMatch(ignore_punctuation=True).score(make_ctx("«Paris»", "Paris")).passed is True


def test_exact_match_articles_squad_style(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("The Eiffel Tower", "eiffel tower")
    assert ExactMatch().score(ctx).passed is False
    assert ExactMatch(ignore_articles=True).score(ctx).passed is True
    # only whole words are articles: "theory" keeps its "the"
    assert ExactMatch(ignore_articles=True).score(make_ctx("theory", "ory")).passed is False


def test_exact_match_normalise_squad_order() -> None:
    m = ExactMatch(ignore_punctuation=True, ignore_articles=True)
    assert m.normalise("  The  cat's   hat, an heirloom. ") == "cats hat heirloom"


def test_exact_match_any_acceptable_answer(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("lutetia", ["Paris", "Lutetia"])
    assert ExactMatch().score(ctx).value == 1.0
    miss = ExactMatch().score(make_ctx("Rome", ["Paris", "Lutetia"]))
    assert miss.value == 0.0 and "2 acceptable answers" in miss.reason


def test_exact_match_non_string_expected_compared_as_json(make_ctx: MakeCtx) -> None:
    assert ExactMatch().score(make_ctx("42", 42)).passed is True
    assert ExactMatch().score(make_ctx("true", True)).passed is True
    assert ExactMatch().score(make_ctx('{"a": 1}', {"a": 1})).passed is True


def test_exact_match_without_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = ExactMatch().score(make_ctx("anything", None))
    assert s.value is None and s.passed is None
    assert s.error == "sample has no expected answer"


def test_exact_match_config_is_validated_and_frozen() -> None:
    with pytest.raises(ValidationError):
        ExactMatch.model_validate({"ignore_cases": True})
    with pytest.raises(ValidationError):
        ExactMatch.model_validate({"ignore_case": "sometimes"})
    m = ExactMatch()
    with pytest.raises(ValidationError):
        m.ignore_case = False


# --- includes ----------------------------------------------------------------------------------


def test_includes_finds_answer_inside_output(make_ctx: MakeCtx) -> None:
    s = Includes().score(make_ctx("I think the capital is PARIS, France.", "paris"))
    assert (s.value, s.passed) == (1.0, True)


def test_includes_respects_case_when_asked(make_ctx: MakeCtx) -> None:
    assert Includes(ignore_case=False).score(make_ctx("PARIS", "Paris")).passed is False
    assert Includes(ignore_case=False).score(make_ctx("in Paris", "Paris")).passed is True


def test_includes_any_of_several_and_miss(make_ctx: MakeCtx) -> None:
    assert Includes().score(make_ctx("Roma, of course", ["Rome", "Roma"])).passed is True
    miss = Includes().score(make_ctx("Milan", ["Rome", "Roma"]))
    assert (miss.value, miss.passed) == (0.0, False)
    assert "'Rome'" in miss.reason


def test_includes_without_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = Includes().score(make_ctx("Paris", []))
    assert s.value is None and s.error


# --- regex -------------------------------------------------------------------------------------


def test_regex_configured_pattern_searches_anywhere(make_ctx: MakeCtx) -> None:
    m = RegexMatch(pattern=r"\b\d{4}\b")
    assert m.score(make_ctx("It happened in 1999, I think.")).passed is True
    assert m.score(make_ctx("It happened in 99.")).passed is False


def test_regex_full_match_needs_whole_stripped_output(make_ctx: MakeCtx) -> None:
    m = RegexMatch(pattern=r"\d{4}", full_match=True)
    assert m.score(make_ctx(" 1999\n")).passed is True
    s = m.score(make_ctx("in 1999"))
    assert (s.value, s.passed) == (0.0, False)


def test_regex_acceptable_answers_are_patterns(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("Sure thing", [r"^yes\b", r"^sure\b"])
    assert RegexMatch().score(ctx).passed is False
    assert RegexMatch(ignore_case=True).score(ctx).passed is True


def test_regex_invalid_expected_pattern_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = RegexMatch().score(make_ctx("abc", "(unclosed"))
    assert s.value is None
    assert s.error is not None and "invalid regular expression" in s.error


def test_regex_invalid_configured_pattern_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        RegexMatch(pattern="(unclosed")


def test_regex_without_pattern_or_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    assert RegexMatch().score(make_ctx("abc", None)).error == "sample has no expected answer"


# --- fuzzy_match -------------------------------------------------------------------------------


def test_fuzzy_ratio_hand_computed(make_ctx: MakeCtx) -> None:
    # Indel: LCS("kitten", "sitting") = "ittn" (4); ratio = 2*4 / (6+7) = 8/13
    s = FuzzyMatch().score(make_ctx("kitten", "sitting"))
    assert s.value == pytest.approx(8 / 13)
    assert s.passed is False  # default threshold 0.85
    assert FuzzyMatch(threshold=0.6).score(make_ctx("kitten", "sitting")).passed is True


def test_fuzzy_threshold_is_inclusive(make_ctx: MakeCtx) -> None:
    s = FuzzyMatch(threshold=0.5).score(make_ctx("ab", "abcd"))  # 2*2/(2+4) = 0.667
    assert s.value == pytest.approx(2 / 3) and s.passed is True
    assert FuzzyMatch(threshold=1.0).score(make_ctx("Paris ", "paris")).passed is True


def test_fuzzy_ignore_case(make_ctx: MakeCtx) -> None:
    assert FuzzyMatch().score(make_ctx("PARIS", "paris")).value == 1.0
    assert FuzzyMatch(ignore_case=False).score(make_ctx("PARIS", "paris")).value == 0.0


def test_fuzzy_scorers_differ(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("york new", "new york")
    assert FuzzyMatch(scorer="token_sort_ratio").score(ctx).value == 1.0
    assert FuzzyMatch(scorer="ratio").score(ctx).value == pytest.approx(0.5)  # LCS "york": 8/16
    inside = make_ctx("It is Paris, France", "Paris")
    assert FuzzyMatch(scorer="partial_ratio").score(inside).value == 1.0
    assert FuzzyMatch(scorer="token_set_ratio").score(make_ctx("the new york", "new york")).value == 1.0


def test_fuzzy_best_acceptable_answer(make_ctx: MakeCtx) -> None:
    s = FuzzyMatch().score(make_ctx("kitten", ["sitting", "kitten"]))
    assert s.value == 1.0 and "'kitten'" in s.reason


def test_fuzzy_invalid_config() -> None:
    with pytest.raises(ValidationError):
        FuzzyMatch(threshold=2)
    with pytest.raises(ValidationError):
        FuzzyMatch.model_validate({"scorer": "WRatio"})


def test_fuzzy_without_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    assert FuzzyMatch().score(make_ctx("x")).value is None


# --- numeric_match -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("The answer is 1,234.5.", 1234.5),
        ("The answer is 1,234.5.", "1,234.5"),
        ("Result: -1.5e3", -1500),
        ("Result: \u22122", -2),
        ("Growth was 12.5%", 12.5),
        ("about .5 of them", 0.5),
        ("gpt-4", 4),
        ("答案是42", "42"),
    ],
)
def test_numeric_reads_written_numbers(make_ctx: MakeCtx, output: str, expected: float | str) -> None:
    s = NumericMatch().score(make_ctx(output, expected))
    assert (s.value, s.passed) == (1.0, True), s.reason


def test_numeric_last_first_only(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("From 3 apples we get 7", 7)
    assert NumericMatch().score(ctx).passed is True
    assert NumericMatch(extract="first").score(ctx).passed is False
    only = NumericMatch(extract="only").score(ctx)
    assert (only.value, only.passed) == (0.0, False) and "found 2" in only.reason
    assert NumericMatch(extract="only").score(make_ctx("exactly 7", 7)).passed is True


def test_numeric_version_strings_are_not_numbers(make_ctx: MakeCtx) -> None:
    s = NumericMatch(extract="first").score(make_ctx("v2 says 10, see v1.2", 10))
    assert s.passed is True


def test_numeric_tolerances(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("pi is 3.14", 3.14159)
    assert NumericMatch().score(ctx).passed is False
    assert NumericMatch(abs_tol=0.01).score(ctx).passed is True
    assert NumericMatch(rel_tol=0.001).score(ctx).passed is True  # 0.00159 <= 0.00314
    assert NumericMatch(rel_tol=0.0001).score(ctx).passed is False  # 0.00159 > 0.000314


def test_numeric_any_acceptable_answer(make_ctx: MakeCtx) -> None:
    assert NumericMatch().score(make_ctx("12", [10, 12])).passed is True
    miss = NumericMatch().score(make_ctx("11", [10, 12]))
    assert miss.passed is False and "10 or 12" in miss.reason


def test_numeric_no_number_in_output_is_a_measured_fail(make_ctx: MakeCtx) -> None:
    s = NumericMatch().score(make_ctx("I don't know", 5))
    assert (s.value, s.passed, s.error) == (0.0, False, None)
    assert "no number" in s.reason


@pytest.mark.parametrize("expected", ["banana", "12 apples", True, {"n": 1}])
def test_numeric_non_numeric_expected_is_unmeasured(make_ctx: MakeCtx, expected: object) -> None:
    s = NumericMatch().score(make_ctx("12", expected))  # type: ignore[arg-type]
    assert s.value is None and s.error is not None and "not a number" in s.error


def test_numeric_without_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    assert NumericMatch().score(make_ctx("12")).error == "sample has no expected answer"


def test_numeric_invalid_config() -> None:
    with pytest.raises(ValidationError):
        NumericMatch(abs_tol=-1)
    with pytest.raises(ValidationError):
        NumericMatch.model_validate({"extract": "middle"})
