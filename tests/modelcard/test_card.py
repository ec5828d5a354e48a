"""Model cards built from real runs of suites/qa.yaml: the numbers, slices and failures a reader sees."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenteval.cli.modelcard import modelcard_cmd
from agenteval.errors import ConfigError
from agenteval.modelcard import (
    ModelCard,
    build_model_card,
    build_run_card,
    render_markdown,
    write_model_card,
)
from agenteval.runner import RunOptions, run_suite
from agenteval.runner.retry import RetryPolicy
from agenteval.schema import Score
from agenteval.schema.compare import Comparison, MetricComparison, RunRef
from agenteval.store import LoadedRun, load_run
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]
QA = REPO / "suites" / "qa.yaml"


def _run(root: Path, spec: str, suite: Path = QA, **kw: object) -> LoadedRun:
    opts = RunOptions(results_root=root, backend_spec=spec, progress=False, use_cache=False, **kw)  # type: ignore[arg-type]
    outcome = asyncio.run(run_suite(load_suite(suite), opts))
    return load_run(str(outcome.run_dir.path), root, root / "baselines")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def echo(root: Path) -> LoadedRun:
    return _run(root, "stub:echo", labels={"model": "echo-v1"}, backend_options={"temperature": 0})


@pytest.fixture(scope="module")
def golden(root: Path) -> LoadedRun:
    return _run(root, "stub:golden")


def _samples(run: LoadedRun) -> list[dict[str, object]]:
    return [json.loads(line) for line in (Path(run.source) / "samples.jsonl").read_text().splitlines()]


def test_metrics_table_carries_the_summary_numbers(echo: LoadedRun) -> None:
    card = build_model_card([echo])
    assert echo.summary is not None
    rc = card.runs[0]
    assert [m.metric for m in rc.metrics] == list(echo.summary.metrics)
    md = render_markdown(card)
    for row in rc.metrics:
        s = echo.summary.metrics[row.metric]
        assert (row.mean, row.ci_low, row.ci_high, row.n, row.n_unmeasured) == (
            s.mean, s.ci_low, s.ci_high, s.n, s.n_unmeasured)
        assert s.mean is not None and s.ci_low is not None and s.ci_high is not None
        assert f"| {row.metric} | {row.name} v{row.version} | {s.mean:.3f} | [{s.ci_low:.3f}, {s.ci_high:.3f}] |" in md
    em = next(m for m in rc.metrics if m.metric == "exact_match")
    assert em.passed is False and em.thresholds[0].bound == 0.7 and em.thresholds[0].kind == "min"
    assert "| ≥ 0.7 | **FAIL** |" in md and "Overall: **FAILED**" in md
    assert rc.passed is False


def test_model_details_intended_use_and_evaluation_data(echo: LoadedRun) -> None:
    rc = build_run_card(echo)
    d = rc.model_details
    assert d.backend == "stub:echo" and d.labels == {"model": "echo-v1"}
    assert d.backend_options == {"temperature": 0}
    assert d.models == {"stub:echo": 7}  # what the traces report, one per answer
    assert d.git_sha == echo.manifest.git_sha and d.started_at == echo.manifest.started_at
    assert rc.intended_use.description == "Short factual questions with one or several acceptable answers."
    assert rc.intended_use.task == "generation" and rc.intended_use.note is None
    e = rc.evaluation_data
    assert (e.suite, e.version, e.n_samples, e.n_evaluated) == ("qa-basics", "1", 7, 7)
    assert e.content_hash == echo.manifest.suite.content_hash and e.suite_file_matches is True
    assert {s.source: s.n_samples for s in e.sources} == {f"inline in {QA}": 4,
                                                          str(QA.parent / "data" / "qa_more.jsonl"): 3}
    assert e.tags["from-file"] == 3 and e.tags["geography"] == 1
    md = render_markdown(build_model_card([echo]))
    assert "`model`=`echo-v1`" in md and "`temperature`=`0`" in md
    assert "Short factual questions" in md and e.content_hash in md


def test_slices_are_per_tag_means_computed_from_the_results(echo: LoadedRun, golden: LoadedRun) -> None:
    rows = _samples(echo)
    rc = build_run_card(echo)
    by_tag = {s.tag: s for s in rc.slices}
    assert set(by_tag) == {"astronomy", "chemistry", "from-file", "geography", "literature"}
    for tag, sl in by_tag.items():
        tagged = [r for r in rows if tag in r["tags"]]  # type: ignore[operator]
        assert sl.n_samples == len(tagged)
        for metric, sm in sl.metrics.items():
            values = [r["scores"][metric]["value"] for r in tagged]  # type: ignore[index]
            assert sm.n == len(values)
            assert sm.mean == pytest.approx(sum(values) / len(values))
    # the echo answers contain "m/s" for one of the three from-file questions, so `includes` differs by tag
    assert by_tag["from-file"].metrics["includes"].mean == pytest.approx(1 / 3)
    assert by_tag["geography"].metrics["includes"].mean == 0.0
    ff = by_tag["from-file"].metrics["includes"]
    assert ff.ci_low is not None and ff.ci_high is not None
    md = render_markdown(build_model_card([echo]))
    assert "| from-file | 3 | 0.000 [0.000, " in md
    assert f"{ff.mean:.3f} [{ff.ci_low:.3f}, {ff.ci_high:.3f}] (n 3)" in md
    assert all(sm.mean == 1.0 for s in build_run_card(golden).slices for sm in s.metrics.values())


def test_failure_cases_show_the_failing_answers_and_reasons(echo: LoadedRun, golden: LoadedRun) -> None:
    rc = build_run_card(echo)
    assert rc.n_failing == 7 and len(rc.failure_cases) == 7
    first = rc.failure_cases[0]
    assert first.sample_id == "capital-france" and first.expected == "Paris"
    assert first.answer is not None and "capital of France" in first.answer
    em = next(f for f in first.failing if f.metric == "exact_match")
    assert em.value == 0.0 and "Paris" in em.reason
    planet = next(c for c in rc.failure_cases if c.sample_id == "largest-planet")
    assert planet.expected == '["Jupiter", "planet Jupiter"]'
    md = render_markdown(build_model_card([echo]))
    assert "7 of 7 failing results shown" in md and "| capital-france | Question: What is the capital" in md
    gold = build_run_card(golden)
    assert gold.n_failing == 0 and gold.failure_cases == []
    assert "No result failed a metric or errored" in render_markdown(build_model_card([golden]))


def test_failure_cases_are_capped_at_ten_and_count_all(root: Path) -> None:
    run = _run(root, "stub:echo", repeat=2)
    rc = build_run_card(run)
    assert rc.n_failing == 14 and len(rc.failure_cases) == 10
    assert "10 of 14 failing results shown" in render_markdown(build_model_card([run]))


def test_backend_errors_are_failure_cases(root: Path) -> None:
    run = _run(root, "stub:golden", backend_options={"fault_rate": 1.0}, retry=RetryPolicy(max_attempts=1))
    rc = build_run_card(run)
    assert rc.n_failing == 7 and rc.usage.n_errors == 7
    assert all(c.error and "injected fault" in c.error for c in rc.failure_cases)
    assert "backend error: injected fault" in render_markdown(build_model_card([run]))


def test_table_cells_escape_pipes_newlines_and_html(echo: LoadedRun) -> None:
    first = echo.results[0].model_copy(update={
        "input": "a | b\nc", "output": "<b>x</b>",
        "scores": {"exact_match": Score(value=0.0, passed=False, reason="got x|y")}})
    run = LoadedRun(manifest=echo.manifest, summary=echo.summary, results=[first, *echo.results[1:]],
                    source=echo.source)
    md = render_markdown(build_model_card([run]))
    row = next(line for line in md.splitlines() if line.startswith("| capital-france "))
    assert r"a \| b<br>c" in row and "&lt;b&gt;x&lt;/b&gt;" in row and r"got x\|y" in row
    assert row.count(" | ") == 4  # five cells, still one row


def test_usage_and_judges_sections(golden: LoadedRun) -> None:
    assert golden.summary is not None
    rc = build_run_card(golden)
    u = rc.usage
    assert (u.input_tokens, u.output_tokens, u.cost_usd) == (
        golden.summary.usage.input_tokens, golden.summary.usage.output_tokens, golden.summary.usage.cost_usd)
    assert (u.latency_p50_s, u.latency_p95_s) == (golden.summary.latency.p50, golden.summary.latency.p95)
    assert rc.judge_calibration.judges == [] and "No judges" in rc.judge_calibration.note
    md = render_markdown(build_model_card([golden]))
    assert f"{u.input_tokens} in, {u.output_tokens} out" in md
    assert "### Judge calibration\n\nNo judges were used" in md


def test_json_is_the_model_with_schema_version_first(tmp_path: Path, echo: LoadedRun) -> None:
    card = build_model_card([echo])
    md, js = write_model_card(card, tmp_path / "card" / "MODEL_CARD.md")
    assert js == tmp_path / "card" / "MODEL_CARD.json"
    data = json.loads(js.read_text())
    assert next(iter(data)) == "schema_version"
    assert ModelCard.model_validate(data) == card
    assert md.read_text() == render_markdown(card)
    with pytest.raises(ConfigError):
        write_model_card(card, tmp_path / "card.json")


def test_several_runs_make_one_card_with_a_section_each(root: Path, echo: LoadedRun) -> None:
    structured = _run(root, "stub:echo", suite=REPO / "suites" / "structured.yaml")
    card = build_model_card([echo, structured])
    assert [r.evaluation_data.suite for r in card.runs] == ["qa-basics", "structured-extraction"]
    md = render_markdown(card)
    assert f"## qa-basics v1 · stub:echo · run {echo.manifest.run_id}" in md
    assert f"## structured-extraction v1 · stub:echo · run {structured.manifest.run_id}" in md
    assert md.count("### Model details") == 2 and card.title == "Model card: stub:echo"
    assert "Extract a person's details" in md


def test_comparison_section_with_the_real_compare(echo: LoadedRun, golden: LoadedRun) -> None:
    card = build_model_card([echo], baseline=golden)
    cmp = card.runs[0].comparison
    assert cmp is not None and cmp.baseline.run_id == golden.manifest.run_id
    em = next(m for m in cmp.metrics if m.metric == "exact_match")
    assert em.delta == pytest.approx(-1.0) and em.verdict == "regressed"
    md = render_markdown(card)
    assert "### Comparison with baseline" in md and "| exact_match | 7 | 1.000 | 0.000 | -1.000 |" in md
    assert "newly failing" in md
    assert "### Comparison with baseline" not in render_markdown(build_model_card([echo]))


def test_comparison_section_renders_a_given_comparison(echo: LoadedRun, golden: LoadedRun) -> None:
    ref = RunRef(run_id="base-1", source="baselines/main.json", backend="stub:golden", suite="qa-basics",
                 suite_version="1")
    given = Comparison(baseline=ref, candidate=ref.model_copy(update={"run_id": "cand"}), n_paired_cases=7,
                       problems=["suite content hash differs"],
                       metrics=[MetricComparison(metric="includes", n_pairs=7, baseline_mean=0.5,
                                                 candidate_mean=0.25, delta=-0.25, delta_ci_low=-0.5,
                                                 delta_ci_high=0.0, test="mcnemar_exact", p_value=0.25,
                                                 mde=0.4, verdict="no significant change")])
    card = build_model_card([echo], baseline=golden, compare=lambda b, c: given)
    assert card.runs[0].comparison == given
    md = render_markdown(card)
    assert "**Not comparable**: suite content hash differs" in md
    assert ("| includes | 7 | 0.500 | 0.250 | -0.250 | [-0.500, 0.000] | mcnemar_exact | 0.2500 "
            "| no significant change |") in md


def test_missing_suite_file_is_said_not_invented(tmp_path: Path) -> None:
    shutil.copytree(REPO / "suites", tmp_path / "suites")
    run = _run(tmp_path / "results", "stub:golden", suite=tmp_path / "suites" / "qa.yaml")
    (tmp_path / "suites" / "qa.yaml").unlink()
    rc = build_run_card(run)
    assert rc.intended_use.description is None and rc.intended_use.note and "not found" in rc.intended_use.note
    assert rc.evaluation_data.sources == [] and rc.evaluation_data.suite_file_matches is None
    assert rc.evaluation_data.n_samples == 7  # still from the manifest


def test_unfinished_run_is_refused(root: Path, golden: LoadedRun) -> None:
    unfinished = LoadedRun(manifest=golden.manifest.model_copy(update={"finished_at": None}), summary=None,
                           results=golden.results, source=golden.source)
    with pytest.raises(ConfigError, match="unfinished"):
        build_model_card([unfinished])


def test_cli_writes_markdown_and_json_into_the_run_folder(root: Path, echo: LoadedRun,
                                                          golden: LoadedRun) -> None:
    res = CliRunner().invoke(modelcard_cmd, [echo.manifest.run_id, "--results", str(root)])
    assert res.exit_code == 0, res.output
    md, js = Path(echo.source) / "MODEL_CARD.md", Path(echo.source) / "MODEL_CARD.json"
    assert f"wrote {md}" in res.output and f"wrote {js}" in res.output
    assert md.read_text().startswith("# Model card: stub:echo")
    assert json.loads(js.read_text())["runs"][0]["model_details"]["run_id"] == echo.manifest.run_id


def test_cli_out_baseline_and_several_runs(tmp_path: Path, root: Path, echo: LoadedRun,
                                           golden: LoadedRun) -> None:
    out = tmp_path / "cards" / "qa.md"
    res = CliRunner().invoke(modelcard_cmd, [echo.source, golden.manifest.run_id, "--out", str(out),
                                             "--baseline", golden.source, "--results", str(root)])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "cards" / "qa.json").read_text())
    assert [r["model_details"]["backend"] for r in data["runs"]] == ["stub:echo", "stub:golden"]
    assert data["baseline"] == golden.source and data["runs"][0]["comparison"] is not None
    assert "### Comparison with baseline" in out.read_text()


def test_cli_unknown_run_is_a_config_error(root: Path) -> None:
    res = CliRunner().invoke(modelcard_cmd, ["no-such-run", "--results", str(root)])
    assert isinstance(res.exception, ConfigError) and "no run or baseline" in str(res.exception)


def test_a_sliced_run_adds_its_metadata_slices_to_the_card(tmp_path: Path) -> None:
    run = _run(tmp_path, "stub:scripted", REPO / "suites" / "preset_classification.yaml")
    assert run.manifest.settings.slice_by == ["channel"]
    rc = build_run_card(run)
    by = {(s.key, s.tag): s for s in rc.slices}
    assert set(by) == {("tags", "(untagged)"), ("channel", "chat"), ("channel", "email")}
    email, chat = by[("channel", "email")], by[("channel", "chat")]
    assert (email.n_samples, email.metrics["label_match"].n) == (6, 6)
    assert email.metrics["label_match"].mean == pytest.approx(4 / 6)
    assert (chat.n_samples, chat.metrics["label_match"].mean) == (4, 1.0)
    # the same numbers as the run summary's slices
    sliced = run.summary.slices["channel"].slices["email"].metrics["label_match"]  # type: ignore[union-attr]
    assert (sliced.mean, sliced.ci_low, sliced.ci_high) == (email.metrics["label_match"].mean,
                                                             email.metrics["label_match"].ci_low,
                                                             email.metrics["label_match"].ci_high)
    md = render_markdown(build_model_card([run]))
    assert "#### Slices by tag" in md and "#### Slices by channel" in md
    assert "metadata `channel`" in md and "| email | 6 | 0.667 [0.300, 0.903] (n 6) |" in md
