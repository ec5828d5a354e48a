"""semantic_similarity with the real bundled all-MiniLM-L6-v2: scores, batching, cache, config errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

from agenteval.errors import ConfigError
from agenteval.metrics.base import AsyncMetric, MetricEnv
from agenteval.metrics.embedding import Encoder, default_model_path, embedding_cache, model_loads
from agenteval.metrics.semantic import SemanticSimilarity
from agenteval.runner import RunOptions, run_suite
from agenteval.schema import Score
from agenteval.suite import load_suite

from .conftest import MakeCtx

PARAPHRASE = ("The cat is sitting on the mat.", "A cat sits on the mat.")
UNRELATED = "Quarterly revenue grew by 12 percent."
T = TypeVar("T")


def _env(tmp_path: Path) -> MetricEnv:
    async def retry(call: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
        return await call(), 1

    return MetricEnv(results_root=tmp_path, use_cache=False, retry=retry)


def _started(metric: SemanticSimilarity, tmp_path: Path, body: Callable[[], Awaitable[T]]) -> T:
    """Run `body` between the metric's start and stop, in one event loop (as the runner does)."""

    async def main() -> T:
        await metric.start(_env(tmp_path))
        try:
            return await body()
        finally:
            await metric.stop()

    return asyncio.run(main())


def _unique(text: str) -> str:
    """A text no other test has encoded (so the cache cannot serve it)."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The bundled model, loaded once for this module."""
    return SemanticSimilarity().load()


def test_paraphrase_scores_above_an_unrelated_answer(encoder: Encoder, make_ctx: MakeCtx, tmp_path: Path) -> None:
    metric = SemanticSimilarity(threshold=0.7)
    assert isinstance(metric, AsyncMetric)

    async def both() -> list[Score]:
        return list(await asyncio.gather(metric.ascore(make_ctx(PARAPHRASE[1], PARAPHRASE[0])),
                                         metric.ascore(make_ctx(UNRELATED, PARAPHRASE[0]))))

    para, unrelated = _started(metric, tmp_path, both)
    assert para.value is not None and unrelated.value is not None
    assert para.value > 0.8 > 0.2 > unrelated.value >= 0.0
    assert para.passed is True and unrelated.passed is False
    assert ">= 0.7" in para.reason and "< 0.7" in unrelated.reason
    # the raw cosine of the unrelated pair is slightly negative: the value is clamped at 0, details keep it
    assert isinstance(unrelated.details["similarity"], float) and unrelated.details["similarity"] < 0.05
    # the sync path (no event loop) gives the same numbers
    assert metric.score(make_ctx(PARAPHRASE[1], PARAPHRASE[0])).value == pytest.approx(para.value, abs=1e-6)
    assert SemanticSimilarity().score(make_ctx(PARAPHRASE[0], PARAPHRASE[0])).value == pytest.approx(1.0, abs=1e-5)


def test_acceptable_answers_take_the_best(encoder: Encoder, make_ctx: MakeCtx, tmp_path: Path) -> None:
    metric = SemanticSimilarity()

    async def score() -> tuple[Score, Score]:
        best = await metric.ascore(make_ctx(PARAPHRASE[1], [UNRELATED, "", PARAPHRASE[0]]))
        alone = await metric.ascore(make_ctx(PARAPHRASE[1], PARAPHRASE[0]))
        return best, alone

    best, alone = _started(metric, tmp_path, score)
    assert best.value == pytest.approx(alone.value)
    assert best.details["best_expected"] == 2 and "(expected #3)" in best.reason  # positions in the list
    assert best.passed is None  # no threshold, no pass rule


def test_no_expected_answer_is_unmeasured_and_an_empty_answer_scores_zero(encoder: Encoder,
                                                                           make_ctx: MakeCtx) -> None:
    metric = SemanticSimilarity(threshold=0.5)
    none = metric.score(make_ctx("anything", None))
    assert none.value is None and none.error and "no expected answer" in none.error
    blank = metric.score(make_ctx("anything", ["", "  "]))
    assert blank.value is None and blank.error and "empty" in blank.error
    empty = metric.score(make_ctx("  ", PARAPHRASE[0]))
    assert empty.value == 0.0 and empty.passed is False


def test_concurrent_scores_are_encoded_in_one_or_two_batches(encoder: Encoder, make_ctx: MakeCtx,
                                                              tmp_path: Path) -> None:
    metric = SemanticSimilarity(batch_size=64)
    ctxs = [make_ctx(_unique(f"Answer {i} about the weather."), _unique(f"Reference {i} about rain."))
            for i in range(32)]
    before = encoder.stats.encode_calls, encoder.stats.texts_encoded

    async def score_all() -> list[Score]:
        return list(await asyncio.gather(*(metric.ascore(c) for c in ctxs)))

    scores = _started(metric, tmp_path, score_all)
    assert all(s.value is not None for s in scores)
    calls = encoder.stats.encode_calls - before[0]
    assert 1 <= calls <= 2, f"64 texts from 32 concurrent scores took {calls} encode calls"
    assert encoder.stats.texts_encoded - before[1] == 64
    # one by one, the same work is 32 calls: batching is real, not a re-labelled loop
    before_sync = encoder.stats.encode_calls
    for c in [make_ctx(_unique("one"), _unique("two")) for _ in range(4)]:
        metric.score(c)
    assert encoder.stats.encode_calls - before_sync == 4


def test_a_batch_never_exceeds_batch_size(encoder: Encoder, make_ctx: MakeCtx, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    real_encode = encoder.encode

    def recording_encode(texts: Any, **kw: Any) -> Any:  # the real encoder (packed or not), watched
        sizes.append(len(texts))
        return real_encode(texts, **kw)

    monkeypatch.setattr(encoder, "encode", recording_encode)
    metric = SemanticSimilarity(batch_size=8)
    ctxs = [make_ctx(_unique(f"Output {i}."), _unique(f"Expected {i}.")) for i in range(20)]

    async def score_all() -> list[Score]:
        return list(await asyncio.gather(*(metric.ascore(c) for c in ctxs)))

    assert all(s.value is not None for s in _started(metric, tmp_path, score_all))
    assert sizes == [8] * 5  # 40 texts


def test_the_cache_avoids_re_encoding(encoder: Encoder, make_ctx: MakeCtx, tmp_path: Path) -> None:
    metric = SemanticSimilarity()
    shared = _unique("The meeting is moved to Thursday afternoon.")
    outputs = [_unique(f"We meet on Thursday, slot {i}.") for i in range(10)]
    before = encoder.stats.texts_encoded

    async def score_all() -> list[Score]:
        return list(await asyncio.gather(*(metric.ascore(make_ctx(o, shared)) for o in outputs)))

    first = _started(metric, tmp_path, score_all)
    assert encoder.stats.texts_encoded - before == 11  # the shared reference once
    calls = encoder.stats.encode_calls
    again = _started(metric, tmp_path, score_all)  # a second run: everything is cached
    assert encoder.stats.encode_calls == calls
    assert [s.value for s in again] == [s.value for s in first]
    # whitespace differences share an entry; the sync path reads the same cache
    assert (encoder.key, shared) in embedding_cache()
    metric.score(make_ctx("  " + outputs[0].replace(" ", "   ") + "\n", shared))
    assert encoder.stats.encode_calls == calls


@pytest.mark.parametrize("model", ["sentence-transformers/all-MiniLM-L6-v2", "no/such/folder", "FILE", "EMPTY"])
def test_a_bad_model_path_is_a_config_error_at_start(model: str, tmp_path: Path) -> None:
    if model == "FILE":
        model = str(tmp_path / "weights.bin")
        Path(model).write_bytes(b"x")
    elif model == "EMPTY":
        model = str(tmp_path / "empty")
        Path(model).mkdir()
    metric = SemanticSimilarity(model=model)
    with pytest.raises(ConfigError) as err:
        asyncio.run(metric.start(_env(tmp_path)))
    assert err.value.hint and "local sentence-transformers model folder" in err.value.hint
    assert err.value.field == "metrics.semantic_similarity.model"


def test_a_threshold_above_one_is_refused_for_cosine() -> None:
    with pytest.raises(ValidationError, match="at most 1"):
        SemanticSimilarity(threshold=1.5)
    assert SemanticSimilarity(threshold=1.5, normalize=False).threshold == 1.5


def test_the_model_is_loaded_once_across_metric_instances(encoder: Encoder, tmp_path: Path) -> None:
    loads = model_loads()
    first = SemanticSimilarity(threshold=0.5)
    second = SemanticSimilarity(model=str(default_model_path()) + "/", batch_size=16)  # same folder, other spelling

    async def start_both() -> None:
        await first.start(_env(tmp_path))
        await second.start(_env(tmp_path))
        await first.stop()
        await second.stop()

    asyncio.run(start_both())
    assert first.encoder is second.encoder is encoder
    assert model_loads() == loads


def test_torch_threads_is_applied(encoder: Encoder, make_ctx: MakeCtx, tmp_path: Path) -> None:
    import torch

    from agenteval.metrics.embedding import set_torch_threads

    original = torch.get_num_threads()
    try:
        metric = SemanticSimilarity(torch_threads=1)

        async def score() -> Score:
            return await metric.ascore(make_ctx(_unique("threads"), PARAPHRASE[0]))

        assert _started(metric, tmp_path, score).value is not None
        assert torch.get_num_threads() == 1
    finally:
        set_torch_threads(original)


def test_a_real_run_scores_with_semantic_similarity(encoder: Encoder, tmp_path: Path) -> None:
    suite_file = tmp_path / "para.yaml"
    suite_file.write_text(
        "name: paraphrase\n"
        "version: '1'\n"
        "prompt: '{{ answer }}'\n"
        "metrics:\n"
        "  - semantic_similarity: {threshold: 0.7}\n"
        "samples:\n"
        f"  - {{id: para, vars: {{answer: {json.dumps(PARAPHRASE[1])}}}, expected: {json.dumps(PARAPHRASE[0])}}}\n"
        f"  - {{id: unrelated, vars: {{answer: {json.dumps(UNRELATED)}}}, expected: {json.dumps(PARAPHRASE[0])}}}\n"
        f"  - {{id: either, vars: {{answer: {json.dumps(PARAPHRASE[1])}}},"
        f" expected: [{json.dumps(UNRELATED)}, {json.dumps(PARAPHRASE[0])}]}}\n"
        "  - {id: none, vars: {answer: hello}}\n"
    )
    outcome = asyncio.run(run_suite(load_suite(suite_file), RunOptions(
        results_root=tmp_path / "runs", backend_spec="stub:echo", progress=False, concurrency=4)))
    rows = {r["sample_id"]: r["scores"]["semantic_similarity"]
            for r in map(json.loads, outcome.run_dir.samples_path.read_text().splitlines())}
    assert rows["para"]["passed"] is True and rows["para"]["value"] > 0.8
    assert rows["unrelated"]["passed"] is False and rows["unrelated"]["value"] < 0.2
    assert rows["either"]["value"] == pytest.approx(rows["para"]["value"])
    assert rows["none"]["value"] is None and "no expected answer" in rows["none"]["error"]
    assert outcome.summary.metrics["semantic_similarity"].n == 3
    assert [m.name for m in outcome.manifest.metrics] == ["semantic_similarity"]


def test_importing_the_metric_imports_no_torch() -> None:
    code = ("import sys, agenteval.metrics.semantic, agenteval.metrics.embedding\n"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
