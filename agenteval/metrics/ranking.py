"""Ranking and recommendation metrics: the answer is an ordered list of ids, `expected` judges them.

The answer is read with `parse_ranking`: a JSON list of ids (strings or integers, or objects with an
`id`), a JSON object `{id: score}` (ranked by score, highest first), or ids separated by commas,
semicolons or newlines (list markers such as `1.`, `-` and surrounding quotes are dropped). A repeated
id keeps its first position. The expected answer is relevance judgements: `{id: grade}` (grades are
numbers >= 0) or a list of relevant ids (grade 1 each); ids not judged have grade 0, and an id is
relevant when its grade is > 0. Every metric here is unmeasured when no judged id is relevant; an
answer with no ids scores 0. The mean over samples is the usual corpus figure (mean NDCG, MRR, MAP).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field, JsonValue

from ..schema import Score
from .base import MetricBase, ScoreContext, unmeasured
from .structured import parse_json_output

__all__ = ["HitRateAtK", "MapAtK", "Mrr", "NdcgAtK", "RecallAtK", "parse_judgements", "parse_ranking"]

_SEPARATORS = re.compile(r"[,;\n]+")
_MARKER = re.compile(r"^(?:[-*•]|\d+[.)]|#\d+:?)\s+")
_QUOTES = "\"'`"


def _id(value: JsonValue) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip().strip(_QUOTES).strip() or None
    if isinstance(value, dict) and "id" in value:
        return _id(value["id"])
    return None


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def parse_ranking(text: str) -> list[str]:
    """The ids an answer ranks, best first (see the module doc); [] when it names none."""
    parsed = parse_json_output(text)
    if parsed is not None and isinstance(parsed.value, list):
        return _dedupe([i for i in (_id(v) for v in parsed.value) if i is not None])
    if parsed is not None and isinstance(parsed.value, dict):
        scored = [(k, _number(v)) for k, v in parsed.value.items()]
        if scored and all(s is not None for _, s in scored):
            order = sorted(range(len(scored)), key=lambda j: -(scored[j][1] or 0.0))  # stable for ties
            return _dedupe([i for i in (_id(scored[j][0]) for j in order) if i is not None])
    ids = []
    for part in _SEPARATORS.split(text):
        part = _MARKER.sub("", part.strip())
        found = _id(part)
        if found is not None:
            ids.append(found)
    return _dedupe(ids)


def parse_judgements(expected: JsonValue) -> dict[str, float] | None:
    """`{id: grade}` from an expected answer, or None when it is not relevance judgements.

    Accepts `{id: grade}`, a list of ids (grade 1 each), or a string holding either (a JSON object or
    list, or ids separated as in `parse_ranking`).
    """
    if isinstance(expected, str):
        parsed = parse_json_output(expected, extract=False)
        if parsed is not None and isinstance(parsed.value, (dict, list)):
            expected = parsed.value
        else:
            ids = parse_ranking(expected)
            return {i: 1.0 for i in ids} if ids else None
    if isinstance(expected, dict):
        grades: dict[str, float] = {}
        for key, value in expected.items():
            grade = _number(value)
            if grade is None or grade < 0:
                return None
            grades[key.strip()] = grade
        return grades
    if isinstance(expected, list):
        listed = [_id(v) for v in expected]
        if any(i is None for i in listed):
            return None
        return {i: 1.0 for i in listed if i is not None}
    return None


@dataclass(frozen=True)
class _Judged:
    ranking: list[str]
    grades: dict[str, float]

    def grade(self, item: str) -> float:
        return self.grades.get(item, 0.0)

    @property
    def relevant(self) -> set[str]:
        return {i for i, g in self.grades.items() if g > 0}


class _RankingMetric(MetricBase):
    k: int | None = Field(default=10, ge=1)
    """Cut-off: only the first k ranked ids count; None counts the whole list."""
    ignore_case: bool = False
    """Match ids case-insensitively."""

    def _judged(self, ctx: ScoreContext) -> _Judged | Score:
        if ctx.sample.expected is None:
            return unmeasured("sample has no relevance judgements (expected)")
        grades = parse_judgements(ctx.sample.expected)
        if grades is None:
            return unmeasured("expected is not relevance judgements: give {id: grade} or a list of relevant ids")
        ranking = parse_ranking(ctx.output)
        if self.ignore_case:
            ranking = _dedupe([i.casefold() for i in ranking])
            folded: dict[str, float] = {}
            for key, grade in grades.items():
                folded[key.casefold()] = max(grade, folded.get(key.casefold(), 0.0))
            grades = folded
        judged = _Judged(ranking, grades)
        if not judged.relevant:
            return unmeasured("no judged id is relevant (every grade is 0)")
        return judged

    def _top(self, judged: _Judged) -> list[str]:
        return judged.ranking if self.k is None else judged.ranking[: self.k]

    def _at(self) -> str:
        return "" if self.k is None else f"@{self.k}"

    def _top_text(self) -> str:
        return "the ranking" if self.k is None else f"the top {self.k}"


class _GradedRankingMetric(_RankingMetric):
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def _graded(self, value: float, reason: str, details: dict[str, JsonValue]) -> Score:
        passed: bool | None = None
        if self.threshold is not None:
            passed = value >= self.threshold
            reason += f" ({'>=' if passed else '<'} {self.threshold:g})"
        return Score(value=value, passed=passed, reason=reason, details={"k": self.k, **details})


class NdcgAtK(_GradedRankingMetric):
    """Normalised discounted cumulative gain of the first k ranked ids.

    DCG@k = sum over ranks i = 1..k of gain(grade of the i-th id) / log2(i + 1); NDCG@k = DCG@k / IDCG@k,
    where IDCG@k is the DCG@k of the judged ids sorted by grade. `gain: linear` uses the grade itself
    (as scikit-learn's `ndcg_score`), `exponential` uses 2^grade - 1. Value in [0, 1]. Details: `dcg`,
    `idcg`, `n_ranked`, `n_relevant`.
    """

    name: ClassVar[str] = "ndcg_at_k"
    version: ClassVar[str] = "1"

    gain: Literal["linear", "exponential"] = "linear"
    """How a grade becomes a gain: the grade (`linear`) or 2^grade - 1 (`exponential`)."""

    def _gain(self, grade: float) -> float:
        return grade if self.gain == "linear" else 2.0 ** grade - 1.0

    def _dcg(self, grades: list[float]) -> float:
        return sum(self._gain(g) / math.log2(i + 2) for i, g in enumerate(grades))

    def score(self, ctx: ScoreContext) -> Score:
        judged = self._judged(ctx)
        if isinstance(judged, Score):
            return judged
        top = self._top(judged)
        dcg = self._dcg([judged.grade(i) for i in top])
        ideal = sorted(judged.grades.values(), reverse=True)
        idcg = self._dcg(ideal if self.k is None else ideal[: self.k])
        value = dcg / idcg
        return self._graded(value, f"NDCG{self._at()} {value:.3f}",
                            {"dcg": dcg, "idcg": idcg, "n_ranked": len(judged.ranking),
                             "n_relevant": len(judged.relevant)})


def _first_relevant(top: list[str], relevant: set[str]) -> int | None:
    return next((r for r, item in enumerate(top, 1) if item in relevant), None)


class Mrr(_GradedRankingMetric):
    """Reciprocal rank of the first relevant id (its mean over samples is the MRR).

    1 / rank of the first ranked id with grade > 0 within the first k (default: the whole list); 0.0
    when none is. Details: `first_relevant_rank` (None when not found).
    """

    name: ClassVar[str] = "mrr"
    version: ClassVar[str] = "1"

    k: int | None = Field(default=None, ge=1)
    """Cut-off: only the first k ranked ids count; None (default) counts the whole list."""

    def score(self, ctx: ScoreContext) -> Score:
        judged = self._judged(ctx)
        if isinstance(judged, Score):
            return judged
        rank = _first_relevant(self._top(judged), judged.relevant)
        value = 0.0 if rank is None else 1.0 / rank
        reason = f"first relevant id at rank {rank}" if rank else f"no relevant id in {self._top_text()}"
        return self._graded(value, reason, {"first_relevant_rank": rank})


class RecallAtK(_GradedRankingMetric):
    """Share of the relevant ids that are among the first k ranked ids.

    |relevant ids in the first k| / |relevant ids|, in [0, 1] (below 1 whenever there are more relevant
    ids than k). Details: `found`, `n_relevant`.
    """

    name: ClassVar[str] = "recall_at_k"
    version: ClassVar[str] = "1"

    def score(self, ctx: ScoreContext) -> Score:
        judged = self._judged(ctx)
        if isinstance(judged, Score):
            return judged
        relevant = judged.relevant
        found = len(relevant.intersection(self._top(judged)))
        value = found / len(relevant)
        return self._graded(value, f"{found} of {len(relevant)} relevant ids in {self._top_text()}",
                            {"found": found, "n_relevant": len(relevant)})


class MapAtK(_GradedRankingMetric):
    """Average precision of the first k ranked ids (its mean over samples is MAP@k).

    AP@k = sum over ranks i <= k holding a relevant id of precision@i, divided by min(|relevant|, k)
    (by |relevant| when k is None, the classic average precision). Value in [0, 1]. Details:
    `n_relevant`, `hits` (relevant ids in the first k).
    """

    name: ClassVar[str] = "map_at_k"
    version: ClassVar[str] = "1"

    def score(self, ctx: ScoreContext) -> Score:
        judged = self._judged(ctx)
        if isinstance(judged, Score):
            return judged
        relevant = judged.relevant
        hits, total = 0, 0.0
        for rank, item in enumerate(self._top(judged), 1):
            if item in relevant:
                hits += 1
                total += hits / rank
        denominator = len(relevant) if self.k is None else min(len(relevant), self.k)
        value = total / denominator
        reason = f"AP{self._at()} {value:.3f} ({hits} of {len(relevant)} relevant ids in {self._top_text()})"
        return self._graded(value, reason, {"n_relevant": len(relevant), "hits": hits})


class HitRateAtK(_RankingMetric):
    """A relevant id is among the first k ranked ids.

    Value 1.0 and passed when one of the first k ids has grade > 0, else 0.0 (the mean over samples is
    the hit rate). Details: `first_relevant_rank` (None when there is no hit).
    """

    name: ClassVar[str] = "hit_rate_at_k"
    version: ClassVar[str] = "1"

    def score(self, ctx: ScoreContext) -> Score:
        judged = self._judged(ctx)
        if isinstance(judged, Score):
            return judged
        rank = _first_relevant(self._top(judged), judged.relevant)
        hit = rank is not None
        reason = f"relevant id at rank {rank}" if hit else f"no relevant id in {self._top_text()}"
        return Score(value=1.0 if hit else 0.0, passed=hit, reason=reason,
                     details={"k": self.k, "first_relevant_rank": rank})
