"""Retries with exponential backoff and full jitter, for retryable backend errors only."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import BackendError

__all__ = ["RetryPolicy", "with_retries"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_attempts` calls; waits `Retry-After` when the server sends it, else
    `min(max_delay_s, base_delay_s * 2**retry)` scaled by a random factor in [0.5, 1.0]."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, retry: int, error: BackendError, rng: random.Random) -> float:
        if error.retry_after_s is not None:
            return min(max(0.0, error.retry_after_s), self.max_retry_after_s)
        backoff: float = min(self.max_delay_s, self.base_delay_s * (2.0 ** retry))
        return backoff * rng.uniform(0.5, 1.0)


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy,
                       rng: random.Random) -> tuple[T, int]:
    """Run `call` until it succeeds or fails permanently. Returns (result, attempts).

    A non-retryable BackendError, or the last retryable one, propagates with `.attempts` set.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except BackendError as exc:
            exc.attempts = attempt  # type: ignore[attr-defined]
            if not exc.retryable or attempt >= policy.max_attempts:
                raise
            await asyncio.sleep(policy.delay(attempt - 1, exc, rng))
