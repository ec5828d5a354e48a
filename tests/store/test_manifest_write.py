"""manifest.json of a large suite is written in pieces, byte for byte what pydantic would write."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.schema import BackendRef, ResolvedSample, RunManifest, RunSettings, SuiteRef
from agenteval.schema.sample_list import SampleList
from agenteval.store import RunDir

IDS = [f"s{k:05d}" for k in range(2500)] + ['q"uote', "back\\slash", "ctl\x01\x1f\x7f\n\t\b\f\r", "ünï",
                                             "😀", "\u2028x", "</script>", "sample_hashes"]
HASHES = {sid: f"{k:064x}" for k, sid in enumerate(IDS)}


def _manifest(hashes: dict[str, str]) -> RunManifest:
    return RunManifest(
        run_id="r1", suite=SuiteRef(name="s", version="1", path="s.yaml", content_hash="c", n_samples=len(IDS),
                                    sample_hashes=hashes),
        # keys named like the field elsewhere in the manifest must not confuse the writer
        backend=BackendRef(spec="stub:echo", options={"sample_hashes": {}}), metrics=[], judges=[],
        settings=RunSettings(concurrency=8, repeat=1, limit=None, shard=None, cache=True),
        agenteval_version="1", git_sha=None, labels={"sample_hashes": "{}"}, started_at="2026-01-01T00:00:00Z")


def _expected(manifest: RunManifest) -> bytes:
    return (manifest.model_dump_json(indent=2) + "\n").encode()


def test_a_large_manifest_is_written_exactly_as_pydantic_dumps_it(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "r1")
    full = _manifest(HASHES)
    rd.write_manifest(full)
    assert (rd.path / "manifest.json").read_bytes() == _expected(full)
    assert rd.read_manifest() == full
    assert list(rd.read_manifest().suite.sample_hashes) == IDS  # in suite order


@pytest.mark.parametrize("n", [0, 1, 2, 3000])
def test_sample_hashes_can_come_from_the_suites_samples(tmp_path: Path, n: int) -> None:
    rd = RunDir.create(tmp_path, "r1")
    pairs = list(HASHES.items())[:n]
    samples = SampleList.from_models(ResolvedSample(id=sid, hash=h, origin="s.yaml:1") for sid, h in pairs)
    rd.write_manifest(_manifest({}), samples)
    assert (rd.path / "manifest.json").read_bytes() == _expected(_manifest(dict(pairs)))


def test_hashes_in_the_manifest_and_as_samples_is_a_mistake(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "r1")
    samples = SampleList.from_models([ResolvedSample(id="a", hash="h", origin="s.yaml:1")])
    with pytest.raises(ValueError, match="not both"):
        rd.write_manifest(_manifest({"a": "h"}), samples)
