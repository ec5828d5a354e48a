"""Text metrics: compare the answer text with the sample's acceptable answers.

Each metric passes when ANY acceptable answer matches (its value is the best over them). Acceptable
answers that are not strings are compared as their JSON encoding (`expected_texts`).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from typing import ClassVar, Literal

from pydantic import Field, JsonValue, field_validator

from ..schema import Score
from .base import MetricBase, ScoreContext, check, expected_texts, unmeasured

__all__ = ["ExactMatch", "FuzzyMatch", "Includes", "NumericMatch", "RegexMatch"]

_NO_EXPECTED = "sample has no expected answer"
_ARTICLES = re.compile(r"\b(?:a|an|the)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _is_punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def _short(text: str, limit: int = 60) -> str:
    """`text` quoted, cut to `limit` characters for a reason string."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class ExactMatch(MetricBase):
    """The answer equals an acceptable answer after normalisation.

    Both texts are normalised the same way, in this order: case folded (`ignore_case`), punctuation
    removed (`ignore_punctuation`: ASCII punctuation and Unicode punctuation characters), the words
    a/an/the removed in any case (`ignore_articles`, as in SQuAD), then leading and trailing
    whitespace stripped and runs of whitespace collapsed to one space (`ignore_whitespace`).
    Value 1.0 and passed when the normalised answer equals a normalised acceptable answer, else 0.0.
    """

    name: ClassVar[str] = "exact_match"
    version: ClassVar[str] = "1"

    ignore_case: bool = True
    """Compare case-insensitively (Unicode case folding)."""
    ignore_whitespace: bool = True
    """Strip both ends and collapse runs of whitespace to one space."""
    ignore_punctuation: bool = False
    """Remove punctuation characters before comparing."""
    ignore_articles: bool = False
    """Remove the words a, an and the before comparing (SQuAD-style)."""

    def normalise(self, text: str) -> str:
        """`text` as this metric compares it."""
        if self.ignore_case:
            text = text.casefold()
        if self.ignore_punctuation:
            text = "".join(ch for ch in text if not _is_punctuation(ch))
        if self.ignore_articles:
            text = _ARTICLES.sub(" ", text)
        if self.ignore_whitespace:
            text = _SPACES.sub(" ", text).strip()
        return text

    def score(self, ctx: ScoreContext) -> Score:
        answers = expected_texts(ctx)
        if not answers:
            return unmeasured(_NO_EXPECTED)
        got = self.normalise(ctx.output)
        for answer in answers:
            if self.normalise(answer) == got:
                return check(True, f"matches {_short(answer)}")
        if len(answers) == 1:
            return check(False, f"expected {_short(answers[0])}, got {_short(ctx.output)}")
        return check(False, f"matches none of {len(answers)} acceptable answers; got {_short(ctx.output)}")


class Includes(MetricBase):
    """The answer contains an acceptable answer as a substring.

    Value 1.0 and passed when some acceptable answer occurs anywhere in the answer text (compared
    case-insensitively when `ignore_case`), else 0.0. An empty acceptable answer occurs in every text.
    """

    name: ClassVar[str] = "includes"
    version: ClassVar[str] = "1"

    ignore_case: bool = True
    """Compare case-insensitively (Unicode case folding)."""

    def score(self, ctx: ScoreContext) -> Score:
        answers = expected_texts(ctx)
        if not answers:
            return unmeasured(_NO_EXPECTED)
        output = ctx.output.casefold() if self.ignore_case else ctx.output
        for answer in answers:
            needle = answer.casefold() if self.ignore_case else answer
            if needle in output:
                return check(True, f"contains {_short(answer)}")
        shown = ", ".join(_short(a) for a in answers[:3]) + (", …" if len(answers) > 3 else "")
        return check(False, f"contains none of {shown}")


class RegexMatch(MetricBase):
    """The answer matches a regular expression (Python `re` syntax).

    With `pattern` set, the answer must match it (the sample needs no expected answer); otherwise each
    acceptable answer is a pattern and the answer must match one of them. By default a match anywhere
    in the answer counts (`re.search`); with `full_match` the whole answer, stripped of surrounding
    whitespace, must match (`re.fullmatch`). No flags are set besides `ignore_case`: write `(?s)` for
    `.` to match newlines. Value 1.0 and passed on a match, else 0.0. An acceptable answer that is not
    a valid regular expression makes the score unmeasured; an invalid `pattern` is a config error.
    """

    name: ClassVar[str] = "regex"
    version: ClassVar[str] = "1"

    pattern: str | None = None
    """The pattern; None uses the sample's acceptable answers as patterns."""
    full_match: bool = False
    """Require the whole (stripped) answer to match instead of a match anywhere."""
    ignore_case: bool = False
    """Match case-insensitively (`re.IGNORECASE`)."""

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {v!r}: {exc}") from exc
        return v

    def score(self, ctx: ScoreContext) -> Score:
        patterns = [self.pattern] if self.pattern is not None else expected_texts(ctx)
        if not patterns:
            return unmeasured(_NO_EXPECTED)
        compiled: list[tuple[str, re.Pattern[str]]] = []
        for p in patterns:
            try:
                compiled.append((p, re.compile(p, re.IGNORECASE if self.ignore_case else 0)))
            except re.error as exc:
                return unmeasured(f"invalid regular expression {p!r}: {exc}")
        text = ctx.output.strip() if self.full_match else ctx.output
        how = "fully matches" if self.full_match else "matches"
        for source, rx in compiled:
            found = rx.fullmatch(text) if self.full_match else rx.search(text)
            if found is not None:
                return check(True, f"{how} {source!r}")
        shown = ", ".join(repr(p) for p in patterns[:3]) + (", …" if len(patterns) > 3 else "")
        return check(False, f"no pattern {'fully ' if self.full_match else ''}matches: {shown}")


FuzzScorer = Literal["ratio", "token_set_ratio", "token_sort_ratio", "partial_ratio"]


class FuzzyMatch(MetricBase):
    """Similarity to the closest acceptable answer, with a pass threshold.

    The value is the best rapidfuzz `fuzz.<scorer>` similarity between the answer and an acceptable
    answer, divided by 100 (so in [0, 1]); both texts are stripped, and case folded when
    `ignore_case`. `ratio` is normalised Indel similarity of the whole strings; `partial_ratio` the
    best alignment of the shorter string inside the longer; `token_sort_ratio` compares the sorted
    words; `token_set_ratio` compares the shared and differing word sets. Passed when value >= threshold.
    """

    warmup_imports: ClassVar[tuple[str, ...]] = ('rapidfuzz',)

    name: ClassVar[str] = "fuzzy_match"
    version: ClassVar[str] = "1"

    scorer: FuzzScorer = "ratio"
    """Which rapidfuzz.fuzz similarity to use."""
    threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    """Minimum value to pass, in [0, 1]."""
    ignore_case: bool = True
    """Compare case-insensitively (Unicode case folding)."""

    def score(self, ctx: ScoreContext) -> Score:
        from rapidfuzz import fuzz, process

        answers = expected_texts(ctx)
        if not answers:
            return unmeasured(_NO_EXPECTED)
        similarity = getattr(fuzz, self.scorer)

        def prep(text: str) -> str:
            text = text.strip()
            return text.casefold() if self.ignore_case else text

        # One batch call over every acceptable answer: the best score, the first answer reaching it.
        found = process.extractOne(prep(ctx.output), [prep(a) for a in answers], scorer=similarity,
                                   processor=None, score_cutoff=None)
        best, best_answer = (float(found[1]) / 100.0, answers[found[2]]) if found is not None else (0.0, answers[0])
        value = min(max(best, 0.0), 1.0)
        passed = value >= self.threshold
        rel = ">=" if passed else "<"
        return Score(
            value=value,
            passed=passed,
            reason=f"{self.scorer} {value:.3f} {rel} {self.threshold:g} against {_short(best_answer)}",
        )


# A number as written in prose: optional sign (ASCII or U+2212 minus), digits with optional comma
# thousands separators and decimals (or a bare .5), optional exponent, optional trailing percent sign.
# It must not follow an ASCII letter, digit, underscore or dot, so `gpt-4` reads as 4 and `v1.2` as
# nothing, while `答案是42` still reads as 42.
_NUMBER = re.compile(
    r"""
    (?<![A-Za-z0-9_.])
    (?P<sign>[-+\u2212])?
    (?P<mantissa>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)? | \d+(?:\.\d+)? | \.\d+)
    (?P<exponent>[eE][-+]?\d+)?
    (?P<percent>\s?%)?
    """,
    re.VERBOSE,
)


def _to_float(m: re.Match[str]) -> float:
    sign = "-" if m["sign"] in ("-", "\u2212") else ""
    return float(sign + m["mantissa"].replace(",", "") + (m["exponent"] or ""))


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def find_numbers(text: str) -> list[float]:
    """Every number written in `text`, in order (`1,234.5` -> 1234.5; `50%` -> 50.0)."""
    return [_to_float(m) for m in _NUMBER.finditer(text)]


def parse_number(value: JsonValue) -> float | None:
    """`value` as a finite number: a JSON number, or a string holding exactly one number; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        m = _NUMBER.fullmatch(value.strip())
        if m is None:
            return None
        number = _to_float(m)
    else:
        return None
    return number if math.isfinite(number) else None


class NumericMatch(MetricBase):
    """The number in the answer equals an expected number, within a tolerance.

    A number is pulled out of the answer text (`extract`: the `last` or `first` number written, or
    `only`: the answer must contain exactly one number). Numbers may have a sign, decimals, comma
    thousands separators (`1,234.5`), scientific notation (`1.5e-3`) and a trailing `%`, which is
    dropped: `50%` reads as 50. Expected answers are JSON numbers or strings that are a number
    (`"1,234.5"`, `"-3"`; not `"12 apples"`).
    Value 1.0 and passed when |answer - expected| <= max(abs_tol, rel_tol * |expected|) for some
    acceptable answer, else 0.0; an answer without a number (or, for `only`, with several) fails.
    Unmeasured when no acceptable answer is a number.
    """

    name: ClassVar[str] = "numeric_match"
    version: ClassVar[str] = "1"

    abs_tol: float = Field(default=0.0, ge=0.0)
    """Absolute tolerance."""
    rel_tol: float = Field(default=0.0, ge=0.0)
    """Tolerance relative to the expected number."""
    extract: Literal["last", "first", "only"] = "last"
    """Which number of the answer to compare."""

    def score(self, ctx: ScoreContext) -> Score:
        if not ctx.acceptable:
            return unmeasured(_NO_EXPECTED)
        targets = [n for n in (parse_number(a) for a in ctx.acceptable) if n is not None]
        if not targets:
            shown = ", ".join(_short(t) for t in expected_texts(ctx)[:3])
            return unmeasured(f"expected answer is not a number: {shown}")
        found = find_numbers(ctx.output)
        if not found:
            return check(False, "no number in the output")
        if self.extract == "only" and len(found) != 1:
            return check(False, f"expected exactly one number in the output, found {len(found)}")
        got = found[-1] if self.extract == "last" else found[0]
        for target in targets:
            tolerance = max(self.abs_tol, self.rel_tol * abs(target))
            if abs(got - target) <= tolerance:
                return check(True, f"{_fmt(got)} matches {_fmt(target)}")
        shown = " or ".join(_fmt(t) for t in targets[:3])
        return check(False, f"{_fmt(got)} != {shown}")
