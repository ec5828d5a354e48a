"""The `classification` preset: one label from a closed set."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="classification",
    description="Pick one label from a closed set (sentiment, intent, topic, moderation verdicts).",
    needs="the suite's `labels` (or label_match's `labels` argument); each sample's `expected` is one label. "
          "Calibration needs confidences in the trace (label probabilities, a confidence, or logprobs).",
    metrics=(metric("label_match"),),
    thresholds={"label_match": Threshold(min=0.8)},
    aggregation={
        "label_match": "mean of per-sample 0/1 = accuracy. Corpus-level (label_match.aggregate): macro F1 "
                       "(unweighted over classes), micro F1 (pooled counts), weighted F1, per-class "
                       "precision/recall/F1 with support, the confusion matrix (gold rows, predicted columns, "
                       "an `unparseable` column when an answer named no single label) and, when confidences "
                       "exist, the expected calibration error over 10 equal-width bins.",
    },
)
