"""The `forecasting` preset: a numeric series against the true series. Errors: lower is better."""

from __future__ import annotations

from ..schema import Threshold
from .model import Preset, metric

__all__ = ["PRESET"]

PRESET = Preset(
    name="forecasting",
    aliases=("time_series",),
    description="Numeric forecasts: the answer is the next values of a series. Every metric is an error "
                "(lower is better).",
    needs="each sample's `expected` is the true series (a list of numbers); MASE needs `metadata.history` "
          "(past values, oldest first).",
    metrics=(metric("mae"), metric("rmse"), metric("smape"), metric("mase")),
    thresholds={"mase": Threshold(max=1.0)},
    aggregation={
        "mae": "mean of per-series MAE. Corpus-level (mae.aggregate): point-weighted MAE over all series.",
        "rmse": "mean of per-series RMSE. Corpus-level (rmse.aggregate): corpus RMSE = sqrt(mean of all "
                "squared errors), which weighs long series and large errors more.",
        "smape": "mean of per-series sMAPE, in percent (0-200), as in the M4 competition",
        "mase": "mean of per-series MASE (M4 style); below 1 beats the in-sample naive forecast",
    },
)
