"""Task presets: what a suite's `task:` selects (metrics, default thresholds, aggregation).

`get_preset("recommendation")` returns the `ranking` preset; `all_presets()` lists them in a fixed
order; `presets_table()` is what `agenteval list presets` shows. Presets name their metrics and never
import them, so this package is cheap to import and every preset loads whatever is installed.
"""

from __future__ import annotations

from pydantic import JsonValue

from .. import registry
from ..errors import ConfigError
from ..registry import did_you_mean
from ..schema import TaskKind
from . import classification, extraction, forecasting, generation, rag, ranking, tool_use
from .model import Preset, threshold_text

__all__ = ["Preset", "all_presets", "canonical_task", "get_preset", "presets_table"]

_PRESETS: tuple[Preset, ...] = (
    classification.PRESET, ranking.PRESET, extraction.PRESET, generation.PRESET, rag.PRESET,
    tool_use.PRESET, forecasting.PRESET,
)
_BY_NAME: dict[str, Preset] = {n: p for p in _PRESETS for n in (p.name, *p.aliases)}


def all_presets() -> list[Preset]:
    """Every preset, in the order of the `task:` kinds."""
    return list(_PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called `name` or one of its aliases (case-insensitive; `-` reads as `_`).

    ConfigError with a did-you-mean hint for an unknown name.
    """
    key = name.strip().lower().replace("-", "_")
    preset = _BY_NAME.get(key)
    if preset is None:
        raise ConfigError(f"unknown task {name!r}", field="task", hint=did_you_mean(key, sorted(_BY_NAME)))
    return preset


def canonical_task(name: str) -> TaskKind:
    """The task kind a name or alias stands for (`agent` -> `tool_use`); ConfigError when unknown."""
    return get_preset(name).name


def presets_table() -> list[dict[str, JsonValue]]:
    """One JSON-ready row per preset, for `agenteval list presets` (and `--json`).

    Keys: `name`, `aliases`, `description`, `needs`, and `metrics`: a list of {`id`, `name`, `args`,
    `threshold` (`>= 0.8`, `<= 1`, or None), `aggregation`, `installed` (whether a metric of that name
    is registered now; a preset still loads without it)}.
    """
    rows: list[dict[str, JsonValue]] = []
    for p in _PRESETS:
        metrics: list[JsonValue] = []
        for m in p.metrics:
            th = p.thresholds.get(m.id)
            metrics.append({"id": m.id, "name": m.name, "args": dict(m.args),
                            "threshold": threshold_text(th) if th is not None else None,
                            "aggregation": p.aggregation[m.id], "installed": m.name in registry.metrics})
        rows.append({"name": p.name, "aliases": list(p.aliases), "description": p.description,
                     "needs": p.needs, "metrics": metrics})
    return rows
