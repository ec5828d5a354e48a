"""Slices (`--slice-by`): which slice a sample falls in, per-slice summaries, and the CLI, report and
leaderboard that show them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from agenteval.analysis.summary import summarize
from agenteval.errors import ConfigError
from agenteval.schema import SampleResult, Score
from agenteval.schema.leaderboard import Leaderboard
from agenteval.slicing import MAX_SLICES, canonical_key, check_slice_keys, merge_slice_keys, slice_values
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]


def result(sid: str, value: float | None, *, repeat: int = 0, tags: list[str] | None = None,
           error: str | None = None, **metadata: object) -> SampleResult:
    scores = {} if error else {"m": Score(value=value, passed=None if value is None else value >= 0.5)}
    return SampleResult(sample_id=sid, repeat=repeat, sample_hash="h", input="q", output="a", scores=scores,
                        tags=tags or [], metadata=metadata, error=error)  # type: ignore[arg-type]


# --- which slices a sample falls in ---------------------------------------------------------------------

def test_tags_each_make_a_slice_and_untagged_samples_have_their_own() -> None:
    assert slice_values("tags", ["a", "b", "a"], {}) == ["a", "b"]
    assert slice_values("tags", [], {}) == ["(untagged)"]


def test_metadata_values_nested_lists_and_missing() -> None:
    meta = {"language": "de", "n": 3, "flag": True, "src": {"site": "wiki"}, "langs": ["en", "fr", "en"],
            "none": None, "obj": {"b": 1, "a": 2}}
    assert slice_values("language", [], meta) == ["de"]
    assert slice_values("n", [], meta) == ["3"]
    assert slice_values("flag", [], meta) == ["true"]
    assert slice_values("src.site", [], meta) == ["wiki"]
    assert slice_values("langs", [], meta) == ["en", "fr"]
    assert slice_values("obj", [], meta) == ['{"a":2,"b":1}']
    assert slice_values("none", [], meta) == ["(missing)"]
    assert slice_values("absent", [], meta) == ["(missing)"]
    assert slice_values("src.absent", [], meta) == ["(missing)"]
    assert slice_values("language.deeper", [], meta) == ["(missing)"]


def test_keys_have_one_spelling() -> None:
    assert canonical_key("tag") == "tags"
    assert canonical_key("metadata.language") == "language"
    assert canonical_key(" language ") == "language"
    assert merge_slice_keys(["language", "tag"], ["metadata.language", "tags", "src.site", " "]) == \
        ["language", "tags", "src.site"]


def test_an_unknown_key_is_an_error_with_a_suggestion() -> None:
    samples = [([], {"language": "de"}), ([], {"source": {"site": "x"}})]
    check_slice_keys(["language", "metadata.source.site", "tags"], samples, file=None, field="--slice-by")
    with pytest.raises(ConfigError) as ei:
        check_slice_keys(["languge"], samples, file="s.yaml", field="slice_by")
    err = ei.value
    assert "languge" in str(err) and "did you mean 'language'" in str(err)
    assert err.file == "s.yaml" and err.field == "slice_by"


# --- per-slice summaries --------------------------------------------------------------------------------

def test_each_slice_equals_the_summary_of_its_own_results() -> None:
    results = [
        result("a", 1.0, language="en", tags=["t1"]), result("b", 0.0, language="en"),
        result("c", 1.0, language="de", tags=["t1", "t2"]), result("d", 0.25, language="de"),
        result("e", 0.75, language="de"), result("f", None, language="fr"),
        result("g", 0.0, error="HTTP 500", language="fr"), result("h", 0.5),
    ]
    summary = summarize("r", results, ["m"], {}, slice_by=["metadata.language", "tag"])
    assert list(summary.slices) == ["language", "tags"]
    lang = summary.slices["language"].slices
    assert list(lang) == ["en", "de", "fr", "(missing)"]
    for value, members in {"en": results[0:2], "de": results[2:5], "fr": results[5:7],
                           "(missing)": results[7:]}.items():
        alone = summarize("r", members, ["m"], {})
        assert lang[value].metrics == alone.metrics, value
        assert (lang[value].n_samples, lang[value].n_errors) == (alone.n_samples, alone.n_errors)
    de = lang["de"].metrics["m"]
    assert de.mean == pytest.approx((1.0 + 0.25 + 0.75) / 3) and de.n == 3 and de.ci_method == "bootstrap"
    assert lang["en"].metrics["m"].ci_method == "wilson"  # 0/1 scores
    fr = lang["fr"]
    assert (fr.n_samples, fr.n_errors, fr.metrics["m"].n, fr.metrics["m"].n_unmeasured) == (2, 1, 0, 2)
    assert fr.metrics["m"].mean is None
    tags = summary.slices["tags"].slices
    assert tags["t1"].metrics["m"].mean == 1.0 and tags["t1"].n_samples == 2
    assert tags["t2"].n_samples == 1 and tags["(untagged)"].n_samples == 6


def test_slices_average_repeats_per_case_first() -> None:
    results = [result("a", 1.0, repeat=0, language="en"), result("a", 0.0, repeat=1, language="en"),
               result("b", 1.0, repeat=0, language="en"), result("b", 1.0, repeat=1, language="en")]
    en = summarize("r", results, ["m"], {}, slice_by=["language"]).slices["language"].slices["en"]
    assert en.n_samples == 4 and en.metrics["m"].n == 2 and en.metrics["m"].mean == 0.75


def test_values_past_the_limit_are_pooled_in_other() -> None:
    results = [result(f"s{i}", float(i % 2), bucket=f"v{i}") for i in range(MAX_SLICES + 7)]
    breakdown = summarize("r", results, ["m"], {}, slice_by=["bucket"]).slices["bucket"]
    assert len(breakdown.slices) == MAX_SLICES + 1 and breakdown.n_folded == 7
    other = breakdown.slices["(other)"]
    assert other.n_samples == 7 and other.metrics["m"].mean == pytest.approx(sum(i % 2 for i in range(100, 107)) / 7)
    assert sum(s.n_samples for s in breakdown.slices.values()) == len(results)


def test_a_summary_without_slice_keys_has_no_slices() -> None:
    assert summarize("r", [result("a", 1.0, language="en")], ["m"], {}).slices == {}


def test_the_classification_example_slices_by_channel() -> None:
    suite = load_suite(REPO / "suites" / "preset_classification.yaml")
    assert suite.slice_by == ["channel"]
    text = (REPO / "suites" / "preset_classification.yaml").read_text()
    assert "slice_by: [channel]" in text


def test_the_suites_slice_by_does_not_change_its_hash(tmp_path: Path) -> None:
    base = ("name: s\nmetrics: [exact_match]\nsamples:\n  - {input: q, expected: a, metadata: {lang: en}}\n")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(base)
    b.write_text(base + "slice_by: [lang]\n")
    assert load_suite(a).content_hash == load_suite(b).content_hash
    assert load_suite(b).slice_by == ["lang"]


# --- CLI, report, leaderboard ----------------------------------------------------------------------------

def agenteval(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTEVAL_RESULTS": str(results)}
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_run_report_and_leaderboard_show_the_slices(tmp_path: Path) -> None:
    p = agenteval("run", "suites/preset_classification.yaml", "--slice-by", "tags", "--no-progress",
                  results=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "by channel" in p.stdout and "by tags" in p.stdout
    assert "0.667 [0.30, 0.90] n=6" in p.stdout  # email: 4 of 6 right (Wilson interval)
    run_dir = next((tmp_path / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["settings"]["slice_by"] == ["channel", "tags"]
    summary = json.loads((run_dir / "summary.json").read_text())
    channel = summary["slices"]["channel"]["slices"]
    assert list(channel) == ["email", "chat"]
    email, chat = channel["email"]["metrics"]["label_match"], channel["chat"]["metrics"]["label_match"]
    assert (email["n"], email["mean"]) == (6, pytest.approx(4 / 6))
    assert (email["ci_low"], email["ci_high"]) == (pytest.approx(0.3000, abs=1e-4), pytest.approx(0.9032, abs=1e-4))
    assert (chat["n"], chat["mean"]) == (4, 1.0)
    assert summary["slices"]["tags"]["slices"]["(untagged)"]["n_samples"] == 10
    first = json.loads(run_dir.joinpath("samples.jsonl").read_text().splitlines()[0])
    assert first["metadata"] == {"channel": "email"}

    p = agenteval("report", run_dir.name, results=tmp_path)
    assert p.returncode == 0, p.stderr
    html = (run_dir / "report.html").read_text()
    assert '<section id="slices">' in html and 'data-key="channel"' in html
    assert "0.667 [0.300, 0.903] n=6" in html

    p = agenteval("leaderboard", "--out", str(tmp_path / "lb.json"), results=tmp_path)
    assert p.returncode == 0, p.stderr
    board = json.loads((tmp_path / "lb.json").read_text())
    jsonschema.validate(board, Leaderboard.model_json_schema())
    entry = board["entries"][0]
    assert entry["slices"]["channel"]["chat"]["metrics"]["label_match"]["mean"] == 1.0
    assert entry["slices"]["channel"]["email"]["n_samples"] == 6


def test_report_can_slice_a_run_that_was_not_sliced(tmp_path: Path) -> None:
    p = agenteval("run", "suites/qa.yaml", "--backend", "stub:golden", "--no-progress", results=tmp_path)
    assert p.returncode == 0, p.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["slices"] == {}
    p = agenteval("report", run_dir.name, "--slice-by", "tags", results=tmp_path)
    assert p.returncode == 0, p.stderr
    html = (run_dir / "report.html").read_text()
    assert 'data-key="tags"' in html and 'data-slice="geography"' in html and 'data-slice="from-file"' in html


def test_a_misspelt_slice_key_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    p = agenteval("run", "suites/preset_classification.yaml", "--slice-by", "chanel", "--no-progress",
                  results=tmp_path)
    assert p.returncode == 2
    assert "--slice-by" in p.stderr and "'chanel'" in p.stderr and "did you mean 'channel'" in p.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_misspelt_slice_key_in_the_suite_names_its_line(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nmetrics: [exact_match]\nslice_by:\n  - lang\n  - langage\n"
                     "samples:\n  - {input: q, expected: a, metadata: {lang: en}}\n")
    p = agenteval("run", str(suite), "--backend", "stub:golden", "--no-progress", results=tmp_path / "r")
    assert p.returncode == 2
    assert f"{suite}:5" in p.stderr and "slice_by[1]" in p.stderr and "did you mean 'lang'" in p.stderr
