"""A deterministic OpenAI-compatible HTTP server for tests, demos and benchmarks (stdlib only).

    with FakeOpenAIServer(latency_ms=0) as srv:
        srv.base_url          # 'http://127.0.0.1:PORT/v1'
        srv.fail_next = [429, "hang"]
        ...
        srv.requests          # every request body received, in order

Answers: a scripted answer comes first (`script`, consumed one per request, then `responder(body)`,
which may return None to fall through); else the first `answers` key contained (case-insensitively) in
the last user message gives the answer; a `tool_rules` key does the same and answers with a tool call
when the request offers a tool of that name; otherwise the answer is `echo: <last user message>`.
Faults: `fail_next` (consumed one per request) and `fail_rate` (seeded) inject HTTP errors, hangs and
connection resets.

Run standalone: `python -m agenteval.testing.fake_openai --port 0 --latency-ms 50`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from .local_http import LocalHTTPServer, QuietHandler

__all__ = ["FakeOpenAIServer", "Fault", "Reply", "Responder"]

Fault = int | str
"""An HTTP status (e.g. 429), `"hang"` (sleep `hang_s`, then answer) or `"reset"` (drop the connection)."""



@dataclass(frozen=True)
class Reply:
    """A scripted text answer; `finish_reason="length"` imitates an answer cut off by max_tokens."""

    content: str
    finish_reason: str = "stop"


Responder = Callable[[dict[str, Any]], "str | Reply | None"]
"""Called with each request body; its answer wins over `answers` (None: fall through to the rules)."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}



class FakeOpenAIServer(LocalHTTPServer):
    """An OpenAI-compatible chat server on 127.0.0.1 with deterministic answers and fault injection.

    Every public attribute may be changed while the server runs; each request reads them afresh.
    """

    def __init__(
        self,
        *,
        answers: Mapping[str, str] | None = None,
        tool_rules: Mapping[str, tuple[str, dict[str, Any] | str]] | None = None,
        latency_ms: float = 0.0,
        fail_next: list[Fault] | None = None,
        fail_rate: float = 0.0,
        fail_kinds: list[Fault] | None = None,
        seed: int = 0,
        retry_after: str = "0",
        hang_s: float = 5.0,
        models: list[str] | None = None,
        script: list[str | Reply] | None = None,
        responder: Responder | None = None,
        port: int = 0,
    ) -> None:
        self.answers: dict[str, str] = dict(answers or {})
        self.tool_rules: dict[str, tuple[str, dict[str, Any] | str]] = dict(tool_rules or {})
        """substring -> (tool name, arguments); a str is sent verbatim (to test malformed JSON)."""
        self.latency_ms = latency_ms
        self.fail_next: list[Fault] = list(fail_next or [])
        self.fail_rate = fail_rate
        self.fail_kinds: list[Fault] = list(fail_kinds or [429, 500, 503])
        self.seed = seed
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.models: list[str] = list(models or ["fake-model"])
        self.script: list[str | Reply] = list(script or [])
        """Answers for the next requests, in order (one consumed per answered request)."""
        self.responder: Responder | None = responder
        self.requests: list[dict[str, Any]] = []
        super().__init__(port)
        self._rng = random.Random(seed)

    thread_name = "fake-openai"

    def _on_start(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- behaviour -------------------------------------------------------------------------------

    def _record(self, body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(body)
            return len(self.requests) - 1

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if self.fail_rate > 0 and self.fail_kinds and self._rng.random() < self.fail_rate:
                return self._rng.choice(self.fail_kinds)
        return None

    def _scripted(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            item: str | Reply | None = self.script.pop(0) if self.script else None
        if item is None and self.responder is not None:
            item = self.responder(body)
        if item is None:
            return None
        return item if isinstance(item, Reply) else Reply(item)

    def answer(self, body: dict[str, Any], index: int = 0) -> dict[str, Any]:
        """The chat.completion object this server returns for a request body (the `index`-th)."""
        messages = body.get("messages") or []
        last_user = ""
        for m in reversed(messages):
            if isinstance(m, dict) and m.get("role") == "user":
                last_user = _text(m.get("content"))
                break
        offered = {
            t.get("function", {}).get("name")
            for t in body.get("tools") or []
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
        }
        lowered = last_user.lower()
        message: dict[str, Any]
        finish = "stop"
        completion_text: str
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        after_tool = last.get("role") == "tool"
        scripted = self._scripted(body)
        rules = self.tool_rules if scripted is None else {}
        for key, (tool, args) in rules.items():
            # After a tool result the model answers in text (one tool round per rule).
            if key.lower() in lowered and tool in offered and not after_tool:
                arguments = args if isinstance(args, str) else json.dumps(args)
                call_id = f"call_{index}_{tool}"
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": call_id, "type": "function",
                                    "function": {"name": tool, "arguments": arguments}}],
                }
                finish = "tool_calls"
                completion_text = arguments
                break
        else:
            if scripted is not None:
                text = scripted.content
                finish = scripted.finish_reason
            elif after_tool:
                text = f"tool said: {_text(last.get('content'))}"
            else:
                text = next((v for k, v in self.answers.items() if k.lower() in lowered),
                            f"echo: {last_user}")
            message = {"role": "assistant", "content": text}
            completion_text = text
        prompt_tokens = sum(len(_text(m.get("content")).split())
                            for m in messages if isinstance(m, dict))
        completion_tokens = len(completion_text.split())
        return {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake-model")),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def _text(content: Any) -> str:
    """Message content as text (OpenAI content may be a string, None, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


class _Handler(QuietHandler):
    @property
    def fake(self) -> FakeOpenAIServer:
        return cast(FakeOpenAIServer, cast(Any, self.server).fake)

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        err = {"error": {"message": message, "type": _ERROR_TYPES.get(status, "server_error"),
                         "param": None, "code": str(status)}}
        headers = {"Retry-After": str(self.fake.retry_after)} if status == 429 else None
        self._send_json(status, err, headers)


    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "agenteval"}
                    for m in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(404, f"no route GET {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"no route POST {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as e:
            self._send_error(400, f"invalid JSON body: {e}")
            return
        if not isinstance(body, dict):
            self._send_error(400, "the body must be a JSON object")
            return
        fake = self.fake
        index = fake._record(body)
        fault = fake._next_fault()
        if fault == "reset":
            self._reset()
            return
        if fault == "hang":
            time.sleep(fake.hang_s)
        elif isinstance(fault, int):
            self._send_error(fault, f"injected fault: HTTP {fault}")
            return
        elif fault is not None:
            self._send_error(500, f"unknown injected fault {fault!r}")
            return
        if body.get("stream"):
            self._send_error(400, "streaming is not supported by the fake server")
            return
        if not isinstance(body.get("messages"), list):
            self._send_error(400, "'messages' is required and must be a list")
            return
        if fake.latency_ms > 0:
            time.sleep(fake.latency_ms / 1000.0)
        self._send_json(200, fake.answer(body, index))

FakeOpenAIServer.handler = _Handler


def main(argv: list[str] | None = None) -> int:
    """Serve until killed; print the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(prog="python -m agenteval.testing.fake_openai",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    srv = FakeOpenAIServer(port=args.port, latency_ms=args.latency_ms,
                           fail_rate=args.fail_rate, seed=args.seed).start()
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

