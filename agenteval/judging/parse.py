"""A tolerant, validated reader of judge answers.

Tried in order: the whole answer as a JSON object; each fenced ```json block; each balanced `{...}`
in the text (strings and escapes respected); then plain-text forms (`Score: 4/5`, `Rating: 4`,
`Label: pass`, `Winner: A`, `[[A]]` / `[[B]]` / `[[C]]` or `[[tie]]`, `[[4]]`). A candidate becomes a
`Verdict` only when it validates against the rubric: an integer score on the scale, a known label, a
winner the rubric allows. Otherwise the result is a `ParseFailure` with a precise reason (empty,
cut off, malformed, out of scale), which the judge uses to re-ask.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..schema.rubric import Rubric, Winner

__all__ = ["FailureKind", "ParseFailure", "Verdict", "parse_verdict"]

FailureKind = Literal["empty", "truncated", "malformed", "out_of_scale"]


@dataclass(frozen=True)
class Verdict:
    """A usable judge answer: `raw` is the score (int), label (str) or winner (A/B/tie)."""

    raw: int | str
    value: float
    """Normalised to [0, 1] (pairwise: for response A: 1 = A better, 0 = B better, 0.5 = tie)."""
    reasoning: str


@dataclass(frozen=True)
class ParseFailure:
    kind: FailureKind
    reason: str


class _RawVerdict(BaseModel):
    """The fields a judge may answer with; synonyms accepted, anything else ignored."""

    model_config = ConfigDict(extra="ignore")

    reasoning: str = Field(default="", validation_alias=AliasChoices(
        "reasoning", "reason", "explanation", "rationale", "justification", "analysis", "feedback"))
    score: JsonValue = Field(default=None, validation_alias=AliasChoices("score", "rating", "grade"))
    label: JsonValue = Field(default=None, validation_alias=AliasChoices("label", "verdict", "judgement",
                                                                         "judgment", "decision"))
    winner: JsonValue = Field(default=None, validation_alias=AliasChoices("winner", "preference",
                                                                          "better", "choice"))


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_SCORE_TEXT = re.compile(r"(?:score|rating|grade)\W{0,6}(-?\d+(?:\.\d+)?)(?:\s*(?:/|out of)\s*(\d+))?", re.I)
_BRACKETS = re.compile(r"\[\[\s*([^\[\]]{1,20}?)\s*\]\]")
_LABEL_TEXT = re.compile(r"(?:label|verdict|judg(?:e)?ment|decision)\W{0,6}([A-Za-z_][\w-]*)", re.I)
_WINNER_TEXT = re.compile(r"(?:winner|better(?: response| answer)?|preference|choice)(?:\s+is)?\W{0,6}"
                          r"(?:response\s+|answer\s+|assistant\s+)?([A-Za-z]+)\b", re.I)
_TIE_WORDS = {"tie", "c", "draw", "equal", "both", "neither", "same"}


def parse_verdict(text: str, rubric: Rubric, finish_reason: str | None = None) -> Verdict | ParseFailure:
    """The verdict in a judge's answer, or why there is none."""
    if not text or not text.strip():
        return ParseFailure("empty", "the judge answered nothing")
    first_failure: ParseFailure | None = None
    for obj in _json_objects(text):
        result = _from_fields(obj, rubric)
        if isinstance(result, Verdict):
            return result
        if result is not None and first_failure is None:
            first_failure = result
    # A JSON verdict that fails validation is the judge's answer: prose around it does not override it.
    result = _from_text(text, rubric) if first_failure is None else first_failure
    if isinstance(result, Verdict):
        return result
    failure = result
    if finish_reason == "length":
        why = f" ({failure.reason})" if failure is not None else ""
        return ParseFailure("truncated", f"the judge's answer was cut off (finish_reason=length){why}")
    if failure is not None:
        return failure
    want = {"pointwise": "score" if rubric.scale else "label", "pairwise": "winner"}[rubric.mode]
    return ParseFailure("malformed", f"no JSON verdict and no {want} found in the answer")


# -- candidates -------------------------------------------------------------------------------------


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    """JSON objects in the text: the whole of it, fenced blocks, then balanced {...} spans."""
    stripped = text.strip()
    chunks = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for chunk in chunks:
        obj = _loads(chunk)
        if obj is not None:
            yield obj
    for span in _balanced(text):
        obj = _loads(span)
        if obj is not None:
            yield obj


def _loads(chunk: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(chunk)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _balanced(text: str) -> Iterator[str]:
    """Every outermost balanced `{...}` span, skipping braces inside JSON strings."""
    depth, start, in_str, escaped = 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                yield text[start:i + 1]


# -- validation against the rubric -----------------------------------------------------------------


def _from_fields(obj: dict[str, Any], rubric: Rubric) -> Verdict | ParseFailure | None:
    """A verdict from a JSON object; None when it carries no verdict field at all."""
    try:
        raw = _RawVerdict.model_validate(obj)
    except ValidationError:
        return None
    reasoning = raw.reasoning.strip()
    if rubric.mode == "pairwise":
        value = raw.winner if raw.winner is not None else raw.label
        return None if value is None else _winner(str(value), rubric, reasoning)
    if rubric.scale is not None:
        if raw.score is None:
            return None
        return _score(raw.score, None, rubric, reasoning)
    value = raw.label if raw.label is not None else raw.score
    return None if value is None else _label(str(value), rubric, reasoning)


def _from_text(text: str, rubric: Rubric) -> Verdict | ParseFailure | None:
    brackets = [m.group(1) for m in _BRACKETS.finditer(text)]
    reasoning = text.strip()
    if rubric.mode == "pairwise":
        for b in brackets:
            v = _winner(b, rubric, reasoning)
            if isinstance(v, Verdict):
                return v
        m = _WINNER_TEXT.search(text)
        return _winner(m.group(1), rubric, reasoning) if m else None
    if rubric.scale is not None:
        m = _SCORE_TEXT.search(text)
        if m:
            return _score(m.group(1), int(m.group(2)) if m.group(2) else None, rubric, reasoning)
        for b in brackets:
            if re.fullmatch(r"-?\d+(?:\.\d+)?", b):
                return _score(b, None, rubric, reasoning)
        return None
    m = _LABEL_TEXT.search(text)
    if m:
        v = _label(m.group(1), rubric, reasoning)
        if isinstance(v, Verdict):
            return v
    for b in brackets:
        v = _label(b, rubric, reasoning)
        if isinstance(v, Verdict):
            return v
    assert rubric.labels is not None
    found = [name for name in rubric.labels if re.search(rf"\b{re.escape(name)}\b", text, re.I)]
    if len(found) == 1:  # exactly one label named anywhere: that is the verdict
        return _label(found[0], rubric, reasoning)
    return None


def _score(value: Any, out_of: int | None, rubric: Rubric, reasoning: str) -> Verdict | ParseFailure:
    assert rubric.scale is not None
    lo, hi = min(rubric.scale), max(rubric.scale)
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not math.isfinite(number):
        return ParseFailure("malformed", f"the score {value!r} is not a number")
    if out_of is not None and out_of != hi:
        return ParseFailure("out_of_scale", f"the score was given out of {out_of}; the scale is {lo}..{hi}")
    if not number.is_integer() or int(number) not in rubric.scale:
        shown = int(number) if number.is_integer() else number
        return ParseFailure("out_of_scale", f"the score {shown} is not on the scale {lo}..{hi} "
                                            "(whole numbers only)")
    score = int(number)
    return Verdict(raw=score, value=rubric.normalise(score), reasoning=reasoning)


def _label(value: str, rubric: Rubric, reasoning: str) -> Verdict | ParseFailure:
    assert rubric.labels is not None
    wanted = value.strip().strip("\"'*.").lower()
    for name, spec in rubric.labels.items():
        if name.lower() == wanted:
            return Verdict(raw=name, value=spec.value, reasoning=reasoning)
    return ParseFailure("out_of_scale", f"the label {value!r} is not one of {', '.join(rubric.labels)}")


def _winner(value: str, rubric: Rubric, reasoning: str) -> Verdict | ParseFailure:
    wanted = value.strip().strip("\"'*.").lower()
    for prefix in ("response ", "answer ", "assistant "):
        if wanted.startswith(prefix):
            wanted = wanted[len(prefix):].strip()
    winner: Winner | None = None
    if wanted == "a":
        winner = "A"
    elif wanted == "b":
        winner = "B"
    elif wanted in _TIE_WORDS:
        winner = "tie"
    if winner is None:
        return ParseFailure("out_of_scale", f"the winner {value!r} is not A, B" + (" or tie" if rubric.allow_tie
                                                                                     else ""))
    if winner == "tie" and not rubric.allow_tie:
        return ParseFailure("out_of_scale", "the judge answered tie, which this rubric does not allow")
    return Verdict(raw=winner, value={"A": 1.0, "B": 0.0, "tie": 0.5}[winner], reasoning=reasoning)
