"""Forecasting metrics: a numeric series answer against the true series. Values are ERRORS: lower is better.

The answer is read with `parse_series`: a JSON list of numbers (or numeric strings), a JSON object
with a single list value (`{"forecast": [...]}`), or numbers separated by commas, semicolons or
whitespace (thousands separators are not understood there: write a JSON list). The expected series
is the sample's `expected`: a list of numbers, a string holding a series, or one number. The forecast
must cover the expected horizon: values past it are ignored; a shorter forecast, or an answer that is
not a series, is unmeasured (counted in the summary's `n_unmeasured`, never averaged in).

Because lower is better, `passed` uses each metric's `max` argument (passed when value <= max), and a
suite bounds the mean with `thresholds: {mase: {max: 1.0}}`. Every score's details hold `n` (points
compared), `abs_error_sum` and `squared_error_sum`, from which `aggregate` computes corpus figures.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from pydantic import Field, JsonValue

from ..schema import Score
from .base import MetricBase, ScoreContext, unmeasured
from .structured import parse_json_output
from .text import parse_number

__all__ = ["Mae", "Mase", "Rmse", "Smape", "parse_series"]

_SEPARATORS = re.compile(r"[,;\s]+")


def _numbers(values: list[JsonValue]) -> list[float] | None:
    out = [parse_number(v) for v in values]
    return None if any(v is None for v in out) else [v for v in out if v is not None]


def parse_series(value: JsonValue) -> list[float] | None:
    """A finite numeric series from an answer text or an expected value, or None (see the module doc)."""
    if isinstance(value, list):
        return _numbers(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        single = parse_number(value)
        return None if single is None else [single]
    if not isinstance(value, str):
        return None
    parsed = parse_json_output(value)
    if parsed is not None:
        inner = parsed.value
        if isinstance(inner, dict) and len(inner) == 1:
            (inner,) = inner.values()
        if isinstance(inner, list):
            return _numbers(inner) or None
    tokens = [t for t in _SEPARATORS.split(value.strip().strip("[]()")) if t]
    return (_numbers(list(tokens)) or None) if tokens else None


def _pairs(ctx: ScoreContext) -> tuple[list[float], list[float], str] | Score:
    """(actual, forecast, note) over the expected horizon, or an unmeasured score."""
    if ctx.sample.expected is None:
        return unmeasured("sample has no expected series")
    actual = parse_series(ctx.sample.expected)
    if not actual:
        return unmeasured("expected is not a numeric series")
    forecast = parse_series(ctx.output)
    if forecast is None:
        return unmeasured("output is not a numeric series")
    if len(forecast) < len(actual):
        return unmeasured(f"forecast has {len(forecast)} values, the horizon is {len(actual)}")
    note = f" (ignored {len(forecast) - len(actual)} values past the horizon)" if len(forecast) > len(actual) else ""
    return actual, forecast[: len(actual)], note


class _ErrorMetric(MetricBase):
    max: float | None = Field(default=None, ge=0.0)
    """Largest value that passes (lower is better); None: the metric has no pass rule."""

    def _error(self, actual: list[float], forecast: list[float],
               ctx: ScoreContext) -> tuple[float, str, dict[str, JsonValue]] | Score:
        """(value, text for the reason, extra details), or an unmeasured score."""
        raise NotImplementedError  # pragma: no cover

    def score(self, ctx: ScoreContext) -> Score:
        pairs = _pairs(ctx)
        if isinstance(pairs, Score):
            return pairs
        actual, forecast, note = pairs
        result = self._error(actual, forecast, ctx)
        if isinstance(result, Score):
            return result
        value, extra, more = result
        reason = f"{self.name} {value:.4g}{extra}{note}"
        passed: bool | None = None
        if self.max is not None:
            passed = value <= self.max
            reason += f" ({'<=' if passed else '>'} {self.max:g})"
        errors = [a - f for a, f in zip(actual, forecast, strict=True)]
        details: dict[str, JsonValue] = {"n": len(errors), "abs_error_sum": sum(abs(e) for e in errors),
                                         "squared_error_sum": sum(e * e for e in errors), **more}
        return Score(value=value, passed=passed, reason=reason, details=details)


def _pooled(details: list[dict[str, JsonValue]], key: str) -> tuple[int, int, float]:
    """(series, points, summed `key`) over the details that carry them."""
    series, points, total = 0, 0, 0.0
    for d in details:
        n, s = d.get("n"), d.get(key)
        if isinstance(n, int) and not isinstance(n, bool) and isinstance(s, (int, float)) and n > 0:
            series, points, total = series + 1, points + n, total + float(s)
    return series, points, total


class Mae(_ErrorMetric):
    """Mean absolute error of the forecast over the horizon (lower is better).

    MAE = mean over t of |actual_t - forecast_t|, in the series' units. With `max`, passed when
    MAE <= max. The summary's mean is the mean of per-series MAEs; `aggregate(details)` returns the
    point-weighted corpus MAE: `n_series`, `n_points`, `corpus_mae` = sum |error| / all points.
    """

    name: ClassVar[str] = "mae"
    version: ClassVar[str] = "1"

    def _error(self, actual: list[float], forecast: list[float],
               ctx: ScoreContext) -> tuple[float, str, dict[str, JsonValue]]:
        return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / len(actual), "", {}

    def aggregate(self, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue]:
        """Corpus MAE over every point of every series (keys: see the class doc)."""
        series, points, total = _pooled(details, "abs_error_sum")
        return {"n_series": series, "n_points": points, "corpus_mae": total / points if points else None}


class Rmse(_ErrorMetric):
    """Root mean squared error of the forecast over the horizon (lower is better).

    RMSE = sqrt(mean over t of (actual_t - forecast_t)^2), in the series' units. With `max`, passed when
    RMSE <= max. The mean of per-series RMSEs is not the corpus RMSE: `aggregate(details)` returns
    `n_series`, `n_points` and `corpus_rmse` = sqrt(sum of squared errors / all points).
    """

    name: ClassVar[str] = "rmse"
    version: ClassVar[str] = "1"

    def _error(self, actual: list[float], forecast: list[float],
               ctx: ScoreContext) -> tuple[float, str, dict[str, JsonValue]]:
        mse = sum((a - f) ** 2 for a, f in zip(actual, forecast, strict=True)) / len(actual)
        return math.sqrt(mse), "", {}

    def aggregate(self, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue]:
        """Corpus RMSE over every point of every series (keys: see the class doc)."""
        series, points, total = _pooled(details, "squared_error_sum")
        return {"n_series": series, "n_points": points,
                "corpus_rmse": math.sqrt(total / points) if points else None}


class Smape(_ErrorMetric):
    """Symmetric mean absolute percentage error, in percent from 0 to 200 (lower is better).

    sMAPE = 100 / h * sum over t of 2 |actual_t - forecast_t| / (|actual_t| + |forecast_t|), the M4
    competition's definition; a point where both are 0 contributes 0. With `max`, passed when
    sMAPE <= max (e.g. `max: 20` for 20 %).
    """

    name: ClassVar[str] = "smape"
    version: ClassVar[str] = "1"

    def _error(self, actual: list[float], forecast: list[float],
               ctx: ScoreContext) -> tuple[float, str, dict[str, JsonValue]]:
        terms = [0.0 if a == f == 0 else 2 * abs(a - f) / (abs(a) + abs(f))
                 for a, f in zip(actual, forecast, strict=True)]
        return 100.0 * sum(terms) / len(terms), " %", {}


class Mase(_ErrorMetric):
    """Mean absolute scaled error: MAE over the in-sample naive forecast's MAE (lower is better).

    MASE = MAE / scale, scale = mean over t = m+1..n of |y_t - y_(t-m)| over the sample's
    `metadata.history` (the n past values y_1..y_n, oldest first) with seasonal period `m` (1: the
    naive forecast "same as the previous value"). Below 1 beats the naive forecast. With `max`, passed
    when MASE <= max. Unmeasured when the sample has no `metadata.history`, it is not a numeric list,
    it has at most m values, or it is flat at lag m (scale 0). Details add `scale`.
    """

    name: ClassVar[str] = "mase"
    version: ClassVar[str] = "1"

    m: int = Field(default=1, ge=1)
    """Seasonal period of the naive forecast (1 non-seasonal, 7 daily data with weekly seasons, 12 monthly)."""

    def _error(self, actual: list[float], forecast: list[float],
               ctx: ScoreContext) -> tuple[float, str, dict[str, JsonValue]] | Score:
        raw = ctx.sample.metadata.get("history")
        if raw is None:
            return unmeasured("MASE needs the sample's metadata.history (past values, oldest first)")
        history = parse_series(raw)
        if history is None:
            return unmeasured("metadata.history is not a numeric series")
        if len(history) <= self.m:
            return unmeasured(f"metadata.history has {len(history)} values; seasonal period m={self.m} needs more")
        diffs = [abs(history[t] - history[t - self.m]) for t in range(self.m, len(history))]
        scale = sum(diffs) / len(diffs)
        if scale == 0:
            return unmeasured(f"metadata.history is flat at lag {self.m}: the naive forecast error is 0")
        mae = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / len(actual)
        return mae / scale, f" (MAE {mae:.4g} / naive {scale:.4g})", {"scale": scale}
