"""Each preset's example suite runs with its stub and gives the hand-computed or reference-library values."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rouge_score import rouge_scorer
from sklearn.metrics import confusion_matrix, f1_score, ndcg_score

from agenteval.metrics.classification import LabelMatch
from agenteval.metrics.extraction import FieldF1
from agenteval.metrics.forecasting import Rmse
from agenteval.runner import RunOptions, RunOutcome, run_suite
from agenteval.schema import SampleResult
from agenteval.suite import load_suite
from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
JUDGE = "litellm:openai/gpt-4o-mini"


def run(name: str, root: Path, **kw: Any) -> RunOutcome:
    suite = load_suite(REPO / "suites" / f"preset_{name}.yaml")
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, progress=False, **kw)))


def values(outcome: RunOutcome, metric: str) -> dict[str, float | None]:
    return {r.sample_id: r.scores[metric].value for r in outcome.run_dir.iter_results()}


def results(outcome: RunOutcome) -> list[SampleResult]:
    return list(outcome.run_dir.iter_results())


def means(outcome: RunOutcome) -> dict[str, float | None]:
    return {k: m.mean for k, m in outcome.summary.metrics.items()}


def test_classification(tmp_path: Path) -> None:
    out = run("classification", tmp_path)
    gold = ["billing", "technical", "account", "shipping", "billing", "account", "shipping", "technical",
            "technical", "account"]
    pred = ["billing", "technical", "account", "shipping", "billing", "account", "shipping", "technical",
            "billing", "unparseable"]
    rows = results(out)
    assert [r.scores["label_match"].details for r in rows] == [
        {"predicted": p, "gold": g} for g, p in zip(gold, pred, strict=True)]
    assert out.summary.metrics["label_match"].mean == pytest.approx(0.8) and out.summary.passed
    agg = LabelMatch(labels=["billing", "technical", "account", "shipping"]).aggregate(
        [r.scores["label_match"].details for r in rows])
    labels = ["billing", "technical", "account", "shipping"]
    assert agg["macro_f1"] == pytest.approx(f1_score(gold, pred, labels=labels, average="macro"))
    assert agg["micro_f1"] == pytest.approx(f1_score(gold, pred, labels=labels, average="micro"))
    assert agg["confusion_matrix"] == {
        "labels": [*labels, "unparseable"],
        "matrix": confusion_matrix(gold, pred, labels=[*labels, "unparseable"]).tolist()}


def test_classification_golden(tmp_path: Path) -> None:
    out = run("classification", tmp_path, backend_spec="stub:golden")
    assert out.summary.metrics["label_match"].mean == 1.0


def _ap_at_k(order: list[str], relevant: set[str], k: int) -> float:
    hits = [i for i, item in enumerate(order[:k], 1) if item in relevant]
    return sum(n / rank for n, rank in enumerate(hits, 1)) / min(len(relevant), k)


def _scripted_order(output: str) -> list[str]:
    """The ids a scripted ranking lists: a JSON list, a JSON {id: score}, `a, b` or numbered lines."""
    if output.lstrip()[0] in "[{":
        raw = json.loads(output)
        if isinstance(raw, dict):
            return sorted(raw, key=lambda i: -float(raw[i]))
        return [str(i) for i in raw]
    return [p.strip().split(" ")[-1] for p in output.replace("\n", ",").split(",")]


def test_ranking_against_scikit_learn(tmp_path: Path) -> None:
    out = run("ranking", tmp_path)
    suite = load_suite(REPO / "suites" / "preset_ranking.yaml")
    expect: dict[str, dict[str, float]] = {}
    for s in suite.samples:
        assert s.script is not None and isinstance(s.vars["candidates"], list)
        order = _scripted_order(s.script.output)
        candidates = [str(c["id"]) for c in s.vars["candidates"] if isinstance(c, dict)]
        assert sorted(order) == sorted(candidates)  # full rankings, so scikit-learn applies as is
        if isinstance(s.expected, dict):
            grades = {k: float(v) for k, v in s.expected.items() if isinstance(v, (int, float))}
        else:
            assert isinstance(s.expected, list)
            grades = {str(i): 1.0 for i in s.expected}
        y_true = [[grades.get(c, 0.0) for c in candidates]]
        y_score = [[len(order) - order.index(c) for c in candidates]]
        relevant = {c for c in candidates if grades.get(c, 0.0) > 0}
        first = next(i for i, c in enumerate(order, 1) if c in relevant)
        expect[s.id] = {"ndcg@10": float(ndcg_score(y_true, y_score, k=10)), "mrr": 1 / first,
                        "recall@10": len(relevant & set(order[:10])) / len(relevant),
                        "map@10": _ap_at_k(order, relevant, 10), "hit_rate@10": float(first <= 10)}
    for metric in ("ndcg@10", "mrr", "recall@10", "map@10", "hit_rate@10"):
        assert values(out, metric) == pytest.approx({sid: e[metric] for sid, e in expect.items()}), metric
    assert values(out, "recall@10")["anc-headphones"] == 0.75  # a11 is ranked 11th
    assert out.summary.passed


def test_ranking_golden_is_ideal_where_grades_are_given(tmp_path: Path) -> None:
    out = run("ranking", tmp_path, backend_spec="stub:golden")
    ndcg = values(out, "ndcg@10")
    assert ndcg.pop("espresso-beginner") == pytest.approx(1 / (1 + 1 / math.log2(3)))  # answers e02 only
    assert list(ndcg.values()) == pytest.approx([1.0] * len(ndcg))


def test_extraction(tmp_path: Path) -> None:
    out = run("extraction", tmp_path)
    ids = ["acme-0042", "northwind-7781", "globex-a17", "initech-3310", "umbrella-881", "stark-s9"]
    assert values(out, "json_valid") == dict(zip(ids, [1.0, 1.0, 1.0, 1.0, 1.0, 0.0], strict=True))
    assert values(out, "json_schema") == dict(zip(ids, [1.0, 1.0, 0.0, 1.0, 1.0, 0.0], strict=True))
    # initech: 4 of 4 expected fields, 1 invented (P 4/5, R 1); umbrella: 3 of 5 right (P = R = 3/5)
    f1 = [1.0, 1.0, 1.0, 2 * 0.8 / 1.8, 0.6, 0.0]
    assert values(out, "field_f1") == pytest.approx(dict(zip(ids, f1, strict=True)))
    assert values(out, "record_exact_match") == dict(zip(ids, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0], strict=True))
    assert not out.summary.passed  # on purpose: json_schema 4/6 and field_f1 0.748 miss the preset thresholds
    assert {k: r.passed for k, r in out.summary.thresholds.items()} == {"json_schema": False, "field_f1": False}
    agg = FieldF1().aggregate([r.scores["field_f1"].details for r in results(out)])
    # TP 22; FP 1 extra + 2 mismatches; FN 2 mismatches + 5 missing
    assert agg["micro_precision"] == pytest.approx(22 / 25) and agg["micro_recall"] == pytest.approx(22 / 29)
    assert agg["micro_f1"] == pytest.approx(44 / 54)


def test_extraction_golden(tmp_path: Path) -> None:
    out = run("extraction", tmp_path, backend_spec="stub:golden")
    assert means(out) == {"json_valid": 1.0, "json_schema": 1.0, "field_f1": 1.0, "record_exact_match": 1.0}
    assert out.summary.passed


FORECASTS = {
    "espresso-beans": ([255, 258, 262, 260], [252, 256, 259, 263],
                       [212, 220, 218, 225, 231, 228, 236, 240, 238, 245, 251, 249]),
    "rain-jackets": ([94, 99, 97, 104], [90, 90, 90, 90], [40, 38, 45, 52, 61, 70, 66, 72, 80, 77, 85, 90]),
    "sunscreen": ([118, 125, 131, 140], [115, 124, 133, 141], [15, 18, 22, 30, 41, 55, 63, 70, 82, 95, 101, 110]),
    "desk-lamps": ([62, 65, 61, 63], [63, 63, 63, 63], [64, 60, 66, 63, 59, 65, 62, 61, 67, 60, 63, 64]),
    "gift-cards": ([80, 88, 97, 105], [78, 86, 92, 99], [30, 31, 29, 33, 35, 34, 38, 41, 45, 52, 60, 71]),
}


def test_forecasting_against_numpy(tmp_path: Path) -> None:
    out = run("forecasting", tmp_path)
    expect: dict[str, dict[str, float]] = {}
    for sid, (actual, forecast, history) in FORECASTS.items():
        a, f, h = np.array(actual, float), np.array(forecast, float), np.array(history, float)
        err = a - f
        expect[sid] = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
                       "smape": float(100 * np.mean(2 * np.abs(err) / (np.abs(a) + np.abs(f)))),
                       "mase": float(np.mean(np.abs(err)) / np.mean(np.abs(np.diff(h))))}
    for metric in ("mae", "rmse", "smape", "mase"):
        assert values(out, metric) == pytest.approx({sid: e[metric] for sid, e in expect.items()}), metric
    assert values(out, "mase")["rain-jackets"] > 1 > out.summary.metrics["mase"].mean  # type: ignore[operator]
    assert out.summary.thresholds["mase"].kind == "max" and out.summary.passed
    all_err = np.concatenate([np.array(a, float) - np.array(f, float) for a, f, _ in FORECASTS.values()])
    agg = Rmse().aggregate([r.scores["rmse"].details for r in results(out)])
    assert agg["corpus_rmse"] == pytest.approx(float(np.sqrt(np.mean(all_err ** 2)))) and agg["n_points"] == 20


def test_tool_use(tmp_path: Path) -> None:
    out = run("tool_use", tmp_path)
    ids = ["where-is-1001", "cancel-1002", "move-1003", "refund-1004", "cancel-shipped-1001"]
    expect: dict[str, list[float]] = {
        "trajectory_in_order_match": [1, 1, 0, 1, 1],
        "trajectory_precision": [1, 1, 0, 1, 1 / 3],  # 3 calls, 1 expected
        "trajectory_recall": [1, 1, 0, 1, 1],
        "tool_args_match": [1, 1, 0.5, 1, 1],  # update_address: order_id right, address wrong
        "tool_call_valid": [1, 1, 1, 1, 2 / 3],  # escalate_ticket is no declared tool
        "end_state_match": [1, 1, 0, 1, 1],
    }
    for metric, vals in expect.items():
        assert values(out, metric) == pytest.approx(dict(zip(ids, vals, strict=True))), metric
    assert {k: r.passed for k, r in out.summary.thresholds.items()} == {
        "trajectory_in_order_match": False, "tool_call_valid": False}


def test_tool_use_golden(tmp_path: Path) -> None:
    out = run("tool_use", tmp_path, backend_spec="stub:golden")
    assert set(means(out).values()) == {1.0} and out.summary.passed


def _judge_prompt(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


def test_rag(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    def responder(body: dict[str, Any]) -> str:
        unsupported = "lease a bike" in _judge_prompt(body)
        return json.dumps({"reasoning": "checked", "score": 1 if unsupported else 5})

    fake_openai.responder = responder
    out = run("rag", tmp_path, judge_model=JUDGE, judge_options={"api_base": fake_openai.base_url, "api_key": "x"})
    ids = ["parental-leave", "home-office", "carry-over", "travel-class", "bike-scheme", "notice-period"]
    precision = [(1 + 2 / 3) / 2, (1 / 2 + 2 / 3) / 2, 1 / 2, 1 / 3, 0.0, 1 / 2]
    assert values(out, "context_precision") == pytest.approx(dict(zip(ids, precision, strict=True)))
    assert values(out, "context_recall") == dict(zip(ids, [1.0, 1.0, 1.0, 1.0, 0.0, 1.0], strict=True))
    assert values(out, "judge/faithfulness") == dict(zip(ids, [1.0, 1.0, 1.0, 1.0, 0.0, 1.0], strict=True))
    assert means(out)["context_recall"] == pytest.approx(5 / 6) and out.summary.passed
    prompts = [_judge_prompt(r) for r in fake_openai.requests]
    assert any("Up to 5 unused vacation days" in p for p in prompts)  # the judge sees the passages


def test_generation(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    def responder(body: dict[str, Any]) -> str:
        wrong = "solar farm" in _judge_prompt(body)
        return json.dumps({"reasoning": "compared", "score": 2 if wrong else 5})

    fake_openai.responder = responder
    out = run("generation", tmp_path, judge_model=JUDGE,
              judge_options={"api_base": fake_openai.base_url, "api_key": "x"})
    suite = load_suite(REPO / "suites" / "preset_generation.yaml")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge = {}
    for s in suite.samples:
        assert s.script is not None and isinstance(s.expected, str)
        rouge[s.id] = scorer.score(s.expected, s.script.output)["rougeL"].fmeasure
    assert values(out, "rouge_l") == pytest.approx(rouge)
    judged = values(out, "judge/correctness")
    assert judged == {**dict.fromkeys(judged, 1.0), "startup-funding": 0.25}  # (2 - 1) / 4 on the 1-5 scale
    assert set(values(out, "length_budget").values()) == {1.0}
    similarity = values(out, "semantic_similarity")
    assert all(v is not None and 0.0 <= v <= 1.0 for v in similarity.values())
    assert min(similarity, key=lambda k: similarity[k] or 0.0) == "startup-funding"
    assert out.summary.thresholds["judge/correctness"].passed


def test_corpus_aggregates_reach_the_run_summary(tmp_path: Path) -> None:
    import asyncio

    from agenteval.runner import RunOptions, run_suite
    from agenteval.suite import load_suite

    suite = load_suite(Path(__file__).resolve().parents[2] / "suites" / "preset_classification.yaml")
    out = asyncio.run(run_suite(suite, RunOptions(results_root=tmp_path, progress=False)))
    corpus = out.summary.metrics["label_match"].corpus
    assert corpus is not None
    assert corpus["n"] == out.summary.metrics["label_match"].n
    assert corpus["accuracy"] == pytest.approx(out.summary.metrics["label_match"].mean)
    assert "macro_f1" in corpus and "confusion_matrix" in corpus
