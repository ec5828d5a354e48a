"""Forecasting metrics: MAE, RMSE, sMAPE, MASE (errors: lower is better), checked against numpy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import JsonValue, ValidationError

from agenteval.metrics import ScoreContext
from agenteval.metrics.forecasting import Mae, Mase, Rmse, Smape, parse_series

from .conftest import task_ctx

ACTUAL = [120.0, 132.0, 101.0, 134.0, 90.0]
FORECAST = [110.0, 140.0, 100.0, 120.0, 95.0]
HISTORY: list[JsonValue] = [100, 104, 98, 110, 115, 112, 120]


@pytest.mark.parametrize(("value", "series"), [
    ("[1, 2.5, -3]", [1.0, 2.5, -3.0]),
    ('["1", "2"]', [1.0, 2.0]),
    ('{"forecast": [4, 5]}', [4.0, 5.0]),
    ("Forecast:\n```json\n[7, 8]\n```", [7.0, 8.0]),
    ("10, 11, 12", [10.0, 11.0, 12.0]),
    ("10 11\n12", [10.0, 11.0, 12.0]),
    ("(1; 2; 3)", [1.0, 2.0, 3.0]),
    ([1, 2], [1.0, 2.0]),
    (5, [5.0]),
    ("about ten", None),
    ("[1, \"x\"]", None),
    ("[]", None),
    ("", None),
    ([True], None),
])
def test_parse_series(value: JsonValue, series: list[float] | None) -> None:
    assert parse_series(value) == series


def _ctx(forecast: list[float] | str, actual: list[float] | JsonValue = None,
         history: JsonValue = None) -> ScoreContext:
    output = forecast if isinstance(forecast, str) else json.dumps(forecast)
    metadata: dict[str, JsonValue] = {} if history is None else {"history": history}
    series = ACTUAL if actual is None else actual
    expected: JsonValue = list[JsonValue](series) if isinstance(series, list) else series
    return task_ctx(output, expected, metadata=metadata)


def test_values_match_numpy() -> None:
    a, f = np.array(ACTUAL), np.array(FORECAST)
    assert Mae().score(_ctx(FORECAST)).value == pytest.approx(np.mean(np.abs(a - f)))
    assert Rmse().score(_ctx(FORECAST)).value == pytest.approx(np.sqrt(np.mean((a - f) ** 2)))
    smape = 100 * np.mean(2 * np.abs(a - f) / (np.abs(a) + np.abs(f)))
    assert Smape().score(_ctx(FORECAST)).value == pytest.approx(smape)


def test_mase_by_hand() -> None:
    # naive in-sample errors of HISTORY at lag 1: 4, 6, 12, 5, 3, 8 -> scale 38 / 6
    s = Mase().score(_ctx(FORECAST, history=HISTORY))
    mae = (10 + 8 + 1 + 14 + 5) / 5
    assert s.value == pytest.approx(mae / (38 / 6))
    assert s.details["scale"] == pytest.approx(38 / 6)
    # lag 2: |98-100|, |110-104|, |115-98|, |112-110|, |120-115| = 2, 6, 17, 2, 5 -> scale 32 / 5
    seasonal = Mase(m=2).score(_ctx(FORECAST, history=HISTORY))
    assert seasonal.value == pytest.approx(mae / (32 / 5))


def test_smape_bounds_and_zeros() -> None:
    assert Smape().score(_ctx([0.0, 5.0], [0.0, 5.0])).value == 0.0
    assert Smape().score(_ctx([0.0, 0.0], [3.0, -2.0])).value == pytest.approx(200.0)


def test_passed_uses_max() -> None:
    assert Mae().score(_ctx(FORECAST)).passed is None
    ok = Mae(max=8.0).score(_ctx(FORECAST))
    assert ok.value == pytest.approx(7.6) and ok.passed is True and "<= 8" in ok.reason
    bad = Rmse(max=5.0).score(_ctx(FORECAST))
    assert bad.passed is False and "> 5" in bad.reason
    assert Mase(max=1.0).score(_ctx(FORECAST, history=HISTORY)).passed is False


def test_comma_separated_answer_and_values_past_the_horizon() -> None:
    s = Mae().score(_ctx("110, 140, 100, 120, 95, 300, 400"))
    assert s.value == pytest.approx(7.6) and "ignored 2 values past the horizon" in s.reason
    assert s.details["n"] == 5


def test_details_hold_the_error_sums() -> None:
    s = Rmse().score(_ctx(FORECAST))
    assert s.details == {"n": 5, "abs_error_sum": pytest.approx(38.0),
                         "squared_error_sum": pytest.approx(100 + 64 + 1 + 196 + 25)}


@pytest.mark.parametrize(("metric", "forecast", "actual", "history", "why"), [
    (Mae(), FORECAST, "n/a", None, "expected is not a numeric series"),
    (Mae(), "it will go up", None, None, "output is not a numeric series"),
    (Rmse(), [1.0, 2.0], None, None, "forecast has 2 values, the horizon is 5"),
    (Mase(), FORECAST, None, None, "needs the sample's metadata.history"),
    (Mase(), FORECAST, None, "up", "not a numeric series"),
    (Mase(m=7), FORECAST, None, HISTORY, "seasonal period m=7"),
    (Mase(), FORECAST, None, [5, 5, 5], "flat"),
])
def test_unmeasured(metric: Mae, forecast: list[float] | str, actual: JsonValue, history: JsonValue,
                    why: str) -> None:
    s = metric.score(_ctx(forecast, actual, history))
    assert s.value is None and s.error is not None and why in s.error


def test_no_expected_series_is_unmeasured() -> None:
    s = Smape().score(task_ctx("[1]", None))
    assert s.value is None and s.error == "sample has no expected series"


def test_corpus_aggregates_pool_points() -> None:
    series = [(ACTUAL, FORECAST), ([10.0, 20.0], [13.0, 16.0])]
    rmse, mae = Rmse(), Mae()
    rmse_scores = [rmse.score(_ctx(f, a)) for a, f in series]
    mae_scores = [mae.score(_ctx(f, a)) for a, f in series]
    errors = np.concatenate([np.array(a) - np.array(f) for a, f in series])
    out = rmse.aggregate([s.details for s in rmse_scores])
    assert out == {"n_series": 2, "n_points": 7, "corpus_rmse": pytest.approx(np.sqrt(np.mean(errors ** 2)))}
    per_series_mean = np.mean([s.value for s in rmse_scores])
    corpus = out["corpus_rmse"]
    assert isinstance(corpus, float) and not math.isclose(corpus, per_series_mean)  # why the aggregate exists
    assert mae.aggregate([s.details for s in mae_scores])["corpus_mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert rmse.aggregate([{}]) == {"n_series": 0, "n_points": 0, "corpus_rmse": None}


@pytest.mark.parametrize(("cls", "args"), [(Mae, {"max": -1}), (Mase, {"m": 0}), (Smape, {"min": 1})])
def test_bad_arguments(cls: type[Mae], args: dict[str, JsonValue]) -> None:
    with pytest.raises(ValidationError):
        cls.model_validate(args)
