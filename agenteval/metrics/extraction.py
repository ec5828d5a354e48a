"""Extraction metrics: the fields of a JSON answer against an expected record, with per-field normalisers.

A record is flattened to its fields: dotted paths to the leaves of nested objects (`address.city`);
a list is one field (compared as a multiset, order ignored). A field whose value is null, an empty
string, list or object is absent. Each field of either record is one of:
- `match`: in both records and equal after normalisation (a true positive);
- `mismatch`: in both records, values differ (a false positive and a false negative);
- `missing`: expected but absent from the answer (a false negative);
- `extra`: in the answer but not expected (a false positive).
The answer is read with structured.py's `parse_json_output` (raw JSON, a fenced block, or a span).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field, JsonValue, field_validator

from ..schema import Score
from .base import MetricBase, ScoreContext, unmeasured
from .structured import parse_json_output
from .text import find_numbers

__all__ = ["FieldF1", "FieldOutcome", "Normalizer", "RecordExactMatch", "compare_records", "normalize_value"]

Normalizer = Literal["exact", "text", "casefold", "alphanumeric", "number", "date"]
"""How a field's values are made comparable:
- `exact`: the JSON value as is (numbers compare numerically: 1 equals 1.0);
- `text`: strings stripped, runs of whitespace collapsed; numbers and booleans as their text (34 = "34");
- `casefold`: `text`, then case folded (the default);
- `alphanumeric`: case folded, everything but letters and digits removed (ids, phone numbers);
- `number`: a JSON number, or the one number in a string (`"$1,234.50"` -> 1234.5, `"12%"` -> 12;
  comma thousands separators and a decimal point only);
- `date`: the calendar date (ISO 8601 dates and date-times, `2024/03/05`, `05.03.2024` day first,
  `03/05/2024` month first unless the first number is above 12, `March 5, 2024`, `5 Mar 2024`,
  `Mar 5th 2024`), compared as YYYY-MM-DD.
A value that `number` or `date` cannot read is compared as with `casefold`.
"""

FieldOutcome = Literal["match", "mismatch", "missing", "extra"]

_SPACES = re.compile(r"\s+")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.IGNORECASE)
_DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%B %d, %Y", "%B %d %Y", "%b %d, %Y",
                 "%b %d %Y", "%b. %d, %Y", "%d %B %Y", "%d %b %Y", "%d %B, %Y", "%Y%m%d")

Record = dict[str, JsonValue]


def _number_text(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, str):
        return _SPACES.sub(" ", value).strip()
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _parse_date(text: str) -> date | None:
    text = _ORDINAL.sub("", _SPACES.sub(" ", text.strip()))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def normalize_value(value: JsonValue, how: Normalizer) -> JsonValue:
    """`value` made comparable under normaliser `how` (lists: each item, as a sorted list)."""
    if isinstance(value, list):
        items = [normalize_value(v, how) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(value, dict):
        return {k: normalize_value(v, how) for k, v in value.items()}
    if how == "exact":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(f"{float(value):.12g}")
        return value
    if how == "number" and not isinstance(value, bool):
        if isinstance(value, (int, float)):
            return float(f"{float(value):.12g}")
        if isinstance(value, str):
            found = find_numbers(value)
            if len(found) == 1:
                return float(f"{found[0]:.12g}")
    if how == "date" and isinstance(value, str):
        parsed = _parse_date(value)
        if parsed is not None:
            return parsed.isoformat()
    text = _text(value)
    if how == "text":
        return text
    text = text.casefold()
    if how == "alphanumeric":
        return "".join(ch for ch in text if ch.isalnum() or unicodedata.category(ch) == "Mn")
    return text


def _absent(value: JsonValue) -> bool:
    return value is None or value == [] or value == {} or (isinstance(value, str) and not value.strip())


def _fields(record: Record, prefix: str = "") -> dict[str, JsonValue]:
    """Dotted path -> value of every present leaf field of `record`."""
    out: dict[str, JsonValue] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_fields(value, path + "."))
        elif not _absent(value):
            out[path] = value
    return out


def compare_records(expected: Record, answer: Record | None, normalizers: dict[str, Normalizer],
                    default: Normalizer, selected: list[str] | None = None) -> dict[str, FieldOutcome]:
    """The outcome of every field of either record (only `selected` paths when given), in path order.

    A field's normaliser is `normalizers[path]`, else `normalizers[last key of the path]`, else `default`.
    """
    want = _fields(expected)
    got = _fields(answer) if answer is not None else {}
    if selected is not None:
        chosen = set(selected)
        want = {p: v for p, v in want.items() if p in chosen}
        got = {p: v for p, v in got.items() if p in chosen}
    outcomes: dict[str, FieldOutcome] = {}
    for path in sorted(set(want) | set(got)):
        if path not in got:
            outcomes[path] = "missing"
        elif path not in want:
            outcomes[path] = "extra"
        else:
            how = normalizers.get(path) or normalizers.get(path.rsplit(".", 1)[-1]) or default
            same = normalize_value(want[path], how) == normalize_value(got[path], how)
            outcomes[path] = "match" if same else "mismatch"
    return outcomes


def _prf(outcomes: dict[str, FieldOutcome]) -> tuple[float, float, float]:
    """Precision, recall and F1 of one record's field outcomes (all 1.0 when neither has a field)."""
    n = Counter(outcomes.values())
    predicted = n["match"] + n["mismatch"] + n["extra"]
    expected = n["match"] + n["mismatch"] + n["missing"]
    if predicted == 0 and expected == 0:
        return 1.0, 1.0, 1.0
    precision = n["match"] / predicted if predicted else 0.0
    recall = n["match"] / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _as_record(value: JsonValue) -> Record | None:
    if isinstance(value, str):
        parsed = parse_json_output(value, extract=False)
        value = parsed.value if parsed is not None else None
    return value if isinstance(value, dict) else None


def _describe(outcomes: dict[str, FieldOutcome], fine: frozenset[str] = frozenset({"match"})) -> str:
    wrong = [f"{p} {o}" for p, o in outcomes.items() if o not in fine]
    return "; ".join(wrong[:5]) + ("; …" if len(wrong) > 5 else "")


class _FieldMetric(MetricBase):
    fields: list[str] | None = None
    """Dotted paths to compare (`address.city`); None compares every field of both records."""
    normalizers: dict[str, Normalizer] = Field(default_factory=dict)
    """Field path (or last key) -> normaliser, e.g. `{date: date, amount: number, name: casefold}`."""
    default_normalizer: Normalizer = "casefold"
    """The normaliser of fields `normalizers` does not name."""
    extract: bool = True
    """Look for JSON inside a fenced block or a bracketed span when the whole answer is not JSON."""

    @field_validator("fields")
    @classmethod
    def _non_empty(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or any(not f or "" in f.split(".") for f in v)):
            raise ValueError("fields must be a non-empty list of dotted paths such as 'address.city'")
        return v

    def _outcomes(self, ctx: ScoreContext) -> tuple[list[dict[str, FieldOutcome]], bool] | Score:
        """Field outcomes against each acceptable record, and whether the answer is a JSON object."""
        if not ctx.acceptable:
            return unmeasured("sample has no expected record")
        targets = [r for r in (_as_record(a) for a in ctx.acceptable) if r is not None]
        if not targets:
            return unmeasured("expected answer is not a JSON object")
        parsed = parse_json_output(ctx.output, self.extract)
        answer = parsed.value if parsed is not None and isinstance(parsed.value, dict) else None
        return ([compare_records(t, answer, self.normalizers, self.default_normalizer, self.fields)
                 for t in targets], answer is not None)


class FieldF1(_FieldMetric):
    """Field-level F1 of the JSON answer against the expected record, with per-field normalisers.

    Precision = matching fields / fields present in the answer; recall = matching fields / fields
    present in the expected record; the value is their harmonic mean (F1), in [0, 1]. Fields are
    flattened dotted paths; absent means null or empty, so an expected null is satisfied by omitting
    the field (see the module doc). A field is compared after its normaliser (`normalizers`, by path
    or by last key, else `default_normalizer`). Both records without fields: 1.0; an answer that is
    not a JSON object: 0.0. With several acceptable records, the best F1 counts. With `threshold`,
    passed when the value >= threshold. Details: `precision`, `recall`, `f1`, and `fields`, the outcome
    of every field (`match`, `mismatch`, `missing`, `extra`).

    `aggregate(details)` returns corpus-level (micro) numbers pooled over all records:
    `n_records`; `micro_precision`, `micro_recall`, `micro_f1` (from the pooled field counts: a
    mismatch is a false positive and a false negative); `per_field`: `{path: {precision, recall, f1,
    support, match, mismatch, missing, extra}}`, support = records that expect the field.
    """

    name: ClassVar[str] = "field_f1"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum F1 to pass; None: the metric has no pass rule."""

    def score(self, ctx: ScoreContext) -> Score:
        result = self._outcomes(ctx)
        if isinstance(result, Score):
            return result
        candidates, is_object = result
        best = max(candidates, key=lambda o: _prf(o)[2])  # the first best acceptable record
        precision, recall, f1 = _prf(best)
        if not is_object:
            reason = "output is not a JSON object"
        else:
            reason = f"field F1 {f1:.3f} (P {precision:.3f}, R {recall:.3f})"
            if f1 < 1.0:
                reason += f": {_describe(best)}"
        passed: bool | None = None
        if self.threshold is not None:
            passed = f1 >= self.threshold
        details: dict[str, JsonValue] = {"precision": precision, "recall": recall, "f1": f1,
                                         "fields": dict(best)}
        return Score(value=f1, passed=passed, reason=reason, details=details)

    def aggregate(self, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue]:
        """Micro precision/recall/F1 and per-field numbers over all records (keys: see the class doc)."""
        per_field: dict[str, Counter[str]] = {}
        records = 0
        for d in details:
            fields = d.get("fields")
            if not isinstance(fields, dict):
                continue
            records += 1
            for path, outcome in fields.items():
                if isinstance(outcome, str):
                    per_field.setdefault(path, Counter())[outcome] += 1
        total: Counter[str] = Counter()
        for counts in per_field.values():
            total.update(counts)

        def prf(n: Counter[str]) -> dict[str, float]:
            tp, fp, fn = n["match"], n["mismatch"] + n["extra"], n["mismatch"] + n["missing"]
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}

        micro = prf(total)
        out: dict[str, JsonValue] = {
            "n_records": records,
            "micro_precision": micro["precision"], "micro_recall": micro["recall"], "micro_f1": micro["f1"],
            "per_field": {
                path: {**prf(n), "support": n["match"] + n["mismatch"] + n["missing"],
                       **{k: n[k] for k in ("match", "mismatch", "missing", "extra")}}
                for path, n in sorted(per_field.items())
            },
        }
        return out


class RecordExactMatch(_FieldMetric):
    """The JSON answer equals the expected record, field by field, after normalisation.

    Fields and normalisers as in `field_f1`. Value 1.0 and passed when every expected field matches and
    the answer has no extra field (extra fields are allowed with `ignore_extra`); else 0.0, as is an
    answer that is not a JSON object. With several acceptable records, matching one is enough.
    Details: `fields`, the outcome of every field against the closest record.
    """

    name: ClassVar[str] = "record_exact_match"
    version: ClassVar[str] = "1"

    ignore_extra: bool = False
    """Pass even when the answer has fields the expected record does not."""

    def _fine(self) -> frozenset[str]:
        return frozenset({"match", "extra"} if self.ignore_extra else {"match"})

    def _ok(self, outcomes: dict[str, FieldOutcome]) -> bool:
        return all(o in self._fine() for o in outcomes.values())

    def score(self, ctx: ScoreContext) -> Score:
        result = self._outcomes(ctx)
        if isinstance(result, Score):
            return result
        candidates, is_object = result
        best = next((o for o in candidates if self._ok(o)), None)
        if best is not None:
            return Score(value=1.0, passed=True, reason="record matches", details={"fields": dict(best)})
        closest = max(candidates, key=lambda o: _prf(o)[2])
        reason = (f"record differs: {_describe(closest, self._fine())}" if is_object
                  else "output is not a JSON object")
        return Score(value=0.0, passed=False, reason=reason, details={"fields": dict(closest)})
