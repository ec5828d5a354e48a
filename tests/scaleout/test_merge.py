"""`agenteval merge`: shard runs merged into one run equal to the unsharded run, and what it refuses."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenteval.analysis.summary import summarize
from agenteval.cli.merge import merge_cmd
from agenteval.errors import ConfigError
from agenteval.runner import RunOptions, RunOutcome, run_suite
from agenteval.scaleout import merge_runs, thresholds_from_summary
from agenteval.schema import RunSummary, Suite, Threshold
from agenteval.store import RunDir
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]


def qa() -> Suite:
    return load_suite(REPO / "suites" / "qa.yaml")


def run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    kw.setdefault("use_cache", False)
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, **kw)))  # type: ignore[arg-type]


def shards(suite: Suite, root: Path, n: int, **kw: object) -> list[RunDir]:
    return [run(suite, root, shard=(i, n), **kw).run_dir for i in range(1, n + 1)]


def rows(rd: RunDir) -> list[tuple[str, int]]:
    return [(r.sample_id, r.repeat) for r in rd.iter_results()]


def same_metrics(a: RunSummary, b: RunSummary) -> None:
    """Everything but timing: metrics (means, CIs, n), thresholds, counts, tokens."""
    assert a.metrics == b.metrics
    assert a.slices == b.slices
    assert list(a.metrics) == list(b.metrics)
    assert a.thresholds == b.thresholds
    assert (a.n_samples, a.n_errors, a.n_cached, a.passed, a.usage) == (b.n_samples, b.n_errors, b.n_cached,
                                                                         b.passed, b.usage)


@pytest.mark.parametrize("backend, repeat", [("stub:golden", 1), ("stub:golden", 3), ("stub:echo", 2)])
def test_three_shards_merge_into_the_unsharded_summary(tmp_path: Path, backend: str, repeat: int) -> None:
    suite = qa()
    plain = run(suite, tmp_path / "plain", backend_spec=backend, repeat=repeat, slice_by=["tags"])
    parts = shards(suite, tmp_path / "shards", 3, backend_spec=backend, repeat=repeat, slice_by=["tags"])
    assert set(plain.summary.slices["tags"].slices) == {"geography", "astronomy", "chemistry", "literature",
                                                        "from-file"}
    assert sorted(len(rows(p)) for p in parts) == sorted([3 * repeat, 2 * repeat, 2 * repeat])

    merged = merge_runs(parts, tmp_path / "merged")

    same_metrics(merged.summary, plain.summary)
    assert rows(merged.run_dir) == rows(plain.run_dir)  # suite order, repeats in order
    assert merged.n_new == len(suite.samples) * repeat
    # the written summary is the one recomputed from the merged file, latency included
    on_disk = merged.run_dir.read_summary()
    assert on_disk == merged.summary
    assert on_disk == summarize(merged.run_dir.run_id, merged.run_dir.iter_results(), list(plain.summary.metrics),
                                suite.thresholds, slice_by=["tags"])
    man = merged.run_dir.read_manifest()
    assert man.settings.shard is None and man.settings.repeat == repeat and man.finished_at
    assert man.suite == plain.manifest.suite and man.backend == plain.manifest.backend
    assert man.labels["merged_from"].split(",") == [p.run_id for p in parts]
    assert man.labels["merged_shards"] == "1/3,2/3,3/3"


def test_bootstrap_intervals_are_identical_too(tmp_path: Path) -> None:
    # fuzzy_match on echoed questions gives fractional scores: a bootstrap CI, seeded, over sample means
    suite = qa()
    plain = run(suite, tmp_path / "plain", backend_spec="stub:echo", repeat=2)
    assert plain.summary.metrics["fuzzy_match"].ci_method == "bootstrap"
    merged = merge_runs(list(reversed(shards(suite, tmp_path / "s", 2, backend_spec="stub:echo", repeat=2))),
                        tmp_path / "merged")
    assert merged.summary.metrics["fuzzy_match"] == plain.summary.metrics["fuzzy_match"]


def test_a_missing_shard_is_refused_unless_partial(tmp_path: Path) -> None:
    parts = shards(qa(), tmp_path, 3, backend_spec="stub:golden")
    with pytest.raises(ConfigError, match=r"shard\(s\) 2/3 missing"):
        merge_runs([parts[0], parts[2]], tmp_path)
    partial = merge_runs([parts[0], parts[2]], tmp_path, allow_partial=True)
    assert partial.summary.n_samples == 5


def test_the_same_shard_twice_is_refused(tmp_path: Path) -> None:
    parts = shards(qa(), tmp_path, 2, backend_spec="stub:golden")
    again = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 2)).run_dir
    with pytest.raises(ConfigError, match=r"shard 1/2 given twice"):
        merge_runs([*parts, again], tmp_path)


def test_overlapping_shards_of_different_n_are_refused_as_duplicates(tmp_path: Path) -> None:
    a = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 2)).run_dir
    b = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 3)).run_dir  # both hold sample 0
    with pytest.raises(ConfigError, match=r"duplicate result for sample 'capital-france' repeat 0"):
        merge_runs([a, b], tmp_path)


def test_a_run_without_shard_does_not_merge_with_shards(tmp_path: Path) -> None:
    whole = run(qa(), tmp_path, backend_spec="stub:golden").run_dir
    part = run(qa(), tmp_path, backend_spec="stub:golden", shard=(2, 2)).run_dir
    with pytest.raises(ConfigError, match="is not a shard"):
        merge_runs([whole, part], tmp_path)


def test_shards_of_a_changed_suite_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "suites"
    shutil.copytree(REPO / "suites", copy)
    (copy / "qa.yaml").write_text((copy / "qa.yaml").read_text().replace("expected: Paris", "expected: Lyon"))
    a = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 2)).run_dir
    b = run(load_suite(copy / "qa.yaml"), tmp_path, backend_spec="stub:golden", shard=(2, 2)).run_dir
    with pytest.raises(ConfigError, match="differ in suite content hash"):
        merge_runs([a, b], tmp_path)


@pytest.mark.parametrize("other, what", [
    ({"backend_spec": "stub:echo"}, "backend"),
    ({"backend_spec": "stub:golden", "repeat": 2}, "repeat"),
    ({"backend_spec": "stub:golden", "backend_options": {"latency_ms": 1}}, "backend options"),
])
def test_shards_run_differently_are_refused(tmp_path: Path, other: dict[str, object], what: str) -> None:
    a = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 2)).run_dir
    b = run(qa(), tmp_path, shard=(2, 2), **other).run_dir
    with pytest.raises(ConfigError, match=f"differ in {what}:"):
        merge_runs([a, b], tmp_path)


def test_different_concurrency_is_fine(tmp_path: Path) -> None:
    a = run(qa(), tmp_path, backend_spec="stub:golden", shard=(1, 2), concurrency=1).run_dir
    b = run(qa(), tmp_path, backend_spec="stub:golden", shard=(2, 2), concurrency=8).run_dir
    assert merge_runs([a, b], tmp_path).manifest.settings.concurrency == 8


def test_an_unfinished_shard_is_refused(tmp_path: Path) -> None:
    a, b = shards(qa(), tmp_path, 2, backend_spec="stub:golden")
    man = b.read_manifest()
    b.write_manifest(man.model_copy(update={"finished_at": None}))
    with pytest.raises(ConfigError, match=f"run {man.run_id} is unfinished"):
        merge_runs([a, b], tmp_path)


def test_a_foreign_result_line_is_refused(tmp_path: Path) -> None:
    a, b = shards(qa(), tmp_path, 2, backend_spec="stub:golden")
    line = json.loads(b.samples_path.read_text().splitlines()[0])
    line["sample_id"] = "not-in-the-suite"
    with b.samples_path.open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    with pytest.raises(ConfigError, match="'not-in-the-suite' repeat 0 is not a case of the suite"):
        merge_runs([a, b], tmp_path)


def test_thresholds_come_back_from_a_summary(tmp_path: Path) -> None:
    th = {"exact_match": Threshold(min=0.7), "fuzzy_match": Threshold(min=0.2, max=0.9),
          "includes": Threshold(max=0.5)}
    s = summarize("r", [], ["exact_match", "fuzzy_match", "includes"], th)
    assert thresholds_from_summary(s) == th


def test_merge_command_writes_one_run_and_exits_like_run(tmp_path: Path) -> None:
    parts = shards(qa(), tmp_path / "res", 2, backend_spec="stub:golden")
    res = CliRunner().invoke(merge_cmd, [parts[0].run_id, str(parts[1].path), "--results", str(tmp_path / "res"),
                                         "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "PASSED" in res.output and "merged 2 run(s), 7 result(s)" in res.output
    (merged,) = (tmp_path / "out" / "runs").iterdir()
    assert len((merged / "samples.jsonl").read_text().splitlines()) == 7

    echo = shards(qa(), tmp_path / "res", 2, backend_spec="stub:echo")
    res = CliRunner().invoke(merge_cmd, [e.run_id for e in echo] + ["--results", str(tmp_path / "res")])
    assert res.exit_code == 1 and "FAILED" in res.output


def test_merge_command_reports_a_user_mistake(tmp_path: Path) -> None:
    parts = shards(qa(), tmp_path, 2, backend_spec="stub:golden")
    res = CliRunner().invoke(merge_cmd, [parts[0].run_id, "--results", str(tmp_path)])
    assert isinstance(res.exception, ConfigError) and "2/2 missing" in str(res.exception)
