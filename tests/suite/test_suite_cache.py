"""The suite cache (`load_suite(path, cache_dir=...)`): a hit equals a plain load, any change to the files
it read is a miss, damaged or unsafe entries are never used, and `SampleList.to_bytes`/`from_bytes`."""

from __future__ import annotations

import json
import math
import os
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import agenteval.suite.cache as cache_mod
from agenteval.cli.main import cli
from agenteval.errors import ConfigError
from agenteval.schema import ResolvedSample, Sample, Suite
from agenteval.schema.sample_list import SampleList, SampleListBuilder
from agenteval.suite import check_suite, load_suite
from agenteval.suite.cache import CACHE_FOLDER
from agenteval.suite.check import samples_checked

REPO = Path(__file__).resolve().parents[2]

SUITE = """\
name: cached
version: "2"
system: "Be brief."
prompt: "Q: {{ q }} ({{ topic }})"
metrics:
  - exact_match: {ignore_punctuation: true}
  - includes
thresholds:
  exact_match: 0.5
slice_by: [tags]
samples:
  - id: inline-1
    vars: {q: "1+1?", topic: math}
    expected: "2"
    tags: [inline]
  - id: inline-2
    vars: {q: "Capital of France?", topic: geo}
    expected: [Paris, paris]
    metadata: {level: {n: 1}}
  - file: data/rows.jsonl
    fields: {expected: ans}
    tags: [rows]
"""

ROWS = ('{"q": "2+2?", "ans": "4", "topic": "math"}\n'
        '\n'
        '{"q": "3+3?", "ans": ["6", "six"], "topic": "math"}\n'
        '{"id": "r3", "q": "4+4?", "ans": "8", "topic": "math", "metadata": {"src": "x"}}\n')


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_suite(root: Path, suite: str = SUITE, rows: str = ROWS) -> Path:
    write(root / "data" / "rows.jsonl", rows)
    return write(root / "s.yaml", suite)


def entries(d: Path) -> list[Path]:
    return sorted(d.glob("*.bin")) if d.is_dir() else []


def assert_same_suite(a: Suite, b: Suite) -> None:
    assert a == b
    assert list(a.samples) == list(b.samples)
    assert a.content_hash == b.content_hash
    assert list(a.samples.ids()) == list(b.samples.ids())  # type: ignore[attr-defined]
    assert list(a.samples.hashes()) == list(b.samples.hashes())  # type: ignore[attr-defined]
    assert [s.origin for s in a.samples] == [s.origin for s in b.samples]
    assert a.model_dump() == b.model_dump()


def rewrite_keeping_stat(path: Path, old: bytes, new: bytes) -> None:
    """Replace `old` by `new` (same length) in `path`, keeping its size and modification time."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


@pytest.fixture
def misses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every time the cache falls back to really loading the suite (a miss), the path loaded."""
    real = cache_mod.load_suite_with_deps
    calls: list[Path] = []

    def counting(path: str | Path) -> tuple[Suite, list[Path] | None]:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(cache_mod, "load_suite_with_deps", counting)
    return calls


def forbid_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(path: str | Path) -> tuple[Suite, list[Path] | None]:
        raise AssertionError(f"the suite was loaded again instead of read from the cache: {path}")

    monkeypatch.setattr(cache_mod, "load_suite_with_deps", boom)


# -- hits ---------------------------------------------------------------------------------------------


def test_second_load_reads_the_entry_and_equals_a_plain_load(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    plain = load_suite(p)
    assert len(plain.samples) == 5  # 2 inline + 3 rows (blank line skipped)

    first = load_suite(p, cache_dir=d)
    assert_same_suite(first, plain)
    assert len(entries(d)) == 1
    assert not list(d.glob(".*.tmp"))  # no temporary file left behind

    forbid_loading(monkeypatch)
    second = load_suite(p, cache_dir=d)
    assert_same_suite(second, plain)
    assert second is not first
    assert isinstance(second.samples, SampleList)
    assert second.path == str(p)
    assert second.samples[3].acceptable == ["6", "six"]
    assert second.samples[4].id == "r3" and second.samples[4].metadata == {"src": "x"}
    assert second.samples[1].metadata == {"level": {"n": 1}}
    assert second.samples[2].origin == f"{tmp_path / 'data' / 'rows.jsonl'}:1"
    assert second.samples[3].origin.endswith("rows.jsonl:3")
    # Still a usable suite: metrics build and samples render as for the plain one.
    assert [k for k, _ in check_suite(second)] == [k for k, _ in check_suite(plain)] == ["exact_match", "includes"]
    assert len(entries(d)) == 1


def test_hits_do_not_rewrite_the_entry(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    (entry,) = entries(d)
    before = entry.read_bytes(), entry.stat().st_mtime_ns
    for _ in range(3):
        load_suite(p, cache_dir=d)
    assert len(misses) == 1
    # the same bytes; a hit only refreshes the entry's time (pruning keeps the entries used last)
    assert entry.read_bytes() == before[0] and entry.stat().st_mtime_ns >= before[1]


@pytest.mark.parametrize("name", [q.name for q in sorted((REPO / "suites").glob("*.yaml"))])
def test_shipped_suites_round_trip_through_the_cache(name: str, tmp_path: Path, misses: list[Path]) -> None:
    p = REPO / "suites" / name
    plain = load_suite(p)
    load_suite(p, cache_dir=tmp_path)
    cached = load_suite(p, cache_dir=tmp_path)
    assert_same_suite(cached, plain)
    assert samples_checked(cached)
    assert len(entries(tmp_path)) == 1 and len(misses) == 1


def test_same_relative_path_from_two_working_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     misses: list[Path]) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    make_suite(a)
    make_suite(b, rows=ROWS.replace('"4+4?"', '"5+5?"'))
    d = tmp_path / "cache"
    monkeypatch.chdir(a)
    from_a = load_suite("s.yaml", cache_dir=d)
    monkeypatch.chdir(b)
    from_b = load_suite("s.yaml", cache_dir=d)
    assert from_b.samples[4].vars["q"] == "5+5?" and from_a.samples[4].vars["q"] == "4+4?"
    assert_same_suite(from_b, load_suite("s.yaml"))
    monkeypatch.chdir(a)
    assert_same_suite(load_suite("s.yaml", cache_dir=d), from_a)
    assert len(misses) == 2 and len(entries(d)) == 2


# -- misses: anything the suite was read from changed ---------------------------------------------


def test_changed_data_file_same_size_and_mtime_is_a_miss(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    rewrite_keeping_stat(tmp_path / "data" / "rows.jsonl", b'"ans": "8"', b'"ans": "9"')
    fresh = load_suite(p, cache_dir=d)
    assert fresh.samples[4].expected == "9"
    assert_same_suite(fresh, load_suite(p))
    assert len(misses) == 2
    assert len(entries(d)) == 1  # same key: the entry was replaced, not added
    # ... and the replaced entry is current again.
    assert_same_suite(load_suite(p, cache_dir=d), fresh)
    assert len(misses) == 2


def test_changed_suite_file_same_size_and_mtime_is_a_miss(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    rewrite_keeping_stat(p, b'expected: "2"', b'expected: "3"')
    fresh = load_suite(p, cache_dir=d)
    assert fresh.samples[0].expected == "3"
    assert_same_suite(fresh, load_suite(p))
    rewrite_keeping_stat(p, b"Be brief.", b"Be short.")  # a setting, not a sample
    fresh = load_suite(p, cache_dir=d)
    assert fresh.system == "Be short."
    assert_same_suite(fresh, load_suite(p))
    assert len(misses) == 3


def test_deleted_data_file_is_the_loaders_error(tmp_path: Path) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    (tmp_path / "data" / "rows.jsonl").unlink()
    with pytest.raises(ConfigError) as plain:
        load_suite(p)
    with pytest.raises(ConfigError) as cached:
        load_suite(p, cache_dir=d)
    assert str(cached.value) == str(plain.value) and "data file not found" in str(cached.value)


def test_missing_suite_file_is_the_loaders_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as plain:
        load_suite(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as cached:
        load_suite(tmp_path / "nope.yaml", cache_dir=tmp_path / "cache")
    assert str(cached.value) == str(plain.value)
    assert not (tmp_path / "cache").exists()


def test_outside_data_permission_is_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "shared" / "rows.jsonl", ROWS)
    p = write(tmp_path / "suite" / "s.yaml", SUITE.replace("data/rows.jsonl", "../shared/rows.jsonl"))
    d = tmp_path / "cache"
    monkeypatch.setenv("AGENTEVAL_ALLOW_OUTSIDE_DATA", "1")
    allowed = load_suite(p, cache_dir=d)
    assert len(allowed.samples) == 5 and len(entries(d)) == 1
    monkeypatch.delenv("AGENTEVAL_ALLOW_OUTSIDE_DATA")
    with pytest.raises(ConfigError, match="outside the suite's folder"):
        load_suite(p, cache_dir=d)


def test_loader_code_change_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, misses: list[Path]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    load_suite(p, cache_dir=d)
    assert len(misses) == 1
    monkeypatch.setattr(cache_mod, "_code_fingerprint", lambda: "another agenteval")
    assert_same_suite(load_suite(p, cache_dir=d), load_suite(p))
    assert len(misses) == 2 and len(entries(d)) == 2


def test_retargeted_data_symlink_is_a_miss(tmp_path: Path) -> None:
    write(tmp_path / "v1" / "rows.jsonl", ROWS)
    write(tmp_path / "v2" / "rows.jsonl", ROWS.replace('"4+4?"', '"7+7?"'))
    (tmp_path / "data").symlink_to("v1", target_is_directory=True)
    p = write(tmp_path / "s.yaml", SUITE)
    d = tmp_path / "cache"
    assert load_suite(p, cache_dir=d).samples[4].vars["q"] == "4+4?"
    (tmp_path / "data").unlink()
    (tmp_path / "data").symlink_to("v2", target_is_directory=True)
    assert load_suite(p).samples[4].vars["q"] == "7+7?"
    assert load_suite(p, cache_dir=d).samples[4].vars["q"] == "7+7?"


def test_data_file_changed_while_loading_is_not_cached_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_suite(tmp_path)
    rows = tmp_path / "data" / "rows.jsonl"
    real = cache_mod.load_suite_with_deps

    def load_then_edit(path: str | Path) -> tuple[Suite, list[Path] | None]:
        out = real(path)
        rows.write_bytes(rows.read_bytes().replace(b'"ans": "8"', b'"ans": "9"'))  # e.g. a writer finishing
        return out

    d = tmp_path / "cache"
    monkeypatch.setattr(cache_mod, "load_suite_with_deps", load_then_edit)
    assert load_suite(p, cache_dir=d).samples[4].expected == "8"  # what the file held when read
    monkeypatch.setattr(cache_mod, "load_suite_with_deps", real)
    assert load_suite(p).samples[4].expected == "9"
    assert load_suite(p, cache_dir=d).samples[4].expected == "9"


# -- damaged entries ----------------------------------------------------------------------------------


def _truncate(b: bytes) -> bytes:
    return b[:len(b) // 2]


def _flip_middle(b: bytes) -> bytes:
    m = len(b) // 2
    return b[:m] + bytes([b[m] ^ 0x01]) + b[m + 1:]


def _flip_last(b: bytes) -> bytes:
    return b[:-1] + bytes([b[-1] ^ 0x80])


def _flip_checksum(b: bytes) -> bytes:
    k = len(cache_mod._MAGIC) + 3
    return b[:k] + bytes([b[k] ^ 0xFF]) + b[k + 1:]


def _other_magic(b: bytes) -> bytes:
    return b"agenteval suite cache 0\n" + b[len(cache_mod._MAGIC):]


@pytest.mark.parametrize("damage", [_truncate, _flip_middle, _flip_last, _flip_checksum, _other_magic,
                                    lambda b: b"", lambda b: b + b"\0", lambda b: b[:len(cache_mod._MAGIC)]],
                         ids=["truncated", "flip-middle", "flip-last", "flip-checksum", "other-magic", "empty",
                              "extra-byte", "magic-only"])
def test_damaged_entry_is_a_miss_and_replaced(tmp_path: Path, misses: list[Path],
                                              damage: Callable[[bytes], bytes]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    plain = load_suite(p)
    load_suite(p, cache_dir=d)
    (entry,) = entries(d)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    assert entry.read_bytes() != good
    assert_same_suite(load_suite(p, cache_dir=d), plain)
    assert len(misses) == 2
    assert entry.read_bytes() == good  # rewritten: the same suite saves the same bytes
    assert_same_suite(load_suite(p, cache_dir=d), plain)
    assert len(misses) == 2


def test_entry_that_is_a_folder_is_ignored(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    (entry,) = entries(d)
    entry.unlink()
    entry.mkdir()  # cannot be read nor replaced: still no error
    assert_same_suite(load_suite(p, cache_dir=d), load_suite(p))
    assert_same_suite(load_suite(p, cache_dir=d), load_suite(p))
    assert len(misses) == 3 and entry.is_dir()  # misses, and nothing written in its place
    assert not list(d.glob(".*.tmp"))


def test_unwritable_cache_folder_is_not_an_error(tmp_path: Path) -> None:
    p = make_suite(tmp_path)
    blocker = write(tmp_path / "cache", "a file where the folder should be")
    assert_same_suite(load_suite(p, cache_dir=blocker), load_suite(p))
    assert_same_suite(load_suite(p, cache_dir=blocker / "sub"), load_suite(p))
    assert blocker.read_text() == "a file where the folder should be"


# -- suites that are not saved --------------------------------------------------------------------


def test_suite_whose_template_fails_is_not_saved_and_check_reports_it(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path, SUITE.replace('prompt: "Q: {{ q }} ({{ topic }})"',
                                           'prompt: "Q: {{ q }} {{ missing_var }}"'))
    d = tmp_path / "cache"
    plain = load_suite(p)
    with pytest.raises(ConfigError) as want:
        check_suite(plain)
    assert f"{p}:12" in str(want.value) and "missing_var" in str(want.value)  # the first inline sample

    cached = load_suite(p, cache_dir=d)
    assert_same_suite(cached, plain)
    assert entries(d) == []
    assert not samples_checked(cached)
    with pytest.raises(ConfigError) as got:
        check_suite(cached)
    assert str(got.value) == str(want.value)
    assert (got.value.file, got.value.line) == (want.value.file, want.value.line) == (str(p), 12)
    # Every load is a miss (nothing was saved), and each one reports the same.
    load_suite(p, cache_dir=d)
    assert len(misses) == 2 and entries(d) == []


def test_template_failing_only_for_a_data_row_names_the_row(tmp_path: Path) -> None:
    p = make_suite(tmp_path, SUITE.replace('prompt: "Q: {{ q }} ({{ topic }})"',
                                           'prompt: "Q: {{ q }} {{ src }}"').replace(
        "vars: {q: \"1+1?\", topic: math}", "vars: {q: \"1+1?\", topic: math, src: a}").replace(
        "vars: {q: \"Capital of France?\", topic: geo}", "vars: {q: \"Capital of France?\", topic: geo, src: b}"),
        ROWS.replace('"topic": "math"}', '"topic": "math", "src": "y"}', 1))
    d = tmp_path / "cache"
    cached = load_suite(p, cache_dir=d)
    assert entries(d) == []
    with pytest.raises(ConfigError) as got:
        check_suite(cached)
    assert f"{tmp_path / 'data' / 'rows.jsonl'}:3" in str(got.value)  # the row without `src`


def test_slice_key_no_sample_has_is_not_saved(tmp_path: Path) -> None:
    p = make_suite(tmp_path, SUITE.replace("slice_by: [tags]", "slice_by: [no_such_key]"))
    d = tmp_path / "cache"
    with pytest.raises(ConfigError) as want:
        check_suite(load_suite(p))
    cached = load_suite(p, cache_dir=d)
    assert entries(d) == []
    with pytest.raises(ConfigError) as got:
        check_suite(cached)
    assert str(got.value) == str(want.value) and f"{p}:10" in str(got.value)


def test_nan_in_vars_or_metadata_is_not_saved(tmp_path: Path, misses: list[Path]) -> None:
    p = make_suite(tmp_path, SUITE.replace("metadata: {level: {n: 1}}", "metadata: {level: {n: .nan}}"),
                   ROWS.replace('"topic": "math"}', '"topic": "math", "w": NaN}', 1))
    d = tmp_path / "cache"
    suite = load_suite(p, cache_dir=d)
    assert entries(d) == []
    assert math.isnan(suite.samples[1].metadata["level"]["n"])
    assert math.isnan(suite.samples[2].vars["w"])
    assert isinstance(suite.samples, SampleList) and suite.samples.to_bytes() is None
    plain = load_suite(p)
    assert suite.content_hash == plain.content_hash
    assert [s.id for s in suite.samples] == [s.id for s in plain.samples]
    assert samples_checked(suite)  # checked, only not saved
    check_suite(suite)
    load_suite(p, cache_dir=d)
    assert len(misses) == 2 and entries(d) == []


def test_nan_only_in_a_data_row_is_not_saved(tmp_path: Path) -> None:
    p = make_suite(tmp_path, rows=ROWS + '{"q": "x", "ans": "y", "topic": "t", "metadata": {"s": NaN}}\n')
    d = tmp_path / "cache"
    suite = load_suite(p, cache_dir=d)
    assert entries(d) == [] and suite.samples.to_bytes() is None  # type: ignore[attr-defined]
    assert math.isnan(suite.samples[-1].metadata["s"])


@pytest.mark.parametrize("old, new", [('q: "1+1?"', 'q: "Is a nullable int an int?"'),
                                      ('expected: "2"', 'expected: {v: "2", unit: null}')],
                         ids=["word-null", "null-value"])
def test_null_in_a_sample_is_still_cached(tmp_path: Path, old: str, new: str) -> None:
    p = make_suite(tmp_path, SUITE.replace(old, new))
    d = tmp_path / "cache"
    assert new.split(": ", 1)[1] in p.read_text()
    load_suite(p, cache_dir=d)
    assert len(entries(d)) == 1


# -- checked marks ------------------------------------------------------------------------------------


def test_cached_suites_are_marked_checked_and_copies_are_not(tmp_path: Path) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    plain = load_suite(p)
    assert not samples_checked(plain)
    missed = load_suite(p, cache_dir=d)
    assert samples_checked(missed)
    hit = load_suite(p, cache_dir=d)
    assert samples_checked(hit)
    assert not samples_checked(plain)  # another equal suite is not marked by them

    changed = hit.model_copy(update={"prompt": "other {{ x }}"})
    assert not samples_checked(changed)
    with pytest.raises(ConfigError, match="x"):
        check_suite(changed)
    assert not samples_checked(hit.model_copy())  # a copy is another suite: checked again when used
    assert samples_checked(hit)


def test_changing_a_cached_suite_in_place_drops_its_mark(tmp_path: Path) -> None:
    p = make_suite(tmp_path)
    d = tmp_path / "cache"
    load_suite(p, cache_dir=d)
    hit = load_suite(p, cache_dir=d)
    assert samples_checked(hit)
    hit.prompt = "Q: {{ nope }}"
    assert not samples_checked(hit)
    with pytest.raises(ConfigError, match="nope"):
        check_suite(hit)

    again = load_suite(p, cache_dir=d)
    assert samples_checked(again)
    again.slice_by = ["no_such_key"]
    assert not samples_checked(again)
    with pytest.raises(ConfigError, match="no_such_key"):
        check_suite(again)

    third = load_suite(p, cache_dir=d)
    third.samples = third.samples[:2]
    assert not samples_checked(third)


# -- SampleList.to_bytes / from_bytes ---------------------------------------------------------------


def build_list(n: int) -> SampleList:
    """n samples over two data files and a file without line numbers, some with odd content."""
    b = SampleListBuilder(ResolvedSample)
    for i in range(n):
        if i < 70:
            origin = f"/data/a.jsonl:{i + 1}"
        elif i < 130:
            origin = f"/data/b é.yaml:{i}"
        else:
            origin = "<python>"
        s = Sample(vars={"q": f"question {i}", "n": i, "deep": {"x": [i, "ü"]}}, expected=[str(i), f"#{i}"],
                   tags=["t"] if i % 3 else [], metadata={"k": i % 5} if i % 2 else {})
        b.append(s, f"id-{i}" if i != 5 else "ìd-五", f"{i:064x}", origin)
    return b.build()


def test_to_bytes_from_bytes_round_trip_across_blocks() -> None:
    n = 64 * 2 + 37  # two full blocks and a partial last one
    orig = build_list(n)
    data = orig.to_bytes()
    assert data is not None
    back = SampleList.from_bytes(data, ResolvedSample)
    assert len(back) == n
    assert back == orig and list(back) == list(orig)
    assert list(back.ids()) == list(orig.ids()) and "ìd-五" in list(back.ids())
    assert list(back.hashes()) == list(orig.hashes()) == [f"{i:064x}" for i in range(n)]
    assert [back.origin(i) for i in range(n)] == [orig.origin(i) for i in range(n)]
    assert back.origin(0) == "/data/a.jsonl:1" and back.origin(70) == "/data/b é.yaml:70"
    assert back.origin(n - 1) == "<python>" and back[n - 1].origin == "<python>"
    assert back[5].id == "ìd-五" and back[100].vars["deep"] == {"x": [100, "ü"]}
    assert back[-1] == orig[-1] and back[63] == orig[63] and back[64] == orig[64]
    for sl in (slice(60, 70), slice(None, None, 7), slice(120, None), slice(-3, None), slice(10, 10)):
        assert back[sl] == orig[sl]
        assert list(back[sl]) == list(orig[sl])
        assert [back[sl].origin(i) for i in range(len(back[sl]))] == [s.origin for s in orig[sl]]
    assert back.to_bytes() == data  # saving what was read gives the same bytes
    assert back[60:130].to_bytes() == orig[60:130].to_bytes()
    assert SampleList.from_bytes(back[60:130].to_bytes(), ResolvedSample) == orig[60:130]  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 128])
def test_round_trip_at_block_edges(n: int) -> None:
    orig = build_list(n)
    data = orig.to_bytes()
    assert data is not None
    back = SampleList.from_bytes(data, ResolvedSample)
    assert len(back) == n and list(back) == list(orig)
    assert list(back.ids()) == list(orig.ids()) and list(back.hashes()) == list(orig.hashes())


def test_to_bytes_refuses_what_cannot_be_saved_safely() -> None:
    models = list(build_list(3))
    assert SampleList.from_models(models).to_bytes() is None  # wrapped models
    b = SampleListBuilder(ResolvedSample)
    b.append(Sample(input="a"), "a", "not-a-sha256", "/x.yaml:1")  # an odd hash
    assert b.build().to_bytes() is None
    b = SampleListBuilder(ResolvedSample)
    b.append(Sample(input="a"), "a", "0" * 64, "/x\udcff.yaml:1")  # an origin that is not UTF-8
    assert b.build().to_bytes() is None
    b = SampleListBuilder(ResolvedSample)
    for i in range(70):  # a NaN in the first (already compressed) block
        b.append(Sample(input="a", metadata={"v": float("nan") if i == 3 else i}), f"s{i}", f"{i:064x}",
                 f"/x.yaml:{i + 1}")
    assert b.build().to_bytes() is None
    assert b.build()[64:].to_bytes() is not None  # the NaN is not in this part


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x00" * 3, b"\xff" * 40, b"\x02\x00\x00\x00{}",
                                  b"\x05\x00\x00\x00[1,2]", b"\x04\x00\x00\x00null",
                                  struct.pack("<I", 10**6) + b"{}"],
                         ids=["empty", "text", "short", "ff", "empty-meta", "list-meta", "null-meta", "huge-meta"])
def test_from_bytes_on_garbage_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        SampleList.from_bytes(data, ResolvedSample)


def test_from_bytes_on_truncated_or_extended_bytes_raises_value_error() -> None:
    data = build_list(100).to_bytes()
    assert data is not None
    for cut in range(0, len(data), 7):
        with pytest.raises(ValueError):
            SampleList.from_bytes(data[:cut], ResolvedSample)
    with pytest.raises(ValueError):
        SampleList.from_bytes(data[:-1], ResolvedSample)
    with pytest.raises(ValueError, match="trailing"):
        SampleList.from_bytes(data + b"\0", ResolvedSample)


def _columns(lists: list[bytes], meta: dict[str, object]) -> bytes:
    m = json.dumps(meta).encode()
    return struct.pack("<I", len(m)) + m + b"".join(struct.pack("<Q", len(c)) + c for c in lists)


def test_from_bytes_checks_columns_agree() -> None:
    empty_block = zlib.compress(bytes(12 * 64))
    ok = _columns([empty_block, b"", b"", b""], {"n": 0, "prefixes": [], "blocks": [], "pending": 0})
    assert len(SampleList.from_bytes(ok, ResolvedSample)) == 0
    with pytest.raises(ValueError, match="inconsistent"):  # n says 1, there are no hashes
        SampleList.from_bytes(_columns([empty_block, b"", b"", b""],
                                       {"n": 1, "prefixes": [], "blocks": [], "pending": 1}), ResolvedSample)
    with pytest.raises(ValueError):  # the pending block is not zlib
        SampleList.from_bytes(_columns([b"nope", b"", b"", b""],
                                       {"n": 0, "prefixes": [], "blocks": [], "pending": 0}), ResolvedSample)


def test_from_bytes_short_pending_block_raises_value_error() -> None:
    data = _columns([zlib.compress(b""), b"", b"", b""], {"n": 0, "prefixes": [], "blocks": [], "pending": 0})
    with pytest.raises(ValueError):
        SampleList.from_bytes(data, ResolvedSample)


def test_from_bytes_huge_column_length_raises_value_error() -> None:
    data = build_list(10).to_bytes()
    assert data is not None
    (size,) = struct.unpack_from("<I", data, 0)
    top = 4 + size + 7  # the last (most significant) byte of the first column's length
    bad = data[:top] + bytes([data[top] ^ 0xFF]) + data[top + 1:]
    with pytest.raises(ValueError):
        SampleList.from_bytes(bad, ResolvedSample)


# -- the command line ---------------------------------------------------------------------------------


def _summary(root: Path) -> dict[str, object]:
    (path,) = (root / "runs").glob("*/summary.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_cli_run_uses_the_suite_cache_and_no_cache_skips_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            misses: list[Path]) -> None:
    p = make_suite(tmp_path / "suite")
    runner = CliRunner()
    args = ["run", str(p), "--backend", "stub:golden", "--no-progress"]
    r1, r2, r3 = tmp_path / "r1", tmp_path / "r2", tmp_path / "r3"

    first = runner.invoke(cli, [*args, "--out", str(r1)])
    assert first.exit_code == 0, first.output
    (entry,) = entries(r1 / CACHE_FOLDER)
    assert len(misses) == 1
    second = runner.invoke(cli, [*args, "--out", str(r1)])
    assert second.exit_code == 0, second.output
    assert len(misses) == 1  # read from the entry
    assert entries(r1 / CACHE_FOLDER) == [entry]
    summaries = sorted((r1 / "runs").glob("*/summary.json"))
    assert len(summaries) == 2
    s1, s2 = (json.loads(s.read_text()) for s in summaries)

    third = runner.invoke(cli, [*args, "--out", str(r3), "--no-cache"])
    assert third.exit_code == 0, third.output
    assert not (r3 / CACHE_FOLDER).exists()
    assert len(misses) == 1  # --no-cache loads without the suite cache at all
    s3 = _summary(r3)

    assert s1["metrics"] and s1["metrics"].keys() == s2["metrics"].keys() == s3["metrics"].keys()
    for key in s1["metrics"]:
        assert s1["metrics"][key] == s2["metrics"][key] == s3["metrics"][key], key
    assert s1["metrics"]["exact_match"]["mean"] == 1.0
    assert s1["n_samples"] == s2["n_samples"] == s3["n_samples"] == 5
    assert not r2.exists()


def test_cli_run_with_a_broken_template_fails_the_same_with_and_without_cache(tmp_path: Path) -> None:
    p = make_suite(tmp_path / "suite", SUITE.replace("{{ topic }}", "{{ missing_var }}"))
    runner = CliRunner()
    errors = []
    for extra in ([], ["--no-cache"], []):
        res = runner.invoke(cli, ["run", str(p), "--backend", "stub:golden", "--no-progress",
                                  "--out", str(tmp_path / "r"), *extra])
        assert res.exit_code != 0
        assert isinstance(res.exception, ConfigError), res.output
        assert f"{p}:12" in str(res.exception) and "missing_var" in str(res.exception)
        errors.append(str(res.exception))
    assert errors[0] == errors[1] == errors[2]
    assert entries(tmp_path / "r" / CACHE_FOLDER) == []
    assert not (tmp_path / "r" / "runs").exists() or not list((tmp_path / "r" / "runs").iterdir())


# -- pruning ------------------------------------------------------------------------------------------


def test_at_most_64_entries_are_kept_the_oldest_pruned(tmp_path: Path, misses: list[Path]) -> None:
    d = tmp_path / "cache"
    paths = [write(tmp_path / f"s{i}.yaml", f"name: s{i}\nsamples:\n  - {{id: a, input: q{i}, expected: x}}\n")
             for i in range(70)]
    written: list[Path] = []
    past = time.time_ns() - 10**12
    for i, p in enumerate(paths):
        load_suite(p, cache_dir=d)
        new = set(entries(d)) - set(written)
        assert len(new) == 1, "each distinct suite writes one entry"
        written.append(new.pop())
        # Distinct, increasing times (in the past, so each new entry is the newest) even where a file
        # system's clock is too coarse to tell entries written within a few milliseconds apart.
        os.utime(written[-1], ns=(past + i * 10**9, past + i * 10**9))
        assert len(entries(d)) == min(len(written), 64)
    assert len(misses) == 70
    assert set(entries(d)) == set(written[-64:])  # the first six, oldest, were removed
    assert not list(d.glob(".*.tmp"))
    # The newest are hits (each hit makes its entry the newest), a pruned one is a miss (and saved
    # again, pruning the oldest entry not used since: s7's, as s6's was just used).
    for i in (69, 10, 6):
        assert load_suite(paths[i], cache_dir=d).name == f"s{i}"
    assert len(misses) == 70
    assert load_suite(paths[0], cache_dir=d).name == "s0"
    assert len(misses) == 71
    assert len(entries(d)) == 64 and written[7] not in entries(d)
    assert written[6] in entries(d) and written[0] in entries(d)


@pytest.mark.parametrize(("backend", "cached"), [
    ('{spec: "openai:m", options: {api_key: "sk-live-123", max_tokens: 64}}', False),
    ('{spec: "openai:m", options: {headers: {X-Custom: "abc"}}}', False),
    ('{spec: "openai:m", options: {max_tokens: 64, temperature: 0}}', True),
    ('{spec: "openai:m", options: {api_key: ""}}', True),
])
def test_a_suite_holding_a_secret_is_not_copied_into_the_cache(tmp_path: Path, backend: str, cached: bool) -> None:
    p = make_suite(tmp_path, SUITE.replace('version: "2"\n', f'version: "2"\nbackend: {backend}\n'))
    d = tmp_path / "cache"
    assert_same_suite(load_suite(p, cache_dir=d), load_suite(p))
    assert len(entries(d)) == int(cached)
    for e in entries(d):
        assert b"sk-live" not in e.read_bytes()


def test_holds_secret_follows_redact() -> None:
    from agenteval.redaction import holds_secret, redact

    for options in ({"api_key": "sk"}, {"nested": {"auth_token": "t"}}, {"headers": {"X-Api": "v"}},
                    {"list": [{"password": "p"}]}):
        assert holds_secret(options) and redact(options) != options
    for options in ({"max_tokens": 64}, {"api_key": ""}, {"api_key": None}, {"model": "gpt"}, {"stop": ["\n"]}):
        assert not holds_secret(options)
