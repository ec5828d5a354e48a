"""agenteval: an evaluation harness for LLMs and agents.

The public API. Everything heavy (litellm, torch, vertexai) is imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import AgentEvalError, BackendError, ConfigError, JudgeError, RegressionError
from .schema import Message, ResolvedSample, Sample, SampleResult, Score, Suite, ToolCall, Trace, Usage

if TYPE_CHECKING:
    from .runner import RunOutcome

__all__ = [
    "AgentEvalError", "BackendError", "ConfigError", "JudgeError", "Message", "RegressionError",
    "ResolvedSample", "Sample", "SampleResult", "Score", "Suite", "ToolCall", "Trace", "Usage",
    "load_suite", "run",
]


def load_suite(path: str) -> Suite:
    """Load and validate a suite file (raises ConfigError with file:line)."""
    from .suite import load_suite as _load

    return _load(path)


async def run(suite: Suite | str, *, results: str | None = None, backend: str | None = None,
              **options: Any) -> RunOutcome:
    """Run a suite (a loaded Suite or a path) and return its outcome.

    `options` are RunOptions fields (concurrency, repeat, limit, backend_options, use_cache, ...).
    Library code never starts its own event loop: await this from yours.
    """
    from .runner import RunOptions, run_suite
    from .store import results_root

    loaded = load_suite(suite) if isinstance(suite, str) else suite
    opts = RunOptions(results_root=results_root(results), backend_spec=backend, **options)
    return await run_suite(loaded, opts)
