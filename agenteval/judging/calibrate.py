"""Judge calibration: does the judge agree with people?

`agenteval judge calibrate RUBRIC --labels FILE` runs a judge over human-labelled examples and reports
exact agreement, Cohen's kappa (quadratic-weighted for ordinal scales), Spearman's rank correlation,
the confusion matrix, swap consistency (pairwise rubrics) and self-consistency spread (with samples > 1).
This module holds the labelled-example format and the statistics; the CLI runs the judge.

Labelled examples (JSONL, one per line): `{"id", "input", "response", "reference"?, "context"?,
"baseline"? (pairwise), "human": <score on the rubric's scale | label | win/loss/tie>}`. For pairwise
rubrics `human` says how the response compares with the baseline: `win`, `loss` or `tie`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..errors import ConfigError
from ..schema import SCHEMA_VERSION, ResolvedSample
from ..schema.rubric import Rubric

__all__ = ["CalibrationItem", "CalibrationReport", "LabelledExample", "calibration_report", "load_labels",
           "example_sample", "judge_verdict"]


class LabelledExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    input: str = ""
    response: str
    reference: JsonValue = None
    context: JsonValue = None
    baseline: str | None = None
    human: int | float | str
    """The person's verdict: a score on the rubric's scale, one of its labels, or win/loss/tie."""
    note: str | None = None


class CalibrationItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    human: str
    judge: str | None
    """None when the judge's answer was unusable (unmeasured)."""
    agree: bool | None
    reasoning: str = ""
    spread: float | None = None
    swap_inconsistent: float | None = None


class CalibrationReport(BaseModel):
    """The judge report written by `agenteval judge calibrate`."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    rubric: str
    rubric_version: str
    rubric_hash: str
    judge_model: str
    labels_file: str
    created_at: str
    n: int
    n_unmeasured: int
    exact_agreement: float | None
    cohen_kappa: float | None
    kappa_weights: str
    """`quadratic` for ordinal scales, `none` for labels and pairwise outcomes."""
    spearman_rho: float | None
    spearman_p: float | None
    confusion_labels: list[str]
    confusion_matrix: list[list[int]]
    """Rows: the human verdict; columns: the judge's (in `confusion_labels` order)."""
    swap_consistency: float | None = None
    self_consistency_spread_mean: float | None = None
    self_consistency_spread_max: float | None = None
    items: list[CalibrationItem] = Field(default_factory=list)


def load_labels(path: Path, rubric: Rubric) -> list[LabelledExample]:
    """Read labelled examples; a bad line or a verdict off the rubric's scale is a ConfigError with file:line."""
    if not path.is_file():
        raise ConfigError("labels file not found", file=str(path))
    out: list[LabelledExample] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            ex = LabelledExample.model_validate_json(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], file=str(path), line=lineno,
                              field=".".join(map(str, err["loc"])) or None) from None
        allowed = _categories(rubric)
        if _human_key(ex.human, rubric) not in allowed:
            raise ConfigError(f"human verdict {ex.human!r} is not one of {', '.join(allowed)}", file=str(path),
                              line=lineno, field="human")
        out.append(ex.model_copy(update={"id": ex.id or f"line-{lineno}"}))
    if not out:
        raise ConfigError("no labelled examples", file=str(path))
    return out


def _categories(rubric: Rubric) -> list[str]:
    if rubric.mode == "pairwise":
        return ["loss", "tie", "win"]
    if rubric.scale is not None:
        return [str(k) for k in sorted(rubric.scale)]
    return list(rubric.labels or {})


def _human_key(value: int | float | str, rubric: Rubric) -> str:
    if rubric.mode != "pairwise" and rubric.scale is not None and isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def example_sample(ex: LabelledExample) -> ResolvedSample:
    """The example as a sample the judge metric can score."""
    metadata: dict[str, JsonValue] = {}
    if ex.context is not None:
        metadata["context"] = ex.context
    if ex.baseline is not None:
        metadata["baseline"] = ex.baseline
    return ResolvedSample(id=ex.id or "example", hash="calibration", origin="labels", input=ex.input,
                          expected=ex.reference, metadata=metadata)


def judge_verdict(details: dict[str, JsonValue], rubric: Rubric) -> str | None:
    """The judge's verdict in the rubric's own terms (a scale point, a label, or win/loss/tie)."""
    if rubric.mode == "pairwise":
        outcome = details.get("outcome")
        return str(outcome) if outcome is not None else None
    if rubric.scale is not None:
        score = details.get("score")
        if not isinstance(score, (int, float)):
            return None
        return str(math.floor(float(score) + 0.5))  # a mean of several samples: nearest scale point
    label = details.get("label")
    return str(label) if label is not None else None


def calibration_report(rubric: Rubric, judge_model: str, labels_file: str, created_at: str,
                       items: list[CalibrationItem]) -> CalibrationReport:
    from scipy import stats
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    cats = _categories(rubric)
    measured = [it for it in items if it.judge is not None]
    human = [it.human for it in measured]
    judge = [it.judge for it in measured if it.judge is not None]
    agreement = sum(h == j for h, j in zip(human, judge, strict=True)) / len(measured) if measured else None
    ordinal = rubric.mode != "pairwise" and rubric.scale is not None
    kappa: float | None = None
    if len(measured) >= 2 and len(set(human) | set(judge)) >= 2:
        k = float(cohen_kappa_score(human, judge, labels=cats, weights="quadratic" if ordinal else None))
        kappa = None if math.isnan(k) else k
    rho = p = None
    if len(measured) >= 3:
        if ordinal:
            hv, jv = [float(h) for h in human], [float(j) for j in judge]
        elif rubric.mode == "pairwise":
            order = {"loss": 0.0, "tie": 0.5, "win": 1.0}
            hv, jv = [order[h] for h in human], [order[j] for j in judge]
        else:
            values = {name: spec.value for name, spec in (rubric.labels or {}).items()}
            hv, jv = [values[h] for h in human], [values[j] for j in judge]
        if len(set(hv)) > 1 and len(set(jv)) > 1:
            res = stats.spearmanr(hv, jv)
            rho, p = float(res.statistic), float(res.pvalue)
    matrix = confusion_matrix(human, judge, labels=cats).tolist() if measured else [[0] * len(cats) for _ in cats]
    spreads = [it.spread for it in measured if it.spread is not None]
    swaps = [it.swap_inconsistent for it in measured if it.swap_inconsistent is not None]
    return CalibrationReport(
        rubric=rubric.name, rubric_version=rubric.version, rubric_hash=rubric.content_hash, judge_model=judge_model,
        labels_file=labels_file, created_at=created_at, n=len(items), n_unmeasured=len(items) - len(measured),
        exact_agreement=agreement, cohen_kappa=kappa, kappa_weights="quadratic" if ordinal else "none",
        spearman_rho=rho, spearman_p=p, confusion_labels=cats, confusion_matrix=matrix,
        swap_consistency=(1 - sum(swaps) / len(swaps)) if swaps else None,
        self_consistency_spread_mean=(sum(spreads) / len(spreads)) if spreads else None,
        self_consistency_spread_max=max(spreads) if spreads else None, items=items)


def dump_report(report: CalibrationReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json.loads(report.model_dump_json()), indent=2) + "\n", encoding="utf-8")
