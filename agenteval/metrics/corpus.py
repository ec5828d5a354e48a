"""Corpus-level aggregates: numbers a metric computes over all its scores, where the mean is not enough.

A metric offers them with a method `aggregate(details) -> dict`, fed the `Score.details` of its
measured scores in a run (macro/micro F1 and the confusion matrix of `label_match`, micro field F1 of
`field_f1`, the corpus RMSE of `rmse`). Use `corpus_aggregate` to call it: the judge metric has a
*field* named `aggregate` (its vote rule), so testing for the attribute alone is not enough.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import JsonValue

__all__ = ["CorpusAggregating", "corpus_aggregate"]


class CorpusAggregating(Protocol):
    """A metric with corpus-level numbers computed from the details of its per-answer scores."""

    def aggregate(self, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue]: ...


def corpus_aggregate(metric: object, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue] | None:
    """`metric.aggregate(details)` when the metric has such a method, else None."""
    method = getattr(type(metric), "aggregate", None)
    if not callable(method):
        return None
    result = metric.aggregate(details)  # type: ignore[attr-defined]
    return result if isinstance(result, dict) else None
