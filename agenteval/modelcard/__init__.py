"""Model cards: what a model was evaluated on and how it did, as Markdown and JSON, from run folders."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError
from ..store.rundir import atomic_write
from .card import MAX_FAILURES, Comparer, build_model_card, build_run_card, compute_slices, failure_cases
from .markdown import render_markdown
from .schema import (
    MODEL_CARD_SCHEMA_VERSION,
    EvaluationData,
    FailedMetric,
    FailureCase,
    IntendedUse,
    JudgeCalibration,
    MetricRow,
    ModelCard,
    ModelDetails,
    RunCard,
    SampleSourceInfo,
    Slice,
    SliceMetric,
    ThresholdCheck,
    UsageReport,
)

__all__ = [
    "MAX_FAILURES", "MODEL_CARD_SCHEMA_VERSION", "Comparer", "EvaluationData", "FailedMetric", "FailureCase",
    "IntendedUse", "JudgeCalibration", "MetricRow", "ModelCard", "ModelDetails", "RunCard", "SampleSourceInfo",
    "Slice", "SliceMetric", "ThresholdCheck", "UsageReport", "build_model_card", "build_run_card",
    "compute_slices", "failure_cases", "render_markdown", "write_model_card",
]


def write_model_card(card: ModelCard, markdown_path: Path) -> tuple[Path, Path]:
    """Write the Markdown to `markdown_path` and the JSON beside it (same name, `.json`), atomically."""
    json_path = markdown_path.with_suffix(".json")
    if json_path == markdown_path:
        raise ConfigError(f"{markdown_path} would be both the Markdown and the JSON card", field="--out",
                          hint="name the Markdown file, e.g. MODEL_CARD.md; the JSON goes beside it")
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(markdown_path, render_markdown(card))
    atomic_write(json_path, json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    return markdown_path, json_path
