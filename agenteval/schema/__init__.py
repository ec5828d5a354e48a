"""The vocabulary: pydantic models for everything that goes to disk.

The comparison and leaderboard models are imported when first used (building pydantic models takes
time at start-up, and `agenteval run` needs neither)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .results import (
    SCHEMA_VERSION,
    BackendRef,
    Baseline,
    LatencySummary,
    MetricRef,
    MetricSummary,
    RunManifest,
    RunSettings,
    RunSummary,
    SampleResult,
    Score,
    SliceBreakdown,
    SliceSummary,
    SuiteRef,
    ThresholdResult,
)
from .suite import (
    BackendConfig,
    EnvironmentSpec,
    GatesSpec,
    MetricSpec,
    ResolvedSample,
    Sample,
    SampleSource,
    Script,
    Suite,
    SuiteFile,
    TaskKind,
    Threshold,
    ToolSpec,
)
from .trace import Message, Role, ToolCall, Trace, Turn, Usage
from .trajectory import ArgMatcher, ExpectedToolCall

if TYPE_CHECKING:
    from .compare import CaseChange, Comparison, GateResult, MetricComparison, RunRef
    from .leaderboard import Leaderboard, LeaderboardEntry, LeaderboardMetric, LeaderboardSlice

_LAZY = {
    **dict.fromkeys(("CaseChange", "Comparison", "GateResult", "MetricComparison", "RunRef"), "compare"),
    **dict.fromkeys(("Leaderboard", "LeaderboardEntry", "LeaderboardMetric", "LeaderboardSlice"), "leaderboard"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "SCHEMA_VERSION", "ArgMatcher", "BackendConfig", "BackendRef", "Baseline", "CaseChange", "Comparison",
    "EnvironmentSpec", "ExpectedToolCall", "GateResult", "GatesSpec", "LatencySummary", "Leaderboard",
    "LeaderboardEntry", "LeaderboardMetric", "LeaderboardSlice", "Message", "MetricComparison", "MetricRef",
    "MetricSpec",
    "MetricSummary", "ResolvedSample", "Role", "RunManifest", "RunRef", "RunSettings", "RunSummary", "Sample",
    "SampleResult", "SampleSource", "Score", "Script", "SliceBreakdown", "SliceSummary",
    "Suite", "SuiteFile", "SuiteRef", "TaskKind", "Threshold",
    "ThresholdResult", "ToolCall", "ToolSpec", "Trace", "Turn", "Usage",
]
