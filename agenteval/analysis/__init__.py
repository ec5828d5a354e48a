"""Reading runs: summaries and statistics (comparison, reports and leaderboards build on this)."""

from .stats import bootstrap_interval, mean_ci, wilson_interval
from .summary import check_thresholds, summarize

__all__ = ["bootstrap_interval", "check_thresholds", "mean_ci", "summarize", "wilson_interval"]
