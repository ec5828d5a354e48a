"""The `vertex-agent` backend: a Vertex AI Agent Engine agent (ADK / Agent Builder, LangChain), e.g.
`vertex-agent:projects/my-proj/locations/us-central1/reasoningEngines/1234567890`.

It goes through the real google-cloud-aiplatform SDK (`vertexai.agent_engines.get`, REST transport):
the SDK reads the resource (`GET /v1/{name}`; `spec.classMethods` says which methods exist), then
`create_session` (`POST /v1/{name}:query`) once per sample and repeat, and `stream_query`
(`POST /v1/{name}:streamQuery`) once per user turn with the turn's message, `user_id` and that
session. The ADK event stream becomes the Trace: `function_call` parts are tool calls,
`function_response` parts their results, the last model text the output, `usage_metadata` the
tokens. Agents without a stream method (per their classMethods), or `method: query`, are asked with
`query(input=...)` and answer LangChain-style `{"output", "intermediate_steps"}`.

Blocking SDK calls run in a daemon thread under `timeout_s`: the SDK sets no HTTP timeout of its own,
so a hung call becomes a retryable BackendError and its thread cannot hold the process at exit.
vertexai is imported on the first call, never at module import.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..errors import BackendError, ConfigError
from ..schema import Message, ToolCall, Trace, Usage
from .base import Backend, BackendRequest

__all__ = ["VertexAgentBackend", "VertexAgentOptions", "create"]

_INSTALL_HINT = "pip install google-cloud-aiplatform"
_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/reasoningEngines/(?P<id>[^/]+)$")
_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_MAX_EVENTS = 200
_MAX_EVENT_CHARS = 20_000
_MAX_MESSAGE = 300
_INIT_LOCK = threading.Lock()  # vertexai.init is process-global: init + get happen under this lock

T = TypeVar("T")


class VertexAgentOptions(BaseModel):
    """Options of the vertex-agent backend."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = None
    """Project for `vertexai.init`; default: the one in the resource name."""
    location: str | None = None
    """Region, e.g. `us-central1`; default: the one in the resource name."""
    user_id: str = Field(default="agenteval", min_length=1)
    """The user the agent's sessions belong to."""
    api_endpoint: str | None = None
    """Override the API host, e.g. `http://127.0.0.1:8080` (a test fake) or a private endpoint."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Limit, in seconds, of each SDK call (resource read, session creation, one whole stream)."""
    method: Literal["stream_query", "query"] = "stream_query"
    """How to ask: ADK `stream_query`, or `query` (LangChain-style). stream_query falls back to query
    when the agent has no stream_query class method."""
    credentials: Literal["default", "anonymous"] = "default"
    """`default`: Application Default Credentials from the environment; `anonymous`: no auth (fakes)."""


class VertexAgentBackend:
    """One deployed Agent Engine, asked through the vertexai SDK."""

    def __init__(self, target: str, resource_name: str, options: VertexAgentOptions) -> None:
        self.spec = f"vertex-agent:{target}"
        self.resource_name = resource_name
        self.options = options
        m = _NAME.match(resource_name)
        assert m is not None  # create() checked it
        self.project = options.project or m["project"]
        self.location = options.location or m["location"]
        self._engine: Any = None
        self._methods: frozenset[str] = frozenset()
        self._load_lock = threading.Lock()
        self._sessions: dict[tuple[str, int], str] = {}

    # -- SDK plumbing ----------------------------------------------------------------------------

    async def _blocking(self, fn: Callable[[], T], what: str) -> T:
        """Run a blocking SDK call in a daemon thread, bounded by timeout_s; errors -> BackendError."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, exc: BaseException | None) -> None:
            if fut.done():
                return
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)  # type: ignore[arg-type]

        def run() -> None:
            try:
                result, exc = fn(), None
            except BaseException as e:  # delivered to the awaiting coroutine
                result, exc = None, e
            try:
                loop.call_soon_threadsafe(settle, result, exc)
            except RuntimeError:  # the loop closed while the call hung: nobody is waiting
                pass

        threading.Thread(target=run, name=f"vertex-agent-{what}", daemon=True).start()
        try:
            return await asyncio.wait_for(fut, self.options.timeout_s)
        except TimeoutError as e:
            raise BackendError(f"timeout: {what} took longer than {self.options.timeout_s:g}s",
                               retryable=True) from e
        except (BackendError, ConfigError):
            raise
        except Exception as e:
            raise _backend_error(e, what) from e

    def _load(self) -> Any:
        """vertexai.init + agent_engines.get (in a worker thread)."""
        os.environ.setdefault("NO_GCE_CHECK", "true")  # no metadata-server probe off Google Cloud
        try:
            vertexai = importlib.import_module("vertexai")
            agent_engines = importlib.import_module("vertexai.agent_engines")
        except ImportError as e:
            raise ConfigError(f"the vertex-agent backend needs google-cloud-aiplatform ({e})",
                              hint=_INSTALL_HINT) from e
        if self.options.credentials == "anonymous":
            creds = importlib.import_module("google.auth.credentials").AnonymousCredentials()
        else:
            google_auth = importlib.import_module("google.auth")
            try:
                creds, _ = google_auth.default(scopes=_SCOPES)
            except google_auth.exceptions.DefaultCredentialsError as e:
                raise BackendError(f"no Google credentials: {_short(e)} (run `gcloud auth application-default "
                                   "login`, or set GOOGLE_APPLICATION_CREDENTIALS)", retryable=False) from e
        # Every setting is passed explicitly: vertexai.init keeps earlier values it is not given.
        endpoint = self.options.api_endpoint or (
            "aiplatform.googleapis.com" if self.location == "global" else f"{self.location}-aiplatform.googleapis.com")
        quiet = _DropAsyncClientWarning()
        root = logging.getLogger()
        with _INIT_LOCK:
            root.addFilter(quiet)
            try:
                vertexai.init(project=self.project, location=self.location, credentials=creds,
                              api_endpoint=endpoint, api_transport="rest")
                return agent_engines.get(self.resource_name)
            finally:
                root.removeFilter(quiet)

    def _load_once(self) -> Any:
        """The AgentEngine, read once (in a worker thread; concurrent first calls wait here)."""
        with self._load_lock:
            if self._engine is None:
                engine = self._load()
                schemas = engine.operation_schemas() or []
                self._methods = frozenset(str(s.get("name")) for s in schemas if isinstance(s, dict))
                self._engine = engine
            return self._engine

    async def _ready(self) -> tuple[Any, frozenset[str]]:
        """The AgentEngine and the names of its class methods."""
        engine = self._engine
        if engine is None:
            engine = await self._blocking(self._load_once, "reading the agent engine")
        return engine, self._methods

    def _pick_method(self, methods: frozenset[str]) -> Literal["stream_query", "query"]:
        wanted = self.options.method
        if wanted == "stream_query" and "stream_query" not in methods and "query" in methods:
            return "query"
        if wanted not in methods:
            raise BackendError(f"the agent {self.resource_name} has no `{wanted}` method "
                               f"(its class methods: {', '.join(sorted(methods)) or 'none'})", retryable=False)
        return wanted

    async def _session(self, engine: Any, methods: frozenset[str], request: BackendRequest) -> str | None:
        """The session of this sample and repeat: new at turn 0, reused by later turns."""
        key = (request.sample.id if request.sample is not None else "", request.repeat)
        if request.turn > 0 and key in self._sessions:
            return self._sessions[key]
        if "create_session" not in methods:
            return None  # the agent starts a fresh session per call itself
        user_id = self.options.user_id
        session = await self._blocking(lambda: engine.create_session(user_id=user_id), "create_session")
        sid = session.get("id") if isinstance(session, dict) else getattr(session, "id", None)
        if not sid:
            raise BackendError(f"create_session returned no session id: {_short(session)}", retryable=False)
        self._sessions[key] = str(sid)
        return str(sid)

    # -- the Backend protocol --------------------------------------------------------------------

    async def call(self, request: BackendRequest) -> Trace:
        engine, methods = await self._ready()
        method = self._pick_method(methods)
        message = _last_user_text(request.messages)
        if method == "query":
            start = time.perf_counter()
            value = await self._blocking(lambda: engine.query(input=message), "query")
            trace = _query_trace(value, request)
        else:
            sid = await self._session(engine, methods, request)
            kwargs: dict[str, Any] = {"message": message, "user_id": self.options.user_id}
            if sid is not None:
                kwargs["session_id"] = sid
            start = time.perf_counter()  # the agent's answer only: not the resource read or the session
            events = await self._blocking(lambda: list(engine.stream_query(**kwargs)), "stream_query")
            trace = _stream_trace(events, request)
        return trace.model_copy(update={"latency_s": time.perf_counter() - start})

    async def aclose(self) -> None:
        """Forget sessions and the engine; the agent's sessions stay on the service (inspect them there)."""
        self._sessions.clear()
        self._engine = None


class _DropAsyncClientWarning(logging.Filter):
    """AgentEngine() logs on the root logger that async REST clients fall back to gRPC; unused here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "async rest credentials" not in record.getMessage().lower()


# -- turning answers into traces -------------------------------------------------------------------


def _last_user_text(messages: list[Message]) -> str:
    """The turn's message: the last user message (the session holds the earlier ones)."""
    for m in reversed(messages):
        if m.role == "user":
            return m.content
    return messages[-1].content if messages else ""


def _get(d: Any, snake: str) -> Any:
    """`d[snake]`, or its camelCase twin (the service dumps snake_case; proto JSON is camelCase)."""
    if not isinstance(d, dict):
        return None
    if snake in d:
        return d[snake]
    head, *rest = snake.split("_")
    return d.get(head + "".join(w.title() for w in rest))


def _json(value: Any) -> JsonValue:
    """A JSON-safe copy; whole-number floats (proto Struct numbers) back to ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _bounded(events: list[Any]) -> list[JsonValue]:
    """Events kept raw for debugging: at most _MAX_EVENTS, each at most _MAX_EVENT_CHARS of JSON."""
    kept: list[JsonValue] = []
    for e in events[:_MAX_EVENTS]:
        value: JsonValue = _json(e) if isinstance(e, (dict, list, str)) else {"raw": repr(e)[:2000]}
        size = len(json.dumps(value))
        kept.append(value if size <= _MAX_EVENT_CHARS else {"truncated": True, "chars": size,
                                                            "preview": json.dumps(value)[:2000]})
    if len(events) > _MAX_EVENTS:
        kept.append({"dropped_events": len(events) - _MAX_EVENTS})
    return kept


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _stream_trace(events: list[Any], request: BackendRequest) -> Trace:
    """ADK events -> Trace (tool calls with results, last model text, summed usage)."""
    calls: list[ToolCall] = []
    started: list[float | None] = []
    output, finish, model = "", None, None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    for event in events:
        if not isinstance(event, dict):
            continue
        if "error" in event and "content" not in event:  # the agent failed on the service
            raise BackendError(f"the agent failed: {_short(event['error'])}", retryable=False)
        partial = bool(event.get("partial"))
        stamp = event.get("timestamp") if isinstance(event.get("timestamp"), (int, float)) else None
        texts: list[str] = []
        for part in _get(event.get("content"), "parts") or []:
            if (call := _get(part, "function_call")) is not None:
                args = _json(_get(call, "args") or {})
                calls.append(ToolCall(tool=str(_get(call, "name") or ""), id=_get(call, "id"), turn=request.turn,
                                      args=args if isinstance(args, dict) else {"input": args}))
                started.append(stamp)
            elif (resp := _get(part, "function_response")) is not None:
                _attach(calls, started, resp, stamp)
            elif isinstance(_get(part, "text"), str) and not _get(part, "thought"):
                texts.append(_get(part, "text"))
        if texts and not partial and _get(event.get("content"), "role") != "user" and event.get("author") != "user":
            output = "".join(texts)
        if not partial and (usage := _get(event, "usage_metadata")):
            p, c = _int(_get(usage, "prompt_token_count")), _int(_get(usage, "candidates_token_count"))
            t = _int(_get(usage, "thoughts_token_count"))
            prompt_tokens = prompt_tokens if p is None else (prompt_tokens or 0) + p
            if c is not None or t is not None:
                output_tokens = (output_tokens or 0) + (c or 0) + (t or 0)
        finish = _get(event, "finish_reason") or _get(event, "error_code") or finish
        model = _get(event, "model_version") or model
    return Trace(output=output, messages=[*request.messages, Message(role="assistant", content=output)],
                 tool_calls=calls, usage=Usage(input_tokens=prompt_tokens, output_tokens=output_tokens),
                 model=model, finish_reason=finish, events=_bounded(events))


def _attach(calls: list[ToolCall], started: list[float | None], resp: Any, stamp: float | None) -> None:
    """Put a function_response on its call: by id, else the first unanswered call of that name."""
    rid, name = _get(resp, "id"), _get(resp, "name")
    unanswered = [i for i, c in enumerate(calls) if c.result is None and c.error is None]
    index = next((i for i in unanswered if rid is not None and calls[i].id == rid), None)
    if index is None:
        index = next((i for i in unanswered if calls[i].tool == name), None)
    if index is None:
        return  # a response without a call we saw (e.g. from an earlier turn)
    result = _json(_get(resp, "response"))
    error = None
    if isinstance(result, dict) and set(result) == {"error"}:
        error = _short(result["error"])
    began = started[index]
    latency = stamp - began if stamp is not None and began is not None and stamp >= began else None
    calls[index] = calls[index].model_copy(update={"result": result, "error": error, "latency_s": latency})


def _query_trace(value: Any, request: BackendRequest) -> Trace:
    """A `query` answer -> Trace; LangChain's `intermediate_steps` are the tool calls."""
    value = _json(value)
    calls: list[ToolCall] = []
    if isinstance(value, dict):
        out = value.get("output", value)
        for step in value.get("intermediate_steps") or []:
            if not isinstance(step, list) or len(step) != 2:
                continue
            action, observation = step
            if isinstance(action, dict) and isinstance(action.get("kwargs"), dict):
                action = action["kwargs"]  # langchain's dumpd() form: {"lc": 1, "kwargs": {...}}
            if not isinstance(action, dict):
                continue
            tool_input = action.get("tool_input")
            calls.append(ToolCall(tool=str(action.get("tool") or ""), result=observation, turn=request.turn,
                                  args=tool_input if isinstance(tool_input, dict) else {"input": tool_input},
                                  id=action.get("tool_call_id") if isinstance(action.get("tool_call_id"), str)
                                  else None))
    else:
        out = value
    output = out if isinstance(out, str) else json.dumps(out)
    return Trace(output=output, messages=[*request.messages, Message(role="assistant", content=output)],
                 tool_calls=calls, events=_bounded([value]))


# -- errors and the entry point ---------------------------------------------------------------------


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:_MAX_MESSAGE]


def _backend_error(exc: Exception, what: str) -> BackendError:
    """An SDK/HTTP failure -> BackendError: 408/429/5xx, timeouts and dropped connections retry."""
    api = importlib.import_module("google.api_core.exceptions")
    if isinstance(exc, api.GoogleAPICallError):
        status = exc.code if isinstance(exc.code, int) else None
        retryable = isinstance(exc, (api.DeadlineExceeded, api.TooManyRequests, api.ServiceUnavailable,
                                     api.InternalServerError)) or (status is not None and (
                                         status in _RETRYABLE_STATUS or status >= 500))
        return BackendError(f"HTTP {status}: {what}: {_short(exc.message or exc)}", retryable=retryable,
                            status=status, retry_after_s=_retry_after(exc) if retryable else None)
    transient: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    try:
        requests_exc = importlib.import_module("requests.exceptions")
        transient += (requests_exc.ConnectionError, requests_exc.Timeout, requests_exc.ChunkedEncodingError)
    except ImportError:
        pass
    if isinstance(exc, transient) or "Unfinished stream" in str(exc):
        return BackendError(f"connection error: {what}: {_short(exc)}", retryable=True)
    return BackendError(f"{what} failed: {type(exc).__name__}: {_short(exc)}", retryable=False)


def _retry_after(exc: Exception) -> float | None:
    """Seconds from the response's Retry-After header, when the service sent one in seconds."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None and hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    """The `vertex-agent` entry point: target = a reasoningEngine resource name (or its id, with
    `project` and `location` options)."""
    try:
        opts = VertexAgentOptions.model_validate(options)
    except ValidationError as e:
        err = e.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "options"
        raise ConfigError(f"{err['msg']} (got {err.get('input')!r})", field=f"backend.{name}",
                          hint=f"valid options: {', '.join(VertexAgentOptions.model_fields)}") from e
    target = target.strip()
    name = target
    if target.isdigit() and opts.project and opts.location:
        name = f"projects/{opts.project}/locations/{opts.location}/reasoningEngines/{target}"
    m = _NAME.match(name)
    if m is None:
        raise ConfigError(f"not a reasoningEngine resource name: {target!r}", field="backend",
                          hint="vertex-agent:projects/PROJECT/locations/REGION/reasoningEngines/ID")
    for option in ("project", "location"):
        given = getattr(opts, option)
        if given is not None and given != m[option]:
            raise ConfigError(f"{option} {given!r} differs from the resource name's {m[option]!r}",
                              field=f"backend.{option}", hint="drop the option; the resource name decides")
    endpoint = opts.api_endpoint
    if endpoint and re.match(r"^(localhost|127\.|\[::1\])", endpoint):
        raise ConfigError(f"api_endpoint {endpoint!r} has no scheme; the SDK would use https",
                          field="backend.api_endpoint", hint=f"use http://{endpoint}")
    if importlib.util.find_spec("vertexai") is None:
        raise ConfigError("the vertex-agent backend needs google-cloud-aiplatform", hint=_INSTALL_HINT)
    return VertexAgentBackend(target, name, opts)
