"""Confidence intervals for a metric's mean: Wilson for pass/fail rates, bootstrap otherwise."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean_ci", "wilson_interval", "bootstrap_interval", "percentile"]

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0, 1 and small n)."""
    if n == 0:
        raise ValueError("n must be positive")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(values: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (deterministic: fixed seed)."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(resamples, len(arr)))
    means = arr[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def mean_ci(values: Sequence[float]) -> tuple[float, float | None, float | None, float | None, str]:
    """(mean, stderr, ci_low, ci_high, method) of `values` (n >= 1)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, None, None, "none"
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    stderr = math.sqrt(var / n)
    if all(v in (0.0, 1.0) for v in values):
        low, high = wilson_interval(round(math.fsum(values)), n)
        return mean, stderr, low, high, "wilson"
    if var == 0:
        return mean, stderr, mean, mean, "bootstrap"
    low, high = bootstrap_interval(values)
    return mean, stderr, low, high, "bootstrap"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    k = (len(sorted_values) - 1) * q / 100
    f = math.floor(k)
    c = min(f + 1, len(sorted_values) - 1)
    return sorted_values[f] + (sorted_values[c] - sorted_values[f]) * (k - f)
