"""Structured metrics: json_valid, json_schema, json_field_match, and the shared JSON reader."""

from __future__ import annotations

import pytest
from pydantic import JsonValue, ValidationError

from agenteval.metrics.structured import JsonFieldMatch, JsonSchema, JsonValid, parse_json_output

from .conftest import MakeCtx

FENCED = 'Here you go:\n```json\n{"name": "Ada", "age": 36}\n```\nAnything else?'


# --- parse_json_output / json_valid ------------------------------------------------------------


def test_parse_json_output_sources() -> None:
    raw = parse_json_output(' {"a": 1} ')
    assert raw is not None and (raw.value, raw.source) == ({"a": 1}, "raw")
    fenced = parse_json_output(FENCED)
    assert fenced is not None and fenced.value == {"name": "Ada", "age": 36}
    assert fenced.source == "fenced block"
    plain_fence = parse_json_output("```\n[1, 2]\n```")
    assert plain_fence is not None and plain_fence.value == [1, 2]
    span = parse_json_output('Result: {bad} then [1, {"a": "}"}] end')
    assert span is not None and (span.value, span.source) == ([1, {"a": "}"}], "embedded span")


def test_parse_json_output_prefers_json_tagged_fence() -> None:
    text = "```python\n[0]\n```\n```json\n[1]\n```"
    parsed = parse_json_output(text)
    assert parsed is not None and parsed.value == [1]


def test_parse_json_output_without_extract_needs_raw_json() -> None:
    assert parse_json_output(FENCED, extract=False) is None
    null = parse_json_output("null", extract=False)
    assert null is not None and null.value is None


@pytest.mark.parametrize("output", ['{"a": 1}', "[1, 2]", "42", '"text"', FENCED, 'Sure: {"ok": true}.'])
def test_json_valid_passes(make_ctx: MakeCtx, output: str) -> None:
    s = JsonValid().score(make_ctx(output))
    assert (s.value, s.passed) == (1.0, True)


@pytest.mark.parametrize("output", ["not json at all", '{"a": 1', "NaN", '{"a": NaN}', "{'a': 1}", ""])
def test_json_valid_fails_measured(make_ctx: MakeCtx, output: str) -> None:
    s = JsonValid().score(make_ctx(output))
    assert (s.value, s.passed, s.error) == (0.0, False, None)


def test_json_valid_extract_off_rejects_fenced(make_ctx: MakeCtx) -> None:
    assert JsonValid(extract=False).score(make_ctx(FENCED)).passed is False
    assert "fenced block" in JsonValid().score(make_ctx(FENCED)).reason


# --- json_schema -------------------------------------------------------------------------------

PERSON: dict[str, JsonValue] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


def test_json_schema_from_args_alias(make_ctx: MakeCtx) -> None:
    m = JsonSchema.model_validate({"schema": PERSON})
    assert m.schema_ == PERSON
    assert m.score(make_ctx('{"name": "Ada", "age": 36}')).passed is True
    assert m.score(make_ctx(FENCED)).passed is True


def test_json_schema_failure_reason_names_path_and_message(make_ctx: MakeCtx) -> None:
    s = JsonSchema.model_validate({"schema": PERSON}).score(make_ctx('{"name": 3, "age": -1}'))
    assert (s.value, s.passed) == (0.0, False)
    assert "$." in s.reason and "and 1 more" in s.reason
    one = JsonSchema.model_validate({"schema": PERSON}).score(make_ctx('{"name": "Ada", "age": -1}'))
    assert one.reason == "$.age: -1 is less than the minimum of 0"


def test_json_schema_uses_suite_output_schema(make_ctx: MakeCtx) -> None:
    ctx = make_ctx('{"age": 3}', output_schema=PERSON)
    s = JsonSchema().score(ctx)
    assert s.passed is False and "'name' is a required property" in s.reason


def test_json_schema_argument_overrides_suite_schema(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("[1]", output_schema=PERSON)
    assert JsonSchema(schema={"type": "array"}).score(ctx).passed is True


def test_json_schema_no_schema_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = JsonSchema().score(make_ctx('{"a": 1}'))
    assert s.value is None and s.error is not None and "no schema" in s.error


def test_json_schema_output_not_json_fails(make_ctx: MakeCtx) -> None:
    s = JsonSchema(schema=PERSON).score(make_ctx("My name is Ada."))
    assert (s.value, s.passed) == (0.0, False) and "not JSON" in s.reason


def test_json_schema_defaults_to_draft_2020_12(make_ctx: MakeCtx) -> None:
    schema: dict[str, JsonValue] = {"type": "array", "prefixItems": [{"type": "integer"}]}
    assert JsonSchema(schema=schema).score(make_ctx('["a"]')).passed is False
    draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    assert JsonSchema(schema=draft7).score(make_ctx('["a"]')).passed is True  # unknown keyword there


def test_json_schema_checks_formats(make_ctx: MakeCtx) -> None:
    m = JsonSchema(schema={"type": "string", "format": "email"})
    assert m.score(make_ctx('"ada@example.org"')).passed is True
    assert m.score(make_ctx('"not an email"')).passed is False


def test_json_schema_invalid_schema(make_ctx: MakeCtx) -> None:
    with pytest.raises(ValidationError, match="invalid JSON Schema"):
        JsonSchema.model_validate({"schema": {"type": "nonsense"}})
    s = JsonSchema().score(make_ctx("{}", output_schema={"type": 5}))
    assert s.value is None and s.error is not None and "invalid JSON Schema" in s.error


def test_json_schema_unknown_argument() -> None:
    with pytest.raises(ValidationError):
        JsonSchema.model_validate({"schemas": PERSON})


# --- json_field_match --------------------------------------------------------------------------

ADA: dict[str, JsonValue] = {"name": "Ada", "address": {"city": "Paris", "zip": "75001"}}


def test_field_match_fraction_and_named_mismatch(make_ctx: MakeCtx) -> None:
    out = '{"name": "Ada", "address": {"city": "Lyon", "zip": "75001"}, "extra": 1}'
    s = JsonFieldMatch().score(make_ctx(out, ADA))
    assert s.value == pytest.approx(2 / 3) and s.passed is False
    assert 'address.city (expected "Paris", got "Lyon")' in s.reason
    assert "zip" not in s.reason


def test_field_match_selected_fields(make_ctx: MakeCtx) -> None:
    out = '{"name": "Bob", "address": {"city": "Paris"}}'
    s = JsonFieldMatch(fields=["address.city"]).score(make_ctx(out, ADA))
    assert (s.value, s.passed) == (1.0, True)


def test_field_match_missing_field_in_output(make_ctx: MakeCtx) -> None:
    s = JsonFieldMatch().score(make_ctx('{"name": "Ada"}', ADA))
    assert s.value == pytest.approx(1 / 3)
    assert "address.city (expected \"Paris\", got missing)" in s.reason


def test_field_match_strings_strip_and_casefold(make_ctx: MakeCtx) -> None:
    ctx = make_ctx('{"name": " ada "}', {"name": "Ada"})
    assert JsonFieldMatch().score(ctx).passed is True
    assert JsonFieldMatch(ignore_case=False).score(ctx).passed is False


def test_field_match_numbers_with_tolerance_not_bools(make_ctx: MakeCtx) -> None:
    assert JsonFieldMatch().score(make_ctx('{"x": 0.30000000000000004, "n": 1.0}', {"x": 0.3, "n": 1})).value == 1.0
    assert JsonFieldMatch().score(make_ctx('{"x": 0.3001}', {"x": 0.3})).value == 0.0
    assert JsonFieldMatch().score(make_ctx('{"flag": 1}', {"flag": True})).value == 0.0
    assert JsonFieldMatch().score(make_ctx('{"n": "1"}', {"n": 1})).value == 0.0


def test_field_match_lists_are_leaves_in_order(make_ctx: MakeCtx) -> None:
    expected: JsonValue = {"tags": ["a", "B"], "id": 1}
    assert JsonFieldMatch().score(make_ctx('{"tags": ["A", "b"], "id": 1}', expected)).value == 1.0
    assert JsonFieldMatch().score(make_ctx('{"tags": ["b", "a"], "id": 1}', expected)).value == 0.5


def test_field_match_list_index_path(make_ctx: MakeCtx) -> None:
    expected: JsonValue = {"items": [{"sku": "A1"}, {"sku": "B2"}]}
    m = JsonFieldMatch(fields=["items.1.sku"])
    assert m.score(make_ctx('{"items": [{"sku": "zz"}, {"sku": "b2"}]}', expected)).passed is True
    assert m.score(make_ctx('{"items": [{"sku": "B2"}]}', expected)).passed is False


def test_field_match_expected_as_json_string_and_fenced_output(make_ctx: MakeCtx) -> None:
    s = JsonFieldMatch().score(make_ctx(FENCED, '{"name": "Ada", "age": 36}'))
    assert (s.value, s.passed) == (1.0, True)


def test_field_match_best_acceptable_answer(make_ctx: MakeCtx) -> None:
    answers: JsonValue = [{"a": 1, "b": 2}, {"a": 1, "b": 3}]
    assert JsonFieldMatch().score(make_ctx('{"a": 1, "b": 3}', answers)).value == 1.0
    assert JsonFieldMatch().score(make_ctx('{"a": 9, "b": 3}', answers)).value == 0.5


def test_field_match_output_not_an_object_fails(make_ctx: MakeCtx) -> None:
    for out in ("[1, 2]", "no json here"):
        s = JsonFieldMatch().score(make_ctx(out, ADA))
        assert (s.value, s.passed, s.error) == (0.0, False, None)


@pytest.mark.parametrize("expected", [None, "Paris", 3, [1, 2], "{not json"])
def test_field_match_expected_not_object_is_unmeasured(make_ctx: MakeCtx, expected: JsonValue) -> None:
    s = JsonFieldMatch().score(make_ctx('{"a": 1}', expected))
    assert s.value is None and s.error


def test_field_match_selected_field_missing_from_expected_is_unmeasured(make_ctx: MakeCtx) -> None:
    s = JsonFieldMatch(fields=["phone"]).score(make_ctx('{"phone": "1"}', ADA))
    assert s.value is None and s.error == "expected answer lacks the selected fields"


def test_field_match_invalid_fields() -> None:
    with pytest.raises(ValidationError):
        JsonFieldMatch(fields=[])
    with pytest.raises(ValidationError):
        JsonFieldMatch(fields=["address..city"])
