"""Where a cached re-run's time per task goes: the runner next to a stripped loop of the same calls.

    .venv/bin/python bench/rerun_floor.py [--n 10000]

Writes the `overhead.py` suite (N samples, system prompt, Jinja prompt, exact_match), fills a response
cache with one `agenteval run --backend stub:echo` (no latency), then in this process:

- `runner`: `run_suite` on the cached suite, every answer from the response cache (what a re-run does
  after start-up), wall time per task;
- `stripped loop`: the calls a cached task needs and nothing else (decode the sample, render its
  request, its cache key, look the answer up 256 at a time and decode it, score it, build and validate
  the result, serialise and append it, add it to the summary), each timed: the floor of this design.

The difference is the runner's own bookkeeping (asyncio, progress, retry and tool plumbing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from overhead import agenteval_cmd, bench_env, write_suite  # noqa: E402


def stripped_loop(suite_path: Path, root: Path, out: Path) -> tuple[float, dict[str, float], int]:
    """(total s, seconds per step, tasks) of the stripped loop over every sample."""
    from agenteval.analysis.summary import Summarizer
    from agenteval.backends.base import BackendRequest
    from agenteval.metrics.base import ScoreContext
    from agenteval.schema import SampleResult, Usage
    from agenteval.suite.cache import CACHE_FOLDER
    from agenteval.suite.check import check_suite
    from agenteval.suite.loader import load_suite
    from agenteval.suite.templating import render_request
    from agenteval.tracecache import ResponseCache, cache_key

    suite = load_suite(suite_path, cache_dir=root / CACHE_FOLDER)
    (mid, metric), = check_suite(suite)
    cache = ResponseCache(root / "cache.sqlite")
    summary = Summarizer([mid], {}, grouped=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
    steps: dict[str, float] = dict.fromkeys(
        ("decode the sample", "render", "cache key", "lookup + decode the trace", "score", "build the result",
         "serialise + write", "summary"), 0.0)
    n = 0
    started = time.perf_counter()
    samples = iter(suite.samples)
    try:
        while True:
            t = time.perf_counter()
            batch = list(islice(samples, 256))
            if not batch:
                break
            t2 = time.perf_counter()
            steps["decode the sample"] += t2 - t
            rendered = [render_request(suite, s) for s in batch]
            t3 = time.perf_counter()
            steps["render"] += t3 - t2
            keys = [cache_key("stub:echo", {}, BackendRequest(messages=r[0], tools=suite.tools, sample=s))
                    for r, s in zip(rendered, batch, strict=True)]
            t4 = time.perf_counter()
            steps["cache key"] += t4 - t3
            hits = cache.get_many(keys, [r[0] for r in rendered])
            steps["lookup + decode the trace"] += time.perf_counter() - t4
            for s, r, k in zip(batch, rendered, keys, strict=True):
                trace = hits[k]
                t = time.perf_counter()
                score = metric.score(ScoreContext(sample=s, trace=trace, suite=suite))
                t2 = time.perf_counter()
                steps["score"] += t2 - t
                last_user = next((m.content for m in reversed(r[0]) if m.role == "user"), "")
                result = SampleResult(sample_id=s.id, repeat=0, sample_hash=s.hash, input=last_user,
                                      output=trace.output, expected=s.expected, trace=trace, scores={mid: score},
                                      attempts=0, latency_s=0.0, usage=Usage(), cached=True, tags=s.tags,
                                      metadata=s.metadata)
                t3 = time.perf_counter()
                steps["build the result"] += t3 - t2
                os.write(fd, result.__pydantic_serializer__.to_json(result) + b"\n")
                t4 = time.perf_counter()
                steps["serialise + write"] += t4 - t3
                summary.add(result)
                steps["summary"] += time.perf_counter() - t4
                n += 1
    finally:
        os.close(fd)
        cache.close()
    return time.perf_counter() - started, steps, n


def runner(suite_path: Path, root: Path) -> tuple[float, int, int]:
    """(wall s, tasks, cached) of run_suite on the cached suite."""
    from agenteval.runner import RunOptions, run_suite
    from agenteval.suite.cache import CACHE_FOLDER
    from agenteval.suite.loader import load_suite

    suite = load_suite(suite_path, cache_dir=root / CACHE_FOLDER)
    started = time.perf_counter()
    out = asyncio.run(run_suite(suite, RunOptions(results_root=root, backend_spec="stub:echo", concurrency=50,
                                                  progress=False)))
    return time.perf_counter() - started, out.summary.n_samples, out.summary.n_cached


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="agenteval-floor-") as tmp:
        suite = write_suite(Path(tmp) / "suite", args.n)
        root = Path(tmp) / "results"
        subprocess.run([*agenteval_cmd(), "run", str(suite), "--backend", "stub:echo", "--no-progress",
                        "--out", str(root)], env=bench_env(), check=True, stdout=subprocess.DEVNULL)
        wall, tasks, cached = runner(suite, root)
        if cached != tasks:
            raise SystemExit(f"expected every answer cached, got {cached} of {tasks}")
        total, steps, n = stripped_loop(suite, root, Path(tmp) / "stripped.jsonl")
    print()
    print("| per task, us | " + " | ".join(steps) + " | total |")
    print("|---|" + "---|" * (len(steps) + 1))
    print("| stripped loop | " + " | ".join(f"{v / n * 1e6:.1f}" for v in steps.values())
          + f" | {total / n * 1e6:.1f} |")
    print()
    print(f"runner (run_suite, every answer cached): {wall / tasks * 1e6:.1f} us per task, "
          f"{wall:.2f} s for {tasks}; the stripped loop: {total / n * 1e6:.1f} us per task")
    return 0


if __name__ == "__main__":
    sys.exit(main())
