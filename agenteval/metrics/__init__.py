"""Metrics: score one answer against its sample.

This package exports only what a metric author needs. The built-in metrics (`text`, `structured`,
`overlap`, `budget`) are registered as `agenteval.metrics` entry points and imported only when a
suite names them, so importing this package stays cheap.
"""

from .base import Metric, MetricBase, ScoreContext, check, expected_texts, unmeasured

__all__ = ["Metric", "MetricBase", "ScoreContext", "check", "expected_texts", "unmeasured"]
