"""Micro-batching of sentence embeddings: N texts encoded one call each vs through the MicroBatcher.

Both ways use the same loaded model in the same process, after a warm-up, with the embedding cache
off (every text is really encoded). The baseline is what a metric scoring answers one at a time would
do; the batched way is what `semantic_similarity` does under the runner's concurrency: `--concurrency`
coroutines each ask for one text at a time and the batcher encodes what they ask for together.
A third line, one direct `model.encode(all texts)` call, is the floor the batcher can approach.

    .venv/bin/python bench/semantic_batching.py [--n 512] [--concurrency 64] [--batch-size 64]
                                                [--threads N] [--max-wait-ms 5] [--repeats 3]

Prints the settings, the best time of `--repeats` interleaved rounds for each way, and the speed-up
ratio (target >= 5x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from agenteval.metrics.embedding import (
    EmbeddingCache,
    Encoder,
    MicroBatcher,
    get_encoder,
    resolve_model_path,
    set_torch_threads,
)

TOPICS = ["the weather", "a football match", "quarterly revenue", "a cat on a mat", "the train schedule",
          "a new phone", "the city council", "a chocolate cake", "the stock market", "a mountain hike",
          "the school exam", "a jazz concert", "the hospital visit", "a software release", "the garden"]
VERBS = ["is about", "describes", "reports on", "asks about", "summarises", "mentions"]


def texts(n: int) -> list[str]:
    """n distinct short sentences (5-12 words)."""
    return [f"Sentence {i} {VERBS[i % len(VERBS)]} {TOPICS[(i * 7) % len(TOPICS)]}"
            + (" and what happened next." if i % 3 == 0 else ".") for i in range(n)]


def one_by_one(encoder: Encoder, items: list[str], batch_size: int) -> None:
    for t in items:
        encoder.encode([t], batch_size=batch_size)


def batched(encoder: Encoder, items: list[str], batch_size: int, concurrency: int, max_wait_ms: float,
            sub_batch_size: int | None = None) -> None:
    async def main() -> None:
        batcher = MicroBatcher(encoder, batch_size=batch_size, max_wait_ms=max_wait_ms,
                               sub_batch_size=sub_batch_size)
        it = iter(items)

        async def worker() -> None:
            for t in it:
                await batcher.embed([t])

        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            await batcher.close()

    asyncio.run(main())


def direct(encoder: Encoder, items: list[str], batch_size: int) -> None:
    encoder.encode(items, batch_size=batch_size)


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--no-pack", action="store_true",
                    help="batches through model.encode (padded) instead of the packed encoder")
    ap.add_argument("--sub-batch-size", type=int, default=None,
                    help="texts per forward pass within a batch (default: the batcher's, half a batch)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="local model folder (default: bundled all-MiniLM-L6-v2)")
    args = ap.parse_args()

    import torch

    set_torch_threads(args.threads)
    shared = get_encoder(resolve_model_path(args.model), "cpu")
    # cache off: encode everything
    encoder = Encoder(shared.model, shared.key, cache=EmbeddingCache(maxsize=0), pack=not args.no_pack)
    items = texts(args.n)

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"python {platform.python_version()}  torch {torch.__version__}  {platform.machine()}  "
          f"cpu_count {os.cpu_count()}  usable cpus {affinity}")
    print(f"torch threads {torch.get_num_threads()}  interop threads {torch.get_num_interop_threads()}  "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}  "
          f"MKL_NUM_THREADS={os.environ.get('MKL_NUM_THREADS', '(unset)')}")
    print(f"model {shared.key}")
    print(f"n {args.n}  concurrency {args.concurrency}  batch_size {args.batch_size}  "
          f"max_wait_ms {args.max_wait_ms:g}  sub_batch_size {args.sub_batch_size or 'default'}  "
          f"best of {args.repeats}")

    # warm-up: first calls pay for lazy init and allocator growth
    encoder.encode(items[:8], batch_size=args.batch_size)
    one_by_one(encoder, items[:16], args.batch_size)
    batched(encoder, items[: args.batch_size * 2], args.batch_size, args.concurrency, args.max_wait_ms)

    # interleaved rounds, best of each: a neighbour's load spike hits both ways alike
    rounds: dict[str, list[float]] = {"single": [], "batched": [], "direct": []}
    batches = 0
    for _ in range(args.repeats):
        rounds["single"].append(timed(lambda: one_by_one(encoder, items, args.batch_size)))
        calls_before = encoder.stats.encode_calls
        rounds["batched"].append(timed(lambda: batched(encoder, items, args.batch_size, args.concurrency,
                                                       args.max_wait_ms, args.sub_batch_size)))
        batches = encoder.stats.encode_calls - calls_before
        rounds["direct"].append(timed(lambda: direct(encoder, items, args.batch_size)))
    t_single, t_batched, t_direct = (min(rounds[k]) for k in ("single", "batched", "direct"))

    def line(label: str, t: float) -> str:
        return f"{label:<34} {t * 1000:9.1f} ms  {args.n / t:8.1f} texts/s"

    print(f"batches: {'packed encoder' if encoder.packed is not None else 'model.encode (padded)'}")
    print(line("one text per encode call", t_single))
    print(line(f"micro-batcher ({batches} encode calls)", t_batched))
    print(line("one direct encode(all) call", t_direct))
    ratio = t_single / t_batched
    print(f"speed-up batcher vs one by one: {ratio:.1f}x (target >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
    print(f"batcher overhead vs direct call: {t_batched / t_direct:.2f}x")


if __name__ == "__main__":
    main()
