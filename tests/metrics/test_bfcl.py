"""BFCL's AST-checker semantics, reproduced with `one_of` matchers on a subset of its test data.

Each `possible_answer` entry (`[{func: {param: [acceptable values]}}]`) becomes an expected
trajectory: one step per call, one `one_of` matcher per parameter ("" in the list = may be absent).
BFCL data: https://github.com/ShishirPatil/gorilla (Apache-2.0), copied under /work/shared/data/bfcl.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from agenteval.metrics.trajectory_match import (
    any_order_match,
    exact_match,
    in_order_match,
    step_matches,
    values_equal,
)
from agenteval.schema import ExpectedToolCall, ToolCall

BFCL = Path(__file__).resolve().parents[3] / "shared" / "data" / "bfcl"
CATEGORIES = ["simple_python", "multiple", "parallel", "parallel_multiple"]

if not (BFCL / "possible_answer").is_dir():
    pytest.skip(f"BFCL subset not found at {BFCL} (see its README for where it comes from)",
                allow_module_level=True)


def _load(category: str) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(id, {function name: schema}, ground_truth) for every item of a category."""
    questions = (BFCL / f"BFCL_v4_{category}.jsonl").read_text().splitlines()
    answers = (BFCL / "possible_answer" / f"BFCL_v4_{category}.jsonl").read_text().splitlines()
    items = []
    for q_line, a_line in zip(questions, answers, strict=True):
        q, a = json.loads(q_line), json.loads(a_line)
        assert q["id"] == a["id"]
        items.append((q["id"], {f["name"]: f for f in q["function"]}, a["ground_truth"]))
    return items


ITEMS = [item for category in CATEGORIES for item in _load(category)]
PARALLEL = [item for item in ITEMS if item[0].startswith("parallel")]


def _expand(value: JsonValue) -> list[JsonValue]:
    """A BFCL acceptable value as concrete values: a dict maps each key to its acceptable values."""
    if not isinstance(value, dict):
        return [value]
    choices = [[(key, v) for v in options] for key, options in value.items() if isinstance(options, list)]
    return [{k: v for k, v in combo if v != ""} for combo in itertools.product(*choices)]


def to_step(name: str, params: dict[str, list[JsonValue]], required: list[str] | None = None) -> ExpectedToolCall:
    """A BFCL ground-truth call as a step; with `required`, "" is dropped for schema-required params."""
    args_match: dict[str, Any] = {}
    for param, values in params.items():
        if required is not None and param in required:
            values = [v for v in values if v != ""]
        args_match[param] = {"one_of": [x for v in values for x in _expand(v)]}
    return ExpectedToolCall.model_validate({"tool": name, "args_match": args_match})


def _steps(truth: list[dict[str, Any]]) -> list[ExpectedToolCall]:
    return [to_step(name, params) for entry in truth for name, params in entry.items()]


def _first_present(values: list[JsonValue]) -> JsonValue:
    return next(v for v in values if v != "")


def _correct_call(name: str, params: dict[str, list[JsonValue]]) -> ToolCall:
    """The call built from the first acceptable value of every parameter ("" first = left out)."""
    args = {p: _expand(v[0])[0] for p, v in params.items() if v and v[0] != ""}
    return ToolCall(tool=name, args=args)


def _calls(truth: list[dict[str, Any]]) -> list[ToolCall]:
    return [_correct_call(name, params) for entry in truth for name, params in entry.items()]


def _unacceptable(values: list[JsonValue]) -> JsonValue:
    """A value of the same kind as the acceptable ones that none of them equals."""
    first = _first_present(values)
    if isinstance(first, bool):
        return not first
    if isinstance(first, (int, float)):
        return max(v for v in values if isinstance(v, (int, float))) + 1000.5
    if isinstance(first, list):
        return ["zzz unacceptable"] * (max(len(v) for v in values if isinstance(v, list)) + 1)
    if isinstance(first, dict):
        return {"zzz_unacceptable": 1}
    return "zzz unacceptable value"


def _calls_by_param() -> list[tuple[str, str, dict[str, list[JsonValue]], str]]:
    return [(item_id, name, params, param) for item_id, _, truth in ITEMS
            for entry in truth for name, params in entry.items() for param in params]


REQUIRED = [c for c in _calls_by_param() if "" not in c[2][c[3]]]
OPTIONAL = [c for c in _calls_by_param() if "" in c[2][c[3]]]


def test_the_subset_has_what_these_tests_need() -> None:
    assert len(ITEMS) == 140 and len(PARALLEL) == 50
    assert len(REQUIRED) > 300 and len(OPTIONAL) > 50


@pytest.mark.parametrize(("item_id", "functions", "truth"), ITEMS, ids=[i[0] for i in ITEMS])
def test_first_acceptable_values_match(item_id: str, functions: dict[str, Any], truth: list[dict[str, Any]]) -> None:
    steps, calls = _steps(truth), _calls(truth)
    for s, c in zip(steps, calls, strict=True):
        assert step_matches(s, c).ok, (item_id, step_matches(s, c).reason)
    assert exact_match(steps, calls).ok
    result = any_order_match(steps, calls)
    assert result.ok and (result.precision, result.recall) == (1.0, 1.0)


@pytest.mark.parametrize(("item_id", "name", "params", "param"), REQUIRED,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in REQUIRED])
def test_an_unacceptable_required_value_fails(item_id: str, name: str, params: dict[str, Any],
                                              param: str) -> None:
    s, good = to_step(name, params), _correct_call(name, params)
    bad_value = _unacceptable(params[param])
    assert not any(values_equal(v, bad_value) for v in params[param])
    bad = ToolCall(tool=name, args={**good.args, param: bad_value})
    result = step_matches(s, bad)
    assert not result.ok and f"argument {param!r}" in result.reason
    dropped = ToolCall(tool=name, args={k: v for k, v in good.args.items() if k != param})
    assert not step_matches(s, dropped).ok  # a required parameter cannot be left out either


@pytest.mark.parametrize(("item_id", "name", "params", "param"), OPTIONAL,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in OPTIONAL])
def test_dropping_an_optional_param_still_matches(item_id: str, name: str, params: dict[str, Any],
                                                  param: str) -> None:
    good = _correct_call(name, params)
    dropped = ToolCall(tool=name, args={k: v for k, v in good.args.items() if k != param})
    assert step_matches(to_step(name, params), dropped).ok


@pytest.mark.parametrize(("item_id", "functions", "truth"), PARALLEL, ids=[i[0] for i in PARALLEL])
def test_parallel_calls_match_in_any_order_but_not_in_order(item_id: str, functions: dict[str, Any],
                                                            truth: list[dict[str, Any]]) -> None:
    steps, calls = _steps(truth), _calls(truth)
    reversed_calls = list(reversed(calls))
    assert any_order_match(steps, reversed_calls).ok
    assert any_order_match(steps, reversed_calls).precision == 1.0
    in_order = in_order_match(steps, reversed_calls).ok
    # Same number of calls as steps, so in order means position by position.
    assert in_order == all(step_matches(s, c).ok for s, c in zip(steps, reversed_calls, strict=True))
    if [c.tool for c in reversed_calls] != [c.tool for c in calls]:
        assert not in_order


def test_strings_compare_as_bfcl_standardize_string() -> None:
    # route.estimate_time stops: ["Santa Barbara", "Monterey"] (simple_python_37).
    item = next(i for i in ITEMS if i[0] == "simple_python_37")
    ((name, params),) = item[2][0].items()
    good = _correct_call(name, params)
    shouted = {k: [x.upper().replace(" ", "  ") for x in v] if isinstance(v, list) and v and
               isinstance(v[0], str) else v for k, v in good.args.items()}
    assert shouted != good.args
    assert step_matches(to_step(name, params), ToolCall(tool=name, args=shouted)).ok


def test_ints_are_accepted_for_floats() -> None:
    # calculate_area_under_curve interval: [[1.0, 3.0]] (simple_python_13).
    item = next(i for i in ITEMS if i[0] == "simple_python_13")
    ((name, params),) = item[2][0].items()
    call = ToolCall(tool=name, args={**_correct_call(name, params).args, "interval": [1, 3]})
    assert step_matches(to_step(name, params), call).ok


def test_dict_params_expand_to_concrete_dicts() -> None:
    # realestate.find_properties budget: [{"min": [300000], "max": [400000]}] (multiple_8).
    item = next(i for i in ITEMS if i[0] == "multiple_8")
    ((name, params),) = item[2][0].items()
    s, good = to_step(name, params), _correct_call(name, params)
    assert good.args["budget"] == {"min": 300000, "max": 400000}
    assert step_matches(s, good).ok
    half = ToolCall(tool=name, args={**good.args, "budget": {"min": 300000}})
    assert not step_matches(s, half).ok


def test_schema_required_params_are_not_optional_in_bfcl() -> None:
    # simple_python_17 lists "" for `formatted`, but the function schema requires it, and BFCL's
    # checker tests required parameters first: leaving it out fails there. Converting with the
    # schema's `required` reproduces that.
    _, functions, truth = next(i for i in ITEMS if i[0] == "simple_python_17")
    ((name, params),) = truth[0].items()
    assert "" in params["formatted"] and "formatted" in functions[name]["parameters"]["required"]
    dropped = ToolCall(tool=name, args={"number": 450})
    assert step_matches(to_step(name, params), dropped).ok
    assert not step_matches(to_step(name, params, functions[name]["parameters"]["required"]), dropped).ok
