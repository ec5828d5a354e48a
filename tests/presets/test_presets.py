"""Task presets: definitions, aliases, the `list presets` table, and the example suite of each preset."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError

from agenteval import registry
from agenteval.errors import ConfigError
from agenteval.metrics.factory import build_metric
from agenteval.presets import Preset, all_presets, canonical_task, get_preset, presets_table
from agenteval.presets.model import metric
from agenteval.registry import Registry
from agenteval.schema import TaskKind, Threshold
from agenteval.suite import load_suite
from agenteval.suite.check import check_suite

REPO = Path(__file__).resolve().parents[2]
NAMES = list(typing.get_args(TaskKind))


def test_one_preset_per_task_kind_in_order() -> None:
    assert [p.name for p in all_presets()] == NAMES


@pytest.mark.parametrize(("name", "preset"), [
    ("classification", "classification"), ("recommendation", "ranking"), ("summarization", "generation"),
    ("Summarisation", "generation"), ("agent", "tool_use"), ("tool-use", "tool_use"), ("time_series", "forecasting"),
    (" RAG ", "rag"),
])
def test_names_and_aliases(name: str, preset: str) -> None:
    assert get_preset(name).name == preset
    assert canonical_task(name) == preset


def test_unknown_preset_is_a_config_error_with_a_hint() -> None:
    with pytest.raises(ConfigError) as exc:
        get_preset("clasification")
    assert exc.value.hint is not None and "classification" in exc.value.hint


def test_aliases_are_unique() -> None:
    names = [n for p in all_presets() for n in (p.name, *p.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("preset", all_presets(), ids=lambda p: p.name)
def test_every_metric_has_its_aggregation_and_thresholds_name_metrics(preset: Preset) -> None:
    ids = [m.id for m in preset.metrics]
    assert set(preset.aggregation) == set(ids)
    assert set(preset.thresholds) <= set(ids) and preset.thresholds
    assert preset.description.endswith(".") and preset.needs


@pytest.mark.parametrize("preset", all_presets(), ids=lambda p: p.name)
def test_installed_metrics_build_with_the_preset_arguments(preset: Preset) -> None:
    for spec in preset.metrics:
        if spec.name == "judge" and not (REPO / "judges" / f"{spec.args['rubric']}.yaml").exists():
            continue  # a rubric another package may provide: resolved when the suite runs
        build_metric(spec)


def test_error_metrics_have_upper_bounds() -> None:
    forecasting = get_preset("forecasting")
    assert forecasting.thresholds == {"mase": Threshold(max=1.0)}


def test_a_preset_loads_even_when_a_metric_is_not_installed() -> None:
    preset = Preset(name="generation", description="x.", needs="x", metrics=(metric("no_such_metric"),),
                    aggregation={"no_such_metric": "mean"})
    assert preset.metrics[0].name == "no_such_metric"


@pytest.mark.parametrize(("change", "why"), [
    ({"thresholds": {"nope": Threshold(min=0.5)}}, "threshold for unknown metric id 'nope'"),
    ({"aggregation": {}}, "no aggregation text for 'mae'"),
    ({"metrics": (metric("mae"), metric("mae"))}, "used twice"),
    ({"name": "regression"}, "Input should be"),
])
def test_inconsistent_presets_are_rejected(change: dict[str, object], why: str) -> None:
    data: dict[str, object] = {"name": "forecasting", "description": "x.", "needs": "x",
                               "metrics": (metric("mae"),), "aggregation": {"mae": "mean"}, **change}
    with pytest.raises(ValidationError, match=why):
        Preset.model_validate(data)


def test_spec_copies_are_independent() -> None:
    preset = get_preset("ranking")
    specs = preset.metric_specs()
    specs[0].args["k"] = 3
    assert preset.metrics[0].args["k"] == 10
    thresholds = preset.default_thresholds()
    thresholds.clear()
    assert preset.thresholds


def test_presets_table() -> None:
    rows = presets_table()
    json.dumps(rows)  # JSON-ready for `agenteval list presets --json`
    assert [r["name"] for r in rows] == NAMES
    ranking = rows[1]
    assert ranking["aliases"] == ["recommendation"]
    metrics = ranking["metrics"]
    assert isinstance(metrics, list) and isinstance(metrics[0], dict)
    assert metrics[0] == {"id": "ndcg@10", "name": "ndcg_at_k", "args": {"k": 10}, "threshold": ">= 0.6",
                          "aggregation": get_preset("ranking").aggregation["ndcg@10"], "installed": True}
    forecasting = rows[-1]["metrics"]
    assert isinstance(forecasting, list)
    assert [m["threshold"] for m in forecasting if isinstance(m, dict)] == [None, None, None, "<= 1"]


def test_presets_table_marks_metrics_that_are_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "metrics", Registry("agenteval.no_such_group", "metric"))
    rows = presets_table()
    flags = [m["installed"] for r in rows if isinstance(r["metrics"], list)
             for m in r["metrics"] if isinstance(m, dict)]
    assert len(flags) == sum(len(p.metrics) for p in all_presets()) and not any(flags)


# --- the example suites ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_example_suite_loads_validates_and_lists_the_preset(name: str) -> None:
    suite = load_suite(REPO / "suites" / f"preset_{name}.yaml")
    check_suite(suite)
    preset = get_preset(name)
    assert suite.task == preset.name and suite.backend is not None
    assert suite.backend.spec == "stub:scripted"
    assert 5 <= len(suite.samples) <= 10
    by_id = {m.id: m for m in preset.metrics}
    listed = [m.id for m in suite.metrics]
    assert listed == [i for i in by_id if i in listed]  # the preset's metrics, in its order
    for m in suite.metrics:  # the preset's arguments; a suite may add some (extraction's normalizers)
        assert m.name == by_id[m.id].name and by_id[m.id].args.items() <= m.args.items()
    assert suite.thresholds == {k: v for k, v in preset.thresholds.items() if k in listed}
    missing = set(by_id) - set(listed)
    assert missing <= {"judge/answer_relevance"}  # until that rubric exists
    assert all(s.script is not None for s in suite.samples)
