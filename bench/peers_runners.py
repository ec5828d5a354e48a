"""The peers benchmark's runners: one system on the work, inside that system's own interpreter.

    <python> bench/peers_runners.py SYSTEM --data ROWS.jsonl --base-url URL [-c 50]

Run by bench/peers.py with the interpreter of the virtualenv a peer was installed into, so this file
imports only the standard library at the top; each runner imports its framework. It prints
`RESULT {"n": N, "correct": K}` as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "mock-model"
SYSTEM_PROMPT = "Answer with the code only."  # same prompts as bench/throughput.py
NO_CALLS_OUT = {
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1", "DEEPEVAL_UPDATE_WARNING_OPT_IN": "0", "DEEPEVAL_NO_INSPECT_PROMPT": "1",
    "DEEPEVAL_DISABLE_DOTENV": "1", "ERROR_REPORTING": "0",
    "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_SHARING": "1",
    "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1", "PROMPTFOO_SELF_HOSTED": "1",
    "PROMPTFOO_DISABLE_DEBUG_LOG": "1", "PROMPTFOO_DISABLE_ERROR_LOG": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "NO_GCE_CHECK": "true",
    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "INSPECT_DISPLAY": "none",
    "RAY_USAGE_STATS_ENABLED": "0", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    "OPENAI_API_KEY": "sk-bench", "NPM_CONFIG_UPDATE_NOTIFIER": "false",
}

def question(i: int) -> str:
    return f"Question {i}: what is the code for item {i * 7919 % 100_003}?"


Row = dict[str, str]


async def _pump(rows: list[Row], concurrency: int, one: Callable[[Row], Awaitable[str]]) -> int:
    it = iter(rows)
    right = 0

    async def worker() -> None:
        nonlocal right
        for row in it:
            ok = await one(row) == row["expected"]  # await first: `right +=` would read right before it
            right += ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return right


def _messages(row: Row) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": row["question"]}]


async def run_aiohttp(rows: list[Row], base: str, c: int) -> int:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def one(row: Row) -> str:
            async with session.post(f"{base}/chat/completions",
                                    json={"model": MODEL, "messages": _messages(row)}) as resp:
                body = await resp.json()
            return str(body["choices"][0]["message"]["content"])

        return await _pump(rows, c, one)


async def run_openai_sdk(rows: list[Row], base: str, c: int) -> int:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base, api_key="sk-bench", max_retries=0)

    async def one(row: Row) -> str:
        r = await client.chat.completions.create(model=MODEL, messages=_messages(row))  # type: ignore[arg-type]
        return r.choices[0].message.content or ""

    try:
        return await _pump(rows, c, one)
    finally:
        await client.close()


async def run_litellm(rows: list[Row], base: str, c: int) -> int:
    import litellm

    async def one(row: Row) -> str:
        r = await litellm.acompletion(model=f"openai/{MODEL}", messages=_messages(row), api_base=base,
                                      api_key="sk-bench", num_retries=0, max_retries=0)
        return str(r.choices[0].message.content or "")

    return await _pump(rows, c, one)


def run_deepeval(rows: list[Row], base: str, c: int) -> int:
    from deepeval import evaluate
    from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig
    from deepeval.metrics import BaseMetric
    from deepeval.test_case import LLMTestCase
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base, api_key="sk-bench", max_retries=0)

    class ModelExactMatch(BaseMetric):  # type: ignore[misc]
        """Asks the model under test and scores its answer by exact match."""

        def __init__(self) -> None:
            self.threshold = 1.0
            self.async_mode = True
            self.verbose_mode = False
            self.include_reason = False

        async def a_measure(self, test_case: Any, *args: Any, **kwargs: Any) -> float:
            r = await client.chat.completions.create(model=MODEL, messages=[
                {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": test_case.input}])
            self.score = float((r.choices[0].message.content or "") == test_case.expected_output)
            self.success = self.score >= self.threshold
            return self.score

        def measure(self, test_case: Any, *args: Any, **kwargs: Any) -> float:
            return asyncio.run(self.a_measure(test_case))

        def is_successful(self) -> bool:
            return bool(self.success)

        @property
        def __name__(self) -> str:  # type: ignore[override]
            return "ModelExactMatch"

    cases = [LLMTestCase(input=row["question"], actual_output="", expected_output=row["expected"]) for row in rows]
    result = evaluate(test_cases=cases, metrics=[ModelExactMatch()],
                      async_config=AsyncConfig(run_async=True, max_concurrent=c),
                      display_config=DisplayConfig(show_indicator=False, print_results=False, verbose_mode=False,
                                                   inspect_after_run=False),
                      cache_config=CacheConfig(write_cache=False, use_cache=False))
    return sum(1 for tr in result.test_results if tr.success)


def _inspect(rows: list[Row], base: str, c: int, model: str) -> int:
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser, ModelOutput, ModelUsage
    from inspect_ai.scorer import exact
    from inspect_ai.solver import generate

    samples = [Sample(id=k, input=[ChatMessageSystem(content=SYSTEM_PROMPT), ChatMessageUser(content=row["question"])],
                      target=row["expected"]) for k, row in enumerate(rows)]
    task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=exact())
    extra: dict[str, Any] = {}
    if model.startswith("openai/"):
        extra = {"model_base_url": base, "model_args": {"responses_api": False}}
    else:  # mockllm answers right, with usage set (else it counts tokens with a tiktoken file it downloads)
        answers = {row["question"]: row["expected"] for row in rows}

        def answer(messages: list[Any], *_: Any) -> Any:
            out = ModelOutput.from_content(model="mockllm", content=answers.get(messages[-1].text, ""))
            out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
            return out

        extra = {"model_args": {"custom_outputs": answer}}
    with tempfile.TemporaryDirectory(prefix="inspect-logs-") as logs:
        (log,) = inspect_eval(task, model=model, max_connections=c, max_samples=c, log_samples=False,
                              display="none", log_dir=logs, max_retries=0, **extra)
    if log.status != "success" or log.results is None:
        raise RuntimeError(f"inspect eval ended {log.status}: {log.error}")
    metrics = log.results.scores[0].metrics  # exact(): `mean` of CORRECT=1 / INCORRECT=0
    return round(metrics["mean"].value * len(rows))


def run_inspect(rows: list[Row], base: str, c: int) -> int:
    return _inspect(rows, base, c, f"openai/{MODEL}")


def run_inspect_mock(rows: list[Row], base: str, c: int) -> int:
    return _inspect(rows, base, c, "mockllm/model")


RUNNERS: dict[str, Callable[[list[Row], str, int], Any]] = {
    "aiohttp": run_aiohttp, "openai_sdk": run_openai_sdk, "litellm": run_litellm, "deepeval": run_deepeval,
    "inspect": run_inspect, "inspect_mock": run_inspect_mock,
}


def runner_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/peers_runners.py")
    p.add_argument("system", choices=sorted(RUNNERS))
    p.add_argument("--data", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("-c", "--concurrency", type=int, default=50)
    a = p.parse_args(argv)
    for k, v in NO_CALLS_OUT.items():
        os.environ.setdefault(k, v)
    with open(a.data, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    out = RUNNERS[a.system](rows, a.base_url, a.concurrency)
    right = asyncio.run(out) if asyncio.iscoroutine(out) else out
    print("RESULT " + json.dumps({"n": len(rows), "correct": right}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(runner_main(sys.argv[1:]))
