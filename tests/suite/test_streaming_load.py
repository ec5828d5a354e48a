"""Large data files load row by row: errors still name file:line, duplicates their first row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenteval.errors import ConfigError
from agenteval.suite import load_suite
from agenteval.suite import loader as loader_mod


def _suite(tmp_path: Path, source: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: s\nsamples:\n  - {source}\n")
    return p


def _jsonl(tmp_path: Path, rows: list[dict[str, object]]) -> None:
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_parquet_is_read_in_batches_with_row_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    n = 2500
    inputs: list[str | None] = [f"q{k}" for k in range(n)]
    turns: list[list[str] | None] = [None] * n
    table = pa.table({"id": [f"r{k}" for k in range(n)], "input": inputs, "turns": turns})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=700)

    def whole_table(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole table was read")

    monkeypatch.setattr(pq, "read_table", whole_table)
    suite = load_suite(_suite(tmp_path, "file: d.parquet"))
    assert len(suite.samples) == n and suite.samples[2099].input == "q2099"
    assert suite.samples[2099].origin.endswith("d.parquet:2100")

    turns[2099] = ["a", "b"]  # row 2100 has both an input and turns
    pq.write_table(pa.table({"id": [f"r{k}" for k in range(n)], "input": inputs, "turns": turns}),
                   tmp_path / "d.parquet", row_group_size=700)
    with pytest.raises(ConfigError) as e:
        load_suite(_suite(tmp_path, "file: d.parquet"))
    assert e.value.file is not None and e.value.file.endswith("d.parquet") and e.value.line == 2100
    assert "give only one of input, messages, turns" in str(e.value)


def test_corrupt_parquet_is_a_config_error(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    (tmp_path / "d.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(ConfigError, match="cannot read Parquet file"):
        load_suite(_suite(tmp_path, "file: d.parquet"))


def test_bad_row_deep_in_a_jsonl_file_names_its_line(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"id": f"r{k}", "input": f"q{k}"} for k in range(3000)]
    rows[2500] = {"id": "bad", "input": "x", "messages": "not a list"}
    _jsonl(tmp_path, rows)
    with pytest.raises(ConfigError) as e:
        load_suite(_suite(tmp_path, "file: d.jsonl"))
    assert e.value.line == 2501 and e.value.file is not None and e.value.file.endswith("d.jsonl")


def test_duplicate_id_far_from_its_first_row(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"id": f"r{k}", "input": f"q{k}"} for k in range(3000)]
    rows[2999] = {"id": "r5", "input": "again"}
    _jsonl(tmp_path, rows)
    with pytest.raises(ConfigError) as e:
        load_suite(_suite(tmp_path, "file: d.jsonl"))
    assert "duplicate sample id 'r5'" in str(e.value) and "d.jsonl:6)" in str(e.value)
    assert e.value.line == 3000


def test_a_duplicate_is_reported_before_a_later_bad_row(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"id": f"r{k}", "input": f"q{k}"} for k in range(100)]
    rows[50] = {"id": "r1", "input": "again"}
    rows[90] = {"id": "bad", "input": 1, "turns": ["x"]}
    _jsonl(tmp_path, rows)
    with pytest.raises(ConfigError, match="duplicate sample id 'r1'") as e:
        load_suite(_suite(tmp_path, "file: d.jsonl"))
    assert e.value.line == 51


def test_ids_with_colliding_hashes_are_not_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every id after the first looks seen (as if all their hashes collided): each is checked and kept.
    first = [True]

    def collide(self: object, sample_id: str) -> bool:
        out, first[0] = first[0], False
        return out

    monkeypatch.setattr(loader_mod._SeenIds, "add", collide)
    _jsonl(tmp_path, [{"id": f"r{k}", "input": f"q{k}"} for k in range(200)])
    suite = load_suite(_suite(tmp_path, "file: d.jsonl"))
    assert [s.id for s in suite.samples] == [f"r{k}" for k in range(200)]


def test_seen_ids_table_grows_and_remembers() -> None:
    seen = loader_mod._SeenIds()
    assert all(seen.add(f"id{k}") for k in range(5000))
    assert not any(seen.add(f"id{k}") for k in range(0, 5000, 7))
