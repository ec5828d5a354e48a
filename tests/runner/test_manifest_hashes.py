"""A run of a loaded (compact) suite: the manifest's sample hashes, shards and the outcome."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agenteval.runner import RunOptions, RunOutcome, run_suite, select_samples
from agenteval.schema import Suite
from agenteval.suite import load_suite


def _suite(tmp_path: Path, n: int) -> Suite:
    (tmp_path / "d.jsonl").write_text("".join(
        json.dumps({"id": f"s{k:04d}", "q": f"What is {k} plus {k}?", "a": str(2 * k)}) + "\n" for k in range(n)))
    (tmp_path / "s.yaml").write_text("name: s\nprompt: '{{ q }}'\nsamples:\n"
                                     "  - {file: d.jsonl, fields: {expected: a}}\n")
    return load_suite(tmp_path / "s.yaml")


def _run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, backend_spec="stub:golden", **kw)))  # type: ignore[arg-type]


def test_manifest_lists_every_sample_hash_in_suite_order(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 1500)
    expected = [(s.id, s.hash) for s in suite.samples]
    out = _run(suite, tmp_path / "res", shard=(2, 3), limit=10)
    on_disk = json.loads((out.run_dir.path / "manifest.json").read_text())
    assert list(on_disk["suite"]["sample_hashes"].items()) == expected  # all samples, not the shard's
    assert list(out.manifest.suite.sample_hashes.items()) == expected
    assert out.manifest == out.run_dir.read_manifest() and out.manifest.finished_at is not None
    assert [json.loads(x)["sample_id"] for x in out.run_dir.samples_path.read_text().splitlines()] == [
        s.id for s in list(suite.samples)[1::3][:10]]


def test_a_resumed_run_keeps_its_manifest(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 40)
    full = _run(suite, tmp_path / "a")
    rows = full.run_dir.samples_path.read_text().splitlines(keepends=True)
    killed = tmp_path / "b" / "runs" / full.run_dir.run_id
    killed.mkdir(parents=True)
    manifest = json.loads((full.run_dir.path / "manifest.json").read_text())
    manifest["finished_at"] = None
    (killed / "manifest.json").write_text(json.dumps(manifest))
    (killed / "samples.jsonl").write_text("".join(rows[:25]))
    out = _run(suite, tmp_path / "b", resume=full.run_dir.run_id, use_cache=False)
    assert out.n_new == 15
    assert out.manifest.suite == full.manifest.suite
    assert json.loads((killed / "manifest.json").read_text())["suite"] == manifest["suite"]


def test_shards_take_every_nth_sample(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 100)
    samples = list(suite.samples)
    for i, n in ((1, 1), (1, 3), (3, 3), (2, 7)):
        assert list(select_samples(suite, None, (i, n))) == [s for k, s in enumerate(samples) if k % n == i - 1]
    assert list(select_samples(suite, 5, (2, 4))) == samples[1::4][:5]
    assert list(select_samples(suite, 3, None)) == samples[:3]


def test_the_outcome_prints_short(tmp_path: Path) -> None:
    out = _run(_suite(tmp_path, 3000), tmp_path / "res")
    assert repr(out) == f"RunOutcome(run_id={out.run_dir.run_id!r}, n_new=3000, passed=True)"
