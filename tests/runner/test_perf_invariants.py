"""What the performance work must keep true: lean start-up, bounded memory, identical results.

No test here times anything (timings live in bench/); each checks a behaviour the speed-ups rely on.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from agenteval.analysis.summary import summarize
from agenteval.runner import RetryPolicy, RunOptions, RunOutcome, run_suite
from agenteval.runner.progress import RunProgress
from agenteval.schema import SampleResult, Score, Suite, Trace
from agenteval.store import RunDir
from agenteval.suite import load_suite
from agenteval.tracecache import ResponseCache

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["litellm", "torch", "vertexai", "google.cloud.aiplatform", "sentence_transformers", "datasets"]


def run(suite: Suite, root: Path, **kw: object) -> RunOutcome:
    kw.setdefault("progress", False)
    kw.setdefault("retry", RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.01))
    return asyncio.run(run_suite(suite, RunOptions(results_root=root, **kw)))  # type: ignore[arg-type]


def write_suite(folder: Path, n: int, prompt: str = "Question: {{ question }}\\nAnswer:") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.jsonl").open("w") as fh:
        for i in range(n):
            answer = f"Question: q{i}\nAnswer:" if i % 2 else f"a{i}"
            fh.write(json.dumps({"id": f"s{i:04d}", "question": f"q{i}", "answer": answer}) + "\n")
    (folder / "suite.yaml").write_text(
        "name: perf\nversion: '1'\nsystem: Be brief.\n"
        f'prompt: "{prompt}"\n'
        "metrics:\n  - exact_match\n  - fuzzy_match: {threshold: 0.9}\n"
        "samples:\n  - file: data.jsonl\n    fields: {id: id, expected: answer}\n")
    return folder / "suite.yaml"


def imported_modules(args: list[str], tmp_path: Path) -> list[str]:
    """Run the CLI with `args` in a fresh interpreter; the heavy modules it imported."""
    code = ("import sys, json\nfrom agenteval.cli.main import main\nrc = main(sys.argv[1:])\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\nsys.exit(rc)")
    env = {k: v for k, v in os.environ.items() if k != "AGENTEVAL_RESULTS"}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["validate", str(REPO / "suites" / "qa.yaml")],
                                  ["run", "SUITE", "--backend", "stub:echo", "--no-progress", "--out", "res"]])
def test_cli_start_up_imports_no_heavy_module(args: list[str], tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite", 10)
    args = [str(suite) if a == "SUITE" else a for a in args]
    assert imported_modules(args, tmp_path) == []


def _line(sid: str, repeat: int, pad: int = 0) -> str:
    r = SampleResult(sample_id=sid, repeat=repeat, sample_hash="h", input="x" * pad, output=f"{sid}/{repeat}")
    return r.model_dump_json() + "\n"


def test_rewrite_in_order_orders_keeps_last_duplicate_and_drops_a_torn_line(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "r")
    again = _line("b", 0).replace('"b/0"', '"b/0 again"')
    rd.samples_path.write_text(
        _line("b", 0) + _line("a", 1) + _line("extra", 0) + _line("a", 0) + again + _line("c", 0)[:20])
    rd.rewrite_in_order([("a", 0), ("a", 1), ("b", 0), ("missing", 0)])
    rows = [json.loads(x) for x in rd.samples_path.read_text().splitlines()]
    assert [(r["sample_id"], r["repeat"]) for r in rows] == [("a", 0), ("a", 1), ("b", 0), ("extra", 0)]
    assert rows[2]["output"] == "b/0 again"  # the last line of a key wins
    assert not list(tmp_path.joinpath("runs", "r").glob(".*.tmp"))


def test_rewrite_in_order_leaves_an_ordered_file_in_place(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "r")
    rd.samples_path.write_text(_line("a", 0) + _line("b", 0) + _line("c", 0)[:30])
    inode = rd.samples_path.stat().st_ino
    rd.rewrite_in_order(iter([("a", 0), ("b", 0), ("c", 0)]))
    assert rd.samples_path.stat().st_ino == inode  # not replaced: nothing was out of order
    assert rd.samples_path.read_text() == _line("a", 0) + _line("b", 0)  # the torn line is cut


def test_rewrite_in_order_never_holds_the_lines_in_memory(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "r")
    n, pad = 2000, 5000  # a 10 MB file, in reverse order
    with rd.samples_path.open("w") as fh:
        for i in reversed(range(n)):
            fh.write(_line(f"s{i:05d}", 0, pad))
    size = rd.samples_path.stat().st_size
    tracemalloc.start()
    try:
        rd.rewrite_in_order((f"s{i:05d}", 0) for i in range(n))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 4  # an index of offsets, not the lines (the old rewrite held all 10 MB)
    ids = [json.loads(x)["sample_id"] for x in rd.samples_path.read_text().splitlines()]
    assert ids == [f"s{i:05d}" for i in range(n)]


def test_cached_rerun_marks_every_sample_cached_with_the_same_summary(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "suite", 40))
    first = run(suite, tmp_path / "res", backend_spec="stub:echo", backend_options={"latency_ms": 1},
                concurrency=7, repeat=2)
    again = run(suite, tmp_path / "res", backend_spec="stub:echo", backend_options={"latency_ms": 1},
                concurrency=7, repeat=2)
    assert first.summary.n_cached == 0 and again.summary.n_cached == again.summary.n_samples == 80
    assert again.summary.metrics == first.summary.metrics
    rows = [json.loads(x) for x in again.run_dir.samples_path.read_text().splitlines()]
    assert all(r["cached"] for r in rows)
    assert [(r["sample_id"], r["repeat"]) for r in rows] == [(s.id, k) for s in suite.samples for k in range(2)]


def test_the_summary_is_the_summary_of_the_file(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "suite", 30))
    out = run(suite, tmp_path / "res", backend_spec="stub:echo", backend_options={"latency_ms": 2},
              concurrency=9, repeat=3, use_cache=False)
    ids = [json.loads(x)["sample_id"] for x in out.run_dir.samples_path.read_text().splitlines()]
    assert ids == [s.id for s in suite.samples for _ in range(3)]  # put back in task order
    again = summarize(out.run_dir.run_id, out.run_dir.iter_results(), ["exact_match", "fuzzy_match"], {})
    assert again.model_dump(exclude={"latency"}) == out.summary.model_dump(exclude={"latency"})


def test_summary_means_repeats_per_sample_wherever_they_lie() -> None:
    def result(sid: str, repeat: int, value: float | None) -> SampleResult:
        score = Score(value=value, passed=None if value is None else value >= 0.5)
        return SampleResult(sample_id=sid, repeat=repeat, sample_hash="h", input="", output="o",
                            trace=Trace(output="o", latency_s=0.1), scores={"m": score})

    grouped = [result("a", 0, 1.0), result("a", 1, 0.0), result("b", 0, 0.25), result("b", 1, None),
               result("c", 0, 0.75), result("c", 1, 0.5)]
    scattered = [grouped[0], grouped[2], grouped[4], grouped[1], grouped[3], grouped[5]]
    one = summarize("r", iter(grouped), ["m"], {}).metrics["m"]
    two = summarize("r", iter(scattered), ["m"], {}).metrics["m"]
    assert one == two
    assert one.n == 3 and one.n_unmeasured == 1 and one.mean == pytest.approx((0.5 + 0.25 + 0.625) / 3)


@pytest.mark.parametrize("source", [
    "Question: {{ question }}\nAnswer:", "{{x}}{{ y }} tail\n", "a {{- x -}} b", "line\r\n{{ x }}",
    "{{ x }}{# note #}", "{{ x.k }}", "{{ x | upper }}", "{% if x %}yes{% endif %}", "{ {{ x }} }", "{{ none }}",
    "{{ true }}", "plain text", "",
])
def test_prompt_rendering_equals_jinja(source: str) -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from agenteval.suite.templating import render_template

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    for variables in ({"x": {"k": "v"}, "y": 3, "question": "Why?"},
                      {"x": {"k": [1, None]}, "y": None, "question": 2.5}):
        assert render_template(source, variables, where="s.yaml:3", field="prompt") == \
            env.from_string(source).render(**variables)


def test_prompt_with_an_undefined_name_is_a_config_error() -> None:
    from agenteval.errors import ConfigError
    from agenteval.suite.templating import render_template

    with pytest.raises(ConfigError, match="template error"):
        render_template("Q: {{ missing }}", {"x": 1}, where="s.yaml:3", field="prompt")


def test_cache_entries_are_readable_at_once_and_after_close(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k1", Trace(output="one"))
    got = cache.get("k1")
    assert got is not None and got.output == "one"  # before any write to the file
    cache.close()
    reopened = ResponseCache(tmp_path / "c.sqlite")
    got = reopened.get("k1")
    assert got is not None and got.output == "one"
    assert reopened.get("k2") is None
    reopened.close()


def test_progress_bar_ends_at_the_total_however_fast_samples_finish() -> None:
    progress = RunProgress(500, description="t", enabled=True)
    progress.done = 100  # resumed: 100 already on disk
    with progress:
        for k in range(400):
            progress.advance(error=k % 100 == 0)
    task = progress._progress.tasks[0]
    assert task.completed == 500 and task.fields["errors"] == 4
