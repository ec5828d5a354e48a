"""Building the leaderboard from the runs under a results root."""

from __future__ import annotations

from pathlib import Path

from ..schema import MetricSummary, RunManifest, RunSummary
from ..schema.leaderboard import Leaderboard, LeaderboardEntry, LeaderboardMetric, LeaderboardSlice
from ..store.rundir import RunDir, utc_now

__all__ = ["build_leaderboard", "entry_for_run"]


def _sample_pass_rate(rd: RunDir) -> float | None:
    ok = total = 0
    for r in rd.iter_results():
        flags = [s.passed for s in r.scores.values() if s.passed is not None]
        if r.error is not None or not flags:
            continue
        total += 1
        ok += all(flags)
    return ok / total if total else None


def _metric(m: MetricSummary) -> LeaderboardMetric:
    return LeaderboardMetric(mean=m.mean, ci_low=m.ci_low, ci_high=m.ci_high, n=m.n,
                             n_unmeasured=m.n_unmeasured, pass_rate=m.pass_rate)


def entry_for_run(rd: RunDir, manifest: RunManifest, summary: RunSummary) -> LeaderboardEntry:
    cost = summary.usage.cost_usd
    n = summary.n_samples
    return LeaderboardEntry(
        suite=manifest.suite.name, suite_version=manifest.suite.version, suite_hash=manifest.suite.content_hash,
        backend=manifest.backend.spec, run_id=manifest.run_id, run_group=manifest.labels.get("group"),
        finished_at=manifest.finished_at or "", n_samples=n, n_errors=summary.n_errors, passed=summary.passed,
        sample_pass_rate=_sample_pass_rate(rd),
        metrics={k: _metric(m) for k, m in summary.metrics.items()},
        cost_usd=cost, cost_per_1k_samples_usd=None if cost is None or n == 0 else cost / n * 1000,
        input_tokens=summary.usage.input_tokens, output_tokens=summary.usage.output_tokens,
        latency_p50_s=summary.latency.p50, latency_p95_s=summary.latency.p95, judges=manifest.judges,
        metric_versions={m.id: m.version for m in manifest.metrics}, agenteval_version=manifest.agenteval_version,
        git_sha=manifest.git_sha, labels=manifest.labels,
        slices={key: {value: LeaderboardSlice(n_samples=sl.n_samples, n_errors=sl.n_errors,
                                              metrics={k: _metric(m) for k, m in sl.metrics.items()})
                      for value, sl in breakdown.slices.items()}
                for key, breakdown in summary.slices.items()},
    )


def build_leaderboard(root: Path, *, all_runs: bool = False, suite: str | None = None) -> Leaderboard:
    """The latest finished run per suite x backend (every finished run with `all_runs`)."""
    latest: dict[tuple[str, str], tuple[str, LeaderboardEntry]] = {}
    entries: list[LeaderboardEntry] = []
    runs = root / "runs"
    for mpath in sorted(runs.glob("*/manifest.json")) if runs.is_dir() else []:
        rd = RunDir(mpath.parent)
        try:
            manifest, summary = rd.read_manifest(), rd.read_summary()
        except Exception:  # an unreadable run folder is skipped, never a crash
            continue
        if summary is None or manifest.finished_at is None:
            continue
        if suite is not None and manifest.suite.name != suite:
            continue
        entry = entry_for_run(rd, manifest, summary)
        if all_runs:
            entries.append(entry)
            continue
        key = (manifest.suite.name, manifest.backend.spec)
        if key not in latest or latest[key][0] < manifest.finished_at:
            latest[key] = (manifest.finished_at, entry)
    if not all_runs:
        entries = [e for _, e in latest.values()]
    entries.sort(key=lambda e: (e.suite, e.backend, e.finished_at))
    return Leaderboard(generated_at=utc_now(), entries=entries)
