"""The trajectory algebra: argument matchers, step matching, exact / in-order / any-order matchers.

Every expected number here was worked out by hand from the rules in the module docstring of
`agenteval.metrics.trajectory_match`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import JsonValue, ValidationError

from agenteval.errors import ConfigError
from agenteval.metrics.trajectory_match import (
    any_order_match,
    compare_args,
    exact_match,
    in_order_match,
    name_assignment,
    normalize_string,
    step_matches,
    values_equal,
)
from agenteval.schema import ExpectedToolCall, ToolCall
from agenteval.suite.loader import load_suite, sample_hash


def step(tool: str, **options: Any) -> ExpectedToolCall:
    return ExpectedToolCall.model_validate({"tool": tool, **options})


def call(tool: str, error: str | None = None, **args: JsonValue) -> ToolCall:
    return ToolCall(tool=tool, args=args, error=error)


# --- values and normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("April 1, 2024", "april 1 2024"),
    ("New-York", "new york"),
    ("  San   Francisco ", "sanfrancisco"),
    ("x**2", "x^2"),  # BFCL also strips * and ^
    ("it's", 'it"s'),
    ("Straße", "STRASSE"),  # case folding, not just lower()
])
def test_normalize_string_equates_bfcl_variants(a: str, b: str) -> None:
    assert normalize_string(a) == normalize_string(b)


def test_normalize_string_keeps_other_punctuation() -> None:
    assert normalize_string("a+b") != normalize_string("ab")
    assert normalize_string("(x)") == "(x)"


@pytest.mark.parametrize(("expected", "got", "equal"), [
    (5.0, 5, True),  # an int is accepted for a float
    (5, 5.0, True),
    (5, True, False),  # a bool is never a number
    (True, True, True),
    ("5", 5, False),
    ([1, "Paris"], [1.0, "paris"], True),  # lists element-wise, nested strings normalised
    ([1, 2], [2, 1], False),
    ([1], [1, 1], False),
    ({"a": "Hello World"}, {"a": "hello-world"}, True),  # dicts recursively
    ({"a": 1}, {"a": 1, "b": 2}, False),
    (None, None, True),
    (None, "", False),
])
def test_values_equal(expected: JsonValue, got: JsonValue, equal: bool) -> None:
    assert values_equal(expected, got) is equal


def test_values_equal_without_normalisation_is_exact() -> None:
    assert not values_equal("Paris", "paris", normalize=False)
    assert values_equal("Paris", "Paris", normalize=False)


# --- one step: every matcher ----------------------------------------------------------------------


def test_exact_is_the_default_and_normalises_strings() -> None:
    s = step("weather", args={"city": "New York", "days": 3})
    assert step_matches(s, call("weather", city="new-york", days=3.0)).ok
    assert not step_matches(s, call("weather", city="Boston", days=3)).ok
    strict = step("weather", args={"city": "New York", "days": 3}, normalize=False)
    assert not step_matches(strict, call("weather", city="new york", days=3)).ok


def test_any_ignores_the_value_and_allows_absence() -> None:
    s = step("search", args={"q": "cats"}, args_match={"limit": "any"})
    assert step_matches(s, call("search", q="cats", limit=99)).ok
    assert step_matches(s, call("search", q="cats")).ok


def test_one_of_with_empty_string_lets_the_argument_be_absent() -> None:
    s = step("area", args_match={"unit": {"one_of": ["cm", "centimetres", ""]}})
    assert step_matches(s, call("area", unit="CM")).ok
    assert step_matches(s, call("area")).ok
    assert step_matches(s, call("area", unit="")).ok  # "" given explicitly is listed too
    assert not step_matches(s, call("area", unit="inches")).ok


def test_one_of_without_absent_marker_requires_the_argument() -> None:
    s = step("area", args_match={"unit": {"one_of": ["cm"]}})
    result = step_matches(s, call("area"))
    assert not result.ok and "missing argument 'unit'" in result.reason
    nullable = step("area", args_match={"unit": {"one_of": ["cm", None]}})
    assert step_matches(nullable, call("area")).ok


def test_fuzzy_uses_rapidfuzz_ratio_over_100() -> None:
    # ratio("colour", "color") = 2 * 5 / 11 = 0.909
    assert step_matches(step("t", args={"s": "colour"}, args_match={"s": {"fuzzy": 0.9}}), call("t", s="Color")).ok
    assert not step_matches(step("t", args={"s": "colour"}, args_match={"s": {"fuzzy": 0.95}}),
                            call("t", s="color")).ok
    assert not step_matches(step("t", args={"s": "5"}, args_match={"s": {"fuzzy": 0.5}}), call("t", s=5)).ok


def test_regex_is_a_full_match_and_reads_numbers_as_json() -> None:
    s = step("order", args_match={"id": {"regex": "A-\\d{3}"}})
    assert step_matches(s, call("order", id="A-123")).ok
    assert not step_matches(s, call("order", id="A-1234")).ok  # fullmatch, not search
    assert not step_matches(s, call("order", id="a-123")).ok  # no normalisation for regex
    assert step_matches(step("n", args_match={"k": {"regex": "\\d+"}}), call("n", k=42)).ok


def test_numeric_absolute_and_relative_tolerance() -> None:
    absolute = step("pay", args={"amount": 10.0}, args_match={"amount": {"numeric": {"tol": 0.01}}})
    assert step_matches(absolute, call("pay", amount=10.009)).ok
    assert not step_matches(absolute, call("pay", amount=10.02)).ok
    relative = step("pay", args={"amount": 200}, args_match={"amount": {"numeric": {"rel": 0.05}}})
    assert step_matches(relative, call("pay", amount=209)).ok  # 5% of 200 = 10
    assert not step_matches(relative, call("pay", amount=211)).ok
    assert not step_matches(absolute, call("pay", amount="10.0")).ok  # a string is not a number
    assert not step_matches(absolute, call("pay", amount=True)).ok


def test_extra_arguments_prevent_a_match_unless_ignored() -> None:
    got = call("search", q="cats", lang="en")
    plain = step_matches(step("search", args={"q": "cats"}), got)
    assert not plain.ok and "unexpected argument 'lang'" in plain.reason
    lenient = step_matches(step("search", args={"q": "cats"}, ignore_extra_args=True), got)
    # Matches, but the extra argument still lowers precision: P = 1/2, R = 1 -> F1 = 2/3.
    assert lenient.ok and lenient.arg_f1 == pytest.approx(2 / 3)


def test_argument_f1_by_hand() -> None:
    s = step("t", args={"a": 1, "b": 2, "c": 3})
    cmp = compare_args(s, {"a": 1, "b": 9, "d": 4})
    # correct {a}; predicted {a, b, d}; expected {a, b, c}: P = R = 1/3.
    assert (cmp.precision, cmp.recall, cmp.f1) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert not cmp.ok
    # An absent optional argument is not in recall's denominator; a given one is.
    opt = step("t", args={"a": 1}, args_match={"b": {"one_of": [2, ""]}})
    assert compare_args(opt, {"a": 1}).f1 == 1.0
    assert compare_args(opt, {"a": 1, "b": 3}).recall == pytest.approx(1 / 2)
    assert compare_args(step("t"), {}).f1 == 1.0


def test_a_call_with_a_parse_error_never_matches() -> None:
    result = step_matches(step("t", args={"a": 1}), call("t", error="invalid JSON", a=1))
    assert not result.ok and result.arg_f1 == 0.0 and "could not be parsed" in result.reason


def test_tool_names_are_compared_exactly() -> None:
    assert not step_matches(step("Search"), call("search")).ok


# --- the step schema -------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"optinal": True}, "did you mean 'optional'"),
    ({"args_match": {"x": "exactly"}}, "an argument matcher is"),
    ({"args_match": {"x": {"oneof": [1]}}}, "an argument matcher is"),
    ({"args": {"x": "a"}, "args_match": {"x": {"fuzzy": 1.5}}}, "argument 'x': fuzzy"),
    ({"args_match": {"x": {"regex": "("}}}, "invalid regular expression"),
    ({"args_match": {"x": {"one_of": []}}}, "at least 1 item"),
    ({"args": {"x": 1}, "args_match": {"x": {"one_of": [1, 2]}}}, "remove args.x"),
    ({"args_match": {"x": {"numeric": {"tol": 0.1}}}}, "no expected value in `args`"),
    ({"args": {"x": "1"}, "args_match": {"x": {"numeric": {"tol": 0.1}}}}, "needs a number"),
])
def test_bad_steps_are_rejected_with_a_clear_message(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("*", r"\*")):
        step("t", **options)


def test_a_bad_matcher_in_a_suite_file_names_file_and_line(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\nmetrics: [trajectory_exact_match]\nsamples:\n"
        "  - input: hi\n    expected_trajectory:\n"
        "      - tool: t\n        args_match: {x: {fuzy: 0.9}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_suite(suite)
    assert f"{suite}:" in str(info.value) and "an argument matcher is" in str(info.value)


def test_a_plain_step_serialises_and_hashes_as_before() -> None:
    plain = step("lookup", args={"id": "1"})
    assert plain.model_dump(mode="json") == {"tool": "lookup", "args": {"id": "1"}}
    rich = step("lookup", optional=True, args_match={"id": "any"})
    assert rich.model_dump(mode="json") == {"tool": "lookup", "args": {}, "optional": True,
                                            "args_match": {"id": "any"}}
    assert ExpectedToolCall.model_validate(rich.model_dump(mode="json")) == rich
    from agenteval.schema import Sample

    a = Sample(input="q", expected_trajectory=[plain])
    b = Sample(input="q", expected_trajectory=[step("lookup", args={"id": "1"}, optional=True)])
    assert sample_hash(a) != sample_hash(b)  # options are part of what the sample expects


def test_example_args_fill_one_of_with_its_first_present_value() -> None:
    s = step("t", args={"a": 1}, args_match={"b": {"one_of": ["", "x"]}, "c": "any"})
    assert s.example_args() == {"a": 1, "b": "x"}


# --- exact ------------------------------------------------------------------------------------------

A, B, C = step("a"), step("b"), step("c")
ca, cb, cc = call("a"), call("b"), call("c")


def test_exact_needs_same_length_and_order() -> None:
    assert exact_match([A, B], [ca, cb]).ok
    assert not exact_match([A, B], [cb, ca]).ok
    assert not exact_match([A, B], [ca, cb, cc]).ok
    assert not exact_match([A, B], [ca]).ok
    assert not exact_match([A], [ca, ca]).ok  # a duplicate is an extra call


def test_exact_skips_optional_steps() -> None:
    steps = [A, step("b", optional=True), C]
    assert exact_match(steps, [ca, cc]).ok
    assert exact_match(steps, [ca, cb, cc]).ok
    assert not exact_match(steps, [ca, cb, cb, cc]).ok


def test_exact_repeat_absorbs_consecutive_calls_only() -> None:
    steps = [step("a", repeat=True), B]
    assert exact_match(steps, [ca, ca, ca, cb]).ok
    assert not exact_match(steps, [cb]).ok  # repeat means one or more
    assert not exact_match(steps, [ca, cb, ca]).ok
    assert exact_match([step("a", repeat=True, optional=True), B], [cb]).ok  # zero or more


def test_exact_reason_points_at_the_argument() -> None:
    result = exact_match([step("w", args={"city": "Paris"})], [call("w", city="Lyon")])
    assert result.reason == 'step 1 `w`: call 1 argument \'city\': expected "Paris", got "Lyon"'


# --- in order ---------------------------------------------------------------------------------------


def test_in_order_allows_extra_calls_between_and_around() -> None:
    assert in_order_match([A, B], [cc, ca, cc, cb, cc]).ok
    assert not in_order_match([A, B], [cb, ca]).ok
    assert not in_order_match([A, B, A], [ca, cb]).ok  # each step needs its own call
    result = in_order_match([A, B], [cb, ca])
    assert result.missing == (1,) and "out of order" in result.reason


def test_in_order_optional_and_repeat() -> None:
    steps = [A, step("b", optional=True), C]
    assert in_order_match(steps, [ca, cc]).ok
    assert in_order_match(steps, [cb, ca, cc]).ok  # an optional step out of order is just skipped
    repeat = [step("a", repeat=True), B]
    result = in_order_match(repeat, [ca, cc, ca, cb])
    assert result.ok and [p.call for p in result.pairs] == [0, 2, 3]  # absorbs non-consecutive calls


# --- any order, precision, recall -------------------------------------------------------------------


def test_any_order_ignores_order_and_allows_extras() -> None:
    assert any_order_match([A, B], [cb, cc, ca]).ok
    assert not any_order_match([A, A], [ca]).ok  # distinct calls


def test_duplicates_count_as_multisets() -> None:
    result = any_order_match([A], [ca, ca])
    assert (result.precision, result.recall) == (0.5, 1.0)
    result = any_order_match([A, A], [ca])
    assert (result.precision, result.recall) == (1.0, 0.5)


def test_repeat_step_counts_once_in_recall_and_absorbs_for_precision() -> None:
    result = any_order_match([step("a", repeat=True), B], [ca, ca, ca])
    # a takes all three calls (precision 3/3); b is missing (recall 1/2).
    assert (result.precision, result.recall, result.ok) == (1.0, 0.5, False)


def test_optional_steps_count_in_recall_only_when_matched() -> None:
    steps = [A, B, step("c", optional=True)]
    result = any_order_match(steps, [cb, ca, ca, call("d")])
    assert (result.precision, result.recall) == (0.5, 1.0)  # 2 of 4 calls; 2 of 2 required steps
    result = any_order_match(steps, [cc, ca])
    assert (result.precision, result.recall) == (1.0, pytest.approx(2 / 3))  # (a + c) / (2 + 1)


def test_optimal_assignment_succeeds_where_greedy_fails() -> None:
    # Step 1 accepts either call, step 2 only the first. First-fit (BFCL's parallel checker) gives
    # call 1 to step 1 and then finds nothing for step 2; the optimal assignment crosses them.
    loose = step("f", args={"y": 1}, args_match={"x": "any"})
    tight = step("f", args={"y": 1, "x": 2})
    calls = [call("f", y=1, x=2), call("f", y=1)]
    result = any_order_match([loose, tight], calls)
    assert result.ok and sorted((p.step, p.call) for p in result.pairs) == [(0, 1), (1, 0)]
    assert (result.precision, result.recall) == (1.0, 1.0)


def test_a_repeat_step_does_not_starve_a_specific_step() -> None:
    # "take every matching call" for the repeat step would leave the x=1 step unmatched.
    steps = [step("f", repeat=True, args_match={"x": "any"}), step("f", args={"x": 1})]
    result = any_order_match(steps, [call("f", x=1), call("f", x=2)])
    assert result.ok and (result.precision, result.recall) == (1.0, 1.0)


def test_ties_are_broken_by_argument_f1() -> None:
    s = step("f", args={"q": "x"}, ignore_extra_args=True)
    result = any_order_match([s], [call("f", q="x", extra=1), call("f", q="x")])
    assert [p.call for p in result.pairs] == [1]  # the call without the extra argument (F1 1.0)
    names = name_assignment([step("g", args={"a": 1}), step("g", args={"a": 2})],
                            [call("g", a=2), call("g", a=1)])
    assert sorted((p.step, p.call, p.arg_f1) for p in names.pairs) == [(0, 1, 1.0), (1, 0, 1.0)]


def test_parse_errors_are_never_matched() -> None:
    result = any_order_match([A], [call("a", error="bad JSON")])
    assert not result.ok and (result.precision, result.recall) == (0.0, 0.0)


@pytest.mark.parametrize(("steps", "calls", "exact", "in_order", "any_order", "precision", "recall"), [
    ([], [], True, True, True, 1.0, 1.0),
    ([A], [], False, False, False, 0.0, 0.0),
    ([], [ca], False, True, True, 0.0, 1.0),
    ([step("a", optional=True)], [], True, True, True, 1.0, 1.0),  # all-optional = empty reference
    ([step("a", optional=True)], [cb], False, True, True, 0.0, 1.0),
])
def test_empty_cases(steps: list[ExpectedToolCall], calls: list[ToolCall], exact: bool, in_order: bool,
                     any_order: bool, precision: float, recall: float) -> None:
    assert exact_match(steps, calls).ok is exact
    assert in_order_match(steps, calls).ok is in_order
    result = any_order_match(steps, calls)
    assert (result.ok, result.precision, result.recall) == (any_order, precision, recall)


# --- property: any order does not depend on the order of the calls ----------------------------------

_tools = st.sampled_from(["a", "b"])
_steps = st.builds(
    lambda tool, x, optional, repeat, loose: step(
        tool, args={} if loose else {"x": x}, optional=optional, repeat=repeat,
        args_match={"x": "any"} if loose else {}),
    _tools, st.integers(0, 1), st.booleans(), st.booleans(), st.booleans())
_calls = st.builds(lambda tool, x: call(tool, x=x), _tools, st.integers(0, 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(_steps, max_size=4), st.lists(_calls, max_size=5), st.randoms(use_true_random=False))
def test_shuffling_calls_never_changes_any_order_precision_or_recall(
    steps: list[ExpectedToolCall], calls: list[ToolCall], rnd: random.Random,
) -> None:
    before = any_order_match(steps, calls)
    shuffled = list(calls)
    rnd.shuffle(shuffled)
    after = any_order_match(steps, shuffled)
    assert (after.ok, after.precision, after.recall) == (before.ok, before.precision, before.recall)
    total = sum(p.arg_f1 for p in before.pairs)
    assert sum(p.arg_f1 for p in after.pairs) == pytest.approx(total)
    permuted = list(reversed(steps))  # nor on the order of the steps
    again = any_order_match(permuted, calls)
    assert (again.ok, again.precision, again.recall) == (before.ok, before.precision, before.recall)


@settings(max_examples=300, deadline=None)
@given(st.lists(_steps, max_size=4), st.lists(_calls, max_size=5))
def test_exact_implies_in_order_implies_any_order(steps: list[ExpectedToolCall], calls: list[ToolCall]) -> None:
    exact, in_order, any_order = (exact_match(steps, calls).ok, in_order_match(steps, calls).ok,
                                  any_order_match(steps, calls).ok)
    assert not exact or in_order
    assert not in_order or any_order
