"""A fast OpenAI-compatible mock server for benchmarks: aiohttp, 127.0.0.1 only, bounded lifetime.

    .venv/bin/python bench/mock_server.py [--port 0] [--latency-ms 50] [--max-lifetime-s 600]
                                          [--parent-pid PID]

Prints `READY http://127.0.0.1:PORT/v1` on the first line of stdout once it listens. Answers
`POST /v1/chat/completions` after `--latency-ms` (an `asyncio.sleep`, so concurrent requests overlap)
with `mock_answer(last user message)` and word-count usage; `GET /v1/models` lists one model.
It exits by itself after `--max-lifetime-s` seconds, or as soon as `--parent-pid` is gone, whatever
happens to the process that started it. Unlike `agenteval.testing.fake_openai` (threads, fault
injection, request log) it does the least work per request, so the client side is what a benchmark
measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
import zlib

from aiohttp import web

__all__ = ["mock_answer", "main"]

MODEL = "mock-model"


def mock_answer(text: str) -> str:
    """The deterministic answer to a user message (benchmarks compute expected answers with it)."""
    return f"answer-{zlib.crc32(text.encode()) % 100_000}"


def _last_user(messages: object) -> str:
    if isinstance(messages, list):
        for m in reversed(messages):
            if isinstance(m, dict) and m.get("role") == "user":
                content = m.get("content")
                return content if isinstance(content, str) else ""
    return ""


def _words(messages: object) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(len(m["content"].split()) for m in messages
               if isinstance(m, dict) and isinstance(m.get("content"), str))


def make_app(latency_s: float) -> web.Application:
    counter = [0]

    async def chat(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": {"message": "invalid JSON body", "type": "invalid_request_error"}},
                                     status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": {"message": "body must be an object"}}, status=400)
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        messages = body.get("messages")
        text = mock_answer(_last_user(messages))
        counter[0] += 1
        prompt = _words(messages)
        payload = {
            "id": f"chatcmpl-mock-{counter[0]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or MODEL),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1},
        }
        return web.Response(body=json.dumps(payload).encode(), content_type="application/json")

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    return app


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def serve(port: int, latency_s: float, max_lifetime_s: float, parent_pid: int | None) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    runner = web.AppRunner(make_app(latency_s), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.SockSite(runner, sock, backlog=1024)
    await site.start()
    print(f"READY http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    deadline = time.monotonic() + max_lifetime_s
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
            if parent_pid is not None and not _alive(parent_pid):
                break
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mock_server.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--max-lifetime-s", type=float, default=600.0,
                        help="exit after this many seconds, whatever happens (default 600)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    args = parser.parse_args(argv)
    if args.max_lifetime_s <= 0:
        parser.error("--max-lifetime-s must be positive")
    try:
        asyncio.run(serve(args.port, args.latency_ms / 1000.0, args.max_lifetime_s, args.parent_pid))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
