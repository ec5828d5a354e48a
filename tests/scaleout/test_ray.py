"""`--executor ray`: shards as Ray tasks on a local Ray instance give the plain run's summary."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agenteval.errors import ConfigError
from agenteval.runner import RunOptions, RunOutcome, run_suite, select_samples
from agenteval.scaleout import run_with_ray
from agenteval.scaleout.ray_executor import shard_limit
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]


def opts(root: Path, **kw: Any) -> RunOptions:
    return RunOptions(results_root=root, progress=False, use_cache=False, **kw)


def plain(root: Path, **kw: Any) -> RunOutcome:
    return asyncio.run(run_suite(load_suite(REPO / "suites" / "qa.yaml"), opts(root, **kw)))


@pytest.mark.parametrize("limit", [0, 1, 2, 5, 7, 9, 100])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_per_shard_limits_cover_exactly_the_first_limit_samples(limit: int, n: int) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    got = sorted((s.id for i in range(1, n + 1) for s in select_samples(suite, shard_limit(limit, (i, n)), (i, n))),
                 key=[s.id for s in suite.samples].index)
    assert got == [s.id for s in select_samples(suite, limit, None)]


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # nothing leaves the machine
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'agenteval[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_shards_give_the_plain_summary(tmp_path: Path, ray_local: Any) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    base = plain(tmp_path / "plain", backend_spec="stub:echo", repeat=2)
    out = run_with_ray(suite, opts(tmp_path / "ray", backend_spec="stub:echo", repeat=2), 3, None)

    a, b = out.summary, base.summary
    assert a.metrics == b.metrics and list(a.metrics) == list(b.metrics)
    assert a.metrics["fuzzy_match"].ci_method == "bootstrap"  # not a trivially constant metric
    assert (a.n_samples, a.n_errors, a.thresholds, a.passed) == (14, 0, b.thresholds, False)
    # the merged run is the only run in the driver's store; the parts' staging folder is gone
    assert [p.name for p in (tmp_path / "ray" / "runs").iterdir()] == [out.run_dir.run_id]
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == ["runs"]
    rows = [(r.sample_id, r.repeat) for r in out.run_dir.iter_results()]
    assert rows == [(r.sample_id, r.repeat) for r in base.run_dir.iter_results()]
    man = out.run_dir.read_manifest()
    assert man.labels["executor"] == "ray" and man.labels["merged_shards"] == "1/3,2/3,3/3"
    assert man.suite == base.manifest.suite and man.settings.shard is None and man.settings.repeat == 2


def test_ray_honours_limit_as_a_plain_run_does(tmp_path: Path, ray_local: Any) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    base = plain(tmp_path / "plain", backend_spec="stub:echo", limit=5)
    out = run_with_ray(suite, opts(tmp_path / "ray", backend_spec="stub:echo", limit=5), 2, None)
    assert out.summary.metrics == base.summary.metrics and out.summary.n_samples == 5
    assert out.manifest.settings.limit == 5


def test_a_user_mistake_on_a_worker_reaches_the_driver_as_config_error(tmp_path: Path, ray_local: Any) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    with pytest.raises(ConfigError, match="unknown stub 'goldn'"):
        run_with_ray(suite, opts(tmp_path, backend_spec="stub:goldn"), 2, None)


def test_resume_and_shard_are_refused_before_ray_starts(tmp_path: Path) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    with pytest.raises(ConfigError, match="--resume"):
        run_with_ray(suite, opts(tmp_path, resume="x"), 2, None)
    with pytest.raises(ConfigError, match="--shard"):
        run_with_ray(suite, opts(tmp_path, shard=(1, 2)), 2, None)


def test_without_ray_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def no_ray(name: str, package: str | None = None) -> Any:
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_ray)
    with pytest.raises(ConfigError, match=r"needs Ray.*pip install 'agenteval\[ray\]'"):
        run_with_ray(load_suite(REPO / "suites" / "qa.yaml"), opts(tmp_path, backend_spec="stub:golden"), 2, None)


def test_ray_usage_stats_are_off_before_ray_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'agenteval[ray]'")
    from agenteval.scaleout import ray_executor

    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED", raising=False)
    ray_executor._import_ray()
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")  # a user's own choice wins
    ray_executor._import_ray()
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"
