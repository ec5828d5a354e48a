"""Retrieval metrics for RAG: the retrieved contexts against the sample's expected context ids.

Retrieved contexts, best first, are read from (the first that is present):
1. the trace: the last event of the form `{"type": "retrieval", "contexts": [...]}` (a `python:` backend
   that retrieves can report what it retrieved for this answer);
2. the sample's `metadata.contexts`, else `metadata.context`, else `vars.context` (retrieval logged
   with the data set; `metadata.context` and `vars.context` are also what the faithfulness judge
   shows, and a `context` var can feed the prompt template).
Each context is an object with an `id` (string or integer; other keys such as `text` are ignored
here) or a bare id. A repeated id keeps its first position.

The expected ids are the sample's `metadata.expected_context_ids`: a list of ids (strings or integers).

Example sample:

    vars:
      question: ...
      context: [{id: kb-12, text: "..."}, {id: kb-40, text: "..."}]
    metadata:
      expected_context_ids: [kb-12]
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, JsonValue

from ..schema import Score
from .base import MetricBase, ScoreContext, unmeasured

__all__ = ["ContextPrecision", "ContextRecall", "expected_context_ids", "retrieved_context_ids"]


def _context_id(item: JsonValue) -> str | None:
    if isinstance(item, dict):
        item = item.get("id")
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, (int, str)):
        text = str(item).strip()
        return text or None
    return None


def _ids(value: JsonValue, what: str) -> list[str] | str:
    """Ids of a list of contexts, or why it is not one."""
    if not isinstance(value, list):
        return f"{what} is not a list"
    ids = [_context_id(v) for v in value]
    if any(i is None for i in ids):
        return f"{what} has an item without an id (give objects with `id`, or bare ids)"
    return list(dict.fromkeys(i for i in ids if i is not None))


def retrieved_context_ids(ctx: ScoreContext) -> list[str] | str | None:
    """Retrieved context ids, best first; a string saying what is wrong with them; None when absent."""
    for event in reversed(ctx.trace.events):
        if isinstance(event, dict) and event.get("type") == "retrieval" and "contexts" in event:
            return _ids(event["contexts"], "the trace's retrieval event `contexts`")
    for key in ("contexts", "context"):
        if key in ctx.sample.metadata:
            return _ids(ctx.sample.metadata[key], f"metadata.{key}")
    if "context" in ctx.sample.vars:
        return _ids(ctx.sample.vars["context"], "vars.context")
    return None


def expected_context_ids(ctx: ScoreContext) -> list[str] | str | None:
    """The sample's expected context ids; a string saying what is wrong with them; None when absent."""
    if "expected_context_ids" not in ctx.sample.metadata:
        return None
    return _ids(ctx.sample.metadata["expected_context_ids"], "metadata.expected_context_ids")


class _RetrievalMetric(MetricBase):
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass; None: the metric has no pass rule."""

    def _inputs(self, ctx: ScoreContext) -> tuple[list[str], list[str]] | Score:
        expected = expected_context_ids(ctx)
        if expected is None:
            return unmeasured("sample has no metadata.expected_context_ids")
        if isinstance(expected, str):
            return unmeasured(expected)
        retrieved = retrieved_context_ids(ctx)
        if retrieved is None:
            return unmeasured("no retrieved contexts: give metadata.contexts (or metadata.context, vars.context) "
                              "or a trace retrieval event")
        if isinstance(retrieved, str):
            return unmeasured(retrieved)
        return retrieved, expected

    def _graded(self, value: float, reason: str, details: dict[str, JsonValue]) -> Score:
        passed: bool | None = None
        if self.threshold is not None:
            passed = value >= self.threshold
            reason += f" ({'>=' if passed else '<'} {self.threshold:g})"
        return Score(value=value, passed=passed, reason=reason, details=details)


class ContextPrecision(_RetrievalMetric):
    """Precision of the retrieved contexts against the expected ids, rank-aware by default.

    With `ranked` (default, as RAGAS's context precision): the mean of precision@i over the ranks i that
    hold an expected id, i.e. sum over those ranks of (expected ids in the first i) / i, divided by the
    number of expected ids retrieved; 0.0 when none is retrieved. Relevant contexts ranked first score
    higher. With `ranked: false`: expected ids retrieved / contexts retrieved. Value in [0, 1]. An
    empty expected list makes every retrieved context irrelevant (0.0). Unmeasured when nothing was
    retrieved or either list is missing. Details: `retrieved`, `relevant_retrieved`.
    """

    name: ClassVar[str] = "context_precision"
    version: ClassVar[str] = "1"

    ranked: bool = True
    """Rank-aware (mean precision at the relevant ranks) instead of the plain share of relevant contexts."""

    def score(self, ctx: ScoreContext) -> Score:
        inputs = self._inputs(ctx)
        if isinstance(inputs, Score):
            return inputs
        retrieved, expected = inputs
        if not retrieved:
            return unmeasured("no context was retrieved, so precision is undefined")
        wanted = set(expected)
        hits, total = 0, 0.0
        for rank, cid in enumerate(retrieved, 1):
            if cid in wanted:
                hits += 1
                total += hits / rank
        if self.ranked:
            value = total / hits if hits else 0.0
        else:
            value = hits / len(retrieved)
        how = "ranked context precision" if self.ranked else "context precision"
        return self._graded(value, f"{how} {value:.3f} ({hits} of {len(retrieved)} retrieved are expected)",
                            {"retrieved": len(retrieved), "relevant_retrieved": hits})


class ContextRecall(_RetrievalMetric):
    """Share of the expected context ids that were retrieved.

    Expected ids among the retrieved contexts / expected ids, in [0, 1]. Unmeasured when the sample
    expects no context (an empty list), or either list is missing. Details: `found`, `expected`,
    `missed` (the expected ids not retrieved).
    """

    name: ClassVar[str] = "context_recall"
    version: ClassVar[str] = "1"

    def score(self, ctx: ScoreContext) -> Score:
        inputs = self._inputs(ctx)
        if isinstance(inputs, Score):
            return inputs
        retrieved, expected = inputs
        if not expected:
            return unmeasured("metadata.expected_context_ids is empty, so recall is undefined")
        got = set(retrieved)
        missed = [cid for cid in expected if cid not in got]
        found = len(expected) - len(missed)
        value = found / len(expected)
        reason = f"{found} of {len(expected)} expected contexts retrieved"
        if missed:
            reason += f"; missed {', '.join(missed[:5])}" + (", …" if len(missed) > 5 else "")
        missed_ids: list[JsonValue] = list(missed)
        return self._graded(value, reason, {"found": found, "expected": len(expected), "missed": missed_ids})
