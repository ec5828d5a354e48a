"""Ranking metrics: NDCG@k, MRR, recall@k, MAP@k, hit rate@k, checked against scikit-learn and by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import JsonValue, ValidationError
from sklearn.metrics import average_precision_score, ndcg_score

from agenteval.metrics.ranking import (
    HitRateAtK,
    MapAtK,
    Mrr,
    NdcgAtK,
    RecallAtK,
    parse_judgements,
    parse_ranking,
)

from .conftest import task_ctx

GRADED: dict[str, JsonValue] = {"a": 3, "b": 2, "c": 0, "d": 1}


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "ids"), [
    ('["d3", "d1", "d2"]', ["d3", "d1", "d2"]),
    ("[17, 4, 9]", ["17", "4", "9"]),
    ('[{"id": "x", "why": "best"}, {"id": "y"}]', ["x", "y"]),
    ('{"b": 0.2, "a": 0.9, "c": 0.5}', ["a", "c", "b"]),
    ("Top picks:\n```json\n[\"p1\", \"p2\"]\n```", ["p1", "p2"]),
    ("d3, d1, d2", ["d3", "d1", "d2"]),
    ("1. d3\n2. d1\n3) d2", ["d3", "d1", "d2"]),
    ("- `sku-9`\n- 'sku-2'\n* sku-5", ["sku-9", "sku-2", "sku-5"]),
    ("d1, d2, d1, d3", ["d1", "d2", "d3"]),  # a repeat keeps its first position
    ("42", ["42"]),
    ("", []),
])
def test_parse_ranking(answer: str, ids: list[str]) -> None:
    assert parse_ranking(answer) == ids


@pytest.mark.parametrize(("expected", "grades"), [
    ({"a": 2, "b": 0}, {"a": 2.0, "b": 0.0}),
    (["a", "b"], {"a": 1.0, "b": 1.0}),
    ([3, 5], {"3": 1.0, "5": 1.0}),
    ('{"a": 1}', {"a": 1.0}),
    ("a, b", {"a": 1.0, "b": 1.0}),
    ({"a": -1}, None),
    ({"a": True}, None),
    ({"a": "high"}, None),
    ([["a"]], None),
    (3.5, None),
])
def test_parse_judgements(expected: JsonValue, grades: dict[str, float] | None) -> None:
    assert parse_judgements(expected) == grades


# --- NDCG --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 5, None])
def test_ndcg_matches_scikit_learn(seed: int, k: int | None) -> None:
    rng = np.random.default_rng(seed)
    items = [f"doc{i}" for i in range(8)]
    grades = rng.integers(0, 4, size=len(items))
    grades[rng.integers(0, len(items))] = 3  # at least one relevant item
    order = [items[i] for i in rng.permutation(len(items))]  # a full ranking, no ties
    expected: dict[str, JsonValue] = {item: int(g) for item, g in zip(items, grades, strict=True)}
    score = NdcgAtK(k=k).score(task_ctx(json.dumps(order), expected))
    y_score = [[len(order) - order.index(item) for item in items]]
    assert score.value == pytest.approx(ndcg_score([grades], y_score, k=k))


def test_ndcg_by_hand_with_a_short_answer() -> None:
    s = NdcgAtK(k=3).score(task_ctx("c, a, d", GRADED))
    dcg = 0 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert s.value == pytest.approx(dcg / idcg)
    assert s.details["dcg"] == pytest.approx(dcg) and s.details["idcg"] == pytest.approx(idcg)
    assert s.details["n_ranked"] == 3 and s.details["n_relevant"] == 3 and s.passed is None


def test_ndcg_exponential_gain() -> None:
    s = NdcgAtK(k=2, gain="exponential").score(task_ctx("b, a", GRADED))
    dcg = (2**2 - 1) / math.log2(2) + (2**3 - 1) / math.log2(3)
    idcg = (2**3 - 1) / math.log2(2) + (2**2 - 1) / math.log2(3)
    assert s.value == pytest.approx(dcg / idcg)


def test_ndcg_perfect_and_unjudged_ids() -> None:
    assert NdcgAtK().score(task_ctx('{"a": 3, "b": 2, "d": 1}', GRADED)).value == pytest.approx(1.0)
    assert NdcgAtK().score(task_ctx("x, y, z", GRADED)).value == 0.0  # unjudged ids have grade 0


def test_ndcg_threshold() -> None:
    metric = NdcgAtK(k=3, threshold=0.5)
    assert metric.score(task_ctx("a, b, d", GRADED)).passed is True
    low = metric.score(task_ctx("c, d", GRADED))
    assert low.passed is False and "< 0.5" in low.reason


# --- MRR, recall, MAP, hit rate ----------------------------------------------------------------


def test_mrr() -> None:
    assert Mrr().score(task_ctx("x, y, a", ["a", "b"])).value == pytest.approx(1 / 3)
    assert Mrr().score(task_ctx("b, a", ["a", "b"])).value == 1.0
    none = Mrr().score(task_ctx("x, y", ["a"]))
    assert none.value == 0.0 and none.details["first_relevant_rank"] is None
    assert Mrr(k=2).score(task_ctx("x, y, a", ["a"])).value == 0.0
    assert Mrr().score(task_ctx("c, d", GRADED)).value == 0.5  # c has grade 0: not relevant


def test_recall_at_k() -> None:
    relevant: JsonValue = ["a", "b", "d"]
    assert RecallAtK(k=2).score(task_ctx("a, c, d", relevant)).value == pytest.approx(1 / 3)
    s = RecallAtK(k=3).score(task_ctx("a, c, d", relevant))
    assert s.value == pytest.approx(2 / 3) and s.details["found"] == 2
    assert RecallAtK(k=None).score(task_ctx("c, x, b, y, d, a", relevant)).value == 1.0


def test_map_at_k_by_hand() -> None:
    relevant: JsonValue = ["a", "b", "d"]
    s = MapAtK(k=5).score(task_ctx("a, x, b, y, d", relevant))
    assert s.value == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)
    assert MapAtK(k=2).score(task_ctx("a, x, b, y, d", relevant)).value == pytest.approx(1 / 2)  # / min(3, 2)
    assert MapAtK(k=5).score(task_ctx("x, y", relevant)).value == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    items = [f"i{i}" for i in range(10)]
    relevant = [bool(x) for x in rng.integers(0, 2, size=len(items))]
    relevant[0] = True
    order = [items[i] for i in rng.permutation(len(items))]
    expected: JsonValue = [item for item, r in zip(items, relevant, strict=True) if r]
    s = MapAtK(k=None).score(task_ctx("\n".join(order), expected))
    y_score = [len(order) - order.index(item) for item in items]
    assert s.value == pytest.approx(average_precision_score(relevant, y_score))


def test_hit_rate_at_k() -> None:
    hit = HitRateAtK(k=3).score(task_ctx("x, y, b", ["b"]))
    assert (hit.value, hit.passed, hit.details["first_relevant_rank"]) == (1.0, True, 3)
    miss = HitRateAtK(k=2).score(task_ctx("x, y, b", ["b"]))
    assert (miss.value, miss.passed) == (0.0, False)


def test_ignore_case() -> None:
    assert RecallAtK().score(task_ctx("DOC-1, doc-2", ["doc-1", "doc-2"])).value == 0.5
    assert RecallAtK(ignore_case=True).score(task_ctx("DOC-1, doc-2", ["doc-1", "doc-2"])).value == 1.0


# --- unmeasured and config ---------------------------------------------------------------------

ALL = [NdcgAtK(), Mrr(), RecallAtK(), MapAtK(), HitRateAtK()]


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.name)
@pytest.mark.parametrize(("expected", "why"), [
    (None, "no relevance judgements"),
    ({"a": 0, "b": 0}, "no judged id is relevant"),
    ({"a": "high"}, "not relevance judgements"),
])
def test_unmeasured(metric: NdcgAtK, expected: JsonValue, why: str) -> None:
    s = metric.score(task_ctx("a, b", expected))
    assert s.value is None and s.error is not None and why in s.error


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.name)
def test_an_answer_without_ids_scores_zero(metric: NdcgAtK) -> None:
    s = metric.score(task_ctx("", GRADED))
    assert s.value == 0.0 and s.error is None


@pytest.mark.parametrize(("cls", "args"), [
    (NdcgAtK, {"k": 0}), (NdcgAtK, {"gain": "log"}), (RecallAtK, {"threshold": 1.5}), (Mrr, {"bogus": 1}),
    (HitRateAtK, {"threshold": 0.5}),
])
def test_bad_arguments(cls: type[NdcgAtK], args: dict[str, JsonValue]) -> None:
    with pytest.raises(ValidationError):
        cls.model_validate(args)
