"""Suite.samples as a compact SampleList: the same samples as plain models, read as a list."""

from __future__ import annotations

import copy
import json
import math
import pickle
from pathlib import Path
from typing import Any

import pytest

from agenteval.schema import ResolvedSample, Sample, Suite
from agenteval.schema.sample_list import SampleList, SampleListBuilder, sample_hashes, sample_ids
from agenteval.suite import load_suite, sample_hash

RAW: list[dict[str, Any]] = [
    {"id": "plain", "input": "2+2?", "expected": "4"},
    {"id": 7, "vars": {"q": "Ünïcode ✓ 😀", "n": 1.0, "big": 10**30, "neg": -0.0, "none": None,
                       "nested": {"l": [1, 2.5, "x", True, None]}, "ctl": "a\x00b\x1f\n\t\"\\"},
     "expected": ["a", "b"], "tags": ["t1", "t2"], "metadata": {"lang": "de", "k": {"x": 1}}},
    {"id": "chat", "messages": [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "", "tool_calls": [
                                    {"tool": "f", "args": {"a": 1}, "id": "c1"}]},
                                {"role": "tool", "content": "{}", "tool_call_id": "c1", "name": "f"}]},
    {"id": "turns", "turns": ["one", "two"], "script": {"output": "x", "turns": ["a", "b"],
                                                        "tool_calls": [{"tool": "g", "result": {"ok": True}}]}},
    {"id": "traj", "input": "book", "expected_trajectory": [
        {"tool": "search", "args": {"q": "Paris", "n": 3, "d": 0.5},
         "args_match": {"q": {"fuzzy": 0.8}, "n": "exact", "d": {"numeric": {"tol": 0.1}}}},
        {"tool": "book", "args_match": {"city": {"one_of": ["Paris", ""]}, "when": {"regex": "2\\d+"}},
         "optional": True, "repeat": True, "normalize": False}],
     "initial_state": {"orders": {"1": "open"}}, "expected_state": {"orders": {"1": "closed"}}},
    {"id": "defaults-given", "input": "x", "vars": {}, "tags": [], "metadata": {}, "expected": None},
]


def _old_way(sample: Sample, origin: str) -> ResolvedSample:
    """How the loader built a ResolvedSample before samples were compacted."""
    h = sample_hash(sample)
    sid = sample.id if sample.id is not None else h[:12]
    return ResolvedSample(**{**sample.model_dump(), "id": sid}, hash=h, origin=origin)


def _build(samples: list[Sample], origins: list[str]) -> tuple[SampleList, list[ResolvedSample]]:
    builder = SampleListBuilder(ResolvedSample)
    expected = []
    for sample, origin in zip(samples, origins, strict=True):
        old = _old_way(sample, origin)
        builder.append(sample, old.id, old.hash, origin)
        expected.append(old)
    return builder.build(), expected


def _many(n: int) -> tuple[SampleList, list[ResolvedSample]]:
    samples = [Sample.model_validate({**RAW[k % len(RAW)], "id": f"{RAW[k % len(RAW)]['id']}-{k}"})
               for k in range(n)]
    return _build(samples, [f"/data/d.jsonl:{k + 1}" for k in range(n)])


def test_every_kind_of_sample_comes_back_equal_with_the_same_types() -> None:
    built, expected = _many(200)  # several compressed blocks and a partial one
    assert len(built) == 200
    assert list(built) == expected
    for got, want in zip(built, expected, strict=True):
        assert got.model_dump() == want.model_dump()
        assert got.model_dump_json() == want.model_dump_json()
    one = built[1]
    assert type(one.vars["n"]) is float and one.vars["big"] == 10**30 and one.id == "7-1"
    assert math.copysign(1.0, one.vars["neg"]) == -1.0  # type: ignore[arg-type]


def test_nan_infinities_and_lone_surrogates_are_kept_exactly() -> None:
    sample = Sample.model_validate({"id": "odd\ud800", "vars": {"nan": float("nan"), "inf": float("inf"),
                                                              "minus": float("-inf"), "s": "x\udc80y"}})
    plain = Sample.model_validate({"id": "plain", "input": "hi"})
    builder = SampleListBuilder(ResolvedSample)  # (the loader cannot hash text with lone surrogates)
    builder.append(sample, "odd\ud800", "0" * 64, "/d\udcff/d.jsonl:3")
    builder.append(plain, "plain", sample_hash(plain), "/d\udcff/d.jsonl:4")
    builder.append(sample, "n2", "0" * 64, "s.yaml:9")
    built = builder.build()
    got = built[0]
    assert got.id == "odd\ud800" and got.vars["s"] == "x\udc80y" and got.origin == "/d\udcff/d.jsonl:3"
    assert math.isnan(got.vars["nan"]) and got.vars["inf"] == math.inf  # type: ignore[arg-type]
    assert got.vars["minus"] == -math.inf and built[2].origin == "s.yaml:9"
    assert built[1] == _old_way(plain, "/d\udcff/d.jsonl:4")
    assert list(built.ids()) == ["odd\ud800", "plain", "n2"]


def test_reads_like_the_list_it_replaces() -> None:
    built, expected = _many(150)
    assert built[0] == expected[0] and built[-1] == expected[-1] and built[149] == expected[149]
    with pytest.raises(IndexError):
        built[150]
    with pytest.raises(IndexError):
        built[-151]
    for sl in (slice(None, 10), slice(5, 140, 7), slice(None, None, -3), slice(130, None), slice(3, 3)):
        part = built[sl]
        assert isinstance(part, SampleList) and part == expected[sl] and list(part) == expected[sl]
    assert list(reversed(built)) == expected[::-1]
    assert built.index(expected[42]) == 42 and expected[42] in built
    assert built == expected and expected == built and built == built[:] and built[:] == built
    assert built != expected[:-1] and built != [*expected[:-1], expected[0]] and built != tuple(expected)
    assert repr(built[:2]) == repr(expected[:2])
    with pytest.raises(TypeError):
        hash(built)
    assert built[0] is not built[0]  # samples are built on access: changing one leaves the suite alone
    built[0].tags.append("changed")
    assert built[0].tags == expected[0].tags


def test_ids_hashes_and_origins_are_read_without_building_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    built, expected = _many(100)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a sample was built")

    monkeypatch.setattr(ResolvedSample, "model_validate_json", refuse)
    assert list(built.ids()) == list(sample_ids(built)) == [s.id for s in expected]
    assert list(built.hashes()) == list(sample_hashes(built)) == [s.hash for s in expected]
    assert [built.origin(k) for k in range(100)] == [s.origin for s in expected]
    assert list(sample_ids(expected)) == [s.id for s in expected]  # any sequence of samples


def test_hashes_and_origins_of_any_shape_come_back_as_given() -> None:
    sample = Sample.model_validate({"input": "x"})
    origins = ["s.yaml:None", "a:007", "no-line", "b:0", "c:12:34", "d:99999999999", "e:"]
    builder = SampleListBuilder(ResolvedSample)
    for k, origin in enumerate(origins):
        builder.append(sample, f"id{k}", "h" if k % 2 else "A" * 64, origin)
    built = builder.build()
    assert [s.origin for s in built] == origins
    assert [s.hash for s in built] == ["A" * 64 if k % 2 == 0 else "h" for k in range(len(origins))]


def test_pydantic_takes_a_list_and_gives_a_list(tmp_path: Path) -> None:
    models = [ResolvedSample(id="a", hash="h1", origin="s.yaml:3", input="x"),
              ResolvedSample(id="b", hash="h2", origin="s.yaml:4", input="y")]
    suite = Suite(path="s.yaml", name="s", version="1", metrics=[], samples=models, content_hash="c")
    assert isinstance(suite.samples, SampleList) and suite.samples[0] is models[0]  # kept, not copied
    dumped = suite.model_dump()
    assert isinstance(dumped["samples"], list) and dumped["samples"][1]["id"] == "b"
    again = Suite.model_validate_json(suite.model_dump_json())
    assert again == suite and list(again.samples) == models
    assert Suite.model_json_schema()["properties"]["samples"]["type"] == "array"
    subset = suite.model_copy(update={"samples": [s for s in suite.samples if s.id == "b"]})
    assert [s.id for s in subset.samples] == ["b"]

    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": f"r{k}", "q": f"question {k}"}) + "\n"
                                              for k in range(300)))
    (tmp_path / "s.yaml").write_text("name: s\nprompt: '{{ q }}'\nsamples:\n  - file: d.jsonl\n")
    loaded = load_suite(tmp_path / "s.yaml")
    assert isinstance(loaded.samples, SampleList)
    assert Suite.model_validate_json(loaded.model_dump_json()) == loaded
    assert json.loads(loaded.model_dump_json())["samples"][299]["origin"].endswith("d.jsonl:300")


def test_pickles_and_copies_for_ray_and_model_copy() -> None:
    built, expected = _many(100)
    for clone in (pickle.loads(pickle.dumps(built)), copy.deepcopy(built), copy.copy(built)):
        assert isinstance(clone, SampleList) and clone == expected


def test_a_loaded_suite_holds_each_sample_in_a_few_dozen_bytes(tmp_path: Path) -> None:
    n = 5000
    (tmp_path / "d.jsonl").write_text("".join(
        json.dumps({"id": f"s{k:07d}", "question": f"What is {k} plus {k}?", "answer": str(2 * k)}) + "\n"
        for k in range(n)))
    (tmp_path / "s.yaml").write_text("name: s\nprompt: '{{ question }}'\nsamples:\n"
                                     "  - {file: d.jsonl, fields: {expected: answer}}\n")
    suite = load_suite(tmp_path / "s.yaml")
    assert len(suite.samples) == n and suite.samples[1234].expected == "2468"
    # As pydantic models these samples took about 2 KB each.
    assert len(pickle.dumps(suite.samples)) < 80 * n
