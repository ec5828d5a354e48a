"""Turning a suite's MetricSpec into a configured metric instance (with clear config errors)."""

from __future__ import annotations

from pydantic import ValidationError

from .. import registry
from ..errors import ConfigError
from ..redaction import redact
from ..schema import MetricRef, MetricSpec
from .base import Metric

__all__ = ["build_metric", "metric_class", "metric_ref"]


def metric_class(name: str) -> type[Metric]:
    cls = registry.metrics.get(name)
    if not isinstance(cls, type) or not hasattr(cls, "score"):
        raise ConfigError(f"metric {name!r} is registered but is not a metric class")
    return cls


def build_metric(spec: MetricSpec, *, suite_dir: str | None = None) -> Metric:
    """An instance of the metric named by `spec` with its arguments validated. Metrics that declare a
    `suite_dir` field (judges, to find the suite's own `judges/` folder) get the suite's folder."""
    cls = metric_class(spec.name)
    args = dict(spec.args)
    if suite_dir is not None and "suite_dir" in getattr(cls, "model_fields", {}) and "suite_dir" not in args:
        args["suite_dir"] = suite_dir
    try:
        return cls(**args)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{err['msg']}", field=f"metrics.{spec.name}" + (f".{loc}" if loc else ""),
                          hint=f"see `agenteval list metrics` for {spec.name}'s arguments") from None
    except TypeError as exc:
        raise ConfigError(str(exc), field=f"metrics.{spec.name}") from None


def metric_ref(spec: MetricSpec, metric: Metric) -> MetricRef:
    model = getattr(metric, "judge_model_spec", None)
    return MetricRef(id=spec.id, name=spec.name, version=str(getattr(metric, "version", "1")),
                     args=redact(spec.args), model=model if isinstance(model, str) else None)
