"""The metrics package: light to import, and every registered built-in is a documented metric."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agenteval.metrics import Metric, MetricBase

_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
_REQUIRED_ARGS = {"latency_budget": {"max_s": 1.0}, "cost_budget": {"max_usd": 1.0},
                  "trajectory_single_tool_use": {"tool_name": "search"}, "judge": {"rubric": "correctness"},
                  "length_budget": {"max_words": 100}}


def _builtin_entry_points() -> dict[str, str]:
    project = tomllib.loads(_PYPROJECT.read_text())["project"]
    eps: dict[str, str] = project["entry-points"]["agenteval.metrics"]
    return eps


def test_importing_the_package_loads_no_builtin_metric() -> None:
    code = (
        "import sys, agenteval.metrics\n"
        "eager = [m for m in ('text', 'structured', 'overlap', 'budget')\n"
        "         if 'agenteval.metrics.' + m in sys.modules]\n"
        "assert not eager, eager\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("name", "target"), sorted(_builtin_entry_points().items()))
def test_entry_point_names_a_documented_metric(name: str, target: str) -> None:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    assert issubclass(cls, MetricBase)
    assert cls.name == name and cls.version == "1"
    assert cls.__doc__ and cls.__doc__.strip().splitlines()[0].endswith(".")
    assert isinstance(cls.model_validate(_REQUIRED_ARGS.get(name, {})), Metric)
