"""The vocabulary: pydantic models for everything that goes to disk."""

from .compare import CaseChange, Comparison, GateResult, MetricComparison, RunRef
from .leaderboard import Leaderboard, LeaderboardEntry, LeaderboardMetric, LeaderboardSlice
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
