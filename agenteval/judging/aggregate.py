"""Combining judge votes: self-consistency samples, position-swapped pairs, ensembles of judges.

Every vote is a value in [0, 1] with its raw verdict (a score, a label, or for pairwise the candidate's
outcome `win` / `loss` / `tie`). `mean` averages the values; `majority` takes the most common raw verdict
and, when several tie for most common, the mean of their values (so a win/loss split is a tie, 0.5).
The spread of a set of votes is max - min of their values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import JsonValue

from ..schema import SampleResult
from ..schema.rubric import Winner

__all__ = ["Aggregate", "Outcome", "Vote", "VoteSummary", "combine", "outcome_vote", "swap_inconsistency_rate",
           "swap_outcome"]

Aggregate = Literal["mean", "majority"]
Outcome = Literal["win", "loss", "tie"]
_OUTCOME_VALUE: dict[Outcome, float] = {"win": 1.0, "loss": 0.0, "tie": 0.5}
_AS_A: dict[Winner, Outcome] = {"A": "win", "B": "loss", "tie": "tie"}
_AS_B: dict[Winner, Outcome] = {"A": "loss", "B": "win", "tie": "tie"}


@dataclass(frozen=True)
class Vote:
    raw: int | str
    value: float
    reasoning: str


@dataclass(frozen=True)
class VoteSummary:
    value: float
    """The combined value, by the chosen aggregate."""
    mean: float
    majority: int | str | None
    """The most common raw verdict; None when several tie for most common."""
    spread: float


def combine(votes: list[Vote], how: Aggregate) -> VoteSummary:
    """Mean, majority and spread of votes (at least one)."""
    if not votes:
        raise ValueError("no votes to combine")
    values = [v.value for v in votes]
    mean = sum(values) / len(values)
    counts = Counter(v.raw for v in votes)
    top = max(counts.values())
    leaders = [raw for raw, n in counts.items() if n == top]
    majority = leaders[0] if len(leaders) == 1 else None
    if how == "mean":
        value = mean
    else:
        lead_values = [next(v.value for v in votes if v.raw == raw) for raw in leaders]
        value = sum(lead_values) / len(lead_values)
    return VoteSummary(value=value, mean=mean, majority=majority, spread=max(values) - min(values))


def swap_outcome(candidate_first: Winner, baseline_first: Winner) -> tuple[Outcome, bool]:
    """The candidate's outcome from both orders, and whether they agree.

    In the first order the candidate is response A; in the second it is response B. Orders that
    disagree count as a tie (position bias, not a preference)."""
    first = _AS_A[candidate_first]
    second = _AS_B[baseline_first]
    if first == second:
        return first, True
    return "tie", False


def outcome_vote(outcome: Outcome, reasoning: str) -> Vote:
    return Vote(raw=outcome, value=_OUTCOME_VALUE[outcome], reasoning=reasoning)


def swap_inconsistency_rate(results: Iterable[SampleResult], metric_id: str) -> float | None:
    """Share of position-swapped pairs whose two orders disagreed, over a run's scores of a pairwise
    judge metric (None when it judged no pair)."""
    pairs = inconsistent = 0
    for r in results:
        score = r.scores.get(metric_id)
        swaps: JsonValue = score.details.get("swaps") if score is not None else None
        if not isinstance(swaps, list):
            continue
        for s in swaps:
            if isinstance(s, dict):
                pairs += 1
                inconsistent += s.get("consistent") is False
    return inconsistent / pairs if pairs else None
