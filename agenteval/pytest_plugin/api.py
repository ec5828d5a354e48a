"""The Python API for hand-written evaluation tests: the `agenteval` fixture and `assert_score`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

if TYPE_CHECKING:
    from ..runner import RunOutcome
    from ..schema import SampleResult

__all__ = ["AgentEvalFixture", "assert_score"]


def assert_score(result: SampleResult, metric: str, *, min: float | None = None,
                 max: float | None = None) -> None:
    """Assert that `metric`'s score of `result` lies within [min, max]; the message explains a failure
    (metric, value, bound, answer, expected, the metric's or judge's reasoning)."""
    score = result.scores.get(metric)
    where = f"sample {result.sample_id!r}"
    if score is None:
        raise AssertionError(f"{where} has no score {metric!r}; scores: {', '.join(result.scores) or 'none'}")
    context = (f"\n  answer:   {result.output!r}\n  expected: {result.expected!r}\n  reason:   {score.reason}"
               + (f"\n  backend error: {result.error}" if result.error else ""))
    if score.value is None:
        raise AssertionError(f"{where}: {metric} is unmeasured ({score.error}){context}")
    if min is not None and score.value < min:
        raise AssertionError(f"{where}: {metric} = {score.value:.4f} < min {min:g}{context}")
    if max is not None and score.value > max:
        raise AssertionError(f"{where}: {metric} = {score.value:.4f} > max {max:g}{context}")


class AgentEvalFixture:
    """What the `agenteval` fixture gives a test: run one sample or a whole suite, synchronously."""

    def __init__(self, results_root: Path, *, backend: str | None = None, use_cache: bool = True) -> None:
        self.results_root = results_root
        self.backend = backend
        self.use_cache = use_cache

    def run_sample(self, input: str | None = None, *, expected: JsonValue = None,
                   messages: list[dict[str, str]] | None = None, backend: str | None = None,
                   metrics: list[Any] | None = None, backend_options: dict[str, JsonValue] | None = None,
                   expected_trajectory: list[dict[str, Any]] | None = None, tools: list[dict[str, Any]] | None = None,
                   system: str | None = None, sample_id: str = "sample") -> SampleResult:
        """Run one sample through `backend` (default: --agenteval-backend) and return its scored result."""
        from ..errors import ConfigError
        from ..runner import RunOptions, run_suite
        from ..suite import suite_from_data

        spec = backend or self.backend
        if spec is None:
            raise ConfigError("run_sample needs a backend: pass backend=... or --agenteval-backend")
        sample: dict[str, Any] = {"id": sample_id, "expected": expected}
        if messages is not None:
            sample["messages"] = messages
        else:
            sample["input"] = input or ""
        if expected_trajectory is not None:
            sample["expected_trajectory"] = expected_trajectory
        data: dict[str, Any] = {"name": "pytest-inline", "metrics": metrics or ["exact_match"], "samples": [sample]}
        if tools is not None:
            data["tools"] = tools
        if system is not None:
            data["system"] = system
        suite = suite_from_data(data, Path("<run_sample>"))
        outcome = asyncio.run(run_suite(suite, RunOptions(
            results_root=self.results_root, backend_spec=spec, backend_options=backend_options or {},
            use_cache=self.use_cache, progress=False, labels={"source": "pytest"})))
        return next(outcome.run_dir.iter_results())

    def run_suite(self, path: str | Path, *, backend: str | None = None, **options: Any) -> RunOutcome:
        """Run a suite file; `options` are RunOptions fields (repeat, limit, backend_options, ...)."""
        from ..runner import RunOptions, run_suite
        from ..suite import load_suite

        options.setdefault("progress", False)
        options.setdefault("use_cache", self.use_cache)
        return asyncio.run(run_suite(load_suite(path), RunOptions(
            results_root=self.results_root, backend_spec=backend or self.backend, **options)))
