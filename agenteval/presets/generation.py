"""The `generation` preset (alias `summarization`): free text against a reference answer."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="generation",
    aliases=("summarization", "summarisation"),
    description="Free-text answers, summaries and explanations graded against a reference.",
    needs="each sample's `expected` is a reference answer; the judge needs a judge model (--judge-model); "
          "semantic_similarity needs the local embedding model (the [embeddings] extra).",
    metrics=(
        metric("rouge_l"),
        metric("semantic_similarity"),
        metric({"judge": {"rubric": "correctness"}}),
        metric({"length_budget": {"max_words": 150}}),
    ),
    thresholds={"semantic_similarity": Threshold(min=0.7), "judge/correctness": Threshold(min=0.75),
                "length_budget": Threshold(min=0.9)},
    aggregation={
        "rouge_l": "mean of per-sample ROUGE-L F (not corpus ROUGE)",
        "semantic_similarity": "mean of per-sample cosine similarities",
        "judge/correctness": "mean of per-sample judge scores on [0, 1] ((score - 1) / 4 for the 1-5 scale)",
        "length_budget": "mean of per-sample 0/1: share of answers within 150 words",
    },
)
