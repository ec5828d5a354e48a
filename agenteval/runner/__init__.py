"""The runner: concurrency, retries, response cache, resume."""

from ..tracecache import ResponseCache, cache_key
from .engine import RunOptions, RunOutcome, run_suite, select_samples
from .retry import RetryPolicy, with_retries

__all__ = ["ResponseCache", "RetryPolicy", "RunOptions", "RunOutcome", "cache_key", "run_suite",
           "select_samples", "with_retries"]
