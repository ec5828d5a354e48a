"""The `extraction` preset: a JSON record against a schema and an expected record."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="extraction",
    description="Extract a structured record (JSON) from text: invoices, forms, entities.",
    needs="the suite's `output_schema` (for json_schema); each sample's `expected` is the expected JSON object. "
          "Set per-field normalisers with `field_f1: {normalizers: {date: date, amount: number}}`.",
    metrics=(metric("json_valid"), metric("json_schema"), metric("field_f1"), metric("record_exact_match")),
    thresholds={"json_schema": Threshold(min=0.95), "field_f1": Threshold(min=0.8)},
    aggregation={
        "json_valid": "mean of per-sample 0/1: share of answers that are JSON",
        "json_schema": "mean of per-sample 0/1: share of answers valid against the schema",
        "field_f1": "mean of per-record F1 (macro over records). Corpus-level (field_f1.aggregate): micro "
                    "precision/recall/F1 over all fields pooled, and precision/recall/F1 per field path.",
        "record_exact_match": "mean of per-sample 0/1: share of records entirely right",
    },
)
