"""The `rag` preset: retrieval quality against expected context ids, and judged answers."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="rag",
    description="Retrieval-augmented answers: the retrieved contexts and the answer grounded in them.",
    needs="each sample's retrieved contexts, best first, as [{id, text}, ...] in `metadata.contexts`, "
          "`metadata.context` or `vars.context` (the last two are what the faithfulness judge reads), or a trace "
          "event {type: retrieval, contexts: [...]}; and `metadata.expected_context_ids`. The judges need a "
          "judge model.",
    metrics=(
        metric("context_precision"),
        metric("context_recall"),
        metric({"judge": {"rubric": "faithfulness"}}),
        metric({"judge": {"rubric": "answer_relevance"}}),
    ),
    thresholds={"context_recall": Threshold(min=0.8), "judge/faithfulness": Threshold(min=0.75),
                "judge/answer_relevance": Threshold(min=0.75)},
    aggregation={
        "context_precision": "mean over samples of rank-aware context precision (macro over questions)",
        "context_recall": "mean over samples of context recall (macro over questions, not pooled ids)",
        "judge/faithfulness": "mean of per-sample judge scores on [0, 1]",
        "judge/answer_relevance": "mean of per-sample judge scores on [0, 1]",
    },
)
