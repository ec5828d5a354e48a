"""Preset tests: register the task-preset metrics by name until pyproject lists them as entry points."""

from __future__ import annotations

from agenteval import registry
from agenteval.metrics import classification, extraction, forecasting, length, rag, ranking

for _cls in (classification.LabelMatch, ranking.NdcgAtK, ranking.Mrr, ranking.RecallAtK, ranking.MapAtK,
             ranking.HitRateAtK, extraction.FieldF1, extraction.RecordExactMatch, forecasting.Mae, forecasting.Rmse,
             forecasting.Smape, forecasting.Mase, rag.ContextPrecision, rag.ContextRecall, length.LengthBudget):
    if _cls.name not in registry.metrics:
        registry.metrics.register(_cls.name, _cls)
