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
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..errors import BackendError, ConfigError
from ..schema import Trace
from .base import Backend, BackendRequest
from .vertex_events import last_user_text, query_trace, short, stream_trace

__all__ = ["VertexAgentBackend", "VertexAgentOptions", "create"]

_INSTALL_HINT = "pip install google-cloud-aiplatform"
_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/reasoningEngines/(?P<id>[^/]+)$")
_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
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
    stateful = True
    """Turns of a sample share a server-side session: the runner does not serve them from the cache."""

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
                raise BackendError(f"no Google credentials: {short(e)} (run `gcloud auth application-default "
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
            raise BackendError(f"create_session returned no session id: {short(session)}", retryable=False)
        self._sessions[key] = str(sid)
        return str(sid)

    # -- the Backend protocol --------------------------------------------------------------------

    async def call(self, request: BackendRequest) -> Trace:
        engine, methods = await self._ready()
        method = self._pick_method(methods)
        message = last_user_text(request.messages)
        if method == "query":
            start = time.perf_counter()
            value = await self._blocking(lambda: engine.query(input=message), "query")
            trace = query_trace(value, request)
        else:
            sid = await self._session(engine, methods, request)
            kwargs: dict[str, Any] = {"message": message, "user_id": self.options.user_id}
            if sid is not None:
                kwargs["session_id"] = sid
            start = time.perf_counter()  # the agent's answer only: not the resource read or the session
            events = await self._blocking(lambda: list(engine.stream_query(**kwargs)), "stream_query")
            trace = stream_trace(events, request)
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


def _backend_error(exc: Exception, what: str) -> BackendError:
    """An SDK/HTTP failure -> BackendError: 408/429/5xx, timeouts and dropped connections retry."""
    api = importlib.import_module("google.api_core.exceptions")
    if isinstance(exc, api.GoogleAPICallError):
        status = exc.code if isinstance(exc.code, int) else None
        retryable = isinstance(exc, (api.DeadlineExceeded, api.TooManyRequests, api.ServiceUnavailable,
                                     api.InternalServerError)) or (status is not None and (
                                         status in _RETRYABLE_STATUS or status >= 500))
        return BackendError(f"HTTP {status}: {what}: {short(exc.message or exc)}", retryable=retryable,
                            status=status, retry_after_s=_retry_after(exc) if retryable else None)
    transient: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    try:
        requests_exc = importlib.import_module("requests.exceptions")
        transient += (requests_exc.ConnectionError, requests_exc.Timeout, requests_exc.ChunkedEncodingError)
    except ImportError:
        pass
    if isinstance(exc, transient) or "Unfinished stream" in str(exc):
        return BackendError(f"connection error: {what}: {short(exc)}", retryable=True)
    return BackendError(f"{what} failed: {type(exc).__name__}: {short(exc)}", retryable=False)


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
