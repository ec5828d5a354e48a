"""Structured-output metrics: the answer as JSON, checked for validity, a schema, or field values.

All three read the answer with `parse_json_output`: the raw text first, then (with `extract`) the
content of a fenced code block, then the first bracketed span that parses. Parsing is strict JSON:
`NaN` and `Infinity` are rejected.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator

from ..schema import Score
from .base import MetricBase, ScoreContext, check, unmeasured

__all__ = ["JsonFieldMatch", "JsonSchema", "JsonValid", "ParsedJson", "parse_json_output"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n`]*\n(.*?)```", re.DOTALL)
_MAX_SPAN_STARTS = 200
"""Bracket positions tried when looking for a JSON span (bounds the work on huge outputs)."""


@dataclass(frozen=True)
class ParsedJson:
    """A JSON value read from an answer, and where in the answer it was found."""

    value: JsonValue
    source: Literal["raw", "fenced block", "embedded span"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> JsonValue:
    value: JsonValue = json.loads(text, parse_constant=_reject_constant)
    return value


def _first_span(text: str) -> JsonValue | None:
    """The first `{...}` or `[...]` span of `text` that parses as JSON, or None."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    starts = (i for i, ch in enumerate(text) if ch in "{[")
    for n, start in enumerate(starts):
        if n >= _MAX_SPAN_STARTS:
            break
        try:
            value: JsonValue = decoder.raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            continue
        return value
    return None


def parse_json_output(text: str, extract: bool = True) -> ParsedJson | None:
    """The JSON value in an answer, or None.

    The whole text is tried first. With `extract`, then the content of each fenced code block
    (blocks tagged `json` before the others), then the first `{...}` / `[...]` span that parses.
    """
    try:
        return ParsedJson(_loads(text), "raw")
    except (ValueError, RecursionError):
        pass
    if not extract:
        return None
    blocks = sorted(_FENCE.finditer(text), key=lambda m: m.group(1).lower() != "json")
    for block in blocks:
        try:
            return ParsedJson(_loads(block.group(2)), "fenced block")
        except (ValueError, RecursionError):
            continue
    span = _first_span(text)
    if span is not None:
        return ParsedJson(span, "embedded span")
    return None


def _not_json(extract: bool) -> str:
    return "output is not JSON" + (" and contains no JSON block or span" if extract else "")


class JsonValid(MetricBase):
    """The answer is valid JSON.

    Value 1.0 and passed when the answer parses as strict JSON (any JSON value, `NaN` rejected);
    with `extract`, an answer that does not parse as a whole still passes when a fenced code block
    (```json ... ``` or ``` ... ```) or, failing that, a `{...}` / `[...]` span inside it parses.
    """

    name: ClassVar[str] = "json_valid"
    version: ClassVar[str] = "1"

    extract: bool = True
    """Look for JSON inside a fenced block or a bracketed span when the whole answer is not JSON."""

    def score(self, ctx: ScoreContext) -> Score:
        parsed = parse_json_output(ctx.output, self.extract)
        if parsed is None:
            return check(False, _not_json(self.extract))
        return check(True, "valid JSON" if parsed.source == "raw" else f"valid JSON in a {parsed.source}")


def _check_schema(schema: dict[str, JsonValue]) -> str | None:
    """Why `schema` is not a valid JSON Schema, or None when it is."""
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        return f"invalid JSON Schema: {exc.message}"
    return None


class JsonSchema(MetricBase):
    """The answer is JSON that satisfies a JSON Schema.

    The schema is the metric's `schema` argument, else the suite's `output_schema`; the validator
    follows the schema's `$schema` (Draft 2020-12 when absent), and `format` keywords are checked.
    The answer is read as in `json_valid`. Value 1.0 and passed when it validates; 0.0 when it does
    not or is not JSON, with the first error's JSON path and message in the reason. Unmeasured when
    there is no schema, or the suite's schema is not a valid JSON Schema.
    """

    warmup_imports: ClassVar[tuple[str, ...]] = ('jsonschema',)

    name: ClassVar[str] = "json_schema"
    version: ClassVar[str] = "1"
    model_config = ConfigDict(populate_by_name=True)  # extra="forbid" and frozen are inherited

    schema_: dict[str, JsonValue] | None = Field(default=None, alias="schema")
    """The JSON Schema (argument `schema`); None uses the suite's `output_schema`."""
    extract: bool = True
    """Look for JSON inside a fenced block or a bracketed span when the whole answer is not JSON."""

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, v: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        if v is not None:
            problem = _check_schema(v)
            if problem is not None:
                raise ValueError(problem)
        return v

    def score(self, ctx: ScoreContext) -> Score:
        from jsonschema import exceptions, validators

        schema = self.schema_ if self.schema_ is not None else ctx.suite.output_schema
        if schema is None:
            return unmeasured("no schema: give the metric a `schema` or the suite an `output_schema`")
        if self.schema_ is None:
            problem = _check_schema(schema)
            if problem is not None:
                return unmeasured(f"suite output_schema: {problem}")
        parsed = parse_json_output(ctx.output, self.extract)
        if parsed is None:
            return check(False, _not_json(self.extract))
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        errors = list(validator.iter_errors(parsed.value))
        if not errors:
            return check(True, "matches the schema")
        first = exceptions.best_match(errors)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return check(False, f"{first.json_path}: {first.message}{more}")


Path = tuple[str, ...]
_MISSING = object()


def _leaf_paths(value: JsonValue, prefix: Path = ()) -> list[Path]:
    """Paths to every leaf of `value`; objects are walked, lists and empty objects are leaves."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaf_paths(v, (*prefix, k))]
    return [prefix]


def _lookup(value: JsonValue, path: Path) -> object:
    """The value at `path` (object keys, or list indices written as digits), or `_MISSING`."""
    current: object = value
    for key in path:
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return _MISSING
    return current


def _as_object(value: JsonValue) -> dict[str, JsonValue] | None:
    """`value` when it is a JSON object, or a string holding one; else None."""
    if isinstance(value, str):
        try:
            value = _loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not _MISSING else "missing"
    return text if len(text) <= 40 else text[:39] + "…"


class JsonFieldMatch(MetricBase):
    """Fields of the JSON answer equal those of the expected JSON object.

    The expected answer is a JSON object (or a string holding one); the answer is read as in
    `json_valid`. `fields` selects dotted paths such as `address.city` (digits index lists:
    `items.0.name`); by default every leaf of the expected object is compared (a list is one leaf).
    Numbers are equal within 1e-9 (booleans are not numbers); strings are equal after stripping and,
    with `ignore_case`, case folding; lists and objects are compared item by item under the same rules.
    The value is the fraction of selected fields that are equal, passed when all are; with several
    acceptable answers the best one counts. An answer that is not a JSON object scores 0.0.
    """

    name: ClassVar[str] = "json_field_match"
    version: ClassVar[str] = "1"

    fields: list[str] | None = None
    """Dotted paths to compare; None compares every leaf of the expected object."""
    ignore_case: bool = True
    """Compare strings case-insensitively (Unicode case folding)."""
    extract: bool = True
    """Look for JSON inside a fenced block or a bracketed span when the whole answer is not JSON."""

    @field_validator("fields")
    @classmethod
    def _non_empty(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or any(not f or "" in f.split(".") for f in v)):
            raise ValueError("fields must be a non-empty list of dotted paths such as 'address.city'")
        return v

    def _equal(self, a: object, b: object) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        if isinstance(a, str) and isinstance(b, str):
            a, b = a.strip(), b.strip()
            return a.casefold() == b.casefold() if self.ignore_case else a == b
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(self._equal(x, y) for x, y in zip(a, b, strict=False))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(self._equal(a[k], b[k]) for k in a)
        return a is None and b is None

    def score(self, ctx: ScoreContext) -> Score:
        if not ctx.acceptable:
            return unmeasured("sample has no expected answer")
        targets = [o for o in (_as_object(a) for a in ctx.acceptable) if o is not None]
        if not targets:
            return unmeasured("expected answer is not a JSON object")
        chosen = [tuple(f.split(".")) for f in self.fields] if self.fields is not None else None
        plans: list[tuple[dict[str, JsonValue], list[Path]]] = []
        for target in targets:
            paths = chosen if chosen is not None else _leaf_paths(target)
            if paths and all(_lookup(target, p) is not _MISSING for p in paths):
                plans.append((target, paths))
        if not plans:
            what = "the selected fields" if chosen is not None else "any field"
            return unmeasured(f"expected answer lacks {what}")
        parsed = parse_json_output(ctx.output, self.extract)
        if parsed is None or not isinstance(parsed.value, dict):
            return check(False, "output is not a JSON object")
        results: list[tuple[float, list[str]]] = []
        for target, paths in plans:
            wrong = []
            for p in paths:
                want, got = _lookup(target, p), _lookup(parsed.value, p)
                if got is _MISSING or not self._equal(want, got):
                    wrong.append(f"{'.'.join(p)} (expected {_show(want)}, got {_show(got)})")
            results.append(((len(paths) - len(wrong)) / len(paths), wrong))
        fraction, wrong = max(results, key=lambda r: r[0])  # the first best acceptable answer
        if not wrong:
            return Score(value=1.0, passed=True, reason="all fields match")
        shown = "; ".join(wrong[:5]) + ("; …" if len(wrong) > 5 else "")
        return Score(value=fraction, passed=False, reason=f"mismatched: {shown}")
