"""A fake Vertex AI endpoint for tests (stdlib only): Agent Engine (reasoningEngines) and Gemini.

    with FakeVertexServer() as srv:
        srv.base_url          # 'http://127.0.0.1:PORT' -> the backend's `api_endpoint`
        srv.resource_name     # 'projects/test-project/locations/us-central1/reasoningEngines/123'
        srv.streams["weather"] = [adk_call("get_weather", {"city": "Paris"}, "c1"),
                                  adk_response("get_weather", {"temp": 21}, "c1"),
                                  adk_text("It is 21 degrees.", prompt_tokens=12, output_tokens=5)]
        srv.fail_next = [503, "hang"]
        srv.requests          # every request: method, path, route, query, body

What it serves, shaped as google-cloud-aiplatform's REST transport reads it:

- `GET /v1/{engine}`: the ReasoningEngine resource; `spec.classMethods` tells the SDK which methods
  exist (`class_methods`, default `ADK_CLASS_METHODS`; `agent_framework` default `google-adk`).
- `POST /v1/{engine}:query` with `classMethod`: `create_session` / `get_session` / `list_sessions` /
  `delete_session` (and their `async_` twins) keep sessions in `sessions`; `query` answers
  LangChain-style `{"output": ..., "intermediate_steps": [...]}` from `query_answers` (first key
  contained in the input, case-insensitively) or `echo: <input>`. The answer is `{"output": <value>}`.
- `POST /v1/{engine}:streamQuery`: the ADK event stream for `input.message`, from `streams` (first
  key contained in the message; a list of events or a callable `(message, session) -> events`), else
  one text event `echo: <message>`. Without `alt=sse` (the SDK's GAPIC REST transport) the body is a
  JSON array of `google.api.HttpBody` objects `{"contentType": "application/json", "data": <base64 of
  one event's JSON + newline>}`; with `?alt=sse` (the `vertexai.Client` route) it is the raw
  newline-delimited event JSON. Events are ADK `Event.model_dump_json(exclude_none=True)`: snake_case.
- `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent`: one
  Gemini candidate, text or a `functionCall`, from `gemini_rules` (first key contained in the last
  user text), else `echo: <text>`; `usageMetadata` counts words.
- `POST /token` (`token_uri`): an OAuth2 token endpoint, so a service-account credential whose
  `token_uri` points here refreshes without the network (e.g. litellm's `vertex_credentials`).

Errors are Google-style `{"error": {"code", "message", "status"}}`. Faults: `fail_next` (consumed one
per request whose route is in `fail_on`) holds HTTP statuses, `"hang"` (sleep `hang_s`, then answer)
or `"reset"` (drop the connection).
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from .local_http import LocalHTTPServer, QuietHandler

__all__ = [
    "ADK_CLASS_METHODS",
    "LANGCHAIN_CLASS_METHODS",
    "FakeVertexServer",
    "VertexFault",
    "adk_call",
    "adk_response",
    "adk_text",
]

VertexFault = int | str
"""An HTTP status (e.g. 503), `"hang"` (sleep `hang_s`, then answer) or `"reset"` (drop the connection)."""

Event = dict[str, Any]
StreamScript = list[Event] | Callable[[str, dict[str, Any] | None], list[Event]]
"""Events to stream, or a function of (message, session) returning them."""


def _method(name: str, api_mode: str, properties: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "api_mode": api_mode, "description": f"Runs {name}.",
            "parameters": {"type": "object", "required": [],
                           "properties": {k: {"type": v} for k, v in properties.items()}}}


ADK_CLASS_METHODS: list[dict[str, Any]] = [
    _method("get_session", "", {"user_id": "string", "session_id": "string"}),
    _method("list_sessions", "", {"user_id": "string"}),
    _method("create_session", "", {"user_id": "string", "session_id": "string", "state": "object"}),
    _method("delete_session", "", {"user_id": "string", "session_id": "string"}),
    _method("async_get_session", "async", {"user_id": "string", "session_id": "string"}),
    _method("async_list_sessions", "async", {"user_id": "string"}),
    _method("async_create_session", "async", {"user_id": "string", "session_id": "string"}),
    _method("async_delete_session", "async", {"user_id": "string", "session_id": "string"}),
    _method("stream_query", "stream", {"message": "string", "user_id": "string", "session_id": "string"}),
    _method("async_stream_query", "async_stream",
            {"message": "string", "user_id": "string", "session_id": "string"}),
]
"""What an ADK `AdkApp` registers (see `AdkApp.register_operations` in the SDK)."""

LANGCHAIN_CLASS_METHODS: list[dict[str, Any]] = [
    _method("query", "", {"input": "string", "config": "object"}),
]
"""A LangChain-template agent deployed with only `query` (no stream method)."""

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def adk_call(name: str, args: Mapping[str, Any], call_id: str | None = None, **extra: Any) -> Event:
    """A model event asking for one tool call (`content.parts[0].function_call`)."""
    call: dict[str, Any] = {"args": dict(args), "name": name}
    if call_id is not None:
        call["id"] = call_id
    return {"content": {"parts": [{"function_call": call}], "role": "model"}, **extra}


def adk_response(name: str, response: Mapping[str, Any], call_id: str | None = None, **extra: Any) -> Event:
    """The tool's answer event (`function_response`; ADK wraps non-dict returns as {"result": x})."""
    resp: dict[str, Any] = {"name": name, "response": dict(response)}
    if call_id is not None:
        resp["id"] = call_id
    return {"content": {"parts": [{"function_response": resp}], "role": "user"}, **extra}


def adk_text(text: str, *, prompt_tokens: int | None = None, output_tokens: int | None = None,
             **extra: Any) -> Event:
    """A model text event, with `usage_metadata` when token counts are given."""
    event: Event = {"content": {"parts": [{"text": text}], "role": "model"}, **extra}
    if prompt_tokens is not None or output_tokens is not None:
        p, c = prompt_tokens or 0, output_tokens or 0
        event["usage_metadata"] = {"candidates_token_count": c, "prompt_token_count": p,
                                   "total_token_count": p + c, "traffic_type": "ON_DEMAND"}
    return event



class FakeVertexServer(LocalHTTPServer):
    """Agent Engine + Gemini on 127.0.0.1. Public attributes may change while it runs."""

    def __init__(
        self,
        *,
        project: str = "test-project",
        location: str = "us-central1",
        engine_id: str = "123",
        class_methods: list[dict[str, Any]] | None = None,
        agent_framework: str = "google-adk",
        author: str = "test_agent",
        streams: Mapping[str, StreamScript] | None = None,
        query_answers: Mapping[str, dict[str, Any]] | None = None,
        gemini_rules: Mapping[str, str | tuple[str, dict[str, Any]]] | None = None,
        fail_next: list[VertexFault] | None = None,
        fail_on: frozenset[str] = frozenset({"get", "query", "streamQuery", "generateContent"}),
        hang_s: float = 5.0,
        retry_after: str | None = "1",
        port: int = 0,
    ) -> None:
        self.project = project
        self.location = location
        self.engine_id = engine_id
        self.class_methods: list[dict[str, Any]] = list(
            ADK_CLASS_METHODS if class_methods is None else class_methods)
        self.agent_framework = agent_framework
        self.author = author
        self.streams: dict[str, StreamScript] = dict(streams or {})
        self.query_answers: dict[str, dict[str, Any]] = dict(query_answers or {})
        self.gemini_rules: dict[str, str | tuple[str, dict[str, Any]]] = dict(gemini_rules or {})
        """substring -> answer text, or (function name, args) for a functionCall part."""
        self.fail_next: list[VertexFault] = list(fail_next or [])
        self.fail_on = fail_on
        """Routes that consume `fail_next`: get, query, streamQuery, generateContent, token."""
        self.hang_s = hang_s
        self.retry_after = retry_after
        """Retry-After header value of injected 429s (None: no header)."""
        self.sessions: dict[str, dict[str, Any]] = {}
        """session id -> {"id", "app_name", "user_id", "state", "events", "last_update_time"}."""
        self.requests: list[dict[str, Any]] = []
        super().__init__(port)
        self._ids = itertools.count(1)

    thread_name = "fake-vertex"

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`: the `api_endpoint` for the SDK, the `api_base` for litellm."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def resource_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/reasoningEngines/{self.engine_id}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    def routes(self, route: str) -> list[dict[str, Any]]:
        """The logged requests of one route (get, query, streamQuery, generateContent, token)."""
        return [r for r in self.requests if r["route"] == route]

    # -- behaviour -------------------------------------------------------------------------------

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _next_fault(self, route: str) -> VertexFault | None:
        with self._lock:
            if self.fail_next and route in self.fail_on:
                return self.fail_next.pop(0)
        return None

    def resource(self, name: str) -> dict[str, Any]:
        """The ReasoningEngine resource JSON for `name`."""
        return {"name": name, "displayName": "fake agent", "description": "agenteval fake agent engine",
                "spec": {"agentFramework": self.agent_framework, "classMethods": self.class_methods,
                         "packageSpec": {"pythonVersion": "3.12"}},
                "createTime": "2025-01-01T00:00:00Z", "updateTime": "2025-01-01T00:00:00Z",
                "etag": "fake-etag"}

    def class_query(self, method: str, args: dict[str, Any]) -> tuple[int, Any]:
        """Answer a `:query` call: (HTTP status, output value or error message)."""
        base = method.removeprefix("async_")
        if method not in {m.get("name") for m in self.class_methods}:
            return 400, f"Method {method!r} not found. Available: {[m.get('name') for m in self.class_methods]}"
        if base == "create_session":
            user_id = str(args.get("user_id") or "")
            if not user_id:
                return 400, "create_session() missing required keyword argument: 'user_id'"
            sid = str(args.get("session_id") or f"{4_000_000_000_000_000_000 + next(self._ids)}")
            created: dict[str, Any] = {
                "id": sid, "app_name": self.engine_id, "user_id": user_id, "state": dict(args.get("state") or {}),
                "events": [], "last_update_time": time.time()}
            with self._lock:
                self.sessions[sid] = created
            return 200, created
        if base in ("get_session", "delete_session"):
            found = self.sessions.get(str(args.get("session_id")))
            if found is None or found["user_id"] != args.get("user_id"):
                return 500, f"Session not found: {args.get('session_id')}"
            if base == "delete_session":
                with self._lock:
                    self.sessions.pop(str(found["id"]), None)
                return 200, None
            return 200, found
        if base == "list_sessions":
            mine = [s for s in self.sessions.values() if s["user_id"] == args.get("user_id")]
            return 200, {"sessions": mine}
        if base == "query":
            raw = args.get("input")
            text = raw if isinstance(raw, str) else str((raw or {}).get("input", "")) if isinstance(raw, dict) else ""
            for key, answer in self.query_answers.items():
                if key.lower() in text.lower():
                    return 200, {"input": text, **answer}
            return 200, {"input": text, "output": f"echo: {text}"}
        return 400, f"the fake does not implement {method!r}"

    def stream_events(self, method: str, args: dict[str, Any]) -> tuple[int, list[Event] | str]:
        """Answer a `:streamQuery` call: (HTTP status, the ADK events or an error message)."""
        if method not in {m.get("name") for m in self.class_methods}:
            return 400, f"Method {method!r} not found."
        message = args.get("message")
        text = message if isinstance(message, str) else " ".join(
            str(p.get("text", "")) for p in (message or {}).get("parts", []) if isinstance(p, dict)) \
            if isinstance(message, dict) else ""
        user_id = args.get("user_id")
        if not user_id:
            return 400, "stream_query() missing required keyword argument: 'user_id'"
        session: dict[str, Any] | None = None
        sid = args.get("session_id")
        if sid:
            session = self.sessions.get(str(sid))
            if session is None or session["user_id"] != user_id:
                return 500, f"Session not found: {sid}"
        script: StreamScript | None = next(
            (v for k, v in self.streams.items() if k.lower() in text.lower()), None)
        if script is None:
            words = len(text.split())
            events = [adk_text(f"echo: {text}", prompt_tokens=words, output_tokens=words + 1)]
        elif callable(script):
            events = script(text, session)
        else:
            events = [json.loads(json.dumps(e)) for e in script]
        invocation = f"e-{uuid.uuid4()}"
        now = time.time()
        full = []
        for i, e in enumerate(events):
            full.append({"invocation_id": invocation, "author": self.author,
                         "actions": {"state_delta": {}, "artifact_delta": {}, "requested_auth_configs": {}},
                         "id": str(uuid.uuid4()), "timestamp": now + i * 0.01, **e})
        if session is not None:
            with self._lock:
                session["events"].append({"author": "user", "content": {"parts": [{"text": text}], "role": "user"}})
                session["events"].extend(full)
                session["last_update_time"] = time.time()
        return 200, full

    def gemini(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        """A `generateContent` response for `body`."""
        contents = body.get("contents") or []
        last_user = ""
        for c in reversed(contents):
            if isinstance(c, dict) and c.get("role", "user") == "user":
                last_user = " ".join(str(p.get("text", "")) for p in c.get("parts", []) if isinstance(p, dict))
                if last_user:
                    break
        part: dict[str, Any] = {"text": f"echo: {last_user}"}
        for key, rule in self.gemini_rules.items():
            if key.lower() in last_user.lower():
                part = {"text": rule} if isinstance(rule, str) else {"functionCall": {"name": rule[0], "args": rule[1]}}
                break
        prompt = sum(len(str(p.get("text", "")).split()) for c in contents if isinstance(c, dict)
                     for p in c.get("parts", []) if isinstance(p, dict))
        out = len(json.dumps(part).split())
        return {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP",
                                "avgLogprobs": -0.1}],
                "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": out,
                                  "totalTokenCount": prompt + out, "trafficType": "ON_DEMAND"},
                "modelVersion": f"{model}-001", "createTime": "2025-01-01T00:00:00.000000Z",
                "responseId": f"fake-{next(self._ids)}"}


class _Handler(QuietHandler):
    @property
    def fake(self) -> FakeVertexServer:
        return cast(FakeVertexServer, cast(Any, self.server).fake)

    def _send(self, status: int, data: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status == 429 and self.fake.retry_after is not None:
            self.send_header("Retry-After", self.fake.retry_after)
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=UTF-8")

    def _send_error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": {"code": status, "message": message,
                                           "status": _STATUS_NAMES.get(status, "UNKNOWN")}})


    def _route(self, method: str, path: str) -> tuple[str, str]:
        """(route, resource name or model) for a request path."""
        if method == "POST" and path == "/token":
            return "token", ""
        if not path.startswith("/v1/") and not path.startswith("/v1beta1/"):
            return "", ""
        rest = path.split("/", 2)[2]
        name, _, verb = rest.partition(":")
        parts = name.split("/")
        if len(parts) == 6 and parts[0] == "projects" and parts[2] == "locations":
            if parts[4] == "reasoningEngines":
                if method == "GET" and not verb:
                    return "get", name
                if method == "POST" and verb in ("query", "streamQuery"):
                    return verb, name
        if (len(parts) == 8 and parts[0] == "projects" and parts[4:6] == ["publishers", "google"]
                and parts[6] == "models" and method == "POST" and verb == "generateContent"):
            return "generateContent", parts[7]
        return "", ""

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        route, name = self._route(method, url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body: Any
        if route == "token":
            body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        else:
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError as e:
                self._send_error(400, f"Invalid JSON payload received. {e}")
                return
        fake = self.fake
        fake._record({"method": method, "path": url.path, "route": route, "query": query, "body": body,
                      "authorization": self.headers.get("Authorization")})
        if not route:
            self._send_error(404, f"The requested URL {url.path} was not found on this server.")
            return
        fault = fake._next_fault(route)
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
        if not isinstance(body, dict):
            self._send_error(400, "Invalid JSON payload received. Expected an object.")
            return
        if route == "token":
            self._send_json(200, {"access_token": "fake-access-token", "expires_in": 3600,
                                  "token_type": "Bearer", "scope": body.get("scope", "")})
        elif route == "get":
            self._send_json(200, fake.resource(name))
        elif route == "generateContent":
            self._send_json(200, fake.gemini(name, body))
        else:
            cls = str(body.get("classMethod") or body.get("class_method") or "")
            args = body.get("input") or {}
            if not isinstance(args, dict):
                self._send_error(400, "input must be an object")
                return
            if route == "query":
                status, out = fake.class_query(cls or "query", args)
                if status != 200:
                    self._send_error(status, str(out))
                else:
                    self._send_json(200, {"output": out})
            else:
                self._stream(cls or "stream_query", args, sse=query.get("alt") == "sse")

    def _stream(self, cls: str, args: dict[str, Any], *, sse: bool) -> None:
        status, events = self.fake.stream_events(cls, args)
        if isinstance(events, str):
            self._send_error(status, events)
            return
        lines = [json.dumps(e) + "\n" for e in events]
        if sse:  # the raw body: newline-delimited event JSON
            self._send(200, "".join(lines).encode(), "application/json")
            return
        # The GAPIC REST transport parses a JSON array of HttpBody messages; no whitespace may
        # precede the '[' or follow the ']' (google.api_core.rest_streaming rejects it).
        chunks = [{"contentType": "application/json", "data": base64.b64encode(line.encode()).decode()}
                  for line in lines]
        self._send(200, json.dumps(chunks).encode(), "application/json")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


FakeVertexServer.handler = _Handler
