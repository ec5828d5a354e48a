"""The `ranking` preset (alias `recommendation`): an ordered list of ids against relevance judgements."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

_PER_QUERY = "mean over samples (queries), each weighing the same"

PRESET = Preset(
    name="ranking",
    aliases=("recommendation",),
    description="Rank or recommend items: the answer is an ordered list of ids (search, recommendations, reranking).",
    needs="each sample's `expected` is relevance judgements: {id: grade} (graded) or a list of relevant ids.",
    metrics=(
        metric({"ndcg_at_k": {"k": 10, "id": "ndcg@10"}}),
        metric("mrr"),
        metric({"recall_at_k": {"k": 10, "id": "recall@10"}}),
        metric({"map_at_k": {"k": 10, "id": "map@10"}}),
        metric({"hit_rate_at_k": {"k": 10, "id": "hit_rate@10"}}),
    ),
    thresholds={"ndcg@10": Threshold(min=0.6), "hit_rate@10": Threshold(min=0.8)},
    aggregation={
        "ndcg@10": f"{_PER_QUERY}: mean NDCG@10 (linear gains, as scikit-learn's ndcg_score)",
        "mrr": f"{_PER_QUERY}: mean reciprocal rank of the first relevant id",
        "recall@10": f"{_PER_QUERY} (macro recall, not pooled over queries)",
        "map@10": f"{_PER_QUERY}: MAP@10 = mean of per-query AP@10",
        "hit_rate@10": f"{_PER_QUERY}: share of queries with a relevant id in the top 10",
    },
)
