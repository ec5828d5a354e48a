"""A fresh run whose results were appended in task order is summarised as they are written (no second
pass over samples.jsonl); any other run is summarised from its file. Both must give the summary that
reading the finished file gives."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

import agenteval.runner.engine as engine
from agenteval.analysis.summary import summarize
from agenteval.metrics.corpus import corpus_aggregate
from agenteval.runner import RunOptions, RunOutcome, run_suite
from agenteval.schema import RunSummary, Suite
from agenteval.suite import check_suite, load_suite

REPO = Path(__file__).resolve().parents[2]


def from_file(suite: Suite, out: RunOutcome) -> RunSummary:
    """The summary of the finished run's file, as `summarize` computes it."""
    metrics = check_suite(suite)
    aggregators = {mid: partial(corpus_aggregate, m) for mid, m in metrics
                   if callable(getattr(type(m), "aggregate", None))}
    return summarize(out.run_dir.run_id, out.run_dir.iter_results(), [m for m, _ in metrics], suite.thresholds,
                     aggregators, slice_by=out.manifest.settings.slice_by, grouped=True)


@pytest.fixture
def file_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the runner's passes over a results file to summarise it."""
    calls: list[int] = []
    real = engine.summarize

    def counting(*args: object, **kwargs: object) -> RunSummary:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "summarize", counting)
    return calls


def run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, **kw)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("suite_file", "options"), [
    ("qa.yaml", {"backend_spec": "stub:echo"}),
    ("qa.yaml", {"backend_spec": "stub:golden", "repeat": 3, "concurrency": 4}),
    ("preset_classification.yaml", {"backend_spec": "stub:golden", "slice_by": ["tags"]}),  # corpus F1, slices
    ("preset_forecasting.yaml", {"backend_spec": "stub:golden"}),
    ("chat.yaml", {"backend_spec": "stub:echo", "concurrency": 1}),
])
def test_an_in_order_run_is_summarised_as_written(suite_file: str, options: dict[str, object], tmp_path: Path,
                                                  file_passes: list[int]) -> None:
    suite = load_suite(REPO / "suites" / suite_file)
    out = run(suite, tmp_path, **options)
    assert file_passes == []  # summarised as written
    assert out.summary == from_file(suite, out)
    assert out.summary.n_samples == len(suite.samples) * int(options.get("repeat", 1))  # type: ignore[call-overload]
    # and the same again from the cache (every answer cached: the usage and latency parts change)
    again = run(suite, tmp_path, **options)
    assert file_passes == [] and again.summary.n_cached == again.summary.n_samples
    assert again.summary == from_file(suite, again)
    assert again.summary.metrics == out.summary.metrics and again.summary.slices == out.summary.slices


def test_answers_out_of_order_are_summarised_from_the_reordered_file(tmp_path: Path, file_passes: list[int],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Early samples answer slowest, so with 4 in flight the results come out of task order.
    (tmp_path / "slow_first.py").write_text(
        "import asyncio\n"
        "async def answer(messages, sample):\n"
        "    await asyncio.sleep(0.05 if sample.id in ('capital-france', 'largest-planet') else 0.0)\n"
        "    return sample.expected if isinstance(sample.expected, str) else sample.expected[0]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = load_suite(REPO / "suites" / "qa.yaml")
    assert [s.id for s in suite.samples][:2] == ["capital-france", "largest-planet"]
    out = run(suite, tmp_path / "r", backend_spec="python:slow_first:answer", concurrency=4, use_cache=False)
    assert file_passes == [1]  # not in order: reordered, then summarised from the file
    assert out.summary == from_file(suite, out)
    in_order = run(suite, tmp_path / "r", backend_spec="python:slow_first:answer", concurrency=1, use_cache=False)
    assert file_passes == [1]
    assert out.summary.metrics == in_order.summary.metrics


def test_a_resumed_run_is_summarised_from_its_file(tmp_path: Path, file_passes: list[int]) -> None:
    suite = load_suite(REPO / "suites" / "qa.yaml")
    first = run(suite, tmp_path, backend_spec="stub:golden", limit=3)
    assert file_passes == []
    # pretend it stopped after 3 of 7: resume with the whole suite
    manifest = first.manifest.model_copy(update={"settings": first.manifest.settings.model_copy(
        update={"limit": None})})
    first.run_dir.write_manifest(manifest)
    resumed = run(suite, tmp_path, resume=first.run_dir.run_id)
    assert file_passes == [1]
    assert resumed.summary.n_samples == 7 and resumed.summary == from_file(suite, resumed)
