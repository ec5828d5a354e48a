"""The runner end to end: stub, python and litellm backends, cache, retries, repeats, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agenteval.runner import RetryPolicy, RunOptions, RunOutcome, run_suite
from agenteval.schema import Suite
from agenteval.store import RunDir
from agenteval.suite import load_suite
from agenteval.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay_s=0.001, max_delay_s=0.01)


def run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    kw.setdefault("retry", FAST_RETRY)
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, **kw)))  # type: ignore[arg-type]


def lines(outcome: RunOutcome) -> list[dict[str, object]]:
    return [json.loads(x) for x in outcome.run_dir.samples_path.read_text().splitlines()]


def qa() -> Suite:
    return load_suite(REPO / "suites" / "qa.yaml")


def test_golden_scores_one_and_writes_the_run_folder(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:golden")
    s = out.summary
    assert s.metrics["exact_match"].mean == 1.0 and s.metrics["exact_match"].n == 7
    assert s.passed and s.n_errors == 0
    files = sorted(p.name for p in out.run_dir.path.iterdir())
    assert files == ["manifest.json", "samples.jsonl", "summary.json"]
    man = json.loads((out.run_dir.path / "manifest.json").read_text())
    assert next(iter(man)) == "schema_version"
    assert man["suite"]["content_hash"] == qa().content_hash
    assert set(man["suite"]["sample_hashes"]) == {s.id for s in qa().samples}
    assert man["finished_at"] and man["started_at"].endswith("Z")
    assert [m["id"] for m in man["metrics"]] == ["exact_match", "includes", "fuzzy_match"]
    rows = lines(out)
    assert [r["sample_id"] for r in rows] == [s.id for s in qa().samples]  # task order


def test_echo_scores_what_it_should(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:echo")
    s = out.summary
    assert s.metrics["exact_match"].mean == 0.0
    # the echoed prompt of exactly one question contains its answer ("m/s")
    assert s.metrics["includes"].mean == pytest.approx(1 / 7)
    assert not s.passed and s.thresholds["exact_match"].passed is False


def test_cache_hits_on_rerun_and_no_cache_skips_it(tmp_path: Path) -> None:
    suite = qa()
    first = run(suite, tmp_path, backend_spec="stub:echo", backend_options={"latency_ms": 5})
    assert first.summary.n_cached == 0
    second = run(suite, tmp_path, backend_spec="stub:echo", backend_options={"latency_ms": 5})
    assert second.summary.n_cached == 7
    assert second.summary.latency.n == 0  # cached answers are not model latency
    assert second.summary.metrics["includes"].mean == first.summary.metrics["includes"].mean
    third = run(suite, tmp_path, backend_spec="stub:echo", backend_options={"latency_ms": 5}, use_cache=False)
    assert third.summary.n_cached == 0
    # a changed option changes the key
    fourth = run(suite, tmp_path, backend_spec="stub:echo", backend_options={"latency_ms": 6})
    assert fourth.summary.n_cached == 0


def test_retryable_faults_are_retried_and_counted(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:golden",
              backend_options={"fault_rate": 0.5, "seed": 3}, use_cache=False)
    rows = lines(out)
    assert all(r["error"] is None for r in rows)
    assert sum(int(r["attempts"]) for r in rows) > len(rows)  # some retries happened, all recorded
    assert out.summary.metrics["exact_match"].mean == 1.0


def test_exhausted_retries_leave_the_sample_unmeasured(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:golden", backend_options={"fault_rate": 1.0},
              use_cache=False, retry=RetryPolicy(max_attempts=2, base_delay_s=0.001))
    s = out.summary
    assert s.n_errors == 7 and not s.passed
    assert s.metrics["exact_match"].mean is None and s.metrics["exact_match"].n_unmeasured == 7
    r = lines(out)[0]
    assert r["attempts"] == 2 and "injected fault" in str(r["error"])
    assert r["scores"]["exact_match"]["value"] is None


def test_repeat_limit_and_shard(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:golden", repeat=3, limit=2)
    rows = lines(out)
    assert [(r["sample_id"], r["repeat"]) for r in rows] == [
        ("capital-france", 0), ("capital-france", 1), ("capital-france", 2),
        ("largest-planet", 0), ("largest-planet", 1), ("largest-planet", 2)]
    assert out.summary.metrics["exact_match"].n == 2  # CI over samples, not correlated repeats
    shard = run(qa(), tmp_path, backend_spec="stub:golden", shard=(2, 3))
    assert [r["sample_id"] for r in lines(shard)] == ["largest-planet", "speed-of-light-unit"]


def test_multi_turn_and_conversation_samples(tmp_path: Path) -> None:
    out = run(load_suite(REPO / "suites" / "chat.yaml"), tmp_path)
    rows = {r["sample_id"]: r for r in lines(out)}
    total = rows["running-total"]
    trace = total["trace"]
    assert isinstance(trace, dict)
    assert [t["output"] for t in trace["turns"]] == ["Total: 5.", "Total: 12.", "The total is 12."]
    roles = [m["role"] for m in trace["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert out.summary.metrics["includes"].mean == 1.0


def test_python_callable_backend_sync_and_async(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_agent.py").write_text(
        "import asyncio\n"
        "def answer(messages, sample):\n"
        "    return sample.expected if isinstance(sample.expected, str) else sample.expected[0]\n"
        "async def agent(messages, tools):\n"
        "    await asyncio.sleep(0)\n"
        "    return {'output': 'Paris', 'tool_calls': [{'tool': 'lookup', 'args': {'q': 'x'}}]}\n"
        "def broken(messages):\n"
        "    raise RuntimeError('agent crashed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = run(qa(), tmp_path, backend_spec="python:my_agent:answer")
    assert out.summary.metrics["exact_match"].mean == 1.0
    out2 = run(qa(), tmp_path, backend_spec="python:my_agent:agent", limit=1)
    row = lines(out2)[0]
    assert row["output"] == "Paris"
    assert row["trace"]["tool_calls"][0]["tool"] == "lookup"  # type: ignore[index]
    out3 = run(qa(), tmp_path, backend_spec="python:my_agent:broken", limit=2, use_cache=False)
    assert out3.summary.n_errors == 2
    assert "agent crashed" in str(lines(out3)[0]["error"])


def test_litellm_run_records_tokens_and_cost(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = {"capital of France": "Paris", "largest": "Jupiter"}
    out = run(qa(), tmp_path, backend_spec="litellm:openai/gpt-4o-mini",
              backend_options={"api_base": fake_openai.base_url, "api_key": "sk-test", "temperature": 0,
                               "seed": 7})
    s = out.summary
    assert s.n_errors == 0
    assert s.metrics["exact_match"].mean == pytest.approx(2 / 7)
    assert s.usage.input_tokens and s.usage.input_tokens > 0 and s.usage.output_tokens
    assert s.usage.cost_usd is not None and s.usage.cost_usd > 0
    assert s.latency.p50 is not None
    assert all(req["temperature"] == 0 and req["seed"] == 7 for req in fake_openai.requests)
    man = json.loads((out.run_dir.path / "manifest.json").read_text())
    assert man["backend"]["options"]["api_key"] == "***"  # secrets never reach disk


def test_litellm_transient_http_errors_are_retried(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next = [429, 500, 503]
    out = run(qa(), tmp_path, backend_spec="litellm:openai/gpt-4o-mini", concurrency=1, limit=2,
              backend_options={"api_base": fake_openai.base_url, "api_key": "x"}, use_cache=False)
    rows = lines(out)
    assert all(r["error"] is None for r in rows)
    assert rows[0]["attempts"] == 4 and rows[1]["attempts"] == 1


def test_litellm_permanent_errors_are_not_retried(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next = [401]
    out = run(qa(), tmp_path, backend_spec="litellm:openai/gpt-4o-mini", concurrency=1, limit=2,
              backend_options={"api_base": fake_openai.base_url, "api_key": "x"}, use_cache=False)
    rows = lines(out)
    assert rows[0]["attempts"] == 1 and "401" in str(rows[0]["error"])
    assert rows[1]["error"] is None
    assert out.summary.metrics["exact_match"].n_unmeasured == 1


def test_resume_finishes_without_duplicates_and_repairs_a_torn_line(tmp_path: Path) -> None:
    suite = qa()
    full = run(suite, tmp_path / "a", backend_spec="stub:golden")
    # Simulate a run killed after 3 results, in the middle of writing the 4th line.
    rows = full.run_dir.samples_path.read_text().splitlines(keepends=True)
    manifest = json.loads((full.run_dir.path / "manifest.json").read_text())
    manifest["finished_at"] = None
    killed = tmp_path / "b" / "runs" / manifest["run_id"]
    killed.mkdir(parents=True)
    (killed / "manifest.json").write_text(json.dumps(manifest))
    (killed / "samples.jsonl").write_text("".join(rows[:3]) + rows[3][: len(rows[3]) // 2])
    out = run(suite, tmp_path / "b", backend_spec="stub:golden", resume=manifest["run_id"], use_cache=False)
    assert out.n_new == 4
    ids = [(r["sample_id"], r["repeat"]) for r in lines(out)]
    assert len(ids) == len(set(ids)) == 7
    assert out.summary.metrics == full.summary.metrics
    assert json.loads((killed / "manifest.json").read_text())["finished_at"]


def test_resume_refuses_a_changed_suite(tmp_path: Path) -> None:
    from agenteval.errors import ConfigError

    out = run(qa(), tmp_path, backend_spec="stub:golden", limit=1)
    changed = tmp_path / "changed.yaml"
    changed.write_text((REPO / "suites" / "qa.yaml").read_text().replace("expected: Paris", "expected: Lyon"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa_more.jsonl").write_text((REPO / "suites/data/qa_more.jsonl").read_text())
    with pytest.raises(ConfigError, match="different version of the suite"):
        run(load_suite(changed), tmp_path, resume=out.run_dir.run_id)


def test_a_crashing_metric_is_unmeasured_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agenteval.metrics.text import ExactMatch

    def boom(self: object, ctx: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(ExactMatch, "score", boom)
    out = run(qa(), tmp_path, backend_spec="stub:golden")
    em = out.summary.metrics["exact_match"]
    assert em.mean is None and em.n_unmeasured == 7
    assert out.summary.metrics["includes"].mean == 1.0
    assert "ZeroDivisionError" in str(lines(out)[0]["scores"]["exact_match"]["error"])  # type: ignore[index]


@pytest.mark.parametrize(("returned", "reason"), [
    (None, "metric returned NoneType, not a Score"),
    ({"value": 1.0}, "metric returned dict, not a Score"),
    (float("nan"), "metric returned float, not a Score"),
    ("nan-score", "metric returned NaN"),
])
def test_a_metric_returning_no_score_or_nan_is_unmeasured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         returned: object, reason: str) -> None:
    from agenteval.metrics.text import ExactMatch
    from agenteval.schema import Score

    value = Score(value=float("nan"), passed=True) if returned == "nan-score" else returned
    monkeypatch.setattr(ExactMatch, "score", lambda self, ctx: value)
    out = run(qa(), tmp_path, backend_spec="stub:golden")
    em = out.summary.metrics["exact_match"]
    assert em.mean is None and em.n_unmeasured == 7
    assert out.summary.metrics["includes"].mean == 1.0
    assert lines(out)[0]["scores"]["exact_match"]["error"] == reason  # type: ignore[index]


def test_a_score_subclass_is_written_as_a_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agenteval.metrics.text import ExactMatch
    from agenteval.schema import Score

    class Verbose(Score):
        internal: str = "not for the file"

    monkeypatch.setattr(ExactMatch, "score", lambda self, ctx: Verbose(value=1.0, passed=True, reason="ok"))
    out = run(qa(), tmp_path, backend_spec="stub:golden", limit=2)
    score = lines(out)[0]["scores"]["exact_match"]  # type: ignore[index]
    assert score["value"] == 1.0 and score["reason"] == "ok" and "internal" not in score  # type: ignore[index,operator]
    assert out.summary.metrics["exact_match"].mean == 1.0


def test_run_dir_reader_ignores_only_a_torn_last_line(tmp_path: Path) -> None:
    out = run(qa(), tmp_path, backend_spec="stub:golden", limit=2)
    with out.run_dir.samples_path.open("a") as fh:
        fh.write('{"sample_id": "x", "rep')
    assert len(list(RunDir(out.run_dir.path).iter_results())) == 2
    assert RunDir(out.run_dir.path).repair() > 0
    assert out.run_dir.samples_path.read_text().endswith("\n")
