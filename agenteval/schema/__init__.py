"""The vocabulary: pydantic models for everything that goes to disk."""

from .results import (
    SCHEMA_VERSION,
    Baseline,
    BackendRef,
    LatencySummary,
    MetricRef,
    MetricSummary,
    RunManifest,
    RunSettings,
    RunSummary,
    SampleResult,
    Score,
    SuiteRef,
    ThresholdResult,
)
from .suite import (
    BackendConfig,
    EnvironmentSpec,
    ExpectedToolCall,
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

__all__ = [
    "SCHEMA_VERSION", "Baseline", "BackendConfig", "EnvironmentSpec", "BackendRef", "ExpectedToolCall", "LatencySummary", "Message",
    "MetricRef", "MetricSpec", "MetricSummary", "ResolvedSample", "Role", "RunManifest", "RunSettings",
    "RunSummary", "Sample", "SampleResult", "SampleSource", "Score", "Script", "Suite", "SuiteFile",
    "SuiteRef", "TaskKind", "Threshold", "ThresholdResult", "ToolCall", "ToolSpec", "Trace", "Turn",
    "Usage",
]
